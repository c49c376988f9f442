import * as core from '@actions/core'
import { connectHost } from './ssh/connect.js'
import { deploy } from './rollout/single-host.js'
import { getInputs } from './inputs.js'
import { setOutputs } from './report/outputs.js'
import { inspectRunnerImage, runnerLayerSizes, saveImage } from './image/runner.js'
import { renderFailure, renderSummary } from './report/summary.js'

export async function run(): Promise<void> {
  try {
    const inputs = getInputs()
    const report = await deploy(inputs, {
      connect: connectHost,
      runner: { inspect: inspectRunnerImage, layerSizes: runnerLayerSizes, save: saveImage },
      holder: lockHolder()
    })
    setOutputs(report)
    await writeSummary(renderSummary(report))
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    core.setFailed(message)
    await writeSummary(renderFailure(message))
  }
}

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  try {
    await core.summary.addRaw(markdown, true).write()
  } catch (error) {
    core.warning(`Could not write the job summary: ${String(error)}`)
  }
}

/** Shown to a deploy that waits on the lock, so people know whom to ask. */
function lockHolder(): string {
  const env = process.env
  const run = env.GITHUB_RUN_ID
    ? `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
    : `pid ${process.pid}`
  return `${run} (${env.GITHUB_WORKFLOW ?? 'local'}, ${env.GITHUB_ACTOR ?? 'unknown'}) since ${new Date().toISOString()}`
}

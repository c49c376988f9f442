import * as core from '@actions/core'
import { connectHost } from './ssh/connect.js'
import { deploy } from './rollout/single-host.js'
import { getInputs } from './inputs.js'
import { setOutputs } from './report/outputs.js'
import { inspectRunnerImage, runnerLayerSizes, saveImage } from './image/runner.js'
import { renderFailure, renderSummary } from './report/summary.js'

export async function run(): Promise<void> {
  const cancel = cancellation()
  try {
    const inputs = getInputs()
    const report = await deploy(inputs, {
      connect: connectHost,
      runner: { inspect: inspectRunnerImage, layerSizes: runnerLayerSizes, save: saveImage },
      holder: lockHolder(),
      signal: cancel.signal
    })
    setOutputs(report)
    await writeSummary(renderSummary(report))
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    core.setFailed(message)
    await writeSummary(renderFailure(message))
  }
}

/**
 * A cancelled job gets SIGINT, then SIGTERM 7.5 s later, then SIGKILL 2.5 s after that. Before
 * the switch the run removes its candidate and stops; after it, it records the release and
 * leaves the old slot to the next deploy: either way well within the grace period.
 */
function cancellation(): AbortController {
  const controller = new AbortController()
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!controller.signal.aborted) core.info(`${signal}: the run was cancelled; finishing cleanly`)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return controller
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

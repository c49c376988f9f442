import * as core from '@actions/core'
import { connectHost, connectHostAndShell } from './ssh/connect.js'
import { deploy } from './rollout/single-host.js'
import { deployHosts, RolloutError } from './rollout/several-hosts.js'
import { getInputs } from './inputs.js'
import { setOutputs, setRolloutOutputs } from './report/outputs.js'
import { Phases } from './report/phases.js'
import { inspectRunnerImage, runnerLayerSizes, saveImage } from './image/runner.js'
import { openRunnerStore } from './image/store.js'
import { renderFailure, renderSummary } from './report/summary.js'
import { renderRolloutSummary } from './report/rollout-summary.js'
import { connectionLost, lossReason } from './ssh/lost.js'
import { deploySwarm } from './rollout/swarm.js'
import { renderSwarmSummary, setSwarmOutputs } from './report/swarm-summary.js'
import type { Inputs } from './inputs.js'
import { maintenanceOnHosts } from './rollout/maintenance.js'
import { renderMaintenanceSummary } from './report/maintenance-summary.js'

export async function run(): Promise<void> {
  const cancel = cancellation()
  stopWhenLogGone(cancel)
  const outcome = new Outcome()
  const phases = new Phases()
  let target = ''
  // The last resort: an error that escaped every handler still ends the step with one ::error::
  // line and a summary, instead of a bare stack trace.
  const crash = (error: unknown): void => {
    if (outcome.reported) return core.warning(`An error after the run had ended: ${messageOf(error)}`)
    void outcome.fail(crashMessage(error, target, phases)).finally(() => process.exit(1))
  }
  process.on('uncaughtException', crash)
  process.on('unhandledRejection', crash)
  try {
    const inputs = getInputs()
    target = `${inputs.username}@${inputs.host}:${inputs.port}`
    const deps = {
      connect: connectHost,
      runner: { inspect: inspectRunnerImage, layerSizes: runnerLayerSizes, save: saveImage, store: openRunnerStore },
      holder: lockHolder(),
      signal: cancel.signal,
      phases
    }
    if (inputs.target === 'swarm') {
      const report = await deploySwarm(inputs, { ...deps, connectNode })
      setSwarmOutputs(report)
      return await outcome.succeed(renderSwarmSummary(report))
    }
    if (inputs.maintenance) {
      const reports = await maintenanceOnHosts(inputs, deps)
      core.setOutput('maintenance', inputs.maintenance)
      return await outcome.succeed(renderMaintenanceSummary(reports))
    }
    if (inputs.hosts.length > 0) {
      const rollout = await deployHosts(inputs, deps)
      setRolloutOutputs(rollout)
      return await outcome.succeed(renderRolloutSummary(rollout))
    }
    const report = await deploy(inputs, deps)
    setOutputs(report)
    await outcome.succeed(renderSummary(report))
  } catch (error) {
    if (error instanceof RolloutError) {
      setRolloutOutputs(error.report)
      return await outcome.fail(messageOf(error), renderRolloutSummary(error.report, messageOf(error)))
    }
    await outcome.fail(messageOf(error))
  }
}

/** The step's result, reported once: a crash that follows the run's own failure adds no second error. */
class Outcome {
  reported = false

  async succeed(summary: string): Promise<void> {
    this.reported = true
    await writeSummary(summary)
  }

  async fail(message: string, summary = renderFailure(message)): Promise<void> {
    if (this.reported) return
    this.reported = true
    core.setFailed(message)
    await writeSummary(summary)
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

/**
 * The job's log is this process's stdout and stderr. A write there that fails (EPIPE: whatever
 * read them is gone, as when the runner dies) must not become an error that is logged there
 * again: that looped for ever, at 85% of a core, holding the host's lock connection and its
 * docker load open. Nobody reads this run any more: it stops as a cancelled run does, silently.
 */
function stopWhenLogGone(controller: AbortController): void {
  const gone = (): void => {
    for (const stream of [process.stdout, process.stderr]) stream.write = (() => true) as typeof stream.write
    controller.abort()
  }
  process.stdout.on('error', gone)
  process.stderr.on('error', gone)
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** ssh2 marks its own errors with a level: those mean the connection to the host failed. */
function crashMessage(error: unknown, target: string, phases: Phases): string {
  if (error instanceof Error && 'level' in error) return connectionLost(target, lossReason(error), phases.current).message
  const where = phases.current ? ` during the ${phases.current.name} phase (${phases.current.title})` : ''
  return `The run stopped on an unexpected error${where}: ${messageOf(error)}`
}

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  try {
    await core.summary.addRaw(markdown, true).write()
  } catch (error) {
    core.warning(`Could not write the job summary: ${String(error)}`)
  }
}

/** A Swarm node: the host's steps, and its shell for the Swarm's own (host/swarm.ts). */
async function connectNode(inputs: Inputs) {
  const { host, ssh } = await connectHostAndShell(inputs)
  return { host, run: ssh.run.bind(ssh) }
}

/** Shown to a deploy that waits on the lock, so people know whom to ask. */
function lockHolder(): string {
  const env = process.env
  const run = env.GITHUB_RUN_ID
    ? `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
    : `pid ${process.pid}`
  return `${run} (${env.GITHUB_WORKFLOW ?? 'local'}, ${env.GITHUB_ACTOR ?? 'unknown'}) since ${new Date().toISOString()}`
}

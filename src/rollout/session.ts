import type { Host } from '../host/index.js'
import type { HostLock } from '../host/lock.js'
import type { ImageInfo } from '../image/info.js'
import type { RunnerDocker } from '../image/plan.js'
import { SaveAhead, type ImageSource } from '../image/runner.js'
import type { RunnerStore } from '../image/store.js'
import type { Inputs } from '../inputs.js'
import { stepLog, type Log } from '../report/log.js'
import type { Phases } from '../report/phases.js'
import { untilCancelled } from './cancel.js'
import { check, type Checked } from './check.js'

export interface DeployDeps {
  connect: (inputs: Inputs) => Promise<Host>
  runner: RunnerDocker
  /** Who holds the lock, shown to a deploy that waits for it. */
  holder: string
  /** Aborted when the job is cancelled (SIGINT, SIGTERM). */
  signal?: AbortSignal
  /** Where the run's phase times go; main.ts keeps it to name the phase of a crash. */
  phases?: Phases
  /** Where the run's lines go (default the step's log; one host's marked lines when several run). */
  log?: Log
  /** Time for the waits the run paces itself by (a canary's watch); tests pass a fake one. */
  clock?: Clock
}

export interface Clock {
  now(): number
  sleep(ms: number): Promise<void>
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms))
}

/** A host connected, checked and locked for this run: what a HostRun starts from. */
export interface Session {
  host: Host
  lock: HostLock
  checked: Checked
  /** docker save, started before the lock, for an image the host lacks (several hosts: a branch of one save). */
  ahead?: ImageSource
  /** The runner engine's store, read instead of a docker save where it can be. */
  store?: RunnerStore
}

/** The check's survey still holds when this session's lock is the very next one taken after it. */
export function surveyHolds(session: Session): boolean {
  const taken = session.checked.survey.lockGeneration
  return taken !== undefined && session.lock.generation === taken + 1
}

/** The read-only check lockHost runs before it locks (check.ts; a Swarm node's check differs). */
export type HostCheck = (inputs: Inputs, host: Host, runner: RunnerDocker, log: Log) => Promise<Checked>

/**
 * Checks `host` (read-only) and takes its deploy lock. The lock's channel opens while the host is
 * checked; the lock is taken only after. Whatever fails leaves the host as it was.
 * saveAhead: true starts the runner's export of an image the host lacks once the check has found
 * it so; a SaveAhead is one started before the connection, kept if the check wants its image and
 * stopped if not.
 */
export async function lockHost(
  inputs: Inputs, host: Host, deps: DeployDeps, phases: Phases, saveAhead: boolean | SaveAhead = true, checkHost: HostCheck = check
): Promise<Session> {
  const log = deps.log ?? stepLog
  const pending = host.openLock({
    service: inputs.service,
    timeoutSeconds: inputs.lockTimeout,
    holder: deps.holder,
    onWait: (holder) => log.info(`Another deploy of ${inputs.service} holds the lock: ${holder}; waiting`),
    onSilent: (seconds) =>
      log.info(`No answer from the host's lock session after ${seconds} s (a slow login shell on the host?); still waiting`)
  })
  let ahead: SaveAhead | undefined
  const early = saveAhead instanceof SaveAhead ? saveAhead : undefined
  try {
    const checked = await phases.run('check', 'Check the host and the image', () => checkHost(inputs, host, deps.runner, log))
    if (saveAhead && checked.plan.source === 'sent') ahead = early ?? new SaveAhead(checked.plan.ref, (ref) => deps.runner.save(ref))
    else early?.stop()
    const lock = await phases.run('lock', `Lock ${inputs.service} on the host`, () =>
      untilCancelled(pending.acquire(), deps.signal, () => 'Cancelled while waiting for the deploy lock; nothing on the host changed')
    )
    return { host, lock, checked, ahead }
  } catch (error) {
    ;(ahead ?? early)?.stop()
    pending.abandon()
    throw error
  }
}

/**
 * The runner engine's store, when layer-source allows it and this runner can read it
 * (image/store.ts); else undefined, and the log says why where it tried.
 */
export async function runnerStore(inputs: Inputs, deps: DeployDeps, known?: ImageInfo): Promise<RunnerStore | undefined> {
  if (!deps.runner.store || inputs.layerSource !== 'auto') return undefined
  const image = known ?? (await deps.runner.inspect(inputs.image).catch(() => undefined))
  if (!image) return undefined
  const store = await deps.runner.store(image).catch((error: Error) => ({ unusable: error.message }))
  if (!('unusable' in store)) return store
  ;(deps.log ?? stepLog).info(`Exporting the image with docker save: the runner's Docker store cannot be read directly (${store.unusable})`)
  return undefined
}

/** Ends a session: the save nothing took, the lock. */
export async function closeSession(session: Session): Promise<void> {
  session.ahead?.stop()
  await session.lock.release()
}

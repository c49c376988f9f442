import type { Release, ServiceContainer, ServiceState } from '../host/state.js'
import type { Slot } from '../host/paths.js'
import { workerContainers, type WorkerContainer } from '../host/workers.js'
import type { Inputs } from '../inputs.js'
import { commandWords, runFlags } from '../runtime/docker-args.js'

// What a release runs besides the web: its release command (a migration, once per image) and
// its workers. Decisions only; the host steps are in host/release.ts and host/workers.ts.

/** The docker run words of the app's runtime, shared by web, workers and the release command. */
export function appRunFlags(inputs: Inputs): string[] {
  return runFlags(inputs.runtime)
}

export function webCommand(inputs: Inputs): string[] {
  return commandWords(inputs.runtime.command)
}

/**
 * Whether the release command runs for `imageId`: not without one, not on a rollback unless
 * release-on-rollback, and not for an image whose release command already ran (a re-run).
 * Returns why not, or undefined when it runs.
 */
export function releaseSkipped(inputs: Inputs, state: ServiceState, imageId: string): string | undefined {
  if (!inputs.releaseCommand) return 'no release-command'
  if (inputs.releaseOnRollback) return undefined
  if (inputs.rollback) return 'a rollback (release-on-rollback: false)'
  const done = [state.live, state.previous, ...state.history].some((release) => release?.imageId === imageId && release.released)
  return done ? 'this image was released before (release-on-rollback: false)' : undefined
}

/** The candidate's worker containers. */
export function candidateWorkers(inputs: Inputs, slot: Slot): WorkerContainer[] {
  return workerContainers(
    inputs.service,
    slot,
    inputs.workers.map((worker) => ({ ...worker, command: commandWords(worker.command) }))
  )
}

/** Workers as recorded with a release. */
export function recordedWorkers(workers: WorkerContainer[]): Release['workers'] {
  if (workers.length === 0) return undefined
  const names = [...new Set(workers.map((worker) => worker.worker))]
  return names.map((name) => ({ name, containers: workers.filter((worker) => worker.worker === name).map((worker) => worker.container) }))
}

/** The names of a slot's web containers: <service>-<slot>, then -2, -3... for more replicas. */
export function replicaNames(service: string, slot: Slot, count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? `${service}-${slot}` : `${service}-${slot}-${i + 1}`))
}

/** A slot's web containers, as the host lists them (containers from before roles had none). */
export function slotWeb(containers: ServiceContainer[], service: string, slot: Slot): ServiceContainer[] {
  const name = new RegExp(`^${service}-${slot}(?:-\\d+)?$`)
  return containers.filter((container) => container.slot === slot && (container.role === 'web' || (!container.role && name.test(container.name))))
}

/** A slot's workers: its containers other than the web ones and the release command's. */
export function slotWorkers(containers: ServiceContainer[], service: string, slot: Slot): ServiceContainer[] {
  const web = new Set(slotWeb(containers, service, slot).map((container) => container.name))
  return containers.filter((container) => container.slot === slot && !web.has(container.name) && container.role !== 'release')
}

import type { EnvVar } from '../inputs.js'
import type { Runner } from './guard.js'
import type { Slot } from './paths.js'
import { SCRIPTS } from './scripts.js'
import { envFileText } from './slots.js'

// A release's workers: containers of the same image, env and runtime as the web, with another
// command and no route. They start once the web candidate is healthy, must keep running for a
// settle window, and only then does the proxy switch; so a worker that crashes at start sends
// the release back before anyone was served by it.

export interface WorkerContainer {
  /** e.g. web-green-jobs, or web-green-jobs-2 for a worker run twice. */
  container: string
  /** The worker's name in the workers input. */
  worker: string
  command: string[]
}

export interface WorkerSpec {
  network: string
  service: string
  slot: Slot
  image: string
  imageId: string
  settleSeconds: number
  runFlags: string[]
}

export type WorkersStarted = { ok: true } | { ok: false; container: string; reason: string; logs: string[] }

/** The containers of `workers` (name, command, count) in `slot`. */
export function workerContainers(service: string, slot: Slot, workers: { name: string; command: string[]; count: number }[]): WorkerContainer[] {
  return workers.flatMap((worker) =>
    Array.from({ length: worker.count }, (_, i) => ({
      container: `${service}-${slot}-${worker.name}${worker.count > 1 ? `-${i + 1}` : ''}`,
      worker: worker.name,
      command: worker.command
    }))
  )
}

export async function startWorkers(run: Runner, spec: WorkerSpec, workers: WorkerContainer[], env: EnvVar[], onLine: (line: string) => void): Promise<WorkersStarted> {
  const args = [
    spec.network, spec.service, spec.slot, spec.image, spec.imageId, String(spec.settleSeconds), spec.runFlags.join('\n'),
    ...workers.flatMap((worker) => [worker.container, worker.worker, worker.command.join('\n')])
  ]
  const logs: string[] = []
  const result = await run(SCRIPTS.workers, args, {
    stdin: envFileText(env),
    onLine: (line) => (line.startsWith('LOG ') ? logs.push(line.slice(4)) : onLine(line))
  })
  if (result.code === 0) return { ok: true }
  const failed = /^FAIL (\S+) (.*)$/m.exec(result.stdout)
  return failed
    ? { ok: false, container: failed[1], reason: failed[2], logs }
    : { ok: false, container: '', reason: result.stderr.trim() || `exit ${result.code}`, logs }
}

/** Stops containers with SIGTERM and their stop timeout (bounded by `limitSeconds`), then removes them. */
export async function stopContainers(run: Runner, names: string[], limitSeconds: number): Promise<void> {
  if (names.length === 0) return
  await run(SCRIPTS.stopContainers, [String(limitSeconds), ...names])
}

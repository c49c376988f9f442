import type { RunOptions, RunResult } from '../ssh/connection.js'

/** Runs a host script; a guarded one gets the deploy lock's folder and generation in front of `args`. */
export type Runner = (script: string, args?: string[], options?: RunOptions) => Promise<RunResult>

/** The deploy lock this run holds, as the host's guarded scripts check it (lib-lock-guard.sh). */
export interface LockGuard {
  dir: string
  generation: number
}

/** A guarded step found the lock no longer this run's: it changed nothing, and nothing more may change. */
export class LostLockError extends Error {
  override name = 'LostLockError'
}

/** The exit code of a guarded script whose lock check failed. */
export const LOST_LOCK_EXIT = 7

export function lostLock(service: string, detail = ''): LostLockError {
  return new LostLockError(
    `Lost the deploy lock of ${service}${detail ? ` (${detail})` : ''}: another deploy may own the host now, ` +
      'so this run changes nothing more there'
  )
}

/**
 * A Runner for guarded scripts: before the lock is taken (guard undefined) their check fails,
 * so nothing changes on the host by mistake. A failed check throws LostLockError.
 */
export function guardedRunner(run: Runner, guard: () => LockGuard | undefined, service: () => string): Runner {
  return async (script, args = [], options) => {
    const held = guard()
    const result = await run(script, [held?.dir ?? '', held ? String(held.generation) : '', ...args], options)
    const line = /LOST-LOCK[^\n]*/.exec(result.stderr)
    if (result.code === LOST_LOCK_EXIT && line) throw lostLock(service(), line[0].slice(10))
    return result
  }
}

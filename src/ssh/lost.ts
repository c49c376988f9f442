// A connection that breaks mid-run fails whatever step was waiting on it, each in its own words
// ("docker load on the host failed: exit 255", "the remote shell ended"). The run reports what
// happened instead: the connection was lost, why, and in which phase.

/**
 * Seconds of unanswered keepalives (keepaliveInterval × keepaliveCountMax, connection.ts); ssh2
 * gives up at the next interval.
 */
export const KEEPALIVE_SECONDS = 60

/** Why a connection ended, in a reader's words. */
export function lossReason(error: Error): string {
  const err = error as NodeJS.ErrnoException & { level?: string }
  if (/keepalive timeout/i.test(error.message)) {
    return `no answer from the host for over ${KEEPALIVE_SECONDS} s (SSH keepalive timeout)`
  }
  return err.code ? `${error.message} (${err.code})` : error.message
}

export interface PhaseName {
  name: string
  title: string
}

/** The error a run ends with when its connection was lost (`phase`: the one under way then; `target`: user@host:port). */
export function connectionLost(target: string, reason: string, phase?: PhaseName): Error {
  const where = phase ? ` during the ${phase.name} phase (${phase.title})` : ''
  const host = target ? `the host ${target}` : 'the host'
  const error = new Error(`Lost the connection to ${host}${where}: ${reason}.`)
  error.name = 'ConnectionLost'
  return error
}

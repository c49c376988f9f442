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

/**
 * The phases from the launch on: the candidate's remote step switches the proxy itself once it
 * is healthy, so a connection lost from then on may have left the host live on the new slot.
 */
const MAY_BE_LIVE = new Set(['candidate', 'health', 'workers', 'switch'])
/** After the switch: live on the new slot, perhaps not recorded in state.json yet. */
const LIVE = new Set(['record', 'retire'])

/** What a lost connection in `phase` may have left on the host, and where the truth is. */
function whatIsLive(phase?: PhaseName): string {
  const truth = 'the next deploy reads which slot is live from the proxy config, not from state.json'
  if (phase && MAY_BE_LIVE.has(phase.name)) return ` The host may already be live on the new slot: ${truth}.`
  if (phase && LIVE.has(phase.name)) return ` The host had switched to the new slot, which may not be recorded yet: ${truth}.`
  return ''
}

/** The error a run ends with when its connection was lost (`phase`: the one under way then; `target`: user@host:port). */
export function connectionLost(target: string, reason: string, phase?: PhaseName): Error {
  const where = phase ? ` during the ${phase.name} phase (${phase.title})` : ''
  const host = target ? `the host ${target}` : 'the host'
  const error = new Error(`Lost the connection to ${host}${where}: ${reason}.${whatIsLive(phase)}`)
  error.name = 'ConnectionLost'
  return error
}

import { PassThrough } from 'node:stream'
import type { Ssh } from '../ssh.js'
import { serviceDir } from './paths.js'

// The lock is an flock held by a remote bash that lives exactly as long as this run's SSH
// channel: a cancelled job or a lost runner closes the channel (or stops the heartbeat) and the
// kernel drops the lock. There is no lock file for anyone to clean up.

const HEARTBEAT_MS = 10_000
/** Seconds without a heartbeat after which the host gives the lock up (a runner lost without FIN). */
const HEARTBEAT_GRACE = 45

const LOCK_SCRIPT = `
dir=$1 timeout=$2 holder=$3 grace=$4
mkdir -p "$dir"
exec 9>>"$dir/lock"
if ! flock -n 9; then
  printf 'WAITING %s\\n' "$(cat "$dir/lock.holder" 2>/dev/null || echo unknown)"
  if ! flock -w "$timeout" 9; then
    printf 'TIMEOUT %s\\n' "$(cat "$dir/lock.holder" 2>/dev/null || echo unknown)"
    exit 75
  fi
fi
printf '%s\\n' "$holder" > "$dir/lock.holder"
echo LOCKED
while IFS= read -r -t "$grace" _; do :; done
`

export interface HostLock {
  /** Throws when the host gave the lock up while this run still needed it. */
  assertHeld(): void
  release(): Promise<void>
}

export interface LockOptions {
  service: string
  timeoutSeconds: number
  holder: string
  onWait: (holder: string) => void
}

export async function acquireLock(ssh: Ssh, options: LockOptions): Promise<HostLock> {
  const stdin = new PassThrough()
  let onLocked: () => void = () => undefined
  let holder = 'unknown'
  const locked = new Promise<void>((resolve) => (onLocked = resolve))
  const session = ssh.run(
    LOCK_SCRIPT,
    [serviceDir(options.service), String(options.timeoutSeconds), options.holder, String(HEARTBEAT_GRACE)],
    {
      stdin,
      onLine: (line) => {
        if (line === 'LOCKED') onLocked()
        else if (line.startsWith('WAITING ')) options.onWait(line.slice(8))
        else if (line.startsWith('TIMEOUT ')) holder = line.slice(8)
      }
    }
  )
  const ended = session.then((result) => result)
  const outcome = await Promise.race([locked.then(() => undefined), ended])
  if (outcome !== undefined) {
    stdin.end()
    if (outcome.code === 75) {
      throw new Error(
        `Timed out after ${options.timeoutSeconds} s (lock-timeout) waiting for the deploy lock of ` +
          `${options.service}, held by: ${holder}`
      )
    }
    throw new Error(`Could not take the deploy lock of ${options.service}: ${outcome.stderr.trim()}`)
  }
  const heartbeat = setInterval(() => stdin.write('\n'), HEARTBEAT_MS)
  let releasing = false
  let lost = false
  void ended.then(() => {
    clearInterval(heartbeat)
    lost = !releasing
  })
  return {
    assertHeld() {
      if (lost) throw new Error(`Lost the deploy lock of ${options.service}: the host ended the lock session`)
    },
    async release() {
      releasing = true
      clearInterval(heartbeat)
      stdin.end()
      await ended
    }
  }
}

import { PassThrough } from 'node:stream'
import { bashCommand, type RunResult, type Ssh } from '../ssh/connection.js'
import { lostLock } from './guard.js'
import { serviceDir } from './paths.js'
import { SCRIPTS } from './scripts.js'

// The lock is an flock held by a remote bash (scripts/lock.sh) that lives exactly as long as
// this run's SSH channel: a cancelled job or a lost runner closes the channel (or stops the
// heartbeat) and the kernel drops the lock. There is no lock file for anyone to clean up. The
// channel runs on an SSH connection of its own: on a shared one, the image stream fills the TCP
// send queue, and a slow or briefly cut uplink delayed the heartbeat past the grace.

const HEARTBEAT_MS = 5_000
/**
 * Seconds without a heartbeat after which the host gives the lock up (a runner lost without a
 * FIN). Long enough for a 30 s one-way cut: TCP's retransmissions back off to ~51 s after it
 * began before the queued heartbeat gets through.
 */
export const HEARTBEAT_GRACE = 60


export interface HostLock {
  /** Counts the times this service's lock was taken; see Survey.lockGeneration. */
  generation: number
  /** Throws when the host gave the lock up while this run still needed it. */
  assertHeld(): void
  release(): Promise<void>
}

export interface LockOptions {
  service: string
  timeoutSeconds: number
  holder: string
  onWait: (holder: string) => void
  /** The host has not answered for this many seconds (its login shell may be slow to start). */
  onSilent?: (seconds: number) => void
}

/** After this long without a word from the lock session the run says so, once. */
const SILENT_NOTICE_SECONDS = 10

/** A lock channel opened ahead of time; nothing happens on the host until acquire(). */
export interface PendingLock {
  acquire(): Promise<HostLock>
  /** Gives up without taking the lock. */
  abandon(): void
}

export function openLock(connection: Promise<Pick<Ssh, 'exec'>>, options: LockOptions): PendingLock {
  const stdin = new PassThrough()
  let onLocked: (generation: number) => void = () => undefined
  let holder = 'unknown'
  let heard = false
  const locked = new Promise<number>((resolve) => (onLocked = resolve))
  const args = [serviceDir(options.service), String(options.timeoutSeconds), options.holder, String(HEARTBEAT_GRACE)]
  const ended = connection.then((ssh) => ssh.exec(bashCommand(SCRIPTS.lock, args), {
    stdin,
    onLine: (line) => {
      heard = true
      if (line.startsWith('LOCKED ')) onLocked(Number(line.slice(7)))
      else if (line.startsWith('WAITING ')) options.onWait(line.slice(8))
      else if (line.startsWith('TIMEOUT ')) holder = line.slice(8)
    }
  }))
  ended.catch(() => undefined) // observed by acquire(); an abandoned lock has no reader
  return {
    abandon: () => void stdin.end(),
    async acquire() {
      stdin.write('go\n')
      const outcome = await boundSilence(Promise.race([locked, ended]), options, () => heard)
      if (typeof outcome === 'number') return heldLock(options.service, outcome, stdin, ended)
      stdin.end()
      throw lockError(outcome, options, holder)
    }
  }
}

/**
 * The host bounds a wait for another deploy (flock -w); this bounds a host that never answers:
 * it says so after a while, and gives up after lock-timeout and the heartbeat grace.
 */
async function boundSilence<T>(answer: Promise<T>, options: LockOptions, heard: () => boolean): Promise<T | 'silent'> {
  const notice = setTimeout(() => heard() || options.onSilent?.(SILENT_NOTICE_SECONDS), SILENT_NOTICE_SECONDS * 1000)
  let giveUp: NodeJS.Timeout | undefined
  const silent = new Promise<'silent'>((resolve) => {
    giveUp = setTimeout(() => resolve('silent'), (options.timeoutSeconds + HEARTBEAT_GRACE) * 1000)
  })
  try {
    return await Promise.race([answer, silent])
  } finally {
    clearTimeout(notice)
    clearTimeout(giveUp)
  }
}

function lockError(outcome: RunResult | 'silent', options: LockOptions, holder: string): Error {
  const { service, timeoutSeconds } = options
  if (outcome === 'silent') {
    const limit = timeoutSeconds + HEARTBEAT_GRACE
    return new Error(`The host did not answer the deploy lock request of ${service} within ${limit} s (lock-timeout + ${HEARTBEAT_GRACE} s)`)
  }
  if (outcome.code === 75) {
    return new Error(`Timed out after ${timeoutSeconds} s (lock-timeout) waiting for the deploy lock of ${service}, held by: ${holder}`)
  }
  return new Error(`Could not take the deploy lock of ${service}: ${outcome.stderr.trim()}`)
}

function heldLock(service: string, generation: number, stdin: PassThrough, ended: Promise<unknown>): HostLock {
  const heartbeat = setInterval(() => stdin.write('\n'), HEARTBEAT_MS)
  let releasing = false
  let lost = false
  const onEnd = (): void => {
    clearInterval(heartbeat)
    lost = !releasing
  }
  void ended.then(onEnd, onEnd)
  return {
    generation,
    assertHeld() {
      if (lost) throw lostLock(service, "the host ended this run's lock session")
    },
    async release() {
      releasing = true
      clearInterval(heartbeat)
      stdin.end()
      await ended.catch(() => undefined)
    }
  }
}

// Entry point of dist/renew (second ncc entry), the program of each proxy's renewal container
// (<network>-renew). It renews the certificates of one store (BLUEGREEN_TLS_DIR) with fewer than
// BLUEGREEN_RENEW_DAYS days left: after a random delay of up to BLUEGREEN_RENEW_JITTER_SECONDS (so
// a fleet of servers does not ask the CA at the same moment, as Let's Encrypt asks of clients),
// then every BLUEGREEN_RENEW_HOURS. Each pass is a child process under flock(1) on the store's
// lock, which a deploy's own pass holds too: never two passes at once.
//   node renew.mjs         the daily loop (the container's command)
//   node renew.mjs once    one pass now, under the lock (docker exec, by hand or in tests)
//   node renew.mjs pass    one pass, the lock already held (what the two above run)
// No inputs hold secrets: the keys are files in the store.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { renewAll } from './tls/renew.js'
import { lockPath } from './tls/store.js'

const FLOCK = '/usr/bin/flock'
const LOCK_BUSY = 75

function number(name: string, fallback: number, min = 0): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number of at least ${min}, not '${raw}'`)
  return value
}

function owner(): { uid: number; gid: number } | undefined {
  const raw = process.env.BLUEGREEN_TLS_OWNER // uid:gid of the proxy's nginx workers
  if (!raw) return undefined
  const match = /^(\d+):(\d+)$/.exec(raw)
  if (!match) throw new Error(`BLUEGREEN_TLS_OWNER must be uid:gid, not '${raw}'`)
  return { uid: Number(match[1]), gid: Number(match[2]) }
}

const log = (line: string): void => console.log(`${new Date().toISOString()} ${line}`)
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function storeDir(): string {
  const dir = process.env.BLUEGREEN_TLS_DIR
  if (!dir) throw new Error('BLUEGREEN_TLS_DIR is not set')
  return dir
}

/** One pass; the caller holds the lock. False when an order failed. */
async function pass(): Promise<boolean> {
  const extra = process.env.BLUEGREEN_TLS_EXTRA_ROOTS
  const outcomes = await renewAll({
    dir: storeDir(),
    withinDays: number('BLUEGREEN_RENEW_DAYS', 30, 1),
    owner: owner(),
    extraRootsPem: extra ? readFileSync(extra, 'utf8') : undefined,
    timeoutMs: number('BLUEGREEN_RENEW_TIMEOUT_SECONDS', 300, 1) * 1000,
    log
  })
  if (outcomes.length === 0) log('no certificates to renew')
  return outcomes.every((outcome) => outcome.action !== 'failed')
}

/** `pass` in a child process that holds the store's lock; resolves with its exit code. */
function lockedPass(): Promise<number> {
  const wait = String(number('BLUEGREEN_RENEW_LOCK_SECONDS', 900, 0))
  const args = ['-w', wait, '-E', String(LOCK_BUSY), lockPath(storeDir()), process.execPath, process.argv[1], 'pass']
  return new Promise((resolve) => {
    const child = spawn(FLOCK, args, { stdio: 'inherit' })
    child.on('error', (error) => {
      log(`could not start ${FLOCK}: ${error.message}`)
      resolve(2)
    })
    child.on('close', (code) => {
      if (code === LOCK_BUSY) log(`the store's lock stayed taken for ${wait} s (a deploy's pass?); this pass is skipped`)
      resolve(code ?? 2)
    })
  })
}

async function daily(): Promise<never> {
  const hours = number('BLUEGREEN_RENEW_HOURS', 24, 0.001)
  const jitter = number('BLUEGREEN_RENEW_JITTER_SECONDS', 3600, 0)
  // docker stop sends SIGTERM; nothing is half-written (every file is replaced by rename).
  process.on('SIGTERM', () => process.exit(0))
  for (;;) {
    const delay = Math.random() * jitter * 1000
    log(`next pass in ${Math.round(delay / 1000)} s`)
    await sleep(delay)
    await lockedPass()
    await sleep(hours * 3_600_000)
  }
}

async function main(): Promise<void> {
  const mode = process.argv[2] ?? 'daily'
  if (mode === 'pass') process.exitCode = (await pass()) ? 0 : 1
  else if (mode === 'once') process.exitCode = await lockedPass()
  else if (mode === 'daily') await daily()
  else throw new Error(`unknown mode '${mode}': daily, once or pass`)
}

main().catch((error: unknown) => {
  log(String(error instanceof Error ? error.message : error))
  process.exitCode = 2
})

// Entry point of dist/renew.mjs, the renewal container's program (second ncc entry). It renews the
// host's certificates with fewer than BLUEGREEN_RENEW_DAYS days left, then sleeps
// BLUEGREEN_RENEW_HOURS and does it again; BLUEGREEN_RENEW_ONCE=1 makes one pass and exits
// non-zero when an order failed. No inputs hold secrets: the keys are files in the state root.
import { readFileSync } from 'node:fs'
import { renewAll } from './tls/renew.js'
import { TLS_DIR } from './tls/store.js'


function number(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not '${raw}'`)
  return value
}

function owner(): { uid: number; gid: number } | undefined {
  const raw = process.env.BLUEGREEN_TLS_OWNER // uid:gid of the proxy's nginx worker
  if (!raw) return undefined
  const match = /^(\d+):(\d+)$/.exec(raw)
  if (!match) throw new Error(`BLUEGREEN_TLS_OWNER must be uid:gid, not '${raw}'`)
  return { uid: Number(match[1]), gid: Number(match[2]) }
}

const log = (line: string): void => console.log(`${new Date().toISOString()} ${line}`)

async function pass(): Promise<boolean> {
  const extra = process.env.BLUEGREEN_TLS_EXTRA_ROOTS
  const outcomes = await renewAll({
    dir: process.env.BLUEGREEN_TLS_DIR || TLS_DIR,
    withinDays: number('BLUEGREEN_RENEW_DAYS', 30),
    owner: owner(),
    extraRootsPem: extra ? readFileSync(extra, 'utf8') : undefined,
    timeoutMs: number('BLUEGREEN_RENEW_TIMEOUT_SECONDS', 300) * 1000,
    log
  })
  if (outcomes.length === 0) log('no certificates to renew')
  return outcomes.every((outcome) => outcome.action !== 'failed')
}

async function main(): Promise<void> {
  const hours = number('BLUEGREEN_RENEW_HOURS', 24)
  if (process.env.BLUEGREEN_RENEW_ONCE === '1') {
    process.exitCode = (await pass()) ? 0 : 1
    return
  }
  // docker stop sends SIGTERM; nothing is half-written (every file is replaced by rename).
  process.on('SIGTERM', () => process.exit(0))
  for (;;) {
    await pass().catch((error: unknown) => log(`renewal pass failed: ${String(error)}`))
    await new Promise((resolve) => setTimeout(resolve, hours * 3_600_000))
  }
}

main().catch((error: unknown) => {
  log(String(error instanceof Error ? error.message : error))
  process.exitCode = 2
})

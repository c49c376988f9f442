import type { Runner } from './guard.js'
import { parseCanaryCounts, type CanaryCounts } from './canary-counts.js'
import { proxyDir, proxyName, type Slot } from './paths.js'
import { SCRIPTS } from './scripts.js'

// A canary sends a share of clients (by their bucket, 00-99, kept in a cookie the proxy sets) to
// the candidate's slot next to the live one, with no reload: a file per bucket that nginx tests
// per request. Its requests are logged per slot in the proxy, which is what it is judged by.

export interface CanaryTarget {
  network: string
  service: string
}

async function canary(run: Runner, target: CanaryTarget, args: string[]): Promise<string> {
  const result = await run(SCRIPTS.canary, [proxyDir(target.network), proxyName(target.network), target.service, ...args])
  const failed = result.stdout.split('\n').find((line) => line.startsWith('FAILED '))
  if (result.code !== 0) throw new Error(`canary: ${failed?.slice(7) ?? (result.stderr.trim() || `exit ${result.code}`)}`)
  return result.stdout
}

/** Sends buckets 00 to percent-1 to `slot`. */
export async function startCanary(run: Runner, target: CanaryTarget, slot: Slot, percent: number): Promise<void> {
  await canary(run, target, ['start', slot, String(percent)])
}

export async function readCanary(run: Runner, target: CanaryTarget): Promise<CanaryCounts> {
  return parseCanaryCounts(await canary(run, target, ['read']))
}

/** Every client back on the slot the symlink names. */
export async function stopCanary(run: Runner, target: CanaryTarget): Promise<void> {
  await canary(run, target, ['stop'])
}

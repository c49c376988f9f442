// The tests' side of sandbox/pebble.sh: start it (bounded), read its info, fetch the issuing root,
// and steer its mock DNS.
import { readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCommand } from './sandbox.js'

export const PEBBLE_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'pebble.sh')
export const PEBBLE_INFO_PATH = '/var/lib/bluegreen-sandbox/pebble/info.json'

export interface PebbleInfo {
  directoryUrl: string
  /** The same directory as containers on the sandbox's host engine reach it. */
  containerDirectoryUrl: string
  caBundlePath: string
  /** PEM of the CA behind pebble's own HTTPS (not the issuing root). */
  caBundle: string
  rootUrl: string
  intermediateUrl: string
  dnsManagementUrl: string
  dnsAddress: string
  httpPort: number
  blockedDomain: string
  /** How long every certificate pebble issues lasts. */
  certValiditySeconds: number
}

/** Let's Encrypt's 90 days, pebble.sh's default. */
export const NINETY_DAYS = 7_776_000

/**
 * `pebble.sh up` with HTTP-01 validation sent to httpPort, certificates of `validitySeconds`, and
 * orders for names under `blocked` refused (pebble restarts, with a new issuing root, when any of
 * these changes); throws with its output on failure.
 */
export async function ensurePebble(httpPort: number, validitySeconds = NINETY_DAYS, blocked: string[] = []): Promise<PebbleInfo> {
  const env = { ...process.env, PEBBLE_HTTP_PORT: String(httpPort), PEBBLE_CERT_VALIDITY: String(validitySeconds), PEBBLE_BLOCKED_DOMAINS: blocked.join(' ') }
  const result = await runCommand(PEBBLE_SCRIPT, ['up'], { env, timeoutMs: 300_000 })
  if (result.code !== 0) throw new Error(`pebble.sh up failed (exit ${result.code}): ${result.stderr.trim()}`)
  return JSON.parse(readFileSync(PEBBLE_INFO_PATH, 'utf8')) as PebbleInfo
}

function get(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, timeout: 10_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: HTTP ${res.statusCode} ${body}`))))
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in 10 s`)))
    req.on('error', reject)
    req.end()
  })
}

/** `pebble.sh down`: the CA stops answering (its state, keys and packages stay). */
export async function stopPebble(): Promise<void> {
  const result = await runCommand(PEBBLE_SCRIPT, ['down'], { timeoutMs: 60_000 })
  if (result.code !== 0) throw new Error(`pebble.sh down failed (exit ${result.code}): ${result.stderr.trim()}`)
}

/** Pebble's issuing root (regenerated at each pebble start). */
export function pebbleRoot(info: PebbleInfo): Promise<string> {
  return get(info.rootUrl, info.caBundle)
}

/** POST to pebble-challtestsrv's management API, e.g. ('/set-servfail', { host }). */
export async function dnsControl(info: PebbleInfo, path: string, body: object): Promise<void> {
  const response = await fetch(`${info.dnsManagementUrl}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000) })
  if (!response.ok) throw new Error(`challtestsrv ${path}: HTTP ${response.status} ${await response.text()}`)
}

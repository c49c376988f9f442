// One renewal pass over the host's certificates: each recorded order whose certificate is missing
// or has fewer than `withinDays` days left is obtained again through the webroot, verified (chain
// to a trusted root, every name, in date), and only then installed. A failure of one order is
// logged and the others go on; the old certificate keeps being served until its expiry.
import { readFile } from 'node:fs/promises'
import { rootCertificates } from 'node:tls'
import { obtainCertificate } from './acme.js'
import { checkCertificate, daysLeft, parsePemCertificates } from './certificate.js'
import {
  installCertificate,
  loadAccountKey,
  pemPath,
  readOrders,
  saveAccountKey,
  webrootChallenge,
  type OrderRecord,
  type Owner
} from './store.js'

export interface RenewOptions {
  dir: string
  /** Renew below this many days left (default 30: Let's Encrypt's 90-day certificates at 2/3). */
  withinDays?: number
  /** Owner of the installed key files: the proxy's nginx worker user. */
  owner?: Owner
  /** Extra trusted roots for the issued chain, e.g. a test CA's issuing root. */
  extraRootsPem?: string
  timeoutMs?: number
  now?: () => Date
  log?: (line: string) => void
}

export type RenewOutcome =
  | { names: string[]; action: 'kept'; daysLeft: number }
  | { names: string[]; action: 'renewed'; serial: string; notAfter: Date }
  | { names: string[]; action: 'failed'; error: string }

/** Days left on the certificate installed for the order's first name; undefined when none is. */
export async function installedDaysLeft(dir: string, names: string[], now: Date): Promise<number | undefined> {
  try {
    const pem = await readFile(pemPath(dir, names[0]), 'utf8')
    return daysLeft(parsePemCertificates(pem)[0], now)
  } catch {
    return undefined
  }
}

export async function renewOrder(order: OrderRecord, options: RenewOptions): Promise<RenewOutcome> {
  const now = options.now?.() ?? new Date()
  const left = await installedDaysLeft(options.dir, order.names, now)
  if (left !== undefined && left >= (options.withinDays ?? 30)) return { names: order.names, action: 'kept', daysLeft: left }
  try {
    const accountKeyPem = await loadAccountKey(options.dir, order.directoryUrl)
    const got = await obtainCertificate({
      directoryUrl: order.directoryUrl,
      names: order.names,
      email: order.email,
      caBundle: order.caBundle,
      accountKeyPem,
      challenge: webrootChallenge(options.dir),
      timeoutMs: options.timeoutMs,
      log: options.log
    })
    if (!accountKeyPem) await saveAccountKey(options.dir, order.directoryUrl, got.accountKeyPem)
    const roots = [...rootCertificates, order.caBundle ?? '', options.extraRootsPem ?? ''].filter(Boolean)
    checkCertificate({ chainPem: got.certificatePem, rootsPem: roots, names: order.names, input: 'the renewed certificate' })
    await installCertificate(options.dir, order.names, got.keyPem, got.certificatePem, options.owner)
    return { names: order.names, action: 'renewed', serial: got.serial, notAfter: got.notAfter }
  } catch (error) {
    return { names: order.names, action: 'failed', error: error instanceof Error ? error.message : String(error) }
  }
}

/** Every order, one after the other (one CA, and a host has few). */
export async function renewAll(options: RenewOptions): Promise<RenewOutcome[]> {
  const outcomes: RenewOutcome[] = []
  for (const order of await readOrders(options.dir)) {
    const outcome = await renewOrder(order, options)
    options.log?.(describe(outcome))
    outcomes.push(outcome)
  }
  return outcomes
}

export function describe(outcome: RenewOutcome): string {
  const names = outcome.names.join(', ')
  if (outcome.action === 'kept') return `${names}: ${outcome.daysLeft.toFixed(1)} days left, kept`
  if (outcome.action === 'renewed') return `${names}: renewed, serial ${outcome.serial}, valid until ${outcome.notAfter.toISOString()}`
  return `${names}: renewal FAILED: ${outcome.error}`
}

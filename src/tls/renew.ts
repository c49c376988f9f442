// One renewal pass over a store's certificates: each recorded order whose certificate is missing,
// names other hosts than the order, or has fewer than `withinDays` days left is obtained again
// through the webroot, verified (chain to a trusted root, every name, in date), and only then
// installed. A failure of one order is logged and the others go on; the old certificate keeps
// being served until its expiry. The caller holds the store's lock (src/renew.ts).
import { readFile } from 'node:fs/promises'
import { rootCertificates } from 'node:tls'
import { obtainCertificate } from './acme.js'
import { checkCertificate } from './certificate.js'
import { daysUntil, renewalReason } from './policy.js'
import {
  certPath,
  certificateRecord,
  factsPath,
  installCertificate,
  loadAccountKey,
  readOrders,
  saveAccountKey,
  storeOwner,
  webrootChallenge,
  type CertificateRecord,
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
  | { id: string; names: string[]; action: 'kept'; daysLeft: number }
  | { id: string; names: string[]; action: 'renewed'; serial: string; notAfter: Date }
  | { id: string; names: string[]; action: 'failed'; error: string }

/** The record of what is installed for `id`; undefined when nothing is. */
export async function installedRecord(dir: string, id: string): Promise<CertificateRecord | undefined> {
  try {
    return JSON.parse(await readFile(factsPath(dir, id), 'utf8')) as CertificateRecord
  } catch {
    return undefined
  }
}

/**
 * The private key of the certificate installed for `id`, which its renewal keeps: nginx reads a
 * handshake's certificate and key in two opens of the one file, so only a new certificate for
 * the same key can replace the file while handshakes go on. Undefined: none to keep.
 */
export async function installedKey(dir: string, id: string): Promise<string | undefined> {
  const pem = await readFile(certPath(dir, id), 'utf8').catch(() => '')
  return /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/.exec(pem)?.[0]
}

export async function renewOrder(order: OrderRecord, options: RenewOptions): Promise<RenewOutcome> {
  const now = options.now?.() ?? new Date()
  const base = { id: order.id, names: order.names }
  const record = await installedRecord(options.dir, order.id)
  const reason = renewalReason(order, record, now, options.withinDays)
  if (!reason && record) return { ...base, action: 'kept', daysLeft: daysUntil(record.notAfter, now) }
  options.log?.(`${order.names.join(', ')}: renewing (${reason})`)
  try {
    const files = await storeOwner(options.dir)
    const accountKeyPem = await loadAccountKey(options.dir, order.directoryUrl)
    const got = await obtainCertificate({
      directoryUrl: order.directoryUrl,
      names: order.names,
      email: order.email,
      caBundle: order.caBundle,
      accountKeyPem,
      certificateKeyPem: record?.source === 'auto' ? await installedKey(options.dir, order.id) : undefined,
      challenge: webrootChallenge(options.dir, files),
      timeoutMs: options.timeoutMs,
      log: options.log
    })
    if (!accountKeyPem) await saveAccountKey(options.dir, order.directoryUrl, got.accountKeyPem, files)
    const roots = [...rootCertificates, order.caBundle ?? '', options.extraRootsPem ?? ''].filter(Boolean)
    const facts = checkCertificate({ chainPem: got.certificatePem, rootsPem: roots, names: order.names, input: 'the renewed certificate' })
    const installed = certificateRecord(order.id, order.names, facts, 'auto', order.directoryUrl)
    await installCertificate(options.dir, installed, got.keyPem, got.certificatePem, { key: options.owner, files })
    return { ...base, action: 'renewed', serial: got.serial, notAfter: got.notAfter }
  } catch (error) {
    return { ...base, action: 'failed', error: error instanceof Error ? error.message : String(error) }
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

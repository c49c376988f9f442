// Certificates on the host, one store per proxy, in the proxy's own conf.d (mounted read-only at
// /etc/nginx/conf.d), so a recreated proxy serves the same certificates at once and the renewal
// container finds what to renew without the runner. One certificate per service (`id`):
//
//   certs/<id>.pem        key + chain in ONE file, so one rename replaces both and nginx, which
//                         reads it per handshake, needs no reload. Mode 0600, owned by the proxy's
//                         nginx worker user: the workers, not the root master, read it.
//   facts/<id>.json       what is installed (names, serial, dates, issuer, how it came): read by
//                         the deploy and the summary, so no one reads the key to learn it
//   orders/<id>.json      what the daily pass renews (tls: auto only)
//   accounts/<hash>.key   ACME account key per directory URL, 0600
//   webroot/.well-known/acme-challenge/<token>   HTTP-01 answers the proxy serves on port 80
//   lock                  flock: one pass at a time, the deploy's or the renewal container's
//
// Every file other than a key belongs to the store's owner (the SSH user that made it): the
// renewal container runs as root and hands back what it writes, so the next deploy can write
// beside it.
import { createHash } from 'node:crypto'
import { chmod, chown, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Challenge } from './acme.js'
import type { CertificateFacts } from './certificate.js'

/** Below the proxy's folder (host/paths.ts proxyDir): its conf.d/bluegreen/tls. */
export const STORE_SUBDIR = 'conf.d/bluegreen/tls'

export interface OrderRecord {
  /** The service the certificate is for: its file name. */
  id: string
  names: string[]
  directoryUrl: string
  email?: string
  /** Extra PEM to trust for the directory's HTTPS and the issued chain (acme-ca-bundle). */
  caBundle?: string
}

/** What is installed for a service, written beside the key at each install. */
export interface CertificateRecord {
  id: string
  /** The server names it was installed for. */
  names: string[]
  serial: string
  notBefore: string
  notAfter: string
  issuer: string
  source: 'auto' | 'custom'
  directoryUrl?: string
  installedAt: string
}

export interface Owner {
  uid: number
  gid: number
}

export const certPath = (dir: string, id: string): string => join(dir, 'certs', `${safeName(id)}.pem`)
export const factsPath = (dir: string, id: string): string => join(dir, 'facts', `${safeName(id)}.json`)
export const orderPath = (dir: string, id: string): string => join(dir, 'orders', `${safeName(id)}.json`)
export const webroot = (dir: string): string => join(dir, 'webroot')
export const lockPath = (dir: string): string => join(dir, 'lock')

/** The account key's file name for a directory URL (host/tls.ts names the same file). */
export function accountKeyName(directoryUrl: string): string {
  return `${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}.key`
}

export function accountKeyPath(dir: string, directoryUrl: string): string {
  return join(dir, 'accounts', accountKeyName(directoryUrl))
}

/** A service or server name as a file name: DNS characters only, so no name can climb out of the folder. */
export function safeName(name: string): string {
  const lower = name.toLowerCase()
  if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(lower)) {
    throw new Error(`server-name: '${name}' is not a DNS name (letters, digits, hyphens and dots)`)
  }
  return lower
}

/** The record of a certificate installed now from these facts. */
export function certificateRecord(id: string, names: string[], facts: CertificateFacts, source: 'auto' | 'custom', directoryUrl?: string): CertificateRecord {
  return {
    id, names: names.map((name) => name.toLowerCase()), serial: facts.serial, notBefore: facts.notBefore.toISOString(), notAfter: facts.notAfter.toISOString(),
    issuer: facts.issuer, source, ...(directoryUrl ? { directoryUrl } : {}), installedAt: new Date().toISOString()
  }
}

/** The store's owner: whoever owns its folder (the deploy's SSH user). */
export async function storeOwner(dir: string): Promise<Owner> {
  const info = await stat(dir)
  return { uid: info.uid, gid: info.gid }
}

/** mkdir -p, handing each folder it made to `owner`. */
async function ensureDir(path: string, owner?: Owner): Promise<void> {
  const made = await mkdir(path, { recursive: true, mode: 0o755 })
  if (!made || !owner) return
  for (let at = path; at.length >= made.length; at = dirname(at)) await chown(at, owner.uid, owner.gid)
}

/** Write then rename in the same folder: readers see the old file or the new one, never half. */
export async function writeAtomic(path: string, data: string, mode: number, owner?: Owner, dirOwner?: Owner): Promise<void> {
  await ensureDir(dirname(path), dirOwner ?? owner)
  const tmp = `${path}.tmp-${process.pid}`
  await writeFile(tmp, data, { mode })
  await chmod(tmp, mode) // writeFile's mode passes through the umask
  if (owner) await chown(tmp, owner.uid, owner.gid)
  await rename(tmp, path)
}

export interface Owners {
  /** The proxy's nginx worker user, for the key file. */
  key?: Owner
  /** The store's owner, for everything else. */
  files?: Owner
}

/** Key and chain in one file, then the record of what it is. */
export async function installCertificate(dir: string, record: CertificateRecord, keyPem: string, chainPem: string, owners: Owners = {}): Promise<void> {
  const pem = `${keyPem.trim()}\n${chainPem.trim()}\n`
  await writeAtomic(certPath(dir, record.id), pem, 0o600, owners.key, owners.files)
  await writeAtomic(factsPath(dir, record.id), `${JSON.stringify(record, null, 2)}\n`, 0o644, owners.files)
}

async function readJsonFiles<T>(folder: string): Promise<T[]> {
  let files: string[]
  try {
    files = (await readdir(folder)).filter((file) => file.endsWith('.json'))
  } catch {
    return []
  }
  const read = await Promise.all(files.sort().map(async (file) => JSON.parse(await readFile(join(folder, file), 'utf8')) as T))
  return read
}

export const readOrders = (dir: string): Promise<OrderRecord[]> => readJsonFiles<OrderRecord>(join(dir, 'orders'))
export const readRecords = (dir: string): Promise<CertificateRecord[]> => readJsonFiles<CertificateRecord>(join(dir, 'facts'))

export async function saveOrder(dir: string, order: OrderRecord, owner?: Owner): Promise<void> {
  await writeAtomic(orderPath(dir, order.id), `${JSON.stringify(order, null, 2)}\n`, 0o644, owner)
}

/** The account key for this directory, if one was saved. */
export async function loadAccountKey(dir: string, directoryUrl: string): Promise<string | undefined> {
  try {
    return await readFile(accountKeyPath(dir, directoryUrl), 'utf8')
  } catch {
    return undefined
  }
}

export async function saveAccountKey(dir: string, directoryUrl: string, keyPem: string, owner?: Owner): Promise<void> {
  await writeAtomic(accountKeyPath(dir, directoryUrl), keyPem, 0o600, owner)
}

/** A challenge token as a file name: base64url only (RFC 8555 8.1), so it cannot leave the folder. */
export function tokenName(token: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error(`the CA sent a challenge token that is not base64url: ${token}`)
  return token
}

/** HTTP-01 through files the proxy serves from the webroot (readable: nginx workers serve them). */
export function webrootChallenge(dir: string, owner?: Owner): Challenge {
  const path = (token: string): string => join(webroot(dir), '.well-known', 'acme-challenge', tokenName(token))
  return {
    put: async (token, keyAuthorization) => writeAtomic(path(token), keyAuthorization, 0o644, owner),
    remove: async (token) => rm(path(token), { force: true })
  }
}

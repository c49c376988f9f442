// Certificates on the host, under the state root, so a recreated proxy serves the same one at once
// and the renewal container finds what to renew without the runner:
//
//   _tls/certs/<name>.pem         key + chain in ONE file, per server name. The proxy reads it per
//                                 handshake (ssl_certificate and ssl_certificate_key both
//                                 .../$ssl_server_name.pem), so one rename replaces key and chain
//                                 together and nginx needs no reload. Mode 0600, owned by the
//                                 proxy's worker user: nginx workers, not the root master, read it.
//   _tls/orders/<name>.json       what to renew: names, directory, contact (first name of the set)
//   _tls/accounts/<hash>.key      ACME account key per directory URL, 0600
//   _tls/webroot/.well-known/acme-challenge/<token>   HTTP-01 answers the proxy serves on port 80
import { createHash } from 'node:crypto'
import { chmod, chown, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Challenge } from './acme.js'

/** Same root as host/paths.ts STATE_ROOT; the renewal container mounts it at this path too. */
export const TLS_DIR = '/var/lib/bluegreen/_tls'

export interface OrderRecord {
  names: string[]
  directoryUrl: string
  email?: string
  /** Extra PEM to trust for the directory's HTTPS and the issued chain (acme-ca-bundle). */
  caBundle?: string
}

export interface Owner {
  uid: number
  gid: number
}

export const pemPath = (dir: string, name: string): string => join(dir, 'certs', `${safeName(name)}.pem`)
export const orderPath = (dir: string, name: string): string => join(dir, 'orders', `${safeName(name)}.json`)
export const webroot = (dir: string): string => join(dir, 'webroot')

export function accountKeyPath(dir: string, directoryUrl: string): string {
  return join(dir, 'accounts', `${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}.key`)
}

/** A server name as a file name: DNS characters only, so no name can climb out of the folder. */
export function safeName(name: string): string {
  const lower = name.toLowerCase()
  if (!/^[a-z0-9*]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(lower)) {
    throw new Error(`server-name: '${name}' is not a DNS name (letters, digits, hyphens and dots)`)
  }
  return lower
}

/** Write then rename in the same folder: readers see the old file or the new one, never half. */
export async function writeAtomic(path: string, data: string, mode: number, owner?: Owner): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 })
  const tmp = `${path}.tmp-${process.pid}`
  await writeFile(tmp, data, { mode })
  await chmod(tmp, mode) // writeFile's mode passes through the umask
  if (owner) await chown(tmp, owner.uid, owner.gid)
  await rename(tmp, path)
}

/** Key and chain for every name of the certificate, each file replaced in one rename. */
export async function installCertificate(dir: string, names: string[], keyPem: string, chainPem: string, owner?: Owner): Promise<void> {
  const pem = `${keyPem.trim()}\n${chainPem.trim()}\n`
  for (const name of names) await writeAtomic(pemPath(dir, name), pem, 0o600, owner)
}

export async function readOrders(dir: string): Promise<OrderRecord[]> {
  let files: string[]
  try {
    files = (await readdir(join(dir, 'orders'))).filter((file) => file.endsWith('.json'))
  } catch {
    return []
  }
  return Promise.all(files.sort().map(async (file) => JSON.parse(await readFile(join(dir, 'orders', file), 'utf8')) as OrderRecord))
}

export async function saveOrder(dir: string, order: OrderRecord): Promise<void> {
  await writeAtomic(orderPath(dir, order.names[0]), `${JSON.stringify(order, null, 2)}\n`, 0o644)
}

/** The account key for this directory, created (0600) on first use. */
export async function loadAccountKey(dir: string, directoryUrl: string): Promise<string | undefined> {
  try {
    return await readFile(accountKeyPath(dir, directoryUrl), 'utf8')
  } catch {
    return undefined
  }
}

export async function saveAccountKey(dir: string, directoryUrl: string, keyPem: string): Promise<void> {
  await writeAtomic(accountKeyPath(dir, directoryUrl), keyPem, 0o600)
}

/** HTTP-01 through files the proxy serves from the webroot (readable: nginx workers serve them). */
export function webrootChallenge(dir: string): Challenge {
  const path = (token: string): string => {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error(`the CA sent a challenge token that is not base64url: ${token}`)
    return join(webroot(dir), '.well-known', 'acme-challenge', token)
  }
  return {
    put: async (token, keyAuthorization) => writeAtomic(path(token), keyAuthorization, 0o644),
    remove: async (token) => rm(path(token), { force: true })
  }
}

import { createHash, createHmac } from 'node:crypto'

// Host key checks happen inside the SSH handshake, before authentication, so a mismatch
// means no command ever runs on an impostor.

export interface KnownHost {
  marker?: '@revoked' | '@cert-authority'
  patterns: string[]
  keyType: string
  key: Buffer
}

/** The SHA256:... form that `ssh-keygen -lf` prints. */
export function fingerprintOf(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')
}

/**
 * A fingerprint as given, in the form fingerprintOf() makes: some tools keep base64's `=` padding
 * (`SHA256:...=`), and the prefix may come in another case. Anything else is left for validation.
 */
export function normalFingerprint(text: string): string {
  const match = /^sha256:([A-Za-z0-9+/]+)={0,2}$/i.exec(text)
  return match ? `SHA256:${match[1]}` : text
}

/** The algorithm name at the start of an SSH wire-format public key. */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown'
  const length = keyBlob.readUInt32BE(0)
  return keyBlob.subarray(4, 4 + length).toString('latin1')
}

/** Host key algorithms ssh2 may negotiate for a key of this type. */
export function algorithmsFor(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
  return [keyType]
}

/** Algorithm families, in ssh2's order of preference, for trying each of a server's keys. */
export const KEY_FAMILIES: string[][] = [
  ['ssh-ed25519'],
  ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'],
  algorithmsFor('ssh-rsa')
]

export function parseKnownHosts(text: string): KnownHost[] {
  const entries: KnownHost[] = []
  text.split('\n').forEach((rawLine, index) => {
    const line = rawLine.trim()
    if (line === '' || line.startsWith('#')) return
    const fields = line.split(/\s+/)
    const marker = fields[0].startsWith('@') ? fields.shift() : undefined
    const [hosts, keyType, base64] = fields
    if (marker !== undefined && marker !== '@revoked' && marker !== '@cert-authority') {
      throw new Error(`known-hosts: line ${index + 1} has an unknown marker ${marker}`)
    }
    if (!hosts || !keyType || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
      throw new Error(
        `known-hosts: line ${index + 1} is not "host key-type base64-key" as in ~/.ssh/known_hosts`
      )
    }
    entries.push({ marker, patterns: hosts.split(','), keyType, key: Buffer.from(base64, 'base64') })
  })
  return entries
}

/** How known_hosts names a host: bare for port 22, else [host]:port. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`
}

export function entriesFor(entries: KnownHost[], host: string, port: number): KnownHost[] {
  const name = knownHostsName(host, port)
  return entries.filter((entry) => matchesHost(entry.patterns, name))
}

/** OpenSSH semantics: any positive match and no negated match. */
function matchesHost(patterns: string[], name: string): boolean {
  let matched = false
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!')
    const body = negated ? pattern.slice(1) : pattern
    if (!matchesPattern(body, name)) continue
    if (negated) return false
    matched = true
  }
  return matched
}

function matchesPattern(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [salt, hash] = pattern.slice(3).split('|')
    if (!salt || !hash) return false
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64')
    return digest === hash
  }
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${regex}$`, 'i').test(name)
}

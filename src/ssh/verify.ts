import * as core from '@actions/core'
import {
  KEY_FAMILIES,
  algorithmsFor,
  fingerprintOf,
  keyTypeOf,
  type KnownHost
} from './hostkey.js'

export type HostKeyCheck =
  | { kind: 'fingerprint'; fingerprints: string[] }
  /** `fingerprints`, when given too: the key must also have one of them. */
  | { kind: 'known-hosts'; name: string; entries: KnownHost[]; fingerprints?: string[] }
  | { kind: 'none' }
  /**
   * A further connection to the host: the key the first one accepted, quietly. A promise holds
   * its handshake until the first has logged in (and refuses the key if the first failed).
   */
  | { kind: 'same-key'; fingerprint: string | Promise<string> }

export class HostKeyError extends Error {
  override name = 'HostKeyError'
}

type Verifier = (key: Buffer) => boolean | Promise<boolean>
type Connect<T> = (verifier: Verifier, algorithms?: string[]) => Promise<T>

interface SeenKey {
  type: string
  fingerprint: string
}

/** Connects only to a host whose key passes `check`; with no check, warns and shows how to pin. */
export async function verifyHostKey<T>(check: HostKeyCheck, connect: Connect<T>): Promise<T> {
  if (check.kind === 'known-hosts') {
    const pinned = (check.fingerprints ?? []).length > 0
    return connectKnownHosts(check.name, pinnedEntries(check), connect, pinned)
  }
  if (check.kind === 'fingerprint') return connectFingerprint(check.fingerprints, connect)
  if (check.kind === 'same-key') {
    const expected = Promise.resolve(check.fingerprint).catch(() => undefined)
    return connect(async (key) => fingerprintOf(key) === (await expected))
  }
  let seen: SeenKey | undefined
  const client = await connect((key) => {
    seen = describe(key)
    return true
  })
  if (seen) warnUnverified(seen)
  return client
}

/**
 * With both known-hosts and fingerprint, the host key must pass both: only the trusted keys
 * whose fingerprint is pinned stay. known_hosts lines hold whole keys, so when none is left the
 * two inputs contradict each other, and that is refused before connecting.
 */
function pinnedEntries(check: Extract<HostKeyCheck, { kind: 'known-hosts' }>): KnownHost[] {
  const { entries, fingerprints = [] } = check
  const trusted = entries.filter((entry) => entry.marker === undefined)
  if (fingerprints.length === 0 || trusted.length === 0) return entries
  const pinned = trusted.filter((entry) => fingerprints.includes(fingerprintOf(entry.key)))
  if (pinned.length === 0) {
    const listed = trusted.map((entry) => `${fingerprintOf(entry.key)} (${entry.keyType})`).join(', ')
    throw new HostKeyError(
      `known-hosts and fingerprint disagree: known-hosts trusts ${listed} for ${check.name}, ` +
        `none of which is the fingerprint ${fingerprints.join(' or ')}. With both inputs given, the host key ` +
        'must match both. No command was run.'
    )
  }
  return entries.filter((entry) => entry.marker !== undefined || pinned.includes(entry))
}

/** `pinned`: the entries were narrowed to the fingerprint input's keys. */
async function connectKnownHosts<T>(name: string, entries: KnownHost[], connect: Connect<T>, pinned = false): Promise<T> {
  const trusted = entries.filter((entry) => entry.marker === undefined)
  const revoked = entries.filter((entry) => entry.marker === '@revoked')
  if (trusted.length === 0) {
    throw new HostKeyError(`known-hosts: no line lists a key for ${name}`)
  }
  const algorithms = [...new Set(trusted.flatMap((entry) => algorithmsFor(entry.keyType)))]
  let seen: SeenKey | undefined
  const verifier: Verifier = (key) => {
    seen = describe(key)
    if (revoked.some((entry) => entry.key.equals(key))) return false
    return trusted.some((entry) => entry.key.equals(key))
  }
  try {
    const client = await connect(verifier, algorithms)
    const also = pinned ? ' and matches the fingerprint input' : ''
    if (seen) core.info(`Host key ${seen.fingerprint} (${seen.type}) is listed in known-hosts for ${name}${also}`)
    return client
  } catch (error) {
    if (!seen) throw error
    throw new HostKeyError(
      `Host key verification failed for ${name}: the server presented ${seen.fingerprint} (${seen.type}), ` +
        `which known-hosts does not trust${pinned ? ' with a fingerprint of the fingerprint input' : ''}. No command was run.`
    )
  }
}

/**
 * A server has several host keys and offers one per handshake, so a fingerprint of its RSA key
 * cannot match when ed25519 is negotiated. Each family is tried in turn until one key matches.
 */
async function connectFingerprint<T>(fingerprints: string[], connect: Connect<T>): Promise<T> {
  const seen: SeenKey[] = []
  let families: (string[] | undefined)[] = [undefined]
  while (families.length > 0) {
    const algorithms = families.shift()
    let offered: SeenKey | undefined
    try {
      const client = await connect((key) => {
        offered = describe(key)
        return fingerprints.includes(offered.fingerprint)
      }, algorithms)
      if (offered) core.info(`Host key ${offered.fingerprint} (${offered.type}) matches the fingerprint input`)
      return client
    } catch (error) {
      if (!offered && !/no matching/i.test(String(error))) throw error
      if (offered) seen.push(offered)
    }
    if (algorithms === undefined) families = untriedFamilies(seen)
  }
  const presented = seen.map((key) => `${key.fingerprint} (${key.type})`).join(', ')
  throw new HostKeyError(
    `Host key verification failed: expected fingerprint ${fingerprints.join(' or ')}, ` +
      `the server presented ${presented || 'no key'}. No command was run.`
  )
}

function untriedFamilies(seen: SeenKey[]): string[][] {
  const tried = new Set(seen.flatMap((key) => algorithmsFor(key.type)))
  return KEY_FAMILIES.filter((family) => !family.some((algorithm) => tried.has(algorithm)))
}

function describe(key: Buffer): SeenKey {
  return { type: keyTypeOf(key), fingerprint: fingerprintOf(key) }
}

function warnUnverified(seen: SeenKey): void {
  core.warning(
    `The host key was NOT verified: anyone between this runner and the host could read the image and env. ` +
      `The server presented ${seen.fingerprint} (${seen.type}). Pin it by adding this input to the step:\n` +
      `  fingerprint: ${seen.fingerprint}`
  )
}

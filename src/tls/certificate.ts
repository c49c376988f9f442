// Pure checks of a certificate before the proxy serves it: the chain reaches a trusted root, the
// leaf covers every server name, it is in date, and (tls: custom) the key is the certificate's.
// No I/O: the caller reads files, so the same checks run on the runner and in the renewal script.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'

const DAY_MS = 86_400_000
const MAX_CHAIN = 8 // a path longer than this is a loop or a mistake, not a CA

export interface CertificateFacts {
  /** Hexadecimal, lower case, no separators (as pebble's /cert-status-by-serial wants it). */
  serial: string
  notBefore: Date
  notAfter: Date
  /** The leaf's DNS subjectAltNames. */
  names: string[]
  issuer: string
}

/** Every certificate in a PEM text, in order. Throws naming `input` when there is none. */
export function parsePemCertificates(pem: string, input = 'certificate'): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  if (blocks.length === 0) {
    throw new Error(`${input}: no certificate found; expected PEM text with -----BEGIN CERTIFICATE----- blocks`)
  }
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block)
    } catch (error) {
      throw new Error(`${input}: certificate ${index + 1} of ${blocks.length} is not valid PEM/DER: ${String(error)}`)
    }
  })
}

export function facts(leaf: X509Certificate): CertificateFacts {
  return {
    serial: leaf.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    names: dnsNames(leaf),
    issuer: leaf.issuer.replace(/\n/g, ', ')
  }
}

/** DNS names of the subjectAltName extension (Node writes them as "DNS:a, DNS:b"). */
export function dnsNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase())
}

/** Days until notAfter (fractional; negative once expired). */
export function daysLeft(cert: X509Certificate, now = new Date()): number {
  return (new Date(cert.validTo).getTime() - now.getTime()) / DAY_MS
}

/**
 * Whether the leaf is valid for `name`. A wildcard in the certificate stands for exactly one whole
 * leftmost label, as RFC 6125 6.4.3 allows and browsers do (OpenSSL's checkHost, no partial
 * wildcards, the subject CN ignored when there are SANs and, as browsers do, also when there are
 * none). A requested wildcard name (*.example.com) needs that very SAN.
 */
export function coversName(leaf: X509Certificate, name: string): boolean {
  const wanted = name.toLowerCase().replace(/\.$/, '')
  if (wanted.startsWith('*.')) return dnsNames(leaf).includes(wanted)
  return leaf.checkHost(wanted, { subject: 'never', wildcards: true, partialWildcards: false }) !== undefined
}

export function missingNames(leaf: X509Certificate, names: string[]): string[] {
  return names.filter((name) => !coversName(leaf, name))
}

function inDate(cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validFrom).getTime() <= now.getTime() && now.getTime() <= new Date(cert.validTo).getTime()
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey)
}

function label(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ', ')
}

/**
 * Builds the path leaf → intermediates (from the chain) → one of the roots and checks each link's
 * signature, CA flag and dates. Returns the root it reached; throws with the first broken link.
 */
export function verifyChain(chain: X509Certificate[], roots: X509Certificate[], now = new Date()): X509Certificate {
  if (roots.length === 0) throw new Error('no trusted root to verify the chain against')
  let cert = chain[0]
  const intermediates = chain.slice(1)
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    if (!inDate(cert, now)) {
      throw new Error(`${label(cert)} is not valid now (${cert.validFrom} to ${cert.validTo})`)
    }
    const root = roots.find((candidate) => candidate.fingerprint256 === cert.fingerprint256 || issuedBy(cert, candidate))
    if (root) {
      if (!inDate(root, now)) throw new Error(`the root ${label(root)} is not valid now (${root.validFrom} to ${root.validTo})`)
      return root
    }
    const next = intermediates.find((candidate) => candidate !== cert && issuedBy(cert, candidate))
    if (!next) {
      throw new Error(`no certificate in the chain or the trusted roots issued ${label(cert)} (issuer ${cert.issuer.replace(/\n/g, ', ')})`)
    }
    if (!next.ca) throw new Error(`${label(next)} signed ${label(cert)} but is not a CA certificate`)
    cert = next
  }
  throw new Error(`the chain is longer than ${MAX_CHAIN} certificates`)
}

export interface CheckOptions {
  /** Leaf first, then intermediates, as PEM. */
  chainPem: string
  /** Trusted roots as PEM (one or many, e.g. a CA bundle). */
  rootsPem: string | string[]
  names: string[]
  now?: Date
  /** Refuse a certificate with fewer days left than this (default 0: only an expired one). */
  minDaysLeft?: number
  /** The input the chain came from, for messages (e.g. tls-certificate). */
  input?: string
}

/** All checks at once; throws one error that lists every problem, naming the input. */
export function checkCertificate(options: CheckOptions): CertificateFacts {
  const input = options.input ?? 'certificate'
  const now = options.now ?? new Date()
  const chain = parsePemCertificates(options.chainPem, input)
  const rootsPem = Array.isArray(options.rootsPem) ? options.rootsPem.join('\n') : options.rootsPem
  const roots = parsePemCertificates(rootsPem, 'trusted roots')
  const leaf = chain[0]
  const problems: string[] = []
  try {
    verifyChain(chain, roots, now)
  } catch (error) {
    problems.push(`the chain does not verify: ${(error as Error).message}`)
  }
  const missing = missingNames(leaf, options.names)
  if (missing.length > 0) {
    problems.push(`it does not cover ${missing.join(', ')} (it names ${dnsNames(leaf).join(', ') || 'no DNS name'})`)
  }
  const left = daysLeft(leaf, now)
  if (left < (options.minDaysLeft ?? 0)) {
    problems.push(left < 0 ? `it expired on ${leaf.validTo}` : `it has only ${left.toFixed(1)} days left (until ${leaf.validTo})`)
  }
  if (problems.length > 0) throw new Error(`${input}: ${problems.join('; ')}`)
  return facts(leaf)
}

/** Parses a private key given as PEM, naming `input` and the expected form when it cannot. */
export function parsePrivateKey(keyPem: string, input = 'tls-private-key'): KeyObject {
  if (/ENCRYPTED/.test(keyPem)) {
    throw new Error(`${input}: the key is encrypted; give it without a passphrase (PEM, -----BEGIN PRIVATE KEY-----)`)
  }
  try {
    return createPrivateKey({ key: keyPem, format: 'pem' })
  } catch {
    // The parser's message could quote the input; say only what was expected.
    throw new Error(`${input}: not a private key; expected PEM text (-----BEGIN PRIVATE KEY-----, RSA or EC PRIVATE KEY)`)
  }
}

/** tls: custom — the key must be the one the leaf certificate was issued for. */
export function checkKeyMatches(chainPem: string, keyPem: string, certInput = 'tls-certificate', keyInput = 'tls-private-key'): void {
  const [leaf] = parsePemCertificates(chainPem, certInput)
  const key = parsePrivateKey(keyPem, keyInput)
  if (!leaf.checkPrivateKey(key)) {
    throw new Error(
      `${keyInput}: the key does not match the certificate in ${certInput} (${label(leaf)}, serial ${facts(leaf).serial}); ` +
        'give the private key that this certificate was issued for'
    )
  }
}

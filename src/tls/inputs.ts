// The HTTPS inputs (tls, acme-*, tls-certificate, tls-private-key, https-port, hsts), parsed and
// checked before the action connects: a custom certificate whose key does not match, that does
// not chain to a trusted root, has expired or does not cover a server-name is refused here,
// before anything on the host changes. Messages name the input and never quote a key.
import { rootCertificates } from 'node:tls'
import { parseBoolean, parseInteger } from '../inputs.js'
import { LETS_ENCRYPT } from './policy.js'
import { checkCertificate, checkKeyMatches, parsePemCertificates, type CertificateFacts } from './certificate.js'

export type TlsMode = 'off' | 'auto' | 'custom'

export interface TlsSpec {
  mode: TlsMode
  /** Host port the proxy publishes for HTTPS. */
  httpsPort: number
  /** Strict-Transport-Security on HTTPS answers. */
  hsts: boolean
  /** auto: the ACME directory and the account's contact. */
  directoryUrl: string
  email?: string
  /** Extra PEM roots: the directory's HTTPS and the issued chain (auto), the custom chain (custom). */
  caBundle?: string
  /** custom: the chain (leaf first) and its key, from secrets. */
  certificatePem?: string
  keyPem?: string
  /** custom: what the given certificate is (serial, names, dates). */
  custom?: CertificateFacts
}

const EMAIL = /^[^\s@"'<>(),;:\\[\]]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/

type Read = (name: string) => string

/** Parses the HTTPS inputs; `serverNames`, `proxyPort` and `hostCount` come from the inputs parsed before. */
export function parseTls(read: Read, serverNames: string[], proxyPort: number, hostCount = 1): TlsSpec {
  const mode = read('tls').toLowerCase()
  if (!['off', 'auto', 'custom'].includes(mode)) throw new Error(`tls: expected off, auto or custom, got "${read('tls')}"`)
  const spec: TlsSpec = {
    mode: mode as TlsMode,
    httpsPort: parseInteger('https-port', read('https-port')),
    hsts: parseBoolean('hsts', read('hsts')),
    directoryUrl: read('acme-directory') || LETS_ENCRYPT,
    email: read('acme-email') || undefined,
    caBundle: read('acme-ca-bundle') || undefined,
    certificatePem: read('tls-certificate') || undefined,
    keyPem: read('tls-private-key') || undefined
  }
  checkCommon(spec, proxyPort)
  if (spec.mode === 'auto') checkAuto(serverNames, hostCount)
  if (spec.mode === 'custom') spec.custom = checkCustom(spec, serverNames)
  return spec
}

function checkCommon(spec: TlsSpec, proxyPort: number): void {
  const { httpsPort } = spec
  check(httpsPort >= 1 && httpsPort <= 65535, `https-port: expected a whole number from 1 to 65535, got ${httpsPort}`)
  if (spec.mode !== 'off') {
    check(httpsPort !== proxyPort, `https-port: ${httpsPort} is the proxy-port too; HTTP and HTTPS need a port each (80 and 443 are usual)`)
  }
  // The certificate and its key are secrets: given by mistake, they must not travel anywhere.
  for (const name of ['tls-certificate', 'tls-private-key'] as const) {
    const given = name === 'tls-certificate' ? spec.certificatePem : spec.keyPem
    check(!given || spec.mode === 'custom', `${name}: given, but tls is ${spec.mode}; set tls: custom to serve this certificate`)
  }
  if (spec.email) check(EMAIL.test(spec.email), `acme-email: expected an address such as ops@example.com, got "${spec.email}"`)
  checkDirectory(spec.directoryUrl)
  if (spec.caBundle) parsePemCertificates(spec.caBundle, 'acme-ca-bundle')
}

function checkDirectory(url: string): void {
  const expected = `acme-directory: expected the https:// URL of an ACME directory, such as ${LETS_ENCRYPT}, got "${url}"`
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new Error(expected)
  }
  check(parsed.protocol === 'https:' && parsed.hostname !== '' && !parsed.username && !parsed.password, expected)
}

function checkAuto(serverNames: string[], hostCount: number): void {
  // Each host would order its own certificate, and the CA fetches each HTTP-01 answer from
  // wherever DNS sends it: another host's proxy, without the answer. One certificate for all.
  check(
    hostCount <= 1,
    `tls: auto gets its certificate on each host, and the CA checks each name at whatever address DNS gives for it: with ${hostCount} hosts ` +
      'that may be a host without the answer; give every host one certificate with tls: custom'
  )
  check(
    serverNames.length > 0,
    'server-name: tls: auto needs the host names to get a certificate for (the CA checks each over HTTP); set server-name, such as app.example.com'
  )
  const wildcard = serverNames.find((name) => name.startsWith('*.'))
  check(
    wildcard === undefined,
    `server-name: ${wildcard} is a wildcard, which ACME CAs issue only over DNS-01, and tls: auto answers HTTP-01; ` +
      'list each host name, or give a wildcard certificate with tls: custom'
  )
}

/** The given certificate must be usable as it is: its key, a trusted chain, in date, every server-name. */
function checkCustom(spec: TlsSpec, serverNames: string[]): CertificateFacts {
  check(spec.certificatePem !== undefined, 'tls-certificate: required with tls: custom (the PEM chain, leaf first, such as ${{ secrets.TLS_CERTIFICATE }})')
  check(spec.keyPem !== undefined, 'tls-private-key: required with tls: custom (the PEM key, such as ${{ secrets.TLS_PRIVATE_KEY }})')
  checkKeyMatches(spec.certificatePem, spec.keyPem)
  const roots = [...rootCertificates, spec.caBundle ?? ''].filter(Boolean)
  try {
    return checkCertificate({ chainPem: spec.certificatePem, rootsPem: roots, names: serverNames, input: 'tls-certificate' })
  } catch (error) {
    const message = (error as Error).message
    const hint = /does not verify/.test(message) ? '; give its root (a private CA) in acme-ca-bundle' : ''
    throw new Error(`${message}${hint}`)
  }
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message)
}

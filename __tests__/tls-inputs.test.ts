import { jest } from '@jest/globals'
import { coreMock } from './support/core-mock.js'
import { days, testCa, type TestCa } from './support/test-ca.js'

const core = coreMock()
jest.unstable_mockModule('@actions/core', () => core)
const { getInputs, parseInputs } = await import('../src/inputs.js')

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----'
const base = { host: 'example.com', key: KEY, image: 'ghcr.io/acme/web:1.4.2' }
const auto = { ...base, tls: 'auto', 'server-name': 'shop.example.com www.shop.example.com' }

let ca: TestCa
let custom: Record<string, string>

beforeAll(async () => {
  ca = await testCa('Custom')
  const leaf = await ca.leaf(['shop.example.com', '*.shop.example.com'])
  custom = {
    ...base, tls: 'custom', 'server-name': 'shop.example.com api.shop.example.com',
    'tls-certificate': leaf.pem + ca.intermediate.pem, 'tls-private-key': leaf.keyPem, 'acme-ca-bundle': ca.root.pem
  }
})

const errorOf = (raw: Record<string, string>): string => {
  try {
    parseInputs(raw)
    return ''
  } catch (error) {
    return (error as Error).message
  }
}

describe('tls inputs', () => {
  test('default to off, port 443, no HSTS and Let\'s Encrypt', () => {
    expect(parseInputs(base).tls).toEqual({
      mode: 'off', httpsPort: 443, hsts: false, directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory',
      email: undefined, caBundle: undefined, certificatePem: undefined, keyPem: undefined
    })
  })

  test('auto reads the ACME inputs', () => {
    const staging = 'https://acme-staging-v02.api.letsencrypt.org/directory'
    expect(parseInputs({ ...auto, 'acme-email': 'ops@example.com', 'acme-directory': staging, 'https-port': '8443', hsts: 'true' }).tls).toMatchObject({
      mode: 'auto', httpsPort: 8443, hsts: true, directoryUrl: staging, email: 'ops@example.com'
    })
  })

  test('custom keeps the certificate, its key and what the certificate is', () => {
    const tls = parseInputs(custom).tls
    expect(tls).toMatchObject({ mode: 'custom', certificatePem: custom['tls-certificate'].trim(), keyPem: custom['tls-private-key'].trim() })
    expect(tls.custom?.names).toEqual(['shop.example.com', '*.shop.example.com'])
  })

  test.each([
    [{ tls: 'on' }, /^tls: expected off, auto or custom, got "on"$/],
    [{ tls: 'auto' }, /^server-name: tls: auto needs the host names/],
    [{ tls: 'auto', 'server-name': 'a.example.com *.example.com' }, /^server-name: \*\.example\.com is a wildcard, which ACME CAs issue only over DNS-01/],
    [{ ...auto, 'https-port': '80' }, /^https-port: 80 is the proxy-port too/],
    [{ ...auto, 'https-port': '70000' }, /^https-port: expected a whole number from 1 to 65535, got 70000$/],
    [{ ...auto, 'https-port': 'x' }, /^https-port: expected a whole number, got "x"$/],
    [{ ...auto, hsts: 'yes' }, /^hsts: expected true or false, got "yes"$/],
    [{ ...auto, 'acme-email': 'ops example.com' }, /^acme-email: expected an address such as ops@example.com/],
    [{ ...auto, 'acme-email': 'a@b.com\nBcc: x@y.com' }, /^acme-email:/],
    [{ ...auto, 'acme-directory': 'http://acme.example.com/dir' }, /^acme-directory: expected the https:\/\/ URL of an ACME directory/],
    [{ ...auto, 'acme-directory': 'https://user:pw@acme.example.com/dir' }, /^acme-directory:/],
    [{ ...auto, 'acme-directory': 'not a url' }, /^acme-directory:/],
    [{ ...auto, 'acme-ca-bundle': 'not pem' }, /^acme-ca-bundle: no certificate found/],
    [{ ...base, tls: 'custom' }, /^tls-certificate: required with tls: custom/],
    [{ ...base, 'tls-private-key': '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----' }, /^tls-private-key: given, but tls is off; set tls: custom/],
    [{ ...auto, 'tls-certificate': '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----' }, /^tls-certificate: given, but tls is auto/]
  ])('refuses %j', (overrides, message) => {
    expect(errorOf({ ...base, ...overrides })).toMatch(message)
  })

  test('auto on several hosts is refused: the CA would check each name at one of them', () => {
    const { host: _, ...rest } = auto
    expect(errorOf({ ...rest, hosts: 'a.example.com\nb.example.com' })).toMatch(/^tls: auto gets its certificate on each host, .* with 2 hosts .*tls: custom$/)
  })

  test('custom: a key that does not match the certificate is refused, naming both inputs, never quoting the key', async () => {
    const stranger = await ca.leaf(['shop.example.com'])
    const message = errorOf({ ...custom, 'tls-private-key': stranger.keyPem })
    expect(message).toMatch(/^tls-private-key: the key does not match the certificate in tls-certificate/)
    expect(message).not.toContain(stranger.keyPem.split('\n')[1])
  })

  test('custom: a key that is not PEM, or encrypted, is refused without quoting it', () => {
    expect(errorOf({ ...custom, 'tls-private-key': 'secret-not-a-key' })).toMatch(/^tls-private-key: not a private key; expected PEM text/)
    expect(errorOf({ ...custom, 'tls-private-key': 'secret-not-a-key' })).not.toContain('secret-not-a-key')
    const encrypted = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----'
    expect(errorOf({ ...custom, 'tls-private-key': encrypted })).toMatch(/^tls-private-key: the key is encrypted/)
  })

  test('custom: the chain must reach a trusted root; without the private root the error says to give it', () => {
    const { 'acme-ca-bundle': _, ...untrusted } = custom
    expect(errorOf(untrusted)).toMatch(/^tls-certificate: the chain does not verify: .*; give its root \(a private CA\) in acme-ca-bundle$/)
  })

  test('custom: every server-name must be covered, and the certificate in date', async () => {
    expect(errorOf({ ...custom, 'server-name': 'shop.example.com other.example.com' })).toMatch(/^tls-certificate: it does not cover other.example.com/)
    const old = await ca.leaf(['shop.example.com'], { notBefore: days(-100), notAfter: days(-10) })
    expect(errorOf({ ...custom, 'server-name': 'shop.example.com', 'tls-certificate': old.pem + ca.intermediate.pem, 'tls-private-key': old.keyPem })).toMatch(
      /^tls-certificate: .*it expired on/
    )
  })

  test('custom: no server-name means any host name, so no name is checked', () => {
    expect(errorOf({ ...custom, 'server-name': '' })).toBe('')
  })

  test('getInputs masks the TLS key line by line and takes it out of the environment', () => {
    core.inputs = { ...custom }
    process.env['INPUT_TLS-PRIVATE-KEY'] = custom['tls-private-key']
    getInputs()
    expect(process.env['INPUT_TLS-PRIVATE-KEY']).toBeUndefined()
    const lines = custom['tls-private-key'].split('\n').filter((line) => line.trim().length > 8)
    expect(core.secrets).toEqual(expect.arrayContaining([custom['tls-private-key'], ...lines]))
  })
})

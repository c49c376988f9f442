import { X509Certificate } from 'node:crypto'
import {
  checkCertificate,
  checkKeyMatches,
  coversName,
  daysLeft,
  parsePemCertificates,
  verifyChain
} from '../src/tls/certificate.js'
import { days, issue, testCa, type TestCa } from './support/test-ca.js'

let ca: TestCa
let other: TestCa

beforeAll(async () => {
  ca = await testCa('Test')
  other = await testCa('Other')
})

const x509 = (pem: string): X509Certificate => new X509Certificate(pem)

describe('names', () => {
  test('a wildcard covers exactly one leftmost label', async () => {
    const leaf = x509((await ca.leaf(['*.example.com', 'example.com'])).pem)
    expect(coversName(leaf, 'www.example.com')).toBe(true)
    expect(coversName(leaf, 'WWW.Example.COM')).toBe(true)
    expect(coversName(leaf, 'example.com')).toBe(true)
    expect(coversName(leaf, 'a.b.example.com')).toBe(false)
    expect(coversName(leaf, 'www.example.org')).toBe(false)
  })

  test('a partial wildcard label matches nothing, and a requested wildcard needs that SAN', async () => {
    const partial = x509((await ca.leaf(['w*.example.com'])).pem)
    expect(coversName(partial, 'www.example.com')).toBe(false)
    const plain = x509((await ca.leaf(['www.example.com'])).pem)
    expect(coversName(plain, '*.example.com')).toBe(false)
    const wild = x509((await ca.leaf(['*.example.com'])).pem)
    expect(coversName(wild, '*.example.com')).toBe(true)
  })

  test('the subject CN is not a name when the SANs leave it out', async () => {
    const leaf = x509((await ca.leaf(['b.example.com'])).pem) // CN=b.example.com
    expect(coversName(leaf, 'b.example.com')).toBe(true)
    const cnOnly = await issue({ subject: 'CN=cn.example.com', issuer: ca.intermediate, names: ['other.example.com'] })
    expect(coversName(x509(cnOnly.pem), 'cn.example.com')).toBe(false)
  })
})

describe('chain', () => {
  test('leaf + intermediate verify up to the root, also from a bundle of several roots', async () => {
    const leaf = await ca.leaf(['a.example.com'])
    const chain = parsePemCertificates(leaf.pem + ca.intermediate.pem)
    const roots = parsePemCertificates(other.root.pem + ca.root.pem)
    expect(verifyChain(chain, roots).subject).toBe(x509(ca.root.pem).subject)
  })

  test('a chain without its intermediate, or to another root, is refused naming the link', async () => {
    const leaf = await ca.leaf(['a.example.com'])
    expect(() => verifyChain(parsePemCertificates(leaf.pem), [x509(ca.root.pem)])).toThrow(
      /no certificate in the chain or the trusted roots issued CN=a.example.com \(issuer CN=Test Intermediate\)/
    )
    expect(() => verifyChain(parsePemCertificates(leaf.pem + ca.intermediate.pem), [x509(other.root.pem)])).toThrow(
      /issued CN=Test Intermediate/
    )
  })

  test('a forged intermediate with the right name but another key is refused', async () => {
    const forged = await issue({ subject: 'CN=Test Intermediate', issuer: other.root, ca: true })
    const leaf = await ca.leaf(['a.example.com'])
    expect(() => verifyChain(parsePemCertificates(leaf.pem + forged.pem), [x509(ca.root.pem)])).toThrow(/no certificate .* issued CN=a.example.com/)
  })

  test('a non-CA certificate cannot sign a leaf', async () => {
    const notCa = await issue({ subject: 'CN=Not a CA', issuer: ca.intermediate, names: ['x.example.com'] })
    const leaf = await issue({ subject: 'CN=a.example.com', issuer: notCa, names: ['a.example.com'] })
    const chain = parsePemCertificates(leaf.pem + notCa.pem + ca.intermediate.pem)
    expect(() => verifyChain(chain, [x509(ca.root.pem)])).toThrow(/CN=Not a CA signed CN=a.example.com but is not a CA certificate/)
  })
})

describe('checkCertificate', () => {
  test('returns serial, dates and names of a good certificate', async () => {
    const leaf = await ca.leaf(['a.example.com', 'b.example.com'], { notAfter: days(60) })
    const facts = checkCertificate({ chainPem: leaf.pem + ca.intermediate.pem, rootsPem: [ca.root.pem], names: ['a.example.com', 'b.example.com'] })
    expect(facts.names).toEqual(['a.example.com', 'b.example.com'])
    expect(facts.serial).toMatch(/^[0-9a-f]+$/)
    expect(facts.serial).toBe(x509(leaf.pem).serialNumber.toLowerCase().replace(/^0+/, ''))
    expect(Math.round(daysLeft(x509(leaf.pem)))).toBe(60)
    expect(facts.issuer).toBe('CN=Test Intermediate')
  })

  test('lists every problem in one error that names the input', async () => {
    const leaf = await ca.leaf(['a.example.com'], { notBefore: days(-100), notAfter: days(-1) })
    expect(() =>
      checkCertificate({ chainPem: leaf.pem + ca.intermediate.pem, rootsPem: ca.root.pem, names: ['a.example.com', 'c.example.com'], input: 'tls-certificate' })
    ).toThrow(/^tls-certificate: the chain does not verify: CN=a.example.com is not valid now .*; it does not cover c.example.com \(it names a.example.com\); it expired on /)
  })

  test('refuses a certificate with fewer days left than asked', async () => {
    const leaf = await ca.leaf(['a.example.com'], { notAfter: days(10) })
    expect(() => checkCertificate({ chainPem: leaf.pem + ca.intermediate.pem, rootsPem: ca.root.pem, names: ['a.example.com'], minDaysLeft: 30 })).toThrow(
      /it has only (9\.9|10\.0) days left/
    )
  })

  test('text without a certificate is refused with the expected form', () => {
    expect(() => checkCertificate({ chainPem: 'hello', rootsPem: ca.root.pem, names: [], input: 'tls-certificate' })).toThrow(
      'tls-certificate: no certificate found; expected PEM text with -----BEGIN CERTIFICATE----- blocks'
    )
  })
})

describe('checkKeyMatches (tls: custom)', () => {
  test('accepts the key of the leaf', async () => {
    const leaf = await ca.leaf(['a.example.com'])
    expect(() => checkKeyMatches(leaf.pem + ca.intermediate.pem, leaf.keyPem)).not.toThrow()
  })

  test("refuses another key, naming tls-private-key, without quoting the key", async () => {
    const leaf = await ca.leaf(['a.example.com'])
    const stranger = await ca.leaf(['b.example.com'])
    const check = (): void => checkKeyMatches(leaf.pem, stranger.keyPem)
    expect(check).toThrow(/^tls-private-key: the key does not match the certificate in tls-certificate \(CN=a.example.com, serial [0-9a-f]+\)/)
    try {
      check()
    } catch (error) {
      expect((error as Error).message).not.toContain(stranger.keyPem.split('\n')[1])
    }
  })

  test('refuses text that is not a key, and an encrypted key, saying the expected form', async () => {
    const leaf = await ca.leaf(['a.example.com'])
    expect(() => checkKeyMatches(leaf.pem, 'not a key')).toThrow(/^tls-private-key: not a private key; expected PEM text/)
    expect(() => checkKeyMatches(leaf.pem, '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----')).toThrow(
      /^tls-private-key: the key is encrypted/
    )
  })
})

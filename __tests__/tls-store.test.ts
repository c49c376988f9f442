import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { renewalReason } from '../src/tls/policy.js'
import { installedRecord, renewOrder } from '../src/tls/renew.js'
import {
  accountKeyPath,
  certificateRecord,
  certPath,
  factsPath,
  installCertificate,
  readOrders,
  readRecords,
  safeName,
  saveOrder,
  webroot,
  webrootChallenge,
  writeAtomic
} from '../src/tls/store.js'
import { facts } from '../src/tls/certificate.js'
import { certificateMap } from '../src/tls/nginx.js'
import { days, testCa } from './support/test-ca.js'

let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tls-store-'))
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

test('a server name becomes a file name only when it is a DNS name', () => {
  expect(safeName('WWW.Example.com')).toBe('www.example.com')
  expect(safeName('*.example.com')).toBe('*.example.com')
  for (const bad of ['../etc/passwd', 'a/b', '', 'a..b', '-a.com', 'a b', 'a.com.', '*a.example.com', 'a.*.com']) {
    expect(() => safeName(bad)).toThrow(/^server-name: '.*' is not a DNS name \(letters, digits, hyphens and dots\)$/)
  }
})

test('writeAtomic sets the mode whatever the umask, and leaves no temporary file', async () => {
  const old = process.umask(0o077)
  try {
    await writeAtomic(join(dir, 'a', 'b.txt'), 'hello', 0o644)
  } finally {
    process.umask(old)
  }
  expect((await stat(join(dir, 'a', 'b.txt'))).mode & 0o777).toBe(0o644)
  expect(await readdir(join(dir, 'a'))).toEqual(['b.txt'])
})

const record = (id: string, names: string[], notAfter: Date, source: 'auto' | 'custom' = 'auto', directoryUrl = 'https://ca/dir') => ({
  id, names, serial: '1f', notBefore: new Date().toISOString(), notAfter: notAfter.toISOString(), issuer: 'CN=Test', source, directoryUrl, installedAt: ''
})

test("installCertificate writes key and chain in one 0600 file per service, and a record of what it is", async () => {
  await installCertificate(dir, record('shop', ['a.example.com', 'b.example.com'], days(90)), 'KEY\n', 'CHAIN\n')
  expect(await readFile(certPath(dir, 'shop'), 'utf8')).toBe('KEY\nCHAIN\n')
  expect((await stat(certPath(dir, 'shop'))).mode & 0o777).toBe(0o600)
  expect((await stat(factsPath(dir, 'shop'))).mode & 0o777).toBe(0o644)
  expect((await readRecords(dir)).map((r) => r.names)).toEqual([['a.example.com', 'b.example.com']])
})

test('a record says what the certificate is, names in lower case', async () => {
  const ca = await testCa()
  const leaf = await ca.leaf(['A.example.com'], { notAfter: days(60) })
  const made = certificateRecord('shop', ['A.example.com'], facts(new X509Certificate(leaf.pem)), 'auto', 'https://ca/dir')
  expect(made).toMatchObject({ id: 'shop', names: ['a.example.com'], source: 'auto', directoryUrl: 'https://ca/dir', issuer: 'CN=Test Intermediate' })
  expect(Math.round((new Date(made.notAfter).getTime() - Date.now()) / 86_400_000)).toBe(60)
})

test('renewalReason: none, other names, another CA, or under 30 days left', () => {
  const order = { names: ['a.example.com', 'B.example.com'], directoryUrl: 'https://ca/dir' }
  const now = new Date()
  expect(renewalReason(order, undefined, now)).toBe('no certificate yet')
  expect(renewalReason(order, record('s', ['a.example.com', 'b.example.com'], days(60)), now)).toBeUndefined()
  expect(renewalReason(order, record('s', ['a.example.com'], days(60)), now)).toBe('it does not cover B.example.com')
  expect(renewalReason(order, record('s', ['a.example.com', 'b.example.com'], days(60), 'auto', 'https://other/dir'), now)).toBe('it is not from https://ca/dir')
  expect(renewalReason(order, record('s', ['a.example.com', 'b.example.com'], days(60), 'custom'), now)).toBe('it is not from https://ca/dir')
  expect(renewalReason(order, record('s', ['a.example.com', 'b.example.com'], days(29.5)), now)).toMatch(/^29\.\d days left \(renewed below 30\)$/)
})

test('the webroot challenge serves and removes token files, and refuses a token that is not base64url', async () => {
  const challenge = webrootChallenge(dir)
  await challenge.put('abc_DEF-123', 'abc_DEF-123.thumbprint')
  const file = join(webroot(dir), '.well-known', 'acme-challenge', 'abc_DEF-123')
  expect(await readFile(file, 'utf8')).toBe('abc_DEF-123.thumbprint')
  expect((await stat(file)).mode & 0o777).toBe(0o644)
  await challenge.remove('abc_DEF-123')
  await expect(stat(file)).rejects.toThrow()
  await expect(challenge.put('../../x', 'y')).rejects.toThrow(/not base64url/)
})

test('orders round-trip; account keys are one per directory URL', async () => {
  expect(await readOrders(dir)).toEqual([])
  await saveOrder(dir, { id: 'web', names: ['b.example.com'], directoryUrl: 'https://ca/dir' })
  await saveOrder(dir, { id: 'api', names: ['a.example.com', 'c.example.com'], directoryUrl: 'https://ca/dir', email: 'x@y' })
  expect((await readOrders(dir)).map((o) => o.names[0])).toEqual(['a.example.com', 'b.example.com'])
  expect(accountKeyPath(dir, 'https://ca/dir')).not.toBe(accountKeyPath(dir, 'https://other/dir'))
})

test('a certificate with enough days left is kept without asking the CA', async () => {
  // A directory nothing answers: reaching the CA would fail the outcome.
  const order = { id: 'web', names: ['a.example.com'], directoryUrl: 'https://127.0.0.1:9/dir' }
  await installCertificate(dir, record('web', ['a.example.com'], days(60), 'auto', order.directoryUrl), 'KEY', 'CHAIN')
  const kept = await renewOrder(order, { dir })
  expect(kept).toEqual({ id: 'web', names: ['a.example.com'], action: 'kept', daysLeft: expect.any(Number) })
  expect(Math.round((kept as { daysLeft: number }).daysLeft)).toBe(60)
  expect(await installedRecord(dir, 'missing')).toBeUndefined()
})

test('a certificate due for renewal that the CA cannot give stays, and the outcome says why', async () => {
  const order = { id: 'web', names: ['a.example.com'], directoryUrl: 'https://127.0.0.1:9/dir' }
  await installCertificate(dir, record('web', ['a.example.com'], days(5), 'auto', order.directoryUrl), 'KEY', 'CHAIN')
  const failed = await renewOrder(order, { dir, timeoutMs: 5000 })
  expect(failed).toMatchObject({ id: 'web', action: 'failed', error: expect.stringMatching(/could not reach https:\/\/127.0.0.1:9\/dir/) })
  expect(await readFile(certPath(dir, 'web'), 'utf8')).toBe('KEY\nCHAIN\n')
}, 15_000)

test("the proxy maps only the service's own server names to its certificate file", () => {
  expect(certificateMap('shop', ['B.example.com', 'a.example.com', 'b.example.com'])).toBe(
    'map $ssl_server_name $bluegreen_cert_shop {\n    hostnames;\n    default "";\n    a.example.com shop;\n    b.example.com shop;\n}\n'
  )
  // The default server (no server-name) answers any name, and no SNI, with its own certificate.
  expect(certificateMap('my-app', [])).toBe('map $ssl_server_name $bluegreen_cert_my_app {\n    hostnames;\n    default my-app;\n}\n')
  expect(() => certificateMap('shop', ['a.example.com;}'])).toThrow(/^server-name: /)
})

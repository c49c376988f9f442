import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { installedDaysLeft, renewOrder } from '../src/tls/renew.js'
import {
  accountKeyPath,
  installCertificate,
  pemPath,
  readOrders,
  safeName,
  saveOrder,
  webroot,
  webrootChallenge,
  writeAtomic
} from '../src/tls/store.js'
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
  for (const bad of ['../etc/passwd', 'a/b', '', 'a..b', '-a.com', 'a b', 'a.com.']) {
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

test('installCertificate writes key and chain in one 0600 file per name', async () => {
  await installCertificate(dir, ['a.example.com', 'B.example.com'], 'KEY\n', 'CHAIN\n')
  for (const name of ['a.example.com', 'b.example.com']) {
    expect(await readFile(pemPath(dir, name), 'utf8')).toBe('KEY\nCHAIN\n')
    expect((await stat(pemPath(dir, name))).mode & 0o777).toBe(0o600)
  }
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
  await saveOrder(dir, { names: ['b.example.com'], directoryUrl: 'https://ca/dir' })
  await saveOrder(dir, { names: ['a.example.com', 'c.example.com'], directoryUrl: 'https://ca/dir', email: 'x@y' })
  expect((await readOrders(dir)).map((o) => o.names[0])).toEqual(['a.example.com', 'b.example.com'])
  expect(accountKeyPath(dir, 'https://ca/dir')).not.toBe(accountKeyPath(dir, 'https://other/dir'))
})

test('a certificate with enough days left is kept without asking the CA', async () => {
  const ca = await testCa()
  const leaf = await ca.leaf(['a.example.com'], { notAfter: days(60) })
  await installCertificate(dir, ['a.example.com'], leaf.keyPem, leaf.pem + ca.intermediate.pem)
  expect(Math.round((await installedDaysLeft(dir, ['a.example.com'], new Date())) ?? 0)).toBe(60)
  // A directory nothing answers: reaching the CA would fail the outcome.
  const order = { names: ['a.example.com'], directoryUrl: 'https://127.0.0.1:9/dir' }
  const kept = await renewOrder(order, { dir })
  expect(kept).toEqual({ names: ['a.example.com'], action: 'kept', daysLeft: expect.any(Number) })
  expect(await installedDaysLeft(dir, ['missing.example.com'], new Date())).toBeUndefined()
})

test('the proxy maps only its own server names to certificate files', () => {
  expect(certificateMap(['B.example.com', 'a.example.com', 'b.example.com'])).toBe(
    'map $ssl_server_name $bluegreen_cert {\n    hostnames;\n    default "";\n    a.example.com a.example.com;\n    b.example.com b.example.com;\n}\n'
  )
  expect(() => certificateMap(['a.example.com;}'])).toThrow(/^server-name: /)
})

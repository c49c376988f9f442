import { jest } from '@jest/globals'
import { coreMock } from './support/core-mock.js'
import { FakeHost } from './support/fake-host.js'
import { days, testCa, type TestCa } from './support/test-ca.js'
import type { ObtainOptions, Obtained } from '../src/tls/acme.js'

jest.unstable_mockModule('@actions/core', () => coreMock())
const obtainCertificate = jest.fn<(options: ObtainOptions) => Promise<Obtained>>()
jest.unstable_mockModule('../src/tls/acme.js', () => ({ obtainCertificate }))
const ensureRenewal = jest.fn(async () => 'renewal started (bluegreen-renew, bluegreen-renew:0123456789ab)')
jest.unstable_mockModule('../src/rollout/renewal.js', () => ({ ensureRenewal, RENEW_JITTER_SECONDS: 3600 }))
const { prepareTls, tlsProblems } = await import('../src/rollout/tls.js')
const { parseInputs } = await import('../src/inputs.js')

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----'
const DIRECTORY = 'https://acme.test/dir'
const NAMES = ['shop.example.com', 'www.shop.example.com']

let ca: TestCa
let host: FakeHost
let log: string[]

beforeAll(async () => {
  ca = await testCa('ACME')
})

beforeEach(() => {
  host = new FakeHost()
  log = []
  obtainCertificate.mockReset()
  ensureRenewal.mockClear()
})

const inputs = (extra: Record<string, string> = {}) =>
  parseInputs({
    host: 'example.com', key: KEY, image: 'shop:1', 'server-name': NAMES.join(' '), tls: 'auto', 'acme-directory': DIRECTORY,
    'acme-ca-bundle': ca.root.pem, 'acme-email': 'ops@example.com', ...extra
  })

async function issued(notAfterDays = 90): Promise<Obtained> {
  const leaf = await ca.leaf(NAMES, { notAfter: days(notAfterDays) })
  return {
    certificatePem: leaf.pem + ca.intermediate.pem, keyPem: leaf.keyPem, accountKeyPem: 'ACCOUNT KEY', accountUrl: 'https://acme.test/acct/1',
    serial: leaf.cert.serialNumber.toLowerCase(), notAfter: days(notAfterDays)
  }
}

const run = (given = inputs(), proxy = host.proxy) =>
  prepareTls({ inputs: given, host, proxy, codec: () => ({ codec: 'none', level: 0, reason: '' }) as never, log: (line) => log.push(line) })

describe('the TLS stage', () => {
  test('tls: auto, first deploy: a certificate from the CA, verified, installed with its order, under the store lock; then the renewal container', async () => {
    obtainCertificate.mockResolvedValue(await issued())
    const report = await run(inputs(), { ...host.proxy, status: 'missing' })
    expect(obtainCertificate).toHaveBeenCalledWith(expect.objectContaining({
      directoryUrl: DIRECTORY, names: NAMES, email: 'ops@example.com', caBundle: ca.root.pem.trim(), accountKeyPem: undefined, certificateKeyPem: undefined
    }))
    expect(host.calls).toEqual(['tls-lock', 'tls-state', 'save-account-key', expect.stringMatching(/^tls-install shop /), 'tls-unlock'])
    const installed = host.installed.get('shop')
    expect(installed).toMatchObject({ owner: '101:101', order: { id: 'shop', names: NAMES, directoryUrl: DIRECTORY, email: 'ops@example.com' } })
    expect(installed?.record).toMatchObject({ id: 'shop', names: NAMES, source: 'auto', directoryUrl: DIRECTORY })
    expect(ensureRenewal).toHaveBeenCalledTimes(1)
    expect(report).toMatchObject({ mode: 'auto', action: 'issued', reason: 'no certificate yet', httpsPort: 443, proxyGapMs: undefined })
    expect(report?.certificates.map((record) => record.id)).toEqual(['shop'])
  })

  test('the HTTP-01 answers go to the host through its challenge steps', async () => {
    obtainCertificate.mockImplementation(async (options) => {
      await options.challenge.put('tok_1', 'tok_1.thumb')
      expect(host.challenges.get('tok_1')).toBe('tok_1.thumb')
      await options.challenge.remove('tok_1')
      return issued()
    })
    await run()
    expect(host.challenges.size).toBe(0)
  })

  test('a certificate with 60 days left is kept; one with 20 is renewed', async () => {
    obtainCertificate.mockResolvedValue(await issued(60))
    await run()
    host.calls.length = 0
    const kept = await run()
    expect(obtainCertificate).toHaveBeenCalledTimes(1)
    expect(kept).toMatchObject({ action: 'kept', reason: undefined })
    expect(host.calls).toEqual(['tls-lock', 'tls-state', 'tls-unlock'])
    const record = host.tlsRecords.get('shop')
    host.tlsRecords.set('shop', { ...record!, notAfter: days(20).toISOString() })
    obtainCertificate.mockResolvedValue(await issued(90))
    const first = host.installed.get('shop')!.keyPem
    const renewed = await run()
    expect(renewed).toMatchObject({ action: 'renewed', reason: expect.stringMatching(/^(19\.9|20\.0) days left \(renewed below 30\)$/) })
    // The renewal orders for the installed key: nginx may read a handshake's certificate and key
    // on either side of the file's swap, and both must pair.
    expect(obtainCertificate).toHaveBeenLastCalledWith(expect.objectContaining({ certificateKeyPem: first }))
  })

  test('a kept certificate whose order a failed first deploy took away gets its order back; an unchanged one is left', async () => {
    obtainCertificate.mockResolvedValue(await issued())
    await run()
    host.orders.delete('shop')
    host.calls.length = 0
    expect(await run()).toMatchObject({ action: 'kept' })
    expect(host.calls).toEqual(['tls-lock', 'tls-state', 'save-order shop', 'tls-unlock'])
    expect(host.orders.get('shop')).toMatchObject({ id: 'shop', names: NAMES, directoryUrl: DIRECTORY })
    host.calls.length = 0
    await run()
    expect(host.calls).not.toContain('save-order shop')
  })

  test('new server names get a new certificate', async () => {
    obtainCertificate.mockResolvedValue(await issued())
    await run(inputs({ 'server-name': 'shop.example.com' }))
    const report = await run()
    expect(report).toMatchObject({ action: 'renewed', reason: 'it does not cover www.shop.example.com' })
  })

  test("a CA that refuses: the error names the names, the directory and the CA's answer; nothing is installed and the lock is let go", async () => {
    obtainCertificate.mockRejectedValue(new Error('ACME ordering a certificate for shop.example.com: the CA answered 400 urn:ietf:params:acme:error:rejectedIdentifier: forbidden'))
    await expect(run()).rejects.toThrow(
      `tls: could not get a certificate for shop.example.com, www.shop.example.com from ${DIRECTORY}: ACME ordering a certificate for shop.example.com: the CA answered 400 urn:ietf:params:acme:error:rejectedIdentifier: forbidden`
    )
    expect(host.calls).toEqual(['tls-lock', 'tls-state', 'tls-unlock'])
    expect(ensureRenewal).not.toHaveBeenCalled()
  })

  test('a chain the CA sends that no trusted root signed is refused before it is installed', async () => {
    const other = await testCa('Rogue')
    const leaf = await other.leaf(NAMES)
    obtainCertificate.mockResolvedValue({ ...(await issued()), certificatePem: leaf.pem + other.intermediate.pem, keyPem: leaf.keyPem })
    await expect(run()).rejects.toThrow(/^the certificate https:\/\/acme.test\/dir issued: the chain does not verify/)
    expect(host.installed.size).toBe(0)
  })

  test('a proxy running without the HTTPS port is recreated once, before the certificate arrives (which turns on the redirect)', async () => {
    obtainCertificate.mockResolvedValue(await issued())
    const report = await run(inputs({ 'https-port': '8443' }), { ...host.proxy, status: 'running', publishedHttpsPort: undefined })
    expect(host.calls.filter((call) => /^(recreate|tls-install)/.test(call))).toEqual(['recreate-proxy 8443', expect.stringMatching(/^tls-install/)])
    expect(report).toMatchObject({ proxyGapMs: 420, httpsPort: 8443 })
    expect(log).toContain('The proxy was recreated with HTTPS on port 8443: new connections waited 420 ms')
    host.calls.length = 0
    await run(inputs({ 'https-port': '8443' }), { ...host.proxy, publishedHttpsPort: 8443 })
    expect(host.calls).not.toContain('recreate-proxy 8443')
  })

  test('tls: custom installs the given certificate without an order, once; no CA, no renewal container', async () => {
    const leaf = await ca.leaf(NAMES)
    const custom = inputs({ tls: 'custom', 'tls-certificate': leaf.pem + ca.intermediate.pem, 'tls-private-key': leaf.keyPem, 'acme-email': '' })
    const first = await run(custom)
    expect(first).toMatchObject({ mode: 'custom', action: 'installed', reason: 'no certificate yet' })
    expect(host.installed.get('shop')).toMatchObject({ keyPem: leaf.keyPem.trim(), record: { source: 'custom' } })
    expect(host.installed.get('shop')?.order).toBeUndefined()
    expect(await run(custom)).toMatchObject({ action: 'kept' })
    expect(obtainCertificate).not.toHaveBeenCalled()
    expect(ensureRenewal).not.toHaveBeenCalled()
  })

  test('tls: custom warns of a certificate with fewer than 30 days left: nobody renews it', async () => {
    const leaf = await ca.leaf(NAMES, { notAfter: days(12) })
    const custom = inputs({ tls: 'custom', 'tls-certificate': leaf.pem + ca.intermediate.pem, 'tls-private-key': leaf.keyPem, 'acme-email': '' })
    const warnings: string[] = []
    await prepareTls({ inputs: custom, host, proxy: host.proxy, codec: () => ({}) as never, log: () => undefined, warn: (line) => warnings.push(line) })
    expect(warnings).toEqual([expect.stringMatching(/^tls-certificate expires on \d{4}-\d\d-\d\d \(1[12]\.\d days left\); the action cannot renew a custom certificate: give a new one$/)])
  })

  test('a proxy whose workers cannot be told refuses before anything is installed', async () => {
    host.workerOwner = undefined
    await expect(run()).rejects.toThrow(/^Could not tell which user the nginx workers of the proxy run as/)
    expect(host.calls.at(-1)).toBe('tls-unlock')
  })

  test('tls: off does nothing at all', async () => {
    expect(await run(inputs({ tls: 'off', 'server-name': '' }))).toBeUndefined()
    expect(host.calls).toEqual([])
  })

  test('tls: auto is refused on a host the runner-built renewal image cannot run on', () => {
    const arm = Object.assign(new FakeHost(), { facts: { ...host.facts, platform: { os: 'linux', arch: 'arm64' } } })
    expect(tlsProblems(inputs(), arm)[0]).toMatch(/^tls: auto renews certificates in a container built from the runner's own Node \(linux\/amd64\), but the host runs linux\/arm64/)
    expect(tlsProblems(inputs(), host)).toEqual([])
  })
})

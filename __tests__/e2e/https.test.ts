// HTTPS through the proxy, end to end: the action (dist/index.js) against the sandbox host and a
// real ACME CA (Debian's pebble, sandbox/pebble.sh), whose mock DNS sends every name to
// 127.0.0.1, where the proxy publishes the port pebble validates on. Every test runs clients
// through the proxy while it acts, and counts what they saw. Test names read "situation →
// outcome". Services h-*, network e2e-https, ports 18580 (HTTP) and 18543 (HTTPS).
import { connect } from 'node:tls'
import { runAction, sandboxInputs } from '../../sandbox/action.js'
import { buildApp, type BuiltImage } from '../../sandbox/fixtures.js'
import { httpGet, startClientLoads, startLoad, type ClientLoads, type LoadStats } from '../../sandbox/load.js'
import { ensurePebble, NINETY_DAYS, pebbleRoot, stopPebble, type PebbleInfo } from '../../sandbox/pebble.js'
import { hostDocker, hostSsh, mustHostDocker, readSandboxInfo, type SandboxInfo } from '../../sandbox/sandbox.js'
import { testCa, type TestCa } from '../support/test-ca.js'
import { clearHost, serviceContainers, STATE_ROOT } from './host.js'
import { expectOk } from './runs.js'

const NETWORK = 'e2e-https'
const PROXY = `${NETWORK}-proxy`
const RENEW = `${NETWORK}-renew`
const PORT = 18580
const HTTPS_PORT = 18543
const STORE = `${STATE_ROOT}/_proxy/${NETWORK}/conf.d/bluegreen/tls`
const NAMES: Record<string, string> = {
  'h-plain': 'plain.https.test',
  'h-web': 'web.https.test',
  'h-custom': 'custom.https.test',
  'h-blocked': 'x.blocked.tls-test.example'
}
const SERVICES = Object.keys(NAMES)
const TWENTY_DAYS = 20 * 86_400

let info: SandboxInfo
let pebble: PebbleInfo
/** Pebble's issuing root now; it changes whenever pebble restarts. */
let root: string
/** Every root pebble had during this file: certificates issued earlier chain to older ones. */
const roots: string[] = []
const images: Record<string, BuiltImage> = {}
let custom: TestCa

/** pebble.sh up with these settings (a restart makes a new issuing root). */
async function usePebble(validitySeconds = NINETY_DAYS, blocked: string[] = []): Promise<void> {
  pebble = await ensurePebble(PORT, validitySeconds, blocked)
  root = await pebbleRoot(pebble)
  if (!roots.includes(root)) roots.push(root)
}

const inputs = (service: string, image: string, extra: Record<string, string> = {}) =>
  sandboxInputs(info, {
    image, service, network: NETWORK, 'proxy-port': String(PORT), 'https-port': String(HTTPS_PORT), 'server-name': NAMES[service],
    tls: 'auto', 'acme-directory': pebble.containerDirectoryUrl, 'acme-ca-bundle': `${pebble.caBundle}${root}`, ...extra
  })

/** The certificate the proxy serves for `name` (SNI), verified for that name against `ca`. */
function served(name: string, ca = roots.join('\n')): Promise<{ serial: string; validTo: string; names: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: HTTPS_PORT, servername: name, ca, timeout: 5000 }, () => {
      const cert = socket.getPeerCertificate()
      socket.end()
      resolve({ serial: cert.serialNumber.toLowerCase().replace(/^0+/, ''), validTo: cert.valid_to, names: cert.subjectaltname ?? '' })
    })
    socket.on('timeout', () => socket.destroy(new Error(`TLS to ${name}: no handshake in 5 s`)))
    socket.on('error', reject)
  })
}

const httpsGet = (name: string, path = '/', ca = roots.join('\n')) => httpGet(`https://127.0.0.1:${HTTPS_PORT}${path}`, { host: name, ca, timeoutMs: 10_000 })
const httpGetOf = (name: string, path = '/') => httpGet(`http://127.0.0.1:${PORT}${path}`, { host: name, timeoutMs: 10_000 })

/** Keep-alive and closing HTTPS clients, four of each, verifying every handshake; bounded in count and time. */
const httpsClients = (name: string) =>
  startClientLoads({ url: `https://127.0.0.1:${HTTPS_PORT}/`, host: name, ca: roots.join('\n'), concurrency: 4, intervalMs: 5, maxRequests: 40_000, maxMs: 150_000 })

function expectNoneFailed(loads: ClientLoads): void {
  for (const [kind, stats] of Object.entries(loads)) {
    expect({ kind, errors: stats.errors, failed: stats.failed, tlsErrors: stats.tlsErrors }).toEqual({ kind, errors: [], failed: 0, tlsErrors: 0 })
    expect(stats.sent).toBeGreaterThan(50)
  }
  expect(loads.keepAlive.reused).toBeGreaterThan(loads.keepAlive.sent * 0.9)
}

/** All failures but `outliers` started within one window of `ms`. */
function burstWithin(failuresAtMs: number[], outliers: number, ms: number): boolean {
  const kept = failuresAtMs.length - outliers
  if (kept <= 0) return true
  return failuresAtMs.some((start, i) => (failuresAtMs.slice(i).filter((at) => at - start <= ms).length >= kept))
}

/**
 * A service's first deploy writes its config and reloads nginx (as without TLS): keep-alive
 * clients of the other services may lose a request sent as nginx closes their idle connection,
 * one per connection at most; clients that open a connection per request lose none, and no
 * handshake fails.
 */
function expectReloadOnly(loads: ClientLoads, reloads = 1): void {
  expect({ failed: loads.closing.failed, errors: loads.closing.errors }).toEqual({ failed: 0, errors: [] })
  expect(loads.keepAlive.failed).toBeLessThanOrEqual(4 * reloads)
  expect(loads.keepAlive.tlsErrors + loads.closing.tlsErrors).toBe(0)
}

const summarize = (kind: string, stats: LoadStats) =>
  `${kind}: ${stats.sent} sent, ${stats.failed} failed (${stats.tlsErrors} TLS), longest wait ${stats.longestGapMs} ms`

/** The proxy's nginx master and workers: the same PIDs mean no reload happened. */
async function nginxProcesses(): Promise<string> {
  const script = 'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo " ${p#/proc/}"; done | grep "^nginx" | sort'
  return (await mustHostDocker(['exec', PROXY, 'sh', '-c', script])).stdout.trim()
}

/** What a user could see change on the host for these services: containers, configs, certificates. */
async function hostPicture(): Promise<string> {
  const containers = (await hostDocker(['ps', '-a', '--format', '{{.Names}} {{.Image}}'])).stdout.split('\n').filter((line) => line.startsWith('h-')).sort()
  const files = await hostSsh(`cd ${STATE_ROOT}/_proxy/${NETWORK} && find conf.d -type f | sort | xargs sha256sum`)
  return [...containers, files.stdout].join('\n')
}

async function clearAll(): Promise<void> {
  const renewImage = (await hostDocker(['container', 'inspect', '-f', '{{.Config.Image}}', RENEW])).stdout.trim()
  await hostDocker(['rm', '-f', RENEW, `${PROXY}-next`, `${PROXY}-old`])
  if (renewImage) await hostDocker(['rmi', renewImage])
  await clearHost(SERVICES, [NETWORK])
}

beforeAll(async () => {
  info = readSandboxInfo()
  await clearAll()
  await usePebble()
  for (const version of ['1', '2']) images[version] = await buildApp({ tag: `e2e-https/app:${version}`, version: `https-${version}` })
  custom = await testCa('Custom')
}, 600_000)

afterAll(async () => {
  await clearAll()
  await usePebble() // as the other TLS tests expect it: 90 days, no extra blocked names
}, 300_000)

describe('HTTPS', () => {
  test('TLS is turned on for a live service whose proxy publishes no HTTPS port → the proxy is recreated once: a gap of about a second for new connections (measured), then HTTPS serves', async () => {
    const plain = { tls: 'off', 'https-port': '443', 'acme-ca-bundle': '' }
    expectOk(await runAction(inputs('h-plain', images['1'].ref, plain)))
    expect((await httpGetOf(NAMES['h-plain'])).body.trim()).toBe('version=https-1')
    const before = (await mustHostDocker(['container', 'inspect', '-f', '{{.Id}}', PROXY])).stdout.trim()
    // HTTP clients, until and through the switch to HTTPS: a 308 is an answer.
    const url = `http://127.0.0.1:${PORT}/`
    const keepAlive = startLoad({ url, host: NAMES['h-plain'], concurrency: 4, intervalMs: 5, maxRequests: 40_000, maxMs: 120_000, keepAlive: true, alsoOk: [308] })
    const closing = startLoad({ url, host: NAMES['h-plain'], concurrency: 4, intervalMs: 5, maxRequests: 40_000, maxMs: 120_000, alsoOk: [308] })
    const run = await runAction(inputs('h-plain', images['1'].ref))
    const loads = { keepAlive: await keepAlive.stop(), closing: await closing.stop() }
    expectOk(run)
    const gap = Number(/new connections waited (\d+) ms/.exec(run.stdout)?.[1])
    console.log(
      `turning TLS on: ${/The proxy was recreated with HTTPS[^\n]*/.exec(run.stdout)?.[0]}; ` +
        `clients: ${summarize('keep-alive', loads.keepAlive)}, failures within ${loads.keepAlive.failureWindowMs} ms; ` +
        `${summarize('closing', loads.closing)}, failures within ${loads.closing.failureWindowMs} ms; first errors: ${loads.closing.errors.slice(0, 3).join('; ')}; ` +
        `keep-alive failures at ${JSON.stringify(loads.keepAlive.failuresAtMs)} ms, closing at ${JSON.stringify(loads.closing.failuresAtMs)} ms`
    )
    // The promise: one recreate, and what fails fails within about a second of it; the reload
    // that puts the TLS config in before it costs keep-alive clients one request per connection
    // at most, as any config change does.
    expect((await mustHostDocker(['container', 'inspect', '-f', '{{.Id}}', PROXY])).stdout.trim()).not.toBe(before)
    expect(gap).toBeLessThan(2000)
    expect(burstWithin(loads.closing.failuresAtMs, 0, gap + 1000)).toBe(true)
    expect(burstWithin(loads.keepAlive.failuresAtMs, 4, gap + 1000)).toBe(true)
    for (const stats of Object.values(loads)) {
      expect(stats.longestGapMs).toBeLessThan(gap + 1500)
      expect(stats.tlsErrors).toBe(0)
      expect(stats.statuses['308']).toBeGreaterThan(0)
      expect(stats.statuses['200']).toBeGreaterThan(0)
    }
    expect((await httpsGet(NAMES['h-plain'])).body.trim()).toBe('version=https-1')
    // The next deploy finds the port published: no recreate, no reload.
    const again = await runAction(inputs('h-plain', images['2'].ref))
    expectOk(again)
    expect(again.stdout).not.toContain('recreating it')
    expect(again.stdout).toContain('the switch needs no nginx reload')
  })

  test('`tls: auto` on a first deploy → HTTPS through the proxy, verified against the root of the CA, gets the app; HTTP gets a 308 to HTTPS, except the challenge path', async () => {
    const loads = httpsClients(NAMES['h-plain'])
    const run = await runAction(inputs('h-web', images['1'].ref, { hsts: 'true' }))
    const others = await loads.stop()
    expectOk(run)
    console.log(`first deploy of h-web beside h-plain: ${summarize('keep-alive', others.keepAlive)}; ${summarize('closing', others.closing)}`)
    expectReloadOnly(others)
    const reply = await httpsGet(NAMES['h-web'])
    expect(reply.status).toBe(200)
    expect(reply.body.trim()).toBe('version=https-1')
    expect(reply.headers['strict-transport-security']).toBe('max-age=31536000')
    const cert = await served(NAMES['h-web'], root)
    expect(cert.names).toBe(`DNS:${NAMES['h-web']}`)
    const redirect = await httpGetOf(NAMES['h-web'], '/path?q=1')
    expect({ status: redirect.status, location: redirect.headers.location }).toEqual({ status: 308, location: `https://${NAMES['h-web']}:${HTTPS_PORT}/path?q=1` })
    expect(redirect.headers['strict-transport-security']).toBeUndefined()
    // The challenge path is answered from the webroot, never redirected.
    await hostSsh(`printf probe > ${STORE}/webroot/.well-known/acme-challenge/h-probe`)
    const challenge = await httpGetOf(NAMES['h-web'], '/.well-known/acme-challenge/h-probe')
    await hostSsh(`rm -f ${STORE}/webroot/.well-known/acme-challenge/h-probe`)
    expect({ status: challenge.status, body: challenge.body }).toEqual({ status: 200, body: 'probe' })
    // The job summary names each certificate of the proxy, with its expiry date.
    expect(run.summary).toContain('| Certificate of | Names | Expires (UTC) | Days left | Issuer | Renewal |')
    const expires = new Date(cert.validTo).toISOString().slice(0, 10)
    expect(run.summary).toContain(`| h\\-web | web\\.https\\.test | ${expires} | 89 |`)
    expect(run.summary).toMatch(/\| h\\-plain \| plain\\\.https\\\.test \| \d{4}-\d\d-\d\d \| 89 \|/)
    expect(run.summary).toContain('a certificate was issued (no certificate yet)')
    // The key: the nginx workers', 0600; the renewal container runs hardened.
    expect((await hostSsh(`stat -c '%a %u' ${STORE}/certs/h-web.pem`)).stdout.trim()).toBe('600 101')
    const renew = JSON.parse((await mustHostDocker(['inspect', RENEW])).stdout)[0] as { State: { Status: string }; HostConfig: { ReadonlyRootfs: boolean; CapAdd: string[]; CapDrop: string[]; RestartPolicy: { Name: string } } }
    expect(renew.State.Status).toBe('running')
    expect(renew.HostConfig).toMatchObject({ ReadonlyRootfs: true, CapDrop: ['ALL'], RestartPolicy: { Name: 'unless-stopped' } })
    expect(renew.HostConfig.CapAdd.map((cap) => cap.replace(/^CAP_/, '')).sort()).toEqual(['CHOWN', 'DAC_OVERRIDE'])
  })

  test('a deploy of v2 under HTTPS load with keep-alive and closing clients → 0 failed requests and 0 TLS errors', async () => {
    const loads = httpsClients(NAMES['h-web'])
    const run = await runAction(inputs('h-web', images['2'].ref, { hsts: 'true' }))
    const seen = await loads.stop()
    expectOk(run)
    console.log(`v2 under HTTPS load: ${summarize('keep-alive', seen.keepAlive)}; ${summarize('closing', seen.closing)}`)
    expect(run.stdout).toContain('TLS certificate of h-web kept')
    expect(run.stdout).toContain('the switch needs no nginx reload')
    expect(run.stdout).toContain('renewal unchanged')
    expectNoneFailed(seen)
    for (const stats of Object.values(seen)) {
      expect(stats.bodies['version=https-1']).toBeGreaterThan(0)
      expect(stats.bodies['version=https-2']).toBeGreaterThan(0)
    }
  })

  test('two services on one proxy, each switching under HTTPS load → each is served its own certificate, for its own names only', async () => {
    const loads = [httpsClients(NAMES['h-web']), httpsClients(NAMES['h-plain'])]
    expectOk(await runAction(inputs('h-plain', images['1'].ref)))
    expectOk(await runAction(inputs('h-web', images['1'].ref, { hsts: 'true' })))
    for (const seen of await Promise.all(loads.map((load) => load.stop()))) expectNoneFailed(seen)
    const [web, plain] = await Promise.all([served(NAMES['h-web']), served(NAMES['h-plain'])])
    expect([web.names, plain.names]).toEqual(['DNS:web.https.test', 'DNS:plain.https.test'])
    expect(web.serial).not.toBe(plain.serial)
    expect((await served('WEB.https.TEST')).serial).toBe(web.serial) // SNI is case-insensitive
    // A name the proxy has no certificate for, or an SNI that looks like a path, gets no handshake.
    await expect(served('other.https.test')).rejects.toThrow()
    await expect(served('../certs/h-web')).rejects.toThrow()
    expect((await httpsGet(NAMES['h-plain'])).body.trim()).toBe('version=https-1')
  })

  test('the proxy container was removed → the next deploy recreates it, serving the same certificate at once', async () => {
    const before = await served(NAMES['h-web'])
    await mustHostDocker(['rm', '-f', PROXY])
    await expect(httpsGet(NAMES['h-web'])).rejects.toThrow()
    const run = await runAction(inputs('h-web', images['2'].ref, { hsts: 'true' }))
    expectOk(run)
    expect(run.stdout).toContain(`proxy created (HTTPS on port ${HTTPS_PORT})`)
    expect(await served(NAMES['h-web'])).toEqual(before)
    expect(await served(NAMES['h-plain'])).toMatchObject({ names: 'DNS:plain.https.test' })
    const loads = httpsClients(NAMES['h-web'])
    await new Promise((resolve) => setTimeout(resolve, 2000))
    expectNoneFailed(await loads.stop())
  })

  test('the renewal container finds a certificate with 20 days left, under HTTPS load → it renews it: 0 failed, a new serial served, the same nginx processes (no reload)', async () => {
    await usePebble(TWENTY_DAYS)
    const names = `${NAMES['h-web']} www.${NAMES['h-web']}`
    expectOk(await runAction(inputs('h-web', images['1'].ref, { hsts: 'true', 'server-name': names })))
    const before = await served(NAMES['h-web'])
    expect(Math.round((new Date(before.validTo).getTime() - Date.now()) / 86_400_000)).toBe(20)
    const processes = await nginxProcesses()
    const loads = httpsClients(NAMES['h-web'])
    const pass = await hostDocker(['exec', RENEW, '/usr/local/bin/node', '/app/renew.mjs', 'once'], { timeoutMs: 120_000 })
    await new Promise((resolve) => setTimeout(resolve, 500))
    const seen = await loads.stop()
    console.log(`renewal pass under HTTPS load: ${summarize('keep-alive', seen.keepAlive)}; ${summarize('closing', seen.closing)}`)
    expect({ code: pass.code, stderr: pass.stderr }).toEqual({ code: 0, stderr: '' })
    const after = await served(NAMES['h-web'])
    expect(after.serial).not.toBe(before.serial)
    expect(pass.stdout).toContain(`${NAMES['h-web']}, www.${NAMES['h-web']}: renewed, serial ${after.serial}`)
    expect(await served(`www.${NAMES['h-web']}`)).toEqual(after)
    expect(await nginxProcesses()).toBe(processes)
    expectNoneFailed(seen)
    for (const stats of Object.values(seen)) expect(stats.bodies['version=https-1']).toBe(stats.sent)
  })

  test('a deploy finds the certificate with fewer than 30 days left → it renews it before the candidate starts, under HTTPS load with 0 failed', async () => {
    const before = await served(NAMES['h-web'])
    const loads = httpsClients(NAMES['h-web'])
    const run = await runAction(inputs('h-web', images['2'].ref, { hsts: 'true', 'server-name': `${NAMES['h-web']} www.${NAMES['h-web']}` }))
    const seen = await loads.stop()
    expectOk(run)
    expect(run.stdout).toMatch(/TLS certificate for web.https.test, www.web.https.test: (19|20)\.\d days left \(renewed below 30\)/)
    const renewedAt = run.stdout.indexOf('Installed the certificate of h-web')
    expect(renewedAt).toBeGreaterThan(0)
    expect(renewedAt).toBeLessThan(run.stdout.indexOf('Start h-web-'))
    const after = await served(NAMES['h-web'])
    expect(after.serial).not.toBe(before.serial)
    expect(run.summary).toContain('the certificate was renewed')
    expectNoneFailed(seen)
  })

  test('the CA does not answer when a certificate is due → the deploy fails before the candidate starts, naming the CA it could not reach; the live version serves on with its certificate', async () => {
    const before = await served(NAMES['h-web'])
    const live = (await httpsGet(NAMES['h-web'])).body.trim()
    await stopPebble()
    try {
      const loads = httpsClients(NAMES['h-web'])
      const run = await runAction(inputs('h-web', images['1'].ref, { hsts: 'true', 'server-name': `${NAMES['h-web']} www.${NAMES['h-web']}` }))
      const seen = await loads.stop()
      expect(run.code).toBe(1)
      expect(run.stdout).toContain(
        `::error::tls: could not get a certificate for web.https.test, www.web.https.test from ${pebble.containerDirectoryUrl}: ` +
          `ACME creating or finding the ACME account: could not reach ${pebble.containerDirectoryUrl} (acme-directory): connect ECONNREFUSED`
      )
      expect(run.stdout).not.toMatch(/Start h-web-/)
      expect(await served(NAMES['h-web'])).toEqual(before)
      expect((await httpsGet(NAMES['h-web'])).body.trim()).toBe(live)
      expectNoneFailed(seen)
    } finally {
      await usePebble(TWENTY_DAYS, [NAMES['h-web']])
    }
  })

  test('the CA refuses the order (a name it will not issue for) → the deploy fails before the candidate starts, quoting the answer of the CA; the live version serves on', async () => {
    const before = await served(NAMES['h-web'])
    const loads = httpsClients(NAMES['h-web'])
    const run = await runAction(inputs('h-web', images['1'].ref, { hsts: 'true', 'server-name': `${NAMES['h-web']} www.${NAMES['h-web']}` }))
    const seen = await loads.stop()
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(
      /::error::tls: could not get a certificate for web\.https\.test, www\.web\.https\.test from \S+: ACME ordering a certificate for web\.https\.test, www\.web\.https\.test: the CA answered 400 urn:ietf:params:acme:error:rejectedIdentifier: Order included an identifier for which issuance is forbidden by policy/
    )
    expect(run.stdout).toContain('The host is as before: h-web-')
    expect(await served(NAMES['h-web'])).toEqual(before)
    expectNoneFailed(seen)
    await usePebble()
  })

  test('`tls: custom` with a certificate and key from secrets → they are served; a key that does not match is refused before anything changes', async () => {
    const leaf = await custom.leaf([NAMES['h-custom']])
    const given = { tls: 'custom', 'tls-certificate': leaf.pem + custom.intermediate.pem, 'tls-private-key': leaf.keyPem, 'acme-ca-bundle': custom.root.pem }
    const loads = httpsClients(NAMES['h-web'])
    const first = await runAction(inputs('h-custom', images['1'].ref, given))
    expectReloadOnly(await loads.stop())
    expectOk(first)
    // The key shows only in the runner's masking commands, which the runner never prints.
    const printed = first.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n')
    expect(printed).not.toContain(leaf.keyPem.split('\n')[1])
    const cert = await served(NAMES['h-custom'], custom.root.pem)
    expect(cert.serial).toBe(leaf.cert.serialNumber.toLowerCase().replace(/^0+/, ''))
    expect((await httpsGet(NAMES['h-custom'], '/', custom.root.pem)).body.trim()).toBe('version=https-1')
    expect(first.summary).toMatch(/\| h\\-custom \| custom\\\.https\\\.test \| \d{4}-\d\d-\d\d \| 89 \| CN\\=Custom Intermediate \| custom, not renewed \|/)

    const picture = await hostPicture()
    const stranger = await custom.leaf([NAMES['h-custom']])
    const customClients = startClientLoads({ url: `https://127.0.0.1:${HTTPS_PORT}/`, host: NAMES['h-custom'], ca: custom.root.pem, concurrency: 4, intervalMs: 5, maxRequests: 20_000, maxMs: 60_000 })
    const refused = await runAction(inputs('h-custom', images['2'].ref, { ...given, 'tls-private-key': stranger.keyPem }))
    const again = await runAction(inputs('h-custom', images['2'].ref, given))
    expectNoneFailed(await customClients.stop())
    expect(refused.code).toBe(1)
    expect(refused.stdout).toMatch(/::error::tls-private-key: the key does not match the certificate in tls-certificate/)
    expect(refused.durationMs).toBeLessThan(5000)
    expectOk(again)
    expect(again.stdout).toContain('TLS certificate of h-custom kept')
    expect((await hostPicture()).replace(/h-custom-\w+ \S+/g, '')).toBe(picture.replace(/h-custom-\w+ \S+/g, ''))
  })

  test('a first deploy whose names the CA refuses → it fails before it takes any traffic, quoting the CA, and its config is taken back', async () => {
    const loads = httpsClients(NAMES['h-web'])
    const run = await runAction(inputs('h-blocked', images['1'].ref))
    expectReloadOnly(await loads.stop(), 2)
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/::error::tls: could not get a certificate for x\.blocked\.tls-test\.example from \S+: .*urn:ietf:params:acme:error:rejectedIdentifier/)
    expect(await serviceContainers('h-blocked')).toEqual([])
    expect((await hostSsh(`ls ${STATE_ROOT}/_proxy/${NETWORK}/conf.d`)).stdout.split('\n')).not.toContain('h-blocked.conf')
  })
})

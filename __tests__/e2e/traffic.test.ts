// Traffic on one host: maintenance on and off, and a canary that judges itself, each under load
// through the proxy. The canary's clients keep the proxy's cookie as browsers do, so the test can
// tell whether any client ever flipped between versions.
import { runAction, sandboxInputs, startAction } from '../../sandbox/action.js'
import { buildApp, type BuiltImage } from '../../sandbox/fixtures.js'
import { startClientLoads, startCookieClients, type ClientHistory, type ClientLoads } from '../../sandbox/load.js'
import { readSandboxInfo, type SandboxInfo } from '../../sandbox/sandbox.js'
import { clearHost, serviceContainers, stateFile, viaProxy } from './host.js'
import { expectOk, logShows } from './runs.js'

const SERVICE = 'tr-web'
const NETWORK = 'e2e-traffic'
const PORT = 18180
const NAME = 'tr.test'

let info: SandboxInfo
const images: Record<string, BuiltImage> = {}

const inputs = (extra: Record<string, string>) =>
  sandboxInputs(info, { service: SERVICE, network: NETWORK, 'proxy-port': String(PORT), 'server-name': NAME, 'health-path': '/health', ...extra })

const clients = (path = '/') =>
  startClientLoads({ url: `http://127.0.0.1:${PORT}${path}`, host: NAME, concurrency: 3, intervalMs: 5, maxRequests: 30_000, maxMs: 120_000 })

// 40 clients, a request every 100 ms each. The fixture is busybox httpd, which forks for every
// connection (and a CGI per request) and listens with a backlog of 9: at a request every 50 ms
// each, on 2 cores, its backlog overflowed now and then for seconds, and nginx timed out
// connecting to the live release (a 504 in one run of five, its error log naming the live
// slot's address, during the canary).
const cookieClients = (keepAlive: boolean, path = '/cgi-bin/version') =>
  startCookieClients({ url: `http://127.0.0.1:${PORT}${path}`, host: NAME, clients: 20, keepAlive, intervalMs: 100, maxRequests: 40_000, maxMs: 150_000 })

/** Only the app's answers and the maintenance page: no connection failed, no other status. */
function expectOnly(loads: ClientLoads, statuses: string[]): void {
  for (const [kind, stats] of Object.entries(loads)) {
    expect({ kind, statuses: Object.keys(stats.statuses).filter((status) => !statuses.includes(status)) }).toEqual({ kind, statuses: [] })
  }
}

const sequence = (history: ClientHistory) => history.runs.map((run) => run.version)

beforeAll(async () => {
  info = readSandboxInfo()
  await clearHost([SERVICE], [NETWORK])
  images.v1 = await buildApp({ tag: 'e2e-traffic/app:1', version: 'tr-1' })
  images.v2 = await buildApp({ tag: 'e2e-traffic/app:2', version: 'tr-2' })
  images.flaky = await buildApp({ tag: 'e2e-traffic/app:2-flaky', version: 'tr-2-flaky', variant: 'flaky' })
  expectOk(await runAction(inputs({ image: images.v1.ref })))
}, 600_000)

afterAll(() => clearHost([SERVICE], [NETWORK]))

describe('maintenance', () => {
  test('`maintenance: on` under load → every request but the health path gets a 503 with Retry-After and the page; no connection fails; no reload', async () => {
    const load = clients()
    const run = await runAction(inputs({ image: '', maintenance: 'on', 'maintenance-page': '<h1>Back at 10:00</h1>' }))
    const loads = await load.stop()
    expectOk(run)
    expectOnly(loads, ['200', '503'])
    for (const stats of Object.values(loads)) expect(stats.statuses['503']).toBeGreaterThan(0)
    const page = await viaProxy(PORT, '/', NAME)
    expect(page.status).toBe(503)
    expect(page.headers['retry-after']).toBe('60')
    expect(page.body).toBe('<h1>Back at 10:00</h1>')
    expect((await viaProxy(PORT, '/health', NAME)).status).toBe(200)
    expect(run.outputs.maintenance).toBe('on')
    expect(run.summary).toContain('maintenance on')
  })

  test('A deploy during maintenance → it stays on; the new release is checked and switched behind the page', async () => {
    const run = await runAction(inputs({ image: images.v2.ref }))
    expectOk(run)
    expect((await viaProxy(PORT, '/', NAME)).status).toBe(503)
    expect((await stateFile(SERVICE))?.live?.image).toBe(images.v2.ref)
  })

  test('`maintenance: off` under load → the app answers again, and no request fails once it has', async () => {
    const load = clients()
    const run = await runAction(inputs({ image: '', maintenance: 'off' }))
    const loads = await load.stop()
    expectOk(run)
    expectOnly(loads, ['200', '503'])
    const after = clients()
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const settled = await after.stop()
    expectOnly(settled, ['200'])
    expect((await viaProxy(PORT, '/', NAME)).body).toContain('version=tr-2')
  })
})

describe('canary', () => {
  test('A canary (40%) of a v2 that answers 500 to 30% of requests → sent back on its own within seconds: each of its clients moved to it once and back once, the others never saw it, none fails after that; the step fails with the figures', async () => {
    const browsers = cookieClients(true)
    const scripts = cookieClients(false)
    const run = startAction(inputs({ image: images.flaky.ref, canary: '40', 'canary-duration': '60', 'canary-min-requests': '20' }))
    // New clients from the moment the canary's files are gone ("Sending the canary back" comes
    // just before): none may meet the candidate.
    await logShows(run, 'The canary is off', 90_000)
    const after = clients('/cgi-bin/version')
    const result = await run.done
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const histories = [...(await browsers.stop()), ...(await scripts.stop())]
    const settled = await after.stop()
    expect(result.code).not.toBe(0)
    expect(result.summary.replace(/\\/g, '')).toMatch(/Canary sent back: tr-web-blue answered \d+\.\d% 5xx \(\d+ of \d+ requests\) against tr-web-green answered 0\.0% 5xx/)
    // Once sent back, not one request failed: the canary's clients went back to v2's slot
    // (now tr-2, the live release) and the candidate was drained before it went.
    expect(Object.keys(settled.keepAlive.statuses)).toEqual(['200'])
    expect(Object.keys(settled.closing.statuses)).toEqual(['200'])
    // Sticky: a client on the canary stayed on it until the revert, then moved back once; the
    // others never saw it.
    const canaryClients = histories.filter((history) => sequence(history).includes('version=tr-2-flaky'))
    expect(canaryClients.length).toBeGreaterThan(0)
    expect(canaryClients.length).toBeLessThan(histories.length)
    for (const history of histories) {
      expect(['version=tr-2', 'version=tr-2,version=tr-2-flaky,version=tr-2']).toContain(sequence(history).join(','))
      expect(history.failures.every((failure) => failure.what === 'HTTP 500')).toBe(true)
    }
    expect((await serviceContainers(SERVICE)).map((c) => c.name)).toEqual([`${SERVICE}-green`])
    expect((await viaProxy(PORT, '/', NAME)).body).toContain('version=tr-2')
  })

  test('A healthy canary (30%, 15 s) → promoted: its clients stay on it, the others move over at the switch, each client moves once, none fails', async () => {
    const browsers = cookieClients(true, '/')
    const scripts = cookieClients(false, '/')
    const run = await runAction(inputs({ image: images.v1.ref, canary: '30', 'canary-duration': '15', 'canary-min-requests': '10' }))
    const ended = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const histories = [...(await browsers.stop()), ...(await scripts.stop())]
    expectOk(run)
    expect(run.stdout).toContain('Canary passed')
    expect(run.summary).toMatch(/\*\*Canary:\*\* 30% of clients for 15 s, promoted/)
    for (const history of histories) {
      expect({ failures: history.failures, runs: history.runs }).toEqual({ failures: [], runs: history.runs })
      // Everyone moved from v2 to v1 once, and nobody went back.
      expect(sequence(history).join(',')).toBe('version=tr-2,version=tr-1')
    }
    // The canary's clients moved when it began, at least 10 s before the run ended; the others
    // at the switch, in its last seconds.
    const early = histories.filter((history) => history.runs[1].firstAt < ended - 10_000)
    expect(early.length).toBeGreaterThan(0)
    expect(early.length).toBeLessThan(histories.length)
    expect((await viaProxy(PORT, '/', NAME)).body).toContain('version=tr-1')
  })
})

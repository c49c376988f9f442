// What clients see at a switch: browsers, CDNs and load balancers keep HTTP/1.1 connections open
// and reuse them; scripts and health checkers close each one. Both kinds run side by side
// through the proxy while the action switches again and again, and not one request may fail.
import { runAction, sandboxInputs, type ActionResult } from '../../sandbox/action.js'
import { buildApp, type BuiltImage } from '../../sandbox/fixtures.js'
import { slowRequests, startClientLoads, type ClientLoads } from '../../sandbox/load.js'
import { readSandboxInfo, type SandboxInfo } from '../../sandbox/sandbox.js'
import { clearHost, serviceContainers } from './host.js'
import { expectOk } from './runs.js'

const SERVICE = 'ka-web'
const NETWORK = 'e2e-keepalive'
const PORT = 18140
const SWITCHES = 12
/** More switches only while a kind of client has sent fewer than AT_LEAST (a busy machine is slower). */
const MAX_SWITCHES = 30
/** Requests each kind of client sends at least during the switches (the README row says so). */
const AT_LEAST = 8_000
const CONCURRENCY = 4
/** Services whose first deploy behind the same proxy adds their config: an nginx reload each. */
const OTHERS = ['ka-other-1', 'ka-other-2']

let info: SandboxInfo
const images: BuiltImage[] = []

const inputs = (image: string, extra: Record<string, string> = {}) =>
  sandboxInputs(info, { image, service: SERVICE, network: NETWORK, 'proxy-port': String(PORT), 'server-name': 'ka.test', ...extra })

/** Both kinds of client, four of each, through the proxy; bounded in count and time. */
const clients = () =>
  startClientLoads({ url: `http://127.0.0.1:${PORT}/`, host: 'ka.test', concurrency: CONCURRENCY, intervalMs: 5, maxRequests: 40_000, maxMs: 150_000 })

function expectNoneFailed(loads: ClientLoads): void {
  for (const [kind, stats] of Object.entries(loads)) {
    expect({ kind, errors: stats.errors, failed: stats.failed }).toEqual({ kind, errors: [], failed: 0 })
  }
  // The keep-alive clients really did reuse their connections across the switches.
  expect(loads.keepAlive.reused).toBeGreaterThan(loads.keepAlive.sent * 0.9)
  expect(loads.closing.reused).toBe(0)
}

beforeAll(async () => {
  info = readSandboxInfo()
  await clearHost([SERVICE, ...OTHERS], [NETWORK])
  for (const version of ['1', '2']) images.push(await buildApp({ tag: `e2e-keepalive/app:${version}`, version: `ka-${version}` }))
  expectOk(await runAction(inputs(images[0].ref)))
})

afterAll(() => clearHost([SERVICE, ...OTHERS], [NETWORK]))

test('12 switches under at least 8,000 keep-alive and 8,000 closing requests → not one request fails, and no switch reloads nginx', async () => {
  const load = clients()
  const runs: ActionResult[] = []
  const short = () => Object.values(load.snapshot()).some((stats) => stats.sent < AT_LEAST)
  for (let i = 1; i <= SWITCHES || (short() && i <= MAX_SWITCHES); i++) runs.push(await runAction(inputs(images[i % 2].ref)))
  const loads = await load.stop()
  runs.forEach(expectOk)
  // Each run switched slot, and none had to write the proxy config (the reload that cost
  // keep-alive clients their connections).
  expect(runs.map((run) => run.outputs.slot)).toEqual(Array.from({ length: runs.length }, (_, i) => (i % 2 === 0 ? 'green' : 'blue')))
  for (const run of runs) expect(run.stdout).toContain('the switch needs no nginx reload')
  expectNoneFailed(loads)
  for (const stats of Object.values(loads)) {
    expect(stats.sent).toBeGreaterThanOrEqual(AT_LEAST)
    expect(stats.bodies['version=ka-1']).toBeGreaterThan(0)
    expect(stats.bodies['version=ka-2']).toBeGreaterThan(0)
  }
  console.log(`keep-alive: ${loads.keepAlive.sent} requests (${loads.keepAlive.reused} on reused connections), closing: ${loads.closing.sent} requests, ${runs.length} switches, 0 failed`)
})

test('requests of 8 s in flight on kept-alive connections at each switch → each finishes on its slot, none fails', async () => {
  const load = clients()
  const started: Promise<Awaited<ReturnType<typeof slowRequests>>>[] = []
  for (let i = 0; i < 2; i++) {
    started.push(slowRequests({ url: `http://127.0.0.1:${PORT}/`, host: 'ka.test', count: 3, seconds: 8, keepAlive: true }))
    await new Promise((resolve) => setTimeout(resolve, 300))
    expectOk(await runAction(inputs(images[i % 2].ref)))
  }
  const slow = (await Promise.all(started)).flat()
  const loads = await load.stop()
  expect(slow.map((reply) => `${reply.status} ${reply.body.trim().replace(/version=.*/, 'version')}`)).toEqual(Array(6).fill('200 slow done version'))
  expectNoneFailed(loads)
  expect((await serviceContainers(SERVICE)).filter((c) => c.state === 'running')).toHaveLength(1)
})

/** Runs `deploy` and checks that it reloaded nginx (it wrote a proxy config). */
async function reloading(deploy: Promise<ActionResult>): Promise<void> {
  const run = await deploy
  expectOk(run)
  expect(run.stdout).toMatch(/: nginx reloaded gracefully/)
}

// A reload is still needed where the proxy config changes: a service's first deploy behind the
// proxy, a new server-name, port or timeout. nginx's graceful reload closes the old workers'
// idle keep-alive connections, and a client that sent on one at that moment got a reset (4 to 8
// of 3,350 to 7,606 requests for these 4 reloads, before the closing window). Each reload now
// comes after a closing window: for 2 s the proxy answers with "Connection: close", so keep-alive
// clients are on new connections when the old workers close their idle ones. This counts what
// the clients of a service that was not even deployed see.
test('4 nginx reloads (two services\' first deploys behind the proxy, two `server-name` changes) under keep-alive and closing clients → not one request fails: each reload comes after a 2 s closing window that moves keep-alive clients to new connections', async () => {
  const load = clients()
  for (const other of OTHERS) {
    await reloading(runAction(sandboxInputs(info, {
      image: images[0].ref, service: other, network: NETWORK, 'proxy-port': String(PORT), 'server-name': `${other}.test`
    })))
  }
  await reloading(runAction(inputs(images[1].ref, { 'server-name': 'ka.test www.ka.test' })))
  await reloading(runAction(inputs(images[0].ref, { 'server-name': 'ka.test' })))
  const loads = await load.stop()
  const reloads = OTHERS.length + 2
  const { keepAlive, closing } = loads
  console.log(`${reloads} reloads: keep-alive ${keepAlive.failed} failed of ${keepAlive.sent} (${keepAlive.reused} on reused connections; ${JSON.stringify(keepAlive.statuses)}, ${keepAlive.errors.join('; ')}), closing ${closing.failed} failed of ${closing.sent}`)
  for (const stats of [keepAlive, closing]) expect({ errors: stats.errors, failed: stats.failed }).toEqual({ errors: [], failed: 0 })
  // Between the windows the keep-alive clients still reuse their connections (a third of their
  // requests in a run here: the four windows and reloads take 3 s each of about 20 s).
  expect(keepAlive.reused).toBeGreaterThan(keepAlive.sent * 0.1)
  for (const stats of [keepAlive, closing]) expect(stats.sent).toBeGreaterThanOrEqual(1_000)
})

// A new proxy-image on a running proxy. Docker cannot move a published port to another container
// without a gap, so the new nginx starts in the running proxy's network namespace and listens
// beside it (SO_REUSEPORT); the old one stops listening and finishes what it serves. Keep-alive
// and closing clients run through the proxy the whole time, with 8 s requests in flight at the
// handover, and not one request may fail. Then the host's engine restarts, and the holder's
// partner loses the start race: the port must still answer, and the next deploy repairs the pair.
import { runAction, sandboxInputs, startAction, type ActionResult } from '../../sandbox/action.js'
import { buildApp, type BuiltImage } from '../../sandbox/fixtures.js'
import { httpGet, slowRequests, startClientLoads, type ClientLoads, type SlowResult } from '../../sandbox/load.js'
import { hostDocker, hostSsh, mustHostDocker, readSandboxInfo, runCommand, SANDBOX_SCRIPT, type SandboxInfo } from '../../sandbox/sandbox.js'
import { testCa, type TestCa } from '../support/test-ca.js'
import { STATE_ROOT, clearHost, containerStatus, viaProxy } from './host.js'
import { expectOk, logShows } from './runs.js'

const SERVICE = 'pu-web'
const NETWORK = 'e2e-proxy-upgrade'
const PORT = 18190
const HTTPS_PORT = 18191
const PROXY = `${NETWORK}-proxy`
const HOLDER = `${PROXY}-net`
const HOST = 'pu.test'
/** Two names of the sandbox's nginx image: a different proxy-image to the action. */
const OLD_IMAGE = 'nginx:alpine'
const NEW_IMAGE = 'bluegreen-sandbox/nginx:test'

let info: SandboxInfo
let ca: TestCa
const images: BuiltImage[] = []

const inputs = (image: string, proxyImage: string, extra: Record<string, string> = {}) =>
  sandboxInputs(info, {
    image, service: SERVICE, network: NETWORK, 'proxy-port': String(PORT), 'server-name': HOST, 'proxy-image': proxyImage, ...extra
  })

const clients = () =>
  startClientLoads({ url: `http://127.0.0.1:${PORT}/`, host: HOST, concurrency: 4, intervalMs: 5, maxRequests: 40_000, maxMs: 120_000 })

const slow = () => slowRequests({ url: `http://127.0.0.1:${PORT}/`, host: HOST, count: 3, seconds: 8, keepAlive: true })

function expectNoneFailed(loads: ClientLoads): void {
  for (const [kind, stats] of Object.entries(loads)) {
    expect({ kind, errors: stats.errors, failed: stats.failed }).toEqual({ kind, errors: [], failed: 0 })
    expect(stats.sent).toBeGreaterThan(500)
  }
  expect(loads.keepAlive.reused).toBeGreaterThan(loads.keepAlive.sent * 0.5)
}

function expectSlowDone(replies: SlowResult[]): void {
  expect(replies.map((reply) => `${reply.status} ${reply.body.trim().replace(/version=.*/, 'version')}`)).toEqual(Array(3).fill('200 slow done version'))
}

async function inspect(name: string, format: string): Promise<string> {
  return (await mustHostDocker(['container', 'inspect', '-f', format, name])).stdout.trim()
}

/** Sockets listening on port 80 in the proxy's network namespace. */
async function listeners(): Promise<number> {
  const out = await mustHostDocker(['exec', PROXY, 'awk', 'FNR > 1 && $4 == "0A" && $2 ~ /:0050$/ { n++ } END { print n + 0 }', '/proc/net/tcp'])
  return Number(out.stdout.trim())
}

/** nginx worker processes of a container: with reuseport, each has a listening socket of its own. */
async function workers(name: string): Promise<number> {
  const out = await mustHostDocker(['top', name, '-o', 'pid,args'])
  return out.stdout.split('\n').filter((line) => line.includes('worker process')).length
}

/** What a user sees of the pair: which image serves, which holds the port, and that only it listens. */
async function expectPair(serving: string): Promise<void> {
  expect(await inspect(PROXY, '{{.State.Status}} {{.Config.Image}}')).toBe(`running ${serving}`)
  expect(await inspect(HOLDER, '{{.State.Status}} {{.Config.Image}} {{json .HostConfig.PortBindings}}')).toBe(
    `running ${OLD_IMAGE} {"80/tcp":[{"HostIp":"","HostPort":"${PORT}"}]}`
  )
  expect(await inspect(PROXY, '{{.HostConfig.NetworkMode}}')).toBe(`container:${await inspect(HOLDER, '{{.Id}}')}`)
  // Only the serving nginx listens: the holder's nginx was retired.
  expect(await listeners()).toBe(await workers(PROXY))
  expect(await containerStatus(`${PROXY}-next`)).toBe('missing')
  expect(await containerStatus(`${PROXY}-old`)).toBe('missing')
}

/** A deploy whose proxy phase changes the proxy, with 8 s requests sent as it begins. */
async function upgradeUnderLoad(run: Record<string, string>): Promise<{ result: ActionResult; loads: ClientLoads; replies: SlowResult[] }> {
  const load = clients()
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  const started = startAction(run)
  await logShows(started, 'proxy-image is')
  const replies = slow()
  const result = await started.done
  const slowReplies = await replies
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  return { result, loads: await load.stop(), replies: slowReplies }
}

beforeAll(async () => {
  info = readSandboxInfo()
  ca = await testCa('Upgrade')
  await clearHost([SERVICE], [NETWORK])
  for (const version of ['1', '2']) images.push(await buildApp({ tag: `e2e-proxy-upgrade/app:${version}`, version: `pu-${version}` }))
  expectOk(await runAction(inputs(images[0].ref, OLD_IMAGE)))
  // The proxy as the previous release made it: no shared listen options (its sockets lack
  // SO_REUSEPORT), no net.ipv4.tcp_migrate_req in its namespace.
  const dir = `${STATE_ROOT}/_proxy/${NETWORK}`
  await mustHostDocker(['rm', '-f', PROXY])
  expect((await hostSsh(`rm -f '${dir}/conf.d/~listen.conf'`)).code).toBe(0)
  await mustHostDocker([
    'run', '-d', '--name', PROXY, '--network', NETWORK, '-p', `${PORT}:80`, '--restart', 'unless-stopped',
    '--label', 'bluegreen.role=proxy', '-v', `${dir}/conf.d:/etc/nginx/conf.d:ro`, OLD_IMAGE
  ])
  for (let i = 0; i < 50 && (await viaProxy(PORT, '/', HOST).catch(() => undefined))?.status !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  expect((await viaProxy(PORT, '/', HOST)).body).toContain('version=pu-1')
}, 300_000)

afterAll(() => clearHost([SERVICE], [NETWORK]))

test('a new `proxy-image` on a proxy made by the previous release, under keep-alive and closing clients with 8 s requests in flight → not one request fails; the new nginx serves from the old proxy\'s network namespace, which keeps the port', async () => {
  const { result, loads, replies } = await upgradeUnderLoad(inputs(images[1].ref, NEW_IMAGE))
  expectOk(result)
  expect(result.stdout).toContain(`proxy: ${PROXY} now runs ${NEW_IMAGE} instead of ${OLD_IMAGE}, in the same network namespace, with no gap`)
  expectNoneFailed(loads)
  expectSlowDone(replies)
  expect(loads.keepAlive.bodies['version=pu-2']).toBeGreaterThan(0)
  await expectPair(NEW_IMAGE)
  // Set in the old proxy's namespace on the way: queued connections move instead of being reset.
  expect((await mustHostDocker(['exec', PROXY, 'cat', '/proc/sys/net/ipv4/tcp_migrate_req'])).stdout.trim()).toBe('1')
  expect((await viaProxy(PORT, '/', HOST)).body).toContain('version=pu-2')
}, 240_000)

test('another `proxy-image` change on an upgraded proxy, under the same load → not one request fails; the old nginx finishes its 8 s requests, then its container goes', async () => {
  const holder = await inspect(HOLDER, '{{.Id}}')
  const { result, loads, replies } = await upgradeUnderLoad(inputs(images[0].ref, OLD_IMAGE))
  expectOk(result)
  expect(result.stdout).toContain(`proxy: ${PROXY} now runs ${OLD_IMAGE} instead of ${NEW_IMAGE}`)
  expectNoneFailed(loads)
  expectSlowDone(replies)
  await expectPair(OLD_IMAGE)
  expect(await inspect(HOLDER, '{{.Id}}')).toBe(holder)
  // A deploy with the same proxy-image leaves the proxy alone.
  const again = await runAction(inputs(images[1].ref, OLD_IMAGE))
  expectOk(again)
  expect(again.stdout).not.toContain('now runs')
  expect(again.stdout).not.toContain('proxy-image is')
}, 240_000)

test('the host\'s Docker engine restarts after an upgrade → the port answers as soon as the engine is back, and the next deploy finds the pair as the upgrade left it, or puts it back', async () => {
  const restart = await runCommand(SANDBOX_SCRIPT, ['restart-engine'], { timeoutMs: 180_000 })
  expect(restart.code).toBe(0)
  let answer = await viaProxy(PORT, '/', HOST).catch(() => undefined)
  for (let i = 0; i < 100 && answer?.status !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    answer = await viaProxy(PORT, '/', HOST).catch(() => undefined)
  }
  expect(answer?.body).toContain('version=pu-2')
  const run = await runAction(inputs(images[0].ref, OLD_IMAGE))
  expectOk(run)
  // The holder started again, and serves until its nginx is retired once more.
  expect(run.stdout).toContain(`proxy: ${PROXY} serves in the namespace of ${HOLDER} again`)
  await expectPair(OLD_IMAGE)
  expect((await viaProxy(PORT, '/', HOST)).body).toContain('version=pu-1')
}, 300_000)

test('the holder starts again without its partner (the partner lost the start race after a reboot) → the holder serves on its own, and the next deploy starts the partner in its namespace under load with not one request failed', async () => {
  await mustHostDocker(['stop', PROXY])
  await mustHostDocker(['restart', HOLDER])
  let answer = await viaProxy(PORT, '/', HOST).catch(() => undefined)
  for (let i = 0; i < 50 && answer?.status !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    answer = await viaProxy(PORT, '/', HOST).catch(() => undefined)
  }
  expect(answer?.body).toContain('version=pu-1')
  expect(await containerStatus(PROXY)).toBe('exited')
  const load = clients()
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  const run = await runAction(inputs(images[1].ref, OLD_IMAGE))
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  const loads = await load.stop()
  expectOk(run)
  expect(run.stdout).toContain(`proxy: ${PROXY} serves in the namespace of ${HOLDER} again`)
  expectNoneFailed(loads)
  await expectPair(OLD_IMAGE)
}, 240_000)

test('a `proxy-image` the host cannot get → the run fails naming it, before the candidate starts; the old proxy still serves, untouched', async () => {
  const before = await inspect(PROXY, '{{.Id}}')
  const containers = () => hostDocker(['ps', '-a', '--filter', `label=bluegreen.service=${SERVICE}`, '--format', '{{.Names}} {{.State}}'])
  const serviceBefore = (await containers()).stdout
  const run = await runAction(inputs(images[0].ref, 'localhost:1/none:1'))
  expect(run.code).not.toBe(0)
  expect(run.stderr + run.stdout).toMatch(/Could not start the proxy e2e-proxy-upgrade-proxy: FAILED could not start a proxy of localhost:1\/none:1/)
  expect(await inspect(PROXY, '{{.Id}}')).toBe(before)
  await expectPair(OLD_IMAGE)
  expect((await viaProxy(PORT, '/', HOST)).body).toContain('version=pu-2')
  expect((await containers()).stdout).toBe(serviceBefore)
}, 120_000)

describe('with HTTPS', () => {
  let tls: Record<string, string>
  const https = (path = '/') => httpGet(`https://127.0.0.1:${HTTPS_PORT}${path}`, { host: HOST, ca: ca.root.pem, timeoutMs: 10_000 })

  beforeAll(async () => {
    const leaf = await ca.leaf([HOST])
    tls = {
      tls: 'custom', 'https-port': String(HTTPS_PORT), 'tls-certificate': leaf.pem + ca.intermediate.pem, 'tls-private-key': leaf.keyPem, 'acme-ca-bundle': ca.root.pem
    }
  })

  test('TLS turned on behind an upgraded proxy, whose holder publishes no HTTPS port → the pair is recreated as one proxy publishing both ports (the one proxy change with a gap), which serves HTTPS', async () => {
    const run = await runAction(inputs(images[0].ref, OLD_IMAGE, tls))
    expectOk(run)
    expect(run.stdout).toMatch(/The proxy was recreated with HTTPS/)
    expect(await containerStatus(HOLDER)).toBe('missing')
    expect(await inspect(PROXY, '{{.State.Status}} {{.Config.Image}} {{json .HostConfig.PortBindings}}')).toBe(
      `running ${OLD_IMAGE} {"443/tcp":[{"HostIp":"","HostPort":"${HTTPS_PORT}"}],"80/tcp":[{"HostIp":"","HostPort":"${PORT}"}]}`
    )
    expect((await https()).body).toContain('version=pu-1')
  }, 240_000)

  test('a new `proxy-image` on a proxy serving HTTPS, under keep-alive and closing HTTPS clients → not one request or handshake fails; the new nginx serves both ports', async () => {
    const load = startClientLoads({
      url: `https://127.0.0.1:${HTTPS_PORT}/`, host: HOST, ca: ca.root.pem, concurrency: 4, intervalMs: 5, maxRequests: 40_000, maxMs: 120_000
    })
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const run = await runAction(inputs(images[1].ref, NEW_IMAGE, tls))
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const loads = await load.stop()
    expectOk(run)
    expect(run.stdout).toContain(`proxy: ${PROXY} now runs ${NEW_IMAGE} instead of ${OLD_IMAGE}`)
    for (const [kind, stats] of Object.entries(loads)) {
      expect({ kind, errors: stats.errors, failed: stats.failed, tlsErrors: stats.tlsErrors }).toEqual({ kind, errors: [], failed: 0, tlsErrors: 0 })
      expect(stats.sent).toBeGreaterThan(200)
    }
    expect(await inspect(PROXY, '{{.Config.Image}}')).toBe(NEW_IMAGE)
    expect(await inspect(HOLDER, '{{json .HostConfig.PortBindings}}')).toContain(`"HostPort":"${HTTPS_PORT}"`)
    expect((await https()).body).toContain('version=pu-2')
  }, 240_000)
})

// Issue #18 item 6, a proxy upgrade with no gap: a new `proxy-image` is applied by the next
// deploy, by a handover between two nginx containers in the namespace of the proxy's holder,
// while keep-alive clients (reused connections) and closing clients (a connection per request)
// run through the proxy, and requests of 8 s are in flight. Also the ways into and out of the
// holder layout: a proxy of the layout before it, a holder removed or restarted by hand. Test
// names read "situation → outcome". Services pu-*, network e2e-pu, ports 18190-18199.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, sandboxInputs, startAction, type ActionResult } from '../../sandbox/action.js'
import { build, buildApp, type BuiltImage } from '../../sandbox/fixtures.js'
import { slowRequests, startClientLoads, type ClientLoads, type SlowResult } from '../../sandbox/load.js'
import { hostDocker, mustHostDocker, readSandboxInfo, type SandboxInfo } from '../../sandbox/sandbox.js'
import { clearHost, STATE_ROOT, viaProxy } from './host.js'
import { expectOk, logShows } from './runs.js'

const SERVICE = 'pu-web'
const NETWORK = 'e2e-pu'
const PORT = 18190
const PROXY = `${NETWORK}-proxy`
const HOLDER = `${NETWORK}-proxy-ports`
const HOST = 'pu.test'
/** The sandbox host engine's own nginx, and one built FROM it with a harmless difference. */
const PROXY_IMAGES = ['nginx:alpine', 'e2e-pu/nginx:2']
const UPGRADES = 4
const CONCURRENCY = 4

let info: SandboxInfo
const images: BuiltImage[] = []

const inputs = (image: string, proxyImage: string, extra: Record<string, string> = {}) =>
  sandboxInputs(info, { image, service: SERVICE, network: NETWORK, 'proxy-port': String(PORT), 'server-name': HOST, 'proxy-image': proxyImage, ...extra })

/** Both kinds of client through the proxy, bounded in count and time. */
const clients = () =>
  startClientLoads({ url: `http://127.0.0.1:${PORT}/`, host: HOST, concurrency: CONCURRENCY, intervalMs: 5, maxRequests: 20_000, maxMs: 90_000 })

async function inspect(name: string, format: string): Promise<string> {
  const out = await hostDocker(['container', 'inspect', '-f', format, name])
  return out.code === 0 ? out.stdout.trim() : 'missing'
}

/** The proxy's nginx runs `image` in the holder's namespace, and the holder publishes the port. */
async function expectHolderLayout(image: string): Promise<void> {
  const holderId = await inspect(HOLDER, '{{.Id}}')
  expect(await inspect(PROXY, '{{.State.Status}} {{.Config.Image}} {{.HostConfig.NetworkMode}}')).toBe(`running ${image} container:${holderId}`)
  expect(await inspect(HOLDER, '{{.State.Status}} {{(index (index .HostConfig.PortBindings "80/tcp") 0).HostPort}}')).toBe(`running ${PORT}`)
  expect(await inspect(`${PROXY}-next`, '{{.State.Status}}')).toBe('missing')
  expect(await inspect(`${PROXY}-old`, '{{.State.Status}}')).toBe('missing')
}

function expectNoneFailed(loads: ClientLoads): void {
  for (const [kind, stats] of Object.entries(loads)) {
    expect({ kind, errors: stats.errors, failed: stats.failed }).toEqual({ kind, errors: [], failed: 0 })
  }
  expect(loads.keepAlive.reused).toBeGreaterThan(loads.keepAlive.sent * 0.5)
  expect(loads.closing.reused).toBe(0)
}

const serves = async (): Promise<string> => {
  const reply = await viaProxy(PORT, '/', HOST)
  return `${reply.status} ${reply.body.split('\n')[0]}`
}

beforeAll(async () => {
  info = readSandboxInfo()
  await clearHost([SERVICE], [NETWORK])
  // A second proxy image: the host's nginx:alpine with a label, so its image ID differs.
  const context = await mkdtemp(join(tmpdir(), 'e2e-pu-'))
  try {
    await writeFile(join(context, 'Dockerfile'), 'FROM nginx:alpine\nLABEL e2e.proxy-upgrade=2\n')
    await build('host', context, PROXY_IMAGES[1])
  } finally {
    await rm(context, { recursive: true, force: true })
  }
  for (const version of ['1', '2']) images.push(await buildApp({ tag: `e2e-pu/app:${version}`, version: `pu-${version}` }))
}, 600_000)

afterAll(() => clearHost([SERVICE], [NETWORK]))

test('a first deploy → the proxy is made in the holder layout: nginx in the namespace of a holder that publishes the port', async () => {
  expectOk(await runAction(inputs(images[0].ref, PROXY_IMAGES[0])))
  await expectHolderLayout(PROXY_IMAGES[0])
  expect(await serves()).toBe('200 version=pu-1')
})

test('a `proxy-image` upgrade under load, including an 8 s request in flight at the handover → 0 failed requests, keep-alive and closing clients alike', async () => {
  const figures: string[] = []
  for (let i = 1; i <= UPGRADES; i++) {
    const proxyImage = PROXY_IMAGES[i % 2]
    const load = clients()
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const run = startAction(inputs(images[i % 2].ref, proxyImage))
    // Sent before the handover starts, so on the old nginx, on kept-alive connections: the old
    // nginx must finish them after its closing window.
    await logShows(run, 'Read the live slot')
    const slowSent = Date.now()
    const slow: Promise<SlowResult[]> = slowRequests({ url: `http://127.0.0.1:${PORT}/`, host: HOST, count: 2, seconds: 8, keepAlive: true })
    const handedOver = logShows(run, 'by a handover, without a gap', 90_000).then(() => Date.now())
    const result: ActionResult = await run.done
    const handoverEnd = await handedOver
    const slowDone = await slow
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const loads = await load.stop()
    expectOk(result)
    const took = Number(/by a handover, without a gap: (\d+) ms/.exec(result.stdout)?.[1])
    const handoverStart = handoverEnd - took
    figures.push(
      `upgrade ${i} (-> ${proxyImage}): keep-alive ${loads.keepAlive.sent} sent (${loads.keepAlive.reused} reused), ${loads.keepAlive.failed} failed; ` +
        `closing ${loads.closing.sent} sent, ${loads.closing.failed} failed; 8 s requests ${slowDone.map((s) => s.status ?? s.error).join(', ')} ` +
        `(sent ${handoverStart - slowSent} ms before the handover began, which took ${took} ms)`
    )
    expect(result.stdout).toContain(`proxy upgraded (proxy-image ${PROXY_IMAGES[(i + 1) % 2]} -> ${proxyImage}) by a handover`)
    expect(result.summary).toContain('**Proxy:** upgraded by a handover')
    // The 8 s requests were in flight when the handover began, and all finished.
    expect(slowSent).toBeLessThan(handoverStart)
    expect(handoverStart).toBeLessThan(slowSent + 8_000)
    expect(slowDone.map((reply) => `${reply.status} ${reply.body.trim().replace(/version=.*/, 'version')}`)).toEqual(Array(2).fill('200 slow done version'))
    expectNoneFailed(loads)
    for (const stats of Object.values(loads)) expect(stats.sent).toBeGreaterThanOrEqual(500)
    await expectHolderLayout(proxyImage)
  }
  console.log(figures.join('\n'))
  expect(await serves()).toBe(`200 version=pu-${UPGRADES % 2 === 0 ? 1 : 2}`)
}, 600_000)

test('the same `proxy-image` again → the proxy is left as it is, no handover and no reload', async () => {
  const before = await inspect(PROXY, '{{.Id}}')
  const run = await runAction(inputs(images[0].ref, PROXY_IMAGES[UPGRADES % 2]))
  expectOk(run)
  expect(run.stdout).not.toContain('by a handover')
  expect(await inspect(PROXY, '{{.Id}}')).toBe(before)
})

test('the proxy holder removed by hand → the next deploy makes it again, with the nginx in it, and serves', async () => {
  await mustHostDocker(['rm', '-f', HOLDER])
  const run = await runAction(inputs(images[1].ref, PROXY_IMAGES[UPGRADES % 2]))
  expectOk(run)
  expect(run.stdout).toContain('proxy holder gone: made again, with the nginx in it')
  await expectHolderLayout(PROXY_IMAGES[UPGRADES % 2])
  expect(await serves()).toBe('200 version=pu-2')
})

test('the proxy holder restarted by hand (a new namespace, nginx left in the old one) → the next deploy restarts nginx in it, and serves', async () => {
  await mustHostDocker(['restart', '-t', '1', HOLDER])
  const run = await runAction(inputs(images[0].ref, PROXY_IMAGES[UPGRADES % 2]))
  expectOk(run)
  expect(run.stdout).toContain("proxy nginx restarted in its holder's namespace")
  await expectHolderLayout(PROXY_IMAGES[UPGRADES % 2])
  expect(await serves()).toBe('200 version=pu-1')
})

test('a proxy of the layout before the holder (nginx publishing the port) → kept as it is until a `proxy-image` change, which moves it once to the holder layout with a gap said in the log and the summary', async () => {
  // The proxy as earlier versions of the action made it, on the same config folder.
  await mustHostDocker(['rm', '-f', PROXY, HOLDER])
  await hostDocker(['rm', '-f', `${PROXY}-next`, `${PROXY}-old`, `${HOLDER}-next`, `${HOLDER}-old`])
  await mustHostDocker(['run', '-d', '--name', PROXY, '--network', NETWORK, '-p', `${PORT}:80`, '--restart', 'unless-stopped',
    '--label', 'bluegreen.role=proxy', '-v', `${STATE_ROOT}/_proxy/${NETWORK}/conf.d:/etc/nginx/conf.d:ro`, PROXY_IMAGES[0]])
  for (let i = 0; i < 50 && (await serves().catch(() => '')) === ''; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  const oldId = await inspect(PROXY, '{{.Id}}')
  const kept = await runAction(inputs(images[1].ref, PROXY_IMAGES[0]))
  expectOk(kept)
  expect(await inspect(PROXY, '{{.Id}} {{.HostConfig.NetworkMode}}')).toBe(`${oldId} ${NETWORK}`)
  expect(await inspect(HOLDER, '{{.State.Status}}')).toBe('missing')

  const moved = await runAction(inputs(images[0].ref, PROXY_IMAGES[1]))
  expectOk(moved)
  const gap = Number(/proxy moved to the holder layout .*new connections waited (\d+) ms/.exec(moved.stdout)?.[1])
  console.log(`the move to the holder layout: new connections waited ${gap} ms`)
  expect(gap).toBeGreaterThan(0)
  expect(gap).toBeLessThan(10_000)
  expect(moved.stdout).toContain('::warning::The proxy moved once to the holder layout (issue #18)')
  expect(moved.summary).toContain('**Proxy:** moved once to the holder layout')
  await expectHolderLayout(PROXY_IMAGES[1])
  expect(await serves()).toBe('200 version=pu-1')
})

// The deploy path end to end: the bundled action, run as the runner runs it, against a real sshd
// and a second Docker engine reached only through it.
import { runAction, sandboxInputs } from '../../sandbox/action.js'
import { buildApp, removeImage, type BuiltImage } from '../../sandbox/fixtures.js'
import { startLoad } from '../../sandbox/load.js'
import { readSandboxInfo, type SandboxInfo } from '../../sandbox/sandbox.js'
import {
  acceptedLogins, clearHost, containerStatus, hostHasImage, serviceContainers, stateFile, viaProxy
} from './host.js'

const SERVICE = 'e2e-web'
const NETWORK = 'e2e-deploy'
const PORT = 18110

let info: SandboxInfo
let v1: BuiltImage
let v2: BuiltImage
let broken: BuiltImage

const inputs = (image: string, extra: Record<string, string> = {}) =>
  sandboxInputs(info, { image, service: SERVICE, network: NETWORK, 'proxy-port': String(PORT), ...extra })

beforeAll(async () => {
  info = readSandboxInfo()
  await clearHost([SERVICE], [NETWORK])
  v1 = await buildApp({ tag: 'e2e-deploy/web:1', version: 'deploy-1' })
  v2 = await buildApp({ tag: 'e2e-deploy/web:2', version: 'deploy-2' })
  broken = await buildApp({ tag: 'e2e-deploy/web:3-broken', version: 'deploy-3', variant: 'crash' })
  for (const image of [v1, v2, broken]) await removeImage(image.id, 'host')
})

afterAll(() => clearHost([SERVICE], [NETWORK]))

test('first deploy on an empty host: blue goes live behind the proxy', async () => {
  const run = await runAction(inputs(v1.ref))
  expect(run.stderr).toBe('')
  expect(run.code).toBe(0)
  expect(run.outputs).toMatchObject({
    slot: 'blue', 'previous-slot': '', image: v1.ref, 'image-id': v1.id, 'previous-image': '',
    'previous-image-id': '', container: `${SERVICE}-blue`, 'skipped-layers': expect.any(String)
  })
  expect(Number(run.outputs['transferred-bytes'])).toBeGreaterThan(0)

  const reply = await viaProxy(PORT)
  expect(reply.status).toBe(200)
  expect(reply.body).toBe('version=deploy-1\n')
  expect(reply.headers['x-bluegreen-slot']).toBe('blue')

  const containers = await serviceContainers(SERVICE)
  expect(containers).toEqual([
    expect.objectContaining({
      name: `${SERVICE}-blue`, state: 'running', image: v1.id, restart: 'unless-stopped',
      labels: expect.objectContaining({ 'bluegreen.service': SERVICE, 'bluegreen.slot': 'blue', 'bluegreen.image': v1.ref })
    })
  ])
  expect(await containerStatus(`${NETWORK}-proxy`)).toBe('running')
  expect(await stateFile(SERVICE)).toMatchObject({ live: { slot: 'blue', image: v1.ref, imageId: v1.id } })
  expect(run.summary).toContain(`## ${SERVICE} is live on blue`)
})

test('a second version goes live while requests flow through the proxy, none of them failing', async () => {
  const load = startLoad({ url: `http://127.0.0.1:${PORT}/`, concurrency: 4, intervalMs: 5, maxRequests: 50_000, maxMs: 90_000 })
  const run = await runAction(inputs(v2.ref))
  const stats = await load.stop()
  expect(run.code).toBe(0)
  expect(stats.errors).toEqual([])
  expect(stats.failed).toBe(0)
  expect(stats.bodies['version=deploy-1']).toBeGreaterThan(0)
  expect(stats.bodies['version=deploy-2']).toBeGreaterThan(0)

  expect(run.outputs).toMatchObject({
    slot: 'green', 'previous-slot': 'blue', image: v2.ref, 'image-id': v2.id,
    'previous-image': v1.ref, 'previous-image-id': v1.id, container: `${SERVICE}-green`
  })
  expect((await viaProxy(PORT)).body).toBe('version=deploy-2\n')
  expect((await serviceContainers(SERVICE)).map((c) => c.name)).toEqual([`${SERVICE}-green`])
  // The previous release's image stays, so a rollback needs no transfer.
  expect(await hostHasImage(v1.id)).toBe(true)
  expect(await stateFile(SERVICE)).toMatchObject({
    live: { slot: 'green', imageId: v2.id }, previous: { slot: 'blue', imageId: v1.id }
  })
})

test('an image that exits on boot fails the step fast and the old version keeps serving', async () => {
  const run = await runAction(inputs(broken.ref))
  expect(run.code).toBe(1)
  expect(run.stdout).toMatch(/::error::Health check of e2e-web-blue failed: the container stopped \(status \w+, exit code 3/)
  expect(run.stdout).toContain('boot failed: missing config')
  expect(run.stdout).toContain(`e2e-web-green (${v2.ref}) still serves on port ${PORT}; the candidate e2e-web-blue was removed`)
  expect(run.durationMs).toBeLessThan(30_000) // far below health-timeout's 60 s
  expect((await viaProxy(PORT)).body).toBe('version=deploy-2\n')
  expect((await serviceContainers(SERVICE)).map((c) => c.name)).toEqual([`${SERVICE}-green`])
  expect((await stateFile(SERVICE))?.live?.imageId).toBe(v2.id)
  expect(run.summary).toContain('## Deploy failed')
})

test('a wrong fingerprint is refused before any command runs', async () => {
  const logins = acceptedLogins()
  const wrong = `SHA256:${'A'.repeat(43)}`
  const run = await runAction(inputs(v1.ref, { fingerprint: wrong }))
  expect(run.code).toBe(1)
  expect(run.stdout).toContain(`::error::Host key verification failed: expected fingerprint ${wrong}, the server presented ${info.fingerprints.ed25519} (ssh-ed25519)`)
  expect(run.stdout).toContain('No command was run')
  expect(acceptedLogins()).toBe(logins)
  expect((await viaProxy(PORT)).body).toBe('version=deploy-2\n')
})

test('rolling back to the previous tag after it left the runner: the host copy, nothing transferred', async () => {
  await removeImage(v1.ref, 'runner')
  const run = await runAction(inputs(v1.ref, { fingerprint: '', 'known-hosts': info.knownHosts }))
  expect(run.code).toBe(0)
  expect(run.stdout).toContain(`The runner's Docker engine has no ${v1.ref}; deploying the host's copy`)
  expect(run.outputs).toMatchObject({
    slot: 'blue', image: v1.ref, 'image-id': v1.id, 'transferred-bytes': '0', 'previous-image': v2.ref
  })
  expect((await viaProxy(PORT)).body).toBe('version=deploy-1\n')
})

// The deploy path end to end: the bundled action, run as the runner runs it, against a real sshd
// and a second Docker engine reached only through it.
import { runAction, sandboxInputs } from '../../sandbox/action.js'
import { buildApp, removeImage, type BuiltImage } from '../../sandbox/fixtures.js'
import { startClientLoads } from '../../sandbox/load.js'
import { readSandboxInfo, runCommand, type SandboxInfo } from '../../sandbox/sandbox.js'
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
  expect(run.summary).toContain(`## ${SERVICE.replace(/-/g, '\\-')} is live on blue`) // the summary escapes all punctuation
})

test('a second version goes live while keep-alive and closing clients send requests through the proxy, none of them failing', async () => {
  const load = startClientLoads({ url: `http://127.0.0.1:${PORT}/`, concurrency: 4, intervalMs: 5, maxRequests: 50_000, maxMs: 90_000 })
  const run = await runAction(inputs(v2.ref))
  const loads = await load.stop()
  expect(run.code).toBe(0)
  for (const [kind, stats] of Object.entries(loads)) {
    expect({ kind, errors: stats.errors, failed: stats.failed }).toEqual({ kind, errors: [], failed: 0 })
    expect(stats.bodies['version=deploy-1']).toBeGreaterThan(0)
    expect(stats.bodies['version=deploy-2']).toBeGreaterThan(0)
  }

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

test('rollback: true goes back to the recorded previous release with nothing sent, and a second one goes forward again', async () => {
  // Live now: deploy-1 (blue), recorded previous: deploy-2 (green).
  const back = await runAction(inputs('', { image: '', rollback: 'true' }))
  expect(back.code).toBe(0)
  expect(back.outputs).toMatchObject({
    slot: 'green', image: v2.ref, 'image-id': v2.id, 'transferred-bytes': '0', 'previous-image': v1.ref, 'previous-slot': 'blue'
  })
  expect(back.summary).toContain(`## ${SERVICE.replace(/-/g, '\\-')} rolled back to \`${v2.ref}\` on green`)
  expect((await viaProxy(PORT)).body).toBe('version=deploy-2\n')

  const forward = await runAction(inputs('', { image: '', rollback: 'true' }))
  expect(forward.code).toBe(0)
  expect(forward.outputs).toMatchObject({ image: v1.ref, 'previous-image': v2.ref, 'transferred-bytes': '0' })
  expect((await viaProxy(PORT)).body).toBe('version=deploy-1\n')
})

test('without fingerprint or known-hosts it deploys, but warns and prints the line that pins the key', async () => {
  const run = await runAction(inputs(v2.ref, { fingerprint: '' }))
  expect(run.code).toBe(0)
  expect(run.stdout).toContain('::warning::The host key was NOT verified')
  expect(run.stdout).toContain(`fingerprint: ${info.fingerprints.ed25519}`)
})

test('root deploys on a host the deploy user set up, and the deploy user carries on after it', async () => {
  const asRoot = await runAction(inputs(v1.ref, { username: 'root' }))
  expect(asRoot.code).toBe(0)
  expect(asRoot.stdout).toContain(`as root`)
  expect((await viaProxy(PORT)).body).toBe('version=deploy-1\n')

  const asDeployUser = await runAction(inputs(v2.ref))
  expect(asDeployUser.code).toBe(0)
  expect(asDeployUser.stdout).toContain(`as ${info.users.deploy}`)
  expect((await viaProxy(PORT)).body).toBe('version=deploy-2\n')
  expect(await stateFile(SERVICE)).toMatchObject({ live: { image: v2.ref }, previous: { image: v1.ref } })
})

describe('the app container', () => {
  const SECRET = `s3cr3t-${process.pid}-value`
  const ENV_SERVICE = 'e2e-env'

  afterAll(() => clearHost([ENV_SERVICE, 'e2e-hc'], []))

  test('gets env, whose values appear in no log, on no command line on the host, and in no file left behind', async () => {
    await clearHost([ENV_SERVICE], [])
    const seen = new Set<string>()
    let watching = true
    // Every process's command line on the host, sampled as fast as ps allows during the deploy.
    const watcher = (async () => {
      for (let i = 0; i < 2000 && watching; i++) {
        const ps = await runCommand('ps', ['-eo', 'args'])
        for (const line of ps.stdout.split('\n')) if (line.includes(SECRET)) seen.add(line)
      }
    })()
    const before = (await runCommand('find', ['/tmp', '-maxdepth', '1', '-newer', '/proc/1/cmdline'])).stdout
    const run = await runAction({
      ...inputs(v1.ref, { service: ENV_SERVICE, 'server-name': 'env.test' }),
      env: `GREETING=hello world\nAPI_TOKEN=${SECRET}\n# a comment\n`
    })
    watching = false
    await watcher
    expect(run.code).toBe(0)
    expect((await viaProxy(PORT, '/cgi-bin/env?API_TOKEN', 'env.test')).body).toBe(`${SECRET}\n`)
    expect((await viaProxy(PORT, '/cgi-bin/env?GREETING', 'env.test')).body).toBe('hello world\n')
    expect(run.stdout + run.stderr + run.summary).not.toContain(SECRET)
    expect([...seen]).toEqual([])
    const after = (await runCommand('find', ['/tmp', '-maxdepth', '1', '-newer', '/proc/1/cmdline'])).stdout
    const leftovers = after.split('\n').filter((file) => file && !before.includes(file))
    for (const file of leftovers) expect((await runCommand('grep', ['-rl', SECRET, file])).stdout).toBe('')
  })

  test("with a Docker HEALTHCHECK, the switch waits for Docker's healthy as well as an HTTP answer", async () => {
    const checked = await buildApp({ tag: 'e2e-deploy/web:hc', version: 'deploy-hc', healthcheck: true })
    const run = await runAction(inputs(checked.ref, { service: 'e2e-hc', 'server-name': 'hc.test', 'health-path': '/health' }))
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/attempt \d+: HTTP 200, HEALTHCHECK starting/)
    expect(run.stdout).toMatch(/attempt \d+: HTTP 200, HEALTHCHECK healthy/)
    expect((await viaProxy(PORT, '/', 'hc.test')).body).toBe('version=deploy-hc\n')
  })
})

// Smoke test of the sandbox itself: if this fails, every other e2e result is noise.
import { buildApp, removeImage } from '../../sandbox/fixtures.js'
import { httpGet, slowRequests, startLoad, type Reply } from '../../sandbox/load.js'
import {
  ensureSandbox,
  hostDocker,
  hostSsh,
  mustHostDocker,
  mustRunnerDocker,
  runCommand,
  runnerDocker,
  type SandboxInfo
} from '../../sandbox/sandbox.js'

const run = `smoke-${process.pid}`
const hostContainers: string[] = []
const runnerContainers: string[] = []
const hostImages: string[] = []
const runnerImages: string[] = []
let network: string | undefined
let info: SandboxInfo
// jest 29 reads testTimeout only at the top level, not per project, so each test sets its own.
const TIMEOUT_MS = 60_000

beforeAll(async () => {
  info = await ensureSandbox()
}, TIMEOUT_MS)

afterAll(async () => {
  if (hostContainers.length) await hostDocker(['rm', '-f', ...hostContainers])
  if (runnerContainers.length) await runnerDocker(['rm', '-f', ...runnerContainers])
  if (network) await hostDocker(['network', 'rm', network])
  for (const ref of hostImages) await removeImage(ref, 'host')
  for (const ref of runnerImages) await removeImage(ref, 'runner')
}, TIMEOUT_MS)

/** Polls `fn` (bounded) until it returns a value, or throws the last error. */
async function eventually<T>(fn: () => Promise<T>, tries = 50, delayMs = 100): Promise<T> {
  let last: unknown
  for (let i = 0; i < tries; i++) {
    try {
      return await fn()
    } catch (e) {
      last = e
      await new Promise((r) => setTimeout(r, delayMs))
    }
  }
  throw last
}

async function publishedPort(engine: 'host' | 'runner', container: string, port: string): Promise<number> {
  const docker = engine === 'host' ? mustHostDocker : mustRunnerDocker
  const out = (await docker(['port', container, port])).stdout.trim().split('\n')[0] ?? ''
  return Number(out.slice(out.lastIndexOf(':') + 1))
}

test('ssh as root reaches the host engine, not the runner engine', async () => {
  const viaSsh = await hostSsh('echo "$DOCKER_HOST"; docker info --format "{{.DockerRootDir}} {{.ID}}"')
  expect(viaSsh.stderr).toBe('')
  expect(viaSsh.code).toBe(0)
  const [dockerHost, hostInfo = ''] = viaSsh.stdout.trim().split('\n')
  expect(dockerHost).toBe(info.hostDockerHost)
  const [rootDir, hostId] = hostInfo.split(' ')
  expect(rootDir).toBe(info.hostDataRoot)
  const [runnerRoot, runnerId] = (await mustRunnerDocker(['info', '--format', '{{.DockerRootDir}} {{.ID}}'])).stdout.trim().split(' ')
  expect(runnerRoot).not.toBe(rootDir)
  expect(runnerId).not.toBe(hostId)
}, TIMEOUT_MS)

test('the RSA key logs in as root and the passphrase key opens with its passphrase', async () => {
  expect((await hostSsh('true', { keyPath: info.rsaKeyPath })).code).toBe(0)
  const pub = await runCommand('ssh-keygen', ['-y', '-P', info.passphrase, '-f', info.passKeyPath])
  expect(pub.code).toBe(0)
  expect((await runCommand('ssh-keygen', ['-y', '-P', 'wrong', '-f', info.passKeyPath])).code).not.toBe(0)
  const known = await runCommand('ssh-keygen', ['-lf', info.knownHostsPath])
  expect(known.stdout).toContain(info.fingerprints.ed25519)
  expect(known.stdout).toContain(info.fingerprints.rsa)
}, TIMEOUT_MS)

test('the host engine has the nginx:alpine proxy image', async () => {
  const format = '{{.Id}} {{.Config.StopSignal}} {{json .Config.ExposedPorts}}'
  const a = (await mustHostDocker(['image', 'inspect', '--format', format, info.proxyImage])).stdout.trim()
  const b = (await mustHostDocker(['image', 'inspect', '--format', format, 'bluegreen-sandbox/nginx:test'])).stdout.trim()
  expect(a).toBe(b)
  expect(a).toContain(' SIGQUIT {"80/tcp":{}}')
}, TIMEOUT_MS)

test('the proxy image reverse-proxies to an app by name via Docker DNS on a published port', async () => {
  const app = await buildApp({ tag: `bluegreen-sandbox/smoke:${run}`, version: 'smoke1', engine: 'host' })
  hostImages.push(app.ref)
  network = `bgs-${run}`
  await mustHostDocker(['network', 'create', network])
  const appName = `bgs-${run}-app`
  const proxyName = `bgs-${run}-proxy`
  hostContainers.push(appName, proxyName)
  await mustHostDocker(['run', '-d', '--name', appName, '--network', network, app.ref])
  await mustHostDocker(['run', '-d', '--name', proxyName, '--network', network, '-p', '127.0.0.1::80', info.proxyImage])

  // A variable in proxy_pass makes nginx resolve per request through the resolver, as the action's config does.
  const conf = `server {
    listen 80;
    resolver 127.0.0.11 valid=1s ipv6=off;
    location / {
        set $upstream http://${appName}:8080;
        proxy_pass $upstream;
        add_header x-bluegreen-slot blue always;
    }
}
`
  await mustHostDocker(['exec', '-i', proxyName, 'sh', '-c', 'cat > /etc/nginx/conf.d/default.conf'], { input: conf })
  const check = await mustHostDocker(['exec', proxyName, 'nginx', '-t'])
  expect(check.stderr).toContain('test is successful')
  await mustHostDocker(['exec', proxyName, 'nginx', '-s', 'reload'])

  const url = `http://127.0.0.1:${await publishedPort('host', proxyName, '80/tcp')}`
  const reply = await eventually(async (): Promise<Reply> => {
    const r = await httpGet(`${url}/`, { timeoutMs: 2000 })
    if (r.body !== 'version=smoke1\n') throw new Error(`not switched yet: ${r.status} ${r.body.slice(0, 80)}`)
    return r
  })
  expect(reply.headers['x-bluegreen-slot']).toBe('blue')

  const slow = await slowRequests({ url, count: 3, seconds: 2 })
  for (const r of slow) {
    expect(r).toMatchObject({ status: 200, body: 'slow done version=smoke1\n' })
    expect(r.durationMs).toBeGreaterThanOrEqual(1900)
    expect(r.durationMs).toBeLessThan(5000)
  }

  const stats = await startLoad({ url: `${url}/`, concurrency: 2, maxRequests: 40, maxMs: 10_000, requestTimeoutMs: 3000 }).done
  expect(stats.errors).toEqual([])
  expect(stats).toMatchObject({ sent: 40, ok: 40, failed: 0, bodies: { 'version=smoke1': 40 }, slots: { blue: 40 } })
}, TIMEOUT_MS)

test('the special users: no docker access, no docker CLI, no bash', async () => {
  const nodocker = await hostSsh('docker info', { user: info.users.nodocker })
  expect(nodocker.code).not.toBe(0)
  expect(nodocker.stderr.toLowerCase()).toContain('permission denied')

  const nocli = await hostSsh('command -v docker', { user: info.users.nodockercli })
  expect(nocli.code).not.toBe(0)
  expect((await hostSsh('bash -c "echo ok"', { user: info.users.nodockercli })).stdout).toBe('ok\n')

  const nobash = await hostSsh('command -v bash', { user: info.users.nobash })
  expect(nobash.code).not.toBe(0)
  const dockerOk = await hostSsh('docker version --format "{{.Server.Version}}"', { user: info.users.nobash })
  expect(dockerOk.code).toBe(0)
}, TIMEOUT_MS)

test('two app versions share every layer but the top one', async () => {
  const v1 = await buildApp({ tag: `bluegreen-sandbox/smoke:${run}-v1`, version: '1' })
  const v2 = await buildApp({ tag: `bluegreen-sandbox/smoke:${run}-v2`, version: '2' })
  runnerImages.push(v1.ref, v2.ref)
  const layers = async (ref: string): Promise<string[]> =>
    JSON.parse((await mustRunnerDocker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref])).stdout) as string[]
  const [l1, l2] = [await layers(v1.ref), await layers(v2.ref)]
  expect(l1.length).toBe(l2.length)
  expect(l1.slice(0, -1)).toEqual(l2.slice(0, -1))
  expect(l1.at(-1)).not.toBe(l2.at(-1))
  expect(v1.id).not.toBe(v2.id)
}, TIMEOUT_MS)

test('app variants: crash exits 3, unhealthy answers 500 on /health, env reaches CGI', async () => {
  const crash = await buildApp({ tag: `bluegreen-sandbox/smoke:${run}-crash`, version: 'c', variant: 'crash' })
  const sick = await buildApp({ tag: `bluegreen-sandbox/smoke:${run}-sick`, version: 's', variant: 'unhealthy' })
  runnerImages.push(crash.ref, sick.ref)
  const crashed = await runnerDocker(['run', '--rm', crash.ref])
  expect(crashed.code).toBe(3)
  expect(crashed.stderr).toContain('boot failed: missing config')

  const name = `bgs-${run}-sick`
  runnerContainers.push(name)
  await mustRunnerDocker(['run', '-d', '--name', name, '-e', 'GREETING=hi there', '-p', '127.0.0.1::8080', sick.ref])
  const url = `http://127.0.0.1:${await publishedPort('runner', name, '8080/tcp')}`
  const root = await eventually(() => httpGet(`${url}/`, { timeoutMs: 2000 }))
  expect(root).toMatchObject({ status: 200, body: 'version=s\n' })
  expect((await httpGet(`${url}/health`)).status).toBe(500)
  expect((await httpGet(`${url}/cgi-bin/env?GREETING`)).body).toBe('hi there\n')
}, TIMEOUT_MS)

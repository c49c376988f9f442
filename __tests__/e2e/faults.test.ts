// What happens when things go wrong. Each test name reads "situation → outcome"; the README's
// "What happens when…" table is generated from these names (npm run docs).
import { createServer, type Server } from 'node:net'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, sandboxInputs, startAction, type ActionResult, type StartedAction } from '../../sandbox/action.js'
import { buildApp, buildPlatformImage, removeImage, type BuiltImage } from '../../sandbox/fixtures.js'
import { httpGet, slowRequests, startClientLoads, type ClientLoads } from '../../sandbox/load.js'
import { hostSsh, readSandboxInfo, runCommand, SANDBOX_SCRIPT, type SandboxInfo } from '../../sandbox/sandbox.js'
import { clearHost, containerStatus, hostHasImage, serviceContainers, stateFile, STATE_ROOT, viaProxy } from './host.js'
import { testCa } from '../support/test-ca.js'
import { expectOk, logShows, signalWhen } from './runs.js'

const NETWORK = 'e2e-faults'
const PORT = 18120
const SERVICES = ['f-drain', 'f-kill', 'f-same', 'f-site-a', 'f-site-b', 'f-proxy', 'f-engine', 'f-disk', 'f-recover', 'f-lock', 'f-lost', 'f-gone']

let info: SandboxInfo
const images: Record<string, BuiltImage> = {}

const inputs = (service: string, image: string, extra: Record<string, string> = {}) =>
  sandboxInputs(info, { image, service, network: NETWORK, 'proxy-port': String(PORT), ...extra })

/** True once the host engine is unpacking a docker load (its docker-import-* folder exists). */
async function loadUnderWay(timeoutMs = 20_000): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; ) {
    if (readdirSync(`${info.hostDataRoot}/tmp`).some((name) => name.startsWith('docker-import-'))) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return false
}

/** Keep-alive and closing clients of one server name, bounded in count and time. */
const clients = (serverName: string, maxMs = 60_000) =>
  startClientLoads({ url: `http://127.0.0.1:${PORT}/`, host: serverName, concurrency: 2, intervalMs: 10, maxRequests: 20_000, maxMs })

/** Not one request failed, for either kind of client, and each sent enough to count. */
function expectNoneFailed(loads: ClientLoads): void {
  for (const [kind, stats] of Object.entries(loads)) {
    expect({ kind, errors: stats.errors, failed: stats.failed }).toEqual({ kind, errors: [], failed: 0 })
    expect(stats.sent).toBeGreaterThan(50)
  }
}

const killWhen = (run: StartedAction, text: string, delayMs = 0): Promise<ActionResult> => signalWhen(run, text, 'SIGKILL', delayMs)

/** The version a service answers with through the proxy. */
async function serves(serverName?: string): Promise<string> {
  const reply = await viaProxy(PORT, '/', serverName)
  return `${reply.status} ${reply.body.trim()}`
}

beforeAll(async () => {
  info = readSandboxInfo()
  await clearHost(SERVICES, [NETWORK])
  for (const version of ['1', '2', '3']) images[version] = await buildApp({ tag: `e2e-faults/app:${version}`, version: `faults-${version}` })
  images.unhealthy = await buildApp({ tag: 'e2e-faults/app:unhealthy', version: 'faults-unhealthy', variant: 'unhealthy' })
  images.broken = await buildApp({ tag: 'e2e-faults/app:broken', version: 'faults-broken', variant: 'crash' })
  // Its own 97 MiB base layer, so sending it takes a few seconds and the host never has it.
  images.big = await buildApp({ tag: 'e2e-faults/app:big', version: 'faults-big', paddingMiB: 97 })
  images.arm64 = await buildPlatformImage('e2e-faults/app:arm64', 'linux/arm64')
})

afterAll(() => clearHost(SERVICES, [NETWORK]))

describe('what happens when', () => {
  test('requests of 8 s are in flight at the switch → each finishes on the old slot, none fails, nor any of keep-alive and closing clients', async () => {
    expectOk(await runAction(inputs('f-drain', images['1'].ref, { 'server-name': 'drain.test' })))
    const slow = slowRequests({ url: `http://127.0.0.1:${PORT}/`, host: 'drain.test', count: 4, seconds: 8 })
    const load = clients('drain.test')
    await new Promise((resolve) => setTimeout(resolve, 500))
    const run = await runAction(inputs('f-drain', images['2'].ref, { 'server-name': 'drain.test' }))
    const [long, short] = await Promise.all([slow, load.stop()])
    expectOk(run)
    expect(long.map((r) => `${r.status} ${r.body.trim()}`)).toEqual(Array(4).fill('200 slow done version=faults-1'))
    expectNoneFailed(short)
    expect(short.keepAlive.bodies['version=faults-2']).toBeGreaterThan(0)
    expect(short.closing.bodies['version=faults-2']).toBeGreaterThan(0)
    expect(run.stdout).toMatch(/Waiting for [1-4] connection\(s\) to f-drain-blue to finish/)
    expect(await serviceContainers('f-drain')).toEqual([expect.objectContaining({ name: 'f-drain-green', state: 'running' })])
  })

  test('the runner is killed mid-transfer → the old version serves, no half-loaded image, the next deploy starts at once', async () => {
    expectOk(await runAction(inputs('f-kill', images['1'].ref, { 'server-name': 'kill.test' })))
    await removeImage(images.big.id, 'host')
    const slowTransfer = { 'server-name': 'kill.test', compression: 'gzip', 'compression-level': '9' }
    const run = startAction(inputs('f-kill', images.big.ref, slowTransfer))
    // Kill once docker load on the host is unpacking what arrives: the stream is mid-flight.
    await logShows(run, 'layers are already on the host')
    expect(await loadUnderWay()).toBe(true)
    run.child.kill('SIGKILL')
    const killed = await run.done
    expect(killed.signal).toBe('SIGKILL')
    expect(await serves('kill.test')).toBe('200 version=faults-1')
    expect(await hostHasImage(images.big.id)).toBe(false)
    expect(await hostHasImage(images.big.ref)).toBe(false)

    const next = await runAction(inputs('f-kill', images['2'].ref, { 'server-name': 'kill.test' }))
    expectOk(next)
    expect(next.stdout).not.toContain('holds the lock')
    expect(await serves('kill.test')).toBe('200 version=faults-2')
  })

  test('the runner is killed during the health check → the next deploy removes the stray candidate and goes live', async () => {
    // f-kill: faults-2 is live on green; the unhealthy candidate starts in blue.
    const unhealthy = inputs('f-kill', images.unhealthy.ref, { 'server-name': 'kill.test', 'health-path': '/health' })
    const killed = await killWhen(startAction(unhealthy), 'attempt 1:', 500)
    expect(killed.signal).toBe('SIGKILL')
    expect(await containerStatus('f-kill-blue')).toBe('running') // the stray the dead run left
    expect(await serves('kill.test')).toBe('200 version=faults-2')

    const next = await runAction(inputs('f-kill', images['3'].ref, { 'server-name': 'kill.test' }))
    expectOk(next)
    expect(next.stdout).toContain('Removing f-kill-blue left in the idle slot by an earlier run')
    expect(await serves('kill.test')).toBe('200 version=faults-3')
    expect((await serviceContainers('f-kill')).map((c) => c.name)).toEqual(['f-kill-blue'])
  })

  test('the runner is killed while the old slot drains → the new version serves, the next deploy retires the leftover', async () => {
    // f-kill: faults-3 is live on blue.
    const slow = slowRequests({ url: `http://127.0.0.1:${PORT}/`, host: 'kill.test', count: 2, seconds: 6 })
    await new Promise((resolve) => setTimeout(resolve, 500))
    const killed = await killWhen(startAction(inputs('f-kill', images['1'].ref, { 'server-name': 'kill.test' })), 'Waiting for')
    expect(killed.signal).toBe('SIGKILL')
    expect(await serves('kill.test')).toBe('200 version=faults-1')
    expect((await slow).map((r) => r.status)).toEqual([200, 200]) // they ran on the old slot, still up
    expect((await serviceContainers('f-kill')).map((c) => c.name)).toEqual(['f-kill-blue', 'f-kill-green'])

    const next = await runAction(inputs('f-kill', images['2'].ref, { 'server-name': 'kill.test' }))
    expectOk(next)
    expect(next.stdout).not.toContain('holds the lock')
    expect(await serves('kill.test')).toBe('200 version=faults-2')
    expect((await serviceContainers('f-kill')).map((c) => c.name)).toEqual(['f-kill-blue'])
  })

  test('a run died after its switch, before recording it → the next deploy takes the live slot from the proxy config', async () => {
    expectOk(await runAction(inputs('f-recover', images['1'].ref, { 'server-name': 'recover.test' })))
    const before = await hostSsh(`cat ${STATE_ROOT}/f-recover/state.json`)
    expectOk(await runAction(inputs('f-recover', images['2'].ref, { 'server-name': 'recover.test' })))
    // As if that second run had died between the switch and writing state.json.
    await hostSsh(`cat > ${STATE_ROOT}/f-recover/state.json`, { input: before.stdout })

    const next = await runAction(inputs('f-recover', images['3'].ref, { 'server-name': 'recover.test' }))
    expectOk(next)
    expect(next.stdout).toContain('The host state disagreed with the proxy config')
    expect(next.outputs).toMatchObject({ slot: 'blue', 'previous-slot': 'green', 'previous-image': images['2'].ref })
    expect(await stateFile('f-recover')).toMatchObject({
      live: { slot: 'blue', imageId: images['3'].id }, previous: { slot: 'green', imageId: images['2'].id }
    })
    expect(await serves('recover.test')).toBe('200 version=faults-3')
    expect((await serviceContainers('f-recover')).map((c) => c.name)).toEqual(['f-recover-blue'])
  })

  test('two deploys of one service start together → both succeed in turn, with no failed request of keep-alive or closing clients; one container runs, the one the proxy points at', async () => {
    // Each health check takes a second, so that both runs are under way at once for sure. The
    // first deploy has the same health path: it is in the service's config (maintenance lets it
    // through), and a change of it would reload nginx, which is not what this test is about.
    const slow = { 'server-name': 'same.test', 'health-path': '/cgi-bin/slow?1' }
    expectOk(await runAction(inputs('f-same', images['1'].ref, slow)))
    const load = clients('same.test')
    const [a, b] = await Promise.all([
      runAction(inputs('f-same', images['2'].ref, slow)),
      runAction(inputs('f-same', images['3'].ref, slow))
    ])
    const loads = await load.stop()
    expectOk(a)
    expectOk(b)
    expectNoneFailed(loads)
    expect([a.stdout, b.stdout].filter((log) => log.includes('holds the lock')).length).toBe(1)
    const containers = await serviceContainers('f-same')
    expect(containers).toHaveLength(1)
    const reply = await viaProxy(PORT, '/', 'same.test')
    expect(reply.headers['x-bluegreen-slot']).toBe(containers[0].labels['bluegreen.slot'])
    expect(reply.body.trim()).toBe(`version=${containers[0].labels['bluegreen.image'] === images['2'].ref ? 'faults-2' : 'faults-3'}`)
  })

  test('another deploy holds the lock longer than `lock-timeout` → refused, naming the holder', async () => {
    const holder = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/shop', GITHUB_RUN_ID: '4242', GITHUB_WORKFLOW: 'deploy', GITHUB_ACTOR: 'alice' }
    const slow = { 'server-name': 'lock.test', 'health-path': '/health', 'health-timeout': '40' }
    const first = startAction(inputs('f-lock', images.unhealthy.ref, slow), { env: holder })
    await logShows(first, 'attempt 1:')
    const second = await runAction(inputs('f-lock', images['1'].ref, { 'server-name': 'lock.test', 'lock-timeout': '2' }))
    expect(second.code).toBe(1)
    expect(second.stdout).toContain('::error::Timed out after 2 s (lock-timeout) waiting for the deploy lock of f-lock, held by: https://github.com/acme/shop/actions/runs/4242 (deploy, alice) since')
    first.child.kill('SIGKILL')
    await first.done
    const third = await runAction(inputs('f-lock', images['1'].ref, { 'server-name': 'lock.test', 'lock-timeout': '2' }))
    expectOk(third)
  })

  test('the lock session of the run ends on the host during the health check → no switch; the live slot keeps serving', async () => {
    expectOk(await runAction(inputs('f-lost', images['1'].ref, { 'server-name': 'lost.test' })))
    // The candidate's first health answer takes 3 s: time to end the lock session on the host.
    const run = startAction(inputs('f-lost', images['2'].ref, { 'server-name': 'lost.test', 'health-path': '/cgi-bin/slow?3' }))
    await logShows(run, '::group::Health-check')
    const ended = await hostSsh("pkill -f 'lock[.]holder.*/f-lost'")
    expect(ended.code).toBe(0)
    const lost = await run.done
    expect(lost.code).toBe(1)
    expect(lost.stdout).toContain("::error::Lost the deploy lock of f-lost (the host ended this run's lock session)")
    expect(lost.stdout).toContain('this run changes nothing more there. f-lost-green may be left for the next deploy to remove')
    expect(await serves('lost.test')).toBe('200 version=faults-1')

    const next = await runAction(inputs('f-lost', images['3'].ref, { 'server-name': 'lost.test' }))
    expectOk(next)
    expect(next.stdout).toContain('Removing f-lost-green left in the idle slot by an earlier run')
    expect(await serves('lost.test')).toBe('200 version=faults-3')
  })

  test('two services deploy in parallel behind one proxy → neither waits; each answers on its server-name', async () => {
    const [a, b] = await Promise.all([
      runAction(inputs('f-site-a', images['1'].ref, { 'server-name': 'a.test' })),
      runAction(inputs('f-site-b', images['2'].ref, { 'server-name': 'b.test www.b.test' }))
    ])
    expectOk(a)
    expectOk(b)
    expect(a.stdout + b.stdout).not.toContain('holds the lock')
    expect(await serves('a.test')).toBe('200 version=faults-1')
    expect(await serves('www.b.test')).toBe('200 version=faults-2')
    const confs = await hostSsh(`ls ${STATE_ROOT}/_proxy/${NETWORK}/conf.d`)
    expect(confs.stdout.split('\n')).toEqual(expect.arrayContaining(['f-site-a.conf', 'f-site-b.conf']))
  })

  test('the proxy container was removed → the next deploy recreates it with the live route, even when that deploy fails', async () => {
    expectOk(await runAction(inputs('f-proxy', images['1'].ref, { 'server-name': 'proxy.test' })))
    await runCommand('docker', ['-H', info.hostDockerHost, 'rm', '-f', `${NETWORK}-proxy`])
    expect((await viaProxy(PORT, '/', 'proxy.test').catch((error: Error) => ({ status: 0, body: error.message }))).status).toBe(0)

    const failed = await runAction(inputs('f-proxy', images.broken.ref, { 'server-name': 'proxy.test' }))
    expect(failed.code).toBe(1)
    expect(failed.stdout).toContain('proxy created')
    expect(await serves('proxy.test')).toBe('200 version=faults-1')
    expect(await containerStatus(`${NETWORK}-proxy`)).toBe('running')
  })

  test('the live container was removed by hand → the proxy answers 502 or 504 within seconds, and the next deploy goes live', async () => {
    const first = await runAction(inputs('f-gone', images['1'].ref, { 'server-name': 'gone.test' }))
    expectOk(first)
    await runCommand('docker', ['-H', info.hostDockerHost, 'rm', '-f', `f-gone-${first.outputs.slot}`])
    // nginx connects to the slot's pinned address, where nothing answers any more (the kernel
    // may still hold its MAC for a while): its connect timeout (5 s) ends the wait.
    const asked = Date.now()
    const reply = await httpGet(`http://127.0.0.1:${PORT}/`, { host: 'gone.test', timeoutMs: 20_000 }).catch((error: Error) => error)
    expect([502, 504]).toContain(reply instanceof Error ? reply.message : reply.status)
    expect(Date.now() - asked).toBeLessThan(7_000)

    expectOk(await runAction(inputs('f-gone', images['2'].ref, { 'server-name': 'gone.test' })))
    expect(await serves('gone.test')).toBe('200 version=faults-2')
  })

  test('the Docker engine restarted → the containers come back by their restart policy and the live slot serves', async () => {
    expectOk(await runAction(inputs('f-engine', images['1'].ref, { 'server-name': 'engine.test' })))
    const restart = await runCommand(SANDBOX_SCRIPT, ['restart-engine'], { timeoutMs: 180_000 })
    expect(restart.code).toBe(0)
    let answer = ''
    for (let i = 0; i < 60 && answer !== '200 version=faults-1'; i++) {
      answer = await serves('engine.test').catch((error: Error) => error.message)
      if (answer !== '200 version=faults-1') await new Promise((resolve) => setTimeout(resolve, 500))
    }
    expect(answer).toBe('200 version=faults-1')
    const next = await runAction(inputs('f-engine', images['2'].ref, { 'server-name': 'engine.test' }))
    expectOk(next)
    expect(await serves('engine.test')).toBe('200 version=faults-2')
  })

  test('the disk fills up during docker load → a clear error, the live version untouched', async () => {
    expectOk(await runAction(inputs('f-disk', images['1'].ref, { 'server-name': 'disk.test' })))
    await removeImage(images.big.id, 'host')
    // docker load unpacks the archive under the engine's data root tmp/ first: make that full.
    const tmp = `${info.hostDataRoot}/tmp`
    expect((await runCommand('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'bluegreen-full', tmp])).code).toBe(0)
    let run: ActionResult
    try {
      run = await runAction(inputs('f-disk', images.big.ref, { 'server-name': 'disk.test' }))
    } finally {
      await runCommand('umount', [tmp])
    }
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/::error::docker load on the host failed: .*no space left on device/)
    expect(run.stdout).toContain('f-disk-blue (e2e-faults/app:1) still serves')
    expect(await serves('disk.test')).toBe('200 version=faults-1')
    expect(await hostHasImage(images.big.id)).toBe(false)
  })
})

describe('what happens when: host keys, what the host says, secrets on the runner, a lost link', () => {
  // Its own services, network and proxy port, apart from the scenarios above.
  const D_NETWORK = 'd-faults'
  const D_PORT = 18600
  const D_SERVICES = ['d-pad', 'd-hostile', 'd-env']
  const dInputs = (service: string, image: string, extra: Record<string, string> = {}) =>
    sandboxInputs(info, { image, service, network: D_NETWORK, 'proxy-port': String(D_PORT), 'server-name': `${service}.test`, ...extra })
  const dServes = async (service: string): Promise<string> => {
    const reply = await viaProxy(D_PORT, '/', `${service}.test`)
    return `${reply.status} ${reply.body.trim()}`
  }

  // Rules that a test process killed mid-test left behind go first.
  beforeAll(() => clearHost(D_SERVICES, [D_NETWORK]))
  afterAll(() => clearHost(D_SERVICES, [D_NETWORK]))

  test('the `fingerprint` keeps the base64 padding some tools print (`SHA256:…=`) → it matches, and the deploy goes live', async () => {
    const run = await runAction(dInputs('d-pad', images['1'].ref, { fingerprint: `${info.fingerprint}=` }))
    expectOk(run)
    expect(run.stdout).toContain(`Host key ${info.fingerprint} (ssh-ed25519) matches the fingerprint input`)
    expect(await dServes('d-pad')).toBe('200 version=faults-1')
  })

  test('the app prints HTML and a Markdown link as it fails to boot → the job summary shows them as text, never as markup', async () => {
    const markup = await buildApp({ tag: 'e2e-faults/app:markup', version: 'faults-markup', variant: 'crash-markup' })
    const run = await runAction(dInputs('d-hostile', markup.ref))
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/::error::Health check of d-hostile-blue failed: .*Last log lines of d-hostile-blue:%0A<img src=x onerror=alert\(1\)>%0A\[click\]\(http:\/\/evil\)/)
    expect(run.summary).toContain('## Deploy failed')
    expect(run.summary).toContain('> &lt;img src\\=x onerror\\=alert\\(1\\)&gt;\n> \\[click\\]\\(http\\:\\/\\/evil\\)\n')
    expect(run.summary).not.toMatch(/<img|\[click\]\(|\]\(http/)
  })

  test('the step environment holds secrets (`key`, `passphrase`, `env`, a token of an earlier step) → the runner `docker`, and what reads its store, see none of them', async () => {
    const app = await buildApp({ tag: 'e2e-faults/app:env', version: 'faults-env' })
    await removeImage(app.ref, 'host') // so that it travels: its layers are read from the store
    // Stand-ins first on the PATH (docker, and the cat and xargs that read the runner's store)
    // write down what each call gets, then run the real one.
    const fake = mkdtempSync(join(tmpdir(), 'd-env-'))
    for (const tool of ['docker', 'cat', 'xargs']) {
      const real = (await runCommand('sh', ['-c', `command -v ${tool}`])).stdout.trim()
      writeFileSync(join(fake, tool), `#!/bin/sh\nenv > "${fake}/env.$$"\necho "${tool} $1" > "${fake}/args.$$"\nexec ${real} "$@"\n`, { mode: 0o755 })
    }
    // The key has no passphrase, which it then ignores: given, it is in the step's environment.
    const secrets = { passphrase: 'correct horse battery staple', env: 'APP_SECRET=d-env-value-4711' }
    try {
      const given = dInputs('d-env', app.ref, secrets)
      const run = await runAction(given, { env: { PATH: `${fake}:${process.env.PATH}`, DEPLOY_TOKEN: 'token-of-an-earlier-step' } })
      expectOk(run)
      const written = (prefix: string) => readdirSync(fake).filter((f) => f.startsWith(prefix)).map((f) => readFileSync(join(fake, f), 'utf8'))
      const calls = written('args.').map((first) => first.trim())
      // The image's inspect, as the store opens and in the check (docker history runs only beside docker save).
      expect(calls.filter((call) => call.startsWith('docker')).sort()).toEqual(['docker image', 'docker image'])
      expect(calls).toContain('cat --')
      expect(calls).toContain('xargs -0')
      const all = written('env.').join('\n')
      expect(all).not.toMatch(/^INPUT_|DEPLOY_TOKEN|token-of-an-earlier-step|correct horse|d-env-value-4711/m)
      for (const line of given.key.split('\n').filter((l) => l.length > 8)) expect(all).not.toContain(line)
      for (const env of written('env.')) expect(env).toContain(`PATH=${fake}:`)
      expect(await dServes('d-env')).toBe('200 version=faults-env')
    } finally {
      rmSync(fake, { recursive: true, force: true })
    }
  })
})

describe('bad input: a clear error naming the input, and the host unchanged', () => {
  const PWNED = '/tmp/bluegreen-pwned'
  let before: string
  /** A certificate of a test CA, and the key of another one. */
  let mismatched: Record<string, string>

  /** What a user could see change on the host: containers, networks, images, state files. */
  async function hostPicture(): Promise<string> {
    const sorted = (text: string) => text.split('\n').filter(Boolean).sort().join('\n')
    const docker = (args: string[]) => runCommand('docker', ['-H', info.hostDockerHost, ...args]).then((r) => sorted(r.stdout))
    const files = await hostSsh(`find ${STATE_ROOT} | sort`)
    return [
      // State, not Status: "Exited (0) 2 minutes ago" changes while nothing on the host does.
      await docker(['ps', '-a', '--format', '{{.Names}} {{.State}}']),
      await docker(['network', 'ls', '--format', '{{.Name}}']),
      await docker(['images', '-qa', '--no-trunc']),
      files.stdout
    ].join('\n---\n')
  }

  beforeAll(async () => {
    await runCommand('rm', ['-f', PWNED])
    before = await hostPicture()
    const ca = await testCa('Faults')
    const [leaf, stranger] = [await ca.leaf(['bad.test']), await ca.leaf(['bad.test'])]
    mismatched = { tls: 'custom', 'tls-certificate': leaf.pem + ca.intermediate.pem, 'tls-private-key': stranger.keyPem, 'acme-ca-bundle': ca.root.pem }
  })

  afterEach(async () => {
    expect(existsSync(PWNED)).toBe(false)
    expect(await hostPicture()).toBe(before)
  })

  const base = () => inputs('f-bad', images['1'].ref, { 'server-name': 'bad.test' })
  const fails = async (overrides: Record<string, string>, message: RegExp, seconds = 15): Promise<ActionResult> => {
    const run = await runAction({ ...base(), ...overrides })
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(message)
    expect(run.durationMs).toBeLessThan(seconds * 1000)
    // A refusal is a few lines: it never prints a value back at length.
    expect(run.stdout.length + run.stderr.length).toBeLessThan(16_384)
    return run
  }
  const sandboxKey = (path: string) => runCommand('cat', [path]).then((r) => r.stdout)

  test.each([
    ['`key` is missing', { key: '' }, /::error::key: required/],
    ['`key` is not a private key', { key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA' }, /::error::key: expected a private key/],
    ['`image` carries shell syntax (`app:1;touch /tmp/bluegreen-pwned`)', { image: 'app:1;touch /tmp/bluegreen-pwned' }, /::error::image: expected name:tag/],
    ['`image` has a space (`a b`)', { image: 'a b' }, /::error::image: expected name:tag/],
    ['`image` is `$(touch /tmp/bluegreen-pwned)`', { image: '$(touch /tmp/bluegreen-pwned)' }, /::error::image: expected name:tag/],
    ['`service` carries shell syntax', { service: '$(touch /tmp/bluegreen-pwned)' }, /::error::service: expected lowercase/],
    ['`app-port` is out of range (70000)', { 'app-port': '70000' }, /::error::app-port: expected a whole number from 1 to 65535, got 70000/],
    ['`proxy-port` is out of range (0)', { 'proxy-port': '0' }, /::error::proxy-port: expected a whole number from 1 to 65535, got 0/],
    ['`health-path` has quotes', { 'health-path': `/'$(touch /tmp/bluegreen-pwned)'` }, /::error::health-path: expected a URL path/],
    ['`health-path` has a space', { 'health-path': '/health check' }, /::error::health-path: expected a URL path/],
    ['an `env` line has no `=`', { env: 'GOOD=1\nNOT A PAIR' }, /::error::env: line 2 must be KEY=VALUE/],
    ['`network` is `host`, a network Docker has built in', { network: 'host' }, /::error::network: "host" is one of Docker's own networks/],
    ['`network` is `bridge`, a network Docker has built in', { network: 'bridge' }, /::error::network: "bridge" is one of Docker's own networks/],
    ['`known-hosts` trusts the host key but `fingerprint` names another', () => ({ 'known-hosts': info.knownHosts, fingerprint: `SHA256:${'A'.repeat(43)}` }),
      /::error::known-hosts and fingerprint disagree: known-hosts trusts SHA256:\S+ \(ssh-ed25519\), SHA256:\S+ \(ssh-rsa\) for \[127.0.0.1\]:2222, none of which is the fingerprint SHA256:A{43}\. With both inputs given, the host key must match both\. No command was run\./],
    ['`host` is 100 KB long', { host: 'a'.repeat(100_000) }, /::error::host: 100000 characters, more than the 253 allowed \(value not shown\)/],
    ['`volumes` has a relative container path (`data:data`)', { volumes: 'data:data' }, /::error::volumes: line 1 needs an absolute container path/],
    ['`command` chains a shell command with `;` (`node app.js; touch /tmp/bluegreen-pwned`)', { command: 'node app.js; touch /tmp/bluegreen-pwned' },
      /::error::command: ";" at character 12 means something only to a shell, and the command runs without one/],
    ['`command` is `$(touch /tmp/bluegreen-pwned)`', { command: '$(touch /tmp/bluegreen-pwned)' }, /::error::command: "\$" at character 1 means something only to a shell/],
    ['`entrypoint` has two words', { entrypoint: '/sbin/tini --' }, /::error::entrypoint: expected one word/],
    ['`user` carries shell syntax', { user: 'app;touch /tmp/bluegreen-pwned' }, /::error::user: expected a user name or uid/],
    ['`memory` is under the 6m Docker needs (`4m`)', { memory: '4m' }, /::error::memory: expected a size such as 512m or 1g .*at least the 6m Docker needs/],
    ['`cpus` is 0', { cpus: '0' }, /::error::cpus: expected a number of CPUs/],
    ['a `labels` line sets one of the action-owned labels (`BlueGreen.slot=green`)', { labels: 'BlueGreen.slot=green' },
      /::error::labels: line 1: BlueGreen.slot is one of the action's own labels/],
    ['`stop-timeout` is over an hour (3601)', { 'stop-timeout': '3601' }, /::error::stop-timeout: expected a whole number of seconds from 0 to 3600/],
    ['`options` has `--privileged`', { options: '--privileged' }, /::error::options: line 1: --privileged is refused/],
    ['`options` has a flag outside the allowlist (`--device /dev/sda`)', { options: '--device /dev/sda' }, /::error::options: line 1: --device is not one of the flags options allows/],
    ['`options` mounts with `-v`, which is for `volumes`', { options: '-v /:/host' }, /::error::options: line 1: -v is not taken in options: use the volumes input/],
    ['an `options` value carries shell syntax (`--add-host db:$(touch /tmp/bluegreen-pwned)`)', { options: '--init\n--add-host db:$(touch /tmp/bluegreen-pwned)' },
      /::error::options: line 2: --add-host expects NAME:IP/],
    ['`release-command` has a command substitution in backticks', { 'release-command': 'rake db:migrate `touch /tmp/bluegreen-pwned`' },
      /::error::release-command: "`" at character 17 means something only to a shell/],
    ['`release-timeout` is 0', { 'release-timeout': '0' }, /::error::release-timeout: expected a whole number of seconds from 1 to 86400/],
    ['`release-on-rollback` is `yes`', { 'release-on-rollback': 'yes' }, /::error::release-on-rollback: expected true or false/],
    ['a `workers` line has no name (`: node worker.js`)', { workers: 'mail: node mail.js\n: node worker.js' }, /::error::workers: line 2 must be NAME: command/],
    ['`worker-settle` is over 300', { 'worker-settle': '301' }, /::error::worker-settle: expected a whole number of seconds from 0 to 300/],
    ['`tls-private-key` is not the key of `tls-certificate` (tls: custom)', () => mismatched,
      /::error::tls-private-key: the key does not match the certificate in tls-certificate \(CN=bad\.test, serial \w+\); give the private key that this certificate was issued for/],
    ['`tls: auto` without `server-name`', { tls: 'auto', 'server-name': '' }, /::error::server-name: tls: auto needs the host names to get a certificate for/],
    ['`tls: auto` with a wildcard `server-name` (`*.bad.test`)', { tls: 'auto', 'server-name': '*.bad.test' }, /::error::server-name: \*\.bad\.test is a wildcard, which ACME CAs issue only over DNS-01/]
  ])('%s → refused before connecting', async (_name, overrides, message) => {
    // A function: overrides that need the sandbox's info, which is read once the tests start.
    await fails(typeof overrides === 'function' ? overrides() : overrides, message, 5)
  })

  test('the `passphrase` is wrong → refused, naming `passphrase`', async () => {
    await fails({ key: await sandboxKey(info.passKeyPath), passphrase: 'wrong horse' }, /::error::passphrase: wrong passphrase for the key/)
  })

  test('the host never answers → fails within the `timeout` input, naming it', async () => {
    const tarpit: Server = createServer(() => undefined) // accepts and never says a word
    await new Promise<void>((resolve) => tarpit.listen(0, '127.0.0.1', resolve))
    const port = (tarpit.address() as { port: number }).port
    try {
      await fails({ port: String(port), timeout: '2' }, /::error::Timed out after 2 s connecting to 127.0.0.1:\d+/, 8)
    } finally {
      tarpit.close()
    }
  })

  test('nothing listens on the SSH `port` → connection refused, at once', async () => {
    await fails({ port: '1' }, /::error::Could not connect to 127.0.0.1:1: connection refused/)
  })

  test('the host key does not match `fingerprint` → refused before any command runs', async () => {
    await fails({ fingerprint: `SHA256:${'A'.repeat(43)}` }, /::error::Host key verification failed: .*No command was run/)
  })

  test('`known-hosts` has no line for the host → refused before any command runs', async () => {
    const other = info.knownHosts.split('\n')[0].replace(/^\S+/, '[10.9.9.9]:22')
    await fails({ fingerprint: '', 'known-hosts': other }, /::error::known-hosts: no line lists a key for \[127.0.0.1\]:2222/)
  })

  test('the `image` exists nowhere → refused, naming `image`', async () => {
    await fails({ image: 'e2e-faults/app:never-built' }, /::error::image: e2e-faults\/app:never-built is neither on the runner's Docker engine nor on the host/)
  })

  test('the `image` is built for another CPU (linux/arm64, on this x86-64 host) → refused before it travels, naming `image`', async () => {
    const run = await fails(
      { image: images.arm64.ref },
      /::error::image: e2e-faults\/app:arm64 is built for linux\/arm64, but the host runs linux\/amd64 and has no emulator for arm64 registered; build it for linux\/amd64/
    )
    expect(run.outputs['transferred-bytes']).toBeUndefined()
  })

  test('Docker is missing on the host → refused, saying so', async () => {
    await fails({ username: info.users.nodockercli }, /::error::The host bgs-nodockercli@127.0.0.1:2222 has no docker command on the PATH/)
  })

  test('the user may not run `docker` → refused: add the user to the docker group', async () => {
    await fails({ username: info.users.nodocker }, /::error::The user on bgs-nodocker@127.0.0.1:2222 may not use Docker .*permission denied.*Add the user to the docker group/)
  })

  test('`bash` is missing on the host → refused, saying so', async () => {
    await fails({ username: info.users.nobash }, /::error::The host bgs-nobash@127.0.0.1:2222 has no bash on the PATH/)
  })

  test('the `proxy-port` is taken by something else on the host → refused, naming `proxy-port`', async () => {
    const squatter: Server = createServer((socket) => socket.end())
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve))
    const port = (squatter.address() as { port: number }).port
    try {
      await fails({ network: 'e2e-bad', 'proxy-port': String(port) }, new RegExp(`::error::proxy-port: port ${port} is already in use on the host`))
    } finally {
      squatter.close()
    }
  })
})

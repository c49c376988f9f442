// What happens when the runner, the network, the host's Docker engine or the proxy misbehave
// while a deploy is under way: each fault is made for real (a stopped runner process, dropped
// packets, a frozen dockerd, a killed proxy, a cancelled job), under load where requests count.
// Each test name reads "situation → outcome"; the README's "What happens when…" table lists them.
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { runAction, sandboxInputs, startAction, type ActionResult } from '../../sandbox/action.js'
import { buildApp, removeImage, type BuiltImage } from '../../sandbox/fixtures.js'
import { slowRequests, startClientLoads, type ClientLoads } from '../../sandbox/load.js'
import { hostDocker, readSandboxInfo, runCommand, type SandboxInfo } from '../../sandbox/sandbox.js'
import { clearHost, hostHasImage, serviceContainers, stateFile, STATE_ROOT, viaProxy } from './host.js'
import { expectOk, logShows, signalWhen } from './runs.js'

const NETWORK = 'e2e-runtime'
const PORT = 18150
const SERVICES = ['r-pause', 'r-cut', 'r-dns', 'r-hang', 'r-stall', 'r-proxy', 'r-switch', 'r-slow', 'r-ws', 'r-cancel', 'r-drain', 'r-log']
const HOST_DOCKERD_PID = '/run/bluegreen-sandbox/docker.pid'

let info: SandboxInfo
const images: Record<string, BuiltImage> = {}

const inputs = (service: string, image: string, extra: Record<string, string> = {}) =>
  sandboxInputs(info, { image, service, network: NETWORK, 'proxy-port': String(PORT), 'server-name': `${service}.test`, ...extra })

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function serves(service: string): Promise<string> {
  const reply = await viaProxy(PORT, '/', `${service}.test`)
  return `${reply.status} ${reply.body.trim()}`
}

/** Keep-alive and closing clients of one service, bounded in count and time. */
const clients = (service: string) =>
  startClientLoads({ url: `http://127.0.0.1:${PORT}/`, host: `${service}.test`, concurrency: 3, intervalMs: 10, maxRequests: 30_000, maxMs: 120_000 })

function expectNoneFailed(loads: ClientLoads): void {
  for (const [kind, stats] of Object.entries(loads)) {
    expect({ kind, errors: stats.errors, failed: stats.failed }).toEqual({ kind, errors: [], failed: 0 })
    expect(stats.sent).toBeGreaterThan(50)
  }
}

/**
 * Stops the sandbox host's dockerd (SIGSTOP): containers and the proxy keep running. It thaws on
 * the returned call, and after `atMostMs` whatever happens, so a stuck test cannot leave it so.
 */
async function freezeDockerd(atMostMs = 60_000): Promise<() => Promise<void>> {
  const pid = readFileSync(HOST_DOCKERD_PID, 'utf8').trim()
  await runCommand('kill', ['-STOP', pid])
  const thaw = async (): Promise<void> => {
    clearTimeout(timer)
    await runCommand('kill', ['-CONT', pid])
  }
  const timer = setTimeout(() => void thaw(), atMostMs)
  return thaw
}

/** Local ports of the action's SSH connections to the sandbox's sshd. */
async function sshPortsOf(pid: number): Promise<number[]> {
  const out = await runCommand('ss', ['-Htnp', 'dst', `127.0.0.1:${info.port}`])
  return out.stdout.split('\n').filter((line) => line.includes(`pid=${pid},`)).map((line) => Number(line.split(/\s+/)[3].split(':').pop()))
}

/** The connection that has sent the most: the one the image streams on. */
async function busiestPort(pid: number): Promise<number> {
  const out = await runCommand('ss', ['-Htnpi', 'dst', `127.0.0.1:${info.port}`])
  const lines = out.stdout.split(/\n(?=\S)/).filter((block) => block.includes(`pid=${pid},`))
  const sent = (block: string) => Number(/bytes_sent:(\d+)/.exec(block)?.[1] ?? 0)
  const busiest = lines.sort((a, b) => sent(b) - sent(a))[0] ?? ''
  return Number(busiest.split(/\s+/)[3].split(':').pop())
}

/** Drops what the runner sends on these connections (one way: the host's packets still arrive). */
async function dropFrom(ports: number[]): Promise<() => Promise<void>> {
  const rule = (port: number) => ['OUTPUT', '-p', 'tcp', '-s', '127.0.0.1', '--sport', String(port), '-d', '127.0.0.1', '--dport', String(info.port), '-j', 'DROP']
  for (const port of ports) await runCommand('iptables', ['-w', '10', '-I', ...rule(port)])
  return async () => {
    for (const port of ports) await runCommand('iptables', ['-w', '10', '-D', ...rule(port)])
  }
}

/** docker load processes of the deploy user on the host (the same kernel as this test). */
async function hostLoads(): Promise<string> {
  return (await runCommand('pgrep', ['-u', info.users.deploy, '-a', '-f', '^docker load'])).stdout.trim()
}

beforeAll(async () => {
  info = readSandboxInfo()
  await clearHost(SERVICES, [NETWORK])
  for (const version of ['1', '2', '3']) images[version] = await buildApp({ tag: `e2e-runtime/app:${version}`, version: `runtime-${version}` })
  images.ws = await buildApp({ tag: 'e2e-runtime/app:ws', version: 'runtime-ws', variant: 'websocket' })
  // Its own 97 MiB base layer, so sending it takes a few seconds and the host never has it.
  images.big = await buildApp({ tag: 'e2e-runtime/app:big', version: 'runtime-big', paddingMiB: 97 })
})

afterAll(() => clearHost(SERVICES, [NETWORK]))

describe('what happens when', () => {
  test('the runner is paused past the lock grace while another deploy goes live → on resuming it changes nothing, and the other deploy serves', async () => {
    expectOk(await runAction(inputs('r-pause', images['1'].ref)))
    const paused = startAction(inputs('r-pause', images['2'].ref, { 'health-path': '/cgi-bin/slow?2' }))
    await logShows(paused, '::group::Health-check')
    paused.child.kill('SIGSTOP')
    try {
      // The host drops the lock 60 s after the last heartbeat; the waiting deploy then goes live.
      const other = await runAction(inputs('r-pause', images['3'].ref, { 'lock-timeout': '120' }))
      expectOk(other)
      expect(other.stdout).toContain('holds the lock')
    } finally {
      paused.child.kill('SIGCONT')
    }
    const resumed = await paused.done
    expect(resumed.code).toBe(1)
    expect(resumed.stdout).toMatch(/::error::Lost the deploy lock of r-pause \([^)]*\): another deploy may own the host now, so this run changes nothing more there/)
    expect(await serves('r-pause')).toBe('200 version=runtime-3')
    expect(await stateFile('r-pause')).toMatchObject({ live: { imageId: images['3'].id } })
    const running = (await serviceContainers('r-pause')).filter((c) => c.state === 'running')
    expect(running.map((c) => c.labels['bluegreen.image'])).toEqual([images['3'].ref])
  }, 240_000)

  test('the connection carrying the image is cut one way for 30 s → the lock holds on its own connection, and the deploy goes live', async () => {
    expectOk(await runAction(inputs('r-cut', images['1'].ref)))
    await removeImage(images.big.id, 'host')
    const run = startAction(inputs('r-cut', images.big.ref, { compression: 'gzip', 'compression-level': '9' }))
    await logShows(run, 'layers are already on the host')
    await sleep(300)
    const restore = await dropFrom([await busiestPort(run.child.pid!)])
    try {
      await sleep(30_000)
    } finally {
      await restore()
    }
    const result = await run.done
    expectOk(result)
    expect(await serves('r-cut')).toBe('200 version=runtime-big')
  }, 180_000)

  test('the network to the host is lost for good during the transfer → the step fails with an error line and a summary, and the host ends its docker load within the lock grace', async () => {
    expectOk(await runAction(inputs('r-cut', images['2'].ref)))
    await removeImage(images.big.id, 'host')
    const run = startAction(inputs('r-cut', images.big.ref, { compression: 'gzip', 'compression-level': '9' }))
    await logShows(run, 'layers are already on the host')
    await sleep(300)
    const restore = await dropFrom(await sshPortsOf(run.child.pid!))
    let result: ActionResult
    let loadsAfterGrace: string
    try {
      result = await run.done // ssh2's keepalive gives up after 60 s
      for (let i = 0; i < 40 && (await hostLoads()) !== ''; i++) await sleep(1000)
      loadsAfterGrace = await hostLoads()
    } finally {
      await restore()
    }
    expect(result.code).toBe(1)
    expect(result.stdout.split('\n').filter((line) => line.startsWith('::error::'))).toEqual([
      '::error::Lost the connection to the host bgs-deploy@127.0.0.1:2222 during the transfer phase (Transfer the image): no answer from the host for over 60 s (SSH keepalive timeout).'
    ])
    expect(result.stderr).not.toMatch(/^\s+at /m) // no stack trace: the process did not crash
    expect(result.summary).toContain('## Deploy failed\n\n> Lost the connection to the host')
    expect(loadsAfterGrace).toBe('')
    expect(await serves('r-cut')).toBe('200 version=runtime-2')
    expectOk(await runAction(inputs('r-cut', images['3'].ref)))
  }, 240_000)

  test('the job log goes away during the transfer (the runner that read it died) → the run stops as a cancelled one does, ends at once, and the host serves as before', async () => {
    expectOk(await runAction(inputs('r-log', images['1'].ref)))
    // No service runs the big image any more (r-cut went on to v3 above): it must cross again.
    await removeImage(images.big.id, 'host')
    const run = startAction(inputs('r-log', images.big.ref, { compression: 'gzip', 'compression-level': '9' }), { timeoutMs: 60_000 })
    await logShows(run, 'layers are already on the host')
    const started = Date.now()
    // Whatever read the step's stdout and stderr is gone: the next write there fails with EPIPE.
    run.child.stdout!.destroy()
    run.child.stderr!.destroy()
    const result = await run.done
    const seconds = (Date.now() - started) / 1000
    console.log(`log gone during the transfer: the run ended ${seconds.toFixed(1)} s later, exit ${result.code}`)
    // It used to log the EPIPE as an error, to the same stdout, for ever (at 85% of a core).
    expect(result.timedOut).toBe(false)
    expect(seconds).toBeLessThan(20)
    expect(result.code).toBe(1)
    for (let i = 0; i < 20 && (await hostLoads()) !== ''; i++) await sleep(500)
    expect(await hostLoads()).toBe('')
    expect((await serviceContainers('r-log')).map((c) => c.name)).toEqual(['r-log-blue'])
    expect(await serves('r-log')).toBe('200 version=runtime-1')
    expect(await stateFile('r-log')).toMatchObject({ live: { imageId: images['1'].id } })
  }, 180_000)

  test("the host's dockerd is frozen for 20 s while the app serves → every request is answered: the proxy needs no DNS", async () => {
    expectOk(await runAction(inputs('r-dns', images['1'].ref)))
    const load = clients('r-dns')
    await sleep(500)
    const thaw = await freezeDockerd()
    try {
      await sleep(20_000)
    } finally {
      await thaw()
    }
    await sleep(500)
    expectNoneFailed(await load.stop())
  }, 60_000)

  test('dockerd stops answering during the health check → the step fails within health-timeout, saying so; the live slot serves', async () => {
    expectOk(await runAction(inputs('r-hang', images['1'].ref)))
    const load = clients('r-hang')
    const run = startAction(inputs('r-hang', images['2'].ref, { 'health-path': '/cgi-bin/slow?2', 'health-timeout': '10' }))
    await logShows(run, '::group::Health-check')
    const thaw = await freezeDockerd()
    let result: ActionResult
    try {
      result = await run.done
    } finally {
      await thaw()
    }
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/::error::Health check of r-hang-green failed: the host's Docker engine stopped answering; no healthy answer within 10 s/)
    // Bounded: health-timeout, then the cleanup's own bounds (the engine never came back meanwhile).
    expect(result.durationMs).toBeLessThan(60_000)
    expectNoneFailed(await load.stop())
    expect(await serves('r-hang')).toBe('200 version=runtime-1')
    const next = await runAction(inputs('r-hang', images['3'].ref))
    expectOk(next)
    expect(await serves('r-hang')).toBe('200 version=runtime-3')
  }, 120_000)

  test("the host's dockerd is frozen as a deploy starts → the check fails within 90 s, saying the engine did not answer; the live slot serves", async () => {
    expectOk(await runAction(inputs('r-stall', images['1'].ref)))
    const load = clients('r-stall')
    await sleep(500)
    const thaw = await freezeDockerd(150_000)
    let result: ActionResult
    try {
      result = await runAction(inputs('r-stall', images['2'].ref))
    } finally {
      await thaw()
    }
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`::error::The Docker engine on ${info.users.deploy}@127.0.0.1:${info.port} did not answer docker version within 60 s; nothing on the host was changed.`)
    expect(result.durationMs).toBeLessThan(90_000)
    expectNoneFailed(await load.stop())
    expect(await serves('r-stall')).toBe('200 version=runtime-1')
  }, 180_000)

  test("the host's dockerd is frozen during the transfer → docker load is stopped after 60 s without progress, and the step fails saying so; the live slot serves", async () => {
    await removeImage(images.big.id, 'host')
    const load = clients('r-stall')
    const run = startAction(inputs('r-stall', images.big.ref, { compression: 'gzip', 'compression-level': '9' }))
    await logShows(run, 'layers are already on the host')
    await sleep(300)
    const thaw = await freezeDockerd(200_000)
    let result: ActionResult
    try {
      result = await run.done
    } finally {
      await thaw()
    }
    expect(result.code).toBe(1)
    expect(result.stdout).toContain("::error::The host's Docker engine stopped answering during docker load: it read nothing for 60 s, so the load was stopped")
    // The idle bound, then the cleanup's own bounds (the engine stays frozen until the run ends).
    expect(result.durationMs).toBeLessThan(150_000)
    expectNoneFailed(await load.stop())
    expect(await serves('r-stall')).toBe('200 version=runtime-1')
    expect(await hostHasImage(images.big.id)).toBe(false)
    expectOk(await runAction(inputs('r-stall', images['3'].ref)))
    expect(await serves('r-stall')).toBe('200 version=runtime-3')
  }, 300_000)

  test('the proxy is killed (docker kill) during the deploy → it is started again with the live route, and the error says what it serves', async () => {
    expectOk(await runAction(inputs('r-proxy', images['1'].ref)))
    const run = startAction(inputs('r-proxy', images['2'].ref, { 'health-path': '/cgi-bin/slow?2', 'health-timeout': '6' }))
    await logShows(run, '::group::Health-check')
    await hostDocker(['kill', `${NETWORK}-proxy`])
    const result = await run.done
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(
      new RegExp(`The proxy ${NETWORK}-proxy had stopped \\(exited\\) and was started again\\. The host is as before: r-proxy-blue \\(e2e-runtime/app:1\\) still serves on port ${PORT}`)
    )
    expect(await serves('r-proxy')).toBe('200 version=runtime-1')
  }, 90_000)

  test('the proxy is killed just before the switch (while the new workers settle) → nothing switches, the proxy is started again with the live route, and the error says what it serves', async () => {
    const worker = { workers: 'tick: sleep 600', 'worker-settle': '3' }
    const first = await runAction(inputs('r-switch', images['1'].ref, worker))
    expectOk(first)
    const [live, idle] = first.outputs.slot === 'blue' ? ['blue', 'green'] : ['green', 'blue']
    const run = startAction(inputs('r-switch', images['2'].ref, worker))
    // Healthy, its workers started: the switch comes once they have run for 3 s.
    await logShows(run, `Started r-switch-${idle}-tick`)
    await hostDocker(['kill', `${NETWORK}-proxy`])
    const result = await run.done
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`::error::The proxy did not serve r-switch-${idle} after the switch (last answer: `)
    expect(result.stdout).toContain('); switched back%0A')
    expect(result.stdout).toMatch(
      new RegExp(`The proxy ${NETWORK}-proxy had stopped \\(exited\\) and was started again\\. The host is as before: r-switch-${live} \\(e2e-runtime/app:1\\) still serves on port ${PORT}`)
    )
    expect(await serves('r-switch')).toBe('200 version=runtime-1')
    const running = (await serviceContainers('r-switch')).filter((c) => c.state === 'running').map((c) => c.name)
    expect(running).toEqual([`r-switch-${live}`, `r-switch-${live}-tick`])
  }, 90_000)

  test('an upgraded (WebSocket) connection stays idle for 65 s → the proxy keeps it open', async () => {
    expectOk(await runAction(inputs('r-ws', images.ws.ref, { 'health-path': '/health' })))
    const socket: Socket = connect(PORT, '127.0.0.1')
    const received: Buffer[] = []
    socket.on('data', (chunk: Buffer) => received.push(chunk))
    const text = () => Buffer.concat(received).toString()
    try {
      socket.write('GET /ws HTTP/1.1\r\nHost: r-ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
      for (let i = 0; i < 50 && !text().includes('\r\n\r\n'); i++) await sleep(100)
      expect(text()).toMatch(/^HTTP\/1\.1 101 /)
      await sleep(65_000) // nginx's default proxy_read_timeout is 60 s
      received.splice(0)
      socket.write('still there?\n')
      for (let i = 0; i < 50 && !text().includes('still there?'); i++) await sleep(100)
      expect(text()).toBe('still there?\n')
    } finally {
      socket.destroy()
    }
  }, 120_000)

  // GitHub cancels with SIGINT, then SIGTERM 7.5 s later; a runner that shuts down, or a
  // self-hosted one stopped by its service manager, sends SIGTERM alone.
  test.each([
    ['the run is cancelled (SIGINT) during the health check', 'SIGINT'],
    ['the run is cancelled with SIGTERM alone during the health check', 'SIGTERM']
  ])('%s → it removes its candidate within 7 s, before GitHub would send SIGTERM; the live slot serves', async (_name, signal) => {
    const first = await runAction(inputs('r-cancel', images['1'].ref))
    expectOk(first)
    const [live, idle] = first.outputs.slot === 'blue' ? ['blue', 'green'] : ['green', 'blue']
    const run = startAction(inputs('r-cancel', images['2'].ref, { 'health-path': '/cgi-bin/slow?5' }))
    await logShows(run, '::group::Health-check')
    const cancelled = Date.now()
    run.child.kill(signal as NodeJS.Signals)
    const result = await run.done
    console.log(`${signal} during the health check: the step ended ${Date.now() - cancelled} ms later`)
    // GitHub sends SIGTERM 7.5 s after SIGINT, SIGKILL 2.5 s later. About 0.2 s here; once it
    // took 5.2 s, the launch step's TERM trap having waited for the probe in flight (5 s on this
    // slow health path) in a command substitution. The probe is now read without one
    // (shell_collect), but that 5.2 s never came back on demand, so the bound stays GitHub's
    // SIGINT grace rather than the usual figure.
    expect(Date.now() - cancelled).toBeLessThan(7_000)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`::error::Cancelled before the switch: the proxy was not switched, r-cancel-${live} (e2e-runtime/app:1) still serves on port ${PORT}; the candidate r-cancel-${idle} was removed.`)
    expect((await serviceContainers('r-cancel')).map((c) => c.name)).toEqual([`r-cancel-${live}`])
    expect(await serves('r-cancel')).toBe('200 version=runtime-1')
  }, 90_000)

  test.each([
    ['the run is cancelled (SIGINT) while the old slot drains', 'SIGINT'],
    ['the run is cancelled with SIGTERM alone while the old slot drains', 'SIGTERM']
  ])('%s → the new version is live and recorded at once, and the next deploy retires the old slot', async (_name, signal) => {
    const first = await runAction(inputs('r-drain', images['1'].ref))
    expectOk(first)
    const [old, next] = first.outputs.slot === 'blue' ? ['blue', 'green'] : ['green', 'blue']
    const slow = slowRequests({ url: `http://127.0.0.1:${PORT}/`, host: 'r-drain.test', count: 1, seconds: 10 })
    await sleep(300)
    const run = startAction(inputs('r-drain', images['2'].ref))
    const result = await signalWhen(run, 'Waiting for 1 connection(s)', signal as NodeJS.Signals)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`::error::Cancelled after the switch: r-drain-${next} (e2e-runtime/app:2) is live and recorded; r-drain-${old} keeps running until the next deploy retires it`)
    expect(await serves('r-drain')).toBe('200 version=runtime-2')
    expect(await stateFile('r-drain')).toMatchObject({ live: { imageId: images['2'].id } })
    expect((await slow)[0]).toMatchObject({ status: 200 })
    const after = await runAction(inputs('r-drain', images['3'].ref))
    expectOk(after)
    expect(after.stdout).toContain(`Removing r-drain-${old} left in the idle slot by an earlier run`)
    expect(await serves('r-drain')).toBe('200 version=runtime-3')
  }, 90_000)
})

test('no stale rule is left in iptables', async () => {
  const rules = await runCommand('iptables', ['-w', '10', '-S', 'OUTPUT'])
  expect(rules.stdout).not.toContain(`--dport ${info.port} -j DROP`)
  expect(STATE_ROOT).toBe('/var/lib/bluegreen')
})

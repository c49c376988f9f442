import { jest } from '@jest/globals'
import { coreMock } from './support/core-mock.js'
import { FakeHost, fakeRunner, image } from './support/fake-host.js'
import { runnerBootId } from '../src/transfer/link.js'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'

const core = coreMock()
jest.unstable_mockModule('@actions/core', () => core)
const { deploy } = await import('../src/rollout/single-host.js')
const { parseInputs } = await import('../src/inputs.js')

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----'
const v1 = image('a1')
const v2 = image('b2')

/** A runner store whose layers are empty tars (the fake host loads whatever it gets). */
const emptyStore = {
  how: 'as root',
  config: Buffer.from('{}'),
  layer: async () => ({ tarSplit: gzipSync(`${JSON.stringify({ type: 2, payload: Buffer.alloc(1024).toString('base64') })}\n`), diffDir: '/nowhere' }),
  files: () => ({ stdout: Readable.from([]), done: Promise.resolve(), stop: () => undefined })
}

function inputs(overrides: Record<string, string> = {}) {
  return parseInputs({ host: 'example.com', key: KEY, image: 'web:2', ...overrides })
}

function run(host: FakeHost, runnerImages: Record<string, ReturnType<typeof image>>, overrides = {}) {
  const runner = fakeRunner(runnerImages, host.calls)
  const result = deploy(inputs(overrides), { connect: async () => host, runner, holder: 'test' })
  return { result, runner }
}

/** A host where web:1 is live on blue. */
function hostWithV1(): FakeHost {
  const host = new FakeHost()
  host.addImage(v1, 'web:1')
  host.containers.set('web-blue', { name: 'web-blue', state: 'running', slot: 'blue', image: 'web:1', imageId: v1.id })
  host.routes.set('web', {
    service: 'web', slot: 'blue', container: 'web-blue', appPort: 8080, image: 'web:1', imageId: v1.id, serverNames: []
  })
  const live = { slot: 'blue' as const, container: 'web-blue', image: 'web:1', imageId: v1.id, appPort: 8080, deployedAt: 't1' }
  host.state = { version: 1, service: 'web', live, history: [live] }
  return host
}

beforeEach(() => core.log.splice(0))

describe('deploy', () => {
  it('a connection lost mid-transfer: the run fails saying so, and in which phase, not with the step that noticed', async () => {
    const host = hostWithV1()
    host.failLoad = 'exit 255'
    const load = host.load.bind(host)
    host.load = async (...args: Parameters<FakeHost['load']>) => {
      host.lostReason = 'no answer from the host for over 60 s (SSH keepalive timeout)'
      return load(...args)
    }
    const { result } = run(host, { 'web:2': v2 })
    await expect(result).rejects.toThrow(
      'Lost the connection to the host root@fake:22 during the transfer phase (Transfer the image): no answer from the host for over 60 s (SSH keepalive timeout).'
    )
    expect(host.closed).toBe(true)
  })

  it('a connection lost before the launch says nothing of a new slot: the host has not switched', async () => {
    const host = hostWithV1()
    host.failLoad = 'exit 255'
    host.lostReason = 'the host closed the connection'
    const { result } = run(host, { 'web:2': v2 })
    await expect(result).rejects.toThrow(/^Lost the connection to the host root@fake:22 during the transfer phase \(Transfer the image\): the host closed the connection\.$/)
  })

  it('a connection lost during the health check: the host may be live on the new slot, and the next deploy reads it from the proxy config', async () => {
    const host = hostWithV1()
    host.loads = v2
    // The launch step switches by itself once healthy: the answer may never have come back.
    host.onHealth = () => {
      host.lostReason = 'no answer from the host for over 60 s (SSH keepalive timeout)'
      host.health = { healthy: false, attempts: 1, reason: 'the remote shell ended' }
    }
    const { result } = run(host, { 'web:2': v2 })
    await expect(result).rejects.toThrow(
      'Lost the connection to the host root@fake:22 during the health phase (Health-check web-green): no answer from the host for over 60 s (SSH keepalive timeout). ' +
        'The host may already be live on the new slot: the next deploy reads which slot is live from the proxy config, not from state.json.'
    )
  })

  it('a connection lost as the release is recorded: the host switched, and the next deploy reads it from the proxy config', async () => {
    const host = hostWithV1()
    host.loads = v2
    host.writeState = async () => {
      host.lostReason = 'the host closed the connection'
      throw new Error('the remote shell ended')
    }
    const { result } = run(host, { 'web:2': v2 })
    await expect(result).rejects.toThrow(
      'during the record phase (Record the release): the host closed the connection. ' +
        'The host had switched to the new slot, which may not be recorded yet: the next deploy reads which slot is live from the proxy config, not from state.json.'
    )
    expect(host.routes.get('web')?.slot).toBe('green')
  })

  it('first deploy: sends the image, starts blue, switches, records, no previous', async () => {
    const host = new FakeHost()
    host.loads = v2
    const { result } = run(host, { 'web:2': v2 })
    const report = await result
    expect(report).toMatchObject({ slot: 'blue', container: 'web-blue', image: 'web:2', imageId: v2.id, appPort: 8080 })
    expect(report.previous).toBeUndefined()
    expect(report.transfer).toMatchObject({ source: 'sent', codec: 'gzip' })
    expect(report.transfer.sentBytes).toBeGreaterThan(0)
    expect(host.routes.get('web')?.container).toBe('web-blue')
    expect(host.state?.live).toMatchObject({ slot: 'blue', image: 'web:2' })
    // docker save starts before the connection (its export shares the time of the connection and
    // the check), and is kept once the check has found the host without the image. A first deploy pins both slots' addresses and adds the service's config (nginx reloads),
    // while the image streams.
    expect(host.calls).toEqual([
      'save web:2', 'survey', 'lock web', 'ensure-proxy bluegreen', 'allocate', 'write-route web', 'load gzip', 'stop-save web:2',
      'start web-blue', 'health web-blue', 'switch web-blue', 'write-state'
    ])
    expect(report.reloaded).toBe(true)
    expect(host.containers.get('web-blue')).toBeDefined()
    expect(host.routes.get('web')?.targets).toEqual(['10.0.0.254:8080'])
    expect(host.released).toBe(true)
    expect(host.closed).toBe(true)
  })

  it('sends the image as it is to a host on the runner\'s own kernel, where compressing only costs time', async () => {
    const host = new FakeHost()
    host.facts.bootId = runnerBootId()
    expect(host.facts.bootId).toMatch(/^[0-9a-f-]{36}$/)
    host.loads = v2
    const report = await run(host, { 'web:2': v2 }).result
    expect(report.transfer).toMatchObject({ source: 'sent', codec: 'none' })
    expect(host.calls).toContain('load none')
    expect(core.log.join('\n')).toContain('auto: none, the host is this machine')
  })

  it('second deploy goes to the idle slot and retires the old one after the switch', async () => {
    const host = hostWithV1()
    host.loads = v2
    const report = await run(host, { 'web:2': v2 }).result
    expect(report).toMatchObject({ slot: 'green', container: 'web-green' })
    expect(report.previous).toMatchObject({ slot: 'blue', image: 'web:1', imageId: v1.id })
    expect(report.replaced?.container).toBe('web-blue')
    expect(host.calls.indexOf('retire web-blue')).toBeGreaterThan(host.calls.indexOf('switch web-green'))
    expect([...host.containers.keys()]).toEqual(['web-green'])
    expect(host.state).toMatchObject({ live: { slot: 'green' }, previous: { slot: 'blue', image: 'web:1' } })
  })

  it('leaves a running proxy that has this version\'s shared config alone, and sees to one that lacks it', async () => {
    const current = hostWithV1()
    current.loads = v2
    current.proxy = { ...current.proxy, commonCurrent: true }
    await run(current, { 'web:2': v2 }).result
    expect(current.calls).not.toContain('ensure-proxy bluegreen')
    expect(core.log).toContain('proxy running')

    const stale = hostWithV1()
    stale.loads = v2
    await run(stale, { 'web:2': v2 }).result
    expect(stale.calls).toContain('ensure-proxy bluegreen')
  })

  it('a candidate that fails its health check is removed and the live slot is untouched', async () => {
    const host = hostWithV1()
    host.loads = v2
    host.health = { healthy: false, attempts: 1, reason: 'the container stopped (status exited, exit code 3)' }
    await expect(run(host, { 'web:2': v2 }).result).rejects.toThrow(
      /Health check of web-green failed: the container stopped.*\n.*web-blue \(web:1\) still serves on port 80; the candidate web-green was removed/
    )
    expect([...host.containers.keys()]).toEqual(['web-blue'])
    expect(host.routes.get('web')?.container).toBe('web-blue')
    expect(host.state?.live?.image).toBe('web:1')
    expect(host.calls).not.toContain('switch web-green')
    expect(host.released).toBe(true)
  })

  it('a config nginx refuses leaves the old route, and no candidate starts', async () => {
    const host = hostWithV1()
    host.loads = v2
    host.failWriteRoute = 'nginx: [emerg] invalid parameter'
    await expect(run(host, { 'web:2': v2 }).result).rejects.toThrow(/nginx refused the config of web.*invalid parameter\n.*web-blue \(web:1\) still serves/)
    expect(host.routes.get('web')?.container).toBe('web-blue')
    expect(host.calls.some((call) => call.startsWith('start'))).toBe(false)
  })

  it('a redeploy with the same port and names switches without writing the proxy config (no reload)', async () => {
    const host = new FakeHost()
    host.loads = v1
    await run(host, { 'web:1': v1 }, { image: 'web:1' }).result
    host.loads = v2
    host.calls.splice(0)
    const second = await run(host, { 'web:2': v2 }).result
    expect(second.reloaded).toBe(false)
    expect(host.calls).not.toContain('write-route web')
    expect(host.calls).not.toContain('allocate')
    expect(core.log).toContain('The proxy config already routes both slots: the switch needs no nginx reload')
    host.calls.splice(0)
    host.loads = image('c3')
    const third = await run(host, { 'web:3': image('c3') }, { image: 'web:3' }).result
    expect(third).toMatchObject({ slot: 'blue', reloaded: false })
    // A new app port changes the config: nginx reloads, before the candidate starts.
    host.loads = image('d4')
    host.calls.splice(0)
    const fourth = await run(host, { 'web:4': image('d4') }, { image: 'web:4', 'app-port': '9090' }).result
    expect(fourth.reloaded).toBe(true)
    expect(host.calls.indexOf('write-route web')).toBeLessThan(host.calls.indexOf('start web-green'))
  })

  it('switches back when the proxy does not serve the new slot', async () => {
    const host = hostWithV1()
    host.loads = v2
    host.failVerify = true
    await expect(run(host, { 'web:2': v2 }).result).rejects.toThrow(/switched back\nThe host is as before: web-blue \(web:1\) still serves/)
    expect(host.calls).toContain('proxy-serves')
    expect(host.routes.get('web')?.container).toBe('web-blue')
    expect(host.containers.has('web-green')).toBe(false)
    expect(host.state?.live?.slot).toBe('blue')
  })

  it('brings back a proxy that stopped mid-deploy, and says what it serves', async () => {
    const host = hostWithV1()
    host.loads = v2
    host.failVerify = true
    host.proxyStopped = true
    await expect(run(host, { 'web:2': v2 }).result).rejects.toThrow(
      /did not serve web-green after the switch; switched back\nThe proxy bluegreen-proxy had stopped \(exited\) and was started again\. The host is as before: web-blue/
    )
    expect(host.containers.has('web-green')).toBe(false)
    expect(host.state?.live?.slot).toBe('blue')
    expect(host.released).toBe(true)
  })

  it('a failed docker load says so and changes nothing', async () => {
    const host = hostWithV1()
    host.failLoad = 'write /var/lib/docker/tmp/x: no space left on device'
    await expect(run(host, { 'web:2': v2 }).result).rejects.toThrow(
      /docker load on the host failed: .*no space left on device\nThe host is as before: web-blue \(web:1\) still serves/
    )
    expect(host.calls.some((call) => call.startsWith('start'))).toBe(false)
  })

  it('a first deploy whose load fails removes the route it wrote while the image streamed', async () => {
    const host = new FakeHost()
    host.failLoad = 'write /var/lib/docker/tmp/x: no space left on device'
    await expect(run(host, { 'web:2': v2 }).result).rejects.toThrow(/docker load on the host failed: .*no space left on device/)
    expect(host.calls).toContain('write-route web')
    expect(host.calls).toContain('remove-route web')
    expect(host.confs.has('web')).toBe(false)
    expect(host.calls.some((call) => call.startsWith('start'))).toBe(false)
  })

  it("reads the layers the host lacks from the runner's store when it can: no docker save runs", async () => {
    const host = hostWithV1()
    host.loads = v2
    const runner = { ...fakeRunner({ 'web:2': v2 }, host.calls), store: async () => emptyStore }
    const report = await deploy(inputs(), { connect: async () => host, runner, holder: 'test' })
    expect(runner.saves).toEqual([])
    expect(core.log).toContain("Reading 2 layers from the runner's Docker store (as root) instead of exporting the image")
    expect(host.calls).toContain('load gzip')
    expect(report.transfer).toMatchObject({ source: 'sent', skippedLayers: 0 })
  })

  it('with layer-source: docker-save, or a store it cannot read, it exports with docker save, started with the connection', async () => {
    for (const [store, overrides] of [[emptyStore, { 'layer-source': 'docker-save' }], [{ unusable: 'no passwordless sudo' }, {}]] as const) {
      const host = hostWithV1()
      host.loads = v2
      const runner = { ...fakeRunner({ 'web:2': v2 }, host.calls), store: async () => store }
      await deploy(inputs(overrides), { connect: async () => host, runner, holder: 'test' })
      expect(runner.saves).toEqual(['web:2'])
      expect(host.calls[0]).toBe('save web:2')
    }
    expect(core.log).toContain("Exporting the image with docker save: the runner's Docker store cannot be read directly (no passwordless sudo)")
  })

  it('does not send an image the host already has', async () => {
    const host = hostWithV1()
    host.addImage(v2, 'web:2')
    const { result, runner } = run(host, { 'web:2': v2 })
    const report = await result
    // The save started with the connection is stopped: nothing reads it.
    expect(runner.saves).toEqual(['web:2'])
    expect(host.calls.slice(0, 3)).toEqual(['save web:2', 'survey', 'stop-save web:2'])
    expect(host.calls.some((call) => call.startsWith('load'))).toBe(false)
    expect(report.transfer).toMatchObject({ source: 'already-on-host', sentBytes: 0 })
  })

  it('tags instead of sending when the host has the image under another name (a new tag, same build)', async () => {
    const host = hostWithV1()
    host.addImage(v2, 'web:2-rc')
    const { result } = run(host, { 'web:2': v2 })
    const report = await result
    expect(report.transfer).toMatchObject({ source: 'tagged', sentBytes: 0, skippedLayers: v2.diffIds.length })
    expect(host.calls).toContain(`tag ${v2.id} web:2`)
    expect(host.calls.some((call) => call.startsWith('load'))).toBe(false)
    expect(host.state?.live).toMatchObject({ image: 'web:2', imageId: v2.id })
    expect(core.log.join('\n')).toMatch(/The host already has this image \(\w+\) under another name; tagging it web:2, nothing to send/)
  })

  it("deploys the host's copy when the runner lacks the image (re-run with an older tag)", async () => {
    const host = hostWithV1()
    host.addImage(v2, 'web:2')
    const { result, runner } = run(host, {})
    const report = await result
    expect(report.transfer.source).toBe('host-copy')
    expect(runner.saves).toEqual(['web:2'])
    expect(host.calls.slice(0, 3)).toEqual(['save web:2', 'survey', 'stop-save web:2'])
    expect(core.log.join('\n')).toMatch(/runner's Docker engine has no web:2; deploying the host's copy/)
  })

  it('fails before locking when the image is nowhere', async () => {
    const host = hostWithV1()
    await expect(run(host, {}).result).rejects.toThrow(/image: web:2 is neither on the runner's Docker engine nor on the host/)
    expect(host.calls).toEqual(['save web:2', 'survey', 'stop-save web:2', 'abandon-lock'])
  })

  it('refuses an image built for another CPU before locking, naming `image`', async () => {
    const host = hostWithV1()
    host.facts.platform = { os: 'linux', arch: 'arm64' }
    const x86 = image('b2', { platform: { os: 'linux', arch: 'amd64' } })
    await expect(run(host, { 'web:2': x86 }).result).rejects.toThrow(
      'image: web:2 is built for linux/amd64, but the host runs linux/arm64 and has no emulator for amd64 registered'
    )
    expect(host.calls).toEqual(['save web:2', 'survey', 'stop-save web:2', 'abandon-lock'])
  })

  it('sends it with a warning when qemu runs that CPU on the host', async () => {
    const host = hostWithV1()
    host.loads = image('b2', { platform: { os: 'linux', arch: 'amd64' } })
    host.facts.platform = { os: 'linux', arch: 'arm64' }
    host.facts.emulated = ['x86_64']
    await run(host, { 'web:2': host.loads }).result
    expect(core.log).toContain('warning: web:2 is built for linux/amd64; the host (linux/arm64) runs it under qemu emulation, much slower than natively')
  })

  it('refuses a proxy-port in use before locking', async () => {
    const host = new FakeHost()
    host.proxy = { status: 'missing', portBusy: true, otherServices: [], network: { mode: 'missing' } }
    await expect(run(host, { 'web:2': v2 }).result).rejects.toThrow(/proxy-port: port 80 is already in use/)
    expect(host.calls).toEqual(['save web:2', 'survey', 'stop-save web:2', 'abandon-lock'])
  })

  it('upgrades a running proxy of another image in the proxy phase, and a pair that needs repair', async () => {
    const host = hostWithV1()
    host.loads = v2
    host.proxy = { ...host.proxy, image: 'nginx:1.25', commonCurrent: true }
    await run(host, { 'web:2': v2 }).result
    expect(core.log.join('\n')).toContain('proxy-image is nginx:alpine and the running proxy uses nginx:1.25: the proxy phase starts the new one beside it, with no gap')
    expect(host.calls).toContain('ensure-proxy bluegreen')

    const restarted = hostWithV1()
    restarted.loads = v2
    restarted.proxy = { ...restarted.proxy, commonCurrent: true, pairRepair: true }
    await run(restarted, { 'web:2': v2 }).result
    expect(restarted.calls).toContain('ensure-proxy bluegreen')
  })

  it('needs app-port when the image exposes several ports', async () => {
    const host = new FakeHost()
    const multi = image('c3', { exposedPorts: ['80/tcp', '443/tcp'] })
    await expect(run(host, { 'web:2': multi }).result).rejects.toThrow(/app-port: required, because web:2 exposes 80\/tcp, 443\/tcp/)
  })

  it('rollback: true deploys the recorded previous release without a transfer and swaps previous', async () => {
    const host = hostWithV1()
    host.loads = v2
    await run(host, { 'web:2': v2 }).result
    const { result, runner } = run(host, {}, { image: '', service: 'web', rollback: 'true' })
    const report = await result
    expect(runner.saves).toEqual([])
    expect(report).toMatchObject({ slot: 'blue', image: 'web:1', imageId: v1.id, rollback: true })
    expect(report.transfer.source).toBe('rollback')
    expect(report.previous).toMatchObject({ image: 'web:2', slot: 'green' })
    expect(host.routes.get('web')?.image).toBe('web:1')
  })

  it('rollback without a recorded previous release fails clearly', async () => {
    const host = new FakeHost()
    await expect(run(host, {}, { image: '', service: 'web', rollback: 'true' }).result).rejects.toThrow(
      /rollback: the host records no previous release of web to roll back to/
    )
  })

  it('removes a stray candidate left in the idle slot by a dead run', async () => {
    const host = hostWithV1()
    host.loads = v2
    host.containers.set('web-green', { name: 'web-green', state: 'running', slot: 'green' })
    await run(host, { 'web:2': v2 }).result
    expect(host.calls.indexOf('retire web-green')).toBeLessThan(host.calls.indexOf('start web-green'))
  })

  it('recovers a switch that was not recorded: the proxy config says which slot is live', async () => {
    const host = hostWithV1()
    // A run switched to green (web:2) and died before writing state.json.
    host.addImage(v2, 'web:2')
    host.containers.set('web-green', { name: 'web-green', state: 'running', slot: 'green', image: 'web:2', imageId: v2.id })
    host.routes.set('web', { ...host.routes.get('web')!, slot: 'green', container: 'web-green', image: 'web:2', imageId: v2.id })
    const v3 = image('c3')
    host.loads = v3
    const report = await run(host, { 'web:3': v3 }, { image: 'web:3' }).result
    expect(report).toMatchObject({ slot: 'blue', recovered: true })
    expect(report.previous).toMatchObject({ image: 'web:2', slot: 'green' })
    expect(host.calls).toContain('retire web-green')
  })

  it("runs the host's own image ID when its store names the image differently (containerd store)", async () => {
    const host = hostWithV1()
    const asHostSeesIt = { ...v2, id: `sha256:${'c'.repeat(64)}`, containerdStore: true } // named by its manifest
    host.addImage(asHostSeesIt, 'web:2')
    const { result, runner } = run(host, { 'web:2': v2 })
    const report = await result
    expect(runner.saves).toEqual(['web:2'])
    expect(host.calls).toContain('stop-save web:2')
    expect(report.transfer.source).toBe('already-on-host')
    expect(report.imageId).toBe(asHostSeesIt.id)
    expect(host.containers.get('web-green')?.imageId).toBe(asHostSeesIt.id)
  })

  it('sends an image whose tag on the host has other layers', async () => {
    const host = hostWithV1()
    host.addImage({ ...v2, id: `sha256:${'d'.repeat(64)}`, diffIds: [`sha256:${'9'.repeat(64)}`] }, 'web:2')
    host.loads = v2
    const report = await run(host, { 'web:2': v2 }).result
    expect(report.transfer.source).toBe('sent')
    expect(report.imageId).toBe(v2.id)
  })

  it('reads the host again under the lock when another deploy took the lock after the check', async () => {
    const host = hostWithV1()
    host.loads = v2
    host.racingDeploy = true
    const { result, runner } = run(host, { 'web:2': v2 })
    await result
    expect(host.calls.slice(0, 4)).toEqual(['save web:2', 'survey', 'lock web', 'survey'])
    // The host still lacks the image: the save started before the lock is the one sent.
    expect(runner.saves).toEqual(['web:2'])
  })

  it('stops the save it started before the lock when the image reached the host meanwhile', async () => {
    const host = hostWithV1()
    host.racingDeploy = true
    const survey = host.survey.bind(host)
    host.survey = async (request) => {
      const found = await survey(request)
      host.addImage(v2, 'web:2') // the deploy that took the lock in between sent it
      return found
    }
    const { result, runner } = run(host, { 'web:2': v2 })
    const report = await result
    expect(report.transfer.source).toBe('already-on-host')
    expect(host.calls.slice(0, 4)).toEqual(['save web:2', 'survey', 'lock web', 'survey'])
    expect(host.calls).toContain('stop-save web:2')
    expect(host.calls.some((call) => call.startsWith('load'))).toBe(false)
    expect(runner.saves).toEqual(['web:2'])
  })

  it('stops the save it started with the connection when the connection fails', async () => {
    const calls: string[] = []
    const runner = fakeRunner({ 'web:2': v2 }, calls)
    const connect = async () => {
      throw new Error('Could not connect to example.com:22: connect ECONNREFUSED')
    }
    await expect(deploy(inputs(), { connect, runner, holder: 'test' })).rejects.toThrow('ECONNREFUSED')
    expect(calls).toEqual(['save web:2', 'stop-save web:2'])
  })

  it('a rollback starts no save before it knows its image', async () => {
    const host = hostWithV1()
    const { result, runner } = run(host, {}, { rollback: 'true' })
    await result.catch(() => undefined)
    expect(runner.saves).toEqual([])
  })

  it('stops the save it started before the lock when the lock cannot be taken', async () => {
    const host = hostWithV1()
    host.lockError = new Error('Timed out after 120 s waiting for the lock of web')
    await expect(run(host, { 'web:2': v2 }).result).rejects.toThrow('Timed out after 120 s')
    expect(host.calls).toEqual(['save web:2', 'survey', 'lock web', 'stop-save web:2', 'abandon-lock'])
  })

  it('a run that lost its lock stops changing the host, and does not remove "its" candidate', async () => {
    const host = hostWithV1()
    host.loads = v2
    host.loseLockAt = 'start'
    await expect(run(host, { 'web:2': v2 }).result).rejects.toThrow(/^Lost the deploy lock of web .*changes nothing more there\. web-green may be left for the next deploy/)
    const after = host.calls.slice(host.calls.indexOf('start web-green') + 1)
    expect(after).toEqual([])
    expect(host.state?.live?.image).toBe('web:1')
  })

  it('cancelled before the switch: the candidate goes, the live slot stays', async () => {
    const host = hostWithV1()
    host.loads = v2
    const controller = new AbortController()
    host.onHealth = () => controller.abort()
    host.health = { healthy: false, attempts: 3, reason: 'the run was cancelled' }
    const result = deploy(inputs(), { connect: async () => host, runner: fakeRunner({ 'web:2': v2 }, host.calls), holder: 't', signal: controller.signal })
    await expect(result).rejects.toThrow('Cancelled before the switch: the proxy was not switched, web-blue (web:1) still serves on port 80; the candidate web-green was removed.')
    expect(host.calls).toContain('cancel')
    expect(host.containers.has('web-green')).toBe(false)
    expect(host.released).toBe(true)
  })

  it('cancelled after the switch: the release is recorded and the old slot left for the next deploy', async () => {
    const host = hostWithV1()
    host.loads = v2
    const controller = new AbortController()
    host.onSwitch = () => controller.abort()
    const result = deploy(inputs(), { connect: async () => host, runner: fakeRunner({ 'web:2': v2 }, host.calls), holder: 't', signal: controller.signal })
    await expect(result).rejects.toThrow('Cancelled after the switch: web-green (web:2) is live and recorded; web-blue keeps running until the next deploy retires it')
    expect(host.state?.live?.image).toBe('web:2')
    expect(host.containers.has('web-blue')).toBe(true)
  })

  it('runs the release command once per image, before the candidate starts, and records it', async () => {
    const host = hostWithV1()
    host.loads = v2
    const report = await run(host, { 'web:2': v2 }, { 'release-command': 'bin/rails db:migrate' }).result
    expect(host.calls.indexOf('release web-release')).toBeLessThan(host.calls.indexOf('start web-green'))
    expect(host.calls.indexOf('release web-release')).toBeGreaterThan(host.calls.indexOf('load gzip'))
    expect(report.releaseStep).toMatchObject({ command: ['bin/rails', 'db:migrate'], exitCode: 0 })
    expect(host.state?.live).toMatchObject({ imageId: v2.id, released: true })
    expect(core.log).toContain('migrated')
    // A re-run of the same image, and a rollback, do not run it again.
    host.calls.splice(0)
    const again = await run(host, { 'web:2': v2 }, { 'release-command': 'bin/rails db:migrate' }).result
    expect(host.calls.some((call) => call.startsWith('release'))).toBe(false)
    expect(again.releaseStep?.skipped).toBe('this image was released before (release-on-rollback: false)')
    const back = await run(host, {}, { image: '', service: 'web', rollback: 'true', 'release-command': 'bin/rails db:migrate' }).result
    expect(back.releaseStep?.skipped).toBe('a rollback (release-on-rollback: false)')
    const forced = await run(host, {}, { image: '', service: 'web', rollback: 'true', 'release-command': 'x', 'release-on-rollback': 'true' }).result
    expect(forced.releaseStep?.exitCode).toBe(0)
  })

  it('a release command that fails leaves the live slot as it is, with its exit code and last lines', async () => {
    const host = hostWithV1()
    host.loads = v2
    host.release = { output: ['== 20261204 AddAuthor: migrating', 'PG::UndefinedTable: relation "notes" does not exist'], exitCode: 42 }
    await expect(run(host, { 'web:2': v2 }, { 'release-command': 'bin/rails db:migrate' }).result).rejects.toThrow(
      /^The release command exited with code 42; nothing switched\nLast lines of its output:\n== 20261204 AddAuthor: migrating\nPG::UndefinedTable: relation "notes" does not exist\nThe host is as before: web-blue \(web:1\) still serves/
    )
    expect(host.calls.some((call) => call.startsWith('start'))).toBe(false)
    expect(host.state?.live?.image).toBe('web:1')
  })

  it('workers start once the web is healthy and settle before the switch; the old ones stop after it', async () => {
    const host = hostWithV1()
    host.loads = v2
    host.containers.set('web-blue-jobs', { name: 'web-blue-jobs', state: 'running', slot: 'blue', role: 'worker' })
    const report = await run(host, { 'web:2': v2 }, { workers: 'jobs: bin/jobs --queue default\nmail*2: bin/mailer' }).result
    const order = (call: string) => host.calls.findIndex((seen) => seen.startsWith(call))
    expect(order('health web-green')).toBeLessThan(order('workers '))
    expect(order('workers ')).toBeLessThan(order('policy '))
    expect(host.calls).toContain('workers web-green-jobs web-green-mail-1 web-green-mail-2')
    expect(host.calls).toContain('policy web-green web-green-jobs web-green-mail-1 web-green-mail-2')
    expect(order('stop web-blue-jobs')).toBeGreaterThan(order('switch web-green'))
    expect(order('stop web-blue-jobs')).toBeLessThan(order('retire web-blue'))
    expect(report.workers).toEqual(['web-green-jobs', 'web-green-mail-1', 'web-green-mail-2'])
    expect(host.state?.live?.workers).toEqual([
      { name: 'jobs', containers: ['web-green-jobs'] }, { name: 'mail', containers: ['web-green-mail-1', 'web-green-mail-2'] }
    ])
  })

  it('a worker that exits while it settles sends the release back: nothing switched, the old web and workers stay', async () => {
    const host = hostWithV1()
    host.loads = v2
    host.containers.set('web-blue-jobs', { name: 'web-blue-jobs', state: 'running', slot: 'blue', role: 'worker' })
    host.crashingWorker = 'web-green-jobs'
    await expect(run(host, { 'web:2': v2 }, { workers: 'jobs: bin/jobs' }).result).rejects.toThrow(
      /^Worker web-green-jobs exited \(status exited, exit code 4\) within worker-settle \(5 s\): the release goes back\nLast log lines of web-green-jobs:\nno queue\nThe host is as before: web-blue \(web:1\) still serves on port 80; the candidate web-green and its workers were removed\.$/
    )
    expect(host.calls.some((call) => call.startsWith('policy') || call.startsWith('switch'))).toBe(false)
    expect([...host.containers.keys()].sort()).toEqual(['web-blue', 'web-blue-jobs'])
    expect(host.state?.live?.image).toBe('web:1')
  })

  it('releases the lock and closes the connection when a step throws', async () => {
    const host = hostWithV1()
    host.loads = v2
    host.health = { healthy: false, attempts: 5, reason: 'timeout' }
    await expect(run(host, { 'web:2': v2 }).result).rejects.toThrow()
    expect(host.released).toBe(true)
    expect(host.closed).toBe(true)
  })
})

describe('releases and rollback', () => {
  /** Deploys web:1..n in turn on one fake host. */
  async function history(n: number, extra: Record<string, string> = {}): Promise<FakeHost> {
    const host = new FakeHost()
    for (let i = 1; i <= n; i++) {
      const next = image(`${i}${i}`)
      host.loads = next
      await run(host, { [`web:${i}`]: next }, { image: `web:${i}`, ...extra }).result
    }
    return host
  }

  it('keeps keep-releases images, prunes the older ones, and lists each with the input that goes back to it', async () => {
    const host = await history(4, { 'keep-releases': '3' })
    host.loads = image('55')
    const report = await run(host, { 'web:5': image('55') }, { image: 'web:5', 'keep-releases': '3' }).result
    expect(report.kept?.map((release) => release.image)).toEqual(['web:5', 'web:4', 'web:3'])
    // The fake host keeps every image, so the last prune names all that fall outside the three.
    expect(host.calls.filter((call) => call.startsWith('prune')).at(-1)).toBe('prune web:2 web:1')
    const { outputsOf } = await import('../src/report/outputs.js')
    expect(JSON.parse(outputsOf(report).releases)).toEqual([
      expect.objectContaining({ image: 'web:5', live: true }),
      expect.objectContaining({ image: 'web:4', rollback: 1 }),
      expect.objectContaining({ image: 'web:3', rollback: 2 })
    ])
  })

  it('rollback: N goes N releases back, with nothing sent', async () => {
    const host = await history(4)
    const { result, runner } = run(host, {}, { image: '', service: 'web', rollback: '3' })
    const report = await result
    expect(report.image).toBe('web:1')
    expect(runner.saves).toEqual([])
    expect(report.transfer.source).toBe('rollback')
  })

  it('warns when the release it goes back to ran with other env names, never showing a value', async () => {
    const host = new FakeHost()
    host.loads = image('11')
    await run(host, { 'web:1': image('11') }, { image: 'web:1', env: 'DATABASE_URL=postgres://a\nOLD_FLAG=1' }).result
    host.loads = image('22')
    await run(host, { 'web:2': image('22') }, { image: 'web:2', env: 'DATABASE_URL=postgres://a\nNEW_FLAG=1' }).result
    await run(host, {}, { image: '', service: 'web', rollback: 'true', env: 'DATABASE_URL=postgres://b\nNEW_FLAG=1' }).result
    const warning = core.log.find((line) => line.startsWith('warning: web:1 ran with other env names'))
    expect(warning).toBe('warning: web:1 ran with other env names than this run gives it (new now: NEW_FLAG; gone now: OLD_FLAG): check that the env fits the release you go back to')
    expect(JSON.stringify(host.state)).not.toContain('postgres://')
  })

  it('with keep-previous: running the old slot is drained and kept, and rollback only switches to it', async () => {
    const host = await history(1, { 'keep-previous': 'running' })
    host.loads = image('22')
    await run(host, { 'web:2': image('22') }, { image: 'web:2', 'keep-previous': 'running' }).result
    expect(host.calls).toContain('drain web-blue')
    expect([...host.containers.keys()].sort()).toEqual(['web-blue', 'web-green'])
    host.calls.splice(0)
    const report = await run(host, {}, { image: '', service: 'web', rollback: 'true', 'keep-previous': 'running' }).result
    expect(host.calls).toContain('reuse web-blue')
    expect(host.calls.some((call) => call.startsWith('start'))).toBe(false)
    expect(report).toMatchObject({ slot: 'blue', image: 'web:1', instant: true })
  })

  it('replicas: starts, checks and retires every container of a slot', async () => {
    const host = await history(1, { replicas: '3' })
    expect(host.calls).toContain('start web-blue web-blue-2 web-blue-3')
    host.loads = image('22')
    await run(host, { 'web:2': image('22') }, { image: 'web:2', replicas: '3' }).result
    expect(host.calls).toContain('retire web-blue web-blue-2 web-blue-3')
    expect([...host.containers.keys()].sort()).toEqual(['web-green', 'web-green-2', 'web-green-3'])
  })
})

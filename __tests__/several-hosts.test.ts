import { jest } from '@jest/globals'
import { coreMock } from './support/core-mock.js'
import { FakeHost, fakeRunner, image } from './support/fake-host.js'

const core = coreMock()
jest.unstable_mockModule('@actions/core', () => core)
const { deployHosts, RolloutError } = await import('../src/rollout/several-hosts.js')
const { parseInputs } = await import('../src/inputs.js')

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----'
const v1 = image('a1')
const v2 = image('b2')
const HOSTS = ['h1.example.com', 'h2.example.com', 'h3.example.com']

/** A host where web:1 is live on blue, and which loads web:2 when sent. */
function liveHost(name: string): FakeHost {
  const host = new FakeHost()
  ;(host as { target: string }).target = `deploy@${name}:22`
  host.addImage(v1, 'web:1')
  host.containers.set('web-blue', { name: 'web-blue', state: 'running', slot: 'blue', image: 'web:1', imageId: v1.id })
  host.routes.set('web', { service: 'web', slot: 'blue', container: 'web-blue', appPort: 8080, image: 'web:1', imageId: v1.id, serverNames: [] })
  const live = { slot: 'blue' as const, container: 'web-blue', image: 'web:1', imageId: v1.id, appPort: 8080, deployedAt: 't1' }
  host.state = { version: 1, service: 'web', live, history: [live] }
  host.loads = v2
  return host
}

function rollout(hosts: Map<string, FakeHost>, extra: Record<string, string> = {}) {
  const calls: string[] = []
  const runner = fakeRunner({ 'web:2': v2 }, calls)
  const inputs = parseInputs({ hosts: [...hosts.keys()].join('\n'), key: KEY, image: 'web:2', ...extra })
  const connect = async (given: { host: string }) => {
    const host = hosts.get(given.host)
    if (!host) throw new Error('Could not connect: connection refused')
    return host
  }
  return { result: deployHosts(inputs, { connect: connect as never, runner, holder: 'test' }), runner, calls }
}

const hostsOf = (names = HOSTS) => new Map(names.map((name) => [name, liveHost(name)]))

beforeEach(() => core.log.splice(0))

describe('several hosts', () => {
  it('reads the image once for every host, goes live on the canary first, then the rest', async () => {
    const hosts = hostsOf()
    const { result, runner } = rollout(hosts)
    const report = await result
    expect(runner.saves).toEqual(['web:2'])
    expect(report.hosts.map((host) => [host.target, host.result, host.report?.slot])).toEqual(HOSTS.map((name) => [`deploy@${name}:22`, 'live', 'green']))
    for (const host of hosts.values()) {
      expect(host.state?.live?.image).toBe('web:2')
      expect(host.loadedBytes).toBeGreaterThan(0)
    }
    // The canary switched before the others started their candidates.
    const [canary, second] = [...hosts.values()]
    expect(canary.calls).toContain('switch web-green')
    expect(second.calls.indexOf('start web-green')).toBeGreaterThan(-1)
  })

  it('runs the release command once, on the first host', async () => {
    const hosts = hostsOf()
    await rollout(hosts, { 'release-command': 'bin/migrate' }).result
    const released = [...hosts.values()].map((host) => host.calls.filter((call) => call.startsWith('release')).length)
    expect(released).toEqual([1, 0, 0])
    for (const host of hosts.values()) expect(host.state?.live?.released).toBe(true)
  })

  it('a host that fails its health check sends every host that switched back (all-or-nothing)', async () => {
    const hosts = hostsOf()
    hosts.get('h3.example.com')!.health = { healthy: false, attempts: 3, reason: 'no healthy answer within 60 s' }
    const failed = rollout(hosts, { 'canary-hosts': '1', 'batch-size': '1' }).result
    await expect(failed).rejects.toThrow(/deploy@h3.example.com:22 failed; every host that had switched went back \(all-or-nothing: true\)/)
    const report = await failed.catch((error) => (error as InstanceType<typeof RolloutError>).report)
    expect(report.hosts.map((host) => host.result)).toEqual(['reverted', 'reverted', 'failed'])
    for (const host of hosts.values()) {
      expect(host.routes.get('web')?.slot).toBe('blue')
      expect(host.state?.live?.image).toBe('web:1')
      expect([...host.containers.keys()]).toEqual(['web-blue'])
    }
  })

  it('with all-or-nothing false the hosts that switched stay, and the step still fails', async () => {
    const hosts = hostsOf()
    hosts.get('h3.example.com')!.health = { healthy: false, attempts: 3, reason: 'no healthy answer' }
    const failed = rollout(hosts, { 'all-or-nothing': 'false', 'batch-size': '1' }).result
    await expect(failed).rejects.toThrow(/the hosts that switched keep the new release/)
    const [h1, h2, h3] = [...hosts.values()]
    expect([h1.state?.live?.image, h2.state?.live?.image, h3.state?.live?.image]).toEqual(['web:2', 'web:2', 'web:1'])
  })

  it('an unreachable host stops the rollout before any host changes', async () => {
    const hosts = hostsOf()
    const given = new Map(hosts)
    given.set('h4.example.com', undefined as never)
    await expect(rollout(given).result).rejects.toThrow(/h4.example.com:22: Could not connect/)
    for (const host of hosts.values()) expect(host.calls.filter((call) => !['survey'].includes(call))).toEqual([])
  })

  it('a host that refuses the check stops the rollout before any host changes', async () => {
    const hosts = hostsOf()
    hosts.get('h2.example.com')!.proxy = { status: 'missing', portBusy: true, otherServices: [], network: { mode: 'missing' } }
    await expect(rollout(hosts).result).rejects.toThrow(/Refused before any host changed:\ndeploy@h2.example.com:22: proxy-port: port 80 is already in use/)
    for (const host of hosts.values()) expect(host.calls.some((call) => call.startsWith('load') || call.startsWith('start'))).toBe(false)
  })
})

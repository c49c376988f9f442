// Canary and maintenance: the sequence against a fake host, the judge, the proxy's counts, and
// what the proxy config says about them.
import { jest } from '@jest/globals'
import { coreMock } from './support/core-mock.js'
import { FakeHost, fakeRunner, image } from './support/fake-host.js'
import type { CanaryCounts } from '../src/host/canary-counts.js'

const core = coreMock()
jest.unstable_mockModule('@actions/core', () => core)
const { deploy } = await import('../src/rollout/single-host.js')
const { switchMaintenance } = await import('../src/rollout/maintenance.js')
const { parseInputs } = await import('../src/inputs.js')
const { renderSummary } = await import('../src/report/summary.js')
const { judgeCanary } = await import('../src/rollout/canary.js')
const { parseCanaryCounts, percentileMs } = await import('../src/host/canary-counts.js')
const { LISTEN_CONFIG, LISTEN_FILE, renderServiceConf } = await import('../src/host/nginx-config.js')

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----'
const inputs = (overrides: Record<string, string> = {}) => parseInputs({ host: 'example.com', key: KEY, image: 'web:2', ...overrides })

/** Virtual time: every sleep returns at once and moves the clock on. */
function fakeClock() {
  let now = 0
  return { now: () => now, sleep: async (ms: number) => void (now += ms) }
}

function run(host: FakeHost, overrides: Record<string, string> = {}) {
  const runner = fakeRunner({ 'web:1': image('11'), 'web:2': image('22') }, host.calls)
  return deploy(inputs(overrides), { connect: async () => host, runner, holder: 'test', clock: fakeClock() })
}

/** web:1 live on blue, deployed through the fake (so its proxy config exists). */
async function liveV1(): Promise<FakeHost> {
  const host = new FakeHost()
  host.loads = image('11')
  await run(host, { image: 'web:1' })
  host.loads = image('22')
  host.calls.splice(0)
  return host
}

/** `requests` per slot with `errors` 5xx, all answered within 5 ms. */
function counts(green: [number, number], blue: [number, number]): CanaryCounts {
  const slot = ([requests, errors]: [number, number]) => ({ requests, errors, histogram: [requests, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] })
  return { green: slot(green), blue: slot(blue) }
}

beforeEach(() => core.log.splice(0))

describe('canary', () => {
  it('a healthy canary gets its share, is watched for canary-duration, then promoted to everyone', async () => {
    const host = await liveV1()
    host.canaryCounts = [counts([10, 0], [90, 0]), counts([60, 0], [540, 1])]
    const report = await run(host, { canary: '10', 'canary-duration': '30' })
    const order = (call: string) => host.calls.indexOf(call)
    expect(order('canary green 10')).toBeGreaterThan(host.calls.findIndex((call) => call.startsWith('health ')))
    expect(order('canary green 10')).toBeLessThan(order('switch web-green'))
    // Read every 5 s for 30 s; the judge waits for the end, since the candidate stays good.
    expect(host.calls.filter((call) => call === 'read-canary')).toHaveLength(6)
    expect(host.canary).toBeUndefined()
    expect(report.canary).toMatchObject({ outcome: 'promote', candidate: { requests: 60, errors: 0 }, live: { requests: 540, errors: 1 } })
    const summary = renderSummary(report)
    expect(summary).toContain('**Canary:** 10% of clients for 30 s, promoted')
    expect(summary).toContain('| new | `web-green` | 60 | 0 (0.0%) | p50 ≤ 5 ms, p95 ≤ 5 ms |')
  })

  it('a canary with too many 5xx goes back at once: clients back on the live slot, the candidate drained, the step fails with the figures', async () => {
    const host = await liveV1()
    host.canaryCounts = [counts([40, 12], [360, 0])]
    await expect(run(host, { canary: '10', 'canary-duration': '60' })).rejects.toThrow(
      /^Canary sent back: web-green answered 30\.0% 5xx \(12 of 40 requests\) against web-blue answered 0\.0% 5xx \(0 of 360 requests\): more than canary-max-5xx \(1 point\) above the live release\nThe host is as before: web-blue \(web:1\) still serves on port 80; every client is back on web-blue; web-green drained and removed\.$/
    )
    expect(host.calls.filter((call) => call === 'read-canary')).toHaveLength(1)
    expect(host.calls.indexOf('stop-canary')).toBeLessThan(host.calls.indexOf('retire web-green'))
    expect(host.calls.some((call) => call.startsWith('switch'))).toBe(false)
    expect(host.state?.live?.image).toBe('web:1')
  })

  it('a canary nobody used is not promoted', async () => {
    const host = await liveV1()
    host.canaryCounts = [counts([3, 0], [30, 0])]
    await expect(run(host, { canary: '5', 'canary-duration': '10' })).rejects.toThrow(
      'Canary sent back: web-green answered 3 request(s) in 10 s, fewer than canary-min-requests (20): too few to judge'
    )
  })

  it('has nothing to compare with on a first deploy, and a rollback goes back at once', async () => {
    const host = new FakeHost()
    host.loads = image('11')
    await run(host, { image: 'web:1', canary: '10' })
    host.loads = image('22')
    await run(host, { image: 'web:2' })
    await run(host, { image: '', service: 'web', rollback: 'true', canary: '10' })
    expect(host.calls.some((call) => call.startsWith('canary'))).toBe(false)
  })
})

describe('judgeCanary', () => {
  const rules = { percent: 10, durationSeconds: 60, max5xx: 1, minRequests: 20 }
  const judge = (c: CanaryCounts, over = false) => judgeCanary(c, { candidate: 'green', live: 'blue' }, { candidate: 'web-green', live: 'web-blue' }, rules, over)

  it('compares with the live slot over the same seconds: a 5xx share both have is not held against the new release', () => {
    expect(judge(counts([100, 5], [900, 45]), true).outcome).toBe('promote')
    expect(judge(counts([100, 7], [900, 45]), true).outcome).toBe('revert')
  })

  it('waits for canary-min-requests before it sends a candidate back early', () => {
    expect(judge(counts([5, 1], [50, 0])).outcome).toBe('watch')
    expect(judge(counts([20, 1], [200, 0])).outcome).toBe('revert')
  })
})

describe('the proxy counts', () => {
  it('reads canary.sh lines and the percentiles from the histogram', () => {
    const parsed = parseCanaryCounts('SLOT green 10 1 2 3 5 0 0 0 0 0 0 0 0 0\nSLOT blue 4 0 4 0 0 0 0 0 0 0 0 0 0 0\nnoise\n')
    expect(parsed.green).toEqual({ requests: 10, errors: 1, histogram: [2, 3, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0] })
    expect(percentileMs(parsed.green, 50)).toBe(10)
    expect(percentileMs(parsed.green, 95)).toBe(25)
    expect(percentileMs(parsed.blue, 95)).toBe(5)
  })
})

describe('maintenance', () => {
  it('on and off under the lock, with the default page, and says what clients get', async () => {
    const host = await liveV1()
    const deps = { connect: async () => host, runner: fakeRunner({}, host.calls), holder: 'test' }
    const on = await switchMaintenance(inputs({ image: '', service: 'web', maintenance: 'on' }), deps)
    expect(on).toMatchObject({ on: true, status: 503, page: true })
    expect(host.maintenance.get('web')).toContain('Down for maintenance')
    expect(host.calls.slice(0, 2)).toEqual(['lock web', 'maintenance web on'])
    const off = await switchMaintenance(inputs({ image: '', service: 'web', maintenance: 'off' }), deps)
    expect(off).toMatchObject({ on: false, status: 200, page: false })
    expect(host.maintenance.has('web')).toBe(false)
    expect(host.released).toBe(true)
  })

  it('refuses, before connecting, maintenance together with a deploy, and a page without maintenance: on', () => {
    expect(() => inputs({ maintenance: 'on' })).toThrow('maintenance: give it in a step of its own, without image or rollback')
    expect(() => inputs({ image: '', service: 'web', maintenance: 'off', 'maintenance-page': '<h1>x</h1>' })).toThrow('maintenance-page: only with maintenance: on')
    expect(() => inputs({ image: '', maintenance: 'on' })).toThrow('service: required without an image')
    expect(() => inputs({ image: '', service: 'web', maintenance: 'yes' })).toThrow('maintenance: expected on or off')
    expect(() => inputs({ canary: '100' })).toThrow('canary: expected a whole number from 0 to 99, got 100')
    expect(() => inputs({ 'canary-max-5xx': '1.234' })).toThrow('canary-max-5xx: expected a percentage from 0 to 100')
    expect(inputs({ 'canary-max-5xx': '0.5' }).canaryMax5xx).toBe(0.5)
  })
})

describe('the proxy config', () => {
  const conf = renderServiceConf({
    service: 'web', serverNames: [], websocketTimeout: 60, accessLog: false,
    slots: [{ slot: 'blue', targets: ['10.0.0.254:8080'] }, { slot: 'green', targets: ['10.0.0.253:8080'] }]
  })

  it('sets the listen options (reuseport) in a file that nginx reads after every service\'s, so the first server of a port is still a service\'s', () => {
    expect(LISTEN_CONFIG).toMatch(/listen 80 reuseport;\n {4}listen 443 reuseport;/)
    expect(LISTEN_CONFIG).not.toContain('default_server')
    // nginx reads conf.d/*.conf sorted by bytes; a service is [a-z0-9-] and _common.conf has no server.
    for (const service of ['zzzz', 'z-9', '0', 'zz-bluegreen-listen']) {
      expect(Buffer.compare(Buffer.from(`${service}.conf`), Buffer.from(LISTEN_FILE))).toBe(-1)
    }
    expect(conf).toMatch(/listen 80 default_server;\n/)
  })

  it('tests a page file per request for maintenance, and lets the health path through', () => {
    expect(conf).toContain('if (-f /etc/nginx/conf.d/bluegreen/maintenance/web.html) { set $bluegreen_maintenance on; set $bluegreen_retry_after 60; }')
    // The health path is a file the switch writes, so the config is the same whatever it is.
    expect(conf).toContain('if (-f /etc/nginx/conf.d/bluegreen/exempt/web$uri) { set $bluegreen_maintenance ""; set $bluegreen_retry_after ""; }')
    expect(conf).toContain('try_files /web.html =503;')
  })

  it('sends a canary bucket to a slot by a file per bucket, after the live pick, and sets its cookie only during a canary', () => {
    const live = conf.indexOf('/bluegreen/web/green)')
    const canary = conf.indexOf('if (-f /etc/nginx/conf.d/bluegreen/canary/web/green.$bluegreen_bucket) { set $bluegreen_slot green; set $bluegreen_upstream bluegreen_web_green; }')
    expect(canary).toBeGreaterThan(live)
    expect(conf).toContain('if (-f /etc/nginx/conf.d/bluegreen/canary/web/on) { set $bluegreen_canary 1; set $bluegreen_cookie "bluegreen_bucket=$bluegreen_bucket;')
    expect(conf).toContain('access_log /tmp/bluegreen-canary-web.log bluegreen_canary if=$bluegreen_canary;')
  })

  it('during the closing window before a reload, sends each request on to the same slot with its connection closed', () => {
    const location = conf.slice(conf.indexOf('    location / {'), conf.indexOf('    location = /.bluegreen/maintenance'))
    // After the maintenance and upgrade checks, so those answer as they always do.
    expect(location.indexOf('if (-f /tmp/bluegreen-closing) { return 500; }')).toBeGreaterThan(location.indexOf('return 418;'))
    expect(location).toContain('error_page 500 = @bluegreen_closing;')
    const closing = conf.slice(conf.indexOf('    location @bluegreen_closing {'), conf.indexOf('    location = /.bluegreen/maintenance'))
    expect(closing).toContain('proxy_pass http://$bluegreen_upstream;')
    expect(closing).toContain('proxy_request_buffering off;')
  })
})

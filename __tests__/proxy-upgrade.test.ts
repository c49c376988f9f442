import { CLOSING_FLAG, LISTEN_CONFIG, LISTEN_FILE, PROXY_GENERATION, renderServiceConf } from '../src/host/nginx-config.js'
import { imageChanged, parseProxyCheck, proxyChanges, proxyOutcome, proxyProblems } from '../src/host/proxy.js'
import { parseSurvey } from '../src/host/survey.js'
import { proxyLines } from '../src/report/summary.js'

// Issue #18 item 6: a proxy-image upgrade without a gap (holder layout, handover, closing window).

const HOLDER_ID = 'a'.repeat(64)
const bindings = '{"80/tcp":[{"HostIp":"","HostPort":"8080"}],"443/tcp":[{"HostIp":"","HostPort":"8443"}]}'
const nginxLine = (over: { mode?: string; image?: string; id?: string; generation?: string; started?: string; bindings?: string } = {}) =>
  `proxy running|${over.bindings ?? '{}'}|${over.image ?? 'nginx:alpine'}|${over.mode ?? `container:${HOLDER_ID}`}|${over.id ?? 'sha256:111'}|${over.generation ?? String(PROXY_GENERATION)}|${over.started ?? '2026-12-05T00:10:00.5Z'}`
const holderLine = (started = '2026-12-05T00:10:00.1Z', status = 'running') => `holder ${status}|${bindings}|${HOLDER_ID}|${started}`

describe('the proxy as the survey reads it', () => {
  it('holder layout: the ports are the holder\'s, and nginx in its namespace is healthy', () => {
    const check = parseProxyCheck([nginxLine(), holderLine(), 'proxy-image-id sha256:111', 'common-current'].join('\n'))
    expect(check).toMatchObject({ status: 'running', layout: 'holder', publishedPort: 8080, publishedHttpsPort: 8443, imageId: 'sha256:111', wantedImageId: 'sha256:111', generation: PROXY_GENERATION, holderHealthy: true })
    expect(proxyChanges(check, { image: 'nginx:alpine' })).toEqual([])
  })

  it('single layout (before issue #18): the ports are nginx\'s own, and it is kept while its image is the one asked for', () => {
    const check = parseProxyCheck([nginxLine({ mode: 'e2e-net', bindings, generation: '' }), 'common-current'].join('\n'))
    expect(check).toMatchObject({ layout: 'single', publishedPort: 8080, publishedHttpsPort: 8443 })
    expect(check.generation).toBeUndefined()
    expect(proxyChanges(check, { image: 'nginx:alpine' })).toEqual([])
    expect(proxyChanges(check, { image: 'nginx:1.27' })).toEqual(['proxy-image nginx:alpine -> nginx:1.27'])
  })

  it('a new proxy-image: another name, or the same name with another image on the host', () => {
    const check = parseProxyCheck([nginxLine(), holderLine(), 'proxy-image-id sha256:222', 'common-current'].join('\n'))
    expect(imageChanged(check, { image: 'nginx:alpine' })).toBe(true)
    expect(imageChanged(check, { image: 'nginx:1.27' })).toBe(true)
    const same = parseProxyCheck([nginxLine(), holderLine(), 'common-current'].join('\n'))
    expect(imageChanged(same, { image: 'nginx:alpine' })).toBe(false)
    expect(imageChanged(parseProxyCheck('proxy missing'), { image: 'nginx:1.27' })).toBe(false)
  })

  it('an nginx whose holder restarted, stopped or was replaced needs the proxy step', () => {
    const image = { image: 'nginx:alpine' }
    const restarted = parseProxyCheck([nginxLine(), holderLine('2026-12-05T00:20:00Z'), 'common-current'].join('\n'))
    expect(restarted.holderHealthy).toBe(false)
    expect(proxyChanges(restarted, image)).toEqual(['the proxy holder is not the namespace nginx runs in'])
    expect(parseProxyCheck([nginxLine(), holderLine(undefined, 'exited'), 'common-current'].join('\n')).holderHealthy).toBe(false)
    expect(parseProxyCheck([nginxLine(), 'common-current'].join('\n')).holderHealthy).toBe(false)
    expect(parseProxyCheck([nginxLine({ mode: `container:${'b'.repeat(64)}` }), holderLine(), 'common-current'].join('\n')).holderHealthy).toBe(false)
  })

  it('the action\'s proxy generation or shared config changed', () => {
    const old = parseProxyCheck([nginxLine({ generation: '0' }), holderLine()].join('\n'))
    expect(proxyChanges(old, { image: 'nginx:alpine' })).toEqual([
      "the action's shared nginx config changed",
      `the action's proxy settings (generation 0 -> ${PROXY_GENERATION})`
    ])
  })

  it('nginx removed by hand, its holder left: the port the holder publishes is the proxy\'s, not a conflict', () => {
    const spec = { network: 'e2e-net', port: 8080, image: 'nginx:alpine', service: 'web', serverNames: [] }
    const check = parseProxyCheck(['proxy missing', holderLine(), 'port-busy'].join('\n'))
    expect(check).toMatchObject({ status: 'missing', holderPort: 8080 })
    expect(proxyProblems(check, spec)).toEqual([])
    expect(proxyProblems(check, { ...spec, port: 9090 })).toEqual([expect.stringContaining('port 9090 is already in use on the host')])
    expect(proxyProblems(parseProxyCheck('proxy missing\nport-busy'), spec)).toEqual([expect.stringContaining('port 8080 is already in use')])
  })

  it('comes through the whole survey output', () => {
    const out = ['--lock', 'none', '--state', '', '--live', '', '--slots', '--addresses', '--conf', '--route', '', '--containers', '--network', 'pinned 10.1.0.0/24',
      '--proxy', nginxLine(), holderLine(), 'proxy-image-id sha256:111', 'common-current', '--image'].join('\n')
    expect(parseSurvey(out, 'web').proxy).toMatchObject({ layout: 'holder', publishedPort: 8080, holderHealthy: true, network: { mode: 'pinned' } })
  })
})

describe('what ensure-proxy.sh said', () => {
  it('a handover', () => {
    const outcome = proxyOutcome(['proxy upgraded (proxy-image nginx:alpine -> pu/nginx:2) by a handover, without a gap: 2460 ms'])
    expect(outcome).toEqual({ said: ['proxy upgraded (proxy-image nginx:alpine -> pu/nginx:2) by a handover, without a gap: 2460 ms'], upgraded: 'proxy-image nginx:alpine -> pu/nginx:2' })
    expect(proxyLines({ proxy: { upgraded: outcome.upgraded } }).join('\n')).toContain('**Proxy:** upgraded by a handover (proxy\\-image nginx')
  })

  it('the move to the holder layout, with its one gap', () => {
    const outcome = proxyOutcome(['proxy moved to the holder layout (proxy-image a -> b), once, with a gap:', 'STOPPED 310', 'STARTED 720', 'GAP 905', 'MIGRATED'])
    expect(outcome.gapMs).toBe(905)
    expect(outcome.said).toEqual(['proxy moved to the holder layout (proxy-image a -> b), once, with a gap: new connections waited 905 ms (the old nginx was gone after 310 ms, the new one started by 720 ms)'])
    expect(proxyLines({ proxy: { gapMs: 905 } }).join('\n')).toContain('moved once to the holder layout')
  })

  it('a handover postponed by a canary, and nothing at all', () => {
    expect(proxyOutcome(['proxy upgrade postponed (x): the canary of web runs in it; the next deploy upgrades it']).postponed).toContain('canary of web')
    expect(proxyOutcome(['proxy running'])).toEqual({ said: ['proxy running'] })
    expect(proxyLines({})).toEqual([])
  })
})

describe('the nginx config of a handover', () => {
  const conf = renderServiceConf({ service: 'web', serverNames: [], websocketTimeout: 3600, accessLog: false, slots: [{ slot: 'blue', targets: ['10.0.0.200:8080'] }] })

  it('the closing window: a flag in the container turns keep-alive off, and the request still reaches the app', () => {
    expect(conf).toContain(`if (-f ${CLOSING_FLAG}) { return 500; }`)
    expect(conf).toContain('error_page 500 = @bluegreen_closing;')
    const named = conf.slice(conf.indexOf('location @bluegreen_closing {'))
    expect(named.slice(0, named.indexOf('\n    }'))).toContain('proxy_pass http://$bluegreen_upstream;')
    // After maintenance, an empty slot and upgrades: those answer as before.
    expect(conf.indexOf('return 500;')).toBeGreaterThan(conf.indexOf('return 418;'))
  })

  it('the listener: reuseport once per port, last in conf.d, never a service\'s default', () => {
    expect(LISTEN_CONFIG).toContain('listen 80 reuseport;')
    expect(LISTEN_CONFIG).toContain('listen 443 ssl reuseport;')
    expect(LISTEN_CONFIG).toContain('ssl_reject_handshake on;')
    expect(LISTEN_CONFIG).not.toContain('default_server')
    expect(conf).not.toContain('reuseport')
    // After any service name of [a-z0-9-] in the byte order nginx's glob sorts by.
    expect([LISTEN_FILE, 'zzz.conf', 'web.conf', '_common.conf'].sort()).toEqual(['_common.conf', 'web.conf', 'zzz.conf', LISTEN_FILE])
  })
})

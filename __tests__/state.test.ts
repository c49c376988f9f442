import { confDigest, parseLegacyRoute, probeHostName, renderServiceConf, type Route } from '../src/host/nginx-config.js'
import { nextState, resolveSituation, type Release, type ServiceState } from '../src/host/state.js'
import { parseSurvey } from '../src/host/survey.js'

const release = (slot: 'blue' | 'green', image: string, imageId: string): Release => ({
  slot, container: `web-${slot}`, image, imageId, appPort: 8080, deployedAt: `at-${image}`
})
const route = (r: Release, serverNames: string[] = []): Route => ({
  service: 'web', slot: r.slot, container: r.container, appPort: r.appPort, image: r.image, imageId: r.imageId, serverNames
})
const v1 = release('blue', 'web:1', 'sha256:1')
const v2 = release('green', 'web:2', 'sha256:2')
const v3 = release('blue', 'web:3', 'sha256:3')

describe('the proxy config of a service', () => {
  const conf = (slots: { slot: 'blue' | 'green'; targets: string[] }[], serverNames: string[] = []) =>
    renderServiceConf({ service: 'web-app', serverNames, websocketTimeout: 3600, accessLog: false, slots })

  it('names both slots at their pinned addresses and picks the live one by the symlink, blue first', () => {
    const text = conf([{ slot: 'green', targets: ['10.1.0.253:8080'] }, { slot: 'blue', targets: ['10.1.0.254:8080'] }])
    expect(text).toContain('listen 80 default_server;')
    expect(text).toContain('server_name _;')
    expect(text).toMatch(/upstream bluegreen_web_app_blue \{\n    server 10\.1\.0\.254:8080 [^\n]*;\n\}\nupstream bluegreen_web_app_green/)
    const blue = text.indexOf('if (-f /etc/nginx/conf.d/bluegreen/web-app/on) { set $bluegreen_slot blue; set $bluegreen_upstream bluegreen_web_app_blue; }')
    const green = text.indexOf('if (-f /etc/nginx/conf.d/bluegreen/web-app/green) { set $bluegreen_slot green; set $bluegreen_upstream bluegreen_web_app_green; }')
    expect(blue).toBeGreaterThan(0)
    expect(green).toBeGreaterThan(blue) // the later test wins: a request sees one slot or the other
    expect(text).toContain('if ($bluegreen_slot = none) { return 503; }')
    expect(text).toContain('proxy_pass http://$bluegreen_upstream;')
    expect(text).toContain('add_header X-Bluegreen-Slot $bluegreen_slot always;')
  })

  it('logs no requests to stdout unless asked (a stalled Docker engine would block nginx on a full log pipe)', () => {
    const quiet = conf([{ slot: 'blue', targets: ['10.1.0.254:8080'] }])
    expect(quiet).not.toContain('/dev/stdout')
    // Only a canary's own log, to a file, and only while a canary runs.
    expect(quiet.match(/access_log .*/g)).toEqual(['access_log /tmp/bluegreen-canary-web-app.log bluegreen_canary if=$bluegreen_canary;'])
    const logged = renderServiceConf({ service: 'web-app', serverNames: [], websocketTimeout: 60, accessLog: true, slots: [{ slot: 'blue', targets: ['10.1.0.254:8080'] }] })
    expect(logged).toContain('    access_log /dev/stdout combined;\n')
  })

  it('gives upgraded connections their own idle timeout', () => {
    const text = conf([{ slot: 'blue', targets: ['10.1.0.254:8080'] }])
    expect(text).toContain('error_page 418 = @bluegreen_upgrade;')
    expect(text).toMatch(/location @bluegreen_upgrade \{[^}]*proxy_read_timeout 3600s;[^}]*\}/)
  })

  it('is the same text for the same slots in any order: a routine deploy finds no change', () => {
    const a = conf([{ slot: 'blue', targets: ['10.1.0.254:8080'] }, { slot: 'green', targets: ['10.1.0.253:8080'] }])
    const b = conf([{ slot: 'green', targets: ['10.1.0.253:8080'] }, { slot: 'blue', targets: ['10.1.0.254:8080'] }])
    expect(confDigest(a)).toBe(confDigest(b))
  })

  it('reaches a slot by container name on a network without pinned addresses', () => {
    const text = conf([{ slot: 'blue', targets: ['web-app-blue:8080'] }], ['a.example.com', '*.b.example.com'])
    expect(text).not.toMatch(/^upstream /m)
    expect(text).toContain('set $bluegreen_upstream web-app-blue:8080;')
    expect(text).toContain('    listen 80;\n')
    expect(text).toContain('server_name a.example.com *.b.example.com;')
  })

  it('reads the live route of a config written before slot symlinks from its first line', () => {
    expect(parseLegacyRoute(`# bluegreen-route ${JSON.stringify(route(v2))}\nserver {}`)).toEqual(route(v2))
    expect(parseLegacyRoute('server {}')).toBeUndefined()
  })

  it('probes with a Host header that reaches the route', () => {
    expect(probeHostName({ serverNames: [] })).toBe('bluegreen-check.invalid')
    expect(probeHostName({ serverNames: ['*.example.com'] })).toBe('bluegreen-check.example.com')
  })
})

describe('resolveSituation', () => {
  const state = (live?: Release, previous?: Release): ServiceState => ({ version: 1, service: 'web', live, previous, history: [] })

  it('first deploy: nothing live, blue is idle', () => {
    expect(resolveSituation({ state: state(), containers: [] })).toEqual({ idleSlot: 'blue', recovered: false, live: undefined, previous: undefined })
  })

  it('the proxy config and state.json agree', () => {
    const situation = resolveSituation({ state: state(v2, v1), route: route(v2), containers: [] })
    expect(situation).toEqual({ live: v2, previous: v1, idleSlot: 'blue', recovered: false })
  })

  it('a switch that was not recorded: the proxy config wins, the recorded live becomes previous', () => {
    const situation = resolveSituation({ state: state(v1), route: route(v2), containers: [] })
    expect(situation).toMatchObject({ live: { slot: 'green', image: 'web:2' }, previous: v1, idleSlot: 'blue', recovered: true })
  })

  it('a lost proxy config: nothing is routed, the last live release is what a rollback returns to', () => {
    const situation = resolveSituation({ state: state(v2, v1), containers: [] })
    expect(situation).toEqual({ live: undefined, previous: v2, idleSlot: 'blue', recovered: true })
  })
})

describe('nextState', () => {
  it('the replaced release becomes previous, history keeps the newest first', () => {
    const before: ServiceState = { version: 1, service: 'web', live: v1, history: [v1] }
    const after = nextState(before, { live: v1, idleSlot: 'green', recovered: false }, v2)
    expect(after).toEqual({ version: 1, service: 'web', live: v2, previous: v1, history: [v2, v1] })
  })

  it('re-deploying the live image keeps the older previous, so rollback still changes something', () => {
    const before: ServiceState = { version: 1, service: 'web', live: v2, previous: v1, history: [v2, v1] }
    const again = { ...v2, slot: 'blue' as const, container: 'web-blue' }
    const after = nextState(before, { live: v2, previous: v1, idleSlot: 'blue', recovered: false }, again)
    expect(after.previous).toEqual(v1)
  })

  it('keeps fifty releases of history (the most keep-releases keeps)', () => {
    const history = Array.from({ length: 50 }, (_, i) => release('blue', `web:${i}`, `sha256:${i}`))
    const after = nextState({ version: 1, service: 'web', history }, { idleSlot: 'blue', recovered: false }, v3)
    expect(after.history).toHaveLength(50)
    expect(after.history[0]).toEqual(v3)
  })
})

describe('parseSurvey', () => {
  it('reads state.json, the live slot and its record, the addresses, the containers, the proxy and the image', () => {
    const stdout = [
      '--state', JSON.stringify({ version: 1, service: 'web', live: v1, history: [v1] }, null, 2), '',
      '--live', 'blue',
      '--slots', `blue ${JSON.stringify({ ...route(v1), targets: ['10.1.0.254:8080'] })}`, `green ${JSON.stringify(route(v2))}`,
      '--addresses', 'green 1 10.1.0.253', 'blue 1 10.1.0.254',
      '--conf', 'a'.repeat(64),
      '--route', '# bluegreen-service web', '',
      '--containers', 'web-blue\trunning\tblue\tweb:1\tsha256:1', 'web-green\texited\tgreen\t\t',
      '--proxy', 'proxy running|{"80/tcp":[{"HostIp":"","HostPort":"80"}]}|nginx:alpine',
      '--image', JSON.stringify({ Id: 'sha256:1', RootFS: { Layers: ['sha256:a'] }, Config: { ExposedPorts: { '8080/tcp': {} } } }), ''
    ].join('\n')
    const { snapshot, proxy, image } = parseSurvey(stdout, 'web')
    expect(proxy).toMatchObject({ status: 'running', publishedPort: 80 })
    expect(image).toMatchObject({ id: 'sha256:1', diffIds: ['sha256:a'], exposedPorts: ['8080/tcp'] })
    expect(snapshot.state.live).toEqual(v1)
    expect(snapshot.route).toEqual({ ...route(v1), targets: ['10.1.0.254:8080'] })
    expect(snapshot.slots?.green).toEqual(route(v2))
    expect(snapshot.addresses).toEqual({ blue: ['10.1.0.254'], green: ['10.1.0.253'] })
    expect(snapshot.confDigest).toBe('a'.repeat(64))
    expect(snapshot.legacy).toBeUndefined()
    expect(snapshot.containers).toEqual([
      { name: 'web-blue', state: 'running', slot: 'blue', image: 'web:1', imageId: 'sha256:1' },
      { name: 'web-green', state: 'exited', slot: 'green', image: undefined, imageId: undefined }
    ])
  })

  it('takes the live route from an old config\'s first line when the service has no symlink yet', () => {
    const stdout = ['--live', '', '--slots', '--route', `# bluegreen-route ${JSON.stringify(route(v1))}`, '--containers', '--proxy', 'proxy missing', '--image', ''].join('\n')
    const { snapshot } = parseSurvey(stdout, 'web')
    expect(snapshot.route).toEqual(route(v1))
    expect(snapshot.legacy).toEqual(route(v1))
  })

  it('treats a missing or torn state.json as empty', () => {
    expect(parseSurvey('--state\n{"version":1,\n--route\n\n--containers\n--network\nmissing\n--proxy\nproxy missing\n--image\n', 'web')).toEqual({
      snapshot: {
        state: { version: 1, service: 'web', history: [] }, route: undefined, slots: {}, addresses: {}, confDigest: undefined,
        legacy: undefined, containers: []
      },
      proxy: {
        status: 'missing', publishedPort: undefined, image: undefined, portBusy: false, httpsBusy: false, commonCurrent: false, pairRepair: false, otherServices: [],
        network: { mode: 'missing' }
      },
      image: undefined,
      lockGeneration: undefined
    })
  })
})

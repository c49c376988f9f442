import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { renderRoute, type Route } from '../src/host/nginx-config.js'
import { switchRoute } from '../src/host/proxy.js'
import { localSsh, stubCommands } from './support/local-host.js'

// The host side of the switch runs here under bash with the host's strict mode. The stub
// docker stands in for the proxy's answer (what nginx -t, the reload and the check through the
// proxy came to: the e2e suite runs that part in a real proxy) and for `docker update`.
const STUB_DOCKER = `#!/bin/sh
echo "$*" >> "$STUB_LOG"
case "$1" in
  update)
    if [ -n "\${STUB_UPDATE_ERROR:-}" ]; then echo "$STUB_UPDATE_ERROR" >&2; exit 1; fi ;;
  exec)
    if [ -n "\${STUB_PROXY_SAYS:-}" ]; then echo "$STUB_PROXY_SAYS"; fi
    exit "\${STUB_PROXY_EXIT:-0}" ;;
  *) echo "stub docker: unexpected $*" >&2; exit 1 ;;
esac
`

const route: Route = {
  service: 'web', slot: 'blue', container: 'web-blue', appPort: 3000, image: 'web:2', imageId: 'sha256:abc', serverNames: ['web.test']
}
const old: Route = { ...route, slot: 'green', container: 'web-green', image: 'web:1' }

describe('switching the proxy (host side)', () => {
  const stubs = stubCommands({ docker: STUB_DOCKER })
  let root: string
  let log: string
  let conf: string
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'bg-root-'))
    mkdirSync(join(root, '_proxy', 'bluegreen', 'conf.d'), { recursive: true })
    conf = join(root, '_proxy', 'bluegreen', 'conf.d', 'web.conf')
    writeFileSync(conf, renderRoute(old))
    log = join(root, 'docker.log')
  })
  afterEach(() => rmSync(root, { recursive: true, force: true }))
  afterAll(() => stubs.remove())
  const switchWith = (vars: Record<string, string> = {}) =>
    switchRoute(localSsh(stubs.dir, { STUB_LOG: log, ...vars }, root), 'bluegreen', route, '/health')

  it('writes the route, has the proxy reload, and gives the candidate its restart policy', async () => {
    expect(await switchWith()).toEqual({ ok: true })
    expect(readFileSync(conf, 'utf8')).toBe(renderRoute(route))
    const calls = readFileSync(log, 'utf8')
    expect(calls).toMatch(/^update --restart unless-stopped web-blue$/m)
    expect(calls).toMatch(/^exec bluegreen-proxy sh -c /m)
  })

  it('fails like a switch that did not take when the candidate cannot get its restart policy', async () => {
    const result = await switchWith({ STUB_UPDATE_ERROR: 'Error response from daemon: No such container: web-blue' })
    expect(result).toEqual({
      ok: false,
      reloaded: true,
      message: 'Could not give web-blue its restart policy: Error response from daemon: No such container: web-blue'
    })
  })

  it('puts the previous route back at once when nginx -t refuses the new one', async () => {
    const result = await switchWith({ STUB_PROXY_EXIT: '3', STUB_PROXY_SAYS: 'nginx: [emerg] host not found in upstream', STUB_UPDATE_ERROR: 'late' })
    expect(result).toMatchObject({ ok: false, reloaded: false })
    expect(result.ok || result.message).toMatch(/^nginx refused the new config \(nginx -t\), the previous one is back: nginx: \[emerg\] host not found/)
    expect(readFileSync(conf, 'utf8')).toBe(renderRoute(old))
  })

  it('reports the last answer through the proxy when the new slot never answered', async () => {
    const result = await switchWith({ STUB_PROXY_EXIT: '4', STUB_PROXY_SAYS: 'STATUS 502 SLOT none' })
    expect(result).toEqual({ ok: false, reloaded: true, message: 'The proxy did not serve web-blue after the switch (last answer: HTTP 502 from slot unknown)' })
  })
})

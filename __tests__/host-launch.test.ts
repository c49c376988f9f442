import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { HealthSpec } from '../src/host/health.js'
import { guardedRunner } from '../src/host/guard.js'
import { launchCandidate, type SwitchSpec } from '../src/host/launch.js'
import type { Route } from '../src/host/nginx-config.js'
import { serviceDir } from '../src/host/paths.js'
import type { CandidateSpec } from '../src/host/slots.js'
import { localSsh, stubCommands } from './support/local-host.js'
import { tempDir } from './support/temp-dir.js'

// The launch step runs here under bash with the host's strict mode, against a stub docker whose
// `exec -i PROXY sh` is a local sh in a PID namespace of its own, a stub wget and a stub nginx:
// the start, the probe shell, the health loop and the switch (a symlink's rename, verified
// through the proxy) are the real script. STUB_* variables pick the case.
const STUB_DOCKER = `#!/bin/sh
echo "$*" >> "$STUB_LOG"
case "$1" in
  run)
    while [ $# -gt 0 ]; do
      if [ "$1" = --env-file ]; then cat "$2" > "$STUB_LOG.env"; ls -l "$2" | cut -c1-10 > "$STUB_LOG.mode"; echo "$2" > "$STUB_LOG.path"; fi
      shift
    done
    if [ -n "\${STUB_RUN_ERROR:-}" ]; then echo "$STUB_RUN_ERROR" >&2; exit 125; fi
    echo 0123abcd ;;
  exec)
    if [ -n "\${STUB_NO_PROXY:-}" ]; then echo "Error: No such container: proxy" >&2; exit 1; fi
    shift
    while [ "$1" != sh ]; do
      if [ "$1" = -e ]; then export "$2"; shift; fi
      shift
    done
    # unshare ignores SIGTERM while its child runs: the end of the probe shell is passed on as KILL.
    exec 3<&0
    unshare --pid --fork --kill-child --mount-proc sh <&3 &
    child=$!
    trap 'kill -9 $child' TERM
    wait $child ;;
  inspect)
    if [ -n "\${STUB_INSPECT_HANG:-}" ]; then sleep 30; fi
    echo "\${STUB_STATE:-running 0 0 none}" ;;
  logs) echo booting; echo "panic: no database" ;;
  update)
    if [ -n "\${STUB_UPDATE_ERROR:-}" ]; then echo "$STUB_UPDATE_ERROR" >&2; exit 1; fi ;;
  *) echo "stub docker: unexpected $*" >&2; exit 1 ;;
esac
`
// Health probes (no Host header) get 503 for the first STUB_FAILS, then 200. The switch's check
// through the proxy (Host: web.test) gets 200 from slot blue, or STUB_SWITCH_STATUS.
const STUB_WGET = `#!/bin/sh
case "$*" in *"Host: "*)
  if [ -n "\${STUB_SWITCH_STATUS:-}" ]; then echo "  HTTP/1.1 $STUB_SWITCH_STATUS Bad Gateway" >&2; exit 1; fi
  echo "  HTTP/1.1 200 OK" >&2; echo "  X-Bluegreen-Slot: blue" >&2; exit 0 ;;
esac
echo "$*" >> "$STUB_LOG.wget-args"
n=$(cat "$STUB_LOG.wget" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$STUB_LOG.wget"
if [ "$n" -le "\${STUB_FAILS:-0}" ]; then echo "  HTTP/1.1 503 Service Unavailable" >&2; exit 1; fi
echo "  HTTP/1.1 200 OK" >&2
`
const STUB_NGINX = `#!/bin/sh
echo "nginx $*" >> "$STUB_LOG"
if [ "$1" = -t ] && [ -n "\${STUB_NGINX_T_ERROR:-}" ]; then echo "$STUB_NGINX_T_ERROR"; exit 1; fi
exit 0
`

const candidate: CandidateSpec = {
  name: 'web-blue', network: 'bluegreen', service: 'web', slot: 'blue', image: 'web:2', imageId: 'sha256:abc', addresses: ['10.1.0.254']
}
const health: HealthSpec = { appPort: 3000, path: '/health', timeoutSeconds: 5 }
const env = [{ name: 'MODE', value: 'production' }, { name: 'API_TOKEN', value: 's3cret value' }]
const route: Route = {
  service: 'web', slot: 'blue', container: 'web-blue', appPort: 3000, image: 'web:2', imageId: 'sha256:abc', serverNames: ['web.test'],
  targets: ['10.1.0.254:3000']
}
const GENERATION = 3

/**
 * A state root with the proxy's folder (green live: its symlink and record) and the service's
 * lock, taken GENERATION times and held by a process standing in for this run's lock session.
 */
function hostState(stateRoot: string) {
  const proxyDir = join(stateRoot, '_proxy', 'bluegreen')
  const marker = join(proxyDir, 'conf.d', 'bluegreen', 'web')
  const lockDir = join(stateRoot, 'web')
  for (const slot of ['blue', 'green']) mkdirSync(join(proxyDir, 'conf.d', 'bluegreen', `slot-${slot}`), { recursive: true })
  mkdirSync(join(proxyDir, 'routes'), { recursive: true })
  symlinkSync('slot-green', marker)
  mkdirSync(lockDir, { recursive: true })
  writeFileSync(join(lockDir, 'lock.generation'), `${GENERATION}\n`)
  let holder: ChildProcess | undefined
  return {
    marker,
    record: (slot: string) => join(proxyDir, 'routes', `web.${slot}.json`),
    lockDir,
    async holdLock() {
      holder = spawn('flock', ['--no-fork', join(lockDir, 'lock'), 'sleep', '60'], { stdio: 'ignore' })
      for (let i = 0; i < 100; i++) {
        if (spawnSync('flock', ['-n', join(lockDir, 'lock'), 'true']).status !== 0) return
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      throw new Error('the stand-in lock session did not take the lock')
    },
    releaseLock: () => holder?.kill()
  }
}

describe('launching the candidate', () => {
  const stubs = stubCommands({ docker: STUB_DOCKER, wget: STUB_WGET, nginx: STUB_NGINX })
  const roots = tempDir('bg-root-')
  afterAll(() => stubs.remove())
  let log: string
  let run = 0
  let host: ReturnType<typeof hostState>
  let stateRoot: string
  beforeEach(async () => {
    log = join(stubs.dir, `log-${++run}`)
    stateRoot = join(roots, `root-${run}`)
    host = hostState(stateRoot)
    await host.holdLock()
  })
  afterEach(() => host.releaseLock())
  const sw: SwitchSpec = { route }
  const guard = { dir: serviceDir('web'), generation: GENERATION }
  const launch = (vars: Record<string, string> = {}, spec: HealthSpec = health, stubDir = stubs.dir) => {
    const ssh = localSsh(stubDir, { STUB_LOG: log, ...vars }, stateRoot)
    return launchCandidate(guardedRunner(ssh.run.bind(ssh), () => guard, () => 'web'), candidate, env, spec, sw)
  }

  it('starts the candidate at its pinned address, then probes it through the proxy until it answers 200', async () => {
    const launched = launch({ STUB_FAILS: '2' })
    await expect(launched.started).resolves.toBeUndefined()
    const attempts: string[] = []
    const result = await launched.health((line) => attempts.push(line))
    expect(result).toEqual({ healthy: true, attempts: 3 })
    expect(attempts).toEqual(['attempt 1: HTTP 503', 'attempt 2: HTTP 503', 'attempt 3: HTTP 200'])
    const calls = readFileSync(log, 'utf8')
    expect(calls).toMatch(/^run -d --name web-blue --network bluegreen --ip 10\.1\.0\.254 --restart no .* sha256:abc$/m)
    // One shell in the proxy for every probe, with the candidate's URL: its address, no DNS.
    expect(calls.match(/^exec /gm)).toHaveLength(1)
    expect(calls).toMatch(/^exec -i -e BG_PROBE=[\s\S]* -e BG_VERIFY=[\s\S]* -e BG_SLOT=blue bluegreen-proxy sh$/m)
    expect(readFileSync(`${log}.wget-args`, 'utf8').split('\n').filter(Boolean)).toEqual(Array(3).fill('-q -S -O /dev/null http://10.1.0.254:3000/health'))
  })

  it('hands env to docker run in a 0600 file that is gone afterwards, never on a command line', async () => {
    await launch().started
    expect(readFileSync(`${log}.env`, 'utf8')).toBe('MODE=production\nAPI_TOKEN=s3cret value\n')
    expect(readFileSync(`${log}.mode`, 'utf8').trim()).toBe('-rw-------')
    expect(existsSync(readFileSync(`${log}.path`, 'utf8').trim())).toBe(false)
    expect(readFileSync(log, 'utf8')).not.toContain('s3cret')
  })

  it("rejects started with Docker's reason when the candidate cannot start", async () => {
    const launched = launch({ STUB_RUN_ERROR: 'Unable to find image sha256:abc locally' })
    await expect(launched.started).rejects.toThrow('Could not start web-blue: Unable to find image sha256:abc locally (exit 125)')
  })

  it('fails at once with the exit code and the last log lines when the app crashes at boot', async () => {
    const result = await launch({ STUB_STATE: 'exited 0 3 none' }).health(() => undefined)
    expect(result.healthy).toBe(false)
    expect(result.reason).toMatch(/^the container stopped \(status exited, exit code 3, restarts 0\)\nLast log lines of web-blue:\nbooting\npanic: no database$/)
  })

  it('names the probe shell when the proxy cannot be entered, and stops at the timeout', async () => {
    const started = Date.now()
    const result = await launch({ STUB_NO_PROXY: '1' }, { ...health, timeoutSeconds: 1 }).health(() => undefined)
    expect(result.healthy).toBe(false)
    expect(result.reason).toMatch(/^no healthy answer within 1 s \(last: (no answer from the probe shell in bluegreen-proxy|Error: No such container: proxy)/)
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('keeps to health-timeout when the Docker engine stops answering', async () => {
    const started = Date.now()
    const result = await launch({ STUB_INSPECT_HANG: '1' }, { ...health, timeoutSeconds: 2 }).health(() => undefined)
    expect(result).toMatchObject({ healthy: false, reason: "the host's Docker engine stopped answering; no healthy answer within 2 s" })
    expect(Date.now() - started).toBeLessThan(12_000)
  })

  it('stops at its next attempt once the run is cancelled, and does not switch', async () => {
    writeFileSync(join(host.lockDir, `cancel.${GENERATION}`), '')
    const launched = launch()
    expect(await launched.health(() => undefined)).toMatchObject({ healthy: false, reason: 'the run was cancelled' })
    expect(readlinkSync(host.marker)).toBe('slot-green')
  })

  describe('then, healthy, switching the live-slot symlink in the same step', () => {
    // The check through the proxy retries 250 times, 0.02 s apart; a stub sleep keeps the
    // case where the new slot never answers short.
    const fast = stubCommands({ docker: STUB_DOCKER, wget: STUB_WGET, nginx: STUB_NGINX, sleep: '#!/bin/sh\nexit 0\n' })
    afterAll(() => fast.remove())

    it('records the slot, renames the symlink, checks through the proxy, and gives the candidate its restart policy', async () => {
      const launched = launch()
      expect(await launched.health(() => undefined)).toEqual({ healthy: true, attempts: 1 })
      expect(await launched.switched()).toEqual({ ok: true })
      expect(readlinkSync(host.marker)).toBe('slot-blue')
      expect(JSON.parse(readFileSync(host.record('blue'), 'utf8'))).toEqual(route)
      const calls = readFileSync(log, 'utf8')
      expect(calls).toMatch(/^update --restart unless-stopped web-blue$/m)
      expect(calls).not.toMatch(/^nginx /m) // no reload, no test: nothing in nginx changed
      expect(calls.match(/^exec /gm)).toHaveLength(1)
    })

    it('puts the symlink back when the candidate cannot get its restart policy', async () => {
      const result = await launch({ STUB_UPDATE_ERROR: 'Error response from daemon: No such container: web-blue' }).switched()
      expect(result).toEqual({
        ok: false,
        switchedBack: true,
        message: 'Could not give web-blue its restart policy: Error response from daemon: No such container: web-blue'
      })
      expect(readlinkSync(host.marker)).toBe('slot-green')
    })

    it('puts the symlink back and reports the last answer when the new slot never answered', async () => {
      const result = await launch({ STUB_SWITCH_STATUS: '502' }, health, fast.dir).switched()
      expect(result).toEqual({ ok: false, switchedBack: true, message: 'The proxy did not serve web-blue after the switch (last answer: HTTP 502 from slot unknown)' })
      expect(readlinkSync(host.marker)).toBe('slot-green')
    })

    it('does not start, or switch, once the host no longer holds the lock', async () => {
      host.releaseLock()
      await new Promise((resolve) => setTimeout(resolve, 100))
      const launched = launch()
      await expect(launched.started).rejects.toThrow(/^Lost the deploy lock of web/)
      await expect(launched.switched()).rejects.toThrow(/^Lost the deploy lock of web/)
      expect(readlinkSync(host.marker)).toBe('slot-green')
      expect(existsSync(log) ? readFileSync(log, 'utf8') : '').not.toMatch(/^run /m)
    })

    it('does not switch when another run has taken the lock since', async () => {
      writeFileSync(join(host.lockDir, 'lock.generation'), `${GENERATION + 1}\n`)
      await expect(launch().switched()).rejects.toThrow(/^Lost the deploy lock of web \(another deploy has taken it since\)/)
      expect(readlinkSync(host.marker)).toBe('slot-green')
    })
  })
})

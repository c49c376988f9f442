import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { HealthSpec } from '../src/host/health.js'
import { launchCandidate } from '../src/host/launch.js'
import type { CandidateSpec } from '../src/host/slots.js'
import { localSsh, stubCommands } from './support/local-host.js'

// The launch step runs here under bash with the host's strict mode, against a stub docker whose
// `exec -i PROXY sh` is a local sh and a stub wget: the start, the probe shell and the health
// loop are the real script. STUB_* variables pick the case.
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
    exec sh ;;
  inspect) echo "\${STUB_STATE:-running 0 0 none}" ;;
  logs) echo booting; echo "panic: no database" ;;
  *) echo "stub docker: unexpected $*" >&2; exit 1 ;;
esac
`
// Answers 503 to the first STUB_FAILS probes, then 200.
const STUB_WGET = `#!/bin/sh
n=$(cat "$STUB_LOG.wget" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$STUB_LOG.wget"
if [ "$n" -le "\${STUB_FAILS:-0}" ]; then echo "  HTTP/1.1 503 Service Unavailable" >&2; exit 1; fi
echo "  HTTP/1.1 200 OK" >&2
`

const candidate: CandidateSpec = { name: 'web-blue', network: 'bluegreen', service: 'web', slot: 'blue', image: 'web:2', imageId: 'sha256:abc' }
const health: HealthSpec = { appPort: 3000, path: '/health', timeoutSeconds: 5 }
const env = [{ name: 'MODE', value: 'production' }, { name: 'API_TOKEN', value: 's3cret value' }]

describe('launching the candidate', () => {
  const stubs = stubCommands({ docker: STUB_DOCKER, wget: STUB_WGET })
  afterAll(() => stubs.remove())
  let log: string
  let run = 0
  beforeEach(() => {
    log = join(stubs.dir, `log-${++run}`)
  })
  const launch = (vars: Record<string, string> = {}, spec: HealthSpec = health) =>
    launchCandidate(localSsh(stubs.dir, { STUB_LOG: log, ...vars }), candidate, env, spec)

  it('starts the candidate, then probes through the proxy until it answers 200', async () => {
    const launched = launch({ STUB_FAILS: '2' })
    await expect(launched.started).resolves.toBeUndefined()
    const attempts: string[] = []
    const result = await launched.health((line) => attempts.push(line))
    expect(result).toEqual({ healthy: true, attempts: 3 })
    expect(attempts).toEqual(['attempt 1: HTTP 503', 'attempt 2: HTTP 503', 'attempt 3: HTTP 200'])
    const calls = readFileSync(log, 'utf8')
    expect(calls).toMatch(/^run -d --name web-blue --network bluegreen --restart no .* sha256:abc$/m)
    // One shell in the proxy for every probe, with the candidate's URL.
    expect(calls.match(/^exec /gm)).toHaveLength(1)
    expect(calls).toMatch(/^exec -i -e BG_PROBE=[\s\S]* -e BG_URL=http:\/\/web-blue:3000\/health bluegreen-proxy sh$/m)
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
    await expect(launched.started).rejects.toThrow('Could not start web-blue: Unable to find image sha256:abc locally')
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
})

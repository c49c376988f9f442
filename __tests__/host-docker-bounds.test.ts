import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hostLayers, inspectHostImage } from '../src/host/images.js'
import { parsePreflight } from '../src/host/preflight.js'
import { SCRIPTS } from '../src/host/scripts.js'
import { bashCommand } from '../src/ssh/connection.js'
import { localSsh, stubCommands } from './support/local-host.js'

// A Docker engine that stops answering must end each step with a message that says so, in
// bounded time, never hold the job. Here a stub `docker` stands in for the frozen engine's CLI.

/** A docker CLI whose engine hangs: every call waits (BG_DOCKER_SECONDS bounds it). */
const HUNG = '#!/bin/sh\nexec sleep 30\n'

/**
 * A docker CLI for load.sh: `load` reads stdin at the pace $LOAD_PACE sets (a line per pace
 * seconds; "never" reads nothing), `version` fails at once as an engine that does not answer.
 */
const LOADING = `#!/bin/sh
case "$1" in
  load)
    if [ "$LOAD_PACE" = never ]; then exec sleep 30; fi
    while IFS= read -r _; do sleep "$LOAD_PACE"; done
    echo "Loaded image: app:1" ;;
  version) exit 1 ;;
esac
`

describe('a hung Docker engine, in the steps that read images', () => {
  const stubs = stubCommands({ docker: HUNG })
  afterAll(() => stubs.remove())

  it('the layer listing fails within its bound, saying the engine did not answer', async () => {
    const started = Date.now()
    await expect(hostLayers(localSsh(stubs.dir, { BG_DOCKER_SECONDS: '1' }))).rejects.toThrow(
      "Could not list the host's image layers: docker image ls: the host's Docker engine did not answer in time"
    )
    expect(Date.now() - started).toBeLessThan(8_000)
  })

  it('an image inspect fails within its bound, rather than passing for a missing image', async () => {
    await expect(inspectHostImage(localSsh(stubs.dir, { BG_DOCKER_SECONDS: '1' }), 'app:1')).rejects.toThrow(
      "Could not inspect the image app:1 on the host: the host's Docker engine did not answer in time"
    )
  })

  it('the preflight names the engine that did not answer docker version, and that nothing changed', () => {
    expect(() => parsePreflight('problem docker-timeout 60\n', 'deploy@example.com:22')).toThrow(
      'The Docker engine on deploy@example.com:22 did not answer docker version within 60 s; nothing on the host was changed.'
    )
  })
})

describe('docker load on a host whose engine stops answering (load.sh)', () => {
  const stubs = stubCommands({ docker: LOADING })
  let root: string
  let holder: ChildProcess
  const GENERATION = '4'

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'bg-load-'))
    mkdirSync(join(root, 'web'))
    writeFileSync(join(root, 'web', 'lock.generation'), `${GENERATION}\n`)
    // This run's lock session, held for the whole test.
    holder = spawn('flock', ['--no-fork', join(root, 'web', 'lock'), 'sleep', '120'], { stdio: 'ignore' })
    for (let i = 0; i < 100 && spawnSync('flock', ['-n', join(root, 'web', 'lock'), 'true']).status === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })
  afterAll(() => {
    holder.kill()
    stubs.remove()
    rmSync(root, { recursive: true, force: true })
  })

  /** load.sh with an idle bound of 2 s, the archive `input` on stdin. */
  function load(pace: string, input: string) {
    const started = Date.now()
    const child = spawnSync('sh', ['-c', bashCommand(SCRIPTS.load, [join(root, 'web'), GENERATION, 'none', '2'])], {
      env: { ...process.env, LOAD_PACE: pace, PATH: `${stubs.dir}:${process.env.PATH}` },
      input,
      encoding: 'utf8',
      timeout: 40_000
    })
    return { code: child.status, stdout: child.stdout, stderr: child.stderr, ms: Date.now() - started }
  }

  it('is stopped once it reads nothing for the idle bound while the engine does not answer, saying so', () => {
    const result = load('never', 'layer\n')
    expect(result.code).toBe(124)
    expect(result.stderr).toContain("LOAD-IDLE docker load read nothing for 2 s, and the host's Docker engine did not answer meanwhile")
    expect(result.ms).toBeLessThan(10_000)
    expect(readdirSync(join(root, 'web')).filter((name) => name.startsWith('run.'))).toEqual([]) // the step is unregistered
  })

  it('runs as long as it takes while it keeps reading: the bound is on idleness, not on time', () => {
    const result = load('0.5', 'chunk\n'.repeat(10))
    expect(result).toMatchObject({ code: 0, stdout: 'Loaded image: app:1\n', stderr: '' })
    expect(result.ms).toBeGreaterThan(4_500)
  })
})

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { guardedRunner } from '../src/host/guard.js'
import { loadImage } from '../src/host/images.js'
import { retireContainer } from '../src/host/retire.js'
import type { ServiceState } from '../src/host/state.js'
import { survey } from '../src/host/survey.js'
import { parseImageInspect } from '../src/image/info.js'
import type { Ssh } from '../src/ssh/connection.js'
import { localSsh, stubCommands } from './support/local-host.js'

// A deploy's transfer needs the host's layers and, after the load, the loaded image's inspect.
// Both ride on steps that run anyway (the survey, the load), so each costs no round trip of its
// own. The scripts run here under bash against a stub `docker`.

const layer = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`
const inspectJson = (id: string, layers: string[]): string =>
  JSON.stringify({ Id: id, RootFS: { Type: 'layers', Layers: layers }, Config: { Cmd: ['run'], ExposedPorts: { '8080/tcp': {} } }, Os: 'linux', Architecture: 'amd64' })

/**
 * A docker CLI for an engine holding two images, app:1 (layers 1, 2) and an untagged one (layer 1);
 * like Docker 20.10's, an image inspect with --format prints a blank line for an image it lacks.
 * No containers, and whatever else the survey asks has no answer; `load` reads stdin and names app:1;
 * an image inspect takes $INSPECT_SLEEP seconds first.
 */
const DOCKER = `#!/bin/sh
case "$1 $2" in
  "image ls") printf '%s\\n' ${layer(0xa1)} ${layer(0xb2)} ;;
  "image inspect")
    sleep "\${INSPECT_SLEEP:-0}"
    shift 4
    for id in "$@"; do
      case "$id" in
        app:1|${layer(0xa1)}) echo '${inspectJson(layer(0xa1), [layer(1), layer(2)])}' ;;
        ${layer(0xb2)}) echo '${inspectJson(layer(0xb2), [layer(1)])}' ;;
        *) echo; echo "Error: No such image: $id" >&2; exit 1 ;;
      esac
    done ;;
  "info --format") echo '[["Backing Filesystem","extfs"]]' ;;
  "version --format") echo '20.10.24 linux amd64' ;;
  "load ") cat >/dev/null; echo "Loaded image: app:1" ;;
  "ps -a") ;;
  *) exit 1 ;;
esac
`

describe('the survey of a deploy that may send its image', () => {
  const stubs = stubCommands({ docker: DOCKER })
  let root: string
  beforeAll(() => (root = mkdtempSync(join(tmpdir(), 'bg-survey-'))))
  afterAll(() => {
    stubs.remove()
    rmSync(root, { recursive: true, force: true })
  })

  const proxy = { network: 'bluegreen', port: 8080, image: 'nginx:alpine', service: 'web', serverNames: [], drainTimeoutSeconds: 30 }

  it('lists every image and its layers beside its other reads', async () => {
    const found = await survey(localSsh(stubs.dir, {}, root), { proxy, image: 'app:2', preflight: true, layers: true })
    expect(found.image).toBeUndefined()
    expect(found.layers?.images.map((image) => image.id)).toEqual([layer(0xa1), layer(0xb2)])
    expect(found.layers?.containerdStore).toBe(false)
    expect(found.layers?.chainIds.has(layer(1))).toBe(true)
  })

  it('does not wait for the listing when the host has the image under that name', async () => {
    const found = await survey(localSsh(stubs.dir, {}, root), { proxy, image: 'app:1', preflight: true, layers: true })
    expect(found.image?.id).toBe(layer(0xa1))
    expect(found.layers).toBeUndefined()
  })

  it('lists nothing when not asked (a rollback), and leaves out a listing that failed', async () => {
    expect((await survey(localSsh(stubs.dir, {}, root), { proxy, preflight: true })).layers).toBeUndefined()
    const broken = stubCommands({ docker: DOCKER.replace(`"image ls") printf`, `"image ls") exit 1; printf`) })
    try {
      const found = await survey(localSsh(broken.dir, {}, root), { proxy, image: 'app:2', preflight: true, layers: true })
      expect(found.layers).toBeUndefined()
      expect(found.proxy.status).toBe('missing') // the survey itself stands
    } finally {
      broken.remove()
    }
  })
})

/**
 * A state root with service web's deploy lock held at `generation` by another process, as a run
 * holds it, for the guarded scripts; `root()` is the folder. Removed, with `stubs`, after the block.
 */
function heldLock(prefix: string, generation: number, stubs: { remove(): void }): { guard: { dir: string; generation: number }; root: () => string } {
  const guard = { dir: '', generation }
  let dir = ''
  let holder: ChildProcess
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), prefix))
    guard.dir = join(dir, 'web')
    mkdirSync(guard.dir)
    writeFileSync(join(guard.dir, 'lock.generation'), `${generation}\n`)
    holder = spawn('flock', ['--no-fork', join(guard.dir, 'lock'), 'sleep', '120'], { stdio: 'ignore' })
    for (let i = 0; i < 100 && spawnSync('flock', ['-n', join(guard.dir, 'lock'), 'true']).status === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })
  afterAll(() => {
    holder.kill()
    stubs.remove()
    rmSync(dir, { recursive: true, force: true })
  })
  return { guard, root: () => dir }
}

describe('a load that inspects what it loaded (load.sh)', () => {
  const stubs = stubCommands({ docker: DOCKER })
  const { guard } = heldLock('bg-load-', 4, stubs)

  /** An Ssh whose stream() runs the command here, the archive on its stdin. */
  function streaming(env: Record<string, string> = {}): Ssh {
    return {
      stream: (command: string, source: Readable) =>
        new Promise((resolve) => {
          const child = spawn('sh', ['-c', command], { env: { ...process.env, ...env, PATH: `${stubs.dir}:${process.env.PATH}` } })
          let stdout = ''
          let stderr = ''
          child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
          child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
          source.pipe(child.stdin)
          child.on('close', (code) => resolve({ code: code ?? 255, stdout, stderr }))
        })
    } as unknown as Ssh
  }
  const sent = parseImageInspect(inspectJson(layer(0xa1), [layer(1), layer(2)]))
  const archive = (): Readable => Readable.from(['archive bytes\n'])

  it('brings back the loaded image, verified against the one sent', async () => {
    const result = await loadImage(streaming(), guard, 'web', 'docker load', archive(), { sent, ref: 'app:1' })
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe('Loaded image: app:1')
    expect(result.verified).toEqual({ image: sent })
  })

  it('says so when the host has other layers under that name, or no such image', async () => {
    const other = { ...sent, id: layer(0xc3), diffIds: [layer(3)] }
    expect((await loadImage(streaming(), guard, 'web', 'docker load', archive(), { sent: other, ref: 'app:1' })).verified).toEqual({
      problem: `the host's image app:1 (${layer(0xa1)}) has other layers or config than the runner's`
    })
    expect((await loadImage(streaming(), guard, 'web', 'docker load', archive(), { sent: other, ref: 'app:9' })).verified).toEqual({
      problem: `the host has no image app:9 (${layer(0xc3)}) after docker load`
    })
  })

  it('leaves the check to its own step when the engine did not answer the inspect', async () => {
    const result = await loadImage(streaming({ INSPECT_SLEEP: '5', BG_DOCKER_SECONDS: '1' }), guard, 'web', 'docker load', archive(), { sent, ref: 'app:1' })
    expect(result.code).toBe(0)
    expect(result.verified).toBeUndefined()
  })
})

describe('the record and the retire in one step (retire.sh)', () => {
  // Each docker call is logged with whether state.json was there yet: nothing stops before the record.
  const stubs = stubCommands({
    docker: `#!/bin/sh
printf '%s state=%s\\n' "$1" "$(test -f "$STATE/state.json" && echo yes || echo no)" >>"$CALLS"
case "$1" in inspect) exit 1 ;; esac
`
  })
  const { guard, root } = heldLock('bg-retire-', 9, stubs)
  const state = { service: 'web', live: { slot: 'green', image: 'web:2' }, history: [] } as unknown as ServiceState

  const spec = { containers: ['web-blue'], network: 'bluegreen', appPort: 8080, drainTimeoutSeconds: 30 }

  it('writes state.json, says RECORDED, then stops the old slot, in one remote step', async () => {
    const calls = join(root(), 'calls')
    const ssh = localSsh(stubs.dir, { CALLS: calls, STATE: guard.dir }, root())
    let steps = 0
    const run = guardedRunner((script, args, options) => (steps++, ssh.run(script, args, options)), () => guard, () => 'web')
    let recorded = 0
    const result = await retireContainer(run, { ...spec, record: { state, onRecorded: () => recorded++ } }, () => undefined)
    expect(result).toEqual({ openConnections: 0 })
    expect(steps).toBe(1)
    expect(recorded).toBe(1)
    expect(JSON.parse(readFileSync(join(guard.dir, 'state.json'), 'utf8'))).toEqual(state)
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual(['inspect state=yes', 'stop state=yes', 'rm state=yes'])
  })

  it('fails as the record when state.json cannot be written, and stops nothing', async () => {
    const calls = join(root(), 'calls-2')
    const blocked = join(root(), 'blocked')
    writeFileSync(blocked, 'a file where the folder should be')
    const ssh = localSsh(stubs.dir, { CALLS: calls, STATE: blocked }, root())
    const run = guardedRunner((script, args, options) => ssh.run(script, args, options), () => guard, () => 'web')
    let recorded = 0
    const onRecorded = (): number => recorded++
    const bad = { ...state, service: 'blocked' } as ServiceState
    await expect(retireContainer(run, { ...spec, record: { state: bad, onRecorded } }, () => undefined)).rejects.toThrow(/^Could not save the state of blocked: /)
    expect(recorded).toBe(0)
    expect(() => readFileSync(calls, 'utf8')).toThrow()
  })
})

// Docker's containerd image store (the default of new Docker 29 installs) on either end, for
// real: the sandbox's third engine is Debian trixie's Docker 26 with the containerd snapshotter.
// It names images by manifest digest where the classic store uses the config digest, and a
// runner on it saves its layers gzipped, under the digest of the compressed bytes.
// The fourth engine is the same Docker 26 on the classic store: as a runner, its docker save
// writes the OCI layout of Docker 25-28, layer blobs named by their diff IDs; as a host, it loads
// an archive with layers left out as Docker 25-28 hosts do.
import { runAction, sandboxInputs, type ActionResult } from '../../sandbox/action.js'
import { buildApp, removeImage, type BuiltImage, type Engine } from '../../sandbox/fixtures.js'
import {
  classicDocker, containerdDocker, hostDocker as plainHostDocker, mustHostDocker, mustRunnerDocker, readSandboxInfo, runCommand, type ExecResult, type SandboxInfo
} from '../../sandbox/sandbox.js'
import { node24 } from '../../sandbox/node24.js'
import { manifestLayers } from '../../src/transfer/tar-filter.js'
import { clearHost, viaProxy } from './host.js'

const MiB = 1024 * 1024

let info: SandboxInfo

function expectOk(run: ActionResult): void {
  if (run.code !== 0) throw new Error(`the action failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}`)
}

async function must(result: Promise<ExecResult>): Promise<string> {
  const r = await result
  if (r.code !== 0) throw new Error(r.stderr)
  return r.stdout.trim()
}

/** What `docker save REF` writes on the engine at `dockerHost`: its entry names, or the text of `entry`. */
const saved = (dockerHost: string, ref: string, entry?: string): Promise<string> =>
  must(runCommand('sh', ['-c', `docker save "$1" | tar ${entry ? '-xO "$2"' : '-t'}`, 'sh', ref, ...(entry ? [entry] : [])], {
    env: { ...process.env, DOCKER_HOST: dockerHost }
  }))

const layersFrom = async (docker: (args: string[]) => Promise<ExecResult>, ref: string): Promise<string[]> =>
  JSON.parse(await must(docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref]))) as string[]

beforeAll(() => {
  info = readSandboxInfo()
})

interface Scenario {
  deploy: (image: string) => Promise<ActionResult>
  /** Two versions that share every layer but the top one. */
  v1: () => BuiltImage
  v2: () => BuiltImage
}

/**
 * A service behind its own proxy, built on the `runner` engine and deployed to the `host` one
 * (emptied of it first), with the inputs and runner environment `extra` gives. Its versions
 * serve `version=<service>-1` and `-2`.
 */
function scenario(service: string, port: number, runner: Engine, host: Engine, extra: () => {
  inputs?: Record<string, string>
  env?: Record<string, string>
}): Scenario {
  const network = `e2e-${service}`
  const hostDocker = { containerd: containerdDocker, classic: classicDocker, runner: plainHostDocker, host: plainHostDocker }[host]
  const built: BuiltImage[] = []
  beforeAll(async () => {
    await clearHost([service], [network], hostDocker)
    for (const n of [1, 2]) {
      built.push(await buildApp({ tag: `e2e-${service}/app:${n}`, version: `${service}-${n}`, engine: runner, randomPaddingMiB: 4 }))
    }
    // Every copy the host has of this scenario's images, under any of its tags: the first
    // deploy is cold, and a same-content copy left by an earlier run cannot stand in for a load.
    const stale = (await hostDocker(['image', 'ls', '-q', '--filter', `reference=e2e-${service}/*`])).stdout.split('\n')
    const ids = [...new Set(stale.filter(Boolean))]
    if (ids.length > 0) await hostDocker(['image', 'rm', '-f', ...ids])
  })
  afterAll(() => clearHost([service], [network], hostDocker))
  return {
    deploy: (image) => {
      const { inputs, env } = extra()
      return runAction(sandboxInputs(info, { image, service, network, 'proxy-port': String(port), ...inputs }), { env })
    },
    v1: () => built[0],
    v2: () => built[1]
  }
}

/** How many bottom layers two images share. */
function sharedPrefix(a: string[], b: string[]): number {
  let count = 0
  while (count < a.length && count < b.length && a[count] === b[count]) count++
  return count
}

/**
 * A Node 24 deploy (as GitHub runs it) of an image with layers of its own to a Docker 26 host of
 * `service`'s scenario: zstd goes straight into that Docker's docker load, with no zstd -dc.
 */
async function zstdStraightIntoDockerLoad(
  service: string, port: number, username: string, hostDocker: (args: string[]) => Promise<ExecResult>,
  /** A classic store names the image as the runner does; the containerd store by its manifest. */
  sameId: boolean
): Promise<void> {
  const fresh = await buildApp({ tag: `e2e-${service}/app:zstd`, version: `${service}-zstd`, randomPaddingMiB: 4, paddingMiB: 2 })
  const run = await runAction(
    sandboxInputs(info, { image: fresh.ref, service, network: `e2e-${service}`, 'proxy-port': String(port), username, compression: 'zstd' }),
    { node: await node24() }
  )
  expectOk(run)
  expect(run.stdout).toContain('compression: zstd (level 3 to start, then as the link allows, 1 to 9)')
  expect(run.stdout).toMatch(/zstd levels used: [1-9]/)
  expect(Number(run.outputs['transferred-bytes'])).toBeGreaterThan(4 * MiB)
  if (sameId) expect(run.outputs['image-id']).toBe(fresh.id)
  else expect(run.outputs['image-id']).not.toBe(fresh.id)
  expect(await layersFrom(hostDocker, run.outputs['image-id'])).toEqual(await layersFrom(mustRunnerDocker, fresh.ref))
  expect((await viaProxy(port)).body).toBe(`version=${service}-zstd\n`)
}

/**
 * Deploys v1, then v2, between two engines on the classic store: v2 must send under 1 MiB and
 * run on the host as the runner's very image (both stores name it by its config).
 */
async function deltaBetweenClassicStores(
  s: Scenario, service: string, port: number,
  runner: (args: string[]) => Promise<ExecResult>, host: (args: string[]) => Promise<ExecResult>
): Promise<{ first: ActionResult; run: ActionResult }> {
  const first = await s.deploy(s.v1().ref)
  expectOk(first)
  expect((await viaProxy(port)).body).toBe(`version=${service}-1\n`)
  const run = await s.deploy(s.v2().ref)
  expectOk(run)
  const layers = await layersFrom(runner, s.v2().ref)
  expect(Number(run.outputs['transferred-bytes'])).toBeLessThan(1 * MiB)
  expect(run.outputs['skipped-layers']).toBe(String(layers.length - 1))
  expect(run.stdout).not.toContain('did not verify')
  expect(run.outputs['image-id']).toBe(s.v2().id)
  expect(await layersFrom(host, s.v2().id)).toEqual(layers)
  expect((await viaProxy(port)).body).toBe(`version=${service}-2\n`)
  return { first, run }
}

describe('a runner on the containerd image store, deploying to a classic host', () => {
  const PORT = 18140
  const { deploy, v1, v2 } = scenario('ctd-runner', PORT, 'containerd', 'host', () => ({
    env: { DOCKER_HOST: info.containerdDockerHost }
  }))

  test('its docker save names no layer by its diff ID: the layers are gzipped', async () => {
    const listing = await saved(info.containerdDockerHost, v2().ref)
    const layers = await layersFrom(containerdDocker, v2().ref)
    expect(listing).toMatch(/^blobs\/sha256\//m)
    for (const layer of layers) expect(listing).not.toContain(layer.replace('sha256:', 'blobs/sha256/'))
  })

  test("its image's manifest names every layer blob, so none has to be unpacked to be known", async () => {
    const layers = await layersFrom(containerdDocker, v2().ref)
    const listing = await saved(info.containerdDockerHost, v2().ref)
    // The image ID on this store is the manifest's digest.
    const manifest = await saved(info.containerdDockerHost, v2().ref, `blobs/sha256/${v2().id.replace('sha256:', '')}`)
    const digests = manifestLayers(Buffer.from(manifest), layers.length)
    expect(digests).toHaveLength(layers.length)
    for (const digest of digests!) expect(listing).toContain(`blobs/sha256/${digest}`)
  })

  test('a second version sends under 1 MiB, and the host runs the same layers', async () => {
    expectOk(await deploy(v1().ref))
    expect((await viaProxy(PORT)).body).toBe('version=ctd-runner-1\n')
    const run = await deploy(v2().ref)
    expectOk(run)
    const layers = await layersFrom(containerdDocker, v2().ref)
    expect(Number(run.outputs['transferred-bytes'])).toBeLessThan(1 * MiB)
    expect(run.outputs['skipped-layers']).toBe(String(layers.length - 1))
    // The host names the image by its config digest, the runner by its index digest.
    expect(run.outputs['image-id']).not.toBe(v2().id)
    expect(await layersFrom(mustHostDocker, run.outputs['image-id'])).toEqual(layers)
    expect((await viaProxy(PORT)).body).toBe('version=ctd-runner-2\n')
  })
})

describe('a classic runner deploying to a host on the containerd image store', () => {
  const PORT = 18141
  let layerSource = 'docker-save'
  const { deploy, v1, v2 } = scenario('ctd-host', PORT, 'runner', 'containerd', () => ({
    inputs: { username: info.users.containerd, 'layer-source': layerSource }
  }))

  test('with layer-source: docker-save, deploys and switches; a legacy-layout archive goes whole, and the host runs the same layers', async () => {
    const first = await deploy(v1().ref)
    expectOk(first)
    expect(first.stdout).toMatch(/Docker 26[.\d]+\S* on /)
    expect((await viaProxy(PORT)).body).toBe('version=ctd-host-1\n')
    const run = await deploy(v2().ref)
    expectOk(run)
    expect(run.stdout).not.toContain("from the runner's Docker store")
    expect(run.stdout).toContain('The host uses the containerd image store')
    expect(run.stdout).toContain("The runner's docker save writes the legacy layout, which the host's containerd store loads only whole")
    expect(run.stdout).not.toContain('did not verify')
    const layers = await layersFrom(mustRunnerDocker, v2().ref)
    expect(run.outputs['skipped-layers']).toBe('0')
    // The containerd store names the image by its manifest, the classic runner by its config.
    expect(run.outputs['image-id']).not.toBe(v2().id)
    expect(await layersFrom(containerdDocker, run.outputs['image-id'])).toEqual(layers)
    expect((await viaProxy(PORT)).body).toBe('version=ctd-host-2\n')
    expect(run.outputs['previous-image']).toBe(v1().ref)
  })

  test("reading the runner's store (the default), only the layers the host lacks go, in the OCI layout it loads without the others", async () => {
    layerSource = 'auto'
    const v3 = await buildApp({ tag: 'e2e-ctd-host/app:3', version: 'ctd-host-3', randomPaddingMiB: 4 })
    try {
      const layers = await layersFrom(mustRunnerDocker, v3.ref)
      const shared = sharedPrefix(await layersFrom(mustRunnerDocker, v2().ref), layers)
      expect(shared).toBeGreaterThan(0)
      const run = await deploy(v3.ref)
      expectOk(run)
      const missing = layers.length - shared
      expect(run.stdout).toContain(`Reading ${missing} layer${missing === 1 ? '' : 's'} from the runner's Docker store (as root) instead of exporting the image`)
      expect(run.stdout).not.toContain('did not verify')
      expect(run.stdout).not.toContain('failed')
      expect(run.outputs['skipped-layers']).toBe(String(shared))
      expect(await layersFrom(containerdDocker, run.outputs['image-id'])).toEqual(layers)
      expect((await viaProxy(PORT)).body).toBe('version=ctd-host-3\n')
    } finally {
      layerSource = 'docker-save'
      await removeImage(v3.ref)
    }
  })

  test('on Node 24, as GitHub runs it, the stream is zstd, which this Docker unpacks itself', () =>
    zstdStraightIntoDockerLoad('ctd-host', PORT, info.users.containerd, containerdDocker, false))

  test('the same build under a new tag is only tagged there, though that store names it by its manifest', async () => {
    const again = 'e2e-ctd-host/app:2-again'
    await mustRunnerDocker(['tag', v2().ref, again])
    try {
      const hostId = await must(containerdDocker(['image', 'inspect', '--format', '{{.Id}}', v2().ref]))
      const run = await deploy(again)
      expectOk(run)
      expect(run.outputs['transferred-bytes']).toBe('0')
      expect(run.stdout).toContain(`under another name; tagging it ${again}, nothing to send`)
      expect(run.outputs['image-id']).toBe(hostId)
      expect(await must(containerdDocker(['image', 'inspect', '--format', '{{.Id}}', again]))).toBe(hostId)
      expect((await viaProxy(PORT)).body).toBe('version=ctd-host-2\n')
    } finally {
      await removeImage(again)
      await removeImage(again, 'containerd')
    }
  })
})

describe("a runner on Docker 26's classic store (the OCI layout of Docker 25-28), deploying to Docker 20.10", () => {
  const PORT = 18142
  const versions = scenario('cls-runner', PORT, 'classic', 'host', () => ({
    env: { DOCKER_HOST: info.classicDockerHost }
  }))

  test('its docker save names every layer blob by its diff ID, in no <v1 id> folder', async () => {
    const listing = await saved(info.classicDockerHost, versions.v2().ref)
    for (const layer of await layersFrom(classicDocker, versions.v2().ref)) {
      expect(listing).toContain(layer.replace('sha256:', 'blobs/sha256/'))
    }
    expect(listing).not.toMatch(/^[a-f0-9]{64}\/layer\.tar$/m)
  })

  test('a second version sends under 1 MiB, and the host runs the same image', () =>
    deltaBetweenClassicStores(versions, 'cls-runner', PORT, classicDocker, mustHostDocker))
})

describe('a classic runner deploying to Docker 26 on the classic store, which loads as Docker 25-28 hosts do', () => {
  const PORT = 18143
  const versions = scenario('cls-host', PORT, 'runner', 'classic', () => ({
    inputs: { username: info.users.classic }
  }))

  test('a second version sends under 1 MiB, and the host runs the same image', async () => {
    const { first, run } = await deltaBetweenClassicStores(versions, 'cls-host', PORT, mustRunnerDocker, classicDocker)
    expect(first.stdout).toMatch(/Docker 26[.\d]+\S* on /)
    expect(run.outputs['previous-image']).toBe(versions.v1().ref)
  })

  test('on Node 24, as GitHub runs it, the stream is zstd, which this Docker unpacks itself', () =>
    zstdStraightIntoDockerLoad('cls-host', PORT, info.users.classic, classicDocker, true))
})

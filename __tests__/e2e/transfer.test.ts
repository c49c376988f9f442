// Only the layers the host lacks travel, and what arrives is the image that was sent.
import { runAction, sandboxInputs, type ActionResult } from '../../sandbox/action.js'
import { buildApp, evictFromHost, removeImage, type BuiltImage } from '../../sandbox/fixtures.js'
import { node24 } from '../../sandbox/node24.js'
import { mustHostDocker, mustRunnerDocker, readSandboxInfo, runCommand, type SandboxInfo } from '../../sandbox/sandbox.js'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { chainIds } from '../../src/transfer/layers.js'
import { legacyLayerIndex } from '../../src/transfer/legacy-ids.js'
import { tempDir } from '../support/temp-dir.js'
import { clearHost, viaProxy } from './host.js'

const NETWORK = 'e2e-transfer'
const PORT = 18130
const MiB = 1024 * 1024

let info: SandboxInfo
let v1: BuiltImage
let v2: BuiltImage

const inputs = (service: string, image: string, extra: Record<string, string> = {}) =>
  sandboxInputs(info, { image, service, network: NETWORK, 'proxy-port': String(PORT), 'server-name': `${service}.test`, ...extra })

function expectOk(run: ActionResult): void {
  if (run.code !== 0) throw new Error(`the action failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}`)
}

const layersOf = async (engine: 'host' | 'runner', ref: string): Promise<string[]> => {
  const docker = engine === 'host' ? mustHostDocker : mustRunnerDocker
  return JSON.parse((await docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref])).stdout) as string[]
}

beforeAll(async () => {
  info = readSandboxInfo()
  await clearHost(['t-delta', 't-zstd', 't-plain', 't-runner'], [NETWORK])
  // 24 MiB that does not compress plus 8 MiB that does, in base layers both versions share.
  v1 = await buildApp({ tag: 'e2e-transfer/app:1', version: 'transfer-1', randomPaddingMiB: 24, paddingMiB: 8 })
  v2 = await buildApp({ tag: 'e2e-transfer/app:2', version: 'transfer-2', randomPaddingMiB: 24, paddingMiB: 8 })
  // Neither version nor any image sharing their padded base is left on the host: the first
  // deploy is cold.
  await evictFromHost(v1)
  await removeImage(v2.id, 'host')
})

afterAll(() => clearHost(['t-delta', 't-zstd', 't-plain', 't-runner'], [NETWORK]))

test('a cold deploy with gzip (what auto picks for a host across a network) sends the whole image, compressed where it compresses', async () => {
  const run = await runAction(inputs('t-delta', v1.ref, { compression: 'gzip' }))
  expectOk(run)
  const sent = Number(run.outputs['transferred-bytes'])
  // The random 24 MiB cannot shrink; the text and the rest must.
  expect(sent).toBeGreaterThan(24 * MiB)
  expect(sent).toBeLessThan(v1.sizeBytes * 0.9)
  expect(run.stdout).toMatch(/\d of \d layers are already on the host; compression: gzip \(level 1 to start, then as the link allows, 1 to 6\)/)
  expect(run.stdout).toMatch(/gzip levels used: [1-6]/)
  // The test runs as root: the layers come straight from the runner's store (all but busybox's,
  // which other images left on the host).
  const layers = await layersOf('runner', v1.ref)
  const skipped = Number(run.outputs['skipped-layers'])
  expect(skipped).toBeLessThan(layers.length - 1)
  expect(run.stdout).toContain(`Reading ${layers.length - skipped} layers from the runner's Docker store (as root) instead of exporting the image`)
  expect((await viaProxy(PORT, '/', 't-delta.test')).body).toBe('version=transfer-1\n')
})

const saved = tempDir('bg-e2e-save-')

test("the runner's docker save (Docker 20.10, legacy layout) names every layer in the <v1 id>/json before it", async () => {
  // What lets the action leave shared layers out without hashing them, checked on the engine itself.
  const dir = join(saved, 'v2')
  const r = await runCommand('sh', ['-c', 'mkdir -p "$2" && docker save "$1" | tar -x -C "$2"', 'sh', v2.ref, dir])
  expect(r.code).toBe(0)
  const layers = await layersOf('runner', v2.ref)
  const folders = readdirSync(dir).filter((name) => /^[a-f0-9]{64}$/.test(name))
  const named = folders.map((folder) => legacyLayerIndex(readFileSync(join(dir, folder, 'json'), 'utf8'), chainIds(layers)))
  expect(named.map((index) => index ?? -1).sort((a, b) => a - b)).toEqual(layers.map((_, index) => index))
})

test('a second version that changes only its top layer sends under 1 MiB and runs as the same image', async () => {
  const run = await runAction(inputs('t-delta', v2.ref))
  expectOk(run)
  const sent = Number(run.outputs['transferred-bytes'])
  expect(sent).toBeGreaterThan(0)
  expect(sent).toBeLessThan(1 * MiB)
  const layers = await layersOf('runner', v2.ref)
  expect(run.outputs['skipped-layers']).toBe(String(layers.length - 1))
  expect(run.stdout).toContain("Reading 1 layer from the runner's Docker store (as root) instead of exporting the image")
  // What the host loaded is the runner's image exactly: same ID, same layers.
  expect(run.outputs['image-id']).toBe(v2.id)
  expect(await layersOf('host', v2.id)).toEqual(layers)
  expect((await viaProxy(PORT, '/', 't-delta.test')).body).toBe('version=transfer-2\n')
  expect(run.summary).toMatch(new RegExp(`sent [\\d.]+ KiB of [\\d.]+ MiB \\(${layers.length - 1} of ${layers.length} layers already on the host\\)`))
})

test("with layer-source: docker-save, a top-layer change goes through docker save's export, which leaves the shared layers out", async () => {
  const v3 = await buildApp({ tag: 'e2e-transfer/app:3', version: 'transfer-3', randomPaddingMiB: 24, paddingMiB: 8 })
  try {
    const run = await runAction(inputs('t-delta', v3.ref, { 'layer-source': 'docker-save' }))
    expectOk(run)
    const layers = await layersOf('runner', v3.ref)
    expect(run.stdout).not.toContain("from the runner's Docker store")
    expect(run.outputs['skipped-layers']).toBe(String(layers.length - 1))
    expect(Number(run.outputs['transferred-bytes'])).toBeLessThan(1 * MiB)
    expect(run.outputs['image-id']).toBe(v3.id)
    expect((await viaProxy(PORT, '/', 't-delta.test')).body).toBe('version=transfer-3\n')
  } finally {
    await removeImage(v3.ref)
  }
})

test('the same build under a new tag (a new commit, nothing changed) is tagged on the host, not sent', async () => {
  const again = 'e2e-transfer/app:2-again'
  await mustRunnerDocker(['tag', v2.ref, again])
  try {
    const run = await runAction(inputs('t-delta', again))
    expectOk(run)
    expect(run.outputs['transferred-bytes']).toBe('0')
    expect(run.outputs.image).toBe(again)
    expect(run.outputs['image-id']).toBe(v2.id)
    expect(run.stdout).toContain(`under another name; tagging it ${again}, nothing to send`)
    expect((await mustHostDocker(['image', 'inspect', '--format', '{{.Id}}', again])).stdout.trim()).toBe(v2.id)
    expect((await viaProxy(PORT, '/', 't-delta.test')).body).toBe('version=transfer-2\n')
    expect(run.summary).toContain('already on the host under another name')
  } finally {
    await mustRunnerDocker(['image', 'rm', again])
  }
})

test('on Node 24, as GitHub runs it, a zstd stream arrives whole', async () => {
  const fresh = await buildApp({ tag: 'e2e-transfer/app:zstd', version: 'transfer-zstd', paddingMiB: 3 })
  await evictFromHost(fresh)
  const run = await runAction(inputs('t-zstd', fresh.ref, { compression: 'zstd' }), { node: await node24() })
  expectOk(run)
  expect(run.stdout).toContain('compression: zstd (level 3 to start, then as the link allows, 1 to 9)')
  expect(run.stdout).toMatch(/zstd levels used: [1-9]/)
  // 3 MiB of text shrink to far less.
  expect(Number(run.outputs['transferred-bytes'])).toBeLessThan(1 * MiB)
  expect(run.outputs['image-id']).toBe(fresh.id)
  expect((await viaProxy(PORT, '/', 't-zstd.test')).body).toBe('version=transfer-zstd\n')
})

test("auto sends the archive as it is to a host on the runner's own machine (the sandbox shares the runner's kernel)", async () => {
  // A base of its own (the zstd test's image keeps its 3 MiB base on the host).
  const fresh = await buildApp({ tag: 'e2e-transfer/app:plain', version: 'transfer-plain', paddingMiB: 5 })
  await evictFromHost(fresh)
  const run = await runAction(inputs('t-plain', fresh.ref))
  expectOk(run)
  expect(run.stdout).toContain('auto: none, the host is this machine (no network to save time on)')
  // 5 MiB of text that any codec would shrink several times went as they are.
  expect(Number(run.outputs['transferred-bytes'])).toBeGreaterThan(5 * MiB)
  expect(run.summary).toMatch(/in [\d.]+ m?s(?: at [\d.]+ MiB\/s)?, none\./)
  expect((await viaProxy(PORT, '/', 't-plain.test')).body).toBe('version=transfer-plain\n')
})

test("a runner that is not root reads the store through sudo, as on GitHub's hosted runners; one without sudo exports with docker save", async () => {
  // Two versions on one base: the first sends what the host lacks, the second only its top layer.
  const viaSudo = await buildApp({ tag: 'e2e-transfer/app:sudo', version: 'transfer-sudo', randomPaddingMiB: 24, paddingMiB: 8 })
  const noSudo = await buildApp({ tag: 'e2e-transfer/app:nosudo', version: 'transfer-nosudo', randomPaddingMiB: 24, paddingMiB: 8 })
  try {
    const first = await runAction(inputs('t-runner', viaSudo.ref), { user: info.users.runner })
    expectOk(first)
    expect(first.stdout).toMatch(/Reading \d+ layers? from the runner's Docker store \(through sudo\) instead of exporting the image/)
    expect(first.outputs['image-id']).toBe(viaSudo.id)
    expect((await viaProxy(PORT, '/', 't-runner.test')).body).toBe('version=transfer-sudo\n')

    const second = await runAction(inputs('t-runner', noSudo.ref), { user: info.users.runnerNoSudo })
    expectOk(second)
    // sudo's own words say why, in whatever language the runner speaks.
    expect(second.stdout).toMatch(/Exporting the image with docker save: the runner's Docker store cannot be read directly \(its files cannot be read: cat on the runner's Docker store failed \(exit 1\): sudo: /)
    expect(second.stdout).not.toContain("from the runner's Docker store (")
    // docker save's export still leaves out what the host has.
    const layers = await layersOf('runner', noSudo.ref)
    expect(second.outputs['skipped-layers']).toBe(String(layers.length - 1))
    expect(second.outputs['image-id']).toBe(noSudo.id)
    expect((await viaProxy(PORT, '/', 't-runner.test')).body).toBe('version=transfer-nosudo\n')
  } finally {
    await removeImage(viaSudo.ref)
    await removeImage(noSudo.ref)
  }
})

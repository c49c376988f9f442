import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import zlib from 'node:zlib'
import { parseImageInspect, type ImageInfo } from '../src/image/info.js'
import { openRunnerStore, type RunnerStore } from '../src/image/store.js'
import { assembleLayer, entryName, scanLayer } from '../src/image/tar-split.js'
import type { Host } from '../src/host/index.js'
import { chainIds, collectChainIds } from '../src/transfer/layers.js'
import { repoTag, storeArchive } from '../src/transfer/store-archive.js'
import { sendImage } from '../src/transfer/transfer.js'
import { archiveEntries, chunked, fakeArchive, tarOf } from './support/archive.js'
import { tempDir } from './support/temp-dir.js'

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')
const root = tempDir('bg-store-test-')

/**
 * A layer as Docker's classic store keeps it: its files in a diff folder and a tar-split that
 * holds the rest of its tar (headers, padding, the end blocks), made here by walking the tar.
 */
async function storedLayer(name: string, files: [string, Buffer | string][]): Promise<{ tar: Buffer; tarSplit: Buffer; diffDir: string }> {
  const tar = await tarOf(files)
  const diffDir = join(root, 'overlay2', name, 'diff')
  const lines: string[] = []
  const segment = (bytes: Buffer) => lines.push(JSON.stringify({ type: 2, payload: bytes.toString('base64') }))
  let pos = 0
  while (pos < tar.length) {
    const header = tar.subarray(pos, pos + 512)
    if (header.every((byte) => byte === 0)) {
      segment(tar.subarray(pos))
      break
    }
    const path = header.subarray(0, 100).toString().replace(/\0.*$/s, '')
    const size = parseInt(header.subarray(124, 136).toString().replace(/\0.*$/s, '').trim() || '0', 8)
    const padded = Math.ceil(size / 512) * 512
    segment(header)
    lines.push(JSON.stringify({ type: 1, name: path, ...(size ? { size } : {}), payload: null }))
    if (path.endsWith('/')) mkdirSync(join(diffDir, path), { recursive: true })
    else {
      mkdirSync(join(diffDir, path, '..'), { recursive: true })
      writeFileSync(join(diffDir, path), tar.subarray(pos + 512, pos + 512 + size))
    }
    if (padded > size) segment(tar.subarray(pos + 512 + size, pos + 512 + padded))
    pos += 512 + padded
  }
  return { tar, tarSplit: zlib.gzipSync(lines.join('\n') + '\n'), diffDir }
}

/** The files of a NUL-separated list, concatenated, as `xargs -0 cat` gives them. */
function catList(list: Buffer): Readable {
  const paths = list.toString().split('\0').filter(Boolean)
  return Readable.from(paths.map((path) => readFileSync(path)))
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const chunk of chunks) parts.push(chunk)
  return Buffer.concat(parts)
}

describe('tar-split', () => {
  it("rebuilds a layer's tar byte for byte from its tar-split and its files, reading only non-empty files", async () => {
    const layer = await storedLayer('a', [['app/', ''], ['app/big.bin', randomBytes(70_000)], ['app/empty', ''], ['app/small.txt', 'hi\n']])
    const scan = await scanLayer(layer.tarSplit, layer.diffDir)
    expect(scan.tarBytes).toBe(layer.tar.length)
    expect(scan.files).toBe(2)
    expect(scan.fileList.toString().split('\0').filter(Boolean)).toEqual([join(layer.diffDir, 'app/big.bin'), join(layer.diffDir, 'app/small.txt')])
    const rebuilt = await collect(assembleLayer(layer.tarSplit, catList(scan.fileList)))
    expect(sha(rebuilt)).toBe(sha(layer.tar))
  })

  it('fails, naming the file, when a file on disk is shorter or longer than its tar-split says', async () => {
    const layer = await storedLayer('b', [['x.txt', 'hello'], ['y.txt', 'world']])
    await expect(collect(assembleLayer(layer.tarSplit, Readable.from([Buffer.from('hellowor')])))).rejects.toThrow(/y\.txt is shorter on disk/)
    await expect(collect(assembleLayer(layer.tarSplit, Readable.from([Buffer.from('helloworld!')])))).rejects.toThrow(/longer than its tar-split says/)
  })

  it('refuses a file name that leaves the layer', () => {
    expect(() => entryName({ type: 1, name: 'a/../../etc/shadow', size: 1 })).toThrow(/leaves the layer/)
    expect(entryName({ type: 1, name_raw: Buffer.from([0x61, 0xff]).toString('base64'), size: 1 })).toEqual(Buffer.from([0x61, 0xff]))
  })
})

/** A classic store of these layers under `root`, as openRunnerStore finds it. */
async function fakeStore(layers: [string, Buffer | string][][]) {
  const stored = await Promise.all(layers.map((files, i) => storedLayer(`layer${i}-${randomBytes(4).toString('hex')}`, files)))
  const diffIds = stored.map((layer) => `sha256:${sha(layer.tar)}`)
  const config = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: diffIds } }))
  const id = `sha256:${sha(config)}`
  mkdirSync(join(root, 'image/overlay2/imagedb/content/sha256'), { recursive: true })
  writeFileSync(join(root, 'image/overlay2/imagedb/content/sha256', sha(config)), config)
  chainIds(diffIds).forEach((chain, i) => {
    const dir = join(root, 'image/overlay2/layerdb/sha256', chain.slice(7))
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'tar-split.json.gz'), stored[i].tarSplit)
  })
  const image: ImageInfo = {
    id, diffIds, exposedPorts: [], sizeBytes: 1, hasHealthcheck: false, repoTags: ['web:1'], configKey: '[]',
    layerDirs: stored.map((layer) => layer.diffDir)
  }
  return { stored, image, config }
}

const threeLayers: [string, Buffer | string][][] = [
  [['bin/', ''], ['bin/sh', randomBytes(50_000)]],
  [['lib/', ''], ['lib/dep.so', randomBytes(30_000)]],
  [['app/', ''], ['app/main.js', 'console.log(1)\n']]
]

describe('openRunnerStore', () => {
  it("reads a classic store's config and layers, and the config must hash to the image's ID", async () => {
    const { image, stored, config } = await fakeStore(threeLayers)
    const store = (await openRunnerStore(image, [])) as RunnerStore
    expect(store.how).toBe('as root')
    expect(store.config.equals(config)).toBe(true)
    const layer = await store.layer(1)
    expect(layer.diffDir).toBe(stored[1].diffDir)
    expect(layer.tarSplit.equals(stored[1].tarSplit)).toBe(true)
    const scan = await scanLayer(layer.tarSplit, layer.diffDir)
    const files = store.files(scan.fileList)
    expect(sha(await collect(assembleLayer(layer.tarSplit, files.stdout)))).toBe(image.diffIds[1].slice(7))
    await files.done
  })

  it('says why it cannot be read: another store, another driver, a config that is not this image', async () => {
    const { image } = await fakeStore(threeLayers)
    expect(await openRunnerStore({ ...image, containerdStore: true }, [])).toEqual({ unusable: "the runner's engine uses the containerd image store" })
    expect(await openRunnerStore({ ...image, layerDirs: undefined }, [])).toEqual({ unusable: "the runner's engine does not keep this image in overlay2 folders" })
    expect(await openRunnerStore({ ...image, id: `sha256:${'0'.repeat(64)}` }, [])).toMatchObject({ unusable: expect.stringMatching(/^its files cannot be read/) })
    writeFileSync(join(root, 'image/overlay2/imagedb/content/sha256', image.id.slice(7)), '{"changed":true}')
    expect(await openRunnerStore(image, [])).toEqual({ unusable: "the image's config there does not match its ID" })
  })

  it("finds each layer's folder in docker image inspect (overlay2: UpperDir on top, LowerDir below, top down)", () => {
    const dir = (n: number) => `/var/lib/docker/overlay2/${String(n).repeat(8)}/diff`
    const inspect = (layers: number, data: Record<string, string>) =>
      JSON.stringify({ Id: 'sha256:x', RootFS: { Layers: Array.from({ length: layers }, (_, i) => `sha256:${i}`) }, GraphDriver: { Name: 'overlay2', Data: data } })
    expect(parseImageInspect(inspect(3, { UpperDir: dir(3), LowerDir: `${dir(2)}:${dir(1)}` })).layerDirs).toEqual([dir(1), dir(2), dir(3)])
    expect(parseImageInspect(inspect(1, { UpperDir: dir(1) })).layerDirs).toEqual([dir(1)])
    expect(parseImageInspect(inspect(3, { UpperDir: dir(3), LowerDir: dir(2) })).layerDirs).toBeUndefined()
  })
})

describe('storeArchive', () => {
  it('writes only the layers the host lacks, then the config and manifest.json, as docker load takes them', async () => {
    const { image, stored, config } = await fakeStore(threeLayers)
    const store = (await openRunnerStore(image, [])) as RunnerStore
    const archive = storeArchive(store, 'web:1', image, { skip: 2, oci: false })
    const entries = await archiveEntries(archive.stdout)
    await archive.done
    const blob = (digest: string) => `blobs/sha256/${digest.slice(7)}`
    expect([...entries.keys()]).toEqual([blob(image.diffIds[2]), blob(image.id), 'manifest.json'])
    expect(entries.get(blob(image.diffIds[2]))!.equals(stored[2].tar)).toBe(true)
    expect(entries.get(blob(image.id))!.equals(config)).toBe(true)
    expect(JSON.parse(entries.get('manifest.json')!.toString())).toEqual([{ Config: blob(image.id), RepoTags: ['web:1'], Layers: image.diffIds.map(blob) }])
  })

  it('for a containerd-store host, adds an OCI index and manifest that give every layer its size', async () => {
    const { image, stored } = await fakeStore(threeLayers)
    const store = (await openRunnerStore(image, [])) as RunnerStore
    const archive = storeArchive(store, 'ghcr.io/acme/web:1', image, { skip: 1, oci: true })
    const entries = await archiveEntries(archive.stdout)
    const index = JSON.parse(entries.get('index.json')!.toString())
    expect(index.manifests[0].annotations).toEqual({ 'io.containerd.image.name': 'ghcr.io/acme/web:1', 'org.opencontainers.image.ref.name': '1' })
    const manifest = entries.get(`blobs/sha256/${index.manifests[0].digest.slice(7)}`)!
    expect(sha(manifest)).toBe(index.manifests[0].digest.slice(7))
    const layers = JSON.parse(manifest.toString()).layers
    expect(layers.map((layer: { size: number }) => layer.size)).toEqual(stored.map((layer) => layer.tar.length))
    expect(entries.has(`blobs/sha256/${image.diffIds[0].slice(7)}`)).toBe(false)
    expect(entries.has('oci-layout')).toBe(true)
  })

  it('names the image as docker save does, and only by a name and tag', () => {
    expect(repoTag('web')).toBe('web:latest')
    expect(repoTag('acme/web:2')).toBe('acme/web:2')
    expect(repoTag('localhost:5000/web:2')).toBe('localhost:5000/web:2')
    expect(repoTag(`web@sha256:${'a'.repeat(64)}`)).toBeUndefined()
    expect(repoTag('a'.repeat(64))).toBeUndefined()
  })
})

describe('sendImage with the runner store', () => {
  const gzip = { codec: 'gzip' as const, level: 1, adapt: false, reason: 'test' }

  /** Transfer deps with the store, and a docker save that gives `bytes`: what it was asked and logged. */
  function savingRunner(bytes: Buffer, store: RunnerStore) {
    const logged: string[] = []
    const saves: string[] = []
    const deps = {
      save: (ref: string) => {
        saves.push(ref)
        return { stdout: chunked(bytes), done: Promise.resolve(), stop: () => undefined }
      },
      log: (line: string) => void logged.push(line),
      store
    }
    return { deps, logged, saves }
  }

  function host(known: string[], failFirst: boolean) {
    const received: Map<string, Buffer>[] = []
    let loads = 0
    const fake = {
      facts: { user: 'root', dockerVersion: '27', tools: [] },
      layers: async () => ({ chainIds: collectChainIds([known]), images: [], containerdStore: false }),
      load: async (_codec: string, body: Readable) => {
        // As over SSH: a stream that breaks is a docker load that fails on a cut archive.
        const chunks: Buffer[] = []
        try {
          for await (const chunk of body) chunks.push(chunk as Buffer)
        } catch {
          return { code: 1, stdout: '', stderr: 'unexpected EOF' }
        }
        received.push(await archiveEntries(Readable.from([zlib.gunzipSync(Buffer.concat(chunks))])))
        return ++loads === 1 && failFirst ? { code: 1, stdout: '', stderr: 'invalid diffID for layer 2' } : { code: 0, stdout: '', stderr: '' }
      },
      verifyImage: async (sent: ImageInfo) => ({ image: sent })
    } as unknown as Host
    return { fake, received }
  }

  it('reads only the missing layers from the store: docker save never runs', async () => {
    const { image, stored } = await fakeStore(threeLayers)
    const store = (await openRunnerStore(image, [])) as RunnerStore
    const { fake, received } = host(image.diffIds.slice(0, 2), false)
    const logged: string[] = []
    const saves: string[] = []
    const result = await sendImage(fake, 'web:1', image, gzip, {
      save: (ref) => { saves.push(ref); throw new Error('no save expected') },
      log: (line) => void logged.push(line),
      store
    })
    expect(saves).toEqual([])
    expect(logged).toContain("Reading 1 layer from the runner's Docker store (as root) instead of exporting the image")
    expect(result.skippedLayers).toBe(2)
    expect(received).toHaveLength(1)
    expect(received[0].get(`blobs/sha256/${image.diffIds[2].slice(7)}`)!.equals(stored[2].tar)).toBe(true)
    expect(result.archiveBytes).toBeLessThan(10_000)
  })

  it("does not fall back when the host's load throws (an engine that stopped answering): another archive would not help", async () => {
    const { image } = await fakeStore(threeLayers)
    const store = (await openRunnerStore(image, [])) as RunnerStore
    const { fake } = host(image.diffIds.slice(0, 2), false)
    ;(fake as unknown as { load: () => Promise<never> }).load = async () => {
      throw new Error("The host's Docker engine stopped answering during docker load")
    }
    const saves: string[] = []
    await expect(sendImage(fake, 'web:1', image, gzip, {
      save: (ref) => { saves.push(ref); throw new Error('no save expected') },
      log: () => undefined,
      store
    })).rejects.toThrow(/stopped answering/)
    expect(saves).toEqual([])
  })

  it('falls back to docker save when the store cannot be read midway (a layer changed under it)', async () => {
    const { image, stored } = await fakeStore(threeLayers)
    const store = (await openRunnerStore(image, [])) as RunnerStore
    writeFileSync(join(stored[2].diffDir, 'app/main.js'), 'shorter')
    const archive = await fakeArchive([1000, 1000, 1000], 'oci')
    const { fake } = host(image.diffIds.slice(0, 2), false)
    const { deps, logged, saves } = savingRunner(archive.bytes, store)
    await sendImage(fake, 'web:1', image, gzip, deps)
    expect(saves).toEqual(['web:1'])
    expect(logged.some((line) => /^The load of the layers read from the runner's Docker store failed \(.*shorter on disk/.test(line))).toBe(true)
  })

  it('does not fall back to docker save once the run is cancelled', async () => {
    const { image } = await fakeStore(threeLayers)
    const store = (await openRunnerStore(image, [])) as RunnerStore
    const { fake } = host(image.diffIds.slice(0, 2), true)
    const cancel = new AbortController()
    cancel.abort()
    const saves: string[] = []
    await expect(sendImage(fake, 'web:1', image, gzip, {
      save: (ref) => { saves.push(ref); throw new Error('no save expected') },
      log: () => undefined,
      signal: cancel.signal,
      store
    })).rejects.toThrow(/invalid diffID/)
    expect(saves).toEqual([])
  })

  it("falls back to docker save's export when the host refuses what the store gave", async () => {
    const { image } = await fakeStore(threeLayers)
    const store = (await openRunnerStore(image, [])) as RunnerStore
    const archive = await fakeArchive([1000, 1000, 1000], 'oci')
    const { fake, received } = host(image.diffIds.slice(0, 2), true)
    const { deps, logged, saves } = savingRunner(archive.bytes, store)
    const result = await sendImage(fake, 'web:1', image, gzip, deps)
    expect(saves).toEqual(['web:1'])
    expect(logged).toContain("The load of the layers read from the runner's Docker store failed (docker load on the host failed: invalid diffID for layer 2); sending docker save's export instead")
    expect(received).toHaveLength(2)
    expect(result.sentBytes).toBeGreaterThan(0)
  })
})

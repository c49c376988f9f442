import zlib, { createGunzip } from 'node:zlib'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { chainIds, sharedLayerCount, sharedSizeTest, collectChainIds } from '../src/transfer/layers.js'
import { dropLayers } from '../src/transfer/tar-filter.js'
import { mkdtempSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { sendImage } from '../src/transfer/transfer.js'
import type { Host } from '../src/host/index.js'
import type { Codec } from '../src/transfer/compression.js'
import type { ImageInfo } from '../src/image/info.js'
import { archiveEntries, chunked, fakeArchive, tarOf, type FakeArchive } from './support/archive.js'
import { tempDir } from './support/temp-dir.js'

describe('sharedSizeTest', () => {
  // docker history, oldest first: busybox 2 MB, a 1 GiB layer, an ENV (0), the app (808 B).
  const history = [1_984_247, 1_073_741_824, 0, 808]

  it('spools only tars sized like one of the shared layers', () => {
    const maybe = sharedSizeTest(history, 1)!
    expect(maybe(2_128_896, false)).toBe(true) // busybox's tar: content plus headers
    expect(maybe(1_073_743_872, false)).toBe(false) // the 1 GiB layer is not shared: sent at once
    expect(maybe(7_680, false)).toBe(false)
    expect(sharedSizeTest(history, 2)!(1_073_743_872, false)).toBe(true)
  })

  it('lets a compressed blob be any size up to the bound of a shared layer', () => {
    const maybe = sharedSizeTest(history, 1)!
    expect(maybe(900_000, true)).toBe(true) // busybox gzipped
    expect(maybe(900_000, false)).toBe(false) // too small for busybox's plain tar
    expect(maybe(600_000_000, true)).toBe(false) // bigger than any shared layer could be
  })

  it('gives no answer without history, with nothing shared, or with too few history layers', () => {
    expect(sharedSizeTest(undefined, 1)).toBeUndefined()
    expect(sharedSizeTest(history, 0)).toBeUndefined()
    expect(sharedSizeTest([0, 5], 2)).toBeUndefined()
  })
})

describe('chain IDs', () => {
  it('follow Docker: the first is the diff ID, then sha256 of "<below> <diff>"', () => {
    const [a, b] = [`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`]
    const expected = 'sha256:' + createHash('sha256').update(`${a} ${b}`).digest('hex')
    expect(chainIds([a, b])).toEqual([a, expected])
  })

  it('only a prefix of layers can be shared', () => {
    const [a, b, c] = ['1', '2', '3'].map((d) => `sha256:${d.repeat(64)}`)
    const host = collectChainIds([[a, b]])
    expect(sharedLayerCount([a, b, c], host)).toBe(2)
    expect(sharedLayerCount([b, c], host)).toBe(0) // b alone is not the chain a→b
    expect(sharedLayerCount([a, c], host)).toBe(1)
  })
})

describe('dropLayers', () => {
  const spoolRoot = tempDir('bg-spool-test-')
  it('classic layout: hashes each layer.tar and leaves out the shared ones, copying every other entry byte for byte', async () => {
    const archive = await fakeArchive([300_000, 70_000, 5_000], 'classic')
    const original = await archiveEntries(chunked(archive.bytes))
    const filter = dropLayers(chunked(archive.bytes, 4096), Promise.resolve({ ids: new Set(archive.diffIds.slice(0, 2)) }))
    const filtered = await archiveEntries(filter.archive)
    expect(filter.dropped()).toBe(2)
    expect([...filtered.keys()]).toEqual([...original.keys()].filter((name) => !archive.layerPaths.slice(0, 2).includes(name)))
    for (const [name, body] of filtered) expect(body.equals(original.get(name)!)).toBe(true)
  })

  it('OCI layout: decides by the blob name', async () => {
    const archive = await fakeArchive([200_000, 3_000], 'oci')
    const filter = dropLayers(chunked(archive.bytes), Promise.resolve({ ids: new Set(archive.diffIds.slice(0, 1)) }))
    const filtered = await archiveEntries(filter.archive)
    expect(filter.dropped()).toBe(1)
    expect(filtered.has(archive.layerPaths[0])).toBe(false)
    expect(filtered.has(archive.layerPaths[1])).toBe(true)
  })

  it('containerd store, no manifest to go by: unpacks each compressed blob to its diff ID, leaves out the shared ones, copies the rest byte for byte', async () => {
    const spoolDir = mkdtempSync(join(spoolRoot, 'spool-'))
    const archive = await fakeArchive([200_000, 50_000, 3_000], 'containerd')
    const original = await archiveEntries(chunked(archive.bytes))
    const shared = new Set(archive.diffIds.slice(0, 2))
    expect(archive.layerPaths.some((path) => shared.has(`sha256:${path.split('/').pop()}`))).toBe(false) // names are no help
    // Without the image's diff IDs no manifest can name the blobs.
    const filter = dropLayers(chunked(archive.bytes, 4096), Promise.resolve({ ids: shared }), spoolDir)
    const filtered = await archiveEntries(filter.archive)
    expect(filter.dropped()).toBe(2)
    // Blobs held for a manifest come at the end; docker load reads the whole archive first.
    expect([...filtered.keys()].sort()).toEqual([...original.keys()].filter((name) => !archive.layerPaths.slice(0, 2).includes(name)).sort())
    for (const [name, body] of filtered) expect(body.equals(original.get(name)!)).toBe(true)
  })

  /** The archive with the start of `path`'s data overwritten by `bytes`. */
  const patched = (archive: FakeArchive, path: string, bytes: number[]): Buffer => {
    const copy = Buffer.from(archive.bytes)
    // The entry's data follows its 512-byte header, whose name field is padded with NULs.
    Buffer.from(bytes).copy(copy, copy.indexOf(Buffer.from(`${path}\0`)) + 512)
    return copy
  }

  it('containerd store: a zstd blob counts by its content where Node reads zstd, and is sent where it cannot', async () => {
    const nodeReadsZstd = typeof (zlib as unknown as { createZstdDecompress?: unknown }).createZstdDecompress === 'function'
    if (nodeReadsZstd) {
      const archive = await fakeArchive([120_000, 2_000], 'containerd', ['zstd', 'gzip'])
      const filter = dropLayers(chunked(archive.bytes), Promise.resolve({ ids: new Set(archive.diffIds.slice(0, 1)) }))
      const filtered = await archiveEntries(filter.archive)
      expect(filter.dropped()).toBe(1)
      expect(filtered.has(archive.layerPaths[0])).toBe(false)
    } else {
      // Node 20: a blob that starts like zstd cannot be looked into, so it goes as it is.
      const archive = await fakeArchive([120_000, 2_000], 'containerd', ['none', 'gzip'])
      await expectSentAsIs(archive, patched(archive, archive.layerPaths[0], [0x28, 0xb5, 0x2f, 0xfd]))
    }
  })

  it('containerd store: a blob that only starts like gzip is sent as it is', async () => {
    const archive = await fakeArchive([120_000, 2_000], 'containerd', ['none', 'gzip'])
    await expectSentAsIs(archive, patched(archive, archive.layerPaths[0], [0x1f, 0x8b, 0x08, 0x00]))
  })

  /** Layer 0 of `bytes` cannot be unpacked: it is copied unchanged, and the gzip layer 1 still found. */
  async function expectSentAsIs(archive: FakeArchive, bytes: Buffer): Promise<void> {
    const original = await archiveEntries(chunked(bytes))
    const ids = new Set([`sha256:${'0'.repeat(64)}`, archive.diffIds[1]])
    const filter = dropLayers(chunked(bytes), Promise.resolve({ ids }))
    const filtered = await archiveEntries(filter.archive)
    expect(filter.dropped()).toBe(1)
    expect(filtered.get(archive.layerPaths[0])!.equals(original.get(archive.layerPaths[0])!)).toBe(true)
    expect(filtered.has(archive.layerPaths[1])).toBe(false)
  }

  it('copies a layer whose size rules it out without spooling it, even were it shared', async () => {
    const spoolDir = mkdtempSync(join(spoolRoot, 'spool-'))
    const archive = await fakeArchive([300_000, 1_000], 'classic')
    const maybe = (size: number): boolean => size < 100_000 // only the small one could be shared
    const filter = dropLayers(chunked(archive.bytes), Promise.resolve({ ids: new Set(archive.diffIds), maybe }), spoolDir)
    const filtered = await archiveEntries(filter.archive)
    expect(filtered.has(archive.layerPaths[0])).toBe(true) // ruled out by size: sent
    expect(filtered.has(archive.layerPaths[1])).toBe(false) // hashed, shared: dropped
    expect(filter.dropped()).toBe(1)
  })

  /**
   * Two gzipped layer blobs and the manifest that names them, first or last. The image's diff
   * IDs are made up: only the manifest can tie them to the blobs, hashing could not.
   */
  async function namedByManifest(manifestFirst: boolean) {
    const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')
    const blobs = [randomBytes(200_000), randomBytes(100_000)].map((layer) => zlib.gzipSync(layer))
    const paths = blobs.map((blob) => `blobs/sha256/${sha(blob)}`)
    const diffIds = [`sha256:${'1'.repeat(64)}`, `sha256:${'2'.repeat(64)}`]
    const manifest = JSON.stringify({ schemaVersion: 2, layers: blobs.map((blob) => ({ digest: `sha256:${sha(blob)}` })) })
    const layers: [string, Buffer][] = blobs.map((blob, i) => [paths[i], blob])
    const named: [string, Buffer] = [`blobs/sha256/${sha(manifest)}`, Buffer.from(manifest)]
    const bytes = await tarOf(manifestFirst ? [named, ...layers] : [...layers, named])
    return { bytes, paths, diffIds, blobs }
  }

  it('containerd store, manifest first: leaves out a shared blob by its name, spooling and unpacking nothing', async () => {
    const { bytes, paths, diffIds, blobs } = await namedByManifest(true)
    const shared = { ids: new Set(diffIds.slice(0, 1)), diffIds }
    // A spool folder that cannot exist: spooling would fail the stream.
    const filter = dropLayers(chunked(bytes, 4096), Promise.resolve(shared), '/nonexistent/bluegreen-spool')
    const filtered = await archiveEntries(filter.archive)
    expect(filter.dropped()).toBe(1)
    expect(filtered.has(paths[0])).toBe(false)
    expect(filtered.get(paths[1])!.equals(blobs[1])).toBe(true)
  })

  it('containerd store, manifest last: holds the blobs on disk until it names them, unpacking nothing', async () => {
    const spoolDir = mkdtempSync(join(spoolRoot, 'spool-'))
    const { bytes, paths, diffIds, blobs } = await namedByManifest(false)
    const filter = dropLayers(chunked(bytes, 4096), Promise.resolve({ ids: new Set(diffIds.slice(0, 1)), diffIds }), spoolDir)
    const filtered = await archiveEntries(filter.archive)
    expect(filter.dropped()).toBe(1) // by name: their content does not hash to these made-up diff IDs
    expect(filtered.has(paths[0])).toBe(false)
    expect(filtered.get(paths[1])!.equals(blobs[1])).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(readdirSync(spoolDir)).toEqual([])
  })

  it('keeps its spool folder only while it runs', async () => {
    const spoolDir = mkdtempSync(join(spoolRoot, 'spool-'))
    const archive = await fakeArchive([100_000, 1_000], 'classic')
    const filter = dropLayers(chunked(archive.bytes), Promise.resolve({ ids: new Set(archive.diffIds.slice(0, 1)) }), spoolDir)
    await archiveEntries(filter.archive)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(readdirSync(spoolDir)).toEqual([])
  })
})

/** A host that unpacks what it is sent, and knows the chains of the given layers (and these images). */
function receivingHost(
  knownDiffIds: string[],
  verify: (entries: Map<string, Buffer>) => string | undefined,
  imageIds: string[] = [],
  containerdStore = false
) {
  const loaded = (problem: string | undefined) => (problem ? { problem } : { image: { id: 'sha256:img' } })
  const received: Map<string, Buffer>[] = []
  const tagged: string[] = []
  const host = {
    facts: { user: 'root', dockerVersion: '27', tools: [] },
    layers: async () => ({ chainIds: collectChainIds([knownDiffIds]), images: imageIds.map(imageWithId), containerdStore }),
    tagImage: async (id: string, ref: string) => void tagged.push(`${id} ${ref}`),
    load: async (codec: Codec, body: Readable) => {
      expect(codec).toBe('gzip')
      received.push(await archiveEntries(body.pipe(createGunzip())))
      return { code: 0, stdout: 'Loaded image: web:1', stderr: '' }
    },
    verifyImage: async () => loaded(verify(received[received.length - 1]))
  } as unknown as Host
  return { host, received, tagged }
}

function runner(archive: FakeArchive) {
  const saves: string[] = []
  const logged: string[] = []
  const stdouts: Readable[] = []
  let stopped = 0
  return {
    saves,
    logged,
    stdouts,
    stopped: () => stopped,
    deps: {
      save: (ref: string) => {
        saves.push(ref)
        stdouts.push(chunked(archive.bytes))
        return { stdout: stdouts[stdouts.length - 1], done: Promise.resolve(), stop: () => void stopped++ }
      },
      log: (line: string) => void logged.push(line)
    }
  }
}

/** A host image known only by its ID (another image's layers and config). */
const imageWithId = (id: string): ImageInfo => ({
  id, diffIds: [], exposedPorts: [], sizeBytes: 1, hasHealthcheck: false, repoTags: [], configKey: '[]'
})

const gzip = { codec: 'gzip' as const, level: 1, adapt: false, reason: 'test' }
const info = (archive: FakeArchive): ImageInfo => ({
  id: 'sha256:img', diffIds: archive.diffIds, exposedPorts: [], sizeBytes: archive.bytes.length, hasHealthcheck: false,
  repoTags: [], configKey: '[]'
})

describe('sendImage', () => {
  /** A host whose docker load reads `bytes` of the stream, then ends (exit 1) and closes its end. */
  const quittingHost = (archive: FakeArchive, bytes: number, containerdStore = false) => ({
    facts: { user: 'root', dockerVersion: '27', tools: [] },
    layers: async () => ({ chainIds: collectChainIds([archive.diffIds.slice(0, 1)]), images: [], containerdStore }),
    load: async (_codec: Codec, body: Readable) => {
      let read = 0
      await new Promise<void>((resolve) => {
        body.on('data', (chunk: Buffer) => {
          read += chunk.length
          if (read <= bytes) return
          body.destroy() // as Ssh.stream() does once the remote command has exited
          resolve()
        })
        body.on('end', resolve)
      })
      return { code: 1, stdout: '', stderr: 'unexpected EOF' }
    },
    verifyImage: async () => ({ problem: 'not loaded' })
  }) as unknown as Host

  it.each([
    ['classic', 0], ['classic', 100_000], ['oci', 100_000], ['containerd', 0], ['containerd', 100_000]
  ] as const)('%s layout, docker load ends after %i bytes: the transfer fails with its error, and nothing is left to throw', async (layout, bytes) => {
    const archive = await fakeArchive([1_500_000, 1_000_000, 2_000], layout)
    const host = quittingHost(archive, bytes, layout === 'containerd')
    await expect(sendImage(host, 'web:1', info(archive), gzip, runner(archive).deps)).rejects.toThrow('docker load on the host failed: unexpected EOF')
    // An error event nobody listens to, or a rejection nobody handles, would fail the test here.
    await new Promise((resolve) => setTimeout(resolve, 300))
  })

  it('classic layout: one pass, sending only the missing top layer', async () => {
    const archive = await fakeArchive([400_000, 300_000, 2_000], 'classic')
    const { host, received } = receivingHost(archive.diffIds.slice(0, 2), () => undefined)
    const { deps, saves } = runner(archive)
    const result = await sendImage(host, 'web:1', info(archive), gzip, deps)
    expect(saves).toHaveLength(1)
    expect(result.skippedLayers).toBe(2)
    expect(received[0].has(archive.layerPaths[0])).toBe(false)
    expect(received[0].has(archive.layerPaths[1])).toBe(false)
    expect(received[0].has(archive.layerPaths[2])).toBe(true)
    expect(received[0].has('manifest.json')).toBe(true)
    expect(result.sentBytes).toBeLessThan(20_000)
    expect(result.archiveBytes).toBe(archive.bytes.length)
  })

  it('OCI layout: decides by blob name in one pass', async () => {
    const archive = await fakeArchive([400_000, 2_000], 'oci')
    const { host, received } = receivingHost(archive.diffIds.slice(0, 1), () => undefined)
    const { deps, saves } = runner(archive)
    const result = await sendImage(host, 'web:1', info(archive), gzip, deps)
    expect(saves).toHaveLength(1)
    expect(result.skippedLayers).toBe(1)
    expect([...received[0].keys()]).not.toContain(archive.layerPaths[0])
    expect([...received[0].keys()]).toContain(archive.layerPaths[1])
  })

  it('tags the image the host has under another name, and sends nothing', async () => {
    const archive = await fakeArchive([50_000, 2_000], 'classic')
    const { host, received, tagged } = receivingHost(archive.diffIds, () => undefined, ['sha256:other', 'sha256:img'])
    const { deps, saves, stdouts, stopped } = runner(archive)
    const result = await sendImage(host, 'web:2', info(archive), gzip, deps)
    expect(tagged).toEqual(['sha256:img web:2'])
    expect(received).toHaveLength(0)
    // docker save was started (its first byte takes longest) and stopped unread.
    expect(saves).toEqual(['web:2'])
    expect(stopped()).toBe(1)
    expect(stdouts[0].readableFlowing).not.toBe(true)
    expect(result).toMatchObject({ tagged: true, sentBytes: 0, archiveBytes: 0, skippedLayers: 2, totalLayers: 2 })
    expect(result.loaded.id).toBe('sha256:img')
  })

  it('tags by the host\'s own ID the same content a containerd-store host names otherwise', async () => {
    const archive = await fakeArchive([50_000, 2_000], 'oci')
    const { host, received, tagged } = receivingHost(archive.diffIds, () => undefined, [], true)
    const asHostSeesIt = { ...info(archive), id: 'sha256:manifest', containerdStore: true }
    const rebuilt = { ...info(archive), id: 'sha256:rebuild' } // a classic host: another ID is another image
    const listing = { chainIds: collectChainIds([archive.diffIds]), containerdStore: true }
    host.layers = async () => ({ ...listing, images: [rebuilt, asHostSeesIt] })
    const result = await sendImage(host, 'web:2', info(archive), gzip, runner(archive).deps)
    expect(tagged).toEqual(['sha256:manifest web:2'])
    expect(received).toHaveLength(0)
    expect(result).toMatchObject({ tagged: true, sentBytes: 0 })
  })

  it('sends everything, once, when the host has none of the layers', async () => {
    const archive = await fakeArchive([50_000, 2_000], 'classic')
    const { host, received } = receivingHost([], () => undefined)
    const { deps, saves } = runner(archive)
    const result = await sendImage(host, 'web:1', info(archive), gzip, deps)
    expect(saves).toHaveLength(1)
    expect(result.skippedLayers).toBe(0)
    expect(received[0].size).toBe((await archiveEntries(chunked(archive.bytes))).size)
  })

  it('resends every layer when the partial load does not verify (containerd store)', async () => {
    const archive = await fakeArchive([100_000, 2_000], 'classic')
    const { host, received } = receivingHost(archive.diffIds.slice(0, 1), (entries) =>
      entries.has(archive.layerPaths[0]) ? undefined : 'the host has no image sha256:img after docker load'
    )
    const { deps } = runner(archive)
    const result = await sendImage(host, 'web:1', info(archive), gzip, deps)
    expect(received).toHaveLength(2)
    expect(received[1].has(archive.layerPaths[0])).toBe(true)
    expect(result.skippedLayers).toBe(0)
    expect(result.sentBytes).toBeGreaterThan(100_000)
  })

  it('containerd-store host: an OCI-layout archive goes without the layers the host has', async () => {
    const archive = await fakeArchive([100_000, 2_000], 'oci')
    const { host, received } = receivingHost(archive.diffIds.slice(0, 1), () => undefined, [], true)
    const result = await sendImage(host, 'web:1', info(archive), gzip, runner(archive).deps)
    expect(received).toHaveLength(1)
    expect(received[0].has(archive.layerPaths[0])).toBe(false)
    expect(result.skippedLayers).toBe(1)
  })

  it('containerd-store host: a legacy-layout archive goes whole at once, and the log says why', async () => {
    const archive = await fakeArchive([100_000, 2_000], 'classic')
    const { host, received } = receivingHost(archive.diffIds.slice(0, 1), () => undefined, [], true)
    const { deps, logged } = runner(archive)
    const result = await sendImage(host, 'web:1', info(archive), gzip, deps)
    expect(received).toHaveLength(1)
    expect(received[0].has(archive.layerPaths[0])).toBe(true)
    expect(result.skippedLayers).toBe(0)
    expect(logged).toContain(
      "The runner's docker save writes the legacy layout, which the host's containerd store loads only whole: sent every layer"
    )
  })

  it("fails with the host's answer when its layers cannot be listed, and stops docker save", async () => {
    const archive = await fakeArchive([10_000], 'classic')
    const host = {
      facts: { user: 'root', dockerVersion: '27', tools: [] },
      layers: async () => {
        throw new Error("Could not list the host's image layers: permission denied")
      }
    } as unknown as Host
    const { deps, stopped } = runner(archive)
    await expect(sendImage(host, 'web:1', info(archive), gzip, deps)).rejects.toThrow(
      "Could not list the host's image layers: permission denied"
    )
    expect(stopped()).toBe(1)
  })

  it('fails with what docker load said', async () => {
    const archive = await fakeArchive([10_000], 'classic')
    const host = {
      facts: { user: 'root', dockerVersion: '27', tools: [] },
      layers: async () => ({ chainIds: new Set<string>(), images: [], containerdStore: false }),
      load: async (_d: string, body: Readable) => {
        body.resume()
        return { code: 1, stdout: '', stderr: 'Error processing tar file(exit status 1): write /x: no space left on device' }
      },
      verifyImage: async () => ({ image: { id: 'sha256:img' } })
    } as unknown as Host
    await expect(sendImage(host, 'web:1', info(archive), gzip, runner(archive).deps)).rejects.toThrow(
      /^docker load on the host failed: .*no space left on device/
    )
  })
})

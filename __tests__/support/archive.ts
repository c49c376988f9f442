import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import zlib from 'node:zlib'
import { extract, pack } from 'tar-stream'

export interface FakeArchive {
  bytes: Buffer
  diffIds: string[]
  /** Archive path of each layer's file, bottom first. */
  layerPaths: string[]
}

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')

export type Layout = 'classic' | 'oci' | 'containerd'

/**
 * A `docker save` archive in the classic (v1 folders) or OCI (blobs/sha256) layout of the
 * classic store, or as the containerd image store writes it: layer blobs compressed (gzip, or
 * the codec `codecs` names per layer) and named by their compressed digest, a manifest blob,
 * every entry in name order (containerd's exporter sorts them), manifest.json near the end.
 */
export async function fakeArchive(
  layerSizes: number[],
  layout: Layout,
  codecs: ('gzip' | 'zstd' | 'none')[] = []
): Promise<FakeArchive> {
  const layers = layerSizes.map((size) => randomBytes(size))
  const diffIds = layers.map((layer) => `sha256:${sha(layer)}`)
  const stored = layers.map((layer, i) => (layout === 'containerd' ? compress(layer, codecs[i] ?? 'gzip') : layer))
  const layerPaths = stored.map((layer, i) =>
    layout === 'classic' ? `${sha(`v1-${i}-${sha(layer)}`)}/layer.tar` : `blobs/sha256/${sha(layer)}`
  )
  const config = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: diffIds } }))
  const configPath = layout === 'classic' ? `${sha(config)}.json` : `blobs/sha256/${sha(config)}`
  const manifest = Buffer.from(JSON.stringify([{ Config: configPath, RepoTags: ['web:1'], Layers: layerPaths }]))
  const entries: [string, Buffer][] = []
  stored.forEach((layer, i) => {
    if (layout === 'classic') {
      const folder = layerPaths[i].split('/')[0]
      entries.push([`${folder}/VERSION`, Buffer.from('1.0')], [`${folder}/json`, Buffer.from('{}')])
    }
    entries.push([layerPaths[i], layer])
  })
  entries.push([configPath, config])
  if (layout === 'containerd') {
    // As BuildKit's docker exporter writes it (the layers in diff ID order).
    const ociManifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
        layers: stored.map((layer) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: `sha256:${sha(layer)}`, size: layer.length }))
      })
    )
    entries.push([`blobs/sha256/${sha(ociManifest)}`, ociManifest], ['index.json', Buffer.from('{}')], ['oci-layout', Buffer.from('{}')])
  }
  // Docker writes the archive in path order, so manifest.json comes after the layers.
  entries.push(['manifest.json', manifest])
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  if (layout !== 'containerd') entries.push(['repositories', Buffer.from('{}')])
  return { bytes: await tarOf(entries), diffIds, layerPaths }
}

/** A tar of these entries, in this order. */
export async function tarOf(entries: [string, Buffer | string][]): Promise<Buffer> {
  const archive = pack()
  for (const [name, body] of entries) archive.entry({ name }, body)
  archive.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of archive) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

type ZstdSync = { zstdCompressSync?: (data: Buffer) => Buffer }

function compress(layer: Buffer, codec: 'gzip' | 'zstd' | 'none'): Buffer {
  if (codec === 'none') return layer
  if (codec === 'gzip') return zlib.gzipSync(layer)
  const zstd = (zlib as unknown as ZstdSync).zstdCompressSync
  if (!zstd) throw new Error(`no zstd in Node ${process.version}`)
  return zstd(layer)
}

export async function archiveEntries(stream: Readable): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>()
  const input = extract()
  stream.pipe(input)
  for await (const entry of input) {
    const chunks: Buffer[] = []
    for await (const chunk of entry) chunks.push(chunk as Buffer)
    entries.set(entry.header.name, Buffer.concat(chunks))
  }
  return entries
}

/** Splits a buffer into chunks the way a pipe delivers it. */
export function chunked(bytes: Buffer, size = 65536): Readable {
  const chunks: Buffer[] = []
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
  return Readable.from(chunks)
}

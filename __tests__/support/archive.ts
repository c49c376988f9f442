import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { extract, pack } from 'tar-stream'

export interface FakeArchive {
  bytes: Buffer
  diffIds: string[]
  /** Archive path of each layer's file, bottom first. */
  layerPaths: string[]
}

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')

/** A `docker save` archive in the classic (v1 folders) or OCI (blobs/sha256) layout. */
export async function fakeArchive(layerSizes: number[], layout: 'classic' | 'oci'): Promise<FakeArchive> {
  const layers = layerSizes.map((size) => randomBytes(size))
  const diffIds = layers.map((layer) => `sha256:${sha(layer)}`)
  const layerPaths = layers.map((layer, i) =>
    layout === 'oci' ? `blobs/sha256/${sha(layer)}` : `${sha(`v1-${i}-${sha(layer)}`)}/layer.tar`
  )
  const config = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: diffIds } }))
  const configPath = layout === 'oci' ? `blobs/sha256/${sha(config)}` : `${sha(config)}.json`
  const manifest = Buffer.from(JSON.stringify([{ Config: configPath, RepoTags: ['web:1'], Layers: layerPaths }]))
  const entries: [string, Buffer][] = []
  layers.forEach((layer, i) => {
    if (layout === 'classic') {
      const folder = layerPaths[i].split('/')[0]
      entries.push([`${folder}/VERSION`, Buffer.from('1.0')], [`${folder}/json`, Buffer.from('{}')])
    }
    entries.push([layerPaths[i], layer])
  })
  entries.push([configPath, config])
  // Docker writes the archive in path order, so manifest.json comes after the layers.
  entries.sort(([a], [b]) => a.localeCompare(b))
  entries.push(['manifest.json', manifest], ['repositories', Buffer.from('{}')])
  const archive = pack()
  for (const [name, body] of entries) archive.entry({ name }, body)
  archive.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of archive) chunks.push(chunk as Buffer)
  return { bytes: Buffer.concat(chunks), diffIds, layerPaths }
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

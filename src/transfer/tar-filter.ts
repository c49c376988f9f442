import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { PassThrough, Readable, type Transform } from 'node:stream'
import { finished, pipeline } from 'node:stream/promises'
import { extract, pack, type ExtractEvents, type Header, type Pack } from 'tar-stream'
import { unpackerFor } from './compression.js'
import { chainIds } from './layers.js'
import { legacyLayerIndex } from './legacy-ids.js'

// Rewrites a `docker save` archive as it streams past, leaving out the layers the host already
// has and copying every other entry unchanged, in one pass.
//
// A layer is known by its diff ID, the sha256 of its uncompressed tar. Where the archive names
// a layer by it, the name decides: Docker 25+ on the classic store writes blobs/sha256/<diff ID>.
// Older engines write <v1 id>/layer.tar, and only manifest.json, written last, maps those to
// layers; but the <v1 id>/json just before each names it too (legacy-ids.ts).
// Elsewhere the entry is hashed while it is spooled to a temporary file, then dropped or copied
// on:
// - a legacy layer.tar whose json named no layer of the image: the tar's own sha256 is its diff
//   ID;
// - the containerd image store (Docker 29's default) keeps layers compressed as they were built
//   or pulled, and names each blob by the digest of its compressed bytes; blobs come sorted by
//   that digest, so the manifest may come after them. A blob that starts like gzip or zstd is
//   unpacked as it is spooled, and the sha256 of what comes out is its diff ID.
// Memory stays at a few chunks whatever the layer size; the disk holds one layer at a time, and
// once every shared layer has been left out, the rest streams straight through. (Measured on
// this project's sandbox: a first docker save pass only to read manifest.json cost 0.9 s for
// 82 MiB; spooling costs a page-cache write and a read.)

export interface LayerFilter {
  archive: Readable
  /** Layers left out so far; final once `archive` has ended. */
  dropped(): number
  /** Whether the archive came in the legacy layout and went whole (SharedLayers.wholeLegacy). */
  keptWhole(): boolean
}

export interface SharedLayers {
  /** Diff IDs of the layers the host has. */
  ids: Set<string>
  /**
   * Whether a layer entry of this size could be one of them (`compressed`: a blob that may be
   * smaller than its content). A layer that cannot is copied on at once instead of being spooled
   * and hashed first. Default: any size could.
   */
  maybe?: (entrySize: number, compressed: boolean) => boolean
  /**
   * Leave out nothing from an archive in the legacy layout (<v1 id>/layer.tar, Docker before
   * 25): the containerd image store loads such an archive only whole (Docker 26: "failed to
   * resolve layers: layer … not found"), where it takes an OCI one without the blobs it has.
   */
  wholeLegacy?: boolean
  /** The image's diff IDs, bottom first: what a legacy <v1 id>/json can name. */
  diffIds?: string[]
}

/** A JSON entry above this size is not read for the layer it names. */
const LEGACY_JSON_MAX = 1048576

/** `shared` (the layers the host has) may arrive late: the first entry waits for it. */
export function dropLayers(source: Readable, shared: Promise<SharedLayers>, spoolDir = tmpdir()): LayerFilter {
  const input = extract()
  const output = pack()
  let dropped = 0
  let keptWhole = false
  let spool: Promise<string> | undefined
  /** Diff IDs of legacy <v1 id> folders, as their json named them. */
  const named = new Map<string, string>()
  let chains: string[] | undefined
  const fail = (error: Error): void => void output.destroy(error)

  input.on('entry', (header, body, next) => {
    shared.then((layers) => route(layers, header, body, next), fail)
  })
  const route = (layers: SharedLayers, header: Header, body: EntryBody, next: () => void): void => {
    const done = (): void => next()
    const skip = layers.ids
    const blob = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(header.name)
    const folder = /^([a-f0-9]{64})\/(json|layer\.tar)$/.exec(header.name)
    const maybe = layers.maybe ?? (() => true)
    // Until every shared layer has been seen, any layer could be one of them.
    const looking = dropped < skip.size
    const hunting = looking && maybe(header.size ?? 0, Boolean(blob))
    const legacy = !blob && header.name.endsWith('/layer.tar')
    if (legacy && hunting && layers.wholeLegacy) keptWhole = true
    const diffIds = layers.wholeLegacy ? undefined : layers.diffIds
    const known = folder?.[2] === 'layer.tar' && diffIds ? named.get(folder[1]) : undefined
    if (folder?.[2] === 'json' && looking && diffIds && (header.size ?? 0) <= LEGACY_JSON_MAX) {
      nameLegacyFolder(folder[1], diffIds, header, body, done)
    } else if ((blob && skip.has(`sha256:${blob[1]}`)) || (known && skip.has(known))) {
      dropped++
      body.on('end', done).resume()
    } else if (known) {
      body.pipe(output.entry(header, done))
    } else if ((blob || (legacy && !layers.wholeLegacy)) && hunting) {
      spool ??= mkdtemp(join(spoolDir, 'bluegreen-layers-'))
      spool
        .then((dir) => spoolLayer(dir, header, body, blob !== null, skip, output))
        .then((wasDropped) => {
          if (wasDropped) dropped++
          done()
        }, fail)
    } else {
      body.pipe(output.entry(header, done))
    }
  }
  /** Copies a legacy <v1 id>/json on, noting which layer of the image its folder holds. */
  const nameLegacyFolder = (folder: string, diffIds: string[], header: Header, body: EntryBody, done: () => void): void => {
    readEntry(body).then((json) => {
      const index = legacyLayerIndex(json.toString(), (chains ??= chainIds(diffIds)))
      if (index !== undefined) named.set(folder, diffIds[index])
      output.entry(header, json, done)
    }, fail)
  }
  input.on('finish', () => output.finalize())
  input.on('error', fail)
  source.on('error', fail)
  source.pipe(input)
  const cleanUp = (): void => void spool?.then((dir) => rm(dir, { recursive: true, force: true }))
  output.on('close', cleanUp)
  output.on('end', cleanUp)
  return { archive: output as unknown as Readable, dropped: () => dropped, keptWhole: () => keptWhole }
}

/** What tar-stream hands over for an entry's body (a streamx readable). */
type EntryBody = ExtractEvents['entry'][1]

async function readEntry(body: EntryBody): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body as unknown as AsyncIterable<Buffer>) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/**
 * Spools the entry while it hashes its diff ID, and copies it on unless that is one to skip. A
 * blob (`named`: its name already told its raw digest) counts only when it is compressed, and
 * then by what it unpacks to; a plain blob, JSON or an unreadable codec goes straight on.
 */
async function spoolLayer(
  dir: string,
  header: Header,
  body: EntryBody,
  named: boolean,
  skip: Set<string>,
  output: Pack
): Promise<boolean> {
  const chunks = (body as unknown as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  const first = await chunks.next()
  const head: Buffer = first.done ? Buffer.alloc(0) : first.value
  const rest = async function* (): AsyncGenerator<Buffer> {
    if (!first.done) yield head
    for (let chunk = await chunks.next(); !chunk.done; chunk = await chunks.next()) yield chunk.value
  }
  const unpack = unpackerFor(head)
  if (named && !unpack) {
    await copyEntry(Readable.from(rest()), header, output)
    return false
  }
  const file = join(dir, 'layer.tar')
  const diffId = await spoolAndHash(rest(), file, unpack?.())
  if (diffId && skip.has(`sha256:${diffId}`)) return true
  await copyEntry(createReadStream(file), header, output)
  return false
}

/**
 * Writes the chunks to `file`; returns the sha256 of the chunks, or of what `unpack` makes of
 * them, or undefined when they do not unpack (a blob that only looked compressed: sent as is).
 */
async function spoolAndHash(chunks: AsyncIterable<Buffer>, file: string, unpack?: Transform): Promise<string | undefined> {
  const hash = createHash('sha256')
  const spooled = createWriteStream(file)
  let unpacked: Promise<boolean> = Promise.resolve(true)
  if (unpack) {
    unpack.on('data', (chunk: Buffer) => hash.update(chunk))
    unpacked = finished(unpack).then(() => true, () => false)
  }
  let readable = true
  void unpacked.then((ok) => (readable = ok))
  for await (const chunk of chunks) {
    if (!unpack) hash.update(chunk)
    await Promise.all([write(spooled, chunk), unpack && readable ? write(unpack, chunk, unpacked) : undefined])
  }
  spooled.end()
  unpack?.end()
  const [, ok] = await Promise.all([finished(spooled), unpacked])
  return ok ? hash.digest('hex') : undefined
}

/** Writes with backpressure; `until` settling (a failed unpacker) ends the wait for a drain. */
async function write(stream: NodeJS.WritableStream, chunk: Buffer, until?: Promise<unknown>): Promise<void> {
  if (stream.write(chunk)) return
  const waiting = new AbortController()
  const drained = once(stream as unknown as NodeJS.EventEmitter, 'drain', { signal: waiting.signal })
  await Promise.race(until ? [drained.catch(() => undefined), until] : [drained]).finally(() => waiting.abort())
}

async function copyEntry(source: Readable, header: Header, output: Pack): Promise<void> {
  const entry = new PassThrough()
  const written = new Promise<void>((resolve, reject) => entry.pipe(output.entry(header, (error) => (error ? reject(error) : resolve()))))
  await pipeline(source, entry)
  await written
}

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, type Transform, type Writable } from 'node:stream'
import { extract, pack, type Header } from 'tar-stream'
import { unpackerFor } from './compression.js'
import { chainIds } from './layers.js'
import { legacyLayerIndex } from './legacy-ids.js'
import { copyEntry, fileChunks, readEntry, sniff, spool, spoolAndHash, type EntryBody } from './spool.js'

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
//   or pulled, and names each blob by the digest of its compressed bytes, which only the image's
//   manifest maps to layers. Blobs come sorted by digest, so the manifest may come before or
//   after them: a compressed blob that comes before it is spooled and held (up to HOLD_MAX in
//   all) until the manifest names it; one that the manifest never names is unpacked from its
//   file, and the sha256 of what comes out is its diff ID.
// Memory stays at a few chunks whatever the layer size; the disk holds one layer at a time
// (held blobs aside), and once every shared layer has been left out, the rest streams straight
// through. (Measured on
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
  /** The image's diff IDs, bottom first: what a legacy <v1 id>/json or a manifest can name. */
  diffIds?: string[]
}

/** A JSON entry above this size is not read for the layer it names. */
const LEGACY_JSON_MAX = 1048576
/** Blobs up to this size are read whole in case they are the image's manifest. */
const MANIFEST_MAX = 65536
/** Compressed blobs held on disk until the manifest names them, in all. */
const HOLD_MAX = 2 * 1024 ** 3

/** The layer digests (hex) of an image manifest with `count` layers, or undefined for any other blob. */
export function manifestLayers(bytes: Buffer, count: number): string[] | undefined {
  if (bytes[0] !== 0x7b) return undefined // '{': JSON
  let manifest: { layers?: { digest?: unknown }[] }
  try {
    manifest = JSON.parse(bytes.toString()) as typeof manifest
  } catch {
    return undefined
  }
  const digests = (manifest.layers ?? []).map((layer) => /^sha256:([a-f0-9]{64})$/.exec(String(layer?.digest))?.[1])
  return digests.length === count && digests.every((digest) => digest !== undefined) ? (digests as string[]) : undefined
}

/** A compressed blob spooled before the manifest came. */
interface Held {
  header: Header
  digest: string
  file: string
  unpack: () => Transform
}

/** `shared` (the layers the host has) may arrive late: the first entry waits for it. */
export function dropLayers(source: Readable, shared: Promise<SharedLayers>, spoolDir = tmpdir()): LayerFilter {
  const input = extract()
  const output = pack()
  let dropped = 0
  let keptWhole = false
  let spoolFolder: Promise<string> | undefined
  let files = 0
  /** Diff IDs by legacy <v1 id> folder (as its json named it) or by blob digest (as the manifest did). */
  const named = new Map<string, string>()
  let chains: string[] | undefined
  const held: Held[] = []
  let heldBytes = 0
  let manifestSeen = false
  let skip = new Set<string>()
  const fail = (error: Error): void => void output.destroy(error)
  /**
   * An entry of the rewritten archive. Once the output is destroyed (the host stopped reading:
   * docker load ended, the connection broke) tar-stream throws here, and destroys the entry
   * being written, which then emits an error: both go to fail() instead of crashing the process.
   */
  const entry = (header: Header, body?: Buffer, done: (error?: Error | null) => void = () => undefined): Writable => {
    const sink = body === undefined ? output.entry(header, done) : output.entry(header, body, done)
    sink.on('error', fail)
    return sink as unknown as Writable
  }
  const newFile = async (): Promise<string> => join(await (spoolFolder ??= mkdtemp(join(spoolDir, 'bluegreen-layers-'))), `${files++}`)

  input.on('entry', (header, body, next) => {
    // A body piped into an entry the destroyed output took down goes down with it, erroring.
    body.on('error', fail)
    shared.then((layers) => route(layers, header, body, next)).catch(fail)
  })
  /** `whole`: the body was already read whole (a small blob that named no layers). */
  const route = (layers: SharedLayers, header: Header, body: EntryBody, next: () => void, whole = false): void => {
    const done = (): void => next()
    skip = layers.ids
    const blob = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(header.name)
    const folder = /^([a-f0-9]{64})\/(json|layer\.tar)$/.exec(header.name)
    const maybe = layers.maybe ?? (() => true)
    // Until every shared layer has been seen, any layer could be one of them.
    const looking = dropped < skip.size
    const hunting = looking && maybe(header.size ?? 0, Boolean(blob))
    const legacy = !blob && header.name.endsWith('/layer.tar')
    if (legacy && hunting && layers.wholeLegacy) keptWhole = true
    const diffIds = layers.wholeLegacy ? undefined : layers.diffIds
    const key = folder?.[2] === 'layer.tar' ? folder[1] : blob?.[1]
    const known = key && diffIds ? named.get(key) : undefined
    if (folder?.[2] === 'json' && looking && diffIds && (header.size ?? 0) <= LEGACY_JSON_MAX) {
      nameLegacyFolder(folder[1], diffIds, header, body, done)
    } else if (blob && !whole && !known && looking && diffIds && (header.size ?? 0) <= MANIFEST_MAX) {
      // Small blobs are JSON (config, manifest, index) or tiny layers: read whole, then routed.
      readEntry(body).then((bytes) => routeSmallBlob(layers, diffIds, header, bytes, done)).catch(fail)
    } else if ((blob && skip.has(`sha256:${blob[1]}`)) || (known && skip.has(known))) {
      dropped++
      body.on('end', done).resume()
    } else if (known) {
      body.pipe(entry(header, undefined, done))
    } else if ((blob || (legacy && !layers.wholeLegacy)) && hunting) {
      spoolLayer(header, body, blob?.[1]).then(done, fail)
    } else {
      body.pipe(entry(header, undefined, done))
    }
  }
  /**
   * A small blob: a manifest names the image's layer blobs, which are known by name from then on,
   * and the blobs held until it came are left out or copied on.
   */
  const routeSmallBlob = (layers: SharedLayers, diffIds: string[], header: Header, bytes: Buffer, done: () => void): void => {
    const digests = manifestLayers(bytes, diffIds.length)
    if (!digests) return route(layers, header, Readable.from([bytes]) as unknown as EntryBody, done, true)
    digests.forEach((digest, index) => named.set(digest, diffIds[index]))
    manifestSeen = true
    entry(header, bytes, (error) => (error ? fail(error) : releaseHeld().then(done, fail)))
  }
  /**
   * Spools a layer entry while it hashes its diff ID, and copies it on unless that is one to
   * skip. A compressed blob (`digest`: its name) before the manifest is spooled and held instead;
   * a plain blob, JSON or an unreadable codec goes straight on.
   */
  const spoolLayer = async (header: Header, body: EntryBody, digest?: string): Promise<void> => {
    const { head, chunks } = await sniff(body)
    const unpack = unpackerFor(head)
    // Once the manifest has named every layer, an unnamed blob is none of them.
    if (digest !== undefined && (!unpack || manifestSeen)) return copyEntry(Readable.from(chunks()), entry(header))
    const file = await newFile()
    if (digest !== undefined && unpack && heldBytes + (header.size ?? 0) <= HOLD_MAX) {
      await spool(chunks(), file)
      heldBytes += header.size ?? 0
      held.push({ header, digest, file, unpack })
      return
    }
    const diffId = await spoolAndHash(chunks(), file, unpack?.())
    await keepOrDrop(header, file, diffId && `sha256:${diffId}`)
  }
  /** Leaves out or copies on a spooled entry, and frees its file. */
  const keepOrDrop = async (header: Header, file: string, diffId: string | undefined): Promise<void> => {
    if (diffId && skip.has(diffId)) dropped++
    else await copyEntry(Readable.from(fileChunks(file)), entry(header))
    await rm(file, { force: true })
  }
  /** The held blobs, by the manifest's names, or (none came) by what they unpack to. */
  const releaseHeld = async (): Promise<void> => {
    for (const entry of held.splice(0)) {
      const diffId = named.get(entry.digest) ?? (await spoolAndHash(fileChunks(entry.file), undefined, entry.unpack()).then((hex) => hex && `sha256:${hex}`))
      await keepOrDrop(entry.header, entry.file, diffId)
    }
    heldBytes = 0
  }
  /** Copies a legacy <v1 id>/json on, noting which layer of the image its folder holds. */
  const nameLegacyFolder = (folder: string, diffIds: string[], header: Header, body: EntryBody, done: () => void): void => {
    readEntry(body).then((json) => {
      const index = legacyLayerIndex(json.toString(), (chains ??= chainIds(diffIds)))
      if (index !== undefined) named.set(folder, diffIds[index])
      entry(header, json, done)
    }).catch(fail)
  }
  input.on('finish', () => void releaseHeld().then(() => output.finalize()).catch(fail))
  input.on('error', fail)
  source.on('error', fail)
  source.pipe(input)
  // A transfer that ended early may still be writing a spool file as the folder goes: retried,
  // and a folder that stays anyway is not worth failing (or crashing) the run for.
  const cleanUp = (): void =>
    void spoolFolder?.then((dir) => rm(dir, { recursive: true, force: true, maxRetries: 5 })).catch(() => undefined)
  output.on('close', cleanUp)
  output.on('end', cleanUp)
  return { archive: output as unknown as Readable, dropped: () => dropped, keptWhole: () => keptWhole }
}

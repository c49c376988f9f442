import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { extract, pack, type ExtractEvents, type Header, type Pack } from 'tar-stream'

// Rewrites a `docker save` archive as it streams past, leaving out the layers the host already
// has and copying every other entry unchanged, in one pass.
//
// Docker 25+ names a layer blobs/sha256/<digest>, which for the classic store is its diff ID:
// the name decides. Older engines name it <v1 id>/layer.tar, and only manifest.json, written
// last, maps those to layers; so each layer.tar is hashed (its sha256 is its diff ID) while it
// is spooled to a temporary file, then dropped or copied on. Memory stays at a few chunks
// whatever the layer size; the disk holds one layer at a time. (Measured on this project's
// sandbox: a first docker save pass only to read manifest.json cost 0.9 s for 82 MiB; spooling
// costs a page-cache write and a read.)

export interface LayerFilter {
  archive: Readable
  /** Layers left out so far; final once `archive` has ended. */
  dropped(): number
}

export interface SharedLayers {
  /** Diff IDs of the layers the host has. */
  ids: Set<string>
  /**
   * Whether a layer.tar of this size could be one of them. A layer that cannot is copied on at
   * once instead of being spooled and hashed first. Default: any size could.
   */
  maybe?: (tarSize: number) => boolean
}

/** `shared` (the layers the host has) may arrive late: the first entry waits for it. */
export function dropLayers(source: Readable, shared: Promise<SharedLayers>, spoolDir = tmpdir()): LayerFilter {
  const input = extract()
  const output = pack()
  let dropped = 0
  let spool: Promise<string> | undefined
  const fail = (error: Error): void => void output.destroy(error)

  input.on('entry', (header, body, next) => {
    shared.then((layers) => route(layers, header, body, next), fail)
  })
  const route = (layers: SharedLayers, header: Header, body: EntryBody, next: () => void): void => {
    const done = (): void => next()
    const skip = layers.ids
    const blob = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(header.name)
    const maybe = layers.maybe ?? (() => true)
    if (blob && skip.has(`sha256:${blob[1]}`)) {
      dropped++
      body.on('end', done).resume()
    } else if (!blob && header.name.endsWith('/layer.tar') && skip.size > 0 && maybe(header.size ?? 0)) {
      spool ??= mkdtemp(join(spoolDir, 'bluegreen-layers-'))
      spool
        .then((dir) => spoolLayer(dir, header, body, skip, output))
        .then((wasDropped) => {
          if (wasDropped) dropped++
          done()
        }, fail)
    } else {
      body.pipe(output.entry(header, done))
    }
  }
  input.on('finish', () => output.finalize())
  input.on('error', fail)
  source.on('error', fail)
  source.pipe(input)
  const cleanUp = (): void => void spool?.then((dir) => rm(dir, { recursive: true, force: true }))
  output.on('close', cleanUp)
  output.on('end', cleanUp)
  return { archive: output as unknown as Readable, dropped: () => dropped }
}

/** What tar-stream hands over for an entry's body (a streamx readable). */
type EntryBody = ExtractEvents['entry'][1]

/** Hashes the entry into a file; copies it on unless its diff ID is one to skip. */
async function spoolLayer(dir: string, header: Header, body: EntryBody, skip: Set<string>, output: Pack): Promise<boolean> {
  const file = join(dir, 'layer.tar')
  const hash = createHash('sha256')
  await new Promise<void>((resolve, reject) => {
    const spooled = createWriteStream(file)
    body.on('data', (data) => {
      const chunk = data as Buffer
      hash.update(chunk)
      if (spooled.write(chunk)) return
      body.pause()
      spooled.once('drain', () => body.resume())
    })
    body.on('end', () => spooled.end())
    body.on('error', reject)
    spooled.on('error', reject)
    spooled.on('finish', resolve)
  })
  if (skip.has(`sha256:${hash.digest('hex')}`)) return true
  const entry = new PassThrough()
  const written = new Promise<void>((resolve, reject) => entry.pipe(output.entry(header, (error) => (error ? reject(error) : resolve()))))
  await pipeline(createReadStream(file), entry)
  await written
  return false
}

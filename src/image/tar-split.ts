import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'

// A layer's tar, rebuilt the way Docker's classic store rebuilds it for `docker save`: its
// tar-split file (layerdb/sha256/<chain ID>/tar-split.json.gz) holds every byte of the original
// tar except the files' contents, as a line of JSON per entry:
// - {"type":2,"payload":"<base64>"}: raw bytes (headers, padding, the end blocks), written as is;
// - {"type":1,"name":"usr/bin/x","size":N}: N bytes of the file of that name in the layer's diff
//   folder (name_raw, base64, when the name is not UTF-8; no size when it is empty).
// The result is byte for byte the tar whose sha256 is the layer's diff ID, which the host checks
// when it loads it.

export interface SplitEntry {
  type: number
  name?: string
  name_raw?: string
  size?: number
  payload?: string | null
}

const SEGMENT = 2
const FILE = 1

/** The entries of a tar-split.json.gz, one at a time (a large layer's list is never held whole). */
export async function* splitEntries(gz: Buffer): AsyncGenerator<SplitEntry> {
  const lines = createGunzip()
  lines.end(gz)
  let rest = ''
  for await (const chunk of lines as AsyncIterable<Buffer>) {
    const text = rest + chunk.toString('latin1')
    const parts = text.split('\n')
    rest = parts.pop() ?? ''
    for (const line of parts) if (line) yield parseEntry(line)
  }
  if (rest) yield parseEntry(rest)
}

/** Lines are read as latin1 (a chunk may end inside a UTF-8 character) and names decoded here. */
function parseEntry(line: string): SplitEntry {
  const entry = JSON.parse(Buffer.from(line, 'latin1').toString('utf8')) as SplitEntry
  if (entry.type !== SEGMENT && entry.type !== FILE) throw new Error(`tar-split: unknown entry type ${String(entry.type)}`)
  return entry
}

/** A file entry's name as bytes, checked to stay inside the layer's folder. */
export function entryName(entry: SplitEntry): Buffer {
  const name = entry.name_raw ? Buffer.from(entry.name_raw, 'base64') : Buffer.from(entry.name ?? '', 'utf8')
  const parts = name.toString('latin1').split('/')
  if (!name.length || name.includes(0) || parts.includes('..')) {
    throw new Error(`tar-split: a file name that leaves the layer (${JSON.stringify(name.toString('latin1'))})`)
  }
  return name
}

const NUL = Buffer.from([0])

export interface LayerScan {
  /** The rebuilt tar's size in bytes. */
  tarBytes: number
  /** The absolute paths of its non-empty files, in tar order, each ended by a NUL (for `xargs -0`). */
  fileList: Buffer
  files: number
}

/** One pass over the entries: the tar's size and the files to read, in order. */
export async function scanLayer(gz: Buffer, diffDir: string): Promise<LayerScan> {
  const prefix = Buffer.from(`${diffDir.replace(/\/+$/, '')}/`)
  const paths: Buffer[] = []
  let tarBytes = 0
  for await (const entry of splitEntries(gz)) {
    if (entry.type === SEGMENT) tarBytes += Buffer.byteLength(entry.payload ?? '', 'base64')
    else if ((entry.size ?? 0) > 0) {
      tarBytes += entry.size!
      paths.push(prefix, entryName(entry), NUL)
    }
  }
  return { tarBytes, fileList: Buffer.concat(paths), files: paths.length / 3 }
}

/**
 * The tar itself: the entries' segments with the files' bytes between them, taken in order from
 * `contents` (the files of scanLayer's list, concatenated). A file shorter or longer than its
 * entry says is an error: the layer on disk is not the one the tar-split describes.
 */
export async function* assembleLayer(gz: Buffer, contents: Readable): AsyncGenerator<Buffer> {
  const reader = new ExactReader(contents)
  for await (const entry of splitEntries(gz)) {
    if (entry.type === SEGMENT) {
      if (entry.payload) yield Buffer.from(entry.payload, 'base64')
    } else if ((entry.size ?? 0) > 0) {
      yield* reader.take(entry.size!, () => `${entryName(entry).toString()} is shorter on disk than in the layer's tar-split`)
    }
  }
  if (!(await reader.atEnd())) throw new Error("tar-split: the layer's files on disk are longer than its tar-split says")
}

/** Reads exact byte counts from a stream, chunk by chunk, without copying more than it must. */
class ExactReader {
  private readonly chunks: AsyncIterator<Buffer>
  private held: Buffer = Buffer.alloc(0)
  private ended = false

  constructor(stream: Readable) {
    this.chunks = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  }

  async *take(count: number, short: () => string): AsyncGenerator<Buffer> {
    let left = count
    while (left > 0) {
      if (!this.held.length && !(await this.fill())) throw new Error(`tar-split: ${short()}`)
      const part = this.held.subarray(0, Math.min(left, this.held.length))
      this.held = this.held.subarray(part.length)
      left -= part.length
      yield part
    }
  }

  async atEnd(): Promise<boolean> {
    return !this.held.length && !(await this.fill())
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false
    const next = await this.chunks.next()
    if (next.done) {
      this.ended = true
      return false
    }
    this.held = next.value
    return true
  }
}

import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { PassThrough, Readable, type Transform, type Writable } from 'node:stream'
import { finished, pipeline } from 'node:stream/promises'
import type { ExtractEvents } from 'tar-stream'

// The tar filter's disk and stream helpers: spooling an entry to a file while hashing what it
// holds, and copying entries into the rewritten archive with backpressure.

/** What tar-stream hands over for an entry's body (a streamx readable). */
export type EntryBody = ExtractEvents['entry'][1]

/** An entry's body split into its first chunk (to sniff) and all of its chunks. */
export async function sniff(body: EntryBody): Promise<{ head: Buffer; chunks: () => AsyncGenerator<Buffer> }> {
  const chunks = (body as unknown as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  const first = await chunks.next()
  const head: Buffer = first.done ? Buffer.alloc(0) : first.value
  return {
    head,
    chunks: async function* () {
      if (!first.done) yield head
      for (let chunk = await chunks.next(); !chunk.done; chunk = await chunks.next()) yield chunk.value
    }
  }
}

export async function readEntry(body: EntryBody): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body as unknown as AsyncIterable<Buffer>) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/**
 * Writes the chunks to `file` (when given); returns the sha256 of the chunks, or of what
 * `unpack` makes of them, or undefined when they do not unpack (a blob that only looked
 * compressed: sent as is).
 */
export async function spoolAndHash(
  chunks: AsyncIterable<Buffer>,
  file: string | undefined,
  unpack?: Transform
): Promise<string | undefined> {
  const hash = createHash('sha256')
  const spooled = file === undefined ? undefined : createWriteStream(file)
  // A spool file that fails (its folder is removed once the transfer ends early) ends the hash
  // with that error: an 'error' event nobody listened to would end the process.
  const spoolFailed = spooled && new Promise<never>((_resolve, reject) => spooled.on('error', reject))
  spoolFailed?.catch(() => undefined)
  let unpacked: Promise<boolean> = Promise.resolve(true)
  if (unpack) {
    unpack.on('data', (chunk: Buffer) => hash.update(chunk))
    unpacked = finished(unpack).then(() => true, () => false)
  }
  let readable = true
  void unpacked.then((ok) => (readable = ok))
  for await (const chunk of chunks) {
    if (!unpack) hash.update(chunk)
    const spooling = spooled && Promise.race([write(spooled, chunk, spoolFailed), spoolFailed])
    await Promise.all([spooling, unpack && readable ? write(unpack, chunk, unpacked) : undefined])
  }
  spooled?.end()
  unpack?.end()
  const [, ok] = await Promise.all([spooled && Promise.race([finished(spooled), spoolFailed]), unpacked])
  return ok ? hash.digest('hex') : undefined
}

/** Writes the chunks to `file`, nothing else. */
export async function spool(chunks: AsyncIterable<Buffer>, file: string): Promise<void> {
  await pipeline(Readable.from(chunks), createWriteStream(file))
}

/** Writes with backpressure; `until` settling (a failed unpacker) ends the wait for a drain. */
async function write(stream: NodeJS.WritableStream, chunk: Buffer, until?: Promise<unknown>): Promise<void> {
  if (stream.write(chunk)) return
  const waiting = new AbortController()
  const drained = once(stream as unknown as NodeJS.EventEmitter, 'drain', { signal: waiting.signal })
  await Promise.race(until ? [drained.catch(() => undefined), until] : [drained]).finally(() => waiting.abort())
}

/**
 * Copies `source` into `sink`, an entry of the rewritten archive, with backpressure. A sink that
 * fails (the archive was destroyed) ends the copy with its error instead of leaving it waiting.
 */
export async function copyEntry(source: Readable, sink: Writable): Promise<void> {
  const entry = new PassThrough()
  const written = new Promise<void>((resolve, reject) => {
    sink.on('error', (error) => {
      entry.destroy(error)
      reject(error)
    })
    sink.on('close', resolve) // after an error, too late to matter: rejected first
  })
  written.catch(() => undefined) // the copy's pipeline reports the same error first
  entry.pipe(sink)
  await pipeline(source, entry)
  await written
}

/** The file's chunks; the file is opened only once they are read, so an unread one cannot fail unheard. */
export async function* fileChunks(file: string): AsyncGenerator<Buffer> {
  yield* createReadStream(file) as AsyncIterable<Buffer>
}

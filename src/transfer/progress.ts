import { Transform } from 'node:stream'
import { mib, rate } from '../report/format.js'

/** Passes chunks through and counts them. */
export class ByteCounter extends Transform {
  bytes = 0
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error: null, chunk: Buffer) => void): void {
    this.bytes += chunk.length
    done(null, chunk)
  }
}

export interface ProgressSource {
  /** Bytes of the archive read from `docker save`. */
  read: ByteCounter
  /** Bytes written to the SSH channel. */
  sent: ByteCounter
  /** The image's size, for a rough percentage. */
  expectedBytes: number
}

/** Logs a progress line every `everyMs` until stopped. */
export function startProgress(source: ProgressSource, log: (line: string) => void, everyMs = 5000): () => void {
  const started = Date.now()
  const timer = setInterval(() => log(progressLine(source, Date.now() - started)), everyMs)
  return () => clearInterval(timer)
}

export function progressLine(source: ProgressSource, elapsedMs: number): string {
  const read = source.read.bytes
  const percent = source.expectedBytes > 0 ? Math.min(99, Math.floor((read / source.expectedBytes) * 100)) : 0
  return (
    `sent ${mib(source.sent.bytes)} at ${rate(source.sent.bytes, elapsedMs)} ` +
    `(read ${mib(read)} of about ${mib(source.expectedBytes)}, ${percent}%)`
  )
}

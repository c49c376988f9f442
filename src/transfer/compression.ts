import zlib from 'node:zlib'
import { Transform, type TransformCallback } from 'node:stream'
import type { Compression } from '../inputs.js'

export type Codec = 'zstd' | 'gzip' | 'none'

export interface CodecChoice {
  codec: Codec
  level: number
  /** Why this codec, for the log. */
  reason: string
}

/** Gzip level 1: several times the speed of the default 6 for a few percent more bytes. */
const GZIP_LEVEL = 1
const ZSTD_LEVEL = 3
/**
 * zlib's output buffer. Node's default of 16 KiB costs a round trip to the thread pool and a
 * stream write per 16 KiB: on an 82 MiB archive that was most of the time of a stored gzip
 * stretch (470 ms against 114 ms at 256 KiB) and a third of zstd's.
 */
const CHUNK_BYTES = 256 << 10

type ZstdZlib = typeof zlib & {
  createZstdCompress?: (options: { params: Record<number, number>; chunkSize?: number }) => Transform
  createZstdDecompress?: (options?: { chunkSize?: number }) => Transform
  constants: typeof zlib.constants & { ZSTD_c_compressionLevel?: number }
}

export function nodeHasZstd(): boolean {
  return typeof (zlib as ZstdZlib).createZstdCompress === 'function'
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b])
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd])

/**
 * A decompressor for data that starts with `head`, when it is gzip, or zstd and this Node can
 * read zstd; undefined for anything else (a plain tar, JSON, or zstd on an older Node).
 */
export function unpackerFor(head: Buffer): (() => Transform) | undefined {
  if (head.subarray(0, 2).equals(GZIP_MAGIC)) return () => zlib.createGunzip({ chunkSize: CHUNK_BYTES })
  const z = zlib as ZstdZlib
  const zstd = z.createZstdDecompress
  if (head.subarray(0, 4).equals(ZSTD_MAGIC) && zstd) return () => zstd({ chunkSize: CHUNK_BYTES })
  return undefined
}

/** What the codec depends on at the host's end. */
export interface HostLink {
  /** The host can load a zstd stream (host/images.ts: hostTakesZstd). */
  zstd: boolean
  /** The host runs on the runner's own kernel (link.ts). */
  onThisMachine: boolean
}

export function chooseCodec(
  requested: Compression,
  level: number | undefined,
  host: HostLink,
  zstdInNode = nodeHasZstd()
): CodecChoice {
  if (requested === 'none') return { codec: 'none', level: 0, reason: 'compression: none' }
  if (requested === 'zstd') {
    if (!zstdInNode) throw new Error(`compression: zstd needs Node.js 22.15 or later on the runner (this is ${process.version})`)
    if (!host.zstd) throw new Error('compression: zstd needs the zstd command on the host, or Docker 25 or later there')
    return { codec: 'zstd', level: level ?? ZSTD_LEVEL, reason: 'compression: zstd' }
  }
  // A compression-level asks for compression, wherever the host is.
  if (requested === 'auto' && host.onThisMachine && level === undefined) {
    return { codec: 'none', level: 0, reason: 'auto: none, the host is this machine (no network to save time on)' }
  }
  if (requested === 'auto' && zstdInNode && host.zstd) {
    return { codec: 'zstd', level: level ?? ZSTD_LEVEL, reason: 'auto: zstd on both ends' }
  }
  // docker load reads gzip itself: the host needs no tool for it.
  if (requested === 'gzip') return { codec: 'gzip', level: level ?? GZIP_LEVEL, reason: 'compression: gzip' }
  const why = zstdInNode ? 'no zstd on the host' : `no zstd in Node ${process.version}`
  return { codec: 'gzip', level: level ?? GZIP_LEVEL, reason: `auto: gzip, ${why}` }
}

/** The stages to put in the pipeline, in order (none for `none`). */
export function compressor(choice: CodecChoice): Transform[] {
  if (choice.codec === 'none') return []
  if (choice.codec === 'zstd') {
    const z = zlib as ZstdZlib
    const key = z.constants.ZSTD_c_compressionLevel ?? 100
    return [z.createZstdCompress!({ params: { [key]: choice.level }, chunkSize: CHUNK_BYTES })]
  }
  return [new AdaptiveGzip(choice.level)]
}

const PROBE_EVERY = 4 << 20
const PROBE_BYTES = 32 << 10
/** A sample that shrinks by less than this is already compressed data (a packed blob, a jpeg). */
const INCOMPRESSIBLE = 0.95

/**
 * Gzip that stores incompressible stretches instead of compressing them: deflate at level 1
 * runs near 50 MiB/s on random bytes, level 0 (stored) several times faster. A sample every
 * few MiB decides. zlib's params() was measured to change nothing mid-stream here, so a change
 * of level starts a new gzip member instead: concatenated members are one valid gzip stream,
 * and docker load unpacks them in a row.
 */
export class AdaptiveGzip extends Transform {
  /** The level of each gzip member written, in order. */
  readonly levels: number[] = []
  private member?: zlib.Gzip
  private memberLevel = -1
  private sinceProbe = PROBE_EVERY
  /** Resumes a member paused because the reader of this stream was full. */
  private resumeMember?: () => void

  constructor(private readonly level: number) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const wanted = this.levelFor(chunk)
    if (this.member && wanted === this.memberLevel) return this.feed(chunk, done)
    this.endMember(() => {
      this.startMember(wanted)
      this.feed(chunk, done)
    })
  }

  override _flush(done: TransformCallback): void {
    this.endMember(() => done())
  }

  override _read(size: number): void {
    const resume = this.resumeMember
    this.resumeMember = undefined
    resume?.()
    super._read(size)
  }

  private levelFor(chunk: Buffer): number {
    this.sinceProbe += chunk.length
    if (this.member && (this.sinceProbe < PROBE_EVERY || chunk.length < 4096)) return this.memberLevel
    this.sinceProbe = 0
    return compressible(chunk) ? this.level : 0
  }

  private feed(chunk: Buffer, done: TransformCallback): void {
    if (this.member!.write(chunk)) done()
    else this.member!.once('drain', () => done())
  }

  private startMember(level: number): void {
    const member = zlib.createGzip({ level, chunkSize: CHUNK_BYTES })
    member.on('data', (out: Buffer) => {
      if (this.push(out)) return
      member.pause()
      this.resumeMember = () => member.resume()
    })
    member.on('error', (error) => this.destroy(error))
    this.member = member
    this.memberLevel = level
    this.levels.push(level)
  }

  private endMember(then: () => void): void {
    const member = this.member
    if (!member) return then()
    this.member = undefined
    member.once('end', then)
    member.end()
  }
}

export function compressible(chunk: Buffer): boolean {
  const start = Math.max(0, Math.floor((chunk.length - PROBE_BYTES) / 2))
  const sample = chunk.subarray(start, start + PROBE_BYTES)
  return zlib.deflateRawSync(sample, { level: 1 }).length < sample.length * INCOMPRESSIBLE
}

import zlib from 'node:zlib'
import type { Transform } from 'node:stream'
import type { Compression } from '../inputs.js'
import { INCOMPRESSIBLE, LevelTuner } from './level-tuner.js'
import { MemberStream } from './members.js'

export type Codec = 'zstd' | 'gzip' | 'none'

export interface CodecChoice {
  codec: Codec
  /** The level it starts at; the only one when compression-level set it. */
  level: number
  /** The level follows the link (level-tuner.ts), between ADAPT's bounds for the codec. */
  adapt: boolean
  /** Why this codec, for the log. */
  reason: string
}

/** Gzip level 1: several times the speed of the default 6 for a few percent more bytes. */
const GZIP_LEVEL = 1
const ZSTD_LEVEL = 3
/**
 * How far the level may move with the link. zstd 9 sends 11% fewer bytes than zstd 3 on the WAN
 * bench's image, at a quarter of its speed; zstd 12 only 1% fewer than 9, at half the speed and
 * 30 MiB more memory. Gzip beyond 6 gains little.
 */
export const ADAPT = { zstd: { min: 1, max: 9 }, gzip: { min: 1, max: 6 } } as const
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
  const adapt = level === undefined
  if (requested === 'none') return { codec: 'none', level: 0, adapt: false, reason: 'compression: none' }
  if (requested === 'zstd') {
    if (!zstdInNode) throw new Error(`compression: zstd needs Node.js 22.15 or later on the runner (this is ${process.version})`)
    if (!host.zstd) throw new Error('compression: zstd needs the zstd command on the host, or Docker 25 or later there')
    return { codec: 'zstd', level: level ?? ZSTD_LEVEL, adapt, reason: 'compression: zstd' }
  }
  // A compression-level asks for compression, wherever the host is.
  if (requested === 'auto' && host.onThisMachine && level === undefined) {
    return { codec: 'none', level: 0, adapt: false, reason: 'auto: none, the host is this machine (no network to save time on)' }
  }
  if (requested === 'auto' && zstdInNode && host.zstd) {
    return { codec: 'zstd', level: level ?? ZSTD_LEVEL, adapt, reason: 'auto: zstd on both ends' }
  }
  // docker load reads gzip itself: the host needs no tool for it.
  if (requested === 'gzip') return { codec: 'gzip', level: level ?? GZIP_LEVEL, adapt, reason: 'compression: gzip' }
  const why = zstdInNode ? 'no zstd on the host' : `no zstd in Node ${process.version}`
  return { codec: 'gzip', level: level ?? GZIP_LEVEL, adapt, reason: `auto: gzip, ${why}` }
}

/** The stage to put in the pipeline (none for `none`). */
export function compressor(choice: CodecChoice): MemberStream | undefined {
  if (choice.codec === 'none') return undefined
  const { min, max } = ADAPT[choice.codec]
  const tuner = choice.adapt
    ? new LevelTuner(choice.codec, min, max, choice.level)
    : LevelTuner.fixed(choice.codec, choice.level)
  return choice.codec === 'zstd' ? new AdaptiveZstd(tuner) : new AdaptiveGzip(tuner)
}

const PROBE_EVERY = 4 << 20
const PROBE_BYTES = 32 << 10
/**
 * Gzip that stores incompressible stretches instead of compressing them: deflate at level 1
 * runs near 50 MiB/s on random bytes, level 0 (stored) several times faster. A sample every
 * few MiB decides; compressible stretches get the tuner's level.
 */
export class AdaptiveGzip extends MemberStream {
  private sinceProbe = PROBE_EVERY
  private stored = false

  protected override levelFor(chunk: Buffer, tuned: number): number {
    this.sinceProbe += chunk.length
    if (this.sinceProbe >= PROBE_EVERY && chunk.length >= 4096) {
      this.sinceProbe = 0
      this.stored = !compressible(chunk)
    }
    return this.stored ? 0 : tuned
  }

  protected override createMember(level: number): Transform {
    return zlib.createGzip({ level, chunkSize: CHUNK_BYTES })
  }
}

/** Zstd frames at the tuner's level: one frame per run of the same level. */
export class AdaptiveZstd extends MemberStream {
  protected override levelFor(_chunk: Buffer, tuned: number): number {
    return tuned
  }

  protected override createMember(level: number): Transform {
    const z = zlib as ZstdZlib
    const key = z.constants.ZSTD_c_compressionLevel ?? 100
    return z.createZstdCompress!({ params: { [key]: level }, chunkSize: CHUNK_BYTES })
  }
}

export function compressible(chunk: Buffer): boolean {
  const start = Math.max(0, Math.floor((chunk.length - PROBE_BYTES) / 2))
  const sample = chunk.subarray(start, start + PROBE_BYTES)
  return zlib.deflateRawSync(sample, { level: 1 }).length < sample.length * INCOMPRESSIBLE
}

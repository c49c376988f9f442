/**
 * Picks the compression level from where the stream's time went, the way `zstd --adapt` does:
 * a link that keeps the compressor waiting leaves CPU for a higher level, and fewer bytes; a
 * compressor that keeps the link waiting must go faster. On a 20 Mbit/s link zstd 9 sends 11%
 * fewer bytes than zstd 3 (measured on the WAN bench's 186 MiB image), yet at 1 Gbit/s the
 * link would wait on it.
 */

/** One stretch of the stream, at least WINDOW_MS and WINDOW_BYTES of input. */
export interface Window {
  wallMs: number
  /** Time the compressed output waited for the link to take it. */
  linkWaitMs: number
  /** Time the compressor waited for the archive (docker save), the link not being the cause. */
  inputWaitMs: number
  inBytes: number
  outBytes: number
}

/**
 * Long enough to see through the buffers: the SSH channel and the socket take a couple of MiB
 * in a burst, and over 4 MiB windows a link-bound stream at 100 Mbit/s looked busy half the
 * time and idle the other half.
 */
export const WINDOW_MS = 500
export const WINDOW_BYTES = 1 << 20

/**
 * CPU per byte of each level against the lowest, measured with Node 24 on the WAN bench's
 * image (zstd 1: 323 MiB/s ... 9: 56 MiB/s; gzip 1: 102 MiB/s ... 6: 42 MiB/s).
 */
const COST: Record<'zstd' | 'gzip', number[]> = {
  zstd: [1, 1, 1.12, 1.6, 1.8, 2.7, 3.9, 4.7, 5.1, 5.8],
  gzip: [1, 1, 1.04, 1.23, 1.34, 1.8, 2.4]
}

/** Above this share of a window the compressor is the slowest stage: a cheaper level. */
const BUSY_HIGH = 0.85
/** The share a new level aims at: room for the machine's other work (docker save, SSH). */
const BUSY_TARGET = 0.7
/** The link is the stage waited on once it holds the output this share of a window. */
const LINK_BOUND = 0.3
/**
 * Output over input above this: the data does not compress (a packed blob, a jpeg), and a higher
 * level only costs. Gzip's probe (compression.ts) stores such stretches.
 */
export const INCOMPRESSIBLE = 0.95

export class LevelTuner {
  level: number
  private windows = 0

  constructor(
    readonly codec: 'zstd' | 'gzip',
    readonly min: number,
    readonly max: number,
    start: number
  ) {
    this.level = Math.min(max, Math.max(min, start))
  }

  /** A tuner that never moves: the level the user set. */
  static fixed(codec: 'zstd' | 'gzip', level: number): LevelTuner {
    return new LevelTuner(codec, level, level, level)
  }

  get adapts(): boolean {
    return this.min !== this.max
  }

  /**
   * The level for the next window, from the one that ended: the highest whose cost, scaled from
   * the time this level kept the compressor busy, stays near BUSY_TARGET. It climbs only while
   * the link is what the stream waits on, and falls once the compressor is.
   */
  next(window: Window): number {
    if (!this.adapts || window.wallMs <= 0 || window.inBytes <= 0) return this.level
    // The first window fills the SSH channel and the socket at the compressor's own pace: it
    // says nothing of the link.
    if (this.windows++ === 0) return this.level
    if (window.outBytes > window.inBytes * INCOMPRESSIBLE) return (this.level = this.min)
    const busy = Math.max(0, window.wallMs - window.linkWaitMs - window.inputWaitMs) / window.wallMs
    const linkBound = window.linkWaitMs / window.wallMs > LINK_BOUND
    if (busy <= BUSY_HIGH && !linkBound) return this.level
    const cost = COST[this.codec]
    let best = this.min
    for (let level = this.min; level <= this.max; level++) {
      if ((busy * cost[level]!) / cost[this.level]! <= BUSY_TARGET) best = level
    }
    this.level = busy > BUSY_HIGH ? Math.min(best, Math.max(this.min, this.level - 1)) : Math.max(best, this.level)
    return this.level
  }
}

/**
 * "3", or "3 to 9, mostly 8": the levels of the members written, for the log. Gzip's level 0
 * (stretches that do not compress, stored) is said apart.
 */
export function describeLevels(levels: { level: number; inBytes: number }[]): string {
  const used = levels.filter((member) => member.inBytes > 0)
  const compressed = used.filter((member) => member.level > 0)
  const stored = compressed.length < used.length ? ', stored where it does not compress' : ''
  if (compressed.length === 0) return used.length ? 'none, nothing compressed' : ''
  const values = compressed.map((member) => member.level)
  const low = Math.min(...values)
  const high = Math.max(...values)
  if (low === high) return `${low}${stored}`
  const bytesAt = new Map<number, number>()
  for (const member of compressed) bytesAt.set(member.level, (bytesAt.get(member.level) ?? 0) + member.inBytes)
  const [mostly] = [...bytesAt.entries()].sort((a, b) => b[1] - a[1])[0]!
  return `${low} to ${high}, mostly ${mostly}${stored}`
}

import type { Slot } from './paths.js'

// What the proxy logged for each slot while a canary ran (scripts/canary.sh read): requests, 5xx
// answers, and a histogram of request times, from which the percentiles are read.

/** Upper bounds of the histogram's buckets, in ms (canary.sh's, in seconds); the last is open. */
export const TIME_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

export interface SlotCounts {
  requests: number
  errors: number
  /** Requests per time bucket: TIME_BOUNDS_MS, then one for longer. */
  histogram: number[]
}

export type CanaryCounts = Partial<Record<Slot, SlotCounts>>

/** Reads `SLOT blue 120 3 40 50 ...` lines. */
export function parseCanaryCounts(stdout: string): CanaryCounts {
  const counts: CanaryCounts = {}
  for (const line of stdout.split('\n')) {
    const [tag, slot, requests, errors, ...histogram] = line.trim().split(/\s+/)
    if (tag !== 'SLOT' || (slot !== 'blue' && slot !== 'green')) continue
    counts[slot] = { requests: Number(requests), errors: Number(errors), histogram: histogram.map(Number) }
  }
  return counts
}

/** The share of 5xx answers, in percent (0 with no requests). */
export function errorPercent(counts: SlotCounts | undefined): number {
  return counts && counts.requests > 0 ? (100 * counts.errors) / counts.requests : 0
}

/** The upper bound (ms) of the bucket that holds the `p`th percentile; undefined past the last bound or with no requests. */
export function percentileMs(counts: SlotCounts | undefined, p: number): number | undefined {
  if (!counts || counts.requests === 0) return undefined
  const rank = Math.ceil((p / 100) * counts.requests)
  let seen = 0
  for (let i = 0; i < counts.histogram.length; i++) {
    seen += counts.histogram[i]
    if (seen >= rank) return TIME_BOUNDS_MS[i]
  }
  return undefined
}

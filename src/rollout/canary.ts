import { errorPercent, percentileMs, type CanaryCounts, type SlotCounts } from '../host/canary-counts.js'
import type { Slot } from '../host/paths.js'

// A canary is judged by the proxy's own counts for each slot: the candidate may answer at most
// canary-max-5xx percentage points more 5xx than the live release over the same seconds (so a
// flaky endpoint that both share does not fail every deploy), and must have answered at least
// canary-min-requests (an unused canary proves nothing). Latency is shown, not judged: on a
// small host it moves with everything else that runs there.

export interface CanaryRules {
  percent: number
  durationSeconds: number
  max5xx: number
  minRequests: number
}

export interface SlotFigures {
  container: string
  requests: number
  errors: number
  errorPercent: number
  p50Ms?: number
  p95Ms?: number
}

export interface CanaryVerdict {
  /** watch: not decided yet; promote; revert. */
  outcome: 'watch' | 'promote' | 'revert'
  candidate: SlotFigures
  live: SlotFigures
  reason?: string
}

function figures(container: string, counts: SlotCounts | undefined): SlotFigures {
  return {
    container,
    requests: counts?.requests ?? 0,
    errors: counts?.errors ?? 0,
    errorPercent: errorPercent(counts),
    p50Ms: percentileMs(counts, 50),
    p95Ms: percentileMs(counts, 95)
  }
}

/** `over`: the canary's time is up. A candidate above the bar is sent back at once. */
export function judgeCanary(
  counts: CanaryCounts,
  slots: { candidate: Slot; live: Slot },
  containers: { candidate: string; live: string },
  rules: CanaryRules,
  over: boolean
): CanaryVerdict {
  const candidate = figures(containers.candidate, counts[slots.candidate])
  const live = figures(containers.live, counts[slots.live])
  const verdict = { candidate, live }
  const excess = candidate.errorPercent - live.errorPercent
  if (candidate.requests > 0 && candidate.requests >= rules.minRequests && excess > rules.max5xx) {
    return {
      ...verdict,
      outcome: 'revert',
      reason: `${describe(candidate)} against ${describe(live)}: more than canary-max-5xx (${rules.max5xx} point${rules.max5xx === 1 ? '' : 's'}) above the live release`
    }
  }
  if (!over) return { ...verdict, outcome: 'watch' }
  if (candidate.requests < rules.minRequests) {
    return {
      ...verdict,
      outcome: 'revert',
      reason: `${candidate.container} answered ${candidate.requests} request(s) in ${rules.durationSeconds} s, fewer than canary-min-requests (${rules.minRequests}): too few to judge`
    }
  }
  return { ...verdict, outcome: 'promote' }
}

export function describe(slot: SlotFigures): string {
  return `${slot.container} answered ${formatPercent(slot.errorPercent)} 5xx (${slot.errors} of ${slot.requests} requests)`
}

export function formatPercent(value: number): string {
  return `${value.toFixed(value > 0 && value < 1 ? 2 : 1)}%`
}

/** `p50 ≤ 10 ms, p95 ≤ 50 ms`, from the histogram's bounds. */
export function latencyLine(slot: SlotFigures): string {
  const bound = (ms: number | undefined) => (ms === undefined ? (slot.requests ? '> 10 s' : 'n/a') : `≤ ${ms} ms`)
  return `p50 ${bound(slot.p50Ms)}, p95 ${bound(slot.p95Ms)}`
}

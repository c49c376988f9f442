import { createHash } from 'node:crypto'
import type { Release, ServiceState } from '../host/state.js'
import type { EnvVar } from '../inputs.js'

// The releases a host keeps: the live one and the ones before it, keep-releases images in all,
// each one a rollback away (by its image tag, or `rollback: N`), with nothing to send.

/** The live release and those before it with other images, newest first, at most `keep`. */
export function keptReleases(state: Pick<ServiceState, 'live' | 'previous' | 'history'>, keep: number): Release[] {
  const seen = new Set<string>()
  const kept: Release[] = []
  for (const release of [state.live, state.previous, ...state.history]) {
    if (!release || seen.has(release.imageId)) continue
    seen.add(release.imageId)
    kept.push(release)
  }
  // previous stays second (what rollback: true returns to); the rest in the history's order.
  return kept.slice(0, keep)
}

/** The release `steps` back from the live one (1: the previous). */
export function rollbackTarget(state: Pick<ServiceState, 'live' | 'previous' | 'history'>, previous: Release | undefined, steps: number): Release | undefined {
  if (steps <= 1) return previous
  const earlier = keptReleases({ ...state, previous }, Number.MAX_SAFE_INTEGER).filter((release) => release.imageId !== state.live?.imageId)
  return earlier[steps - 1]
}

/**
 * What the release ran with: the env names, and a hash of names and values together (never the
 * values), so a rollback can say when the env differs from then.
 */
export function envFingerprint(env: EnvVar[]): { envNames: string[]; envHash: string } {
  const lines = env.map((entry) => `${entry.name}=${entry.value}\n`).sort()
  return {
    envNames: [...new Set(env.map((entry) => entry.name))].sort(),
    envHash: `sha256:${createHash('sha256').update(lines.join('')).digest('hex')}`
  }
}

/** A warning when `target` ran with other env names than `env` (or the same names with other values). */
export function envDrift(target: Release, env: EnvVar[]): string | undefined {
  if (!target.envNames) return undefined
  const now = envFingerprint(env)
  const added = now.envNames.filter((name) => !target.envNames!.includes(name))
  const gone = target.envNames.filter((name) => !now.envNames.includes(name))
  if (added.length || gone.length) {
    const parts = [added.length ? `new now: ${added.join(', ')}` : '', gone.length ? `gone now: ${gone.join(', ')}` : ''].filter(Boolean)
    return `${target.image} ran with other env names than this run gives it (${parts.join('; ')})`
  }
  if (target.envHash && target.envHash !== now.envHash) return `${target.image} ran with the same env names as this run gives it, but other values`
  return undefined
}

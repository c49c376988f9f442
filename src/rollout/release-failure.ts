import type { ReleaseResult } from '../host/release.js'

/** What a release command that did not succeed tells the user, with its last output lines; undefined when it succeeded. */
export function releaseFailure(result: ReleaseResult, timeoutSeconds: number): string | undefined {
  const tail = result.tail.length ? `\nLast lines of its output:\n${result.tail.join('\n')}` : ''
  if (result.startError) return `The release command could not start: ${result.startError}`
  if (result.cancelled) return 'The release command was stopped: the run was cancelled'
  if (result.timedOut) return `The release command did not finish within release-timeout (${timeoutSeconds} s); it was stopped${tail}`
  if (result.exitCode === 0) return undefined
  return `The release command exited with code ${result.exitCode ?? 'unknown'}; nothing switched${tail}`
}

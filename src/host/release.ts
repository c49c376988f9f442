import type { EnvVar } from '../inputs.js'
import type { Runner } from './guard.js'
import { SCRIPTS } from './scripts.js'
import { envFileText } from './slots.js'

/** A one-off container of the candidate image that runs the release command (scripts/release.sh). */
export interface ReleaseSpec {
  /** Container name; the host removes a leftover of the same name first. */
  name: string
  network: string
  service: string
  image: string
  imageId: string
  timeoutSeconds: number
  /** docker run flags of the app's runtime (volumes, user, limits, labels, options). */
  runFlags: string[]
  command: string[]
}

export interface ReleaseResult {
  /** The command's exit code; undefined when it never ran to the end (timeout, cancel, no start). */
  exitCode?: number
  timedOut: boolean
  cancelled: boolean
  /** Why it did not start, as Docker said. */
  startError?: string
  /** The last lines of its output. */
  tail: string[]
}

const TAIL_LINES = 20

/** Runs it to the end, handing each output line to `onOutput` as it comes. */
export async function runRelease(run: Runner, spec: ReleaseSpec, env: EnvVar[], onOutput: (line: string) => void): Promise<ReleaseResult> {
  const tail: string[] = []
  let startError: string | undefined
  const args = [
    spec.name, spec.network, spec.service, spec.image, spec.imageId, String(spec.timeoutSeconds),
    spec.runFlags.join('\n'), spec.command.join('\n')
  ]
  const result = await run(SCRIPTS.release, args, {
    stdin: envFileText(env),
    onLine: (line) => {
      if (line.startsWith('OUT ')) {
        onOutput(line.slice(4))
        tail.push(line.slice(4))
        if (tail.length > TAIL_LINES) tail.shift()
      } else if (line.startsWith('FAIL ')) {
        startError = line.slice(5).trim()
      }
    }
  })
  const exit = /^EXIT (\d+)$/m.exec(result.stdout)
  return {
    exitCode: exit ? Number(exit[1]) : undefined,
    timedOut: /^TIMEOUT /m.test(result.stdout),
    cancelled: /^CANCELLED$/m.test(result.stdout),
    startError: startError ?? (exit || result.code === 0 ? undefined : result.stderr.trim() || undefined),
    tail
  }
}

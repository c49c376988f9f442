import type { EnvVar } from '../inputs.js'
import type { Runner } from './guard.js'
import { SCRIPTS } from './scripts.js'
import type { Slot } from './paths.js'

export interface CandidateSpec {
  /** Its first (or only) container; `names` lists every replica when there are more. */
  name: string
  names?: string[]
  network: string
  service: string
  slot: Slot
  image: string
  imageId: string
  /** Each replica's pinned address on the network, when the network has them. */
  addresses?: string[]
  /** The containers already run (an instant rollback to a slot kept running): only check and switch. */
  reuse?: boolean
  /** docker run flags of the app's runtime (volumes, user, limits, labels, options). */
  runFlags?: string[]
  /** Words after the image: the command instead of the image's CMD. */
  command?: string[]
}

/** `docker run --env-file` lines; they travel on stdin only. */
export function envFileText(env: EnvVar[]): string {
  return env.map((entry) => `${entry.name}=${entry.value}\n`).join('')
}

/** Removes containers of this run's; a lost lock throws instead (another deploy may own those names now). */
export async function removeContainers(run: Runner, names: string[]): Promise<void> {
  const result = await run(SCRIPTS.removeContainer, names)
  if (result.code !== 0) throw new Error(result.stderr.trim() || `exit ${result.code}`)
}

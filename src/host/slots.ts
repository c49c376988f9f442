import type { EnvVar } from '../inputs.js'
import type { Runner } from './guard.js'
import { SCRIPTS } from './scripts.js'
import type { Slot } from './paths.js'

export interface CandidateSpec {
  name: string
  network: string
  service: string
  slot: Slot
  image: string
  imageId: string
  /** Its pinned address on the network, when the network has them. */
  address?: string
}

/** `docker run --env-file` lines; they travel on stdin only. */
export function envFileText(env: EnvVar[]): string {
  return env.map((entry) => `${entry.name}=${entry.value}\n`).join('')
}

/** Removes a container of this run's; a lost lock throws instead (another deploy may own that name now). */
export async function removeContainer(run: Runner, name: string): Promise<void> {
  await run(SCRIPTS.removeContainer, [name])
}

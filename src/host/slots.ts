import type { EnvVar } from '../inputs.js'
import type { Ssh } from '../ssh/connection.js'
import type { Slot } from './paths.js'

export interface CandidateSpec {
  name: string
  network: string
  service: string
  slot: Slot
  image: string
  imageId: string
}

/** `docker run --env-file` lines; they travel on stdin only. */
export function envFileText(env: EnvVar[]): string {
  return env.map((entry) => `${entry.name}=${entry.value}\n`).join('')
}

export async function removeContainer(ssh: Ssh, name: string): Promise<void> {
  await ssh.run('docker rm -f "$1" >/dev/null 2>&1 || true', [name])
}

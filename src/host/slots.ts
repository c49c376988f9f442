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

// A bash snippet for the launch step (launch.ts), with $name $net $service $slot $image $id
// set and the env file written to $envfile.
// The candidate starts without a restart policy, so a crash at boot stays a crash (with its
// exit code) instead of a restart loop; the switch gives it unless-stopped once it goes live.
// The survey under the lock found the slot empty (or a stray was removed), so the name is
// normally free; one that is not is replaced rather than checked for on every deploy.
export const START_CANDIDATE = `
start() {
  docker run -d --name "$name" --network "$net" --restart no \\
    --label "bluegreen.service=$service" --label "bluegreen.slot=$slot" \\
    --label "bluegreen.image=$image" --label "bluegreen.image-id=$id" \\
    --env-file "$envfile" "$id" >/dev/null
}
if ! out=$(start 2>&1); then
  case "$out" in
    *"is already in use"*) docker rm -f "$name" >/dev/null 2>&1 || true; start ;;
    *) printf '%s\\n' "$out" >&2; exit 2 ;;
  esac
fi
`

/** `docker run --env-file` lines; they travel on stdin only. */
export function envFileText(env: EnvVar[]): string {
  return env.map((entry) => `${entry.name}=${entry.value}\n`).join('')
}

export async function removeContainer(ssh: Ssh, name: string): Promise<void> {
  await ssh.run('docker rm -f "$1" >/dev/null 2>&1 || true', [name])
}

import type { EnvVar } from '../inputs.js'
import type { Ssh } from '../ssh.js'
import type { Slot } from './paths.js'

export interface CandidateSpec {
  name: string
  network: string
  service: string
  slot: Slot
  image: string
  imageId: string
}

// The candidate starts without a restart policy, so a crash at boot stays a crash (with its
// exit code) instead of a restart loop; the health check gives it unless-stopped once healthy.
// env values travel on stdin into a 0600 file that lives only until `docker run` has read it
// and created the container: they never appear on a command line, in a log, or in a file
// another user could open.
const START_SCRIPT = `
name=$1 net=$2 service=$3 slot=$4 image=$5 id=$6
envfile=$(mktemp)
trap 'rm -f "$envfile"' EXIT
chmod 600 "$envfile"
cat > "$envfile"
start() {
  docker run -d --name "$name" --network "$net" --restart no \\
    --label "bluegreen.service=$service" --label "bluegreen.slot=$slot" \\
    --label "bluegreen.image=$image" --label "bluegreen.image-id=$id" \\
    --env-file "$envfile" "$id" >/dev/null
}
# The survey under the lock found the slot empty (or a stray was removed), so the name is
# normally free; one that is not is replaced rather than checked for on every deploy.
if ! out=$(start 2>&1); then
  case "$out" in
    *"is already in use"*) docker rm -f "$name" >/dev/null 2>&1 || true; start ;;
    *) printf '%s\n' "$out" >&2; exit 1 ;;
  esac
fi
`

export async function startCandidate(ssh: Ssh, spec: CandidateSpec, env: EnvVar[]): Promise<void> {
  const envFile = env.map((entry) => `${entry.name}=${entry.value}\n`).join('')
  const result = await ssh.run(
    START_SCRIPT,
    [spec.name, spec.network, spec.service, spec.slot, spec.image, spec.imageId],
    { stdin: envFile }
  )
  if (result.code !== 0) throw new Error(`Could not start ${spec.name}: ${result.stderr.trim()}`)
}

export async function removeContainer(ssh: Ssh, name: string): Promise<void> {
  await ssh.run('docker rm -f "$1" >/dev/null 2>&1 || true', [name])
}

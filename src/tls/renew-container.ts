// The host's renewal container: started (or replaced when the action brings a new image) by one
// shell script the deploy runs over SSH, and asked for a renewal pass at each deploy. Pure: it
// returns scripts and arguments; the caller runs them (ssh.run(script, args)).
//
// Run as: --restart unless-stopped (it comes back after a reboot and renews at once), read-only,
// every capability dropped but CHOWN (the key files go to the proxy's worker user), no new
// privileges, and only the certificate store mounted.
import { RENEW_REPOSITORY } from './renew-image.js'
import { TLS_DIR } from './store.js'

export const RENEW_CONTAINER = 'bluegreen-renew'
export const RENEW_LABEL = 'bluegreen.role=renew'

export interface RenewContainerSpec {
  image: string
  /** uid:gid of the proxy's nginx worker user. */
  owner: string
  name?: string
  dir?: string
}

// $1 image, $2 store folder, $3 owner, $4 container name. Prints one line of what it did.
// Old renewal images no container uses are removed (by label: nothing else carries it).
const ENSURE_SCRIPT = `
set -eu
image=$1 dir=$2 owner=$3 name=$4
current=$(docker container inspect -f '{{.Config.Image}} {{.State.Status}}' "$name" 2>/dev/null || true)
if [ "$current" = "$image running" ]; then echo "renewal unchanged"; exit 0; fi
docker rm -f "$name" >/dev/null 2>&1 || true
mkdir -p "$dir"
docker run -d --name "$name" --restart unless-stopped --read-only --cap-drop ALL --cap-add CHOWN \\
  --security-opt no-new-privileges --label ${RENEW_LABEL} -v "$dir:$dir" \\
  -e BLUEGREEN_TLS_DIR="$dir" -e BLUEGREEN_TLS_OWNER="$owner" "$image" >/dev/null
docker image prune -a -f --filter label=${RENEW_LABEL} >/dev/null 2>&1 || true
if [ -z "$current" ]; then echo "renewal started"; else echo "renewal replaced"; fi
`

export function ensureRenewContainer(spec: RenewContainerSpec): { script: string; args: string[] } {
  if (!spec.image.startsWith(`${RENEW_REPOSITORY}:`)) throw new Error(`not a renewal image: ${spec.image}`)
  if (!/^\d+:\d+$/.test(spec.owner)) throw new Error(`the proxy's worker user must be uid:gid, not '${spec.owner}'`)
  return { script: ENSURE_SCRIPT, args: [spec.image, spec.dir ?? TLS_DIR, spec.owner, spec.name ?? RENEW_CONTAINER] }
}

// One pass now, in the running container, with its own settings; its log lines come back on
// stdout and its exit code is 1 when an order failed (see src/renew.ts).
const PASS_SCRIPT = `
name=$1 days=$2
docker exec -e BLUEGREEN_RENEW_ONCE=1 -e BLUEGREEN_RENEW_DAYS="$days" "$name" /usr/local/bin/node /app/renew.mjs
`

export function renewalPass(days = 30, name = RENEW_CONTAINER): { script: string; args: string[] } {
  return { script: PASS_SCRIPT, args: [name, String(days)] }
}

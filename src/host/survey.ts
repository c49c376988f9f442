import { parseImageInspect, type ImageInfo } from '../image/info.js'
import { NoBashError } from '../ssh/remote-shell.js'
import type { Ssh } from '../ssh/connection.js'
import { COMMON_CONFIG } from './nginx-config.js'
import { STATE_ROOT, confDir, proxyName, serviceDir } from './paths.js'
import { PREFLIGHT_FINISH, PREFLIGHT_START, noBash, parsePreflight, type HostFacts } from './preflight.js'
import { parseProxyCheck, type ProxyCheck, type ProxySpec } from './proxy.js'
import { snapshotFrom, type ServiceSnapshot } from './state.js'

// One read-only round trip for everything a deploy decides on: (first time) whether the host
// can be used at all, the service's state, its route, its containers, the proxy, and whether the
// host has the image.

export interface SurveyRequest {
  proxy: ProxySpec
  /** An image reference or ID to look up on the host. */
  image?: string
  /** Also run the preflight checks (Docker access, state root, tools). */
  preflight?: boolean
}

export interface Survey {
  facts?: HostFacts
  snapshot: ServiceSnapshot
  proxy: ProxyCheck
  image?: ImageInfo
  /**
   * The deploy lock's generation when the service state was read with the lock free, so that a
   * deploy whose lock comes next can trust this survey without reading again.
   */
  lockGeneration?: number
}

const SURVEY_SCRIPT = `
dir=$1 confdir=$2 service=$3 proxy=$4 port=$5 image=$6 checks=$7 root=$8
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ "$checks" = yes ]; then
${PREFLIGHT_START}
fi
# Read the service's state holding its lock for a moment (never creating it), so the lock's
# generation dates this reading.
lock=none
if [ -e "$dir/lock" ] && exec 7<"$dir/lock" && flock -n 7; then
  lock="free $(cat "$dir/lock.generation" 2>/dev/null || echo 0)"
elif [ -e "$dir/lock" ]; then
  lock=busy
fi
# The docker reads run side by side (each is a Go program start and an API call); the lock
# stays held until the container list is in.
docker ps -a --filter "label=bluegreen.service=$service" \\
  --format '{{.Names}}\t{{.State}}\t{{.Label "bluegreen.slot"}}\t{{.Label "bluegreen.image"}}\t{{.Label "bluegreen.image-id"}}' \\
  >"$out/containers" 2>"$out/containers.err" &
containers_job=$!
docker container inspect -f '{{.State.Status}}|{{json .HostConfig.PortBindings}}|{{.Config.Image}}' "$proxy" \\
  >"$out/proxy" 2>/dev/null 7<&- &
proxy_job=$!
if [ -n "$image" ]; then docker image inspect --format '{{json .}}' "$image" >"$out/image" 2>/dev/null || true; fi 7<&- &
image_job=$!
if [ "$checks" = yes ]; then
${PREFLIGHT_FINISH}
fi
echo "--lock"; echo "$lock"
echo "--state"; cat "$dir/state.json" 2>/dev/null || true; echo
echo "--route"; head -n 1 "$confdir/$service.conf" 2>/dev/null || true; echo
echo "--containers"
wait "$containers_job" || { cat "$out/containers.err" >&2; exit 1; }
cat "$out/containers"
exec 7<&- 2>/dev/null || true
echo "--proxy"
if wait "$proxy_job"; then
  echo "proxy $(cat "$out/proxy")"
else
  echo "proxy missing"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port-busy"; fi
fi
# stdin is this version's shared proxy config: when the running proxy has it, nothing needs doing.
if cmp -s - "$confdir/_common.conf" 2>/dev/null; then echo "common-current"; fi
for f in "$confdir"/*.conf; do
  [ -f "$f" ] || continue
  case "$(basename "$f")" in "$service.conf"|_common.conf) continue ;; esac
  printf 'route %s\\n' "$(head -n 1 "$f")"
done
echo "--image"
wait "$image_job"
cat "$out/image" 2>/dev/null || true
`

export async function survey(ssh: Ssh, request: SurveyRequest): Promise<Survey> {
  const { proxy } = request
  const args = [
    serviceDir(proxy.service), confDir(proxy.network), proxy.service, proxyName(proxy.network),
    String(proxy.port), request.image ?? '', request.preflight ? 'yes' : 'no', STATE_ROOT
  ]
  const result = await ssh.run(SURVEY_SCRIPT, args, { stdin: COMMON_CONFIG }).catch((error: unknown) => {
    throw error instanceof NoBashError ? noBash(ssh.target) : error
  })
  if (result.code !== 0) throw new Error(`Could not read the host's state: ${result.stderr.trim()}`)
  return parseSurvey(result.stdout, proxy.service, request.preflight ? ssh.target : undefined)
}

/** `target` set: the output starts with the preflight checks, which may refuse the host. */
export function parseSurvey(stdout: string, service: string, target?: string): Survey {
  const checks = stdout.split(/^--lock$/m)[0]
  const facts = target === undefined ? undefined : parsePreflight(checks, target)
  const sections = splitSections(stdout)
  const image = sections.get('image')?.trim()
  const lock = /^(?:free (\d+)|none)$/.exec(sections.get('lock') ?? '')
  return {
    facts,
    snapshot: snapshotFrom(sections, service),
    proxy: parseProxyCheck(sections.get('proxy') ?? ''),
    image: image ? parseImageInspect(image) : undefined,
    lockGeneration: lock ? Number(lock[1] ?? 0) : undefined
  }
}

/** Splits `--name` header lines into named sections. */
export function splitSections(stdout: string): Map<string, string> {
  const sections = new Map<string, string>()
  let name = ''
  for (const line of stdout.split('\n')) {
    const header = /^--([a-z]+)$/.exec(line)
    if (header) {
      name = header[1]
      sections.set(name, '')
    } else if (name) {
      sections.set(name, `${sections.get(name)}${line}\n`)
    }
  }
  for (const [key, value] of sections) sections.set(key, value.trim())
  return sections
}

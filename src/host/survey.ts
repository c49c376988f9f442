import { parseImageInspect, type ImageInfo } from '../image-info.js'
import type { Ssh } from '../ssh.js'
import { confDir, proxyName, serviceDir } from './paths.js'
import { parseProxyCheck, type ProxyCheck, type ProxySpec } from './proxy.js'
import { snapshotFrom, type ServiceSnapshot } from './state.js'

// One read-only round trip for everything a deploy decides on: the service's state, its route,
// its containers, the proxy, and whether the host has the image.

export interface SurveyRequest {
  proxy: ProxySpec
  /** An image reference or ID to look up on the host. */
  image?: string
}

export interface Survey {
  snapshot: ServiceSnapshot
  proxy: ProxyCheck
  image?: ImageInfo
}

const SURVEY_SCRIPT = `
dir=$1 confdir=$2 service=$3 proxy=$4 port=$5 image=$6
echo "--state"; cat "$dir/state.json" 2>/dev/null || true; echo
echo "--route"; head -n 1 "$confdir/$service.conf" 2>/dev/null || true; echo
echo "--containers"
docker ps -a --filter "label=bluegreen.service=$service" \\
  --format '{{.Names}}\t{{.State}}\t{{.Label "bluegreen.slot"}}\t{{.Label "bluegreen.image"}}\t{{.Label "bluegreen.image-id"}}'
echo "--proxy"
if info=$(docker container inspect -f '{{.State.Status}}|{{json .HostConfig.PortBindings}}|{{.Config.Image}}' "$proxy" 2>/dev/null); then
  echo "proxy $info"
else
  echo "proxy missing"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port-busy"; fi
fi
for f in "$confdir"/*.conf; do
  [ -f "$f" ] || continue
  case "$(basename "$f")" in "$service.conf"|_common.conf) continue ;; esac
  printf 'route %s\\n' "$(head -n 1 "$f")"
done
echo "--image"
if [ -n "$image" ]; then docker image inspect --format '{{json .}}' "$image" 2>/dev/null || true; fi
`

export async function survey(ssh: Ssh, request: SurveyRequest): Promise<Survey> {
  const { proxy } = request
  const result = await ssh.run(SURVEY_SCRIPT, [
    serviceDir(proxy.service), confDir(proxy.network), proxy.service, proxyName(proxy.network),
    String(proxy.port), request.image ?? ''
  ])
  if (result.code !== 0) throw new Error(`Could not read the host's state: ${result.stderr.trim()}`)
  return parseSurvey(result.stdout, proxy.service)
}

export function parseSurvey(stdout: string, service: string): Survey {
  const sections = splitSections(stdout)
  const image = sections.get('image')?.trim()
  return {
    snapshot: snapshotFrom(sections, service),
    proxy: parseProxyCheck(sections.get('proxy') ?? ''),
    image: image ? parseImageInspect(image) : undefined
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

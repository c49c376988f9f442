import type { Ssh } from '../ssh.js'
import { COMMON_CONFIG, parseRoute, probeHostName, renderRoute, type Route } from './nginx-config.js'
import { confDir, proxyDir, proxyName } from './paths.js'
import { PROBE_SCRIPT, parseProbe } from './probe.js'

export interface ProxySpec {
  network: string
  port: number
  image: string
  service: string
  serverNames: string[]
}

export interface ProxyCheck {
  /** running, exited, ... or missing */
  status: string
  publishedPort?: number
  image?: string
  portBusy: boolean
  /** Routes of the other services behind this proxy. */
  otherRoutes: Route[]
}

// Read-only: what the proxy looks like now, and whether this service fits behind it.
const CHECK_SCRIPT = `
proxy=$1 port=$2 confdir=$3 service=$4
if info=$(docker inspect -f '{{.State.Status}}|{{json .HostConfig.PortBindings}}|{{.Config.Image}}' "$proxy" 2>/dev/null); then
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
`

export async function checkProxy(ssh: Ssh, spec: ProxySpec): Promise<ProxyCheck> {
  const result = await ssh.run(CHECK_SCRIPT, [
    proxyName(spec.network), String(spec.port), confDir(spec.network), spec.service
  ])
  if (result.code !== 0) throw new Error(`Could not inspect the proxy: ${result.stderr.trim()}`)
  return parseProxyCheck(result.stdout)
}

export function parseProxyCheck(stdout: string): ProxyCheck {
  const lines = stdout.split('\n')
  const proxyLine = lines.find((line) => line.startsWith('proxy '))?.slice(6) ?? 'missing'
  const [status, bindings, image] = proxyLine.split('|')
  const published = /"HostPort":"(\d+)"/.exec(bindings ?? '')
  return {
    status,
    publishedPort: published ? Number(published[1]) : undefined,
    image,
    portBusy: lines.includes('port-busy'),
    otherRoutes: lines
      .filter((line) => line.startsWith('route '))
      .map((line) => parseRoute(line.slice(6)))
      .filter((route): route is Route => route !== undefined)
  }
}

/** Refuses, before any change, a proxy-port or server-name that cannot work on this host. */
export function proxyProblems(check: ProxyCheck, spec: ProxySpec): string[] {
  const problems: string[] = []
  const name = proxyName(spec.network)
  if (check.status === 'missing' && check.portBusy) {
    problems.push(`proxy-port: port ${spec.port} is already in use on the host by something other than ${name}`)
  }
  if (check.status !== 'missing' && check.publishedPort !== undefined && check.publishedPort !== spec.port) {
    problems.push(
      `proxy-port: the proxy ${name} of network ${spec.network} publishes port ${check.publishedPort}, not ${spec.port}; ` +
        'use the same proxy-port for every service on a network, or another network'
    )
  }
  for (const route of check.otherRoutes) {
    if (spec.serverNames.length === 0 && route.serverNames.length === 0) {
      problems.push(
        `server-name: ${route.service} already answers every host name on ${name}; give ${spec.service} a server-name`
      )
    }
    const shared = spec.serverNames.filter((serverName) => route.serverNames.includes(serverName))
    if (shared.length > 0) problems.push(`server-name: ${shared.join(', ')} already routes to ${route.service}`)
  }
  return problems
}

// Creates what is missing; never touches a running proxy. Serialised per proxy with its own
// flock because several services may deploy behind it at once.
const ENSURE_SCRIPT = `
net=$1 proxy=$2 port=$3 image=$4 dir=$5
mkdir -p "$dir/conf.d"
exec 8>>"$dir/lock"; flock -w 120 8
cat > "$dir/conf.d/_common.conf.next" && mv -f "$dir/conf.d/_common.conf.next" "$dir/conf.d/_common.conf"
docker network inspect "$net" >/dev/null 2>&1 || { docker network create "$net" >/dev/null; echo "network created"; }
status=$(docker container inspect -f '{{.State.Status}}' "$proxy" 2>/dev/null) || status=missing
case "$status" in
  running) echo "proxy running" ;;
  missing)
    if ! out=$(docker run -d --name "$proxy" --network "$net" -p "$port:80" --restart unless-stopped \\
        --label bluegreen.role=proxy -v "$dir/conf.d:/etc/nginx/conf.d:ro" "$image" 2>&1); then
      docker rm -f "$proxy" >/dev/null 2>&1 || true
      printf 'FAILED %s\\n' "$out" | tr '\\n' ' '; echo; exit 3
    fi
    echo "proxy created" ;;
  *) docker start "$proxy" >/dev/null; echo "proxy started" ;;
esac
for _ in $(seq 1 100); do
  if docker exec "$proxy" nginx -t >/dev/null 2>&1; then echo READY; exit 0; fi
  sleep 0.1
done
echo "FAILED nginx in $proxy did not start:"; docker logs --tail 20 "$proxy" 2>&1; exit 3
`

/** Returns what it did, e.g. ["network created", "proxy created"]. */
export async function ensureProxy(ssh: Ssh, spec: ProxySpec): Promise<string[]> {
  const result = await ssh.run(
    ENSURE_SCRIPT,
    [spec.network, proxyName(spec.network), String(spec.port), spec.image, proxyDir(spec.network)],
    { stdin: COMMON_CONFIG }
  )
  const lines = result.stdout.split('\n').filter(Boolean)
  if (result.code !== 0) {
    const failed = lines.filter((line) => !line.startsWith('network') && !line.startsWith('proxy')).join('\n')
    throw new Error(`Could not start the proxy ${proxyName(spec.network)}: ${failed || result.stderr.trim()}`)
  }
  return lines.filter((line) => line !== 'READY')
}

// Writes the route, tests the whole nginx config and reloads gracefully; on a failed test the
// previous file is put back, so the proxy never holds a config it cannot load.
const SWITCH_SCRIPT = `
dir=$1 proxy=$2 service=$3
conf="$dir/conf.d/$service.conf" saved="$dir/$service.conf.previous"
exec 8>>"$dir/lock"; flock -w 120 8
if [ -f "$conf" ]; then cp -p "$conf" "$saved"; else rm -f "$saved"; fi
cat > "$conf.next"
mv -f "$conf.next" "$conf"
if ! out=$(docker exec "$proxy" nginx -t 2>&1); then
  if [ -f "$saved" ]; then mv -f "$saved" "$conf"; else rm -f "$conf"; fi
  printf '%s\\n' "$out"; exit 3
fi
docker exec "$proxy" nginx -s reload
`

export async function switchRoute(ssh: Ssh, network: string, route: Route): Promise<void> {
  const result = await ssh.run(SWITCH_SCRIPT, [proxyDir(network), proxyName(network), route.service], {
    stdin: renderRoute(route)
  })
  if (result.code !== 0) {
    throw new Error(`nginx refused the new config (nginx -t), the previous one is back: ${result.stdout.trim() || result.stderr.trim()}`)
  }
}

// Puts back the config saved by the last switch (none: the service had no route) and reloads.
const RESTORE_SCRIPT = `
dir=$1 proxy=$2 service=$3
conf="$dir/conf.d/$service.conf" saved="$dir/$service.conf.previous"
exec 8>>"$dir/lock"; flock -w 120 8
if [ -f "$saved" ]; then mv -f "$saved" "$conf"; else rm -f "$conf"; fi
docker exec "$proxy" nginx -s reload
`

export async function restoreRoute(ssh: Ssh, network: string, service: string): Promise<void> {
  const result = await ssh.run(RESTORE_SCRIPT, [proxyDir(network), proxyName(network), service])
  if (result.code !== 0) throw new Error(`Could not restore the previous proxy config: ${result.stderr.trim()}`)
}

// Asks the proxy itself, on its own port 80, until the answer comes from the new slot.
const VERIFY_SCRIPT = `
proxy=$1 url=$2 host=$3 slot=$4 probe=$5 tries=$6
for _ in $(seq 1 "$tries"); do
  line=$(docker exec "$proxy" sh -c "$probe" sh "$url" "$host" 2>&1 | tail -n 1 || true)
  echo "$line"
  case "$line" in "STATUS "[23]??" SLOT $slot") exit 0 ;; esac
  sleep 0.2
done
exit 4
`

export async function verifyRoute(ssh: Ssh, network: string, route: Route, healthPath: string): Promise<void> {
  const result = await ssh.run(VERIFY_SCRIPT, [
    proxyName(network), `http://127.0.0.1:80${healthPath}`, probeHostName(route), route.slot, PROBE_SCRIPT, '50'
  ])
  if (result.code === 0) return
  const last = parseProbe(result.stdout.trim().split('\n').pop() ?? '')
  const seen = last ? `HTTP ${last.status} from slot ${last.slot ?? 'unknown'}` : result.stderr.trim()
  throw new Error(`The proxy did not serve ${route.container} after the switch (last answer: ${seen})`)
}

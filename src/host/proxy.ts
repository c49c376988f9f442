import type { Ssh } from '../ssh/connection.js'
import { COMMON_CONFIG, parseRoute, probeHostName, type Route } from './nginx-config.js'
import { proxyDir, proxyName } from './paths.js'
import { parseProbe } from './probe.js'

// Every change to a proxy's configuration holds its flock: several services may deploy behind
// one proxy at once. $dir is the proxy's folder, $service the service whose route changes.
const PROXY_LOCK = `exec 8>>"$dir/lock"; flock -w 120 8`
const ROUTE_FILES = `conf="$dir/conf.d/$service.conf" saved="$dir/$service.conf.previous"`

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
  /** The proxy's folder holds this version's shared config (COMMON_CONFIG). */
  commonCurrent?: boolean
  /** Routes of the other services behind this proxy. */
  otherRoutes: Route[]
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
    commonCurrent: lines.includes('common-current'),
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
${PROXY_LOCK}
cat > "$dir/conf.d/_common.conf.next" && mv -f "$dir/conf.d/_common.conf.next" "$dir/conf.d/_common.conf"
status=$(docker container inspect -f '{{.State.Status}}' "$proxy" 2>/dev/null) || status=missing
if [ "$status" = running ]; then echo "proxy running"; exit 0; fi
docker network inspect "$net" >/dev/null 2>&1 || { docker network create "$net" >/dev/null; echo "network created"; }
if [ "$status" = missing ]; then
  if ! out=$(docker run -d --name "$proxy" --network "$net" -p "$port:80" --restart unless-stopped \\
      --label bluegreen.role=proxy -v "$dir/conf.d:/etc/nginx/conf.d:ro" "$image" 2>&1); then
    docker rm -f "$proxy" >/dev/null 2>&1 || true
    printf 'FAILED %s\\n' "$out" | tr '\\n' ' '; echo; exit 3
  fi
  echo "proxy created"
else
  docker start "$proxy" >/dev/null; echo "proxy started"
fi
for _ in $(seq 1 100); do
  if docker exec "$proxy" nginx -t >/dev/null 2>&1; then exit 0; fi
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
  return lines
}

export type SwitchResult =
  | { ok: true }
  /** reloaded: nginx runs the new route, which must be put back (restoreRoute). */
  | { ok: false; reloaded: boolean; message: string }

// Inside the proxy, in one docker exec: test the whole config, reload gracefully, ask nginx on
// its own port 80 until the answer comes from the new slot, then wait out nginx's hand-over:
// for ~100 ms after a reload the old workers still accept connections (with the old config)
// until the master tells them to shut down. Once every worker from before says "shutting down",
// no new request can reach the old route, and the drain only has to wait for those in flight.
const SWITCH_IN_PROXY = `
probe=$1 url=$2 host=$3 slot=$4 tries=$5 i=0
title() { tr '\\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | sed 's/ *$//'; }
workers() {
  for p in /proc/[0-9]*; do
    p=\${p#/proc/}
    [ "$(title "$p")" = "nginx: worker process" ] && echo "$p"
  done
}
# An old worker accepts connections until its title says it is shutting down (or it has gone).
old_accepting() {
  for p in $before; do
    [ "$(title "$p")" = "nginx: worker process" ] && return 0
  done
  return 1
}
before=$(workers)
nginx -t 2>&1 || exit 3
nginx -s reload 2>&1 || exit 5
while [ "$i" -lt "$tries" ]; do
  line=$(sh -c "$probe" sh "$url" "$host" 2>&1 | tail -n 1)
  case "$line" in "STATUS "[23]??" SLOT $slot") break ;; esac
  i=$((i + 1)); sleep 0.02
done
[ "$i" -lt "$tries" ] || { echo "$line"; exit 4; }
for _ in $(seq 1 500); do
  old_accepting || exit 0
  sleep 0.01
done
echo "HANDOVER nginx workers from before the reload still accept connections"
exit 0
`

// Runs in the launch step (launch.ts) once the candidate is healthy, through PROBE_SHELL's shell
// in the proxy (shell_send/shell_read): one step and one docker exec for start, health check
// and switch (a docker exec of its own cost ~70 ms). Writes the route and switches; when nginx -t refuses it
// the previous file is put back at once, so the proxy never holds a config it cannot load. The
// candidate gets its restart policy as it goes live, side by side (it started with none, so a
// crash at boot stayed a crash); a switch that cannot give it one fails like one that cannot
// reload. Needs $dir (the proxy's folder), $service, $name, $proxy, $route, $lockdir and
// $generation (the deploy lock this run took).
export const SWITCH_STEPS = `
# The runner cannot look at its lock between check and switch any more, so the host does: the
# lock must still be held, and the last one taken must be this run's.
if [ "$(cat "$lockdir/lock.generation" 2>/dev/null || true)" != "$generation" ] || flock -n "$lockdir/lock" true; then
  exit 7
fi
proxy_switch() {
  local code=0
  shell_send 'sh -c "$BG_SWITCH" sh "$BG_PROBE" "$BG_SWITCH_URL" "$BG_HOST" "$BG_SLOT" 500 2>&1' ||
    { echo "no shell in $proxy to switch with"; return 8; }
  shell_read 60 || code=$?
  if [ "$code" = 255 ]; then echo "no answer from the shell in $proxy"; return 8; fi
  return "$code"
}
${ROUTE_FILES}
${PROXY_LOCK}
policy_err=$(mktemp)
docker update --restart unless-stopped "$name" >/dev/null 2>"$policy_err" &
policy=$!
if [ -f "$conf" ]; then cp -p "$conf" "$saved"; else rm -f "$saved"; fi
printf '%s\\n' "$route" > "$conf.next"
mv -f "$conf.next" "$conf"
code=0
proxy_switch || code=$?
if [ "$code" = 3 ]; then
  if [ -f "$saved" ]; then mv -f "$saved" "$conf"; else rm -f "$conf"; fi
fi
if ! wait "$policy" && [ "$code" = 0 ]; then echo "POLICY $(tr '\\n' ' ' <"$policy_err")"; code=6; fi
rm -f "$policy_err"
exit "$code"
`

/** What the proxy and the switch's arguments need from PROBE_SHELL's `docker exec` (env values). */
export function switchEnv(route: Route, healthPath: string): Record<string, string> {
  return {
    BG_SWITCH: SWITCH_IN_PROXY,
    BG_SWITCH_URL: `http://127.0.0.1:80${healthPath}`,
    BG_HOST: probeHostName(route),
    BG_SLOT: route.slot
  }
}

/** Reads SWITCH_STEPS' exit code and output; a lost lock throws, as the runner's own check does. */
export function switchOutcome(code: number, output: string[], route: Route): SwitchResult {
  const text = output.join(' ').trim()
  if (code === 0) return { ok: true }
  if (code === 7) throw new Error(`Lost the deploy lock of ${route.service}: it was no longer this run's when the switch came`)
  if (code === 3) {
    return { ok: false, reloaded: false, message: `nginx refused the new config (nginx -t), the previous one is back: ${text}` }
  }
  if (code === 6) {
    const reason = output.find((line) => line.startsWith('POLICY '))?.slice(7).trim()
    return { ok: false, reloaded: true, message: `Could not give ${route.container} its restart policy: ${reason || text}` }
  }
  const last = parseProbe(output.at(-1) ?? '')
  const seen = last ? `HTTP ${last.status} from slot ${last.slot ?? 'unknown'}` : text || `exit ${code}`
  return { ok: false, reloaded: true, message: `The proxy did not serve ${route.container} after the switch (last answer: ${seen})` }
}

// Puts back the config saved by the last switch (none: the service had no route) and reloads.
const RESTORE_SCRIPT = `
dir=$1 proxy=$2 service=$3
${ROUTE_FILES}
${PROXY_LOCK}
if [ -f "$saved" ]; then mv -f "$saved" "$conf"; else rm -f "$conf"; fi
docker exec "$proxy" nginx -s reload
`

export async function restoreRoute(ssh: Ssh, network: string, service: string): Promise<void> {
  const result = await ssh.run(RESTORE_SCRIPT, [proxyDir(network), proxyName(network), service])
  if (result.code !== 0) throw new Error(`Could not restore the previous proxy config: ${result.stderr.trim()}`)
}

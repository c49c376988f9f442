import type { Ssh } from '../ssh.js'
import { proxyName } from './paths.js'
import { PROBE_SCRIPT } from './probe.js'

export interface HealthSpec {
  container: string
  network: string
  appPort: number
  path: string
  timeoutSeconds: number
}

export interface HealthResult {
  healthy: boolean
  attempts: number
  /** Why it failed, with the container's last log lines. */
  reason?: string
}

// One loop on the host (no round trip per attempt). It stops at once when the container
// exits, or Docker's own HEALTHCHECK calls it unhealthy. A healthy candidate gets its restart
// policy here.
const HEALTH_SCRIPT = `
proxy=$1 name=$2 url=$3 timeout=$4 probe=$5
start=$SECONDS attempts=0
probed=$(mktemp)
trap 'rm -f "$probed"' EXIT
logs() { docker logs --tail 20 "$name" 2>&1 | sed 's/^/LOG /'; }
while :; do
  attempts=$((attempts + 1))
  # The probe (a docker exec, the slow part) and the container's state are asked for together.
  docker exec "$proxy" sh -c "$probe" sh "$url" >"$probed" 2>&1 &
  probe_job=$!
  if ! st=$(docker inspect -f '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$name" 2>&1); then
    echo "FAIL $attempts docker inspect $name failed: $(printf '%s' "$st" | tr '\\n' ' ')"; exit 3
  fi
  read -r status restarts code health <<<"$st"
  if [ "$status" != running ] || [ "$restarts" != 0 ]; then
    echo "FAIL $attempts the container stopped (status $status, exit code $code, restarts $restarts)"; logs; exit 3
  fi
  if [ "$health" = unhealthy ]; then
    echo "FAIL $attempts Docker's HEALTHCHECK reports unhealthy"; logs; exit 3
  fi
  wait "$probe_job" || true
  line=$(tail -n 1 "$probed")
  echo "ATTEMPT $attempts $line HEALTH $health"
  case "$line" in
    "STATUS "[23]*)
      if [ "$health" = none ] || [ "$health" = healthy ]; then
        docker update --restart unless-stopped "$name" >/dev/null
        echo "HEALTHY $attempts"; exit 0
      fi ;;
    NOPROBE) echo "FAIL $attempts the proxy image has neither wget nor curl to probe with"; exit 3 ;;
  esac
  if [ $((SECONDS - start)) -ge "$timeout" ]; then
    echo "FAIL $attempts no healthy answer within $timeout s (last: $line, HEALTHCHECK: $health)"; logs; exit 4
  fi
  sleep 0.3
done
`

export async function waitHealthy(
  ssh: Ssh,
  spec: HealthSpec,
  onAttempt: (line: string) => void
): Promise<HealthResult> {
  const url = `http://${spec.container}:${spec.appPort}${spec.path}`
  const logs: string[] = []
  let attempts = 0
  let reason: string | undefined
  const result = await ssh.run(
    HEALTH_SCRIPT,
    [proxyName(spec.network), spec.container, url, String(spec.timeoutSeconds), PROBE_SCRIPT],
    {
      onLine: (line) => {
        const [kind, count] = line.split(' ')
        if (kind === 'ATTEMPT' || kind === 'HEALTHY' || kind === 'FAIL') attempts = Number(count)
        if (kind === 'ATTEMPT') onAttempt(describeAttempt(line))
        if (kind === 'FAIL') reason = line.split(' ').slice(2).join(' ')
        if (kind === 'LOG') logs.push(line.slice(4))
      }
    }
  )
  if (result.code === 0) return { healthy: true, attempts }
  const tail = logs.length ? `\nLast log lines of ${spec.container}:\n${logs.join('\n')}` : ''
  return { healthy: false, attempts, reason: `${reason ?? result.stderr.trim()}${tail}` }
}

/** `ATTEMPT 3 STATUS 502 SLOT none HEALTH starting` → `attempt 3: HTTP 502, HEALTHCHECK starting` */
export function describeAttempt(line: string): string {
  const match = /^ATTEMPT (\d+) STATUS (\d{3}) SLOT \S+ HEALTH (\S+)/.exec(line)
  if (!match) return line
  const [, attempt, status, health] = match
  const answer = status === '000' ? 'no HTTP answer yet' : `HTTP ${status}`
  return `attempt ${attempt}: ${answer}${health === 'none' ? '' : `, HEALTHCHECK ${health}`}`
}

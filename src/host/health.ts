/** How the candidate (CandidateSpec) is asked whether it is healthy. */
export interface HealthSpec {
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

// A shell inside the proxy that stays open for the whole check: one docker exec (~70 ms here,
// the slow part of a probe) instead of one per attempt, and the launch step opens it while
// docker run starts the candidate. Needs $proxy, $url, $probe (probe.ts) and the array
// $probe_env (more -e NAME=value for the shell) set. Each command sent ends with a "__done CODE"
// line, so shell_read knows where its output stops. Writes to a shell that died must fail, not
// kill the step: SIGPIPE is ignored.
export const PROBE_SHELL = `
trap '' PIPE
probe_open() {
  coproc PROBE { exec docker exec -i -e "BG_PROBE=$probe" -e "BG_URL=$url" "\${probe_env[@]}" "$proxy" sh 2>&1; }
}
probe_close() {
  local pid=\${PROBE_PID:-}
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
}
# Sends one command line to the shell; fails when the shell is gone.
shell_send() {
  local w=\${PROBE[1]:-}
  [ -n "$w" ] && printf '%s; echo "__done $?"\\n' "$1" >&"$w" 2>/dev/null
}
# Prints the output of the command sent last and returns its exit code, or 255 when the shell
# gave no answer within $1 seconds.
shell_read() {
  local got r=\${PROBE[0]:-}
  [ -n "$r" ] || return 255
  while IFS= read -r -t "$1" -u "$r" got 2>/dev/null; do
    case "$got" in "__done "*) return "\${got#__done }" ;; esac
    printf '%s\\n' "$got"
  done
  return 255
}
probe_send() {
  shell_send 'sh -c "$BG_PROBE" sh "$BG_URL" 2>&1 | tail -n 1' || true
}
# Sets $line to the probe's answer. A shell that died or hangs is opened again for the next try.
probe_read() {
  local out rc=0
  line="no answer from the probe shell in $proxy"
  out=$(shell_read 8) || rc=$?
  if [ "$rc" != 255 ]; then
    if [ -n "$out" ]; then line=\${out##*$'\\n'}; fi
    return 0
  fi
  probe_close
  probe_open
}
`

// One loop on the host (no round trip per attempt), after the candidate started. It stops the
// step at once when the container exits or Docker's own HEALTHCHECK calls it unhealthy, and
// leaves the loop once the candidate is healthy. Needs $name, $timeout and PROBE_SHELL's
// functions. A probe is now cheap, so the first second polls every 0.1 s (an app that is up
// after 120 ms goes live 0.1 s sooner than at 0.3 s); slower apps are asked every 0.3 s, so a
// booting app does not compete with a docker inspect every 0.1 s.
export const HEALTH_LOOP = `
start=$SECONDS attempts=0
logs() { docker logs --tail 20 "$name" 2>&1 | sed 's/^/LOG /'; }
while :; do
  attempts=$((attempts + 1))
  probe_send
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
  probe_read
  echo "ATTEMPT $attempts $line HEALTH $health"
  case "$line" in
    "STATUS "[23]*)
      if [ "$health" = none ] || [ "$health" = healthy ]; then echo "HEALTHY $attempts"; break; fi ;;
    NOPROBE) echo "FAIL $attempts the proxy image has neither wget nor curl to probe with"; exit 3 ;;
  esac
  if [ $((SECONDS - start)) -ge "$timeout" ]; then
    echo "FAIL $attempts no healthy answer within $timeout s (last: $line, HEALTHCHECK: $health)"; logs; exit 4
  fi
  if [ "$attempts" -lt 10 ]; then sleep 0.1; else sleep 0.3; fi
done
`

/** Collects what HEALTH_LOOP prints into a result. */
export class HealthLines {
  attempts = 0
  private reason?: string
  private readonly logs: string[] = []

  /** Returns the line when it reports an attempt. */
  take(line: string): string | undefined {
    const [kind, count] = line.split(' ')
    if (kind === 'ATTEMPT' || kind === 'HEALTHY' || kind === 'FAIL') this.attempts = Number(count)
    if (kind === 'FAIL') this.reason = line.split(' ').slice(2).join(' ')
    if (kind === 'LOG') this.logs.push(line.slice(4))
    return kind === 'ATTEMPT' ? line : undefined
  }

  result(code: number, stderr: string, container: string): HealthResult {
    if (code === 0) return { healthy: true, attempts: this.attempts }
    const tail = this.logs.length ? `\nLast log lines of ${container}:\n${this.logs.join('\n')}` : ''
    return { healthy: false, attempts: this.attempts, reason: `${this.reason ?? stderr.trim()}${tail}` }
  }
}

/** `ATTEMPT 3 STATUS 502 SLOT none HEALTH starting` → `attempt 3: HTTP 502, HEALTHCHECK starting` */
export function describeAttempt(line: string): string {
  const match = /^ATTEMPT (\d+) STATUS (\d{3}) SLOT \S+ HEALTH (\S+)/.exec(line)
  if (!match) return line
  const [, attempt, status, health] = match
  const answer = status === '000' ? 'no HTTP answer yet' : `HTTP ${status}`
  return `attempt ${attempt}: ${answer}${health === 'none' ? '' : `, HEALTHCHECK ${health}`}`
}

# shellcheck shell=bash
# One loop on the host (no round trip per attempt), after the candidate started. It stops the
# step at once when the container exits or Docker's own HEALTHCHECK calls it unhealthy, and
# returns once the candidate is healthy. Needs $name, $timeout and lib-probe-shell.sh's
# functions. A probe is now cheap, so the first second polls every 0.1 s (an app that is up
# after 120 ms goes live 0.1 s sooner than at 0.3 s); slower apps are asked every 0.3 s, so a
# booting app does not compete with a docker inspect every 0.1 s.
health_logs() { docker logs --tail 20 "$name" 2>&1 | sed 's/^/LOG /'; }
health_loop() {
  local start=$SECONDS st status restarts code health
  attempts=0
  while :; do
    attempts=$((attempts + 1))
    probe_send
    if ! st=$(docker inspect -f '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$name" 2>&1); then
      echo "FAIL $attempts docker inspect $name failed: $(printf '%s' "$st" | tr '\n' ' ')"; exit 3
    fi
    read -r status restarts code health <<<"$st"
    if [ "$status" != running ] || [ "$restarts" != 0 ]; then
      echo "FAIL $attempts the container stopped (status $status, exit code $code, restarts $restarts)"; health_logs; exit 3
    fi
    if [ "$health" = unhealthy ]; then
      echo "FAIL $attempts Docker's HEALTHCHECK reports unhealthy"; health_logs; exit 3
    fi
    probe_read
    echo "ATTEMPT $attempts $line HEALTH $health"
    case "$line" in
      "STATUS "[23]*)
        if [ "$health" = none ] || [ "$health" = healthy ]; then echo "HEALTHY $attempts"; return 0; fi ;;
      NOPROBE) echo "FAIL $attempts the proxy image has neither wget nor curl to probe with"; exit 3 ;;
    esac
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      echo "FAIL $attempts no healthy answer within $timeout s (last: $line, HEALTHCHECK: $health)"; health_logs; exit 4
    fi
    if [ "$attempts" -lt 10 ]; then sleep 0.1; else sleep 0.3; fi
  done
}

# shellcheck shell=bash
# One loop on the host (no round trip per attempt), after the candidate's containers started
# ($names, probed at $urls: one per replica). It stops the step at once when a container exits
# or Docker's own HEALTHCHECK calls it unhealthy, and returns once every replica is healthy.
# Needs $timeout, lib-probe-shell.sh's functions, lib-docker.sh and lib-lock-guard.sh. A probe is
# cheap, so the first second polls every 0.1 s (an app that is up after 120 ms goes live 0.1 s
# sooner than at 0.3 s); slower apps are asked every 0.3 s, so a booting app does not compete
# with a docker inspect every 0.1 s. Every wait in it is bounded by what is left of $timeout: a
# Docker engine that stops answering cannot hold it.
health_logs() { dkt 5 logs --tail 20 "$1" 2>&1 | sed 's/^/LOG /'; }
# Asks replica $1 once: sets $status, $health and $line, and fails the step when it stopped.
health_ask() {
  local name=${names[$1]} st rc=0 restarts code
  st=$(dkt "$(( left < 5 ? left : 5 ))" inspect -f '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$name" 2>&1) || rc=$?
  probe_send "${urls[$1]}"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    st="unknown 0 0 unknown" silent=yes
  elif [ "$rc" != 0 ]; then
    echo "FAIL $attempts docker inspect $name failed: $(printf '%s' "$st" | tr '\n' ' ')"; exit 3
  fi
  read -r status restarts code health <<<"$st"
  if [ "$status" != running ] && [ "$status" != unknown ] || [ "$restarts" != 0 ]; then
    echo "FAIL $attempts the container${names[1]:+ $name} stopped (status $status, exit code $code, restarts $restarts)"; health_logs "$name"; exit 3
  fi
  if [ "$health" = unhealthy ]; then
    echo "FAIL $attempts Docker's HEALTHCHECK reports ${names[1]:+$name }unhealthy"; health_logs "$name"; exit 3
  fi
  probe_read "$(( left < 8 ? left : 8 ))"
}
health_loop() {
  local start=$SECONDS left i pending waiting silent status health
  local -a healthy=()
  attempts=0
  while :; do
    attempts=$((attempts + 1))
    left=$(( timeout - (SECONDS - start) ))
    [ "$left" -ge 1 ] || left=1
    # The run was cancelled, or lost its lock to another deploy: stop touching anything.
    if [ -e "$bg_lockdir/cancel.$bg_generation" ]; then echo "FAIL $attempts the run was cancelled"; exit 9; fi
    hold_lock
    pending=0 waiting='' silent=''
    for i in "${!names[@]}"; do
      [ "${healthy[$i]:-}" != yes ] || continue
      health_ask "$i"
      if [ "${#names[@]}" -gt 1 ]; then echo "ATTEMPT $attempts $line HEALTH $health REPLICA ${names[$i]}"
      else echo "ATTEMPT $attempts $line HEALTH $health"; fi
      case "$line" in
        "STATUS "[23]*) if [ "$health" = none ] || [ "$health" = healthy ]; then healthy[i]=yes; continue; fi ;;
        NOPROBE) echo "FAIL $attempts the proxy image has neither wget nor curl to probe with"; exit 3 ;;
      esac
      pending=$((pending + 1))
      [ -n "$waiting" ] || waiting=$i
    done
    if [ "$pending" = 0 ]; then echo "HEALTHY $attempts"; return 0; fi
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      if [ -n "$silent" ]; then
        echo "FAIL $attempts the host's Docker engine stopped answering; no healthy answer within $timeout s"; exit 4
      fi
      echo "FAIL $attempts no healthy answer${names[1]:+ from ${names[$waiting]}} within $timeout s (last: $line, HEALTHCHECK: $health)"
      health_logs "${names[$waiting]}"
      exit 4
    fi
    if [ "$attempts" -lt 10 ]; then sleep 0.1; else sleep 0.3; fi
  done
}

# shellcheck shell=bash
# On a manager (it changes nothing): waits until $want tasks of service $name run, and prints each one's
# node and address on $net. Swarm marks a task running only once Docker's HEALTHCHECK (if the
# image has one) says healthy. A task that fails, is rejected or exits ends the wait at once, with
# Swarm's error and the service's last log lines: Swarm would only start another, and another.
# Tasks listed in $ignore (one ID per line) were there before this run's change. Every wait is
# bounded by $timeout; a cancelled run ends it at once (lib-steps.sh). Included before this:
# lib-lock-guard.sh lib-steps.sh lib-docker.sh lib-runtime.sh.
name=$1 want=$2 timeout=$3 net=$4 ignore=$5
register_step tasks
trap 'unregister_step tasks' EXIT
trap 'exit 143' TERM
fmt="{{.ID}} {{.DesiredState}} {{.Status.State}} {{.NodeID}} {{range .NetworksAttachments}}{{if eq .Network.Spec.Name \"$net\"}}{{range .Addresses}}{{.}} {{end}}{{end}}{{end}}|{{.Status.Err}}"
declare -A skip=()
while IFS= read -r t; do [ -z "$t" ] || skip[$t]=1; done < <(lines "$ignore")
start=$SECONDS last=''
while :; do
  left=$(( timeout - (SECONDS - start) ))
  [ "$left" -ge 1 ] || left=1
  ids=$(dkt "$(( left < 10 ? left : 10 ))" service ps -q --no-trunc "$name" 2>&1) || { echo "FAIL docker service ps $name: $ids"; exit 3; }
  running=() states=() failed=''
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one ID per word
    while IFS= read -r line; do
      read -r id desired state node rest <<<"${line%%|*}"
      [ -z "${skip[$id]:-}" ] || continue
      addr=${rest%% *} addr=${addr%/*}
      case "$state" in
        running) if [ "$desired" = running ]; then running+=("TASK $id $node $addr"); fi ;;
        failed|rejected|complete|orphaned) failed="$id on node $node $state: ${line#*|}" ;;
      esac
      if [ "$desired" = running ]; then states+=("$state"); fi
    done < <(dkt 10 inspect --type task -f "$fmt" $ids 2>/dev/null || true)
  fi
  # want 0: only the running tasks are asked for (an old service's failed tasks of long ago do not count).
  if [ -n "$failed" ] && [ "$want" -gt 0 ]; then
    echo "FAIL task $failed"
    dkt 10 service logs --tail 20 --raw "$name" 2>&1 | sed 's/^/LOG /' || true
    exit 3
  fi
  if [ "${#running[@]}" -ge "$want" ]; then printf '%s\n' "${running[@]}"; echo READY; exit 0; fi
  now="${#running[@]}/$want running (${states[*]:-no task yet})"
  if [ "$now" != "$last" ]; then echo "WAIT $now"; last=$now; fi
  if [ $((SECONDS - start)) -ge "$timeout" ]; then echo "FAIL not every task runs within $timeout s: $now"; exit 4; fi
  sleep 0.3
done

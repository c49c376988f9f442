# shellcheck shell=bash
# Swarm's own rolling update of the user's service ($mode update: the image by ID, start-first,
# rolled back by Swarm on failure; rollback: back to its previous spec), never waited on with
# docker service update itself: it exits 0 after an automatic rollback, and waits for ever on an
# update it cannot place. Its UpdateStatus is polled here, under $timeout; past it an update still
# going is rolled back. Runtime flags come one per line. Included before this:
# lib-lock-guard.sh lib-docker.sh lib-runtime.sh.
name=$1 id=$2 timeout=$3 runflags=$4 mode=$5
status() { dk service inspect -f '{{with .UpdateStatus}}{{.State}}|{{.StartedAt}}|{{.Message}}{{end}}' "$name"; }
image() { dk service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$name"; }
task_error() {
  dk service ps --no-trunc --filter desired-state=shutdown --format '{{.Error}}' "$name" 2>/dev/null | awk 'NF && !done { gsub(/^"|"$/, ""); print; done = 1 }'
}
before=$(status)
mapfile -t flags < <(lines "$runflags")
if [ "$mode" = rollback ]; then
  out=$(dk service update --detach --rollback "$name" 2>&1) || { printf 'FAILED %s\n' "$out" | tr '\n' ' '; echo; exit 3; }
else
  out=$(dk service update --detach --no-resolve-image --image "$id" --update-order start-first \
    --update-failure-action rollback ${flags[@]+"${flags[@]}"} "$name" 2>&1) || { printf 'FAILED %s\n' "$out" | tr '\n' ' '; echo; exit 3; }
fi
start=$SECONDS last=''
while :; do
  now=$(status)
  if [ "$now" != "$before" ]; then
    IFS='|' read -r state _ message <<<"$now"
    if [ "$now" != "$last" ]; then echo "STATE $state $message"; last=$now; fi
    case "$mode:$state" in
      update:completed|rollback:rollback_completed) echo DONE; exit 0 ;;
      update:rollback_completed) echo "ERROR $(task_error)"; exit 5 ;;
      *:paused|*:rollback_paused) echo "ERROR $(task_error)"; exit 6 ;;
    esac
  elif [ $((SECONDS - start)) -ge 5 ] && [ "$mode" = update ] && [ "$(image)" = "$id" ]; then
    # Nothing in the spec changed (the same image and runtime): Swarm starts no update.
    echo "UNCHANGED"; exit 0
  fi
  if [ $((SECONDS - start)) -ge "$timeout" ]; then
    if [ "$mode" = update ]; then dk service update --detach --rollback "$name" >/dev/null 2>&1 || true; fi
    echo "TIMEOUT ${state:-not started}"; exit 4
  fi
  sleep 0.5
done

# shellcheck shell=bash
# Swarm's own rolling update of the user's service: the image by ID, start-first, rolled back by
# Swarm when a new task fails. Never waited on with docker service update itself, which exits 0
# after an automatic rollback and waits for ever on an update it cannot place: the service's
# UpdateStatus is polled here, under $timeout; past it an update still going is rolled back.
# Runtime flags come one per line. Included before this: lib-lock-guard.sh lib-docker.sh lib-runtime.sh.
name=$1 id=$2 timeout=$3 runflags=$4
status() { dk service inspect -f '{{with .UpdateStatus}}{{.State}}|{{.StartedAt}}|{{.Message}}{{end}}' "$name"; }
image() { dk service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$name"; }
task_error() {
  dk service ps --no-trunc --filter desired-state=shutdown --format '{{.Error}}' "$name" 2>/dev/null | awk 'NF && !done { gsub(/^"|"$/, ""); print; done = 1 }'
}
before=$(status)
mapfile -t flags < <(lines "$runflags")
# Swarm's own rollback of this spec starts first too.
out=$(dk service update --detach --no-resolve-image --image "$id" --update-order start-first \
  --update-failure-action rollback --rollback-order start-first ${flags[@]+"${flags[@]}"} "$name" 2>&1) ||
  { printf 'FAILED %s\n' "$out" | tr '\n' ' '; echo; exit 3; }
start=$SECONDS last=''
while :; do
  now=$(status)
  if [ "$now" != "$before" ]; then
    IFS='|' read -r state _ message <<<"$now"
    if [ "$now" != "$last" ]; then echo "STATE $state $message"; last=$now; fi
    case "$state" in
      completed) echo DONE; exit 0 ;;
      rollback_completed) echo "ERROR $(task_error)"; exit 5 ;;
      paused|rollback_paused) echo "ERROR $(task_error)"; exit 6 ;;
    esac
  elif [ $((SECONDS - start)) -ge 5 ] && [ "$(image)" = "$id" ]; then
    # Nothing in the spec changed (the same image and runtime): Swarm starts no update.
    echo "UNCHANGED"; exit 0
  fi
  if [ $((SECONDS - start)) -ge "$timeout" ]; then
    dk service update --detach --rollback "$name" >/dev/null 2>&1 || true
    echo "TIMEOUT ${state:-not started}"; exit 4
  fi
  sleep 0.5
done

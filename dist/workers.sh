# shellcheck shell=bash
# Starts the release's workers in the candidate's slot, once the web candidate is healthy: the
# same image, env (stdin, a 0600 file gone once they have started), runtime flags and network,
# no route. Then they must keep running for $settle seconds; one that exits fails the step with
# its name, exit code and last log lines, and nothing has switched yet. Arguments after the
# first seven: container name, worker name, command (one word per line), for each worker.
# Included before this: lib-lock-guard.sh lib-steps.sh lib-docker.sh lib-runtime.sh.
net=$1 service=$2 slot=$3 image=$4 id=$5 settle=$6 runflags=$7
shift 7
envfile=$(mktemp)
register_step workers
trap 'rm -f "$envfile"; unregister_step workers' EXIT
trap 'exit 143' TERM
chmod 600 "$envfile"
cat >"$envfile"
mapfile -t flags < <(lines "$runflags")
names=()
while [ $# -ge 3 ]; do
  cname=$1 wname=$2
  mapfile -t cmd < <(lines "$3")
  shift 3
  dkt 15 rm -f "$cname" >/dev/null 2>&1 || true
  if ! started=$(dk run -d --name "$cname" --network "$net" --restart no ${flags[@]+"${flags[@]}"} \
      --label "bluegreen.service=$service" --label "bluegreen.slot=$slot" --label bluegreen.role=worker \
      --label "bluegreen.worker=$wname" --label "bluegreen.image=$image" --label "bluegreen.image-id=$id" \
      --env-file "$envfile" "$id" ${cmd[@]+"${cmd[@]}"} 2>&1); then
    printf 'FAIL %s could not start: %s\n' "$cname" "$started" | tr '\n' ' '; echo; exit 3
  fi
  names+=("$cname")
  echo "STARTED $cname"
done
rm -f "$envfile"
end=$((SECONDS + settle))
while :; do
  for cname in "${names[@]}"; do
    st=$(dkt 10 inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' "$cname" 2>&1) || st="missing 0 0"
    read -r status code restarts <<<"$st"
    if [ "$status" != running ] || [ "$restarts" != 0 ]; then
      echo "FAIL $cname exited (status $status, exit code $code)"
      dkt 10 logs --tail 20 "$cname" 2>&1 | sed 's/^/LOG /'
      exit 3
    fi
  done
  [ "$SECONDS" -lt "$end" ] || break
  sleep 0.5
done
echo SETTLED

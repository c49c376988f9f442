# shellcheck shell=bash
# Starts the candidate's containers in the idle slot ($names, at their pinned addresses $ips
# when the network has them, else Docker picks and the proxy finds them by name), side by side,
# with the env file written to $envfile, the app's runtime flags ($runflags) and command
# ($cmdwords), one word per line. They start without a restart policy, so a crash at boot stays
# a crash (with its exit code) instead of a restart loop; the switch gives them unless-stopped
# once they go live. The survey under the lock found the slot empty (or strays were removed), so
# the names are normally free; one that is not is replaced rather than checked for every time.
candidate_run() {
  local name=$1 ip=$2 at=() flags=() cmd=()
  mapfile -t flags < <(lines "$runflags")
  mapfile -t cmd < <(lines "$cmdwords")
  if [ -n "$ip" ]; then at=(--ip "$ip"); fi
  dk run -d --name "$name" --network "$net" ${at[@]+"${at[@]}"} --restart no ${flags[@]+"${flags[@]}"} \
    --label "bluegreen.service=$service" --label "bluegreen.slot=$slot" --label bluegreen.role=web \
    --label "bluegreen.image=$image" --label "bluegreen.image-id=$id" \
    --env-file "$envfile" "$id" ${cmd[@]+"${cmd[@]}"} >/dev/null
}
# Starts replica $1 ($2: its address); on failure its error goes to $out/$1.err.
start_one() {
  local out code=0
  out=$(candidate_run "$1" "$2" 2>&1) || code=$?
  if [ "$code" != 0 ]; then
    case "$out" in
      *"is already in use"*) dk rm -f "$1" >/dev/null 2>&1 || true; candidate_run "$1" "$2" ;;
      *) printf '%s (%s)\n' "$out" "$(docker_said "$code")"; return 2 ;;
    esac
  fi
}
start_candidate() {
  local i pids=() failed='' errs
  errs=$(mktemp -d)
  for i in "${!names[@]}"; do
    start_one "${names[$i]}" "${ips[$i]:-}" >"$errs/$i" 2>&1 &
    pids+=("$!")
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then failed=$i; fi
  done
  if [ -n "$failed" ]; then cat "$errs/$failed" >&2; rm -rf "$errs"; exit 2; fi
  rm -rf "$errs"
}

# shellcheck shell=bash
# Starts the candidate in the idle slot, with the env file written to $envfile, at its pinned
# address $ip when the network has them (else Docker picks one and the proxy finds it by name),
# with the app's runtime flags ($runflags) and command ($cmdwords), one word per line.
# The candidate starts without a restart policy, so a crash at boot stays a crash (with its exit
# code) instead of a restart loop; the switch gives it unless-stopped once it goes live. The
# survey under the lock found the slot empty (or a stray was removed), so the name is normally
# free; one that is not is replaced rather than checked for on every deploy.
candidate_run() {
  local at=() flags=() cmd=()
  mapfile -t flags < <(lines "$runflags")
  mapfile -t cmd < <(lines "$cmdwords")
  if [ -n "$ip" ]; then at=(--ip "$ip"); fi
  dk run -d --name "$name" --network "$net" ${at[@]+"${at[@]}"} --restart no ${flags[@]+"${flags[@]}"} \
    --label "bluegreen.service=$service" --label "bluegreen.slot=$slot" --label bluegreen.role=web \
    --label "bluegreen.image=$image" --label "bluegreen.image-id=$id" \
    --env-file "$envfile" "$id" ${cmd[@]+"${cmd[@]}"} >/dev/null
}
start_candidate() {
  local out code=0
  out=$(candidate_run 2>&1) || code=$?
  if [ "$code" != 0 ]; then
    case "$out" in
      *"is already in use"*) dk rm -f "$name" >/dev/null 2>&1 || true; candidate_run ;;
      *) printf '%s (%s)\n' "$out" "$(docker_said "$code")" >&2; exit 2 ;;
    esac
  fi
}

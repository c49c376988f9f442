# shellcheck shell=bash
# Starts the candidate in the idle slot, with the env file written to $envfile.
# The candidate starts without a restart policy, so a crash at boot stays a crash (with its exit
# code) instead of a restart loop; the switch gives it unless-stopped once it goes live. The
# survey under the lock found the slot empty (or a stray was removed), so the name is normally
# free; one that is not is replaced rather than checked for on every deploy.
candidate_run() {
  docker run -d --name "$name" --network "$net" --restart no \
    --label "bluegreen.service=$service" --label "bluegreen.slot=$slot" \
    --label "bluegreen.image=$image" --label "bluegreen.image-id=$id" \
    --env-file "$envfile" "$id" >/dev/null
}
start_candidate() {
  local out
  if ! out=$(candidate_run 2>&1); then
    case "$out" in
      *"is already in use"*) docker rm -f "$name" >/dev/null 2>&1 || true; candidate_run ;;
      *) printf '%s\n' "$out" >&2; exit 2 ;;
    esac
  fi
}

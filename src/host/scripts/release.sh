# shellcheck shell=bash
# The release step: a one-off container of the candidate image, with the candidate's env (stdin,
# a 0600 file gone once docker run has read it), runtime flags, network and labels, running the
# release command (a migration) before the candidate starts. Its output streams back as OUT
# lines; it is bounded by $timeout (TIMEOUT, exit 4) and stops when the run is cancelled (exit 9).
# Ends with "EXIT code" and exits with the command's code. Included before this:
# lib-lock-guard.sh lib-steps.sh lib-docker.sh lib-runtime.sh.
name=$1 net=$2 service=$3 image=$4 id=$5 timeout=$6 runflags=$7 cmdwords=$8
out=$(mktemp -d)
register_step release
trap 'rm -rf "$out"; [ -z "${logs:-}" ] || kill "$logs" 2>/dev/null || true; dkt 20 rm -f "$name" >/dev/null 2>&1 || true; unregister_step release' EXIT
trap 'exit 143' TERM
envfile=$out/env
(umask 077 && cat >"$envfile")
mapfile -t flags < <(lines "$runflags")
mapfile -t cmd < <(lines "$cmdwords")
dkt 15 rm -f "$name" >/dev/null 2>&1 || true
if ! started=$(dk run -d --name "$name" --network "$net" --restart no ${flags[@]+"${flags[@]}"} \
    --label "bluegreen.service=$service" --label bluegreen.role=release --label "bluegreen.image=$image" \
    --env-file "$envfile" "$id" ${cmd[@]+"${cmd[@]}"} 2>&1); then
  printf 'FAIL %s\n' "$started" | tr '\n' ' '; echo; exit 2
fi
rm -f "$envfile"
echo STARTED
docker logs -f "$name" 2>&1 | while IFS= read -r line; do printf 'OUT %s\n' "$line"; done &
logs=$!
dkt "$timeout" wait "$name" >"$out/code" 2>&1 &
waiter=$!
while kill -0 "$waiter" 2>/dev/null; do
  if [ -e "$bg_lockdir/cancel.$bg_generation" ]; then dkt 20 rm -f "$name" >/dev/null 2>&1 || true; echo CANCELLED; exit 9; fi
  sleep 0.2
done
rc=0
wait "$waiter" || rc=$?
# The log stream ends with the container; give it a moment to pass on the last lines.
for _ in $(seq 1 25); do kill -0 "$logs" 2>/dev/null || break; sleep 0.2; done
kill "$logs" 2>/dev/null || true
logs=''
dkt 20 rm -f "$name" >/dev/null 2>&1 || true
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo "TIMEOUT $timeout"; exit 4; fi
code=$(tail -n 1 "$out/code")
case "$code" in ''|*[!0-9]*) echo "FAIL docker wait: $code"; exit 2 ;; esac
echo "EXIT $code"
exit "$code"

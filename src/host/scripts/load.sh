# shellcheck shell=bash
# docker load of the archive on stdin, unpacked by Docker itself or by $1 first (zstd, gzip).
# docker load's own PID is registered as the load step (lib-steps.sh): the lock session kills
# it if the runner is lost, for a dead stream never ends on its own, and so does a cancel.
# A big image takes long, so the load has no total bound but an idle one: a watchdog stops it
# once it has read nothing for $2 seconds while the Docker engine did not answer either (a
# frozen or wedged dockerd); a stall upstream (a slow or silent runner) is the lock's business.
# Exits 124 with a LOAD-IDLE line then. A load that worked is followed by the loaded image's
# inspect: "--inspect", then the JSON of the first of $3... (the names to try) the host has, or an
# empty line. The runner verifies it from that, with no round trip of its own; an engine that did
# not answer leaves the section out, and the runner inspects on its own. Included before this:
# lib-lock-guard.sh lib-steps.sh lib-docker.sh.
unpack=$1 idle=$2
shift 2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Bytes docker load has read (rchar), or "-" where /proc does not tell.
bytes_read() { awk '$1 == "rchar:" { print $2 }' "/proc/$1/io" 2>/dev/null || echo -; }
watch_load() {
  local pid=$1 seen=- now last=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    now=$(bytes_read "$pid")
    if [ "$now" != - ] && [ "$now" != "$seen" ]; then
      seen=$now last=$SECONDS
    elif dkt 10 version >/dev/null 2>&1; then
      last=$SECONDS
    elif [ $((SECONDS - last)) -ge "$idle" ]; then
      : >"$out/idle"
      pkill -KILL -P "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
      return 0
    fi
  done
}
# docker load runs as a child, not exec'd, so that this shell can report the watchdog's verdict;
# its stdin is this shell's, passed on explicitly (a background job's default is /dev/null).
exec 3<&0
case "$unpack" in
  zstd) docker load < <(zstd -dc <&3) 3<&- & ;;
  gzip) docker load < <(gzip -dc <&3) 3<&- & ;;
  *) docker load <&3 3<&- & ;;
esac
load=$!
exec 3<&-
# shellcheck disable=SC2154 # the lock guard sets them (scripts.ts: guarded)
echo "$load" >"$(step_file "$bg_lockdir" "$bg_generation" load)"
# Nothing of the SSH channel open in the watchdog, or its last sleep would hold the channel open.
watch_load "$load" </dev/null >/dev/null 2>&1 &
watcher=$!
code=0
wait "$load" || code=$?
kill "$watcher" 2>/dev/null || true
unregister_step load
if [ -e "$out/idle" ]; then
  echo "LOAD-IDLE docker load read nothing for $idle s, and the host's Docker engine did not answer meanwhile" >&2
  exit 124
fi
if [ "$code" = 0 ] && [ $# -gt 0 ]; then
  found='' answered=yes
  for ref in "$@"; do
    said=0
    found=$(dk image inspect --format '{{json .}}' "$ref" 2>/dev/null) || said=$?
    if [ "$said" = 124 ] || [ "$said" = 137 ]; then answered=no; break; fi
    if [ -n "$found" ]; then break; fi
  done
  if [ "$answered" = yes ]; then echo "--inspect"; printf '%s\n' "$found"; fi
fi
exit "$code"

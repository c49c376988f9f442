# shellcheck shell=bash
# On one node (it changes nothing): waits until this node's proxy task holds no connection to the
# old slot's tasks (addresses $3...; any port, as a task's overlay address is its own), as
# retire.sh does for one container: requests in flight at the switch finish there. A connection
# still being opened counts (SYN_SENT, 02): a task whose listen backlog was full drops the SYN,
# nginx sends it again a second later, and a task scaled away meanwhile turns that request into
# a 502. Read from the host's /proc when it shows the proxy's sockets (no docker exec per poll),
# else from inside the proxy; $2 seconds at most. A cancelled run ends it at once (lib-steps.sh).
# Included before this: lib-lock-guard.sh lib-steps.sh lib-docker.sh lib-swarm.sh.
proxy=$1 timeout=$2
shift 2
register_step drain
trap 'unregister_step drain' EXIT
trap 'exit 143' TERM
c=$(local_proxy "$proxy")
if [ -z "$c" ] || [ $# -eq 0 ] || [ "$timeout" -le 0 ]; then echo "DRAINED 0"; exit 0; fi
pid=$(dk inspect -f '{{.State.Pid}}' "$c" 2>/dev/null || echo 0)
targets=()
for ip in "$@"; do
  IFS=. read -r a b x d <<<"$ip"
  targets+=("$(printf '%02X%02X%02X%02X' "$d" "$x" "$b" "$a")")
done
wanted=" ${targets[*]} "
count() {
  local table
  if [ "$pid" != 0 ] && [ -r "/proc/$pid/net/tcp" ]; then table=$(cat "/proc/$pid/net/tcp")
  else table=$(dkt 10 exec "$c" cat /proc/net/tcp 2>/dev/null || true); fi
  printf '%s\n' "$table" | awk -v w="$wanted" '($4 == "01" || $4 == "02") && index(w, " " substr($3, 1, 8) " ") { n++ } END { print n + 0 }'
}
deadline=$((SECONDS + timeout)) quiet=0 open=0
while :; do
  open=$(count)
  if [ "$open" -eq 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
  if [ "$quiet" -ge 3 ] || [ "$SECONDS" -ge "$deadline" ]; then break; fi
  if [ "$open" -gt 0 ]; then echo "WAIT $open"; fi
  sleep 0.5
done
echo "DRAINED $open"

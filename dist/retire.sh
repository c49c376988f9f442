# shellcheck shell=bash
# The old slot's containers ($2, one name per line: its replicas) leave only once the proxy holds
# no connection to them: the proxy's /proc/net/tcp lists every upstream connection, so requests in
# flight at the switch (a long report, an upload) finish on the old slot. A connection still being
# opened counts too (SYN_SENT, 02): an app whose listen backlog was full drops the SYN, nginx sends
# it again a second later, and a slot stopped meanwhile turns that request into a 502. Old nginx workers
# (after a reload) exit once their requests are done. Both are read from the host's /proc when it
# shows the proxy's processes (no docker exec per poll), else from inside the proxy. The pattern
# [w]orker keeps grep from counting its own command line. The lock is checked again before
# anything is stopped: the drain may take a while. The stop waits $6 seconds at most (the app's
# stop timeout and a margin). With $7 = keep (keep-previous: running) they stay up, drained, for
# an instant rollback. With $8, the service's folder, the release is recorded there first
# (state.json from stdin) and RECORDED said: the run's record and retire share one round trip.
# Included before this: lib-lock-guard.sh lib-docker.sh lib-runtime.sh lib-state.sh.
proxy=$1 net=$3 port=$4 timeout=$5 stoplimit=${6:-60} keep=${7:-} statedir=${8:-}
if [ -n "$statedir" ]; then
  write_state "$statedir"
  echo RECORDED
fi
mapfile -t names < <(lines "$2")
template="{{.Name}} {{.State.Pid}} {{with index .NetworkSettings.Networks \"$net\"}}{{.IPAddress}}{{end}}"
pid='' targets=()
while read -r cname cpid cip; do
  if [ "$cname" = "/$proxy" ]; then pid=$cpid; continue; fi
  if [ -z "$cip" ]; then continue; fi
  IFS=. read -r a b c d <<<"$cip"
  targets+=("$(printf '%02X%02X%02X%02X:%04X' "$d" "$c" "$b" "$a" "$port")")
done < <(dk inspect -f "$template" "$proxy" "${names[@]}" 2>/dev/null || true)
wanted=$(IFS=,; echo "${targets[*]:-}")
count_from_host() {
  local n w=0 child
  n=$(awk -v t="$wanted" 'BEGIN { split(t, l, ","); for (i in l) want[l[i]] = 1 } ($3 in want) && ($4 == "01" || $4 == "02")' "/proc/$pid/net/tcp" | wc -l)
  for child in $(pgrep -P "$pid"); do
    if grep -qs '[w]orker process is shutting down' "/proc/$child/cmdline"; then w=$((w + 1)); fi
  done
  echo "$n $w"
}
count_in_proxy() {
  # shellcheck disable=SC2016 # a script for the shell in the proxy
  dkt 10 exec "$proxy" sh -c '
    n=$(cat /proc/net/tcp 2>/dev/null | awk -v t="$1" "BEGIN { split(t, l, \",\"); for (i in l) want[l[i]] = 1 } (\$3 in want) && (\$4 == \"01\" || \$4 == \"02\")" | wc -l)
    w=$(grep -ls "[w]orker process is shutting down" /proc/[0-9]*/cmdline 2>/dev/null | wc -l)
    echo $n $w' sh "$wanted" 2>/dev/null || echo "0 0"
}
open=0
if [ -n "$wanted" ] && [ -n "$pid" ] && [ "$pid" != 0 ] && [ "$timeout" -gt 0 ]; then
  count=count_in_proxy
  if [ -r "/proc/$pid/net/tcp" ] && command -v pgrep >/dev/null 2>&1; then count=count_from_host; fi
  deadline=$((SECONDS + timeout)) quiet=0
  while :; do
    read -r open workers < <($count)
    if [ "$open" -eq 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
    if [ "$open" -eq 0 ] && [ "$workers" -eq 0 ]; then break; fi
    if [ "$quiet" -ge 3 ]; then break; fi
    if [ "$SECONDS" -ge "$deadline" ]; then break; fi
    echo "WAIT $open"
    sleep 0.5
  done
fi
echo "DRAINED $open"
if [ "$keep" = keep ]; then exit 0; fi
hold_lock
dkt "$stoplimit" stop "${names[@]}" >/dev/null 2>&1 || true
dkt 30 rm -f "${names[@]}" >/dev/null 2>&1 || true

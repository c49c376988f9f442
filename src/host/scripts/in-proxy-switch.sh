# shellcheck shell=sh
# Inside the proxy, in one docker exec: test the whole config, reload gracefully, ask nginx on its
# own port 80 until the answer comes from the new slot, then wait out nginx's hand-over: for
# ~100 ms after a reload the old workers still accept connections (with the old config) until the
# master tells them to shut down. Once every worker from before says "shutting down", no new
# request can reach the old route, and the drain only has to wait for those in flight.
probe=$1 url=$2 host=$3 slot=$4 tries=$5 i=0
title() { tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | sed 's/ *$//'; }
workers() {
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$(title "$p")" = "nginx: worker process" ] && echo "$p"
  done
}
# An old worker accepts connections until its title says it is shutting down (or it has gone).
old_accepting() {
  for p in $before; do
    [ "$(title "$p")" = "nginx: worker process" ] && return 0
  done
  return 1
}
before=$(workers)
nginx -t 2>&1 || exit 3
nginx -s reload 2>&1 || exit 5
while [ "$i" -lt "$tries" ]; do
  line=$(sh -c "$probe" sh "$url" "$host" 2>&1 | tail -n 1)
  case "$line" in "STATUS "[23]??" SLOT $slot") break ;; esac
  i=$((i + 1)); sleep 0.02
done
[ "$i" -lt "$tries" ] || { echo "$line"; exit 4; }
for _ in $(seq 1 500); do
  old_accepting || exit 0
  sleep 0.01
done
echo "HANDOVER nginx workers from before the reload still accept connections"
exit 0

# shellcheck shell=bash
# Runs in the launch step once the candidate is healthy, through lib-probe-shell.sh's shell in
# the proxy (shell_send/shell_read): one step and one docker exec for start, health check and
# switch (a docker exec of its own cost ~70 ms). Writes the route and switches; when nginx -t
# refuses it the previous file is put back at once, so the proxy never holds a config it cannot
# load. The candidate gets its restart policy as it goes live, side by side (it started with
# none, so a crash at boot stayed a crash); a switch that cannot give it one fails like one that
# cannot reload. Needs $dir (the proxy's folder), $service, $name, $proxy, $route, $lockdir and
# $generation (the deploy lock this run took), lib-proxy-lock.sh and lib-route-files.sh.
proxy_switch() {
  local code=0
  # shellcheck disable=SC2016 # expanded by the shell in the proxy, from its environment
  shell_send 'sh -c "$BG_SWITCH" sh "$BG_PROBE" "$BG_SWITCH_URL" "$BG_HOST" "$BG_SLOT" 500 2>&1' ||
    { echo "no shell in $proxy to switch with"; return 8; }
  shell_read 60 || code=$?
  if [ "$code" = 255 ]; then echo "no answer from the shell in $proxy"; return 8; fi
  return "$code"
}
switch_live() {
  local code=0 policy policy_err
  # The runner cannot look at its lock between check and switch any more, so the host does: the
  # lock must still be held, and the last one taken must be this run's.
  if [ "$(cat "$lockdir/lock.generation" 2>/dev/null || true)" != "$generation" ] || flock -n "$lockdir/lock" true; then
    exit 7
  fi
  route_files
  proxy_lock
  policy_err=$(mktemp)
  docker update --restart unless-stopped "$name" >/dev/null 2>"$policy_err" &
  policy=$!
  if [ -f "$conf" ]; then cp -p "$conf" "$saved"; else rm -f "$saved"; fi
  printf '%s\n' "$route" > "$conf.next"
  mv -f "$conf.next" "$conf"
  proxy_switch || code=$?
  if [ "$code" = 3 ]; then
    if [ -f "$saved" ]; then mv -f "$saved" "$conf"; else rm -f "$conf"; fi
  fi
  if ! wait "$policy" && [ "$code" = 0 ]; then echo "POLICY $(tr '\n' ' ' <"$policy_err")"; code=6; fi
  rm -f "$policy_err"
  exit "$code"
}

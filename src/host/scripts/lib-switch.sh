# shellcheck shell=bash
# Runs in the launch step once the candidate is healthy, through lib-probe-shell.sh's shell in
# the proxy. The switch is a rename of the service's live-slot symlink (lib-markers.sh): no nginx
# reload, so no client connection is closed. The slot's record is written first, then the symlink
# moves, then nginx is asked through its own port until the new slot answers; anything else puts
# the symlink back (a canary's files are gone by then: everyone is on the live slot). The candidate gets its restart policy as it goes live, side by side (it
# started with none, so a crash at boot stayed a crash), and so do its workers ($also, one name
# per line). Needs $dir (the proxy's folder), $service, $slot, $name, $proxy, $routejson,
# lib-lock-guard.sh, lib-docker.sh, lib-runtime.sh, lib-markers.sh and lib-proxy-lock.sh.
verify_through_proxy() {
  local code=0
  # shellcheck disable=SC2016 # expanded by the shell in the proxy, from its environment
  shell_send 'sh -c "$BG_VERIFY" sh "$BG_PROBE" "$BG_VERIFY_URL" "$BG_HOST" "$BG_SLOT" 250 2>&1' ||
    { echo "no shell in $proxy to verify the switch with"; return 8; }
  shell_read 30 || code=$?
  if [ "$code" = 255 ]; then echo "no answer from the shell in $proxy"; return 8; fi
  return "$code"
}
# Maintenance lets the live release's health path through: the service's config tests for the
# file that $uri names under exempt/<service>/ (nginx-config.ts), so the path is a file here and
# a new one needs no reload. Its path comes from the route record (validated: no quotes, no
# backslash), without the query and with %XX decoded, as nginx's $uri has it. A path that ends
# in / or climbs with .. is not exempt. The folder is made aside and renamed in.
exempt_health() {
  local path exempt="$dir/conf.d/bluegreen/exempt" next
  path=$(printf '%s' "$routejson" | sed -n 's/.*"healthPath":"\([^"]*\)".*/\1/p')
  path=${path%%\?*}
  path=$(printf '%b' "${path//%/\\x}")
  next="$exempt/.$service.$$"
  rm -rf "$next" && mkdir -p "$next" || return 0
  case "$path" in
    / | */ | *..* | '') ;;
    /*) mkdir -p "$next${path%/*}" && : >"$next$path" ;;
  esac
  if [ -e "$exempt/$service" ]; then mv -T "$exempt/$service" "$exempt/.$service.gone.$$"; fi
  mv -T "$next" "$exempt/$service"
  rm -rf "$exempt/.$service.gone.$$"
}
switch_live() {
  local code=0 before policy policy_err policied
  hold_lock
  proxy_lock
  ensure_markers
  policy_err=$(mktemp)
  mapfile -t policied < <(lines "$also")
  dk update --restart unless-stopped "$name" ${policied[@]+"${policied[@]}"} >/dev/null 2>"$policy_err" &
  policy=$!
  printf '%s\n' "$routejson" >"$dir/routes/$service.$slot.json.next"
  mv -f "$dir/routes/$service.$slot.json.next" "$dir/routes/$service.$slot.json"
  before=$(marked_slot "$service")
  point_marker "$service" "$slot"
  # A canary's clients are on this slot already; the others follow with the symlink. Its files
  # must not outlive the switch: the next deploy makes this slot the old one.
  if [ -e "$dir/conf.d/bluegreen/canary/$service" ]; then
    mv -T "$dir/conf.d/bluegreen/canary/$service" "$dir/conf.d/bluegreen/canary/$service.gone.$$"
    rm -rf "$dir/conf.d/bluegreen/canary/$service.gone.$$"
  fi
  echo SWITCHED
  verify_through_proxy || code=$?
  if ! wait "$policy" && [ "$code" = 0 ]; then echo "POLICY $(tr '\n' ' ' <"$policy_err")"; code=6; fi
  rm -f "$policy_err"
  if [ "$code" != 0 ]; then
    point_marker "$service" "$before"
    echo "SWITCHED-BACK ${before:-none}"
  else
    exempt_health || true
  fi
  exit "$code"
}

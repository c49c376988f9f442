# shellcheck shell=bash
# Puts the service's nginx config (stdin) in place, tests it and reloads nginx gracefully, after
# a closing window that moves keep-alive clients to new connections (lib-proxy-reload.sh): only
# when its shape changed (first deploy, server names, app port, timeouts); a routine deploy
# switches by symlink and never gets here. A config nginx refuses is taken back at once. A service
# whose live slot was recorded only in its old config's first line first gets its symlink and slot
# record ($4, $5), so the new config routes where the old one did. A config that no longer serves
# HTTPS ends its certificate's renewal (the certificate stays, unused).
# Included before this: lib-lock-guard.sh lib-docker.sh lib-markers.sh lib-proxy-lock.sh lib-proxy-reload.sh.
dir=$1 proxy=$2 service=$3 legacy_slot=$4 legacy_route=$5
mkdir -p "$dir/conf.d"
proxy_lock
ensure_markers
if [ -n "$legacy_slot" ] && [ -z "$(marked_slot "$service")" ]; then
  printf '%s\n' "$legacy_route" >"$dir/routes/$service.$legacy_slot.json"
  point_marker "$service" "$legacy_slot"
fi
conf="$dir/conf.d/$service.conf"
cat >"$conf.next"
if [ -f "$conf" ]; then cp -p "$conf" "$conf.before"; else rm -f "$conf.before"; fi
mv -f "$conf.next" "$conf"
if ! out=$(dkt 30 exec "$proxy" nginx -t 2>&1); then
  if [ -f "$conf.before" ]; then mv -f "$conf.before" "$conf"; else rm -f "$conf"; fi
  printf 'REFUSED %s\n' "$out" | tr '\n' ' '; echo
  exit 3
fi
rm -f "$conf.before"
if ! grep -q '^# bluegreen-tls' "$conf"; then rm -f "$dir/conf.d/bluegreen/tls/orders/$service.json"; fi
reload_closing "$proxy"
echo RELOADED

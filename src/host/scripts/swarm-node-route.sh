# shellcheck shell=bash
# On one node: the proxy's folder (the shared config $4, the slot folders) and the service's
# config from stdin, which names both slots by their Swarm DNS names. Written only when it
# differs; then the node's proxy task, if one runs yet, tests it and reloads gracefully after a
# closing window (a refused config is taken back at once). A routine deploy finds it as it needs
# it and reloads nothing.
# Included before this: lib-lock-guard.sh lib-docker.sh lib-markers.sh lib-proxy-lock.sh lib-proxy-reload.sh lib-swarm.sh.
dir=$1 proxy=$2 service=$3 common=$4
mkdir -p "$dir/conf.d"
proxy_lock
ensure_markers
if ! printf '%s' "$common" | cmp -s - "$dir/conf.d/_common.conf"; then
  printf '%s' "$common" >"$dir/conf.d/_common.conf.next" && mv -f "$dir/conf.d/_common.conf.next" "$dir/conf.d/_common.conf"
fi
conf="$dir/conf.d/$service.conf"
cat >"$conf.next"
if cmp -s "$conf.next" "$conf"; then rm -f "$conf.next"; echo UNCHANGED; exit 0; fi
if [ -f "$conf" ]; then cp -p "$conf" "$conf.before"; else rm -f "$conf.before"; fi
mv -f "$conf.next" "$conf"
c=$(local_proxy "$proxy")
if [ -z "$c" ]; then rm -f "$conf.before"; echo WRITTEN; exit 0; fi
if ! out=$(dkt 30 exec "$c" nginx -t 2>&1); then
  if [ -f "$conf.before" ]; then mv -f "$conf.before" "$conf"; else rm -f "$conf"; fi
  printf 'REFUSED %s\n' "$out" | tr '\n' ' '; echo
  exit 3
fi
rm -f "$conf.before"
reload_closing "$c"
echo RELOADED

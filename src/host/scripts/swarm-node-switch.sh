# shellcheck shell=bash
# On one node: the switch is the rename of the service's live-slot symlink ($4; empty: none), as
# on a single host, with no reload and no service update. The slot's record goes first; then
# nginx in this node's proxy task is asked through its own port until the slot answers. Prints
# BEFORE (the slot it pointed at), SWITCHED, then nothing more when verified; the caller decides
# whether every node goes back. Included before this: lib-lock-guard.sh lib-docker.sh
# lib-markers.sh lib-proxy-lock.sh lib-swarm.sh.
dir=$1 proxy=$2 service=$3 slot=$4 routejson=$5 verify=$6 probe=$7 url=$8 host=$9 tries=${10}
proxy_lock
ensure_markers
echo "BEFORE $(marked_slot "$service")"
if [ -n "$slot" ]; then
  printf '%s\n' "$routejson" >"$dir/routes/$service.$slot.json.next"
  mv -f "$dir/routes/$service.$slot.json.next" "$dir/routes/$service.$slot.json"
fi
point_marker "$service" "$slot"
echo SWITCHED
[ -n "$slot" ] || exit 0
c=$(local_proxy "$proxy")
if [ -z "$c" ]; then echo "no proxy task runs on this node to verify the switch through"; exit 5; fi
dkt 30 exec "$c" sh -c "$verify" sh "$probe" "$url" "$host" "$slot" "$tries" 2>&1

# shellcheck shell=bash
# On one node, after a first deploy failed (nothing of the service was live): its config and
# slot records go, and the proxy task reloads. With $4 = unswitch (the run had switched some
# nodes), the service's symlink goes first. A service that is live keeps its config.
# Included before this: lib-lock-guard.sh lib-docker.sh lib-markers.sh lib-proxy-lock.sh lib-proxy-reload.sh lib-swarm.sh.
dir=$1 proxy=$2 service=$3 mode=${4:-}
[ -d "$dir/conf.d" ] || exit 0
proxy_lock
if [ "$mode" = unswitch ]; then point_marker "$service" ''; fi
if [ -n "$(marked_slot "$service")" ]; then exit 0; fi
rm -f "$dir/conf.d/$service.conf" "$dir/routes/$service.blue.json" "$dir/routes/$service.green.json"
c=$(local_proxy "$proxy")
if [ -n "$c" ]; then reload_closing "$c"; fi

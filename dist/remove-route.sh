# shellcheck shell=bash
# A first deploy that failed takes back the config it added (nothing of the service was live),
# and nginx reloads. With $4 = unswitch (a rollout sending back a host whose first deploy had
# already switched), the service's symlink goes first: its requests get 503 again, then nothing.
# A certificate it installed stays for the next try (a CA limits how many it issues), but nothing
# renews it until a deploy serves it. Included before this: lib-lock-guard.sh lib-docker.sh
# lib-markers.sh lib-proxy-lock.sh lib-proxy-reload.sh.
dir=$1 proxy=$2 service=$3 mode=${4:-}
proxy_lock
if [ "$mode" = unswitch ]; then point_marker "$service" ''; fi
if [ -n "$(marked_slot "$service")" ]; then exit 0; fi
rm -f "$dir/conf.d/$service.conf" "$dir/routes/$service.blue.json" "$dir/routes/$service.green.json"
rm -f "$dir/conf.d/bluegreen/tls/orders/$service.json"
reload_closing "$proxy"

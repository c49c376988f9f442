# shellcheck shell=bash
# Puts back the config saved by the last switch (none: the service had no route) and reloads.
# Included before this: lib-proxy-lock.sh lib-route-files.sh.
dir=$1 proxy=$2 service=$3
route_files
proxy_lock
if [ -f "$saved" ]; then mv -f "$saved" "$conf"; else rm -f "$conf"; fi
docker exec "$proxy" nginx -s reload

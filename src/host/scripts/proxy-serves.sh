# shellcheck shell=bash
# After a failure: make sure the proxy runs (a proxy killed mid-deploy is started again, with the
# config on disk, which routes to the live slot), then ask it what it serves for the service, so
# the error says what clients see. Prints the proxy's state and the in-proxy probe's line.
# Included before this: lib-docker.sh.
proxy=$1 probe=$2 url=$3 host=$4
status=$(dk container inspect -f '{{.State.Status}}' "$proxy" 2>/dev/null) || status=missing
echo "PROXY $status"
if [ "$status" = missing ]; then exit 0; fi
if [ "$status" != running ]; then
  if dk start "$proxy" >/dev/null 2>&1; then echo "PROXY started"; else echo "PROXY could-not-start"; exit 0; fi
fi
for _ in $(seq 1 50); do
  # shellcheck disable=SC2016 # expanded by the shell in the proxy
  line=$(dkt 10 exec -e "BG_PROBE=$probe" "$proxy" sh -c 'sh -c "$BG_PROBE" sh "$1" "$2"' sh "$url" "$host" 2>&1 | tail -n 1) || true
  case "$line" in "STATUS 000"*|"") sleep 0.1 ;; *) break ;; esac
done
echo "SERVES ${line:-no answer}"

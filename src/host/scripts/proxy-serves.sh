# shellcheck shell=bash
# After a failure: make sure the proxy runs (a proxy killed mid-deploy is started again, with the
# config on disk, which routes to the live slot), then ask its published port what it serves for
# the service, as a client would: bash's /dev/tcp, no docker exec, so the answer holds even when
# the Docker engine does not. Prints the proxy's state and `SERVES STATUS nnn SLOT name`.
# Included before this: lib-docker.sh lib-http-probe.sh.
proxy=$1 port=$2 path=$3 host=$4
code=0
status=$(dkt 10 container inspect -f '{{.State.Status}}' "$proxy" 2>/dev/null) || code=$?
if [ "$code" = 124 ] || [ "$code" = 137 ]; then status=unknown; elif [ "$code" != 0 ]; then status=missing; fi
echo "PROXY $status"
if [ "$status" = exited ] || [ "$status" = created ]; then
  if dkt 20 start "$proxy" >/dev/null 2>&1; then echo "PROXY started"; else echo "PROXY could-not-start"; fi
fi
# A proxy that was just started needs a moment; the health path may itself be slow to answer.
line='STATUS 000 SLOT none' deadline=$((SECONDS + 15))
while [ "$SECONDS" -lt "$deadline" ]; do
  line=$( (http_probe "$((deadline - SECONDS))" "$path" "$host") 2>/dev/null ) || line='STATUS 000 SLOT none'
  case "$line" in "STATUS 000"*) sleep 0.2 ;; *) break ;; esac
done
echo "SERVES $line"

# shellcheck shell=bash
# A graceful reload of the nginx in $1, after a closing window of 2 s when clients are connected:
# while the flag file exists every answer says "Connection: close" (nginx-config.ts), so
# keep-alive clients are on new connections when the reload makes the old workers close their
# idle ones; a request sent on one of those at that moment would get a reset. The flag goes 1 s
# after the reload, once the new workers have taken over. A proxy nobody is connected to (a
# cold deploy's new one) reloads at once. Included before this: lib-docker.sh.
reload_closing() {
  local code=0 window=''
  if [ "$(proxy_connections "$1")" != 0 ]; then
    dkt 10 exec "$1" touch /tmp/bluegreen-closing >/dev/null 2>&1 && window=yes && sleep 2
  fi
  dkt 30 exec "$1" nginx -s reload || code=$?
  if [ -n "$window" ]; then
    sleep 1
    dkt 10 exec "$1" rm -f /tmp/bluegreen-closing >/dev/null 2>&1 || true
  fi
  return "$code"
}
# Established TCP connections to ports 80 and 443 (hex 0050, 01BB) in the proxy's own network
# namespace, where every client connection ends (through docker-proxy or a NAT); unknown counts
# as some.
proxy_connections() {
  # shellcheck disable=SC2016 # awk's own fields
  dkt 10 exec "$1" awk 'FNR > 1 && $4 == "01" && $2 ~ /:(0050|01BB)$/ { n++ } END { print n + 0 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null || echo unknown
}

# shellcheck shell=bash
# A graceful reload of the nginx in $1 after a closing window of 2 s: while the flag file exists
# every answer says "Connection: close" (nginx-config.ts), so keep-alive clients are on new
# connections when the reload makes the old workers close their idle ones; a request sent on one
# of those at that moment would get a reset. The flag goes 1 s after the reload, once the new
# workers have taken over. Included before this: lib-docker.sh.
reload_closing() {
  local code=0
  dkt 10 exec "$1" touch /tmp/bluegreen-closing >/dev/null 2>&1 && sleep 2
  dkt 30 exec "$1" nginx -s reload || code=$?
  sleep 1
  dkt 10 exec "$1" rm -f /tmp/bluegreen-closing >/dev/null 2>&1 || true
  return "$code"
}

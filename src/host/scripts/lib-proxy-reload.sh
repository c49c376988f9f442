# shellcheck shell=bash
# A graceful reload of the nginx in $1 after a closing window of $2 seconds: keep-alive clients
# move to new connections first, so none sends a request on an idle connection the old workers
# are closing (it would get a reset). Included before this: lib-docker.sh.
reload_closing() {
  local code=0
  dkt 10 exec "$1" touch /tmp/bluegreen-closing >/dev/null 2>&1 && sleep "$2"
  dkt 30 exec "$1" nginx -s reload || code=$?
  sleep 1
  dkt 10 exec "$1" rm -f /tmp/bluegreen-closing >/dev/null 2>&1 || true
  return "$code"
}

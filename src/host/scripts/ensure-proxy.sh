# shellcheck shell=bash
# Creates what is missing of the proxy (network, container, shared config on stdin, listen
# options in $7, the slot folders), and brings a running one to proxy-image $4 without a gap
# (lib-proxy-pair.sh). A proxy made for HTTPS ($6, or the port recorded when an earlier deploy
# made it so) publishes that port on its 443 too, so a proxy removed by hand comes back serving
# its certificates. Included before this: lib-docker.sh lib-network.sh lib-markers.sh
# lib-proxy-lock.sh lib-proxy-reload.sh lib-proxy-pair.sh.
# shellcheck disable=SC2034 # grace is lib-proxy-pair.sh's
net=$1 proxy=$2 port=$3 image=$4 dir=$5 https=${6:-} listen=${7:-} grace=${8:-30}
mkdir -p "$dir/conf.d"
proxy_lock
ensure_markers
cat > "$dir/conf.d/_common.conf.next" && mv -f "$dir/conf.d/_common.conf.next" "$dir/conf.d/_common.conf"
if [ -n "$listen" ]; then printf '%s' "$listen" >"$dir/conf.d/~listen.conf.next" && mv -f "$dir/conf.d/~listen.conf.next" "$dir/conf.d/~listen.conf"; fi
repair_pair || exit 3

nginx_up() {
  for _ in $(seq 1 100); do
    if dkt 10 exec "$proxy" nginx -t >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "FAILED nginx in $proxy did not start:"; dkt 10 logs --tail 20 "$proxy" 2>&1; exit 3
}

status=$(state_of "$proxy")
if [ "$status" = running ]; then
  echo "proxy running"
elif [ "$status" = missing ]; then
  ensure_network "$net"
  if [ -z "$https" ] && [ -f "$dir/https-port" ]; then https=$(cat "$dir/https-port"); fi
  publish=(-p "$port:80")
  if [ -n "$https" ]; then publish+=(-p "$https:443"); fi
  # Queued connections move to the other listeners at an upgrade (lib-proxy-pair.sh).
  sysctl=()
  if [ -e /proc/sys/net/ipv4/tcp_migrate_req ]; then sysctl=(--sysctl net.ipv4.tcp_migrate_req=1); fi
  if ! out=$(dk run -d --name "$proxy" --network "$net" "${publish[@]}" "${sysctl[@]}" --restart unless-stopped \
      --label bluegreen.role=proxy -v "$dir/conf.d:/etc/nginx/conf.d:ro" "$image" 2>&1); then
    dk rm -f "$proxy" >/dev/null 2>&1 || true
    printf 'FAILED %s\n' "$out" | tr '\n' ' '; echo; exit 3
  fi
  if [ -n "$https" ]; then
    printf '%s\n' "$https" >"$dir/https-port"
    echo "proxy created (HTTPS on port $https)"
  else
    echo "proxy created"
  fi
  nginx_up
  exit 0
else
  ensure_network "$net"
  dk start "$proxy" >/dev/null; echo "proxy started"
  nginx_up
fi
if [ "$(dk container inspect -f '{{.Config.Image}}' "$proxy")" != "$image" ]; then upgrade_proxy || exit 3; fi

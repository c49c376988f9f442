# shellcheck shell=bash
# Creates what is missing of the proxy (network, container, shared config on stdin, the slot
# folders); never touches a running proxy. A proxy made for HTTPS ($6, or the port recorded when
# an earlier deploy made it so) publishes that port on its 443 too, so a proxy removed by hand
# comes back serving its certificates. Included before this: lib-docker.sh lib-network.sh
# lib-markers.sh lib-proxy-lock.sh.
net=$1 proxy=$2 port=$3 image=$4 dir=$5 https=${6:-}
mkdir -p "$dir/conf.d"
proxy_lock
ensure_markers
cat > "$dir/conf.d/_common.conf.next" && mv -f "$dir/conf.d/_common.conf.next" "$dir/conf.d/_common.conf"
status=$(dk container inspect -f '{{.State.Status}}' "$proxy" 2>/dev/null) || status=missing
if [ "$status" = running ]; then echo "proxy running"; exit 0; fi
ensure_network "$net"
if [ "$status" = missing ]; then
  if [ -z "$https" ] && [ -f "$dir/https-port" ]; then https=$(cat "$dir/https-port"); fi
  publish=(-p "$port:80")
  if [ -n "$https" ]; then publish+=(-p "$https:443"); fi
  if ! out=$(dk run -d --name "$proxy" --network "$net" "${publish[@]}" --restart unless-stopped \
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
else
  dk start "$proxy" >/dev/null; echo "proxy started"
fi
for _ in $(seq 1 100); do
  if dkt 10 exec "$proxy" nginx -t >/dev/null 2>&1; then exit 0; fi
  sleep 0.1
done
echo "FAILED nginx in $proxy did not start:"; dkt 10 logs --tail 20 "$proxy" 2>&1; exit 3

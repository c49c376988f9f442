# shellcheck shell=bash
# Publishing the HTTPS port on a proxy that runs without it: Docker cannot add a port to a
# running container, so the proxy is recreated once, with the smallest gap this way allows.
# Everything is prepared first (the new container created with both ports, its image on the host,
# the config already tested by the running nginx, the names swapped); then nginx gets QUIT
# (graceful: it stops accepting, closes idle keep-alive connections and finishes requests in
# flight, for up to $grace seconds, then TERM), and the new container starts the moment the old
# one has exited and released the ports. Prints STOPPED, STARTED and GAP <ms>: from QUIT until
# the old one exited, the new one started, and it answered on port 80. Anything that fails before
# the old proxy stops changes nothing; after it, the old one is started again. An upgraded proxy
# (lib-proxy-pair.sh) has its ports on the holder, "$proxy-net": both of the pair stop, and the
# new container is a proxy of one container again. This is the one proxy change with a gap.
# Included before this: lib-lock-guard.sh lib-docker.sh lib-proxy-lock.sh.
net=$1 proxy=$2 port=$3 https=$4 dir=$5 grace=${6:-5}
proxy_lock
next="$proxy-next" old="$proxy-old" pair="$proxy-net" held=$proxy
image=$(dk container inspect -f '{{.Config.Image}}' "$proxy") || { echo "FAILED the proxy $proxy is gone"; exit 3; }
if dk container inspect "$pair" >/dev/null 2>&1; then held=$pair; else pair=''; fi
# Another deploy on this network may have done it while this one waited for the proxy's lock.
if dk container inspect -f '{{json .HostConfig.PortBindings}}' "$held" | grep -q '"443/tcp":\[{'; then echo "GAP 0"; echo ALREADY; exit 0; fi
dk rm -f "$next" "$old" >/dev/null 2>&1 || true
sysctl=()
if [ -e /proc/sys/net/ipv4/tcp_migrate_req ]; then sysctl=(--sysctl net.ipv4.tcp_migrate_req=1); fi
if ! out=$(dk create --name "$next" --network "$net" -p "$port:80" -p "$https:443" "${sysctl[@]}" --restart unless-stopped \
    --label bluegreen.role=proxy -v "$dir/conf.d:/etc/nginx/conf.d:ro" "$image" 2>&1); then
  printf 'FAILED could not create the new proxy: %s\n' "$out" | tr '\n' ' '; echo; exit 3
fi
if ! out=$(dkt 30 exec "$proxy" nginx -t 2>&1); then
  dk rm -f "$next" >/dev/null 2>&1 || true
  printf 'FAILED nginx -t: %s\n' "$out" | tr '\n' ' '; echo; exit 3
fi
now_ms() { date +%s%3N; }
# nginx answers on the published port (Docker's port proxy alone would accept, then close).
answers() {
  local line=''
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET / HTTP/1.0\r\nHost: bluegreen-check.invalid\r\n\r\n' >&3
  IFS= read -r -t 1 line <&3 || true
  exec 3>&-
  [[ $line == HTTP/* ]]
}
# Off the gap: no restart policy brings the old one back once it exits, and the names swap while
# it still serves (Docker renames a running container).
dk update --restart no "$proxy" >/dev/null
if [ -n "$pair" ]; then dk update --restart no "$pair" >/dev/null; fi
dk rename "$proxy" "$old"
dk rename "$next" "$proxy"
started=$(now_ms)
quit() {
  dk kill -s QUIT "$1" >/dev/null
  if ! dkt "$grace" wait "$1" >/dev/null 2>&1; then
    dk kill -s TERM "$1" >/dev/null 2>&1 || true
    dkt 10 wait "$1" >/dev/null 2>&1 || dk kill "$1" >/dev/null 2>&1 || true
  fi
}
quit "$old"
if [ -n "$pair" ]; then quit "$pair"; fi
echo "STOPPED $(( $(now_ms) - started ))"
if ! out=$(dk start "$proxy" 2>&1); then
  dk rm -f "$proxy" >/dev/null 2>&1 || true
  # The holder's nginx.conf on disk serves: alone, it is the proxy again.
  if [ -n "$pair" ]; then dk rm -f "$old" >/dev/null 2>&1 || true; old=$pair; rm -f "$dir/holder-retired"; fi
  dk rename "$old" "$proxy"
  dk update --restart unless-stopped "$proxy" >/dev/null 2>&1 || true
  dk start "$proxy" >/dev/null 2>&1 || true
  dkt 10 exec "$proxy" rm -f /tmp/bluegreen-closing >/dev/null 2>&1 || true
  printf 'FAILED the new proxy did not start (the old one is back, without HTTPS): %s\n' "$out" | tr '\n' ' '; echo; exit 3
fi
echo "STARTED $(( $(now_ms) - started ))"
for _ in $(seq 1 200); do
  if (answers) 2>/dev/null; then break; fi
  sleep 0.02
done
echo "GAP $(( $(now_ms) - started ))"
printf '%s\n' "$https" >"$dir/https-port"
dk rm -f "$old" >/dev/null 2>&1 || true
if [ -n "$pair" ]; then dk rm -f "$pair" >/dev/null 2>&1 || true; rm -f "$dir/holder-retired"; fi
echo RECREATED

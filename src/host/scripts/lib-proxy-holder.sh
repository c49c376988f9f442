# shellcheck shell=bash
# The proxy's layout (issue #18): a holder container, $holder (<network>-proxy-ports), owns the
# network namespace and the published ports and only sleeps; nginx runs in $proxy
# (<network>-proxy), which joins that namespace (--network container:<holder's ID>). Every nginx
# listens with reuseport (LISTEN_CONFIG), so a new nginx started beside the old one takes new
# connections at once, and the old one is stopped gracefully after a closing window: a
# proxy-image upgrade without a failed request. net.ipv4.tcp_migrate_req hands the connections
# still queued on the old nginx's sockets to the new one when it closes them.
# Uses $net $proxy $holder $port $https $image $dir $generation $listen (the caller's arguments).
# Included before this: lib-docker.sh.

now_ms() { date +%s%3N; }

# The -p options of the holder (publish_args).
publish=()

# The HTTPS port given, or the one recorded when an earlier deploy made the proxy so.
publish_args() {
  if [ -z "$https" ] && [ -f "$dir/https-port" ]; then https=$(cat "$dir/https-port"); fi
  publish=(-p "$port:80")
  if [ -n "$https" ]; then publish+=(-p "$https:443"); fi
}

# The listening sockets' server block, last in conf.d.
write_listener() {
  if [ -n "$listen" ]; then
    printf '%s\n' "$listen" >"$dir/conf.d/~bluegreen-listen.conf.next"
    mv -f "$dir/conf.d/~bluegreen-listen.conf.next" "$dir/conf.d/~bluegreen-listen.conf"
  fi
}

# Creates (not starts) the holder $1 with the ports of publish_args. A kernel before 5.14 has no
# tcp_migrate_req: the holder is made without it (a handover may then reset a queued connection).
create_holder() {
  local out
  dk rm -f "$1" >/dev/null 2>&1 || true
  if out=$(dk create --name "$1" --init --network "$net" "${publish[@]}" --sysctl net.ipv4.tcp_migrate_req=1 \
      --restart unless-stopped --label bluegreen.role=proxy-ports --entrypoint /bin/sleep "$image" 2147483647 2>&1); then
    return 0
  fi
  dk rm -f "$1" >/dev/null 2>&1 || true
  if out=$(dk create --name "$1" --init --network "$net" "${publish[@]}" \
      --restart unless-stopped --label bluegreen.role=proxy-ports --entrypoint /bin/sleep "$image" 2147483647 2>&1); then
    echo "proxy holder without net.ipv4.tcp_migrate_req (kernel before 5.14?)"
    return 0
  fi
  printf 'FAILED could not create the proxy holder %s: %s\n' "$1" "$out" | tr '\n' ' '; echo
  return 1
}

# Creates (not starts) the nginx container $1 in the namespace of the holder whose ID is $2.
create_nginx() {
  local out
  dk rm -f "$1" >/dev/null 2>&1 || true
  if ! out=$(dk create --name "$1" --network "container:$2" --restart unless-stopped --label bluegreen.role=proxy \
      --label "bluegreen.proxy-generation=$generation" -v "$dir/conf.d:/etc/nginx/conf.d:ro" "$image" 2>&1); then
    dk rm -f "$1" >/dev/null 2>&1 || true
    printf 'FAILED could not create the proxy %s: %s\n' "$1" "$out" | tr '\n' ' '; echo
    return 1
  fi
}

# nginx in $1 has its sockets: it writes its pid file once it listens. Fails when the container
# stopped (a config or image it refuses) or after 15 s.
nginx_listens() {
  local _
  for _ in $(seq 1 150); do
    [ "$(dk container inspect -f '{{.State.Status}}' "$1" 2>/dev/null)" = running ] || return 1
    # shellcheck disable=SC2016 # expanded by the shell in the container
    if dkt 10 exec "$1" sh -c 'for f in /var/run/nginx.pid /run/nginx.pid /tmp/nginx.pid; do [ -s "$f" ] && exit 0; done; exit 1' 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Gracefully stops the nginx in $1 (QUIT: it stops accepting, finishes the requests in flight),
# for up to $2 seconds, then TERM.
quit_nginx() {
  dk kill -s QUIT "$1" >/dev/null 2>&1 || true
  if ! dkt "$2" wait "$1" >/dev/null 2>&1; then
    dk kill -s TERM "$1" >/dev/null 2>&1 || true
    dkt 10 wait "$1" >/dev/null 2>&1 || dk kill "$1" >/dev/null 2>&1 || true
  fi
}

# The name of a service whose canary runs on this proxy (its log is in the nginx container's
# /tmp, which a handover would lose), or nothing.
canary_running() {
  local on
  for on in "$dir"/conf.d/bluegreen/canary/*/on; do
    if [ -e "$on" ]; then basename "$(dirname "$on")"; return 0; fi
  done
}

# The handover ($1: why): a new nginx of $image beside the running one, in the holder's
# namespace; the names swap (scripts keep reaching <network>-proxy), the old one closes its
# keep-alive connections for $closing seconds (2), then stops gracefully (up to $grace seconds, 60,
# for the requests in flight).
handover() {
  local hid=$2 running t0 log
  running=$(canary_running)
  if [ -n "$running" ]; then
    echo "proxy upgrade postponed ($1): the canary of $running runs in it; the next deploy upgrades it"
    return 0
  fi
  t0=$(now_ms)
  create_nginx "$proxy-next" "$hid" || exit 3
  if ! dk start "$proxy-next" >/dev/null 2>&1 || ! nginx_listens "$proxy-next"; then
    log=$(dkt 10 logs --tail 20 "$proxy-next" 2>&1 | tr '\n' ' ')
    dk rm -f "$proxy-next" >/dev/null 2>&1 || true
    echo "FAILED the new proxy ($image) did not start; the old one still serves: $log"
    exit 3
  fi
  dk update --restart no "$proxy" >/dev/null
  dk rm -f "$proxy-old" >/dev/null 2>&1 || true
  dk rename "$proxy" "$proxy-old"
  dk rename "$proxy-next" "$proxy"
  dkt 10 exec "$proxy-old" touch /tmp/bluegreen-closing >/dev/null 2>&1 || true
  sleep "${closing:-2}"
  quit_nginx "$proxy-old" "${grace:-60}"
  dk rm -f "$proxy-old" >/dev/null 2>&1 || true
  echo "proxy upgraded ($1) by a handover, without a gap: $(( $(now_ms) - t0 )) ms"
}

# Replaces the proxy, whatever its layout, by a holder with the ports of publish_args and an
# nginx in it: new ports need a new namespace, so there is a gap. Everything is prepared first
# (both containers created, the image on the host, the config tested); then the old nginx gets
# QUIT (up to $gap_grace seconds, 5 by default: the gap lasts that long), the old holder (if any)
# stops, and the new ones start. Prints STOPPED, STARTED and
# GAP <ms> (from QUIT until the new nginx answered on $port). Anything that fails before the old
# proxy stops changes nothing; after it, the old one is started again.
recreate_in_holder() {
  local oldholder='' hid out t0
  publish_args
  write_listener
  if dk container inspect "$holder" >/dev/null 2>&1; then oldholder=$holder; fi
  create_holder "$holder-next" || exit 3
  hid=$(dk container inspect -f '{{.Id}}' "$holder-next")
  create_nginx "$proxy-next" "$hid" || { dk rm -f "$holder-next" >/dev/null 2>&1; exit 3; }
  if ! out=$(dkt 30 exec "$proxy" nginx -t 2>&1); then
    dk rm -f "$proxy-next" "$holder-next" >/dev/null 2>&1 || true
    printf 'FAILED nginx -t: %s\n' "$out" | tr '\n' ' '; echo; exit 3
  fi
  # Off the gap: no restart policy brings the old ones back once they exit, and the names swap
  # while they still serve (Docker renames a running container).
  dk rm -f "$proxy-old" "$holder-old" >/dev/null 2>&1 || true
  dk update --restart no "$proxy" >/dev/null
  dk rename "$proxy" "$proxy-old"
  dk rename "$proxy-next" "$proxy"
  if [ -n "$oldholder" ]; then
    dk update --restart no "$holder" >/dev/null
    dk rename "$holder" "$holder-old"
  fi
  dk rename "$holder-next" "$holder"
  t0=$(now_ms)
  quit_nginx "$proxy-old" "${gap_grace:-5}"
  if [ -n "$oldholder" ]; then dk stop -t 2 "$holder-old" >/dev/null 2>&1 || true; fi
  echo "STOPPED $(( $(now_ms) - t0 ))"
  if ! out=$( { dk start "$holder" && dk start "$proxy"; } 2>&1); then
    dk rm -f "$proxy" "$holder" >/dev/null 2>&1 || true
    dk rename "$proxy-old" "$proxy"
    dk update --restart unless-stopped "$proxy" >/dev/null 2>&1 || true
    if [ -n "$oldholder" ]; then
      dk rename "$holder-old" "$holder"
      dk update --restart unless-stopped "$holder" >/dev/null 2>&1 || true
      dk start "$holder" >/dev/null 2>&1 || true
    fi
    dk start "$proxy" >/dev/null 2>&1 || true
    printf 'FAILED the new proxy did not start (the old one is back): %s\n' "$out" | tr '\n' ' '; echo; exit 3
  fi
  echo "STARTED $(( $(now_ms) - t0 ))"
  for _ in $(seq 1 200); do
    if (answers) 2>/dev/null; then break; fi
    sleep 0.02
  done
  echo "GAP $(( $(now_ms) - t0 ))"
  if [ -n "$https" ]; then printf '%s\n' "$https" >"$dir/https-port"; fi
  dk rm -f "$proxy-old" "$holder-old" >/dev/null 2>&1 || true
}

# nginx answers on the published port (Docker's port proxy alone would accept, then close).
answers() {
  local line=''
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET / HTTP/1.0\r\nHost: bluegreen-check.invalid\r\n\r\n' >&3
  IFS= read -r -t 1 line <&3 || true
  exec 3>&-
  [[ $line == HTTP/* ]]
}

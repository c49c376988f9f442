# shellcheck shell=bash
# A new proxy image without a gap (#18). Docker cannot hand a published port from one container
# to another without a gap, so the first proxy container keeps the network namespace and the
# ports for good: after an upgrade it is the holder, "$proxy-net", and the nginx that serves,
# "$proxy", runs the new image in the holder's namespace (--network container:<holder's ID>).
# Every proxy listens with SO_REUSEPORT (~listen.conf), so old and new nginx serve side by side
# for a moment; then the old one stops listening and finishes its requests in flight.
#
# The holder's nginx is retired by a reload with a main config that has no server, while the
# nginx.conf on disk stays the serving one. So a holder that starts again (a reboot, a daemon
# restart) serves by itself, whether or not its partner won the start race (moby#50326: a
# container whose network container is not running yet fails to start, for good). The next deploy
# puts the partner back in the holder's namespace and retires the holder again (repair_pair).
# Expects $proxy $image $dir $grace. Included before this: lib-docker.sh lib-proxy-reload.sh.
# shellcheck disable=SC2154 # those four are set by the script that includes this file

holder_name() { printf '%s-net' "$proxy"; }
# (docker inspect -f prints an empty line for a container that does not exist.)
state_of() { local s; s=$(dk container inspect -f '{{.State.Status}}' "$1" 2>/dev/null) || s=missing; echo "$s"; }
started_at() { dk container inspect -f '{{.State.StartedAt}}' "$1" 2>/dev/null; }
# The holder's start time when its nginx was retired: unchanged, it still serves nothing.
retired_mark() { cat "$dir/holder-retired" 2>/dev/null || true; }

# Sockets listening on port 80 (hex 0050, state 0A) in the network namespace of container $1.
listeners() {
  # shellcheck disable=SC2016 # awk's own fields
  dkt 10 exec "$1" awk 'FNR > 1 && $4 == "0A" && $2 ~ /:0050$/ { n++ } END { print n + 0 }' /proc/net/tcp 2>/dev/null || echo 0
}

# Until the namespace of $1 has more than $2 listening sockets, for up to 10 s.
wait_listeners_above() {
  for _ in $(seq 1 100); do
    [ "$(listeners "$1")" -gt "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# A reload signal to PID 1 of container $1, sent from inside: `docker kill -s HUP` would mark the
# container as stopped by hand, and a restart policy of unless-stopped would then leave it down
# after a daemon restart.
hup() { dkt 10 exec "$1" sh -c 'kill -HUP 1' >/dev/null; }

# A graceful reload of the nginx that is PID 1 of $1 with a main config that has no server: it
# stops listening, and its old workers finish their requests. The nginx.conf on disk is put back
# once nginx has read the other one (nginx then writes the pid file that config names).
retire_nginx() {
  local c=$1 pid taken=''
  pid=/tmp/bluegreen-retired-$(date +%s%N).pid
  if [ "$(dkt 10 exec "$c" cat /proc/1/comm 2>/dev/null)" != nginx ]; then
    echo "FAILED the main process of $c is not nginx, so it cannot be retired in place"; return 3
  fi
  # shellcheck disable=SC2016 # expanded by the shell in the container
  printf '# Written by the bluegreen deploy action: this nginx serves nothing (lib-proxy-pair.sh).\npid %s;\nevents {}\n' "$pid" |
    dkt 10 exec -i "$c" sh -c 'c=/etc/nginx/nginx.conf; [ -f "$c.bluegreen-serving" ] || cp -p "$c" "$c.bluegreen-serving"; cat >"$c.retired" && mv -f "$c.retired" "$c"' ||
    { echo "FAILED could not write the nginx.conf of $c"; return 3; }
  hup "$c"
  for _ in $(seq 1 100); do
    if dkt 10 exec "$c" test -f "$pid" 2>/dev/null; then taken=yes; break; fi
    sleep 0.1
  done
  # shellcheck disable=SC2016
  dkt 10 exec "$c" sh -c 'c=/etc/nginx/nginx.conf; mv -f "$c.bluegreen-serving" "$c"' >/dev/null 2>&1 || true
  [ -n "$taken" ] || { echo "FAILED nginx in $c did not take a config without servers"; return 3; }
}

# Connections that a closing listener has queued but not accepted move to the other listeners
# instead of being reset (Linux 5.14 and later, per network namespace). A proxy made before this
# version lacks it: a one-off container in its namespace sets it, with NET_ADMIN and a writable
# /proc/sys (systempaths=unconfined; --privileged is refused by some engines).
ensure_migrate() {
  local c=$1 now id
  now=$(dkt 10 exec "$c" cat /proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null) || return 0
  [ "$now" = 1 ] && return 0
  id=$(dk container inspect -f '{{.Id}}' "$c")
  if ! dkt 60 run --rm --cap-add NET_ADMIN --security-opt systempaths=unconfined --network "container:$id" --entrypoint sh "$image" \
      -c 'echo 1 >/proc/sys/net/ipv4/tcp_migrate_req' >/dev/null 2>&1; then
    echo "proxy: could not set net.ipv4.tcp_migrate_req in its namespace: a connection queued at the handover may be reset"
  fi
}

# The partner is gone for good: the holder is the proxy again, serving by its own config.
collapse_pair() {
  local holder; holder=$(holder_name)
  dk rm -f "$proxy" >/dev/null 2>&1 || true
  dk rename "$holder" "$proxy"
  dkt 10 exec "$proxy" rm -f /tmp/bluegreen-closing >/dev/null 2>&1 || true
  rm -f "$dir/holder-retired"
  echo "proxy: $proxy serves alone again ($1)"
}

# Puts a pair back as the upgrade left it: the holder running with nginx retired, the partner
# running in the holder's namespace. Nothing to do, and quick, when that is already so.
repair_pair() {
  local holder state partner ns_h ns_p before joined
  holder=$(holder_name)
  state=$(state_of "$holder")
  [ "$state" = missing ] && return 0
  if [ "$state" != running ]; then
    dk start "$holder" >/dev/null || { echo "FAILED could not start $holder"; return 3; }
    echo "proxy: $holder started"
  fi
  partner=$(state_of "$proxy")
  if [ "$partner" = running ] && [ "$(started_at "$holder")" = "$(retired_mark)" ]; then return 0; fi
  if [ "$(started_at "$holder")" = "$(retired_mark)" ]; then
    # Retired, with no partner serving: it serves again (its config on disk) first.
    hup "$holder"
    wait_listeners_above "$holder" 0 || { echo "FAILED nginx in $holder did not serve again"; return 3; }
    rm -f "$dir/holder-retired"
  fi
  if [ "$partner" = missing ]; then collapse_pair "its partner was removed"; return 0; fi
  before=$(listeners "$holder") joined=''
  if [ "$partner" = running ]; then
    ns_h=$(dkt 10 exec "$holder" readlink /proc/1/ns/net 2>/dev/null) || ns_h=h
    ns_p=$(dkt 10 exec "$proxy" readlink /proc/1/ns/net 2>/dev/null) || ns_p=p
    # Still in the namespace the holder had before it restarted, serving no one.
    if [ "$ns_h" != "$ns_p" ]; then dkt 60 restart -t "$grace" "$proxy" >/dev/null 2>&1 && joined=yes || partner=failed; fi
  elif dkt 60 start "$proxy" >/dev/null 2>&1; then
    joined=yes
  else
    partner=failed
  fi
  if [ -n "$joined" ] && ! wait_listeners_above "$holder" "$before"; then partner=failed; fi
  if [ "$partner" = failed ]; then collapse_pair "its partner $proxy did not start"; return 0; fi
  # A holder made before --sysctl was set at creation lost the setting with its old namespace.
  ensure_migrate "$holder"
  retire_nginx "$holder" || return 3
  started_at "$holder" >"$dir/holder-retired"
  echo "proxy: $proxy serves in the namespace of $holder again"
}

# Replaces the nginx that serves with one of $image, in the same network namespace, with no gap:
# the new one listens beside it, a closing window moves keep-alive clients to new connections,
# then the old one stops listening and finishes its requests in flight. Anything that fails
# before the old one stops listening leaves the proxy as it was.
upgrade_proxy() {
  local holder old from next="$proxy-next" before out
  holder=$(holder_name)
  [ "$(state_of "$holder")" = missing ] && holder=$proxy
  old=$proxy
  from=$(dk container inspect -f '{{.Config.Image}}' "$old")
  ensure_migrate "$holder"
  # A proxy made before listen options were shared has sockets without SO_REUSEPORT: a reload
  # with ~listen.conf adds it.
  if [ "$holder" = "$old" ]; then reload_closing "$old" >/dev/null 2>&1 || { echo "FAILED nginx in $old did not reload"; return 3; }; fi
  before=$(listeners "$old")
  dk rm -f "$next" >/dev/null 2>&1 || true
  if ! out=$(dk run -d --name "$next" --network "container:$(dk container inspect -f '{{.Id}}' "$holder")" --restart unless-stopped \
      --label bluegreen.role=proxy -v "$dir/conf.d:/etc/nginx/conf.d:ro" "$image" 2>&1); then
    dk rm -f "$next" >/dev/null 2>&1 || true
    printf 'FAILED could not start a proxy of %s: %s\n' "$image" "$out" | tr '\n' ' '; echo; return 3
  fi
  if ! wait_listeners_above "$old" "$before"; then
    out=$(dkt 10 logs --tail 5 "$next" 2>&1); dk rm -f "$next" >/dev/null 2>&1 || true
    printf 'FAILED nginx of %s did not listen beside the running one: %s\n' "$image" "$out" | tr '\n' ' '; echo; return 3
  fi
  if [ "$(proxy_connections "$old")" != 0 ]; then dkt 10 exec "$old" touch /tmp/bluegreen-closing >/dev/null 2>&1 && sleep 2; fi
  if [ "$holder" = "$old" ]; then
    # Its closing flag stays: should it serve again after a restart, its answers close their
    # connections, and retiring it again needs no window.
    if ! retire_nginx "$old"; then
      # The new nginx already serves: it stops as gracefully as the old one would have.
      dkt 10 exec "$old" rm -f /tmp/bluegreen-closing >/dev/null 2>&1 || true
      quit_container "$next"
      return 3
    fi
    dk rename "$old" "$(holder_name)"
    started_at "$(holder_name)" >"$dir/holder-retired"
  else
    dk rename "$old" "$proxy-old"
  fi
  dk rename "$next" "$proxy"
  echo "proxy: $proxy now runs $image instead of $from, in the same network namespace, with no gap"
  if [ "$holder" != "$old" ]; then quit_container "$proxy-old"; fi
}

# Stops the nginx of container $1 gracefully (QUIT: it stops listening and finishes its requests
# in flight, for up to the drain timeout), then removes the container.
quit_container() {
  dk update --restart no "$1" >/dev/null 2>&1 || true
  dk kill -s QUIT "$1" >/dev/null 2>&1 || true
  dkt "$grace" wait "$1" >/dev/null 2>&1 || true
  dk rm -f "$1" >/dev/null 2>&1 || true
}

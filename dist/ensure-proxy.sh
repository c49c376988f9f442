# shellcheck shell=bash
# Makes the proxy what this deploy asks, holding the proxy's lock: the network, the shared config
# on stdin, the slot folders, and the containers of lib-proxy-holder.sh. A new proxy gets the
# holder layout. A running one is kept, except that:
#  - a proxy-image other than the running one's (or the action's proxy generation, $8) is applied
#    by a handover, without a gap (postponed while a canary runs in it);
#  - a proxy of the layout before issue #18 (nginx owning the ports) is kept until something needs
#    a new container (a new proxy-image, or the HTTPS port): it then moves to the holder layout,
#    once, with a gap of about a second (reported as GAP <ms>);
#  - an nginx whose holder is gone, stopped or restarted without it (another namespace) is made
#    again in the holder's namespace, the holder first made again if it was removed;
#  - a shared config that changed is loaded by a graceful reload after a closing window.
# A proxy made for HTTPS ($6, or the port recorded when an earlier deploy made it so) publishes
# that port on its 443 too, so a proxy removed by hand comes back serving its certificates.
# Included before this: lib-docker.sh lib-network.sh lib-markers.sh lib-proxy-lock.sh
# lib-proxy-holder.sh lib-proxy-reload.sh.
# shellcheck disable=SC2034 # read by the functions of lib-proxy-holder.sh
net=$1 proxy=$2 port=$3 image=$4 dir=$5 https=${6:-} listen=${7:-} generation=${8:-1} closing=${9:-2} grace=${10:-60}
holder="$proxy-ports"
mkdir -p "$dir/conf.d"
proxy_lock
ensure_markers
changed=''
cat >"$dir/conf.d/_common.conf.next"
if ! cmp -s "$dir/conf.d/_common.conf.next" "$dir/conf.d/_common.conf"; then changed=yes; fi
mv -f "$dir/conf.d/_common.conf.next" "$dir/conf.d/_common.conf"
ensure_network "$net"

proxy_state=$(dk container inspect -f '{{.State.Status}}|{{.HostConfig.NetworkMode}}|{{.Config.Image}}|{{.Image}}|{{index .Config.Labels "bluegreen.proxy-generation"}}|{{.State.StartedAt}}' "$proxy" 2>/dev/null) || proxy_state=missing
IFS='|' read -r status mode running_image running_id running_generation started <<<"$proxy_state"
holder_state=$(dk container inspect -f '{{.State.Status}}|{{.Id}}|{{.State.StartedAt}}|{{json .HostConfig.PortBindings}}' "$holder" 2>/dev/null) || holder_state=missing
IFS='|' read -r holder_status hid holder_started holder_ports <<<"$holder_state"
wanted_id=$(dk image inspect -f '{{.Id}}' "$image" 2>/dev/null) || wanted_id=''

# Waits for nginx in $proxy to load its config, or says why it did not.
nginx_ready() {
  local _
  for _ in $(seq 1 100); do
    if dkt 10 exec "$proxy" nginx -t >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "FAILED nginx in $proxy did not start:"; dkt 10 logs --tail 20 "$proxy" 2>&1; exit 3
}

# A holder running with the ports, made or started when needed; sets $hid.
holder_up() {
  if [ "$holder_status" = missing ]; then
    publish_args
    create_holder "$holder" || exit 3
    hid=$(dk container inspect -f '{{.Id}}' "$holder")
    dk start "$holder" >/dev/null || { echo "FAILED the proxy holder $holder did not start"; exit 3; }
    echo "proxy holder created (ports ${publish[*]})"
  elif [ "$holder_status" != running ]; then
    dk start "$holder" >/dev/null || { echo "FAILED the proxy holder $holder did not start"; exit 3; }
    echo "proxy holder started"
  fi
  holder_status=running
}

# A new nginx in the holder's namespace, in place of whatever $proxy was.
nginx_anew() {
  write_listener
  dk rm -f "$proxy" >/dev/null 2>&1 || true
  create_nginx "$proxy" "$hid" || exit 3
  if ! out=$(dk start "$proxy" 2>&1); then
    printf 'FAILED the proxy %s did not start: %s\n' "$proxy" "$out" | tr '\n' ' '; echo; exit 3
  fi
  nginx_ready
}

if [ "$status" = missing ]; then
  # A holder left from before publishes the ports asked for, or is made again.
  publish_args
  if [ "$holder_status" != missing ] && { ! grep -q "\"80/tcp\":\[{\"HostIp\":\"[^\"]*\",\"HostPort\":\"$port\"" <<<"$holder_ports" ||
      { [ -n "$https" ] && ! grep -q "\"443/tcp\":\[{\"HostIp\":\"[^\"]*\",\"HostPort\":\"$https\"" <<<"$holder_ports"; }; }; then
    dk rm -f "$holder" >/dev/null 2>&1 || true
    holder_status=missing
  fi
  holder_up
  nginx_anew
  # A handover that died between its renames left its nginx containers: they stop gracefully.
  for leftover in "$proxy-next" "$proxy-old"; do
    if dk container inspect "$leftover" >/dev/null 2>&1; then quit_nginx "$leftover" 10; dk rm -f "$leftover" >/dev/null 2>&1 || true; fi
  done
  if [ -n "${https:-}" ]; then
    printf '%s\n' "$https" >"$dir/https-port"
    echo "proxy created (HTTPS on port $https)"
  else
    echo "proxy created"
  fi
  exit 0
fi

why=''
if [ "$running_image" != "$image" ]; then
  why="proxy-image $running_image -> $image"
elif [ -n "$wanted_id" ] && [ "$wanted_id" != "$running_id" ]; then
  why="proxy-image $image: a new image under the same name"
fi

case "$mode" in
  container:*) ;;
  *)
    # The layout before issue #18: kept while nothing needs a new container.
    if [ -n "$why" ] && [ "$status" = running ]; then
      echo "proxy moved to the holder layout ($why), once, with a gap:"
      recreate_in_holder
      echo "MIGRATED"
      exit 0
    fi
    if [ -n "$why" ]; then
      dk rm -f "$proxy" >/dev/null 2>&1 || true
      holder_up
      nginx_anew
      echo "proxy made again in the holder layout ($why)"
      exit 0
    fi
    if [ "$status" != running ]; then dk start "$proxy" >/dev/null; echo "proxy started"; nginx_ready; exit 0; fi
    if [ -n "$changed" ]; then reload_closing "$proxy" "$closing" && echo "proxy reloaded (its shared config changed), after a closing window"; else echo "proxy running"; fi
    exit 0
    ;;
esac

# The holder layout. An nginx in a namespace that is not the running holder's serves nothing.
if [ "$holder_status" = missing ] || [ "${mode#container:}" != "$hid" ]; then
  echo "proxy holder gone: made again, with the nginx in it"
  holder_status=missing
  dk rm -f "$holder" >/dev/null 2>&1 || true
  holder_up
  nginx_anew
  exit 0
fi
if [ "$holder_status" != running ] || [[ $holder_started > $started ]]; then
  holder_up
  echo "proxy nginx restarted in its holder's namespace"
  dk restart -t 5 "$proxy" >/dev/null 2>&1 || nginx_anew
  nginx_ready
  exit 0
fi
if [ "$status" != running ]; then
  dk start "$proxy" >/dev/null; echo "proxy started"; nginx_ready
fi
if [ -z "$why" ] && [ "$running_generation" != "$generation" ]; then
  why="the action's proxy settings, generation ${running_generation:-none} -> $generation"
fi
if [ -n "$listen" ] && ! printf '%s\n' "$listen" | cmp -s - "$dir/conf.d/~bluegreen-listen.conf"; then changed=yes; fi
write_listener
if [ -n "$why" ]; then
  handover "$why" "$hid"
elif [ -n "$changed" ]; then
  reload_closing "$proxy" "$closing" && echo "proxy reloaded (its shared config changed), after a closing window"
else
  echo "proxy running"
fi
exit 0

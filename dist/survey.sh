# shellcheck shell=bash
# One read-only round trip for everything a deploy decides on: (first time) whether the host can
# be used at all, the service's state, its slots and which one is live, its containers, the proxy
# and its network, whether the host has the image and, when $12 is a format, every image's layers
# (list_layers: the transfer then needs no round trip of its own). stdin is this version's shared
# proxy config. Included before this: lib-docker.sh lib-preflight.sh lib-network.sh
# lib-markers.sh lib-host-layers.sh.
# shellcheck disable=SC2034 # root ($8) is lib-preflight.sh's
dir=$1 pdir=$2 service=$3 proxy=$4 port=$5 image=$6 checks=$7 root=$8 net=$9 https=${10:-} listen=${11:-} layers=${12:-}
confdir=$pdir/conf.d
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ "$checks" = yes ]; then
  preflight_start
fi
# Read the service's state holding its lock for a moment (never creating it), so the lock's
# generation dates this reading.
lock=none
if [ -e "$dir/lock" ] && exec 7<"$dir/lock" && flock -n 7; then
  lock="free $(cat "$dir/lock.generation" 2>/dev/null || echo 0)"
elif [ -e "$dir/lock" ]; then
  lock=busy
fi
# The docker reads run side by side (each is a Go program start and an API call); the lock
# stays held until the container list is in.
dk ps -a --filter "label=bluegreen.service=$service" \
  --format '{{.Names}}\t{{.State}}\t{{.Label "bluegreen.slot"}}\t{{.Label "bluegreen.image"}}\t{{.Label "bluegreen.image-id"}}\t{{.Label "bluegreen.role"}}' \
  >"$out/containers" 2>"$out/containers.err" &
containers_job=$!
# After an upgrade the ports are the holder's, "$proxy-net" (lib-proxy-pair.sh); "pair-repair"
# when the pair is not as the upgrade left it (the holder restarted, its partner not running).
proxy_line() {
  local name state ports image started line='' held='' hstate hports hstarted
  while IFS='|' read -r name state ports image started; do
    case "$name" in
      "/$proxy") line="$state|$ports|$image" ;;
      "/$proxy-net") held="$state|$ports|$started" ;;
    esac
  done < <(dk container inspect -f '{{.Name}}|{{.State.Status}}|{{json .HostConfig.PortBindings}}|{{.Config.Image}}|{{.State.StartedAt}}' \
    "$proxy" "$proxy-net" 2>/dev/null)
  if [ -z "$held" ]; then [ -z "$line" ] || echo "$line"; return 0; fi
  IFS='|' read -r hstate hports hstarted <<<"$held"
  if [ -z "$line" ]; then
    echo "$hstate|$hports|"; echo pair-repair
  else
    echo "${line%%|*}|$hports|${line##*|}"
    if [ "${line%%|*}" != running ] || [ "$hstate" != running ] || [ "$hstarted" != "$(cat "$pdir/holder-retired" 2>/dev/null)" ]; then echo pair-repair; fi
  fi
}
proxy_line >"$out/proxy" 7<&- &
proxy_job=$!
# An image the host lacks leaves the file empty: the docker CLI (20.10 at least) still prints a
# blank line for it, which would read as "has the image" below and drop the layer listing.
if [ -n "$image" ]; then dk image inspect --format '{{json .}}' "$image" >"$out/image" 2>/dev/null || : >"$out/image"; fi 7<&- &
image_job=$!
network_mode "$net" >"$out/network" 7<&- &
network_job=$!
layers_job=''
if [ -n "$layers" ]; then
  list_layers "$layers" >"$out/layers" 2>/dev/null 7<&- &
  layers_job=$!
fi
if [ "$checks" = yes ]; then
  preflight_finish
fi
echo "--lock"; echo "$lock"
echo "--state"; cat "$dir/state.json" 2>/dev/null || true; echo
dir=$pdir
echo "--live"; marked_slot "$service"
echo "--slots"
for slot in blue green; do
  if [ -f "$pdir/routes/$service.$slot.json" ]; then printf '%s %s\n' "$slot" "$(head -n 1 "$pdir/routes/$service.$slot.json")"; fi
done
echo "--addresses"
if [ -f "$pdir/addresses" ]; then awk -v s="$service" '$2 == s {print $3, $4, $1}' "$pdir/addresses"; fi
echo "--conf"
if [ -f "$confdir/$service.conf" ]; then sha256sum <"$confdir/$service.conf" | cut -c1-64; fi
echo "--route"; head -n 1 "$confdir/$service.conf" 2>/dev/null || true; echo
echo "--containers"
if ! wait "$containers_job"; then cat "$out/containers.err" >&2; echo "docker ps on the host failed or did not answer in time" >&2; exit 1; fi
cat "$out/containers"
exec 7<&- 2>/dev/null || true
echo "--network"
wait "$network_job" || true
cat "$out/network"
echo "--proxy"
wait "$proxy_job"
if [ -s "$out/proxy" ]; then
  echo "proxy $(head -n 1 "$out/proxy")"
  tail -n +2 "$out/proxy"
else
  echo "proxy missing"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port-busy"; fi
fi
# The HTTPS port a proxy without it would publish: taken by something else, it refuses the deploy.
if [ -n "$https" ] && ! grep -q '"443/tcp":\[{' "$out/proxy" 2>/dev/null; then
  if (exec 3<>"/dev/tcp/127.0.0.1/$https") 2>/dev/null; then echo "https-busy"; fi
fi
# stdin is this version's shared proxy config: when the running proxy has it, nothing needs doing.
# $listen, the listen options, likewise.
if cmp -s - "$confdir/_common.conf" 2>/dev/null && printf '%s' "$listen" | cmp -s - "$confdir/~listen.conf" 2>/dev/null; then
  echo "common-current"
fi
for f in "$confdir"/*.conf; do
  [ -f "$f" ] || continue
  other=$(basename "$f" .conf)
  case "$other" in "$service"|_common|"~listen") continue ;; esac
  printf 'names %s %s\n' "$other" "$(sed -n 's/^ *server_name \(.*\);$/\1/p' "$f" | head -n 1)"
done
echo "--image"
wait "$image_job"
cat "$out/image" 2>/dev/null || true
# The listing is for a transfer: a host that has the image under that name most likely needs
# none, so it is not waited for (on a host of thousands of images it takes seconds); should the
# image differ after all, the transfer lists the layers itself. So it does after a listing that
# failed, which is left out.
if [ -n "$layers_job" ] && [ -s "$out/image" ]; then
  pkill -TERM -P "$layers_job" 2>/dev/null || true
  kill "$layers_job" 2>/dev/null || true
elif [ -n "$layers_job" ] && wait "$layers_job"; then
  echo "--layers"
  cat "$out/layers"
fi

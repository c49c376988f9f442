# shellcheck shell=bash
# One read-only round trip for everything a deploy decides on: (first time) whether the host can
# be used at all, the service's state, its route, its containers, the proxy, and whether the host
# has the image. stdin is this version's shared proxy config. Included before this:
# lib-preflight.sh.
dir=$1 confdir=$2 service=$3 proxy=$4 port=$5 image=$6 checks=$7 root=$8
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
docker ps -a --filter "label=bluegreen.service=$service" \
  --format '{{.Names}}\t{{.State}}\t{{.Label "bluegreen.slot"}}\t{{.Label "bluegreen.image"}}\t{{.Label "bluegreen.image-id"}}' \
  >"$out/containers" 2>"$out/containers.err" &
containers_job=$!
docker container inspect -f '{{.State.Status}}|{{json .HostConfig.PortBindings}}|{{.Config.Image}}' "$proxy" \
  >"$out/proxy" 2>/dev/null 7<&- &
proxy_job=$!
if [ -n "$image" ]; then docker image inspect --format '{{json .}}' "$image" >"$out/image" 2>/dev/null || true; fi 7<&- &
image_job=$!
if [ "$checks" = yes ]; then
  preflight_finish
fi
echo "--lock"; echo "$lock"
echo "--state"; cat "$dir/state.json" 2>/dev/null || true; echo
echo "--route"; head -n 1 "$confdir/$service.conf" 2>/dev/null || true; echo
echo "--containers"
wait "$containers_job" || { cat "$out/containers.err" >&2; exit 1; }
cat "$out/containers"
exec 7<&- 2>/dev/null || true
echo "--proxy"
if wait "$proxy_job"; then
  echo "proxy $(cat "$out/proxy")"
else
  echo "proxy missing"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port-busy"; fi
fi
# stdin is this version's shared proxy config: when the running proxy has it, nothing needs doing.
if cmp -s - "$confdir/_common.conf" 2>/dev/null; then echo "common-current"; fi
for f in "$confdir"/*.conf; do
  [ -f "$f" ] || continue
  case "$(basename "$f")" in "$service.conf"|_common.conf) continue ;; esac
  printf 'route %s\n' "$(head -n 1 "$f")"
done
echo "--image"
wait "$image_job"
cat "$out/image" 2>/dev/null || true

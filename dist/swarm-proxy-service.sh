# shellcheck shell=bash
# The proxy as a global service: one nginx task on every node, publishing proxy-port on the node
# itself (mode=host: no routing mesh in between), with the node's own copy of the config folder
# mounted read-only. Created once; a deploy never updates it, for an update restarts every task.
# The image is named by ID, which no node tries to pull. Included before this:
# lib-lock-guard.sh lib-docker.sh.
name=$1 net=$2 port=$3 image=$4 confdir=$5
if dk service inspect "$name" >/dev/null 2>&1; then echo "proxy service $name exists"; exit 0; fi
if ! out=$(dk service create --detach --name "$name" --mode global --network "$net" \
    --publish "mode=host,target=80,published=$port" \
    --mount "type=bind,source=$confdir,target=/etc/nginx/conf.d,readonly" \
    --label bluegreen.role=proxy --container-label bluegreen.role=proxy \
    --no-resolve-image "$image" 2>&1); then
  # Another service's first deploy on this network may have made it a moment ago.
  if dk service inspect "$name" >/dev/null 2>&1; then echo "proxy service $name exists"; exit 0; fi
  printf 'FAILED %s\n' "$out" | tr '\n' ' '; echo; exit 3
fi
echo "proxy service $name created (global, port $port published on every node)"

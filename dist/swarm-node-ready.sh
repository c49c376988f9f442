# shellcheck shell=bash
# On one node (it changes nothing): from inside the node's proxy task, until $timeout seconds have passed,
# Docker's DNS must give exactly the new service's task addresses ($want, one per line) for
# tasks.<service>, and each of them must answer the health path with 2xx or 3xx: what this node's
# nginx will reach once the symlink points there. One docker exec for the whole wait; the loop
# runs in the proxy (in-proxy-ready.sh), which ends on its own by its deadline. A cancelled run
# ends this step at once (lib-steps.sh). Included before this: lib-lock-guard.sh lib-steps.sh
# lib-docker.sh lib-runtime.sh lib-swarm.sh.
proxy=$1 name=$2 port=$3 path=$4 want=$5 timeout=$6 probe=$7 ready=$8
start=$SECONDS child=''
register_step ready
trap 'if [ -n "$child" ]; then kill "$child" 2>/dev/null || true; fi; unregister_step ready' EXIT
trap 'exit 143' TERM
c=$(wait_proxy "$proxy" "$timeout")
if [ -z "$c" ]; then echo "NOTREADY no proxy task runs on this node"; exit 4; fi
left=$(( timeout - (SECONDS - start) ))
[ "$left" -ge 1 ] || left=1
timeout --kill-after=5 "$((left + 10))" docker exec "$c" sh -c "$ready" sh "$probe" "$name" "$port" "$path" "$(lines "$want" | tr '\n' ' ')" "$left" &
child=$!
code=0
wait "$child" || code=$?
child=''
exit "$code"

# shellcheck shell=bash
# A Swarm's proxy runs as a service with a task on every node: on a node, its container is found
# by the service's name, which Swarm puts on each task's container as a label. Needs lib-docker.sh.
# Prints the running proxy task's container ID on this node, or nothing.
local_proxy() {
  dk ps -q --filter "label=com.docker.swarm.service.name=$1" --filter status=running | awk 'NR == 1'
}
# Waits up to $2 seconds for this node's proxy task ($1) to run with a config nginx accepts;
# prints its container ID, or nothing when none came.
wait_proxy() {
  local c end=$((SECONDS + $2))
  while :; do
    c=$(local_proxy "$1")
    if [ -n "$c" ] && dkt 10 exec "$c" nginx -t >/dev/null 2>&1; then echo "$c"; return 0; fi
    [ "$SECONDS" -lt "$end" ] || return 0
    sleep 0.3
  done
}

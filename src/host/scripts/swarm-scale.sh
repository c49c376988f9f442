# shellcheck shell=bash
# Scales a slot's service ($2 tasks; its spec stays, for an instant rollback), or removes it
# ($2 = remove). Returns at once: Swarm stops the tasks with their grace period.
# Included before this: lib-lock-guard.sh lib-docker.sh.
name=$1 replicas=$2
if ! dk service inspect "$name" >/dev/null 2>&1; then echo "MISSING $name"; exit 0; fi
if [ "$replicas" = remove ]; then
  dk service rm "$name" >/dev/null
  echo "REMOVED $name"
else
  dk service scale --detach "$name=$replicas" >/dev/null
  echo "SCALED $name $replicas"
fi

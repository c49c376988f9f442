# shellcheck shell=bash
# Removes a container of this run's (a candidate that failed, a stray in the idle slot), only
# while the lock is this run's: after another deploy took it, that name may be its container.
# Included before this: lib-lock-guard.sh lib-docker.sh.
code=0
dkt 15 rm -f "$1" >/dev/null 2>&1 || code=$?
if [ "$code" != 0 ]; then echo "docker rm $1 failed: $(docker_said "$code")" >&2; exit 1; fi

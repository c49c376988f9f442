# shellcheck shell=bash
# Removes containers of this run's (a candidate that failed and its workers, strays in the idle
# slot), only while the lock is this run's: after another deploy took it, those names may be its
# containers. Included before this: lib-lock-guard.sh lib-docker.sh.
[ $# -gt 0 ] || exit 0
code=0
dkt 15 rm -f "$@" >/dev/null 2>&1 || code=$?
if [ "$code" != 0 ]; then echo "docker rm $* failed: $(docker_said "$code")" >&2; exit 1; fi

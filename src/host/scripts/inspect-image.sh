# shellcheck shell=bash
# The host's `docker image inspect` of $1 as JSON, or nothing when the host has no such image.
# Bounded (dk): an engine that does not answer exits 3, saying so, rather than passing for an
# image that is missing. Included before this: lib-docker.sh.
code=0
dk image inspect --format '{{json .}}' "$1" 2>/dev/null || code=$?
if [ "$code" = 124 ] || [ "$code" = 137 ]; then docker_said "$code" >&2; exit 3; fi
exit 0

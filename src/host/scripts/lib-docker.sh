# shellcheck shell=bash
# Every docker call on the host is bounded in time: a hung dockerd (frozen, swapping, stuck on a
# storage driver) must end a step with a message, not hold the job for GitHub's six hours.
# dk: $BG_DOCKER_SECONDS (60 s) at most; dkt: the seconds given first. Exit 124 means no answer.
dkt() {
  local limit=$1
  shift
  timeout --kill-after=5 "$limit" docker "$@"
}
dk() { dkt "${BG_DOCKER_SECONDS:-60}" "$@"; }
# Says what a docker command that returned $1 means, for a FAIL line.
docker_said() {
  if [ "$1" = 124 ] || [ "$1" = 137 ]; then echo "the host's Docker engine did not answer in time"; else echo "exit $1"; fi
}

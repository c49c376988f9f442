# shellcheck shell=bash
# One `docker image inspect` over every image on the host ($1 is the format): which layer chains
# it holds, and which store. docker info names the containerd store's snapshotter as its driver
# type (Docker 24 to 29; image inspect shows an OCI descriptor only from Docker 28 on). Under
# pipefail a reader that stops early (head, grep -q) fails the pipe with its writer's SIGPIPE once
# the output outgrows the pipe's buffer, as it does on a host with many images: every reader here
# reads to the end.
exec 8< <(docker info --format '{{json .DriverStatus}}' 2>/dev/null || true)
ids=$(docker image ls -aq --no-trunc | sort -u)
if [ -n "$ids" ]; then printf '%s\n' "$ids" | xargs docker image inspect --format "$1"; fi
if grep 'io.containerd.snapshotter' <&8 >/dev/null; then echo "store containerd"; fi

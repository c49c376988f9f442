# shellcheck shell=bash
# list_layers FORMAT: one `docker image inspect` over every image on the host (FORMAT is the
# format): which layer chains it holds, and a last line "store containerd" on that store. docker
# info names the containerd store's snapshotter as its driver type (Docker 24 to 29; image
# inspect shows an OCI descriptor only from Docker 28 on). Under pipefail a reader that stops
# early (head, grep -q) fails the pipe with its writer's SIGPIPE once the output outgrows the
# pipe's buffer, as it does on a host with many images: every reader here reads to the end.
# Every docker call is bounded (dk): a hung engine fails the listing (exit 1), saying so on stderr.
# Needs lib-docker.sh.
list_layers() {
  local listed code=0 i ids
  exec 8< <(dk info --format '{{json .DriverStatus}}' 2>/dev/null || true)
  listed=$(dk image ls -aq --no-trunc) || code=$?
  if [ "$code" != 0 ]; then echo "docker image ls: $(docker_said "$code")" >&2; return 1; fi
  mapfile -t ids < <(printf '%s\n' "$listed" | sed '/^$/d' | sort -u)
  # In batches, as xargs would: a host may hold more images than one command line takes.
  for ((i = 0; i < ${#ids[@]}; i += 500)); do
    dk image inspect --format "$1" "${ids[@]:i:500}" || code=$?
    if [ "$code" != 0 ]; then echo "docker image inspect: $(docker_said "$code")" >&2; return 1; fi
  done
  if grep 'io.containerd.snapshotter' <&8 >/dev/null; then echo "store containerd"; fi
  exec 8<&-
}

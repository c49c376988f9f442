# shellcheck shell=bash
# Read-only checks that turn a host the action cannot use into one clear message, before anything
# on it changes: they print `problem ...` and exit when the host cannot be used; `$root` is the
# state root and `$out` a temp dir. The start only launches `docker version` (a Go program and an
# API call, ~25 ms), so that the survey's own docker reads run beside it; the finish waits for it.
# Bounded (dk, lib-docker.sh): a hung engine is reported as such, not waited on for ever.
preflight_start() {
  command -v docker >/dev/null 2>&1 || { echo "problem no-docker"; exit 0; }
  command -v flock >/dev/null 2>&1 || { echo "problem no-flock"; exit 0; }
  dk version --format '{{.Server.Version}} {{.Server.Os}} {{.Server.Arch}}' >"$out/version" 2>&1 &
  version_job=$!
}
preflight_finish() {
  local writable f state code=0
  wait "$version_job" || code=$?
  if [ "$code" = 124 ] || [ "$code" = 137 ]; then echo "problem docker-timeout ${BG_DOCKER_SECONDS:-60}"; exit 0; fi
  if [ "$code" != 0 ]; then
    printf 'problem docker-error %s\n' "$(tr '\n' ' ' <"$out/version" | cut -c1-400)"; exit 0
  fi
  echo "docker $(cat "$out/version")"
  if [ -e "$root" ]; then writable=$root; else writable=$(dirname "$root"); fi
  if ! [ -d "$writable" ] || ! [ -w "$writable" ]; then echo "problem state-dir"; exit 0; fi
  if command -v zstd >/dev/null 2>&1; then echo "tool zstd"; fi
  for f in /proc/sys/fs/binfmt_misc/qemu-*; do
    if [ -r "$f" ] && read -r state <"$f" && [ "$state" = enabled ]; then echo "emulates ${f##*/qemu-}"; fi
  done
  echo "user $(id -un)"
  # The kernel's boot ID: the runner's own when both run on one machine (transfer/link.ts).
  echo "boot $(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)"
}

# shellcheck shell=bash
# docker load of the archive on stdin, unpacked by Docker itself or by $1 first (zstd, gzip).
# Registered as a step (lib-steps.sh): the lock session ends it if the runner is lost, for a
# dead stream never ends on its own, and so does a cancel. Included before this:
# lib-lock-guard.sh lib-steps.sh.
unpack=$1
register_step load
case "$unpack" in
  zstd) exec docker load < <(zstd -dc) ;;
  gzip) exec docker load < <(gzip -dc) ;;
  *) exec docker load ;;
esac

# shellcheck shell=bash
# docker load of the archive on stdin, unpacked by Docker itself or by $1 first (zstd, gzip).
# Its PID is listed for the lock session, which ends it if the runner is lost: a dead stream
# never ends on its own. Included before this: lib-lock-guard.sh.
unpack=$1
printf '%s\n' "$$" >>"$bg_lockdir/run.$bg_generation.pids"
case "$unpack" in
  zstd) exec docker load < <(zstd -dc) ;;
  gzip) exec docker load < <(gzip -dc) ;;
  *) exec docker load ;;
esac

# shellcheck shell=bash
# Stops the old slot's workers once the new ones run: SIGTERM and each one's stop timeout, then
# removes them. $1 bounds the whole wait; the names follow. Included before this:
# lib-lock-guard.sh lib-docker.sh.
limit=$1
shift
[ $# -gt 0 ] || exit 0
dkt "$limit" stop "$@" >/dev/null 2>&1 || true
dkt 30 rm -f "$@" >/dev/null 2>&1 || true

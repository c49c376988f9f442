# shellcheck shell=bash
# The runner was cancelled: the health check of this run stops at its next attempt and the
# launch step exits without switching. Included before this: lib-lock-guard.sh.
: >"$bg_lockdir/cancel.$bg_generation"

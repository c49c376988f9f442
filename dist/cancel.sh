# shellcheck shell=bash
# The runner was cancelled: a health check of this run stops at its next attempt (the cancel
# file), and the run's long steps end now (lib-steps.sh). Included before this:
# lib-lock-guard.sh lib-steps.sh.
: >"$bg_lockdir/cancel.$bg_generation"
end_steps "$bg_lockdir" "$bg_generation"

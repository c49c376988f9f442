# shellcheck shell=bash
# A step that changes the host runs only while the deploy lock is this run's: still held (a
# non-blocking flock fails) and the last one taken (its generation). A run that lost the lock
# (its runner paused or cut off longer than the heartbeat grace, another deploy since) stops
# here, changing nothing: exit 7. $bg_lockdir and $bg_generation come first in the arguments.
hold_lock() {
  local now
  now=$(cat "$bg_lockdir/lock.generation" 2>/dev/null || true)
  if [ -z "$bg_generation" ]; then
    echo "LOST-LOCK this run holds no lock" >&2; exit 7
  elif [ "$now" != "$bg_generation" ]; then
    echo "LOST-LOCK another deploy has taken it since" >&2; exit 7
  elif flock -n "$bg_lockdir/lock" true 2>/dev/null; then
    echo "LOST-LOCK the host ended this run's lock session" >&2; exit 7
  fi
}

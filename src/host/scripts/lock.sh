# shellcheck shell=bash
# The deploy lock: an flock held by this bash, which lives exactly as long as the run's SSH
# channel (on a connection of its own, so the image stream cannot starve its heartbeats). The
# channel opens while the read-only checks run and waits for "go", so taking the lock costs one
# line, not a new session; without "go" (checks failed) it exits having touched nothing. Once
# locked it reads heartbeats. The runner ends it by closing the channel (EOF). After $grace
# seconds without a heartbeat the runner is lost (paused, cut off without a FIN): the lock goes,
# and so do the run's remote steps that would otherwise live on (a docker load reading a dead
# stream stayed for 45 minutes): lib-steps.sh, included before this.
dir=$1 timeout=$2 holder=$3 grace=$4
IFS= read -r go || exit 0
[ "$go" = go ] || exit 0
mkdir -p "$dir"
exec 9>>"$dir/lock"
# Another run's read-only survey holds the lock for a moment too; only a wait longer than that
# is another deploy, worth a word.
quiet=0 rest=0
if [ "$timeout" -ge 1 ]; then quiet=0.5 rest="$((timeout - 1)).5"; fi
if ! flock -w "$quiet" 9; then
  printf 'WAITING %s\n' "$(cat "$dir/lock.holder" 2>/dev/null || echo unknown)"
  if ! flock -w "$rest" 9; then
    printf 'TIMEOUT %s\n' "$(cat "$dir/lock.holder" 2>/dev/null || echo unknown)"
    exit 75
  fi
fi
printf '%s\n' "$holder" > "$dir/lock.holder"
generation=$(( $(cat "$dir/lock.generation" 2>/dev/null || echo 0) + 1 ))
echo "$generation" > "$dir/lock.generation"
rm -f "$dir"/run.*.pid "$dir"/cancel.*
echo "LOCKED $generation"
rc=0
while :; do
  IFS= read -r -t "$grace" _ || { rc=$?; break; }
done
if [ "$rc" -gt 128 ]; then end_steps "$dir" "$generation"; fi
rm -f "$dir"/run."$generation".*.pid

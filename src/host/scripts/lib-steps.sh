# shellcheck shell=bash
# The run's long steps on the host (launch, release, workers, load) leave their PID in the lock's
# folder, one file each, so that a cancelled run, or the lock session of a run that was lost,
# can end them at once instead of waiting for a health check or a dead stream to time out. A PID
# is only signalled while its command line is still one of ours (bash -c ... bluegreen, or the
# docker load a load step became): a PID the kernel has reused since is left alone.
step_file() { echo "$1/run.$2.$3.pid"; }
# Registers this shell as step $1 of the run ($bg_lockdir, $bg_generation: a guarded script's).
# shellcheck disable=SC2154
register_step() { echo "$$" >"$(step_file "$bg_lockdir" "$bg_generation" "$1")"; }
# shellcheck disable=SC2154
unregister_step() { rm -f "$(step_file "$bg_lockdir" "$bg_generation" "$1")"; }
# Ends every registered step of generation $2 in lock folder $1: TERM for our scripts (their
# traps clean up), KILL for docker load (the CLI catches TERM and keeps reading a stdin that
# never ends).
end_steps() {
  local file pid line
  for file in "$1"/run."$2".*.pid; do
    [ -f "$file" ] || continue
    pid=$(cat "$file" 2>/dev/null || true)
    line=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    case "$line" in
      "docker load"*) pkill -KILL -P "$pid" 2>/dev/null || true; kill -KILL "$pid" 2>/dev/null || true ;;
      *bluegreen*) kill -TERM "$pid" 2>/dev/null || true ;;
    esac
    rm -f "$file"
  done
}

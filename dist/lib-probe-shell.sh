# shellcheck shell=bash
# A shell inside the proxy that stays open for the whole check: one docker exec (~70 ms here, the
# slow part of a probe) instead of one per attempt, and the launch step opens it while docker run
# starts the candidate. Needs $proxy, $probe (in-proxy-probe.sh) and the array $probe_env
# (more -e NAME=value for the shell) set. Each command sent ends with a "__done CODE" line, so
# shell_read knows where its output stops. The including script ignores SIGPIPE (trap '' PIPE):
# writes to a shell that died must fail, not kill the step.
probe_open() {
  coproc PROBE { exec docker exec -i -e "BG_PROBE=$probe" "${probe_env[@]}" "$proxy" sh 2>&1; }
}
# SIGKILL: a docker CLI waiting on a Docker engine that stopped answering may sit out a TERM,
# and the shell in the proxy ends on its own once its stdin closes.
probe_close() {
  local pid=${PROBE_PID:-}
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
}
# Sends one command line to the shell; fails when the shell is gone.
shell_send() {
  local w=${PROBE[1]:-}
  [ -n "$w" ] && printf '%s; echo "__done $?"\n' "$1" 1>&"$w" 2>/dev/null
}
# Sets $shell_out to the output of the command sent last and returns its exit code, or 255 when
# the shell gave no answer within $1 seconds. Not meant for $(...): bash runs the step's TERM
# trap (a cancel) only once a command substitution ends, up to $1 seconds late, but during a
# read in its own process at once.
shell_collect() {
  local got r=${PROBE[0]:-}
  shell_out=''
  [ -n "$r" ] || return 255
  while IFS= read -r -t "$1" -u "$r" got 2>/dev/null; do
    case "$got" in "__done "*) return "${got#__done }" ;; esac
    shell_out+="$got"$'\n'
  done
  return 255
}
# The same, printing the output.
shell_read() {
  local code=0
  shell_collect "$1" || code=$?
  printf '%s' "$shell_out"
  return "$code"
}
# Asks for $1 (a URL of letters, digits and the characters health-path allows: no quote).
probe_send() {
  # shellcheck disable=SC2016 # $BG_PROBE is expanded by the shell in the proxy, from its environment
  shell_send "sh -c \"\$BG_PROBE\" sh '$1' 2>&1 | tail -n 1" || true
}
# Sets $line to the probe's answer, waiting $1 seconds at most (default 8). A shell that died or
# hangs is opened again for the next try.
probe_read() {
  local out rc=0
  line="no answer from the probe shell in $proxy"
  shell_collect "${1:-8}" || rc=$?
  out=${shell_out%$'\n'}
  if [ "$rc" != 255 ]; then
    # shellcheck disable=SC2034 # $line is the health loop's
    if [ -n "$out" ]; then line=${out##*$'\n'}; fi
    return 0
  fi
  probe_close
  probe_open
}

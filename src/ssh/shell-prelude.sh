# shellcheck shell=bash
# shellcheck disable=SC2154 # $__bg_token: the session's random token, set on the line before this
# The remote shell's prelude (remote-shell.ts): each step runs as `bash -c` with its arguments as
# positional parameters and its stdin (base64, never on a command line) piped in; a line with the
# session's token, the step's id, its exit code and its stderr (base64) ends its output.
__bg_err=$(mktemp)
trap 'rm -f "$__bg_err"' EXIT
__bg_run() {
  local id=$1 script stdin=$3 code err=''
  script=$(base64 -d <<<"$2")
  shift 3
  if [ -n "$stdin" ]; then
    base64 -d <<<"$stdin" | bash -c "$script" bluegreen "$@" 2>"$__bg_err"
  else
    bash -c "$script" bluegreen "$@" </dev/null 2>"$__bg_err"
  fi
  code=$?
  if [ -s "$__bg_err" ]; then err=$(base64 -w0 <"$__bg_err"); fi
  printf '\n%s %s %s %s\n' "$__bg_token" "$id" "$code" "$err"
}
printf '%s ready\n' "$__bg_token"

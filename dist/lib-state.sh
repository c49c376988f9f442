# shellcheck shell=bash
# write_state DIR: the service's state.json from stdin, by rename, so a reader never sees half of it.
write_state() {
  mkdir -p "$1"
  cat > "$1/state.json.tmp"
  mv -f "$1/state.json.tmp" "$1/state.json"
}

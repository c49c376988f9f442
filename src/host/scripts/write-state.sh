# shellcheck shell=bash
# state.json from stdin, by rename: a reader never sees half of it.
mkdir -p "$1"
cat > "$1/state.json.tmp"
mv -f "$1/state.json.tmp" "$1/state.json"

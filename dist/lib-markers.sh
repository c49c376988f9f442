# shellcheck shell=bash
# The live slot of each service is a symlink in the proxy's conf.d/bluegreen, named after the
# service, to one of two shared folders: slot-blue holds `on`, slot-green holds `on` and `green`.
# nginx tests `<service>/on` and `<service>/green` per request; renaming the symlink switches
# every request after it, with no reload. $dir is the proxy's folder.
ensure_markers() {
  mkdir -p "$dir/conf.d/bluegreen/slot-blue" "$dir/conf.d/bluegreen/slot-green" "$dir/routes"
  [ -f "$dir/conf.d/bluegreen/slot-blue/on" ] || : >"$dir/conf.d/bluegreen/slot-blue/on"
  [ -f "$dir/conf.d/bluegreen/slot-green/on" ] || : >"$dir/conf.d/bluegreen/slot-green/on"
  [ -f "$dir/conf.d/bluegreen/slot-green/green" ] || : >"$dir/conf.d/bluegreen/slot-green/green"
}
# Points $1's symlink at slot $2 (empty: no slot) in one rename.
point_marker() {
  local marker="$dir/conf.d/bluegreen/$1"
  if [ -z "$2" ]; then rm -f "$marker"; return 0; fi
  ln -sfn "slot-$2" "$marker.next"
  mv -Tf "$marker.next" "$marker"
}
# The slot $1's symlink points at, or nothing.
marked_slot() {
  local target
  target=$(readlink "$dir/conf.d/bluegreen/$1" 2>/dev/null) || return 0
  echo "${target#slot-}"
}

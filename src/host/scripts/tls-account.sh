# shellcheck shell=bash
# The ACME account key of one directory ($3 is its file name, a hash): printed for the runner's
# order, or saved from stdin, 0600. Included before this: lib-lock-guard.sh.
store=$1 action=$2 name=$3
[[ $name =~ ^[0-9a-f]{16}\.key$ ]] || { echo "not an account key name" >&2; exit 2; }
file="$store/accounts/$name"
case "$action" in
  read) if [ -f "$file" ]; then cat "$file"; fi ;;
  save) umask 077; cat >"$file.next" && mv -f "$file.next" "$file" ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac

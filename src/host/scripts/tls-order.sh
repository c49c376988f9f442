# shellcheck shell=bash
# The renewal order of a service whose certificate stays (stdin, JSON): what the renewal
# container renews. Included before this: lib-lock-guard.sh.
store=$1 id=$2
[[ $id =~ ^[a-z0-9][a-z0-9-]*$ ]] || { echo "not a service name: $id" >&2; exit 2; }
umask 022
cat >"$store/orders/$id.json.next" && mv -f "$store/orders/$id.json.next" "$store/orders/$id.json"

# shellcheck shell=bash
# An HTTP-01 answer (stdin: the key authorization) in the webroot the proxy serves on port 80,
# or its removal. The token is base64url (RFC 8555 8.1), so it cannot name another folder.
# Included before this: lib-lock-guard.sh.
store=$1 action=$2 token=$3
[[ $token =~ ^[A-Za-z0-9_-]+$ ]] || { echo "not a base64url token" >&2; exit 2; }
file="$store/webroot/.well-known/acme-challenge/$token"
case "$action" in
  put) umask 022; cat >"$file.next" && mv -f "$file.next" "$file" ;;
  remove) rm -f "$file" ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac

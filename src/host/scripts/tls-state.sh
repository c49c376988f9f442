# shellcheck shell=bash
# The proxy's certificate store before a deploy's TLS step: made if missing (its folders, the
# lock file), then what the TLS step decides on, in one round trip: the uid:gid of the proxy's
# nginx workers, the renewal container's image and state, and the record of every certificate
# installed (never a key) and every renewal order. Included before this: lib-lock-guard.sh
# lib-docker.sh.
store=$1 proxy=$2 renew=$3 owner_probe=$4
mkdir -p "$store/certs" "$store/facts" "$store/orders" "$store/webroot/.well-known/acme-challenge"
mkdir -p "$store/accounts"
chmod 0700 "$store/accounts"
# nginx workers walk down to the certificates and the challenge answers.
chmod 0755 "$store" "$store/certs" "$store/webroot" "$store/webroot/.well-known" "$store/webroot/.well-known/acme-challenge"
[ -e "$store/lock" ] || : >"$store/lock"
# shellcheck disable=SC2016 # expanded by the shell in the proxy, from its environment
owner=$(dkt 20 exec -e "BG_OWNER=$owner_probe" "$proxy" sh -c 'eval "$BG_OWNER"' 2>/dev/null) || owner=''
echo "OWNER ${owner:-unknown}"
echo "RENEW $(dkt 20 container inspect -f '{{.Config.Image}} {{.State.Status}}' "$renew" 2>/dev/null || echo "none missing")"
for kind in facts orders; do
  for f in "$store/$kind"/*.json; do
    [ -f "$f" ] || continue
    printf '%s %s\n' "${kind^^}" "$(tr -d '\n' <"$f")"
  done
done

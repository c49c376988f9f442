# shellcheck shell=bash
# Installs a service's certificate in the proxy's store. stdin: three lines of base64 - key and
# chain in one PEM, the record of what it is (facts), the renewal order (empty: none, as for a
# custom certificate). The PEM goes to a 0600 file of this user, a one-off container of the
# proxy's own image hands it to the nginx worker user ($3, uid:gid as the proxy sees it: CHOWN is
# its only capability, with no network), and one rename puts it in place: nginx reads it at the
# next handshake, with no reload. The key is never in a variable of a child process, an argument
# or a log. Included before this: lib-lock-guard.sh lib-docker.sh.
store=$1 id=$2 owner=$3 proxy=$4
[[ $id =~ ^[a-z0-9][a-z0-9-]*$ ]] || { echo "FAILED not a service name: $id"; exit 2; }
[[ $owner =~ ^[0-9]+:[0-9]+$ ]] || { echo "FAILED not a uid:gid: $owner"; exit 2; }
umask 077
IFS= read -r pem64
IFS= read -r facts64
IFS= read -r order64 || true
next="$store/certs/.$id.pem.next"
trap 'rm -f "$next"' EXIT
printf '%s' "$pem64" | base64 -d >"$next"
image=$(dk container inspect -f '{{.Image}}' "$proxy") || { echo "FAILED the proxy $proxy is gone"; exit 3; }
if ! out=$(dk run --rm --network none --user 0 --cap-drop ALL --cap-add CHOWN --entrypoint chown \
    -v "$store/certs:/certs" "$image" "$owner" "/certs/.$id.pem.next" 2>&1); then
  printf 'FAILED could not give the key to the nginx workers (%s): %s\n' "$owner" "$out" | tr '\n' ' '; echo; exit 3
fi
mv -f "$next" "$store/certs/$id.pem"
umask 022
printf '%s' "$facts64" | base64 -d >"$store/facts/$id.json.next" && mv -f "$store/facts/$id.json.next" "$store/facts/$id.json"
if [ -n "$order64" ]; then
  printf '%s' "$order64" | base64 -d >"$store/orders/$id.json.next" && mv -f "$store/orders/$id.json.next" "$store/orders/$id.json"
else
  rm -f "$store/orders/$id.json"
fi
echo INSTALLED

# shellcheck shell=bash
# The private key of a service's installed certificate ($2), printed for the runner's renewal,
# which orders the new certificate for the same key: nginx reads the certificate and the key
# of a handshake in two opens of the one file, so only a renewal that keeps the key can replace
# the file while handshakes go on without one of them pairing the old with the new. The file is
# the nginx workers' (0600): the proxy (root in its container) reads it. Nothing when there is
# none. Included before this: lib-lock-guard.sh lib-docker.sh.
proxy=$1 id=$2
[[ $id =~ ^[a-z0-9][a-z0-9-]*$ ]] || { echo "not a service name: $id" >&2; exit 2; }
file="/etc/nginx/conf.d/bluegreen/tls/certs/$id.pem"
# shellcheck disable=SC2016 # expanded by the shell in the proxy
dkt 30 exec "$proxy" sh -c '[ -f "$1" ] && sed -n "/-----BEGIN .*PRIVATE KEY-----/,/-----END .*PRIVATE KEY-----/p" "$1"; exit 0' sh "$file"

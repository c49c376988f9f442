# shellcheck shell=bash
# Publishing the HTTPS port on a proxy that runs without it: Docker cannot add a port to a
# running container, and a holder's ports are its namespace's, so the proxy is made again once,
# in the holder layout (lib-proxy-holder.sh), with the smallest gap this way allows; see
# recreate_in_holder. Prints STOPPED, STARTED and GAP <ms>, then RECREATED.
# Included before this: lib-lock-guard.sh lib-docker.sh lib-proxy-lock.sh lib-proxy-holder.sh.
# shellcheck disable=SC2034 # read by the functions of lib-proxy-holder.sh
net=$1 proxy=$2 port=$3 https=$4 dir=$5 listen=${6:-} generation=${7:-1} gap_grace=${8:-5}
holder="$proxy-ports"
proxy_lock
# shellcheck disable=SC2034 # read by recreate_in_holder
image=$(dk container inspect -f '{{.Config.Image}}' "$proxy") || { echo "FAILED the proxy $proxy is gone"; exit 3; }
# Another deploy on this network may have done it while this one waited for the proxy's lock.
bindings=$(dk container inspect -f '{{json .HostConfig.PortBindings}}' "$holder" 2>/dev/null || true)
bindings+=$(dk container inspect -f '{{json .HostConfig.PortBindings}}' "$proxy")
if grep -q '"443/tcp":\[{' <<<"$bindings"; then echo "GAP 0"; echo ALREADY; exit 0; fi
recreate_in_holder
echo RECREATED

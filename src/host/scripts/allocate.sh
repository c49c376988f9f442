# shellcheck shell=bash
# Pinned addresses for a service's slots (allocate once, keep for good): the proxy's config names
# them, so they must not change while the config stays. Taken from the top of the network's
# upper half, which Docker never hands out itself. One line per address in $dir/addresses:
# "ip service slot index". Arguments after the first three: slot:count. Prints "ADDR slot index ip",
# or "MODE names" on a network the action did not create with a subnet to pin in.
# Included before this: lib-lock-guard.sh lib-docker.sh lib-network.sh lib-proxy-lock.sh.
dir=$1 net=$2 service=$3
shift 3
read -r mode subnet < <(network_mode "$net")
if [ "$mode" != pinned ]; then echo "MODE names"; exit 0; fi
proxy_lock
touch "$dir/addresses"
declare -A used=()
while read -r ip _; do used[$ip]=1; done <"$dir/addresses"
base=$(ip2int "${subnet%/*}") size=$(( 1 << (32 - ${subnet#*/}) ))
next=$(( base + size - 2 )) floor=$(( base + size / 2 ))
for want in "$@"; do
  slot=${want%:*} count=${want#*:}
  for ((i = 1; i <= count; i++)); do
    ip=$(awk -v s="$service" -v sl="$slot" -v i="$i" '$2 == s && $3 == sl && $4 == i {print $1; exit}' "$dir/addresses")
    if [ -z "$ip" ]; then
      while [ "$next" -ge "$floor" ] && [ -n "${used[$(int2ip "$next")]:-}" ]; do next=$((next - 1)); done
      if [ "$next" -lt "$floor" ]; then echo "FULL no free pinned address left in $subnet on $net" >&2; exit 3; fi
      ip=$(int2ip "$next")
      used[$ip]=1
      echo "$ip $service $slot $i" >>"$dir/addresses"
    fi
    echo "ADDR $slot $i $ip"
  done
done

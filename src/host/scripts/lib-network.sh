# shellcheck shell=bash
# The Docker network the proxy and the app containers share. One the action creates gets a
# subnet of its own split in two: Docker hands out the lower half (the proxy, anything else), and
# the upper half holds the slots' pinned addresses (docker run --ip), which the proxy's config
# names directly. So no request waits on Docker's DNS (a frozen dockerd must not stop traffic),
# and a container that restarts comes back at the same address.
ip2int() { local IFS=. a b c d; read -r a b c d <<<"$1"; echo $(( (a << 24) | (b << 16) | (c << 8) | d )); }
int2ip() { echo "$(( ($1 >> 24) & 255 )).$(( ($1 >> 16) & 255 )).$(( ($1 >> 8) & 255 )).$(( $1 & 255 ))"; }

# "a.b.c.d/p" -> the lower half "a.b.c.d/p+1"; fails for IPv6 or a subnet too small to split.
lower_half() {
  local base=${1%/*} bits=${1#*/}
  case "$base" in *:*) return 1 ;; esac
  [ "$bits" -le 28 ] || return 1
  echo "$base/$((bits + 1))"
}

# Creates $1 when missing. Docker picks a free subnet from its pools for a probe network, which
# is then made again with that subnet stated, the only way Docker allows pinned addresses.
ensure_network() {
  local net=$1 probe subnet half
  dk network inspect "$net" >/dev/null 2>&1 && return 0
  probe="bluegreen-probe-$$"
  dk network create "$probe" >/dev/null
  subnet=$(dk network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$probe")
  dk network rm "$probe" >/dev/null
  if half=$(lower_half "$subnet") &&
    dk network create --subnet "$subnet" --ip-range "$half" --label bluegreen.addressing=pinned "$net" >/dev/null 2>&1; then
    echo "network created ($subnet, slots at pinned addresses)"
  else
    dk network inspect "$net" >/dev/null 2>&1 || dk network create "$net" >/dev/null
    echo "network created (slots reached by name)"
  fi
}

# Prints "pinned SUBNET", "names" (a network the action did not create so) or "missing".
network_mode() {
  local out
  if ! out=$(dk network inspect -f '{{index .Labels "bluegreen.addressing"}} {{range .IPAM.Config}}{{.Subnet}} {{end}}' "$1" 2>/dev/null); then
    echo missing; return 0
  fi
  read -r label subnet _ <<<"$out"
  if [ "$label" = pinned ] && [ -n "${subnet:-}" ]; then echo "pinned $subnet"; else echo names; fi
}

# shellcheck shell=bash
# Sourced by sandbox.sh and nodes.sh: a Linux bridge made by hand, as dockerd makes its own.

# A bridge with no MAC of its own takes the lowest MAC of its ports, so its MAC changes as
# containers' veths join and leave, and what a container sends to the old one is lost until its
# ARP entry is probed again: known for years to stall connections for seconds now and then
# (moby#3200, fixed in dockerd by moby#3414; lxc#604). dockerd gives the bridges it creates a
# fixed MAC; so does this, one derived from the name (locally administered, unicast).
pin_bridge_mac() { # bridge name
  local mac
  [ "$(cat "/sys/class/net/$1/addr_assign_type" 2>/dev/null)" = 3 ] && return 0
  mac=02:$(printf '%s' "$1" | md5sum | cut -c1-10 | sed 's/../&:/g; s/:$//')
  ip link set dev "$1" address "$mac"
}

#!/usr/bin/env bash
# Several "remote servers" for the e2e tests, next to the sandbox's one host (sandbox.sh): each node
# is a network namespace bgn<i> at 10.250.0.(10+i) on the bridge bgn-br0 (10.250.0.1 is the
# runner's side), with its own mount and UTS namespaces (own /var/lib, /run, /tmp, /etc/docker,
# hostname and kernel boot ID), its own dockerd and its own sshd on port 22. `up --swarm` makes
# a Docker Swarm of them: node 1 is the manager, the others are workers.
# Commands: up [--count N] [--swarm] | down | status | info | shape <i> <rate> | unshape [<i>].
#
# How the namespaces are entered: not with `ip netns exec`, which remounts /sys without the cgroup
# hierarchies each time. Each node's mount namespace is made once (unshare --mount=FILE, run in
# the node's network namespace) and kept by that bind-mounted file; at that time its /sys is
# remounted (so that /sys/class/net shows the node's interfaces, as dockerd expects) and the
# cgroup hierarchies are mounted again inside it. Daemons then start with `nsenter` into the
# kept namespaces, which changes no mount.
set -euo pipefail
umask 022

SELF=$(readlink -f "${BASH_SOURCE[0]}")
SANDBOX_SH=$(dirname "$SELF")/sandbox.sh
. "$(dirname "$SELF")/bridge.sh"
SBX=/var/lib/bluegreen-sandbox
NODES=$SBX/nodes                          # persistent node state: <i>/varlib is the node's /var/lib
RUN=/run/bluegreen-sandbox/nodes          # <i>/ is the node's /run: docker.sock, sshd.pid, ...
NSDIR=$RUN/ns                             # the files that keep each node's mount and UTS namespaces
LOG=/var/log/bluegreen-sandbox/nodes
LOCK=$RUN/lock
INFO=$NODES/info.json
STATE=$NODES/state                        # what up changed outside the nodes, so down undoes only that
KNOWN_HOSTS=$NODES/known_hosts
SHAPES=$RUN/shapes                        # the tc shaping in force, per node

# The sandbox's keys, users and engine that the nodes reuse (see sandbox.sh).
KEYS=$SBX/keys
AUTH_KEYS=$SBX/ssh/authorized_keys
SANDBOX_INFO=$SBX/info.json
HOST_DOCKER_HOST=unix:///run/bluegreen-sandbox/docker.sock
BUSYBOX_TAR=$SBX/rootfs/busybox.tar
USER_DEPLOY=bgs-deploy
ACTION_STATE=/var/lib/bluegreen           # the action's state root, as a node's processes see it

BRIDGE=bgn-br0
GATEWAY=10.250.0.1
SUBNET=10.250.0.0/24
MAX_NODES=16
SWARM_PORT=2377
PROXY_IMAGES=(nginx:alpine bluegreen-sandbox/nginx:test)
# The fixtures' base (sandbox/fixtures.ts baseRef(0, 0)): busybox, for test containers and services.
BASE_IMAGE=bluegreen-sandbox/app-base:p0-r0
PACKAGES=(docker.io openssh-server openssh-client iproute2 iptables util-linux procps)
FORWARD_RULE=(-s "$SUBNET" -d "$SUBNET" -j ACCEPT)

CHANGED=0   # set when a step did real work; the slower checks run only then

log() { printf 'nodes: %s\n' "$*" >&2; }
die() { printf 'nodes: error: %s\n' "$*" >&2; exit 1; }
refuse() { printf 'nodes: %s\n' "$*" >&2; exit 2; }

# ------------------------------------------------------------------------------------ node names
name_of() { echo "bgn$1"; }
addr_of() { echo "10.250.0.$((10 + $1))"; }
veth_of() { echo "veth-bgn$1"; }          # the root side; the node side is eth0 in the node
dir_of() { echo "$NODES/$1"; }
run_of() { echo "$RUN/$1"; }
sock_of() { echo "$RUN/$1/docker.sock"; }
cgroup_of() { echo "bluegreen-node$1"; }  # the node engine's --cgroup-parent

# Node indexes that exist in any form (state dir, runtime dir or network namespace), sorted.
existing_nodes() {
  {
    find "$NODES" "$RUN" -mindepth 1 -maxdepth 1 -regex '.*/[0-9]+' -printf '%f\n' 2>/dev/null
    find /run/netns -mindepth 1 -maxdepth 1 -regex '.*/bgn[0-9]+' -printf '%f\n' 2>/dev/null | sed 's/^bgn//'
  } | sort -nu
}

# `docker` against node i's engine from the root namespace, bounded in time.
ndocker() {
  local i=$1; shift
  env -u DOCKER_CONTEXT DOCKER_HOST="unix://$(sock_of "$i")" timeout "${DOCKER_TIMEOUT:-60}" docker "$@"
}
hdocker() { env -u DOCKER_CONTEXT DOCKER_HOST="$HOST_DOCKER_HOST" timeout "${DOCKER_TIMEOUT:-60}" docker "$@"; }

# Runs "$@" in node i's network, mount and UTS namespaces.
in_node() {
  local i=$1; shift
  nsenter --net="/run/netns/$(name_of "$i")" --mount="$NSDIR/mnt$i" --uts="$NSDIR/uts$i" -- "$@"
}

# Starts "$@" detached (spawn_daemon) in node i's namespaces; $! is the daemon's pid (nsenter execs it).
spawn_in_node() {
  local logfile=$1 i=$2; shift 2
  spawn_daemon "$logfile" nsenter --net="/run/netns/$(name_of "$i")" --mount="$NSDIR/mnt$i" --uts="$NSDIR/uts$i" -- "$@"
}

atomic_write() { cat >"$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"; }

tail_log() {
  [ -f "$1" ] || return 0
  echo "--- last lines of $1 ---" >&2
  tail -n "${2:-30}" "$1" >&2
}

# pid from a pid file, only if that process is alive and its command line contains $2.
live_pid() {
  local file=$1 want=$2 pid
  [ -s "$file" ] || return 1
  pid=$(cat "$file" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$want" || return 1
  echo "$pid"
}

# Alive and not a zombie: this machine's init reaps orphans only every second or so.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat:0:1}" != Z ]
}

# SIGTERM, wait at most $2 seconds, then SIGKILL.
stop_pid() {
  local pid=$1 secs=${2:-30} i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < secs * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  log "pid $pid ignored SIGTERM for ${secs}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
}

# Run "$@" detached: own session, no inherited stdio and not fd 9 (the lock).
spawn_daemon() {
  local logfile=$1; shift
  setsid "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  disown
}

# Wait (bounded) for a daemon: $1 = check command, $2 = pid, $3 = seconds, then its log files.
wait_ready() {
  local check=$1 pid=$2 secs=$3 i logfile
  shift 3
  for ((i = 0; i < secs * 4; i++)); do
    eval "$check" && return 0
    alive "$pid" || { for logfile; do tail_log "$logfile"; done; die "$check: daemon (pid $pid) exited during startup"; }
    sleep 0.25
  done
  for logfile; do tail_log "$logfile"; done
  die "$check: not ready after ${secs}s"
}

json_str() { local s=$1; s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; printf '"%s"' "$s"; }
fingerprint() { ssh-keygen -lf "$1" | awk '{print $2}'; }

# EPOCHREALTIME is bash 5.
now_us() { local t=${EPOCHREALTIME:-0}; echo "${t/[.,]/}"; }
elapsed() { echo "$1 $(now_us)" | awk '{ printf "%.2f", ($2 - $1) / 1e6 }'; }

# Runs one step of `up`; BLUEGREEN_SANDBOX_TIMING=1 logs how long each took.
step() {
  local t0
  t0=$(now_us)
  "$@"
  [ -z "${BLUEGREEN_SANDBOX_TIMING:-}" ] || log "  $*: $(elapsed "$t0")s"
}

# ---------------------------------------------------------------------------------------- checks
preflight() {
  [ "$(uname -s)" = Linux ] || refuse "needs Linux (this is $(uname -s))"
  [ "$(id -u)" = 0 ] || refuse "needs root (it makes namespaces and starts dockerd and sshd); run: sudo $0 ${1:-up}"
  command -v apt-get >/dev/null 2>&1 || refuse "needs a Debian/Ubuntu machine with apt-get"
}

take_lock() {
  mkdir -p "$RUN"
  exec 9>"$LOCK"
  flock -w 900 9 || die "another nodes.sh held $LOCK for 15 minutes"
}

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# As sandbox.sh does: policy-rc.d 101 keeps postinst scripts from starting the machine's services.
ensure_packages() {
  local missing created_policy=0 rc=0
  mapfile -t missing < <(missing_packages "$@")
  [ ${#missing[@]} -eq 0 ] && return 0
  CHANGED=1
  log "installing ${missing[*]}"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >&2 || rc=$?
  [ $created_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ $rc = 0 ] || die "apt-get install ${missing[*]} failed (exit $rc)"
}

# The nodes reuse the sandbox's keys, users, proxy image and busybox rootfs: bring it up if it is
# not (its up is idempotent, but takes a second or two even when warm).
ensure_sandbox() {
  if [ -s "$SANDBOX_INFO" ] && [ -s "$KEYS/id_ed25519" ] && [ -s "$BUSYBOX_TAR" ] &&
    DOCKER_TIMEOUT=20 hdocker image inspect "${PROXY_IMAGES[0]}" >/dev/null 2>&1; then
    return 0
  fi
  CHANGED=1
  log "the sandbox is not up; running sandbox.sh up"
  bash "$SANDBOX_SH" up 9>&- || die "sandbox.sh up failed"
}

# ------------------------------------------------------------------------------- the root side
ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    CHANGED=1
    ip link add "$BRIDGE" type bridge
  fi
  pin_bridge_mac "$BRIDGE"
  ip -4 addr show dev "$BRIDGE" | grep -q "inet $GATEWAY/24" || ip addr add "$GATEWAY/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

# br_netfilter would send node-to-node packets crossing the bridge through the root namespace's
# iptables FORWARD, whose policy the runner engine set to DROP. sandbox.sh switches it off too;
# whichever of the two changed it first keeps the value it found, in its own state dir.
ensure_bridge_nf() {
  local key value
  for key in net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables; do
    value=$(sysctl -n "$key" 2>/dev/null) || continue
    [ "$value" = 0 ] && continue
    [ -e "$STATE/$key" ] || echo "$value" >"$STATE/$key"
    sysctl -q -w "$key=0"
  done
}

# Insurance for when something turns br_netfilter back on (as sandbox.sh's FORWARD_RULES).
ensure_forward_rule() {
  iptables -w 10 -C FORWARD "${FORWARD_RULE[@]}" 2>/dev/null && return 0
  if iptables -w 10 -I FORWARD 1 "${FORWARD_RULE[@]}"; then
    touch "$STATE/forward-rule"
  else
    log "warning: could not add iptables FORWARD rule '${FORWARD_RULE[*]}' (bridge-nf-call-iptables=0 still applies)"
  fi
}

# The namespace files must sit on a mount that is not shared, or binding a namespace onto them
# fails (the same trick `ip netns` plays on /run/netns).
ensure_ns_dir() {
  mkdir -p "$NSDIR"
  mountpoint -q "$NSDIR" && return 0
  mount --bind "$NSDIR" "$NSDIR"
  mount --make-private "$NSDIR"
}

# ---------------------------------------------------------------------------------- one node
# The node's network: its namespace, a veth pair whose root side is on the bridge, its address.
# No default route: nothing a node or its containers send can leave this machine.
ensure_netns() {
  local i=$1 name veth addr
  name=$(name_of "$i") veth=$(veth_of "$i") addr=$(addr_of "$i")
  if [ ! -e "/run/netns/$name" ]; then
    CHANGED=1
    ip netns add "$name"
  fi
  if ! ip link show "$veth" >/dev/null 2>&1; then
    CHANGED=1
    ip -n "$name" link del eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$name"
  fi
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$name" link set lo up
  ip -n "$name" -4 addr show dev eth0 | grep -q "inet $addr/24" || ip -n "$name" addr add "$addr/24" dev eth0
  ip -n "$name" link set eth0 up
}

# Files the node sees in place of the runner's: written from the root side, bound in by setup.
write_node_files() {
  local i=$1 dir n
  dir=$(dir_of "$i")
  mkdir -p "$dir/varlib/docker" "$dir/varlib/containerd" "$dir/tmp" "$dir/etc/docker" "$dir/ssh" \
    "$dir/varlib${AUTH_KEYS#/var/lib}" "$dir/varlib${dir#/var/lib}/ssh"
  chmod 1777 "$dir/tmp"
  # A fresh boot ID per namespace (a "boot" of the node): the action compares it with the
  # runner's to tell whether the host is the runner's own machine.
  cat /proc/sys/kernel/random/uuid >"$dir/boot_id"
  # Nothing listens on the node's own port 53: lookups fail at once (ICMP port unreachable)
  # instead of timing out. Not a 127.x address: Docker swaps those for public resolvers.
  printf '# bluegreen node %s: no DNS server on purpose\nnameserver %s\noptions timeout:1 attempts:1\n' \
    "$i" "$(addr_of "$i")" >"$dir/etc/resolv.conf"
  name_of "$i" >"$dir/etc/hostname"
  {
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
    for ((n = 1; n <= MAX_NODES; n++)); do printf '%s\t%s\n' "$(addr_of "$n")" "$(name_of "$n")"; done
  } >"$dir/etc/hosts"
  # Its own key.json (so its own `docker info` ID) lands in its own /etc/docker.
  printf '{ "shutdown-timeout": 5 }\n' >"$dir/etc/docker/daemon.json"
}

# Runs inside the node's new mount and UTS namespaces (`nodes.sh _setup i`), once per "boot".
setup_inside() {
  local i=$1 dir run
  dir=$(dir_of "$i") run=$(run_of "$i")
  hostname "$(name_of "$i")"
  drop_copied_mounts
  remount_sys
  mount --bind "$dir/boot_id" /proc/sys/kernel/random/boot_id
  mkdir -p "$run/sshd" "$run/lock" && chmod 755 "$run/sshd" && chmod 1777 "$run/lock"
  mount --bind "$run" /run
  bind_file "$dir/etc/resolv.conf" /etc/resolv.conf
  bind_file "$dir/etc/hosts" /etc/hosts
  bind_file "$dir/etc/hostname" /etc/hostname
  mkdir -p /etc/docker && mount --bind "$dir/etc/docker" /etc/docker
  mount --bind "$dir/tmp" /tmp
  # The sandbox's authorized keys and this node's sshd config stay visible (read-only) at their
  # usual paths once the node's own /var/lib hides the runner's.
  mount -o bind,ro "$AUTH_KEYS" "$dir/varlib${AUTH_KEYS#/var/lib}"
  mount -o bind,ro "$dir/ssh" "$dir/varlib${dir#/var/lib}/ssh"
  mount --rbind "$dir/varlib" /var/lib
}

# A new mount namespace starts as a copy of the runner's, with its containers' network namespace
# files (/run/docker/netns/*) and overlay mounts. A copy would keep such a namespace, and its
# veth on the runner's bridge, alive after the runner's engine removed the container (and /run is
# not a shared mount, so the removal does not reach the copy). The node needs none of them.
drop_copied_mounts() {
  awk '{ for (f = 7; $f != "-"; f++); if ($(f + 1) == "nsfs" || $(f + 1) == "overlay" || $5 ~ "^/(run|var/lib|tmp)/") print $5 }' \
    /proc/self/mountinfo | sort -r | while read -r mp; do umount -l "$mp" 2>/dev/null || true; done
}

# Binds a file over a path, following a symlink at that path (resolv.conf often is one).
bind_file() { # source target
  local target
  target=$(readlink -m "$2")
  mkdir -p "$(dirname "$target")"
  [ -e "$target" ] || touch "$target"
  mount --bind "$1" "$target"
}

# A sysfs of the node's network namespace, then the cgroup mounts the runner has (v1 hierarchies
# and the v2 one, or a v2-only /sys/fs/cgroup), mounted again with the same options.
remount_sys() {
  local cgroups mp type src opts
  cgroups=$(awk '{ for (f = 7; $f != "-"; f++); if (index($5, "/sys/fs/cgroup") == 1) print $5, $(f + 1), $(f + 2), $(f + 3) }' /proc/self/mountinfo)
  umount -l /sys
  mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
  while read -r mp type src opts; do
    [ -n "$mp" ] || continue
    opts=${opts#rw}; opts=${opts#,}
    mkdir -p "$mp"
    if [ -n "$opts" ]; then mount -t "$type" -o "$opts" "$src" "$mp"; else mount -t "$type" "$src" "$mp"; fi
  done <<<"$cgroups"
}

ns_mounted() { grep -q " $1 " /proc/self/mountinfo; }

# The node's mount and UTS namespaces, kept by files under $NSDIR. Made anew (a fresh boot ID)
# only when missing: after down or a reboot of this machine.
ensure_mount_ns() {
  local i=$1 logfile=$LOG/$1/setup.log
  if ns_mounted "$NSDIR/mnt$i" && ns_mounted "$NSDIR/uts$i"; then return 0; fi
  CHANGED=1
  stop_node_daemons "$i" # any left from an earlier namespace would hold the old one
  umount "$NSDIR/mnt$i" "$NSDIR/uts$i" 2>/dev/null || true
  write_node_files "$i"
  touch "$NSDIR/mnt$i" "$NSDIR/uts$i"
  nsenter --net="/run/netns/$(name_of "$i")" -- \
    unshare --mount="$NSDIR/mnt$i" --uts="$NSDIR/uts$i" --propagation slave -- \
    bash "$SELF" _setup "$i" >"$logfile" 2>&1 9>&- || { tail_log "$logfile"; die "setting up node $i's namespaces failed"; }
}

# The README's one-time set-up for a non-root deploy user, on the node's own /var/lib.
ensure_state_dir() {
  local i=$1 d
  d="$(dir_of "$i")/varlib${ACTION_STATE#/var/lib}"
  install -d -o "$USER_DEPLOY" -g docker -m 2775 "$d" "$d/_proxy"
  find "$d" ! -user "$USER_DEPLOY" -exec chown "$USER_DEPLOY:docker" {} + 2>/dev/null || true
}

node_engine_up() { DOCKER_TIMEOUT=20 ndocker "$1" info >/dev/null 2>&1; }

# dockerd with every path at its default, which the namespaces make the node's own: data root
# /var/lib/docker, exec root /run/docker, pid file /run/docker.pid, socket /run/docker.sock
# (= $RUN/<i>/docker.sock outside), its own containerd under those. iptables stays on: it is the
# node's own netfilter, not the runner's.
ensure_node_engine() {
  local i=$1 logfile=$LOG/$1/dockerd.log pid
  node_engine_up "$i" && return 0
  CHANGED=1
  if pid=$(live_pid "$(run_of "$i")/docker.pid" dockerd); then
    log "node $i's engine (pid $pid) exists but does not answer; waiting for it"
    wait_ready "node_engine_up $i" "$pid" 60 "$logfile"
    return 0
  fi
  [ -f "$logfile" ] && mv -f "$logfile" "$logfile.1"
  log "starting node $i's engine ($(name_of "$i"), $(addr_of "$i"))"
  spawn_in_node "$logfile" "$i" dockerd --config-file /etc/docker/daemon.json \
    --host unix:///run/docker.sock --group docker --data-root /var/lib/docker \
    --exec-root /run/docker --pidfile /run/docker.pid --cgroup-parent "/$(cgroup_of "$i")"
  wait_ready "node_engine_up $i" "$!" 90 "$logfile"
}

gen_key() { # file type [extra args]
  [ -s "$1" ] && return 0
  CHANGED=1
  ssh-keygen -q -t "$2" -N '' -C "bluegreen-node" -f "$1" "${@:3}" </dev/null
}

write_sshd_config() {
  local i=$1 ssh
  ssh="$(dir_of "$i")/ssh"
  cat <<EOF
# Generated by sandbox/nodes.sh: the sshd of bluegreen node $i ($(name_of "$i")).
ListenAddress $(addr_of "$i")
Port 22
HostKey $ssh/ssh_host_ed25519_key
HostKey $ssh/ssh_host_rsa_key
PidFile /run/sshd.pid
AuthorizedKeysFile $AUTH_KEYS/%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
MaxSessions 64
MaxStartups 100:30:200
MaxAuthTries 20
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
LogLevel VERBOSE
Subsystem sftp internal-sftp

# SHLVL=1 makes root's bash skip ~/.bashrc, whose pyenv can stall a login for 60 s (sandbox.sh).
Match User root
    SetEnv SHLVL=1
EOF
}

sshd_listening() { timeout 2 bash -c "exec 3<>/dev/tcp/$(addr_of "$1")/22" 2>/dev/null; }

# Its own host keys (so its own fingerprints), the sandbox's authorized keys and users.
ensure_node_sshd() {
  local i=$1 ssh conf pid logfile=$LOG/$1/sshd.log k
  ssh="$(dir_of "$i")/ssh" conf="$(dir_of "$i")/ssh/sshd_config"
  gen_key "$ssh/ssh_host_ed25519_key" ed25519
  gen_key "$ssh/ssh_host_rsa_key" rsa -b 2048 # 3072 bits took 2-3 s with three nodes at once
  write_sshd_config "$i" >"$conf.new"
  if pid=$(live_pid "$(run_of "$i")/sshd.pid" "$conf"); then
    if cmp -s "$conf.new" "$conf" && sshd_listening "$i"; then rm -f "$conf.new"; return 0; fi
    stop_pid "$pid" 10
  fi
  CHANGED=1
  mv "$conf.new" "$conf"
  in_node "$i" /usr/sbin/sshd -t -f "$conf" || die "sshd rejected $conf"
  [ -f "$logfile" ] && mv -f "$logfile" "$logfile.1"
  spawn_in_node "$logfile" "$i" /usr/sbin/sshd -D -f "$conf" -E "$logfile"
  pid=$!
  for ((k = 0; k < 40; k++)); do
    alive "$pid" || { tail_log "$logfile"; die "node $i's sshd exited during startup"; }
    sshd_listening "$i" && return 0
    sleep 0.25
  done
  tail_log "$logfile"
  die "node $i's sshd is not listening on $(addr_of "$i"):22 after 10s"
}

# The action's proxy image as the sandbox host has it: no registry can be reached, never pull.
ensure_proxy_image() {
  local i=$1
  ndocker "$i" image inspect "${PROXY_IMAGES[@]}" >/dev/null 2>&1 && return 0
  CHANGED=1
  hdocker save "${PROXY_IMAGES[@]}" | DOCKER_TIMEOUT=120 ndocker "$i" load >/dev/null ||
    die "could not load ${PROXY_IMAGES[*]} into node $i's engine"
}

# The busybox base, built once from the sandbox's deterministic rootfs tar (as fixtures.ts does)
# on the first node, and copied to the others so that its ID is the same everywhere.
ensure_base_image() {
  local count=$1 i src=''
  for ((i = 1; i <= count; i++)); do
    if ndocker "$i" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then src=$i; break; fi
  done
  if [ -z "$src" ]; then
    CHANGED=1
    src=1
    local ctx out
    ctx=$(mktemp -d "$NODES/build.XXXXXX")
    ln "$BUSYBOX_TAR" "$ctx/busybox.tar" 2>/dev/null || cp "$BUSYBOX_TAR" "$ctx/busybox.tar"
    printf 'FROM scratch\nADD busybox.tar /\n' >"$ctx/Dockerfile"
    out=$(DOCKER_BUILDKIT=0 DOCKER_TIMEOUT=120 ndocker 1 build -q -t "$BASE_IMAGE" "$ctx" 2>&1) || { rm -rf "$ctx"; die "building $BASE_IMAGE on node 1 failed: $out"; }
    rm -rf "$ctx"
  fi
  for ((i = 1; i <= count; i++)); do
    ndocker "$i" image inspect "$BASE_IMAGE" >/dev/null 2>&1 && continue
    CHANGED=1
    ndocker "$src" save "$BASE_IMAGE" | DOCKER_TIMEOUT=120 ndocker "$i" load >/dev/null ||
      die "could not copy $BASE_IMAGE to node $i"
  done
}

ensure_node() {
  local i=$1
  mkdir -p "$(dir_of "$i")" "$(run_of "$i")" "$LOG/$i"
  step ensure_netns "$i"
  step ensure_mount_ns "$i"
  step ensure_state_dir "$i"
  step ensure_node_engine "$i"
  step ensure_node_sshd "$i"
  step ensure_proxy_image "$i"
}

# All nodes at once (each waits mostly on its own dockerd and ssh-keygen); each in a subshell
# that leaves a file behind when it changed something, since CHANGED does not come back.
ensure_nodes() {
  local count=$1 i pids=() failed=0
  rm -f "$RUN"/changed.*
  for ((i = 1; i <= count; i++)); do
    ( ensure_node "$i"; [ $CHANGED = 0 ] || touch "$RUN/changed.$i" ) &
    pids+=("$!")
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed=1; done
  [ $failed = 0 ] || die "a node failed to come up (see above)"
  if compgen -G "$RUN/changed.*" >/dev/null; then CHANGED=1; rm -f "$RUN"/changed.*; fi
}

# ---------------------------------------------------------------------------------------- swarm
swarm_state() { DOCKER_TIMEOUT=20 ndocker "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }

# Node 1 is the manager, advertised on its own address; nodes 2..N join as workers. A worker that
# is in another swarm (node 1 was made anew) leaves it first. Nodes of an earlier swarm that are
# gone are removed from the manager's list.
ensure_swarm() {
  local count=$1 i manager token ids
  manager="$(addr_of 1):$SWARM_PORT"
  if [ "$(swarm_state 1)" != active ] || [ "$(ndocker 1 info --format '{{.Swarm.ControlAvailable}}')" != true ]; then
    CHANGED=1
    log "swarm init on node 1 ($manager)"
    ndocker 1 swarm leave --force >/dev/null 2>&1 || true
    ndocker 1 swarm init --advertise-addr "$(addr_of 1)" --listen-addr "$manager" >/dev/null
  fi
  token=$(ndocker 1 swarm join-token -q worker)
  ids=$(ndocker 1 node ls -q)
  for ((i = 2; i <= count; i++)); do
    if [ "$(swarm_state "$i")" = active ] && grep -qx "$(ndocker "$i" info --format '{{.Swarm.NodeID}}')" <<<"$ids"; then continue; fi
    CHANGED=1
    log "node $i joins the swarm as a worker"
    ndocker "$i" swarm leave --force >/dev/null 2>&1 || true
    DOCKER_TIMEOUT=60 ndocker "$i" swarm join --token "$token" --advertise-addr "$(addr_of "$i")" \
      --listen-addr "$(addr_of "$i"):$SWARM_PORT" "$manager" >/dev/null
  done
  wait_swarm_ready "$count"
}

# Bounded: every node Ready in the manager's list. Entries that are not one of ours are what is
# left of nodes removed or made anew (their swarm identity went with their /var/lib): removed.
wait_swarm_ready() {
  local count=$1 k ready=0 ours stale='' id status
  ours=$(for ((k = 1; k <= count; k++)); do ndocker "$k" info --format '{{.Swarm.NodeID}}'; done)
  for ((k = 0; k < 120; k++)); do
    ready=0
    while read -r id status; do
      if grep -qx "$id" <<<"$ours"; then [ "$status" = Ready ] && ready=$((ready + 1)); else stale+=" $id"; fi
    done < <(ndocker 1 node ls --format '{{.ID}} {{.Status}}')
    if [ -n "$stale" ]; then
      # shellcheck disable=SC2086 # a list of IDs
      ndocker 1 node rm --force $stale >/dev/null 2>&1 || true
      stale=''
    fi
    [ "$ready" = "$count" ] && return 0
    sleep 0.5
  done
  ndocker 1 node ls >&2 || true
  die "the swarm has $ready of $count nodes Ready after 60s"
}

# ----------------------------------------------------------------------------------------- info
write_info() {
  local count=$1 swarm=$2 i dir addr fp_ed fp_rsa kh nodes='' sep='' swarm_json=null workers=''
  : >"$KNOWN_HOSTS.new"
  for ((i = 1; i <= count; i++)); do
    dir=$(dir_of "$i") addr=$(addr_of "$i")
    fp_ed=$(fingerprint "$dir/ssh/ssh_host_ed25519_key.pub")
    fp_rsa=$(fingerprint "$dir/ssh/ssh_host_rsa_key.pub")
    kh=$(awk -v h="$addr" '{print h, $1, $2}' "$dir/ssh/ssh_host_ed25519_key.pub" "$dir/ssh/ssh_host_rsa_key.pub")$'\n'
    printf '%s' "$kh" >>"$KNOWN_HOSTS.new"
    nodes+="$sep
    {
      \"index\": $i,
      \"name\": \"$(name_of "$i")\",
      \"address\": \"$addr\",
      \"port\": 22,
      \"fingerprint\": $(json_str "$fp_ed"),
      \"fingerprints\": { \"ed25519\": $(json_str "$fp_ed"), \"rsa\": $(json_str "$fp_rsa") },
      \"knownHosts\": $(json_str "$kh"),
      \"dockerHost\": \"unix://$(sock_of "$i")\",
      \"engineId\": $(json_str "$(ndocker "$i" info --format '{{.ID}}')"),
      \"bootId\": $(json_str "$(cat "$dir/boot_id")"),
      \"netns\": \"$(name_of "$i")\",
      \"varLib\": \"$dir/varlib\",
      \"logDir\": \"$LOG/$i\"
    }"
    sep=,
  done
  mv -f "$KNOWN_HOSTS.new" "$KNOWN_HOSTS"
  if [ "$swarm" = 1 ]; then
    for ((i = 2; i <= count; i++)); do workers+="${workers:+, }\"$(name_of "$i")\""; done
    swarm_json="{
    \"managerAddress\": \"$(addr_of 1):$SWARM_PORT\",
    \"clusterId\": $(json_str "$(ndocker 1 info --format '{{.Swarm.Cluster.ID}}')"),
    \"managers\": [\"$(name_of 1)\"],
    \"workers\": [$workers],
    \"workerToken\": $(json_str "$(ndocker 1 swarm join-token -q worker)"),
    \"managerToken\": $(json_str "$(ndocker 1 swarm join-token -q manager)")
  }"
  fi
  atomic_write "$INFO" <<EOF
{
  "count": $count,
  "bridge": "$BRIDGE",
  "gateway": "$GATEWAY",
  "subnet": "$SUBNET",
  "user": "$USER_DEPLOY",
  "keyPath": $(json_str "$KEYS/id_ed25519"),
  "knownHostsPath": $(json_str "$KNOWN_HOSTS"),
  "proxyImage": "${PROXY_IMAGES[0]}",
  "baseImage": "$BASE_IMAGE",
  "actionStateDir": "$ACTION_STATE",
  "nodes": [$nodes
  ],
  "swarm": $swarm_json
}
EOF
}

# ----------------------------------------------------------------------------------------- verify
node_ssh() { # i user command...
  local i=$1 user=$2; shift 2
  timeout 30 ssh -F /dev/null -i "$KEYS/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
    -o ConnectTimeout=10 -o LogLevel=ERROR "$user@$(addr_of "$i")" "$@"
}

# Over SSH with the pinned host key, as the deploy user: each node reports its own boot ID (not
# the runner's, nor another node's) and its own engine.
verify_nodes() {
  local count=$1 i out boot id seen ids=' '
  seen=" $(cat /proc/sys/kernel/random/boot_id) "
  for ((i = 1; i <= count; i++)); do
    out=$(node_ssh "$i" "$USER_DEPLOY" 'cat /proc/sys/kernel/random/boot_id; docker info --format "{{.ID}}"; stat -c "%U:%G %a" /var/lib/bluegreen' 2>&1) ||
      die "ssh $USER_DEPLOY@$(addr_of "$i") failed: $out"
    read -r boot id _ < <(echo "$out" | paste -sd ' ')
    [[ $seen != *" $boot "* ]] || die "node $i reports a boot ID that the runner or another node has: $boot"
    [ "$boot" = "$(cat "$(dir_of "$i")/boot_id")" ] || die "node $i reports boot ID $boot, not its own"
    [ "$id" = "$(ndocker "$i" info --format '{{.ID}}')" ] || die "ssh to node $i reaches another engine ($id)"
    [[ $ids != *" $id "* ]] || die "node $i's engine has the ID of another node's ($id)"
    [[ $out == *"$USER_DEPLOY:docker 2775"* ]] || die "node $i's $ACTION_STATE is not $USER_DEPLOY:docker 2775: $out"
    seen+="$boot " ids+="$id "
  done
}

# ------------------------------------------------------------------------------------ tear down
# Every process whose network or mount namespace is the node's (its daemons, ssh sessions,
# containerd shims), and those in the node engine's cgroups (container processes).
node_pids() {
  local i=$1 net mnt cg
  net=$(stat -L -c %i "/run/netns/$(name_of "$i")" 2>/dev/null || true)
  mnt=''
  ns_mounted "$NSDIR/mnt$i" && mnt=$(stat -L -c %i "$NSDIR/mnt$i" 2>/dev/null || true)
  # One find over /proc (not a readlink per process): ns links read like net:[4026532174].
  find /proc/[0-9]*/ns/net /proc/[0-9]*/ns/mnt -maxdepth 0 \
    \( -lname "net:\[${net:-none}\]" -o -lname "mnt:\[${mnt:-none}\]" \) 2>/dev/null | cut -d/ -f3 || true
  for cg in /sys/fs/cgroup/pids/"$(cgroup_of "$i")" /sys/fs/cgroup/unified/"$(cgroup_of "$i")"; do
    [ ! -d "$cg" ] || find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  done
  return 0
}

stop_node_daemons() {
  local i=$1 pid k pids
  if pid=$(live_pid "$(run_of "$i")/sshd.pid" sshd); then stop_pid "$pid" 10; fi
  if pid=$(live_pid "$(run_of "$i")/docker.pid" dockerd); then stop_pid "$pid" 30; fi
  for ((k = 0; k < 20; k++)); do
    mapfile -t pids < <(node_pids "$i" | sort -u | grep -vx "$$")
    [ ${#pids[@]} -eq 0 ] && return 0
    kill -KILL "${pids[@]}" 2>/dev/null || true
    sleep 0.25
  done
  log "warning: node $i still has processes: ${pids[*]}"
}

teardown_node() {
  local i=$1 d
  log "removing node $i ($(name_of "$i"))"
  unshape_node "$i"
  stop_node_daemons "$i"
  umount "$NSDIR/mnt$i" "$NSDIR/uts$i" 2>/dev/null || true
  rm -f "$NSDIR/mnt$i" "$NSDIR/uts$i"
  ip netns del "$(name_of "$i")" 2>/dev/null || true
  ip link del "$(veth_of "$i")" 2>/dev/null || true
  for d in /sys/fs/cgroup/*/"$(cgroup_of "$i")"; do
    [ ! -d "$d" ] || find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  rm -rf "$(dir_of "$i")" "$(run_of "$i")"
}

# A sysctl this script changed goes back to what it was, unless the sandbox's host engine still
# runs on the same bridge setting and has no record of its own: then that record becomes the
# sandbox's, for its own down to restore.
restore_sysctls() {
  local f key
  for f in "$STATE"/net.bridge.*; do
    [ -e "$f" ] || continue
    key=${f##*/}
    if ip link show bgs-br0 >/dev/null 2>&1 && [ ! -e "$SBX/state/$key" ]; then
      mv -f "$f" "$SBX/state/$key"
      continue
    fi
    sysctl -q -w "$key=$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}

# ------------------------------------------------------------------------------------- shaping
# tc tbf on both ends of node i's link: the root side's veth egress (towards the node) and the
# node's eth0 egress (from it). This kernel has no netem: delay comes from sandbox/relay.ts.
shape_node() {
  local i=$1 rate=$2 name veth burst
  [[ $rate =~ ^[0-9]+(bit|kbit|mbit|gbit)$ ]] || die "rate must look like 20mbit (got $rate)"
  name=$(name_of "$i") veth=$(veth_of "$i")
  ip link show "$veth" >/dev/null 2>&1 || die "node $i is not up"
  # Bucket: 10 ms at the rate, at least 32 KiB (tbf must hold a few full-size frames to keep up).
  burst=$(($(rate_bits "$rate") / 8 / 100))
  [ "$burst" -ge 32768 ] || burst=32768
  tc qdisc replace dev "$veth" root tbf rate "$rate" burst "$burst" latency 50ms
  tc -n "$name" qdisc replace dev eth0 root tbf rate "$rate" burst "$burst" latency 50ms
  mkdir -p "$SHAPES"
  echo "$rate" >"$SHAPES/$i"
}

rate_bits() {
  local n=${1%%[a-z]*} unit=${1##*[0-9]}
  case $unit in
    bit) echo "$n" ;; kbit) echo $((n * 1000)) ;; mbit) echo $((n * 1000000)) ;; gbit) echo $((n * 1000000000)) ;;
  esac
}

unshape_node() {
  local i=$1
  tc qdisc del dev "$(veth_of "$i")" root 2>/dev/null || true
  tc -n "$(name_of "$i")" qdisc del dev eth0 root 2>/dev/null || true
  rm -f "$SHAPES/$i"
}

# --------------------------------------------------------------------------------------- commands
usage() {
  echo "usage: $0 up [--count N] [--swarm] | down | status | info | shape <i> <rate> | unshape [<i>]" >&2
  exit 64
}

cmd_up() {
  local count=3 swarm=0 t0 i
  while [ $# -gt 0 ]; do
    case $1 in
      --count) [ $# -ge 2 ] || usage; count=$2; shift 2 ;;
      --count=*) count=${1#*=}; shift ;;
      --swarm) swarm=1; shift ;;
      *) usage ;;
    esac
  done
  if ! [[ $count =~ ^[0-9]+$ ]] || [ "$count" -lt 1 ] || [ "$count" -gt $MAX_NODES ]; then die "--count must be 1..$MAX_NODES"; fi
  t0=$(now_us)
  preflight up
  take_lock
  mkdir -p "$NODES" "$STATE" "$LOG"
  step ensure_packages "${PACKAGES[@]}"
  step ensure_sandbox
  for i in $(existing_nodes); do
    if [ "$i" -gt "$count" ]; then CHANGED=1; teardown_node "$i"; fi
  done
  step ensure_bridge
  step ensure_bridge_nf
  step ensure_forward_rule
  step ensure_ns_dir
  ensure_nodes "$count"
  step ensure_base_image "$count"
  # A swarm from an earlier `up --swarm` is kept (and grown) by a plain `up`; info.json's swarm
  # says whether there is one.
  if [ "$swarm" = 1 ] || [ "$(swarm_state 1)" = active ]; then
    swarm=1
    step ensure_swarm "$count"
  fi
  step write_info "$count" "$swarm"
  [ $CHANGED = 0 ] || step verify_nodes "$count"
  log "$count node(s) up$([ "$swarm" = 1 ] && echo ' in a swarm') in $(elapsed "$t0")s ($([ $CHANGED = 1 ] && echo cold || echo warm)); info: $INFO"
}

cmd_down() {
  preflight down
  take_lock
  local i pid
  # Each engine takes 2-3 s to stop its containers: let them all start at once.
  for i in $(existing_nodes); do
    if pid=$(live_pid "$(run_of "$i")/docker.pid" dockerd); then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for i in $(existing_nodes); do teardown_node "$i"; done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
  if [ -e "$STATE/forward-rule" ]; then
    for ((i = 0; i < 10; i++)); do iptables -w 10 -D FORWARD "${FORWARD_RULE[@]}" 2>/dev/null || break; done
  fi
  restore_sysctls
  if mountpoint -q "$NSDIR"; then umount "$NSDIR"; fi
  rm -rf "$NSDIR" "$SHAPES" "$NODES"
  log "down"
}

cmd_status() {
  local ok=0 i pid count=0
  [ -s "$INFO" ] && count=$(sed -n 's/^  "count": \([0-9]*\),/\1/p' "$INFO")
  if ip link show "$BRIDGE" >/dev/null 2>&1; then echo "bridge:  $BRIDGE up ($GATEWAY/24)"
  else echo "bridge:  $BRIDGE DOWN"; ok=1; fi
  echo "bridge-nf-call-iptables: $(sysctl -n net.bridge.bridge-nf-call-iptables 2>/dev/null || echo n/a)"
  for i in $(existing_nodes); do
    printf 'node %s (%s, %s):\n' "$i" "$(name_of "$i")" "$(addr_of "$i")"
    if [ -e "/run/netns/$(name_of "$i")" ] && ns_mounted "$NSDIR/mnt$i"; then echo "  namespaces: up"
    else echo "  namespaces: DOWN"; ok=1; fi
    if node_engine_up "$i"; then
      echo "  engine: up (pid $(cat "$(run_of "$i")/docker.pid" 2>/dev/null), unix://$(sock_of "$i"), swarm $(swarm_state "$i"))"
    else echo "  engine: DOWN"; ok=1; fi
    if pid=$(live_pid "$(run_of "$i")/sshd.pid" sshd) && sshd_listening "$i"; then echo "  sshd: up (pid $pid, $(addr_of "$i"):22)"
    else echo "  sshd: DOWN"; ok=1; fi
    [ -s "$SHAPES/$i" ] && echo "  shaped: $(cat "$SHAPES/$i") each way"
  done
  [ "$count" -gt 0 ] || { echo "nodes: none"; ok=1; }
  if [ -s "$INFO" ]; then echo "info: $INFO"; else echo "info: MISSING"; ok=1; fi
  return $ok
}

cmd_info() {
  [ -s "$INFO" ] || die "no $INFO; run: $0 up"
  cat "$INFO"
}

cmd_shape() {
  if [ $# != 2 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then usage; fi
  preflight shape
  take_lock
  shape_node "$1" "$2"
}

cmd_unshape() {
  preflight unshape
  take_lock
  local i
  if [ $# -ge 1 ]; then unshape_node "$1"; return; fi
  for i in $(existing_nodes); do unshape_node "$i"; done
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  info) cmd_info ;;
  shape) shift; cmd_shape "$@" ;;
  unshape) shift; cmd_unshape "$@" ;;
  _setup) setup_inside "$2" ;; # internal: run by ensure_mount_ns inside the new namespaces
  *) usage ;;
esac

# shellcheck shell=bash disable=SC2034 # sourced by sandbox.sh, which reads its variables and sets CHANGED
# Sourced by sandbox.sh: a third Docker engine, on Docker's containerd image store (the default
# of new Docker 29 installs), so that the e2e suite can deploy from and to that store for real;
# and a fourth, the same Docker 26 on the classic store, whose docker save writes the OCI layout
# of Docker 25-28 (layer blobs named by their diff IDs), and which loads what a runner leaves out
# the way Docker 25-28 hosts do.
# Debian's bookworm docker.io (20.10) predates the store, so this engine is trixie's docker.io
# (26.x, with the containerd snapshotter switched on), in a debootstrap tree of its own, run in a
# mount namespace whose root is that tree (pivot_root: runc's exec misbehaves under a plain
# chroot). Its socket and the action's state root are bound in at the paths they have outside,
# so sshd sessions and the proxy's config mounts agree with it. Reached as the ssh user
# $USER_CONTAINERD (host side) or through $CTD_SOCK directly (runner side); the classic engine as
# $USER_CLASSIC or through $CLS_SOCK.

CTD_TREE=$SBX/trixie
CTD_RUN=$RUN/containerd
CTD_SOCK=$CTD_RUN/docker.sock
CTD_DOCKER_HOST=unix://$CTD_SOCK
CTD_PID=$CTD_RUN/docker.pid
CTD_CONTAINERD_PID=$CTD_RUN/containerd.pid
CTD_BRIDGE=bgs-ctd0
CTD_BRIDGE_ADDR=10.215.0.1/24
CTD_POOL=base=10.216.0.0/16,size=24
CTD_PACKAGES=docker.io,docker-cli,docker-buildx,containerd,runc,tini,iptables
USER_CONTAINERD=bgs-containerd
USER_CLASSIC=bgs-classic
# The classic-store engine: its socket lives under $CTD_RUN, which is bound at the same path in
# the tree's mount namespace and outside it.
CLS_RUN=$CTD_RUN/classic
CLS_SOCK=$CLS_RUN/docker.sock
CLS_DOCKER_HOST=unix://$CLS_SOCK
CLS_PID=$CLS_RUN/docker.pid
CLS_BRIDGE=bgs-cls0
CLS_BRIDGE_ADDR=10.217.0.1/24
CLS_POOL=base=10.218.0.0/16,size=24

cdocker() { env -u DOCKER_CONTEXT DOCKER_HOST="$CTD_DOCKER_HOST" timeout "${DOCKER_TIMEOUT:-60}" docker "$@"; }
containerd_engine_up() { DOCKER_TIMEOUT=20 cdocker info >/dev/null 2>&1; }

# Debian's packages only, from Debian's own mirror.
ensure_trixie_tree() {
  [ "$(cat "$CTD_TREE/.complete" 2>/dev/null)" = "$CTD_PACKAGES" ] && return 0
  CHANGED=1
  stop_containerd_engine
  log "debootstrapping Debian trixie with docker.io into $CTD_TREE (once)"
  rm -rf "$CTD_TREE"
  debootstrap --variant=minbase --include="$CTD_PACKAGES" trixie "$CTD_TREE" http://deb.debian.org/debian \
    >"$LOG/debootstrap.log" 2>&1 || { tail_log "$LOG/debootstrap.log"; die "debootstrap of trixie failed"; }
  mkdir -p "$CTD_TREE/etc/docker" "$CTD_TREE/etc/containerd"
  cat >"$CTD_TREE/etc/docker/daemon.json" <<'EOF'
{ "features": { "containerd-snapshotter": true } }
EOF
  cat >"$CTD_TREE/etc/containerd/config.toml" <<EOF
version = 2
root = "/var/lib/containerd"
state = "$CTD_RUN/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTD_RUN/containerd.sock"
[ttrpc]
  address = "$CTD_RUN/containerd.sock.ttrpc"
EOF
  echo "$CTD_PACKAGES" >"$CTD_TREE/.complete"
}

# Runs inside the new mount namespace: bind what the engine shares with this machine, make the
# tree the root, then start containerd and dockerd there (both outlive this shell).
# shellcheck disable=SC2016 # a script for the namespace's own shell, expanded there
CTD_INSIDE='
set -eu
tree=$1 run=$2 state=$3 bridge=$4 pool=$5 pidfile=$6 cpidfile=$7
mount --bind "$tree" "$tree"
for d in proc sys dev "${run#/}" "${state#/}"; do mkdir -p "$tree/$d"; mount --rbind "/$d" "$tree/$d"; done
mkdir -p "$tree/.old"; cd "$tree"; pivot_root . .old; cd /
umount -l /.old
rm -f "$run/containerd.sock" "$run/docker.sock"
/usr/bin/containerd --config /etc/containerd/config.toml </dev/null >>"$run/containerd.log" 2>&1 &
echo $! >"$cpidfile"
for _ in $(seq 1 120); do [ -S "$run/containerd.sock" ] && break; sleep 0.25; done
exec /usr/sbin/dockerd --config-file /etc/docker/daemon.json --containerd "$run/containerd.sock" \
  --host "unix://$run/docker.sock" --data-root /var/lib/docker --exec-root "$run/exec" \
  --pidfile "$pidfile" --bridge "$bridge" --default-address-pool "$pool" \
  --iptables=false --ip6tables=false --ip-masq=false --userland-proxy=true </dev/null >>"$run/dockerd.log" 2>&1
'

ensure_containerd_engine() {
  ensure_trixie_tree
  containerd_engine_up && return 0
  CHANGED=1
  stop_containerd_engine
  ensure_bridge "$CTD_BRIDGE" "$CTD_BRIDGE_ADDR"
  mkdir -p "$CTD_RUN" "$ACTION_STATE"
  rm -f "$CTD_RUN/dockerd.log" "$CTD_RUN/containerd.log"
  # shellcheck disable=SC2016 # dpkg-query's own format
  log "starting the containerd-store engine (Docker $(chroot "$CTD_TREE" dpkg-query -W -f='${Version}' docker.io)) on $CTD_SOCK"
  local docker0
  docker0=$(ip -o -4 addr show dev docker0 2>/dev/null | awk '{print $4}' || true)
  spawn_daemon "$LOG/containerd-engine.log" unshare --mount --propagation private -- bash -c "$CTD_INSIDE" inside \
    "$CTD_TREE" "$CTD_RUN" "$ACTION_STATE" "$CTD_BRIDGE" "$CTD_POOL" "$CTD_PID" "$CTD_CONTAINERD_PID"
  wait_ready containerd_engine_up "$!" 90 "$CTD_RUN/dockerd.log" "$CTD_RUN/containerd.log"
  # The tree has its own docker group (another GID): the deploy user is in this machine's.
  chgrp docker "$CTD_SOCK" && chmod 660 "$CTD_SOCK"
  restore_docker0 "$docker0"
  cdocker info --format '{{json .DriverStatus}}' | grep -q io.containerd.snapshotter ||
    die "the containerd-store engine does not run the containerd snapshotter"
}

# The proxy image, as the host engine has it, on an engine that serves as a host.
copy_proxy_image() { # docker-function engine-name
  "$1" image inspect "$PROXY_IMAGE" >/dev/null 2>&1 && return 0
  CHANGED=1
  hdocker save "$PROXY_IMAGE" | DOCKER_TIMEOUT=120 "$1" load >/dev/null || die "could not load $PROXY_IMAGE into the $2 engine"
}
ensure_containerd_proxy_image() { copy_proxy_image cdocker containerd-store; }
ensure_classic_proxy_image() { copy_proxy_image clsdocker classic-store; }

# Removes an engine's containers and networks before it stops, as a host leaves them.
clear_engine() { # docker-function
  local ids
  mapfile -t ids < <("$1" ps -aq 2>/dev/null || true)
  [ ${#ids[@]} -eq 0 ] || DOCKER_TIMEOUT=120 "$1" rm -f "${ids[@]}" >/dev/null 2>&1 || true
  "$1" network prune -f >/dev/null 2>&1 || true
}

stop_containerd_engine() {
  local pid
  stop_classic_engine # it runs on this engine's containerd, in its mount namespace
  if containerd_engine_up; then clear_engine cdocker; fi
  if pid=$(live_pid "$CTD_PID" dockerd); then stop_pid "$pid" 30; fi
  if pid=$(live_pid "$CTD_CONTAINERD_PID" containerd); then stop_pid "$pid" 10; fi
  rm -f "$CTD_SOCK" "$CTD_PID" "$CTD_CONTAINERD_PID"
  delete_bridges 10.216. "$CTD_BRIDGE"
}

clsdocker() { env -u DOCKER_CONTEXT DOCKER_HOST="$CLS_DOCKER_HOST" timeout "${DOCKER_TIMEOUT:-60}" docker "$@"; }
classic_engine_up() { DOCKER_TIMEOUT=20 clsdocker info >/dev/null 2>&1; }

# Started inside the containerd-store engine's mount namespace (its tree's binaries and
# libraries), on that engine's containerd under a namespace of its own.
ensure_classic_engine() {
  classic_engine_up && return 0
  CHANGED=1
  stop_classic_engine
  ensure_bridge "$CLS_BRIDGE" "$CLS_BRIDGE_ADDR"
  mkdir -p "$CLS_RUN"
  echo '{}' >"$CTD_TREE/etc/docker/classic.json"
  log "starting the classic-store Docker 26 engine on $CLS_SOCK"
  local docker0
  docker0=$(ip -o -4 addr show dev docker0 2>/dev/null | awk '{print $4}' || true)
  spawn_daemon "$LOG/classic-engine.log" nsenter --mount --target "$(cat "$CTD_PID")" -- \
    /usr/sbin/dockerd --config-file /etc/docker/classic.json --containerd "$CTD_RUN/containerd.sock" \
    --containerd-namespace bluegreen-classic --containerd-plugins-namespace bluegreen-classic-plugins \
    --host "$CLS_DOCKER_HOST" --data-root /var/lib/docker-classic --exec-root "$CLS_RUN/exec" \
    --pidfile "$CLS_PID" --bridge "$CLS_BRIDGE" --default-address-pool "$CLS_POOL" \
    --iptables=false --ip6tables=false --ip-masq=false --userland-proxy=true
  wait_ready classic_engine_up "$!" 60 "$LOG/classic-engine.log"
  chgrp docker "$CLS_SOCK" && chmod 660 "$CLS_SOCK"
  restore_docker0 "$docker0"
  clsdocker info --format '{{.Driver}} {{json .DriverStatus}}' | grep -v io.containerd.snapshotter | grep -q '^overlay2 ' ||
    die "the classic-store engine does not run the overlay2 store"
}

stop_classic_engine() {
  local pid
  if classic_engine_up; then clear_engine clsdocker; fi
  if pid=$(live_pid "$CLS_PID" dockerd); then stop_pid "$pid" 30; fi
  rm -f "$CLS_SOCK" "$CLS_PID"
  delete_bridges 10.218. "$CLS_BRIDGE"
}

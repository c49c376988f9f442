#!/usr/bin/env bash
# Local sandbox for the bluegreen deploy action: a real OpenSSH server on 127.0.0.1 in front of a
# SECOND Docker engine (the "host"), next to the runner's own engine. Used by the e2e tests, the
# benchmark and the demo. Commands: up | down | status | info.
set -euo pipefail
umask 022 # the rootfs tars and keys must not depend on the caller's umask

SBX=/var/lib/bluegreen-sandbox            # persistent state: keys, rootfs tars, host engine data
RUN=/run/bluegreen-sandbox                # sockets and pid files
LOG=/var/log/bluegreen-sandbox
LOCK=/run/lock/bluegreen-sandbox.lock
INFO=$SBX/info.json
ACTION_STATE=/var/lib/bluegreen          # what the action itself leaves on the host

SSH_PORT=${BLUEGREEN_SANDBOX_SSH_PORT:-2222}
RUNNER_SOCK=${BLUEGREEN_SANDBOX_RUNNER_SOCK:-/var/run/docker.sock}
HOST_SOCK=$RUN/docker.sock
HOST_DOCKER_HOST=unix://$HOST_SOCK
HOST_DATA=$SBX/docker
HOST_EXEC=$RUN/exec
HOST_PID=$RUN/docker.pid
HOST_CONFIG=$SBX/daemon.json             # not /etc/docker/daemon.json, which is the runner engine's
SSHD_PID=$RUN/sshd.pid
SSH_DIR=$SBX/ssh
KEYS=$SBX/keys
PATHS=$SBX/paths
ROOTFS=$SBX/rootfs
STATE=$SBX/state                         # what this script started or changed, so down undoes only that

# The host engine's own bridge and pool: 10.213/16 for user-defined networks, 10.214.0/24 for the
# default bridge. Neither overlaps the runner engine's defaults (172.17-31/16, 192.168/16).
BRIDGE=bgs-br0
BRIDGE_ADDR=10.214.0.1/24
ADDRESS_POOL=base=10.213.0.0/16,size=24

PROXY_IMAGE=nginx:alpine
PROXY_IMAGE_ALT=bluegreen-sandbox/nginx:test
USER_NODOCKER=bgs-nodocker
USER_NODOCKERCLI=bgs-nodockercli
USER_NOBASH=bgs-nobash
USER_DEPLOY=bgs-deploy                   # a plain deploy user in the docker group, as the README advises
# Runner users, who run the action rather than log in: in the docker group, with passwordless
# sudo as on GitHub's hosted runners, and without it as on a locked-down self-hosted runner.
USER_RUNNER=bgs-runner
USER_RUNNER_NOSUDO=bgs-runner-nosudo
PASSPHRASE='correct horse'
PACKAGES=(docker.io openssh-server openssh-client busybox-static zstd iproute2 iptables util-linux procps debootstrap sudo)

CHANGED=0   # set when a step did real work; the slower checks run only then

# shellcheck source=containerd-engine.sh
. "$(dirname "${BASH_SOURCE[0]}")/containerd-engine.sh"
. "$(dirname "${BASH_SOURCE[0]}")/bridge.sh"

log() { printf 'sandbox: %s\n' "$*" >&2; }
die() { printf 'sandbox: error: %s\n' "$*" >&2; exit 1; }
refuse() { printf 'sandbox: %s\n' "$*" >&2; exit 2; }

# Either engine through the one client, bounded in time; a DOCKER_CONTEXT from the caller's shell
# must not send us elsewhere.
hdocker() { env -u DOCKER_CONTEXT DOCKER_HOST="$HOST_DOCKER_HOST" timeout "${DOCKER_TIMEOUT:-60}" docker "$@"; }
rdocker() { env -u DOCKER_CONTEXT DOCKER_HOST="unix://$RUNNER_SOCK" timeout "${DOCKER_TIMEOUT:-60}" docker "$@"; }

# stdin → file via rename, so concurrent readers (sshd, tests) never see a half-written file.
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

# Run "$@" detached: own session, no inherited stdio and above all not fd 9 (the lock), or the
# daemon would hold the lock and the caller's pipes open forever.
spawn_daemon() {
  local logfile=$1; shift
  # Only stdio goes along: a lock its caller holds (flock(1) leaves the lock's descriptor open in
  # what it runs, this script's own is 9) would otherwise live as long as the daemon does.
  # shellcheck disable=SC2016 # expanded by that bash
  setsid bash -c 'for fd in /proc/$$/fd/*; do fd=${fd##*/}; if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi; done 2>/dev/null; exec "$@"' \
    spawn_daemon "$@" </dev/null >>"$logfile" 2>&1 &
  disown
}

# ---------------------------------------------------------------------------------------- checks
preflight() {
  [ "$(uname -s)" = Linux ] || refuse "needs Linux (this is $(uname -s)); run it on a Linux machine or in CI"
  [ "$(id -u)" = 0 ] || refuse "needs root (it starts dockerd and sshd and adds users); run: sudo $0 ${1:-up}"
  command -v apt-get >/dev/null 2>&1 || refuse "needs a Debian/Ubuntu machine with apt-get"
}

take_lock() {
  mkdir -p "$(dirname "$LOCK")"
  exec 9>"$LOCK"
  flock -w 900 9 || die "another sandbox.sh held $LOCK for 15 minutes"
}

# -------------------------------------------------------------------------------------- packages
missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# Installs with services kept down: policy-rc.d 101 stops postinst scripts starting the machine's
# own sshd or dockerd.
ensure_packages() {
  local missing created_policy=0
  mapfile -t missing < <(missing_packages "$@")
  [ ${#missing[@]} -eq 0 ] && return 0
  CHANGED=1
  log "installing ${missing[*]}"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  local rc=0
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >&2 || rc=$?
  [ $created_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ $rc = 0 ] || die "apt-get install ${missing[*]} failed (exit $rc)"
}

# ---------------------------------------------------------------------------------------- engines
runner_up() { DOCKER_TIMEOUT=20 rdocker info >/dev/null 2>&1; }
host_up() { DOCKER_TIMEOUT=20 hdocker info >/dev/null 2>&1; }

# Wait (bounded) for a daemon: $1 = check function, $2 = pid, $3 = seconds, then its log files.
wait_ready() {
  local check=$1 pid=$2 secs=$3 i logfile
  shift 3
  for ((i = 0; i < secs * 4; i++)); do
    "$check" && return 0
    alive "$pid" || { for logfile; do tail_log "$logfile"; done; die "$check: daemon (pid $pid) exited during startup"; }
    sleep 0.25
  done
  for logfile; do tail_log "$logfile"; done
  die "$check: not ready after ${secs}s"
}

# CI machines have no runner engine; a developer's may. Start one only if none answers, and
# remember it so that `down` stops only what `up` started.
ensure_runner_engine() {
  runner_up && return 0
  CHANGED=1
  log "starting the runner engine on $RUNNER_SOCK"
  local logfile=$LOG/runner-dockerd.log
  spawn_daemon "$logfile" dockerd -H "unix://$RUNNER_SOCK"
  local pid=$!
  echo "$pid" >"$STATE/runner-started"
  wait_ready runner_up "$pid" 60 "$logfile"
}

# dockerd -b wants an existing bridge; --bridge=none would instead delete docker0.
ensure_bridge() { # name address (default: the host engine's)
  local name=${1:-$BRIDGE} addr=${2:-$BRIDGE_ADDR}
  if ! ip link show "$name" >/dev/null 2>&1; then
    CHANGED=1
    ip link add "$name" type bridge
  fi
  pin_bridge_mac "$name"
  ip -4 addr show dev "$name" | grep -q "inet $addr" || ip addr add "$addr" dev "$name"
  ip link set "$name" up
}

# br_netfilter would send bridged container-to-container packets through iptables FORWARD, whose
# policy the runner engine set to DROP; the host engine runs without iptables, so switch that off.
ensure_bridge_nf() {
  local key value
  for key in net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables; do
    value=$(sysctl -n "$key" 2>/dev/null) || continue
    [ "$value" = 0 ] && continue
    [ -e "$STATE/$key" ] || echo "$value" >"$STATE/$key"
    sysctl -q -w "$key=0"
  done
}

# Insurance for when something turns br_netfilter back on (the runner engine does for a network
# with ICC off): accept forwarding within the host engine's own ranges ahead of the DROP policy.
FORWARD_RULES=("-s 10.213.0.0/16 -d 10.213.0.0/16 -j ACCEPT" "-s 10.214.0.0/24 -d 10.214.0.0/24 -j ACCEPT")
ensure_forward_rules() {
  local rule
  for rule in "${FORWARD_RULES[@]}"; do
    # shellcheck disable=SC2086 # a rule is a word list
    iptables -w 10 -C FORWARD $rule 2>/dev/null || iptables -w 10 -I FORWARD 1 $rule ||
      log "warning: could not add iptables FORWARD rule '$rule' (bridge-nf-call-iptables=0 still applies)"
  done
}

remove_forward_rules() {
  local rule i
  for rule in "${FORWARD_RULES[@]}"; do
    # shellcheck disable=SC2086
    for ((i = 0; i < 10; i++)); do iptables -w 10 -D FORWARD $rule 2>/dev/null || break; done
  done
}

ensure_host_engine() {
  if host_up; then return 0; fi
  CHANGED=1
  local logfile=$LOG/host-dockerd.log pid
  if pid=$(live_pid "$HOST_PID" dockerd); then
    log "host engine (pid $pid) exists but does not answer; waiting for it"
    wait_ready host_up "$pid" 60 "$logfile"
    return 0
  fi
  getent group docker >/dev/null || groupadd --system docker
  mkdir -p "$HOST_DATA" "$HOST_EXEC"
  # Its own trust key gives it its own `docker info` ID: by default both engines share
  # /etc/docker/key.json and look like the same engine. (A config-file-only setting in 20.10.)
  printf '{ "deprecated-key-path": "%s" }\n' "$SBX/engine-key.json" >"$HOST_CONFIG"
  log "starting the host engine on $HOST_SOCK"
  # --iptables=false: a second dockerd with iptables on flushes and rebuilds the shared DOCKER
  # chains, breaking the runner engine. Published ports still work through docker-proxy.
  # Own containerd namespace in case both ever share a system containerd.
  [ -f "$logfile" ] && mv -f "$logfile" "$logfile.1" # so a failure shows this attempt's log only
  spawn_daemon "$logfile" dockerd --config-file "$HOST_CONFIG" \
    --host "$HOST_DOCKER_HOST" --group docker \
    --data-root "$HOST_DATA" --exec-root "$HOST_EXEC" --pidfile "$HOST_PID" \
    --bridge "$BRIDGE" --default-address-pool "$ADDRESS_POOL" \
    --iptables=false --ip-masq=false --userland-proxy=true \
    --containerd-namespace bluegreen-sandbox --containerd-plugins-namespace bluegreen-sandbox-plugins
  local docker0
  docker0=$(ip -o -4 addr show dev docker0 2>/dev/null | awk '{print $4}' || true)
  wait_ready host_up "$!" 90 "$logfile"
  restore_docker0 "$docker0"
}

# dockerd 20.10 with --default-address-pool deletes the interface named docker0 when it starts
# and finds its old default network (removeDefaultBridgeInterface), though ours is $BRIDGE:
# that docker0 is the runner engine's. Put it back as it was; the runner engine finds its bridge
# by name, and its iptables rules name it too.
restore_docker0() { # addresses docker0 had before, e.g. 172.17.0.1/16
  local addr
  [ -n "$1" ] || return 0
  ip link show docker0 >/dev/null 2>&1 && return 0
  log "the host engine deleted the runner engine's docker0; recreating it"
  ip link add docker0 type bridge
  pin_bridge_mac docker0
  for addr in $1; do ip addr add "$addr" dev docker0; done
  ip link set docker0 up
}

# One that an older sandbox.sh recreated has no fixed MAC yet.
pin_docker0() { ! ip link show docker0 >/dev/null 2>&1 || pin_bridge_mac docker0; }

# ------------------------------------------------------------------------------------- ssh + users
gen_key() { # file type passphrase [extra args]
  [ -s "$1" ] && return 0
  CHANGED=1
  ssh-keygen -q -t "$2" -N "$3" -C "bluegreen-sandbox" -f "$1" "${@:4}" </dev/null
}

ensure_keys() {
  mkdir -p "$KEYS" "$SSH_DIR/authorized_keys"
  chmod 700 "$KEYS"
  gen_key "$SSH_DIR/ssh_host_ed25519_key" ed25519 ''
  gen_key "$SSH_DIR/ssh_host_rsa_key" rsa '' -b 3072
  gen_key "$KEYS/id_ed25519" ed25519 ''
  gen_key "$KEYS/id_ed25519_pass" ed25519 "$PASSPHRASE"
  gen_key "$KEYS/id_rsa" rsa '' -b 3072 -m PEM
  local kind type key _ user
  for kind in ed25519 rsa; do
    read -r type key _ <"$SSH_DIR/ssh_host_${kind}_key.pub"
    echo "[127.0.0.1]:$SSH_PORT $type $key"
  done | atomic_write "$KEYS/known_hosts"
  cat "$KEYS/id_ed25519.pub" "$KEYS/id_ed25519_pass.pub" "$KEYS/id_rsa.pub" | atomic_write "$SSH_DIR/authorized_keys/root"
  for user in "$USER_NODOCKER" "$USER_NODOCKERCLI" "$USER_NOBASH" "$USER_DEPLOY" "$USER_CONTAINERD" "$USER_CLASSIC"; do
    atomic_write "$SSH_DIR/authorized_keys/$user" <"$KEYS/id_ed25519.pub"
  done
}

# Creates or corrects a test user. Password '*' rather than useradd's '!': with UsePAM no, sshd
# refuses key logins to accounts whose password starts with '!'.
ensure_user() { # name shell in_docker_group(yes|no)
  local name=$1 shell=$2 docker=$3
  if ! getent passwd "$name" >/dev/null; then
    CHANGED=1
    useradd -m -s "$shell" "$name"
  fi
  [ "$(getent passwd "$name" | cut -d: -f7)" = "$shell" ] || usermod -s "$shell" "$name"
  [ "$(getent shadow "$name" | cut -d: -f2)" = '*' ] || usermod -p '*' "$name"
  if [ "$docker" = yes ]; then
    id -nG "$name" | tr ' ' '\n' | grep -qx docker || usermod -aG docker "$name"
  else
    id -nG "$name" | tr ' ' '\n' | grep -qx docker && gpasswd -d "$name" docker >/dev/null
  fi
  return 0
}

# The README's one-time set-up for a non-root deploy user: it owns the action's state root. The
# proxy folder is shared (setgid, group docker) because a root-run test creates networks there too.
# What root runs left behind goes back to the deploy user, so a later run as that user can write it.
ensure_deploy_state_dir() {
  install -d -o "$USER_DEPLOY" -g docker -m 2775 "$ACTION_STATE" "$ACTION_STATE/_proxy"
  find "$ACTION_STATE" ! -user "$USER_DEPLOY" -exec chown "$USER_DEPLOY:docker" {} + 2>/dev/null || true
}

# A PATH directory with a symlink to every command on the standard PATH except those matching
# $2 (an extended regex on the name), first directory winning as PATH lookup would.
build_path_dir() { # dir exclude-regex
  local dir=$1 exclude=$2 d f name
  [ -e "$dir/.complete" ] && return 0
  CHANGED=1
  local tmp="$dir.tmp.$$" targets=()
  local -A seen=()
  for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
    [ -d "$d" ] || continue
    for f in "$d"/*; do
      name=${f##*/}
      [[ -x $f && ! -d $f && -z ${seen[$name]:-} && ! $name =~ $exclude ]] || continue
      seen[$name]=1
      targets+=("$f")
    done
  done
  rm -rf "$tmp" && mkdir -p "$tmp"
  ln -s -t "$tmp" -- "${targets[@]}" # one ln for ~1300 links: a fork each took seconds
  touch "$tmp/.complete"
  rm -rf "$dir" && mv "$tmp" "$dir"
}

# Passwordless sudo for the runner user, as GitHub's hosted runners give theirs. sudo reads only
# a file of mode 0440 (or stricter) that root owns, so it is written whole before it is moved in.
ensure_runner_sudo() {
  local file=/etc/sudoers.d/bluegreen-sandbox-runner line="$USER_RUNNER ALL=(root) NOPASSWD: ALL"
  [ "$(cat "$file" 2>/dev/null)" = "$line" ] && return 0
  CHANGED=1
  printf '%s\n' "$line" >"$file.tmp.$$" && chmod 0440 "$file.tmp.$$" && mv -f "$file.tmp.$$" "$file"
}

ensure_users() {
  ensure_user "$USER_NODOCKER" /bin/bash no
  ensure_user "$USER_NODOCKERCLI" /bin/bash yes
  ensure_user "$USER_NOBASH" /bin/sh yes
  ensure_user "$USER_DEPLOY" /bin/bash yes
  ensure_user "$USER_CONTAINERD" /bin/bash yes
  ensure_user "$USER_CLASSIC" /bin/bash yes
  ensure_user "$USER_RUNNER" /bin/bash yes
  ensure_user "$USER_RUNNER_NOSUDO" /bin/bash yes
  ensure_runner_sudo
  ensure_deploy_state_dir
  mkdir -p "$PATHS"
  build_path_dir "$PATHS/nodockercli" '^docker'
  build_path_dir "$PATHS/nobash" '^r?bash$'
}

write_sshd_config() {
  cat <<EOF
# Generated by sandbox/sandbox.sh: the bluegreen sandbox "host", not this machine's own sshd.
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $SSH_DIR/ssh_host_ed25519_key
HostKey $SSH_DIR/ssh_host_rsa_key
PidFile $SSHD_PID
AuthorizedKeysFile $SSH_DIR/authorized_keys/%u
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

# sshd keeps the first SetEnv it meets and ignores later ones, even in a later Match, so each
# special user gets its full list before the catch-all block.
# Root is only the tests' own admin login. SHLVL=1 makes its bash skip ~/.bashrc, which bash
# sources under sshd: this machine's root .bashrc runs pyenv, and a stale pyenv lock stalls
# every root login for 60 s.
Match User root
    SetEnv DOCKER_HOST=$HOST_DOCKER_HOST SHLVL=1
Match User $USER_NODOCKERCLI
    SetEnv DOCKER_HOST=$HOST_DOCKER_HOST PATH=$PATHS/nodockercli
Match User $USER_NOBASH
    SetEnv DOCKER_HOST=$HOST_DOCKER_HOST PATH=$PATHS/nobash
Match User $USER_CONTAINERD
    SetEnv DOCKER_HOST=$CTD_DOCKER_HOST
Match User $USER_CLASSIC
    SetEnv DOCKER_HOST=$CLS_DOCKER_HOST
Match all
    SetEnv DOCKER_HOST=$HOST_DOCKER_HOST
EOF
}

sshd_listening() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SSH_PORT" 2>/dev/null; }

ensure_sshd() {
  local conf=$SSH_DIR/sshd_config pid logfile=$LOG/sshd.log
  write_sshd_config >"$conf.new"
  if pid=$(live_pid "$SSHD_PID" "$conf"); then
    if cmp -s "$conf.new" "$conf"; then rm -f "$conf.new"; return 0; fi
    log "sshd config changed; restarting sshd"
    stop_pid "$pid" 10
  fi
  CHANGED=1
  mv "$conf.new" "$conf"
  mkdir -p /run/sshd && chmod 0755 /run/sshd # sshd's privilege separation dir
  /usr/sbin/sshd -t -f "$conf" || die "sshd rejected $conf"
  log "starting sshd on 127.0.0.1:$SSH_PORT"
  [ -f "$logfile" ] && mv -f "$logfile" "$logfile.1"
  # -D keeps it in the foreground of our detached child: a daemonizing sshd binds its port only
  # after forking, so a taken port would look like a slow start.
  spawn_daemon "$logfile" /usr/sbin/sshd -D -f "$conf" -E "$logfile"
  pid=$!
  local i
  for ((i = 0; i < 40; i++)); do
    alive "$pid" || { tail_log "$logfile"; die "sshd exited during startup (port $SSH_PORT taken?)"; }
    if live_pid "$SSHD_PID" "$conf" >/dev/null && sshd_listening; then return 0; fi
    sleep 0.25
  done
  tail_log "$logfile"
  die "sshd is not listening on 127.0.0.1:$SSH_PORT after 10s"
}

# ---------------------------------------------------------------------------------------- images
# Deterministic tar (fixed order, owner and mtime) so that rebuilt images get the same layers.
det_tar() { tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf - . | atomic_write "$2"; }

populate_busybox() { # rootdir
  local r=$1 a
  mkdir -p "$r/bin" "$r/etc" "$r/root" "$r/run" "$r/var" "$r/tmp" "$r/usr/bin" "$r/usr/sbin" "$r/sbin"
  chmod 1777 "$r/tmp"
  ln -sfn ../run "$r/var/run"
  cp /bin/busybox "$r/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$r/etc/group"
}

ensure_busybox_rootfs() {
  [ -s "$ROOTFS/busybox.tar" ] && return 0
  CHANGED=1
  local work; work=$(mktemp -d "$SBX/tmp/busybox.XXXXXX")
  populate_busybox "$work/root"
  det_tar "$work/root" "$ROOTFS/busybox.tar"
  rm -rf "$work"
}

# Debian's nginx unpacked (never installed: no service may start here) plus its libraries.
fetch_nginx_debs() { # dir
  ( cd "$1" && apt-get download -q -o APT::Sandbox::User=root nginx nginx-common >/dev/null 2>&1 ) && return 0
  log "apt-get download nginx failed; refreshing package lists"
  apt-get update -q >&2
  ( cd "$1" && apt-get download -q -o APT::Sandbox::User=root nginx nginx-common >&2 ) || die "apt-get download nginx nginx-common failed"
}

copy_elf_with_libs() { # binary rootdir
  local bin=$1 r=$2 lib
  local deps; deps=$(ldd "$bin") || die "ldd $bin failed"
  grep -q 'not found' <<<"$deps" && die "ldd: missing libraries for $bin: $(grep 'not found' <<<"$deps" | tr '\n' ' ')"
  awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$deps" | while read -r lib; do
    mkdir -p "$r$(dirname "$lib")"
    cp -L "$lib" "$r$lib"
  done
}

write_nginx_conf() { # rootdir
  local r=$1
  mkdir -p "$r/etc/nginx/conf.d" "$r/usr/share/nginx/html" "$r/var/log/nginx" "$r/var/cache/nginx" \
    "$r/var/lib/nginx"/{body,proxy,fastcgi,uwsgi,scgi} "$r/var/lock"
  ln -sf /dev/stdout "$r/var/log/nginx/access.log"
  ln -sf /dev/stderr "$r/var/log/nginx/error.log"
  cat >"$r/etc/nginx/nginx.conf" <<'EOF'
# Like the official nginx:alpine image's nginx.conf.
user  nginx;
worker_processes  auto;

error_log  /dev/stderr notice;
pid        /var/run/nginx.pid;

events {
    worker_connections  1024;
}

http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /dev/stdout  main;

    sendfile        on;
    keepalive_timeout  65;

    include /etc/nginx/conf.d/*.conf;
}
EOF
  cat >"$r/etc/nginx/conf.d/default.conf" <<'EOF'
server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
EOF
  cat >"$r/usr/share/nginx/html/index.html" <<'EOF'
<!DOCTYPE html>
<html>
<head><title>Welcome to nginx!</title></head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and working.</p>
</body>
</html>
EOF
  printf '<html><body><h1>An error occurred.</h1></body></html>\n' >"$r/usr/share/nginx/html/50x.html"
}

ensure_nginx_rootfs() {
  [ -s "$ROOTFS/nginx.tar" ] && return 0
  CHANGED=1
  log "assembling the nginx proxy rootfs from Debian's nginx package"
  local work; work=$(mktemp -d "$SBX/tmp/nginx.XXXXXX")
  fetch_nginx_debs "$work"
  local deb
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/x"; done
  # nginx's shared libraries must be on this machine for ldd to find them.
  mapfile -t libs < <(dpkg-deb -f "$work"/nginx_*.deb Depends | tr ',' '\n' | sed 's/[(|].*//; s/ //g' | grep -E '^(lib|zlib)')
  ensure_packages "${libs[@]}"
  local r=$work/root
  populate_busybox "$r"
  install -D -m 0755 "$work/x/usr/sbin/nginx" "$r/usr/sbin/nginx"
  copy_elf_with_libs "$work/x/usr/sbin/nginx" "$r"
  write_nginx_conf "$r"
  cp "$work/x/etc/nginx/mime.types" "$r/etc/nginx/mime.types"
  echo 'nginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin' >>"$r/etc/passwd"
  echo 'nginx:x:101:nginx' >>"$r/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$r/etc/nsswitch.conf"
  det_tar "$r" "$ROOTFS/nginx.tar"
  rm -rf "$work"
}

ensure_proxy_image() {
  if hdocker image inspect "$PROXY_IMAGE" >/dev/null 2>&1 && hdocker image inspect "$PROXY_IMAGE_ALT" >/dev/null 2>&1; then
    return 0
  fi
  CHANGED=1
  ensure_nginx_rootfs
  log "building $PROXY_IMAGE on the host engine"
  local ctx; ctx=$(mktemp -d "$SBX/tmp/build.XXXXXX")
  ln "$ROOTFS/nginx.tar" "$ctx/nginx.tar" 2>/dev/null || cp "$ROOTFS/nginx.tar" "$ctx/nginx.tar"
  cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
ADD nginx.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
EOF
  local out
  out=$(DOCKER_BUILDKIT=0 DOCKER_TIMEOUT=300 hdocker build -q -t "$PROXY_IMAGE" -t "$PROXY_IMAGE_ALT" "$ctx" 2>&1) || { rm -rf "$ctx"; die "building $PROXY_IMAGE failed: $out"; }
  rm -rf "$ctx"
  out=$(hdocker run --rm "$PROXY_IMAGE" nginx -t 2>&1) || {
    hdocker rmi -f "$PROXY_IMAGE" "$PROXY_IMAGE_ALT" >/dev/null 2>&1 || true
    die "nginx -t fails in the built $PROXY_IMAGE: $out"
  }
}

# ------------------------------------------------------------------------------------------- info
json_str() { local s=$1; s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; printf '"%s"' "$s"; }
fingerprint() { ssh-keygen -lf "$1" | awk '{print $2}'; }

write_info() {
  local fp_ed fp_rsa kh
  fp_ed=$(fingerprint "$SSH_DIR/ssh_host_ed25519_key.pub")
  fp_rsa=$(fingerprint "$SSH_DIR/ssh_host_rsa_key.pub")
  kh=$(cat "$KEYS/known_hosts")$'\n'
  atomic_write "$INFO" <<EOF
{
  "host": "127.0.0.1",
  "port": $SSH_PORT,
  "username": "root",
  "keyPath": $(json_str "$KEYS/id_ed25519"),
  "passKeyPath": $(json_str "$KEYS/id_ed25519_pass"),
  "passphrase": $(json_str "$PASSPHRASE"),
  "rsaKeyPath": $(json_str "$KEYS/id_rsa"),
  "fingerprint": $(json_str "$fp_ed"),
  "fingerprints": { "ed25519": $(json_str "$fp_ed"), "rsa": $(json_str "$fp_rsa") },
  "knownHosts": $(json_str "$kh"),
  "knownHostsPath": $(json_str "$KEYS/known_hosts"),
  "hostDockerHost": $(json_str "$HOST_DOCKER_HOST"),
  "hostDataRoot": $(json_str "$HOST_DATA"),
  "runnerDockerHost": $(json_str "unix://$RUNNER_SOCK"),
  "containerdDockerHost": $(json_str "$CTD_DOCKER_HOST"),
  "classicDockerHost": $(json_str "$CLS_DOCKER_HOST"),
  "users": { "nodocker": "$USER_NODOCKER", "nodockercli": "$USER_NODOCKERCLI", "nobash": "$USER_NOBASH", "deploy": "$USER_DEPLOY", "containerd": "$USER_CONTAINERD", "classic": "$USER_CLASSIC", "runner": "$USER_RUNNER", "runnerNoSudo": "$USER_RUNNER_NOSUDO" },
  "proxyImage": "$PROXY_IMAGE",
  "busyboxRootfs": $(json_str "$ROOTFS/busybox.tar"),
  "actionStateDir": "$ACTION_STATE"
}
EOF
}

# ----------------------------------------------------------------------------------------- verify
sbx_ssh() { # user command...
  local user=$1; shift
  timeout 30 ssh -F /dev/null -i "$KEYS/id_ed25519" -p "$SSH_PORT" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KEYS/known_hosts" -o GlobalKnownHostsFile=/dev/null \
    -o ConnectTimeout=10 -o LogLevel=ERROR "$user@127.0.0.1" "$@"
}

# Through sshd as root, `docker` must reach the host engine (not the runner's).
verify_root() {
  local root err=$SBX/tmp/verify.err
  root=$(sbx_ssh root 'docker info --format "{{.DockerRootDir}}"' 2>"$err") || die "ssh root@127.0.0.1:$SSH_PORT docker info failed: $(cat "$err")"
  [ "$root" = "$HOST_DATA" ] || die "ssh sessions reach the wrong engine (DockerRootDir=$root, want $HOST_DATA)"
}

verify_users() {
  local out
  out=$(sbx_ssh "$USER_NODOCKER" 'docker info 2>&1' 2>&1) && die "$USER_NODOCKER can use docker: $out"
  grep -qi 'permission denied' <<<"$out" || die "$USER_NODOCKER: expected permission denied, got: $out"
  sbx_ssh "$USER_NODOCKERCLI" 'command -v docker' >/dev/null 2>&1 && die "$USER_NODOCKERCLI still finds docker on PATH"
  [ "$(sbx_ssh "$USER_NODOCKERCLI" 'bash -c "echo ok"' 2>&1)" = ok ] || die "$USER_NODOCKERCLI cannot run bash"
  sbx_ssh "$USER_NOBASH" 'command -v bash' >/dev/null 2>&1 && die "$USER_NOBASH still finds bash on PATH"
  out=$(sbx_ssh "$USER_NOBASH" 'docker version --format "{{.Server.Version}}"' 2>&1) || die "$USER_NOBASH cannot use docker: $out"
  out=$(sbx_ssh "$USER_CLASSIC" 'docker info --format "{{.DockerRootDir}}"' 2>&1)
  [ "$out" = /var/lib/docker-classic ] || die "$USER_CLASSIC does not reach the classic-store engine: $out"
}

# --------------------------------------------------------------------------------------- commands
# EPOCHREALTIME is bash 5; on an older bash the timings read 0 instead of stopping the script
# before preflight can explain what is missing.
now_us() { local t=${EPOCHREALTIME:-0}; echo "${t/[.,]/}"; }
elapsed() { echo "$1 $(now_us)" | awk '{ printf "%.2f", ($2 - $1) / 1e6 }'; }

# Runs one step of `up`; BLUEGREEN_SANDBOX_TIMING=1 logs how long each took.
step() {
  local t0
  t0=$(now_us)
  "$@"
  [ -z "${BLUEGREEN_SANDBOX_TIMING:-}" ] || log "  $1: $(elapsed "$t0")s"
}

cmd_up() {
  local t0
  t0=$(now_us)
  preflight up
  mkdir -p "$SBX" "$RUN" "$LOG" "$STATE" "$ROOTFS" "$SBX/tmp"
  take_lock
  step ensure_packages "${PACKAGES[@]}"
  step ensure_runner_engine
  step ensure_bridge
  step ensure_bridge_nf
  step ensure_forward_rules
  step ensure_host_engine
  step pin_docker0
  step ensure_keys
  step ensure_users
  step ensure_sshd
  step ensure_busybox_rootfs
  step ensure_proxy_image
  step ensure_containerd_engine
  step ensure_containerd_proxy_image
  step ensure_classic_engine
  step ensure_classic_proxy_image
  step write_info
  step verify_root
  [ $CHANGED = 0 ] || step verify_users
  log "up in $(elapsed "$t0")s ($([ $CHANGED = 1 ] && echo cold || echo warm)); info: $INFO"
}

# Deletes bridges an engine made for its networks (addresses starting with its pool's prefix)
# and its own bridge (default: the host engine's).
delete_bridges() { # pool-prefix bridge
  local pool=${1:-10.213.} name=${2:-$BRIDGE} dev
  for dev in $(ip -o -4 addr show 2>/dev/null | awk -v pool="$pool" 'index($4, pool) == 1 {print $2}' | sort -u); do
    if [[ $dev == br-* ]]; then ip link del "$dev" 2>/dev/null || true; fi
  done
  if ip link show "$name" >/dev/null 2>&1; then ip link del "$name"; fi
}

# Unmounts whatever a killed engine left mounted under its dirs, deepest first.
unmount_under() {
  awk -v a="$1" -v b="$2" 'index($2, a) == 1 || index($2, b) == 1 {print $2}' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

stop_host_engine() {
  local pid ids
  if host_up; then
    mapfile -t ids < <(hdocker ps -aq 2>/dev/null || true)
    if [ ${#ids[@]} -gt 0 ]; then
      log "removing host engine containers"
      DOCKER_TIMEOUT=120 hdocker rm -f "${ids[@]}" >/dev/null 2>&1 || true
    fi
    hdocker network prune -f >/dev/null 2>&1 || true
  fi
  if pid=$(live_pid "$HOST_PID" dockerd); then
    log "stopping the host engine (pid $pid)"
    stop_pid "$pid" 30
  fi
  # A SIGKILLed dockerd leaves its containerd behind.
  if pid=$(live_pid "$HOST_EXEC/containerd/containerd.pid" containerd); then stop_pid "$pid" 10; fi
  unmount_under "$HOST_DATA" "$HOST_EXEC"
}

restore_sysctls() {
  local f key
  for f in "$STATE"/net.bridge.*; do
    [ -e "$f" ] || continue
    key=${f##*/}
    sysctl -q -w "$key=$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}

stop_runner_engine_if_ours() {
  local pid
  [ -s "$STATE/runner-started" ] || return 0
  pid=$(cat "$STATE/runner-started")
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q dockerd; then
    log "stopping the runner engine the sandbox started (pid $pid)"
    stop_pid "$pid" 30
  fi
  rm -f "$STATE/runner-started"
}

cmd_down() {
  preflight down
  mkdir -p "$RUN" "$STATE"
  take_lock
  local pid
  if pid=$(live_pid "$SSHD_PID" "$SSH_DIR/sshd_config"); then log "stopping sshd (pid $pid)"; stop_pid "$pid" 10; fi
  if command -v docker >/dev/null 2>&1; then
    stop_host_engine
    stop_containerd_engine
  fi
  delete_bridges 10.213. "$BRIDGE"
  restore_sysctls
  remove_forward_rules
  rm -rf "$ACTION_STATE" "$HOST_DATA" "$HOST_EXEC" "$PATHS" "$SBX/tmp" "$INFO"
  rm -f "$HOST_SOCK" "$HOST_PID" "$SSHD_PID"
  command -v docker >/dev/null 2>&1 && stop_runner_engine_if_ours
  log "down"
}

cmd_status() {
  local ok=0 pid
  if runner_up; then
    echo "runner engine: up (unix://$RUNNER_SOCK$([ -s "$STATE/runner-started" ] && echo ', started by the sandbox'))"
  else echo "runner engine: DOWN"; ok=1; fi
  if host_up; then echo "host engine:   up (pid $(cat "$HOST_PID" 2>/dev/null), $HOST_DOCKER_HOST, data $HOST_DATA)"
  else echo "host engine:   DOWN"; ok=1; fi
  if containerd_engine_up; then echo "containerd-store engine: up (pid $(cat "$CTD_PID" 2>/dev/null), $CTD_DOCKER_HOST)"
  else echo "containerd-store engine: DOWN"; ok=1; fi
  if classic_engine_up; then echo "classic-store Docker 26 engine: up (pid $(cat "$CLS_PID" 2>/dev/null), $CLS_DOCKER_HOST)"
  else echo "classic-store Docker 26 engine: DOWN"; ok=1; fi
  if pid=$(live_pid "$SSHD_PID" "$SSH_DIR/sshd_config") && sshd_listening; then echo "sshd:          up (pid $pid, 127.0.0.1:$SSH_PORT)"
  else echo "sshd:          DOWN"; ok=1; fi
  if host_up && hdocker image inspect "$PROXY_IMAGE" >/dev/null 2>&1; then echo "proxy image:   $PROXY_IMAGE present"
  else echo "proxy image:   MISSING"; ok=1; fi
  echo "bridge-nf-call-iptables: $(sysctl -n net.bridge.bridge-nf-call-iptables 2>/dev/null || echo n/a)"
  if [ -s "$INFO" ]; then echo "info:          $INFO"; else echo "info:          MISSING"; ok=1; fi
  return $ok
}

cmd_info() {
  [ -s "$INFO" ] || die "no $INFO; run: $0 up"
  cat "$INFO"
}

# Restarts the host engine as a crash or an upgrade would, leaving its containers to their
# restart policies: the e2e test of "the Docker engine restarted".
cmd_restart_engine() {
  preflight restart-engine
  take_lock
  local pid
  if pid=$(live_pid "$HOST_PID" dockerd); then
    log "restarting the host engine (pid $pid)"
    stop_pid "$pid" 60
  fi
  ensure_host_engine
}

case "${1:-}" in
  up) cmd_up ;;
  restart-engine) cmd_restart_engine ;;
  down) cmd_down ;;
  status) cmd_status ;;
  info) cmd_info ;;
  *) echo "usage: $0 up|down|status|info|restart-engine" >&2; exit 64 ;;
esac

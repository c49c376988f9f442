#!/usr/bin/env bash
# A real ACME CA for the TLS tests: Debian's pebble (RFC 8555 test server) and pebble-challtestsrv
# (its mock DNS), run on this machine. Commands: up | down | status | info.
#
# Where things listen, and why:
#   ACME API     0.0.0.0:18400    the runner reaches it at 127.0.0.1 and containers on the sandbox's
#                                  host engine at the bridge address 10.214.0.1 (user networks in
#                                  10.213/16 reach that address too: it is the host's own). Pebble
#                                  takes one listen address, so it is the wildcard; the CA is a
#                                  throwaway, regenerated at every start.
#   management   127.0.0.1:18401  /roots/0 (the issuing root) for the tests; it also serves the CA's
#                                  private keys, so it stays on loopback.
#   mock DNS     127.0.0.1:18453  only pebble asks it. Every name gets an A record with
#                                  PEBBLE_DNS_ADDRESS (default 127.0.0.1, where the host engine's
#                                  published ports answer) and no AAAA: pebble tries AAAA first.
#   DNS control  127.0.0.1:18455  challtestsrv's management API (/add-a, /set-servfail, ...).
#   HTTP-01      PEBBLE_HTTP_PORT (default 18480): the port pebble's validation connects to at the
#                                  address the mock DNS gives, i.e. the proxy port of the test.
#                                  `up` with another port restarts pebble with it.
#
# Environment for pebble, and why:
#   PEBBLE_VA_NOSLEEP=1        no random 0-15 s sleep before each validation: tests at full speed.
#   PEBBLE_WFE_NONCEREJECT=0   pebble rejects 5% of good nonces by default. acme-client retries a
#                              badNonce, so it would pass anyway; off, a test's request count and
#                              time do not depend on chance, and a failure is never a nonce storm.
#   PEBBLE_AUTHZREUSE=0        pebble reuses a valid authorization in 50% of new orders; at 0 every
#                              order is challenged, so a test that expects its challenge sees it.
# Fault tests: names under blocked.tls-test.example, and under each name of PEBBLE_BLOCKED_DOMAINS
# (space-separated), are refused at new-order (rejectedIdentifier, pebble's domainBlocklist); POST {"host":NAME} to the DNS control's /set-servfail makes NAME fail
# to resolve (the challenge fails with a dns problem). PEBBLE_CERT_VALIDITY (seconds, default
# 7776000 = 90 days, as Let's Encrypt) sets the lifetime of every certificate; an order's own
# notAfter (RFC 8555 7.4, which pebble honours) gives one certificate a shorter one.
set -euo pipefail
umask 022

SBX=/var/lib/bluegreen-sandbox/pebble    # keys, certificates, config, info.json
RUN=/run/bluegreen-sandbox/pebble        # pid files
LOG=/var/log/bluegreen-sandbox
LOCK=/run/lock/bluegreen-pebble.lock
INFO=$SBX/info.json

ACME_PORT=18400
MGMT_PORT=18401
DNS_PORT=18453
DNS_MGMT_PORT=18455
TLS_PORT=18481                           # TLS-ALPN-01, which nothing here uses; pebble wants one
HTTP_PORT=${PEBBLE_HTTP_PORT:-18480}
DNS_ADDRESS=${PEBBLE_DNS_ADDRESS:-127.0.0.1}
BRIDGE_ADDRESS=${PEBBLE_BRIDGE_ADDRESS:-10.214.0.1}
CERT_VALIDITY=${PEBBLE_CERT_VALIDITY:-7776000}
BLOCKED=blocked.tls-test.example
EXTRA_BLOCKED=${PEBBLE_BLOCKED_DOMAINS:-}
PACKAGES=(pebble openssl curl ca-certificates)
WAIT_SECS=20

log() { printf 'pebble: %s\n' "$*" >&2; }
die() { printf 'pebble: error: %s\n' "$*" >&2; exit 1; }

preflight() {
  [ "$(id -u)" = 0 ] || die "needs root (it installs packages and writes $SBX); run: sudo $0 ${1:-up}"
  command -v apt-get >/dev/null 2>&1 || die "needs a Debian/Ubuntu machine with apt-get"
  [[ $HTTP_PORT =~ ^[0-9]+$ ]] || die "PEBBLE_HTTP_PORT must be a port number, not '$HTTP_PORT'"
  [[ $CERT_VALIDITY =~ ^[0-9]+$ ]] || die "PEBBLE_CERT_VALIDITY must be seconds, not '$CERT_VALIDITY'"
  [[ $EXTRA_BLOCKED =~ ^[a-z0-9.\ -]*$ ]] || die "PEBBLE_BLOCKED_DOMAINS must be DNS names separated by spaces"
}

# The domainBlocklist as a JSON array.
blocklist() {
  local name out="\"$BLOCKED\""
  for name in $EXTRA_BLOCKED; do out+=", \"$name\""; done
  printf '[%s]' "$out"
}

take_lock() {
  mkdir -p "$(dirname "$LOCK")"
  exec 9>"$LOCK"
  flock -w 120 9 || die "another pebble.sh held $LOCK for 2 minutes"
}

# ------------------------------------------------------------------------------------- packages
ensure_packages() {
  local p missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >&2 ||
    die "apt-get install ${missing[*]} failed"
  # Debian's pebble package ships pebble-challtestsrv too; say so if that ever changes.
  command -v pebble-challtestsrv >/dev/null || die "the pebble package no longer ships pebble-challtestsrv"
}

# ----------------------------------------------------------------------------------- processes
live_pid() { # pidfile command-name
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  echo "$pid"
}

stop_pidfile() { # pidfile command-name
  local pid i
  pid=$(live_pid "$1" "$2") || { rm -f "$1"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    [ -d "/proc/$pid" ] || break
    sleep 0.1
  done
  [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -f "$1"
}

# Detached, without fd 9 (the lock): the daemon must not hold it or the caller's pipes.
spawn() { # pidfile logfile command...
  local pidfile=$1 logfile=$2
  shift 2
  setsid "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  echo $! >"$pidfile"
  disown
}

# -------------------------------------------------------------------------------- certificates
# Pebble's own HTTPS: a CA made here (pebble's packaged test CA is not in Debian's package) and a
# server certificate for every address the runner and containers use.
ensure_tls() {
  [ -s "$SBX/ca.pem" ] && [ -s "$SBX/cert.pem" ] && return 0
  log "creating the CA for pebble's HTTPS"
  (
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj '/CN=bluegreen sandbox pebble HTTPS CA' -keyout "$SBX/ca.key" -out "$SBX/ca.pem.tmp" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=pebble' \
      -keyout "$SBX/key.pem" -out "$SBX/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,DNS:pebble,IP:127.0.0.1,IP:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
      "$BRIDGE_ADDRESS" >"$SBX/server.ext"
    openssl x509 -req -in "$SBX/server.csr" -CA "$SBX/ca.pem.tmp" -CAkey "$SBX/ca.key" -CAcreateserial \
      -days 3650 -extfile "$SBX/server.ext" -out "$SBX/cert.pem" 2>/dev/null
  ) || die "openssl could not create pebble's HTTPS certificate"
  chmod 0644 "$SBX/ca.pem.tmp" "$SBX/cert.pem"
  mv -f "$SBX/ca.pem.tmp" "$SBX/ca.pem"
  rm -f "$SBX/server.csr" "$SBX/server.ext" "$SBX/ca.srl"
}

write_config() {
  cat >"$SBX/config.json.tmp" <<EOF
{
  "pebble": {
    "listenAddress": "0.0.0.0:$ACME_PORT",
    "managementListenAddress": "127.0.0.1:$MGMT_PORT",
    "certificate": "$SBX/cert.pem",
    "privateKey": "$SBX/key.pem",
    "httpPort": $HTTP_PORT,
    "tlsPort": $TLS_PORT,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false,
    "domainBlocklist": $(blocklist),
    "certificateValidityPeriod": $CERT_VALIDITY
  }
}
EOF
  # The DNS settings are part of what a running pair must match.
  printf '%s\n' "dns=$DNS_ADDRESS" >"$SBX/config.json.tmp.key"
  cat "$SBX/config.json.tmp" >>"$SBX/config.json.tmp.key"
}

# ---------------------------------------------------------------------------------------- checks
https_ok() { curl -fsS --max-time 2 --cacert "$SBX/ca.pem" "$1" -o /dev/null 2>/dev/null; }
acme_ready() { https_ok "https://127.0.0.1:$ACME_PORT/dir"; }
mgmt_ready() { https_ok "https://127.0.0.1:$MGMT_PORT/roots/0"; }
# Clearing an A record that nobody sets is challtestsrv's cheapest no-op.
dns_ready() { curl -fsS --max-time 2 -d '{"host":"ready.invalid"}' "http://127.0.0.1:$DNS_MGMT_PORT/clear-a" -o /dev/null 2>/dev/null; }

wait_for() { # check pidfile name logfile
  local i pid
  for ((i = 0; i < WAIT_SECS * 4; i++)); do
    "$1" && return 0
    pid=$(live_pid "$2" "$3") || { tail -n 20 "$4" >&2 || true; die "$3 exited during startup (log: $4)"; }
    sleep 0.25
  done
  tail -n 20 "$4" >&2 || true
  die "$3 (pid $pid) not ready after ${WAIT_SECS}s (log: $4)"
}

running() {
  live_pid "$RUN/pebble.pid" pebble >/dev/null && live_pid "$RUN/challtestsrv.pid" pebble-challtes >/dev/null
}

# ------------------------------------------------------------------------------------- commands
start_daemons() {
  log "starting pebble-challtestsrv (DNS 127.0.0.1:$DNS_PORT, every name -> $DNS_ADDRESS)"
  spawn "$RUN/challtestsrv.pid" "$LOG/pebble-challtestsrv.log" pebble-challtestsrv \
    -dns01 "127.0.0.1:$DNS_PORT" -management "127.0.0.1:$DNS_MGMT_PORT" \
    -http01 '' -https01 '' -tlsalpn01 '' -defaultIPv4 "$DNS_ADDRESS" -defaultIPv6 ''
  wait_for dns_ready "$RUN/challtestsrv.pid" pebble-challtes "$LOG/pebble-challtestsrv.log"
  log "starting pebble (ACME 0.0.0.0:$ACME_PORT, HTTP-01 to port $HTTP_PORT)"
  spawn "$RUN/pebble.pid" "$LOG/pebble.log" env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
    pebble -config "$SBX/config.json" -dnsserver "127.0.0.1:$DNS_PORT"
  wait_for acme_ready "$RUN/pebble.pid" pebble "$LOG/pebble.log"
  wait_for mgmt_ready "$RUN/pebble.pid" pebble "$LOG/pebble.log"
}

stop_daemons() {
  stop_pidfile "$RUN/pebble.pid" pebble
  stop_pidfile "$RUN/challtestsrv.pid" pebble-challtes
}

json_str() { local s=$1; s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; printf '"%s"' "$s"; }

write_info() {
  cat >"$INFO.tmp" <<EOF
{
  "directoryUrl": "https://127.0.0.1:$ACME_PORT/dir",
  "containerDirectoryUrl": "https://$BRIDGE_ADDRESS:$ACME_PORT/dir",
  "caBundlePath": "$SBX/ca.pem",
  "caBundle": $(json_str "$(cat "$SBX/ca.pem")"),
  "rootUrl": "https://127.0.0.1:$MGMT_PORT/roots/0",
  "intermediateUrl": "https://127.0.0.1:$MGMT_PORT/intermediates/0",
  "certStatusUrl": "https://127.0.0.1:$MGMT_PORT/cert-status-by-serial/",
  "dnsManagementUrl": "http://127.0.0.1:$DNS_MGMT_PORT",
  "dnsAddress": "$DNS_ADDRESS",
  "httpPort": $HTTP_PORT,
  "blockedDomain": "$BLOCKED",
  "certValiditySeconds": $CERT_VALIDITY,
  "logs": ["$LOG/pebble.log", "$LOG/pebble-challtestsrv.log"]
}
EOF
  mv -f "$INFO.tmp" "$INFO"
}

cmd_up() {
  preflight up
  take_lock
  ensure_packages
  mkdir -p "$SBX" "$RUN" "$LOG"
  ensure_tls
  write_config
  # Same settings and both alive: nothing to do. Otherwise start afresh (pebble reads its config
  # only at start, and a new port must reach the validation).
  if running && cmp -s "$SBX/config.json.tmp.key" "$SBX/config.key" && acme_ready && dns_ready; then
    rm -f "$SBX/config.json.tmp" "$SBX/config.json.tmp.key"
    write_info
    log "already up (HTTP-01 port $HTTP_PORT)"
    return 0
  fi
  stop_daemons
  mv -f "$SBX/config.json.tmp" "$SBX/config.json"
  mv -f "$SBX/config.json.tmp.key" "$SBX/config.key"
  start_daemons
  write_info
  log "up: $INFO"
}

cmd_down() {
  preflight down
  take_lock
  stop_daemons
  rm -f "$INFO" "$SBX/config.key"
  log "down"
}

cmd_status() {
  if running && acme_ready; then
    echo "pebble: up, directory https://127.0.0.1:$ACME_PORT/dir, info $INFO"
    return 0
  fi
  echo "pebble: down"
  return 3
}

cmd_info() {
  [ -s "$INFO" ] || die "no $INFO: run $0 up"
  cat "$INFO"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  info) cmd_info ;;
  *) echo "usage: $0 up|down|status|info" >&2; exit 2 ;;
esac

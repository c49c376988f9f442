# shellcheck shell=bash
# The overlay network of the slots and the proxy, attachable so a one-off container can join it
# to look around; created once, never removed. Included before this: lib-lock-guard.sh lib-docker.sh.
net=$1
if dk network inspect "$net" >/dev/null 2>&1; then echo "network $net exists"; exit 0; fi
dk network create --driver overlay --attachable --label bluegreen.role=network "$net" >/dev/null
echo "network $net created (overlay, attachable)"

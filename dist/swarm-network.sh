# shellcheck shell=bash
# The overlay network of the slots and the proxy, attachable so a one-off container can join it
# to look around; created once, never removed. Included before this: lib-lock-guard.sh lib-docker.sh.
net=$1
if dk network inspect "$net" >/dev/null 2>&1; then echo "network $net exists"; exit 0; fi
if ! out=$(dk network create --driver overlay --attachable --label bluegreen.role=network "$net" 2>&1); then
  # Another service's first deploy may have made it a moment ago.
  if dk network inspect "$net" >/dev/null 2>&1; then echo "network $net exists"; exit 0; fi
  printf 'FAILED %s\n' "$out" | tr '\n' ' '; echo; exit 3
fi
echo "network $net created (overlay, attachable)"

# shellcheck shell=bash
# The proxy's renewal container: kept while it runs this image for this worker user, else
# (re)started, and renewal images no container uses any more are removed (by label: nothing else
# carries it). It runs hardened: read-only, no new privileges, only the store mounted, and of
# root's powers only CHOWN (the keys go to the nginx workers) and DAC_OVERRIDE (the store's files
# belong to the SSH user). --restart unless-stopped brings it back after a reboot.
# Included before this: lib-lock-guard.sh lib-docker.sh.
name=$1 image=$2 store=$3 owner=$4 jitter=$5 label=$6
current=$(dk container inspect -f '{{.Config.Image}} {{.State.Status}} {{range .Config.Env}}{{println .}}{{end}}' "$name" 2>/dev/null | tr '\n' ' ' || true)
case "$current" in
  "$image running "*"BLUEGREEN_TLS_OWNER=$owner "*) echo "renewal unchanged"; exit 0 ;;
esac
dk rm -f "$name" >/dev/null 2>&1 || true
if ! out=$(dk run -d --name "$name" --restart unless-stopped --read-only --cap-drop ALL --cap-add CHOWN --cap-add DAC_OVERRIDE \
    --security-opt no-new-privileges --label "$label" -v "$store:$store" \
    -e "BLUEGREEN_TLS_DIR=$store" -e "BLUEGREEN_TLS_OWNER=$owner" -e "BLUEGREEN_RENEW_JITTER_SECONDS=$jitter" "$image" 2>&1); then
  printf 'FAILED %s\n' "$out" | tr '\n' ' '; echo; exit 3
fi
dk image prune -a -f --filter "label=$label" >/dev/null 2>&1 || true
if [ -z "$current" ]; then echo "renewal started"; else echo "renewal replaced"; fi

# shellcheck shell=bash
# Turns a service's maintenance page on (the page on stdin) or off, then asks the proxy's
# published port what a client now gets. The page is a file nginx tests per request: no reload.
# A config written before maintenance existed has no such test: exit 5, nothing changed.
# Included before this: lib-lock-guard.sh lib-http-probe.sh.
dir=$1 service=$2 mode=$3 port=$4 path=$5 host=$6
conf="$dir/conf.d/$service.conf"
if [ ! -f "$conf" ]; then echo "NO-SERVICE"; exit 6; fi
if ! grep -q '/.bluegreen/maintenance' "$conf"; then echo "OLD-CONFIG"; exit 5; fi
page="$dir/conf.d/bluegreen/maintenance/$service.html"
if [ "$mode" = on ]; then
  mkdir -p "${page%/*}"
  cat >"$page.next" && chmod 644 "$page.next" && mv -f "$page.next" "$page"
else
  rm -f "$page"
fi
# nginx sees the file at once; a probe that still sees the other state is retried for 5 s.
want=$([ "$mode" = on ] && echo on || echo off) line='' deadline=$((SECONDS + 5))
while :; do
  line=$( (http_probe 5 "$path" "$host") 2>/dev/null ) || line='STATUS 000 SLOT none MAINTENANCE off'
  case "$line" in *"MAINTENANCE $want") break ;; esac
  [ "$SECONDS" -lt "$deadline" ] || break
  sleep 0.2
done
echo "SERVES $line"

# shellcheck shell=bash
# A service's canary on its proxy. `start SLOT PERCENT`: buckets 00 to PERCENT-1 go to SLOT
# (a file each, which nginx tests per request: no reload), and the proxy logs the service's
# requests to its canary log, emptied first. `read`: per slot, the requests logged, their 5xx and
# a histogram of their times. `stop`: every client back on the live slot.
# Included before this: lib-lock-guard.sh lib-docker.sh.
dir=$1 proxy=$2 service=$3 action=$4 slot=${5:-} percent=${6:-0}
canary="$dir/conf.d/bluegreen/canary/$service"
log="/tmp/bluegreen-canary-$service.log"
case "$action" in
  start)
    # shellcheck disable=SC2016 # $1 is the proxy shell's own argument
    dkt 10 exec "$proxy" sh -c ': > "$1"' sh "$log" || { echo "FAILED could not empty the canary log in $proxy"; exit 3; }
    # Made aside and renamed into place: a client sees the whole canary or none of it, so none
    # is sent to the candidate before it has the cookie that keeps it there.
    rm -rf "$canary.next" && mkdir -p "$canary.next"
    for ((i = 0; i < percent; i++)); do : >"$canary.next/$slot.$(printf '%02d' "$i")"; done
    : >"$canary.next/on"
    rm -rf "$canary" && mv -T "$canary.next" "$canary"
    ;;
  read)
    # Upper bounds of the time histogram, in seconds (nginx's $request_time has ms precision).
    dkt 10 exec "$proxy" cat "$log" | awk '
      BEGIN { n = split("0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10", le, " ") }
      $1 == "blue" || $1 == "green" {
        count[$1]++; if ($2 >= 500) errors[$1]++
        b = n + 1; for (i = 1; i <= n; i++) if ($3 <= le[i]) { b = i; break }
        hist[$1, b]++
      }
      END {
        for (s in count) {
          line = "SLOT " s " " count[s] " " errors[s] + 0
          for (i = 1; i <= n + 1; i++) line = line " " hist[s, i] + 0
          print line
        }
      }' || { echo "FAILED could not read the canary log in $proxy"; exit 3; }
    ;;
  stop) if [ -e "$canary" ]; then mv -T "$canary" "$canary.gone.$$" && rm -rf "$canary.gone.$$"; fi ;;
esac

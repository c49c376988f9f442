# shellcheck shell=sh
# Inside a Swarm proxy task: until $6 seconds have passed, tasks.<service> ($2) must resolve in
# Docker's DNS to exactly the addresses in $5, and each must answer GET $4 on port $3 with 2xx or
# 3xx (probe $1: in-proxy-probe.sh). Prints WAIT lines when what it sees changes, then READY, or
# NOTREADY with the last sight (exit 4). Both nslookup forms of busybox are read: the addresses
# come after the "Name:" line.
probe=$1 name=$2 port=$3 path=$4 want=$5 limit=$6
end=$(( $(date +%s) + limit )) last=''
while :; do
  got=$(nslookup "$name" 127.0.0.11 2>/dev/null | awk '/^Name:/ { seen = 1 } seen && /^Address/ {
    for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) print $i }' | sort | tr '\n' ' ')
  sight="dns [${got% }]"
  ok=yes
  for ip in $want; do
    case " $got" in *" $ip "*) ;; *) ok=no ;; esac
  done
  [ "$(echo "$got" | wc -w)" = "$(echo "$want" | wc -w)" ] || ok=no
  if [ "$ok" = yes ]; then
    for ip in $want; do
      line=$(sh -c "$probe" sh "http://$ip:$port$path" 2>&1 | tail -n 1)
      case "$line" in
        "STATUS "[23]??*) ;;
        *) ok=no; sight="$sight, $ip: ${line:-no answer}" ;;
      esac
    done
  fi
  if [ "$ok" = yes ]; then echo READY; exit 0; fi
  if [ "$(date +%s)" -ge "$end" ]; then echo "NOTREADY $sight"; exit 4; fi
  if [ "$sight" != "$last" ]; then echo "WAIT $sight"; last=$sight; fi
  sleep 0.3
done

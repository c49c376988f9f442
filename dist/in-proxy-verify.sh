# shellcheck shell=sh
# Inside the proxy, right after the live-slot symlink moved: ask nginx on its own port 80, with
# the service's Host header, until the answer comes from the new slot ($4). No reload happened,
# so the first answer normally does; $5 tries 20 ms apart bound it.
probe=$1 url=$2 host=$3 slot=$4 tries=$5 i=0 line=''
while [ "$i" -lt "$tries" ]; do
  line=$(sh -c "$probe" sh "$url" "$host" 2>&1 | tail -n 1)
  case "$line" in "STATUS "[23]??" SLOT $slot") exit 0 ;; esac
  i=$((i + 1)); sleep 0.02
done
echo "$line"
exit 4

# shellcheck shell=bash
# Creates what is missing of the proxy (network, container, shared config on stdin); never
# touches a running proxy. Included before this: lib-proxy-lock.sh.
net=$1 proxy=$2 port=$3 image=$4 dir=$5
mkdir -p "$dir/conf.d"
proxy_lock
cat > "$dir/conf.d/_common.conf.next" && mv -f "$dir/conf.d/_common.conf.next" "$dir/conf.d/_common.conf"
status=$(docker container inspect -f '{{.State.Status}}' "$proxy" 2>/dev/null) || status=missing
if [ "$status" = running ]; then echo "proxy running"; exit 0; fi
docker network inspect "$net" >/dev/null 2>&1 || { docker network create "$net" >/dev/null; echo "network created"; }
if [ "$status" = missing ]; then
  if ! out=$(docker run -d --name "$proxy" --network "$net" -p "$port:80" --restart unless-stopped \
      --label bluegreen.role=proxy -v "$dir/conf.d:/etc/nginx/conf.d:ro" "$image" 2>&1); then
    docker rm -f "$proxy" >/dev/null 2>&1 || true
    printf 'FAILED %s\n' "$out" | tr '\n' ' '; echo; exit 3
  fi
  echo "proxy created"
else
  docker start "$proxy" >/dev/null; echo "proxy started"
fi
for _ in $(seq 1 100); do
  if docker exec "$proxy" nginx -t >/dev/null 2>&1; then exit 0; fi
  sleep 0.1
done
echo "FAILED nginx in $proxy did not start:"; docker logs --tail 20 "$proxy" 2>&1; exit 3

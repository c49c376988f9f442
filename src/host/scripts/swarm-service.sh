# shellcheck shell=bash
# Creates a slot's service afresh (an older one of that name goes first): $replicas tasks of the
# image by ID, on the overlay network, reached through Docker's DNS (tasks.<name>: dnsrr, no
# virtual IP), with the app's runtime flags and constraints. env values come on stdin into a 0600
# file that the docker CLI reads (--env-file) and that is gone when this step ends: never on a
# command line or in the log. Included before this: lib-lock-guard.sh lib-docker.sh lib-runtime.sh.
name=$1 net=$2 replicas=$3 id=$4 service=$5 slot=$6 ref=$7 runflags=$8 cmdwords=$9 constraints=${10}
envfile=$(mktemp)
trap 'rm -f "$envfile"' EXIT
chmod 600 "$envfile"
cat >"$envfile"
mapfile -t flags < <(lines "$runflags")
mapfile -t cmd < <(lines "$cmdwords")
placement=()
while IFS= read -r c; do [ -z "$c" ] || placement+=(--constraint "$c"); done < <(lines "$constraints")
if dk service inspect "$name" >/dev/null 2>&1; then
  dk service rm "$name" >/dev/null
  echo "REMOVED $name"
fi
if ! out=$(dk service create --detach --name "$name" --network "$net" --endpoint-mode dnsrr --replicas "$replicas" \
    --no-resolve-image --env-file "$envfile" \
    --label "bluegreen.service=$service" --label "bluegreen.slot=$slot" --label "bluegreen.image=$ref" \
    --label "bluegreen.image-id=$id" --container-label "bluegreen.service=$service" --container-label "bluegreen.slot=$slot" \
    ${placement[@]+"${placement[@]}"} ${flags[@]+"${flags[@]}"} "$id" ${cmd[@]+"${cmd[@]}"} 2>&1); then
  printf 'FAILED %s\n' "$out" | tr '\n' ' '; echo; exit 3
fi
echo "CREATED $name"

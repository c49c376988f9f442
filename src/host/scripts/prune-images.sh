# shellcheck shell=bash
# Releases older than the kept ones give their image back ($3...), unless something still uses
# it: `docker image rm` without -f refuses images that a container (even a stopped one) runs, and
# an image another service of this host records among its releases ($1/<service>/state.json; $2
# is this one) stays for that service's rollbacks. Prints each image removed.
# Included before this: lib-lock-guard.sh lib-docker.sh.
root=$1 self=$2
shift 2
others=()
for state in "$root"/*/state.json; do
  [ -f "$state" ] || continue
  [ "$state" != "$root/$self/state.json" ] || continue
  others+=("$state")
done
for ref in "$@"; do
  id=$(dk image inspect -f '{{.Id}}' "$ref" 2>/dev/null) || continue
  if [ ${#others[@]} -gt 0 ] && grep -qsF -e "\"$id\"" -e "\"$ref\"" "${others[@]}"; then continue; fi
  if dk image rm "$ref" >/dev/null 2>&1; then echo "$ref"; fi
done

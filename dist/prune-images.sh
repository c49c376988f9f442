# shellcheck shell=bash
# Releases older than live and previous give their image back, unless something still uses it:
# `docker image rm` without -f refuses images that a container (even a stopped one) runs.
for ref in "$@"; do
  if dk image rm "$ref" >/dev/null 2>&1; then echo "$ref"; fi
done

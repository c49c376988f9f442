# shellcheck shell=bash
# The switch as a step of its own, for a release with workers: the candidate is healthy and the
# workers have settled; the symlink moves, the proxy is asked through a shell of its own, and the
# candidate and the workers ($also, one name per line) get their restart policy.
# Included before this: lib-lock-guard.sh lib-docker.sh lib-probe-shell.sh lib-markers.sh
# lib-proxy-lock.sh lib-switch.sh.
name=$1 service=$2 slot=$3 proxy=$4 probe=$5 dir=$6 routejson=$7
probe_env=(-e "BG_VERIFY=$8" -e "BG_VERIFY_URL=$9" -e "BG_HOST=${10}" -e "BG_SLOT=${11}")
also=${12}
trap 'probe_close' EXIT
trap '' PIPE
probe_open
switch_live

# shellcheck shell=bash
# Start, health check and switch are one remote step: the probe's shell in the proxy opens while
# docker run works (each costs a docker exec/run; side by side they overlap), and the switch runs
# in that same shell. env values travel on stdin into a 0600 file that lives only until docker run
# has read it: never on a command line, in a log, or in a file another user could open.
# Included before this: lib-probe-shell.sh lib-start-candidate.sh lib-health-loop.sh
# lib-proxy-lock.sh lib-route-files.sh lib-switch.sh.
name=$1 net=$2 service=$3 slot=$4 image=$5 id=$6 proxy=$7 url=$8 timeout=$9 probe=${10}
dir=${11} route=${12} lockdir=${13} generation=${14}
probe_env=(-e "BG_SWITCH=${15}" -e "BG_SWITCH_URL=${16}" -e "BG_HOST=${17}" -e "BG_SLOT=${18}")
envfile=$(mktemp)
trap 'rm -f "$envfile"; probe_close' EXIT
trap '' PIPE
chmod 600 "$envfile"
cat > "$envfile"
probe_open
start_candidate
rm -f "$envfile"
echo STARTED
health_loop
switch_live

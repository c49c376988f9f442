# shellcheck shell=bash
# Start, health check and switch are one remote step: the probe's shell in the proxy opens while
# docker run works (each costs a docker exec/run; side by side they overlap), and the switch is
# verified through that same shell. With workers ($then = hold) the step ends once the candidate
# is healthy: the workers start and settle, and switch.sh switches. env values travel on stdin
# into a 0600 file that lives only until docker run has read it: never on a command line, in a
# log, or in a file another user could open. Included before this: lib-lock-guard.sh
# lib-steps.sh lib-docker.sh lib-runtime.sh lib-probe-shell.sh lib-start-candidate.sh lib-health-loop.sh
# lib-markers.sh lib-proxy-lock.sh lib-switch.sh.
name=$1 net=$2 service=$3 slot=$4 image=$5 id=$6 ip=$7 proxy=$8 url=$9 timeout=${10} probe=${11}
dir=${12} routejson=${13}
probe_env=(-e "BG_VERIFY=${14}" -e "BG_VERIFY_URL=${15}" -e "BG_HOST=${16}" -e "BG_SLOT=${17}")
runflags=${18} cmdwords=${19} then=${20}
also=''
envfile=$(mktemp)
register_step launch
trap 'rm -f "$envfile"; probe_close; unregister_step launch' EXIT
trap 'exit 143' TERM
trap '' PIPE
chmod 600 "$envfile"
cat > "$envfile"
probe_open
start_candidate
rm -f "$envfile"
echo STARTED
health_loop
if [ "$then" = hold ]; then exit 0; fi
switch_live

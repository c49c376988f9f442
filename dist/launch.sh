# shellcheck shell=bash
# Start, health check and switch are one remote step: the probe's shell in the proxy opens while
# docker run works (each costs a docker exec/run; side by side they overlap), and the switch is
# verified through that same shell. With workers ($then = hold) the step ends once the candidate
# is healthy: the workers start and settle, and switch.sh switches. env values travel on stdin
# into a 0600 file that lives only until docker run has read it: never on a command line, in a
# log, or in a file another user could open. Included before this: lib-lock-guard.sh
# lib-steps.sh lib-docker.sh lib-runtime.sh lib-probe-shell.sh lib-start-candidate.sh lib-health-loop.sh
# lib-markers.sh lib-proxy-lock.sh lib-switch.sh.
# $1, $7 and $9: the replicas' names, addresses and health URLs, one per line.
mapfile -t names < <(lines "$1")
mapfile -t ips < <(lines "$7")
mapfile -t urls < <(lines "$9")
net=$2 service=$3 slot=$4 image=$5 id=$6 proxy=$8 timeout=${10} probe=${11}
dir=${12} routejson=${13}
probe_env=(-e "BG_VERIFY=${14}" -e "BG_VERIFY_URL=${15}" -e "BG_HOST=${16}" -e "BG_SLOT=${17}")
runflags=${18} cmdwords=${19} then=${20} start=${21:-start}
# The switch names the first replica; the others get their restart policy with it.
name=${names[0]}
also=$(printf '%s\n' "${names[@]:1}")
envfile=$(mktemp)
register_step launch
trap 'rm -f "$envfile"; probe_close; unregister_step launch' EXIT
trap 'exit 143' TERM
trap '' PIPE
chmod 600 "$envfile"
cat > "$envfile"
probe_open
# An instant rollback finds the slot's containers running (keep-previous: running): no start.
if [ "$start" = start ]; then start_candidate; fi
rm -f "$envfile"
echo STARTED
health_loop
if [ "$then" = hold ]; then exit 0; fi
switch_live

# shellcheck shell=bash
# Read-only, on one node: waits up to $2 seconds for the node's proxy task ($1) to run with a
# config nginx accepts. Prints "PROXY <container>" or "NOPROXY". Included before this:
# lib-docker.sh lib-swarm.sh.
c=$(wait_proxy "$1" "$2")
if [ -n "$c" ]; then echo "PROXY $c"; else echo NOPROXY; exit 3; fi

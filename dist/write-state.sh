# shellcheck shell=bash
# The service's state.json ($1 is its folder) from stdin. Included before this: lib-state.sh.
write_state "$1"

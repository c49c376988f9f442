# shellcheck shell=bash
# The app's runtime (volumes, user, limits, labels, options: runtime/docker-args.ts) reaches the
# host as docker run words, one per line, in one argument; so does a command. Values never hold
# a newline (the inputs refuse them). `mapfile -t words < <(lines "$arg")` makes the array: none
# for an empty argument. Arrays expand as ${a[@]+"${a[@]}"}: bash before 4.4 calls an empty one
# unbound under set -u.
lines() { if [ -n "$1" ]; then printf '%s\n' "$1"; fi; }

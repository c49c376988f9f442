# shellcheck shell=bash
# The route file of $service in the proxy's folder $dir, and where the switch saves the one it
# replaces.
route_files() { conf="$dir/conf.d/$service.conf" saved="$dir/$service.conf.previous"; }

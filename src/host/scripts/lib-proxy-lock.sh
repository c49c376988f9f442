# shellcheck shell=bash
# Every change to a proxy's configuration holds its flock: several services may deploy behind one
# proxy at once. $dir is the proxy's folder.
proxy_lock() { exec 8>>"$dir/lock"; flock -w 120 8; }

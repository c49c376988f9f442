# shellcheck shell=bash
# The certificate store's lock, held by this bash for as long as its channel stays open: the
# deploy's TLS step (an ACME order on the runner, its challenge files, the install) and the
# renewal container's daily pass (flock on the same file) never run at once. It waits $2 seconds
# at most for a pass under way, then holds the lock until the runner closes stdin, or $3 seconds
# (a runner that vanished must not hold it for ever). Opened read-only: the file is the deploy
# user's, the renewal container (root) takes it too. Included before this: lib-lock-guard.sh.
store=$1 wait=$2 hold=$3
mkdir -p "$store"
[ -e "$store/lock" ] || : >"$store/lock"
exec 9<"$store/lock"
if ! flock -w "$wait" 9; then echo "BUSY"; exit 75; fi
echo "LOCKED"
timeout "$hold" cat >/dev/null || true

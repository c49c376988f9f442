# shellcheck shell=sh
# An HTTP probe that runs inside the proxy container, so it reaches the candidate by name on the
# Docker network without pulling a helper image. It needs only what nginx images carry: a shell
# with wget (alpine) or curl. Prints `STATUS nnn SLOT name` (000: no HTTP answer).
url=$1 host=${2:-}
t=""; command -v timeout >/dev/null 2>&1 && t="timeout 5"
if command -v wget >/dev/null 2>&1; then
  if [ -n "$host" ]; then out=$($t wget -q -S -O /dev/null --header "Host: $host" "$url" 2>&1)
  else out=$($t wget -q -S -O /dev/null "$url" 2>&1); fi
elif command -v curl >/dev/null 2>&1; then
  if [ -n "$host" ]; then out=$(curl -sS -o /dev/null -D - --max-time 5 -H "Host: $host" "$url" 2>&1)
  else out=$(curl -sS -o /dev/null -D - --max-time 5 "$url" 2>&1); fi
else
  echo "NOPROBE"; exit 0
fi
code=$(printf '%s\n' "$out" | sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' | head -n 1)
slot=$(printf '%s\n' "$out" | sed -n 's/^ *[Xx]-[Bb]luegreen-[Ss]lot: *\([a-z]*\).*/\1/p' | head -n 1)
echo "STATUS ${code:-000} SLOT ${slot:-none}"

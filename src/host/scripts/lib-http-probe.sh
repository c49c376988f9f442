# shellcheck shell=bash
# One GET through the proxy's published port ($port on 127.0.0.1), as a client would: bash's
# /dev/tcp, no docker exec, so the answer holds even when the Docker engine does not.
# http_probe SECONDS PATH HOST prints `STATUS nnn SLOT name MAINTENANCE on|off` (STATUS 000 when
# nothing answered within SECONDS).
http_probe() {
  local line status=000 slot=none maintenance=off
  exec 3<>"/dev/tcp/127.0.0.1/$port" || { echo "STATUS 000 SLOT none MAINTENANCE off"; return 0; }
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$2" "$3" >&3
  while IFS= read -r -t "$1" line <&3; do
    line=${line%$'\r'}
    [ -n "$line" ] || break
    case "$line" in
      HTTP/*) status=${line#* }; status=${status%% *} ;;
      [Xx]-[Bb]luegreen-[Ss]lot:*) slot=${line#*:}; slot=${slot# } ;;
      [Xx]-[Bb]luegreen-[Mm]aintenance:*) maintenance=on ;;
    esac
  done
  echo "STATUS $status SLOT $slot MAINTENANCE $maintenance"
}

# shellcheck shell=sh
# Inside the proxy: the uid:gid its nginx workers run as. They, not the root master, read the
# certificate files at each handshake, so the keys (0600) belong to them. Read from /proc, the
# container's own view, as the chown that follows sees it (user namespaces included).
for p in /proc/[0-9]*; do
  cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
  case "$cmd" in
    "nginx: worker process"*)
      u='' g=''
      while read -r key value _; do
        case "$key" in Uid:) u=$value ;; Gid:) g=$value ;; esac
      done <"$p/status"
      echo "$u:$g"
      exit 0 ;;
  esac
done
exit 1

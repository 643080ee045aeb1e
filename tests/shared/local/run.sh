#!/bin/bash
# tests/shared/local/run.sh - the shared-filesystem harness without a server, for development
# and for machines that have none: two bind mounts of one tmpfs directory stand for two clients.
#
#     tests/shared/local/run.sh CMD [ARGS...]
#
# runs CMD once, with the interface of tests/shared/nfs/run.sh and tests/shared/gluster/run.sh:
#
#   AJIO_SHARED_FS          local
#   AJIO_SHARED_A, _B       one fresh empty directory, through two bind mounts
#   AJIO_SHARED_FULL_A, _B  a directory on a tmpfs of 8 MiB, through two bind mounts
#   AJIO_SHARED_RO_A        a read-only bind mount of a directory holding ro.json
#   AJIO_SHARED_CTL         a script whose stop and start succeed and do nothing: a local
#                           filesystem has no server to stop
#
# The mounts are made in a mount namespace of their own, so that they vanish with it however
# CMD ends. Exit: CMD's status; 77 when not root (under CI=true: 1, nothing may skip there).
set -eu

# The skip rule of the root-only suites (exit 77; a failure under CI=true).
SUITE=shared/local
. "$(dirname "$0")/../../lib/loopfs.sh"

[ $# -ge 1 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || skip "needs root (tmpfs and bind mounts)"
if [ -z "${AJIO_SHARED_LOCAL_NS:-}" ]; then
    command -v unshare >/dev/null || skip "unshare missing (util-linux)"
    AJIO_SHARED_LOCAL_NS=1 exec unshare --mount --propagation private -- bash "$0" "$@"
fi
unset AJIO_SHARED_LOCAL_NS

base=/dev/shm
[ -d "$base" ] || base=/tmp
W=$(mktemp -d "$base/ajio-shared.XXXXXX")
chmod 755 "$W"
cleanup() {
    local m
    for m in a b full-a full-b ro-a srv full-srv; do
        if mountpoint -q "$W/$m"; then
            umount "$W/$m" || umount -l "$W/$m"
        fi
    done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir "$W/srv" "$W/full-srv" "$W/a" "$W/b" "$W/full-a" "$W/full-b" "$W/ro-a"
mount -t tmpfs -o size=256m,mode=755 tmpfs "$W/srv"
mount -t tmpfs -o size=8m,mode=755 tmpfs "$W/full-srv"
mkdir "$W/srv/shared" "$W/srv/ro" "$W/full-srv/full"
printf '{"ro":true}\n' >"$W/srv/ro/ro.json"
mount --bind "$W/srv/shared" "$W/a"
mount --bind "$W/srv/shared" "$W/b"
mount --bind "$W/full-srv/full" "$W/full-a"
mount --bind "$W/full-srv/full" "$W/full-b"
mount --bind "$W/srv/ro" "$W/ro-a"
mount -o remount,bind,ro "$W/ro-a"
cat >"$W/ctl" <<'EOF'
#!/bin/sh
case $1 in
stop | start) exit 0 ;;
*) echo "usage: $0 stop|start" >&2; exit 2 ;;
esac
EOF
chmod 755 "$W/ctl"

rc=0
AJIO_SHARED_FS=local AJIO_SHARED_A=$W/a AJIO_SHARED_B=$W/b \
    AJIO_SHARED_FULL_A=$W/full-a AJIO_SHARED_FULL_B=$W/full-b AJIO_SHARED_RO_A=$W/ro-a \
    AJIO_SHARED_CTL=$W/ctl "$@" || rc=$?
exit "$rc"

# tests/lib/loopfs.sh - sourced by the root-only suites (tests/crash/check-crash.sh,
# tests/fault/run.sh, tests/fs/run.sh): the skip rule, their scratch directory, and making and
# mounting a filesystem of a given kind on a loop device or image. Set SUITE (the name printed
# in messages) before sourcing.

# skip REASON: exit 77 (tools/run-tests.sh counts a skip). Nothing may skip in CI: a root-only
# suite that silently does not run proves nothing, so under CI=true it is a failure.
skip() {
    echo "$SUITE: SKIP: $*"
    [ "${CI:-}" = true ] && { echo "$SUITE: CI=true: a skip is a failure"; exit 1; }
    exit 77
}

# scratch_dir NAME [BASE]: a fresh directory under BASE (default /dev/shm: tmpfs, so sparse
# images cost only the blocks written), or under /tmp when BASE does not exist.
scratch_dir() {
    local base=${2:-/dev/shm}
    [ -d "$base" ] || base=/tmp
    mktemp -d "$base/$1.XXXXXX"
}

# Filesystem kinds: ext4, ext4-noauto* (ext4 mounted noauto_da_alloc), xfs, btrfs.
# loopfs_mkfs KIND DEV_OR_IMAGE
loopfs_mkfs() {
    case $1 in
    ext4*) mkfs.ext4 -q -F "$2" ;;
    xfs) mkfs.xfs -q -f "$2" ;;
    btrfs) mkfs.btrfs -q -f "$2" >/dev/null ;;
    *) echo "$SUITE: unknown filesystem $1"; return 1 ;;
    esac
}

# loopfs_mount KIND SOURCE MOUNTPOINT [OPTION]: SOURCE is a loop device, or an image with OPTION
# "loop".
loopfs_mount() {
    local opts=defaults
    case $1 in ext4-noauto*) opts=noauto_da_alloc ;; esac
    mount -t "${1%%-*}" -o "${4:+$4,}$opts" "$2" "$3"
}

#!/bin/sh
# A durable write into a directory made moments ago syncs that directory's parent, even when
# another writer made it (and may not have synced it yet): strace shows the fsync of "..".
# Controls: an atomic-only write syncs nothing; a second directory level syncs two parents.
. tests/cli/common.inc
command -v strace >/dev/null || { echo "FAIL: strace is not installed"; exit 1; }
# LeakSanitizer cannot work under ptrace: in the sanitizer build, strace runs it without.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

# trace FILE ARGS...: runs ajio under strace, recording directory opens and syncs.
trace()
{
    out=$1; shift
    echo data | strace -f -qq -e trace=openat,fsync,syncfs -o "$out" "$AJIO" "$@"
}

# parent_syncs FILE: how many fds opened as ".." were then fsynced.
parent_syncs()
{
    awk '/openat\([0-9]+, "\.\."/ { split($0, a, "= "); fd[a[2] + 0] = 1 }
         /^[0-9]+ +fsync\(/ { n = $2; sub(/fsync\(/, "", n); sub(/\).*/, "", n); if (n in fd) c++ }
         END { print c + 0 }' "$1"
}

mkdir "$WORK/fresh"                       # as a concurrent writer would, without syncing "."
trace "$WORK/t1" write "$WORK/fresh/f" || fail "write into a fresh directory"
[ "$(parent_syncs "$WORK/t1")" -ge 1 ] || { fail "no fsync of the parent of a new directory"; cat "$WORK/t1"; }

trace "$WORK/t2" write --no-sync "$WORK/fresh/g" || fail "atomic-only write"
[ "$(parent_syncs "$WORK/t2")" -eq 0 ] || fail "an atomic-only write synced a parent"

mkdir -p "$WORK/a/b"
trace "$WORK/t3" write "$WORK/a/b/f" || fail "write two levels down"
[ "$(parent_syncs "$WORK/t3")" -ge 2 ] || { fail "two new levels, fewer than two parent syncs"; cat "$WORK/t3"; }

[ "$failures" -eq 0 ] && echo "newdir: ok"
[ "$failures" -eq 0 ]

#!/bin/sh
# How ajio batch makes its files durable, seen by strace: the files of a round that share a local
# filesystem by one syncfs(2) (Linux >= 5.17, whose syncfs reports every error), a file alone
# or every file under --sync-each by an fdatasync(2) of its own, and the same for --all-or-nothing.
# Only files synced one by one start their writeback early (sync_file_range(2)); a failure there
# fails that file alone.
# A syncfs that fails (injected) falls back to each file's own fdatasync: the batch still
# succeeds, and with one of those failing too only that file fails, the others new, no temp left.
. tests/cli/common.inc
command -v strace >/dev/null || { echo "FAIL: strace is not installed"; exit 1; }
# LeakSanitizer cannot work under ptrace: in the sanitizer build, strace runs it without.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

D=$WORK/d
S=$WORK/src
mkdir "$S"
for i in 0 1 2 3 4 5 6 7 8 9; do printf '{"v":%d}\n' "$i" >"$S/v$i"; done
printf '{"old":true}\n' >"$S/old"

# Linux >= 5.17: syncfs is the batch's way; older kernels sync each file.
kernel_ok=0
IFS=. read -r kmaj kmin _ <<EOF
$(uname -r)
EOF
[ "$kmaj" -gt 5 ] || { [ "$kmaj" -eq 5 ] && [ "${kmin%%[!0-9]*}" -ge 17 ]; } && kernel_ok=1
# A shared filesystem (FUSE, NFS, SMB, ...: as the library tells, tests/fskind.c) syncs each
# file too: what its syncfs commits to the server is its own (bindfs's is nothing).
FSKIND=${AJIO_BUILD:-build}/tests/fskind
kind=$("$FSKIND" "$WORK") || { echo "FAIL: $FSKIND cannot tell the filesystem of $WORK"; exit 1; }
[ "$kind" = shared ] && kernel_ok=0

# manifest N: N files over two subdirectories of $D, the even ones existing (old) beforehand.
manifest()
{
    rm -rf "$D"
    mkdir -p "$D/a" "$D/b"
    i=0
    while [ "$i" -lt "$1" ]; do
        sub=a
        [ $((i % 2)) -eq 1 ] && sub=b
        [ $((i % 2)) -eq 0 ] && cp "$S/old" "$D/$sub/f$i.json"
        printf '%s/f%d.json\t%s\n' "$sub" "$i" "$S/v$i"
        i=$((i + 1))
    done >"$WORK/manifest"
}

# run WHAT [STRACE OPTIONS...] -- [BATCH OPTIONS...]: ajio batch of $WORK/manifest into $D under
# strace; sets RC, SYNCFS, FDATASYNC and SFR (the calls made, injected ones included).
run()
{
    what=$1
    shift
    sopts=
    while [ "$1" != -- ]; do sopts="$sopts $1"; shift; done
    shift
    # shellcheck disable=SC2086
    strace -f -qq -e trace=syncfs,fdatasync,sync_file_range $sopts -o "$WORK/trace" \
        "$AJIO" batch "$@" "$D" <"$WORK/manifest" >"$WORK/out" 2>"$WORK/err"
    RC=$?
    SYNCFS=$(grep -c 'syncfs(' "$WORK/trace")
    FDATASYNC=$(grep -c 'fdatasync(' "$WORK/trace")
    SFR=$(grep -c 'sync_file_range(' "$WORK/trace")
}

# expect_calls WHAT SYNCFS FDATASYNC [SYNC_FILE_RANGE]: the last, when not given, as many as
# the files an fdatasync of their own was planned for (all of them, or none).
expect_calls()
{
    sfr=${4:-$3}
    [ $# -lt 4 ] && [ "$2" -gt 0 ] && sfr=0
    if [ "$SYNCFS" -ne "$2" ] || [ "$FDATASYNC" -ne "$3" ] || [ "$SFR" -ne "$sfr" ]; then
        fail "$1: $SYNCFS syncfs, $FDATASYNC fdatasync and $SFR sync_file_range, want $2, $3 and $sfr"
        sed 's/^/    strace: /' "$WORK/trace"
    fi
}

# all_new N [SKIP]: every file of the manifest holds its source, except file SKIP, which holds
# what it held before (old when even, absent when odd).
all_new()
{
    i=0
    while [ "$i" -lt "$1" ]; do
        sub=a
        [ $((i % 2)) -eq 1 ] && sub=b
        f=$D/$sub/f$i.json
        if [ "$i" = "${2:-}" ]; then
            if [ $((i % 2)) -eq 0 ]; then
                cmp -s "$f" "$S/old" || fail "$3: f$i.json (failed) is not as it was"
            else
                [ ! -e "$f" ] || fail "$3: f$i.json (failed) exists"
            fi
        else
            cmp -s "$f" "$S/v$i" || fail "$3: f$i.json is not new"
        fi
        i=$((i + 1))
    done
    temps=$(find "$D" -name '.*.ajio-*.tmp' | wc -l)
    [ "$temps" -eq 0 ] || fail "$3: $temps temps left"
}

# --- one syncfs for the round, against an fdatasync each -------------------------------------
manifest 10
run "10 files" -- --json
want_rc "$RC" 0 "batch of 10"
if [ $kernel_ok = 1 ]; then expect_calls "batch of 10" 1 0; else expect_calls "batch of 10 (Linux < 5.17 or a shared filesystem)" 0 10; fi
all_new 10 "" "batch of 10"

manifest 10
run "10 files, --sync-each" -- --sync-each
want_rc "$RC" 0 "batch of 10, --sync-each"
expect_calls "batch of 10, --sync-each" 0 10
all_new 10 "" "batch of 10, --sync-each"

manifest 1
run "1 file" --
want_rc "$RC" 0 "batch of 1"
# Alone on its filesystem: its own fdatasync; its writeback starts there too (nothing to overlap).
if [ $kernel_ok = 1 ]; then expect_calls "batch of 1 (alone on its filesystem)" 0 1 0; else expect_calls "batch of 1" 0 1 1; fi
all_new 1 "" "batch of 1"

manifest 4
run "4 files, --no-sync" -- --no-sync
want_rc "$RC" 0 "batch --no-sync"
expect_calls "batch --no-sync" 0 0

# --- a failed syncfs: each file's own fdatasync decides ---------------------------------------
if [ $kernel_ok = 1 ]; then
    manifest 10
    run "syncfs EIO" --inject=syncfs:error=EIO:when=1 --
    want_rc "$RC" 0 "batch of 10, syncfs failing"
    expect_calls "batch of 10, syncfs failing: the fallback" 1 10 0
    all_new 10 "" "batch of 10, syncfs failing"

    # Then the fdatasync of the fourth file fails too: that file alone fails.
    manifest 10
    run "syncfs and one fdatasync EIO" --inject=syncfs:error=EIO:when=1 \
        --inject=fdatasync:error=EIO:when=4 --
    want_rc "$RC" 74 "batch of 10, syncfs and the 4th fdatasync failing"
    grep -q "fdatasync of temp for \"$D/b/f3.json\".*Input/output error" "$WORK/err" ||
        { fail "batch of 10, 4th fdatasync failing: the message does not name b/f3.json"; sed 's/^/    stderr: /' "$WORK/err"; }
    all_new 10 3 "batch of 10, syncfs and the 4th fdatasync failing"
fi

# --- a failed sync_file_range (files synced one by one): that file alone fails -----------------
manifest 10
run "sync_file_range EIO" --inject=sync_file_range:error=EIO:when=3 -- --sync-each
want_rc "$RC" 74 "batch of 10, --sync-each, the 3rd sync_file_range failing"
grep -q "sync_file_range of temp for \"$D/a/f2.json\".*Input/output error" "$WORK/err" ||
    { fail "batch of 10, 3rd sync_file_range failing: the message does not name a/f2.json"; sed 's/^/    stderr: /' "$WORK/err"; }
expect_calls "batch of 10, --sync-each, the 3rd sync_file_range failing" 0 9 10
all_new 10 2 "batch of 10, --sync-each, the 3rd sync_file_range failing"

# --- all or nothing: the plan's own fdatasync, then the members' -----------------------------
manifest 6
run "6 files, all or nothing" -- --all-or-nothing
want_rc "$RC" 0 "all or nothing, 6 files"
if [ $kernel_ok = 1 ]; then expect_calls "all or nothing, 6 files" 1 1; else expect_calls "all or nothing (Linux < 5.17 or a shared filesystem)" 0 7 6; fi
all_new 6 "" "all or nothing, 6 files"

manifest 6
run "6 files, all or nothing, --sync-each" -- --all-or-nothing --sync-each
want_rc "$RC" 0 "all or nothing, --sync-each"
expect_calls "all or nothing, --sync-each" 0 7 6
all_new 6 "" "all or nothing, --sync-each"

if [ $kernel_ok = 1 ]; then
    manifest 6
    run "all or nothing, syncfs EIO" --inject=syncfs:error=EIO:when=1 -- --all-or-nothing
    want_rc "$RC" 0 "all or nothing, syncfs failing"
    expect_calls "all or nothing, syncfs failing: the fallback" 1 7 0
    all_new 6 "" "all or nothing, syncfs failing"
fi

[ "$failures" -eq 0 ] && echo "batch-sync: ok"
[ "$failures" -eq 0 ]

#!/bin/sh
# ajio append against a hostile or full lock file: on a full filesystem (a 512 KiB tmpfs, a full
# ext4 image made with -m 0) a durable append whose lock file does not exist yet fails with exit
# 74 (ENOSPC), never dies of a signal, and leaves the log as it was; forged group-commit state in
# the lock file (4 KiB of 0xff, the 0.2 page claiming every record synced) never lets a durable
# append return without an fdatasync/fsync of the log, counted with strace; an unsafe lock file
# of another user is refused with exit 73 (EACCES) naming it. Root only (mounts, other uids).
. tests/cli/common.inc

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: $0 needs root (mounts filesystems, runs as other uids)"
    exit 77
fi
for tool in strace setpriv perl; do
    if ! command -v $tool >/dev/null; then
        fail "$tool missing (Debian packages strace, util-linux, perl)"
        finish
    fi
done

VICTIM=64001
ATTACKER=64002
SHARED=64100
chmod 755 "$WORK"
# The tool where the other uids can run it, whatever the permissions of the build tree.
mkdir "$WORK/bin" && cp "$AJIO" "$WORK/bin/ajio" && chmod 755 "$WORK/bin" "$WORK/bin/ajio"
AJIO=$WORK/bin/ajio

# as UID CMD...: runs CMD as UID, group UID, supplementary group SHARED.
as() {
    u=$1
    shift
    setpriv --reuid="$u" --regid="$u" --groups="$SHARED" -- "$@"
}

# no_signal RC WHAT: the command just run was not killed by a signal.
no_signal() {
    if [ "$1" -gt 128 ]; then
        fail "$2: killed by signal $(($1 - 128)) ($(kill -l $(($1 - 128)) 2>/dev/null))"
        return 1
    fi
    return 0
}

# Negative control of no_signal: a process that really dies of SIGBUS is seen as one.
sh -c 'kill -BUS $$' 2>/dev/null
rc=$?
[ $rc -eq $((128 + 7)) ] || fail "control: a death by SIGBUS gave exit $rc, not 135"

# ---- (1) a full filesystem -------------------------------------------------------------------

# full_append DIR WHAT: DIR is a fresh filesystem. A log with one record, no lock file, then the
# filesystem filled; a durable append must fail with 74 and change nothing.
full_append() {
    printf '{"a":1}\n' >"$1/log.jsonl"
    cp "$1/log.jsonl" "$WORK/full.want"
    dd if=/dev/zero of="$1/fill" bs=4096 2>/dev/null
    # The last blocks: one-byte files take whatever a big one left, and again after a sync,
    # which gives back what ext4 had set aside for delayed allocation.
    i=0
    for round in 1 2; do
        while [ $i -lt 4096 ] && printf x >"$1/fill.$i" 2>/dev/null; do i=$((i + 1)); done
        sync
    done
    [ "$(stat -f -c %a "$1")" = 0 ] || fail "$2: $(stat -f -c %a "$1") blocks still free after the fill"
    [ -e "$1/.log.jsonl.ajio-lock" ] && fail "$2: the lock file exists before the append"
    printf '{"b":2}\n' | "$AJIO" append --jsonl "$1/log.jsonl" 2>"$WORK/err"
    rc=$?
    if no_signal $rc "$2: append on a full filesystem"; then
        want_rc $rc 74 "$2: append on a full filesystem"
    fi
    same "$1/log.jsonl" "$WORK/full.want" "$2: the log after the failed append"
}

MNT=$WORK/mnt
mkdir "$MNT"
if mount -t tmpfs -o size=512k ajio-trust "$MNT"; then
    CLEANUP='umount "$MNT" 2>/dev/null'
    full_append "$MNT" "tmpfs 512 KiB"
    umount "$MNT"
    CLEANUP=
else
    fail "cannot mount a 512 KiB tmpfs"
fi

IMG=$WORK/ext4.img
# 4 KiB blocks: one page of the lock file is one block (a small image would get 1 KiB blocks).
truncate -s 16M "$IMG"
if ! mkfs.ext4 -q -F -m 0 -b 4096 "$IMG" >/dev/null 2>&1; then
    fail "mkfs.ext4 -m 0 of a 16 MiB image failed (e2fsprogs)"
elif mount -o loop "$IMG" "$MNT" 2>"$WORK/err"; then
    CLEANUP='umount "$MNT" 2>/dev/null'
    full_append "$MNT" "full ext4 (-m 0)"
    umount "$MNT"
    CLEANUP=
else
    # No loop device in this container: said, not failed (the tmpfs case stands).
    echo "note: no loop mount here ($(cat "$WORK/err")): the full ext4 case did not run"
    [ "${CI:-}" = true ] && fail "CI=true: the full ext4 case must run"
fi
rm -f "$IMG"

# ---- (3) forged group-commit state never skips a sync ------------------------------------------

# syncs LOG TRACE: the fdatasync/fsync calls on LOG that strace -y recorded in TRACE.
syncs() {
    grep -E '(fdatasync|fsync)\(' "$2" | grep -cF "<$(realpath "$1")>)"
}

# traced_append UID LOG TRACE [OPTION]: ajio append of one record by UID under strace. The leak
# checker of a sanitizer build cannot run under ptrace: it is off for the traced tool only.
traced_append() {
    printf '{"b":2}\n' | ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -qq -y -e trace=fdatasync,fsync -o "$3" \
        setpriv --reuid="$1" --regid="$1" --groups="$SHARED" -- "$AJIO" append --jsonl $4 "$2" \
        2>"$WORK/err"
}

# A group-shared log: the victim's, in a setgid directory of the group, 0664.
shared_log() {
    mkdir -p "$1"
    chown "$VICTIM:$SHARED" "$1"
    chmod 2775 "$1"
    printf '{"a":1}\n' >"$1/log.jsonl"
    chown "$VICTIM:$SHARED" "$1/log.jsonl"
    chmod 0664 "$1/log.jsonl"
}

# Controls of the counter: a durable append is seen syncing the log, --no-sync is seen not to.
D=$WORK/ctl
shared_log "$D"
traced_append $VICTIM "$D/log.jsonl" "$WORK/trace"
want_rc $? 0 "control: durable append"
n=$(syncs "$D/log.jsonl" "$WORK/trace")
[ "$n" -ge 1 ] || fail "control: strace saw $n syncs of the log for a durable append"
traced_append $VICTIM "$D/log.jsonl" "$WORK/trace" --no-sync
want_rc $? 0 "control: append --no-sync"
n=$(syncs "$D/log.jsonl" "$WORK/trace")
[ "$n" -eq 0 ] || fail "control: strace saw $n syncs of the log for --no-sync"

# forge KIND LOG LOCK: writes the forgery into LOCK as the attacker, creating it 0660 if missing.
forge() {
    dev=$(stat -c %d "$2")
    ino=$(stat -c %i "$2")
    as $ATTACKER perl -e '
        my ($kind, $dev, $ino, $lock) = @ARGV;
        my $page = $kind eq "ff" ? "\xff" x 4096
            : "ajio-gc2" . pack("Q<6", 1000, ~0, $dev, $ino, 0, 0) . pack("L<2", 0, 0);
        $page .= "\0" x (4096 - length $page);
        sysopen(my $f, $lock, 2 | 64, 0660) or die "open $lock: $!\n";   # O_RDWR|O_CREAT
        chmod 0660, $lock if -o $lock;
        syswrite($f, $page) == 4096 or die "write $lock: $!\n";
        close $f or die "close: $!\n";' "$1" "$dev" "$ino" "$3"
}

# check_forged DIR WHAT: the victim's durable append is refused (73, log unchanged) or syncs.
check_forged() {
    cp "$1/log.jsonl" "$WORK/forged.want"
    traced_append $VICTIM "$1/log.jsonl" "$WORK/trace"
    rc=$?
    no_signal $rc "$2" || return
    if [ $rc -eq 73 ]; then
        same "$1/log.jsonl" "$WORK/forged.want" "$2: refused, the log"
        return
    fi
    want_rc $rc 0 "$2: durable append"
    n=$(syncs "$1/log.jsonl" "$WORK/trace")
    [ "$n" -ge 1 ] || fail "$2: the durable append returned 0 without any fdatasync/fsync of the log"
}

for kind in ff gc2; do
    # The victim's own lock file (from an earlier append, umask 002), filled by the attacker.
    D=$WORK/own-$kind
    shared_log "$D"
    (umask 002 && printf '{"z":0}\n' | as $VICTIM "$AJIO" append --jsonl "$D/log.jsonl") \
        2>"$WORK/err"
    want_rc $? 0 "$kind: the victim's first append"
    truncate -s 8 "$D/log.jsonl" # back to its first record, same inode
    if forge $kind "$D/log.jsonl" "$D/.log.jsonl.ajio-lock" 2>"$WORK/err"; then
        check_forged "$D" "$kind forged in the victim's lock file"
    else
        # Only a lock file the group may not write stops the attack before it starts.
        grep -q 'Permission denied' "$WORK/err" ||
            fail "$kind: the attacker's forgery failed: $(cat "$WORK/err")"
    fi

    # The attacker's own lock file, planted before the victim's first append.
    D=$WORK/planted-$kind
    shared_log "$D"
    forge $kind "$D/log.jsonl" "$D/.log.jsonl.ajio-lock" 2>"$WORK/err" ||
        fail "$kind: the attacker could not plant the lock file: $(cat "$WORK/err")"
    check_forged "$D" "$kind planted by the attacker"
done

# ---- an unsafe lock file of another user: exit 73, the lock file named, nothing appended ------

D=$WORK/foreign
mkdir "$D"
chown $VICTIM:$VICTIM "$D"
printf '{"a":1}\n' >"$D/log.jsonl"
chown $VICTIM:$VICTIM "$D/log.jsonl"
chmod 0644 "$D/log.jsonl"
: >"$D/.log.jsonl.ajio-lock"
chown $ATTACKER:$ATTACKER "$D/.log.jsonl.ajio-lock"
chmod 0666 "$D/.log.jsonl.ajio-lock"
cp "$D/log.jsonl" "$WORK/foreign.want"
printf '{"b":2}\n' | as $VICTIM "$AJIO" append --jsonl "$D/log.jsonl" 2>"$WORK/err"
want_rc $? 73 "append with another user's 0666 lock file"
grep -qF "$D/.log.jsonl.ajio-lock" "$WORK/err" ||
    fail "the refusal does not name the lock file: $(cat "$WORK/err")"
same "$D/log.jsonl" "$WORK/foreign.want" "refused append, the log"

finish

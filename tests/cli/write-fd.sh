#!/bin/sh
# ajio write with a regular file or a pipe on standard input: the bytes exact beyond the 64 KiB
# of a read, moved by copy_file_range or splice (seen by strace), by reads where the kernel
# refuses; standard input's offset honoured, the target as its own input; invalid JSON and a full
# filesystem leave the target as it was and no temp.
. tests/cli/common.inc
D=$WORK/d
mkdir "$D"
printf 'old content\n' >"$WORK/old"
reset() { cp "$WORK/old" "$1"; }

# 3 MiB and a bit: several kernel pieces, and not a multiple of any buffer.
head -c 3158001 /dev/urandom >"$WORK/in"

# traced CMD...: runs CMD under strace (the system calls that move bytes, into $WORK/trace), or
# plainly where strace cannot trace here.
# LeakSanitizer cannot run under ptrace: the check-asan build is traced without it.
traced() {
    if [ -n "$STRACE" ]; then
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
            strace -o "$WORK/trace" -e trace=read,write,copy_file_range,splice "$@"
    else
        "$@"
    fi
}
STRACE=
if command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
    STRACE=yes
else
    echo "note: strace cannot trace here: the system calls are not checked"
fi
# in_trace PATTERN WHAT: the last trace has a line matching PATTERN (when there is a trace).
in_trace() {
    [ -z "$STRACE" ] && return 0
    grep -qE "$1" "$WORK/trace" || { fail "$2: no '$1' in the trace"; sed 's/^/    trace: /' "$WORK/trace" | tail -n 5; }
}
# not_in_trace PATTERN WHAT
not_in_trace() {
    [ -z "$STRACE" ] && return 0
    ! grep -qE "$1" "$WORK/trace" || fail "$2: '$1' in the trace"
}

# Negative control: reads of standard input do show in such a trace (cat's here).
traced cat <"$WORK/in" >/dev/null
in_trace '^read\(0, .*\) = [1-9]' "control: cat's reads are seen"

# The kernel's copy is asserted in the default scratch directory; the filesystem matrix moves
# it to filesystems that may refuse, where the read path must give the same bytes.
[ -n "${AJIO_TEST_DIR:-}" ] && echo "note: under AJIO_TEST_DIR the kernel's copy is not asserted"

# ---- a regular file: copy_file_range, no read of standard input ----
traced "$AJIO" write "$D/f" <"$WORK/in" 2>"$WORK/err"
want_rc $? 0 "regular file on standard input"
same "$D/f" "$WORK/in" "regular file on standard input"
if [ -z "${AJIO_TEST_DIR:-}" ]; then
    in_trace '^copy_file_range\(0, NULL, [0-9]+, NULL, [0-9]+, 0\) = [1-9]' "regular file"
    not_in_trace '^read\(0,' "regular file"
fi

# ---- a pipe: splice ----
cat "$WORK/in" | traced "$AJIO" write "$D/p" 2>"$WORK/err"
want_rc $? 0 "pipe on standard input"
same "$D/p" "$WORK/in" "pipe on standard input"
if [ -z "${AJIO_TEST_DIR:-}" ]; then
    in_trace '^splice\(0, NULL, [0-9]+, NULL, [0-9]+, SPLICE_F_MOVE\) = [1-9]' "pipe"
    not_in_trace '^read\(0,' "pipe"
fi

# ---- validation: 1 MiB reads, never the kernel's copy ----
{ printf '['; seq 1 400000 | tr '\n' ,; printf '0]'; } >"$WORK/in.json"
traced "$AJIO" write --json "$D/j.json" <"$WORK/in.json" 2>"$WORK/err"
want_rc $? 0 "--json from a regular file"
{ cat "$WORK/in.json"; echo; } >"$WORK/exp"
same "$D/j.json" "$WORK/exp" "--json from a regular file, newline added"
in_trace '^read\(0, .*, 1048576\) = 1048576' "--json reads 1 MiB pieces"
not_in_trace '^(copy_file_range|splice)' "--json"
cat "$WORK/in.json" | "$AJIO" write --json "$D/jp.json" 2>"$WORK/err"
want_rc $? 0 "--json from a pipe"
same "$D/jp.json" "$WORK/exp" "--json from a pipe"

# Invalid past the first MiB: exit 65, the target as it was, no temp.
sed 's/,300000,/,300000,}/' "$WORK/in.json" >"$WORK/bad.json"
for how in file pipe; do
    reset "$D/j.json"
    if [ $how = file ]; then
        "$AJIO" write --json "$D/j.json" <"$WORK/bad.json" 2>"$WORK/err"
    else
        cat "$WORK/bad.json" | "$AJIO" write --json "$D/j.json" 2>"$WORK/err"
    fi
    want_rc $? 65 "invalid JSON from a $how"
    want_err_prefix "ajio: <stdin>:1:" "invalid JSON from a $how, message"
    same "$D/j.json" "$WORK/old" "target after invalid JSON from a $how"
    no_temps "$D" "after invalid JSON from a $how"
done

# ---- standard input's offset is where the copy starts ----
printf 'skip:keep' >"$WORK/off"
{ dd bs=5 count=1 of=/dev/null 2>/dev/null; "$AJIO" write "$D/o"; } <"$WORK/off" 2>"$WORK/err"
want_rc $? 0 "standard input at an offset"
printf 'keep' >"$WORK/exp"
same "$D/o" "$WORK/exp" "standard input at an offset"

# ---- the target as its own input ----
cp "$WORK/in" "$D/self"
"$AJIO" write "$D/self" <"$D/self" 2>"$WORK/err"
want_rc $? 0 "ajio write f < f"
same "$D/self" "$WORK/in" "ajio write f < f"
cp "$WORK/in.json" "$D/self.json"
"$AJIO" write --json "$D/self.json" <"$D/self.json" 2>"$WORK/err"
want_rc $? 0 "ajio write --json f < f"
{ cat "$WORK/in.json"; echo; } >"$WORK/exp"
same "$D/self.json" "$WORK/exp" "ajio write --json f < f"
no_temps "$D" "after the writes of a file onto itself"

# ---- the read path where the kernel refuses: the input on another filesystem ----
MNT=$WORK/mnt
mkdir "$MNT"
if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the other-filesystem and full-filesystem cases mount a tmpfs: need root"
    finish
fi
mount -t tmpfs -o size=8m ajio-test "$MNT" || { fail "cannot mount a tmpfs"; finish; }
CLEANUP='umount "$MNT" 2>/dev/null'
cp "$WORK/in" "$MNT/in"
traced "$AJIO" write "$D/x" <"$MNT/in" 2>"$WORK/err"
want_rc $? 0 "input on another filesystem"
same "$D/x" "$WORK/in" "input on another filesystem"
in_trace '^copy_file_range\(0, .* = -1 EXDEV' "input on another filesystem: the kernel refuses"
in_trace '^read\(0, .*, 1048576\) = ' "input on another filesystem: read instead"
umount "$MNT"

# ---- a full filesystem (64 KiB): exit 74, target untouched, no temp ----
mount -t tmpfs -o size=64k ajio-test "$MNT" || { fail "cannot mount a 64 KiB tmpfs"; finish; }
for how in file pipe; do
    reset "$MNT/f"
    if [ $how = file ]; then
        "$AJIO" write "$MNT/f" <"$WORK/in" 2>"$WORK/err"
    else
        cat "$WORK/in" | "$AJIO" write "$MNT/f" 2>"$WORK/err"
    fi
    want_rc $? 74 "full filesystem, input from a $how"
    grep -qF "No space left on device (an atomic replace needs room" "$WORK/err" ||
        { fail "full filesystem, input from a $how: message"; sed 's/^/    stderr: /' "$WORK/err"; }
    same "$MNT/f" "$WORK/old" "target on a full filesystem, input from a $how"
    no_temps "$MNT" "after ENOSPC, input from a $how"
done
umount "$MNT"
CLEANUP=

finish

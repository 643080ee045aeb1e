#!/bin/sh
# ajio write: content (exact bytes, JSON and JSONL newline rules), options, and for every error
# class the exit code, the message and a target left byte for byte as it was.
. tests/cli/common.inc
D=$WORK/d
mkdir "$D"
printf 'old content\n' >"$WORK/old"

# reset FILE: gives FILE the known old content.
reset() { cp "$WORK/old" "$1"; }

# ---- content ----
printf 'abc' | "$AJIO" write "$D/raw" 2>"$WORK/err"
want_rc $? 0 "plain write"
printf 'abc' >"$WORK/exp"
same "$D/raw" "$WORK/exp" "plain write keeps the exact bytes (no newline added)"

printf '{"a": [1, 2]}' | "$AJIO" write --json "$D/j.json" 2>"$WORK/err"
want_rc $? 0 "--json without a trailing newline"
printf '{"a": [1, 2]}\n' >"$WORK/exp"
same "$D/j.json" "$WORK/exp" "--json adds the missing trailing newline"

printf '{"a": [1, 2]}\n' | "$AJIO" write --json "$D/j.json" 2>"$WORK/err"
want_rc $? 0 "--json with a trailing newline"
same "$D/j.json" "$WORK/exp" "--json does not add a second newline"

printf '{"a":1}\n{"b":2}' | "$AJIO" write --jsonl "$D/l.jsonl" 2>"$WORK/err"
want_rc $? 0 "--jsonl with an unterminated last line"
printf '{"a":1}\n{"b":2}\n' >"$WORK/exp"
same "$D/l.jsonl" "$WORK/exp" "--jsonl terminates the last line"

# An empty input is refused (a producer that failed prints nothing too) unless --allow-empty.
reset "$D/l.jsonl"
"$AJIO" write --jsonl "$D/l.jsonl" </dev/null 2>"$WORK/err"
want_rc $? 65 "--jsonl with empty input"
want_err "ajio: standard input is empty: \"$D/l.jsonl\" left unchanged (--allow-empty replaces it with an empty file)" \
    "empty input message"
same "$D/l.jsonl" "$WORK/old" "target after an empty input"
reset "$D/e"
sh -c 'exit 5' | "$AJIO" write "$D/e" 2>"$WORK/err"
want_rc $? 65 "plain write of the empty output of a failed producer"
same "$D/e" "$WORK/old" "target after the empty output of a failed producer"
"$AJIO" write --jsonl --allow-empty "$D/l.jsonl" </dev/null 2>"$WORK/err"
want_rc $? 0 "--allow-empty with empty input"
[ -f "$D/l.jsonl" ] && [ ! -s "$D/l.jsonl" ] || fail "--allow-empty with empty input must give an empty file"
no_temps "$D" "after the refused empty inputs"

# A document larger than one 64 KiB chunk, split across reads, still validates.
awk 'BEGIN { printf "["; for (i = 0; i < 50000; i++) printf "%s%d", (i ? "," : ""), i; print "]" }' \
    >"$WORK/big.json"
"$AJIO" write --json "$D/big.json" <"$WORK/big.json" 2>"$WORK/err"
want_rc $? 0 "--json of a multi-chunk document"
same "$D/big.json" "$WORK/big.json" "multi-chunk document"

# ---- invalid JSON: exit 65, <stdin>:LINE:COL: reason, target untouched and named ----
reset "$D/t.json"
printf '{"a":1,}' | "$AJIO" write --json "$D/t.json" 2>"$WORK/err"
want_rc $? 65 "--json trailing comma"
want_err "ajio: <stdin>:1:8: trailing comma before '}' ($D/t.json left unchanged)" \
    "--json trailing comma message"
same "$D/t.json" "$WORK/old" "target after invalid JSON"

printf '{\n  "a": tru\n}' | "$AJIO" write --json "$D/t.json" 2>"$WORK/err"
want_rc $? 65 "--json bad literal on line 2"
want_err_prefix "ajio: <stdin>:2:11: " "--json bad literal position"
same "$D/t.json" "$WORK/old" "target after invalid JSON on line 2"

"$AJIO" write --json "$D/t.json" </dev/null 2>"$WORK/err"
want_rc $? 65 "--json empty input"
want_err "ajio: <stdin>:1:1: empty input ($D/t.json left unchanged)" "--json empty input message"
same "$D/t.json" "$WORK/old" "target after empty --json input"

# The error is in the second 64 KiB chunk: the part already written must not reach the target.
{ head -c 100000 "$WORK/big.json"; printf ',]'; } | "$AJIO" write --json "$D/t.json" 2>"$WORK/err"
want_rc $? 65 "--json error after the first chunk"
want_err_prefix "ajio: <stdin>:1:100002: " "--json error after the first chunk, position"
same "$D/t.json" "$WORK/old" "target after a late JSON error"

printf '{"a":1}\n\n{"b":2}\n' | "$AJIO" write --jsonl "$D/t.json" 2>"$WORK/err"
want_rc $? 65 "--jsonl blank line"
want_err_prefix "ajio: <stdin>:2:1: " "--jsonl blank line position"
same "$D/t.json" "$WORK/old" "target after invalid JSONL"
no_temps "$D" "after invalid input"

# ---- options ----
printf 'x\n' | "$AJIO" write --mode 0600 "$D/m" 2>"$WORK/err"
want_rc $? 0 "--mode 0600 new file"
[ "$(stat -c %a "$D/m")" = 600 ] || fail "--mode 0600 gave $(stat -c %a "$D/m")"
printf 'y\n' | "$AJIO" write --mode 640 "$D/m" 2>"$WORK/err"
want_rc $? 0 "--mode 640 existing file"
[ "$(stat -c %a "$D/m")" = 640 ] || fail "--mode 640 gave $(stat -c %a "$D/m")"
chmod 604 "$D/m"
printf 'z\n' | "$AJIO" write "$D/m" 2>"$WORK/err"
want_rc $? 0 "rewrite without --mode"
[ "$(stat -c %a "$D/m")" = 604 ] || fail "an existing file must keep its mode 604"

reset "$D/s"
touch -d '2001-02-03 04:05:06' "$D/s"
before=$(stat -c %Y.%i "$D/s")
"$AJIO" write --skip-unchanged "$D/s" <"$WORK/old" 2>"$WORK/err"
want_rc $? 0 "--skip-unchanged with the same bytes"
[ "$(stat -c %Y.%i "$D/s")" = "$before" ] || fail "--skip-unchanged touched an unchanged file"
printf 'new\n' | "$AJIO" write --skip-unchanged "$D/s" 2>"$WORK/err"
want_rc $? 0 "--skip-unchanged with new bytes"
[ "$(cat "$D/s")" = new ] || fail "--skip-unchanged must still write new content"
[ "$(stat -c %Y "$D/s")" != "${before%.*}" ] || fail "--skip-unchanged: new content, old mtime"

reset "$D/c"
printf 'new\n' | "$AJIO" write --create-only "$D/c" 2>"$WORK/err"
want_rc $? 73 "--create-only on an existing file"
want_err_prefix "ajio: " "--create-only message"
same "$D/c" "$WORK/old" "target after --create-only refused"
printf 'new\n' | "$AJIO" write --create-only "$D/c2" 2>"$WORK/err"
want_rc $? 0 "--create-only on a new file"

reset "$D/target"
ln -s target "$D/link"
printf 'via link\n' | "$AJIO" write "$D/link" 2>"$WORK/err"
want_rc $? 0 "write through a symlink"
[ -L "$D/link" ] && [ "$(cat "$D/target")" = "via link" ] || fail "default must follow the link"
printf 'no\n' | "$AJIO" write --no-follow "$D/link" 2>"$WORK/err"
want_rc $? 73 "--no-follow on a symlink"
[ -L "$D/link" ] && [ "$(cat "$D/target")" = "via link" ] || fail "--no-follow changed something"
printf 'own\n' | "$AJIO" write --replace-link "$D/link" 2>"$WORK/err"
want_rc $? 0 "--replace-link"
[ ! -L "$D/link" ] && [ "$(cat "$D/link")" = own ] && [ "$(cat "$D/target")" = "via link" ] ||
    fail "--replace-link must replace the link, not the file it points to"

printf 'x\n' | "$AJIO" write --no-mkdir "$D/new/sub/f" 2>"$WORK/err"
want_rc $? 73 "--no-mkdir with a missing parent"
[ ! -e "$D/new" ] || fail "--no-mkdir created a directory"
printf 'x\n' | "$AJIO" write "$D/new/sub/f" 2>"$WORK/err"
want_rc $? 0 "missing parents are created"
[ "$(cat "$D/new/sub/f")" = x ] || fail "write into new parents"

printf 'x\n' | "$AJIO" write --no-sync "$D/ns" 2>"$WORK/err"
want_rc $? 0 "--no-sync"

# ---- failures to create: exit 73, target untouched ----
reset "$D/plain"
printf 'x\n' | "$AJIO" write "$D/plain/child" 2>"$WORK/err"
want_rc $? 73 "a file used as a directory (ENOTDIR)"
want_err_prefix "ajio: " "ENOTDIR message"
same "$D/plain" "$WORK/old" "file used as a directory"

printf 'x\n' | "$AJIO" write "$D" 2>"$WORK/err"
want_rc $? 73 "target is a directory"

# Root is not stopped by chmod: as root a read-only bind mount gives EROFS; an ordinary user
# gets EACCES from a directory without write permission.
RO=$WORK/ro
mkdir "$RO"
reset "$RO/f"
if [ "$(id -u)" -ne 0 ]; then
    chmod a-w "$RO"
    printf 'x\n' | "$AJIO" write "$RO/f" 2>"$WORK/err"
    want_rc $? 73 "directory without write permission (EACCES)"
    want_err_prefix "ajio: " "EACCES message"
    grep -qF "the directory must be writable, not only FILE)" "$WORK/err" ||
        fail "EACCES message does not say why the directory must be writable"
    printf 'x\n' | "$AJIO" write "$RO/a/b" 2>"$WORK/err"
    want_rc $? 73 "missing parent in a directory without write permission"
    want_err_prefix "ajio: mkdir of \"$RO/a\" for \"$RO/a/b\": " "mkdir message names the directory"
    same "$RO/f" "$WORK/old" "target in a directory without write permission"
    chmod u+w "$RO"
elif mount --bind "$RO" "$RO" 2>/dev/null; then
    CLEANUP='umount "$RO" 2>/dev/null'
    if mount -o remount,bind,ro "$RO" 2>/dev/null; then
        printf 'x\n' | "$AJIO" write "$RO/f" 2>"$WORK/err"
        want_rc $? 73 "read-only directory (EROFS)"
        want_err_prefix "ajio: " "EROFS message"
        grep -qF "the directory must be writable, not only FILE)" "$WORK/err" ||
            fail "EROFS message does not say why the directory must be writable"
        grep -q "O_TMPFILE" "$WORK/err" && fail "EROFS message uses internal terms"
        printf 'x\n' | "$AJIO" write "$RO/a/b" 2>"$WORK/err"
        want_rc $? 73 "missing parent in a read-only directory"
        want_err_prefix "ajio: mkdir of \"$RO/a\" for \"$RO/a/b\": " "mkdir message names the directory"
        same "$RO/f" "$WORK/old" "target in a read-only directory"
    else
        fail "cannot remount a bind mount read-only"
    fi
    umount "$RO"
    CLEANUP=
elif chattr +i "$RO" 2>/dev/null; then
    CLEANUP='chattr -i "$RO"'
    printf 'x\n' | "$AJIO" write "$RO/f" 2>"$WORK/err"
    want_rc $? 73 "immutable directory (EPERM)"
    same "$RO/f" "$WORK/old" "target in an immutable directory"
    chattr -i "$RO"
    CLEANUP=
else
    fail "as root, neither a read-only bind mount nor chattr +i is possible here"
fi

# A full filesystem: exit 74, target untouched, no temp left.
FULL=$WORK/full
mkdir "$FULL"
if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the full filesystem case (ENOSPC) mounts a small tmpfs: needs root"
elif mount -t tmpfs -o size=64k ajio-test "$FULL" 2>/dev/null; then
    CLEANUP='umount "$FULL" 2>/dev/null'
    reset "$FULL/f"
    head -c 1048576 /dev/zero | "$AJIO" write "$FULL/f" 2>"$WORK/err"
    want_rc $? 74 "full filesystem (ENOSPC)"
    want_err_prefix "ajio: " "ENOSPC message"
    grep -qF "needs room for the old and the new copy at once" "$WORK/err" ||
        fail "ENOSPC message does not say why an atomic replace needs room"
    same "$FULL/f" "$WORK/old" "target on a full filesystem"
    no_temps "$FULL" "after ENOSPC"
    umount "$FULL"
    CLEANUP=
else
    fail "as root, cannot mount a small tmpfs for the ENOSPC case"
fi

# Standard input that cannot be read: exit 74, nothing written.
reset "$D/r"
"$AJIO" write "$D/r" <"$D" 2>"$WORK/err"
want_rc $? 74 "unreadable standard input"
want_err_prefix "ajio: reading standard input" "unreadable standard input message"
same "$D/r" "$WORK/old" "target after a failed read of standard input"
no_temps "$D" "after every failure"

finish

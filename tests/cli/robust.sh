#!/bin/sh
# The tool in a hostile environment: a file-size limit (EFBIG, not death by SIGXFSZ), closed
# standard descriptors (no file of the library may take their place), --help and --version into a
# full or closed standard output (exit 74, as coreutils do), and names with control characters or
# invalid UTF-8 (escaped in every message, so a name cannot forge lines or drive the terminal).
. tests/cli/common.inc
D=$WORK/d
mkdir "$D"
printf 'old content\n' >"$WORK/old"
printf 'new content\n' >"$WORK/new"

# reset FILE: gives FILE the known old content.
reset() { cp "$WORK/old" "$1"; }

# one_line WHAT: the last stderr is exactly one line.
one_line()
{
    n=$(wc -l <"$WORK/err")
    if [ "$n" -ne 1 ]; then
        fail "$1: stderr has $n lines, want 1"
        sed 's/^/    stderr: /' "$WORK/err"
    fi
}

# ---- a file-size limit: exit 74 with EFBIG, target untouched ----
reset "$D/f"
(ulimit -f 8 && head -c 100000 /dev/zero | "$AJIO" write "$D/f") 2>"$WORK/err"
want_rc $? 74 "write beyond ulimit -f (EFBIG, not killed by SIGXFSZ)"
grep -q 'File too large' "$WORK/err" || fail "ulimit -f: message does not say 'File too large'"
same "$D/f" "$WORK/old" "target after a write beyond ulimit -f"
no_temps "$D" "after ulimit -f"

# ---- standard input closed: exit 66, and nothing the tool opens is read in its place ----
reset "$D/f"
"$AJIO" write "$D/f" <&- 2>"$WORK/err"
want_rc $? 66 "write with standard input closed"
want_err "ajio: standard input is closed" "write with standard input closed, message"
same "$D/f" "$WORK/old" "target after a write with standard input closed"
"$AJIO" write --json "$D/new.json" <&- 2>"$WORK/err"
want_rc $? 66 "write --json of a new file with standard input closed"
[ ! -e "$D/new.json" ] || fail "write with standard input closed created its target"
no_temps "$D" "after writes with standard input closed"

"$AJIO" check - <&- 2>"$WORK/err"
want_rc $? 66 "check - with standard input closed"
want_err "ajio: standard input is closed" "check - with standard input closed, message"
printf '{"a": 1}\n' >"$WORK/ok.json"
"$AJIO" check "$WORK/ok.json" <&- 2>"$WORK/err"
want_rc $? 0 "check of a named file with standard input closed"
# The named file must not take fd 0 and then be read a second time as '-'.
"$AJIO" check "$WORK/ok.json" - <&- 2>"$WORK/err"
want_rc $? 66 "check FILE - with standard input closed"
want_err "ajio: standard input is closed" "check FILE - with standard input closed, message"
one_line "check FILE - with standard input closed"

# ---- standard output and error closed: the write works and holds only its input ----
reset "$D/f"
"$AJIO" write "$D/f" <"$WORK/new" >&- 2>&-
want_rc $? 0 "write with standard output and error closed"
same "$D/f" "$WORK/new" "target written with standard output and error closed"
reset "$D/f"
printf '{"a":' | "$AJIO" write --json "$D/f" >&- 2>&-
want_rc $? 65 "invalid --json with standard output and error closed"
same "$D/f" "$WORK/old" "target after invalid --json with standard output and error closed"
no_temps "$D" "with standard output and error closed"

# While the tool waits for its input, fds 1 and 2 must be /dev/null, not the library's directory
# or temp file: a message would otherwise be written into the temp, and so into the target.
mkfifo "$WORK/fifo"
reset "$D/f"
"$AJIO" write "$D/f" <"$WORK/fifo" >&- 2>&- &
pid=$!
exec 3>"$WORK/fifo"
real=$(cd "$D" && pwd -P)
tries=0 seen=
while [ -z "$seen" ] && [ $tries -lt 100 ]; do
    for l in "/proc/$pid/fd/"*; do
        case $(readlink "$l" 2>/dev/null) in "$real"/*) seen=1 ;; esac
    done
    [ -n "$seen" ] || sleep 0.1
    tries=$((tries + 1))
done
if [ -z "$seen" ]; then
    fail "write from a fifo: the temp in $D never showed in /proc/$pid/fd"
else
    for fd in 1 2; do
        l=$(readlink "/proc/$pid/fd/$fd")
        [ "$l" = /dev/null ] || fail "closed fd $fd: holds '$l' during the write, want /dev/null"
    done
fi
cat "$WORK/new" >&3
exec 3>&-
wait $pid
want_rc $? 0 "write from a fifo with standard output and error closed"
same "$D/f" "$WORK/new" "target written from a fifo with standard output and error closed"

# ---- --help and --version into a full or closed standard output: exit 74 ----
for args in --help -h --version help "help write" "write --help" "check --help" "sweep --help" \
    "demo --help"; do
    # shellcheck disable=SC2086 # args is split on purpose
    "$AJIO" $args >/dev/full 2>"$WORK/err"
    want_rc $? 74 "ajio $args >/dev/full"
    want_err "ajio: write error on standard output: No space left on device" \
        "ajio $args >/dev/full, message"
    # shellcheck disable=SC2086
    "$AJIO" $args >&- 2>"$WORK/err"
    want_rc $? 74 "ajio $args >&-"
    want_err "ajio: write error on standard output: Bad file descriptor" "ajio $args >&-, message"
done
"$AJIO" check -v "$WORK/ok.json" >/dev/full 2>"$WORK/err"
want_rc $? 74 "check -v >/dev/full"
one_line "check -v >/dev/full"

# ---- names with control characters and invalid UTF-8 are escaped in messages ----
# A newline, an ESC and a 0xff byte; then a backslash, a tab, valid UTF-8 (kept) and U+0085 (C1).
N=$(printf 'a\nb\033c\377d')
E='a\nb\x1bc\xffd'
N2=$(printf 'x\\y\t\303\251\302\205z')
E2=$(printf 'x\\\\y\\t\303\251\\xc2\\x85z')

"$AJIO" check "$WORK/$N" 2>"$WORK/err"
want_rc $? 66 "check of a missing file with a hostile name"
one_line "check of a missing file with a hostile name"
want_err "ajio: cannot open $WORK/$E: No such file or directory" "check missing, escaped name"

printf '{,' | "$AJIO" write --json "$WORK/$N" 2>"$WORK/err"
want_rc $? 65 "write --json of invalid input to a hostile name"
one_line "write --json of invalid input to a hostile name"
want_err_prefix "ajio: <stdin>:1:2: expected " "write --json invalid, escaped name"
grep -qF "($WORK/$E left unchanged)" "$WORK/err" || fail "write --json invalid: escaped name of the target"

# The library's messages embed the path: they are escaped as well.
reset "$WORK/$N"
printf 'x' | "$AJIO" write --create-only "$WORK/$N" 2>"$WORK/err"
want_rc $? 73 "write --create-only of an existing hostile name"
one_line "write --create-only of an existing hostile name"
want_err "ajio: \"$WORK/$E\" exists and create-only was asked" "library message, escaped name"

printf '{"a": 1}\n' >"$WORK/$N2"
"$AJIO" check -v "$WORK/$N2" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "check -v of a name with a backslash, a tab, UTF-8 and C1"
grep -qxF "$WORK/$E2: ok (1 value)" "$WORK/out" ||
    fail "check -v: want '$WORK/$E2: ok (1 value)', got '$(cat "$WORK/out")'"

mkdir "$WORK/$N"d
"$AJIO" sweep "$WORK/$N"d >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "sweep of a hostile directory name"
grep -qxF "$WORK/${E}d: 0 removed" "$WORK/out" ||
    fail "sweep: want '$WORK/${E}d: 0 removed', got '$(cat "$WORK/out")'"

"$AJIO" write --mode "$N" "$WORK/m" 2>"$WORK/err" </dev/null
want_rc $? 64 "usage error quoting a hostile argument"
want_err "ajio: --mode wants octal bits 0 to 7777, not '$E'" "usage error, escaped argument"

# The library's own backslashes in a JSON reason are its notation, not a name: kept as they are.
printf '"a\nb"' >"$WORK/nl.json"
"$AJIO" check "$WORK/nl.json" 2>"$WORK/err"
want_rc $? 65 "check of a string with a raw newline"
want_err "$WORK/nl.json:1:3: unescaped newline in string (use \\n)" "JSON reason with a backslash"

finish

#!/bin/sh
# The one command table: "ajio --help" lists exactly the commands that dispatch runs. Every
# listed command runs (its own --help, exit 0, the same text as "ajio help COMMAND"), the list is
# the one of the man page's SYNOPSIS, and a name that is not in the list is an unknown command
# (exit 64), however close it comes to one that is.
. tests/cli/common.inc

"$AJIO" --help >"$WORK/help" 2>"$WORK/err"
want_rc $? 0 "ajio --help"
# The lines of the "Commands:" block, up to the blank line that ends it: "  NAME OPERANDS  summary".
listed=$(sed -n '/^Commands:$/,/^$/{/^  [a-z]/p}' "$WORK/help" | awk '{ print $1 }')
[ -n "$listed" ] || fail "ajio --help lists no command"

for c in $listed; do
    "$AJIO" "$c" --help >"$WORK/out" 2>"$WORK/err"
    want_rc $? 0 "ajio $c --help"
    grep -q "^Usage: ajio $c\b" "$WORK/out" || fail "ajio $c --help: no 'Usage: ajio $c' on stdout"
    [ ! -s "$WORK/err" ] || fail "ajio $c --help: wrote to stderr"
    "$AJIO" help "$c" >"$WORK/out2" 2>"$WORK/err"
    want_rc $? 0 "ajio help $c"
    cmp -s "$WORK/out" "$WORK/out2" || fail "ajio help $c differs from ajio $c --help"
done

# The man page's SYNOPSIS names the same commands, no more and no fewer: a command added to the
# table without its page, or documented without being runnable, shows here.
sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/s/^\.B ajio \([a-z][a-z]*\)$/\1/p' cli/ajio.1 |
    sort -u >"$WORK/man"
printf '%s\n' "$listed" | sort -u >"$WORK/list"
cmp -s "$WORK/man" "$WORK/list" || fail "ajio --help lists $(tr '\n' ' ' <"$WORK/list")," \
    "the man page's SYNOPSIS $(tr '\n' ' ' <"$WORK/man")"

# Names dispatch must not know: near misses of every listed command, and words such as
# "version" that a hidden alias beside the table could hold (unless the table lists them). Each
# one is an unknown command, with nothing on stdout.
unknown=$(for c in $listed; do
    printf '%s\n' "$c"x "$(printf '%s' "$c" | sed 's/.$//')"
    printf '%s\n' "$c" | tr '[:lower:]' '[:upper:]'
done)
for c in $unknown version commands frobnicate; do
    printf '%s\n' "$listed" | grep -qxF -- "$c" && continue
    "$AJIO" "$c" </dev/null >"$WORK/out" 2>"$WORK/err"
    want_rc $? 64 "unknown command '$c'"
    want_err "ajio: unknown command '$c'" "unknown command '$c', message"
    [ ! -s "$WORK/out" ] || fail "unknown command '$c' wrote to stdout"
    "$AJIO" help "$c" </dev/null >"$WORK/out" 2>"$WORK/err"
    want_rc $? 64 "ajio help $c (unknown)"
done

finish

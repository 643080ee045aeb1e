#!/bin/sh
# The man page documents every command, every option the tool accepts and every exit status it
# can return, and renders without groff warnings.
. tests/cli/common.inc
MAN=cli/ajio.1
[ -f "$MAN" ] || { echo "FAIL: $MAN missing"; exit 1; }
# In roff source a hyphen in an option is written "\-".
sed 's/\\-/-/g' "$MAN" >"$WORK/man.txt"

for c in write update append repair check sweep demo help; do
    grep -q "^\.B ajio $c" "$WORK/man.txt" || fail "SYNOPSIS lacks 'ajio $c'"
done
for c in write update append repair check sweep demo; do
    "$AJIO" "$c" --help >"$WORK/help" || fail "ajio $c --help"
    for opt in $(grep -o -- '--[a-z][a-z-]*' "$WORK/help" | sort -u); do
        grep -q -- "$opt" "$WORK/man.txt" || fail "man page lacks option $opt of ajio $c"
    done
done
for status in 0 1 64 65 66 69 70 73 74 75 124; do
    grep -qx "\.B $status" "$WORK/man.txt" || fail "EXIT STATUS lacks $status"
done
# Every exit code of the source is documented (the enum in cli/cli.h).
for status in $(sed -n 's/^ *EXIT_[A-Z]* = \([0-9]*\),.*/\1/p' cli/cli.h); do
    grep -qx "\.B $status" "$WORK/man.txt" || fail "exit code $status of cli.h not in the man page"
done
# groff comes from groff-base (DEB_PACKAGES); without it the error text fails the check.
groff -man -ww -z "$MAN" >"$WORK/err" 2>&1
[ ! -s "$WORK/err" ] || { fail "groff warnings"; sed 's/^/    /' "$WORK/err"; }

finish

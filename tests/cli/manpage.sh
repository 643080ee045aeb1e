#!/bin/sh
# The man page documents every command, every option the tool accepts and every exit status it
# can return, and renders without groff warnings.
. tests/cli/common.inc
MAN=cli/ajio.1
[ -f "$MAN" ] || { echo "FAIL: $MAN missing"; exit 1; }
# In roff source a hyphen in an option is written "\-".
# "\e" is a backslash, as in the printf of an example.
sed 's/\\-/-/g; s/\\e/\\/g' "$MAN" >"$WORK/man.txt"

for c in write update append repair cat check sweep batch recover publish snapshot demo help; do
    grep -q "^\.B ajio $c" "$WORK/man.txt" || fail "SYNOPSIS lacks 'ajio $c'"
done
for c in write update append repair cat check sweep batch recover publish snapshot demo; do
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
# Every example runs as written: the command lines of the .nf blocks (those of the DIAGNOSTICS
# section are output, not commands), each in a fresh directory holding the files the EXAMPLES
# section names, with this build's ajio first in PATH.
awk '/^\.SH/ { sec = $2 } /^\.nf/ { nf = 1; next } /^\.fi/ { nf = 0; next }
    nf && sec != "DIAGNOSTICS" && /^(ajio|jq|head|echo|printf) / { print }' "$WORK/man.txt" |
    sed 's/\\(aq/'"'"'/g' >"$WORK/examples"
[ "$(grep -c . "$WORK/examples")" -ge 9 ] || fail "found only $(grep -c . "$WORK/examples") examples"
mkdir "$WORK/bin"
ln -s "$(cd "$(dirname "$AJIO")" && pwd)/ajio" "$WORK/bin/ajio"
n=0
while IFS= read -r line; do
    n=$((n + 1))
    ex=$WORK/ex$n
    mkdir "$ex"
    printf '{"debug": true, "port": 8080}\n' >"$ex/app.json"
    cp "$ex/app.json" "$ex/cfg.json"
    mkdir "$ex/state" "$ex/site"
    cp "$ex/app.json" "$ex/site/index.json"
    printf '{"event":"start"}\n{"event":"stop"}\n' >"$ex/events.jsonl"
    (cd "$ex" && PATH=$WORK/bin:$PATH sh -c "$line") >"$WORK/out" 2>"$WORK/err" ||
        { fail "man page example fails: $line"; sed 's/^/    /' "$WORK/err"; }
done <"$WORK/examples"

# groff comes from groff-base (DEB_PACKAGES); without it the error text fails the check.
groff -man -ww -z "$MAN" >"$WORK/err" 2>&1
[ ! -s "$WORK/err" ] || { fail "groff warnings"; sed 's/^/    /' "$WORK/err"; }

finish

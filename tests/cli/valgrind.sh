#!/bin/sh
# The tool under valgrind (memcheck, full leak check): a few commands on their success and error
# paths, each of which must end with no memory error and no leak (valgrind exits 99 otherwise).
. tests/cli/common.inc
if ! command -v valgrind >/dev/null; then
    echo "FAIL: valgrind missing (Debian package 'valgrind')"
    exit 1
fi
VG="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible"

# vg WANT WHAT ARGS...: runs ajio ARGS under valgrind with stdin from $WORK/in.
vg()
{
    want=$1
    what=$2
    shift 2
    $VG "$AJIO" "$@" <"$WORK/in" >"$WORK/out" 2>"$WORK/err"
    rc=$?
    [ $rc -eq 99 ] && { fail "$what: valgrind found errors"; sed 's/^/    /' "$WORK/err"; return; }
    want_rc $rc "$want" "$what"
}

printf '{"a": [1, 2, {"b": null}]}' >"$WORK/in"
vg 0 "write --json" write --json --no-sync "$WORK/f.json"
vg 73 "write --create-only on an existing file" write --create-only "$WORK/f.json"
printf '{"a": [1, 2,]}' >"$WORK/in"
vg 65 "write --json of invalid input" write --json "$WORK/f.json"
printf '{"a":1}\n{"b":2}' >"$WORK/in"
vg 0 "write --jsonl with an unterminated last line" write --jsonl --mode 600 "$WORK/f.jsonl"
printf '{"a":1}\n{"b":' >"$WORK/torn.jsonl"
: >"$WORK/in"
vg 65 "check of valid, torn and missing files" check "$WORK/f.json" "$WORK/torn.jsonl"
vg 66 "check of a missing file" check "$WORK/f.json" "$WORK/missing.json"
vg 0 "sweep --dry-run" sweep --dry-run --min-age 0 "$WORK"
vg 66 "sweep of a missing directory" sweep "$WORK/missing"
vg 64 "usage error" write --frob
vg 0 "--help" write --help
vg 0 "demo, short" demo --seconds 1 --writers 1 --readers 1 --dir "$WORK/demo"

# Negative control: the same valgrind command fails on a program that leaks.
if command -v "${CC:-cc}" >/dev/null; then
    printf '#include <stdlib.h>\nint main(void)\n{\n    char *volatile p = malloc(16);\n    p = NULL;\n    return p != NULL;\n}\n' >"$WORK/leak.c"
    "${CC:-cc}" -O0 -g -o "$WORK/leak" "$WORK/leak.c" || fail "control: cannot build leak.c"
    $VG "$WORK/leak" >/dev/null 2>&1
    want_rc $? 99 "control: valgrind must reject a leaking program"
else
    fail "control: no C compiler to build the leaking program"
fi

finish

#!/bin/sh
# ajio cat: complete lines only, a torn last line skipped with a note, invalid JSONL lines
# reported with their number (exit 65) while the valid ones are printed, a missing file exit 66,
# a full standard output exit 74.
. tests/cli/common.inc
F=$WORK/log.jsonl

printf '{"a":1}\n[2]\n{"c":' >"$F"
"$AJIO" cat --jsonl "$F" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "cat of a file with a torn tail"
printf '{"a":1}\n[2]\n' >"$WORK/want"
same "$WORK/out" "$WORK/want" "cat prints the complete lines"
want_err_prefix "$F:3: skipped a torn last line of 5 bytes" "cat: note of the torn tail"

printf '{"a":1}\nnot json\n\n"s"\n' >"$F"
"$AJIO" cat --jsonl "$F" >"$WORK/out" 2>"$WORK/err"
want_rc $? 65 "cat --jsonl of a corrupt file"
printf '{"a":1}\n"s"\n' >"$WORK/want"
same "$WORK/out" "$WORK/want" "cat --jsonl prints the valid lines"
grep -q "^$F:2:" "$WORK/err" || fail "cat: line 2 not reported: $(cat "$WORK/err")"
grep -q "^$F:3:" "$WORK/err" || fail "cat: blank line 3 not reported: $(cat "$WORK/err")"

# Without --jsonl every complete line is printed as it is.
"$AJIO" cat "$F" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "cat of lines"
same "$WORK/out" "$F" "cat without --jsonl"

"$AJIO" cat "$WORK/missing" >"$WORK/out" 2>"$WORK/err"
want_rc $? 66 "cat of a missing file"
if [ -w /dev/full ]; then
    "$AJIO" cat "$F" >/dev/full 2>"$WORK/err"
    want_rc $? 74 "cat into a full standard output"
fi
# Several FILEs in turn, '-' and no FILE being standard input; a missing one is reported and
# the others still printed.
printf 'one\n' >"$WORK/a"
printf 'two\n' | "$AJIO" cat "$WORK/a" - "$WORK/a" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "cat of two FILEs and standard input"
printf 'one\ntwo\none\n' >"$WORK/want"
same "$WORK/out" "$WORK/want" "cat of two FILEs and standard input"
printf 'in\ntorn' | "$AJIO" cat >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "cat without FILE"
[ "$(cat "$WORK/out")" = in ] || fail "cat without FILE printed '$(cat "$WORK/out")'"
want_err_prefix "<stdin>:2: skipped a torn last line" "cat without FILE: torn note names <stdin>"
"$AJIO" cat "$WORK/missing" "$WORK/a" >"$WORK/out" 2>"$WORK/err"
want_rc $? 66 "cat of a missing and a present file"
[ "$(cat "$WORK/out")" = one ] || fail "cat: the file after a missing one was not printed"

finish

#!/bin/sh
# ajio append and ajio repair: records accumulate, a missing newline is added, invalid JSONL
# appends nothing (exit 65), a torn tail is cut (or terminated) before the next record, and
# repair says what it did, once.
. tests/cli/common.inc
F=$WORK/d/log.jsonl

printf '{"a":1}\n' | "$AJIO" append --jsonl "$F" 2>"$WORK/err"
want_rc $? 0 "append creating file and parent"
printf '{"b":2}' | "$AJIO" append --jsonl "$F" 2>"$WORK/err"
want_rc $? 0 "append without trailing newline"
printf '{"a":1}\n{"b":2}\n' >"$WORK/want"
same "$F" "$WORK/want" "two appends"

printf '{"c":\n' | "$AJIO" append --jsonl "$F" 2>"$WORK/err"
want_rc $? 65 "append of invalid JSONL"
want_err_prefix "ajio: <stdin>:1:" "invalid JSONL, message"
same "$F" "$WORK/want" "invalid JSONL appends nothing"

: | "$AJIO" append "$WORK/empty" 2>"$WORK/err"
want_rc $? 0 "append of empty input"
[ ! -e "$WORK/empty" ] || fail "empty input created the file"

# Another writer's torn JSONL tail: refused by an append with or without --no-repair (exit 65,
# the file untouched), cut by an explicit repair; the next record is on its own line.
printf '{"x":' >>"$F"
printf '{"d":4}\n' | "$AJIO" append --jsonl --no-repair "$F" 2>"$WORK/err"
want_rc $? 65 "append --no-repair to a torn file"
printf '{"a":1}\n{"b":2}\n{"x":' >"$WORK/torn"
same "$F" "$WORK/torn" "--no-repair leaves the file"
printf '{"d":4}\n' | "$AJIO" append --jsonl --no-sync "$F" 2>"$WORK/err"
want_rc $? 65 "append to a file another writer left torn"
grep -q 'not a complete JSON value' "$WORK/err" || fail "append: no reason for the refusal: $(cat "$WORK/err")"
same "$F" "$WORK/torn" "a refused append leaves the file"
"$AJIO" repair --jsonl "$F" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "repair cutting"
[ "$(cat "$WORK/out")" = "$F: cut 5 bytes" ] || fail "repair output: $(cat "$WORK/out")"
printf '{"d":4}\n' | "$AJIO" append --jsonl --no-sync "$F" 2>"$WORK/err"
want_rc $? 0 "append after the repair"
printf '{"a":1}\n{"b":2}\n{"d":4}\n' >"$WORK/want"
same "$F" "$WORK/want" "torn tail cut before the record"

# Text: another writer's unterminated line is kept and terminated, never cut.
printf 'partial' >>"$F"
"$AJIO" repair "$F" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "repair terminating text"
[ "$(cat "$WORK/out")" = "$F: terminated the last line" ] || fail "repair output: $(cat "$WORK/out")"
"$AJIO" repair "$F" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "repair again"
[ "$(cat "$WORK/out")" = "$F: nothing to repair" ] || fail "repair again: $(cat "$WORK/out")"
printf '{"a":1}\n{"b":2}\n{"d":4}\npartial\n' >"$WORK/want"
same "$F" "$WORK/want" "repair keeps another writer's text"
printf '[5]' >>"$F"
"$AJIO" repair --jsonl "$F" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "repair --jsonl terminating"
[ "$(cat "$WORK/out")" = "$F: terminated the last line" ] || fail "repair --jsonl: $(cat "$WORK/out")"
printf '{"a":1}\n{"b":2}\n{"d":4}\npartial\n[5]\n' >"$WORK/want"
same "$F" "$WORK/want" "repair --jsonl"
"$AJIO" repair "$WORK/missing" >"$WORK/out" 2>"$WORK/err"
want_rc $? 66 "repair of a missing file"
[ ! -e "$WORK/missing" ] || fail "repair created the file"

# Usage errors.
"$AJIO" append </dev/null >"$WORK/out" 2>"$WORK/err"
want_rc $? 64 "append without FILE"
"$AJIO" repair a b >"$WORK/out" 2>"$WORK/err"
want_rc $? 64 "repair with two FILEs"

finish

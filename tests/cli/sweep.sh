#!/bin/sh
# ajio sweep: removes only old temps of the right shape (and name), counts them, --dry-run
# removes nothing, a missing directory is exit 66.
. tests/cli/common.inc
D=$WORK/d
mkdir "$D"
# The library ages a temp by its last change (ctime), which touch cannot set back: the "old"
# ones are made, then the test waits past --min-age 2 before making the young one.
for n in a.json b.json; do
    touch "$D/.$n.ajio-0123456789abcdef.tmp" "$D/.$n.ajio-fedcba9876543210.tmp"
done
touch "$D/.a.json.ajio-0123.tmp"             # wrong shape: 4 hex digits
touch "$D/a.json.ajio-0123456789abcdef.tmp"  # wrong shape: no leading dot
sleep 3
touch "$D/.a.json.ajio-00000000000000aa.tmp" # young: a writer may still own it
echo keep >"$D/a.json"

"$AJIO" sweep --dry-run --min-age 2 "$D" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "sweep --dry-run"
grep -qxF "$D: 4 to remove (dry run)" "$WORK/out" || fail "dry run output: $(cat "$WORK/out")"
[ "$(ls -A "$D" | wc -l)" -eq 8 ] || fail "--dry-run removed something"

"$AJIO" sweep --name b.json --no-sync --min-age 2 "$D" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "sweep --name b.json"
grep -qxF "$D: 2 removed" "$WORK/out" || fail "--name output: $(cat "$WORK/out")"
[ ! -e "$D/.b.json.ajio-0123456789abcdef.tmp" ] || fail "--name b.json left a b.json temp"
[ -e "$D/.a.json.ajio-0123456789abcdef.tmp" ] || fail "--name b.json removed an a.json temp"

"$AJIO" sweep --min-age 2 "$D" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "sweep --min-age 2"
grep -qxF "$D: 2 removed" "$WORK/out" || fail "--min-age 2 output: $(cat "$WORK/out")"
[ -e "$D/.a.json.ajio-00000000000000aa.tmp" ] || fail "--min-age 2 removed a young temp"
[ -e "$D/.a.json.ajio-0123.tmp" ] && [ -e "$D/a.json.ajio-0123456789abcdef.tmp" ] &&
    [ -e "$D/a.json" ] || fail "sweep removed a file that is not a temp"

"$AJIO" sweep "$D" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "sweep with the default min age (60 s)"
grep -qxF "$D: 0 removed" "$WORK/out" || fail "the default min age removed a young temp"
"$AJIO" sweep --min-age 0 "$D" "$WORK" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "sweep --min-age 0 of two directories"
grep -qxF "$D: 1 removed" "$WORK/out" && grep -qxF "$WORK: 0 removed" "$WORK/out" ||
    fail "two directories output: $(cat "$WORK/out")"

"$AJIO" sweep "$WORK/missing" "$D" >"$WORK/out" 2>"$WORK/err"
want_rc $? 66 "sweep of a missing directory"
want_err_prefix "ajio: " "missing directory message"
grep -qxF "$D: 0 removed" "$WORK/out" || fail "the other directory must still be swept"
"$AJIO" sweep "$D/a.json" >"$WORK/out" 2>"$WORK/err"
want_rc $? 66 "sweep of a file"

finish

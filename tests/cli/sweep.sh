#!/bin/sh
# ajio sweep: removes only old temps of the right shape (and name), counts them, --dry-run
# removes nothing, a missing directory is exit 66; --locks removes the lock files of gone files
# that nobody holds, and no other.
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

# ---- --locks: lock files of gone files that nobody holds ----
L=$WORK/locks
mkdir "$L"
# A failed update leaves a lock file and nothing else.
"$AJIO" update "$L/gone.json" -- false 2>"$WORK/err"
want_rc $? 1 "a failing update"
[ -f "$L/.gone.json.ajio-lock" ] || fail "the failed update left no lock file"
echo '{}' | "$AJIO" write "$L/here.json"
touch "$L/.here.json.ajio-lock"        # its file exists: kept
touch "$L/.held.json.ajio-lock"        # held below (hold_lock): kept
ln -s here.json "$L/.sym.json.ajio-lock" # a symlink of the lock shape: not followed, kept
ln -s nowhere "$L/dangling.json"
touch "$L/.dangling.json.ajio-lock"    # its file is a (dangling) symlink: exists, kept
hold_lock "$L/.held.json.ajio-lock" "$WORK/holding"
holder=$!
k=0
while [ ! -e "$WORK/holding" ] && [ $k -lt 100 ]; do sleep 0.05; k=$((k + 1)); done

"$AJIO" sweep --min-age 0 "$L" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "sweep without --locks"
grep -qxF "$L: 0 removed" "$WORK/out" || fail "sweep without --locks: $(cat "$WORK/out")"
"$AJIO" sweep --locks "$L" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "sweep --locks with the default min age"
grep -qxF "$L: 0 removed" "$WORK/out" || fail "--locks removed a young lock file"
"$AJIO" sweep --locks --min-age 0 --dry-run "$L" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "sweep --locks --dry-run"
grep -qxF "$L: 1 to remove (dry run)" "$WORK/out" || fail "--locks --dry-run: $(cat "$WORK/out")"
[ -f "$L/.gone.json.ajio-lock" ] || fail "--locks --dry-run removed a lock file"
"$AJIO" sweep --locks --min-age 0 --name here.json "$L" >"$WORK/out" 2>"$WORK/err"
grep -qxF "$L: 0 removed" "$WORK/out" || fail "--locks --name here.json: $(cat "$WORK/out")"
"$AJIO" sweep --locks --min-age 0 "$L" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "sweep --locks --min-age 0"
grep -qxF "$L: 1 removed" "$WORK/out" || fail "--locks --min-age 0: $(cat "$WORK/out")"
[ ! -e "$L/.gone.json.ajio-lock" ] || fail "--locks left the lock file of a gone file"
for f in .here.json.ajio-lock .held.json.ajio-lock .sym.json.ajio-lock .dangling.json.ajio-lock \
    here.json; do
    [ -e "$L/$f" ] || [ -L "$L/$f" ] || fail "--locks removed $f"
done
[ -L "$L/.sym.json.ajio-lock" ] || fail "--locks replaced the symlink"
kill "$holder"
wait "$holder" 2>/dev/null
"$AJIO" sweep --locks --min-age 0 "$L" >"$WORK/out" 2>"$WORK/err"
grep -qxF "$L: 1 removed" "$WORK/out" || fail "--locks after the holder ended: $(cat "$WORK/out")"
[ ! -e "$L/.held.json.ajio-lock" ] || fail "the lock file no longer held was kept"
# Updates work as before on a swept name.
"$AJIO" update --json "$L/gone.json" -- echo '{"n": 1}' 2>"$WORK/err"
want_rc $? 0 "update after the sweep of its lock file"

finish

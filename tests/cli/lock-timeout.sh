#!/bin/sh
# --timeout of append, repair and write --lock: while another process holds FILE's lock (here
# hold_lock on .NAME.ajio-lock), each gives up after the timeout with exit 69 and FILE untouched;
# once the lock is free the same commands succeed.
. tests/cli/common.inc
D=$WORK/d
mkdir "$D"
F=$D/log.jsonl
LOCK=$D/.log.jsonl.ajio-lock
printf '{"a":1}\n' >"$F"
cp "$F" "$WORK/before"

now_ms()
{
    echo $(($(date +%s%N) / 1000000))
}

hold_lock "$LOCK" "$WORK/holding"
holder=$!
CLEANUP='kill $holder 2>/dev/null'
k=0
while [ ! -e "$WORK/holding" ] && [ $k -lt 100 ]; do sleep 0.05; k=$((k + 1)); done
# Control: the lock really is held.
lock_held "$LOCK" || fail "control: the holder does not hold the lock"

echo '{"c":3}' | "$AJIO" append --timeout 0 --jsonl "$F" 2>"$WORK/err"
want_rc $? 69 "append --timeout 0 with the lock held"
want_err_prefix "ajio: " "append --timeout 0 message"
t0=$(now_ms)
echo '{"c":3}' | "$AJIO" append --timeout 1 --jsonl "$F" 2>"$WORK/err"
want_rc $? 69 "append --timeout 1 with the lock held"
t1=$(now_ms)
[ $((t1 - t0)) -ge 900 ] || fail "append --timeout 1 gave up after $((t1 - t0)) ms"
[ $((t1 - t0)) -lt 10000 ] || fail "append --timeout 1 took $((t1 - t0)) ms"
same "$F" "$WORK/before" "file after the appends that timed out"

"$AJIO" repair --timeout 0 "$F" >"$WORK/out" 2>"$WORK/err"
want_rc $? 69 "repair --timeout 0 with the lock held"
[ ! -s "$WORK/out" ] || fail "repair that timed out printed: $(cat "$WORK/out")"
same "$F" "$WORK/before" "file after the repair that timed out"

echo new | "$AJIO" write --lock --timeout 0 "$F" 2>"$WORK/err"
want_rc $? 69 "write --lock --timeout 0 with the lock held"
echo new | "$AJIO" write --lock --timeout 1 "$F" 2>"$WORK/err"
want_rc $? 69 "write --lock --timeout 1 with the lock held"
same "$F" "$WORK/before" "file after the writes that timed out"
no_temps "$D" "after the writes that timed out"

kill "$holder"
wait "$holder" 2>/dev/null

# ---- the lock free: the same commands succeed ----
"$AJIO" repair --timeout 0 "$F" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "repair --timeout 0 with the lock free"
grep -qxF "$F: nothing to repair" "$WORK/out" || fail "repair output: $(cat "$WORK/out")"
echo '{"c":3}' | "$AJIO" append --timeout 0 --jsonl "$F" 2>"$WORK/err"
want_rc $? 0 "append --timeout 0 with the lock free"
printf '{"a":1}\n{"c":3}\n' >"$WORK/exp"
same "$F" "$WORK/exp" "file after the append"
echo new | "$AJIO" write --lock --timeout 0 "$F" 2>"$WORK/err"
want_rc $? 0 "write --lock --timeout 0 with the lock free"
echo new >"$WORK/exp"
same "$F" "$WORK/exp" "file after write --lock"

# ---- usage ----
for c in append repair "write --lock"; do
    # shellcheck disable=SC2086
    "$AJIO" $c --timeout x "$F" </dev/null 2>"$WORK/err"
    want_rc $? 64 "$c --timeout x"
    # shellcheck disable=SC2086
    "$AJIO" $c --timeout 0.5 "$F" </dev/null 2>"$WORK/err"
    want_rc $? 64 "$c --timeout 0.5"
done
echo x | "$AJIO" write --timeout 1 "$F" 2>"$WORK/err"
want_rc $? 64 "write --timeout without --lock"
want_err "ajio: --timeout bounds the wait for the lock: it needs --lock" \
    "write --timeout without --lock message"
same "$F" "$WORK/exp" "file after the usage errors"

finish

#!/bin/sh
# ajio update: a locked read-modify-write by a command. Concurrent updates of one counter lose
# nothing; a failing command, invalid output or a held lock leave the file byte for byte as it
# was, each with its documented exit status.
. tests/cli/common.inc
D=$WORK/d
mkdir "$D"
C=$D/counter.json

# ---- the command sees the current content; no file is an empty input ----
"$AJIO" update --json "$C" -- sh -c 'test ! -s /dev/stdin && echo "{\"n\": 0}"' 2>"$WORK/err"
want_rc $? 0 "update of a missing file"
printf '{"n": 0}\n' >"$WORK/exp"
same "$C" "$WORK/exp" "update creates the file from an empty input"

# ---- concurrency: 8 loops of 25 jq increments give exactly 200 ----
i=0
pids=
while [ $i -lt 8 ]; do
    (
        j=0
        while [ $j -lt 25 ]; do
            "$AJIO" update --json --no-sync "$C" -- jq -c '.n += 1' || exit 1
            j=$((j + 1))
        done
    ) 2>>"$WORK/err" &
    pids="$pids $!"
    i=$((i + 1))
done
failed=0
for pid in $pids; do
    wait "$pid" || failed=$((failed + 1))
done
[ "$failed" -eq 0 ] || fail "$failed update loop(s) failed: $(cat "$WORK/err")"
n=$(jq .n "$C")
[ "$n" = 200 ] || fail "8 x 25 concurrent increments gave $n, want 200"
no_temps "$D" "after the concurrent updates"
[ -f "$D/.counter.json.ajio-lock" ] || fail "the lock file is missing after the updates"

# ---- a failing command: exit 1, file untouched ----
cp "$C" "$WORK/before"
"$AJIO" update --json "$C" -- sh -c 'echo "{\"n\": -1}"; exit 3' 2>"$WORK/err"
want_rc $? 1 "a command that exits 3"
want_err_prefix "ajio: 'sh' exited with status 3" "failing command message"
same "$C" "$WORK/before" "file after a failing command"
"$AJIO" update "$C" -- /nonexistent/cmd 2>"$WORK/err"
want_rc $? 1 "a command that cannot be run"
want_err_prefix "ajio: cannot run '/nonexistent/cmd'" "missing command message"
same "$C" "$WORK/before" "file after a command that cannot be run"

# ---- invalid output: exit 65, FILE:LINE:COL, file untouched ----
"$AJIO" update --json "$C" -- sh -c 'echo "{\"n\": }"' 2>"$WORK/err"
want_rc $? 65 "invalid JSON output"
want_err_prefix "$C:1:7: " "invalid output message"
same "$C" "$WORK/before" "file after invalid output"
no_temps "$D" "after the failures"

# ---- a held lock: --timeout 0 fails at once with 69, without running the command ----
"$AJIO" update "$C" -- sh -c "touch '$WORK/holding'; sleep 1; cat" 2>"$WORK/err2" &
holder=$!
k=0
while [ ! -e "$WORK/holding" ] && [ $k -lt 100 ]; do sleep 0.05; k=$((k + 1)); done
"$AJIO" update --timeout 0 "$C" -- sh -c "touch '$WORK/ran'; cat" 2>"$WORK/err"
want_rc $? 69 "--timeout 0 with the lock held"
want_err_prefix "ajio: lock of " "held lock message"
[ ! -e "$WORK/ran" ] || fail "the command ran without the lock"
wait "$holder" || fail "the lock holder failed: $(cat "$WORK/err2")"
same "$C" "$WORK/before" "file after the lock holder's identity update"

# ---- usage ----
"$AJIO" update "$C" jq . 2>"$WORK/err"
want_rc $? 64 "update without --"
"$AJIO" update "$C" -- 2>"$WORK/err"
want_rc $? 64 "update without CMD"
"$AJIO" update --timeout x "$C" -- cat 2>"$WORK/err"
want_rc $? 64 "update --timeout x"

finish

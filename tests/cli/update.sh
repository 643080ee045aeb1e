#!/bin/sh
# ajio update: a locked read-modify-write by a command. Concurrent updates of one counter lose
# nothing; a failing command, invalid output, a held lock or a command killed for --cmd-timeout
# leave the file byte for byte as it was, each with its documented exit status.
. tests/cli/common.inc
D=$WORK/d
mkdir "$D"
C=$D/counter.json

# ---- the command sees the current content; no file is an empty input ----
"$AJIO" update --json "$C" -- sh -c 'test ! -s /dev/stdin && echo "{\"n\": 0}"' 2>"$WORK/err"
want_rc $? 0 "update of a missing file"
printf '{"n": 0}\n' >"$WORK/exp"
same "$C" "$WORK/exp" "update creates the file from an empty input"

# --default TEXT is what the command gets when there is no file; without it, a missing file is
# named as the cause of the command's empty output or failure.
M=$D/m.json
"$AJIO" update --json "$M" -- jq '.n += 1' 2>"$WORK/err"
want_rc $? 65 "update --json of a missing file without --default"
want_err "ajio: <jq output>:1:1: empty input (\"$M\" does not exist, so 'jq' got an empty input; --default TEXT gives it TEXT instead)" \
    "missing file without --default, message"
[ ! -e "$M" ] || fail "a refused update of a missing file created it"
"$AJIO" update "$M" -- sh -c 'exit 3' 2>"$WORK/err"
want_rc $? 1 "failing command on a missing file"
grep -qF "\"$M\" does not exist" "$WORK/err" || fail "failing command on a missing file: not named"
"$AJIO" update --json --default '{"n": 41}' "$M" -- jq -c '.n += 1' 2>"$WORK/err"
want_rc $? 0 "update --default of a missing file"
printf '{"n":42}\n' >"$WORK/exp"
same "$M" "$WORK/exp" "--default is the command's input for a missing file"
"$AJIO" update --json --default '{"n": 0}' "$M" -- jq -c '.n += 1' 2>"$WORK/err"
want_rc $? 0 "update --default of an existing file"
printf '{"n":43}\n' >"$WORK/exp"
same "$M" "$WORK/exp" "--default is not used when the file exists"

# An empty output would empty the file: refused unless --allow-empty.
cp "$M" "$WORK/before.m"
"$AJIO" update "$M" -- true 2>"$WORK/err"
want_rc $? 65 "update with an empty output"
want_err "ajio: <true output> is empty: \"$M\" left unchanged (--allow-empty replaces it with an empty file)" \
    "empty output message"
same "$M" "$WORK/before.m" "file after an empty output"
"$AJIO" update --allow-empty "$M" -- true 2>"$WORK/err"
want_rc $? 0 "update --allow-empty with an empty output"
[ -f "$M" ] && [ ! -s "$M" ] || fail "update --allow-empty must leave an empty file"

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

# ---- invalid output: exit 65, <CMD output>:LINE:COL, file untouched ----
"$AJIO" update --json "$C" -- sh -c 'echo "{\"n\": }"' 2>"$WORK/err"
want_rc $? 65 "invalid JSON output"
want_err "ajio: <sh output>:1:7: expected a value after ':', found '}' ($C left unchanged)" \
    "invalid output message"
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

# ---- --cmd-timeout: a hanging CMD is killed with its children, exit 124, FILE untouched ----
# dead PID: the process is gone or a zombie (killed; its reaper has not looked yet).
dead()
{
    [ ! -e "/proc/$1" ] || [ "$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]
}
# Control: without --cmd-timeout the same CMD is still running, holding the lock, well after
# the 0.5 s the timed cases below allow it, so it is the timeout that ends them.
rm -f "$WORK/cmdpid"
"$AJIO" update "$C" -- sh -c "echo \$\$ >'$WORK/cmdpid'; exec sleep 30" 2>"$WORK/err2" &
ctl=$!
k=0
while [ ! -s "$WORK/cmdpid" ] && [ $k -lt 100 ]; do sleep 0.05; k=$((k + 1)); done
sleep 1.5
kill -0 "$ctl" 2>/dev/null || fail "control: the update without --cmd-timeout ended by itself"
"$AJIO" update --timeout 0 "$C" -- cat 2>"$WORK/err"
want_rc $? 69 "control: the lock is held by the hanging CMD"
kill "$(cat "$WORK/cmdpid")"
wait "$ctl"
want_rc $? 1 "control: the update whose CMD was killed by hand"

printf '{"n": 7}\n' >"$C"
cp "$C" "$WORK/before"
rm -f "$WORK/gpid"
t0=$(date +%s)
# The output is valid JSON before the hang: only the exit decides, so nothing is written.
"$AJIO" update --json --cmd-timeout 0.5 "$C" -- \
    sh -c "sleep 30 & echo \$! >'$WORK/gpid'; echo '{\"n\": 8}'; sleep 30" 2>"$WORK/err"
want_rc $? 124 "a CMD that overstays --cmd-timeout 0.5"
t1=$(date +%s)
[ $((t1 - t0)) -lt 10 ] || fail "--cmd-timeout 0.5 took $((t1 - t0)) s"
want_err "ajio: 'sh' ran longer than --cmd-timeout 0.5 seconds and was killed: \"$C\" left as it was" \
    "--cmd-timeout message"
same "$C" "$WORK/before" "file after a CMD killed for --cmd-timeout"
no_temps "$D" "after a CMD killed for --cmd-timeout"
if [ -s "$WORK/gpid" ]; then
    k=0
    while ! dead "$(cat "$WORK/gpid")" && [ $k -lt 40 ]; do sleep 0.05; k=$((k + 1)); done
    dead "$(cat "$WORK/gpid")" || fail "the child of the timed-out CMD survived"
else
    fail "the timed-out CMD did not start its child"
fi
"$AJIO" update --timeout 0 --json "$C" -- jq -c '.n += 1' 2>"$WORK/err"
want_rc $? 0 "an update right after the timeout: the lock is free"

# A CMD that ignores SIGTERM gets SIGKILL after the grace.
cp "$C" "$WORK/before"
"$AJIO" update --cmd-timeout 0.3 "$C" -- sh -c 'trap "" TERM; sleep 30; echo late' 2>"$WORK/err"
want_rc $? 124 "a CMD that ignores SIGTERM"
same "$C" "$WORK/before" "file after a CMD that ignored SIGTERM"
no_temps "$D" "after a CMD that ignored SIGTERM"
# A CMD within its time is not affected.
"$AJIO" update --json --cmd-timeout 5 "$C" -- jq -c '.n += 1' 2>"$WORK/err"
want_rc $? 0 "a CMD within --cmd-timeout"
[ "$(jq .n "$C")" = 9 ] || fail "the update within --cmd-timeout gave $(cat "$C")"
"$AJIO" update --cmd-timeout 5 "$C" -- sh -c 'exit 4' 2>"$WORK/err"
want_rc $? 1 "a failing CMD within --cmd-timeout"

# ---- usage ----
"$AJIO" update "$C" jq . 2>"$WORK/err"
want_rc $? 64 "update without --"
"$AJIO" update "$C" -- 2>"$WORK/err"
want_rc $? 64 "update without CMD"
"$AJIO" update --timeout x "$C" -- cat 2>"$WORK/err"
want_rc $? 64 "update --timeout x"
for bad in x 0 0.000 -1 1e3 . 1.5s 99999999999; do
    "$AJIO" update --cmd-timeout "$bad" "$C" -- cat 2>"$WORK/err"
    want_rc $? 64 "update --cmd-timeout $bad"
done

finish

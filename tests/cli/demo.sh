#!/bin/sh
# ajio demo: writes the three example files, and in the showdown the ajio writer gives no bad
# read while the naive writer (the negative control) gives torn reads in the same conditions.
. tests/cli/common.inc
"$AJIO" demo --seconds 2 --dir "$WORK/demo" >"$WORK/out" 2>"$WORK/err"
rc=$?
cat "$WORK/out"
want_rc $rc 0 "ajio demo --seconds 2"

# The example files, valid and complete.
"$AJIO" check "$WORK/demo/config.json" "$WORK/demo/events.jsonl" 2>"$WORK/err"
want_rc $? 0 "example files are valid JSON / JSONL"
# The same bytes as the README's example and the adapter test's golden files.
for f in config.json notes.md events.jsonl; do
    same "$WORK/demo/$f" "tests/cases/adapters/seed/$f" "$f: the README example"
done
for f in config.json notes.md events.jsonl; do
    grep -qF -- "==> $WORK/demo/$f (" "$WORK/out" || fail "$f not shown"
done

# row NAME: "writes reads complete torn empty invalid" of the final table.
row() { awk -v w="$1" '$1 == w && NF == 7 && $2 ~ /^[0-9]+$/ { print $2, $3, $4, $5, $6, $7 }' \
    "$WORK/out"; }
set -- $(row ajio)
[ $# -eq 6 ] || fail "no ajio row in the table"
if [ $# -eq 6 ]; then
    [ "$1" -gt 0 ] && [ "$2" -gt 0 ] || fail "ajio row: $1 writes, $2 reads: nothing ran"
    [ "$3" -eq "$2" ] && [ $(($4 + $5 + $6)) -eq 0 ] || fail "ajio had bad reads: $*"
fi
set -- $(row naive)
[ $# -eq 6 ] || fail "no naive row in the table"
if [ $# -eq 6 ]; then
    [ "$1" -gt 0 ] && [ "$2" -gt 0 ] || fail "naive row: $1 writes, $2 reads: nothing ran"
    [ $(($4 + $5 + $6)) -gt 0 ] || fail "negative control: the naive writer showed no torn read"
    [ "$3" -eq $(($2 - $4 - $5 - $6)) ] || fail "naive row does not add up: $*"
fi
grep -q '^ajio:  0 bad reads' "$WORK/out" || fail "no ajio verdict line"
grep -q '^ajio:  no temp file left' "$WORK/out" || fail "no temp-file verdict line"

# A --dir too long for the showdown names (but not for the examples') fails before writing.
long=$WORK/long
while [ ${#long} -lt 4078 ]; do long=$long/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done
long=$(printf '%.4078s' "$long")
"$AJIO" demo --seconds 1 --dir "$long" >"$WORK/out" 2>"$WORK/err"
want_rc $? 73 "demo with a --dir too long for the showdown files"
want_err "ajio: --dir is too long" "demo with a too long --dir: message"
[ ! -e "$WORK/long" ] || fail "demo with a too long --dir wrote something"

finish

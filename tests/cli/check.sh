#!/bin/sh
# ajio check: the third-party conformance files (tests/data), one FILE:LINE:COL line per
# problem, torn JSONL tails as their own kind, and the exit status for valid, invalid and
# unreadable inputs.
. tests/cli/common.inc
DATA=${AJIO_TEST_DATA:-tests/data}
if [ ! -d "$DATA/JSONTestSuite/test_parsing" ] || [ ! -d "$DATA/jsonchecker" ] ||
    [ ! -d "$DATA/json-bench" ]; then
    echo "FAIL: test data missing at $DATA (committed in tests/data: run from the repo root," \
        "or set AJIO_TEST_DATA)"
    exit 1
fi
TP=$DATA/JSONTestSuite/test_parsing

# Every y_ case is accepted, in one run over all of them.
"$AJIO" check --verbose "$TP"/y_*.json >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "check of every JSONTestSuite y_ case"
ny=$(ls "$TP"/y_*.json | wc -l)
[ "$(grep -c ': ok (1 value)$' "$WORK/out")" -eq "$ny" ] || fail "--verbose: want $ny ok lines"

# Every n_ case is rejected with exactly one FILE:LINE:COL line naming it.
"$AJIO" check "$TP"/n_*.json >"$WORK/out" 2>"$WORK/err"
want_rc $? 65 "check of every JSONTestSuite n_ case"
nn=$(ls "$TP"/n_*.json | wc -l)
[ "$(wc -l <"$WORK/err")" -eq "$nn" ] || fail "want $nn problem lines, got $(wc -l <"$WORK/err")"
for f in "$TP"/n_*.json; do
    grep -q "^$f:[0-9]*:[0-9]*: ." "$WORK/err" || fail "no FILE:LINE:COL line for $f"
done
[ ! -s "$WORK/out" ] || fail "problems belong on stderr, not stdout"

# A few by hand: exact positions.
"$AJIO" check "$TP/n_object_trailing_comma.json" 2>"$WORK/err"
want_rc $? 65 "n_object_trailing_comma"
want_err_prefix "$TP/n_object_trailing_comma.json:1:9: " "n_object_trailing_comma position"
"$AJIO" check "$TP/n_array_unclosed.json" 2>"$WORK/err"
want_rc $? 65 "n_array_unclosed"
want_err_prefix "$TP/n_array_unclosed.json:1:" "n_array_unclosed position"

# json.org JSON_checker: pass* accepted, fail* rejected (the _EXCLUDE ones are valid today).
"$AJIO" check "$DATA"/jsonchecker/pass*.json 2>"$WORK/err"
want_rc $? 0 "jsonchecker pass cases"
for f in "$DATA"/jsonchecker/fail*.json; do
    case $f in *_EXCLUDE.json) continue ;; esac
    "$AJIO" check "$f" 2>"$WORK/err"
    want_rc $? 65 "jsonchecker $(basename "$f")"
done

# Real documents larger than one read: streamed across chunk boundaries.
"$AJIO" check "$DATA"/json-bench/*.json 2>"$WORK/err"
want_rc $? 0 "json-bench documents"

# ---- JSONL, chosen by the file name or by --jsonl ----
printf '{"a":1}\n[2]\n"three"\n' >"$WORK/ok.jsonl"
cp "$WORK/ok.jsonl" "$WORK/ok.ndjson"
"$AJIO" check --verbose "$WORK/ok.jsonl" "$WORK/ok.ndjson" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 ".jsonl and .ndjson are JSON Lines"
grep -qxF "$WORK/ok.jsonl: ok (3 lines)" "$WORK/out" || fail "--verbose line count of ok.jsonl"
cp "$WORK/ok.jsonl" "$WORK/lines.txt"
"$AJIO" check "$WORK/lines.txt" 2>"$WORK/err"
want_rc $? 65 "three lines as one JSON value (default for .txt)"
want_err_prefix "$WORK/lines.txt:2:1: " "three lines as JSON: position"
"$AJIO" check --jsonl "$WORK/lines.txt" 2>"$WORK/err"
want_rc $? 0 "--jsonl forces JSON Lines"
"$AJIO" check --json "$WORK/ok.jsonl" 2>"$WORK/err"
want_rc $? 65 "--json forces one value"

# A torn tail is reported as torn, apart from invalid lines.
printf '{"a":1}\n{"b":' >"$WORK/torn.jsonl"
"$AJIO" check "$WORK/torn.jsonl" 2>"$WORK/err"
want_rc $? 65 "torn JSONL"
want_err_prefix "$WORK/torn.jsonl:2:6: torn: " "torn JSONL message"
printf '{"a":1}\n{"b" 2}\n' >"$WORK/bad.jsonl"
"$AJIO" check "$WORK/bad.jsonl" 2>"$WORK/err"
want_rc $? 65 "invalid JSONL line"
want_err_prefix "$WORK/bad.jsonl:2:6: " "invalid JSONL position"
grep -q 'torn' "$WORK/err" && fail "an invalid line must not be reported as torn"

# Standard input as '-'.
printf '[1,2' | "$AJIO" check - 2>"$WORK/err"
want_rc $? 65 "check of standard input"
want_err_prefix "<stdin>:1:5: " "standard input position"
printf '[1,2' | "$AJIO" check 2>"$WORK/err"
want_rc $? 65 "check without FILE reads standard input"
want_err_prefix "<stdin>:1:5: " "check without FILE, position"
printf '[1,2]' | "$AJIO" check - 2>"$WORK/err"
want_rc $? 0 "valid standard input"

# ---- unreadable inputs: 66, and they outrank invalid ones ----
"$AJIO" check "$WORK/missing.json" 2>"$WORK/err"
want_rc $? 66 "missing file"
want_err_prefix "ajio: cannot open $WORK/missing.json: " "missing file message"
mkdir "$WORK/dir.json"
"$AJIO" check "$WORK/dir.json" 2>"$WORK/err"
want_rc $? 66 "directory as input"
"$AJIO" check "$WORK/bad.jsonl" "$WORK/missing.json" "$WORK/ok.jsonl" 2>"$WORK/err"
want_rc $? 66 "invalid and missing together"
[ "$(wc -l <"$WORK/err")" -eq 2 ] || fail "invalid and missing together: want 2 lines"

finish

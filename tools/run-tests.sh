#!/bin/sh
# Runs each test program or script in its own process with a timeout and prints one closing
# line "N passed, N failed, N skipped". A program exits 0 (pass), 77 (skip: it printed why) or
# anything else (fail). Under CI=true a skip counts as a failure: nothing may skip in CI.
timeout_s=${AJIO_TEST_TIMEOUT:-600}
pass=0 fail=0 skip=0 failed=
for t in "$@"; do
    case $t in *.sh) cmd="sh $t" ;; *) cmd="$t" ;; esac
    printf '=== %s\n' "$t"
    start=$(date +%s)
    timeout -k 10 "$timeout_s" $cmd
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); printf -- '--- PASS %s (%ss)\n' "$t" "$secs"
    elif [ $rc -eq 77 ] && [ "$CI" != true ]; then
        skip=$((skip + 1)); printf -- '--- SKIP %s\n' "$t"
    else
        fail=$((fail + 1)); failed="$failed $t"; printf -- '--- FAIL %s (exit %s, %ss)\n' "$t" "$rc" "$secs"
    fi
done
[ -n "$failed" ] && printf 'failed:%s\n' "$failed"
printf 'tests: %d passed, %d failed, %d skipped\n' "$pass" "$fail" "$skip"
[ $fail -eq 0 ]

#!/bin/sh
# Runs each test program or script in its own process with a timeout and prints one closing
# line "N passed, N failed, N skipped". A program exits 0 (pass), 77 (skip: it printed why) or
# anything else (fail). Under CI=true a skip counts as a failure: nothing may skip in CI.
#
# AJIO_TEST_JOBS tests run at once (default: the CPUs, at most 4), started in the order given
# (list the longest first, so that the jobs end together); each prints its output in one block
# when it ends. The tests named in AJIO_TEST_ALONE run after the others, one at a time: they build
# or install into the build directory that the others read.
timeout_s=${AJIO_TEST_TIMEOUT:-600}

if [ "${1:-}" = --one ]; then # --one DIR INDEX TEST: one test; its verdict into DIR/INDEX.rc
    dir=$2 i=$3 t=$4
    case $t in *.sh) cmd="sh $t" ;; *) cmd="$t" ;; esac
    start=$(date +%s)
    timeout -k 10 "$timeout_s" $cmd >"$dir/$i.log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        verdict=pass line="--- PASS $t (${secs}s)"
    elif [ $rc -eq 77 ] && [ "$CI" != true ]; then
        verdict=skip line="--- SKIP $t"
    else
        verdict=fail line="--- FAIL $t (exit $rc, ${secs}s)"
    fi
    # One block at a time on the shared output.
    flock "$dir/.print" sh -c 'printf "=== %s\n" "$1"; cat "$2"; printf "%s\n" "$3"' \
        sh "$t" "$dir/$i.log" "$line"
    echo "$verdict" >"$dir/$i.rc"
    exit 0
fi

jobs=${AJIO_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
[ -n "${AJIO_TEST_JOBS:-}" ] || [ "$jobs" -le 4 ] || jobs=4
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM
: >"$dir/many"
: >"$dir/alone"
n=0
for t in "$@"; do
    n=$((n + 1))
    case " ${AJIO_TEST_ALONE:-} " in
    *" $t "*) echo "$n $t" >>"$dir/alone" ;;
    *) echo "$n $t" >>"$dir/many" ;;
    esac
done
xargs -r -P "$jobs" -L 1 sh "$0" --one "$dir" <"$dir/many"
xargs -r -P 1 -L 1 sh "$0" --one "$dir" <"$dir/alone"

pass=0 fail=0 skip=0 failed=
i=0
for t in "$@"; do
    i=$((i + 1))
    verdict=
    [ -r "$dir/$i.rc" ] && read -r verdict <"$dir/$i.rc"
    case $verdict in
    pass) pass=$((pass + 1)) ;;
    skip) skip=$((skip + 1)) ;;
    *) fail=$((fail + 1)); failed="$failed $t" ;;
    esac
done
[ -n "$failed" ] && printf 'failed:%s\n' "$failed"
printf 'tests: %d passed, %d failed, %d skipped\n' "$pass" "$fail" "$skip"
[ $fail -eq 0 ]

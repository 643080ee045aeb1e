#!/bin/bash
# tests/shared/run-all.sh - tests/shared/cases.sh under each harness named whose run.sh exists,
# one after the other, each with its time, then one closing line:
#
#     tests/shared/run-all.sh [HARNESS...] [-- CASE...]
#
# make check-shared runs "nfs gluster", make check-shared-local runs "local". A harness exits
# 0 when every case passed and every control was caught, 77 when it skipped, anything else when
# it failed; XC_HARNESS_TIMEOUT (default 600 s) bounds each.
# Exit: 0 all passed, 1 a failure, 77 nothing ran (not root, or no harness there yet); under
# CI=true a skip is a failure.
set -u

here=$(cd "$(dirname "$0")" && pwd)
AJIO_BUILD=$(cd "${AJIO_BUILD:-build}" && pwd) || exit 1
export AJIO_BUILD
harnesses=()
cases=()
while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then
        shift
        cases=("$@")
        break
    fi
    harnesses+=("$1")
    shift
done
[ ${#harnesses[@]} -gt 0 ] || harnesses=(nfs gluster)

# The skip rule of the root-only suites (exit 77; a failure under CI=true).
SUITE=shared
. "$here/../lib/loopfs.sh"
[ "$(id -u)" = 0 ] || skip "needs root (servers, mounts)"

pass=0 fail=0 skipped=0 failed=
t0=$(date +%s)
for h in "${harnesses[@]}"; do
    run=$here/$h/run.sh
    if [ ! -e "$run" ]; then
        echo "=== shared/$h: $run does not exist yet: not run"
        continue
    fi
    echo "=== shared/$h"
    start=$(date +%s)
    rc=0
    timeout -k 30 "${XC_HARNESS_TIMEOUT:-600}" bash "$run" bash "$here/cases.sh" \
        ${cases[@]+"${cases[@]}"} || rc=$?
    secs=$(($(date +%s) - start))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1))
        echo "--- PASS shared/$h (${secs}s)"
    elif [ $rc -eq 77 ] && [ "${CI:-}" != true ]; then
        skipped=$((skipped + 1))
        echo "--- SKIP shared/$h (${secs}s)"
    else
        fail=$((fail + 1))
        failed="$failed $h"
        echo "--- FAIL shared/$h (exit $rc$([ $rc -eq 124 ] && echo ', timed out'), ${secs}s)"
    fi
done
[ $((pass + fail)) -gt 0 ] || skip "no harness ran (${harnesses[*]})"
[ -n "$failed" ] && echo "failed:$failed"
echo "shared: $pass passed, $fail failed, $skipped skipped ($(($(date +%s) - t0))s)"
[ $fail -eq 0 ]

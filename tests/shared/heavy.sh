#!/bin/bash
# tests/shared/heavy.sh - the project's own suites on a shared mount (make check-shared-heavy).
#
# Run as CMD by a harness (tests/shared/nfs/run.sh, tests/shared/gluster/run.sh): every unit test
# binary ($AJIO_BUILD/tests/test_*) and every CLI script (tests/cli/*.sh) with AJIO_TEST_DIR on
# client A's view of the shared directory, one line each, as tests/fs/run.sh does for local
# filesystems. These suites run one client; the cross-client cases are tests/shared/cases.sh.
#
# Environment: AJIO_BUILD; SHARED_SUITES (default: all); SHARED_SKIP_SUITES (default below: they
# test the tool or the machine, not the filesystem); SHARED_XFAIL, "FS:SUITE=REASON" lines of
# known failures (printed; an unexpected pass is reported); SHARED_SUITE_TIMEOUT (default 600 s).
set -u

BUILD=${AJIO_BUILD:-build}
FS=${AJIO_SHARED_FS:?run me through a harness: tests/shared/*/run.sh}
ROOT=${AJIO_SHARED_A:?}/heavy
SKIP=${SHARED_SKIP_SUITES-valgrind.sh demo.sh test_killstorm}
SUITE_TIMEOUT=${SHARED_SUITE_TIMEOUT:-600}
export AJIO_STRESS_SECONDS=${AJIO_STRESS_SECONDS:-2}
# A FUSE client (GlusterFS) drops a name for a moment while a rename replaces it, as bindfs does
# in the filesystem matrix: the kill storm's plain readers count those opens apart.
[ "$FS" = glusterfs ] && export AJIO_STRESS_ALLOW_MISSING=1
declare -A XFAIL
while IFS= read -r line; do
    [ -n "$line" ] && XFAIL[${line%%=*}]=${line#*=}
done <<<"${SHARED_XFAIL-}"

if [ -n "${SHARED_SUITES-}" ]; then
    suites=()
    for s in $SHARED_SUITES; do
        case $s in
        *.sh) suites+=("tests/cli/$s") ;;
        *) suites+=("$BUILD/tests/$s") ;;
        esac
    done
else
    suites=($(ls "$BUILD"/tests/test_* | grep -v '\.d$') tests/cli/*.sh)
fi

mkdir -p "$ROOT" || exit 1
# Suites drop to other users (the trust and hardening suites): every directory above the mount
# must let them through, which a harness's private work directory (mktemp -d: 0700) does not.
d=$ROOT
while [ "$d" != / ] && [ -n "$d" ]; do
    chmod a+x "$d" 2>/dev/null || true
    d=$(dirname "$d")
done
pass=0 fail=0 xfail=0 logs=$(mktemp -d)
for t in "${suites[@]}"; do
    name=${t##*/}
    case " $SKIP " in *" $name "*) continue ;; esac
    dir=$ROOT/$name
    mkdir -p "$dir"
    start=$(date +%s)
    if [ "${t%.sh}" != "$t" ]; then
        AJIO_TEST_DIR=$dir timeout "$SUITE_TIMEOUT" sh "$t" >"$logs/$name" 2>&1
    else
        AJIO_TEST_DIR=$dir timeout "$SUITE_TIMEOUT" "$t" >"$logs/$name" 2>&1
    fi
    rc=$?
    secs=$(($(date +%s) - start))
    reason=${XFAIL[$FS:$name]-}
    if [ $rc -eq 0 ] && [ -z "$reason" ]; then
        printf '   %-22s pass  %4ss\n' "$name" "$secs"
        pass=$((pass + 1))
    elif [ $rc -eq 0 ]; then
        printf '   %-22s PASS (expected to fail: %s)\n' "$name" "$reason"
        pass=$((pass + 1))
    elif [ -n "$reason" ]; then
        printf '   %-22s xfail %4ss  %s\n' "$name" "$secs" "$reason"
        xfail=$((xfail + 1))
    else
        printf '   %-22s FAIL  %4ss  (exit %s); last lines of its log:\n' "$name" "$secs" "$rc"
        grep -E 'FAIL|ERROR|error' "$logs/$name" | tail -n 12 | sed 's/^/   | /'
        fail=$((fail + 1))
    fi
    rm -rf "$dir"
done
rm -rf "$logs"
echo "heavy $FS: $pass passed, $fail failed, $xfail known failures"
[ $fail -eq 0 ]

#!/bin/sh
# The validator's unit test with its conformance suites (tests/test_json_check.c: JSONTestSuite,
# JSON_checker, the benchmark documents, our own cases) once under each kernel of src/cpu.c
# (AJIO_KERNEL), so that the scalar kernel's portable code is tested on every machine and each
# vector kernel where the CPU has it. A kernel the CPU lacks is named and skipped; the cross-kernel
# comparison is tests/test_json_kernels.c.
prog=${AJIO_BUILD:-build}/tests/test_json_check
log=$(mktemp) || exit 1
trap 'rm -f "$log"' EXIT
fail=0
for k in scalar sse42 avx2 avx512; do
    AJIO_KERNEL=$k "$prog" >"$log" 2>&1
    case $? in
    0) echo "kernel $k: $(grep -c '^\[       OK \]' "$log") tests passed" ;;
    77) echo "kernel $k: $(tail -n 1 "$log")" ;;
    *) cat "$log"; echo "FAIL: kernel $k"; fail=1 ;;
    esac
done
exit $fail

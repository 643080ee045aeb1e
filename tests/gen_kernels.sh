#!/bin/sh
# The generator's suites under each kernel the CPU runs but the best one (AJIO_KERNEL), which the
# plain run of make check already ran them under. A kernel the CPU lacks is named and not run:
# the same CPU would refuse it anyway (cpu.c falls back to the best it has).
set -u
build=${AJIO_BUILD:-build}
suites="test_json_gen test_json_write test_adapter_jansson test_adapter_cjson test_adapter_jsonc"
have=$("$build/tests/test_gen_kernels" --kernels) || exit 1
best=$(echo "$have" | tail -n 1)
fail=0
for k in scalar sse42 avx2 avx512; do
    case " $(echo $have) " in
    *" $k "*) ;;
    *) echo "kernel $k: not on this CPU, not run"; continue ;;
    esac
    if [ "$k" = "$best" ] && [ -z "${AJIO_KERNEL:-}" ]; then
        echo "kernel $k: the default, run by make check's own run of the suites"
        continue
    fi
    for t in $suites; do
        if AJIO_KERNEL=$k "$build/tests/$t" >"$build/tests/$t.$k.log" 2>&1; then
            echo "kernel $k: $t passed"
        else
            echo "kernel $k: $t FAILED (log: $build/tests/$t.$k.log)"
            tail -20 "$build/tests/$t.$k.log"
            fail=1
        fi
    done
done
exit $fail

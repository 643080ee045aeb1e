#!/bin/sh
# bench/run-gen.sh DATA_DIR - runs bench_gen (mk/bench-gen.mk) in rounds: in each, for each
# document, the build of $BENCH_GEN_BEFORE (when given), this build under every kernel the CPU
# runs (AJIO_KERNEL: the kernel is chosen once per process) and the peers, one process each (a
# document parsed into a fresh heap); then the table of bench/README.md from the median of the
# rounds (bench/gen_table.py).
set -eu
data=${1:-tests/data/json-bench}
build=${AJIO_BUILD:-build}
rounds=${BENCH_GEN_ROUNDS:-5}
bin=$build/bench/bench_gen
before=$build/bench-gen-before/bench_gen
raw=$build/bench/bench-gen.raw

kernels=$("$bin" kernels)
: >"$raw"
r=1
while [ "$r" -le "$rounds" ]; do
    echo "round $r of $rounds" >&2
    for doc in twitter.json citm_catalog.json canada.json; do
        export BENCH_GEN_DOC=$doc
        if [ -n "${BENCH_GEN_BEFORE:-}" ]; then
            "$before" ajio "$data" before >>"$raw"
        fi
        for k in $kernels; do
            AJIO_KERNEL=$k "$bin" ajio "$data" "$k" >>"$raw"
        done
        "$bin" peers "$data" >>"$raw"
    done
    r=$((r + 1))
done
python3 bench/gen_table.py "$raw"

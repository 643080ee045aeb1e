#!/bin/sh
# Core write-path benchmark (make bench-core): prints the "Core write path" results as Markdown
# and keeps a copy in $AJIO_BUILD/bench-core.md. Runs from the repo root.
#
#   AJIO_BUILD      build directory holding bench/bench_write (default build)
#   BENCH_CORE_DIR  directory on the working filesystem (default $AJIO_BUILD/bench-core)
#   BENCH_CORE_REPS repetitions of every side-by-side measurement (default 7, at least 5)
#   BENCH_CORE_SECS seconds of ajio writes per repetition of the 100-byte runs (default 1)
set -eu

build=${AJIO_BUILD:-build}
bin=$build/bench/bench_write
base=${BENCH_CORE_DIR:-$build/bench-core}
reps=${BENCH_CORE_REPS:-7}
secs=${BENCH_CORE_SECS:-1}
lreps=5 # the large writes: 5 repetitions keep the whole run under 3 minutes on a busy disk
out=$build/bench-core.md

[ -x "$bin" ] || { echo "run-core.sh: $bin missing (make bench-core builds it)" >&2; exit 1; }
command -v strace >/dev/null || { echo "run-core.sh: strace is needed (apt-get install strace)" >&2; exit 1; }

# tmpfs: /dev/shm when it is one, else a tmpfs mounted here for the run (needs root).
shm=
mounted=
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
    shm=$(mktemp -d /dev/shm/ajio-bench-core.XXXXXX)
else
    shm=$(mktemp -d "${TMPDIR:-/tmp}/ajio-bench-core.XXXXXX")
    mount -t tmpfs -o size=512m tmpfs "$shm" || { echo "run-core.sh: no tmpfs available" >&2; exit 1; }
    mounted=1
fi
# A fresh directory of our own under $base: the cleanup removes only what this run created.
mkdir -p "$base"
disk=$(mktemp -d "$base/run.XXXXXX")
trace=$(mktemp "${TMPDIR:-/tmp}/ajio-bench-core-strace.XXXXXX")
cleanup() {
    [ -n "$mounted" ] && umount "$shm"
    rm -rf "$shm" "$disk" "$trace" "$trace".*
    rmdir "$base" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Syscalls of one strace -f run of "bench_write loop ...", as "name calls" lines. Counted from
# the full trace: Debian 12's strace knows listxattrat (Linux 6.13) only as syscall_0x1d1, and
# its -c summary leaves such calls out.
count() {
    strace -f -o "$trace" "$bin" loop "$@" >/dev/null
    sed -E 's/^[0-9]+ +//; s/\(.*//' "$trace" | grep -E '^[a-z_0-9]+$' | sort | uniq -c |
        awk '{ print $2 == "syscall_0x1d1" ? "listxattrat" : $2, $1 }'
}

# Per write: (syscalls of 2N writes - syscalls of N writes) / N, which leaves out process start
# and exit and the once-per-thread getrandom() that seeds the temp names. Prints the total and
# the per-syscall breakdown. The "new" runs' files are removed after each count, so that every
# write of the next one creates its file again.
per_write() {
    variant=$1 dir=$2 mode=$3 n=$4
    shift 4
    count "$variant" "$dir" "$mode" "$n" "$@" >"$trace.1"
    rm -f "$dir"/*.new.*
    count "$variant" "$dir" "$mode" $((2 * n)) "$@" >"$trace.2"
    rm -f "$dir"/*.new.*
    awk -v n="$n" '
        FNR == NR { base[$1] = $2; next }
        { d = ($2 - base[$1]) / n; if (d > 0.004) { tot += d; s = s sprintf(" %s %.2g,", $1, d) } }
        END { sub(/,$/, "", s); printf "%.2f |%s\n", tot, s }' "$trace.1" "$trace.2"
    rm -f "$trace.1" "$trace.2"
}

{
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores," \
    "$(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, Linux $(uname -r)," \
    "$(. /etc/os-release && echo "$PRETTY_NAME"), $(${CC:-cc} --version | head -1)."
echo "Working filesystem: $(findmnt -n -o FSTYPE,SOURCE,OPTIONS -T "$disk" | awk '{ print $1, "on", $2, "(" $3 ")" }')," \
    "bench directory $disk. tmpfs: $shm."
echo "Library: $(git rev-parse --short HEAD 2>/dev/null || echo unknown), libajio.a built -O2." \
    "Date: $(date -u +%Y-%m-%dT%H:%MZ). Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "### 100-byte writes, side by side ($reps repetitions, interleaved write by write)"
echo
echo "Time per write: median over the repetitions of the mean. Ratio: time(variant)/time(floor)"
echo "of one repetition's totals, median (and range) over the repetitions. Paired: the median over"
echo "one repetition's rounds of the round's own ratio (each write against the floor write next to"
echo "it), median (and range) over the repetitions; a stalled sync moves the totals, not this."
echo "floor-0.1 is release 0.1's sequence, which 0.1's ajio matched; the row 'ajio / floor-0.1' is"
echo "ajio against it, write by write: the cost of what the replace keeps and checks since."
echo "floor+fstat is the control: the floor plus one fstat(), a known extra cost the comparison"
echo "must be able to see."
echo
echo "| mode | variant | reps x writes | us/write | ratio | range | paired ratio | range |"
echo "|---|---|---|---|---|---|---|---|"
"$bin" small "$disk" sync "$reps" "$secs"
"$bin" small "$shm" nosync "$reps" "$secs"
echo
echo "### Syscalls per write (strace -f; (calls of 2N writes - calls of N writes) / N)"
echo
echo "| mode | variant | syscalls/write | breakdown per write |"
echo "|---|---|---|---|"
for v in ajio floor floor-0.1 textbook; do
    echo "| durable, existing 0644 file | $v | $(per_write $v "$disk" sync 200) |"
done
echo "| durable, new file | ajio | $(per_write ajio "$disk" sync 200 new) |"
for v in ajio floor floor-0.1 textbook; do
    echo "| atomic-only, existing 0644 file | $v | $(per_write $v "$shm" nosync 2000) |"
done
echo "| atomic-only, new file | ajio | $(per_write ajio "$shm" nosync 2000 new) |"
echo
echo "### Where the floor's time goes"
echo
echo "A clock read around every syscall of the floor sequence: durable on the disk, and on tmpfs"
echo "(where the syncs are no-ops); then, in the same rounds, around each of the 4 syscalls of the"
echo "shortest replace (named temp, write, close, rename; directory fd held, no sync), the"
echo "reference of the atomic-only workloads. Means over the rounds."
echo
echo "| syscall | disk us | disk share | tmpfs us | tmpfs share |"
echo "|---|---|---|---|---|"
"$bin" steps "$disk" 500 >"$trace.d"
"$bin" steps "$shm" 5000 >"$trace.s"
paste -d'\n' "$trace.d" "$trace.s" | awk -F' *[|] *' 'NR % 2 { a = $2; b = $3; c = $4; next }
    { printf "| %s | %s | %s | %s | %s |\n", a, b, c, $3, $4 }'
rm -f "$trace.d" "$trace.s"
echo
echo "### Large writes, ajio_write_bytes vs floor ($lreps repetitions, interleaved)"
echo
echo "| mode | size | reps x writes | ajio MB/s | floor MB/s | time ratio | ratio range |"
echo "|---|---|---|---|---|---|---|"
"$bin" large "$disk" sync 1048576 "$lreps"
"$bin" large "$shm" nosync 1048576 "$lreps"
"$bin" large "$disk" sync 104857600 "$lreps"
"$bin" large "$shm" nosync 104857600 "$lreps"
rm -f "$shm"/* "$disk"/*
echo
echo "### Peak RSS of a 1 GiB streamed write (AJIO_NO_SYNC, to the working disk, then deleted)"
echo
echo "Pieces of 4 KiB..64 KiB. Baseline: VmHWM just before ajio_file_open, after resetting the peak"
echo "(echo 5 > /proc/self/clear_refs); peak: VmHWM after ajio_file_commit. The control row touches"
echo "2 MiB of heap after the baseline and must show it."
echo
echo "| run | total | pieces | baseline KiB | peak KiB | peak - baseline KiB | MB/s |"
echo "|---|---|---|---|---|---|---|"
"$bin" rss "$disk" 1073741824
"$bin" rss "$disk" 1073741824 control
touch "$trace.ok"
} | tee "$out"
# Without pipefail the pipeline's status is tee's: the marker says whether every step ran.
[ -e "$trace.ok" ] || { echo "run-core.sh: a benchmark step failed (see above)" >&2; exit 1; }

# The targets of the issue, read back from the tables above.
echo
awk -F' *[|] *' '
    function verdict(ok) { return ok ? "met" : "MISSED" }
    $2 == "durable" && $3 == "ajio" {
        printf "target durable <= 1.05x floor: %s (%s; paired %s)\n", verdict($6 <= 1.05), $6, $8 }
    $2 ~ /^atomic-only \(/ && $3 == "ajio" {
        printf "target atomic-only <= 1.15x floor: %s (%s; paired %s)\n", verdict($6 <= 1.15), $6, $8 }
    $2 == "durable" && $3 == "ajio / floor-0.1" {
        printf "target durable within 5%% of 0.1 (paired ajio / floor-0.1 <= 1.05 x 1.001): %s (%s; paired %s)\n",
            verdict($8 <= 1.05 * 1.001), $6, $8 }
    $2 ~ /^atomic-only \(/ && $3 == "ajio / floor-0.1" {
        printf "target atomic-only within 5%% of 0.1 (paired ajio / floor-0.1 <= 1.05 x 1.025): %s (%s; paired %s)\n",
            verdict($8 <= 1.05 * 1.025), $6, $8 }
    $2 ~ /^atomic-only \(/ && $3 == "floor+fstat" {
        printf "control: one extra fstat on tmpfs is visible (ratio > 1.01): %s (%s; paired %s)\n",
            ($6 > 1.01) ? "yes" : "NO, the comparison cannot resolve it", $6, $8 }
    $2 ~ /^durable, / && $3 == "ajio" {
        printf "target <= 10 syscalls per durable write, %s: %s (%s)\n", substr($2, 10),
            verdict($4 <= 10), $4 }
    $2 == "ajio_file_open/ajio_file_write/ajio_file_commit" {
        printf "target peak RSS <= 1 MiB above baseline: %s (%s KiB)\n", verdict($7 <= 1024), $7 }
    $2 ~ /^control/ {
        printf "control: the RSS measurement sees the 2 MiB: %s (%s KiB)\n",
            ($7 >= 2048) ? "yes" : "NO, the measurement is broken", $7 }
' "$out" | tee -a "$out"

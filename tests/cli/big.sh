#!/bin/sh
# A 2 GiB standard input is streamed: the output has every byte and the peak memory (max RSS)
# stays far below the input size. The file is removed at once to give the disk space back.
. tests/cli/common.inc
SIZE=2147483648
# The bound leaves room for libc and the 64 KiB buffers; a sanitizer run adds its own shadow
# memory and allocator caches, so it gets a wider bound (still far below 2 GiB).
LIMIT_KB=16384
[ -n "$ASAN_OPTIONS" ] && LIMIT_KB=49152
if [ ! -x /usr/bin/time ]; then
    echo "FAIL: /usr/bin/time missing (Debian package 'time')"
    exit 1
fi
# A small filesystem (the filesystem matrix sets AJIO_TEST_DIR) gets a stream of half its free
# space instead: still hundreds of times the memory bound.
avail_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
if [ "$avail_kb" -lt 2200000 ]; then
    SIZE=$((avail_kb / 2 * 1024))
    if [ "$SIZE" -lt $((LIMIT_KB * 8 * 1024)) ]; then
        echo "SKIP: $WORK has ${avail_kb} KiB free, too little for a meaningful stream"
        exit 77
    fi
    echo "note: ${avail_kb} KiB free in $WORK: streaming $SIZE bytes instead of 2 GiB"
fi

head -c "$SIZE" /dev/zero | /usr/bin/time -o "$WORK/rss" -f %M "$AJIO" write --no-sync "$WORK/big" \
    2>"$WORK/err"
want_rc $? 0 "big write"
size=$(stat -c %s "$WORK/big" 2>/dev/null || echo missing)
rm -f "$WORK/big"
[ "$size" = "$SIZE" ] || fail "big write: file size $size, want $SIZE"
rss=$(tail -n 1 "$WORK/rss")
echo "$SIZE-byte write: max RSS ${rss} KiB (limit ${LIMIT_KB} KiB)"
[ "$rss" -gt 0 ] && [ "$rss" -lt "$LIMIT_KB" ] || fail "max RSS ${rss} KiB, limit ${LIMIT_KB} KiB"

# The same for the JSON path: a 256 MiB array of zeros streamed through the validator.
N=134217728
[ "$N" -gt $((SIZE / 4)) ] && N=$((SIZE / 8 * 2)) # even, as the array below needs
{ printf '['; yes '0,' | tr -d '\n' | head -c $((N - 4)); printf '0]'; } |
    /usr/bin/time -o "$WORK/rss" -f %M "$AJIO" write --json --no-sync "$WORK/big.json" 2>"$WORK/err"
want_rc $? 0 "$N-byte JSON write"
size=$(stat -c %s "$WORK/big.json" 2>/dev/null || echo missing)
rm -f "$WORK/big.json"
[ "$size" = $N ] || fail "$N-byte JSON: file size $size, want $N (newline added)"
rss=$(tail -n 1 "$WORK/rss")
echo "$N-byte JSON write: max RSS ${rss} KiB"
[ "$rss" -gt 0 ] && [ "$rss" -lt "$LIMIT_KB" ] || fail "JSON max RSS ${rss} KiB, limit ${LIMIT_KB} KiB"

# Negative control: the same measurement catches a program that holds its input in memory
# (dd with one block twice the limit), so a small RSS above is the tool streaming, not a blind
# meter.
CTL_KB=$((LIMIT_KB * 2))
head -c $((CTL_KB * 1024)) /dev/zero |
    /usr/bin/time -o "$WORK/rss" -f %M dd of=/dev/null bs=${CTL_KB}K count=1 iflag=fullblock \
    2>/dev/null
rss=$(tail -n 1 "$WORK/rss")
echo "control, ${CTL_KB} KiB held in memory: max RSS ${rss} KiB"
[ "$rss" -ge "$LIMIT_KB" ] || fail "control: dd with a ${CTL_KB} KiB buffer measured ${rss} KiB"

finish

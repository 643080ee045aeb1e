#!/bin/sh
# The shared library exports exactly the functions the public header documents: nothing
# internal leaks out (ajio__*), nothing documented is missing.
set -eu
lib=${AJIO_BUILD:-build}/libajio.so
[ -f "$lib" ] || { echo "symbols: $lib missing"; exit 1; }
want=$(mktemp) have=$(mktemp)
trap 'rm -f "$want" "$have"' EXIT
# Every "AJIO_API <type> name(" in the installed headers; declarations may span lines.
grep -hv '^#' include/ajio.h include/ajio/*.h 2>/dev/null | tr '\n' ' ' | grep -o 'AJIO_API [^;(]*(' |
    sed 's/($//; s/.*[ *]\([a-z_0-9]*\)$/\1/' | sort -u > "$want"
nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort -u > "$have"
if ! diff -u "$want" "$have"; then
    echo "symbols: exported functions differ from the installed headers (- header, + library)"
    exit 1
fi
echo "symbols: $(wc -l < "$have") exported functions match the header"

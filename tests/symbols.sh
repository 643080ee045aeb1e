#!/bin/sh
# The shared library exports exactly the functions the public header documents: nothing
# internal leaks out (ajio__*), nothing documented is missing.
set -eu
lib=${AJIO_BUILD:-build}/libajio.so
[ -f "$lib" ] || { echo "symbols: $lib missing"; exit 1; }
want=$(mktemp) have=$(mktemp)
trap 'rm -f "$want" "$have"' EXIT
# Every "AJIO_API <type> name(" in the installed headers, declarations spanning lines, under the
# symbol AJIO_SYMBOL("...") gives it when it has one; and the 0.2 entry points that src/compat.c
# keeps under their old symbols with __asm__("...").
{
    grep -hv '^#' include/ajio.h include/ajio/*.h 2>/dev/null | tr '\n' ' ' | tr ';' '\n' |
        grep 'AJIO_API ' | sed -n 's/.*AJIO_SYMBOL("\([a-z_0-9]*\)").*/\1/p; t
            s/^.*AJIO_API [^(]*[ *]\([a-z_0-9]*\)(.*/\1/p'
    grep -o '__asm__("ajio_[a-z_0-9]*")' src/compat.c | sed 's/__asm__("\(.*\)")/\1/'
} | sort -u > "$want"
nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort -u > "$have"
if ! diff -u "$want" "$have"; then
    echo "symbols: exported functions differ from the installed headers (- header, + library)"
    exit 1
fi
echo "symbols: $(wc -l < "$have") exported functions match the header"

#!/bin/sh
# Every man 3 page renders without a groff warning, and its EXAMPLE compiles without a warning against the header and the static
# library, and runs to exit 0 in a scratch directory: the pages show code that works.
set -eu
b=${AJIO_BUILD:-build}
lib=$(cd "$b" && pwd)/libajio.a
inc=$(pwd)/include
[ -f "$lib" ] || { echo "man3: $lib missing"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for page in man/man3/*.3; do
    name=$(basename "$page" .3)
    if command -v groff >/dev/null; then
        warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
        [ -z "$warn" ] || { echo "man3: $page: $warn"; exit 1; }
    fi
    src=$tmp/$name.c
    # The lines between .EX and .EE, with the roff escapes of C text undone.
    sed -n '/^\.EX$/,/^\.EE$/{/^\.E[XE]$/d;p}' "$page" |
        sed 's/\\e/\\/g; s/\\-/-/g; s/\\(aq/'"'"'/g; s/\\(dq/"/g' > "$src"
    [ -s "$src" ] || { echo "man3: $page has no EXAMPLE"; exit 1; }
    ${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$inc" "$src" "$lib" -lpthread \
        -o "$tmp/$name" || { echo "man3: the EXAMPLE of $page does not compile"; exit 1; }
    mkdir "$tmp/run-$name"
    (cd "$tmp/run-$name" && "$tmp/$name" > out.txt) ||
        { echo "man3: the EXAMPLE of $page failed"; cat "$tmp/run-$name/out.txt"; exit 1; }
    n=$((n + 1))
done
echo "man3: $n examples compile and run"

#!/bin/sh
# make install into a staging DESTDIR, then build and run a program against the installed
# header and library through pkg-config, statically and dynamically.
set -eu
b=${AJIO_BUILD:-build}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
make --no-print-directory -s B="$b" install DESTDIR="$stage" PREFIX=/usr >/dev/null
lib=$stage/usr/lib
for f in include/ajio.h lib/libajio.a lib/libajio.so lib/libajio.so.0 lib/pkgconfig/ajio.pc; do
    [ -e "$stage/usr/$f" ] || { echo "install: $f missing"; exit 1; }
done
[ "$(readlink "$lib/libajio.so.0")" = "$(basename "$(ls "$lib"/libajio.so.0.*)")" ] ||
    { echo "install: SONAME link wrong"; exit 1; }
objdump -p "$lib/libajio.so" | grep -q 'SONAME *libajio.so.0$' || { echo "install: SONAME"; exit 1; }
cat > "$stage/t.c" <<'C'
#include <ajio.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    (void)argc;
    int r = ajio_write_text(argv[1], "installed", NULL);
    if (r != 0) { fprintf(stderr, "%s\n", ajio_last_error()); return 1; }
    return 0;
}
C
export PKG_CONFIG_SYSROOT_DIR="$stage" PKG_CONFIG_LIBDIR="$lib/pkgconfig"
cc $(pkg-config --cflags ajio) "$stage/t.c" $(pkg-config --libs ajio) -o "$stage/t-dyn"
cc $(pkg-config --cflags ajio) "$stage/t.c" "$lib/libajio.a" -o "$stage/t-static"
LD_LIBRARY_PATH=$lib "$stage/t-dyn" "$stage/out1"
"$stage/t-static" "$stage/out2"
[ "$(cat "$stage/out1")" = installed ] && [ "$(cat "$stage/out2")" = installed ]
make --no-print-directory -s B="$b" uninstall DESTDIR="$stage" PREFIX=/usr >/dev/null
[ ! -e "$lib/libajio.so" ] && [ ! -e "$stage/usr/include/ajio.h" ] || { echo "install: uninstall left files"; exit 1; }
echo "install: staged install, pkg-config build (shared and static) and uninstall work"

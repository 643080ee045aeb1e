#!/bin/sh
# make install into a staging DESTDIR, then build and run a program against the installed
# header and library through pkg-config, statically and dynamically, and the CMake project
# tests/cmake through find_package(ajio).
set -eu
b=${AJIO_BUILD:-build}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
make --no-print-directory -s B="$b" install DESTDIR="$stage" PREFIX=/usr >/dev/null
lib=$stage/usr/lib
for f in include/ajio.h lib/libajio.a lib/libajio.so lib/libajio.so.0 lib/pkgconfig/ajio.pc \
    lib/cmake/ajio/ajioConfig.cmake lib/cmake/ajio/ajioConfigVersion.cmake; do
    [ -e "$stage/usr/$f" ] || { echo "install: $f missing"; exit 1; }
done
# The man 3 pages, and a page for every name they list (a ".so" to the family's page).
for f in ajio_write ajio_file_open ajio_append ajio_log_open ajio_repair ajio_update ajio_batch_new \
    ajio_gen_key_str ajio_json_validate ajio_sweep ajio_txn ajio_txn_begin ajio_recover ajio_publish \
    ajio_snapshot_open ajio_snapshot_gc; do
    [ -s "$stage/usr/share/man/man3/$f.3" ] || { echo "install: man page $f.3 missing"; exit 1; }
done
grep -qx '.so man3/ajio_append.3' "$stage/usr/share/man/man3/ajio_log_open.3" ||
    { echo "install: ajio_log_open.3 does not point to ajio_append.3"; exit 1; }
grep -qx '.so man3/ajio_txn.3' "$stage/usr/share/man/man3/ajio_recover.3" ||
    { echo "install: ajio_recover.3 does not point to ajio_txn.3"; exit 1; }
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

# CMake finds the staged package by its prefix alone; the config locates the files relative to
# itself, so the DESTDIR it was never told about does not matter.
cmake_configure() { # BUILD_DIR [CMAKE_ARG...]
    d=$1; shift
    cmake -S tests/cmake -B "$d" -DCMAKE_PREFIX_PATH="$stage/usr" "$@" >"$d.log" 2>&1
}
{ cmake_configure "$stage/cm" && cmake --build "$stage/cm" >>"$stage/cm.log" 2>&1; } ||
    { cat "$stage/cm.log"; echo "install: CMake consumer failed"; exit 1; }
"$stage/cm/consumer" "$stage/out3" cmake && "$stage/cm/consumer_static" "$stage/out4" static &&
    [ "$(cat "$stage/out3")" = cmake ] && [ "$(cat "$stage/out4")" = static ] ||
    { echo "install: CMake consumers failed"; exit 1; }
# The shared one must run with the staged library (the imported target's path), not another.
ldd "$stage/cm/consumer" | grep -q "libajio.so.0 => $lib/libajio.so.0" ||
    { ldd "$stage/cm/consumer"; echo "install: CMake consumer runs another libajio"; exit 1; }
# Negative controls: the version file must refuse another major and, before 1.0, another minor.
ver=$(sed -n 's/^#define AJIO_VERSION_STRING "\(.*\)"/\1/p' include/ajio.h)
major=${ver%%.*} minor=${ver#*.}; minor=${minor%%.*}
refused="$((major + 1)).0"
[ "$major" = 0 ] && refused="$refused 0.$((minor + 1))"
for bad in $refused; do
    if cmake_configure "$stage/cm-$bad" -DAJIO_FIND_VERSION="$bad"; then
        echo "install: find_package(ajio $bad) accepted version $ver"; exit 1
    fi
    grep -q "version: $ver" "$stage/cm-$bad.log" ||
        { cat "$stage/cm-$bad.log"; echo "install: ajio $bad refused for another reason"; exit 1; }
done
cmake_configure "$stage/cm-ok" -DAJIO_FIND_VERSION="$major.$minor" ||
    { cat "$stage/cm-ok.log"; echo "install: find_package(ajio $major.$minor) refused"; exit 1; }
make --no-print-directory -s B="$b" uninstall DESTDIR="$stage" PREFIX=/usr >/dev/null
# Another PREFIX (and a CMake config elsewhere) after the one above, in the same build tree:
# the .pc file and the CMake config must be made anew for it, not installed as made for /usr.
make --no-print-directory -s B="$b" install DESTDIR="$stage/o" PREFIX=/opt/ajio \
    CMAKEDIR=/opt/ajio/share/cmake/ajio >/dev/null
grep -qx 'prefix=/opt/ajio' "$stage/o/opt/ajio/lib/pkgconfig/ajio.pc" &&
    grep -qx 'libdir=/opt/ajio/lib' "$stage/o/opt/ajio/lib/pkgconfig/ajio.pc" ||
    { cat "$stage/o/opt/ajio/lib/pkgconfig/ajio.pc"; echo "install: ajio.pc not made for PREFIX=/opt/ajio"; exit 1; }
grep -q 'CURRENT_LIST_DIR}/../../../lib"' "$stage/o/opt/ajio/share/cmake/ajio/ajioConfig.cmake" ||
    { echo "install: ajioConfig.cmake not made for its CMAKEDIR"; exit 1; }
[ ! -e "$lib/libajio.so" ] && [ ! -e "$stage/usr/include/ajio.h" ] && [ ! -e "$lib/cmake/ajio" ] ||
    { echo "install: uninstall left files"; exit 1; }
echo "install: staged install, pkg-config and CMake builds (shared and static) and uninstall work"

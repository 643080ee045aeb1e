#!/bin/sh
# The Debian packaging (debian/) against the tree.
#
#   sh tests/deb.sh              (make check, and debian/rules' test step) debian/ agrees with the
#                                tree: changelog version = include/ajio.h's, package name follows
#                                the SONAME, the symbols file lists exactly the library's exports
#   sh tests/deb.sh --packages   (make check-deb; root) builds the packages from a copy of the
#                                tree, runs lintian, installs them, builds and runs consumers
#                                against them (pkg-config, CMake, the tool, Python), purges them
set -eu
b=${AJIO_BUILD:-build}
tmp=$(mktemp -d)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "deb: $*"; exit 1; }

header_version() { sed -n 's/^#define AJIO_VERSION_STRING "\(.*\)"$/\1/p' "$1"; }

# The upstream part of the first entry's version: no epoch, no Debian revision.
changelog_version() {
    sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$1" | sed 's/^[0-9]*://; s/-[^-]*$//'
}

# check_version HEADER CHANGELOG: prints the mismatch and fails.
check_version() {
    h=$(header_version "$1") c=$(changelog_version "$2")
    [ -n "$h" ] || { echo "no AJIO_VERSION_STRING in $1"; return 1; }
    [ "$h" = "$c" ] || { echo "$2 says ${c:-nothing}, $1 says $h"; return 1; }
}

# check_symbols LIBRARY SYMBOLS_FILE: the symbols file lists exactly the exported functions.
check_symbols() {
    nm -D --defined-only "$1" | awk '$2 == "T" { print $3 }' | sort -u > "$tmp/have"
    sed -n 's/^ \([^@ ]*\)@Base .*/\1/p' "$2" | sort -u > "$tmp/listed"
    if ! diff -u "$tmp/listed" "$tmp/have" > "$tmp/sym.diff"; then
        cat "$tmp/sym.diff"
        echo "$2 differs from the exports of $1 (- listed, + exported): run make debian-symbols"
        return 1
    fi
}

consistency() {
    ver=$(header_version include/ajio.h) major=${ver%%.*}
    check_version include/ajio.h debian/changelog || fail "version differs"
    grep -qx "Package: libajio$major" debian/control || fail "debian/control lacks libajio$major"
    syms=debian/libajio$major.symbols
    [ -f "$syms" ] || fail "$syms missing (make debian-symbols)"
    head -1 "$syms" | grep -qx "libajio.so.$major libajio$major #MINVER#" ||
        fail "$syms does not start with 'libajio.so.$major libajio$major #MINVER#'"
    lib=$b/libajio.so
    [ -f "$lib" ] || fail "$lib missing (make B=$b lib)"
    check_symbols "$lib" "$syms" || fail "symbols file out of date"

    # Negative controls: the same checks on copies that differ by one version number and by
    # one symbol must fail.
    sed '1s/([^)]*)/(9.9.9-1)/' debian/changelog > "$tmp/changelog"
    check_version include/ajio.h "$tmp/changelog" > /dev/null &&
        fail "control: a changelog saying $(changelog_version "$tmp/changelog") passed"
    awk '/@Base/ && !cut { cut = 1; next } 1' "$syms" > "$tmp/symbols"
    check_symbols "$lib" "$tmp/symbols" > /dev/null &&
        fail "control: a symbols file missing a line passed"
    echo "deb: changelog version $ver = ajio.h, libajio$major, $(wc -l < "$tmp/have") symbols"
    leftovers_ignored
}

# What a dpkg-buildpackage run in the checkout leaves must be ignored by git: check-deb copies
# every file git does not ignore, and "debian/rules clean" in the copy would remove those, a
# tree diff. Only in a git checkout (not in the copy the package build runs this in).
leftovers_ignored() {
    git rev-parse --is-inside-work-tree > /dev/null 2>&1 || return 0
    for f in .pybuild/cpython3_3.11_atomic-json-io/build/setup.py debian/.debhelper/x \
        debian/debhelper-build-stamp debian/files debian/ajio.substvars debian/tmp/x \
        debian/python3-atomic-json-io.postinst.debhelper debian/libajio0/usr/x \
        debian/libajio0-dbgsym/x debian/build/x python/build/x \
        python/atomic_json_io.egg-info/PKG-INFO; do
        git check-ignore -q "$f" || fail "$f (left by dpkg-buildpackage) is not ignored by git"
    done
}

# ---- --packages -------------------------------------------------------------------------------
PKGS="libajio0 libajio-dev ajio python3-atomic-json-io"
APT="apt-get -y -q -o DPkg::Lock::Timeout=300"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

purge() {
    p=
    for n in $PKGS; do dpkg-query -W "$n" > /dev/null 2>&1 && p="$p $n"; done
    [ -z "$p" ] || DEBIAN_FRONTEND=noninteractive $APT purge $p > "$tmp/purge.log" 2>&1 ||
        { cat "$tmp/purge.log"; return 1; }
}

packages() {
    if [ "$(id -u)" != 0 ]; then
        [ "${CI:-}" = true ] && fail "check-deb needs root (installs packages) and CI=true"
        echo "deb: skipped: installing packages needs root"
        exit 77
    fi
    start=$(date +%s)
    ver=$(header_version include/ajio.h)
    for n in $PKGS; do
        installed "$n" && fail "$n is installed already; check-deb purges what it installed itself"
    done

    # A copy of what git would commit (tracked and new files, nothing ignored): the build cannot
    # see the developer's build/ or leave anything in the working tree.
    src=$tmp/atomic-json-io-$ver
    mkdir "$src"
    # Python bytecode caches that a run left in the tree are no source: not copied.
    git ls-files -z -c -o --exclude-standard > "$tmp/all" || fail "check-deb needs a git checkout"
    grep -z -v -e '/__pycache__/' -e '\.pyc$' "$tmp/all" > "$tmp/files"
    # Files deleted but not yet committed are still listed: --ignore-failed-read skips them.
    tar --null -T "$tmp/files" --ignore-failed-read -cf - 2> /dev/null | tar -xf - -C "$src" ||
        fail "copying the tree failed"
    list_tree() { (cd "$1" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort); }
    list_tree "$src" > "$tmp/tree.before"
    [ -f "$src/debian/rules" ] || fail "the copy of the tree lacks debian/rules"

    profiles=
    if [ ! -f python/setup.py ]; then
        profiles=nopython
        echo "deb: python/ has no setup.py: building without python3-atomic-json-io"
    fi
    jobs=$(nproc)
    echo "deb: dpkg-buildpackage -us -uc -b -j$jobs${profiles:+ -P$profiles}"
    (cd "$src" && dpkg-buildpackage -us -uc -b -j"$jobs" ${profiles:+-P$profiles}) \
        > "$tmp/build.log" 2>&1 || { tail -60 "$tmp/build.log"; fail "dpkg-buildpackage failed"; }
    # "debian/rules clean" must bring the tree back to what was copied, not a file more or less.
    (cd "$src" && debian/rules clean) > "$tmp/clean.log" 2>&1 ||
        { cat "$tmp/clean.log"; fail "debian/rules clean failed"; }
    list_tree "$src" > "$tmp/tree.after"
    diff -u "$tmp/tree.before" "$tmp/tree.after" ||
        fail "the build leaves files behind (+) or removes some (-)"
    changes=$(ls "$tmp"/*.changes)
    # The -dbgsym packages are built too; only the four packages are installed and checked.
    debs=$(ls "$tmp"/*.deb | grep -v -- '-dbgsym_')
    echo "deb: built $(echo "$debs" | wc -l) packages in $(($(date +%s) - start)) s"

    # Lintian at its default level; the README's "Debian packages" section lists what remains.
    lintian --fail-on error,warning "$changes" > "$tmp/lintian.log" 2> "$tmp/lintian.err" ||
        { cat "$tmp/lintian.err" "$tmp/lintian.log"; fail "lintian reports errors or warnings"; }
    sed 's/^/deb: lintian: /' "$tmp/lintian.log"

    trap 'purge; cleanup' EXIT
    DEBIAN_FRONTEND=noninteractive $APT install --no-install-recommends $debs \
        > "$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "apt-get install failed"; }

    # pkg-config, from a directory that holds no project header.
    mkdir "$tmp/use"
    cat > "$tmp/use/t.c" <<'C'
#include <ajio.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
    (void)argc;
    if (strcmp(ajio_version(), AJIO_VERSION_STRING) != 0) return 2;
    int r = ajio_write_text(argv[1], "packaged", NULL);
    if (r != 0) { fprintf(stderr, "%s\n", ajio_last_error()); return 1; }
    return 0;
}
C
    pcver=$(pkg-config --modversion ajio) || fail "pkg-config does not find ajio"
    [ "$pcver" = "$ver" ] || fail "pkg-config says $pcver"
    cc "$tmp/use/t.c" $(pkg-config --cflags --libs ajio) -o "$tmp/use/t" ||
        fail "pkg-config build failed"
    "$tmp/use/t" "$tmp/use/out1" && [ "$(cat "$tmp/use/out1")" = packaged ] ||
        fail "pkg-config program failed"
    ldd "$tmp/use/t" | grep -Eq "libajio.so.0 => (/usr)?/lib/" ||
        fail "pkg-config program not linked to the system's libajio"

    # CMake, from the system's search paths alone.
    { cmake -S tests/cmake -B "$tmp/cm" && cmake --build "$tmp/cm"; } > "$tmp/cm.log" 2>&1 ||
        { cat "$tmp/cm.log"; fail "CMake consumer failed"; }
    grep -q "^ajio_DIR:PATH=/usr/lib/.*/cmake/ajio$" "$tmp/cm/CMakeCache.txt" ||
        fail "CMake found another ajio: $(grep '^ajio_DIR' "$tmp/cm/CMakeCache.txt")"
    "$tmp/cm/consumer" "$tmp/use/out2" cmake && "$tmp/cm/consumer_static" "$tmp/use/out3" st &&
        [ "$(cat "$tmp/use/out2")" = cmake ] && [ "$(cat "$tmp/use/out3")" = st ] ||
        fail "CMake consumers failed"

    # The tool and its man page.
    v=$(/usr/bin/ajio --version) && [ "$v" = "ajio $ver (libajio $ver)" ] ||
        fail "ajio --version: $v"
    printf '{"n": 1}' | /usr/bin/ajio write --json "$tmp/use/out.json" || fail "ajio write failed"
    [ "$(cat "$tmp/use/out.json")" = '{"n": 1}' ] || fail "ajio write wrote the wrong content"
    [ -f /usr/share/man/man1/ajio.1.gz ] || fail "man page missing"

    # Python, from / so that python/ in the tree cannot be what is imported.
    if [ -z "$profiles" ]; then
        (cd / && /usr/bin/python3 - "$tmp/use/py.json") > "$tmp/py.log" 2>&1 <<'PY' ||
import json, sys
import atomic_json_io, atomic_json_io._ajio
atomic_json_io.write_json_atomic(sys.argv[1], {"n": 2})
with open(sys.argv[1]) as f:
    assert json.load(f) == {"n": 2}
print(atomic_json_io._ajio.__file__)
PY
            { cat "$tmp/py.log"; fail "the installed Python module failed"; }
        grep -q '^/usr/lib/python3/dist-packages/atomic_json_io/_ajio' "$tmp/py.log" ||
            fail "imported $(cat "$tmp/py.log")"
    fi

    purge || fail "purge failed"
    trap cleanup EXIT
    for n in $PKGS; do
        dpkg-query -W "$n" > /dev/null 2>&1 && fail "$n still known to dpkg after purge"
    done
    # Negative controls: with the packages gone the consumers built above must stop working,
    # which shows that they ran on the packaged library and nothing else.
    "$tmp/use/t" "$tmp/use/out4" 2> /dev/null && fail "control: pkg-config program runs after purge"
    pkg-config --exists ajio && fail "control: pkg-config still finds ajio after purge"
    [ ! -e /usr/include/ajio.h ] && [ ! -e /usr/bin/ajio ] || fail "files left after purge"
    echo "deb: $(echo "$debs" | wc -l) packages built, lintian clean, installed, used and purged" \
        "in $(($(date +%s) - start)) s"
}

case ${1:-} in
    "") consistency ;;
    --packages) packages ;;
    *) echo "usage: tests/deb.sh [--packages]"; exit 64 ;;
esac

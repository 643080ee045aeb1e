#!/bin/sh
# Installs the Debian packages the build and tests need, when run as root; otherwise names the
# missing ones and fails. Usage: tools/deps.sh PACKAGE...
missing=
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "deps: installing$missing"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null; then
        apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null || {
            echo "deps: apt-get install$missing failed" >&2; exit 1; }
    fi
    exit 0
fi
echo "deps: missing Debian packages:$missing" >&2
echo "deps: install them with: sudo apt-get install$missing" >&2
exit 1

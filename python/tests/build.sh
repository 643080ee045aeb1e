#!/bin/sh
# Builds the package into $AJIO_BUILD/python (the extension and the pure-Python files), with
# $AJIO_BUILD/python-build for the objects: the source tree gets nothing. setuptools rebuilds
# only what changed (python/setup.py lists libajio's headers as dependencies).
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${AJIO_BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
python=${AJIO_PYTHON:-/usr/bin/python3}
out=$("$python" "$top/python/setup.py" -q build --build-base "$build/python-build" \
    --build-lib "$build/python" 2>&1) || { printf '%s\n' "$out" >&2; exit 1; }

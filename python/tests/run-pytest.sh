#!/bin/sh
# make check's entry to the Python suite: builds the package into $AJIO_BUILD/python and runs
# pytest on python/tests against that build (not against an installed copy).
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${AJIO_BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
python=${AJIO_PYTHON:-/usr/bin/python3}
AJIO_PYTHON=$python AJIO_BUILD=$build sh "$top/python/tests/build.sh"
# -p no:cacheprovider: pytest would write .pytest_cache into the source tree; hypothesis keeps its
# example database and Unicode tables in the build directory for the same reason.
cd "$top/python/tests"
HYPOTHESIS_STORAGE_DIRECTORY=$build/hypothesis \
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$build/python AJIO_BUILD=$build exec "$python" -m pytest -q -p no:cacheprovider \
    -W error::pytest.PytestUnraisableExceptionWarning "$top/python/tests"

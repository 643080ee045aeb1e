#!/bin/sh
# make check's entry to the Python suite: builds the package into $AJIO_BUILD/python and runs
# pytest on python/tests against that build (not against an installed copy). AJIO_PYTHON_HEAVY=1
# (make check-python-heavy) runs instead the slow part: the tests marked heavy (the wheel in a
# fresh venv) and the encoder's property tests with ten times the examples.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${AJIO_BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
python=${AJIO_PYTHON:-/usr/bin/python3}
AJIO_PYTHON=$python AJIO_BUILD=$build sh "$top/python/tests/build.sh"
# -p no:cacheprovider: pytest would write .pytest_cache into the source tree; hypothesis keeps its
# example database and Unicode tables in the build directory for the same reason.
cd "$top/python/tests"
if [ "${AJIO_PYTHON_HEAVY:-0}" = 1 ]; then
    set -- "$top/python/tests/test_wheel.py" "$top/python/tests/test_encode.py"
    : "${AJIO_HYPOTHESIS_EXAMPLES:=10000}"
else
    set -- -m "not heavy" "$top/python/tests"
    : "${AJIO_HYPOTHESIS_EXAMPLES:=1000}"
fi
export AJIO_HYPOTHESIS_EXAMPLES
HYPOTHESIS_STORAGE_DIRECTORY=$build/hypothesis \
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$build/python AJIO_BUILD=$build exec "$python" -m pytest -q -p no:cacheprovider \
    -W error::pytest.PytestUnraisableExceptionWarning "$@"

# The Python package atomic_json_io (python/): the extension _ajio compiles libajio's sources
# itself (python/setup.py). make check builds it into $(B)/python, never into the source tree,
# and runs its pytest suite with Debian's /usr/bin/python3: another python3 earlier on PATH
# lacks Debian's pytest and hypothesis. The benchmark is bench/python/ (make bench-python).
#
#   make check-python        build the extension and run python/tests only (as make check)
#   make check-python-heavy  the slow part (check-heavy): the wheel built and installed into a
#                            fresh venv, and the encoder's property tests with 10x the examples
#   make bench-python     the Python benchmarks (bench/README.md, section "Python")

AJIO_PYTHON ?= /usr/bin/python3
PY_BUILD := $(B)/python

CHECK_SCRIPTS += python/tests/run-pytest.sh
BENCH_TARGETS += bench-python
HEAVY_TARGETS += check-python-heavy
DEB_PACKAGES  += python3-dev python3-pytest python3-hypothesis python3-setuptools strace
# test_typing.py checks the type stubs with mypy --strict.
DEB_PACKAGES  += python3-mypy
# CPython's own test_json, which test_cpython_json.py runs against the encoder.
DEB_PACKAGES  += libpython3.11-testsuite
# The wheel test's tools, installed by check-heavy only; the benchmarks' peers by bench-python
# (BENCH_PY_PEERS: python-atomicwrites for bench.py, the JSON encoders for bench_encode.py).
HEAVY_DEB_PACKAGES += python3-venv python3-build python3-wheel
BENCH_PY_PEERS := python3-atomicwrites python3-ujson python3-simplejson python3-rapidjson

.PHONY: python-build check-python check-python-heavy bench-python
python-build:
	@AJIO_PYTHON=$(AJIO_PYTHON) AJIO_BUILD=$(B) sh python/tests/build.sh

check-python: deps
	@$(MAKE) --no-print-directory $(TEST_TOOLS)
	@AJIO_BUILD=$(B) AJIO_PYTHON=$(AJIO_PYTHON) sh tools/run-tests.sh python/tests/run-pytest.sh

# Passes or fails as a whole, as every heavy target does: no closing line of its own.
check-python-heavy: deps-heavy
	@AJIO_BUILD=$(B) AJIO_PYTHON=$(AJIO_PYTHON) AJIO_PYTHON_HEAVY=1 \
	    timeout -k 10 1200 sh python/tests/run-pytest.sh

# The durable run writes on the working disk, in $(B). bench_encode.py: the encoder alone.
# bench_gil.py: another thread's share of the GIL while a 72 MiB document is written (durable,
# under /var/tmp; BENCH_GIL_DIR elsewhere, BENCH_GIL_BEFORE=DIR beside another build's package).
bench-python: python-build
	@sh tools/deps.sh $(BENCH_PY_PEERS)
	@PYTHONPATH=$(abspath $(PY_BUILD)) BENCH_PY_DIR=$(B) $(AJIO_PYTHON) bench/python/bench.py
	@if [ -f bench/python/bench_encode.py ]; then \
	    PYTHONPATH=$(abspath $(PY_BUILD)) $(AJIO_PYTHON) bench/python/bench_encode.py; fi
	@PYTHONPATH=$(abspath $(PY_BUILD)) $(AJIO_PYTHON) bench/python/bench_gil.py

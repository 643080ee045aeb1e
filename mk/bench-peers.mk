# Peers benchmark: libajio against the raw syscall floor, GLib g_file_set_contents_full,
# python-atomicwrites, npm write-file-atomic and the original Python atomic-json-io algorithm,
# interleaved in one run; writes docs/peers.md and docs/peers-{disk,tmpfs}.svg.
# Method: bench/README.md, section "Peers", and docs/peers.md (results, plots).
#
#   make bench-peers                 the full run (about 5-10 minutes)
#   make bench-peers BENCH_QUICK=1   a one-minute smoke run, results under build/bench-peers/quick
#
# What it needs from Debian is installed when it runs, not by make check (the benchmark is not
# a test). Node.js and npm come from Debian only when no node/npm is on the PATH already (a
# nodesource node must not be replaced by Debian's).

BENCH_PEERS_WORK := $(B)/bench-peers
BENCH_PEERS_BIN  := $(BENCH_PEERS_WORK)/peers_c
BENCH_PEERS_NPM  := $(BENCH_PEERS_WORK)/node_modules/.package-lock.json
BENCH_PEERS_DEBS := libglib2.0-dev python3-atomicwrites gnuplot-nox strace
BENCH_TARGETS    += bench-peers

.PHONY: bench-peers bench-peers-deps bench-peers-run
bench-peers: bench-peers-deps
	@$(MAKE) --no-print-directory bench-peers-run

bench-peers-deps:
	@sh tools/deps.sh $(BENCH_PEERS_DEBS) \
	    $$(command -v node >/dev/null || echo nodejs) $$(command -v npm >/dev/null || echo npm)

# Always -O2, whatever CFLAGS says, as the other benchmarks. GLib's flags are asked of
# pkg-config when the rule runs, after bench-peers-deps has installed it.
DEPS += $(BENCH_PEERS_BIN).d
$(BENCH_PEERS_BIN): bench/peers/peers_c.c $(BENCH_PEERS_BIN).d $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $$(pkg-config --cflags glib-2.0) $(ALL_CFLAGS) -O2 $< \
	    -o $@ $(STATICLIB) $$(pkg-config --libs glib-2.0) $(LDFLAGS)

# npm ci installs exactly the committed lock, into the build directory only.
$(BENCH_PEERS_NPM): bench/peers/package.json bench/peers/package-lock.json
	@mkdir -p $(BENCH_PEERS_WORK)
	cp bench/peers/package.json bench/peers/package-lock.json $(BENCH_PEERS_WORK)/
	cd $(BENCH_PEERS_WORK) && npm ci --no-audit --no-fund --loglevel=error

# Our Python package (mk/python.mk) is built first when its sources are there; if it does not
# build, the run goes on and its row says "not built".
bench-peers-run: $(BENCH_PEERS_BIN) $(BENCH_PEERS_NPM)
	@if [ -f python/setup.py ]; then \
	    $(MAKE) --no-print-directory python-build || \
	        echo "bench-peers: atomic_json_io did not build; its row will say not built" >&2; \
	fi
	AJIO_BUILD=$(B) AJIO_PY_PATH=$(abspath $(B)/python) BENCH_QUICK="$(BENCH_QUICK)" \
	    /usr/bin/python3 bench/peers/run.py

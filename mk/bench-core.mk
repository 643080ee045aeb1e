# The core write-path benchmark: ajio_write_bytes against the hand-written syscall floor, 100-byte
# to 100 MiB writes, syscalls per write (strace -f) and the peak RSS of a 1 GiB streamed write.
# Results and the exact command: bench/README.md, section "Core write path".
#
#   make bench-core                       everything (about 2 minutes)
#   make bench-core BENCH_CORE_DIR=/mnt/x  the durable runs on another filesystem

BENCH_CORE_BIN := $(B)/bench/bench_write
BENCH_TARGETS  += bench-core
DEB_PACKAGES   += strace

# Always -O2, whatever CFLAGS says: a benchmark of an unoptimised build measures nothing useful.
DEPS += $(BENCH_CORE_BIN).d
$(BENCH_CORE_BIN): bench/bench_write.c $(BENCH_CORE_BIN).d $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) -O2 $< -o $@ $(STATICLIB) $(LDFLAGS)

.PHONY: bench-core
bench-core: $(BENCH_CORE_BIN)
	@AJIO_BUILD=$(B) BENCH_CORE_DIR="$(BENCH_CORE_DIR)" sh bench/run-core.sh

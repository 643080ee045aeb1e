# The workloads under a model of a disk whose cache flush costs what a real one's does
# (bench/slowsync.c, an LD_PRELOAD shim): batch, transaction, group commit, log handle and
# one-shot appends at 0.2, 2 and 8 ms per flush, after a self-check of the model at each.
# Results, the model and its limits: bench/README.md, section "Syncs at the cost of real disks".
#
#   make bench-slowsync                               the three latencies (about 4 minutes)
#   make bench-slowsync BENCH_SLOWSYNC_US="2000:5"    latency in us : rounds, as many as wanted
#   make bench-slowsync BENCH_WORKLOADS_DIR=/mnt/x    on another disk (never tmpfs: its syncs
#                                                     are free, and the model charges none there)

SLOWSYNC_SO        := $(B)/bench/slowsync.so
SLOWSYNC_CHECK_BIN := $(B)/bench/slowsync_check
BENCH_TARGETS      += bench-slowsync
# Fewer rounds where a round is slow: 500 one-shot writes cost two flushes each.
BENCH_SLOWSYNC_US  ?= 200:7 2000:5 8000:3

DEPS += $(SLOWSYNC_SO:.so=.d) $(SLOWSYNC_CHECK_BIN).d
$(SLOWSYNC_SO): bench/slowsync.c $(SLOWSYNC_SO:.so=.d)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) -O2 -shared -fPIC $< -o $@ -ldl -lpthread

$(SLOWSYNC_CHECK_BIN): bench/slowsync_check.c $(SLOWSYNC_CHECK_BIN).d
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) -O2 $< -o $@

# One device file per latency, so that no flush of one run is queued behind another's. The
# directory is on the disk: the model adds its latency to the disk's own syncs, and charges
# only those (AJIO_BENCH_SYNC_PATH), not the transaction's second run on tmpfs.
.PHONY: bench-slowsync
# $(B)/bench/bench_workloads by name: mk/bench-workloads.mk, which names it, is read after this
# file, and a prerequisite is expanded when its rule is read.
bench-slowsync: $(SLOWSYNC_SO) $(SLOWSYNC_CHECK_BIN) $(B)/bench/bench_workloads
	@set -e; disk=$$(mkdir -p $(BENCH_WORKLOADS_DIR) && mktemp -d $(BENCH_WORKLOADS_DIR)/slowsync.XXXXXX); \
	tmpfs=$$(mktemp -d /dev/shm/ajio-bench-slowsync.XXXXXX); dev=""; \
	trap 'rm -rf "$$disk" "$$tmpfs" $$dev' EXIT; \
	echo "machine: $$(nproc) cores, $$(uname -r); disk: $$(df -T "$$disk" | awk 'NR==2 {print $$2 " on " $$1}'); tmpfs: $$tmpfs"; \
	for lr in $(BENCH_SLOWSYNC_US); do \
	  us=$${lr%%:*}; rounds=$${lr#*:}; \
	  dev=$$(mktemp /dev/shm/ajio-slowsync.XXXXXX); \
	  echo; echo "### $$us us per flush ($$rounds rounds)"; echo; \
	  export AJIO_BENCH_SYNC_US=$$us AJIO_BENCH_SYNC_DEV=$$dev AJIO_BENCH_SYNC_PATH="$$disk"; \
	  LD_PRELOAD=$(abspath $(SLOWSYNC_SO)) $(SLOWSYNC_CHECK_BIN) "$$disk" "$$tmpfs"; \
	  for w in append group batch txn; do \
	    LD_PRELOAD=$(abspath $(SLOWSYNC_SO)) $(BENCH_WORKLOADS_BIN) $$w "$$disk" "$$tmpfs" $$rounds; \
	  done; \
	  rm -f $$dev; dev=""; \
	done

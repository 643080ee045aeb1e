# The workloads benchmark: append (one-shot and log handle), group commit, batch, update and the
# atomic-only replace through the directory handle, each side by side with the code a program
# would write by hand. Results and the exact command: bench/README.md, section "Workloads".
#
#   make bench-workloads                          everything (about 3 minutes)
#   make bench-workloads BENCH_WORKLOADS_DIR=/mnt/x   the durable runs on another filesystem

BENCH_WORKLOADS_BIN := $(B)/bench/bench_workloads
BENCH_TARGETS       += bench-workloads
BENCH_WORKLOADS_DIR ?= $(B)/bench-workloads

DEPS += $(BENCH_WORKLOADS_BIN).d
$(BENCH_WORKLOADS_BIN): bench/bench_workloads.c $(BENCH_WORKLOADS_BIN).d $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Isrc $(DEPFLAGS) $(ALL_CFLAGS) -O2 $< -o $@ $(STATICLIB) $(LDFLAGS)

.PHONY: bench-workloads
bench-workloads: $(BENCH_WORKLOADS_BIN)
	@set -e; disk=$$(mkdir -p $(BENCH_WORKLOADS_DIR) && mktemp -d $(BENCH_WORKLOADS_DIR)/run.XXXXXX); \
	tmpfs=$$(mktemp -d /dev/shm/ajio-bench-workloads.XXXXXX); \
	trap 'rm -rf "$$disk" "$$tmpfs"' EXIT; \
	echo "machine: $$(nproc) cores, $$(uname -r); disk: $$(df -T "$$disk" | awk 'NR==2 {print $$2 " on " $$1}'); tmpfs: $$tmpfs"; \
	for w in append group batch update atomic; do $(BENCH_WORKLOADS_BIN) $$w "$$disk" "$$tmpfs"; done

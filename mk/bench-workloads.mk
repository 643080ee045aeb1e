# The workloads benchmark: append (one-shot and log handle), group commit, threads sharing a log
# handle (log-threads), batch, update and the atomic-only replace through the directory handle,
# each side by side with the code a program would write by hand; an all-or-nothing transaction
# against the batch; a publish with reflinks against one with copies. Results and the exact
# command: bench/README.md, section "Workloads".
#
#   make bench-workloads                          everything (about 3 minutes)
#   make bench-workloads BENCH_WORKLOADS_DIR=/mnt/x   the durable runs on another filesystem
#   make bench-workloads-publish                  the publish alone: on BENCH_WORKLOADS_DIR's
#                                                 filesystem, then (as root) on xfs with
#                                                 reflink=1 and on btrfs, each a loop-mounted
#                                                 sparse image made in BENCH_WORKLOADS_DIR
#   make bench-workloads-publish BENCH_PUBLISH_SIZE=65536   files of 64 KiB instead of 4 KiB
#   make bench-workloads-publish BENCH_PUBLISH_FS="xfs btrfs"   only these (of disk xfs btrfs)
#   make bench-workloads-publish BENCH_PUBLISH_ROUNDS=3         timed rounds (5 by default)
#
# The sparse images are sized for the file size: 12 times the 1,000 files' bytes (at least
# 1 GiB), room for the source and two generations of each of the 5 names if all were copies.

BENCH_WORKLOADS_BIN := $(B)/bench/bench_workloads
BENCH_TARGETS       += bench-workloads
BENCH_WORKLOADS_DIR ?= $(B)/bench-workloads
BENCH_PUBLISH_SIZE  ?= 4096
BENCH_PUBLISH_IMG   ?= $(shell s=$$(( $(BENCH_PUBLISH_SIZE) * 12000 / 1048576 + 1 )); [ $$s -ge 1024 ] || s=1024; echo $${s}M)
BENCH_PUBLISH_FS    ?= disk xfs btrfs
BENCH_PUBLISH_ROUNDS ?= 5

DEPS += $(BENCH_WORKLOADS_BIN).d
$(BENCH_WORKLOADS_BIN): bench/bench_workloads.c $(BENCH_WORKLOADS_BIN).d $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Isrc $(DEPFLAGS) $(ALL_CFLAGS) -O2 $< -o $@ $(STATICLIB) $(LDFLAGS)

.PHONY: bench-workloads bench-workloads-publish
bench-workloads: $(BENCH_WORKLOADS_BIN)
	@set -e; disk=$$(mkdir -p $(BENCH_WORKLOADS_DIR) && mktemp -d $(BENCH_WORKLOADS_DIR)/run.XXXXXX); \
	tmpfs=$$(mktemp -d /dev/shm/ajio-bench-workloads.XXXXXX); \
	trap 'rm -rf "$$disk" "$$tmpfs"' EXIT; \
	echo "machine: $$(nproc) cores, $$(uname -r); disk: $$(df -T "$$disk" | awk 'NR==2 {print $$2 " on " $$1}'); tmpfs: $$tmpfs"; \
	for w in append group log-threads batch update atomic txn; do $(BENCH_WORKLOADS_BIN) $$w "$$disk" "$$tmpfs"; done
	@$(MAKE) --no-print-directory bench-workloads-publish

# Reflinks need xfs (reflink=1) or btrfs: each is made on a sparse image, loop-mounted for the
# run and unmounted and removed on every way out (the trap), as is the directory on the disk.
# Not root, or no mkfs for it: that filesystem is skipped with the reason.
bench-workloads-publish: $(BENCH_WORKLOADS_BIN)
	@set -e; disk=$$(mkdir -p $(BENCH_WORKLOADS_DIR) && mktemp -d $(BENCH_WORKLOADS_DIR)/publish.XXXXXX); \
	mnt=""; \
	cleanup() { if [ -n "$$mnt" ]; then if mountpoint -q "$$mnt"; then umount "$$mnt"; fi; rmdir "$$mnt"; fi; rm -rf "$$disk"; }; \
	trap cleanup EXIT; trap 'exit 1' HUP INT TERM; \
	echo "machine: $$(nproc) cores, $$(uname -r); disk: $$(df -T "$$disk" | awk 'NR==2 {print $$2 " on " $$1}')"; \
	for fs in $(BENCH_PUBLISH_FS); do \
	  if [ $$fs = disk ]; then $(BENCH_WORKLOADS_BIN) publish "$$disk" "$$disk" $(BENCH_PUBLISH_ROUNDS) $(BENCH_PUBLISH_SIZE); continue; fi; \
	  case $$fs in xfs) mkfs="mkfs.xfs -q -f -m reflink=1";; btrfs) mkfs="mkfs.btrfs -q -f";; *) echo "publish: unknown filesystem $$fs (disk, xfs or btrfs)"; exit 2;; esac; \
	  if [ "$$(id -u)" != 0 ]; then echo "publish on $$fs: skipped, not root (the image is loop-mounted)"; continue; fi; \
	  if ! command -v $${mkfs%% *} >/dev/null; then echo "publish on $$fs: skipped, no $${mkfs%% *}"; continue; fi; \
	  img="$$disk/$$fs.img"; truncate -s $(BENCH_PUBLISH_IMG) "$$img"; $$mkfs "$$img"; \
	  mnt=$$(mktemp -d /tmp/ajio-bench-publish.XXXXXX); mount -o loop "$$img" "$$mnt"; \
	  echo; echo "$$fs: $$(findmnt -n -o SOURCE,OPTIONS "$$mnt") ($$img, $(BENCH_PUBLISH_IMG) sparse)"; \
	  $(BENCH_WORKLOADS_BIN) publish "$$mnt" "$$mnt" $(BENCH_PUBLISH_ROUNDS) $(BENCH_PUBLISH_SIZE); \
	  umount "$$mnt"; rmdir "$$mnt"; mnt=""; rm -f "$$img"; \
	done

# Durable replace and append on a shared filesystem against the same syscalls by hand, and the
# cost of the cluster-wide lock (bench/bench_shared.c). Needs the servers of make check-shared:
#
#   make bench-shared        on NFSv3, NFSv4.2 (user-mode Linux guest) and GlusterFS (with the
#                            client caches off, mk/shared.mk)
BENCH_SHARED_BIN := $(B)/bench/bench_shared
DEPS += $(BENCH_SHARED_BIN).d
$(BENCH_SHARED_BIN): bench/bench_shared.c $(BENCH_SHARED_BIN).d $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) -O2 $< -o $@ $(STATICLIB) $(LDFLAGS)

.PHONY: bench-shared
bench-shared: $(BENCH_SHARED_BIN)
	@echo "machine: $$(nproc) cores, $$(uname -r)"
	@for h in tests/shared/nfs/run.sh tests/shared/gluster/run.sh; do \
	    [ -x $$h ] || continue; \
	    AJIO_BUILD=$(B) $(SHARED_GLUSTER_ENV) $$h \
	        sh -c '$(abspath $(BENCH_SHARED_BIN)) "$$AJIO_SHARED_A" 40 7'; \
	done

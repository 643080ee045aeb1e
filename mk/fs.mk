# mk/fs.mk - the filesystem matrix (root):
#
#   make check-fs      core, CLI and stress suites on ext4, ext4 noauto_da_alloc, xfs, btrfs,
#                      tmpfs and a FUSE passthrough (bindfs); real ENOSPC, EDQUOT (btrfs
#                      qgroup) and EROFS, written by the fault driver (mk/fault.mk)
#
# Outside CI it exits 77 (skip) when not root; under CI=true it fails instead.
# See docs/fs-matrix.md.

HEAVY_TARGETS += check-fs
HEAVY_DEB_PACKAGES += strace xfsprogs btrfs-progs bindfs fuse3 e2fsprogs util-linux mount acl attr

.PHONY: check-fs

# The matrix runs every unit test binary (including the kill storm, tests/test_stress) and every
# CLI script on each filesystem, so it builds them first.
check-fs: deps-heavy
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(TEST_TOOLS) $(FAULT_DRIVER) $(FAULT_CLI)
	@AJIO_BUILD=$(B) CI="$(CI)" bash tests/fs/run.sh

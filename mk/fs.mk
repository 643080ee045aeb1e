# mk/fs.mk - the filesystem matrix and syscall fault injection (both need root).
#
#   make check-fs      core, CLI and stress suites on ext4, ext4 noauto_da_alloc, xfs, btrfs,
#                      tmpfs and a FUSE passthrough (bindfs); real ENOSPC, EDQUOT (btrfs
#                      qgroup) and EROFS
#   make check-fault   every syscall of the write path failed in turn with each errno, short
#                      writes, for the library (tests/fault/driver.c) and the CLI
#
# Outside CI both exit 77 (skip) when not root; under CI=true they fail instead.
# See docs/fs-matrix.md and docs/fault-injection.md.

HEAVY_TARGETS += check-fs check-fault
DEB_PACKAGES  += strace xfsprogs btrfs-progs bindfs fuse3 e2fsprogs util-linux mount acl attr

.PHONY: check-fs check-fault fault-tools

FAULT_DRIVER := $(B)/fault/driver
FAULT_SHIM   := $(B)/fault/shortwrite.so
FAULT_BROKEN := $(B)/fault/driver-ignore-fdatasync $(B)/fault/driver-keep-temp \
                $(B)/fault/driver-ignore-setxattr
# The CLI is a prerequisite only once its sources exist.
FAULT_CLI    := $(if $(wildcard cli/*.c),$(B)/ajio)

$(FAULT_DRIVER): tests/fault/driver.c include/ajio.h $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $< -o $@ $(STATICLIB) $(LDFLAGS)

$(FAULT_SHIM): tests/fault/shortwrite.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -shared -fPIC $(ALL_CFLAGS) $< -o $@ $(LDFLAGS) -ldl

# Negative controls of the fault harness: copies of the library with one promise broken, built
# only here from patched copies under $(B) (src/ is never changed). ignore-fdatasync: a failed
# fdatasync is ignored and the temp renamed anyway. keep-temp: a failed write leaves its named
# temp behind. The grep fails the build if a patch stops matching, since an unpatched control
# would prove nothing.
$(B)/fault/ignore-fdatasync/commit.c: src/commit.c
	@mkdir -p $(@D)
	sed 's/fdatasync(f->fd) < 0)/fdatasync(f->fd) < 0 \&\& 0)/' $< > $@
	grep -q 'fdatasync(f->fd) < 0 && 0)' $@

$(B)/fault/keep-temp/commit.c: src/commit.c
	@mkdir -p $(@D)
	sed '/^void ajio__discard/,/^}/s/unlinkat(f->dirfd, f->tmpname, 0)/0/' $< > $@
	sed -n '/^void ajio__discard/,/^}/p' $@ | grep -q 'named && 0 < 0'

# ignore-setxattr: a failed setxattr of an ACL or attribute that must be kept is ignored.
$(B)/fault/ignore-setxattr/meta.c: src/meta.c
	@mkdir -p $(@D)
	sed 's/(size_t)n, 0) < 0 \&\& !may_skip/(size_t)n, 0) < 0 \&\& 0 \&\& !may_skip/' $< > $@
	grep -q '< 0 && 0 && !may_skip' $@

$(B)/fault/driver-ignore-setxattr: tests/fault/driver.c $(B)/fault/ignore-setxattr/meta.c \
                                   $(LIB_SRC) src/internal.h include/ajio.h
	$(CC) $(ALL_CPPFLAGS) -Isrc $(ALL_CFLAGS) -Wno-missing-prototypes $< \
	    $(filter-out src/meta.c,$(LIB_SRC)) $(B)/fault/ignore-setxattr/meta.c -o $@ $(LDFLAGS)

$(B)/fault/driver-%: tests/fault/driver.c $(B)/fault/%/commit.c $(LIB_SRC) src/internal.h \
                     include/ajio.h
	$(CC) $(ALL_CPPFLAGS) -Isrc $(ALL_CFLAGS) -Wno-missing-prototypes $< \
	    $(filter-out src/commit.c,$(LIB_SRC)) $(B)/fault/$*/commit.c -o $@ $(LDFLAGS)

fault-tools: $(FAULT_DRIVER) $(FAULT_SHIM) $(FAULT_BROKEN) $(FAULT_CLI)

check-fault: deps
	@$(MAKE) --no-print-directory fault-tools
	@AJIO_BUILD=$(B) CI="$(CI)" bash tests/fault/run.sh

# The matrix runs every unit test binary (including the kill storm, tests/test_stress) and every
# CLI script on each filesystem, so it builds them first.
check-fs: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(FAULT_DRIVER) $(FAULT_CLI)
	@AJIO_BUILD=$(B) CI="$(CI)" bash tests/fs/run.sh

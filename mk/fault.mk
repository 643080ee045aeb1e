# mk/fault.mk - syscall fault injection on the write path (root, strace):
#
#   make check-fault   every syscall of the write path failed in turn with each errno, short
#                      writes, for the library (tests/fault/driver.c) and the CLI; the same for
#                      ajio_update, ajio_append, the log handle, ajio_repair, transactions,
#                      ajio_recover, ajio_publish and ajio_snapshot_gc (library); then five
#                      negative controls (mk/controls.mk) that the harness must catch
#
# Outside CI it exits 77 (skip) when not root; under CI=true it fails instead.
# See docs/fault-injection.md. The driver also serves the filesystem matrix (mk/fs.mk).

HEAVY_TARGETS += check-fault
HEAVY_DEB_PACKAGES += strace acl attr util-linux mount

.PHONY: check-fault fault-tools

FAULT_DRIVER := $(B)/fault/driver
FAULT_SHIM   := $(B)/fault/shortwrite.so
# The same driver against a library that ignores a failed fdatasync, leaves its named temp behind
# after a failure, ignores a failed setxattr of the ACL or a user.* attribute, or does not cut a
# failed append back, or leaves a failed transaction's temps and plan.
FAULT_CONTROLS := $(patsubst %,$(B)/control/%/fault/driver,ignore-fdatasync keep-temp \
                    ignore-setxattr no-cut-back txn-keep-staging)
# The CLI is a prerequisite only once its sources exist.
FAULT_CLI    := $(if $(wildcard cli/*.c),$(B)/ajio)

DEPS += $(FAULT_DRIVER).d $(FAULT_SHIM:.so=.d)
$(FAULT_DRIVER): tests/fault/driver.c $(FAULT_DRIVER).d $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) $< -o $@ $(STATICLIB) $(LDFLAGS)

$(FAULT_SHIM): tests/fault/shortwrite.c $(FAULT_SHIM:.so=.d)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) -shared -fPIC $(ALL_CFLAGS) $< -o $@ $(LDFLAGS) -ldl

fault-tools: $(FAULT_DRIVER) $(FAULT_SHIM) $(FAULT_CONTROLS) $(FAULT_CLI)

check-fault: deps-heavy
	@$(MAKE) --no-print-directory fault-tools
	@AJIO_BUILD=$(B) CI="$(CI)" bash tests/fault/run.sh

# The power-cut suite: make check-crash (root, loop devices; about 6 minutes). See
# docs/crash-testing.md. The harness runs against this tree's library and tool, then against seven
# negative controls (mk/controls.mk), whole library and tool each: omit-file-sync (no fdatasync
# of the temp), omit-dir-sync (no fsync of the directory after the rename, nor a batch's),
# omit-append-sync (no fdatasync after an append), group-trust (group commit takes any
# finished sync to cover every appender's records), no-committed (the repair ignores the lock
# file's record), trust-stale (the repair takes a record from before the power cut for exact) and
# rename-before-intent (a transaction renames its members before its intent is written).
# The suite fails unless each control shows the violations it must.
#
#   make check-crash                          the CI sweep (>= 10,000 crash points)
#   make check-crash CRASH_SCALE=10           ten times as many crash points
#   make check-crash CRASH_FS="xfs ext4-noauto"   only these filesystems
#   make check-crash CRASH_GROUP_CYCLES=10    more group-commit cycles (default 5 per filesystem)

CRASH_CONTROLS := omit-file-sync omit-dir-sync omit-append-sync group-trust no-committed \
                  trust-stale rename-before-intent

HEAVY_TARGETS += check-crash
HEAVY_DEB_PACKAGES += xfsprogs btrfs-progs strace util-linux e2fsprogs

# The harness of a tree, beside the tool of that tree. The tool is a prerequisite although it is
# not linked in: the harness runs it, and so one request per control tree builds both.
CRASH_RUN := $(B)/crash/crash_run
DEPS += $(CRASH_RUN).d
$(CRASH_RUN): tests/crash/crash_run.c $(CRASH_RUN).d $(STATICLIB) $(B)/ajio
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) -Isrc $(ALL_CFLAGS) $< -o $@ $(STATICLIB) $(LDFLAGS)

.PHONY: check-crash
check-crash: deps-heavy
	@$(MAKE) --no-print-directory $(CRASH_RUN) $(CRASH_CONTROLS:%=$(B)/control/%/crash/crash_run)
	@AJIO_BUILD=$(B) CRASH_SCALE="$(CRASH_SCALE)" CRASH_FS="$(CRASH_FS)" CI="$(CI)" \
	    CRASH_GROUP_CYCLES="$(CRASH_GROUP_CYCLES)" \
	    bash tests/crash/check-crash.sh

# The power-cut suite: make check-crash (root, loop devices; about 3 minutes). See
# docs/crash-testing.md. The harness is built three times: against the real library and against
# two test-only library builds with a sync left out (the negative controls). The ajio tool is
# built against each of them too, so the controls cover both ways in.
#
#   make check-crash                          the CI sweep (>= 10,000 crash points)
#   make check-crash CRASH_SCALE=10           ten times as many crash points
#   make check-crash CRASH_FS="xfs ext4-noauto"   only these filesystems

CRASH_VARIANTS := real nofilesync nodirsync
CRASH_DEFINE_nofilesync := -DAJIO_TEST_OMIT_FILE_SYNC
CRASH_DEFINE_nodirsync := -DAJIO_TEST_OMIT_DIR_SYNC

HEAVY_TARGETS += check-crash
DEB_PACKAGES += xfsprogs btrfs-progs strace util-linux e2fsprogs

# The real build is the one of this tree: $(B)/libajio.a and $(B)/ajio.
$(B)/crash-real/crash_run: tests/crash/crash_run.c include/ajio.h $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $< -o $@ $(STATICLIB) $(LDFLAGS)

# The controls: the whole library and tool again under $(B)/crash-<variant>, by a recursive make
# with the switch, so that no object of the real build can leak into them or back.
CRASH_CONTROLS := $(B)/crash-nofilesync/crash_run $(B)/crash-nodirsync/crash_run

# (Not .PHONY: make skips pattern rules for phony targets. No file of that name ever exists.)
crash-lib-%:
	@$(MAKE) --no-print-directory B=$(B)/crash-$* CPPFLAGS="$(CPPFLAGS) $(CRASH_DEFINE_$*)" \
	    $(B)/crash-$*/libajio.a $(B)/crash-$*/ajio

$(CRASH_CONTROLS): $(B)/crash-%/crash_run: tests/crash/crash_run.c include/ajio.h crash-lib-%
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $< -o $@ $(B)/crash-$*/libajio.a $(LDFLAGS)

.PHONY: check-crash
check-crash: deps
	@$(MAKE) --no-print-directory $(B)/crash-real/crash_run $(B)/ajio $(CRASH_CONTROLS)
	@AJIO_BUILD=$(B) CRASH_SCALE="$(CRASH_SCALE)" CRASH_FS="$(CRASH_FS)" CI="$(CI)" \
	    bash tests/crash/check-crash.sh

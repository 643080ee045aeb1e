# The ajio command-line tool, its man page, "make demo" and the end-to-end tests of the tool.
# The tool uses only the public API and links the static library (libc only at run time).

# main.c (the command table) -> cmd_*.c (one file per command) -> util.c (cli.h) -> libajio.
CLI_SRC := $(sort $(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:cli/%.c=$(B)/cli/%.o)
CLI_TESTS := $(sort $(wildcard tests/cli/*.sh))

ALL_TARGETS += $(B)/ajio

# The compiler writes the headers each object includes into a .d file beside it (-MMD), with an
# empty rule for each header (-MP) so that a removed header does not stop the build.
$(B)/cli/%.o: cli/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -MMD -MP $(ALL_CFLAGS) -c $< -o $@

-include $(CLI_OBJ:.o=.d)

$(B)/ajio: $(CLI_OBJ) $(STATICLIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STATICLIB)

# The torn-read showdown: a naive writer next to ajio, about 10 seconds in all.
DEMO_DIR ?= $(B)/demo
DEMO_SECONDS ?= 5
demo: $(B)/ajio
	$(B)/ajio demo --dir $(DEMO_DIR) --seconds $(DEMO_SECONDS)

# valgrind.sh runs the tool under valgrind, which cannot run a sanitized binary: not in ASAN.
CHECK_SCRIPTS += $(CLI_TESTS)
ASAN_SCRIPTS += $(filter-out tests/cli/valgrind.sh,$(CLI_TESTS))
DEB_PACKAGES += valgrind time e2fsprogs groff-base jq strace util-linux

install-extra::
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(B)/ajio $(DESTDIR)$(BINDIR)/ajio
	install -m 644 cli/ajio.1 $(DESTDIR)$(MANDIR)/man1/ajio.1

uninstall-extra::
	rm -f $(DESTDIR)$(BINDIR)/ajio $(DESTDIR)$(MANDIR)/man1/ajio.1

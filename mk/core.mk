# Core library checks that are not cmocka suites.
CHECK_SCRIPTS += tests/symbols.sh tests/install.sh tests/newdir.sh tests/callgraph.py
ASAN_SCRIPTS  += tests/newdir.sh

# The man 3 pages: one per family, each EXAMPLE compiled and run by tests/man3.sh.
MAN3_PAGES := $(sort $(wildcard man/man3/*.3))
CHECK_SCRIPTS += tests/man3.sh

install-extra::
	install -d $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(MAN3_PAGES) $(DESTDIR)$(MANDIR)/man3/

uninstall-extra::
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3_PAGES)))

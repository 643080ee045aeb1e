# Core library checks that are not cmocka suites. json_kernels.sh runs the validator's suite once
# per kernel of src/cpu.c.
CHECK_SCRIPTS += tests/symbols.sh tests/install.sh tests/newdir.sh tests/callgraph.py \
                 tests/pow10.sh tests/json_kernels.sh
ASAN_SCRIPTS  += tests/newdir.sh tests/json_kernels.sh

# The man 3 pages: one per family, each EXAMPLE compiled and run by tests/man3.sh.
MAN3_PAGES := $(sort $(wildcard man/man3/*.3))
CHECK_SCRIPTS += tests/man3.sh

# Every other name a page's NAME line lists gets a ".so" page that points to it, as man-pages
# does, so that "man ajio_log_open" finds ajio_append(3).
man3_aliases = $(foreach p,$(MAN3_PAGES),$(filter-out $(basename $(notdir $(p))),\
    $(subst $(comma),,$(shell sed -n '/^\.SH NAME/{n;s/ \\-.*//;p;q}' $(p)))))
comma := ,

install-extra::
	install -d $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(MAN3_PAGES) $(DESTDIR)$(MANDIR)/man3/
	@for p in $(MAN3_PAGES); do page=$$(basename $$p); \
	    for n in $$(sed -n '/^\.SH NAME/{n;s/ \\-.*//;s/,//g;p;q}' $$p); do \
	        [ "$$n.3" = "$$page" ] || printf '.so man3/%s\n' "$$page" >$(DESTDIR)$(MANDIR)/man3/$$n.3; \
	    done; \
	done

uninstall-extra::
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3_PAGES)) $(addsuffix .3,$(man3_aliases)))

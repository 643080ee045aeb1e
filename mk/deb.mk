# Debian packages (debian/): libajio0, libajio-dev, ajio and python3-atomic-json-io.
#
#   make check-deb        builds the packages from a copy of the tree, runs lintian, installs
#                         them, builds and runs consumers against them, purges them (root; CI)
#   make debian-symbols   rewrites debian/libajio0.symbols from the library just built
#
# tests/deb.sh (in make check) keeps debian/ in step with the tree: the changelog's version is
# include/ajio.h's, the package name follows the SONAME, the symbols file lists every export.

DEB_PACKAGES  += cmake
HEAVY_DEB_PACKAGES += debhelper dh-python dpkg-dev lintian python3-all-dev python3-setuptools
CHECK_SCRIPTS += tests/deb.sh
HEAVY_TARGETS += check-deb

.PHONY: check-deb debian-symbols
check-deb: deps-heavy
	@AJIO_BUILD=$(B) sh tests/deb.sh --packages

# A symbol keeps the version it was first listed with (what dpkg-shlibdeps makes dependents
# require); a new one gets the current version. A symbol that disappeared is dropped, loudly:
# that breaks the ABI of libajio$(VERSION_MAJOR) and calls for a new SONAME.
DEB_SYMBOLS := debian/libajio$(VERSION_MAJOR).symbols
# Reads the current symbols file, then the exported names (one a line).
DEB_SYMBOLS_AWK := \
    FILENAME == ARGV[1] { \
        if ($$1 ~ /@Base$$/) { s = $$1; sub(/@Base$$/, "", s); old[s] = $$2 } \
        next \
    } \
    FNR == 1 { print head; print "* Build-Depends-Package: libajio-dev" } \
    { print " " $$1 "@Base " ($$1 in old ? old[$$1] : ver); seen[$$1] = 1 } \
    END { \
        for (s in old) \
            if (!(s in seen)) print "debian-symbols: " s " is gone: ABI break" > "/dev/stderr" \
    }

debian-symbols: $(SHLIB)
	@nm -D --defined-only $(SHLIB) | awk '$$2 == "T" { print $$3 }' | sort -u > $(DEB_SYMBOLS).new
	@test -s $(DEB_SYMBOLS).new || { echo "debian-symbols: no exports in $(SHLIB)" >&2; exit 1; }
	@touch $(DEB_SYMBOLS)
	@awk -v ver=$(VERSION) -v head='$(SONAME) libajio$(VERSION_MAJOR) #MINVER#' \
	    '$(DEB_SYMBOLS_AWK)' $(DEB_SYMBOLS) $(DEB_SYMBOLS).new > $(DEB_SYMBOLS).tmp
	@rm -f $(DEB_SYMBOLS).new
	@mv $(DEB_SYMBOLS).tmp $(DEB_SYMBOLS)
	@echo "debian-symbols: $(DEB_SYMBOLS): $$(grep -c '@Base' $(DEB_SYMBOLS)) symbols"

# atomic-json-io - GNU Makefile. Readable on purpose: no generator, one file plus the fragments
# in mk/*.mk, each named for what it holds: cli, adapters, core (checks), crash (check-crash),
# fault (check-fault), fs (check-fs), fuzz, bench-core, bench-validate, controls (the negative
# control builds of crash and fault).
#
#   make              static and shared library
#   make check        installs missing Debian packages (as root) and runs every fast test
#   make check-asan   the unit suites under AddressSanitizer + UndefinedBehaviorSanitizer
#   make check-heavy  power cuts, filesystem matrix, fault injection (root), a minute of fuzzing
#   make check-all    what CI runs: check, check-asan, check-heavy
#   make bench        benchmarks (see bench/README.md)
#   make demo         the torn-read showdown
#   make install PREFIX=/usr/local DESTDIR=

VERSION_MAJOR := $(shell sed -n 's/^\#define AJIO_VERSION_MAJOR \([0-9]*\).*/\1/p' include/ajio.h)
VERSION_MINOR := $(shell sed -n 's/^\#define AJIO_VERSION_MINOR \([0-9]*\).*/\1/p' include/ajio.h)
VERSION_PATCH := $(shell sed -n 's/^\#define AJIO_VERSION_PATCH \([0-9]*\).*/\1/p' include/ajio.h)
VERSION       := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
PKGCONFDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR   ?= $(LIBDIR)/cmake/ajio
DESTDIR    ?=

CC       ?= cc
CFLAGS   ?= -O2 -g
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
            -Wformat=2 -Wvla -Wundef
ALL_CFLAGS   = -std=c11 $(WARNINGS) $(CFLAGS)
ALL_CPPFLAGS = -D_GNU_SOURCE -Iinclude $(CPPFLAGS)

# Every build product lives under $(B): make check-asan uses B=build/asan with other flags.
B ?= build
# Third-party JSON test and benchmark data, committed (tests/data/README.md). The C tests and
# scripts read $AJIO_TEST_DATA themselves and default to the same directory.
AJIO_TEST_DATA ?= tests/data

LIB_SRC   := $(sort $(wildcard src/*.c))
LIB_OBJ   := $(LIB_SRC:src/%.c=$(B)/obj/%.o)
STATICLIB := $(B)/libajio.a
SONAME    := libajio.so.$(VERSION_MAJOR)
SHLIB     := $(B)/libajio.so.$(VERSION)

# Fragments add to these. CHECK_* run in make check, ASAN_* in make check-asan (built with
# B=build/asan), BENCH_TARGETS in make bench.
CHECK_PROGS   :=
CHECK_SCRIPTS :=
ASAN_PROGS    :=
ASAN_SCRIPTS  :=
BENCH_TARGETS :=
HEAVY_TARGETS :=
DEB_PACKAGES  := libcmocka-dev pkg-config
# Needed only by the heavy suites: installed by their targets (deps-heavy), not by make check.
HEAVY_DEB_PACKAGES :=
ALL_TARGETS   := $(STATICLIB) $(SHLIB)

# Header dependencies: each compile writes the headers it read into a .d file beside its output
# (-MMD; -MP adds an empty rule per header, so that a removed header does not stop the build),
# and the end of this file reads them back: no rule lists a header. Each rule also names its
# own .d as a prerequisite and adds it to DEPS: where the .d is missing (a tree built before
# this, or a deleted .d) the empty rule at the end makes it count as changed, so the target is
# rebuilt instead of trusted.
DEPFLAGS := -MMD -MP
DEPS     :=

.PHONY: all lib check check-all check-unit check-asan deps bench demo install uninstall clean format
all: lib

-include mk/*.mk

all: $(ALL_TARGETS)
lib: $(STATICLIB) $(SHLIB)

DEPS += $(LIB_OBJ:.o=.d)
$(B)/obj/%.o: src/%.c $(B)/obj/%.d
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) -DAJIO_BUILDING -fPIC -fvisibility=hidden $(ALL_CFLAGS) \
	    -c $< -o $@

$(STATICLIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(SHLIB): $(LIB_OBJ)
	$(CC) -shared -fPIC -Wl,-soname=$(SONAME) -Wl,--no-undefined $(ALL_CFLAGS) $(LDFLAGS) \
	    -o $@ $^
	ln -sf libajio.so.$(VERSION) $(B)/$(SONAME)
	ln -sf $(SONAME) $(B)/libajio.so

# ---- unit tests (cmocka) -------------------------------------------------------------------
TEST_LIBS := -lcmocka -lpthread
UNIT_SRC  := $(sort $(wildcard tests/test_*.c))
UNIT_BIN  := $(UNIT_SRC:tests/%.c=$(B)/tests/%)
CHECK_PROGS += $(UNIT_BIN)
# Programs the scripts and the Python suite call, not tests themselves.
TEST_TOOLS := $(B)/tests/fskind
DEPS += $(TEST_TOOLS:=.d)

DEPS += $(UNIT_BIN:=.d)
$(B)/tests/%: tests/%.c $(B)/tests/%.d $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) -Isrc $(ALL_CFLAGS) $< -o $@ $(STATICLIB) $(TEST_LIBS) \
	    $(LDFLAGS)

deps:
	@sh tools/deps.sh $(sort $(DEB_PACKAGES))

.PHONY: deps-heavy
deps-heavy:
	@sh tools/deps.sh $(sort $(DEB_PACKAGES) $(HEAVY_DEB_PACKAGES))

# The fast suite every change runs. Each program and script runs in its own process with a
# timeout, as many at once as there are CPUs (tools/run-tests.sh), which prints one summary
# line. The Python suite, the longest by far, starts first. The staged install and the
# documentation's examples (which build the Python package, as the Python suite does) run alone.
TESTS_FIRST = $(filter python/%,$(CHECK_SCRIPTS))
export AJIO_TEST_ALONE := tests/install.sh tests/docs/docs.sh
check: deps
	@$(MAKE) --no-print-directory all $(CHECK_PROGS) $(TEST_TOOLS)
	@AJIO_BUILD=$(B) sh tools/run-tests.sh $(TESTS_FIRST) $(CHECK_PROGS) \
	    $(filter-out $(TESTS_FIRST),$(CHECK_SCRIPTS))

check-unit: $(UNIT_BIN)
	@sh tools/run-tests.sh $(UNIT_BIN)

ASAN_PROGS += $(UNIT_BIN)
.PHONY: check-asan-run
check-asan-run: all $(ASAN_PROGS) $(TEST_TOOLS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    AJIO_BUILD=$(B) sh tools/run-tests.sh $(ASAN_PROGS) $(ASAN_SCRIPTS)

bench: $(BENCH_TARGETS)

# Sequential on purpose: the heavy suites mount filesystems and time out if starved. Each passes
# or fails as a whole; the closing line counts them as tools/run-tests.sh counts its tests.
.PHONY: check-heavy
check-heavy:
	@pass=0; for t in $(HEAVY_TARGETS); do \
	    printf '=== %s\n' "$$t"; start=$$(date +%s); \
	    if ! $(MAKE) --no-print-directory $$t; then \
	        printf -- '--- FAIL %s (%ss)\nheavy: %d passed, 1 failed\n' "$$t" \
	            $$(( $$(date +%s) - start )) $$pass; exit 1; \
	    fi; \
	    pass=$$((pass + 1)); printf -- '--- PASS %s (%ss)\n' "$$t" $$(( $$(date +%s) - start )); \
	done; \
	printf 'heavy: %d passed, 0 failed\n' $$pass

# Stops at the first part that fails, and fails with it. .ci/run sums the closing lines
# ("tests: N passed" of check and of check-asan, "heavy: N passed") into its own.
check-all:
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory check-asan
	@$(MAKE) --no-print-directory check-heavy

ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
check-asan: deps
	@$(MAKE) --no-print-directory B=build/asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" \
	    AJIO_ASAN=1 check-asan-run

# ---- install -----------------------------------------------------------------------------------
# The installation directories the .pc file and the CMake config are made for, recorded in a
# stamp rewritten only when they change: "make check" then "make install PREFIX=/usr/local"
# regenerates both, and an unchanged PREFIX rebuilds nothing.
INSTALL_DIRS := prefix=$(PREFIX) libdir=$(LIBDIR) includedir=$(INCLUDEDIR) cmakedir=$(CMAKEDIR)
$(B)/install-dirs: FORCE
	@mkdir -p $(@D)
	@echo '$(INSTALL_DIRS)' | cmp -s - $@ || echo '$(INSTALL_DIRS)' > $@

.PHONY: FORCE
$(B)/ajio.pc: ajio.pc.in include/ajio.h $(B)/install-dirs
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' $< > $@

# The CMake package config finds the libraries and the header at paths relative to itself,
# computed here, so that it works wherever the installed tree is moved (DESTDIR, a package).
CMAKE_CONFIG := $(B)/cmake/ajioConfig.cmake $(B)/cmake/ajioConfigVersion.cmake
$(CMAKE_CONFIG): $(B)/cmake/%: cmake/%.in include/ajio.h $(B)/install-dirs
	@mkdir -p $(@D)
	ptr=$$($(CC) $(CFLAGS) -dM -E - </dev/null | sed -n 's/.*__SIZEOF_POINTER__ //p'); \
	test -n "$$ptr" && sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@VERSION_MAJOR@|$(VERSION_MAJOR)|g' \
	    -e 's|@VERSION_MINOR@|$(VERSION_MINOR)|g' -e 's|@SONAME@|$(SONAME)|g' \
	    -e "s|@SIZEOF_VOID_P@|$$ptr|g" \
	    -e "s|@CMAKEDIR_TO_LIBDIR@|$$(realpath -m --relative-to=$(CMAKEDIR) $(LIBDIR))|g" \
	    -e "s|@CMAKEDIR_TO_INCLUDEDIR@|$$(realpath -m --relative-to=$(CMAKEDIR) $(INCLUDEDIR))|g" \
	    $< > $@.tmp
	@if grep -n '@[A-Z_]*@' $@.tmp; then echo "$@: unsubstituted" >&2; rm -f $@.tmp; exit 1; fi
	mv $@.tmp $@

install: all $(B)/ajio.pc $(CMAKE_CONFIG)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFDIR) \
	    $(DESTDIR)$(CMAKEDIR)
	install -m 644 include/ajio.h $(DESTDIR)$(INCLUDEDIR)/ajio.h
	install -m 644 $(STATICLIB) $(DESTDIR)$(LIBDIR)/libajio.a
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/libajio.so.$(VERSION)
	ln -sf libajio.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libajio.so
	install -m 644 $(B)/ajio.pc $(DESTDIR)$(PKGCONFDIR)/ajio.pc
	install -m 644 $(CMAKE_CONFIG) $(DESTDIR)$(CMAKEDIR)/
	@$(MAKE) --no-print-directory install-extra

uninstall: uninstall-extra
	rm -f $(DESTDIR)$(INCLUDEDIR)/ajio.h $(DESTDIR)$(LIBDIR)/libajio.a \
	    $(DESTDIR)$(LIBDIR)/libajio.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	    $(DESTDIR)$(LIBDIR)/libajio.so $(DESTDIR)$(PKGCONFDIR)/ajio.pc \
	    $(DESTDIR)$(CMAKEDIR)/ajioConfig.cmake $(DESTDIR)$(CMAKEDIR)/ajioConfigVersion.cmake
	-rmdir $(DESTDIR)$(CMAKEDIR) 2>/dev/null

.PHONY: install-extra uninstall-extra
install-extra::
uninstall-extra::

format:
	clang-format -i include/*.h src/*.c src/*.h tests/*.c tests/*.h tests/lib/*.h

clean:
	rm -rf build

# ---- header dependencies (see DEPFLAGS) --------------------------------------------------------
$(DEPS): ;
-include $(wildcard $(DEPS))

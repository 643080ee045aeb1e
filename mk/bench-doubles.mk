# Shortest doubles: libajio's json_number.c against its code before Schubfach (compiled from
# BENCH_DOUBLES_OLD's tree, when git can show it), snprintf("%.17g"), Google double-conversion
# and fmt 9, interleaved in one run. Results and the exact command: bench/README.md, section
# "Shortest doubles".
#
#   make bench-doubles                                   (about 10 seconds)
#   make bench-doubles BENCH_DOUBLES_OLD=<commit>        another "before"
#
# The peers come from Debian when it runs, not by make check (the benchmark is not a test); only
# the benchmark links them, and their C++.

BENCH_DOUBLES_BIN  := $(B)/bench/bench_doubles
BENCH_DOUBLES_OLD  ?= 7a6c442
BENCH_DOUBLES_RUNS ?= 11
BENCH_DOUBLES_DEBS := libdouble-conversion-dev libfmt-dev g++
BENCH_TARGETS      += bench-doubles

.PHONY: bench-doubles bench-doubles-deps
bench-doubles-deps:
	@sh tools/deps.sh $(BENCH_DOUBLES_DEBS)

$(B)/bench/bench_doubles_peers.o: bench/bench_doubles_peers.cc | bench-doubles-deps
	@mkdir -p $(@D)
	$(CXX) -std=c++17 -O2 -g -Wall -Wextra -c $< -o $@

# The old json_number.c keeps its own names apart by renaming its three external functions.
$(BENCH_DOUBLES_BIN): bench/bench_doubles.c bench/benchutil.h $(B)/bench/bench_doubles_peers.o \
    $(STATICLIB)
	@mkdir -p $(@D)
	@old=; if git show $(BENCH_DOUBLES_OLD):src/json_number.c >$(@D)/json_number_old.c 2>/dev/null; then \
	    echo "$(CC) ... -c $(@D)/json_number_old.c (src/json_number.c of $(BENCH_DOUBLES_OLD))"; \
	    $(CC) $(ALL_CPPFLAGS) -Isrc $(ALL_CFLAGS) -O2 -Dajio__format_double=old_format_double \
	        -Dajio__format_u64=old_format_u64 -Dajio__format_i64=old_format_i64 \
	        -c $(@D)/json_number_old.c -o $(@D)/json_number_old.o || exit 1; \
	    old="-DBENCH_OLD=\"$(BENCH_DOUBLES_OLD)\" $(@D)/json_number_old.o"; \
	else echo "bench-doubles: git cannot show $(BENCH_DOUBLES_OLD): no \"before\" row"; fi; \
	set -x; $(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -O2 $$old $< $(B)/bench/bench_doubles_peers.o \
	    $(STATICLIB) -o $@ -ldouble-conversion -lfmt -lstdc++ -lm $(LDFLAGS)

bench-doubles: $(BENCH_DOUBLES_BIN)
	@echo "machine: $$(nproc) cores, $$(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -1), $$(uname -r)"
	$(BENCH_DOUBLES_BIN) $(AJIO_TEST_DATA)/json-bench $(BENCH_DOUBLES_RUNS)

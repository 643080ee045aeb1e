# JSON validator benchmark: libajio's kernels against simdjson's implementations, jansson and
# memchr, on the standard documents in cache, as ~50 MB values and as ~220 MB of JSON lines
# (see bench/README.md).
#
#   make bench-validate                    7 runs of everything
#   make bench-validate BENCH_VALIDATE_ARGS="tests/data 50 9 220"   DATA_DIR TARGET_MB REPS JSONL_MB

BENCH_VALIDATE_ARGS ?=
CXX ?= c++

BENCH_TARGETS += bench-validate
DEB_PACKAGES  += libjansson-dev libsimdjson-dev

.PHONY: bench-validate
bench-validate: $(B)/bench/bench_validate
	$(B)/bench/bench_validate $(BENCH_VALIDATE_ARGS)

DEPS += $(B)/bench/bench_validate.d $(B)/bench/bench_validate_simdjson.d
$(B)/bench/bench_validate_simdjson.o: bench/bench_validate_simdjson.cpp \
    $(B)/bench/bench_validate_simdjson.d
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(DEPFLAGS) -O2 -g -Wall -Wextra -c $< -o $@

# -Isrc: the kernel names and the kernel a child runs (src/cpu.c) come from internal.h.
$(B)/bench/bench_validate: bench/bench_validate.c $(B)/bench/bench_validate.d \
    $(B)/bench/bench_validate_simdjson.o $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Isrc $(DEPFLAGS) $(ALL_CFLAGS) $< -o $@ \
	    $(B)/bench/bench_validate_simdjson.o $(STATICLIB) -lsimdjson -ljansson -lstdc++ $(LDFLAGS)

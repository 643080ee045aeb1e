# JSON generator benchmark: libajio's generator in memory, compact and pretty, under every kernel
# the CPU runs, against RapidJSON's Writer / PrettyWriter, jansson, cJSON, json-c and memcpy (the
# floor), on the three documents of tests/data/json-bench. Results and method: bench/README.md,
# section "JSON generator".
#
#   make bench-gen                           5 rounds (about 3 minutes)
#   make bench-gen BENCH_GEN_BEFORE=REV      also the generator of commit REV, built from git
#                                            into $(B)/bench-gen-before, run in the same rounds
#   make bench-gen BENCH_GEN_ROUNDS=9

BENCH_GEN_BIN    := $(B)/bench/bench_gen
BENCH_GEN_OBJ    := $(B)/bench/bench_gen.o $(B)/bench/bench_gen_jsonc.o \
                    $(B)/bench/bench_gen_rapidjson.o
BENCH_GEN_LIBS   := -ljansson -lcjson -ljson-c -lstdc++
BENCH_GEN_BEFORE ?=
BENCH_GEN_ROUNDS ?= 5
BENCH_TARGETS    += bench-gen
DEB_PACKAGES     += rapidjson-dev libjansson-dev libcjson-dev libjson-c-dev

CXX ?= g++

$(B)/bench/bench_gen.o: BENCH_PART :=
$(B)/bench/bench_gen_jsonc.o: BENCH_PART := -DBENCH_JSONC_PART
DEPS += $(B)/bench/bench_gen.d $(B)/bench/bench_gen_jsonc.d
$(B)/bench/bench_gen.o $(B)/bench/bench_gen_jsonc.o: bench/bench_gen.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(BENCH_PART) $(DEPFLAGS) $(ALL_CFLAGS) -O2 -c $< -o $@

$(B)/bench/bench_gen_rapidjson.o: bench/bench_gen_rapidjson.cpp
	@mkdir -p $(@D)
	$(CXX) -std=c++11 -O2 -g -c $< -o $@

$(BENCH_GEN_BIN): $(BENCH_GEN_OBJ) $(STATICLIB)
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(BENCH_GEN_LIBS) $(LDFLAGS)

# The same benchmark objects linked with the library of another commit (its public API is
# the same): its tree is taken from git, not from a work tree, so that nothing local leaks in.
BENCH_GEN_BEFORE_DIR := $(B)/bench-gen-before
ifneq ($(BENCH_GEN_BEFORE),)
BENCH_GEN_BEFORE_BIN := $(BENCH_GEN_BEFORE_DIR)/bench_gen
.PHONY: $(BENCH_GEN_BEFORE_BIN)
$(BENCH_GEN_BEFORE_BIN): $(BENCH_GEN_OBJ)
	rm -rf $(BENCH_GEN_BEFORE_DIR)/tree
	mkdir -p $(BENCH_GEN_BEFORE_DIR)/tree
	git archive $(BENCH_GEN_BEFORE) | tar -x -C $(BENCH_GEN_BEFORE_DIR)/tree
	env -u MAKEFLAGS $(MAKE) -C $(BENCH_GEN_BEFORE_DIR)/tree B=build CFLAGS="$(CFLAGS)" \
	    build/libajio.a
	$(CC) $(ALL_CFLAGS) $^ $(BENCH_GEN_BEFORE_DIR)/tree/build/libajio.a -o $@ \
	    $(BENCH_GEN_LIBS) $(LDFLAGS)
endif

.PHONY: bench-gen
bench-gen: $(BENCH_GEN_BIN) $(BENCH_GEN_BEFORE_BIN)
	AJIO_BUILD=$(B) BENCH_GEN_BEFORE="$(BENCH_GEN_BEFORE)" BENCH_GEN_ROUNDS=$(BENCH_GEN_ROUNDS) \
	    sh bench/run-gen.sh $(AJIO_TEST_DATA)/json-bench

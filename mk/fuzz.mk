# libFuzzer targets. Built with clang from the library sources directly (build/libajio.a is a
# gcc build without coverage instrumentation), with ASan + UBSan.
#
#   make fuzz                       fuzz_validate for FUZZ_SECONDS (60), prints the executions
#   make fuzz FUZZ_SECONDS=600 FUZZ_JOBS=2
#
# The seed corpus is built at run time from the committed third-party data (tests/data, or
# $AJIO_TEST_DATA; see tests/data/README.md) and tests/cases into $(B)/fuzz/corpus. Crash files
# land in $(B)/fuzz/ and reproduce with: $(B)/fuzz/fuzz_validate CRASH_FILE

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 8192
FUZZ_FLAGS   := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all
FUZZ_DATA    ?= $(AJIO_TEST_DATA)
# Library sources the validator target needs (the validator, error.c for the messages it sets,
# cpu.c for its kernels), and the chunk feeder it shares with tests/test_json_check.c
# (tests/lib/chunks.h). Each input runs through every kernel the CPU has (fuzz_validate.c), so
# the time budget covers them all.
FUZZ_VALIDATE_SRC := src/json_check.c src/error.c src/cpu.c
FUZZ_CPPFLAGS     := -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -Itests/lib
FUZZ_VALIDATE_OBJ := $(B)/fuzz/fuzz_validate.o $(FUZZ_VALIDATE_SRC:src/%.c=$(B)/fuzz/obj/%.o)

.PHONY: fuzz fuzz-validate fuzz-corpus
fuzz: fuzz-validate

# One object per source: a compile writes one .d file (DEPFLAGS in the Makefile).
DEPS += $(FUZZ_VALIDATE_OBJ:.o=.d)
$(B)/fuzz/fuzz_validate.o: fuzz/fuzz_validate.c $(B)/fuzz/fuzz_validate.d
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(DEPFLAGS) $(FUZZ_FLAGS) -c $< -o $@

$(B)/fuzz/obj/%.o: src/%.c $(B)/fuzz/obj/%.d
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(DEPFLAGS) $(FUZZ_FLAGS) -c $< -o $@

$(B)/fuzz/fuzz_validate: $(FUZZ_VALIDATE_OBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) $^ -o $@ -ljansson

fuzz-corpus:
	@test -d $(FUZZ_DATA)/JSONTestSuite || \
	    { echo "fuzz: test data missing at $(FUZZ_DATA) (committed in tests/data)"; exit 1; }
	@mkdir -p $(B)/fuzz/corpus
	@cp -f $(FUZZ_DATA)/JSONTestSuite/test_parsing/*.json $(FUZZ_DATA)/jsonchecker/*.json \
	    $(FUZZ_DATA)/json-bench/*.json $(B)/fuzz/corpus/
	@cp -f tests/cases/json/*/*.json tests/cases/jsonl/*/*.jsonl $(B)/fuzz/corpus/

fuzz-validate: $(B)/fuzz/fuzz_validate fuzz-corpus
	@echo "fuzz_validate: $(FUZZ_SECONDS) s, corpus $(B)/fuzz/corpus"
	@cd $(B)/fuzz && ./fuzz_validate -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) \
	    -print_final_stats=1 $(if $(FUZZ_JOBS),-fork=$(FUZZ_JOBS)) corpus > fuzz_validate.log 2>&1; \
	    rc=$$?; tail -n 25 fuzz_validate.log; \
	    execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' fuzz_validate.log | tail -1); \
	    if [ $$rc -eq 0 ]; then echo "fuzz_validate: $$execs executions, no failure"; \
	    else echo "fuzz_validate: FAILED (exit $$rc), see $(B)/fuzz/fuzz_validate.log"; fi; \
	    exit $$rc

# CI fuzzes for a bounded minute on every run; longer runs are for a person (docs/json-validator.md).
HEAVY_DEB_PACKAGES += clang libclang-rt-14-dev
$(B)/fuzz/fuzz_validate: | deps-heavy
HEAVY_TARGETS += fuzz

# JSON validator benchmark: ajio_json_validate / ajio_json_checker_feed vs jansson json_loadb vs
# jq, on the same ~50 MB documents built from tests/data/json-bench (see bench/README.md).
#
#   make bench-validate                    all three documents, 7 runs each
#   make bench-validate BENCH_VALIDATE_ARGS="tests/data 50 9"   DATA_DIR TARGET_MB REPS

BENCH_VALIDATE_ARGS ?=

BENCH_TARGETS += bench-validate
DEB_PACKAGES  += libjansson-dev jq

.PHONY: bench-validate
bench-validate: $(B)/bench/bench_validate
	$(B)/bench/bench_validate $(BENCH_VALIDATE_ARGS)

DEPS += $(B)/bench/bench_validate.d
$(B)/bench/bench_validate: bench/bench_validate.c $(B)/bench/bench_validate.d $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) $< -o $@ $(STATICLIB) -ljansson $(LDFLAGS)

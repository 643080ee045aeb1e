# make check-doubles: the shortest doubles of src/json_number.c on 10^8 random bit patterns, each
# read back through strtod, every 1000th against the snprintf/strtod oracle (tests/lib/doubles.h;
# make check runs the same checks on 10^6 in test_json_gen). In the heavy tier for its time:
# about 30 s on one core.
#
#   make check-doubles CHECK_DOUBLES_ARGS="COUNT K SEED"     another count, oracle rate, seed

CHECK_DOUBLES_BIN  := $(B)/tests/doubles/check_doubles
CHECK_DOUBLES_ARGS ?=
HEAVY_TARGETS      += check-doubles

# Always -O2, whatever CFLAGS says: the count is sized for an optimised build.
DEPS += $(CHECK_DOUBLES_BIN).d
$(CHECK_DOUBLES_BIN): tests/doubles/check_doubles.c $(CHECK_DOUBLES_BIN).d $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) -O2 $< -o $@ $(STATICLIB) $(LDFLAGS)

.PHONY: check-doubles
check-doubles: $(CHECK_DOUBLES_BIN)
	$(CHECK_DOUBLES_BIN) $(CHECK_DOUBLES_ARGS)

# JSON adapters: header-only walkers for jansson, cJSON and json-c trees over libajio's JSON
# generator (include/ajio/*.h), their tests and their benchmark. libajio itself still links libc
# only: only the programs that include an adapter link its JSON library.

DEB_PACKAGES += libjansson-dev libcjson-dev libjson-c-dev locales

ADAPTER_HEADERS := $(sort $(wildcard include/ajio/*.h))

# tests/test_adapter_*.c come in through the generic unit-test rule (and so are already in
# CHECK_PROGS and ASAN_PROGS); they only need their JSON library on the link line.
$(B)/tests/test_adapter_jansson: TEST_LIBS += -ljansson
$(B)/tests/test_adapter_cjson: TEST_LIBS += -lcjson
$(B)/tests/test_adapter_jsonc: TEST_LIBS += -ljson-c
$(B)/tests/test_adapter_jansson $(B)/tests/test_adapter_cjson $(B)/tests/test_adapter_jsonc: \
    $(ADAPTER_HEADERS) tests/adapter_util.h
# The generic rule knows only tests/testutil.h; test_json_write shares the adapter suites' checks.
$(B)/tests/test_json_write: tests/adapter_util.h

# ---- benchmark -----------------------------------------------------------------------------------
# jansson and json-c cannot share a translation unit (both define json_object), so the one source
# is compiled twice.
.PHONY: bench-adapters
BENCH_TARGETS += bench-adapters

$(B)/bench/bench_adapters.o: BENCH_PART :=
$(B)/bench/bench_adapters_jsonc.o: BENCH_PART := -DBENCH_JSONC_PART
$(B)/bench/bench_adapters.o $(B)/bench/bench_adapters_jsonc.o: bench/bench_adapters.c \
    $(ADAPTER_HEADERS) bench/benchutil.h include/ajio.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(BENCH_PART) $(ALL_CFLAGS) -c $< -o $@

$(B)/bench/bench_adapters: $(B)/bench/bench_adapters.o $(B)/bench/bench_adapters_jsonc.o \
    $(STATICLIB)
	$(CC) $(ALL_CFLAGS) $^ -o $@ -ljansson -lcjson -ljson-c $(LDFLAGS)

bench-adapters: $(B)/bench/bench_adapters
	AJIO_BUILD=$(B) $(B)/bench/bench_adapters $(AJIO_TEST_DATA)/json-bench

# ---- install -------------------------------------------------------------------------------------
install-extra::
	install -d $(DESTDIR)$(INCLUDEDIR)/ajio
	install -m 644 $(ADAPTER_HEADERS) $(DESTDIR)$(INCLUDEDIR)/ajio/

uninstall-extra::
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/ajio/,$(notdir $(ADAPTER_HEADERS)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/ajio 2>/dev/null

# ---- the generator under every kernel -------------------------------------------------------
# test_gen_kernels compares the generator's bytes under each kernel with the scalar kernel's
# (the documents come through the jansson adapter); gen_kernels.sh runs the generator's own
# suites once per kernel the CPU has, since the default run sees only the best one.
$(B)/tests/test_gen_kernels: TEST_LIBS += -ljansson
$(B)/tests/test_gen_kernels: $(ADAPTER_HEADERS)
CHECK_SCRIPTS += tests/gen_kernels.sh

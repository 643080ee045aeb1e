/*
 * test_compat.c - what 0.3 promises to code built against 0.2, and the names that replace the
 * old ones: the 0.2 symbols, called through their 0.2 prototypes as an old binary calls them,
 * still work (the handle's old names, ajio_repair and ajio_reader_open with their old
 * arguments); AJIO_JSONL asks for lines in the validator and the generator, and the deprecated
 * AJIO_JSON_LINES and AJIO_GEN_LINES still do; the NUL-terminated generator calls; the names of
 * the positive results.
 */
#include "testutil.h"

#define TU_TEST(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)

/* The 0.2 prototypes, bound to the 0.2 symbols, as a program built against 0.2 has them. */
int v02_open(ajio_file **ret_file, const char *path, const ajio_opts *opts) __asm__("ajio_open");
int v02_write(ajio_file *f, const void *buf, size_t len) __asm__("ajio_write");
int v02_printf(ajio_file *f, const char *fmt, ...) __asm__("ajio_printf");
int v02_vprintf(ajio_file *f, const char *fmt, va_list ap) __asm__("ajio_vprintf");
int v02_commit(ajio_file *f) __asm__("ajio_commit");
void v02_abort(ajio_file *f) __asm__("ajio_abort");
int v02_repair(const char *path, unsigned flags, size_t *ret_cut,
               const ajio_opts *opts) __asm__("ajio_repair");
int v02_reader_open(ajio_reader **ret, const char *path,
                    unsigned flags) __asm__("ajio_reader_open");

static int call_vprintf(ajio_file *f, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = v02_vprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

static void test_v02_handle(void **state)
{
    const char *p = tu_path(*state, "d/state.json");
    ajio_file *f;

    tu_assert_ok(v02_open(&f, p, &(ajio_opts){.flags = AJIO_JSON}));
    tu_assert_ok(v02_write(f, "{\"a\":", 5));
    tu_assert_ok(v02_printf(f, "%d,", 1));
    tu_assert_ok(call_vprintf(f, "\"b\":%s}", "true"));
    tu_assert_ok(v02_commit(f));
    tu_assert_content(p, "{\"a\":1,\"b\":true}\n", 17);

    tu_assert_ok(v02_open(&f, p, NULL));
    tu_assert_ok(v02_write(f, "x", 1));
    v02_abort(f);
    tu_assert_content(p, "{\"a\":1,\"b\":true}\n", 17);
    assert_int_equal(tu_count_temps(tu_path(*state, "d")), 0);

    /* Errors as the new names give them. */
    assert_int_equal(v02_open(NULL, p, NULL), -EINVAL);
    assert_int_equal(v02_commit(NULL), -EINVAL);
    v02_abort(NULL);
}

static void test_v02_repair(void **state)
{
    const char *p = tu_path(*state, "log.jsonl");
    const ajio_opts nosync = {.flags = AJIO_NO_SYNC};
    size_t cut = 99;

    tu_put(p, "[1]\n{\"torn", 0644);
    /* The flags apart and opts last, or'ed together. */
    assert_int_equal(v02_repair(p, AJIO_JSONL, &cut, &nosync), AJIO_REPAIRED);
    assert_int_equal(cut, 6);
    tu_assert_content(p, "[1]\n", 4);
    assert_int_equal(v02_repair(p, AJIO_JSONL, &cut, NULL), 0);
    assert_int_equal(cut, 0);
    tu_assert_fails(v02_repair(p, AJIO_NO_REPAIR, NULL, NULL), -EINVAL, "log.jsonl");
    tu_assert_fails(v02_repair(tu_path(*state, "missing"), 0, NULL, &nosync), -ENOENT, "missing");

    /* The 0.3 arguments under the 0.3 symbol. */
    tu_put(p, "[1]\n[2]", 0644);
    assert_int_equal(ajio_repair(p, &(ajio_opts){.flags = AJIO_JSONL}, &cut), AJIO_REPAIRED);
    assert_int_equal(cut, 0); /* a complete value: terminated, not cut */
    tu_assert_content(p, "[1]\n[2]\n", 8);
}

static void test_v02_reader(void **state)
{
    const char *p = tu_path(*state, "r.jsonl");
    const char *line;
    size_t len;
    ajio_reader *rd;

    tu_put(p, "[1]\nnope\n", 0644);
    tu_assert_ok(v02_reader_open(&rd, p, AJIO_JSONL));
    assert_int_equal(ajio_reader_next(rd, &line, &len), 1);
    assert_string_equal(line, "[1]");
    assert_int_equal(ajio_reader_next(rd, &line, &len), AJIO_EJSON);
    assert_int_equal(ajio_reader_next(rd, &line, &len), 0);
    ajio_reader_close(rd);
    tu_assert_fails(v02_reader_open(&rd, p, AJIO_JSON), -EINVAL, "r.jsonl");

    tu_assert_ok(ajio_reader_open(&rd, p, NULL));
    assert_int_equal(ajio_reader_next(rd, &line, &len), 1);
    assert_int_equal(ajio_reader_next(rd, &line, &len), 1);
    assert_string_equal(line, "nope");
    ajio_reader_close(rd);
    tu_assert_fails(ajio_reader_open(&rd, p, &(ajio_opts){.reserved_int = 1}), -EINVAL, "r.jsonl");
}

static void test_jsonl_flag(void **state)
{
    static const char two[] = "[1]\n{\"a\":2}\n";
    ajio_json_checker *c;

    (void)state;
    /* The bits differ, so no call takes one for another flag of its own. */
    assert_int_equal(AJIO_JSONL & (AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED), 0);
    assert_int_equal(AJIO_JSONL & (AJIO_GEN_PRETTY | AJIO_GEN_COMPACT | AJIO_GEN_LINES |
                                   AJIO_GEN_ENSURE_ASCII | AJIO_GEN_ESCAPE_SLASH |
                                   AJIO_GEN_LOWER_HEX | AJIO_GEN_ESCAPE_DEL | AJIO_GEN_NO_NEWLINE),
                     0);

    tu_assert_ok(ajio_json_validate(two, sizeof(two) - 1, AJIO_JSONL, NULL));
    tu_assert_ok(ajio_json_validate(two, sizeof(two) - 1, AJIO_JSON_LINES, NULL));
    assert_int_equal(ajio_json_validate(two, sizeof(two) - 1, 0, NULL), AJIO_EJSON);
    assert_int_equal(ajio_json_validate("[1]", 3, AJIO_JSONL, NULL), AJIO_ETORN);
    tu_assert_ok(ajio_json_validate("[1]", 3, AJIO_JSONL | AJIO_JSON_ALLOW_UNTERMINATED, NULL));
    assert_non_null(strstr(ajio_last_error(), "JSONL input"));
    assert_int_equal(ajio_json_validate("[1]", 3, AJIO_JSON, NULL), -EINVAL);

    tu_assert_ok(ajio_json_checker_new(&c, AJIO_JSONL, 0));
    tu_assert_ok(ajio_json_checker_feed(c, two, sizeof(two) - 1));
    tu_assert_ok(ajio_json_checker_finish(c));
    assert_int_equal(ajio_json_checker_count(c), 2);
    ajio_json_checker_free(c);
}

static void test_gen_lines_and_str(void **state)
{
    static const unsigned lines[] = {AJIO_JSONL, AJIO_GEN_LINES};
    static const char want[] = "{\"k\":\"v\",\"n\":null}\n\"x\"\n";

    for (size_t i = 0; i < 2; i++) {
        const char *p = tu_path(*state, i == 0 ? "a.jsonl" : "b.jsonl");
        ajio_gen_opts go = {.flags = lines[i]};
        ajio_file *f;
        ajio_gen *g;

        tu_assert_ok(ajio_gen_open(&f, &g, p, NULL, &go));
        ajio_gen_begin_object(g);
        ajio_gen_key_str(g, "k");
        ajio_gen_string_str(g, "v");
        ajio_gen_key_str(g, "n");
        ajio_gen_string_str(g, NULL);
        ajio_gen_end_object(g);
        ajio_gen_string_str(g, "x");
        tu_assert_ok(ajio_file_commit(f));
        tu_assert_content(p, want, sizeof(want) - 1);
    }

    /* A NULL key fails the document, where it happened; the target is not created. */
    const char *p = tu_path(*state, "c.json");
    ajio_file *f;
    ajio_gen *g;
    tu_assert_ok(ajio_gen_open(&f, &g, p, NULL, NULL));
    ajio_gen_begin_object(g);
    tu_assert_fails(ajio_gen_key_str(g, NULL), -EINVAL, "c.json");
    assert_non_null(strstr(ajio_last_error(), "key is NULL"));
    assert_int_equal(ajio_gen_key_str(g, "k"), -EINVAL); /* sticky */
    assert_int_equal(ajio_file_commit(f), -EINVAL);
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(ajio_gen_key_str(NULL, "k"), -EINVAL);
    assert_int_equal(ajio_gen_string_str(NULL, "k"), -EINVAL);
}

static void test_result_names(void **state)
{
    (void)state;
    assert_string_equal(ajio_err_name(0), "OK");
    assert_string_equal(ajio_err_name(AJIO_UNCHANGED), "AJIO_UNCHANGED");
    assert_string_equal(ajio_err_name(AJIO_REPAIRED), "AJIO_REPAIRED");
    assert_string_equal(ajio_err_name(AJIO_ENOTDURABLE), "AJIO_ENOTDURABLE");
    assert_string_equal(ajio_err_name(AJIO_EJSON), "AJIO_EJSON");
    assert_string_equal(ajio_err_name(AJIO_ETORN), "AJIO_ETORN");
    assert_string_equal(ajio_err_name(-ENOSPC), "ENOSPC");
    assert_true(strlen(ajio_strerror(AJIO_REPAIRED)) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_v02_handle), TU_TEST(test_v02_repair),        TU_TEST(test_v02_reader),
        TU_TEST(test_jsonl_flag), TU_TEST(test_gen_lines_and_str), TU_TEST(test_result_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_contract.c - the contract of every public function that can fail: it returns a negative
 * value and sets ajio_last_error() to a message that says which call or path failed; a call
 * that succeeds leaves the message as it was (include/ajio.h, "Errors").
 *
 * Each case runs after the message was set to a sentinel, so a call that fails without a message
 * of its own (the stale-message bug) is caught.
 */
#include "testutil.h"

#define SENTINEL "sentinel: not a message of the call under test"

static void reset(void)
{
    ajio_set_last_error(-EIO, SENTINEL);
    assert_string_equal(ajio_last_error(), SENTINEL);
}

/* r must be the expected failure, and the message new and naming what. */
#define FAILS(call, want, what)                                                                    \
    do {                                                                                           \
        reset();                                                                                   \
        int r_ = (call);                                                                           \
        if (r_ != (want))                                                                          \
            fail_msg("%s returned %d (%s), expected %d", #call, r_, ajio_err_name(r_), (want));    \
        if (strcmp(ajio_last_error(), SENTINEL) == 0)                                              \
            fail_msg("%s failed but left ajio_last_error() stale", #call);                         \
        if (strstr(ajio_last_error(), (what)) == NULL)                                             \
            fail_msg("%s: message \"%s\" does not name \"%s\"", #call, ajio_last_error(), (what)); \
    } while (0)

#define SUCCEEDS(call)                                                                             \
    do {                                                                                           \
        reset();                                                                                   \
        int r_ = (call);                                                                           \
        if (r_ < 0)                                                                                \
            fail_msg("%s returned %d: %s", #call, r_, ajio_last_error());                          \
        assert_string_equal(ajio_last_error(), SENTINEL);                                          \
    } while (0)

static void test_writes(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "f.json");
    ajio_opts bad = {.flags = 1u << 30};
    ajio_file *h = NULL;

    FAILS(ajio_write_bytes(NULL, "x", 1, NULL), -EINVAL, "path");
    FAILS(ajio_write_bytes(p, NULL, 1, NULL), -EINVAL, p);
    FAILS(ajio_write_bytes(p, "x", 1, &bad), -EINVAL, p);
    FAILS(ajio_write_text(p, NULL, NULL), -EINVAL, p);
    FAILS(ajio_write_json_text(p, "{", 1, NULL), AJIO_EJSON, p);
    FAILS(ajio_write_jsonl_text(p, "[\n", 2, NULL), AJIO_EJSON, p);
    FAILS(ajio_file_open(NULL, p, NULL), -EINVAL, "ajio_file_open");
    FAILS(ajio_file_open(&h, tu_path(dir, "missing/f"), &(ajio_opts){.flags = AJIO_NO_MKDIR}),
          -ENOENT, "missing");
    assert_null(h);
    FAILS(ajio_file_write(NULL, "x", 1), -EINVAL, "ajio_file_write");
    FAILS(ajio_file_printf(NULL, "x"), -EINVAL, "ajio_file_printf");
    FAILS(ajio_file_commit(NULL), -EINVAL, "ajio_file_commit");
    FAILS(ajio_sweep(NULL, NULL, 0, 0), -EINVAL, "ajio_sweep");
    FAILS(ajio_sweep(tu_path(dir, "nope"), NULL, 0, 0), -ENOENT, "nope");
    SUCCEEDS(ajio_write_bytes(p, "{}", 2, NULL));
    SUCCEEDS(ajio_write_json_text(p, "{}", 2, NULL));
    SUCCEEDS(ajio_sweep(dir, NULL, 0, 0));
    assert_int_equal(ajio_file_open(&h, p, NULL), 0);
    SUCCEEDS(ajio_file_write(h, "x", 1));
    SUCCEEDS(ajio_file_printf(h, "%d", 1));
    SUCCEEDS(ajio_file_commit(h));
}

static void test_validator(void **state)
{
    ajio_json_checker *c = NULL;
    ajio_json_error e;

    (void)state;
    FAILS(ajio_json_checker_new(NULL, 0, 0), -EINVAL, "ajio_json_checker_new");
    FAILS(ajio_json_checker_new(&c, 1u << 20, 0), -EINVAL, "flags");
    assert_null(c);
    FAILS(ajio_json_checker_feed(NULL, "1", 1), -EINVAL, "ajio_json_checker_feed");
    FAILS(ajio_json_checker_finish(NULL), -EINVAL, "ajio_json_checker_finish");
    FAILS(ajio_json_checker_error(NULL, &e), -EINVAL, "ajio_json_checker_error");
    FAILS(ajio_json_validate(NULL, 1, 0, &e), -EINVAL, "ajio_json_validate");
    FAILS(ajio_json_validate("[1,", 3, 0, &e), AJIO_EJSON, "JSON input:1:4: ");
    FAILS(ajio_json_validate("1\n2", 3, AJIO_JSON_LINES, &e), AJIO_ETORN, "JSONL input:2:");
    SUCCEEDS(ajio_json_validate("[1]", 3, 0, &e));
    SUCCEEDS(ajio_json_checker_new(&c, 0, 0));
    FAILS(ajio_json_checker_feed(c, "[1,}", 4), AJIO_EJSON, "JSON input:1:4: ");
    /* The sticky failure is reported again, with its message. */
    FAILS(ajio_json_checker_feed(c, "1", 1), AJIO_EJSON, "JSON input:1:4: ");
    FAILS(ajio_json_checker_finish(c), AJIO_EJSON, "JSON input:1:4: ");
    ajio_json_checker_free(c);
    SUCCEEDS(ajio_json_checker_new(&c, AJIO_JSON_LINES, 0));
    SUCCEEDS(ajio_json_checker_feed(c, "{}\n", 3));
    SUCCEEDS(ajio_json_checker_finish(c));
    FAILS(ajio_json_checker_feed(c, "1", 1), -EINVAL, "finished");
    ajio_json_checker_free(c);
}

/* The compile-time version numbers agree with the string and with the library linked. */
static void test_version(void **state)
{
    char want[32];

    (void)state;
    snprintf(want, sizeof(want), "%d.%d.%d", AJIO_VERSION_MAJOR, AJIO_VERSION_MINOR,
             AJIO_VERSION_PATCH);
    assert_string_equal(want, AJIO_VERSION_STRING);
    assert_string_equal(ajio_version(), AJIO_VERSION_STRING);
    assert_int_equal(AJIO_VERSION_NUMBER,
                     AJIO_VERSION_MAJOR * 10000 + AJIO_VERSION_MINOR * 100 + AJIO_VERSION_PATCH);
    assert_int_equal(AJIO_VERSION_HEX >> 16, AJIO_VERSION_MAJOR);
    assert_int_equal((AJIO_VERSION_HEX >> 8) & 0xff, AJIO_VERSION_MINOR);
    assert_int_equal(AJIO_VERSION_HEX & 0xff, AJIO_VERSION_PATCH);
    /* The positive results have names too. */
    assert_string_equal(ajio_err_name(AJIO_UNCHANGED), "AJIO_UNCHANGED");
    assert_string_equal(ajio_err_name(AJIO_REPAIRED), "AJIO_REPAIRED");
    assert_non_null(strstr(ajio_strerror(AJIO_REPAIRED), "repaired"));
#if AJIO_VERSION_NUMBER < 200
    fail_msg("AJIO_VERSION_NUMBER is not usable in #if");
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writes, tu_setup, tu_teardown),
        cmocka_unit_test(test_validator),
        cmocka_unit_test(test_version),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

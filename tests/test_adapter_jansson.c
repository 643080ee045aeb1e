/*
 * test_adapter_jansson.c - include/ajio/jansson.h: exact bytes against golden files, refusals
 * that leave the target untouched, JSONL from arrays and from a callback, a large round trip.
 */
#include "testutil.h"

#include <ajio/jansson.h>

#define CASES "tests/cases/adapters/"

static const char old_text[] = "old content\n";

/* The file at p holds exactly the string literal lit. */
#define assert_file(p, lit) tu_assert_content(p, lit, sizeof(lit) - 1)

/* The file at p holds exactly the golden file's bytes. */
static void assert_same_as(const char *p, const char *golden)
{
    size_t glen = 0, len = 0;
    char *want = tu_read(golden, &glen);
    char *got = tu_read(p, &len);

    assert_non_null(want);
    assert_non_null(got);
    if (len != glen || memcmp(want, got, len) != 0)
        fail_msg("%s differs from %s:\n--- got\n%s\n--- want\n%s", p, golden, got, want);
    free(want);
    free(got);
}

static void assert_untouched(const char *dir, const char *p, int entries)
{
    tu_assert_content(p, old_text, strlen(old_text));
    assert_int_equal(tu_count_temps(dir), 0);
    assert_int_equal(tu_count_entries(dir), entries);
}

static json_t *load(const char *path)
{
    json_error_t je;
    json_t *v = json_load_file(path, 0, &je);
    if (v == NULL)
        fail_msg("%s: %s", path, je.text);
    return v;
}

static void test_golden(void **state)
{
    static const char *const names[] = {"mixed", "unicode", "escapes", "numbers"};
    const char *p = tu_path(*state, "out.json");

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char in[256], want[256];
        json_t *v;

        snprintf(in, sizeof(in), CASES "input/%s.json", names[i]);
        v = load(in);
        tu_assert_ok(ajio_write_json(p, v, 0, NULL));
        snprintf(want, sizeof(want), CASES "jansson/%s.json", names[i]);
        assert_same_as(p, want);
        if (json_is_array(v)) {
            tu_assert_ok(ajio_write_jsonl(p, v, NULL));
            snprintf(want, sizeof(want), CASES "jansson/%s.jsonl", names[i]);
            assert_same_as(p, want);
        }
        json_decref(v);
    }
}

static void test_layout_flags(void **state)
{
    const char *p = tu_path(*state, "out.json");
    json_t *v = json_pack("{s:i,s:[b,n]}", "a", 1, "b", 1);

    /* dump_flags are jansson's own; JSON_ENCODE_ANY alone is jansson's flags-0 layout. */
    tu_assert_ok(ajio_write_json(p, v, JSON_COMPACT, NULL));
    assert_file(p, "{\"a\":1,\"b\":[true,null]}\n");
    tu_assert_ok(ajio_write_json(p, v, JSON_ENCODE_ANY, NULL));
    assert_file(p, "{\"a\": 1, \"b\": [true, null]}\n");
    tu_assert_ok(ajio_write_json(p, v, JSON_INDENT(4) | JSON_SORT_KEYS, NULL));
    assert_file(p, "{\n    \"a\": 1,\n    \"b\": [\n        true,\n        null\n    ]\n}\n");
    /* The validation bit changes nothing in valid output. */
    tu_assert_ok(ajio_write_json(p, v, JSON_COMPACT | AJIO_JANSSON_VALIDATE, NULL));
    assert_file(p, "{\"a\":1,\"b\":[true,null]}\n");
    json_decref(v);
    /* A scalar root is a JSON text too. */
    v = json_string("x");
    tu_assert_ok(ajio_write_json(p, v, 0, NULL));
    assert_file(p, "\"x\"\n");
    json_decref(v);
}

/* The examples of the project's introduction, as C code. */
static void test_seed_examples(void **state)
{
    const char *dir = *state;
    json_t *config = json_object();
    json_t *events = json_array();

    json_object_set_new(config, "name", json_string("demo"));
    json_object_set_new(config, "debug", json_true());
    json_object_set_new(config, "port", json_integer(8080));
    tu_assert_ok(ajio_write_json(tu_path(dir, "config.json"), config, 0, NULL));
    assert_same_as(tu_path(dir, "config.json"), CASES "seed/config.json");

    tu_assert_ok(ajio_write_text(tu_path(dir, "notes.md"), "# Notes\n\nWritten atomically.", NULL));
    assert_same_as(tu_path(dir, "notes.md"), CASES "seed/notes.md");

    json_array_append_new(events, json_pack("{s:s,s:i}", "event", "start", "id", 1));
    json_array_append_new(events,
                          json_pack("{s:s,s:i,s:[s,s]}", "event", "tick", "id", 2, "tags", "a", "b"));
    json_array_append_new(events, json_pack("{s:s,s:i,s:b}", "event", "stop", "id", 3, "ok", 1));
    tu_assert_ok(ajio_write_jsonl(tu_path(dir, "events.jsonl"), events, NULL));
    assert_same_as(tu_path(dir, "events.jsonl"), CASES "seed/events.jsonl");
    assert_int_equal(tu_count_entries(dir), 3);
    json_decref(config);
    json_decref(events);
}

static void test_invalid_utf8_refused(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "t.json");
    /* Only the *_nocheck constructors can put invalid UTF-8 in a tree. In a string value
     * jansson's printer refuses it, and so must the write. */
    json_t *v = json_pack("{s:o}", "k", json_string_nocheck("bad \xff byte"));
    json_t *key = json_object();

    tu_put(p, old_text, 0644);
    tu_assert_fails(ajio_write_json(p, v, 0, NULL), AJIO_EJSON, p);
    assert_non_null(strstr(ajio_last_error(), "jansson could not encode"));
    assert_untouched(dir, p, 1);
    /* In a key jansson prints it unchecked: AJIO_JANSSON_VALIDATE is what catches it, and the
     * checker's position and reason are in the message. */
    json_object_set_new_nocheck(key, "\xc3\x28", json_true());
    tu_assert_fails(ajio_write_json(p, key, AJIO_JANSSON_VALIDATE, NULL), AJIO_EJSON, p);
    assert_non_null(strstr(ajio_last_error(), "t.json:2:10: output would not be valid JSON"));
    assert_untouched(dir, p, 1);
    json_decref(v);
    json_decref(key);
}

static void test_reference_cycle_refused(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "t.json");
    json_t *a = json_array();

    tu_put(p, old_text, 0644);
    /* json_array_append refuses a == a itself, but a cycle through a child is possible. */
    json_t *b = json_array();
    json_array_append(a, b);
    json_array_append(b, a);
    tu_assert_fails(ajio_write_json(p, a, 0, NULL), AJIO_EJSON, p);
    assert_untouched(dir, p, 1);
    json_array_clear(b); /* break the cycle so that both can be freed */
    json_decref(b);
    json_decref(a);
}

static void test_jsonl_edges(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "e.jsonl");
    json_t *empty = json_array();
    json_t *obj = json_object();
    struct stat st;

    tu_put(p, old_text, 0644);
    tu_assert_ok(ajio_write_jsonl(p, empty, NULL));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 0);

    tu_put(p, old_text, 0644);
    tu_assert_fails(ajio_write_jsonl(p, obj, NULL), -EINVAL, p);
    tu_assert_fails(ajio_write_jsonl(p, NULL, NULL), -EINVAL, p);
    assert_untouched(dir, p, 1);
    /* Not-an-array creates nothing, not even the parent directory. */
    tu_assert_fails(ajio_write_jsonl(tu_path(dir, "sub/x.jsonl"), obj, NULL), -EINVAL, "sub");
    tu_assert_fails(ajio_write_json(tu_path(dir, "sub/x.json"), NULL, 0, NULL), -EINVAL, "sub");
    assert_int_equal(tu_count_entries(dir), 1);
    json_decref(empty);
    json_decref(obj);
}

struct gen {
    int n;    /* values produced so far */
    int stop; /* produce this many, then end */
    int fail; /* if > 0: fail with -EIO when asked for value number fail */
};

static json_t *next_value(void *ctx, int *ret_err)
{
    struct gen *g = ctx;

    assert_int_equal(*ret_err, 0);
    if (g->fail > 0 && g->n == g->fail) {
        *ret_err = -EIO;
        return NULL;
    }
    if (g->n == g->stop)
        return NULL;
    g->n++;
    return json_pack("{s:i}", "n", g->n);
}

static void test_jsonl_callback(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "cb.jsonl");
    struct gen ok = {0, 3, 0}, bad = {0, 1000, 2}, none = {0, 0, 0};
    struct stat st;

    tu_put(p, old_text, 0644);
    /* Negative control of the failure case below: the same stream without the error is
     * written, so "untouched" there is the error's doing. */
    tu_assert_ok(ajio_write_jsonl_cb(p, next_value, &ok, NULL));
    assert_file(p, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");

    tu_put(p, old_text, 0644);
    tu_assert_fails(ajio_write_jsonl_cb(p, next_value, &bad, NULL), -EIO, p);
    assert_non_null(strstr(ajio_last_error(), "callback"));
    assert_int_equal(bad.n, 2); /* it stopped at the failure */
    assert_untouched(dir, p, 1);

    tu_assert_ok(ajio_write_jsonl_cb(p, next_value, &none, NULL));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 0);
    tu_assert_fails(ajio_write_jsonl_cb(p, NULL, NULL, NULL), -EINVAL, p);
}

static void test_large_round_trip(void **state)
{
    const char *p = tu_path(*state, "big.json");
    json_t *v = json_array();
    json_t *back;
    json_error_t je;
    struct stat st;

    for (int i = 0; i < 40000; i++)
        json_array_append_new(v, json_pack("{s:i,s:s,s:f,s:[b,n]}", "id", i, "name",
                                           "caf\xc3\xa9 \"quoted\" \\ \n line", "x", i * 0.25,
                                           "flags", i & 1));
    tu_assert_ok(ajio_write_json(p, v, 0, NULL));
    assert_int_equal(stat(p, &st), 0);
    assert_true(st.st_size > 4 * 1000 * 1000); /* several staging chunks */
    back = json_load_file(p, 0, &je);
    assert_non_null(back);
    assert_true(json_equal(v, back));
    json_decref(back);
    /* The same as JSONL, read back line by line. */
    tu_assert_ok(ajio_write_jsonl(p, v, NULL));
    back = json_load_file(p, JSON_DISABLE_EOF_CHECK, &je);
    assert_non_null(back);
    assert_true(json_equal(json_array_get(v, 0), back));
    json_decref(back);
    json_decref(v);
}

static void test_options_and_errors(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "o.json");
    json_t *v = json_pack("[i]", 1);
    ajio_opts skip = {.flags = AJIO_SKIP_UNCHANGED};
    ajio_opts create = {.flags = AJIO_CREATE_ONLY};
    int fds = tu_fd_count();

    tu_assert_ok(ajio_write_json(p, v, 0, NULL));
    assert_int_equal(ajio_write_json(p, v, 0, &skip), AJIO_UNCHANGED);
    tu_assert_fails(ajio_write_json(p, v, 0, &create), -EEXIST, p);
    /* A directory in the way: the library's own error comes through unchanged. */
    assert_int_equal(mkdir(tu_path(dir, "d"), 0755), 0);
    tu_assert_fails(ajio_write_json(tu_path(dir, "d"), v, 0, NULL), -EISDIR, "d");
    assert_int_equal(tu_fd_count(), fds);
    assert_int_equal(tu_count_temps(dir), 0);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_golden, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_layout_flags, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_seed_examples, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_refused, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_reference_cycle_refused, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_jsonl_edges, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_jsonl_callback, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_large_round_trip, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_options_and_errors, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

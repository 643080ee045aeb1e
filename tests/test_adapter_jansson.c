/*
 * test_adapter_jansson.c - include/ajio/jansson.h: exact bytes against golden files, refusals
 * that leave the target untouched, JSONL from arrays and from a callback, a large round trip.
 */
#include "adapter_util.h"

#include <ajio/jansson.h>

static void *load(const char *path)
{
    json_error_t je;
    json_t *v = json_load_file(path, 0, &je);
    if (v == NULL)
        fail_msg("%s: %s", path, je.text);
    return v;
}

static int write_value(const char *path, void *v, int jsonl, int compact, const ajio_opts *opts)
{
    if (jsonl)
        return ajio_write_jsonl(path, v, opts);
    return ajio_write_json(path, v, compact ? JSON_COMPACT : 0, opts);
}

static json_t *next_value(void *ctx, int *ret_err)
{
    int n;

    assert_int_equal(*ret_err, 0);
    n = au_gen_next(ctx);
    if (n <= 0) {
        *ret_err = n;
        return NULL;
    }
    return json_pack("{s:i}", "n", n);
}

static int write_cb(const char *path, struct au_gen *g)
{
    return ajio_write_jsonl_cb(path, g != NULL ? next_value : NULL, g, NULL);
}

static int is_array(void *v)
{
    return json_is_array((json_t *)v);
}

static int equal(void *a, void *b)
{
    return json_equal(a, b);
}

static void release(void *v)
{
    json_decref(v);
}

static const struct au_adapter jansson = {
    .golden = "jansson", .like_jansson = 0, .load = load, .write = write_value,
    .write_cb = write_cb, .is_array = is_array, .equal = equal, .release = release,
};

static void test_golden(void **state)
{
    au_check_golden(&jansson, *state);
}

static void test_layout_flags(void **state)
{
    const char *p = tu_path(*state, "out.json");
    json_t *v = json_pack("{s:i,s:[b,n]}", "a", 1, "b", 1);

    /* dump_flags are jansson's own; JSON_ENCODE_ANY alone is jansson's flags-0 layout. */
    tu_assert_ok(ajio_write_json(p, v, JSON_COMPACT, NULL));
    au_assert_file(p, "{\"a\":1,\"b\":[true,null]}\n");
    tu_assert_ok(ajio_write_json(p, v, JSON_ENCODE_ANY, NULL));
    au_assert_file(p, "{\"a\": 1, \"b\": [true, null]}\n");
    tu_assert_ok(ajio_write_json(p, v, JSON_INDENT(4) | JSON_SORT_KEYS, NULL));
    au_assert_file(p, "{\n    \"a\": 1,\n    \"b\": [\n        true,\n        null\n    ]\n}\n");
    /* The validation bit changes nothing in valid output. */
    tu_assert_ok(ajio_write_json(p, v, JSON_COMPACT | AJIO_JANSSON_VALIDATE, NULL));
    au_assert_file(p, "{\"a\":1,\"b\":[true,null]}\n");
    json_decref(v);
    /* A scalar root is a JSON text too. */
    v = json_string("x");
    tu_assert_ok(ajio_write_json(p, v, 0, NULL));
    au_assert_file(p, "\"x\"\n");
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
    au_assert_same_as(tu_path(dir, "config.json"), AU_CASES "seed/config.json");

    tu_assert_ok(ajio_write_text(tu_path(dir, "notes.md"), "# Notes\n\nWritten atomically.", NULL));
    au_assert_same_as(tu_path(dir, "notes.md"), AU_CASES "seed/notes.md");

    json_array_append_new(events, json_pack("{s:s,s:i}", "event", "start", "id", 1));
    json_array_append_new(events,
                          json_pack("{s:s,s:i,s:[s,s]}", "event", "tick", "id", 2, "tags", "a", "b"));
    json_array_append_new(events, json_pack("{s:s,s:i,s:b}", "event", "stop", "id", 3, "ok", 1));
    tu_assert_ok(ajio_write_jsonl(tu_path(dir, "events.jsonl"), events, NULL));
    au_assert_same_as(tu_path(dir, "events.jsonl"), AU_CASES "seed/events.jsonl");
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

    tu_put(p, AU_OLD_TEXT, 0644);
    tu_assert_fails(ajio_write_json(p, v, 0, NULL), AJIO_EJSON, p);
    au_assert_message_has("jansson could not encode");
    au_assert_untouched(dir, p, AU_OLD_TEXT, 1);
    /* In a key jansson prints it unchecked: AJIO_JANSSON_VALIDATE is what catches it, and the
     * checker's position and reason are in the message. */
    json_object_set_new_nocheck(key, "\xc3\x28", json_true());
    tu_assert_fails(ajio_write_json(p, key, AJIO_JANSSON_VALIDATE, NULL), AJIO_EJSON, p);
    au_assert_message_has("t.json:2:10: output would not be valid JSON");
    au_assert_untouched(dir, p, AU_OLD_TEXT, 1);
    json_decref(v);
    json_decref(key);
}

static void test_reference_cycle_refused(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "t.json");
    json_t *a = json_array();

    tu_put(p, AU_OLD_TEXT, 0644);
    /* json_array_append refuses a == a itself, but a cycle through a child is possible. */
    json_t *b = json_array();
    json_array_append(a, b);
    json_array_append(b, a);
    tu_assert_fails(ajio_write_json(p, a, 0, NULL), AJIO_EJSON, p);
    au_assert_untouched(dir, p, AU_OLD_TEXT, 1);
    json_array_clear(b); /* break the cycle so that both can be freed */
    json_decref(b);
    json_decref(a);
}

static void test_jsonl_edges(void **state)
{
    const char *dir = *state;
    json_t *empty = json_array();
    json_t *obj = json_object();

    au_check_jsonl_edges(&jansson, dir, empty, obj);
    /* A NULL value is refused before anything is created, as for JSONL. */
    tu_assert_fails(ajio_write_json(tu_path(dir, "sub/x.json"), NULL, 0, NULL), -EINVAL, "sub");
    assert_int_equal(tu_count_entries(dir), 1);
    json_decref(empty);
    json_decref(obj);
}

static void test_jsonl_callback(void **state)
{
    const char *p = tu_path(*state, "cb.jsonl");
    struct au_gen none = {0, 0, 0};

    au_check_jsonl_callback(&jansson, *state, 3, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
    /* No value at all: an empty file. */
    tu_assert_ok(ajio_write_jsonl_cb(p, next_value, &none, NULL));
    assert_int_equal(au_file_size(p), 0);
}

static void test_large_round_trip(void **state)
{
    const char *p = tu_path(*state, "big.json");
    json_t *v = json_array();
    json_t *back;
    json_error_t je;

    for (int i = 0; i < 40000; i++)
        json_array_append_new(v, json_pack("{s:i,s:s,s:f,s:[b,n]}", "id", i, "name",
                                           "caf\xc3\xa9 \"quoted\" \\ \n line", "x", i * 0.25,
                                           "flags", i & 1));
    au_check_round_trip(&jansson, p, v);
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
        AU_TEST(test_golden),
        AU_TEST(test_layout_flags),
        AU_TEST(test_seed_examples),
        AU_TEST(test_invalid_utf8_refused),
        AU_TEST(test_reference_cycle_refused),
        AU_TEST(test_jsonl_edges),
        AU_TEST(test_jsonl_callback),
        AU_TEST(test_large_round_trip),
        AU_TEST(test_options_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_adapter_jsonc.c - include/ajio/json-c.h: exact bytes against golden files, numbers as json-c
 * prints them, refusal of NaN, infinities and invalid UTF-8 with the target untouched, JSONL from
 * arrays and from a callback, a large round trip.
 */
#include "adapter_util.h"

#include <ajio/json-c.h>

static void *load(const char *path)
{
    struct json_object *v = json_object_from_file(path);
    if (v == NULL)
        fail_msg("%s: %s", path, json_util_get_last_err());
    return v;
}

static int write_value(const char *path, void *v, int jsonl, int compact, const ajio_opts *opts)
{
    if (jsonl)
        return ajio_jsonc_write_lines(path, v, 0, opts);
    return ajio_jsonc_write(path, v, compact ? AJIO_JSONC_COMPACT : 0, opts);
}

static int next_value(void *ctx, struct json_object **ret_value)
{
    int n = au_gen_next(ctx);

    if (n <= 0)
        return n;
    /* Every third line is a null: NULL is a value here, not the end. */
    *ret_value = n % 3 == 0 ? NULL : json_object_new_int(n);
    return 1;
}

static int write_cb(const char *path, struct au_gen *g)
{
    return ajio_jsonc_write_lines_cb(path, g != NULL ? next_value : NULL, g, 0, NULL);
}

static int is_array(void *v)
{
    return json_object_is_type(v, json_type_array);
}

static int equal(void *a, void *b)
{
    return json_object_equal(a, b);
}

static void release(void *v)
{
    json_object_put(v);
}

static const struct au_adapter jsonc = {
    .golden = "jsonc", .like_jansson = 1, .load = load, .write = write_value,
    .write_cb = write_cb, .is_array = is_array, .equal = equal, .release = release,
};

static void test_golden(void **state)
{
    au_check_golden(&jsonc, *state);
}

static void test_numbers_as_jsonc_prints_them(void **state)
{
    const char *p = tu_path(*state, "n.json");
    struct json_object *a = json_object_new_array();

    /* Built in code (no parsed text): json-c's own "%.17g" plus ".0" for integral doubles,
     * 64-bit integers, and unsigned ones above INT64_MAX. */
    json_object_array_add(a, json_object_new_double(3.0));
    json_object_array_add(a, json_object_new_double(0.1));
    json_object_array_add(a, json_object_new_double(-2.5e-300));
    json_object_array_add(a, json_object_new_int64(INT64_MIN));
    json_object_array_add(a, json_object_new_uint64(UINT64_MAX));
    json_object_array_add(a, json_object_new_double_s(1.10, "1.10"));
    tu_assert_ok(ajio_jsonc_write(p, a, AJIO_JSONC_COMPACT, NULL));
    au_assert_file(p, "[3.0,0.10000000000000001,-2.5e-300,-9223372036854775808,"
                   "18446744073709551615,1.10]\n");
    /* The same numbers json-c's own printer gives. */
    {
        const char *own = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
        size_t len = 0;
        char *got = tu_read(p, &len);
        assert_int_equal(len, strlen(own) + 1);
        assert_memory_equal(got, own, strlen(own));
        free(got);
    }
    json_object_put(a);
}

static void test_seed_examples(void **state)
{
    const char *dir = *state;
    struct json_object *config = json_object_new_object();
    struct json_object *events = json_object_new_array();
    struct json_object *e;

    json_object_object_add(config, "name", json_object_new_string("demo"));
    json_object_object_add(config, "debug", json_object_new_boolean(1));
    json_object_object_add(config, "port", json_object_new_int(8080));
    tu_assert_ok(ajio_jsonc_write(tu_path(dir, "config.json"), config, 0, NULL));
    au_assert_same_as(tu_path(dir, "config.json"), AU_CASES "seed/config.json");

    e = json_object_new_object();
    json_object_object_add(e, "event", json_object_new_string("start"));
    json_object_object_add(e, "id", json_object_new_int(1));
    json_object_array_add(events, e);
    e = json_tokener_parse("{\"event\":\"tick\",\"id\":2,\"tags\":[\"a\",\"b\"]}");
    json_object_array_add(events, e);
    e = json_tokener_parse("{\"event\":\"stop\",\"id\":3,\"ok\":true}");
    json_object_array_add(events, e);
    tu_assert_ok(ajio_jsonc_write_lines(tu_path(dir, "events.jsonl"), events, 0, NULL));
    au_assert_same_as(tu_path(dir, "events.jsonl"), AU_CASES "seed/events.jsonl");
    json_object_put(config);
    json_object_put(events);
}

static void test_non_finite_refused(void **state)
{
    const char *dir = *state;
    struct json_object *obj = json_object_new_object();
    struct json_object *arr = json_object_new_array();
    struct json_object *finite = json_object_new_object();

    /* Negative control: the same shape with a finite double is written. */
    json_object_object_add(finite, "x", json_object_new_double(1.5));
    tu_assert_ok(ajio_jsonc_write(tu_path(dir, "t.json"), finite, 0, NULL));
    au_assert_file(tu_path(dir, "t.json"), "{\n  \"x\": 1.5\n}\n");

    json_object_object_add(obj, "ok", json_object_new_int(1));
    json_object_object_add(obj, "x", json_object_new_double(NAN));
    au_assert_refused(&jsonc, dir, obj, 0, "NaN cannot be written as JSON (at .x)");
    json_object_array_add(arr, json_object_new_int(2));
    json_object_array_add(arr, json_object_new_double(INFINITY));
    au_assert_refused(&jsonc, dir, arr, 1, "Infinity cannot be written as JSON (at line 2: .)");
    json_object_array_put_idx(arr, 1, json_object_new_double(-INFINITY));
    au_assert_refused(&jsonc, dir, arr, 0, "-Infinity cannot be written as JSON (at .[1])");
    /* json-c's lenient parser makes NaN from text; it is refused the same way. */
    json_object_put(arr);
    arr = json_tokener_parse("[1, NaN]");
    assert_non_null(arr);
    au_assert_refused(&jsonc, dir, arr, 1, "NaN cannot be written as JSON (at line 2: .)");
    json_object_put(obj);
    json_object_put(arr);
    json_object_put(finite);
}

static void test_invalid_utf8_refused(void **state)
{
    const char *dir = *state;
    struct json_object *v = json_object_new_array();
    struct json_object *k = json_object_new_object();

    json_object_array_add(v, json_object_new_string("fine"));
    json_object_array_add(v, json_object_new_string("bad \xff byte"));
    au_assert_refused(&jsonc, dir, v, 0, "a string is not valid UTF-8 (byte 0xFF at offset 4)"
                                         " (at .[1])");
    au_assert_refused(&jsonc, dir, v, 1, "a string is not valid UTF-8 (byte 0xFF at offset 4)"
                                         " (at line 2: .)");
    json_object_array_put_idx(v, 1, json_object_new_string("\xed\xa0\x80"));
    au_assert_refused(&jsonc, dir, v, 0, "a string is not valid UTF-8 (byte 0xED at offset 0)"
                                         " (at .[1])");
    json_object_object_add(k, "caf\xe9", json_object_new_boolean(1));
    au_assert_refused(&jsonc, dir, k, 0, "an object key is not valid UTF-8 (byte 0xE9 at offset 3)"
                                         " (at .)");
    json_object_put(v);
    json_object_put(k);
}

static void test_nul_and_null(void **state)
{
    const char *p = tu_path(*state, "n.json");
    struct json_object *a = json_object_new_array();

    /* json-c strings carry a length: an embedded NUL is written escaped, not cut. */
    json_object_array_add(a, json_object_new_string_len("a\0b", 3));
    json_object_array_add(a, NULL); /* NULL is json-c's null */
    tu_assert_ok(ajio_jsonc_write(p, a, AJIO_JSONC_COMPACT, NULL));
    au_assert_file(p, "[\"a\\u0000b\",null]\n");
    tu_assert_ok(ajio_jsonc_write(p, NULL, 0, NULL));
    au_assert_file(p, "null\n");
    json_object_put(a);
}

static void test_jsonl_edges(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "e.jsonl");
    struct json_object *empty = json_object_new_array();
    struct json_object *obj = json_object_new_object();

    au_check_jsonl_edges(&jsonc, dir, empty, obj);
    /* layout takes AJIO_JSONC_COMPACT only. */
    tu_assert_fails(ajio_jsonc_write(p, obj, 2, NULL), -EINVAL, p);
    au_assert_untouched(dir, p, AU_OLD_TEXT, 1);
    json_object_put(empty);
    json_object_put(obj);
}

static void test_jsonl_callback(void **state)
{
    au_check_jsonl_callback(&jsonc, *state, 4, "1\n2\nnull\n4\n");
}

static void test_large_round_trip(void **state)
{
    const char *p = tu_path(*state, "big.json");
    struct json_object *v = json_object_new_array();

    for (int i = 0; i < 40000; i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int(i));
        json_object_object_add(o, "name",
                               json_object_new_string("caf\xc3\xa9 \"quoted\" \\ \n\x01 line"));
        json_object_object_add(o, "x", json_object_new_double(i * 0.25));
        json_object_object_add(o, "flags", json_object_new_boolean(i & 1));
        json_object_array_add(v, o);
    }
    au_check_round_trip(&jsonc, p, v);
    json_object_put(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_golden),
        TU_TEST(test_numbers_as_jsonc_prints_them),
        TU_TEST(test_seed_examples),
        TU_TEST(test_non_finite_refused),
        TU_TEST(test_invalid_utf8_refused),
        TU_TEST(test_nul_and_null),
        TU_TEST(test_jsonl_edges),
        TU_TEST(test_jsonl_callback),
        TU_TEST(test_large_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

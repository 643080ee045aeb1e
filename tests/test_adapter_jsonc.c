/*
 * test_adapter_jsonc.c - include/ajio/json-c.h: exact bytes against golden files, numbers as json-c
 * prints them, refusal of NaN, infinities and invalid UTF-8 with the target untouched, JSONL from
 * arrays and from a callback, a large round trip.
 */
#include "testutil.h"

#include <ajio/json-c.h>

#define CASES "tests/cases/adapters/"

static const char old_text[] = "old content\n";

/* The file at p holds exactly the string literal lit. */
#define assert_file(p, lit) tu_assert_content(p, lit, sizeof(lit) - 1)

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

static struct json_object *load(const char *path)
{
    struct json_object *v = json_object_from_file(path);
    if (v == NULL)
        fail_msg("%s: %s", path, json_util_get_last_err());
    return v;
}

static void test_golden(void **state)
{
    static const char *const names[] = {"mixed", "unicode", "escapes", "numbers"};
    const char *p = tu_path(*state, "out.json");

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char in[256], want[256];
        struct json_object *v;

        snprintf(in, sizeof(in), CASES "input/%s.json", names[i]);
        v = load(in);
        tu_assert_ok(ajio_write_jsonc(p, v, 0, NULL));
        snprintf(want, sizeof(want), CASES "jsonc/%s.json", names[i]);
        assert_same_as(p, want);
        /* Outside numbers, the layout is the jansson adapter's, byte for byte. */
        if (strcmp(names[i], "numbers") != 0) {
            snprintf(want, sizeof(want), CASES "jansson/%s.json", names[i]);
            assert_same_as(p, want);
        }
        if (json_object_is_type(v, json_type_array)) {
            tu_assert_ok(ajio_write_jsoncl(p, v, NULL));
            snprintf(want, sizeof(want), CASES "jsonc/%s.jsonl", names[i]);
            assert_same_as(p, want);
        }
        json_object_put(v);
    }
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
    tu_assert_ok(ajio_write_jsonc(p, a, AJIO_JSONC_COMPACT, NULL));
    assert_file(p, "[3.0,0.10000000000000001,-2.5e-300,-9223372036854775808,"
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
    tu_assert_ok(ajio_write_jsonc(tu_path(dir, "config.json"), config, 0, NULL));
    assert_same_as(tu_path(dir, "config.json"), CASES "seed/config.json");

    e = json_object_new_object();
    json_object_object_add(e, "event", json_object_new_string("start"));
    json_object_object_add(e, "id", json_object_new_int(1));
    json_object_array_add(events, e);
    e = json_tokener_parse("{\"event\":\"tick\",\"id\":2,\"tags\":[\"a\",\"b\"]}");
    json_object_array_add(events, e);
    e = json_tokener_parse("{\"event\":\"stop\",\"id\":3,\"ok\":true}");
    json_object_array_add(events, e);
    tu_assert_ok(ajio_write_jsoncl(tu_path(dir, "events.jsonl"), events, NULL));
    assert_same_as(tu_path(dir, "events.jsonl"), CASES "seed/events.jsonl");
    json_object_put(config);
    json_object_put(events);
}

static void assert_refused(const char *dir, struct json_object *v, int jsonl, const char *reason)
{
    const char *p = tu_path(dir, "t.json");
    const char *fresh = tu_path(dir, "new/t.json");
    const ajio_opts named = {.flags = AJIO_NO_TMPFILE};
    int entries;

    tu_put(p, old_text, 0644);
    entries = tu_count_entries(dir);
    tu_assert_fails(jsonl ? ajio_write_jsoncl(p, v, NULL) : ajio_write_jsonc(p, v, 0, NULL),
                    AJIO_EJSON, p);
    if (strstr(ajio_last_error(), reason) == NULL)
        fail_msg("message \"%s\" does not say \"%s\"", ajio_last_error(), reason);
    assert_untouched(dir, p, entries);
    /* With a named temp (visible in the directory while writing), the abort must remove it. */
    tu_assert_fails(jsonl ? ajio_write_jsoncl(p, v, &named) : ajio_write_jsonc(p, v, 0, &named), AJIO_EJSON, p);
    assert_untouched(dir, p, entries);
    tu_assert_fails(jsonl ? ajio_write_jsoncl(fresh, v, NULL)
                          : ajio_write_jsonc(fresh, v, AJIO_JSONC_COMPACT, NULL),
                    AJIO_EJSON, "t.json");
    assert_int_equal(access(fresh, F_OK), -1);
    assert_int_equal(tu_count_temps(tu_path(dir, "new")), 0);
}

static void test_non_finite_refused(void **state)
{
    const char *dir = *state;
    struct json_object *obj = json_object_new_object();
    struct json_object *arr = json_object_new_array();
    struct json_object *finite = json_object_new_object();

    /* Negative control: the same shape with a finite double is written. */
    json_object_object_add(finite, "x", json_object_new_double(1.5));
    tu_assert_ok(ajio_write_jsonc(tu_path(dir, "t.json"), finite, 0, NULL));
    assert_file(tu_path(dir, "t.json"), "{\n  \"x\": 1.5\n}\n");

    json_object_object_add(obj, "ok", json_object_new_int(1));
    json_object_object_add(obj, "x", json_object_new_double(NAN));
    assert_refused(dir, obj, 0, "NaN cannot be written as JSON (at member \"x\")");
    json_object_array_add(arr, json_object_new_int(2));
    json_object_array_add(arr, json_object_new_double(INFINITY));
    assert_refused(dir, arr, 1, "Infinity cannot be written as JSON");
    json_object_array_put_idx(arr, 1, json_object_new_double(-INFINITY));
    assert_refused(dir, arr, 0, "-Infinity cannot be written as JSON");
    /* json-c's lenient parser makes NaN from text; it is refused the same way. */
    json_object_put(arr);
    arr = json_tokener_parse("[1, NaN]");
    assert_non_null(arr);
    assert_refused(dir, arr, 1, "NaN cannot be written as JSON");
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
    assert_refused(dir, v, 0, "output would not be valid JSON");
    assert_refused(dir, v, 1, "output would not be valid JSON");
    json_object_array_put_idx(v, 1, json_object_new_string("\xed\xa0\x80"));
    assert_refused(dir, v, 0, "output would not be valid JSON");
    json_object_object_add(k, "caf\xe9", json_object_new_boolean(1));
    assert_refused(dir, k, 0, "output would not be valid JSON");
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
    tu_assert_ok(ajio_write_jsonc(p, a, AJIO_JSONC_COMPACT, NULL));
    assert_file(p, "[\"a\\u0000b\",null]\n");
    tu_assert_ok(ajio_write_jsonc(p, NULL, 0, NULL));
    assert_file(p, "null\n");
    json_object_put(a);
}

static void test_jsonl_edges(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "e.jsonl");
    struct json_object *empty = json_object_new_array();
    struct json_object *obj = json_object_new_object();
    struct stat st;

    tu_put(p, old_text, 0644);
    tu_assert_ok(ajio_write_jsoncl(p, empty, NULL));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 0);

    tu_put(p, old_text, 0644);
    tu_assert_fails(ajio_write_jsoncl(p, obj, NULL), -EINVAL, p);
    tu_assert_fails(ajio_write_jsoncl(p, NULL, NULL), -EINVAL, p);
    tu_assert_fails(ajio_write_jsonc(p, obj, 2, NULL), -EINVAL, p);
    assert_untouched(dir, p, 1);
    tu_assert_fails(ajio_write_jsoncl(tu_path(dir, "sub/x.jsonl"), obj, NULL), -EINVAL, "sub");
    assert_int_equal(tu_count_entries(dir), 1);
    json_object_put(empty);
    json_object_put(obj);
}

struct gen {
    int n, stop, fail;
};

static int next_value(void *ctx, struct json_object **ret_value)
{
    struct gen *g = ctx;

    if (g->fail > 0 && g->n == g->fail)
        return -EIO;
    if (g->n == g->stop)
        return 0;
    g->n++;
    /* Every third line is a null: NULL is a value here, not the end. */
    *ret_value = g->n % 3 == 0 ? NULL : json_object_new_int(g->n);
    return 1;
}

static void test_jsonl_callback(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "cb.jsonl");
    struct gen ok = {0, 4, 0}, bad = {0, 1000, 2};

    tu_put(p, old_text, 0644);
    /* Negative control of the failure below: without the error the stream is written. */
    tu_assert_ok(ajio_write_jsoncl_cb(p, next_value, &ok, NULL));
    assert_file(p, "1\n2\nnull\n4\n");

    tu_put(p, old_text, 0644);
    tu_assert_fails(ajio_write_jsoncl_cb(p, next_value, &bad, NULL), -EIO, p);
    assert_non_null(strstr(ajio_last_error(), "callback"));
    assert_int_equal(bad.n, 2);
    assert_untouched(dir, p, 1);
    tu_assert_fails(ajio_write_jsoncl_cb(p, NULL, NULL, NULL), -EINVAL, p);
}

static void test_large_round_trip(void **state)
{
    const char *p = tu_path(*state, "big.json");
    struct json_object *v = json_object_new_array();
    struct json_object *back;
    struct stat st;

    for (int i = 0; i < 40000; i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int(i));
        json_object_object_add(o, "name",
                               json_object_new_string("caf\xc3\xa9 \"quoted\" \\ \n\x01 line"));
        json_object_object_add(o, "x", json_object_new_double(i * 0.25));
        json_object_object_add(o, "flags", json_object_new_boolean(i & 1));
        json_object_array_add(v, o);
    }
    tu_assert_ok(ajio_write_jsonc(p, v, 0, NULL));
    assert_int_equal(stat(p, &st), 0);
    assert_true(st.st_size > 4 * 1000 * 1000);
    back = load(p);
    assert_true(json_object_equal(v, back));
    json_object_put(back);
    json_object_put(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_golden, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_numbers_as_jsonc_prints_them, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_seed_examples, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_non_finite_refused, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_refused, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_nul_and_null, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_jsonl_edges, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_jsonl_callback, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_large_round_trip, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_adapter_cjson.c - include/ajio/cjson.h: exact bytes against golden files and cJSON's own
 * printer, refusal of NaN, infinities and invalid UTF-8 with the target untouched, JSONL from
 * arrays and from a callback, a large round trip.
 */
#include "testutil.h"

#include <ajio/cjson.h>

#define CASES "tests/cases/adapters/"

static const char old_text[] = "old content\n";

/* The file at p holds exactly the string literal lit. */
#define assert_file(p, lit) tu_assert_content(p, lit, sizeof(lit) - 1)

static void assert_same_bytes(const char *p, const char *want, size_t wlen, const char *what)
{
    size_t len = 0;
    char *got = tu_read(p, &len);

    assert_non_null(got);
    if (len != wlen || memcmp(want, got, len) != 0)
        fail_msg("%s differs from %s:\n--- got\n%s\n--- want\n%.*s", p, what, got, (int)wlen,
                 want);
    free(got);
}

static void assert_same_as(const char *p, const char *golden)
{
    size_t glen = 0;
    char *want = tu_read(golden, &glen);

    assert_non_null(want);
    assert_same_bytes(p, want, glen, golden);
    free(want);
}

static void assert_untouched(const char *dir, const char *p, int entries)
{
    tu_assert_content(p, old_text, strlen(old_text));
    assert_int_equal(tu_count_temps(dir), 0);
    assert_int_equal(tu_count_entries(dir), entries);
}

static cJSON *load(const char *path)
{
    char *text = tu_read(path, NULL);
    cJSON *v;

    assert_non_null(text);
    v = cJSON_Parse(text);
    free(text);
    if (v == NULL)
        fail_msg("%s: cJSON cannot parse it", path);
    return v;
}

static void test_golden(void **state)
{
    static const char *const names[] = {"mixed", "unicode", "escapes", "numbers"};
    const char *p = tu_path(*state, "out.json");

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char in[256], want[256];
        cJSON *v;

        snprintf(in, sizeof(in), CASES "input/%s.json", names[i]);
        v = load(in);
        tu_assert_ok(ajio_write_cjson(p, v, 0, NULL));
        snprintf(want, sizeof(want), CASES "cjson/%s.json", names[i]);
        assert_same_as(p, want);
        /* Outside numbers, the layout is the jansson adapter's, byte for byte. */
        if (strcmp(names[i], "numbers") != 0) {
            snprintf(want, sizeof(want), CASES "jansson/%s.json", names[i]);
            assert_same_as(p, want);
        }
        if (cJSON_IsArray(v)) {
            tu_assert_ok(ajio_write_cjsonl(p, v, NULL));
            snprintf(want, sizeof(want), CASES "cjson/%s.jsonl", names[i]);
            assert_same_as(p, want);
        }
        cJSON_Delete(v);
    }
}

static void test_compact_is_cjson_unformatted(void **state)
{
    static const char *const names[] = {"mixed", "unicode", "numbers"};
    const char *p = tu_path(*state, "out.json");

    /* Compact output is what cJSON_PrintUnformatted gives, plus the final newline. */
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char in[256];
        cJSON *v;
        char *own;
        size_t n;

        snprintf(in, sizeof(in), CASES "input/%s.json", names[i]);
        v = load(in);
        own = cJSON_PrintUnformatted(v);
        n = strlen(own);
        own = realloc(own, n + 2);
        own[n] = '\n';
        tu_assert_ok(ajio_write_cjson(p, v, AJIO_CJSON_COMPACT, NULL));
        assert_same_bytes(p, own, n + 1, "cJSON_PrintUnformatted");
        free(own);
        cJSON_Delete(v);
    }
}

static void test_seed_examples(void **state)
{
    const char *dir = *state;
    cJSON *config = cJSON_CreateObject();

    cJSON_AddStringToObject(config, "name", "demo");
    cJSON_AddTrueToObject(config, "debug");
    cJSON_AddNumberToObject(config, "port", 8080);
    tu_assert_ok(ajio_write_cjson(tu_path(dir, "config.json"), config, 0, NULL));
    assert_same_as(tu_path(dir, "config.json"), CASES "seed/config.json");
    cJSON_Delete(config);
}

/* Writes v over an old target, and also to a new name: both must fail with the reason. */
static void assert_refused(const char *dir, const cJSON *v, int jsonl, const char *reason)
{
    const char *p = tu_path(dir, "t.json");
    const char *fresh = tu_path(dir, "new/t.json");
    const ajio_opts named = {.flags = AJIO_NO_TMPFILE};
    int entries;

    tu_put(p, old_text, 0644);
    entries = tu_count_entries(dir);
    tu_assert_fails(jsonl ? ajio_write_cjsonl(p, v, NULL) : ajio_write_cjson(p, v, 0, NULL),
                    AJIO_EJSON, p);
    if (strstr(ajio_last_error(), reason) == NULL)
        fail_msg("message \"%s\" does not say \"%s\"", ajio_last_error(), reason);
    assert_untouched(dir, p, entries);
    /* With a named temp (visible in the directory while writing), the abort must remove it. */
    tu_assert_fails(jsonl ? ajio_write_cjsonl(p, v, &named) : ajio_write_cjson(p, v, 0, &named), AJIO_EJSON, p);
    assert_untouched(dir, p, entries);
    tu_assert_fails(jsonl ? ajio_write_cjsonl(fresh, v, NULL)
                          : ajio_write_cjson(fresh, v, AJIO_CJSON_COMPACT, NULL),
                    AJIO_EJSON, "t.json");
    assert_int_equal(access(fresh, F_OK), -1);
    assert_int_equal(tu_count_temps(tu_path(dir, "new")), 0);
}

static void test_non_finite_refused(void **state)
{
    const char *dir = *state;
    cJSON *obj = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray();
    cJSON *finite = cJSON_CreateObject();

    /* Negative control: the same shape with a finite number is written, so a refusal below is
     * the NaN's doing and not the shape's. */
    cJSON_AddNumberToObject(finite, "x", 1.5);
    tu_assert_ok(ajio_write_cjson(tu_path(dir, "t.json"), finite, 0, NULL));
    assert_file(tu_path(dir, "t.json"), "{\n  \"x\": 1.5\n}\n");

    cJSON_AddNumberToObject(obj, "ok", 1);
    cJSON_AddNumberToObject(obj, "x", NAN);
    assert_refused(dir, obj, 0, "NaN cannot be written as JSON (at member \"x\")");
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(2));
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(INFINITY));
    assert_refused(dir, arr, 1, "Infinity cannot be written as JSON");
    assert_refused(dir, arr, 0, "Infinity cannot be written as JSON");
    cJSON_ReplaceItemInArray(arr, 1, cJSON_CreateNumber(-INFINITY));
    assert_refused(dir, arr, 0, "-Infinity cannot be written as JSON");
    cJSON_Delete(obj);
    cJSON_Delete(arr);
    cJSON_Delete(finite);
}

static void test_invalid_utf8_refused(void **state)
{
    const char *dir = *state;
    cJSON *v = cJSON_CreateArray();
    cJSON *k = cJSON_CreateObject();
    cJSON *raw = cJSON_CreateArray();

    cJSON_AddItemToArray(v, cJSON_CreateString("fine"));
    cJSON_AddItemToArray(v, cJSON_CreateString("bad \xff byte"));
    assert_refused(dir, v, 0, "output would not be valid JSON");
    assert_refused(dir, v, 1, "output would not be valid JSON");
    /* An overlong encoding and a UTF-16 surrogate encoded in UTF-8 are not UTF-8 either. */
    cJSON_ReplaceItemInArray(v, 1, cJSON_CreateString("\xc0\xaf"));
    assert_refused(dir, v, 0, "output would not be valid JSON");
    cJSON_ReplaceItemInArray(v, 1, cJSON_CreateString("\xed\xa0\x80"));
    assert_refused(dir, v, 0, "output would not be valid JSON");
    cJSON_AddTrueToObject(k, "caf\xe9");
    assert_refused(dir, k, 0, "output would not be valid JSON");
    /* cJSON_Raw text is copied as is, so it is checked like the rest. */
    cJSON_AddItemToArray(raw, cJSON_CreateRaw("{\"a\": [1, 2]}"));
    tu_assert_ok(ajio_write_cjson(tu_path(dir, "raw.json"), raw, AJIO_CJSON_COMPACT, NULL));
    assert_file(tu_path(dir, "raw.json"), "[{\"a\": [1, 2]}]\n");
    cJSON_AddItemToArray(raw, cJSON_CreateRaw("{\"a\": }"));
    assert_refused(dir, raw, 0, "output would not be valid JSON");
    cJSON_Delete(v);
    cJSON_Delete(k);
    cJSON_Delete(raw);
}

static void test_deep_nesting_refused(void **state)
{
    const char *dir = *state;
    cJSON *root = cJSON_CreateArray();
    cJSON *cur = root;

    for (int i = 1; i < 1024; i++) {
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(cur, a);
        cur = a;
    }
    /* 1024 levels: the checker's limit, still written. */
    tu_assert_ok(ajio_write_cjson(tu_path(dir, "deep.json"), root, AJIO_CJSON_COMPACT, NULL));
    cJSON_AddItemToArray(cur, cJSON_CreateArray());
    assert_refused(dir, root, 0, "nesting deeper than 1024");
    cJSON_Delete(root);
}

static void test_jsonl_edges(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "e.jsonl");
    cJSON *empty = cJSON_CreateArray();
    cJSON *obj = cJSON_CreateObject();
    struct stat st;

    tu_put(p, old_text, 0644);
    tu_assert_ok(ajio_write_cjsonl(p, empty, NULL));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 0);

    tu_put(p, old_text, 0644);
    tu_assert_fails(ajio_write_cjsonl(p, obj, NULL), -EINVAL, p);
    tu_assert_fails(ajio_write_cjsonl(p, NULL, NULL), -EINVAL, p);
    tu_assert_fails(ajio_write_cjson(p, NULL, 0, NULL), -EINVAL, p);
    tu_assert_fails(ajio_write_cjson(p, obj, 2, NULL), -EINVAL, p);
    assert_untouched(dir, p, 1);
    tu_assert_fails(ajio_write_cjsonl(tu_path(dir, "sub/x.jsonl"), obj, NULL), -EINVAL, "sub");
    assert_int_equal(tu_count_entries(dir), 1);
    cJSON_Delete(empty);
    cJSON_Delete(obj);
}

struct gen {
    int n, stop, fail;
};

static cJSON *next_value(void *ctx, int *ret_err)
{
    struct gen *g = ctx;
    cJSON *o;

    assert_int_equal(*ret_err, 0);
    if (g->fail > 0 && g->n == g->fail) {
        *ret_err = -EIO;
        return NULL;
    }
    if (g->n == g->stop)
        return NULL;
    g->n++;
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", g->n);
    return o;
}

static void test_jsonl_callback(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "cb.jsonl");
    struct gen ok = {0, 3, 0}, bad = {0, 1000, 2};

    tu_put(p, old_text, 0644);
    /* Negative control of the failure below: without the error the stream is written. */
    tu_assert_ok(ajio_write_cjsonl_cb(p, next_value, &ok, NULL));
    assert_file(p, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");

    tu_put(p, old_text, 0644);
    tu_assert_fails(ajio_write_cjsonl_cb(p, next_value, &bad, NULL), -EIO, p);
    assert_int_equal(bad.n, 2);
    assert_untouched(dir, p, 1);
    tu_assert_fails(ajio_write_cjsonl_cb(p, NULL, NULL, NULL), -EINVAL, p);
}

static void test_large_round_trip(void **state)
{
    const char *p = tu_path(*state, "big.json");
    cJSON *v = cJSON_CreateArray();
    cJSON *back;
    struct stat st;

    for (int i = 0; i < 40000; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", i);
        cJSON_AddStringToObject(o, "name", "caf\xc3\xa9 \"quoted\" \\ \n\x01 line");
        cJSON_AddNumberToObject(o, "x", i * 0.25);
        cJSON_AddItemToObject(o, "flags", cJSON_CreateIntArray((const int[]){i, -i}, 2));
        cJSON_AddItemToArray(v, o);
    }
    tu_assert_ok(ajio_write_cjson(p, v, 0, NULL));
    assert_int_equal(stat(p, &st), 0);
    assert_true(st.st_size > 4 * 1000 * 1000);
    back = load(p);
    assert_true(cJSON_Compare(v, back, 1));
    cJSON_Delete(back);
    cJSON_Delete(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_golden, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_compact_is_cjson_unformatted, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_seed_examples, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_non_finite_refused, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_refused, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_deep_nesting_refused, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_jsonl_edges, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_jsonl_callback, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_large_round_trip, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

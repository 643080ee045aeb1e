/*
 * test_adapter_cjson.c - include/ajio/cjson.h: exact bytes against golden files and cJSON's own
 * printer, refusal of NaN, infinities and invalid UTF-8 with the target untouched, JSONL from
 * arrays and from a callback, a large round trip.
 */
#include "adapter_util.h"

#include <ajio/cjson.h>

static void *load(const char *path)
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

static int write_value(const char *path, void *v, int jsonl, int compact, const ajio_opts *opts)
{
    if (jsonl)
        return ajio_write_cjsonl(path, v, opts);
    return ajio_write_cjson(path, v, compact ? AJIO_CJSON_COMPACT : 0, opts);
}

static cJSON *next_value(void *ctx, int *ret_err)
{
    cJSON *o;
    int n;

    assert_int_equal(*ret_err, 0);
    n = au_gen_next(ctx);
    if (n <= 0) {
        *ret_err = n;
        return NULL;
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", n);
    return o;
}

static int write_cb(const char *path, struct au_gen *g)
{
    return ajio_write_cjsonl_cb(path, g != NULL ? next_value : NULL, g, NULL);
}

static int is_array(void *v)
{
    return cJSON_IsArray(v);
}

static int equal(void *a, void *b)
{
    return cJSON_Compare(a, b, 1);
}

static void release(void *v)
{
    cJSON_Delete(v);
}

static const struct au_adapter cjson = {
    .golden = "cjson", .like_jansson = 1, .load = load, .write = write_value,
    .write_cb = write_cb, .is_array = is_array, .equal = equal, .release = release,
};

static void test_golden(void **state)
{
    au_check_golden(&cjson, *state);
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

        snprintf(in, sizeof(in), AU_CASES "input/%s.json", names[i]);
        v = load(in);
        own = cJSON_PrintUnformatted(v);
        n = strlen(own);
        own = realloc(own, n + 2);
        own[n] = '\n';
        tu_assert_ok(ajio_write_cjson(p, v, AJIO_CJSON_COMPACT, NULL));
        au_assert_same_bytes(p, own, n + 1, "cJSON_PrintUnformatted");
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
    au_assert_same_as(tu_path(dir, "config.json"), AU_CASES "seed/config.json");
    cJSON_Delete(config);
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
    au_assert_file(tu_path(dir, "t.json"), "{\n  \"x\": 1.5\n}\n");

    cJSON_AddNumberToObject(obj, "ok", 1);
    cJSON_AddNumberToObject(obj, "x", NAN);
    au_assert_refused(&cjson, dir, obj, 0, "NaN cannot be written as JSON (at member \"x\")");
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(2));
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(INFINITY));
    au_assert_refused(&cjson, dir, arr, 1, "Infinity cannot be written as JSON");
    au_assert_refused(&cjson, dir, arr, 0, "Infinity cannot be written as JSON");
    cJSON_ReplaceItemInArray(arr, 1, cJSON_CreateNumber(-INFINITY));
    au_assert_refused(&cjson, dir, arr, 0, "-Infinity cannot be written as JSON");
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
    au_assert_refused(&cjson, dir, v, 0, "output would not be valid JSON");
    au_assert_refused(&cjson, dir, v, 1, "output would not be valid JSON");
    /* An overlong encoding and a UTF-16 surrogate encoded in UTF-8 are not UTF-8 either. */
    cJSON_ReplaceItemInArray(v, 1, cJSON_CreateString("\xc0\xaf"));
    au_assert_refused(&cjson, dir, v, 0, "output would not be valid JSON");
    cJSON_ReplaceItemInArray(v, 1, cJSON_CreateString("\xed\xa0\x80"));
    au_assert_refused(&cjson, dir, v, 0, "output would not be valid JSON");
    cJSON_AddTrueToObject(k, "caf\xe9");
    au_assert_refused(&cjson, dir, k, 0, "output would not be valid JSON");
    /* cJSON_Raw text is copied as is, so it is checked like the rest. */
    cJSON_AddItemToArray(raw, cJSON_CreateRaw("{\"a\": [1, 2]}"));
    tu_assert_ok(ajio_write_cjson(tu_path(dir, "raw.json"), raw, AJIO_CJSON_COMPACT, NULL));
    au_assert_file(tu_path(dir, "raw.json"), "[{\"a\": [1, 2]}]\n");
    cJSON_AddItemToArray(raw, cJSON_CreateRaw("{\"a\": }"));
    au_assert_refused(&cjson, dir, raw, 0, "output would not be valid JSON");
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
    au_assert_refused(&cjson, dir, root, 0, "nesting deeper than 1024");
    cJSON_Delete(root);
}

static void test_jsonl_edges(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "e.jsonl");
    cJSON *empty = cJSON_CreateArray();
    cJSON *obj = cJSON_CreateObject();

    au_check_jsonl_edges(&cjson, dir, empty, obj);
    /* cJSON has no null item pointer, and layout takes AJIO_CJSON_COMPACT only. */
    tu_assert_fails(ajio_write_cjson(p, NULL, 0, NULL), -EINVAL, p);
    tu_assert_fails(ajio_write_cjson(p, obj, 2, NULL), -EINVAL, p);
    au_assert_untouched(dir, p, AU_OLD_TEXT, 1);
    cJSON_Delete(empty);
    cJSON_Delete(obj);
}

static void test_jsonl_callback(void **state)
{
    au_check_jsonl_callback(&cjson, *state, 3, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
}

static void test_large_round_trip(void **state)
{
    const char *p = tu_path(*state, "big.json");
    cJSON *v = cJSON_CreateArray();

    for (int i = 0; i < 40000; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", i);
        cJSON_AddStringToObject(o, "name", "caf\xc3\xa9 \"quoted\" \\ \n\x01 line");
        cJSON_AddNumberToObject(o, "x", i * 0.25);
        cJSON_AddItemToObject(o, "flags", cJSON_CreateIntArray((const int[]){i, -i}, 2));
        cJSON_AddItemToArray(v, o);
    }
    au_check_round_trip(&cjson, p, v);
    cJSON_Delete(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        AU_TEST(test_golden),
        AU_TEST(test_compact_is_cjson_unformatted),
        AU_TEST(test_seed_examples),
        AU_TEST(test_non_finite_refused),
        AU_TEST(test_invalid_utf8_refused),
        AU_TEST(test_deep_nesting_refused),
        AU_TEST(test_jsonl_edges),
        AU_TEST(test_jsonl_callback),
        AU_TEST(test_large_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

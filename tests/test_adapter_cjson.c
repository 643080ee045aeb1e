/*
 * test_adapter_cjson.c - include/ajio/cjson.h: exact bytes against golden files and cJSON's own
 * printer, refusal of NaN, infinities and invalid UTF-8 with the target untouched, JSONL from
 * arrays and from a callback, a large round trip.
 */
#include "adapter_util.h"

#include <ajio/cjson.h>

#include <math.h>

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
        return ajio_cjson_write_lines(path, v, 0, opts);
    return ajio_cjson_write(path, v, compact ? AJIO_CJSON_COMPACT : 0, opts);
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
    return ajio_cjson_write_lines_cb(path, g != NULL ? next_value : NULL, g, 0, NULL);
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
        tu_assert_ok(ajio_cjson_write(p, v, AJIO_CJSON_COMPACT, NULL));
        au_assert_same_bytes(p, own, n + 1, "cJSON_PrintUnformatted");
        free(own);
        cJSON_Delete(v);
    }
}

/* x (up to 30000 of them) as cJSON_PrintUnformatted prints the array, and the adapter. */
static void assert_numbers_as_cjson(const char *p, cJSON *arr, const char *what)
{
    char *own = cJSON_PrintUnformatted(arr);
    size_t n = strlen(own);

    own = realloc(own, n + 2);
    own[n] = '\n';
    tu_assert_ok(ajio_cjson_write(p, arr, AJIO_CJSON_COMPACT, NULL));
    au_assert_same_bytes(p, own, n + 1, what);
    free(own);
}

/*
 * The adapter computes cJSON's number text itself where cJSON's version is known (see
 * ajio/cjson.h): here it must agree with cJSON's own printer, byte for byte, on every kind of
 * double: random bit patterns (subnormals and huge exponents included), decimals of 1 to 17
 * digits, integers around 10^15, and the 16- and 17-digit coordinates of canada.json, where
 * cJSON's tolerant read-back check decides between 15 and 17 digits.
 */
static void test_numbers_as_cjson_prints_them(void **state)
{
    const char *p = tu_path(*state, "n.json");
    static const double edges[] = {0.0, -0.0, 1.0, -1.0, 0.1, 1e15, 1e15 - 1, 1e15 + 1, 1e16,
                                   1e17, 123456789012345678.0, 5e-324, 2.2250738585072014e-308,
                                   1.7976931348623157e308, 0.30000000000000004, 1e-5, 1.5e-7,
                                   9007199254740993.0, 2147483647.0, -2147483648.0, 1e21, 1e-4};
    cJSON *arr = cJSON_CreateArray();
    cJSON *canada;
    char *text;
    char in[4096];
    uint64_t seed = 0x9E3779B97F4A7C15ULL;

    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(edges[i]));
    for (int i = 0; i < 20000; i++) {
        uint64_t bits;
        double d;

        /* xorshift64*: a fixed sequence, so that a failure reproduces */
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        bits = seed * 0x2545F4914F6CDD1DULL;
        memcpy(&d, &bits, sizeof(d));
        if (i % 2 == 1) /* a decimal of 1 to 17 significant digits */
            d = (double)(int64_t)(bits >> (11 + i % 50)) / (double)(1ULL << (i % 40));
        if (isfinite(d))
            cJSON_AddItemToArray(arr, cJSON_CreateNumber(d));
    }
    assert_numbers_as_cjson(p, arr, "cJSON_PrintUnformatted of 20000 numbers");
    cJSON_Delete(arr);

    /* The committed benchmark data ($AJIO_TEST_DATA, else tests/data from the repo root). */
    snprintf(in, sizeof(in), "%s/json-bench/canada.json",
             getenv("AJIO_TEST_DATA") != NULL && *getenv("AJIO_TEST_DATA") != '\0'
                 ? getenv("AJIO_TEST_DATA")
                 : "tests/data");
    text = tu_read(in, NULL);
    if (text == NULL)
        fail_msg("%s: %s (test data missing? run from the repo root)", in, strerror(errno));
    canada = cJSON_Parse(text);
    free(text);
    assert_non_null(canada);
    assert_numbers_as_cjson(p, canada, "cJSON_PrintUnformatted of canada.json");
    cJSON_Delete(canada);
}

static void test_seed_examples(void **state)
{
    const char *dir = *state;
    cJSON *config = cJSON_CreateObject();

    cJSON_AddStringToObject(config, "name", "demo");
    cJSON_AddTrueToObject(config, "debug");
    cJSON_AddNumberToObject(config, "port", 8080);
    tu_assert_ok(ajio_cjson_write(tu_path(dir, "config.json"), config, 0, NULL));
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
    tu_assert_ok(ajio_cjson_write(tu_path(dir, "t.json"), finite, 0, NULL));
    au_assert_file(tu_path(dir, "t.json"), "{\n  \"x\": 1.5\n}\n");

    cJSON_AddNumberToObject(obj, "ok", 1);
    cJSON_AddNumberToObject(obj, "x", NAN);
    au_assert_refused(&cjson, dir, obj, 0, "NaN cannot be written as JSON (at .x)");
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(2));
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(INFINITY));
    au_assert_refused(&cjson, dir, arr, 1, "Infinity cannot be written as JSON (at line 2: .)");
    au_assert_refused(&cjson, dir, arr, 0, "Infinity cannot be written as JSON (at .[1])");
    cJSON_ReplaceItemInArray(arr, 1, cJSON_CreateNumber(-INFINITY));
    au_assert_refused(&cjson, dir, arr, 0, "-Infinity cannot be written as JSON (at .[1])");
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
    au_assert_refused(&cjson, dir, v, 0, "a string is not valid UTF-8 (byte 0xFF at offset 4)"
                                         " (at .[1])");
    au_assert_refused(&cjson, dir, v, 1, "a string is not valid UTF-8 (byte 0xFF at offset 4)"
                                         " (at line 2: .)");
    /* An overlong encoding and a UTF-16 surrogate encoded in UTF-8 are not UTF-8 either. */
    cJSON_ReplaceItemInArray(v, 1, cJSON_CreateString("\xc0\xaf"));
    au_assert_refused(&cjson, dir, v, 0, "a string is not valid UTF-8 (byte 0xC0 at offset 0)"
                                         " (at .[1])");
    cJSON_ReplaceItemInArray(v, 1, cJSON_CreateString("\xed\xa0\x80"));
    au_assert_refused(&cjson, dir, v, 0, "a string is not valid UTF-8 (byte 0xED at offset 0)"
                                         " (at .[1])");
    cJSON_AddTrueToObject(k, "caf\xe9");
    au_assert_refused(&cjson, dir, k, 0, "an object key is not valid UTF-8 (byte 0xE9 at offset 3)"
                                         " (at .)");
    /* cJSON_Raw text is copied as is, so it is checked like the rest. */
    cJSON_AddItemToArray(raw, cJSON_CreateRaw("{\"a\": [1, 2]}"));
    tu_assert_ok(ajio_cjson_write(tu_path(dir, "raw.json"), raw, AJIO_CJSON_COMPACT, NULL));
    au_assert_file(tu_path(dir, "raw.json"), "[{\"a\": [1, 2]}]\n");
    cJSON_AddItemToArray(raw, cJSON_CreateRaw("{\"a\": }"));
    au_assert_refused(&cjson, dir, raw, 0, "raw JSON text is not valid: 1:7: expected a value "
                                           "after ':', found '}' (at .[1])");
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
    tu_assert_ok(ajio_cjson_write(tu_path(dir, "deep.json"), root, AJIO_CJSON_COMPACT, NULL));
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
    tu_assert_fails(ajio_cjson_write(p, NULL, 0, NULL), -EINVAL, p);
    tu_assert_fails(ajio_cjson_write(p, obj, 2, NULL), -EINVAL, p);
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
        TU_TEST(test_golden),
        TU_TEST(test_compact_is_cjson_unformatted),
        TU_TEST(test_numbers_as_cjson_prints_them),
        TU_TEST(test_seed_examples),
        TU_TEST(test_non_finite_refused),
        TU_TEST(test_invalid_utf8_refused),
        TU_TEST(test_deep_nesting_refused),
        TU_TEST(test_jsonl_edges),
        TU_TEST(test_jsonl_callback),
        TU_TEST(test_large_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

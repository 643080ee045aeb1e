/*
 * test_adapter_jansson.c - include/ajio/jansson.h: exact bytes against golden files and against
 * json_dumpb() itself (the adapter's tree walker must print what jansson prints, flag for flag),
 * refusals that leave the target untouched, JSONL from arrays and from a callback, a large round
 * trip.
 *
 * Conformance data comes from the committed third-party data directory: $AJIO_TEST_DATA, else
 * "tests/data" relative to the current directory (tests run from the repo root; see
 * tests/data/README.md). A missing directory fails the test rather than skipping it.
 */
#include "adapter_util.h"

#include <ajio/jansson.h>

#include <float.h>
#include <limits.h>
#include <locale.h>

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
        return ajio_jansson_write_lines(path, v, 0, opts);
    return ajio_jansson_write(path, v, compact ? JSON_COMPACT : 0, opts);
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
    return ajio_jansson_write_lines_cb(path, g != NULL ? next_value : NULL, g, 0, NULL);
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
    tu_assert_ok(ajio_jansson_write(p, v, JSON_COMPACT, NULL));
    au_assert_file(p, "{\"a\":1,\"b\":[true,null]}\n");
    tu_assert_ok(ajio_jansson_write(p, v, JSON_ENCODE_ANY, NULL));
    au_assert_file(p, "{\"a\": 1, \"b\": [true, null]}\n");
    tu_assert_ok(ajio_jansson_write(p, v, JSON_INDENT(4) | JSON_SORT_KEYS, NULL));
    au_assert_file(p, "{\n    \"a\": 1,\n    \"b\": [\n        true,\n        null\n    ]\n}\n");
    /* The validation bit changes nothing in valid output. */
    tu_assert_ok(ajio_jansson_write(p, v, JSON_COMPACT | AJIO_JANSSON_VALIDATE, NULL));
    au_assert_file(p, "{\"a\":1,\"b\":[true,null]}\n");
    json_decref(v);
    /* A scalar root is a JSON text too. */
    v = json_string("x");
    tu_assert_ok(ajio_jansson_write(p, v, 0, NULL));
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
    tu_assert_ok(ajio_jansson_write(tu_path(dir, "config.json"), config, 0, NULL));
    au_assert_same_as(tu_path(dir, "config.json"), AU_CASES "seed/config.json");

    tu_assert_ok(ajio_write_text(tu_path(dir, "notes.md"), "# Notes\n\nWritten atomically.", NULL));
    au_assert_same_as(tu_path(dir, "notes.md"), AU_CASES "seed/notes.md");

    json_array_append_new(events, json_pack("{s:s,s:i}", "event", "start", "id", 1));
    json_array_append_new(events,
                          json_pack("{s:s,s:i,s:[s,s]}", "event", "tick", "id", 2, "tags", "a", "b"));
    json_array_append_new(events, json_pack("{s:s,s:i,s:b}", "event", "stop", "id", 3, "ok", 1));
    tu_assert_ok(ajio_jansson_write_lines(tu_path(dir, "events.jsonl"), events, 0, NULL));
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
    tu_assert_fails(ajio_jansson_write(p, v, 0, NULL), AJIO_EJSON, p);
    au_assert_message_has("a string is not valid UTF-8 (byte 0xFF at offset 4) (at .k)");
    au_assert_untouched(dir, p, AU_OLD_TEXT, 1);
    /* In a key jansson 2.14 prints it unchecked (a broken document); the walker refuses it. */
    json_object_set_new_nocheck(key, "\xc3\x28", json_true());
    tu_assert_fails(ajio_jansson_write(p, key, 0, NULL), AJIO_EJSON, p);
    au_assert_message_has("an object key is not valid UTF-8 (byte 0xC3 at offset 0) (at .)");
    au_assert_untouched(dir, p, AU_OLD_TEXT, 1);
    /* Through jansson's own printer (JSON_SORT_KEYS) the broken key gets through, and
     * AJIO_JANSSON_VALIDATE is what catches it, the checker's position and reason in the
     * message. Negative control: without the bit, that path writes the broken document. */
    tu_assert_fails(ajio_jansson_write(p, key,
                                       JSON_INDENT(2) | JSON_SORT_KEYS | AJIO_JANSSON_VALIDATE, NULL),
                    AJIO_EJSON, p);
    au_assert_message_has("t.json:2:10: unescaped newline in string (use \\n)");
    au_assert_untouched(dir, p, AU_OLD_TEXT, 1);
    tu_assert_ok(ajio_jansson_write(p, key, JSON_INDENT(2) | JSON_SORT_KEYS, NULL));
    au_assert_file(p, "{\n  \": true\n}\n");
    json_decref(v);
    json_decref(key);
}

/* Every malformed UTF-8 form jansson refuses in a string is refused by the walker too. */
static void test_invalid_utf8_forms(void **state)
{
    static const struct {
        const char *bad, *good; /* a malformed sequence, and the nearest well-formed one */
    } forms[] = {
        {"\x80", "\xc2\x80"},                   /* lone continuation byte */
        {"\xc0\xaf", "\x2f"},                   /* overlong '/' */
        {"\xc1\xbf", "\xc2\xbf"},               /* overlong, two bytes */
        {"\xe0\x80\xaf", "\xe0\xa0\x80"},       /* overlong, three bytes */
        {"\xf0\x80\x80\xaf", "\xf0\x90\x80\x80"}, /* overlong, four bytes */
        {"\xed\xa0\x80", "\xed\x9f\xbf"},       /* surrogate half U+D800 / U+D7FF */
        {"\xed\xbf\xbf", "\xee\x80\x80"},       /* surrogate half U+DFFF / U+E000 */
        {"\xf4\x90\x80\x80", "\xf4\x8f\xbf\xbf"}, /* above U+10FFFF / U+10FFFF */
        {"\xf5\x80\x80\x80", "\xf1\x80\x80\x80"}, /* lead byte 0xF5 */
        {"\xff", "\xc3\xbf"},                   /* never in UTF-8 */
        {"\xe2\x82", "\xe2\x82\xac"},           /* cut short at the end of the string */
        {"\xe2\x28\xa1", "\xe2\x82\xa1"},       /* bad second byte */
        {"\xf0\x9f\x98", "\xf0\x9f\x98\x80"},   /* four-byte form cut short */
    };
    const char *p = tu_path(*state, "u.json");

    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        for (int good = 0; good <= 1; good++) {
            const char *seq = good ? forms[i].good : forms[i].bad;
            char text[32];
            size_t flag_sets[] = {0, JSON_ENSURE_ASCII};
            json_t *v;

            snprintf(text, sizeof(text), "a%sb", seq);
            v = json_pack("[o]", json_stringn_nocheck(text, strlen(text)));
            for (size_t f = 0; f < 2; f++) {
                int jansson_ok = json_dumpb(v, NULL, 0, flag_sets[f]) > 0;
                int r = ajio_jansson_write(p, v, flag_sets[f] | JSON_INDENT(2), NULL);

                /* jansson agrees with the table: the test data is what it claims */
                assert_int_equal(jansson_ok, good);
                if (good)
                    tu_assert_ok(r);
                else
                    tu_assert_fails(r, AJIO_EJSON, p);
            }
            json_decref(v);
        }
    }
}

/* ---- byte for byte against json_dumpb() ------------------------------------------------- */

static const char *test_data(void)
{
    const char *d = getenv("AJIO_TEST_DATA");
    return d != NULL && *d != '\0' ? d : "tests/data";
}

/*
 * The flag sets every value is written with. ajio_jansson_write()'s 0 is
 * AJIO_JANSSON_DEFAULT_FLAGS; any other set goes to jansson as is. JSON_SORT_KEYS is the
 * fallback to jansson's printer; the rest is the walker's.
 */
static const size_t flag_matrix[] = {
    0,
    JSON_COMPACT,
    JSON_INDENT(4),
    JSON_ENSURE_ASCII,
    JSON_ESCAPE_SLASH,
    JSON_REAL_PRECISION(5),
    JSON_SORT_KEYS,
    JSON_ENCODE_ANY, /* jansson's flags-0 layout: ", " and ": " */
    JSON_INDENT(3) | JSON_COMPACT,
    JSON_INDENT(31) | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH | JSON_REAL_PRECISION(17),
};
#define N_FLAGS (sizeof(flag_matrix) / sizeof(flag_matrix[0]))

/* What json_dumpb() prints for v with the adapter's flags, plus the adapter's '\n'. */
static char *dumpb_line(const json_t *v, size_t flags, size_t *ret_len)
{
    size_t f = (flags != 0 ? flags : AJIO_JANSSON_DEFAULT_FLAGS) | JSON_ENCODE_ANY;
    size_t n = json_dumpb(v, NULL, 0, f);
    char *b;

    assert_true(n > 0);
    b = malloc(n + 1);
    assert_non_null(b);
    assert_int_equal(json_dumpb(v, b, n, f), n);
    b[n] = '\n';
    *ret_len = n + 1;
    return b;
}

/* ajio_jansson_write(v, flags) writes exactly json_dumpb(v, flags) and its '\n'. */
static void assert_same_as_dumpb(const char *p, const json_t *v, size_t flags, const char *name)
{
    char what[600];
    size_t wlen;
    char *want = dumpb_line(v, flags, &wlen);

    snprintf(what, sizeof(what), "json_dumpb of %s with flags 0x%zx", name, flags);
    tu_assert_ok(ajio_jansson_write(p, v, flags, NULL));
    au_assert_same_bytes(p, want, wlen, what);
    free(want);
}

static void assert_same_as_dumpb_all_flags(const char *p, const json_t *v, const char *name)
{
    for (size_t f = 0; f < N_FLAGS; f++)
        assert_same_as_dumpb(p, v, flag_matrix[f], name);
}

static json_t *load_bench_doc(const char *name)
{
    char in[4096];
    json_error_t je;
    json_t *v;

    snprintf(in, sizeof(in), "%s/json-bench/%s", test_data(), name);
    v = json_load_file(in, 0, &je);
    if (v == NULL)
        fail_msg("%s: %s (test data missing? run from the repo root, or set AJIO_TEST_DATA)", in,
                 je.text);
    return v;
}

/* The three benchmark documents, under every flag set of the matrix. */
static void test_same_as_dumpb_documents(void **state)
{
    static const char *const docs[] = {"twitter.json", "citm_catalog.json", "canada.json"};
    const char *p = tu_path(*state, "doc.json");

    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        json_t *v = load_bench_doc(docs[d]);
        size_t wlen;
        char *want;

        assert_same_as_dumpb_all_flags(p, v, docs[d]);
        /* Negative control: the comparison sees a difference where there is one. twitter is
         * full of non-ASCII text, canada of reals with 17 digits, citm of "/" in URLs. */
        want = dumpb_line(v, d == 0 ? JSON_ENSURE_ASCII : d == 1 ? JSON_ESCAPE_SLASH
                                                              : JSON_REAL_PRECISION(5),
                          &wlen);
        tu_assert_ok(ajio_jansson_write(p, v, JSON_ENCODE_ANY, NULL));
        assert_false(au_same_bytes(p, want, wlen, NULL));
        free(want);
        json_decref(v);
    }
}

/* Every JSONTestSuite file that jansson loads (y_ must, i_ may), under every flag set. */
static void test_same_as_dumpb_test_suite(void **state)
{
    char dir[4096];
    const char *p = tu_path(*state, "suite.json");
    DIR *d;
    struct dirent *de;
    int y_loaded = 0, i_loaded = 0;

    snprintf(dir, sizeof(dir), "%s/JSONTestSuite/test_parsing", test_data());
    d = opendir(dir);
    if (d == NULL)
        fail_msg("%s: %s (test data missing? run from the repo root, or set AJIO_TEST_DATA)", dir,
                 strerror(errno));
    while ((de = readdir(d)) != NULL) {
        char in[4400];
        json_error_t je;
        json_t *v;

        if (de->d_name[0] != 'y' && de->d_name[0] != 'i')
            continue;
        snprintf(in, sizeof(in), "%s/%s", dir, de->d_name);
        v = json_load_file(in, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (v == NULL)
            continue;
        assert_same_as_dumpb_all_flags(p, v, de->d_name);
        if (de->d_name[0] == 'y')
            y_loaded++;
        else
            i_loaded++;
        json_decref(v);
    }
    closedir(d);
    /* jansson 2.14 loads 94 of the 95 y_ files (not a "\u0000" in a key) and 3 i_ files. A
     * half-copied suite must not pass. */
    assert_true(y_loaded >= 90);
    assert_true(i_loaded >= 1);
}

/* Keys and values with every character class jansson treats apart. */
static void test_same_as_dumpb_strings(void **state)
{
    const char *p = tu_path(*state, "s.json");
    json_t *v = json_object();
    json_t *arr = json_array();
    char all[128];
    char one[2];
    json_t *s;

    /* Every ASCII byte, NUL included (json_stringn), one string each and all in one. */
    for (int c = 0; c < 128; c++) {
        all[c] = (char)c;
        one[0] = (char)c;
        json_array_append_new(arr, json_stringn(one, 1));
    }
    json_object_set_new(v, "ascii", json_stringn(all, sizeof(all)));
    json_object_set_new(v, "each", arr);
    /* U+0080, U+07FF, U+0800, U+2028, U+2029, U+FFFF, U+10000, U+1F600, U+10FFFF */
    json_object_set_new(v, "utf8",
                        json_string("\xc2\x80|\xdf\xbf|\xe0\xa0\x80|\xe2\x80\xa8|\xe2\x80\xa9|"
                                    "\xef\xbf\xbf|\xf0\x90\x80\x80|\xf0\x9f\x98\x80|"
                                    "\xf4\x8f\xbf\xbf"));
    json_object_set_new(v, "", json_string("empty key"));
    json_object_setn_new(v, "k\0ey\n\"/\xe2\x80\xa8", 10, json_stringn("v\0al", 4));
    json_object_set_new(v, "http://x/y", json_string("a/b\\c\"d"));
    json_object_set_new(v, "empty", json_pack("{s:[],s:{},s:[[],{}]}", "a", "o", "n"));
    assert_same_as_dumpb_all_flags(p, v, "strings");
    json_decref(v);

    /* The escapes spelled out, so that agreeing with jansson is not all that is checked. */
    s = json_string("\x01\x1f\x7f\xe2\x80\xa8/\t\b\f\r\n\xf0\x9f\x98\x80");
    tu_assert_ok(ajio_jansson_write(p, s, JSON_ENCODE_ANY, NULL));
    au_assert_file(p, "\"\\u0001\\u001F\x7f\xe2\x80\xa8/\\t\\b\\f\\r\\n\xf0\x9f\x98\x80\"\n");
    tu_assert_ok(ajio_jansson_write(p, s, JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH, NULL));
    au_assert_file(p, "\"\\u0001\\u001F\x7f\\u2028\\/\\t\\b\\f\\r\\n\\uD83D\\uDE00\"\n");
    json_decref(s);
    s = json_stringn("a\0b", 3);
    tu_assert_ok(ajio_jansson_write(p, s, 0, NULL));
    au_assert_file(p, "\"a\\u0000b\"\n");
    json_decref(s);
}

/* Integers and reals at the edges, under every precision. */
static void test_same_as_dumpb_numbers(void **state)
{
    static const double reals[] = {
        0.0, -0.0, 0.1, -0.5, 1.0, -1.0, 100.0, 1e15, 1e16, 1e17, 1e21, 123456789.0, 1e-4, 1e-5,
        2.5e-7, 1e300, -1e-300, 5e-324, DBL_MIN, DBL_MAX, -DBL_MAX, 3.141592653589793,
        0.30000000000000004, 9007199254740993.0, 1.5, 12345.678,
    };
    static const json_int_t ints[] = {0, 1, -1, 9, 10, -10, 1234567890, LLONG_MAX, LLONG_MIN,
                                      LLONG_MIN + 1};
    const char *p = tu_path(*state, "n.json");
    json_t *v = json_array();
    json_t *r;

    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++)
        json_array_append_new(v, json_real(reals[i]));
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        json_array_append_new(v, json_integer(ints[i]));
    assert_same_as_dumpb_all_flags(p, v, "numbers");
    for (unsigned prec = 1; prec <= 31; prec++)
        assert_same_as_dumpb(p, v, JSON_COMPACT | JSON_REAL_PRECISION(prec), "numbers");
    json_decref(v);

    /* Spelled out: ".0" added, '+' and leading zeros gone from the exponent. */
    r = json_pack("[f,f,f,f,I]", 1.0, 1e300, -2.5e-7, 0.1, (json_int_t)LLONG_MIN);
    tu_assert_ok(ajio_jansson_write(p, r, JSON_COMPACT, NULL));
    au_assert_file(p, "[1.0,1.0000000000000001e300,-2.4999999999999999e-7,0.10000000000000001,"
                      "-9223372036854775808]\n");
    tu_assert_ok(ajio_jansson_write(p, r, JSON_COMPACT | JSON_REAL_PRECISION(3), NULL));
    au_assert_file(p, "[1.0,1e300,-2.5e-7,0.1,-9223372036854775808]\n");
    json_decref(r);
}

/*
 * Under a locale with a decimal comma, reals still print with '.', as jansson prints them.
 */
static void test_same_as_dumpb_locale(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "l.json");
    json_t *v = json_pack("[f,f,f,f]", 1.5, -0.25, 1e-7, 12345678.875);
    char locdir[] = "/tmp/ajio-locale.XXXXXX";
    int built = tu_decimal_comma_begin(locdir);

    assert_same_as_dumpb(p, v, JSON_COMPACT, "reals under de_DE");
    assert_same_as_dumpb(p, v, 0, "reals under de_DE");
    tu_assert_ok(ajio_jansson_write(p, v, JSON_COMPACT, NULL));
    au_assert_file(p, "[1.5,-0.25,9.9999999999999995e-8,12345678.875]\n");
    tu_decimal_comma_end(locdir, built);
    json_decref(v);
}

/*
 * Which printer ran: jansson's drops a key that is not UTF-8 and succeeds, the walker refuses
 * it. So every flag set of the matrix but JSON_SORT_KEYS is shown to take the walker, and the
 * comparisons above to compare the walker with jansson, not jansson with itself.
 */
static void test_walker_takes_the_matrix(void **state)
{
    const char *p = tu_path(*state, "w.json");
    json_t *v = json_object();
    json_t *lines = json_array();

    json_object_set_new_nocheck(v, "bad \xff", json_true());
    for (size_t f = 0; f < N_FLAGS; f++) {
        int r = ajio_jansson_write(p, v, flag_matrix[f], NULL);

        if (flag_matrix[f] & JSON_SORT_KEYS)
            tu_assert_ok(r);
        else
            tu_assert_fails(r, AJIO_EJSON, p);
    }
    json_array_append(lines, v);
    tu_assert_fails(ajio_jansson_write_lines(p, lines, 0, NULL), AJIO_EJSON, p);
    json_decref(lines);
    json_decref(v);
}

/* JSON_EMBED goes to jansson's printer: the same bytes too (the brackets left out). */
static void test_embed_fallback(void **state)
{
    const char *p = tu_path(*state, "e.json");
    json_t *v = json_pack("{s:i,s:[i,i]}", "a", 1, "b", 2, 3);

    assert_same_as_dumpb(p, v, JSON_EMBED | JSON_COMPACT, "embed");
    au_assert_file(p, "\"a\":1,\"b\":[2,3]\n");
    json_decref(v);
}

/* Deep nesting is no cycle, and a value shared by two parents is printed twice, as jansson does. */
static void test_deep_and_shared_not_cycles(void **state)
{
    const char *p = tu_path(*state, "d.json");
    json_t *root = json_array();
    json_t *cur = root;
    json_t *shared = json_pack("{s:[i]}", "x", 1);
    json_t *dag = json_pack("[O,O,{s:O}]", shared, shared, "again", shared);

    for (int i = 0; i < 3000; i++) { /* deeper than json_load*() would build */
        json_t *next = i % 2 ? json_array() : json_object();
        if (json_is_array(cur))
            json_array_append_new(cur, next);
        else
            json_object_set_new(cur, "k", next);
        cur = next;
    }
    json_array_append_new(cur, json_true());
    assert_same_as_dumpb(p, root, JSON_COMPACT, "3000 levels");
    assert_same_as_dumpb(p, root, 0, "3000 levels");
    assert_same_as_dumpb(p, dag, JSON_COMPACT, "shared value");
    au_assert_file(p, "[{\"x\":[1]},{\"x\":[1]},{\"again\":{\"x\":[1]}}]\n");
    json_decref(root);
    json_decref(dag);
    json_decref(shared);
}

/* JSONL lines are json_dumpb(JSON_COMPACT) of each element, '\n', from an array or a callback. */
struct jsonl_src {
    const json_t *array;
    size_t next;
};

static json_t *next_element(void *ctx, int *ret_err)
{
    struct jsonl_src *src = ctx;
    (void)ret_err;
    if (src->next == json_array_size(src->array))
        return NULL;
    return json_incref(json_array_get(src->array, src->next++));
}

static void test_jsonl_same_as_dumpb(void **state)
{
    const char *p = tu_path(*state, "l.jsonl");
    json_t *twitter = load_bench_doc("twitter.json");
    json_t *lines = json_deep_copy(json_object_get(twitter, "statuses"));
    char *want = NULL;
    size_t wlen = 0;
    FILE *mem = open_memstream(&want, &wlen);
    struct jsonl_src src = {lines, 0};

    assert_non_null(mem);
    /* Lines of every kind: the statuses, scalars, empty containers, strings with escapes. */
    json_array_append_new(lines, json_pack("[i,f,s,n,b,[],{}]", -7, 0.5, "t\u00e9/\"\n", 1));
    json_array_append_new(lines, json_stringn("a\0b\xe2\x80\xa8", 6));
    json_array_append_new(lines, json_real(1e300));
    json_array_append_new(lines, json_null());
    assert_true(json_array_size(lines) > 100);
    for (size_t i = 0; i < json_array_size(lines); i++) {
        size_t n;
        char *line = dumpb_line(json_array_get(lines, i), AJIO_JANSSON_LINE_FLAGS, &n);
        assert_int_equal(fwrite(line, 1, n, mem), n);
        free(line);
    }
    assert_int_equal(fclose(mem), 0);
    tu_assert_ok(ajio_jansson_write_lines(p, lines, 0, NULL));
    au_assert_same_bytes(p, want, wlen, "json_dumpb of each line (ajio_jansson_write_lines)");
    tu_assert_ok(ajio_jansson_write_lines_cb(p, next_element, &src, 0, NULL));
    au_assert_same_bytes(p, want, wlen, "json_dumpb of each line (ajio_jansson_write_lines_cb)");
    assert_int_equal(src.next, json_array_size(lines));
    free(want);
    json_decref(lines);
    json_decref(twitter);
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
    tu_assert_fails(ajio_jansson_write(p, a, 0, NULL), AJIO_EJSON, p);
    au_assert_untouched(dir, p, AU_OLD_TEXT, 1);
    json_array_clear(b); /* break the cycle so that both can be freed */
    json_decref(b);
    json_decref(a);

    /* Through objects, a few levels down, and with the JSONL writer. */
    {
        json_t *o = json_object();
        json_t *mid = json_pack("{s:[i,{}]}", "list", 1);
        json_t *inner = json_array_get(json_object_get(mid, "list"), 1);
        json_t *lines = json_array();

        json_object_set(o, "mid", mid);
        json_object_set(inner, "back", o);
        assert_int_equal(json_dumpb(o, NULL, 0, 0), 0); /* jansson refuses it too */
        tu_assert_fails(ajio_jansson_write(p, o, JSON_COMPACT, NULL), AJIO_EJSON, p);
        au_assert_message_has("reference cycle");
        au_assert_untouched(dir, p, AU_OLD_TEXT, 1);
        json_array_append(lines, json_true());
        json_array_append(lines, mid);
        tu_assert_fails(ajio_jansson_write_lines(p, lines, 0, NULL), AJIO_EJSON, p);
        au_assert_untouched(dir, p, AU_OLD_TEXT, 1);
        /* Negative control: with the cycle broken, the same values are written. */
        json_object_del(inner, "back");
        tu_assert_ok(ajio_jansson_write(p, o, JSON_COMPACT, NULL));
        au_assert_file(p, "{\"mid\":{\"list\":[1,{}]}}\n");
        json_decref(lines);
        json_decref(mid);
        json_decref(o);
    }
}

static void test_jsonl_edges(void **state)
{
    const char *dir = *state;
    json_t *empty = json_array();
    json_t *obj = json_object();

    au_check_jsonl_edges(&jansson, dir, empty, obj);
    /* A NULL value is refused before anything is created, as for JSONL. */
    tu_assert_fails(ajio_jansson_write(tu_path(dir, "sub/x.json"), NULL, 0, NULL), -EINVAL, "sub");
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
    tu_assert_ok(ajio_jansson_write_lines_cb(p, next_value, &none, 0, NULL));
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
    tu_assert_ok(ajio_jansson_write_lines(p, v, 0, NULL));
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

    tu_assert_ok(ajio_jansson_write(p, v, 0, NULL));
    assert_int_equal(ajio_jansson_write(p, v, 0, &skip), AJIO_UNCHANGED);
    tu_assert_fails(ajio_jansson_write(p, v, 0, &create), -EEXIST, p);
    /* A directory in the way: the library's own error comes through unchanged. */
    assert_int_equal(mkdir(tu_path(dir, "d"), 0755), 0);
    tu_assert_fails(ajio_jansson_write(tu_path(dir, "d"), v, 0, NULL), -EISDIR, "d");
    assert_int_equal(tu_fd_count(), fds);
    assert_int_equal(tu_count_temps(dir), 0);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_golden),
        TU_TEST(test_layout_flags),
        TU_TEST(test_seed_examples),
        TU_TEST(test_invalid_utf8_refused),
        TU_TEST(test_invalid_utf8_forms),
        TU_TEST(test_same_as_dumpb_documents),
        TU_TEST(test_same_as_dumpb_test_suite),
        TU_TEST(test_same_as_dumpb_strings),
        TU_TEST(test_same_as_dumpb_numbers),
        TU_TEST(test_same_as_dumpb_locale),
        TU_TEST(test_walker_takes_the_matrix),
        TU_TEST(test_embed_fallback),
        TU_TEST(test_deep_and_shared_not_cycles),
        TU_TEST(test_jsonl_same_as_dumpb),
        TU_TEST(test_reference_cycle_refused),
        TU_TEST(test_jsonl_edges),
        TU_TEST(test_jsonl_callback),
        TU_TEST(test_large_round_trip),
        TU_TEST(test_options_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

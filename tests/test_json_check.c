/*
 * test_json_check.c - the strict streaming JSON/JSONL validator (src/json_check.c).
 *
 * Conformance data comes from the committed third-party data directory: $AJIO_TEST_DATA, else
 * "tests/data" relative to the current directory (tests run from the repo root; see
 * tests/data/README.md). It must exist: a missing directory fails the test instead of skipping
 * it, and the y_/n_/i_ counts are asserted so a half-copied suite cannot pass either.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ajio.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static const char *test_data(void)
{
    const char *d = getenv("AJIO_TEST_DATA");
    return d && *d ? d : "tests/data";
}

static char *slurp(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *ret_len = (size_t)n;
    return buf;
}

/* Sorted names in dir that start with prefix and end with suffix. */
static size_t list_dir(const char *dir, const char *prefix, const char *suffix, char ***ret)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;

    if (!d)
        fail_msg("data directory %s is missing (run from the repo root, or set AJIO_TEST_DATA): %s",
                 dir, strerror(errno));
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || len < sl ||
            strcmp(e->d_name + len - sl, suffix) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(*names));
            assert_non_null(names);
        }
        names[n] = strdup(e->d_name);
        assert_non_null(names[n]);
        n++;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort: small lists, stable output */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    *ret = names;
    return n;
}

static void free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

typedef struct result {
    int rc;
    uint64_t count;
    ajio_json_error err;
} result;

static result one_shot(const void *buf, size_t len, unsigned flags)
{
    result r;

    memset(&r, 0, sizeof(r));
    r.rc = ajio_json_validate(buf, len, flags, &r.err);
    return r;
}

/* Feeds buf in chunks: chunk sizes from a small xorshift PRNG (seed 0: 1 byte each). */
static result chunked(const void *buf, size_t len, unsigned flags, unsigned max_depth,
                      uint32_t seed)
{
    ajio_json_checker *c = NULL;
    const unsigned char *p = buf;
    size_t off = 0;
    result r;

    memset(&r, 0, sizeof(r));
    assert_int_equal(ajio_json_checker_new(&c, flags, max_depth), 0);
    while (off < len && r.rc == 0) {
        size_t n = 1;
        if (seed) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            n = 1 + seed % (seed & 1 ? 7 : 300);
        }
        if (n > len - off)
            n = len - off;
        r.rc = ajio_json_feed(c, p + off, n);
        off += n;
    }
    if (r.rc == 0)
        r.rc = ajio_json_finish(c);
    assert_int_equal(ajio_json_checker_error(c, &r.err), 0);
    r.count = ajio_json_checker_count(c);
    ajio_json_checker_free(c);
    return r;
}

static void assert_same(const result *a, const result *b, const char *what)
{
    if (a->rc != b->rc || a->err.offset != b->err.offset || a->err.line != b->err.line ||
        a->err.column != b->err.column || strcmp(a->err.reason, b->err.reason) != 0)
        fail_msg("%s: chunked result differs: rc %d vs %d, %llu:%llu@%llu \"%s\" vs "
                 "%llu:%llu@%llu \"%s\"",
                 what, a->rc, b->rc, (unsigned long long)a->err.line,
                 (unsigned long long)a->err.column, (unsigned long long)a->err.offset,
                 a->err.reason, (unsigned long long)b->err.line, (unsigned long long)b->err.column,
                 (unsigned long long)b->err.offset, b->err.reason);
}

/* Validates the file whole, byte by byte and in random chunks; all must agree. */
static int check_file(const char *path, unsigned flags)
{
    size_t len;
    char *buf = slurp(path, &len);
    result whole = one_shot(buf, len, flags);
    result r = chunked(buf, len, flags, 0, 0);

    assert_same(&whole, &r, path);
    for (uint32_t seed = 1; seed <= 4; seed++) {
        r = chunked(buf, len, flags, 0, seed * 2654435761u);
        assert_same(&whole, &r, path);
    }
    if (whole.rc != 0)
        assert_true(whole.err.reason[0] != '\0');
    free(buf);
    return whole.rc;
}

/* Every file of dir with prefix must give rc; returns how many there were. */
static size_t check_dir(const char *dir, const char *prefix, const char *suffix, unsigned flags,
                        int want_rc)
{
    char **names, path[2048];
    size_t n = list_dir(dir, prefix, suffix, &names);

    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        int rc = check_file(path, flags);
        if (rc != want_rc)
            fail_msg("%s: rc %d, expected %d", path, rc, want_rc);
    }
    free_list(names, n);
    return n;
}

/* ---- conformance ---------------------------------------------------------------------------- */

static void test_jsontestsuite_y_n(void **state)
{
    char dir[1024];
    (void)state;

    snprintf(dir, sizeof(dir), "%s/JSONTestSuite/test_parsing", test_data());
    assert_int_equal(check_dir(dir, "y_", ".json", 0, 0), 95);
    assert_int_equal(check_dir(dir, "n_", ".json", 0, AJIO_EJSON), 188);
}

static void test_jsontestsuite_i_decisions(void **state)
{
    char dir[1024], path[2048], line[512], **names;
    size_t n, listed = 0;
    FILE *f;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/JSONTestSuite/test_parsing", test_data());
    n = list_dir(dir, "i_", ".json", &names);
    assert_int_equal(n, 35);
    f = fopen("tests/cases/json/i_decisions.txt", "r");
    if (!f)
        fail_msg("tests/cases/json/i_decisions.txt: %s (run from the repo root)", strerror(errno));
    while (fgets(line, sizeof(line), f)) {
        char name[256], decision[16];
        if (line[0] == '#' || line[0] == '\n')
            continue;
        assert_int_equal(sscanf(line, "%255s %15s", name, decision), 2);
        int want = strcmp(decision, "accept") == 0 ? 0 : AJIO_EJSON;
        if (want && strcmp(decision, "reject") != 0)
            fail_msg("i_decisions.txt: bad decision '%s' for %s", decision, name);
        int found = 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(names[i], name) == 0)
                found = 1;
        if (!found)
            fail_msg("i_decisions.txt lists %s, which is not in %s", name, dir);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int rc = check_file(path, 0);
        if (rc != want)
            fail_msg("%s: rc %d, documented %s", name, rc, decision);
        listed++;
    }
    fclose(f);
    assert_int_equal(listed, 35);
    free_list(names, n);
}

static void test_jsonchecker(void **state)
{
    char dir[1024], path[2048], **names;
    size_t n, pass = 0, fail = 0;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/jsonchecker", test_data());
    n = list_dir(dir, "", ".json", &names);
    for (size_t i = 0; i < n; i++) {
        int want;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (strncmp(names[i], "pass", 4) == 0 || strstr(names[i], "_EXCLUDE")) {
            want = 0; /* fail01 (bare string, valid since RFC 7159), fail18 (depth 20) */
            pass++;
        } else {
            assert_true(strncmp(names[i], "fail", 4) == 0);
            want = AJIO_EJSON;
            fail++;
        }
        if (check_file(path, 0) != want)
            fail_msg("%s: expected %s", names[i], want ? "reject" : "accept");
    }
    assert_int_equal(pass, 5);  /* pass01-03, fail01_EXCLUDE, fail18_EXCLUDE */
    assert_int_equal(fail, 31); /* fail02-fail33 without 18 */
    free_list(names, n);
}

static void test_json_bench_documents(void **state)
{
    static const char *const docs[] = {"twitter.json", "citm_catalog.json", "canada.json"};
    char path[4096];
    (void)state;

    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/json-bench/%s", test_data(), docs[i]);
        assert_int_equal(check_file(path, 0), 0);
    }
}

static void test_own_cases(void **state)
{
    (void)state;
    assert_true(check_dir("tests/cases/json/valid", "", ".json", 0, 0) >= 5);
    assert_true(check_dir("tests/cases/json/invalid", "", ".json", 0, AJIO_EJSON) >= 20);
    assert_true(check_dir("tests/cases/jsonl/valid", "", ".jsonl", AJIO_JSON_LINES, 0) >= 3);
    assert_true(check_dir("tests/cases/jsonl/invalid", "", ".jsonl", AJIO_JSON_LINES, AJIO_EJSON) >=
                5);
    assert_true(check_dir("tests/cases/jsonl/torn", "", ".jsonl", AJIO_JSON_LINES, AJIO_ETORN) >=
                3);
    /* Every torn file: the same bytes with ALLOW_UNTERMINATED are not torn any more. */
    assert_true(check_dir("tests/cases/jsonl/torn", "complete", ".jsonl",
                          AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED, 0) == 1);
    assert_true(check_dir("tests/cases/jsonl/torn", "partial", ".jsonl",
                          AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED, AJIO_EJSON) == 1);
}

/* ---- error positions and reasons ------------------------------------------------------------ */

typedef struct err_case {
    const char *in;
    size_t len; /* 0: strlen(in) */
    unsigned flags;
    int rc;
    unsigned line, column, offset;
    const char *reason; /* a substring of the reason */
} err_case;

static void check_err_case(const err_case *t)
{
    size_t len = t->len ? t->len : strlen(t->in);
    result r = one_shot(t->in, len, t->flags), b = chunked(t->in, len, t->flags, 0, 0);

    if (r.rc != t->rc || r.err.line != t->line || r.err.column != t->column ||
        r.err.offset != t->offset || !strstr(r.err.reason, t->reason))
        fail_msg("input \"%s\": got rc %d %llu:%llu@%llu \"%s\", expected rc %d %u:%u@%u \"%s\"",
                 t->in, r.rc, (unsigned long long)r.err.line, (unsigned long long)r.err.column,
                 (unsigned long long)r.err.offset, r.err.reason, t->rc, t->line, t->column,
                 t->offset, t->reason);
    assert_same(&r, &b, t->in);
}

static void test_error_positions(void **state)
{
    static const err_case cases[] = {
        {"{\"a\":1 \"b\":2}", 0, 0, AJIO_EJSON, 1, 8, 7, "expected ',' or '}' after object member"},
        {"[1,\n 2,\n 3 4]", 0, 0, AJIO_EJSON, 3, 4, 11, "expected ',' or ']' after array element"},
        {"{\n  \"a\": tru\n}", 0, 0, AJIO_EJSON, 2, 11, 12, "invalid literal (expected 'true')"},
        {"\"abc", 0, 0, AJIO_EJSON, 1, 5, 4, "unexpected end of input inside string"},
        {"{\"ab", 0, 0, AJIO_EJSON, 1, 5, 4, "unexpected end of input inside object key"},
        {"[1,2", 0, 0, AJIO_EJSON, 1, 5, 4, "unexpected end of input inside array"},
        {"{\"a\":1", 0, 0, AJIO_EJSON, 1, 7, 6, "unexpected end of input inside object"},
        {"[-]", 0, 0, AJIO_EJSON, 1, 3, 2, "expected a digit after '-', found ']'"},
        {"-", 0, 0, AJIO_EJSON, 1, 2, 1, "unexpected end of input inside number"},
        {"nul", 0, 0, AJIO_EJSON, 1, 4, 3, "unexpected end of input inside literal 'null'"},
        {"", 0, 0, AJIO_EJSON, 1, 1, 0, "empty input"},
        {"  \n ", 0, 0, AJIO_EJSON, 2, 2, 4, "only whitespace"},
        {"[1,]", 0, 0, AJIO_EJSON, 1, 4, 3, "trailing comma before ']'"},
        {"{\"a\":1,}", 0, 0, AJIO_EJSON, 1, 8, 7, "trailing comma before '}'"},
        {"[01]", 0, 0, AJIO_EJSON, 1, 3, 2, "leading zeros"},
        {"[1.]", 0, 0, AJIO_EJSON, 1, 4, 3, "expected a digit after the decimal point"},
        {"[1e+]", 0, 0, AJIO_EJSON, 1, 5, 4, "expected a digit in the exponent"},
        {"[0x10]", 0, 0, AJIO_EJSON, 1, 3, 2, "invalid character 'x' in number"},
        {"[NaN]", 0, 0, AJIO_EJSON, 1, 2, 1, "NaN and Infinity"},
        {"[Infinity]", 0, 0, AJIO_EJSON, 1, 2, 1, "NaN and Infinity"},
        {"['a']", 0, 0, AJIO_EJSON, 1, 2, 1, "single quotes"},
        {"[1] // x", 0, 0, AJIO_EJSON, 1, 5, 4, "unexpected '/' after the JSON value"},
        {"/* x */ 1", 0, 0, AJIO_EJSON, 1, 1, 0, "comments are not allowed"},
        {"1 2", 0, 0, AJIO_EJSON, 1, 3, 2, "only one value is allowed"},
        {"\"a\tb\"", 0, 0, AJIO_EJSON, 1, 3, 2, "unescaped control character 0x09"},
        {"\"a\nb\"", 0, 0, AJIO_EJSON, 1, 3, 2, "unescaped newline in string"},
        {"\"\\a\"", 0, 0, AJIO_EJSON, 1, 3, 2, "invalid escape: backslash followed by 'a'"},
        {"\"\\u12G4\"", 0, 0, AJIO_EJSON, 1, 6, 5, "'G' is not a hex digit"},
        {"{\"a\" 1}", 0, 0, AJIO_EJSON, 1, 6, 5, "expected ':' after object key"},
        {"{1:2}", 0, 0, AJIO_EJSON, 1, 2, 1, "expected '\"' (object key) or '}' after '{'"},
        {"{\"a\":1,2}", 0, 0, AJIO_EJSON, 1, 8, 7, "expected '\"' (object key) after ','"},
        {"{\"a\":}", 0, 0, AJIO_EJSON, 1, 6, 5, "expected a value after ':'"},
        {"\x0c"
         "1",
         0, 0, AJIO_EJSON, 1, 1, 0, "expected a value, found byte 0x0C"},
        {"\"\xc0\x80\"", 0, 0, AJIO_EJSON, 1, 2, 1, "invalid UTF-8 byte 0xC0"},
        {"[1]\x00", 4, 0, AJIO_EJSON, 1, 4, 3, "unexpected byte 0x00 after the JSON value"},
        /* the offending byte of a multi-line document: line 3, column 5 */
        {"{\n\t\"k\": [\n\t\t1,, 2]}", 0, 0, AJIO_EJSON, 3, 5, 14, "expected a value, found ','"},
        /* CR is whitespace but does not start a line; only LF does */
        {"[\r\n\r1 x]", 0, 0, AJIO_EJSON, 2, 4, 6, "expected ',' or ']'"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_err_case(&cases[i]);
}

/* ---- every i_ decision, spelled out --------------------------------------------------------- */

static void test_surrogate_escapes(void **state)
{
    static const err_case cases[] = {
        {"\"\\uD800\"", 0, 0, AJIO_EJSON, 1, 8, 7, "lone surrogate \\uD800"},
        {"\"\\uD800x\"", 0, 0, AJIO_EJSON, 1, 8, 7, "not followed by a \\uDC00-\\uDFFF escape"},
        {"\"\\uD800\\n\"", 0, 0, AJIO_EJSON, 1, 9, 8, "lone surrogate \\uD800"},
        {"\"\\uD800\\u0041\"", 0, 0, AJIO_EJSON, 1, 13, 12, "\\u0041 is not a low surrogate"},
        {"\"\\uD800\\uD800\"", 0, 0, AJIO_EJSON, 1, 13, 12, "is not a low surrogate"},
        {"\"\\uDC00\"", 0, 0, AJIO_EJSON, 1, 7, 6, "low half without a high half"},
        {"{\"\\uDFAA\":0}", 0, 0, AJIO_EJSON, 1, 8, 7, "lone surrogate \\uDFAA"},
        {"\"\\uDD1E\\uD834\"", 0, 0, AJIO_EJSON, 1, 7, 6, "low half without a high half"},
    };
    static const char *const ok[] = {
        "\"\\uD834\\uDD1E\"", "\"\\uDBFF\\uDFFF\"", "\"\\uD800\\uDC00\"", "\"\\uD7FF\\uE000\"",
        "\"\\u0000\"",        "\"\\uFFFF\"",        "\"\\ud834\\udd1e\"",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_err_case(&cases[i]);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        result r = one_shot(ok[i], strlen(ok[i]), 0), b = chunked(ok[i], strlen(ok[i]), 0, 0, 0);
        if (r.rc != 0)
            fail_msg("%s: %s", ok[i], r.err.reason);
        assert_same(&r, &b, ok[i]);
    }
}

static void test_big_numbers_accepted(void **state)
{
    static const char *const ok[] = {
        "[123123e100000]",
        "[-123123123123123123123123123123]",
        "[1.5e+9999]",
        "[-1e-9999]",
        "100000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(one_shot(ok[i], strlen(ok[i]), 0).rc, 0);
}

static void test_bom(void **state)
{
    static const err_case cases[] = {
        {"\xEF\xBB\xBF{}", 0, 0, AJIO_EJSON, 1, 1, 0, "byte order mark"},
        {"\xEF\xBB\xBF"
         "1\n",
         0, AJIO_JSON_LINES, AJIO_EJSON, 1, 1, 0, "byte order mark"},
        {"\xFF\xFE[\x00]\x00", 6, 0, AJIO_EJSON, 1, 1, 0, "byte order mark"},
        /* a BOM is only special at the start; later it is a stray byte */
        {"[\xEF\xBB\xBF]", 0, 0, AJIO_EJSON, 1, 2, 1, "found byte 0xEF"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_err_case(&cases[i]);
    /* a BOM inside a string is just U+FEFF */
    assert_int_equal(one_shot("\"\xEF\xBB\xBF\"", 5, 0).rc, 0);
}

/* ---- UTF-8: each class and each boundary ---------------------------------------------------- */

static void test_utf8_classes(void **state)
{
    static const char *const ok[] = {
        "\"\x7F\"",             /* DEL is not a control character in JSON */
        "\"\xC2\x80\"",         /* U+0080, smallest 2-byte */
        "\"\xDF\xBF\"",         /* U+07FF */
        "\"\xE0\xA0\x80\"",     /* U+0800, smallest 3-byte */
        "\"\xED\x9F\xBF\"",     /* U+D7FF, just below the surrogates */
        "\"\xEE\x80\x80\"",     /* U+E000, just above */
        "\"\xEF\xBF\xBF\"",     /* U+FFFF */
        "\"\xF0\x90\x80\x80\"", /* U+10000, smallest 4-byte */
        "\"\xF4\x8F\xBF\xBF\"", /* U+10FFFF, largest */
        "\"\xF0\x9F\x98\x80x\xE2\x82\xAC\"",
    };
    static const err_case bad[] = {
        {"\"\x80\"", 0, 0, AJIO_EJSON, 1, 2, 1, "0x80 (continuation byte without a lead byte)"},
        {"\"\xBF\"", 0, 0, AJIO_EJSON, 1, 2, 1, "continuation byte without a lead byte"},
        {"\"\xC0\xAF\"", 0, 0, AJIO_EJSON, 1, 2, 1, "0xC0 (overlong encoding)"},
        {"\"\xC1\xBF\"", 0, 0, AJIO_EJSON, 1, 2, 1, "0xC1 (overlong encoding)"},
        {"\"\xE0\x9F\xBF\"", 0, 0, AJIO_EJSON, 1, 3, 2, "0x9F after 0xE0 (overlong encoding)"},
        {"\"\xF0\x8F\xBF\xBF\"", 0, 0, AJIO_EJSON, 1, 3, 2, "0x8F after 0xF0 (overlong"},
        {"\"\xED\xA0\x80\"", 0, 0, AJIO_EJSON, 1, 3, 2, "UTF-16 surrogate encoded in UTF-8"},
        {"\"\xED\xBF\xBF\"", 0, 0, AJIO_EJSON, 1, 3, 2, "UTF-16 surrogate"},
        {"\"\xF4\x90\x80\x80\"", 0, 0, AJIO_EJSON, 1, 3, 2, "above U+10FFFF"},
        {"\"\xF5\x80\x80\x80\"", 0, 0, AJIO_EJSON, 1, 2, 1, "0xF5 (code point above U+10FFFF)"},
        {"\"\xF8\x88\x80\x80\x80\"", 0, 0, AJIO_EJSON, 1, 2, 1, "never valid in UTF-8"},
        {"\"\xFF\"", 0, 0, AJIO_EJSON, 1, 2, 1, "0xFF (never valid in UTF-8)"},
        {"\"\xE2\x82\"", 0, 0, AJIO_EJSON, 1, 4, 3, "truncated sequence"},
        {"\"\xC3\"", 0, 0, AJIO_EJSON, 1, 3, 2, "truncated sequence"},
        {"\"\xF0\x9F\x98\"", 0, 0, AJIO_EJSON, 1, 5, 4, "truncated sequence"},
        {"\"\xE2\x82", 0, 0, AJIO_EJSON, 1, 4, 3, "unexpected end of input inside string"},
        {"\"\xE2\x82\xAC\xAC\"", 0, 0, AJIO_EJSON, 1, 5, 4, "continuation byte without a lead"},
        /* outside strings any non-ASCII byte is simply unexpected */
        {"[\xC3\xA9]", 0, 0, AJIO_EJSON, 1, 2, 1, "found byte 0xC3"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        result r = one_shot(ok[i], strlen(ok[i]), 0), b = chunked(ok[i], strlen(ok[i]), 0, 0, 0);
        if (r.rc != 0)
            fail_msg("case %zu: %s", i, r.err.reason);
        assert_same(&r, &b, ok[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_err_case(&bad[i]);
}

/* Every 3- and 4-byte lead with every second byte, against a reference decoder. */
static void test_utf8_exhaustive_prefixes(void **state)
{
    unsigned char buf[8];
    (void)state;
    for (unsigned a = 0x80; a < 0x100; a++)
        for (unsigned b = 0; b < 0x100; b++) {
            buf[0] = '"';
            buf[1] = (unsigned char)a;
            buf[2] = (unsigned char)b;
            buf[3] = 0x80;
            buf[4] = 0x80;
            unsigned len = a >= 0xF0 ? 4 : a >= 0xE0 ? 3 : 2;
            buf[1 + len] = '"';
            /* reference: decode and range-check */
            uint32_t cp = 0;
            int valid = a >= 0xC2 && a <= 0xF4 && (b & 0xC0) == 0x80;
            if (valid) {
                cp = len == 2   ? (a & 0x1F) << 6 | (b & 0x3F)
                     : len == 3 ? (a & 0x0F) << 12 | (b & 0x3F) << 6
                                : (a & 0x07) << 18 | (b & 0x3F) << 12;
                uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
                valid = cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
            }
            result r = one_shot(buf, 2 + len, 0), s = chunked(buf, 2 + len, 0, 0, 0);
            if ((r.rc == 0) != valid)
                fail_msg("0x%02X 0x%02X: rc %d, reference says %s", a, b, r.rc,
                         valid ? "valid" : "invalid");
            assert_same(&r, &s, "utf8");
        }
}

/* ---- JSONL ---------------------------------------------------------------------------------- */

static void test_jsonl(void **state)
{
    static const err_case cases[] = {
        {"1\n\n2\n", 0, AJIO_JSON_LINES, AJIO_EJSON, 2, 1, 2, "blank line"},
        {"1\n \t\n", 0, AJIO_JSON_LINES, AJIO_EJSON, 2, 3, 4, "blank line"},
        {"\r\n", 0, AJIO_JSON_LINES, AJIO_EJSON, 1, 2, 1, "blank line"},
        {"{\"a\":1}\n{\"b\":2}", 0, AJIO_JSON_LINES, AJIO_ETORN, 2, 8, 15,
         "last line has no terminating newline (torn append?)"},
        {"{\"a\":1}\n{\"b\":", 0, AJIO_JSON_LINES, AJIO_ETORN, 2, 6, 13, "torn append"},
        {"{\"a\":1}\n{\"b\":", 0, AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED, AJIO_EJSON, 2, 6,
         13, "unexpected end of input inside object"},
        {"1\n  ", 0, AJIO_JSON_LINES, AJIO_ETORN, 2, 3, 4, "torn append"},
        {"1\n  ", 0, AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED, AJIO_EJSON, 2, 3, 4,
         "blank line"},
        {"[1,\n2]\n", 0, AJIO_JSON_LINES, AJIO_EJSON, 1, 4, 3,
         "unexpected end of line inside "
         "array"},
        {"\"a\nb\"\n", 0, AJIO_JSON_LINES, AJIO_EJSON, 1, 3, 2, "unescaped newline in string"},
        {"1 2\n", 0, AJIO_JSON_LINES, AJIO_EJSON, 1, 3, 2, "one value per line"},
        {"1\n2\n{]\n", 0, AJIO_JSON_LINES, AJIO_EJSON, 3, 2, 5, "expected '\"' (object key)"},
    };
    result r;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_err_case(&cases[i]);

    /* empty input: valid, 0 values (JSON documents: "empty input") */
    r = chunked("", 0, AJIO_JSON_LINES, 0, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 0);

    /* CRLF, padding, count */
    r = chunked("{\"a\":1}\r\n [2] \t\r\n\"x\"\n-1.5e3\ntrue\n", 33, AJIO_JSON_LINES, 0, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 5);

    /* torn tail: the count holds the complete lines only */
    r = chunked("1\n2\n3", 5, AJIO_JSON_LINES, 0, 0);
    assert_int_equal(r.rc, AJIO_ETORN);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.err.offset, 5);

    /* ALLOW_UNTERMINATED: the complete last line counts, a number ending at EOF included */
    r = chunked("1\n2\n3", 5, AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED, 0, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 3);
    r = chunked("1\n2\n3\n", 6, AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED, 0, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 3);
    r = chunked("[1]\r", 4, AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED, 0, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 1);
    r = chunked("[1]\r", 4, AJIO_JSON_LINES, 0, 0);
    assert_int_equal(r.rc, AJIO_ETORN);

    /* JSON documents count their one value */
    r = chunked(" 12 ", 4, 0, 0, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 1);
    r = chunked("12", 2, 0, 0, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 1);
}

/* ---- depth ---------------------------------------------------------------------------------- */

static char *nested(unsigned depth, char open, char close)
{
    char *s = malloc(2 * (size_t)depth + 1);
    assert_non_null(s);
    memset(s, open, depth);
    memset(s + depth, close, depth);
    s[2 * depth] = '\0';
    return s;
}

static void test_depth(void **state)
{
    char *s;
    result r;
    (void)state;

    s = nested(1024, '[', ']');
    assert_int_equal(one_shot(s, 2048, 0).rc, 0);
    assert_int_equal(chunked(s, 2048, 0, 0, 0).rc, 0);
    free(s);

    s = nested(1025, '[', ']');
    r = one_shot(s, 2050, 0);
    assert_int_equal(r.rc, AJIO_EJSON);
    assert_string_equal(r.err.reason, "nesting deeper than 1024");
    assert_int_equal(r.err.offset, 1024);
    assert_int_equal(r.err.column, 1025);
    {
        result b = chunked(s, 2050, 0, 0, 3);
        assert_same(&r, &b, "depth 1025");
    }
    free(s);
}

static void test_depth_custom(void **state)
{
    const char *objs = "{\"a\":{\"b\":[{}]}}"; /* depth 4 */
    result r;
    (void)state;

    assert_int_equal(chunked(objs, strlen(objs), 0, 4, 0).rc, 0);
    r = chunked(objs, strlen(objs), 0, 3, 7);
    assert_int_equal(r.rc, AJIO_EJSON);
    assert_string_equal(r.err.reason, "nesting deeper than 3");
    assert_int_equal(r.err.offset, 11);
    /* max_depth 1: scalars and flat containers only */
    assert_int_equal(chunked("[1,2]", 5, 0, 1, 0).rc, 0);
    assert_int_equal(chunked("[[]]", 4, 0, 1, 0).rc, AJIO_EJSON);
    /* deep nesting with a large limit */
    char *s = nested(100000, '[', ']');
    assert_int_equal(chunked(s, 200000, 0, 100000, 12345).rc, 0);
    assert_int_equal(chunked(s, 200000, 0, 99999, 12345).rc, AJIO_EJSON);
    free(s);
}

/* ---- API boundary --------------------------------------------------------------------------- */

static void test_api(void **state)
{
    ajio_json_checker *c = NULL, *keep = (ajio_json_checker *)&keep;
    ajio_json_error e;
    (void)state;

    assert_int_equal(ajio_json_checker_new(NULL, 0, 0), -EINVAL);
    assert_int_equal(ajio_json_checker_new(&keep, 1u << 7, 0), -EINVAL);
    assert_ptr_equal(keep, (ajio_json_checker *)&keep); /* unchanged on failure */
    assert_int_equal(ajio_json_validate(NULL, 1, 0, NULL), -EINVAL);
    assert_int_equal(ajio_json_validate(NULL, 0, AJIO_JSON_LINES, NULL), 0);
    assert_int_equal(ajio_json_validate("1", 1, 1u << 9, NULL), -EINVAL);
    assert_int_equal(ajio_json_feed(NULL, "1", 1), -EINVAL);
    assert_int_equal(ajio_json_finish(NULL), -EINVAL);
    assert_int_equal(ajio_json_checker_error(NULL, &e), -EINVAL);
    assert_int_equal(ajio_json_checker_count(NULL), 0);
    ajio_json_checker_free(NULL);

    assert_int_equal(ajio_json_checker_new(&c, 0, 0), 0);
    assert_int_equal(ajio_json_checker_error(c, NULL), -EINVAL);
    assert_int_equal(ajio_json_feed(c, NULL, 1), -EINVAL);
    assert_int_equal(ajio_json_feed(c, NULL, 0), 0);
    assert_int_equal(ajio_json_feed(c, "[1,", 3), 0);
    assert_int_equal(ajio_json_checker_error(c, &e), 0); /* no error yet: zeroed */
    assert_int_equal(e.offset, 0);
    assert_string_equal(e.reason, "");
    assert_int_equal(ajio_json_feed(c, "x", 1), AJIO_EJSON);
    /* sticky: later feeds and finish return the first error, and it does not move */
    assert_int_equal(ajio_json_feed(c, "2]", 2), AJIO_EJSON);
    assert_int_equal(ajio_json_finish(c), AJIO_EJSON);
    assert_int_equal(ajio_json_checker_error(c, &e), 0);
    assert_int_equal(e.offset, 3);
    assert_string_equal(e.reason, "expected a value, found 'x'");
    ajio_json_checker_free(c);

    /* finish is idempotent; feeding after it is a usage error */
    assert_int_equal(ajio_json_checker_new(&c, 0, 0), 0);
    assert_int_equal(ajio_json_feed(c, "{}", 2), 0);
    assert_int_equal(ajio_json_finish(c), 0);
    assert_int_equal(ajio_json_finish(c), 0);
    assert_int_equal(ajio_json_feed(c, " ", 1), -EINVAL);
    assert_int_equal(ajio_json_checker_count(c), 1);
    ajio_json_checker_free(c);
}

/* Every split point of a document that exercises every token kind gives the same result. */
static void test_every_split_point(void **state)
{
    static const char *const docs[] = {
        ("{\"k\\u00e9\\uD834\\uDD1E\":[-0.5e-10,12345678901234567890,true,false,null,\"\xF0\x9F"
         "\x98\x80\xE2\x82\xAC\xC3\xA9\"]}"),
        "[-12.5E+3 , 0 ,\"\\\\\\/\\b\\f\\n\\r\\t\"]",
        "[1,2,3,tru]",
        "\"\\uD834\\uDC0x\"",
        "[\"\xE2\x28\xA1\"]",
    };
    (void)state;
    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        size_t len = strlen(docs[d]);
        result whole = one_shot(docs[d], len, 0);
        for (size_t i = 0; i <= len; i++)
            for (size_t j = i; j <= len; j++) {
                ajio_json_checker *c;
                result r;
                memset(&r, 0, sizeof(r));
                assert_int_equal(ajio_json_checker_new(&c, 0, 0), 0);
                r.rc = ajio_json_feed(c, docs[d], i);
                if (!r.rc)
                    r.rc = ajio_json_feed(c, docs[d] + i, j - i);
                if (!r.rc)
                    r.rc = ajio_json_feed(c, docs[d] + j, len - j);
                if (!r.rc)
                    r.rc = ajio_json_finish(c);
                ajio_json_checker_error(c, &r.err);
                ajio_json_checker_free(c);
                assert_same(&whole, &r, docs[d]);
            }
    }
}

int main(void)
{
    struct stat st;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsontestsuite_y_n),
        cmocka_unit_test(test_jsontestsuite_i_decisions),
        cmocka_unit_test(test_jsonchecker),
        cmocka_unit_test(test_json_bench_documents),
        cmocka_unit_test(test_own_cases),
        cmocka_unit_test(test_error_positions),
        cmocka_unit_test(test_surrogate_escapes),
        cmocka_unit_test(test_big_numbers_accepted),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_utf8_classes),
        cmocka_unit_test(test_utf8_exhaustive_prefixes),
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_depth_custom),
        cmocka_unit_test(test_api),
        cmocka_unit_test(test_every_split_point),
    };

    if (stat(test_data(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr,
                "test_json_check: FAIL: test data directory %s is missing (it is committed in "
                "tests/data; run from the repo root, or set AJIO_TEST_DATA)\n",
                test_data());
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}

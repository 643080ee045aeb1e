/*
 * test_json_check.c - the strict streaming JSON/JSONL validator (src/json_check.c).
 *
 * Conformance data comes from the committed third-party data directory: $AJIO_TEST_DATA, else
 * "tests/data" relative to the current directory (tests run from the repo root; see
 * tests/data/README.md). It must exist: a missing directory fails the test instead of skipping
 * it, and the y_/n_/i_ counts are asserted so a half-copied suite cannot pass either.
 *
 * Our own cases are files too (tests/cases/README.md): each invalid input has its expected
 * "LINE:COLUMN: REASON" in a .error file beside it.
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
#include "lib/chunks.h"

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

typedef chunks_result result;

static result one_shot(const void *buf, size_t len, unsigned flags)
{
    result r;

    memset(&r, 0, sizeof(r));
    r.rc = ajio_json_validate(buf, len, flags, &r.err);
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
static result check_file(const char *path, unsigned flags)
{
    size_t len;
    char *buf = slurp(path, &len);
    result whole = one_shot(buf, len, flags);
    result r = chunks_validate(buf, len, flags, 0, 0);

    assert_same(&whole, &r, path);
    for (uint32_t seed = 1; seed <= 4; seed++) {
        r = chunks_validate(buf, len, flags, 0, seed * 2654435761u);
        assert_same(&whole, &r, path);
    }
    if (whole.rc != 0)
        assert_true(whole.err.reason[0] != '\0');
    free(buf);
    return whole;
}

/* Every file of dir with prefix must give rc; returns how many there were. */
static size_t check_dir(const char *dir, const char *prefix, const char *suffix, unsigned flags,
                        int want_rc)
{
    char **names, path[2048];
    size_t n = list_dir(dir, prefix, suffix, &names);

    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        int rc = check_file(path, flags).rc;
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
        int rc = check_file(path, 0).rc;
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
        if (check_file(path, 0).rc != want)
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
        assert_int_equal(check_file(path, 0).rc, 0);
    }
}

static void test_own_valid_cases(void **state)
{
    (void)state;
    assert_true(check_dir("tests/cases/json/valid", "", ".json", 0, 0) >= 5);
    assert_true(check_dir("tests/cases/jsonl/valid", "", ".jsonl", AJIO_JSON_LINES, 0) >= 3);
}

/* ---- error positions and reasons: tests/cases/<kind>/{invalid,torn}/NAME.error -------------- */

/* What a .error file holds: "LINE:COLUMN: REASON". */
static void format_error(const result *r, char *buf, size_t size)
{
    snprintf(buf, size, "%llu:%llu: %s", (unsigned long long)r->err.line,
             (unsigned long long)r->err.column, r->err.reason);
}

/* The offset of line:column in buf (lines start after '\n' only), or -1 past the end. */
static uint64_t offset_of(const char *buf, size_t len, uint64_t line, uint64_t column)
{
    size_t start = 0;

    for (uint64_t l = 1; l < line; l++) {
        const char *nl = memchr(buf + start, '\n', len - start);
        if (!nl)
            return (uint64_t)-1;
        start = (size_t)(nl - buf) + 1;
    }
    return start + column - 1;
}

/*
 * The case input must give want_rc, whole and in chunks, with exactly the error of the one line
 * of error_path (without its '\n'); the error's byte offset must be where its line and column
 * point. want_rc 0: the input must be accepted (there is no error file).
 */
static void check_case(const char *input, const char *error_path, unsigned flags, int want_rc)
{
    char got[256], *want, *buf;
    size_t len, wlen;
    result r = check_file(input, flags);

    if (want_rc == 0) {
        if (r.rc != 0)
            fail_msg("%s (flags 0x%x): rejected, expected accepted: %s", input, flags,
                     r.err.reason);
        return;
    }
    want = slurp(error_path, &wlen);
    if (wlen == 0 || want[wlen - 1] != '\n' || memchr(want, '\n', wlen - 1))
        fail_msg("%s: must be one line ending in a newline", error_path);
    want[wlen - 1] = '\0';
    format_error(&r, got, sizeof(got));
    if (r.rc != want_rc || strcmp(got, want) != 0)
        fail_msg("%s (flags 0x%x): got %s \"%s\", expected %s \"%s\" (%s)", input, flags,
                 ajio_err_name(r.rc), got, ajio_err_name(want_rc), want, error_path);
    buf = slurp(input, &len);
    if (offset_of(buf, len, r.err.line, r.err.column) != r.err.offset)
        fail_msg("%s: error offset %llu is not at %s", input, (unsigned long long)r.err.offset,
                 got);
    free(want);
    free(buf);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/*
 * Every input NAME.ext of dir must give want_rc with the error of NAME.error. In a torn directory
 * (want_rc AJIO_ETORN) the same input with AJIO_JSON_ALLOW_UNTERMINATED too: rejected with the
 * error of NAME.unterminated.error where there is one, accepted where there is none. A .error file
 * without its input fails. Returns the number of inputs.
 */
static size_t check_invalid_dir(const char *dir, const char *ext, unsigned flags, int want_rc)
{
    char **names, base[1024], input[2048], error[2048];
    size_t n = list_dir(dir, "", ext, &names), nerr;

    for (size_t i = 0; i < n; i++) {
        snprintf(base, sizeof(base), "%s/%.*s", dir, (int)(strlen(names[i]) - strlen(ext)),
                 names[i]);
        snprintf(input, sizeof(input), "%s/%s", dir, names[i]);
        snprintf(error, sizeof(error), "%s.error", base);
        if (!exists(error))
            fail_msg("%s: no expected error %s", input, error);
        check_case(input, error, flags, want_rc);
        if (want_rc == AJIO_ETORN) {
            snprintf(error, sizeof(error), "%s.unterminated.error", base);
            check_case(input, error, flags | AJIO_JSON_ALLOW_UNTERMINATED,
                       exists(error) ? AJIO_EJSON : 0);
        }
    }
    free_list(names, n);
    nerr = list_dir(dir, "", ".error", &names);
    for (size_t i = 0; i < nerr; i++) {
        char *dot = strchr(names[i], '.');
        snprintf(input, sizeof(input), "%s/%.*s%s", dir, (int)(dot - names[i]), names[i], ext);
        if (!exists(input))
            fail_msg("%s/%s: no input %s", dir, names[i], input);
    }
    free_list(names, nerr);
    return n;
}

static void test_invalid_json_cases(void **state)
{
    (void)state;
    assert_true(check_invalid_dir("tests/cases/json/invalid", ".json", 0, AJIO_EJSON) >= 80);
}

static void test_invalid_jsonl_cases(void **state)
{
    (void)state;
    assert_true(check_invalid_dir("tests/cases/jsonl/invalid", ".jsonl", AJIO_JSON_LINES,
                                  AJIO_EJSON) >= 13);
}

static void test_torn_jsonl_cases(void **state)
{
    (void)state;
    assert_true(
        check_invalid_dir("tests/cases/jsonl/torn", ".jsonl", AJIO_JSON_LINES, AJIO_ETORN) >= 5);
}

/* ---- every i_ decision, spelled out --------------------------------------------------------- */

/* Each string must be accepted, whole and byte by byte, with the same result. */
static void check_accepted(const char *const *docs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        result r = one_shot(docs[i], strlen(docs[i]), 0);
        result b = chunks_validate(docs[i], strlen(docs[i]), 0, 0, 0);
        if (r.rc != 0)
            fail_msg("case %zu \"%s\": rejected: %s", i, docs[i], r.err.reason);
        assert_same(&r, &b, docs[i]);
    }
}

static void test_surrogate_escapes(void **state)
{
    /* The rejected ones, each with its error: the surrogate cases of tests/cases/json/invalid. */
    static const char *const ok[] = {
        "\"\\uD834\\uDD1E\"", "\"\\uDBFF\\uDFFF\"", "\"\\uD800\\uDC00\"", "\"\\uD7FF\\uE000\"",
        "\"\\u0000\"",        "\"\\uFFFF\"",        "\"\\ud834\\udd1e\"",
    };
    (void)state;
    check_accepted(ok, sizeof(ok) / sizeof(ok[0]));
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
    /* A leading BOM (UTF-8 or UTF-16) is rejected: the bom cases of tests/cases/json{,l}/invalid */
    (void)state;
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
    /* Each invalid class, with its error: the utf8 cases of tests/cases/json/invalid. */
    (void)state;
    check_accepted(ok, sizeof(ok) / sizeof(ok[0]));
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
            result r = one_shot(buf, 2 + len, 0), s = chunks_validate(buf, 2 + len, 0, 0, 0);
            if ((r.rc == 0) != valid)
                fail_msg("0x%02X 0x%02X: rc %d, reference says %s", a, b, r.rc,
                         valid ? "valid" : "invalid");
            assert_same(&r, &s, "utf8");
        }
}

/* ---- JSONL ---------------------------------------------------------------------------------- */

static void test_jsonl(void **state)
{
    /* Blank, torn and multi-line inputs and their errors: tests/cases/jsonl/{invalid,torn}/. */
    result r;
    (void)state;

    /* empty input: valid, 0 values (JSON documents: "empty input") */
    r = chunks_validate("", 0, AJIO_JSON_LINES, 0, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 0);

    /* CRLF, padding, count */
    r = chunks_validate("{\"a\":1}\r\n [2] \t\r\n\"x\"\n-1.5e3\ntrue\n", 33, AJIO_JSON_LINES, 0, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 5);

    /* torn tail: the count holds the complete lines only */
    r = chunks_validate("1\n2\n3", 5, AJIO_JSON_LINES, 0, 0);
    assert_int_equal(r.rc, AJIO_ETORN);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.err.offset, 5);

    /* ALLOW_UNTERMINATED: the complete last line counts, a number ending at EOF included */
    r = chunks_validate("1\n2\n3", 5, AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED, 0, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 3);
    r = chunks_validate("1\n2\n3\n", 6, AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED, 0, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 3);
    r = chunks_validate("[1]\r", 4, AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED, 0, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 1);
    r = chunks_validate("[1]\r", 4, AJIO_JSON_LINES, 0, 0);
    assert_int_equal(r.rc, AJIO_ETORN);

    /* JSON documents count their one value */
    r = chunks_validate(" 12 ", 4, 0, 0, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 1);
    r = chunks_validate("12", 2, 0, 0, 0);
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
    assert_int_equal(chunks_validate(s, 2048, 0, 0, 0).rc, 0);
    free(s);

    s = nested(1025, '[', ']');
    r = one_shot(s, 2050, 0);
    assert_int_equal(r.rc, AJIO_EJSON);
    assert_string_equal(r.err.reason, "nesting deeper than 1024");
    assert_int_equal(r.err.offset, 1024);
    assert_int_equal(r.err.column, 1025);
    {
        result b = chunks_validate(s, 2050, 0, 0, 3);
        assert_same(&r, &b, "depth 1025");
    }
    free(s);
}

static void test_depth_custom(void **state)
{
    const char *objs = "{\"a\":{\"b\":[{}]}}"; /* depth 4 */
    result r;
    (void)state;

    assert_int_equal(chunks_validate(objs, strlen(objs), 0, 4, 0).rc, 0);
    r = chunks_validate(objs, strlen(objs), 0, 3, 7);
    assert_int_equal(r.rc, AJIO_EJSON);
    assert_string_equal(r.err.reason, "nesting deeper than 3");
    assert_int_equal(r.err.offset, 11);
    /* max_depth 1: scalars and flat containers only */
    assert_int_equal(chunks_validate("[1,2]", 5, 0, 1, 0).rc, 0);
    assert_int_equal(chunks_validate("[[]]", 4, 0, 1, 0).rc, AJIO_EJSON);
    /* deep nesting with a large limit */
    char *s = nested(100000, '[', ']');
    assert_int_equal(chunks_validate(s, 200000, 0, 100000, 12345).rc, 0);
    assert_int_equal(chunks_validate(s, 200000, 0, 99999, 12345).rc, AJIO_EJSON);
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
    assert_int_equal(ajio_json_validate("1", 1, 1u << 10, NULL), -EINVAL);
    assert_int_equal(ajio_json_checker_feed(NULL, "1", 1), -EINVAL);
    assert_int_equal(ajio_json_checker_finish(NULL), -EINVAL);
    assert_int_equal(ajio_json_checker_error(NULL, &e), -EINVAL);
    assert_int_equal(ajio_json_checker_count(NULL), 0);
    ajio_json_checker_free(NULL);

    assert_int_equal(ajio_json_checker_new(&c, 0, 0), 0);
    assert_int_equal(ajio_json_checker_error(c, NULL), -EINVAL);
    assert_int_equal(ajio_json_checker_feed(c, NULL, 1), -EINVAL);
    assert_int_equal(ajio_json_checker_feed(c, NULL, 0), 0);
    assert_int_equal(ajio_json_checker_feed(c, "[1,", 3), 0);
    assert_int_equal(ajio_json_checker_error(c, &e), 0); /* no error yet: zeroed */
    assert_int_equal(e.offset, 0);
    assert_string_equal(e.reason, "");
    assert_int_equal(ajio_json_checker_feed(c, "x", 1), AJIO_EJSON);
    /* sticky: later feeds and finish return the first error, and it does not move */
    assert_int_equal(ajio_json_checker_feed(c, "2]", 2), AJIO_EJSON);
    assert_int_equal(ajio_json_checker_finish(c), AJIO_EJSON);
    assert_int_equal(ajio_json_checker_error(c, &e), 0);
    assert_int_equal(e.offset, 3);
    assert_string_equal(e.reason, "expected a value, found 'x'");
    ajio_json_checker_free(c);

    /* finish is idempotent; feeding after it is a usage error */
    assert_int_equal(ajio_json_checker_new(&c, 0, 0), 0);
    assert_int_equal(ajio_json_checker_feed(c, "{}", 2), 0);
    assert_int_equal(ajio_json_checker_finish(c), 0);
    assert_int_equal(ajio_json_checker_finish(c), 0);
    assert_int_equal(ajio_json_checker_feed(c, " ", 1), -EINVAL);
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
                r.rc = ajio_json_checker_feed(c, docs[d], i);
                if (!r.rc)
                    r.rc = ajio_json_checker_feed(c, docs[d] + i, j - i);
                if (!r.rc)
                    r.rc = ajio_json_checker_feed(c, docs[d] + j, len - j);
                if (!r.rc)
                    r.rc = ajio_json_checker_finish(c);
                ajio_json_checker_error(c, &r.err);
                ajio_json_checker_free(c);
                assert_same(&whole, &r, docs[d]);
            }
    }
}

/*
 * Under AJIO_KERNEL (tests/json_kernels.sh runs this once per kernel) the kernel must be the one
 * named, or one this CPU lacks: then the run is skipped (exit 77) with the reason as last line.
 */
static int forced_kernel(void)
{
    const char *want = getenv("AJIO_KERNEL");

    if (!want || !*want)
        return 0;
    for (int k = 0; k < AJIO__KERNEL_COUNT; k++) {
        if (strcmp(want, ajio__kernel_name(k)) != 0)
            continue;
        if (k > ajio__kernel_best()) {
            printf("not on this CPU (it runs up to %s): skipped\n",
                   ajio__kernel_name(ajio__kernel_best()));
            return 77;
        }
        if (ajio__kernel() != k) {
            fprintf(stderr, "test_json_check: FAIL: AJIO_KERNEL=%s runs %s\n", want,
                    ajio__kernel_name(ajio__kernel()));
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "test_json_check: FAIL: AJIO_KERNEL=%s names no kernel\n", want);
    return 1;
}

int main(void)
{
    struct stat st;
    int forced = forced_kernel();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsontestsuite_y_n),
        cmocka_unit_test(test_jsontestsuite_i_decisions),
        cmocka_unit_test(test_jsonchecker),
        cmocka_unit_test(test_json_bench_documents),
        cmocka_unit_test(test_own_valid_cases),
        cmocka_unit_test(test_invalid_json_cases),
        cmocka_unit_test(test_invalid_jsonl_cases),
        cmocka_unit_test(test_torn_jsonl_cases),
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

    if (forced)
        return forced;
    if (stat(test_data(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr,
                "test_json_check: FAIL: test data directory %s is missing (it is committed in "
                "tests/data; run from the repo root, or set AJIO_TEST_DATA)\n",
                test_data());
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_json_gen.c - the JSON generator (src/json_gen.c, src/json_number.c): every value kind and
 * layout option byte for byte (expected files in tests/cases/gen/, written by Python's own json
 * module: see make_expected.py there), strict UTF-8, doubles against Python's repr(), glibc's
 * "%.Ng" and the shortest-digits oracle of tests/lib/doubles.h, misuse and incomplete documents
 * refused with the target untouched, and every output accepted by the validator.
 */
#include "adapter_util.h"
#include "lib/doubles.h"

#include <float.h>
#include <locale.h>
#include <math.h>

#define CASES "tests/cases/gen/"
#define OLD_TEXT "old content\n"

/* ---- helpers ------------------------------------------------------------------------------ */

/* The file at p holds exactly want[0..wlen); else fails with the first difference shown. */
#define assert_bytes au_assert_same_bytes
#define assert_text(p, lit) assert_bytes(p, lit, sizeof(lit) - 1, "\"" lit "\"")

static void assert_same_as(const char *p, const char *expected)
{
    size_t wlen = 0;
    char *want = tu_read(expected, &wlen);

    if (want == NULL)
        fail_msg("%s: %s (run from the repo root)", expected, strerror(errno));
    assert_bytes(p, want, wlen, expected);
    free(want);
}

static void assert_message_has(const char *part)
{
    if (strstr(ajio_last_error(), part) == NULL)
        fail_msg("message \"%s\" does not say \"%s\"", ajio_last_error(), part);
}

/* The output of a successful write is valid JSON (JSON Lines with lines). */
static void assert_valid(const char *p, int lines)
{
    size_t len = 0;
    char *text = tu_read(p, &len);
    ajio_json_error je;

    assert_non_null(text);
    if (ajio_json_validate(text, len, lines ? AJIO_JSON_LINES : 0, &je) != 0)
        fail_msg("%s is not valid %s: %llu:%llu: %s", p, lines ? "JSONL" : "JSON",
                 (unsigned long long)je.line, (unsigned long long)je.column, je.reason);
    free(text);
}

/* Opens p and attaches a generator; both must succeed. */
static ajio_gen *open_gen(ajio_file **f, const char *p, const ajio_opts *o, const ajio_gen_opts *go)
{
    ajio_gen *g = NULL;

    tu_assert_ok(ajio_file_open(f, p, o));
    tu_assert_ok(ajio_gen_new(&g, *f, go));
    assert_non_null(g);
    return g;
}

static int key(ajio_gen *g, const char *k)
{
    return ajio_gen_key(g, k, strlen(k));
}

static int str(ajio_gen *g, const char *s)
{
    return ajio_gen_string(g, s, strlen(s));
}

/* The name of the value of make_expected.py: every kind of character a string can hold. */
#define NAME "caf\xc3\xa9 \"q\" \\ / \xe2\x80\xa8 \xf0\x9f\x98\x80 \x7f \x01\x1f\b\f\n\r\t end"

/* VALUE["nested"]: [1, [2, [3, {}]], {"k": [null, "x"]}], element by element. */
static void build_nested_elements(ajio_gen *g, int i)
{
    switch (i) {
    case 0:
        tu_assert_ok(ajio_gen_int64(g, 1));
        break;
    case 1:
        tu_assert_ok(ajio_gen_begin_array(g));
        tu_assert_ok(ajio_gen_int64(g, 2));
        tu_assert_ok(ajio_gen_begin_array(g));
        tu_assert_ok(ajio_gen_uint64(g, 3));
        tu_assert_ok(ajio_gen_begin_object(g));
        tu_assert_ok(ajio_gen_end_object(g));
        tu_assert_ok(ajio_gen_end_array(g));
        tu_assert_ok(ajio_gen_end_array(g));
        break;
    default:
        tu_assert_ok(ajio_gen_begin_object(g));
        tu_assert_ok(key(g, "k"));
        tu_assert_ok(ajio_gen_begin_array(g));
        tu_assert_ok(ajio_gen_null(g));
        tu_assert_ok(str(g, "x"));
        tu_assert_ok(ajio_gen_end_array(g));
        tu_assert_ok(ajio_gen_end_object(g));
    }
}

/* VALUE of make_expected.py, through the generator. */
static void build_value(ajio_gen *g)
{
    tu_assert_ok(ajio_gen_begin_object(g));
    tu_assert_ok(key(g, "name"));
    tu_assert_ok(str(g, NAME));
    tu_assert_ok(key(g, "int"));
    tu_assert_ok(ajio_gen_int64(g, INT64_MIN));
    tu_assert_ok(key(g, "big"));
    tu_assert_ok(ajio_gen_uint64(g, UINT64_MAX));
    tu_assert_ok(key(g, "pi"));
    tu_assert_ok(ajio_gen_double(g, 3.141592653589793));
    tu_assert_ok(key(g, "tiny"));
    tu_assert_ok(ajio_gen_double(g, 1.5e-07));
    tu_assert_ok(key(g, "huge"));
    tu_assert_ok(ajio_gen_double(g, 1e16));
    tu_assert_ok(key(g, "one"));
    tu_assert_ok(ajio_gen_double(g, 1.0));
    tu_assert_ok(key(g, "neg0"));
    tu_assert_ok(ajio_gen_double(g, -0.0));
    tu_assert_ok(key(g, "t"));
    tu_assert_ok(ajio_gen_bool(g, 7));
    tu_assert_ok(key(g, "f"));
    tu_assert_ok(ajio_gen_bool(g, 0));
    tu_assert_ok(key(g, "n"));
    tu_assert_ok(ajio_gen_null(g));
    tu_assert_ok(key(g, "empty_a"));
    tu_assert_ok(ajio_gen_begin_array(g));
    tu_assert_ok(ajio_gen_end_array(g));
    tu_assert_ok(key(g, "empty_o"));
    tu_assert_ok(ajio_gen_begin_object(g));
    tu_assert_ok(ajio_gen_end_object(g));
    tu_assert_ok(key(g, "nested"));
    tu_assert_ok(ajio_gen_begin_array(g));
    for (int i = 0; i < 3; i++)
        build_nested_elements(g, i);
    tu_assert_ok(ajio_gen_end_array(g));
    tu_assert_ok(ajio_gen_key(g, "", 0));
    tu_assert_ok(str(g, "empty key"));
    tu_assert_ok(ajio_gen_end_object(g));
}

/* The value written to p with go over handle options o; committed. */
static void write_value(const char *p, const ajio_opts *o, const ajio_gen_opts *go)
{
    ajio_file *f;
    ajio_gen *g = open_gen(&f, p, o, go);

    build_value(g);
    tu_assert_ok(ajio_file_commit(f));
}

/* ---- layouts ------------------------------------------------------------------------------ */

static const struct {
    const char *file;
    ajio_gen_opts opts;
} layouts[] = {
    {"default.json", {0}},
    {"py-default.json", {.flags = AJIO_GEN_PYTHON_ESCAPES | AJIO_GEN_NO_NEWLINE}},
    {"py-utf8.json", {.flags = AJIO_GEN_LOWER_HEX | AJIO_GEN_NO_NEWLINE}},
    {"py-indent2.json",
     {.flags = AJIO_GEN_PRETTY | AJIO_GEN_PYTHON_ESCAPES | AJIO_GEN_NO_NEWLINE, .indent = 2}},
    {"py-indent0.json", {.flags = AJIO_GEN_PRETTY | AJIO_GEN_PYTHON_ESCAPES | AJIO_GEN_NO_NEWLINE}},
    {"py-compact.json",
     {.flags = AJIO_GEN_COMPACT | AJIO_GEN_PYTHON_ESCAPES | AJIO_GEN_NO_NEWLINE}},
    {"py-seps.json",
     {.flags = AJIO_GEN_PRETTY | AJIO_GEN_PYTHON_ESCAPES | AJIO_GEN_NO_NEWLINE,
      .indent = 3,
      .item_sep = " ,",
      .key_sep = " : "}},
};

/*
 * Every layout of Python's json.dumps() the header promises, byte for byte, on the handle's
 * buffer and (AJIO_SKIP_UNCHANGED, AJIO_JSON) through ajio_file_write(): the same bytes either way.
 */
static void test_layouts(void **state)
{
    const char *p = tu_path(*state, "out.json");
    const ajio_opts skip = {.flags = AJIO_SKIP_UNCHANGED};

    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
        char want[256];

        snprintf(want, sizeof(want), CASES "%s", layouts[i].file);
        write_value(p, NULL, &layouts[i].opts);
        assert_same_as(p, want);
        assert_valid(p, 0);
        /* The staged path compares with the old file as it goes: the very same bytes. */
        {
            ajio_file *f;
            ajio_gen *g = open_gen(&f, p, &skip, &layouts[i].opts);
            build_value(g);
            assert_int_equal(ajio_file_commit(f), AJIO_UNCHANGED);
        }
    }
    /* NULL options are the zero options. */
    write_value(p, NULL, NULL);
    assert_same_as(p, CASES "default.json");
    /* A handle that validates (AJIO_JSON) gets the same document through ajio_file_write(). */
    {
        const ajio_opts json = {.flags = AJIO_JSON};
        write_value(p, &json, &layouts[3].opts);
        /* AJIO_JSON ends a file with '\n', which json.dumps() does not write */
        size_t wlen = 0;
        char *want = tu_read(CASES "py-indent2.json", &wlen);
        assert_non_null(want);
        want = realloc(want, wlen + 1);
        want[wlen] = '\n';
        assert_bytes(p, want, wlen + 1, "py-indent2.json and '\\n'");
        free(want);
    }
    assert_int_equal(tu_count_temps(*state), 0);
}

/* JSON Lines: one compact value per line; none at all is an empty file. */
static void test_lines(void **state)
{
    const char *p = tu_path(*state, "out.jsonl");
    const ajio_gen_opts lines = {.flags = AJIO_GEN_LINES | AJIO_GEN_PYTHON_ESCAPES};
    const ajio_opts jsonl = {.flags = AJIO_JSONL};
    ajio_file *f;
    ajio_gen *g;

    for (int pass = 0; pass < 2; pass++) {
        g = open_gen(&f, p, pass == 0 ? NULL : &jsonl, &lines);
        for (int i = 0; i < 3; i++)
            build_nested_elements(g, i);
        tu_assert_ok(str(g, NAME));
        build_value(g);
        tu_assert_ok(ajio_file_commit(f));
        assert_same_as(p, CASES "lines.jsonl");
        assert_valid(p, 1);
    }

    tu_put(p, OLD_TEXT, 0644);
    g = open_gen(&f, p, NULL, &lines);
    tu_assert_ok(ajio_file_commit(f));
    assert_bytes(p, "", 0, "an empty file");

    /* Separators of one's own, on one line each. */
    {
        const ajio_gen_opts spaced = {.flags = AJIO_GEN_LINES, .item_sep = ", ", .key_sep = ": "};
        g = open_gen(&f, p, NULL, &spaced);
        build_nested_elements(g, 2);
        build_nested_elements(g, 1);
        tu_assert_ok(ajio_file_commit(f));
        assert_text(p, "{\"k\": [null, \"x\"]}\n[2, [3, {}]]\n");
    }
}

/* Bytes already in the handle stay in front of the generator's. */
static void test_after_raw_bytes(void **state)
{
    const char *p = tu_path(*state, "out.jsonl");
    const ajio_gen_opts lines = {.flags = AJIO_GEN_LINES};
    ajio_file *f;
    ajio_gen *g;

    tu_assert_ok(ajio_file_open(&f, p, NULL));
    tu_assert_ok(ajio_file_write(f, "{\"first\":true}\n", 15));
    tu_assert_ok(ajio_gen_new(&g, f, &lines));
    tu_assert_ok(ajio_gen_int64(g, 2));
    /* ajio_file_write() is refused while a generator is attached, and that is not sticky */
    tu_assert_fails(ajio_file_write(f, "x", 1), -EINVAL, "generator");
    tu_assert_fails(ajio_file_printf(f, "%d", 3), -EINVAL, "generator");
    tu_assert_ok(ajio_gen_int64(g, 3));
    tu_assert_ok(ajio_file_commit(f));
    assert_text(p, "{\"first\":true}\n2\n3\n");
}

/* ---- values ------------------------------------------------------------------------------- */

/* One compact line from the calls in body. */
#define ONE_LINE(p, go, ...)                                                                       \
    do {                                                                                           \
        ajio_file *f_;                                                                             \
        ajio_gen *g = open_gen(&f_, (p), NULL, (go));                                              \
        __VA_ARGS__;                                                                               \
        tu_assert_ok(ajio_file_commit(f_));                                                             \
    } while (0)

static void test_value_kinds(void **state)
{
    const char *p = tu_path(*state, "v.json");
    const ajio_gen_opts compact = {.flags = AJIO_GEN_COMPACT};

    ONE_LINE(p, &compact, {
        tu_assert_ok(ajio_gen_begin_array(g));
        tu_assert_ok(ajio_gen_int64(g, 0));
        tu_assert_ok(ajio_gen_int64(g, -1));
        tu_assert_ok(ajio_gen_int64(g, 10));
        tu_assert_ok(ajio_gen_int64(g, INT64_MAX));
        tu_assert_ok(ajio_gen_int64(g, INT64_MIN));
        tu_assert_ok(ajio_gen_uint64(g, 0));
        tu_assert_ok(ajio_gen_uint64(g, UINT64_MAX));
        tu_assert_ok(ajio_gen_bool(g, 1));
        tu_assert_ok(ajio_gen_bool(g, 0));
        tu_assert_ok(ajio_gen_null(g));
        tu_assert_ok(ajio_gen_string(g, NULL, 0));
        tu_assert_ok(ajio_gen_string(g, "a\0b", 3));
        tu_assert_ok(ajio_gen_number(g, "-0.5e+10", 8));
        tu_assert_ok(ajio_gen_number(g, "123456789012345678901234567890", 30));
        tu_assert_ok(ajio_gen_raw(g, " {\"a\" : [1, 2]}\t", 16));
        tu_assert_ok(ajio_gen_double(g, 0.1));
        tu_assert_ok(ajio_gen_begin_object(g));
        tu_assert_ok(ajio_gen_key(g, "k\0ey", 4));
        tu_assert_ok(ajio_gen_begin_object(g));
        tu_assert_ok(ajio_gen_end_object(g));
        tu_assert_ok(key(g, "2"));
        tu_assert_ok(ajio_gen_begin_array(g));
        tu_assert_ok(ajio_gen_end_array(g));
        tu_assert_ok(ajio_gen_end_object(g));
        tu_assert_ok(ajio_gen_end_array(g));
    });
    assert_text(p, "[0,-1,10,9223372036854775807,-9223372036854775808,0,18446744073709551615,"
                   "true,false,null,\"\",\"a\\u0000b\",-0.5e+10,123456789012345678901234567890,"
                   " {\"a\" : [1, 2]}\t,0.1,{\"k\\u0000ey\":{},\"2\":[]}]\n");
    assert_valid(p, 0);
    /* A scalar is a document too; without the newline when asked. */
    const ajio_gen_opts bare = {.flags = AJIO_GEN_NO_NEWLINE};
    ONE_LINE(p, &bare, tu_assert_ok(str(g, "x")));
    assert_text(p, "\"x\"");
    ONE_LINE(p, NULL, tu_assert_ok(ajio_gen_double(g, -2.5)));
    assert_text(p, "-2.5\n");
}

/* Every escape and every flag that changes one. */
static void test_escapes(void **state)
{
    const char *p = tu_path(*state, "e.json");
    const char *s = "\x01\x1f\x7f\"\\/\b\f\n\r\t \xc3\xa9\xe2\x80\xa8\xef\xbf\xbf\xf0\x9f\x98\x80"
                    "\xf4\x8f\xbf\xbf";
    static const struct {
        unsigned flags;
        const char *want;
    } cases[] = {
        {0, "\"\\u0001\\u001F\x7f\\\"\\\\/\\b\\f\\n\\r\\t \xc3\xa9\xe2\x80\xa8\xef\xbf\xbf"
            "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"\n"},
        {AJIO_GEN_ESCAPE_SLASH, "\"\\u0001\\u001F\x7f\\\"\\\\\\/\\b\\f\\n\\r\\t \xc3\xa9"
                                "\xe2\x80\xa8\xef\xbf\xbf\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"\n"},
        {AJIO_GEN_LOWER_HEX | AJIO_GEN_ESCAPE_DEL,
         "\"\\u0001\\u001f\\u007f\\\"\\\\/\\b\\f\\n\\r\\t \xc3\xa9\xe2\x80\xa8\xef\xbf\xbf"
         "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"\n"},
        {AJIO_GEN_ENSURE_ASCII, "\"\\u0001\\u001F\x7f\\\"\\\\/\\b\\f\\n\\r\\t \\u00E9\\u2028"
                                "\\uFFFF\\uD83D\\uDE00\\uDBFF\\uDFFF\"\n"},
        {AJIO_GEN_PYTHON_ESCAPES, "\"\\u0001\\u001f\\u007f\\\"\\\\/\\b\\f\\n\\r\\t \\u00e9\\u2028"
                                  "\\uffff\\ud83d\\ude00\\udbff\\udfff\"\n"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ajio_gen_opts go = {.flags = cases[i].flags};
        ONE_LINE(p, &go, tu_assert_ok(str(g, s)));
        assert_bytes(p, cases[i].want, strlen(cases[i].want), "the escapes of that flag set");
        assert_valid(p, 0);
        /* Keys are escaped the same way. */
        ONE_LINE(p, &go, {
            tu_assert_ok(ajio_gen_begin_object(g));
            tu_assert_ok(key(g, s));
            tu_assert_ok(ajio_gen_null(g));
            tu_assert_ok(ajio_gen_end_object(g));
        });
        size_t len = 0;
        char *got = tu_read(p, &len);
        size_t wl = strlen(cases[i].want) - 1; /* without its '\n' */
        assert_true(len == wl + 9);
        assert_memory_equal(got + 1, cases[i].want, wl);
        free(got);
    }
}

/* Strict UTF-8: every malformed form refused in a string and in a key, its neighbour accepted. */
static void test_utf8(void **state)
{
    static const struct {
        const char *bad, *good; /* a malformed sequence, and the nearest well-formed one */
    } forms[] = {
        {"\x80", "\xc2\x80"},                     /* lone continuation byte / U+0080 */
        {"\xc0\xaf", "\xdf\xbf"},                 /* overlong '/' / U+07FF */
        {"\xc1\xbf", "\xc2\xbf"},                 /* overlong, two bytes */
        {"\xe0\x80\xaf", "\xe0\xa0\x80"},         /* overlong, three bytes / U+0800 */
        {"\xf0\x80\x80\xaf", "\xf0\x90\x80\x80"}, /* overlong, four bytes / U+10000 */
        {"\xed\xa0\x80", "\xed\x9f\xbf"},         /* surrogate U+D800 / U+D7FF */
        {"\xed\xbf\xbf", "\xee\x80\x80"},         /* surrogate U+DFFF / U+E000 */
        {"\xf4\x90\x80\x80", "\xf4\x8f\xbf\xbf"}, /* above U+10FFFF / U+10FFFF */
        {"\xf5\x80\x80\x80", "\xf1\x80\x80\x80"}, /* lead byte 0xF5 */
        {"\xff", "\xc3\xbf"},                     /* never in UTF-8 */
        {"\xe2\x82", "\xe2\x82\xac"},             /* cut short */
        {"\xe2\x28\xa1", "\xe2\x82\xa1"},         /* bad second byte */
        {"\xf0\x9f\x98", "\xf0\x9f\x98\x80"},     /* four-byte form cut short */
    };
    const char *dir = *state;
    const char *p = tu_path(dir, "u.json");

    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        for (int good = 0; good <= 1; good++) {
            for (int as_key = 0; as_key <= 1; as_key++) {
                for (unsigned fl = 0; fl <= AJIO_GEN_ENSURE_ASCII; fl += AJIO_GEN_ENSURE_ASCII) {
                    char text[64], want[128];
                    const ajio_gen_opts go = {.flags = fl};
                    ajio_file *f;
                    ajio_gen *g;
                    int r;

                    /* the sequence at the end of the string: cut-short forms are cut short */
                    snprintf(text, sizeof(text), "ab%s", good ? forms[i].good : forms[i].bad);
                    tu_put(p, OLD_TEXT, 0644);
                    g = open_gen(&f, p, NULL, &go);
                    tu_assert_ok(ajio_gen_begin_object(g));
                    r = as_key ? key(g, text) : (key(g, "k") == 0 ? str(g, text) : -1);
                    if (good) {
                        tu_assert_ok(r);
                        tu_assert_ok(as_key ? ajio_gen_null(g) : 0);
                        tu_assert_ok(ajio_gen_end_object(g));
                        tu_assert_ok(ajio_file_commit(f));
                        assert_valid(p, 0);
                        continue;
                    }
                    tu_assert_fails(r, AJIO_EJSON, p);
                    snprintf(want, sizeof(want), "%s is not valid UTF-8 (byte 0x%02X at offset 2)",
                             as_key ? "an object key" : "a string", (unsigned char)forms[i].bad[0]);
                    assert_message_has(want);
                    assert_message_has(as_key ? "(at .)" : "(at .k)");
                    tu_assert_fails(ajio_file_commit(f), AJIO_EJSON, p);
                    tu_assert_content(p, OLD_TEXT, strlen(OLD_TEXT));
                    assert_int_equal(tu_count_temps(dir), 0);
                }
            }
        }
    }
}

/* ---- doubles ------------------------------------------------------------------------------ */

/* jansson's reals, the reference for every precision: snprintf("%.*g") and jansson's fixups. */
static size_t ref_precision(char *out, double d, int prec)
{
    char buf[80];
    int n = snprintf(buf, sizeof(buf), "%.*g", prec, d);
    size_t len = 0;
    int point = 0, exp = 0;

    for (int i = 0; i < n; i++) {
        char c = buf[i];
        if ((c >= '0' && c <= '9') || c == '-') {
            out[len++] = c;
        } else if (c == 'e') {
            exp = 1;
            out[len++] = 'e';
            if (buf[i + 1] == '-')
                out[len++] = buf[++i];
            else if (buf[i + 1] == '+')
                i++;
            while (buf[i + 1] == '0')
                i++;
        } else if (!point) {
            point = 1; /* the locale's decimal point, whatever it is */
            out[len++] = '.';
        }
    }
    if (!point && !exp) {
        out[len++] = '.';
        out[len++] = '0';
    }
    out[len] = '\0';
    return len;
}

/* doubles.txt: bits and Python's repr(), as Python wrote them. */
static double *load_doubles(char (**ret_reprs)[32], size_t *ret_n)
{
    FILE *fp = fopen(CASES "doubles.txt", "r");
    char line[128];
    size_t n = 0, cap = 8192;
    double *v = malloc(cap * sizeof(*v));
    char(*reprs)[32] = malloc(cap * sizeof(*reprs));

    if (fp == NULL)
        fail_msg(CASES "doubles.txt: %s (run from the repo root)", strerror(errno));
    while (fgets(line, sizeof(line), fp) != NULL) {
        unsigned long long bits;
        if (line[0] == '#')
            continue;
        assert_true(n < cap);
        assert_int_equal(sscanf(line, "%llx %31s", &bits, reprs[n]), 2);
        memcpy(&v[n], &bits, sizeof(double));
        n++;
    }
    fclose(fp);
    assert_true(n >= 4000); /* a half-copied table must not pass */
    *ret_reprs = reprs;
    *ret_n = n;
    return v;
}

/* The shortest form is Python's repr(), digit for digit, on 4000 values. */
static void test_doubles_python(void **state)
{
    const char *p = tu_path(*state, "d.json");
    char(*reprs)[32];
    size_t n;
    double *v = load_doubles(&reprs, &n);
    char got[AJIO_GEN_DOUBLE_MAX];

    for (size_t i = 0; i < n; i++) {
        int len = ajio_gen_format_double(got, sizeof(got), v[i], 0);
        assert_int_equal(len, (int)strlen(reprs[i]));
        if (strcmp(got, reprs[i]) != 0)
            fail_msg("%.17g: \"%s\", Python says \"%s\"", v[i], got, reprs[i]);
    }
    /* The table of the generator's documentation, spelled out, and through a generator. */
    const ajio_gen_opts compact = {.flags = AJIO_GEN_COMPACT};
    ONE_LINE(p, &compact, {
        static const double d[] = {0.1,
                                   1.0 / 3,
                                   1e16,
                                   1e-5,
                                   1.5e-7,
                                   5e-324,
                                   1.7976931348623157e308,
                                   -0.0,
                                   123456789012345678.0,
                                   0.30000000000000004,
                                   1.0,
                                   100.0};
        tu_assert_ok(ajio_gen_begin_array(g));
        for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
            tu_assert_ok(ajio_gen_double(g, d[i]));
        tu_assert_ok(ajio_gen_end_array(g));
    });
    assert_text(p, "[0.1,0.3333333333333333,1e+16,1e-05,1.5e-07,5e-324,1.7976931348623157e+308,"
                   "-0.0,1.2345678901234568e+17,0.30000000000000004,1.0,100.0]\n");
    free(v);
    free(reprs);
}

/* Every precision 1 .. 31 is glibc's correctly rounded "%.Ng" with jansson's fixups. */
static void test_doubles_precision(void **state)
{
    const char *p = tu_path(*state, "d.json");
    char(*reprs)[32];
    size_t n;
    double *v = load_doubles(&reprs, &n);
    char got[AJIO_GEN_DOUBLE_MAX], want[80];

    for (size_t i = 0; i < n; i++)
        for (int prec = 1; prec <= AJIO_GEN_MAX_PRECISION; prec++) {
            ref_precision(want, v[i], prec);
            assert_int_equal(ajio_gen_format_double(got, sizeof(got), v[i], prec),
                             (int)strlen(want));
            if (strcmp(got, want) != 0)
                fail_msg("%.17g at precision %d: \"%s\", \"%%.%dg\" says \"%s\"", v[i], prec, got,
                         prec, want);
        }
    const ajio_gen_opts jansson = {.flags = AJIO_GEN_COMPACT, .double_precision = 17};
    ONE_LINE(p, &jansson, {
        tu_assert_ok(ajio_gen_begin_array(g));
        tu_assert_ok(ajio_gen_double(g, 1.0));
        tu_assert_ok(ajio_gen_double(g, 1e300));
        tu_assert_ok(ajio_gen_double(g, -2.5e-7));
        tu_assert_ok(ajio_gen_double(g, 0.1));
        tu_assert_ok(ajio_gen_end_array(g));
    });
    assert_text(p, "[1.0,1.0000000000000001e300,-2.4999999999999999e-7,0.10000000000000001]\n");
    free(v);
    free(reprs);
}

/*
 * Under a locale with a decimal comma the point is still '.'. The locale is built outside the
 * scratch directory when the system lacks it (as test_adapter_jansson.c does).
 */
static void test_doubles_locale(void **state)
{
    const char *p = tu_path(*state, "l.json");
    char locdir[] = "/tmp/ajio-locale.XXXXXX";
    int built = tu_decimal_comma_begin(locdir);

    const ajio_gen_opts compact = {.flags = AJIO_GEN_COMPACT};
    const ajio_gen_opts prec25 = {.flags = AJIO_GEN_COMPACT, .double_precision = 25};
    ONE_LINE(p, &compact, {
        tu_assert_ok(ajio_gen_begin_array(g));
        tu_assert_ok(ajio_gen_double(g, 1.5));
        tu_assert_ok(ajio_gen_double(g, 5e-324)); /* the least subnormal */
        tu_assert_ok(ajio_gen_double(g, 1.2345e-300));
        tu_assert_ok(ajio_gen_end_array(g));
    });
    assert_text(p, "[1.5,5e-324,1.2345e-300]\n");
    ONE_LINE(p, &prec25, {
        tu_assert_ok(ajio_gen_begin_array(g));
        tu_assert_ok(ajio_gen_double(g, 1.5));
        tu_assert_ok(ajio_gen_double(g, 0.1));
        tu_assert_ok(ajio_gen_end_array(g));
    });
    assert_text(p, "[1.5,0.1000000000000000055511151]\n");
    tu_decimal_comma_end(locdir, built);
}

/* The number of significant digits of a formatted double. */
static int significant(const char *s)
{
    int n = 0, started = 0, zeros = 0;

    for (; *s != '\0' && *s != 'e'; s++) {
        if (*s < '0' || *s > '9')
            continue;
        if (*s == '0' && !started)
            continue;
        started = 1;
        if (*s == '0') {
            zeros++;
        } else {
            n += zeros + 1;
            zeros = 0;
        }
    }
    return n > 0 ? n : 1;
}

/*
 * Random bit patterns: the shortest text reads back as the same double, never has more
 * significant digits than "%.17g" nor more bytes than "%.17g" made a JSON real (but for the
 * decade where only repr() uses an exponent); precision 17 is "%.17g".
 */
static void test_doubles_random(void **state)
{
    uint64_t seed = 0x243F6A8885A308D3ULL;
    char got[AJIO_GEN_DOUBLE_MAX], want[80], g17[80];

    (void)state;
    for (int i = 0; i < 300000; i++) {
        uint64_t bits;
        double d, back;

        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        bits = seed * 0x2545F4914F6CDD1DULL;
        if (i % 3 == 1) /* short decimals as well as full-width mantissas */
            bits = (bits & 0xFFF0000000000000ULL) | ((bits & 0xFFFFFFFFULL) << 20);
        memcpy(&d, &bits, sizeof(d));
        if (!isfinite(d))
            continue;
        int len = ajio_gen_format_double(got, sizeof(got), d, 0);
        assert_true(len > 0);
        back = strtod(got, NULL);
        if (memcmp(&back, &d, sizeof(d)) != 0)
            fail_msg("%s does not read back as %.17g (bits %016llx)", got, d,
                     (unsigned long long)bits);
        int n17 = snprintf(g17, sizeof(g17), "%.17g", d);
        if (strchr(g17, '.') == NULL && strchr(g17, 'e') == NULL)
            n17 += 2; /* ".0" */
        /* repr() takes the e-form from 1e16 on, "%.17g" from 1e17: "e+16" may cost 4 bytes */
        if (fabs(d) >= 1e16 && fabs(d) < 1e17)
            n17 += 4;
        if (len > n17 || significant(got) > significant(g17))
            fail_msg("%s is longer than %s", got, g17);
        if (i < 50000) {
            ref_precision(want, d, 17);
            assert_int_equal(ajio_gen_format_double(got, sizeof(got), d, 17), (int)strlen(want));
            assert_string_equal(got, want);
        }
    }
}

/* One double and its negative through doubles_check() (tests/lib/doubles.h), oracle and all. */
static void check_both_signs(double v)
{
    char why[200];

    if (doubles_check(v, true, why, sizeof(why)) != NULL ||
        doubles_check(-v, true, why, sizeof(why)) != NULL)
        fail_msg("%s", why);
}

/*
 * The edges of the shortest form, against Python's repr() where spelled out and against the
 * oracle everywhere: the subnormals, the powers of two (each, but the smallest normal, with a
 * gap below half the one above) and of ten across the whole range, the neighbours of each, and
 * the first multiples of the smallest subnormal.
 */
static void test_doubles_edges(void **state)
{
    static const struct {
        uint64_t bits;
        const char *repr;
    } known[] = {
        {0x0000000000000000ULL, "0.0"},
        {0x8000000000000000ULL, "-0.0"},
        {0x0000000000000001ULL, "5e-324"},
        {0x0000000000000002ULL, "1e-323"},
        {0x0000000000000003ULL, "1.5e-323"},
        {0x00000000075bcd15ULL, "6.0995758e-316"},
        {0x000fffffffffffffULL, "2.225073858507201e-308"},  /* the largest subnormal */
        {0x0010000000000000ULL, "2.2250738585072014e-308"}, /* DBL_MIN */
        {0x0028000000000000ULL, "6.675221575521604e-308"},
        {0x01d972c5b787a0faULL, "9.5e-300"},
        {0x3e7ad7f29abcaf48ULL, "1e-07"},
        {0x3ff8000000000000ULL, "1.5"},
        {0x4011666666666666ULL, "4.35"},
        {0x4340000000000000ULL, "9007199254740992.0"}, /* 9007199254740993 rounds to 2^53 */
        {0x4340000000000001ULL, "9007199254740994.0"},
        {0x43e0000000000000ULL, "9.223372036854776e+18"},
        {0x4480f0cf064dd592ULL, "1e+22"},
        {0x44b52d02c7e14af6ULL, "1e+23"}, /* the nearest double is below 10^23 */
        {0x7f4680e2f0746261ULL, "1.23456789e+305"},
        {0x7fe0000000000000ULL, "8.98846567431158e+307"},   /* 2^1023 */
        {0x7fefffffffffffffULL, "1.7976931348623157e+308"}, /* DBL_MAX */
    };
    char got[AJIO_GEN_DOUBLE_MAX];
    double v;

    (void)state;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        memcpy(&v, &known[i].bits, sizeof(v));
        assert_int_equal(ajio_gen_format_double(got, sizeof(got), v, 0),
                         (int)strlen(known[i].repr));
        if (strcmp(got, known[i].repr) != 0)
            fail_msg("%016llx: \"%s\", Python says \"%s\"", (unsigned long long)known[i].bits, got,
                     known[i].repr);
        check_both_signs(v);
    }
    assert_int_equal(ajio_gen_format_double(got, sizeof(got), 5e-324, 0), 6);
    assert_int_equal(ajio_gen_format_double(got, sizeof(got), DBL_MIN, 0), 23);
    assert_int_equal(ajio_gen_format_double(got, sizeof(got), DBL_MAX, 0), 23);

    /* Each value and the doubles next to it (bits + 1 of DBL_MAX is infinity: skipped). */
    int n = 0;
    for (int e = -1074; e <= 1023; e++) {
        const uint64_t p2 = e >= -1022 ? (uint64_t)(e + 1023) << 52 : 1ULL << (e + 1074);
        char text[16];
        uint64_t p10 = 0;
        if (e >= -323 && e <= 308) {
            snprintf(text, sizeof(text), "1e%d", e);
            v = strtod(text, NULL);
            memcpy(&p10, &v, sizeof(v));
        }
        const uint64_t around[] = {p2, p2 - 1, p2 + 1, p2 | (1ULL << 51), p10, p10 - 1, p10 + 1};
        for (size_t j = 0; j < sizeof(around) / sizeof(around[0]); j++) {
            memcpy(&v, &around[j], sizeof(v));
            if (around[j] == 0 || around[j] > 0x7fefffffffffffffULL || (j >= 4 && p10 == 0))
                continue;
            check_both_signs(v);
            n++;
        }
    }
    for (uint64_t k = 1; k <= 2000; k++) {
        const uint64_t bits[2] = {k, (1ULL << 52) - k}; /* the smallest subnormals, the largest */
        for (int j = 0; j < 2; j++) {
            memcpy(&v, &bits[j], sizeof(v));
            check_both_signs(v);
            n++;
        }
    }
    assert_true(n > 12000);
}

/*
 * 10^6 random bit patterns (doubles_pattern: uniform, short decimals, extreme binades, powers of
 * two) read back exactly, and every 64th has the oracle's digits. make check-doubles runs the
 * same checks on 10^8.
 */
static void test_doubles_shortest_random(void **state)
{
    uint64_t seed = 0x13198A2E03707344ULL;
    char why[200];
    int checked = 0, oracled = 0;

    (void)state;
    for (int i = 0; i < 1000000; i++) {
        const uint64_t bits = doubles_pattern((uint64_t)i, &seed);
        double d;

        memcpy(&d, &bits, sizeof(d));
        if (!isfinite(d))
            continue;
        const bool oracle = i % 64 == 0;
        if (doubles_check(d, oracle, why, sizeof(why)) != NULL)
            fail_msg("%s", why);
        checked++;
        oracled += oracle;
    }
    assert_true(checked > 990000);
    assert_true(oracled > 15000);
}

/* NaN and infinities are refused, with where they were. */
static void test_non_finite(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "t.json");
    const double bad[] = {NAN, INFINITY, -INFINITY};
    const char *const names[] = {"NaN", "Infinity", "-Infinity"};

    for (int b = 0; b < 3; b++) {
        ajio_file *f;
        ajio_gen *g;
        char want[128];

        tu_put(p, OLD_TEXT, 0644);
        g = open_gen(&f, p, NULL, NULL);
        tu_assert_ok(ajio_gen_begin_object(g));
        tu_assert_ok(key(g, "items"));
        tu_assert_ok(ajio_gen_begin_array(g));
        for (int i = 0; i < 3; i++) {
            tu_assert_ok(ajio_gen_begin_object(g));
            tu_assert_ok(key(g, "price"));
            tu_assert_ok(ajio_gen_double(g, i + 0.5));
            tu_assert_ok(ajio_gen_end_object(g));
        }
        tu_assert_ok(ajio_gen_begin_object(g));
        tu_assert_ok(key(g, "price"));
        tu_assert_fails(ajio_gen_double(g, bad[b]), AJIO_EJSON, p);
        snprintf(want, sizeof(want), "%s cannot be written as JSON (at .items[3].price)", names[b]);
        assert_message_has(want);
        /* sticky: every later call and the commit say the same */
        tu_assert_fails(ajio_gen_end_object(g), AJIO_EJSON, p);
        assert_message_has(want);
        tu_assert_fails(ajio_file_write(f, "x", 1), -EINVAL, p); /* refused: a generator is attached */
        tu_assert_fails(ajio_file_commit(f), AJIO_EJSON, p);
        assert_message_has(want);
        tu_assert_content(p, OLD_TEXT, strlen(OLD_TEXT));
        assert_int_equal(tu_count_temps(dir), 0);
    }
    /* In JSON Lines the line is named; a key that is no identifier is quoted. */
    {
        ajio_file *f;
        ajio_gen *g = open_gen(&f, p, NULL, &(ajio_gen_opts){.flags = AJIO_GEN_LINES});
        tu_assert_ok(ajio_gen_int64(g, 1));
        tu_assert_ok(ajio_gen_begin_object(g));
        tu_assert_ok(key(g, "a b"));
        tu_assert_fails(ajio_gen_double(g, NAN), AJIO_EJSON, p);
        assert_message_has("NaN cannot be written as JSON (at line 2: .\"a b\")");
        ajio_file_abort(f);
    }
    /* at the top */
    {
        ajio_file *f;
        ajio_gen *g = open_gen(&f, p, NULL, NULL);
        tu_assert_fails(ajio_gen_double(g, -INFINITY), AJIO_EJSON, p);
        assert_message_has("-Infinity cannot be written as JSON (at .)");
        ajio_file_abort(f);
    }
    tu_assert_content(p, OLD_TEXT, strlen(OLD_TEXT));
}

/* ---- order -------------------------------------------------------------------------------- */

/*
 * Calls out of order, as a little program: { } [ ] begin/end, k a key, s a string, i an integer.
 * The last call fails with -EINVAL and the reason; nothing is written.
 */
static const struct {
    const char *ops;
    const char *reason;
} misuse[] = {
    {"{s", "ajio_gen_string: a value where an object expects a key (at .)"},
    {"{k{i", "ajio_gen_int64: a value where an object expects a key (at .k)"},
    {"[k", "ajio_gen_key: a key outside an object (at .)"},
    {"k", "ajio_gen_key: a key outside an object (at .)"},
    {"{kk", "ajio_gen_key: a key where the last key's value is due (at .k)"},
    {"{]", "ajio_gen_end_array: the innermost container is an object (at .)"},
    {"[i}", "ajio_gen_end_object: the innermost container is an array (at .[0])"},
    {"]", "ajio_gen_end_array: no array is open (at .)"},
    {"}", "ajio_gen_end_object: no object is open (at .)"},
    {"[]]", "ajio_gen_end_array: no array is open (at .)"},
    {"ii", "ajio_gen_int64: a second top-level value (only AJIO_GEN_LINES writes several)"},
    {"{}[", "ajio_gen_begin_array: a second top-level value"},
    {"{k}", "ajio_gen_end_object: the last key has no value (at .k)"},
    {"[[i{k[", "ajio_gen_begin_array: nesting deeper than 3 levels (max_depth) (at .[0][1].k)"},
};

static int run_op(ajio_gen *g, char op)
{
    switch (op) {
    case '{':
        return ajio_gen_begin_object(g);
    case '}':
        return ajio_gen_end_object(g);
    case '[':
        return ajio_gen_begin_array(g);
    case ']':
        return ajio_gen_end_array(g);
    case 'k':
        return key(g, "k");
    case 's':
        return str(g, "s");
    default:
        return ajio_gen_int64(g, 1);
    }
}

static void test_misuse(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "t.json");
    const char *fresh = tu_path(dir, "new.json");

    for (size_t i = 0; i < sizeof(misuse) / sizeof(misuse[0]); i++) {
        const char *ops = misuse[i].ops;
        size_t n = strlen(ops);
        const ajio_gen_opts go = {.max_depth = 3};

        for (int target = 0; target < 2; target++) {
            ajio_file *f;
            ajio_gen *g;

            tu_put(p, OLD_TEXT, 0644);
            g = open_gen(&f, target ? fresh : p,
                         target ? &(ajio_opts){.flags = AJIO_NO_TMPFILE} : NULL, &go);
            for (size_t k = 0; k + 1 < n; k++)
                if (run_op(g, ops[k]) != 0)
                    fail_msg("\"%s\": call %zu failed early: %s", ops, k, ajio_last_error());
            tu_assert_fails(run_op(g, ops[n - 1]), -EINVAL, target ? "new.json" : "t.json");
            assert_message_has(misuse[i].reason);
            /* sticky, and the commit refuses */
            tu_assert_fails(ajio_gen_null(g), -EINVAL, "t");
            assert_message_has(misuse[i].reason);
            tu_assert_fails(ajio_file_commit(f), -EINVAL, "t");
            tu_assert_content(p, OLD_TEXT, strlen(OLD_TEXT));
            assert_int_equal(access(fresh, F_OK), -1);
            assert_int_equal(tu_count_temps(dir), 0);
        }
    }
}

/* The default depth: 1024 levels pass, 1025 do not; AJIO_GEN_LINES counts per value. */
static void test_depth(void **state)
{
    const char *p = tu_path(*state, "deep.json");
    ajio_file *f;
    ajio_gen *g;

    g = open_gen(&f, p, NULL, &(ajio_gen_opts){.flags = AJIO_GEN_COMPACT});
    for (int i = 0; i < 1024; i++)
        tu_assert_ok(ajio_gen_begin_array(g));
    tu_assert_fails(ajio_gen_begin_object(g), -EINVAL, p);
    assert_message_has("nesting deeper than 1024 levels (max_depth)");
    ajio_file_abort(f);

    g = open_gen(&f, p, NULL, &(ajio_gen_opts){.flags = AJIO_GEN_COMPACT});
    for (int i = 0; i < 1024; i++)
        tu_assert_ok(ajio_gen_begin_array(g));
    for (int i = 0; i < 1024; i++)
        tu_assert_ok(ajio_gen_end_array(g));
    tu_assert_ok(ajio_file_commit(f));
    {
        size_t len = 0;
        char *t = tu_read(p, &len);
        assert_int_equal(len, 2 * 1024 + 1);
        assert_int_equal(t[1023], '[');
        assert_int_equal(t[1024], ']');
        free(t);
    }
    assert_valid(p, 0);

    /* A pretty line deeper than the 64 KiB window: 300 levels of 255 spaces. */
    g = open_gen(&f, p, NULL,
                 &(ajio_gen_opts){
                     .flags = AJIO_GEN_PRETTY, .indent = AJIO_GEN_MAX_INDENT, .max_depth = 100000});
    for (int i = 0; i < 300; i++)
        tu_assert_ok(ajio_gen_begin_array(g));
    tu_assert_ok(ajio_gen_int64(g, 7));
    for (int i = 0; i < 300; i++)
        tu_assert_ok(ajio_gen_end_array(g));
    tu_assert_ok(ajio_file_commit(f));
    assert_valid(p, 0);
    {
        size_t len = 0;
        char *t = tu_read(p, &len);
        /* 300 '[' and 300 ']' with a line each, indented 255 per level, and "7" */
        size_t want = 2 * 300 + 300 * 2 + 1 + 1;
        for (int d = 1; d <= 300; d++)
            want += 255 * (size_t)d;
        for (int d = 0; d < 300; d++)
            want += 255 * (size_t)d;
        assert_int_equal(len, want);
        free(t);
    }
}

/* An incomplete document is never published. */
static void test_incomplete(void **state)
{
    static const struct {
        const char *ops;
        const char *reason;
    } cases[] = {
        {"", "the document is empty: no value was written (at .)"},
        {"{", "the document is incomplete: 1 container still open (at .)"},
        {"[[", "the document is incomplete: 2 containers still open (at .[0])"},
        {"[{k", "the document is incomplete: a key has no value (at .[0].k)"},
    };
    const char *dir = *state;
    const char *p = tu_path(dir, "t.json");
    const char *fresh = tu_path(dir, "sub/new.json");

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int target = 0; target < 2; target++) {
            ajio_file *f;
            ajio_gen *g;

            tu_put(p, OLD_TEXT, 0644);
            g = open_gen(&f, target ? fresh : p, NULL, NULL);
            for (const char *op = cases[i].ops; *op != '\0'; op++)
                tu_assert_ok(run_op(g, *op));
            tu_assert_fails(ajio_file_commit(f), -EINVAL, target ? "new.json" : "t.json");
            assert_message_has(cases[i].reason);
            tu_assert_content(p, OLD_TEXT, strlen(OLD_TEXT));
            assert_int_equal(access(fresh, F_OK), -1);
            assert_int_equal(tu_count_temps(dir), 0);
        }
    }
}

/* ajio_gen_new() checks its arguments and leaves the handle usable when it refuses. */
static void test_new_refusals(void **state)
{
    static const struct {
        ajio_gen_opts opts;
        const char *reason;
    } bad[] = {
        {{.flags = 1u << 20}, "unknown flags"},
        {{.indent = 2}, "an indent without AJIO_GEN_PRETTY"},
        {{.flags = AJIO_GEN_PRETTY, .indent = 256}, "indent out of range"},
        {{.flags = AJIO_GEN_PRETTY, .indent = -1}, "indent out of range"},
        {{.flags = AJIO_GEN_LINES | AJIO_GEN_PRETTY}, "AJIO_GEN_LINES with AJIO_GEN_PRETTY"},
        {{.flags = AJIO_GEN_LINES | AJIO_GEN_NO_NEWLINE}, "AJIO_GEN_LINES with"},
        {{.item_sep = ";"}, "item_sep is not ','"},
        {{.item_sep = ", ,"}, "item_sep is not ','"},
        {{.item_sep = ""}, "item_sep is not ','"},
        {{.item_sep = ",                "}, "item_sep is not ','"}, /* 17 bytes */
        {{.key_sep = ","}, "key_sep is not ':'"},
        {{.flags = AJIO_GEN_LINES, .item_sep = ",\n"}, "no newline in JSON Lines"},
        {{.double_precision = 32}, "double_precision out of range"},
        {{.double_precision = -1}, "double_precision out of range"},
        {{.reserved = {0, 0, 1}}, "reserved fields not zero"},
    };
    const char *p = tu_path(*state, "t.json");
    ajio_file *f;
    ajio_gen *g = NULL, *g2 = NULL;

    tu_assert_ok(ajio_file_open(&f, p, NULL));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tu_assert_fails(ajio_gen_new(&g, f, &bad[i].opts), -EINVAL, p);
        assert_message_has(bad[i].reason);
        assert_null(g);
    }
    tu_assert_fails(ajio_gen_new(NULL, f, NULL), -EINVAL, "ret is NULL");
    tu_assert_fails(ajio_gen_new(&g, NULL, NULL), -EINVAL, "f is NULL");
    /* Separators of whitespace and the one mark are fine, up to AJIO_GEN_MAX_SEP bytes. */
    tu_assert_ok(
        ajio_gen_new(&g, f, &(ajio_gen_opts){.item_sep = "\t,\r\n      ", .key_sep = " :"}));
    tu_assert_fails(ajio_gen_new(&g2, f, NULL), -EINVAL, "already has a generator");
    assert_null(g2);
    tu_assert_ok(ajio_gen_begin_array(g));
    tu_assert_ok(ajio_gen_int64(g, 1));
    tu_assert_ok(ajio_gen_int64(g, 2));
    tu_assert_ok(ajio_gen_end_array(g));
    tu_assert_ok(ajio_file_commit(f));
    assert_text(p, "[1\t,\r\n      2]\n");

    /* NULL everywhere else */
    tu_assert_fails(ajio_gen_null(NULL), -EINVAL, "generator is NULL");
    tu_assert_fails(ajio_gen_fail(NULL, -EIO, "x"), -EINVAL, "generator is NULL");
    {
        char buf[AJIO_GEN_DOUBLE_MAX];
        tu_assert_fails(ajio_gen_format_double(NULL, 64, 1.0, 0), -EINVAL, "buf is NULL");
        tu_assert_fails(ajio_gen_format_double(buf, 8, 1.0, 0), -EINVAL, "size");
        tu_assert_fails(ajio_gen_format_double(buf, sizeof(buf), NAN, 0), -EINVAL, "NaN");
        tu_assert_fails(ajio_gen_format_double(buf, sizeof(buf), 1.0, 32), -EINVAL, "precision");
        assert_int_equal(ajio_gen_format_double(buf, sizeof(buf), -1e-7, 0), 6);
        assert_string_equal(buf, "-1e-07");
    }
}

/* Raw text and number text are checked, then copied as they are. */
static void test_raw_and_number(void **state)
{
    static const char *const bad_numbers[] = {"",     "-",  "01",  "1.",   ".5",
                                              "+1",   "1e", "1e+", "NaN",  "Infinity",
                                              "0x10", "1 ", "--1", "1.5.2"};
    const char *p = tu_path(*state, "r.json");
    ajio_file *f;
    ajio_gen *g;

    for (size_t i = 0; i < sizeof(bad_numbers) / sizeof(bad_numbers[0]); i++) {
        g = open_gen(&f, p, NULL, NULL);
        tu_assert_ok(ajio_gen_begin_array(g));
        tu_assert_fails(ajio_gen_number(g, bad_numbers[i], strlen(bad_numbers[i])), AJIO_EJSON,
                        "not a JSON number");
        assert_message_has("(at .[0])");
        ajio_file_abort(f);
    }
    g = open_gen(&f, p, NULL, NULL);
    tu_assert_fails(ajio_gen_raw(g, "{\"a\": }", 7), AJIO_EJSON,
                    "raw JSON text is not valid: 1:7:");
    ajio_file_abort(f);
    g = open_gen(&f, p, NULL, NULL);
    tu_assert_fails(ajio_gen_raw(g, "1 2", 3), AJIO_EJSON, "raw JSON text is not valid");
    ajio_file_abort(f);
    g = open_gen(&f, p, NULL, &(ajio_gen_opts){.flags = AJIO_GEN_LINES});
    tu_assert_ok(ajio_gen_raw(g, "[1,2]", 5));
    tu_assert_fails(ajio_gen_raw(g, "[1,\n2]", 6), AJIO_EJSON, "would split the line");
    ajio_file_abort(f);
    g = open_gen(&f, p, NULL, &(ajio_gen_opts){.flags = AJIO_GEN_PRETTY, .indent = 1});
    tu_assert_ok(ajio_gen_begin_object(g));
    tu_assert_ok(key(g, "r"));
    tu_assert_ok(ajio_gen_raw(g, "[1,\n2]", 6));
    tu_assert_ok(ajio_gen_end_object(g));
    tu_assert_ok(ajio_file_commit(f));
    assert_text(p, "{\n \"r\": [1,\n2]\n}\n");
}

/* ajio_gen_fail(): the caller's refusal, worded and placed like the generator's own. */
static void test_gen_fail(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "t.json");
    ajio_file *f;
    ajio_gen *g;

    tu_put(p, OLD_TEXT, 0644);
    g = open_gen(&f, p, NULL, NULL);
    tu_assert_ok(ajio_gen_begin_object(g));
    tu_assert_ok(key(g, "a"));
    tu_assert_fails(ajio_gen_fail(g, -EIO, "the source went away after %d values", 5), -EIO, p);
    assert_message_has("JSON generation for \"");
    assert_message_has("\": the source went away after 5 values (at .a)");
    /* the first failure stays */
    tu_assert_fails(ajio_gen_fail(g, -ENOSPC, "later"), -EIO, "went away");
    tu_assert_fails(ajio_file_commit(f), -EIO, "went away");
    tu_assert_content(p, OLD_TEXT, strlen(OLD_TEXT));
    assert_int_equal(tu_count_temps(dir), 0);
    g = open_gen(&f, p, NULL, NULL);
    tu_assert_fails(ajio_gen_fail(g, 3, NULL), -EINVAL, "Invalid argument");
    ajio_file_abort(f);
}

/* ---- sizes -------------------------------------------------------------------------------- */

/* Strings, keys, numbers and raw text longer than the 64 KiB window. */
static void test_long_values(void **state)
{
    const char *p = tu_path(*state, "long.json");
    const char piece[] = "ab\"c\xc3\xa9\n\xf0\x9f\x98\x80/";      /* 13 bytes */
    const char escaped[] = "ab\\\"c\xc3\xa9\\n\xf0\x9f\x98\x80/"; /* 15 bytes */
    const size_t reps = 30000;
    size_t n = reps * (sizeof(piece) - 1);
    char *s = malloc(n), *want = malloc(reps * (sizeof(escaped) - 1) * 2 + 64);
    char *digits = malloc(200001);
    ajio_file *f;
    ajio_gen *g;
    size_t w = 0;

    for (size_t i = 0; i < reps; i++)
        memcpy(s + i * (sizeof(piece) - 1), piece, sizeof(piece) - 1);
    memset(digits, '7', 200000);
    g = open_gen(&f, p, NULL, &(ajio_gen_opts){.flags = AJIO_GEN_COMPACT});
    tu_assert_ok(ajio_gen_begin_object(g));
    tu_assert_ok(ajio_gen_key(g, s, n));
    tu_assert_ok(ajio_gen_string(g, s, n));
    tu_assert_ok(key(g, "n"));
    tu_assert_ok(ajio_gen_number(g, digits, 200000));
    tu_assert_ok(ajio_gen_end_object(g));
    tu_assert_ok(ajio_file_commit(f));
    want[w++] = '{';
    for (int k = 0; k < 2; k++) {
        want[w++] = '"';
        for (size_t i = 0; i < reps; i++, w += sizeof(escaped) - 1)
            memcpy(want + w, escaped, sizeof(escaped) - 1);
        want[w++] = '"';
        want[w++] = k == 0 ? ':' : ',';
    }
    memcpy(want + w, "\"n\":", 4);
    w += 4;
    {
        size_t len = 0;
        char *got = tu_read(p, &len);
        assert_int_equal(len, w + 200000 + 2);
        assert_memory_equal(got, want, w);
        assert_memory_equal(got + w, digits, 200000);
        assert_memory_equal(got + w + 200000, "}\n", 2);
        free(got);
    }
    assert_valid(p, 0);

    /* A bad byte far into a long string, and a path through a key longer than a window. */
    s[n - 5] = '\xff';
    g = open_gen(&f, p, NULL, NULL);
    tu_assert_ok(ajio_gen_begin_object(g));
    tu_assert_ok(ajio_gen_key(g, s, 100));
    tu_assert_fails(ajio_gen_string(g, s, n), AJIO_EJSON, p);
    {
        char want_msg[128];
        snprintf(want_msg, sizeof(want_msg), "(byte 0xFF at offset %zu) (at .\"ab\\\"c", n - 5);
        assert_message_has(want_msg);
        assert_message_has("...\")"); /* the key, cut */
    }
    ajio_file_abort(f);
    free(s);
    free(want);
    free(digits);
}

/* Keys of open objects that left the window with a flush are still named in a message. */
static void test_path_across_flush(void **state)
{
    const char *p = tu_path(*state, "t.json");
    ajio_file *f;
    ajio_gen *g = open_gen(&f, p, NULL, NULL);

    tu_assert_ok(ajio_gen_begin_object(g));
    tu_assert_ok(key(g, "outer"));
    tu_assert_ok(ajio_gen_begin_object(g));
    tu_assert_ok(key(g, "caf\xc3\xa9-\xe2\x82\xac \"quoted\""));
    tu_assert_ok(ajio_gen_begin_array(g));
    for (int i = 0; i < 20000; i++) /* some 200 KB: several flushes */
        tu_assert_ok(str(g, "0123456789"));
    tu_assert_fails(ajio_gen_double(g, NAN), AJIO_EJSON, p);
    assert_message_has("(at .outer.\"caf\xc3\xa9-\xe2\x82\xac \\\"quoted\\\"\"[20000])");
    ajio_file_abort(f);
}

/*
 * Random documents, random strings (some with bytes that are not UTF-8): the output is valid
 * JSON whenever every call succeeded, and a failed call is always AJIO_EJSON for a bad string.
 */
/* xorshift64*: a fixed sequence, so that a failure can be replayed. */
static uint64_t xorshift(uint64_t *seed)
{
    *seed ^= *seed >> 12;
    *seed ^= *seed << 25;
    *seed ^= *seed >> 27;
    return *seed * 0x2545F4914F6CDD1DULL;
}

static void test_random_documents(void **state)
{
    const char *p = tu_path(*state, "rand.json");
    uint64_t seed = 0x13198A2E03707344ULL;

#define NEXT() xorshift(&seed)
    for (int doc = 0; doc < 300; doc++) {
        const unsigned fl[] = {0, AJIO_GEN_PRETTY, AJIO_GEN_COMPACT | AJIO_GEN_ENSURE_ASCII,
                               AJIO_GEN_PYTHON_ESCAPES | AJIO_GEN_ESCAPE_SLASH};
        ajio_gen_opts go = {.flags = fl[doc % 4],
                            .indent = doc % 4 == 1 ? doc % 9 : 0,
                            .double_precision = doc % 5 == 0 ? 17 : 0};
        ajio_file *f;
        ajio_gen *g = open_gen(&f, p, NULL, &go);
        int depth = 0, failed = 0, obj[64] = {0};

        tu_assert_ok(ajio_gen_begin_array(g));
        depth = 1;
        for (int step = 0; step < 400 && !failed; step++) {
            uint64_t r = NEXT();
            char s[24];
            size_t len = r % 20;
            int bad = 0;

            for (size_t i = 0; i < len; i++) {
                uint64_t b = NEXT();
                s[i] = (char)(b % 3 == 0 ? (b >> 8) & 0xFF : 'a' + (b >> 8) % 26);
                bad |= (unsigned char)s[i] >= 0x80;
            }
            unsigned what = (r >> 8) % 7;
            if (what >= 5 && depth > 1) { /* close the innermost container */
                depth--;
                tu_assert_ok(obj[depth] ? ajio_gen_end_object(g) : ajio_gen_end_array(g));
                continue;
            }
            if (obj[depth - 1] && key(g, "k") != 0)
                fail_msg("key: %s", ajio_last_error());
            switch (what) {
            case 0:
                if (depth < 60) {
                    obj[depth] = (r >> 16) & 1;
                    tu_assert_ok(obj[depth] ? ajio_gen_begin_object(g) : ajio_gen_begin_array(g));
                    depth++;
                    break;
                }
                /* fall through */
            case 1: {
                int64_t num = (int64_t)NEXT();
                uint64_t den = NEXT() | 1;
                tu_assert_ok(ajio_gen_double(g, (double)num / (double)den));
                break;
            }
            case 2: {
                int rr = ajio_gen_string(g, s, len);
                if (rr != 0) {
                    /* only bytes above 0x7F can make a string invalid */
                    assert_true(bad);
                    assert_int_equal(rr, AJIO_EJSON);
                    failed = 1;
                }
                break;
            }
            case 3:
                tu_assert_ok(ajio_gen_int64(g, (int64_t)NEXT()));
                break;
            case 4:
                tu_assert_ok(ajio_gen_null(g));
                break;
            default:
                tu_assert_ok(ajio_gen_bool(g, (int)(r & 1)));
            }
        }
        if (failed) {
            ajio_file_abort(f);
            continue;
        }
        while (depth > 0) {
            depth--;
            tu_assert_ok(obj[depth] ? ajio_gen_end_object(g) : ajio_gen_end_array(g));
        }
        tu_assert_ok(ajio_file_commit(f));
        assert_valid(p, 0);
    }
#undef NEXT
}

/* ---- sink generators ---------------------------------------------------------------------- */

struct membuf {
    char *data;
    size_t len;
    unsigned calls;
    int fail_at; /* the call (1-based) that fails with -EPIPE, 0 never */
};

static int to_mem(void *ctx, const void *buf, size_t len)
{
    struct membuf *m = ctx;

    if (++m->calls == (unsigned)m->fail_at)
        return -EPIPE;
    m->data = realloc(m->data, m->len + len + 1);
    assert_non_null(m->data);
    memcpy(m->data + m->len, buf, len);
    m->len += len;
    m->data[m->len] = '\0';
    return 0;
}

/*
 * The sink gets exactly what the file gets, in every layout, also across 64 KiB windows; its
 * failure and an incomplete document fail the generator; a handle's generator is not for it.
 */
static void test_sink(void **state)
{
    const char *p = tu_path(*state, "sink.json");
    struct membuf m = {0};
    ajio_gen *g;
    ajio_file *f;
    char *want;
    size_t want_len;

    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
        write_value(p, NULL, &layouts[i].opts);
        want = tu_read(p, &want_len);
        m = (struct membuf){0};
        tu_assert_ok(ajio_gen_new_sink(&g, to_mem, &m, &layouts[i].opts));
        build_value(g);
        tu_assert_ok(ajio_gen_finish(g));
        ajio_gen_free(g);
        assert_int_equal(m.len, want_len);
        assert_memory_equal(m.data, want, want_len);
        assert_int_equal(m.calls, 1);
        free(want);
        free(m.data);
    }

    /* Many windows: a long array of strings, the same bytes as the file. */
    m = (struct membuf){0};
    g = open_gen(&f, p, NULL, NULL);
    ajio_gen *s;
    tu_assert_ok(ajio_gen_new_sink(&s, to_mem, &m, NULL));
    ajio_gen *both[2] = {g, s};
    for (int k = 0; k < 2; k++) {
        tu_assert_ok(ajio_gen_begin_array(both[k]));
        for (int i = 0; i < 20000; i++)
            tu_assert_ok(str(both[k], "twenty bytes of text"));
        tu_assert_ok(ajio_gen_end_array(both[k]));
    }
    assert_int_equal(ajio_gen_finish(g), -EINVAL); /* a handle's: ajio_file_commit() finishes it */
    assert_message_has("finished by ajio_file_commit()");
    ajio_gen_free(g); /* ignored: the handle owns it */
    tu_assert_ok(ajio_file_commit(f));
    tu_assert_ok(ajio_gen_finish(s));
    ajio_gen_free(s);
    assert_true(m.calls > 5);
    want = tu_read(p, &want_len);
    assert_int_equal(m.len, want_len);
    assert_memory_equal(m.data, want, want_len);
    free(want);
    free(m.data);

    /* A failing sink: sticky, and the message says what failed. */
    m = (struct membuf){.fail_at = 2};
    tu_assert_ok(ajio_gen_new_sink(&g, to_mem, &m, NULL));
    tu_assert_ok(ajio_gen_begin_array(g));
    int r = 0;
    for (int i = 0; i < 20000 && r == 0; i++)
        r = str(g, "twenty bytes of text");
    assert_int_equal(r, -EPIPE);
    assert_message_has("output callback failed");
    assert_int_equal(ajio_gen_end_array(g), -EPIPE);
    assert_int_equal(ajio_gen_finish(g), -EPIPE);
    ajio_gen_free(g);
    free(m.data);

    /* Incomplete, and a refusal whose message names no file. */
    m = (struct membuf){0};
    tu_assert_ok(ajio_gen_new_sink(&g, to_mem, &m, NULL));
    tu_assert_ok(ajio_gen_begin_object(g));
    assert_int_equal(ajio_gen_finish(g), -EINVAL);
    assert_message_has("incomplete");
    ajio_gen_free(g);
    tu_assert_ok(ajio_gen_new_sink(&g, to_mem, &m, NULL));
    assert_int_equal(ajio_gen_double(g, NAN), AJIO_EJSON);
    assert_message_has("JSON generation: NaN");
    ajio_gen_free(g);
    assert_int_equal(m.calls, 0);
    assert_int_equal(ajio_gen_new_sink(&g, NULL, &m, NULL), -EINVAL);
    assert_int_equal(ajio_gen_new_sink(NULL, to_mem, &m, NULL), -EINVAL);
    assert_int_equal(ajio_gen_new_sink(&g, to_mem, &m, &(ajio_gen_opts){.indent = 2}), -EINVAL);
    ajio_gen_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_layouts),
        TU_TEST(test_lines),
        TU_TEST(test_after_raw_bytes),
        TU_TEST(test_value_kinds),
        TU_TEST(test_escapes),
        TU_TEST(test_utf8),
        TU_TEST(test_doubles_python),
        TU_TEST(test_doubles_precision),
        TU_TEST(test_doubles_locale),
        TU_TEST(test_doubles_random),
        TU_TEST(test_doubles_edges),
        TU_TEST(test_doubles_shortest_random),
        TU_TEST(test_non_finite),
        TU_TEST(test_misuse),
        TU_TEST(test_depth),
        TU_TEST(test_incomplete),
        TU_TEST(test_new_refusals),
        TU_TEST(test_raw_and_number),
        TU_TEST(test_gen_fail),
        TU_TEST(test_long_values),
        TU_TEST(test_path_across_flush),
        TU_TEST(test_random_documents),
        TU_TEST(test_sink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

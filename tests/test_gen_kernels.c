/*
 * test_gen_kernels.c - the generator writes the same bytes under every kernel the CPU runs.
 *
 * A child process per kernel (the kernel is chosen once per process, AJIO_KERNEL forces it)
 * writes everything below to a file; each file must equal the scalar kernel's byte for byte:
 *   - the three documents of tests/data/json-bench, parsed with jansson and walked into the
 *     generator as the adapter does, compact and pretty;
 *   - strings holding one "needle" (a quote, a backslash, each control character, DEL, '/',
 *     2-, 3- and 4-byte UTF-8, and invalid UTF-8, whose failure and message are compared instead)
 *     at every offset 0..130 of a string, with 0, 1, 17 and 70 plain bytes after it, so that each
 *     lands at every place of a 16-, 32- and 64-byte vector and of its tail; as a key and as a
 *     value, under the flags that change what is escaped;
 *   - random strings of the bytes that matter to UTF-8 and escaping, mostly invalid somewhere;
 *   - strings longer than the generator's window, which go through it in chunks.
 * A kernel the CPU lacks is reported and not run. `test_gen_kernels --kernels` prints the
 * kernels this CPU runs, for tests/gen_kernels.sh, which runs the generator's suites under each.
 */
#include "testutil.h"

#include "internal.h"

#include <ajio/jansson.h>

#include <sys/wait.h>
#include <unistd.h>

#define MAX_OFFSET 130

static const unsigned flag_sets[] = {
    0,
    AJIO_GEN_ENSURE_ASCII,
    AJIO_GEN_ESCAPE_SLASH | AJIO_GEN_ESCAPE_DEL,
    AJIO_GEN_ENSURE_ASCII | AJIO_GEN_LOWER_HEX | AJIO_GEN_ESCAPE_SLASH | AJIO_GEN_ESCAPE_DEL,
};

struct needle {
    const char *bytes;
    size_t len;
};

/* Everything the generator treats apart from a plain byte; the control characters are added. */
static const struct needle fixed_needles[] = {
    {"\"", 1},
    {"\\", 1},
    {"\x7f", 1},
    {"/", 1},
    {"\xc3\xa9", 2},                 /* U+00E9 */
    {"\xe2\x82\xac", 3},             /* U+20AC */
    {"\xe2\x80\xa8", 3},             /* U+2028 */
    {"\xf0\x9f\x98\x80", 4},         /* U+1F600: a surrogate pair in \u form */
    {"\xe6\x97\xa5\xe6\x9c\xac", 6}, /* two CJK characters in a row */
    {"\x80", 1},                     /* a lone continuation byte */
    {"\xc0\xaf", 2},                 /* overlong */
    {"\xed\xa0\x80", 3},             /* a surrogate */
    {"\xf4\x90\x80\x80", 4},         /* above U+10FFFF */
    {"\xe2\x82", 2},                 /* cut short (valid only if more follows: it never does) */
    {"\xff", 1},
};

static FILE *out;

static int to_file(void *ctx, const void *buf, size_t len)
{
    (void)ctx;
    return fwrite(buf, 1, len, out) == len ? 0 : -EIO;
}

/* One generator's whole output, or its failure and message, then a record separator. */
static void record_end(ajio_gen *g, int r)
{
    if (r == 0)
        r = ajio_gen_finish(g);
    if (r < 0)
        fprintf(out, "\n[failed %d: %s]", r, ajio_last_error());
    ajio_gen_free(g);
    fputs("\n----\n", out);
}

/* s as a key and as that key's value. */
static void one_string(const char *s, size_t n, unsigned flags)
{
    ajio_gen_opts o = {.flags = flags};
    ajio_gen *g;
    int r;

    assert_int_equal(ajio_gen_new_sink(&g, to_file, NULL, &o), 0);
    r = ajio_gen_begin_object(g);
    if (r == 0)
        r = ajio_gen_key(g, s, n);
    if (r == 0)
        r = ajio_gen_string(g, s, n);
    if (r == 0)
        r = ajio_gen_end_object(g);
    record_end(g, r);
}

static void strings(void)
{
    struct needle needles[sizeof(fixed_needles) / sizeof(fixed_needles[0]) + 32];
    char ctl[32];
    size_t nn = 0;
    static const size_t tails[] = {0, 1, 17, 70};
    char buf[MAX_OFFSET + 8 + 70];

    for (size_t i = 0; i < sizeof(fixed_needles) / sizeof(fixed_needles[0]); i++)
        needles[nn++] = fixed_needles[i];
    for (int c = 0; c < 32; c++) {
        ctl[c] = (char)c;
        needles[nn++] = (struct needle){&ctl[c], 1};
    }
    for (size_t f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++)
        for (size_t k = 0; k < nn; k++)
            for (size_t at = 0; at <= MAX_OFFSET; at++)
                for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
                    size_t n = at + needles[k].len + tails[t];
                    for (size_t i = 0; i < n; i++)
                        buf[i] = (char)('a' + i % 26);
                    memcpy(buf + at, needles[k].bytes, needles[k].len);
                    one_string(buf, n, flag_sets[f]);
                }
}

/* Past a window: plain text with needles strewn at places a fixed seed picks. */
static void long_strings(void)
{
    size_t n = 3 * AJIO__BUFSIZE + 1234;
    char *s = malloc(n);
    uint32_t x = 12345;

    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('A' + i % 26);
    for (int i = 0; i < 4000; i++) {
        x = x * 1103515245u + 12345u;
        size_t k = (x >> 8) % 12;
        size_t at = (size_t)(x >> 4) % (n - 4);
        static const char *const valid[] = {
            "\"",   "\\",          "\n",       "\x01",         "\x1f",
            "\x7f", "/",           "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
            "\t",   "\xe6\x97\xa5"};
        memcpy(s + at, valid[k], strlen(valid[k]));
    }
    for (size_t f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++) {
        one_string(s, n, flag_sets[f]);
        /* and one that fails far in: its message tells where */
        char keep = s[n - 100];
        s[n - 100] = (char)0xC0;
        one_string(s, n, flag_sets[f]);
        s[n - 100] = keep;
    }
    free(s);
}

/*
 * Random strings from the bytes that matter to UTF-8 (every kind of lead, continuations of each
 * range, never-valid bytes) and to escaping, fixed seed: mostly invalid somewhere, at every
 * distance from a vector's edge, which the fixed needles above do not all reach.
 */
static void random_strings(void)
{
    static const unsigned char alphabet[] = {
        'a',  'b',  ' ',  '"',  '\\', '/',  0x00, 0x1f, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
        0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
    };
    /* valid sequences too, so that a string gets far before its first error */
    static const char *const valid[] = {"\xc3\xa9",     "\xe2\x82\xac",     "\xf0\x9f\x98\x80",
                                        "\xed\x9f\xbf", "\xf4\x8f\xbf\xbf", "abcdefgh"};
    unsigned char buf[300];
    uint32_t x = 777;

    for (int i = 0; i < 40000; i++) {
        size_t n = 0, len;
        x = x * 1103515245u + 12345u;
        len = (x >> 16) % 200;
        while (n < len) {
            x = x * 1103515245u + 12345u;
            if ((x >> 28) < 12) {
                const char *v = valid[(x >> 8) % 6];
                memcpy(buf + n, v, strlen(v));
                n += strlen(v);
            } else {
                buf[n++] = alphabet[(x >> 8) % sizeof(alphabet)];
            }
        }
        one_string((const char *)buf, n, flag_sets[i % 4]);
    }
}

static void documents(void)
{
    static const char *const docs[] = {"twitter.json", "citm_catalog.json", "canada.json"};
    const char *data = getenv("AJIO_TEST_DATA") != NULL ? getenv("AJIO_TEST_DATA") : "tests/data";

    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        char path[4096];
        json_error_t je;

        snprintf(path, sizeof(path), "%s/json-bench/%s", data, docs[d]);
        json_t *v = json_load_file(path, 0, &je);
        if (v == NULL)
            fail_msg("cannot load %s: %s", path, je.text);
        for (int pretty = 0; pretty <= 1; pretty++) {
            ajio_gen_opts o;
            ajio_gen *g;

            ajio_jansson__gen_opts(
                &o, pretty ? AJIO_JANSSON_DEFAULT_FLAGS : AJIO_JANSSON_LINE_FLAGS, 0);
            assert_int_equal(ajio_gen_new_sink(&g, to_file, NULL, &o), 0);
            record_end(g, ajio_jansson__value(g, v, NULL));
        }
        json_decref(v);
    }
}

/* The child's part: everything under kernel k into path. Exits 0, or 1 on a wrong kernel. */
static void child(int k, const char *path)
{
    setenv("AJIO_KERNEL", ajio__kernel_name(k), 1);
    if (ajio__kernel() != k)
        _exit(1);
    out = fopen(path, "w");
    if (out == NULL)
        _exit(2);
    documents();
    strings();
    random_strings();
    long_strings();
    _exit(fclose(out) == 0 ? 0 : 2);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *s;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    *len = (size_t)ftell(f);
    rewind(f);
    s = malloc(*len + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, *len, f), *len);
    fclose(f);
    return s;
}

/* Where a and b part, with the records around it, as the failure's message. */
static void compare(const char *name, const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0;

    while (i < alen && i < blen && a[i] == b[i])
        i++;
    if (i == alen && i == blen)
        return;
    size_t from = i > 200 ? i - 200 : 0;
    print_error("kernel %s differs from scalar at byte %zu of %zu / %zu\n"
                "scalar: ...%.*s...\n%s: ...%.*s...\n",
                name, i, alen, blen, (int)((alen - from) < 400 ? alen - from : 400), a + from, name,
                (int)((blen - from) < 400 ? blen - from : 400), b + from);
    fail();
}

static void test_same_bytes(void **state)
{
    char dir[] = "/tmp/ajio-gen-kernels-XXXXXX";
    char path[AJIO__KERNEL_COUNT][64];
    int best = ajio__kernel_best();

    (void)state;
    assert_non_null(mkdtemp(dir));
    for (int k = 0; k < AJIO__KERNEL_COUNT; k++) {
        if (k > best) {
            print_message("kernel %s: not on this CPU, not run\n", ajio__kernel_name(k));
            continue;
        }
        snprintf(path[k], sizeof(path[k]), "%s/%s", dir, ajio__kernel_name(k));
        pid_t pid = fork();
        int status;
        assert_true(pid >= 0);
        if (pid == 0)
            child(k, path[k]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    size_t slen;
    char *scalar = slurp(path[AJIO__KERNEL_SCALAR], &slen);
    assert_true(slen > 10 * 1000 * 1000); /* the documents are there */
    for (int k = 1; k <= best; k++) {
        size_t len;
        char *other = slurp(path[k], &len);
        print_message("kernel %s: %zu bytes, compared with scalar\n", ajio__kernel_name(k), len);
        compare(ajio__kernel_name(k), scalar, slen, other, len);
        free(other);
    }
    for (int k = 0; k <= best; k++)
        unlink(path[k]);
    rmdir(dir);
    free(scalar);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--kernels") == 0) {
        for (int k = 0; k <= ajio__kernel_best(); k++)
            printf("%s\n", ajio__kernel_name(k));
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_json_kernels.c - every kernel of the JSON validator (src/cpu.c) gives what the scalar
 * kernel gives: the same verdict, error offset, line, column and reason, and the same count,
 * fed whole or in random chunks. The scalar kernel is the reference because it has no vector
 * code; the others skip bytes a vector at a time and must stop where it would.
 *
 * The UTF-8 cases put every invalid class (and every valid length) at each offset 0..130 of a
 * long string, after ASCII and after multi-byte text, so that each straddles the 16, 32 and
 * 64-byte blocks and the chunk ends. The differential part runs random bytes and mutated valid
 * documents. The kernels the CPU lacks are skipped, and named.
 */
#include "testutil.h"

#include "internal.h"
#include "lib/chunks.h"

static int best;

static void same(const chunks_result *ref, const chunks_result *r, int kernel, const char *how,
                 const char *what, size_t at)
{
    if (ref->rc != r->rc || ref->count != r->count || ref->err.offset != r->err.offset ||
        ref->err.line != r->err.line || ref->err.column != r->err.column ||
        strcmp(ref->err.reason, r->err.reason) != 0)
        fail_msg("%s at %zu, kernel %s %s: rc %d count %llu %llu:%llu@%llu \"%s\"; scalar: rc %d "
                 "count %llu %llu:%llu@%llu \"%s\"",
                 what, at, ajio__kernel_name(kernel), how, r->rc, (unsigned long long)r->count,
                 (unsigned long long)r->err.line, (unsigned long long)r->err.column,
                 (unsigned long long)r->err.offset, r->err.reason, ref->rc,
                 (unsigned long long)ref->count, (unsigned long long)ref->err.line,
                 (unsigned long long)ref->err.column, (unsigned long long)ref->err.offset,
                 ref->err.reason);
}

/* Every kernel against the scalar one, whole and in two chunkings; returns the scalar result. */
static chunks_result all_kernels(const void *buf, size_t len, unsigned flags, uint64_t seed,
                                 const char *what, size_t at)
{
    chunks_result ref =
                      chunks_validate_kernel(buf, len, flags, 0, CHUNKS_WHOLE, AJIO__KERNEL_SCALAR),
                  r;

    for (int k = AJIO__KERNEL_SCALAR; k <= best; k++) {
        r = chunks_validate_kernel(buf, len, flags, 0, CHUNKS_WHOLE, k);
        same(&ref, &r, k, "whole", what, at);
        r = chunks_validate_kernel(buf, len, flags, 0, seed | 1, k);
        same(&ref, &r, k, "chunked", what, at);
        r = chunks_validate_kernel(buf, len, flags, 0, (seed * 0x9E3779B97F4A7C15ull) | 1, k);
        same(&ref, &r, k, "chunked 2", what, at);
    }
    return ref;
}

static void test_which(void **state)
{
    (void)state;
    for (int k = 0; k < AJIO__KERNEL_COUNT; k++)
        print_message("kernel %s: %s\n", ajio__kernel_name(k),
                      k <= best ? "compared with scalar" : "not on this CPU: skipped");
}

/* ---- UTF-8 at every offset --------------------------------------------------------------------
 */

struct u8case {
    const char *bytes;
    int valid;
};

static const struct u8case u8cases[] = {
    {"\xC3\xA9", 1},
    {"\xE2\x82\xAC", 1},
    {"\xF0\x9F\x98\x80", 1},
    {"\xEF\xBF\xBF", 1},
    {"\xED\x9F\xBF", 1},
    {"\xE0\xA0\x80", 1},
    {"\xF0\x90\x80\x80", 1},
    {"\xF4\x8F\xBF\xBF", 1},
    {"\xC0\x80", 0},         /* overlong 2-byte */
    {"\xC1\xBF", 0},         /* overlong 2-byte */
    {"\xE0\x80\x80", 0},     /* overlong 3-byte */
    {"\xE0\x9F\xBF", 0},     /* overlong 3-byte */
    {"\xF0\x80\x80\x80", 0}, /* overlong 4-byte */
    {"\xF0\x8F\xBF\xBF", 0}, /* overlong 4-byte */
    {"\xED\xA0\x80", 0},     /* surrogate D800 */
    {"\xED\xBF\xBF", 0},     /* surrogate DFFF */
    {"\xF4\x90\x80\x80", 0}, /* U+110000 */
    {"\xF4\xBF\xBF\xBF", 0}, /* above U+10FFFF */
    {"\xF5\x80\x80\x80", 0}, /* F5..FF leads */
    {"\xF7\xBF\xBF\xBF", 0},
    {"\xF8\x88\x80\x80\x80", 0},
    {"\xFE", 0},
    {"\xFF", 0},
    {"\x80", 0}, /* stray continuation bytes */
    {"\xBF", 0},
    {"\xC3\xA9\xA9", 0},
    {"\xF0\x9F\x98\x80\x80", 0},
    {"\xC3", 0}, /* truncated, ASCII after it */
    {"\xE2\x82", 0},
    {"\xF0\x9F\x98", 0},
    {"\xE2", 0},
    {"\xC3\xC3\xA9", 0}, /* a lead where a continuation byte was due */
    {"\xE2\x82\xE2\x82\xAC", 0},
    {"\xF0\x9F\x98\xC3\xA9", 0},
};

/* Filler before the case: ASCII, or multi-byte text (so that the vector UTF-8 check is running
 * when it meets the case), made exactly len bytes with ASCII at the end. */
static size_t filler(char *out, size_t len, int multi)
{
    static const char *const seq[] = {"\xC3\xA9", "\xE6\x97\xA5", "\xF0\x9F\x98\x80", "a"};
    size_t n = 0;

    for (unsigned i = 0; multi && n < len; i++) {
        size_t l = strlen(seq[i % 4]);
        if (n + l > len)
            break;
        memcpy(out + n, seq[i % 4], l);
        n += l;
    }
    while (n < len)
        out[n++] = 'x';
    return n;
}

static void test_utf8_every_offset(void **state)
{
    /* After the case: more text, then how the string goes on; the end of the string and an
     * escape right after the case cut a sequence there. */
    static const char *const tails[] = {"bcdefghijklmnopqrstuvwxyz0123456789\"]", "\"]",
                                        "\\n\xC3\xA9\"]", "\xE6\x97\xA5\xE6\x97\xA5\"]"};
    char buf[512];
    size_t runs = 0;

    (void)state;
    for (size_t c = 0; c < sizeof(u8cases) / sizeof(u8cases[0]); c++)
        for (int multi = 0; multi < 2; multi++)
            for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++)
                for (size_t off = 0; off <= 130; off++) {
                    size_t n = 0;
                    buf[n++] = '[';
                    buf[n++] = '"';
                    n += filler(buf + n, off, multi);
                    memcpy(buf + n, u8cases[c].bytes, strlen(u8cases[c].bytes));
                    n += strlen(u8cases[c].bytes);
                    memcpy(buf + n, tails[t], strlen(tails[t]));
                    n += strlen(tails[t]);
                    char what[64];
                    snprintf(what, sizeof(what), "utf8 case %zu, tail %zu, %s filler, offset", c, t,
                             multi ? "multi-byte" : "ASCII");
                    chunks_result ref = all_kernels(buf, n, 0, (c * 131 + off) * 4 + t, what, off);
                    if ((ref.rc == 0) != u8cases[c].valid)
                        fail_msg("utf8 case %zu at offset %zu: rc %d (%s)", c, off, ref.rc,
                                 ref.err.reason);
                    if (!u8cases[c].valid && ref.err.offset < 2 + off)
                        fail_msg("utf8 case %zu at offset %zu: error before it, at %llu (%s)", c,
                                 off, (unsigned long long)ref.err.offset, ref.err.reason);
                    runs++;
                }
    print_message("%zu documents, each through %d kernels\n", runs, best + 1);
}

/* ---- differential: random bytes and mutated documents -----------------------------------------
 */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Bytes that matter to the validator, and UTF-8 pieces, more often than the rest. */
static char pick(uint64_t *s)
{
    static const char interesting[] = "\"\\{}[]:,  \n\t0123456789-+.eEtrufalsn\x80\xBF\xC2\xC3"
                                      "\xE0\xE2\xED\xF0\xF4\xF5\x01\x1F";
    uint64_t x = rnd(s);

    return x % 3 ? interesting[(x >> 8) % (sizeof(interesting) - 1)] : (char)(x >> 16);
}

static void test_random_bytes(void **state)
{
    uint64_t s = 0x1234567887654321ull;
    char buf[300];

    (void)state;
    for (int i = 0; i < 4000; i++) {
        size_t n = rnd(&s) % sizeof(buf);
        for (size_t j = 0; j < n; j++)
            buf[j] = pick(&s);
        if (n && i % 2) /* often a string, so that string bodies see the bytes */
            buf[0] = '"';
        all_kernels(buf, n, 0, rnd(&s), "random bytes", (size_t)i);
        all_kernels(buf, n, AJIO_JSON_LINES, rnd(&s), "random bytes (JSONL)", (size_t)i);
    }
}

static void test_mutated_documents(void **state)
{
    static const char *const docs[] = {"twitter.json", "citm_catalog.json", "canada.json"};
    const char *d = getenv("AJIO_TEST_DATA");
    uint64_t s = 0xC0FFEE1234ull;
    char path[4096];

    (void)state;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/json-bench/%s", d && *d ? d : "tests/data", docs[i]);
        char *doc = tu_read(path, &len);
        assert_non_null(doc);
        for (int m = 0; m < 60; m++) {
            /* A window of the document (so that each check stays small), 1-3 bytes changed. */
            size_t from = rnd(&s) % len, n = 1000 + rnd(&s) % 4000;
            if (n > len - from)
                n = len - from;
            char *w = malloc(n + 2);
            assert_non_null(w);
            w[0] = '[';
            memcpy(w + 1, doc + from, n);
            for (int k = 1 + (int)(rnd(&s) % 3); k > 0; k--)
                w[1 + rnd(&s) % n] = pick(&s);
            all_kernels(w, n + 1, 0, rnd(&s), docs[i], from);
            free(w);
        }
        /* and the whole document with one byte changed, a few times */
        for (int m = 0; m < 4; m++) {
            size_t at = rnd(&s) % len;
            char old = doc[at];
            doc[at] = pick(&s);
            all_kernels(doc, len, 0, rnd(&s), docs[i], at);
            doc[at] = old;
        }
        all_kernels(doc, len, 0, rnd(&s), docs[i], 0);
        free(doc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_which),
        cmocka_unit_test(test_utf8_every_offset),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_mutated_documents),
    };

    best = ajio__kernel_best();
    return cmocka_run_group_tests_name("json kernels", tests, NULL, NULL);
}

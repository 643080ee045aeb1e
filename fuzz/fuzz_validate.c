/*
 * fuzz_validate.c - libFuzzer target for the JSON/JSONL validator (make fuzz).
 *
 * For every input it checks, and abort()s on any violation:
 *
 *   1. chunking: feeding the input in pseudo-random chunks (tests/lib/chunks.h, the feeder of
 *      tests/test_json_check.c, seeded from a hash of the input; plus byte-by-byte for small
 *      inputs) gives exactly the one-shot result: return code, error line/column/offset, reason
 *      and value count; in JSON and in JSONL mode;
 *   2. JSONL against JSON: a JSONL input is valid iff every '\n'-terminated line is a valid
 *      JSON document on its own; an unterminated last line gives AJIO_ETORN (or, with
 *      AJIO_JSON_ALLOW_UNTERMINATED, the verdict of that line as a document);
 *   3. differential oracle: jansson json_loadb(JSON_DECODE_ANY | JSON_ALLOW_NUL) accepts iff the
 *      validator accepts, except for the documented differences (docs/json-validator.md):
 *      jansson rejects numbers it cannot convert (numeric overflow) and NUL in object keys;
 *      it mishandles raw NUL bytes outside strings (takes them for the end of input, or skips
 *      them after a number or literal: "1\0" and "[1\0]" are accepted);
 *      the validator's default depth limit (1024) is below jansson's (2048);
 *   4. kernels: every kernel of src/cpu.c the CPU has gives what the scalar kernel gives, fed
 *      whole and in random chunks, in JSON and JSONL mode (the one-shot checks above run the
 *      kernel the process chose: AJIO_KERNEL picks it).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ajio.h"
#include "chunks.h"

typedef chunks_result outcome;

static outcome one_shot(const uint8_t *p, size_t n, unsigned flags)
{
    outcome o;
    ajio_json_checker *c;

    /* ajio_json_validate() gives no count: use a checker fed in one piece. */
    memset(&o, 0, sizeof(o));
    if (ajio_json_checker_new(&c, flags, 0) != 0)
        abort();
    o.rc = ajio_json_checker_feed(c, p, n);
    if (o.rc == 0)
        o.rc = ajio_json_checker_finish(c);
    ajio_json_checker_error(c, &o.err);
    o.count = ajio_json_checker_count(c);
    ajio_json_checker_free(c);

    /* ... and it must agree with the one-shot API. */
    ajio_json_error e;
    memset(&e, 0, sizeof(e));
    int r = ajio_json_validate(p, n, flags, &e);
    if (r != o.rc || (r && (e.offset != o.err.offset || strcmp(e.reason, o.err.reason) != 0))) {
        fprintf(stderr, "validate/feed differ: %d vs %d\n", r, o.rc);
        abort();
    }
    return o;
}

static void same(const outcome *a, const outcome *b, const char *what)
{
    if (a->rc != b->rc || a->count != b->count || a->err.line != b->err.line ||
        a->err.column != b->err.column || a->err.offset != b->err.offset ||
        strcmp(a->err.reason, b->err.reason) != 0) {
        fprintf(stderr, "%s: chunked differs: rc %d/%d count %llu/%llu off %llu/%llu '%s'/'%s'\n",
                what, a->rc, b->rc, (unsigned long long)a->count, (unsigned long long)b->count,
                (unsigned long long)a->err.offset, (unsigned long long)b->err.offset, a->err.reason,
                b->err.reason);
        abort();
    }
}

static void check_chunking(const uint8_t *p, size_t n, unsigned flags, uint64_t h)
{
    outcome whole = one_shot(p, n, flags), o;

    o = chunks_validate(p, n, flags, 0, h | 1);
    same(&whole, &o, "random chunks");
    o = chunks_validate(p, n, flags, 0, (h >> 17) | 1);
    same(&whole, &o, "random chunks 2");
    if (n <= 512) {
        o = chunks_validate(p, n, flags, 0, 0);
        same(&whole, &o, "byte by byte");
    }
}

/* JSONL verdict rebuilt from per-line JSON verdicts. */
static void check_lines(const uint8_t *p, size_t n)
{
    size_t start = 0, good = 0;
    int bad = 0;
    outcome o = one_shot(p, n, AJIO_JSON_LINES);
    outcome u = one_shot(p, n, AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED);

    while (!bad) {
        const uint8_t *nl = start < n ? memchr(p + start, '\n', n - start) : NULL;
        if (!nl)
            break;
        size_t end = (size_t)(nl - p);
        if (ajio_json_validate(p + start, end - start, 0, NULL) != 0)
            bad = 1;
        else
            good++;
        start = end + 1;
    }
    if (bad) {
        if (o.rc != AJIO_EJSON || u.rc != AJIO_EJSON || o.count != good)
            abort();
        return;
    }
    if (start == n) { /* every line terminated */
        if (o.rc != 0 || u.rc != 0 || o.count != good || u.count != good)
            abort();
        return;
    }
    /* an unterminated tail */
    int tail = ajio_json_validate(p + start, n - start, 0, NULL);
    if (o.count != good)
        abort();
    if (tail == 0 && (o.rc != AJIO_ETORN || u.rc != 0 || u.count != good + 1))
        abort();
    if (tail != 0 && (u.rc != AJIO_EJSON || (o.rc != AJIO_ETORN && o.rc != AJIO_EJSON)))
        abort();
}

/*
 * jansson's reader keeps bytes in a NUL-terminated buffer, so a raw NUL byte outside strings
 * is taken for the end of input ("1\0" accepted) or, right after a number or literal, skipped
 * ("[1\0]" accepted). Raw NUL is never valid JSON there; the difference is documented. True if
 * the input is valid without that byte, or up to it.
 */
static int nul_quirk(const uint8_t *p, size_t n, size_t at)
{
    uint8_t *q;
    int ok;

    if (ajio_json_validate(p, at, 0, NULL) == 0)
        return 1;
    q = malloc(n);
    if (!q)
        abort();
    memcpy(q, p, at);
    memcpy(q + at, p + at + 1, n - at - 1);
    ok = ajio_json_validate(q, n - 1, 0, NULL) == 0;
    if (!ok) { /* a run of NULs: jansson skips each; drop them all */
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (p[i] != 0 || i < at)
                q[m++] = p[i];
        ok = ajio_json_validate(q, m, 0, NULL) == 0;
    }
    free(q);
    return ok;
}

static void check_jansson(const uint8_t *p, size_t n)
{
    json_error_t jerr;
    ajio_json_error e;
    int r = ajio_json_validate(p, n, 0, &e);
    json_t *root = json_loadb((const char *)p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    int jok = root != NULL;

    json_decref(root);
    if ((r == 0) == jok)
        return;
    if (r != 0 && strncmp(e.reason, "nesting deeper than", 19) == 0)
        return; /* our default limit 1024 < jansson's 2048 */
    if (jok && e.offset < n && p[e.offset] == 0 && nul_quirk(p, n, (size_t)e.offset))
        return;
    if (!jok) {
        enum json_error_code code = json_error_code(&jerr);
        if (code == json_error_numeric_overflow || code == json_error_null_byte_in_key ||
            code == json_error_stack_overflow || code == json_error_out_of_memory)
            return; /* documented: we check the grammar, not what a decoder can represent */
    }
    fprintf(stderr, "differential: ajio %s (%s at %llu), jansson %s (%s at %d)\n",
            r ? "rejects" : "accepts", e.reason, (unsigned long long)e.offset,
            jok ? "accepts" : "rejects", jok ? "" : jerr.text, jok ? 0 : jerr.position);
    abort();
}

/* Every kernel against the scalar one (the one without vector code). */
static void check_kernels(const uint8_t *p, size_t n, unsigned flags, uint64_t h)
{
    static int best = -1;
    outcome ref, o;

    if (best < 0)
        best = ajio__kernel_best();
    ref = chunks_validate_kernel(p, n, flags, 0, CHUNKS_WHOLE, AJIO__KERNEL_SCALAR);
    for (int k = AJIO__KERNEL_SCALAR; k <= best; k++) {
        o = chunks_validate_kernel(p, n, flags, 0, CHUNKS_WHOLE, k);
        same(&ref, &o, ajio__kernel_name(k));
        o = chunks_validate_kernel(p, n, flags, 0, h | 1, k);
        same(&ref, &o, ajio__kernel_name(k));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* FNV-1a of the input: the chunk sizes come from the input itself, so a crash reproduces
     * from the crash file alone. */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ull;

    check_chunking(data, size, 0, h);
    check_chunking(data, size, AJIO_JSON_LINES, h);
    check_chunking(data, size, AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED, h);
    check_lines(data, size);
    check_jansson(data, size);
    check_kernels(data, size, 0, h);
    check_kernels(data, size, AJIO_JSON_LINES, h);
    return 0;
}

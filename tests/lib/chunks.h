/*
 * chunks.h - the JSON validator fed in pseudo-random chunks. Header-only, shared by the
 * conformance test (tests/test_json_check.c) and the fuzzer (fuzz/fuzz_validate.c), which build
 * it into their own programs with their own compilers and flags.
 *
 * A streaming validator must give the same verdict however its input is cut: the same return
 * code, error line, column, offset and reason, and the same count of values. chunks_validate()
 * is the cut side of that comparison; the caller compares it with the one-shot result.
 */
#ifndef AJIO_TESTS_CHUNKS_H
#define AJIO_TESTS_CHUNKS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ajio.h"
#include "internal.h" /* ajio__json_checker_kernel(): the tests and the fuzzer run every kernel */

typedef struct chunks_result {
    int rc;         /* 0, AJIO_EJSON, AJIO_ETORN, or what ajio_json_checker_new() failed with */
    uint64_t count; /* ajio_json_checker_count() at the end */
    ajio_json_error err;
} chunks_result;

/* A seed that gives the whole input in one piece. */
#define CHUNKS_WHOLE UINT64_MAX

/*
 * The next chunk size from *seed, an xorshift64 state; a seed of 0 gives one byte at a time. Half
 * the chunks are 1 to 7 bytes, so that tokens are cut everywhere, the others up to 300 bytes.
 */
static inline size_t chunks_next(uint64_t *seed)
{
    uint64_t s = *seed;

    if (s == 0)
        return 1;
    if (s == CHUNKS_WHOLE)
        return SIZE_MAX;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    *seed = s;
    return 1 + (size_t)(s % ((s >> 32) & 1 ? 7 : 300));
}

/*
 * Validates buf with one checker (flags and max_depth as for ajio_json_checker_new()) running
 * kernel (an AJIO__KERNEL_*, or -1 for the one the process chose), fed in the chunks that seed
 * gives, then finished. A kernel the CPU lacks gives rc -ENOTSUP.
 */
static inline chunks_result chunks_validate_kernel(const void *buf, size_t len, unsigned flags,
                                                   unsigned max_depth, uint64_t seed, int kernel)
{
    const unsigned char *p = buf;
    ajio_json_checker *c = NULL;
    chunks_result r;
    size_t off = 0;

    memset(&r, 0, sizeof(r));
    r.rc = ajio_json_checker_new(&c, flags, max_depth);
    if (r.rc < 0)
        return r;
    if (kernel >= 0 && (r.rc = ajio__json_checker_kernel(c, kernel)) < 0) {
        ajio_json_checker_free(c);
        return r;
    }
    while (off < len && r.rc == 0) {
        size_t n = chunks_next(&seed);
        if (n > len - off)
            n = len - off;
        r.rc = ajio_json_checker_feed(c, p + off, n);
        off += n;
    }
    if (r.rc == 0)
        r.rc = ajio_json_checker_finish(c);
    (void)ajio_json_checker_error(c, &r.err); /* cannot fail: c is a checker, &r.err not NULL */
    r.count = ajio_json_checker_count(c);
    ajio_json_checker_free(c);
    return r;
}

static inline chunks_result chunks_validate(const void *buf, size_t len, unsigned flags,
                                            unsigned max_depth, uint64_t seed)
{
    return chunks_validate_kernel(buf, len, flags, max_depth, seed, -1);
}

#endif

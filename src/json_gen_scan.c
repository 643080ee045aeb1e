/*
 * json_gen_scan.c - the generator's string runs, 16, 32 or 64 bytes at a time: the vector
 * kernels behind ajio__gen_copy_plain(). The scalar kernel is json_gen.c's own word-at-a-time
 * code, so that a machine without these instructions (or a build for another architecture) runs
 * exactly what ran before them.
 *
 * Each kernel stores every vector it loads to the output before it looks at it: a run that needs
 * no escape (most of them) then costs one load, one store and the few compares of its stop bytes,
 * and the bytes stored past the first stop are overwritten by the caller's escape. No store goes
 * past o + n (the last piece overlaps the one before it instead, or is masked), so the caller
 * needs no slack beyond the n bytes it reserves for the run anyway; no load goes past s + n.
 */
#include "internal.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/*
 * The helpers are always inlined, so that each kernel's copy is compiled with its own encoding:
 * the AVX2 kernel calling an out-of-line SSE helper ran three times slower than the scalar code.
 */

/* The stop bytes of a run under 16 bytes, one by one (a short tail or a short string). */
__attribute__((always_inline)) static inline size_t
tail_bytes(unsigned char *o, const unsigned char *s, size_t i, size_t n, unsigned stop)
{
    for (; i < n; i++) {
        unsigned c = s[i];
        if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
            if (c != 0x7F || (stop & AJIO__GEN_STOP_DEL))
                break;
        } else if (c == '/' && (stop & AJIO__GEN_STOP_SLASH)) {
            break;
        }
        o[i] = (unsigned char)c;
    }
    return i;
}

/*
 * '/' and DEL are compared only when the flags ask; otherwise their compares repeat the quote's,
 * which costs the same as a branch would and keeps the loop free of one.
 */
#define STOP_BYTES(stop)                                                                           \
    const unsigned char slash_b = ((stop)&AJIO__GEN_STOP_SLASH) ? '/' : '"';                       \
    const unsigned char del_b = ((stop)&AJIO__GEN_STOP_DEL) ? 0x7F : '"'

/* ---- SSE4.2 kernel: 16 bytes ------------------------------------------------------------------
 */

/* Bytes below 0x20 and from 0x80 are the signed bytes below 0x20: one compare for both. */
__attribute__((target("sse4.2"), always_inline)) static inline unsigned
stops16(__m128i x, __m128i slash, __m128i del)
{
    __m128i m = _mm_cmplt_epi8(x, _mm_set1_epi8(0x20));

    m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
    m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
    m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(x, slash), _mm_cmpeq_epi8(x, del)));
    return (unsigned)_mm_movemask_epi8(m);
}

/* From i on, 16 at a time, the last piece overlapping the one before: n - i >= 16, or i == 0. */
__attribute__((target("sse4.2"), always_inline)) static inline size_t
run16(unsigned char *o, const unsigned char *s, size_t i, size_t n, unsigned stop)
{
    STOP_BYTES(stop);
    const __m128i slash = _mm_set1_epi8((char)slash_b), del = _mm_set1_epi8((char)del_b);

    if (n < 16)
        return tail_bytes(o, s, i, n, stop);
    for (; n - i >= 16; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
        _mm_storeu_si128((__m128i *)(o + i), x);
        unsigned m = stops16(x, slash, del);
        if (m != 0)
            return i + (unsigned)__builtin_ctz(m);
    }
    if (i == n)
        return n;
    /* The bytes before i in this piece were found plain already: its first stop is past i. */
    __m128i x = _mm_loadu_si128((const __m128i *)(s + n - 16));
    _mm_storeu_si128((__m128i *)(o + n - 16), x);
    unsigned m = stops16(x, slash, del);
    return m != 0 ? n - 16 + (unsigned)__builtin_ctz(m) : n;
}

__attribute__((target("sse4.2"))) static size_t copy_sse42(unsigned char *o, const unsigned char *s,
                                                           size_t n, unsigned stop)
{
    return run16(o, s, 0, n, stop);
}

/* ---- AVX2 kernel: 32 bytes --------------------------------------------------------------------
 */

__attribute__((target("avx2"))) static size_t copy_avx2(unsigned char *o, const unsigned char *s,
                                                        size_t n, unsigned stop)
{
    STOP_BYTES(stop);
    const __m256i slash = _mm256_set1_epi8((char)slash_b), del = _mm256_set1_epi8((char)del_b);
    const __m256i space = _mm256_set1_epi8(0x20), quote = _mm256_set1_epi8('"');
    const __m256i bslash = _mm256_set1_epi8('\\');
    size_t i = 0;

    if (n < 32)
        return run16(o, s, 0, n, stop);
    for (;;) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(s + i));
        _mm256_storeu_si256((__m256i *)(o + i), x);
        __m256i m = _mm256_cmpgt_epi8(space, x);
        m = _mm256_or_si256(m, _mm256_cmpeq_epi8(x, quote));
        m = _mm256_or_si256(m, _mm256_cmpeq_epi8(x, bslash));
        m = _mm256_or_si256(
            m, _mm256_or_si256(_mm256_cmpeq_epi8(x, slash), _mm256_cmpeq_epi8(x, del)));
        unsigned bits = (unsigned)_mm256_movemask_epi8(m);
        if (bits != 0)
            return i + (unsigned)__builtin_ctz(bits);
        i += 32;
        if (n - i < 32) {
            if (i == n)
                return n;
            /* the last piece, overlapping the one before: its first stop is past i */
            i = n - 32;
        }
    }
}

/* ---- AVX-512 kernel: 64 bytes, the tail masked ---------------------------------------------- */

__attribute__((target("avx512f,avx512bw"), always_inline)) static inline uint64_t
stops64(__m512i x, __m512i slash, __m512i del)
{
    return _mm512_cmplt_epi8_mask(x, _mm512_set1_epi8(0x20)) |
           _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('"')) |
           _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('\\')) | _mm512_cmpeq_epi8_mask(x, slash) |
           _mm512_cmpeq_epi8_mask(x, del);
}

__attribute__((target("avx512f,avx512bw"))) static size_t
copy_avx512(unsigned char *o, const unsigned char *s, size_t n, unsigned stop)
{
    STOP_BYTES(stop);
    const __m512i slash = _mm512_set1_epi8((char)slash_b), del = _mm512_set1_epi8((char)del_b);
    size_t i = 0;

    for (; n - i >= 64; i += 64) {
        __m512i x = _mm512_loadu_si512((const void *)(s + i));
        _mm512_storeu_si512((void *)(o + i), x);
        uint64_t m = stops64(x, slash, del);
        if (m != 0)
            return i + (size_t)__builtin_ctzll(m);
    }
    if (i == n)
        return n;
    /* A masked load neither reads nor faults past s + n, a masked store writes nothing past it. */
    __mmask64 k = (1ULL << (n - i)) - 1; /* n - i < 64 */
    __m512i x = _mm512_maskz_loadu_epi8(k, s + i);
    _mm512_mask_storeu_epi8(o + i, k, x);
    uint64_t m = stops64(x, slash, del) & k;
    return m != 0 ? i + (size_t)__builtin_ctzll(m) : n;
}
#endif

ajio__gen_copy_fn ajio__gen_copy_plain(int kernel)
{
#if defined(__x86_64__) && defined(__GNUC__)
    switch (kernel) {
    case AJIO__KERNEL_SSE42:
        return copy_sse42;
    case AJIO__KERNEL_AVX2:
        return copy_avx2;
    case AJIO__KERNEL_AVX512:
        return copy_avx512;
    }
#else
    (void)kernel;
#endif
    return NULL;
}

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
#include "simd_utf8.h"

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
/* ---- UTF-8 runs (no AJIO_GEN_ENSURE_ASCII) --------------------------------------------------- */

/*
 * Without AJIO_GEN_ENSURE_ASCII a valid UTF-8 sequence is copied as it is, so the kernels take
 * whole vectors of them into the run: each byte is checked against the three before it by the
 * validator's table lookup (simd_utf8.h). tests/test_gen_kernels.c compares every kernel with
 * json_gen.c's sequence-at-a-time check. The bytes before the first vector count as ASCII: a run
 * starts where a sequence may.
 *
 * A vector with a stop byte or an error ends the run at the first one, moved back to the lead
 * of a sequence that it would otherwise cut: json_gen.c then checks that sequence one byte at a
 * time and finds the same error, at the same byte, as it does without a vector kernel.
 */
/* j, or the lead of a sequence begun in the 3 bytes before j and not complete at j. */
static inline size_t seq_start(const unsigned char *s, size_t j)
{
    for (size_t q = j; q > 0 && j - q < 3;) {
        unsigned c = s[--q];
        if (c < 0x80)
            break;
        if (c >= 0xC0)
            return q + (c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2) > j ? q : j;
    }
    return j;
}

/* Stop bytes when bytes from 0x80 are not stops: below 0x20 unsigned, '"', '\\', '/', DEL. */
__attribute__((target("sse4.2"), always_inline)) static inline unsigned
utf8_stops16(__m128i x, __m128i slash, __m128i del)
{
    __m128i m = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1F)), x);

    m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
    m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
    m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(x, slash), _mm_cmpeq_epi8(x, del)));
    return (unsigned)_mm_movemask_epi8(m);
}

/* The last bytes, fewer than a vector: one by one, bytes from 0x80 left to json_gen.c. */
#define UTF8_TAIL(o, s, i, n, stop)                                                                \
    do {                                                                                           \
        size_t at_ = seq_start(s, i);                                                              \
        return at_ < (i) ? at_ : tail_bytes(o, s, i, n, stop);                                     \
    } while (0)

/* 16 bytes at a time from i, prev the 16 before i; the AVX2 kernel's last 16 bytes too. */
__attribute__((target("sse4.2"), always_inline)) static inline size_t
utf8_run16(unsigned char *o, const unsigned char *s, size_t i, size_t n, unsigned stop,
           __m128i prev)
{
    STOP_BYTES(stop);
    const __m128i slash = _mm_set1_epi8((char)slash_b), del = _mm_set1_epi8((char)del_b);

    for (; n - i >= 16; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
        _mm_storeu_si128((__m128i *)(o + i), x);
        unsigned m = utf8_stops16(x, slash, del);
        if (_mm_movemask_epi8(_mm_or_si128(x, prev)) != 0) {
            __m128i e = ajio__utf8_errors_128(prev, x);
            m |= ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(e, _mm_setzero_si128())) & 0xFFFF;
        }
        if (m != 0)
            return seq_start(s, i + (unsigned)__builtin_ctz(m));
        prev = x;
    }
    UTF8_TAIL(o, s, i, n, stop);
}

__attribute__((target("sse4.2"))) static size_t
copy_utf8_sse42(unsigned char *o, const unsigned char *s, size_t n, unsigned stop)
{
    return utf8_run16(o, s, 0, n, stop, _mm_setzero_si128());
}

__attribute__((target("avx2"))) static size_t
copy_utf8_avx2(unsigned char *o, const unsigned char *s, size_t n, unsigned stop)
{
    STOP_BYTES(stop);
    const __m256i slash = _mm256_set1_epi8((char)slash_b), del = _mm256_set1_epi8((char)del_b);
    const __m256i zero = _mm256_setzero_si256();
    __m256i prev = zero;
    size_t i = 0;

    for (; n - i >= 32; i += 32) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(s + i));
        _mm256_storeu_si256((__m256i *)(o + i), x);
        __m256i st = _mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_set1_epi8(0x1F)), x);
        st = _mm256_or_si256(st, _mm256_cmpeq_epi8(x, _mm256_set1_epi8('"')));
        st = _mm256_or_si256(st, _mm256_cmpeq_epi8(x, _mm256_set1_epi8('\\')));
        st = _mm256_or_si256(
            st, _mm256_or_si256(_mm256_cmpeq_epi8(x, slash), _mm256_cmpeq_epi8(x, del)));
        unsigned m = (unsigned)_mm256_movemask_epi8(st);
        if (_mm256_movemask_epi8(_mm256_or_si256(x, prev)) != 0) {
            __m256i e = ajio__utf8_errors_256(prev, x);
            m |= ~(unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(e, zero));
        }
        if (m != 0)
            return seq_start(s, i + (unsigned)__builtin_ctz(m));
        prev = x;
    }
    /* at most one 16-byte step more, prev's high lane before it */
    return utf8_run16(o, s, i, n, stop, _mm256_extracti128_si256(prev, 1));
}

__attribute__((target("avx512f,avx512bw"))) static size_t
copy_utf8_avx512(unsigned char *o, const unsigned char *s, size_t n, unsigned stop)
{
    STOP_BYTES(stop);
    const __m512i slash = _mm512_set1_epi8((char)slash_b), del = _mm512_set1_epi8((char)del_b);
    const __m512i high = _mm512_set1_epi8((char)0x80);
    __m512i prev = _mm512_setzero_si512();
    size_t i = 0;

    for (; i < n; i += 64) {
        /* The last piece masked: nothing read or written past n, the rest zero (ASCII). */
        __mmask64 k = n - i >= 64 ? ~0ULL : (1ULL << (n - i)) - 1;
        __m512i x = _mm512_maskz_loadu_epi8(k, s + i);
        _mm512_mask_storeu_epi8(o + i, k, x);
        uint64_t m = _mm512_cmplt_epu8_mask(x, _mm512_set1_epi8(0x20)) |
                     _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('"')) |
                     _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('\\')) |
                     _mm512_cmpeq_epi8_mask(x, slash) | _mm512_cmpeq_epi8_mask(x, del);
        if (_mm512_test_epi8_mask(_mm512_or_si512(x, prev), high) != 0)
            m |= ajio__utf8_errors_512(prev, x);
        /* a sequence cut by the end shows as an error past it, where the zeros are */
        m &= k;
        if (m != 0)
            return seq_start(s, i + (size_t)__builtin_ctzll(m));
        prev = x;
    }
    return seq_start(s, n);
}
#endif

ajio__gen_copy_fn ajio__gen_copy_plain(int kernel, bool utf8)
{
#if defined(__x86_64__) && defined(__GNUC__)
    switch (kernel) {
    case AJIO__KERNEL_SSE42:
        return utf8 ? copy_utf8_sse42 : copy_sse42;
    case AJIO__KERNEL_AVX2:
        return utf8 ? copy_utf8_avx2 : copy_avx2;
    case AJIO__KERNEL_AVX512:
        return utf8 ? copy_utf8_avx512 : copy_avx512;
    }
#else
    (void)kernel, (void)utf8;
#endif
    return NULL;
}

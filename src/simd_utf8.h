/*
 * simd_utf8.h - the vector UTF-8 check that the validator's string scanners (json_check.c) and
 * the generator's string runs (json_gen_scan.c) share, for their SSE4.2, AVX2 and AVX-512
 * kernels. Each function gives the error bits of every byte of cur, prev being the vector before
 * it (zeros where the text starts): any bit set is an error at that byte, or at the end of a
 * sequence cut short there. The callers include it only where <immintrin.h> is available.
 */
#ifndef AJIO_SIMD_UTF8_H
#define AJIO_SIMD_UTF8_H

#include <immintrin.h>
#include <stdint.h>

/*
 * UTF-8 validation by table lookup, after Keiser and Lemire, "Validating UTF-8 in less than one
 * instruction per byte" (2021). Each byte is checked with the one before it: three 16-entry
 * tables, indexed by the high and low nibble of the previous byte and the high nibble of this
 * one, each give the error classes that part allows; a class in all three is an error. Third and
 * fourth bytes of a sequence are continuation bytes after a continuation byte, which the pair
 * check flags (U8_TWO); they are told apart by the lead two or three bytes back, and that flag
 * is cancelled there (and set where a continuation byte was due but is missing).
 */
#define U8_SHORT 0x01 /* lead byte not followed by a continuation byte */
#define U8_LONG 0x02  /* continuation byte after ASCII */
#define U8_OV3 0x04   /* E0 80..9F: overlong 3-byte form */
#define U8_LARGE 0x08 /* F4 90..BF, F5..FF 90..BF: above U+10FFFF */
#define U8_SURR 0x10  /* ED A0..BF: a UTF-16 surrogate */
#define U8_OV2 0x20   /* C0, C1 lead: overlong 2-byte form */
#define U8_F8X 0x40   /* F0 80..8F (overlong 4-byte form), F5..FF 80..8F (too large) */
#define U8_TWO 0x80   /* continuation byte after a continuation byte */
#define U8_BASE (U8_SHORT | U8_LONG | U8_TWO)

/* clang-format off */
static const uint8_t ajio__u8_prev_hi[16] = {
    U8_LONG, U8_LONG, U8_LONG, U8_LONG, U8_LONG, U8_LONG, U8_LONG, U8_LONG,
    U8_TWO, U8_TWO, U8_TWO, U8_TWO,
    U8_SHORT | U8_OV2, U8_SHORT, U8_SHORT | U8_OV3 | U8_SURR, U8_SHORT | U8_LARGE | U8_F8X,
};
static const uint8_t ajio__u8_prev_lo[16] = {
    U8_BASE | U8_OV2 | U8_OV3 | U8_F8X, U8_BASE | U8_OV2, U8_BASE, U8_BASE,
    U8_BASE | U8_LARGE, U8_BASE | U8_LARGE | U8_F8X, U8_BASE | U8_LARGE | U8_F8X,
    U8_BASE | U8_LARGE | U8_F8X, U8_BASE | U8_LARGE | U8_F8X, U8_BASE | U8_LARGE | U8_F8X,
    U8_BASE | U8_LARGE | U8_F8X, U8_BASE | U8_LARGE | U8_F8X, U8_BASE | U8_LARGE | U8_F8X,
    U8_BASE | U8_LARGE | U8_F8X | U8_SURR, U8_BASE | U8_LARGE | U8_F8X,
    U8_BASE | U8_LARGE | U8_F8X,
};
static const uint8_t ajio__u8_cur_hi[16] = {
    U8_SHORT, U8_SHORT, U8_SHORT, U8_SHORT, U8_SHORT, U8_SHORT, U8_SHORT, U8_SHORT,
    U8_LONG | U8_TWO | U8_OV2 | U8_OV3 | U8_F8X,
    U8_LONG | U8_TWO | U8_OV2 | U8_OV3 | U8_LARGE,
    U8_LONG | U8_TWO | U8_OV2 | U8_SURR | U8_LARGE,
    U8_LONG | U8_TWO | U8_OV2 | U8_SURR | U8_LARGE,
    U8_SHORT, U8_SHORT, U8_SHORT, U8_SHORT,
};
/* clang-format on */

#define AJIO__U8_TABLE(t) _mm_loadu_si128((const void *)(t))

__attribute__((target("sse4.2,ssse3"), always_inline)) static inline __m128i
ajio__utf8_errors_128(__m128i prev, __m128i cur)
{
    const __m128i nib = _mm_set1_epi8(0x0F);
    __m128i p1 = _mm_alignr_epi8(cur, prev, 15), p2 = _mm_alignr_epi8(cur, prev, 14),
            p3 = _mm_alignr_epi8(cur, prev, 13);
    __m128i e = _mm_and_si128(
        _mm_and_si128(_mm_shuffle_epi8(AJIO__U8_TABLE(ajio__u8_prev_hi),
                                       _mm_and_si128(_mm_srli_epi16(p1, 4), nib)),
                      _mm_shuffle_epi8(AJIO__U8_TABLE(ajio__u8_prev_lo), _mm_and_si128(p1, nib))),
        _mm_shuffle_epi8(AJIO__U8_TABLE(ajio__u8_cur_hi),
                         _mm_and_si128(_mm_srli_epi16(cur, 4), nib)));
    __m128i lead = _mm_or_si128(_mm_subs_epu8(p2, _mm_set1_epi8((char)0xDF)),
                                _mm_subs_epu8(p3, _mm_set1_epi8((char)0xEF)));
    __m128i must =
        _mm_andnot_si128(_mm_cmpeq_epi8(lead, _mm_setzero_si128()), _mm_set1_epi8((char)0x80));
    return _mm_xor_si128(e, must);
}

__attribute__((target("avx2"), always_inline)) static inline __m256i
ajio__utf8_errors_256(__m256i prev, __m256i cur)
{
    const __m256i nib = _mm256_set1_epi8(0x0F);
    /* The 16 bytes before each 128-bit lane of cur, for the per-lane byte shifts. */
    __m256i t = _mm256_permute2x128_si256(prev, cur, 0x21);
    __m256i p1 = _mm256_alignr_epi8(cur, t, 15), p2 = _mm256_alignr_epi8(cur, t, 14),
            p3 = _mm256_alignr_epi8(cur, t, 13);
    __m256i e = _mm256_and_si256(
        _mm256_and_si256(
            _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(AJIO__U8_TABLE(ajio__u8_prev_hi)),
                                _mm256_and_si256(_mm256_srli_epi16(p1, 4), nib)),
            _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(AJIO__U8_TABLE(ajio__u8_prev_lo)),
                                _mm256_and_si256(p1, nib))),
        _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(AJIO__U8_TABLE(ajio__u8_cur_hi)),
                            _mm256_and_si256(_mm256_srli_epi16(cur, 4), nib)));
    __m256i lead = _mm256_or_si256(_mm256_subs_epu8(p2, _mm256_set1_epi8((char)0xDF)),
                                   _mm256_subs_epu8(p3, _mm256_set1_epi8((char)0xEF)));
    __m256i must = _mm256_andnot_si256(_mm256_cmpeq_epi8(lead, _mm256_setzero_si256()),
                                       _mm256_set1_epi8((char)0x80));
    return _mm256_xor_si256(e, must);
}

/* As a mask: bit i set when byte i of cur holds an error. */
__attribute__((target("avx512f,avx512bw"), always_inline)) static inline __mmask64
ajio__utf8_errors_512(__m512i prev, __m512i cur)
{
    const __m512i nib = _mm512_set1_epi8(0x0F);
    __m512i t = _mm512_alignr_epi64(cur, prev, 6);
    __m512i p1 = _mm512_alignr_epi8(cur, t, 15), p2 = _mm512_alignr_epi8(cur, t, 14),
            p3 = _mm512_alignr_epi8(cur, t, 13);
    __m512i e = _mm512_and_si512(
        _mm512_and_si512(
            _mm512_shuffle_epi8(_mm512_broadcast_i32x4(AJIO__U8_TABLE(ajio__u8_prev_hi)),
                                _mm512_and_si512(_mm512_srli_epi16(p1, 4), nib)),
            _mm512_shuffle_epi8(_mm512_broadcast_i32x4(AJIO__U8_TABLE(ajio__u8_prev_lo)),
                                _mm512_and_si512(p1, nib))),
        _mm512_shuffle_epi8(_mm512_broadcast_i32x4(AJIO__U8_TABLE(ajio__u8_cur_hi)),
                            _mm512_and_si512(_mm512_srli_epi16(cur, 4), nib)));
    __m512i lead = _mm512_or_si512(_mm512_subs_epu8(p2, _mm512_set1_epi8((char)0xDF)),
                                   _mm512_subs_epu8(p3, _mm512_set1_epi8((char)0xEF)));
    __mmask64 must = _mm512_test_epi8_mask(lead, lead);
    __m512i x = _mm512_xor_si512(e, _mm512_maskz_mov_epi8(must, _mm512_set1_epi8((char)0x80)));
    return _mm512_test_epi8_mask(x, x);
}

#endif /* AJIO_SIMD_UTF8_H */

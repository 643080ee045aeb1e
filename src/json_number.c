/*
 * json_number.c - numbers as JSON text, for the generator (json_gen.c): integers, and doubles
 * either in the shortest form that reads back as the same double (Python's repr()) or rounded to
 * N significant digits (printf's "%.Ng", as jansson prints reals).
 *
 * Why not printf alone: "%.17g" costs a quarter of a microsecond per number, most of the time of
 * a number-heavy document, and its decimal point is the locale's. Both forms are therefore
 * computed here with exact integer arithmetic in 128 bits: a double is m * 2^e with m < 2^53, and
 * for the exponents real documents hold (about 1e-15 .. 1e46) every quantity below fits. Outside
 * that range (and for more than 17 significant digits) the digits come from snprintf("%.*e"),
 * which glibc rounds exactly, and strtod(), which it reads exactly: slower, equally exact. Either
 * way the digits end up in one struct decimal and one formatter lays them out, so the two paths
 * cannot differ in layout, and no locale is ever involved (the decimal point is always '.').
 *
 * The shortest form is the one of Steele & White, Gay's dtoa mode 0, Ryu and Python: the fewest
 * significant digits that read back exactly (the input's rounding interval, its bounds included
 * when the mantissa is even, as strtod rounds half to even), and of those the one nearest to the
 * exact value, ties to even.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

/* Significant digits (no leading or trailing zeros) and the exponent of the first one. */
struct decimal {
    char d[AJIO_GEN_DOUBLE_MAX];
    int n; /* digits in d, >= 1 */
    int x; /* the value is 0.d[0]d[1]... * 10^(x + 1), i.e. d[0] is worth 10^x */
};

static const char pairs_table[200] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

static const uint64_t pow10_64[20] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
    10000000000000000ULL,
    100000000000000000ULL,
    1000000000000000000ULL,
    10000000000000000000ULL,
};

/* Number of decimal digits of v (1 for 0): from the bit length, then one comparison. */
static inline int digit_count(uint64_t v)
{
    int bits = 64 - __builtin_clzll(v | 1);
    int t = (bits * 1233) >> 12; /* 1233 / 4096 ~ log10(2): t is the count, or one less */

    if (v < 10)
        return 1;
    return t + 1 - (v < pow10_64[t]);
}

/* The 2 * pairs digits of v (< 100^pairs) ending at p, two at a time in 32-bit arithmetic. */
static inline void put_pairs(char *p, uint32_t v, int pairs)
{
    while (pairs-- > 0) {
        uint32_t r = v % 100;
        v /= 100;
        p -= 2;
        memcpy(p, pairs_table + 2 * r, 2);
    }
}

size_t ajio__format_u64(char *out, uint64_t v)
{
    const int n = digit_count(v);
    char *p = out + n;

    /* Eight digits at a time while the rest does not fit 32 bits; 64-bit divisions are slow. */
    while (v >= 100000000) {
        uint32_t low = (uint32_t)(v % 100000000);
        v /= 100000000;
        put_pairs(p, low, 4);
        p -= 8;
    }
    uint32_t w = (uint32_t)v;
    while (w >= 100) {
        uint32_t r = w % 100;
        w /= 100;
        p -= 2;
        memcpy(p, pairs_table + 2 * r, 2);
    }
    if (w >= 10) {
        p -= 2;
        memcpy(p, pairs_table + 2 * w, 2);
    } else {
        *--p = (char)('0' + w);
    }
    return (size_t)n;
}

size_t ajio__format_i64(char *out, int64_t v)
{
    if (v >= 0)
        return ajio__format_u64(out, (uint64_t)v);
    /* In unsigned arithmetic, so that INT64_MIN has a magnitude too. */
    out[0] = '-';
    return 1 + ajio__format_u64(out + 1, 0 - (uint64_t)v);
}

/* 5^k for k <= 55 (5^55 < 2^128): the odd part of 10^k, as (high, low) 64-bit halves. */
/* clang-format off */
#define P5(hi, lo) (((u128)(hi) << 64) | (u128)(lo))
static const u128 pow5_table[56] = {
    P5(0x0ULL, 0x1ULL), P5(0x0ULL, 0x5ULL), P5(0x0ULL, 0x19ULL), P5(0x0ULL, 0x7dULL),
    P5(0x0ULL, 0x271ULL), P5(0x0ULL, 0xc35ULL), P5(0x0ULL, 0x3d09ULL), P5(0x0ULL, 0x1312dULL),
    P5(0x0ULL, 0x5f5e1ULL), P5(0x0ULL, 0x1dcd65ULL), P5(0x0ULL, 0x9502f9ULL),
    P5(0x0ULL, 0x2e90eddULL), P5(0x0ULL, 0xe8d4a51ULL), P5(0x0ULL, 0x48c27395ULL),
    P5(0x0ULL, 0x16bcc41e9ULL), P5(0x0ULL, 0x71afd498dULL), P5(0x0ULL, 0x2386f26fc1ULL),
    P5(0x0ULL, 0xb1a2bc2ec5ULL), P5(0x0ULL, 0x3782dace9d9ULL), P5(0x0ULL, 0x1158e460913dULL),
    P5(0x0ULL, 0x56bc75e2d631ULL), P5(0x0ULL, 0x1b1ae4d6e2ef5ULL), P5(0x0ULL, 0x878678326eac9ULL),
    P5(0x0ULL, 0x2a5a058fc295edULL), P5(0x0ULL, 0xd3c21bcecceda1ULL),
    P5(0x0ULL, 0x422ca8b0a00a425ULL), P5(0x0ULL, 0x14adf4b7320334b9ULL),
    P5(0x0ULL, 0x6765c793fa10079dULL), P5(0x2ULL, 0x4fce5e3e2502611ULL),
    P5(0xaULL, 0x18f07d736b90be55ULL), P5(0x32ULL, 0x7cb2734119d3b7a9ULL),
    P5(0xfcULL, 0x6f7c40458122964dULL), P5(0x4eeULL, 0x2d6d415b85acef81ULL),
    P5(0x18a6ULL, 0xe32246c99c60ad85ULL), P5(0x7b42ULL, 0x6fab61f00de36399ULL),
    P5(0x2684cULL, 0x2e58e9b04570f1fdULL), P5(0xc097cULL, 0xe7bc90715b34b9f1ULL),
    P5(0x3c2f70ULL, 0x86aed236c807a1b5ULL), P5(0x12ced32ULL, 0xa16a1b11e8262889ULL),
    P5(0x5e0a1fdULL, 0x2712875988becaadULL), P5(0x1d6329f1ULL, 0xc35ca4bfabb9f561ULL),
    P5(0x92efd1b8ULL, 0xd0cf37be5aa1cae5ULL), P5(0x2deaf189cULL, 0x140c16b7c528f679ULL),
    P5(0xe596b7b0cULL, 0x643c7196d9ccd05dULL), P5(0x47bf19673dULL, 0xf52e37f2410011d1ULL),
    P5(0x166bb7f0435ULL, 0xc9e717bb45005915ULL), P5(0x701a97b150cULL, 0xf18376a85901bd69ULL),
    P5(0x23084f676940ULL, 0xb7915149bd08b30dULL), P5(0xaf298d050e43ULL, 0x95d69670b12b7f41ULL),
    P5(0x36bcfc1194751ULL, 0xed30f03375d97c45ULL), P5(0x111b0ec57e6499ULL, 0xa1f4b1014d3f6d59ULL),
    P5(0x558749db77f700ULL, 0x29c77506823d22bdULL),
    P5(0x1aba4714957d300ULL, 0xd0e549208b31adb1ULL),
    P5(0x85a36366eb71f04ULL, 0x147a6da2b7f86475ULL),
    P5(0x29c30f1029939b14ULL, 0x6664242d97d9f649ULL),
    P5(0xd0cf4b50cfe20765ULL, 0xfff4b4e3f741cf6dULL),
};
#undef P5
/* clang-format on */

static inline u128 pow5(int k)
{
    return pow5_table[k];
}

/* Sets dec from the integer t worth t * 10^e; trailing zeros of t are stripped. */
static void decimal_from_u64(struct decimal *dec, uint64_t t, int e)
{
    /* Widest first: a "%.17g" of 0.5 has sixteen zeros to drop, one division at a time is slow. */
    if (t % 100000000 == 0) {
        t /= 100000000;
        e += 8;
        if (t % 100000000 == 0) {
            t /= 100000000;
            e += 8;
        }
    }
    if (t % 10000 == 0) {
        t /= 10000;
        e += 4;
    }
    if (t % 100 == 0) {
        t /= 100;
        e += 2;
    }
    if (t % 10 == 0) {
        t /= 10;
        e++;
    }
    dec->n = (int)ajio__format_u64(dec->d, t);
    dec->x = e + dec->n - 1;
}

/* m * 2^e, m < 2^53, the double's exact value. */
static void split(double v, uint64_t *ret_m, int *ret_e, bool *ret_lower_closer)
{
    uint64_t bits;
    uint64_t frac;
    int exp;

    memcpy(&bits, &v, sizeof(bits));
    frac = bits & ((1ULL << 52) - 1);
    exp = (int)((bits >> 52) & 0x7FF);
    if (exp == 0) {
        *ret_m = frac;
        *ret_e = 1 - 1075;
    } else {
        *ret_m = frac | (1ULL << 52);
        *ret_e = exp - 1075;
    }
    /* At a power of two the gap below is half the gap above (not for the smallest normal). */
    *ret_lower_closer = frac == 0 && exp > 1;
}

/*
 * Compares 2 * (delta + rem/den) with p10, where 0 <= delta < p10 and 0 <= rem < den: the
 * distance from a candidate to the exact value against half a step, without products that could
 * overflow. @return <0, 0, >0.
 */
static int cmp_half(uint64_t delta, u128 rem, u128 den, uint64_t p10)
{
    u128 a = (u128)delta * 2;

    if (a >= p10)
        return a > p10 || rem > 0 ? 1 : 0;
    if (a + 2 <= p10)
        return -1;
    /* a + 1 == p10: the fraction decides, 2 * rem against den. */
    return rem * 2 < den ? -1 : rem * 2 > den ? 1 : 0;
}

/*
 * The shortest digits of m * 2^e with exact 128-bit arithmetic. @return false when the exponent
 * is outside the range this covers (the caller then takes the slow path).
 */
static bool shortest_fast(uint64_t m, int e, bool lower_closer, struct decimal *dec)
{
    /* The rounding interval, in units of 2^(e-2): [mm, mp] around mv. */
    const uint64_t mv = 4 * m, mp = 4 * m + 2, mm = 4 * m - (lower_closer ? 1 : 2);
    const uint64_t width = mp - mm;
    const bool inclusive = (m & 1) == 0;
    const int E = e - 2;
    u128 a_mm, a_mv, a_mp, den;
    uint64_t lo, hi, q;
    u128 rem;
    int k, scale; /* the interval is scaled by 10^scale */

    if (E < 0) {
        /* Multiply by 10^k, k the least that makes the interval at least 2 units wide. */
        int s = -E;
        k = (int)((double)(s + 1) * 0.30102999566398120) - 1;
        if (k < 0)
            k = 0;
        while (k <= 31 && (s - k >= 127 || ((u128)width * pow5(k)) < ((u128)1 << (s + 1 - k))))
            k++;
        if (k > 31 || s - k < 0 || s - k >= 127)
            return false;
        /* x * 10^k / 2^s = x * 5^k / 2^(s-k) */
        const int sh = s - k;
        const u128 f = pow5(k);
        a_mm = mm * f;
        a_mv = mv * f;
        a_mp = mp * f;
        const u128 mask = ((u128)1 << sh) - 1;
        lo = (uint64_t)(a_mm >> sh) + ((a_mm & mask) != 0 || !inclusive);
        hi = (uint64_t)(a_mp >> sh) - ((a_mp & mask) == 0 && !inclusive);
        q = (uint64_t)(a_mv >> sh);
        rem = a_mv & mask;
        den = (u128)1 << sh;
        scale = k;
    } else {
        /* Divide by 10^k, k the greatest that keeps the interval at least 2 units wide. */
        if (E > 100)
            return false;
        k = (int)((double)(E - 1) * 0.30102999566398120);
        if (k < 0)
            k = 0;
        /* width * 2^E >= 2 * 10^k, i.e. width * 2^(E-k-1) >= 5^k */
        while (k > 0 && (E - k - 1 < 0 || ((u128)width << (E - k - 1)) < pow5(k)))
            k--;
        while (k + 1 <= 27 && E - k - 2 >= 0 && ((u128)width << (E - k - 2)) >= pow5(k + 1))
            k++;
        if (E - k > 72 || k > 27)
            return false;
        /* x * 2^E / 10^k = x * 2^(E-k) / 5^k */
        den = pow5(k);
        a_mm = (u128)mm << (E - k);
        a_mv = (u128)mv << (E - k);
        a_mp = (u128)mp << (E - k);
        u128 r_mm = a_mm % den, r_mp = a_mp % den;
        if ((a_mp / den) >> 63)
            return false;
        lo = (uint64_t)(a_mm / den) + (r_mm != 0 || !inclusive);
        hi = (uint64_t)(a_mp / den) - (r_mp == 0 && !inclusive);
        q = (uint64_t)(a_mv / den);
        rem = a_mv % den;
        scale = -k;
    }
    if (lo > hi)
        return false; /* cannot happen with a width of 2 or more; no guessing if it does */

    /* The most trailing zeros any number of the interval can have. */
    int j = 0;
    for (uint64_t h = hi, l = lo; h / 10 >= (l + 9) / 10 && j < 19; j++) {
        h /= 10;
        l = (l + 9) / 10;
    }
    const uint64_t p10 = pow10_64[j];
    /* Of the multiples of 10^j in the interval, the one nearest the exact value. */
    const uint64_t cf = q - q % p10;
    const bool f_in = cf >= lo;
    const bool c_in = cf <= UINT64_MAX - p10 && cf + p10 <= hi;
    uint64_t c;

    if (f_in && c_in) {
        int cmp = cmp_half(q - cf, rem, den, p10);
        c = cmp < 0 || (cmp == 0 && (cf / p10) % 2 == 0) ? cf : cf + p10;
    } else {
        c = f_in ? cf : cf + p10;
    }
    /* c / 10^j has no trailing zero left: a multiple of 10^(j+1) would have been found above. */
    decimal_from_u64(dec, c / p10, j - scale);
    return true;
}

/*
 * The digits of n-digit strings in "%.*e" output: d[.ddd]e[+-]x, whatever the locale's decimal
 * point (every non-digit before the 'e' is skipped). @return false if the text is not that.
 */
static bool parse_e(const char *s, struct decimal *dec)
{
    int n = 0;

    for (; *s != 'e' && *s != '\0'; s++)
        if (*s >= '0' && *s <= '9' && n < (int)sizeof(dec->d))
            dec->d[n++] = *s;
    if (*s != 'e' || n == 0)
        return false;
    dec->x = atoi(s + 1);
    while (n > 1 && dec->d[n - 1] == '0')
        n--;
    dec->n = n;
    return true;
}

/* dec as "DDDe-X" (no decimal point, so strtod reads it the same in every locale). */
static double read_back(const struct decimal *dec)
{
    char buf[AJIO_GEN_DOUBLE_MAX + 16];

    memcpy(buf, dec->d, (size_t)dec->n);
    (void)snprintf(buf + dec->n, sizeof(buf) - (size_t)dec->n, "e%d", dec->x - dec->n + 1);
    return strtod(buf, NULL);
}

/* Adds delta (+1 or -1) to the last of n digits, carrying; keeps n digits (x adjusts). */
static void step_digits(struct decimal *dec, int n, int delta)
{
    int i;

    while (dec->n < n)
        dec->d[dec->n++] = '0';
    if (delta > 0) {
        for (i = n - 1; i >= 0 && dec->d[i] == '9'; i--)
            dec->d[i] = '0';
        if (i < 0) {
            /* 99..9 + 1: 10..0, one place up */
            dec->d[0] = '1';
            dec->x++;
        } else {
            dec->d[i]++;
        }
    } else {
        for (i = n - 1; i > 0 && dec->d[i] == '0'; i--)
            dec->d[i] = '9';
        dec->d[i]--; /* the leading digit is not 0: i > 0 here, or d[0] >= '1' */
        if (i == 0 && dec->d[0] == '0') {
            /* 10..0 - 1: 9..9, one place down */
            memmove(dec->d, dec->d + 1, (size_t)n - 1);
            dec->d[n - 1] = '9';
            dec->x--;
        }
    }
    dec->n = n;
    while (dec->n > 1 && dec->d[dec->n - 1] == '0')
        dec->n--;
}

/*
 * The slow shortest path: the correctly rounded p digits for p = 1, 2, ... until they read back.
 * At a power of two the interval is lopsided, so a p-digit neighbour on the far side may read
 * back where the nearest p digits do not; it is tried too.
 */
static void shortest_slow(double v, struct decimal *dec)
{
    char buf[64];

    for (int p = 1; p <= 17; p++) {
        struct decimal near;

        (void)snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
        if (!parse_e(buf, &near))
            break;
        double back = read_back(&near);
        if (back == v) {
            *dec = near;
            return;
        }
        struct decimal other = near;
        step_digits(&other, p, back < v ? 1 : -1);
        if (read_back(&other) == v) {
            *dec = other;
            return;
        }
    }
    /* 17 digits always read back; not reached. */
    (void)snprintf(buf, sizeof(buf), "%.16e", v);
    (void)parse_e(buf, dec);
}

/*
 * m * 2^e rounded to p significant digits (1 <= p <= 17), ties to even, as printf rounds.
 * @return false when out of the 128-bit range.
 */
static bool fixed_fast(uint64_t m, int e, int p, struct decimal *dec)
{
    const int bits = 64 - __builtin_clzll(m);
    int x = (int)__builtin_floor((double)(e + bits - 1) * 0.30102999566398120);

    for (int tries = 0; tries < 3; tries++) {
        const int s = p - 1 - x; /* scale by 10^s: p digits before the point */
        const int sh = e + s;    /* the power of two left after 5^s */
        u128 num, den = 0, q, rem;
        int shift = 0; /* den is 2^shift when den is 0: a shift, not a 128-bit division */

        if (s >= 0) {
            if (s > 55 || bits + 2.33 * s > 127.0)
                return false;
            num = (u128)m * pow5(s);
            if (sh >= 0) {
                if (sh > 126 || (num >> (127 - sh)) != 0)
                    return false;
                num <<= sh;
            } else {
                if (-sh > 126)
                    return false;
                shift = -sh;
            }
        } else {
            if (-s > 55)
                return false;
            den = pow5(-s);
            if (sh >= 0) {
                if (sh + bits > 127)
                    return false;
                num = (u128)m << sh;
            } else {
                if (-sh > 126 || (den >> (127 + sh)) != 0)
                    return false;
                den <<= -sh;
                num = m;
            }
        }
        if (den == 0) {
            q = num >> shift;
            rem = num & (((u128)1 << shift) - 1);
            den = (u128)1 << shift;
        } else {
            q = num / den;
            rem = num % den;
        }
        if (q >= pow10_64[p]) {
            x++;
            continue;
        }
        if (q < pow10_64[p - 1]) {
            x--;
            continue;
        }
        if (rem * 2 > den || (rem * 2 == den && (q & 1)))
            q++;
        if (q == pow10_64[p]) {
            /* 9.99... rounded up to 10.0: one place up, as printf does */
            q = pow10_64[p - 1];
            x++;
        }
        decimal_from_u64(dec, (uint64_t)q, x - p + 1);
        return true;
    }
    return false;
}

/* v > 0 finite rounded to p significant digits. */
static void fixed_digits(double v, int p, struct decimal *dec)
{
    uint64_t m;
    int e;
    bool lower_closer;
    char buf[80];

    split(v, &m, &e, &lower_closer);
    if (p <= 17 && fixed_fast(m, e, p, dec))
        return;
    (void)snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
    (void)parse_e(buf, dec);
}

/* v > 0 finite, shortest round-trip digits. */
static void shortest_digits(double v, struct decimal *dec)
{
    uint64_t m;
    int e;
    bool lower_closer;

    split(v, &m, &e, &lower_closer);
    /* Integers below 2^53 are exact and alone in their interval: their digits are the answer. */
    if (e < 0 && e > -53 && (m & ((1ULL << -e) - 1)) == 0) {
        decimal_from_u64(dec, m >> -e, 0);
        return;
    }
    if (e >= 0 && e <= 10 && m << e <= (1ULL << 53)) {
        decimal_from_u64(dec, m << e, 0);
        return;
    }
    if (m != 0 && shortest_fast(m, e, lower_closer, dec))
        return;
    shortest_slow(v, dec);
}

/*
 * Lays dec out. exp_at: the exponent from which the e-form is used (16 for Python's repr, the
 * precision for "%.Ng"); below -4 it is used too. python: the exponent is signed and has at least
 * two digits ("1e+16", "1.5e-07"); else as jansson prints it ("1e16", "1.5e-7"). Either way a
 * fixed-form integral value gets ".0" (so that it reads back as a real, not an integer).
 */
static size_t layout(char *out, bool neg, const struct decimal *dec, int exp_at, bool python)
{
    char *p = out;
    const int n = dec->n, x = dec->x;

    if (neg)
        *p++ = '-';
    if (x < -4 || x >= exp_at) {
        *p++ = dec->d[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, dec->d + 1, (size_t)n - 1);
            p += n - 1;
        }
        *p++ = 'e';
        unsigned ax = (unsigned)(x < 0 ? -x : x);
        if (x < 0)
            *p++ = '-';
        else if (python)
            *p++ = '+';
        if (python && ax < 10)
            *p++ = '0';
        p += ajio__format_u64(p, ax);
    } else if (x >= 0) {
        if (n <= x + 1) {
            memcpy(p, dec->d, (size_t)n);
            p += n;
            memset(p, '0', (size_t)(x + 1 - n));
            p += x + 1 - n;
            *p++ = '.';
            *p++ = '0';
        } else {
            memcpy(p, dec->d, (size_t)x + 1);
            p += x + 1;
            *p++ = '.';
            memcpy(p, dec->d + x + 1, (size_t)(n - x - 1));
            p += n - x - 1;
        }
    } else {
        *p++ = '0';
        *p++ = '.';
        memset(p, '0', (size_t)(-x - 1));
        p += -x - 1;
        memcpy(p, dec->d, (size_t)n);
        p += n;
    }
    *p = '\0';
    return (size_t)(p - out);
}

int ajio__format_double(char *out, double v, int precision)
{
    struct decimal dec;
    bool neg = __builtin_signbit(v) != 0;

    if (!__builtin_isfinite(v) || precision < 0 || precision > AJIO_GEN_MAX_PRECISION)
        return -EINVAL;
    if (neg)
        v = -v;
    if (v == 0) {
        dec.d[0] = '0';
        dec.n = 1;
        dec.x = 0;
    } else if (precision == 0) {
        shortest_digits(v, &dec);
    } else {
        fixed_digits(v, precision, &dec);
    }
    return (int)layout(out, neg, &dec, precision == 0 ? 16 : precision, precision == 0);
}

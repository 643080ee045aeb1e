/*
 * json_number.c - numbers as JSON text, for the generator (json_gen.c): integers, and doubles
 * either in the shortest form that reads back as the same double (Python's repr()) or rounded to
 * N significant digits (printf's "%.Ng", as jansson prints reals).
 *
 * Why not printf alone: "%.17g" costs a quarter of a microsecond per number, most of the time of
 * a number-heavy document, and its decimal point is the locale's. The shortest form comes from
 * Schubfach (below): three 64x128-bit products with a table of powers of ten, for every finite
 * double. Rounding to N digits is computed with exact integer arithmetic in 128 bits: a double is
 * m * 2^e with m < 2^53, and for the exponents real documents hold (about 1e-15 .. 1e46) every
 * quantity fits. Outside that range (and for more than 17 significant digits) its digits come
 * from snprintf("%.*e"), which glibc rounds exactly: slower, equally exact. Either way the digits
 * end up in one struct decimal and one formatter lays them out, so the paths cannot differ in
 * layout, and no locale is ever involved (the decimal point is always '.').
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
 * The whole range, after Giulietti's Schubfach ("The Schubfach way to render doubles", 2020).
 * With v = c * 2^q, the rounding interval [vl, vr] is scaled by 10^-k, k = floor(log10(width)),
 * to between 1 and 10 units wide: of the integers in it the ones next to v are s = floor(v) and
 * s + 1, and of the multiples of ten at most one is in it, 10 * floor(s / 10) or the next. A
 * multiple of ten in the interval is the shortest (and the only one of its length); otherwise
 * s or s + 1, whichever is in, nearer, or even.
 *
 * The three scaled bounds are 4 * x * 10^-k for x in vl, v, vr, computed as (4 * c' << h) * g /
 * 2^128 with g the table's 10^-k over-estimated by at most one unit in 2^128 (json_pow10.h), so
 * above the exact value by less than 2^-64. Each is kept "rounded to odd": the integer part,
 * its last bit set when a fraction is left. That keeps every comparison with an even number
 * exact, and the comparisons below are all against multiples of 2. A fraction of 2^-64 or more
 * is real; one below is the over-estimate, or a fraction too small to tell from it: then the
 * exact test says whether the scaled bound is an integer, and if it is not the caller takes the
 * slow path. That has not been seen in any test (the paper's analysis keeps such fractions far
 * from integers); the test only means the result does not rest on that analysis.
 */
#include "json_pow10.h"

/* floor(log10(2^q)), floor(log10(3/4 * 2^q)), floor(log2(10^b)), for the exponents of doubles
 * (q = -1074 .. 971, b = -302 .. 334): tools/gen-pow10.py proves each against exact logs. */
static inline int floor_log10_pow2(int q)
{
    return (q * 315653) >> 20;
}

static inline int floor_log10_3_4_pow2(int q)
{
    return (q * 315653 - 131237) >> 20;
}

static inline int floor_log2_pow10(int b)
{
    return (b * 1741647) >> 19;
}

/* Whether x * 2^q * 10^b is an integer, exactly (0 < x < 2^56; q + b >= 0 when b < 0). */
static bool scaled_is_integer(uint64_t x, int q, int b)
{
    if (b >= 0) {
        const int e2 = q + b; /* 10^b = 2^b * 5^b, and 5^b is odd */
        return e2 >= 0 || (e2 > -64 && (x & ((1ULL << -e2) - 1)) == 0);
    }
    /* x * 2^(q+b) / 5^-b, q + b >= 0: an integer when 5^-b divides x (5^24 > 2^56) */
    return -b <= 23 && x % (uint64_t)pow5(-b) == 0;
}

/* x * 2^q * 10^b (x is 4c or a bound) rounded to odd, from xh = x << h; false: the slow path. */
static inline bool scaled_odd(const uint64_t g[2], uint64_t xh, uint64_t x, int q, int b,
                              uint64_t *ret)
{
    const u128 low = (u128)g[1] * xh;
    const u128 y = (u128)g[0] * xh + (low >> 64);

    *ret = (uint64_t)(y >> 64);
    if ((uint64_t)y != 0) {
        *ret |= 1;
        return true;
    }
    return scaled_is_integer(x, q, b);
}

/* The shortest digits of c * 2^q (c > 0), any exponent. @return false: see above. */
static bool shortest_schubfach(uint64_t c, int q, bool lower_closer, struct decimal *dec)
{
    const uint64_t cb = c << 2, cbr = cb + 2, cbl = cb - (lower_closer ? 1 : 2);
    const unsigned out = (unsigned)(c & 1); /* odd: the bounds do not read back as v */
    const int k = lower_closer ? floor_log10_3_4_pow2(q) : floor_log10_pow2(q);
    const int h = q + floor_log2_pow10(-k) + 1; /* 1 .. 4: cbr << h < 2^59 */
    const uint64_t *g = pow10_128[-k - POW10_MIN];
    uint64_t vbl, vb, vbr;

    if (!scaled_odd(g, cb << h, cb, q, -k, &vb) || !scaled_odd(g, cbl << h, cbl, q, -k, &vbl) ||
        !scaled_odd(g, cbr << h, cbr, q, -k, &vbr))
        return false;

    const uint64_t s = vb >> 2;
    const uint64_t sp10 = s / 10 * 10, tp10 = sp10 + 10;
    const bool upin = vbl + out <= sp10 << 2, wpin = (tp10 << 2) + out <= vbr;
    uint64_t d;

    if (upin != wpin) {
        d = upin ? sp10 : tp10;
    } else {
        /* Neither multiple of ten is in (both cannot be: the interval is under 10 units wide). */
        const bool uin = vbl + out <= s << 2, win = ((s + 1) << 2) + out <= vbr;
        const uint64_t mid = (s << 2) + 2; /* 4 * (s + 1/2) */
        if (uin != win)
            d = uin ? s : s + 1;
        else
            d = vb < mid || (vb == mid && (s & 1) == 0) ? s : s + 1;
    }
    decimal_from_u64(dec, d, k);
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
 * The shortest digits by trial, for a bound Schubfach could not place exactly (see there): the
 * correctly rounded p digits for p = 1, 2, ... until they read back. At a power of two the interval
 * is lopsided, so a p-digit neighbour on the far side may read back where the nearest p digits do
 * not; it is tried too.
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
    if (shortest_schubfach(m, e, lower_closer, dec))
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

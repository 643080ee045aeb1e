/*
 * doubles.h - the checks of a shortest double (ajio_gen_format_double with precision 0), shared
 * by the unit test (tests/test_json_gen.c) and the long run of make check-doubles
 * (tests/doubles/check_doubles.c). Header-only.
 *
 * doubles_check() asks of one double: its text reads back through strtod() as the same bits
 * (-0.0 included), and, with the oracle, its digits are those of doubles_oracle(). The oracle
 * knows nothing of the formatter: glibc's snprintf("%.*e") rounds exactly and strtod() reads
 * exactly, so the smallest p whose correctly rounded p digits read back is the shortest length,
 * and those digits are the nearest of that length, ties to even as printf rounds them. The only
 * other p-digit candidate that can read back is the neighbour on the far side of a lopsided
 * interval (at a power of two the gap below is half the gap above); it is tried when the
 * nearest reads back on the other side of v.
 */
#ifndef AJIO_TESTS_DOUBLES_H
#define AJIO_TESTS_DOUBLES_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ajio.h"

/* A decimal as an integer without trailing zeros and the power of ten it is multiplied by. */
typedef struct doubles_dec {
    uint64_t digits;
    int exp;
} doubles_dec;

/* The next value of an xorshift64* state (never 0). */
static inline uint64_t doubles_next(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

/*
 * The i-th random bit pattern of a run (possibly NaN or infinite: the caller skips those). By
 * i % 4: uniform bits; short decimals (a mantissa with its low bits clear); the outermost 60
 * binades at either end (the subnormals among them); a power of two and its neighbours.
 */
static inline uint64_t doubles_pattern(uint64_t i, uint64_t *state)
{
    uint64_t bits = doubles_next(state), r = doubles_next(state), ex;

    switch (i % 4) {
    case 1:
        return bits & ~0ULL << (r % 52);
    case 2:
        ex = r % 120;
        return (bits & 0x800FFFFFFFFFFFFFULL) | ((ex < 60 ? ex : 2047 - 120 + ex) << 52);
    case 3:
        return (bits & 0xFFF0000000000000ULL) + (r % 5) - 2;
    default:
        return bits;
    }
}

/* digits * 10^exp without trailing zeros. */
static inline doubles_dec doubles_strip(uint64_t digits, int exp)
{
    doubles_dec r = {digits, exp};

    while (r.digits != 0 && r.digits % 10 == 0) {
        r.digits /= 10;
        r.exp++;
    }
    return r;
}

/*
 * Reads the significant digits and exponent of any text strtod accepts that we print: digits,
 * at most one '.', an optional e-part; a leading '-' is skipped. @return false if there are
 * more than 19 significant digits or other characters.
 */
static inline bool doubles_parse(const char *s, doubles_dec *ret)
{
    uint64_t d = 0;
    int n = 0, exp = 0, point = -1, i = 0;
    bool started = false;

    if (*s == '-')
        s++;
    for (; s[i] != '\0' && s[i] != 'e' && s[i] != 'E'; i++) {
        if (s[i] == '.') {
            if (point >= 0)
                return false;
            point = i;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (point >= 0)
            exp--;
        if (s[i] == '0' && !started)
            continue;
        started = true;
        if (++n > 19)
            return false;
        d = d * 10 + (uint64_t)(s[i] - '0');
    }
    if (s[i] != '\0')
        exp += atoi(s + i + 1);
    *ret = doubles_strip(d, d == 0 ? 0 : exp);
    return true;
}

/* Whether digits * 10^exp reads back as v (v > 0). */
static inline bool doubles_reads_back(uint64_t digits, int exp, double v)
{
    char buf[48];

    snprintf(buf, sizeof(buf), "%llue%d", (unsigned long long)digits, exp);
    return strtod(buf, NULL) == v;
}

/* The shortest digits of v > 0 finite, by trial (see the top of this file). */
static inline doubles_dec doubles_oracle(double v)
{
    char buf[48], *e;

    for (int p = 1; p <= 17; p++) {
        uint64_t m = 0;

        /* "d.ddde+X": the p digits as an integer m, worth m * 10^(X - p + 1) */
        snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
        for (e = buf; *e != 'e'; e++)
            if (*e >= '0' && *e <= '9')
                m = m * 10 + (uint64_t)(*e - '0');
        const int exp = atoi(e + 1) - p + 1;
        if (doubles_reads_back(m, exp, v))
            return doubles_strip(m, exp);
        snprintf(buf, sizeof(buf), "%llue%d", (unsigned long long)m, exp);
        uint64_t other = strtod(buf, NULL) < v ? m + 1 : m - 1;
        int other_exp = exp;
        uint64_t low = 1;
        for (int i = 1; i < p; i++)
            low *= 10;
        if (other < low) { /* 10..0 - 1 has p - 1 digits: p of them are 99..9, a place down */
            other = low * 10 - 1;
            other_exp--;
        }
        if (doubles_reads_back(other, other_exp, v))
            return doubles_strip(other, other_exp);
    }
    abort(); /* 17 digits always read back */
}

/*
 * One double through ajio_gen_format_double(precision 0): reads back, and (with oracle) has the
 * oracle's digits. @return NULL, or what is wrong, in why[size].
 */
static inline const char *doubles_check(double v, bool oracle, char *why, size_t size)
{
    char got[AJIO_GEN_DOUBLE_MAX];
    double back;
    doubles_dec dec;
    uint64_t bits;
    int len = ajio_gen_format_double(got, sizeof(got), v, 0);

    memcpy(&bits, &v, sizeof(bits));
    if (len <= 0 || (size_t)len != strlen(got)) {
        snprintf(why, size, "%016llx: returned %d", (unsigned long long)bits, len);
        return why;
    }
    back = strtod(got, NULL);
    if (memcmp(&back, &v, sizeof(v)) != 0) {
        snprintf(why, size, "%016llx: \"%s\" reads back as %.17g, not %.17g",
                 (unsigned long long)bits, got, back, v);
        return why;
    }
    if (!oracle || v == 0)
        return NULL;
    const doubles_dec want = doubles_oracle(fabs(v));
    if (!doubles_parse(got, &dec) || dec.digits != want.digits || dec.exp != want.exp) {
        snprintf(why, size, "%016llx: \"%s\", the oracle says %llue%d", (unsigned long long)bits,
                 got, (unsigned long long)want.digits, want.exp);
        return why;
    }
    return NULL;
}

#endif

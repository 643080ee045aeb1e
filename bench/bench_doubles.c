/*
 * bench_doubles.c - nanoseconds per double of the shortest form, libajio against its code before
 * Schubfach and against its peers, side by side.
 *
 * Data sets: every number of tests/data/json-bench/canada.json (coordinates, 15-17 digits) and
 * of citm_catalog.json (integers), and 65,536 random finite bit patterns (all exponents alike,
 * so mostly far outside 1e-15 .. 1e46). Variants, each formatting into a stack buffer:
 *   libajio             ajio__format_double(precision 0), this tree: what the generator and
 *                       ajio_gen_format_double() call
 *   libajio before      the same function compiled from BENCH_OLD's src/json_number.c (the
 *                       128-bit path in 1e-15 .. 1e46, snprintf + strtod outside); on random
 *                       patterns it is timed on the first 2,048 values only
 *   snprintf %.17g      glibc, not shortest: what printing without a formatter of one's own costs
 *   double-conversion   Google's, DoubleToStringConverter::EcmaScriptConverter().ToShortest
 *   fmt "{}"            fmt 9 (Dragonbox), format_to, runtime and FMT_COMPILE format strings
 * RUNS rounds; each round times every variant over the data set (repeated up to 200,000 values
 * when shorter), in an order that rotates from round to round, on CPU time (bu_cpu_now).
 * Figure: median ns per double.
 * Before timing, the outputs of libajio and libajio before are compared on every value.
 *
 *   bench_doubles DATA_DIR [RUNS]
 */
#include <stdint.h>
#include <string.h>

#include "ajio.h"
#include "benchutil.h"

#define MAX_RUNS 31
#define RANDOM_N 65536
#define SLOW_N 2048
#define MIN_PASS 200000 /* values per timed pass at least, the set repeated (not the slow one) */

int peer_double_conversion(char *out, double v);
int peer_fmt(char *out, double v);
int peer_fmt_compiled(char *out, double v);
#ifdef BENCH_OLD
int old_format_double(char *out, double v, int precision);
#endif

/* The generator's own entry point (src/internal.h), as for the code before: the public
 * ajio_gen_format_double() adds its argument checks to either. */
int ajio__format_double(char *out, double v, int precision);

static int ajio_new(char *out, double v)
{
    return ajio__format_double(out, v, 0);
}

#ifdef BENCH_OLD
static int ajio_old(char *out, double v)
{
    return old_format_double(out, v, 0);
}
#endif

static int libc_17g(char *out, double v)
{
    return snprintf(out, 32, "%.17g", v);
}

static const struct variant {
    const char *name;
    int (*fn)(char *out, double v);
    int slow; /* 1: only SLOW_N values of the random set */
} variants[] = {
    {"libajio", ajio_new, 0},
#ifdef BENCH_OLD
    {"libajio before (" BENCH_OLD ")", ajio_old, 1},
#endif
    {"snprintf %.17g", libc_17g, 0},
    {"double-conversion ToShortest", peer_double_conversion, 0},
    {"fmt 9 format_to \"{}\"", peer_fmt, 0},
    {"fmt 9 FMT_COMPILE(\"{}\")", peer_fmt_compiled, 0},
};
#define NVAR (sizeof(variants) / sizeof(variants[0]))

/* Every number of a JSON text, in order (strings hold none in these documents). */
static double *numbers_of(const char *path, size_t *ret_n)
{
    size_t len, n = 0, cap = 1 << 16;
    char *text = bu_slurp(path, &len);
    double *v = malloc(cap * sizeof(*v));

    if (text == NULL || v == NULL) {
        fprintf(stderr, "bench_doubles: cannot read %s\n", path);
        exit(1);
    }
    for (char *p = text; *p != '\0';) {
        if ((*p == '-' || (*p >= '0' && *p <= '9')) && p > text &&
            strchr(":[, \n\t", p[-1]) != NULL) {
            char *end;
            double d = strtod(p, &end);
            if (end == p) { /* a '-' or digit in a string */
                p++;
                continue;
            }
            if (n == cap && (v = realloc(v, (cap *= 2) * sizeof(*v))) == NULL)
                exit(1);
            v[n++] = d;
            p = end;
        } else {
            p++;
        }
    }
    free(text);
    *ret_n = n;
    return v;
}

static double *random_patterns(size_t n)
{
    double *v = malloc(n * sizeof(*v));
    uint64_t s = 0x452821E638D01377ULL;

    for (size_t i = 0; i < n;) {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        uint64_t bits = s * 0x2545F4914F6CDD1DULL;
        memcpy(&v[i], &bits, sizeof(double));
        if ((bits >> 52 & 0x7FF) != 0x7FF)
            i++;
    }
    return v;
}

static void bench_set(const char *name, const double *v, size_t n, int runs, int random)
{
    double t[NVAR][MAX_RUNS];
    char a[AJIO_GEN_DOUBLE_MAX + 32], b[AJIO_GEN_DOUBLE_MAX + 32];
    volatile size_t sink = 0;

#ifdef BENCH_OLD
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) {
        ajio_new(a, v[i]);
        ajio_old(b, v[i]);
        differ += strcmp(a, b) != 0;
    }
    printf("%s: %zu numbers; libajio and libajio before differ on %zu\n", name, n, differ);
#else
    (void)b;
    printf("%s: %zu numbers\n", name, n);
#endif
    for (int r = 0; r < runs; r++)
        for (size_t j = 0; j < NVAR; j++) {
            const size_t k = (j + (size_t)r) % NVAR;
            const size_t m = random && variants[k].slow ? SLOW_N : n;
            const size_t passes = m >= MIN_PASS || variants[k].slow ? 1 : (MIN_PASS + m - 1) / m;
            size_t total = 0;
            double t0 = bu_cpu_now();
            for (size_t p = 0; p < passes; p++)
                for (size_t i = 0; i < m; i++)
                    total += (size_t)variants[k].fn(a, v[i]);
            t[k][r] = (bu_cpu_now() - t0) * 1e9 / (double)(m * passes);
            sink += total;
        }
    const double ours = bu_median_inplace(t[0], runs);
    for (size_t k = 0; k < NVAR; k++) {
        const double med = k == 0 ? ours : bu_median_inplace(t[k], runs);
        printf("  %-34s %10.1f ns  %8.2fx libajio%s\n", variants[k].name, med, med / ours,
               random && variants[k].slow ? "  (first 2,048 values)" : "");
    }
    (void)sink;
}

int main(int argc, char **argv)
{
    char path[4096];
    size_t n;
    double *v;
    int runs = argc > 2 ? atoi(argv[2]) : 11;

    if (argc < 2 || runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: bench_doubles DATA_DIR [RUNS <= %d]\n", MAX_RUNS);
        return 2;
    }
    printf("shortest doubles, ns per double, median of %d interleaved runs (CPU time)\n", runs);
    snprintf(path, sizeof(path), "%s/canada.json", argv[1]);
    v = numbers_of(path, &n);
    bench_set("canada.json", v, n, runs, 0);
    free(v);
    snprintf(path, sizeof(path), "%s/citm_catalog.json", argv[1]);
    v = numbers_of(path, &n);
    bench_set("citm_catalog.json", v, n, runs, 0);
    free(v);
    v = random_patterns(RANDOM_N);
    bench_set("random bit patterns", v, RANDOM_N, runs, 1);
    free(v);
    return 0;
}

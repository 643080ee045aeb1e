/*
 * benchutil.h - the clocks, the median, the interleaved timing and the file loader the
 * benchmarks share (bench_write.c, bench_validate.c, bench_adapters.c, bench_gen.c), so that
 * every figure in bench/README.md is timed and summarised alike.
 */
#ifndef AJIO_BENCHUTIL_H
#define AJIO_BENCHUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Seconds on clock id, as a double: nanosecond resolution is far below anything timed here. */
static inline double bu_clock_sec(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Wall time, monotonic: not moved by clock adjustments during a run. */
static inline double bu_now(void)
{
    return bu_clock_sec(CLOCK_MONOTONIC);
}

/*
 * CPU time of this thread, user plus system (the kernel's side of write(2), rename(2) ... counts):
 * on a shared machine, wall time also counts the time other jobs held the CPU.
 */
static inline double bu_cpu_now(void)
{
    return bu_clock_sec(CLOCK_THREAD_CPUTIME_ID);
}

static inline int bu_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Median of v[0..n), n > 0; sorts v in place. */
static inline double bu_median_inplace(double *v, long n)
{
    qsort(v, (size_t)n, sizeof(*v), bu_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Runs per figure, and the least CPU time of one run, of bu_bench_variants(). */
#define BU_RUNS 7
#define BU_MIN_RUN_SEC 0.05

typedef int (*bu_bench_fn)(void *ctx);

/*
 * Times n (<= 10) variants interleaved: BU_RUNS rounds, each running every variant iters times,
 * iters calibrated on the slowest so that each run lasts at least BU_MIN_RUN_SEC. Fills
 * ret_sec[i] with the median seconds per call of variant i, in CPU time (bu_cpu_now()).
 * @return 0 or the first failure.
 */
static inline int bu_bench_variants(int n, bu_bench_fn *fns, void **ctxs, double *ret_sec)
{
    double t[10][BU_RUNS];
    long iters = 1;
    int r;

    for (int i = 0; i < n; i++) {
        double t0 = bu_cpu_now();
        if ((r = fns[i](ctxs[i])) < 0)
            return r;
        double one = bu_cpu_now() - t0;
        long k = (long)(BU_MIN_RUN_SEC / (one > 1e-7 ? one : 1e-7)) + 1;
        if (i == 0 || k < iters)
            iters = k;
    }
    for (int run = 0; run < BU_RUNS; run++)
        for (int i = 0; i < n; i++) {
            double t0 = bu_cpu_now();
            for (long k = 0; k < iters; k++)
                if ((r = fns[i](ctxs[i])) < 0)
                    return r;
            t[i][run] = (bu_cpu_now() - t0) / (double)iters;
        }
    for (int i = 0; i < n; i++)
        ret_sec[i] = bu_median_inplace(t[i], BU_RUNS);
    return 0;
}

/*
 * The whole file at path, malloc'ed and NUL-terminated (the JSON parsers want a C string); its
 * length in *ret_len when ret_len is not NULL. NULL if it cannot be read.
 */
static inline char *bu_slurp(const char *path, size_t *ret_len)
{
    FILE *fp = fopen(path, "rb");
    char *s = NULL;
    long n;

    if (fp == NULL)
        return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0) {
        rewind(fp);
        s = (char *)malloc((size_t)n + 1);
        if (s != NULL && fread(s, 1, (size_t)n, fp) != (size_t)n) {
            free(s);
            s = NULL;
        }
        if (s != NULL) {
            s[n] = '\0';
            if (ret_len != NULL)
                *ret_len = (size_t)n;
        }
    }
    fclose(fp);
    return s;
}

#endif /* AJIO_BENCHUTIL_H */

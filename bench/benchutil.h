/*
 * benchutil.h - the clocks and the median the benchmarks share (bench_write.c, bench_validate.c,
 * bench_adapters.c), so that every figure in bench/README.md is timed and summarised alike.
 */
#ifndef AJIO_BENCHUTIL_H
#define AJIO_BENCHUTIL_H

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

#endif /* AJIO_BENCHUTIL_H */

/*
 * cpu.c - which vector kernels the JSON code runs, decided once per process.
 *
 * The library is built for plain x86-64 (SSE2) so that one binary runs everywhere; the faster
 * kernels are compiled with per-function target attributes and chosen here at run time from
 * CPUID (through the compiler's __builtin_cpu_supports(), which also checks that the kernel saves
 * the wider registers: XGETBV). AJIO_KERNEL=scalar|sse42|avx2|avx512 forces a kernel, as
 * simdjson's SIMDJSON_FORCE_IMPLEMENTATION does, so that the tests and fuzzers run every kernel
 * the machine has and the portable path on every machine; a forced kernel the CPU lacks is
 * refused (the best one it has runs instead) rather than crashing with SIGILL.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const kernel_names[] = {
    [AJIO__KERNEL_SCALAR] = "scalar",
    [AJIO__KERNEL_SSE42] = "sse42",
    [AJIO__KERNEL_AVX2] = "avx2",
    [AJIO__KERNEL_AVX512] = "avx512",
};

static int best_supported(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    /* AVX-512 kernels use byte-granular masks (BW) and VBMI-free code: F+BW+VL suffice. */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return AJIO__KERNEL_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
        __builtin_cpu_supports("pclmul"))
        return AJIO__KERNEL_AVX2;
    if (__builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("ssse3") &&
        __builtin_cpu_supports("pclmul"))
        return AJIO__KERNEL_SSE42;
#endif
    return AJIO__KERNEL_SCALAR;
}

static int choose(void)
{
    int best = best_supported();
    const char *want = getenv("AJIO_KERNEL");

    if (!want || !*want)
        return best;
    for (int k = 0; k <= best; k++)
        if (strcmp(want, kernel_names[k]) == 0)
            return k;
    return best;
}

int ajio__kernel(void)
{
    /* 0 = not chosen yet; racing threads compute the same answer, so a relaxed store is enough. */
    static int chosen;
    int k = __atomic_load_n(&chosen, __ATOMIC_RELAXED);

    if (k == 0) {
        k = choose() + 1;
        __atomic_store_n(&chosen, k, __ATOMIC_RELAXED);
    }
    return k - 1;
}

const char *ajio__kernel_name(int kernel)
{
    return kernel >= 0 && kernel < AJIO__KERNEL_COUNT ? kernel_names[kernel] : "?";
}

int ajio__kernel_best(void)
{
    return best_supported();
}

/*
 * check_doubles.c - make check-doubles: the checks of test_json_gen's random doubles on far more
 * of them. Every pattern's shortest text must read back as the same bits; every Kth must have
 * the oracle's digits (tests/lib/doubles.h). Prints the seed, so that a failure reproduces.
 *
 *   check_doubles [COUNT [K [SEED]]]      defaults: 10^8, 1000, a fixed seed
 */
#include "../lib/doubles.h"

#include <inttypes.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const uint64_t count = argc > 1 ? strtoull(argv[1], NULL, 0) : 100000000;
    const uint64_t every = argc > 2 ? strtoull(argv[2], NULL, 0) : 1000;
    const uint64_t seed0 = argc > 3 ? strtoull(argv[3], NULL, 0) : 0xA4093822299F31D0ULL;
    uint64_t seed = seed0 != 0 ? seed0 : 1, checked = 0, oracled = 0;
    char why[200];
    const double start = now();

    if (every == 0) {
        fprintf(stderr, "check_doubles: K must be at least 1\n");
        return 2;
    }
    printf("check_doubles: %" PRIu64 " patterns, every %" PRIu64 "th against the oracle, seed "
           "0x%016" PRIx64 "\n",
           count, every, seed0);
    for (uint64_t i = 0; i < count; i++) {
        const uint64_t bits = doubles_pattern(i, &seed);
        double d;

        memcpy(&d, &bits, sizeof(d));
        if (!isfinite(d))
            continue;
        const bool oracle = i % every == 0;
        if (doubles_check(d, oracle, why, sizeof(why)) != NULL) {
            printf("check_doubles: FAIL at pattern %" PRIu64 ": %s\n", i, why);
            return 1;
        }
        checked++;
        oracled += oracle;
    }
    const double secs = now() - start;
    printf("check_doubles: %" PRIu64 " doubles read back, %" PRIu64 " with the oracle's digits, "
           "%.1f s (%.0f ns each, the checks included)\n",
           checked, oracled, secs, secs * 1e9 / (double)(checked > 0 ? checked : 1));
    return 0;
}

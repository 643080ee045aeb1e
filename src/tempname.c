/*
 * tempname.c - names of temp files: generation and recognition.
 *
 * Shape: "." NAME ".ajio-" 16 hex ".tmp", NAME being the target's name cut to AJIO_TEMP_MAX_NAME
 * bytes. The leading dot hides it from ls and globs; the fixed suffix lets ajio_sweep() find
 * leftovers without guessing; keeping NAME tells a person which file a leftover belonged to.
 */
#include "internal.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

/*
 * Names need to be unpredictable enough to avoid collisions, not secret: a collision only costs
 * a retry (O_EXCL or linkat fail with EEXIST). So one getrandom() per thread seeds a splitmix64
 * sequence, which keeps the syscall out of every write. The clock is mixed in because a forked
 * child inherits the parent's state and would otherwise replay its names.
 */
static _Thread_local uint64_t rng_state;
static _Thread_local bool rng_seeded;

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t next_random(void)
{
    struct timespec ts;

    if (!rng_seeded) {
        uint64_t seed = 0;
        /*
         * GRND_NONBLOCK: early at boot the pool may not be ready, and a state file writer must
         * not hang then. The fallback below (clock, stack address) is enough for uniqueness.
         */
        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
            seed = (uint64_t)(uintptr_t)&seed;
        rng_state = seed;
        rng_seeded = true;
    }
    (void)clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no syscall */
    return splitmix64(&rng_state) ^ ((uint64_t)ts.tv_nsec * 0x2545f4914f6cdd1dULL) ^
           (uint64_t)ts.tv_sec;
}

/*
 * Length of the first max bytes of s without cutting a UTF-8 sequence in two. A UTF-8 sequence
 * has at most three continuation bytes, so at most three are given back: a name that is not
 * UTF-8 (Linux names are bytes) is cut at max, never down to nothing.
 */
static size_t cut_utf8(const char *s, size_t len, size_t max)
{
    size_t cut = max;

    if (len <= max)
        return len;
    while (cut > max - 3 && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--;
    return ((unsigned char)s[cut] & 0xc0) == 0x80 ? max : cut;
}

void ajio__temp_name(char ret_name[NAME_MAX + 1], const char *target)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = cut_utf8(target, strlen(target), AJIO_TEMP_MAX_NAME);
    uint64_t r = next_random();
    char *p = ret_name;

    *p++ = '.';
    memcpy(p, target, n);
    p += n;
    memcpy(p, AJIO__TEMP_SUFFIX, AJIO__TEMP_SUFFIX_LEN);
    p += AJIO__TEMP_SUFFIX_LEN;
    for (int i = 0; i < AJIO__TEMP_HEX; i++, r >>= 4)
        *p++ = hex[r & 15];
    memcpy(p, AJIO__TEMP_EXT, AJIO__TEMP_EXT_LEN + 1);
    assert(strlen(ret_name) <= NAME_MAX);
}

bool ajio__is_temp_name(const char *name, const char *target)
{
    const size_t tail = AJIO__TEMP_SUFFIX_LEN + AJIO__TEMP_HEX + AJIO__TEMP_EXT_LEN;
    size_t len = strlen(name);
    const char *t;

    /* At least "." + one byte of name + tail: the target's name is never empty. */
    if (len < 2 + tail || name[0] != '.')
        return false;
    t = name + len - tail;
    if (memcmp(t, AJIO__TEMP_SUFFIX, AJIO__TEMP_SUFFIX_LEN) != 0 ||
        memcmp(name + len - AJIO__TEMP_EXT_LEN, AJIO__TEMP_EXT, AJIO__TEMP_EXT_LEN) != 0)
        return false;
    for (int i = 0; i < AJIO__TEMP_HEX; i++) {
        char c = t[AJIO__TEMP_SUFFIX_LEN + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    if (target != NULL) {
        size_t n = cut_utf8(target, strlen(target), AJIO_TEMP_MAX_NAME);
        if ((size_t)(t - (name + 1)) != n || memcmp(name + 1, target, n) != 0)
            return false;
    }
    return true;
}

/*
 * The lock file of AJIO_LOCK: the target's name cut as in a temp name, so that the lock name
 * fits in NAME_MAX too. Two names equal in their first AJIO_TEMP_MAX_NAME bytes share a lock,
 * which only serialises their writers. It ends in ".ajio-lock", not in 16 hex digits and ".tmp",
 * so ajio_sweep() never takes it for a temp.
 */
void ajio__lock_name(char ret_name[NAME_MAX + 1], const char *target)
{
    size_t n = cut_utf8(target, strlen(target), AJIO_TEMP_MAX_NAME);

    ret_name[0] = '.';
    memcpy(ret_name + 1, target, n);
    memcpy(ret_name + 1 + n, AJIO__LOCK_EXT, AJIO__LOCK_EXT_LEN + 1);
    assert(!ajio__is_temp_name(ret_name, NULL));
}

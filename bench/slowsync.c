/*
 * slowsync.c - an LD_PRELOAD model of a disk whose cache flush costs what a real one does, for
 * the benchmarks (make bench-slowsync; the model and its limits: bench/README.md, "Syncs at the
 * cost of real disks"). This machine's virtual disk flushes in about 0.17 ms; a SATA SSD takes
 * 1-3 ms, a spinning disk 5-10 ms, and what batching and group commit save scales with that.
 *
 * fsync, fdatasync, syncfs and sync do the real call, then wait as a device flush would:
 *
 *   AJIO_BENCH_SYNC_US    the flush's latency L in microseconds; unset or 0: nothing is added
 *   AJIO_BENCH_SYNC_DEV   the file (in /dev/shm) that holds the device's state, shared by every
 *                         process given the same name; unset: an anonymous shared mapping, one
 *                         device for this process and the children it forks
 *   AJIO_BENCH_SYNC_PATH  only syncs of files on the filesystem of this path are charged (sync(2)
 *                         always is): a benchmark that also writes on tmpfs pays nothing there
 *
 * The device is the Linux block layer's flush machinery (block/blk-flush.c) over a disk with a
 * volatile cache: one flush at a time device-wide, whoever asks; a sync that finds the device
 * idle starts a flush at once; one that arrives while a flush is in flight waits for it and is
 * served by the next, which starts when the one in flight ends and serves every sync that
 * arrived before it started. The flushes follow each other back to back while syncs keep
 * arriving, so the whole queue is one number, the start of the latest flush scheduled (S):
 *
 *   now >= S + L    idle: a flush starts now, and the caller waits until now + L
 *   S <= now < S+L  in flight: the next flush is scheduled at S + L; wait until S + 2L
 *   now < S         the next flush is scheduled and not started: it serves the caller too
 *
 * The caller sleeps to its flush's end with nothing held, so a process killed in the sleep
 * leaves nothing behind, and the mutex is robust for one killed in the few lines under it.
 */
#include "slowsync.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t g_latency_ns;
static struct slowsync_state *g_state;
static dev_t g_dev;
static int g_dev_only;

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_syncfs)(int);
static void (*real_sync)(void);

static void fail(const char *what)
{
    /* A benchmark that runs on without the model would print numbers that mean nothing. */
    fprintf(stderr, "slowsync: %s: %s\n", what, strerror(errno));
    abort();
}

static void init_mutex(struct slowsync_state *s)
{
    pthread_mutexattr_t a;

    if (pthread_mutexattr_init(&a) != 0 ||
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) != 0 ||
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) != 0 ||
        pthread_mutex_init(&s->mu, &a) != 0)
        fail("process-shared mutex");
    (void)pthread_mutexattr_destroy(&a);
    __atomic_store_n(&s->magic, SLOWSYNC_MAGIC, __ATOMIC_RELEASE);
}

/* The named device: made by whichever process comes first, under flock against the others. */
static struct slowsync_state *open_device(const char *path)
{
    struct slowsync_state *s;
    struct stat st;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0)
        fail(path);
    if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0)
        fail(path);
    if (st.st_size < (off_t)sizeof(*s) && ftruncate(fd, sizeof(*s)) < 0)
        fail(path);
    s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (s == MAP_FAILED)
        fail(path);
    if (__atomic_load_n(&s->magic, __ATOMIC_ACQUIRE) != SLOWSYNC_MAGIC)
        init_mutex(s);
    /* Unlocked by hand: the mapping holds the open file, and with it a lock close would leave. */
    (void)flock(fd, LOCK_UN);
    (void)close(fd);
    return s;
}

__attribute__((constructor)) static void slowsync_init(void)
{
    const char *us = getenv("AJIO_BENCH_SYNC_US"), *dev = getenv("AJIO_BENCH_SYNC_DEV");
    const char *only = getenv("AJIO_BENCH_SYNC_PATH");

    real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    real_syncfs = (int (*)(int))dlsym(RTLD_NEXT, "syncfs");
    real_sync = (void (*)(void))dlsym(RTLD_NEXT, "sync");
    if (real_fsync == NULL || real_fdatasync == NULL || real_syncfs == NULL || real_sync == NULL)
        fail("dlsym of the real sync calls");
    g_latency_ns = us != NULL ? strtoll(us, NULL, 10) * 1000 : 0;
    if (g_latency_ns <= 0)
        return;
    if (dev != NULL && dev[0] != '\0') {
        g_state = open_device(dev);
    } else {
        g_state = mmap(NULL, sizeof(*g_state), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (g_state == MAP_FAILED)
            fail("anonymous shared mapping");
        init_mutex(g_state);
    }
    if (only != NULL && only[0] != '\0') {
        struct stat st;
        if (stat(only, &st) < 0)
            fail(only);
        g_dev = st.st_dev;
        g_dev_only = 1;
    }
    /* The default 50 us of timer slack would be a quarter of a 0.2 ms flush. */
    (void)prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void lock(void)
{
    int r = pthread_mutex_lock(&g_state->mu);

    if (r == EOWNERDEAD)
        /* The owner died between reading and writing two numbers: either value is a schedule. */
        (void)pthread_mutex_consistent(&g_state->mu);
    else if (r != 0) {
        errno = r;
        fail("lock of the device state");
    }
}

/* One sync's wait for the flush that covers it (the rules at the top). */
static void charge(void)
{
    int64_t now = now_ns(), end, L = g_latency_ns;
    struct timespec ts;
    int saved = errno;

    lock();
    int64_t s = g_state->start_ns;
    if (g_state->flushes == 0 || now >= s + L) {
        s = now;
        g_state->flushes++;
    } else if (now >= s) {
        s += L;
        g_state->flushes++;
    }
    g_state->start_ns = s;
    g_state->syncs++;
    (void)pthread_mutex_unlock(&g_state->mu);
    end = s + L;
    ts.tv_sec = end / 1000000000;
    ts.tv_nsec = end % 1000000000;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
    errno = saved;
}

static int charged_fd(int fd)
{
    struct stat st;

    if (g_state == NULL)
        return 0;
    if (!g_dev_only)
        return 1;
    return fstat(fd, &st) == 0 && st.st_dev == g_dev;
}

int fsync(int fd)
{
    int r = real_fsync(fd);

    if (r == 0 && charged_fd(fd))
        charge();
    return r;
}

int fdatasync(int fd)
{
    int r = real_fdatasync(fd);

    if (r == 0 && charged_fd(fd))
        charge();
    return r;
}

int syncfs(int fd)
{
    int r = real_syncfs(fd);

    if (r == 0 && charged_fd(fd))
        charge();
    return r;
}

void sync(void)
{
    real_sync();
    if (g_state != NULL)
        charge();
}

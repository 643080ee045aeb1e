/*
 * slowsync_check.c - shows that the slow-sync model (bench/slowsync.c) is in force and behaves
 * as bench/README.md says, before make bench-slowsync times anything under it. Run under the
 * shim, with AJIO_BENCH_SYNC_US and AJIO_BENCH_SYNC_DEV set:
 *
 *   slowsync_check DISK_DIR TMPFS_DIR
 *
 * 1. N fdatasyncs one after another on DISK_DIR: each finds the device idle, so N flushes and
 *    at least N x L. 2. 8 processes doing M each, all at once: they coalesce, so far fewer
 *    flushes than syncs and about 2 x M x L in all where one flush per sync would take 8 x M x L.
 * 3. An fdatasync on TMPFS_DIR: not charged when AJIO_BENCH_SYNC_PATH names DISK_DIR.
 *
 * Prints what it saw. Exits 1 only on what a loaded machine cannot cause: a count that is not
 * the model's, or less time than the flushes must take (the shim sleeps to absolute deadlines,
 * so lateness only adds).
 */
#include "slowsync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SEQ 20
#define PROCS 8
#define PER_PROC 20

static const struct slowsync_state *g_state;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "slowsync_check: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int open_in(const char *dir, const char *name)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        die(path);
    (void)unlink(path); /* the descriptor is enough, and nothing is left behind */
    return fd;
}

static void write_sync(int fd)
{
    if (write(fd, "x", 1) != 1 || fdatasync(fd) < 0)
        die("write + fdatasync");
}

static uint64_t flushes(void)
{
    return __atomic_load_n(&g_state->flushes, __ATOMIC_ACQUIRE);
}

int main(int argc, char **argv)
{
    const char *us = getenv("AJIO_BENCH_SYNC_US"), *dev = getenv("AJIO_BENCH_SYNC_DEV");
    int ready[2], bad = 0;
    double L, t0, t;
    uint64_t f0, f;
    int fd;

    if (argc != 3 || us == NULL || dev == NULL) {
        fprintf(stderr, "usage: AJIO_BENCH_SYNC_US=L AJIO_BENCH_SYNC_DEV=FILE "
                        "LD_PRELOAD=slowsync.so slowsync_check DISK_DIR TMPFS_DIR\n");
        return 2;
    }
    L = strtod(us, NULL) * 1e-6;
    fd = open(dev, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die(dev);
    g_state = mmap(NULL, sizeof(*g_state), PROT_READ, MAP_SHARED, fd, 0);
    if (g_state == MAP_FAILED)
        die("mmap of the device state");
    (void)close(fd);
    if (g_state->magic != SLOWSYNC_MAGIC) {
        fprintf(stderr, "slowsync_check: %s is not a device the shim made: is LD_PRELOAD set?\n",
                dev);
        return 2;
    }

    fd = open_in(argv[1], "slowsync-seq");
    f0 = flushes();
    t0 = now();
    for (int i = 0; i < SEQ; i++)
        write_sync(fd);
    t = now() - t0;
    f = flushes() - f0;
    (void)close(fd);
    /* What is over L is the disk's own sync, which the model adds to: worth knowing. */
    printf("slowsync L = %.2f ms: %d fdatasyncs in a row: %.1f ms (%.2f L each; >= 1 L; the "
           "disk's own %.2f ms), %llu flushes (%d)\n",
           L * 1e3, SEQ, t * 1e3, t / SEQ / L, (t / SEQ - L) * 1e3, (unsigned long long)f, SEQ);
    if (f != SEQ || t < SEQ * L)
        bad = 1;

    if (pipe(ready) < 0)
        die("pipe");
    f0 = flushes();
    t0 = now();
    for (int p = 0; p < PROCS; p++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            char name[32], c;
            snprintf(name, sizeof(name), "slowsync-p%d", p);
            int pfd = open_in(argv[1], name);
            (void)close(ready[1]);
            /* All start together: the parent closes its end once every child is forked. */
            if (read(ready[0], &c, 1) < 0)
                _exit(1);
            for (int i = 0; i < PER_PROC; i++)
                write_sync(pfd);
            _exit(0);
        }
    }
    (void)close(ready[0]);
    t0 = now();
    (void)close(ready[1]);
    for (int p = 0; p < PROCS; p++) {
        int st;
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("a syncing process failed");
    }
    t = now() - t0;
    f = flushes() - f0;
    printf("slowsync L = %.2f ms: %d processes x %d fdatasyncs at once: %.1f ms = %.1f L "
           "(%d L with a flush per sync), %llu flushes for %d syncs\n",
           L * 1e3, PROCS, PER_PROC, t * 1e3, t / L, PROCS * PER_PROC, (unsigned long long)f,
           PROCS * PER_PROC);
    if (f >= (uint64_t)(PROCS * PER_PROC) || t < (double)f * L)
        bad = 1;

    fd = open_in(argv[2], "slowsync-tmpfs");
    f0 = flushes();
    write_sync(fd);
    f = flushes() - f0;
    (void)close(fd);
    printf("slowsync: an fdatasync on %s: %llu flushes (%s)\n", argv[2], (unsigned long long)f,
           getenv("AJIO_BENCH_SYNC_PATH") != NULL ? "0: not the modelled disk" : "1: every file");
    if (f != (getenv("AJIO_BENCH_SYNC_PATH") != NULL ? 0u : 1u))
        bad = 1;
    printf("slowsync: %s\n", bad ? "NOT AS MODELLED" : "as modelled");
    return bad;
}

/*
 * bench_write.c - the core write path against the physical floor, side by side in one run.
 *
 *   bench_write small DIR sync|nosync REPS SECS   100-byte writes: ajio, floor, textbook
 *   bench_write large DIR sync|nosync SIZE REPS   one big write: ajio vs floor, MB/s
 *   bench_write loop VARIANT DIR sync|nosync N [new]
 *                                                 N writes of one variant, for strace -c
 *   bench_write steps DIR N                       the floor's durable time, syscall by syscall
 *   bench_write rss DIR TOTAL [control]           peak RSS of a streamed ajio_file_open/ajio_file_write
 *
 * The variants:
 *
 *   ajio      ajio_write_bytes() on an existing 0644 file
 *   floor     the syscalls ajio_write_bytes() makes on that file (traced with strace -f), written
 *             by hand with no logic around them: openat2 dir, statx dir, newfstatat target,
 *             openat O_TMPFILE, write, listxattrat target, flistxattr temp, fstat, fdatasync,
 *             flock, linkat AT_EMPTY_PATH, renameat, fsync dir, close, close dir (a new file:
 *             no listxattrat, flistxattr, fstat, flock or renameat; linkat to the name). Nothing
 *             can do the same job with less, so this is the floor.
 *   floor-0.1 the same for release 0.1 (openat dir, newfstatat, openat O_TMPFILE, write, fstat,
 *             fdatasync, linkat via /proc/self/fd, close, renameat, fsync dir, close dir), which
 *             0.1's ajio_write_bytes matched (1.00x durable, 1.03x atomic-only): ajio against it
 *             is the cost of what 0.2 keeps and checks besides.
 *   textbook  the usual recipe: named temp, write, fdatasync, close, rename, open/fsync/close of
 *             the directory. No mode or owner preservation, no O_TMPFILE: extra information only.
 *   floor+fstat  the floor plus one fstat(): the control, a known small extra cost that the
 *             comparison must be able to see.
 *
 * With "nosync" every variant leaves out fdatasync and the directory fsync (AJIO_NO_SYNC), the
 * atomic-only mode. The variants are interleaved write by write, the order rotating every round,
 * so that machine noise (other processes, journal commits, the host) hits all of them alike; a
 * repetition is N writes of each, N chosen so that the ajio writes of one repetition take about
 * SECS seconds. The ratio reported is the median over the repetitions of time(ajio)/time(floor).
 *
 * Output is Markdown table rows; bench/run-core.sh adds the headers and the strace counts.
 */
#include "ajio.h"
#include "benchutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define SMALL_LEN 100
#define MAX_REPS 64

static bool g_sync;
static char g_dir[1024];

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_write: %s: %s\n", what, strerror(err < 0 ? -err : err));
    exit(1);
}

/* Median of v[0..n) without reordering v: the callers print min and max of the same arrays. */
static double median(const double *v, int n)
{
    double s[MAX_REPS];

    memcpy(s, v, (size_t)n * sizeof(*s));
    return bu_median_inplace(s, n);
}

static double min_of(const double *v, int n)
{
    double m = v[0];

    for (int i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

static double max_of(const double *v, int n)
{
    double m = v[0];

    for (int i = 1; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

/* A write variant: replaces DIR/name with len bytes. Returns 0 or a negative errno. */
typedef int (*write_fn)(const char *name, const void *buf, size_t len);

static int write_ajio(const char *name, const void *buf, size_t len)
{
    char path[2048];
    ajio_opts o = {0};

    o.flags = g_sync ? 0 : AJIO_NO_SYNC;
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    return ajio_write_bytes(path, buf, len, &o);
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * The temp name has the library's shape and length (".NAME.ajio-" 16 hex ".tmp"), so that the
 * directory operations hash and compare names of the same size; a counter replaces the random
 * generator because the floor carries no logic.
 */
static void floor_temp_name(char *tmp, size_t size, const char *name)
{
    static uint64_t counter;

    snprintf(tmp, size, ".%s.ajio-%016llx.tmp", name, (unsigned long long)++counter);
}

enum floor_kind { FLOOR, FLOOR_01, FLOOR_FSTAT };

/*
 * FLOOR: the syscalls of this library; FLOOR_01: those of release 0.1, before the replace kept
 * ACLs, attributes and sweep locks (0.1's ajio_write_bytes measured 1.00x / 1.03x of it), so
 * that ajio against it is the cost of the hardening; FLOOR_FSTAT: the control, FLOOR plus one
 * fstat(). A constant argument, so that no variant carries a test it does not need.
 */
static inline int floor_sequence(const char *name, const void *buf, size_t len,
                                 enum floor_kind kind)
{
    struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_NO_SYMLINKS};
    char tmp[512], proc[64], names[256];
    struct stat st;
    struct statx stx;
    bool exists = true;
    int dirfd, fd, r = 0;

    if (kind == FLOOR_01)
        dirfd = open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    else
        dirfd = (int)syscall(SYS_openat2, AT_FDCWD, g_dir, &how, sizeof(how));
    if (dirfd < 0)
        return -errno;
    /* 0x4000: STATX_MNT_ID_UNIQUE (Linux 6.8), which the library asks for the mount's kind. */
    if (kind != FLOOR_01 && statx(dirfd, "", AT_EMPTY_PATH, STATX_MODE | STATX_UID | STATX_INO |
                                  STATX_BTIME | 0x4000, &stx) < 0) {
        r = -errno;
        goto out;
    }
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        exists = false;
        st.st_mode = 0666;
    }
    fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, st.st_mode & 0777);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    r = write_all(fd, buf, len);
    /* 465: listxattrat (Linux 6.13), the old file by the directory fd and its name. */
    if (r == 0 && exists && kind != FLOOR_01 &&
        (syscall(465, dirfd, name, AT_SYMLINK_NOFOLLOW, names, sizeof(names)) < 0 ||
         flistxattr(fd, names, sizeof(names)) < 0))
        r = -errno;
    /* The library reads the temp's owner and mode of a rewritten file (fchown/fchmod plan). */
    if (r == 0 && exists && fstat(fd, &st) < 0)
        r = -errno;
    if (r == 0 && kind == FLOOR_FSTAT && fstat(fd, &st) < 0)
        r = -errno;
    if (r == 0 && g_sync && fdatasync(fd) < 0)
        r = -errno;
    floor_temp_name(tmp, sizeof(tmp), name);
    if (kind != FLOOR_01 && !exists) {
        /* A new file: the O_TMPFILE linked to its name is the whole publish. */
        if (r == 0 && linkat(fd, "", dirfd, name, AT_EMPTY_PATH) < 0)
            r = -errno;
        goto synced;
    }
    /* The library locks an O_TMPFILE only just before it gets a temp name. */
    if (r == 0 && kind != FLOOR_01 && flock(fd, LOCK_EX | LOCK_NB) < 0)
        r = -errno;
    if (kind == FLOOR_01) {
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if (r == 0 && linkat(AT_FDCWD, proc, dirfd, tmp, AT_SYMLINK_FOLLOW) < 0)
            r = -errno;
        close(fd); /* 0.1 closed before the rename; 0.2 keeps the locked O_TMPFILE open */
        fd = -1;
    } else if (r == 0 && linkat(fd, "", dirfd, tmp, AT_EMPTY_PATH) < 0) {
        r = -errno;
    }
    if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
        r = -errno;
synced:
    if (r == 0 && g_sync && fsync(dirfd) < 0)
        r = -errno;
    if (fd >= 0)
        close(fd);
out:
    close(dirfd);
    return r;
}

static int write_floor(const char *name, const void *buf, size_t len)
{
    return floor_sequence(name, buf, len, FLOOR);
}

static int write_floor_01(const char *name, const void *buf, size_t len)
{
    return floor_sequence(name, buf, len, FLOOR_01);
}

/*
 * The negative control of the comparison: the floor plus one fstat(), a known extra cost of about
 * one cheap syscall. Its ratio shows what the harness can resolve: if it came out at 1.00 on
 * tmpfs, the method could not see a library overhead of that size either.
 */
static int write_floor_fstat(const char *name, const void *buf, size_t len)
{
    return floor_sequence(name, buf, len, FLOOR_FSTAT);
}

static int write_textbook(const char *name, const void *buf, size_t len)
{
    char path[2048], tmp[2048];
    int fd, dirfd, r;

    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", g_dir, name);
    fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    r = write_all(fd, buf, len);
    if (r == 0 && g_sync && fdatasync(fd) < 0)
        r = -errno;
    close(fd);
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    if (!g_sync)
        return 0;
    dirfd = open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return -errno;
    if (fsync(dirfd) < 0)
        r = -errno;
    close(dirfd);
    return r;
}

static const struct variant {
    const char *name;
    write_fn fn;
    const char *target;
} variants[] = {
    {"ajio", write_ajio, "ajio.json"},
    {"floor", write_floor, "floor.json"},
    {"floor-0.1", write_floor_01, "floor01.json"},
    {"textbook", write_textbook, "textbook.json"},
    {"floor+fstat", write_floor_fstat, "control.json"},
};
#define NVAR 5

static const struct variant *find_variant(const char *name)
{
    for (int i = 0; i < NVAR; i++)
        if (strcmp(variants[i].name, name) == 0)
            return &variants[i];
    fprintf(stderr, "bench_write: unknown variant %s\n", name);
    exit(2);
}

static void run(const struct variant *v, const char *target, const void *buf, size_t len)
{
    int r = v->fn(target, buf, len);

    if (r != 0)
        die(v->name, r);
}

/* Every target exists with mode 0644 before timing: the common case is rewriting a file. */
static void create_targets(int nvar, const void *buf, size_t len)
{
    char path[2048];

    for (int v = 0; v < nvar; v++) {
        run(&variants[v], variants[v].target, buf, len);
        snprintf(path, sizeof(path), "%s/%s", g_dir, variants[v].target);
        if (chmod(path, 0644) < 0)
            die(path, errno);
    }
}

/* xorshift64: a fixed sequence, so that every run interleaves the same way. */
static uint64_t next_rand(void)
{
    static uint64_t x = 0x9e3779b97f4a7c15ULL;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

/*
 * One repetition: n rounds, each one write of every variant in a shuffled order. A plain
 * rotation would keep the cyclic order, so a variant would always follow the same other one and
 * pay for whatever work that one leaves behind (a first version showed exactly this: 20% on
 * tmpfs for whichever variant came after ajio). secs[v] gets the time spent in variant v.
 */
static void rounds(int nvar, long n, const void *buf, size_t len, double *secs, double *pair)
{
    int order[NVAR];
    double t[NVAR];

    for (int v = 0; v < nvar; v++)
        secs[v] = 0;
    for (long i = 0; i < n; i++) {
        for (int k = 0; k < nvar; k++)
            order[k] = k;
        for (int k = nvar - 1; k > 0; k--) {
            int j = (int)(next_rand() % (uint64_t)(k + 1)), tmp = order[k];
            order[k] = order[j];
            order[j] = tmp;
        }
        for (int k = 0; k < nvar; k++) {
            int v = order[k];
            double t0 = bu_now();
            run(&variants[v], variants[v].target, buf, len);
            t[v] = bu_now() - t0;
            secs[v] += t[v];
        }
        /* pair[v * n + i]: the round's own ratio to the floor, written next to it in time. */
        if (pair != NULL)
            for (int v = 0; v < nvar; v++)
                pair[v * n + i] = t[v] / t[1];
    }
}

static const char *fs_label(void)
{
    return g_sync ? "durable" : "atomic-only (AJIO_NO_SYNC)";
}

/*
 * Two ratios per repetition: of the total times (the mean cost, what the targets are stated in)
 * and the median of the per-round ratios (each ajio write against the floor write of the same
 * round). On a shared disk one stalled fdatasync of 100 ms can move a total by 10%; the paired
 * median is not moved by it, so when the two disagree the disk, not the library, is talking.
 */
static int cmd_small(int reps, double secs_per_rep)
{
    char buf[SMALL_LEN];
    double secs[NVAR], warm[NVAR];
    double us[NVAR][MAX_REPS], ratio[NVAR][MAX_REPS], paired[NVAR][MAX_REPS];
    double r01[MAX_REPS], p01[MAX_REPS];
    double *pair, *pair01;
    long n;

    memset(buf, '7', sizeof(buf));
    buf[0] = '[';
    buf[SMALL_LEN - 2] = ']';
    buf[SMALL_LEN - 1] = '\n';
    create_targets(NVAR, buf, sizeof(buf));
    /* Warm-up (dentries, page cache) that also calibrates n. */
    rounds(NVAR, 50, buf, sizeof(buf), warm, NULL);
    rounds(NVAR, 200, buf, sizeof(buf), warm, NULL);
    n = (long)(secs_per_rep / (warm[0] / 200));
    n = n < 50 ? 50 : n;
    pair = malloc((size_t)n * NVAR * sizeof(*pair));
    pair01 = malloc((size_t)n * sizeof(*pair01));
    if (pair == NULL || pair01 == NULL)
        die("malloc", ENOMEM);
    for (int r = 0; r < reps; r++) {
        rounds(NVAR, n, buf, sizeof(buf), secs, pair);
        /* ajio against release 0.1's floor, per round (before the medians sort the rounds). */
        r01[r] = secs[0] / secs[2];
        for (long i = 0; i < n; i++)
            pair01[i] = pair[i] / pair[2 * n + i];
        p01[r] = bu_median_inplace(pair01, n);
        for (int v = 0; v < NVAR; v++) {
            us[v][r] = secs[v] / (double)n * 1e6;
            ratio[v][r] = secs[v] / secs[1];
            paired[v][r] = bu_median_inplace(pair + v * n, n);
        }
    }
    for (int v = 0; v < NVAR; v++)
        printf("| %s | %s | %d x %ld | %.2f | %.3f | %.3f .. %.3f | %.3f | %.3f .. %.3f |\n",
               fs_label(), variants[v].name, reps, n, median(us[v], reps), median(ratio[v], reps),
               min_of(ratio[v], reps), max_of(ratio[v], reps), median(paired[v], reps),
               min_of(paired[v], reps), max_of(paired[v], reps));
    printf("| %s | ajio / floor-0.1 | %d x %ld | | %.3f | %.3f .. %.3f | %.3f | %.3f .. %.3f |\n",
           fs_label(), reps, n, median(r01, reps), min_of(r01, reps), max_of(r01, reps),
           median(p01, reps), min_of(p01, reps), max_of(p01, reps));
    free(pair);
    free(pair01);
    return 0;
}

static int cmd_large(size_t size, int reps)
{
    char *buf = malloc(size);
    double secs[2], mbs[2][MAX_REPS], ratio[MAX_REPS];
    long n;
    double t;

    if (buf == NULL)
        die("malloc", ENOMEM);
    /* Touched before timing, so page faults on the source are not counted. */
    for (size_t i = 0; i < size; i++)
        buf[i] = (char)('0' + i % 10);
    create_targets(2, buf, size);
    t = bu_now();
    rounds(2, 1, buf, size, secs, NULL);
    t = bu_now() - t;
    /* About 0.5 s per repetition for both variants, at least one write each. */
    n = (long)(0.5 / t);
    n = n < 1 ? 1 : n;
    for (int r = 0; r < reps; r++) {
        rounds(2, n, buf, size, secs, NULL);
        for (int v = 0; v < 2; v++)
            mbs[v][r] = (double)size * (double)n / secs[v] / 1e6;
        ratio[r] = secs[0] / secs[1];
    }
    printf("| %s | %.0f MiB | %d x %ld | %.0f | %.0f | %.3f | %.3f .. %.3f |\n", fs_label(),
           (double)size / (1 << 20), reps, n, median(mbs[0], reps), median(mbs[1], reps),
           median(ratio, reps), min_of(ratio, reps), max_of(ratio, reps));
    free(buf);
    return 0;
}

/* N writes of one variant and nothing else, so that strace -c counts only them. */
static int cmd_loop(const char *vname, long n, bool fresh)
{
    const struct variant *v = find_variant(vname);
    char buf[SMALL_LEN], name[64];

    memset(buf, '7', sizeof(buf));
    for (long i = 0; i < n; i++) {
        /* "new": a name never used, so the write creates the file (no fstat of an old one). */
        if (fresh)
            snprintf(name, sizeof(name), "%s.new.%ld", v->target, i);
        run(v, fresh ? name : v->target, buf, sizeof(buf));
    }
    return 0;
}

/*
 * The floor sequence on an existing file with a clock read around every syscall: where the time
 * of a write goes, including what each syscall added since 0.1 costs. Kept apart from write_floor(), which must stay free of any extra work.
 * Then, in the same round, the 4 syscalls of the shortest replace (named temp, write, close,
 * rename; the directory fd held, no sync), the reference of the atomic-only workloads: what
 * each step of the library costs against what it is compared with.
 */
enum {
    ST_OPENDIR,
    ST_STATDIR,
    ST_STAT,
    ST_TMPFILE,
    ST_WRITE,
    ST_LISTOLD,
    ST_LISTTMP,
    ST_FSTAT,
    ST_FDATASYNC,
    ST_FLOCK,
    ST_LINKAT,
    ST_RENAME,
    ST_FSYNCDIR,
    ST_CLOSE,
    ST_CLOSEDIR,
    ST_FLOOR_N, /* the floor's steps end here; the 4-syscall replace's follow */
    ST_R_OPEN = ST_FLOOR_N,
    ST_R_WRITE,
    ST_R_CLOSE,
    ST_R_RENAME,
    ST_N
};
static const char *const step_names[ST_N] = {"openat2(dir, RESOLVE_NO_SYMLINKS)",
                                             "statx(dirfd)",
                                             "newfstatat(dirfd, name)",
                                             "openat(dirfd, \".\", O_TMPFILE)",
                                             "write(tmp, 100 B)",
                                             "listxattrat(dirfd, name)",
                                             "flistxattr(tmp)",
                                             "fstat(tmp)",
                                             "fdatasync(tmp)",
                                             "flock(tmp)",
                                             "linkat(tmp, AT_EMPTY_PATH -> temp name)",
                                             "renameat(temp name -> name)",
                                             "fsync(dirfd)",
                                             "close(tmp)",
                                             "close(dirfd)",
                                             "4 syscalls: openat(dirfd, temp, O_CREAT|O_EXCL)",
                                             "4 syscalls: write(temp, 100 B)",
                                             "4 syscalls: close(temp)",
                                             "4 syscalls: renameat(temp -> name)"};

static int cmd_steps(long n)
{
    struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_NO_SYMLINKS};
    char buf[SMALL_LEN], tmp[512], names[256];
    const char *name = "steps.json";
    double acc[ST_N] = {0}, t, total = 0;
    struct stat st;
    struct statx stx;
    int held;

    memset(buf, '7', sizeof(buf));
    g_sync = true;
    if (write_floor(name, buf, sizeof(buf)) < 0) /* the file exists before the first round */
        die("floor steps", errno);
    held = open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (held < 0)
        die("open of the directory", errno);
    for (long i = -n / 10; i < n; i++) { /* the first tenth warms up, untimed */
        double dt[ST_N];
        int dirfd, fd;
        bool ok = true;

#define STEP(id, call)                                                                             \
    do {                                                                                           \
        t = bu_now();                                                                              \
        ok = (call) >= 0 && ok;                                                                    \
        dt[id] = bu_now() - t;                                                                     \
    } while (0)
        STEP(ST_OPENDIR, dirfd = (int)syscall(SYS_openat2, AT_FDCWD, g_dir, &how, sizeof(how)));
        STEP(ST_STATDIR, statx(dirfd, "", AT_EMPTY_PATH, STATX_MODE | STATX_UID | STATX_INO |
                                                             STATX_BTIME | 0x4000, &stx));
        STEP(ST_STAT, fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW));
        STEP(ST_TMPFILE, fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
        STEP(ST_WRITE, write(fd, buf, sizeof(buf)));
        STEP(ST_LISTOLD, syscall(465, dirfd, name, AT_SYMLINK_NOFOLLOW, names, sizeof(names)));
        STEP(ST_LISTTMP, flistxattr(fd, names, sizeof(names)));
        STEP(ST_FSTAT, fstat(fd, &st));
        STEP(ST_FDATASYNC, fdatasync(fd));
        STEP(ST_FLOCK, flock(fd, LOCK_EX | LOCK_NB));
        floor_temp_name(tmp, sizeof(tmp), name);
        STEP(ST_LINKAT, linkat(fd, "", dirfd, tmp, AT_EMPTY_PATH));
        STEP(ST_RENAME, renameat(dirfd, tmp, dirfd, name));
        STEP(ST_FSYNCDIR, fsync(dirfd));
        STEP(ST_CLOSE, close(fd));
        STEP(ST_CLOSEDIR, close(dirfd));
        /* The shortest replace (bench_workloads' reference), its directory fd held, no sync. */
        floor_temp_name(tmp, sizeof(tmp), name);
        STEP(ST_R_OPEN, fd = openat(held, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        STEP(ST_R_WRITE, write(fd, buf, sizeof(buf)));
        STEP(ST_R_CLOSE, close(fd));
        STEP(ST_R_RENAME, renameat(held, tmp, held, name));
#undef STEP
        if (!ok)
            die("floor steps", errno);
        if (i >= 0)
            for (int k = 0; k < ST_N; k++)
                acc[k] += dt[k];
    }
    for (int k = 0; k < ST_FLOOR_N; k++)
        total += acc[k];
    for (int k = 0; k < ST_FLOOR_N; k++)
        printf("| %s | %.2f | %.1f%% |\n", step_names[k], acc[k] / (double)n * 1e6,
               100 * acc[k] / total);
    printf("| all | %.2f | 100%% |\n", total / (double)n * 1e6);
    total = 0;
    for (int k = ST_FLOOR_N; k < ST_N; k++)
        total += acc[k];
    for (int k = ST_FLOOR_N; k < ST_N; k++)
        printf("| %s | %.2f | %.1f%% |\n", step_names[k], acc[k] / (double)n * 1e6,
               100 * acc[k] / total);
    printf("| 4 syscalls: all | %.2f | 100%% |\n", total / (double)n * 1e6);
    close(held);
    return 0;
}

/* A "kB" field of /proc/self/status, in KiB; -1 if missing. */
static long status_kib(const char *field)
{
    char line[256];
    size_t flen = strlen(field);
    long kib = -1;
    FILE *fp = fopen("/proc/self/status", "r");

    if (fp == NULL)
        return -1;
    while (fgets(line, sizeof(line), fp) != NULL)
        if (strncmp(line, field, flen) == 0 && line[flen] == ':')
            kib = strtol(line + flen + 1, NULL, 10);
    fclose(fp);
    return kib;
}

/* Sets the peak RSS (VmHWM) back to the current RSS; see proc(5), clear_refs. */
static bool reset_peak(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    bool ok;

    if (fd < 0)
        return false;
    ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok;
}

/*
 * Streams total bytes through ajio_file_open/ajio_file_write in pieces of 4 KiB..64 KiB and reports the
 * peak RSS above the baseline taken just before ajio_file_open. "control" also touches 2 MiB of fresh
 * heap after the baseline, to show that the measurement sees a growth of that size (the negative
 * control of this number: a library that kept 2 MiB would be caught).
 */
static int cmd_rss(unsigned long long total, bool control)
{
    static char src[64 * 1024];
    char path[2048];
    ajio_opts o = {0};
    ajio_file *f;
    unsigned long long done = 0;
    unsigned long i = 0;
    long base, peak;
    double t;
    char *extra = NULL;
    bool reset;
    int r;

    for (size_t k = 0; k < sizeof(src); k++)
        src[k] = (char)('a' + k % 26);
    snprintf(path, sizeof(path), "%s/stream.json", g_dir);
    o.flags = AJIO_NO_SYNC;
    /* Everything the loop itself needs (stdio, /proc reads) is allocated before the baseline. */
    (void)status_kib("VmHWM");
    fflush(stdout);
    reset = reset_peak();
    base = reset ? status_kib("VmHWM") : status_kib("VmRSS");
    if (base < 0)
        die("/proc/self/status", ENOENT);
    t = bu_now();
    r = ajio_file_open(&f, path, &o);
    if (r < 0)
        die(ajio_last_error(), r);
    if (control) {
        extra = malloc(2 << 20);
        if (extra == NULL)
            die("malloc", ENOMEM);
        memset(extra, 1, 2 << 20);
    }
    while (done < total) {
        /* A spread of sizes, page-aligned or not, between 4 KiB and 64 KiB. */
        size_t piece = 4096 + (size_t)((i++ * 40503u) % (61440u + 1));
        if (piece > total - done)
            piece = (size_t)(total - done);
        r = ajio_file_write(f, src, piece);
        if (r < 0)
            die(ajio_last_error(), r);
        done += piece;
    }
    r = ajio_file_commit(f);
    if (r < 0)
        die(ajio_last_error(), r);
    t = bu_now() - t;
    peak = reset ? status_kib("VmHWM") : 0;
    if (!reset) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        peak = ru.ru_maxrss;
    }
    if (unlink(path) < 0)
        die(path, errno);
    printf("| %s | %.0f MiB | %lu | %ld | %ld | %ld | %.0f |\n",
           control ? "control: +2 MiB heap touched" : "ajio_file_open/ajio_file_write/ajio_file_commit",
           (double)total / (1 << 20), i, base, peak, peak - base, (double)total / t / 1e6);
    free(extra);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_write small DIR sync|nosync REPS SECS\n"
            "       bench_write large DIR sync|nosync SIZE REPS\n"
            "       bench_write loop ajio|floor|floor-0.1|textbook|floor+fstat DIR sync|nosync N "
            "[new]\n"
            "       bench_write steps DIR N\n"
            "       bench_write rss DIR TOTAL [control]\n");
    exit(2);
}

static void set_dir_sync(const char *dir, const char *sync)
{
    snprintf(g_dir, sizeof(g_dir), "%s", dir);
    if (strcmp(sync, "sync") == 0)
        g_sync = true;
    else if (strcmp(sync, "nosync") == 0)
        g_sync = false;
    else
        usage();
}

static int reps_arg(const char *s)
{
    int reps = atoi(s);

    if (reps < 1 || reps > MAX_REPS)
        usage();
    return reps;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 6 && strcmp(argv[1], "small") == 0) {
        set_dir_sync(argv[2], argv[3]);
        return cmd_small(reps_arg(argv[4]), atof(argv[5]));
    }
    if (argc == 6 && strcmp(argv[1], "large") == 0) {
        set_dir_sync(argv[2], argv[3]);
        return cmd_large(strtoull(argv[4], NULL, 0), reps_arg(argv[5]));
    }
    if ((argc == 6 || argc == 7) && strcmp(argv[1], "loop") == 0) {
        set_dir_sync(argv[3], argv[4]);
        return cmd_loop(argv[2], atol(argv[5]), argc == 7 && strcmp(argv[6], "new") == 0);
    }
    if (argc == 4 && strcmp(argv[1], "steps") == 0) {
        snprintf(g_dir, sizeof(g_dir), "%s", argv[2]);
        return cmd_steps(atol(argv[3]));
    }
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "rss") == 0) {
        snprintf(g_dir, sizeof(g_dir), "%s", argv[2]);
        return cmd_rss(strtoull(argv[3], NULL, 0), argc == 5 && strcmp(argv[4], "control") == 0);
    }
    usage();
    return 2;
}

/*
 * bench_shared.c - durable replace and append on a shared filesystem (NFS, GlusterFS) against
 * the same syscalls written by hand, side by side in one run.
 *
 *   bench_shared DIR [OPS [ROUNDS]]    OPS operations of each variant per round (default 40),
 *                                      ROUNDS rounds (default 7), variants interleaved
 *
 * The variants, 1 KiB each, on an existing file:
 *
 *   replace       ajio_write_bytes(), default options (durable)
 *   replace-hand  what a durable replace needs there at least: open a named temp (O_CREAT|
 *                 O_EXCL; NFS has no O_TMPFILE), write, fdatasync, close, rename, fsync of the
 *                 directory
 *   append        ajio_append(), default options (durable): on a shared filesystem the
 *                 cluster-wide lock, the server's size, the record, the sync before the unlock
 *   append-hand   open O_APPEND, write, fdatasync, close: no lock, so two clients can lose each
 *                 other's records (make check-shared shows it)
 *   append-lock   append-hand inside an OFD write lock on a lock file, with the size asked of
 *                 the server (statx AT_STATX_FORCE_SYNC) under it: the least a correct
 *                 cross-client append does
 *
 * The ratio of a round is time(variant)/time(its hand-written floor) in that round; the table
 * gives the median over the rounds, and the time per operation. append-lock/append-hand is the
 * cost of the cluster-wide lock itself.
 */
#include "ajio.h"
#include "benchutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEN 1024
#define MAX_ROUNDS 64

enum { REPLACE, REPLACE_HAND, APPEND, APPEND_HAND, APPEND_LOCK, NVAR };

static const char *const names[NVAR] = {"replace", "replace-hand", "append", "append-hand",
                                        "append-lock"};

static char dir[2048], target[2100], temp[2100], log_path[2100], log_hand_path[2100], lock_path[2100];
static char buf[LEN];

static void die(const char *what)
{
    fprintf(stderr, "bench_shared: %s: %s (%s)\n", what, strerror(errno), ajio_last_error());
    exit(1);
}

static void replace_hand(void)
{
    int fd = open(temp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);

    if (fd < 0 || write(fd, buf, LEN) != LEN || fdatasync(fd) < 0 || close(fd) < 0)
        die("replace-hand temp");
    if (rename(temp, target) < 0)
        die("replace-hand rename");
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0 || fsync(d) < 0 || close(d) < 0)
        die("replace-hand fsync dir");
}

static void append_hand(const char *path, bool lock)
{
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1024, .l_len = 1};
    struct statx sx;
    int lfd = -1, fd;

    if (lock) {
        lfd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lfd < 0 || fcntl(lfd, F_OFD_SETLKW, &l) < 0)
            die("append-lock lock");
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        die("append-hand open");
    if (lock && statx(fd, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC, STATX_SIZE, &sx) < 0)
        die("append-lock statx");
    if (write(fd, buf, LEN) != LEN || fdatasync(fd) < 0 || close(fd) < 0)
        die("append-hand write");
    if (lock) {
        l.l_type = F_UNLCK;
        if (fcntl(lfd, F_OFD_SETLK, &l) < 0 || close(lfd) < 0)
            die("append-lock unlock");
    }
}

static void run(int v)
{
    switch (v) {
    case REPLACE:
        if (ajio_write_bytes(target, buf, LEN, NULL) < 0)
            die("ajio_write_bytes");
        break;
    case REPLACE_HAND:
        replace_hand();
        break;
    case APPEND:
        if (ajio_append(log_path, buf, LEN, NULL) < 0)
            die("ajio_append");
        break;
    case APPEND_HAND:
        append_hand(log_hand_path, false);
        break;
    case APPEND_LOCK:
        append_hand(log_hand_path, true);
        break;
    }
}

int main(int argc, char **argv)
{
    static double t[NVAR][MAX_ROUNDS];
    int ops = argc > 2 ? atoi(argv[2]) : 40, rounds = argc > 3 ? atoi(argv[3]) : 7;
    ajio_fs_info info;

    if (argc < 2 || ops < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: bench_shared DIR [OPS [ROUNDS<=%d]]\n", MAX_ROUNDS);
        return 64;
    }
    snprintf(dir, sizeof(dir), "%s", argv[1]);
    snprintf(target, sizeof(target), "%s/state.json", dir);
    snprintf(temp, sizeof(temp), "%s/.state.json.tmp", dir);
    snprintf(log_path, sizeof(log_path), "%s/log.jsonl", dir);
    snprintf(log_hand_path, sizeof(log_hand_path), "%s/hand.jsonl", dir);
    snprintf(lock_path, sizeof(lock_path), "%s/.hand.jsonl.lock", dir);
    memset(buf, 'x', LEN);
    buf[LEN - 1] = '\n';
    if (ajio_fs_probe(dir, &info) < 0)
        die("ajio_fs_probe");
    /* Every file exists before the first timed operation: creation is not what is measured. */
    run(REPLACE);
    run(APPEND);
    int fd = open(log_hand_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || close(fd) < 0)
        die("create hand.jsonl");
    run(APPEND_LOCK);
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < NVAR; k++) {
            int v = (k + r) % NVAR; /* the order rotates: drift hits every variant alike */
            double t0 = bu_now();

            for (int i = 0; i < ops; i++)
                run(v);
            t[v][r] = (bu_now() - t0) / ops;
        }
    printf("| %s (%s) | variant | time per op | ratio to its floor (median of %d rounds) |\n",
           dir, info.type, rounds);
    printf("|---|---|---:|---:|\n");
    for (int v = 0; v < NVAR; v++) {
        int floor = v == REPLACE ? REPLACE_HAND : v == APPEND || v == APPEND_LOCK ? APPEND_HAND : -1;
        double per[MAX_ROUNDS], ratio[MAX_ROUNDS];

        for (int r = 0; r < rounds; r++) {
            per[r] = t[v][r];
            ratio[r] = floor >= 0 ? t[v][r] / t[floor][r] : 1.0;
        }
        double m = bu_median_inplace(per, rounds), q = bu_median_inplace(ratio, rounds);
        if (floor >= 0)
            printf("| | %s | %.0f us | %.2fx %s |\n", names[v], m * 1e6, q, names[floor]);
        else
            printf("| | %s | %.0f us | |\n", names[v], m * 1e6);
    }
    /* append against the lock-taking floor too: what the library adds beyond the lock. */
    double ratio[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++)
        ratio[r] = t[APPEND][r] / t[APPEND_LOCK][r];
    printf("| | append | | %.2fx append-lock |\n", bu_median_inplace(ratio, rounds));
    return 0;
}

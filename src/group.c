/*
 * group.c - group commit for appenders: one fdatasync(2) makes the records of every appender
 * that wrote while the previous sync was in flight durable, instead of one sync each.
 *
 * Appenders take turns on the target's lock (an flock of ".NAME.ajio-lock", update.c) only to
 * write their records; the wait for the disk happens after they let go of it, under a second
 * lock, the sync lock (an OFD lock on byte 0 of the same lock file: independent of the flock,
 * per open file description like it, and released by the kernel when its holder dies). They
 * share a page of the lock file (mmap, MAP_SHARED):
 *
 *   written   tickets handed out: ticket t means "the t-th append's write(2) has returned"
 *   synced    every ticket <= synced of the current file is durable
 *   dev, ino  the file the tickets since epoch were written to
 *   epoch     the first ticket written to that file
 *   syncs     the fdatasyncs appenders did (tickets / syncs is what group commit saves)
 *   done      bumped at the end of each sync: the futex the others sleep on
 *
 * An appender takes a ticket under the flock once its write has returned and lets the flock go.
 * If synced >= its ticket (and the page still describes its file), a sync that started after its
 * write returned has finished: it is done without a sync of its own. Otherwise it tries the sync
 * lock: the one that gets it reads written (w), syncs the file, and publishes synced = w (every
 * ticket up to w was written before its fdatasync started, and fdatasync makes durable all the
 * data of the file written before it, through any descriptor); the others sleep until that sync
 * ends, all woken together, and look again.
 *
 * Tickets, not file offsets, so that a file cut back (a failed append, a repair, a truncation by
 * someone else) never makes new records look synced. The file identity and epoch, so that a log
 * that is rotated (renamed and created again) while appenders run never lets the sync of one file
 * stand for records of the other: a switch of file starts a new epoch, and only tickets of the
 * current epoch and file can be covered by a sync of that file.
 *
 * Who may share the page decides whether a sync may be skipped, so group commit is used only
 * when the lock file belongs to the caller or to the owner of the log and is not world-writable;
 * anywhere else each append syncs on its own, holding the flock, as without group commit.
 */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAGIC "ajio-gc2"

struct ajio__group {
    char magic[8];
    _Atomic uint64_t written;
    _Atomic uint64_t synced;
    _Atomic uint64_t dev;
    _Atomic uint64_t ino;
    _Atomic uint64_t epoch;
    _Atomic uint64_t syncs; /* fdatasyncs done for tickets: for tests and benchmarks */
    _Atomic uint32_t done;    /* futex word: bumped at the end of every leader's sync */
    _Atomic uint32_t waiters; /* appenders asleep on done: the leader wakes them only then */
};

/* The mapping is one page; the file only needs to cover the struct for the page to be backed. */
#define MAP_LEN 4096

int ajio__group_map(struct ajio_file *f, const struct stat *log, struct ajio__group **ret)
{
    const struct stat st = f->lock_st; /* as update.c opened it, under the flock since */
    struct ajio__group *g;
    int fd = f->target_lockfd;

    *ret = NULL;
    if (fd < 0 || !f->lock_rw)
        return 0;
    if ((st.st_uid != geteuid() && st.st_uid != log->st_uid) || (st.st_mode & S_IWOTH))
        return 0;
    /* The flock is held: no other appender extends or initialises the page meanwhile. */
    if ((size_t)st.st_size < sizeof(*g) && ftruncate(fd, sizeof(*g)) < 0)
        return ajio__error_strerror(-errno, "ftruncate of the lock file of \"%s\"", f->path);
    g = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (g == MAP_FAILED)
        return 0; /* a filesystem without shared mappings: each append syncs on its own */
    if (memcmp(g->magic, MAGIC, sizeof(g->magic)) != 0) {
        atomic_store(&g->written, 0);
        atomic_store(&g->synced, 0);
        atomic_store(&g->dev, 0);
        atomic_store(&g->ino, 0);
        atomic_store(&g->epoch, 0);
        atomic_store(&g->syncs, 0);
        atomic_store(&g->done, 0);
        atomic_store(&g->waiters, 0);
        memcpy(g->magic, MAGIC, sizeof(g->magic));
    }
    *ret = g;
    return 0;
}

void ajio__group_unmap(struct ajio__group *g)
{
    if (g != NULL)
        (void)munmap(g, MAP_LEN); /* a valid mapping of ours: munmap cannot fail */
}

uint64_t ajio__group_ticket(struct ajio__group *g, dev_t dev, ino_t ino)
{
    uint64_t w = atomic_load(&g->written);

    if (atomic_load(&g->dev) != (uint64_t)dev || atomic_load(&g->ino) != (uint64_t)ino) {
        /* The epoch first: a reader that sees the new file sees its epoch too. */
        atomic_store(&g->epoch, w + 1);
        atomic_store(&g->dev, (uint64_t)dev);
        atomic_store(&g->ino, (uint64_t)ino);
    }
    atomic_store(&g->written, w + 1);
    return w + 1;
}

static bool is_current(struct ajio__group *g, dev_t dev, ino_t ino)
{
    return atomic_load(&g->dev) == (uint64_t)dev && atomic_load(&g->ino) == (uint64_t)ino;
}

/* Whether a sync that started after ticket was written has made it durable. */
static bool covered(struct ajio__group *g, dev_t dev, ino_t ino, uint64_t ticket)
{
#ifdef AJIO_TEST_GROUP_TRUST /* negative control of the power-cut suite only */
    (void)ticket; /* wrong on purpose: any finished sync is taken to cover every ticket */
    return is_current(g, dev, ino) && atomic_load(&g->synced) > 0;
#else
    /* The file's identity read around the epoch: a switch in between is seen as one. */
    return is_current(g, dev, ino) && ticket >= atomic_load(&g->epoch) &&
           atomic_load(&g->synced) >= ticket && is_current(g, dev, ino);
#endif
}

/* The OFD lock on byte 0 of the lock file: taken without waiting, or released. */
static int sync_lock(int fd, short type)
{
    struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};

    while (fcntl(fd, F_OFD_SETLK, &l) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

/*
 * A follower's wait for the end of the sync in flight: until g->done moves from seen, or for at
 * most WAIT_NS, after which it looks again (a leader killed in its sync never bumps done; the
 * kernel released its lock, so the next look can lead). Interrupted or timed out, it only looks
 * again: no result to act on.
 */
#define WAIT_NS (10 * 1000 * 1000L)


static void wait_done(struct ajio__group *g, uint32_t seen)
{
    struct timespec ts = {0, WAIT_NS};

    atomic_fetch_add(&g->waiters, 1);
    if (atomic_load(&g->done) == seen)
        (void)syscall(SYS_futex, &g->done, FUTEX_WAIT, seen, &ts, NULL, 0);
    atomic_fetch_sub(&g->waiters, 1);
}

/* The end of a turn with the lock: whoever sleeps on it looks again. */
static void wake(struct ajio__group *g)
{
    atomic_fetch_add(&g->done, 1);
    /* A wake of a word in our own mapping cannot fail; it returns how many woke. */
    if (atomic_load(&g->waiters) > 0)
        (void)syscall(SYS_futex, &g->done, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/*
 * The leader's part, the sync lock held: the sync, what it covers published, the followers
 * woken. Tickets up to w of this file's epoch were written before the sync began.
 */
static int lead(struct ajio_file *f, struct ajio__group *g, int wfd, dev_t dev, ino_t ino)
{
    /*
     * With others about (asleep on the last sync, now writing their next records), one turn of
     * the CPU for them first: each record written now is one sync less for its writer (0.17
     * syncs per append instead of 0.20 with 8 appenders here). A lone appender pays nothing.
     */
    if (atomic_load(&g->waiters) > 0)
        (void)sched_yield(); /* always succeeds on Linux */
    uint64_t w = atomic_load(&g->written);
    bool mine = is_current(g, dev, ino);
    int r = 0;

#ifndef AJIO_TEST_OMIT_APPEND_SYNC /* negative control of the power-cut suite only */
    if (fdatasync(wfd) < 0)
        r = ajio__error_strerror(-errno, "fdatasync of \"%s\" after appending", f->path);
#endif
    if (r == 0) {
        atomic_fetch_add(&g->syncs, 1);
        if (mine && is_current(g, dev, ino) && w > atomic_load(&g->synced))
            atomic_store(&g->synced, w);
    }
    /* Woken after a failed sync too: each follower then leads a sync of its own. */
    wake(g);
    return r;
}

/*
 * One sync at a time, and everyone who waited for it wakes at once: the leader holds the OFD
 * lock through its sync, the others sleep on a futex in the shared page (not on the lock, whose
 * waiters the kernel would hand it to one by one) and look again when the sync ends. Those it
 * covered are done; of the others, the first to take the lock leads the next sync, for all.
 */
int ajio__group_sync(struct ajio_file *f, struct ajio__group *g, int wfd, dev_t dev, ino_t ino,
                     uint64_t ticket, bool *ret_shared, bool *ret_durable)
{
    int fd = f->target_lockfd;
    int r;

    *ret_shared = false;
    *ret_durable = false;
    for (;;) {
        uint32_t seen = atomic_load(&g->done);

        if (covered(g, dev, ino, ticket)) {
            *ret_shared = *ret_durable = true;
            return 0;
        }
        r = sync_lock(fd, F_WRLCK);
        if (r == 0)
            break;
        if (r != -EAGAIN && r != -EACCES) {
            /* No OFD locks here: a sync of its own, which needs no lock to be correct. */
            if (fdatasync(wfd) < 0)
                return ajio__error_strerror(-errno, "fdatasync of \"%s\" after appending",
                                            f->path);
            *ret_durable = true;
            return 0;
        }
        wait_done(g, seen);
    }
    /* Covered by a sync that ended between the look and the lock: nothing left to do. */
    if (covered(g, dev, ino, ticket)) {
        *ret_shared = true;
        wake(g);
    } else {
        r = lead(f, g, wfd, dev, ino);
    }
    *ret_durable = r == 0;
    int u = sync_lock(fd, F_UNLCK);
    if (u < 0 && r == 0)
        r = ajio__error_strerror(u, "unlock of the sync lock of \"%s\" (the records are durable)",
                                 f->path);
    return r;
}

int ajio__group_counts(const char *lock_path, uint64_t *ret_written, uint64_t *ret_syncs)
{
    struct ajio__group g;
    int fd = open(lock_path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = pread(fd, &g, sizeof(g), 0);
    (void)close(fd); /* read-only */
    if (n != (ssize_t)sizeof(g) || memcmp(g.magic, MAGIC, sizeof(g.magic)) != 0)
        return -ENODATA;
    *ret_written = atomic_load(&g.written);
    *ret_syncs = atomic_load(&g.syncs);
    return 0;
}

/*
 * group.c - group commit for appenders: one fdatasync(2) makes the records of every appender
 * that wrote while the previous sync was in flight durable, instead of one sync each.
 *
 * Appenders take turns on the target's lock (the flock of ".NAME.ajio-lock", lock.c) only to
 * write their records, and number each append with a ticket in the lock file's append record
 * (written: tickets handed out, each once its write(2) returned; dev, ino: the file they were
 * written to; epoch: the first ticket of that file). The wait for the disk happens after they
 * let go of the flock, under a second lock, the sync lock: an OFD lock on byte 0 of the same lock
 * file, independent of the flock, per open file description like it, and released by the kernel
 * when its holder dies. Its holder, the leader, reads the append record (w tickets of file
 * dev/ino since epoch, all written before it looked), syncs the file, and writes the sync record
 * at its own offset: synced = w for that file and epoch (fdatasync makes durable all the data of
 * the file written before it, through any descriptor), and wakes the others (see struct wake).
 * They look at the sync record: covered, they are done; the sync lock free, one leads the next
 * sync; no sync ending for about two sync times (someone who holds the sync lock and never
 * syncs), they sync on their own, which is always correct.
 *
 * Tickets, not file offsets, so that a file cut back (a failed append, a repair, a truncation by
 * someone else) never makes new records look synced. The file identity and epoch, so that a log
 * that is rotated (renamed and created again) while appenders run never lets the sync of one file
 * stand for records of the other.
 *
 * The records are read and written with pread/pwrite, each with a checksum, so a file truncated
 * or scribbled on by someone else costs at most a sync, never a signal; only the futex words
 * that wake followers are mapped, and only where nobody else may open the file. Who may
 * write the records decides whether a sync may be skipped: lock.c lets only those who may write
 * the log open its lock file, and they could as well cut the log itself.
 */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Bounds of a follower's wait for someone else's sync before it syncs on its own. */
#define WAIT_MIN_NS (2 * 1000 * 1000L)
#define WAIT_MAX_NS (1000 * 1000 * 1000L)
/* Sleeps between two looks: from FIRST_NAP_NS, doubling, at most a quarter of a sync. */
#define FIRST_NAP_NS (20 * 1000L)
#define NAP_MAX_NS (1000 * 1000L)

/* The OFD lock on byte 0 of the lock file: taken without waiting, or released. */
static int sync_lock(int fd, short type)
{
    struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};

    while (fcntl(fd, F_OFD_SETLK, &l) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

/* Whether a sync that started after ticket was written has made it durable. */
static bool covered(const struct ajio__sync *s, uint64_t dev, uint64_t ino, uint64_t epoch,
                    uint64_t ticket)
{
#ifdef AJIO_TEST_GROUP_TRUST /* negative control of the power-cut suite only */
    (void)epoch;
    (void)ticket; /* wrong on purpose: any finished sync is taken to cover every ticket */
    return s->valid && s->dev == dev && s->ino == ino && s->synced > 0;
#else
    return s->valid && s->dev == dev && s->ino == ino && s->epoch == epoch &&
           ticket >= epoch && s->synced >= ticket;
#endif
}

static int sync_own(struct ajio__target *t, int wfd)
{
#ifndef AJIO_TEST_OMIT_APPEND_SYNC /* negative control of the power-cut suite only */
    if (fdatasync(wfd) < 0)
        return ajio__error_strerror(-errno, "fdatasync of \"%s\" after appending", t->path);
#else
    (void)t;
    (void)wfd;
#endif
    return 0;
}

static void nap(long ns)
{
    struct timespec ts = {0, ns};

    /* Interrupted, it only looks again sooner: no result to act on. */
    (void)nanosleep(&ts, NULL);
}

/*
 * The futex words that wake followers the moment a sync ends, in the lock file's first page at
 * WAKE_OFF (away from the records). A mapping of a file is a SIGBUS waiting to happen if anyone
 * can cut the file or leave a hole under it, so the page is mapped only where nobody but the
 * caller (and root) may open the lock file - it belongs to the caller, mode 0600 or narrower -
 * and where its first page has a block (reserved by ajio__group_reserve(), so a full disk gives
 * -ENOSPC before the append instead of a SIGBUS in it). Elsewhere followers poll, and a leader
 * that may not map wakes nobody: its followers look again within WAKE_POLL_NS.
 */
#define WAKE_OFF 2048
#define WAKE_POLL_NS (2 * 1000 * 1000L)

struct wake {
    _Atomic uint32_t done;    /* bumped at the end of every sync */
    _Atomic uint32_t waiters; /* followers asleep on done: the leader wakes them only then */
};

int ajio__group_reserve(int lockfd)
{
    struct stat st;
    int r;

    if (fstat(lockfd, &st) < 0)
        return -errno;
    if (st.st_size >= AJIO__GROUP_PAGE)
        return 0;
    r = posix_fallocate(lockfd, 0, AJIO__GROUP_PAGE); /* returns the error, errno untouched */
    if (r == ENOSPC || r == EDQUOT || r == EIO)
        return -r;
    return 0; /* no fallocate here: followers poll */
}

static struct wake *map_wake(int fd)
{
    struct stat st;
    void *p;

    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077) != 0 ||
        st.st_size < AJIO__GROUP_PAGE || (uint64_t)st.st_blocks * 512 < AJIO__GROUP_PAGE)
        return NULL;
    p = mmap(NULL, AJIO__GROUP_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : (struct wake *)((char *)p + WAKE_OFF);
}

/* The mapping of t's lock file, made on first need and kept with the handle (a log's appends). */
static struct wake *get_wake(struct ajio__target *t)
{
    if (!t->group_mapped) {
        t->group_mapped = true;
        struct wake *w = map_wake(t->lockfd);
        t->group_page = w != NULL ? (char *)w - WAKE_OFF : NULL;
    }
    return t->group_page != NULL ? (struct wake *)((char *)t->group_page + WAKE_OFF) : NULL;
}

/*
 * Sleeps until done moves from seen, or for at most ns. Woken or not, the caller looks again.
 * A read lock on WAITER_BYTE says to a leader without the mapping that someone sleeps: only then
 * does it map the page to wake them (a lone appender's one-shot append maps nothing).
 */
#define WAITER_BYTE 1

static void wait_wake(int fd, struct wake *w, uint32_t seen, long ns)
{
    struct timespec ts = {0, ns};
    struct flock l = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = WAITER_BYTE, .l_len = 1};
    /* Without the mark the sleep still ends after ns: the mark only saves that wait. */
    bool marked = fcntl(fd, F_OFD_SETLK, &l) == 0;

    atomic_fetch_add(&w->waiters, 1);
    if (atomic_load(&w->done) == seen)
        (void)syscall(SYS_futex, &w->done, FUTEX_WAIT, seen, &ts, NULL, 0);
    atomic_fetch_sub(&w->waiters, 1);
    l.l_type = F_UNLCK;
    if (marked)
        (void)fcntl(fd, F_OFD_SETLK, &l); /* an unlock of our own lock cannot fail */
}

/* Whether anyone sleeps on the page (see wait_wake()), asked without mapping it. */
static bool someone_waits(int fd)
{
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = WAITER_BYTE, .l_len = 1};

    /* Unknown (no OFD locks): assume so, and map. */
    return fcntl(fd, F_OFD_GETLK, &l) < 0 || l.l_type != F_UNLCK;
}

static void wake_all(struct wake *w)
{
    if (w == NULL)
        return;
    atomic_fetch_add(&w->done, 1);
    /* A wake of a word in our own mapping cannot fail; it returns how many woke. */
    if (atomic_load(&w->waiters) > 0)
        (void)syscall(SYS_futex, &w->done, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/*
 * The leader's part, the sync lock held: the sync, and what it covers published. A torn read of
 * the append record (an appender writing it right then) is read again; if it stays unreadable,
 * or speaks of another file, the sync covers this appender alone.
 */
static int lead(struct ajio__target *t, int wfd, uint64_t dev, uint64_t ino,
                const struct ajio__sync *last)
{
    int fd = t->lockfd;
    struct ajio__state a = {0};
    int64_t t0;
    int r = 0;

    /*
     * With others asleep on the last sync (now writing their next records), one turn of the CPU
     * for them first: each record written before this sync starts is one sync less for its
     * writer. A lone appender pays nothing.
     */
    struct wake *w = t->group_mapped ? get_wake(t) : NULL;
    if (w != NULL && atomic_load(&w->waiters) > 0)
        (void)sched_yield(); /* always succeeds on Linux */
    for (int i = 0; i < 3 && r == 0 && !a.valid; i++)
        r = ajio__state_read(fd, 0, &a);
    if (r < 0)
        return ajio__error_strerror(r, "read of the lock file of \"%s\"", t->path);
    t0 = ajio__now_ns();
    r = sync_own(t, wfd);
    if (r < 0 || !a.valid || a.dev != dev || a.ino != ino)
        return r;
    struct ajio__sync n = {.valid = true,
                           .dev = dev,
                           .ino = ino,
                           .epoch = a.epoch,
                           .synced = a.written,
                           .syncs = (last->valid ? last->syncs : 0) + 1,
                           .sync_ns = (uint64_t)(ajio__now_ns() - t0)};
    /* Durable already: a record that cannot be written only costs the others a sync each. */
    (void)ajio__sync_write(fd, &n);
    return 0;
}

int ajio__group_sync(struct ajio__target *t, int wfd, uint64_t dev, uint64_t ino, uint64_t epoch,
                     uint64_t ticket, bool *ret_shared, bool *ret_durable)
{
    int fd = t->lockfd;
    int64_t start = ajio__now_ns(), limit = 0;
    long delay = FIRST_NAP_NS, nap_max = NAP_MAX_NS;
    struct wake *w = t->group_mapped ? get_wake(t) : NULL;
    uint64_t last_syncs = 0;
    struct ajio__sync s;
    int r;

    *ret_shared = false;
    *ret_durable = false;
    for (;;) {
        /* done before the look: a sync that ends after the look is never slept through. */
        uint32_t seen = w != NULL ? atomic_load(&w->done) : 0;

        r = sync_lock(fd, F_WRLCK);
        if (r == 0)
            break;
        if (r != -EAGAIN && r != -EACCES) {
            /* No OFD locks here: a sync of its own, which needs no lock to be correct. */
            r = sync_own(t, wfd);
            *ret_durable = r == 0;
            return r;
        }
        r = ajio__sync_read(fd, &s);
        if (r < 0)
            return ajio__error_strerror(r, "read of the lock file of \"%s\"", t->path);
        if (covered(&s, dev, ino, epoch, ticket)) {
            *ret_shared = *ret_durable = true;
            return 0;
        }
        if (limit == 0) {
            /* The last sync's time says how long a turn may take; a forged one only this. */
            int64_t ns =
                s.valid ? 2 * (int64_t)(s.sync_ns > WAIT_MAX_NS ? WAIT_MAX_NS : s.sync_ns) : 0;
            limit = ns < WAIT_MIN_NS ? WAIT_MIN_NS : ns > WAIT_MAX_NS ? WAIT_MAX_NS : ns;
            if (s.valid && (long)(s.sync_ns / 4) < nap_max)
                nap_max = s.sync_ns / 4 > FIRST_NAP_NS ? (long)(s.sync_ns / 4) : FIRST_NAP_NS;
            last_syncs = s.valid ? s.syncs : 0;
        } else if (s.valid && s.syncs != last_syncs) {
            /* A sync ended since the last look: the others make progress. */
            last_syncs = s.syncs;
            start = ajio__now_ns();
        }
        if (ajio__now_ns() - start > limit) {
            /* No sync ended in time (a holder of the sync lock that does not sync). */
            r = sync_own(t, wfd);
            *ret_durable = r == 0;
            return r;
        }
        if (!t->group_mapped) {
            w = get_wake(t);
            continue; /* seen is read again before the next look */
        }
        if (w != NULL) {
            wait_wake(fd, w, seen, WAKE_POLL_NS);
        } else {
            nap(delay);
            if (delay < nap_max)
                delay = delay * 2 < nap_max ? delay * 2 : nap_max;
        }
    }
    /* Covered by a sync that ended before the lock was free: nothing left to do. */
    r = ajio__sync_read(fd, &s);
    if (r < 0)
        r = ajio__error_strerror(r, "read of the lock file of \"%s\"", t->path);
    else if (covered(&s, dev, ino, epoch, ticket))
        *ret_shared = true;
    else
        r = lead(t, wfd, dev, ino, &s);
    *ret_durable = r == 0;
    /* Woken after a failed sync too: each follower then leads a sync of its own. */
    if (t->group_mapped || someone_waits(fd))
        wake_all(get_wake(t));
    int u = sync_lock(fd, F_UNLCK);
    if (u < 0 && r == 0)
        r = ajio__error_strerror(u, "unlock of the sync lock of \"%s\" (the records are durable)",
                                 t->path);
    return r;
}

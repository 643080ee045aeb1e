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
 * the file written before it, through any descriptor). The others look at the sync record
 * between short sleeps: covered, they are done; the sync lock free, they lead the next sync; no
 * turn after about two sync times (a leader that hangs, or someone who holds the lock and never
 * syncs), they sync on their own, which is always correct.
 *
 * Tickets, not file offsets, so that a file cut back (a failed append, a repair, a truncation by
 * someone else) never makes new records look synced. The file identity and epoch, so that a log
 * that is rotated (renamed and created again) while appenders run never lets the sync of one file
 * stand for records of the other.
 *
 * Nothing is mapped: the records are read and written with pread/pwrite, each with a checksum, so
 * a file truncated or scribbled on by someone else costs at most a sync, never a signal. Who may
 * write the records decides whether a sync may be skipped: lock.c lets only those who may write
 * the log open its lock file, and they could as well cut the log itself.
 */
#include "internal.h"

#include <fcntl.h>
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

static int sync_own(struct ajio_file *f, int wfd)
{
#ifndef AJIO_TEST_OMIT_APPEND_SYNC /* negative control of the power-cut suite only */
    if (fdatasync(wfd) < 0)
        return ajio__error_strerror(-errno, "fdatasync of \"%s\" after appending", f->path);
#else
    (void)f;
    (void)wfd;
#endif
    return 0;
}

/*
 * The leader's part, the sync lock held: the sync, and what it covers published. A torn read of
 * the append record (an appender writing it right then) is read again; if it stays unreadable,
 * or speaks of another file, the sync covers this appender alone.
 */
static int lead(struct ajio_file *f, int wfd, uint64_t dev, uint64_t ino)
{
    int fd = f->target_lockfd;
    struct ajio__state a = {0};
    struct ajio__sync s;
    int64_t t0;
    int r = 0;

    for (int i = 0; i < 3 && r == 0 && !a.valid; i++)
        r = ajio__state_read(fd, 0, &a);
    if (r == 0)
        r = ajio__sync_read(fd, &s);
    if (r < 0)
        return ajio__error_strerror(r, "read of the lock file of \"%s\"", f->path);
    t0 = ajio__now_ns();
    r = sync_own(f, wfd);
    if (r < 0 || !a.valid || a.dev != dev || a.ino != ino)
        return r;
    struct ajio__sync n = {.valid = true,
                           .dev = dev,
                           .ino = ino,
                           .epoch = a.epoch,
                           .synced = a.written,
                           .syncs = (s.valid ? s.syncs : 0) + 1,
                           .sync_ns = (uint64_t)(ajio__now_ns() - t0)};
    /* Durable already: a record that cannot be written only costs the others a sync each. */
    (void)ajio__sync_write(fd, &n);
    return 0;
}

static void nap(long ns)
{
    struct timespec ts = {0, ns};

    /* Interrupted, it only looks again sooner: no result to act on. */
    (void)nanosleep(&ts, NULL);
}

int ajio__group_sync(struct ajio_file *f, int wfd, uint64_t dev, uint64_t ino, uint64_t epoch,
                     uint64_t ticket, bool *ret_shared, bool *ret_durable)
{
    int fd = f->target_lockfd;
    int64_t start = ajio__now_ns(), limit = 0;
    long delay = FIRST_NAP_NS, nap_max = NAP_MAX_NS;
    struct ajio__sync s;
    int r;

    *ret_shared = false;
    *ret_durable = false;
    for (;;) {
        r = ajio__sync_read(fd, &s);
        if (r < 0)
            return ajio__error_strerror(r, "read of the lock file of \"%s\"", f->path);
        if (covered(&s, dev, ino, epoch, ticket)) {
            *ret_shared = *ret_durable = true;
            return 0;
        }
        if (limit == 0) {
            /* The last sync's time says how long a turn may take; a forged one only this. */
            int64_t t = s.valid ? 2 * (int64_t)(s.sync_ns > WAIT_MAX_NS ? WAIT_MAX_NS : s.sync_ns)
                                : 0;
            limit = t < WAIT_MIN_NS ? WAIT_MIN_NS : t > WAIT_MAX_NS ? WAIT_MAX_NS : t;
            if (s.valid && (long)(s.sync_ns / 4) < nap_max)
                nap_max = s.sync_ns / 4 > FIRST_NAP_NS ? (long)(s.sync_ns / 4) : FIRST_NAP_NS;
        }
        r = sync_lock(fd, F_WRLCK);
        if (r == 0)
            break;
        if ((r != -EAGAIN && r != -EACCES) || ajio__now_ns() - start > limit) {
            /* No OFD locks here, or no turn in time: a sync of its own is always correct. */
            r = sync_own(f, wfd);
            *ret_durable = r == 0;
            return r;
        }
        nap(delay);
        if (delay < nap_max)
            delay = delay * 2 < nap_max ? delay * 2 : nap_max;
    }
    /* Covered by a sync that ended between the look and the lock: nothing left to do. */
    r = ajio__sync_read(fd, &s);
    if (r < 0)
        r = ajio__error_strerror(r, "read of the lock file of \"%s\"", f->path);
    else if (covered(&s, dev, ino, epoch, ticket))
        *ret_shared = true;
    else
        r = lead(f, wfd, dev, ino);
    *ret_durable = r == 0;
    int u = sync_lock(fd, F_UNLCK);
    if (u < 0 && r == 0)
        r = ajio__error_strerror(u, "unlock of the sync lock of \"%s\" (the records are durable)",
                                 f->path);
    return r;
}

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
 *
 * An appender takes a ticket under the flock once its write has returned, lets the flock go, and
 * takes the sync lock. If by then synced >= its ticket (and the page still describes its file),
 * a sync that started after its write returned has finished: it is done without a sync of its
 * own. Otherwise it reads written (w), syncs the file, and publishes synced = w: every ticket up
 * to w was written before its fdatasync started, and fdatasync makes durable all the data of the
 * file written before it, through any descriptor.
 *
 * Tickets, not file offsets, so that a file cut back (a failed append, a repair, a truncation by
 * someone else) never makes new records look synced. The file identity and epoch, so that a log
 * that is rotated (renamed and created again) while appenders run never lets the sync of one file
 * stand for records of the other: a switch of file starts a new epoch, and only tickets of the
 * current epoch and file can be covered by a sync of that file.
 *
 * Who may share the page decides whether a sync may be skipped, so group commit is used only
 * when the lock file belongs to the caller or to the owner of the log and is not writable by
 * others; anywhere else each append syncs on its own, holding the flock, as without group commit.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAGIC "ajio-gc1"

struct ajio__group {
    char magic[8];
    _Atomic uint64_t written;
    _Atomic uint64_t synced;
    _Atomic uint64_t dev;
    _Atomic uint64_t ino;
    _Atomic uint64_t epoch;
    _Atomic uint64_t syncs; /* fdatasyncs done for tickets: for tests and benchmarks */
};

/* The mapping is one page; the file only needs to cover the struct for the page to be backed. */
#define MAP_LEN 4096

int ajio__group_map(struct ajio_file *f, const struct stat *log, struct ajio__group **ret)
{
    struct stat st;
    struct ajio__group *g;
    int fd = f->target_lockfd;

    *ret = NULL;
    if (fd < 0 || (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDWR)
        return 0;
    if (fstat(fd, &st) < 0)
        return ajio__error_strerror(-errno, "fstat of the lock file of \"%s\"", f->path);
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

static int sync_lock(int fd, short type)
{
    struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};

    while (fcntl(fd, F_OFD_SETLKW, &l) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

int ajio__group_sync(struct ajio_file *f, struct ajio__group *g, int wfd, dev_t dev, ino_t ino,
                     uint64_t ticket, bool *ret_shared, bool *ret_durable)
{
    uint64_t w;
    int r = sync_lock(f->target_lockfd, F_WRLCK);

    *ret_shared = false;
    *ret_durable = false;
    if (r < 0) {
        /* No OFD locks here: a sync of its own, which needs no lock to be correct. */
        if (fdatasync(wfd) < 0)
            return ajio__error_strerror(-errno, "fdatasync of \"%s\" after appending", f->path);
        *ret_durable = true;
        return 0;
    }
    /* Read the file's identity around the epoch: a switch in between is seen as one. */
    if (is_current(g, dev, ino) && ticket >= atomic_load(&g->epoch) &&
        atomic_load(&g->synced) >= ticket && is_current(g, dev, ino)) {
        *ret_shared = true;
    } else {
        w = atomic_load(&g->written);
        bool mine = is_current(g, dev, ino);
#ifndef AJIO_TEST_OMIT_APPEND_SYNC /* negative control of the power-cut suite only */
        if (fdatasync(wfd) < 0)
            r = ajio__error_strerror(-errno, "fdatasync of \"%s\" after appending", f->path);
#endif
        /* Tickets up to w of this file's epoch were written before the sync began. */
        if (r == 0)
            atomic_fetch_add(&g->syncs, 1);
        if (r == 0 && mine && is_current(g, dev, ino) && w > atomic_load(&g->synced))
            atomic_store(&g->synced, w);
    }
    *ret_durable = r == 0;
    int u = sync_lock(f->target_lockfd, F_UNLCK);
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

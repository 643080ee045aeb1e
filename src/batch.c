/*
 * batch.c - many files replaced with their syncs amortised: ajio_batch_*.
 *
 * A one-shot durable write pays two waits for the disk: fdatasync of the temp, then fsync of the
 * directory after the rename. For N files a batch pays about one of each per directory:
 *
 *   1. every temp is written and given its permissions; a temp that step 2 syncs on its own
 *      has its writeback started (sync_file_range(SYNC_FILE_RANGE_WRITE)), so that the disk
 *      works on all of them at once (a syncfs starts the writeback of all itself);
 *   2. every temp is made durable: where two or more of the round are on one local filesystem,
 *      by one syncfs(2) of it, which writes them all back, commits the journal once and sends
 *      the disk one cache flush; else (or with AJIO_SYNC_EACH, or where syncfs reports no
 *      error: Linux < 5.17) by an fdatasync of each, of which the first waits for the
 *      journal commit that carries all of them and each costs a cache flush. A syncfs that
 *      fails may have failed for another program's file: each temp's own fdatasync then tells
 *      which of ours did (its writeback error is reported to every descriptor open before it);
 *   3. every temp is renamed over its target (data on disk before any name points to it, as in
 *      a one-shot write: promise 2 per file);
 *   4. each directory is fsync'ed once, at the very end.
 *
 * Files go through steps 1-3 in rounds of at most ROUND files, and the directories that got new
 * names stay open for step 4, so a batch of any size must hold a bounded number of descriptors:
 * three per file in its round (directory, temp, temp lock), and one per directory kept (two when
 * it is synced through syncfs). Both are sized from what RLIMIT_NOFILE leaves free when the
 * commit starts (fd_budget()); when the directories kept would not leave room for the next
 * round, step 4 runs for them early, and a directory that gets more names later is synced again
 * at the end. Every file is atomic on its own, and a failure of one does not stop the others: the
 * batch is not all-or-nothing across files, and the result of each is kept for
 * ajio_batch_result().
 */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

/* Flags a batch accepts: those of a write, but for the lock (many locks held at once can deadlock). */
#define BATCH_FLAGS                                                                                \
    (AJIO__ALL_FLAGS & ~(AJIO_LOCK | AJIO_NO_REPAIR | AJIO_LOCK_TIMEOUT | AJIO_INTERRUPTIBLE))

/* Most files in flight in one round. */
#define ROUND 128

struct entry {
    char *path;    /* path, then the data, in one allocation */
    char *data;
    size_t len;
    int result;    /* 0, AJIO_UNCHANGED, AJIO_ENOTDURABLE or a negative error */
    char *message; /* its ajio_last_error() when not 0 */
    struct ajio_file *f;
    size_t dir;    /* index in dirs[] once renamed and its directory kept; else SIZE_MAX */
    bool synced;   /* step 2 done for it in its round */
};

/* A directory that got new names: synced once at the end. */
struct dir {
    dev_t dev;
    ino_t ino;
    int fd;
    bool opath;
    int anyfd; /* for syncfs(2) when fd is O_PATH: a file on the same filesystem */
    int result;
};

struct ajio_batch {
    ajio_opts opts;
    struct entry *v;
    size_t n, cap;
    struct dir *dirs;
    size_t ndirs, dirs_cap;
    size_t kept_fds; /* descriptors dirs[] holds: one per directory, two with syncfs */
    size_t synced;   /* files [0, synced) have had their directory's sync (step 4) */
    bool committed;
    bool sync_each; /* AJIO_SYNC_EACH, which the files' own opts do not carry */
    /*
     * The handles of a round, one per file in it, allocated once per commit: a handle holds two
     * PATH_MAX buffers, and allocating and freeing them round after round had malloc hand
     * their pages back and the kernel fault them in again, two per file (a batch on tmpfs took
     * twice the time of one-shot writes). NULL: one handle each, as one-shot writes.
     */
    struct ajio_file *handles;
    size_t round_from; /* the first file of the round, whose handle is handles[0] */
};

int ajio_batch_new(ajio_batch **ret, const ajio_opts *opts)
{
    struct ajio_batch *b;
    ajio_opts o = {0};
    int r;

    if (ret == NULL)
        return ajio__error(-EINVAL, "ajio_batch_new: ret is NULL");
    if (opts != NULL)
        o = *opts;
    o.flags &= ~(unsigned)AJIO_SYNC_EACH;
    r = ajio__check_args("(batch)", &o);
    if (r < 0)
        return r;
    if (o.flags & ~(unsigned)BATCH_FLAGS)
        return ajio__error(-EINVAL,
                           "batch: option flags 0x%x are not for batches (AJIO_LOCK: a batch "
                           "would hold many locks at once)",
                           o.flags & ~(unsigned)BATCH_FLAGS);
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return ajio__error_strerror(-ENOMEM, "batch");
    b->opts = o;
    b->sync_each = opts != NULL && (opts->flags & AJIO_SYNC_EACH);
    *ret = b;
    return 0;
}

int ajio_batch_add(ajio_batch *b, const char *path, const void *data, size_t len)
{
    struct entry *e;
    size_t plen;

    if (b == NULL)
        return ajio__error(-EINVAL, "ajio_batch_add: the batch is NULL");
    if (path == NULL || path[0] == '\0')
        return ajio__error(-EINVAL, "batch: path is %s", path == NULL ? "NULL" : "empty");
    if (data == NULL && len > 0)
        return ajio__error(-EINVAL, "batch: data is NULL with length %zu for \"%s\"", len, path);
    if (b->committed)
        return ajio__error(-EINVAL, "batch: \"%s\" added after the commit", path);
    plen = strlen(path);
    if (plen >= PATH_MAX)
        return ajio__error(-ENAMETOOLONG, "batch: path of %zu bytes is over PATH_MAX (%d)", plen,
                           PATH_MAX);
    /* Invalid content is refused now, while the caller can still leave it out. */
    struct iovec one = {(void *)data, len}, *iov = &one;
    int iovcnt = 1, r = ajio__check_content(path, b->opts.flags, &iov, &iovcnt, NULL);

    if (r < 0)
        return r;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct entry *v = realloc(b->v, cap * sizeof(*v));
        if (v == NULL)
            return ajio__error_strerror(-ENOMEM, "batch: adding \"%s\"", path);
        b->v = v;
        b->cap = cap;
    }
    e = &b->v[b->n];
    memset(e, 0, sizeof(*e));
    e->path = malloc(plen + 1 + len);
    if (e->path == NULL)
        return ajio__error_strerror(-ENOMEM, "batch: adding \"%s\" (%zu bytes)", path, len);
    memcpy(e->path, path, plen + 1);
    e->data = e->path + plen + 1;
    if (len > 0)
        memcpy(e->data, data, len);
    e->len = len;
    e->dir = SIZE_MAX;
    b->n++;
    return 0;
}

/* The file failed with r (its message set): kept for ajio_batch_result(), its temp discarded. */
static int failed(struct entry *e, int r)
{
    e->result = r;
    free(e->message);
    e->message = strdup(ajio_last_error());
    if (e->f != NULL) {
        ajio__discard(e->f);
        e->f = NULL;
    }
    return r;
}

/* Step 1 for one file, first half: the path resolved (directories created), nothing written. */
static int resolve(struct ajio_batch *b, struct entry *e)
{
    int r;

    if (b->handles != NULL) {
        e->f = &b->handles[e - &b->v[b->round_from]];
        ajio__file_init(e->f);
    } else {
        e->f = ajio__new_handle(e->path);
        if (e->f == NULL)
            return failed(e, -ENOMEM);
    }
    r = ajio__start(e->f, e->path, &b->opts, -1);
    return r < 0 ? failed(e, r) : 0;
}

/*
 * Whether e, resolved, has the target of a file of this round resolved before it and not yet
 * renamed: the same name in the same directory, however the two paths spell it (a/./f, a//f, a
 * symlink to a or at the name).
 */
static bool pending_same_target(const struct ajio_batch *b, size_t from, const struct entry *e)
{
    for (const struct entry *o = &b->v[from]; o < e; o++)
        if (o->f != NULL && o->f->target.dir_dev == e->f->target.dir_dev &&
            o->f->target.dir_ino == e->f->target.dir_ino &&
            strcmp(o->f->target.name, e->f->target.name) == 0)
            return true;
    return false;
}

/* Whether e's temp is synced by a syncfs of its filesystem (when another of its round is on it). */
static bool by_fs(const struct ajio_batch *b, struct entry *e)
{
    return ajio__sync_by_fs(b->sync_each, ajio__target_shared(&e->f->target) == 0);
}

/*
 * Step 1 for one file, second half: written, permissions set, and where each file gets its own
 * fdatasync, writeback started. Before a syncfs that is one call per file for nothing, which
 * cost a batch of small files about 40% more system time: syncfs starts every writeback itself.
 */
static int prepare(struct ajio_batch *b, struct entry *e)
{
    struct iovec one = {e->data, e->len}, storage[4], *iov = &one;
    int iovcnt = 1, r;

    /* Validated by ajio_batch_add(); the '\n' a file of JSON ends with is added here. */
    ajio__content_terminate(b->opts.flags, &iov, &iovcnt, storage);
    r = ajio__write_resolved(e->f, iov, iovcnt);
    if (r == AJIO_UNCHANGED) {
        e->result = r;
        ajio__discard(e->f);
        e->f = NULL;
        return r;
    }
    if (e->f->old.cmpfd >= 0) {
        /* Compared and found changed: the old file is not needed again; one fd less held. */
        (void)close(e->f->old.cmpfd); /* opened read-only: nothing for close to report */
        e->f->old.cmpfd = -1;
    }
    if (r == 0) {
        /* Permissions and attributes now; the data sync is step 2, for all files together. */
        unsigned flags = e->f->target.flags;
        e->f->target.flags |= AJIO_NO_SYNC;
        r = ajio__stage(e->f);
        e->f->target.flags = flags;
    }
    if (r == 0 && !(b->opts.flags & AJIO_NO_SYNC) && !by_fs(b, e) &&
        sync_file_range(e->f->temp.fd, 0, 0, SYNC_FILE_RANGE_WRITE) < 0 && errno != ESPIPE)
        r = ajio__error_strerror(-errno, "sync_file_range of temp for \"%s\"", e->path);
    return r < 0 ? failed(e, r) : 0;
}

/* Step 2 for one file: its data on disk before any name points to it, as a one-shot write's. */
static int sync_data(struct entry *e)
{
    e->synced = true;
#ifndef AJIO_TEST_OMIT_FILE_SYNC /* negative control of the power-cut suite only */
    if (fdatasync(e->f->temp.fd) < 0)
        return failed(e, ajio__error_strerror(-errno, "fdatasync of temp for \"%s\"", e->path));
#endif
    return 0;
}

/*
 * Step 2 for files [from, to): one syncfs per local filesystem that two or more of them share
 * (see the top of this file), an fdatasync for the others. The descriptor syncfs is called on
 * is the temp of the first of them, opened before any of the others was written, so that a
 * writeback error of any of them is one it reports.
 */
static void sync_round(struct ajio_batch *b, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        b->v[i].synced = false;
    for (size_t i = from; i < to; i++) {
        struct entry *e = &b->v[i];
        size_t same = 0;

        if (e->f == NULL || e->synced)
            continue;
        if (by_fs(b, e))
            for (size_t k = i + 1; k < to && same == 0; k++)
                same = b->v[k].f != NULL && b->v[k].f->target.dir_dev == e->f->target.dir_dev;
        if (!same) {
            (void)sync_data(e);
            continue;
        }
        bool all = true;
#ifndef AJIO_TEST_OMIT_FILE_SYNC /* negative control of the power-cut suite only */
        all = syncfs(e->f->temp.fd) == 0;
#endif
        for (size_t k = i; k < to; k++) {
            struct entry *o = &b->v[k];

            if (o->f == NULL || o->f->target.dir_dev != e->f->target.dir_dev)
                continue;
            if (all)
                o->synced = true;
            else
                (void)sync_data(o);
        }
    }
}

/*
 * The directory of f in b->dirs, added when new: kept open for step 4 with the file's own fd of
 * it, which the handle gives up, so that keeping it costs no descriptor more than the round had.
 */
static int note_dir(struct ajio_batch *b, struct entry *e)
{
    struct ajio_file *f = e->f;

    for (size_t i = 0; i < b->ndirs; i++)
        if (b->dirs[i].dev == f->target.dir_dev && b->dirs[i].ino == f->target.dir_ino) {
            e->dir = i;
            return 0;
        }
    if (b->ndirs == b->dirs_cap) {
        size_t cap = b->dirs_cap ? b->dirs_cap * 2 : 8;
        struct dir *v = realloc(b->dirs, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        b->dirs = v;
        b->dirs_cap = cap;
    }
    struct dir *d = &b->dirs[b->ndirs];
    d->anyfd = -1;
    if (f->target.dir_opath) {
        /* syncfs(2) needs a file of that filesystem open: a second fd of the directory is not. */
        d->anyfd = fcntl(f->temp.lockfd >= 0 ? f->temp.lockfd : f->temp.fd, F_DUPFD_CLOEXEC, 0);
        if (d->anyfd < 0)
            return -errno;
        b->kept_fds++;
    }
    d->fd = f->target.dirfd;
    f->target.dirfd = -1;
    b->kept_fds++;
    d->dev = f->target.dir_dev;
    d->ino = f->target.dir_ino;
    d->opath = f->target.dir_opath;
    d->result = 0;
    e->dir = b->ndirs++;
    return 0;
}

/* Step 3: the rename; the handle is done with afterwards. */
static int publish(struct ajio_batch *b, struct entry *e)
{
    int r = ajio__publish(e->f);

    if (r < 0)
        return failed(e, r);
    if (!(b->opts.flags & AJIO_NO_SYNC)) {
        r = note_dir(b, e);
        if (r < 0) {
            /* Renamed, but its directory cannot be kept for the sync: sync it now instead. */
            r = ajio__sync_dir(e->f);
            if (r < 0)
                return failed(e, r);
            e->dir = SIZE_MAX;
        }
    }
    if (e->f->temp.fd >= 0) {
        /* The published O_TMPFILE (see ajio__publish()). */
        int c = close(e->f->temp.fd);
        e->f->temp.fd = -1;
        if (c < 0) {
            (void)ajio__error_strerror(-errno,
                                       "close of temp after replacing \"%s\" (the file was "
                                       "replaced; durability not confirmed)",
                                       e->path);
            return failed(e, AJIO_ENOTDURABLE);
        }
    }
    ajio__discard(e->f);
    e->f = NULL;
    e->result = 0;
    return 0;
}

/*
 * Files [from, to), or fewer: steps 1 to 3. A file whose target a file before it in the round
 * also writes ends the round before it, so that it is compared (AJIO_SKIP_UNCHANGED), created
 * (AJIO_CREATE_ONLY) and renamed after the earlier one is in place: a batch writes the same
 * target twice in order, as two one-shot writes would. @return where the next round starts.
 */
static size_t round_of(struct ajio_batch *b, size_t from, size_t to)
{
    b->round_from = from;
    for (size_t i = from; i < to; i++) {
        struct entry *e = &b->v[i];

        if (resolve(b, e) < 0)
            continue;
        if (pending_same_target(b, from, e)) {
            ajio__discard(e->f); /* resolved only: nothing to undo; resolved again next round */
            e->f = NULL;
            to = i;
            break;
        }
        (void)prepare(b, e);
    }
    if (!(b->opts.flags & AJIO_NO_SYNC))
        sync_round(b, from, to);
    for (size_t i = from; i < to; i++)
        if (b->v[i].f != NULL)
            (void)publish(b, &b->v[i]);
    return to;
}

/*
 * Step 4 for the directories kept so far: each synced once and closed. The files renamed into
 * them, all among files [b->synced, upto), learn the result.
 */
static void sync_dirs(struct ajio_batch *b, size_t upto)
{
    for (size_t k = 0; k < b->ndirs; k++) {
        struct dir *d = &b->dirs[k];
#ifndef AJIO_TEST_OMIT_DIR_SYNC /* negative control of the power-cut suite only */
        d->result = ajio__sync_dir_fd(d->fd, d->opath, d->anyfd);
#endif
        (void)close(d->fd); /* synced (or failed) above: close has nothing more to say */
        if (d->anyfd >= 0)
            (void)close(d->anyfd);
    }
    for (size_t i = b->synced; i < upto; i++) {
        struct entry *e = &b->v[i];

        if (e->dir == SIZE_MAX)
            continue;
        if (e->result == 0 && b->dirs[e->dir].result < 0) {
            (void)ajio__error_strerror(b->dirs[e->dir].result,
                                       "fsync of the directory of \"%s\" after replacing it "
                                       "(the file was replaced; durability not confirmed)",
                                       e->path);
            (void)failed(e, AJIO_ENOTDURABLE);
        }
        e->dir = SIZE_MAX;
    }
    b->ndirs = 0;
    b->kept_fds = 0;
    b->synced = upto;
}

/* Descriptors open in this process now: /proc/self/fd, else the lowest 4096 fds probed. */
static size_t fds_in_use(void)
{
    DIR *d = opendir("/proc/self/fd");
    size_t n = 0;

    if (d != NULL) {
        while (readdir(d) != NULL)
            n++;
        (void)closedir(d); /* a directory read: nothing for close to report */
        return n > 3 ? n - 3 : 0; /* ".", ".." and d's own */
    }
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

/*
 * What a commit may hold at once: RLIMIT_NOFILE's soft limit less the descriptors in use, less a
 * margin for the caller's other threads and for the few a file's resolution opens for a moment
 * (a path walk, a new directory's parent). A round of *ret_step files holds three each and may
 * keep up to two per file for step 4; rounds get an eighth of the room, so half of it is left
 * for directories kept across rounds before step 4 has to run early.
 */
static size_t fd_budget(size_t *ret_step)
{
    struct rlimit rl;
    size_t used, room, margin;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > SIZE_MAX / 2) {
        *ret_step = ROUND;
        return SIZE_MAX / 2;
    }
    used = fds_in_use();
    room = rl.rlim_cur > used ? (size_t)rl.rlim_cur - used : 0;
    margin = 16 + room / 16;
    room = room > margin ? room - margin : 0;
    *ret_step = room / 8 < 1 ? 1 : room / 8 > ROUND ? ROUND : room / 8;
    /* Too little room even for one file: go on one at a time, and EMFILE tells what failed. */
    return room < 4 * *ret_step ? 4 * *ret_step : room;
}

int ajio_batch_commit(ajio_batch *b)
{
    size_t step, room, failures = 0, first = SIZE_MAX;

    if (b == NULL)
        return ajio__error(-EINVAL, "ajio_batch_commit: the batch is NULL");
    if (b->committed)
        return ajio__error(-EINVAL, "batch: committed already");
    b->committed = true;
    room = fd_budget(&step);
    b->handles = malloc((b->n < step ? b->n : step) * sizeof(*b->handles));
    for (size_t i = 0; i < b->n;) {
        /* Room for the round's own files and for the directories it may keep. */
        if (b->kept_fds + 4 * step > room)
            sync_dirs(b, i);
        i = round_of(b, i, b->n - i < step ? b->n : i + step);
    }
    /* Every handle of the last round was discarded by it (published, failed or unchanged). */
    free(b->handles);
    b->handles = NULL;
    sync_dirs(b, b->n);
    for (size_t i = 0; i < b->n; i++) {
        struct entry *e = &b->v[i];

        if (e->result < 0 || e->result == AJIO_ENOTDURABLE) {
            failures++;
            if (first == SIZE_MAX)
                first = i;
        }
    }
    if (first == SIZE_MAX)
        return 0;
    return ajio__error(b->v[first].result, "batch of %zu files: %zu not written durably; first: %s",
                       b->n, failures, b->v[first].message);
}

size_t ajio_batch_count(const ajio_batch *b)
{
    return b != NULL ? b->n : 0;
}

int ajio_batch_result(const ajio_batch *b, size_t i, const char **ret_path,
                      const char **ret_message)
{
    if (b == NULL || i >= b->n)
        return ajio__error(-EINVAL, "ajio_batch_result: %s",
                           b == NULL ? "the batch is NULL" : "no such file in the batch");
    if (ret_path != NULL)
        *ret_path = b->v[i].path;
    if (ret_message != NULL)
        *ret_message = b->v[i].message != NULL ? b->v[i].message : "";
    if (!b->committed)
        return ajio__error(-EINVAL, "ajio_batch_result: the batch is not committed");
    return b->v[i].result;
}

void ajio_batch_free(ajio_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++) {
        if (b->v[i].f != NULL)
            ajio__discard(b->v[i].f);
        free(b->v[i].path);
        free(b->v[i].message);
    }
    free(b->v);
    free(b->dirs);
    free(b);
}

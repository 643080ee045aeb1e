/*
 * update.c - the target's lock (AJIO_LOCK) and the locked read-modify-write, ajio_update().
 *
 * The lock is an flock(2) on a lock file ".NAME.ajio-lock" next to the (resolved) target, never
 * on the target itself: every replace gives the name a new inode, so a lock on the target would
 * be held on a file the name no longer holds, and the next writer would lock another inode. The
 * lock file's inode never changes because the file is never replaced nor removed; removing it
 * while a writer holds it would let the next writer lock a new inode beside the old one.
 *
 * flock rather than fcntl locks: a flock belongs to the open file description, so each call's
 * own open() makes threads of one process exclude each other, and no close() of another fd on
 * the same file in the process drops it, as it would drop an fcntl lock. The kernel releases it
 * when its holder dies, so a killed writer never leaves the target locked.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* Longest sleep between two tries of a lock with a timeout: how late a waiter may notice. */
#define LOCK_POLL_MAX_NS (20 * 1000 * 1000L)

/*
 * Opens (creating it if needed) the lock file. flock needs no write access, so a lock file that
 * may not be opened for writing (another user's, 0666 minus a strict umask) is opened read-only.
 * O_NONBLOCK: a FIFO planted under the name must not hang the open; only a regular file is used.
 */
static int open_lock_file(struct ajio_file *f, const char *name)
{
    const int flags = O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    struct stat st;
    int fd, err;

    f->lock_rw = true;
    fd = openat(f->dirfd, name, O_RDWR | O_CREAT | flags, 0666);
    if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS)) {
        err = errno;
        f->lock_rw = false;
        fd = openat(f->dirfd, name, O_RDONLY | flags);
        if (fd < 0 && errno == ENOENT)
            errno = err; /* it does not exist and cannot be created: the first reason counts */
    }
    if (fd < 0)
        return ajio__error_strerror(-errno, "open of lock file \"%.*s/%s\" for \"%s\"",
                                    AJIO__DIR_ARG(f), name, f->path);
    if (fstat(fd, &st) < 0) {
        err = ajio__error_strerror(-errno, "fstat of lock file \"%.*s/%s\" for \"%s\"",
                                   AJIO__DIR_ARG(f), name, f->path);
        (void)close(fd);
        return err;
    }
    f->lock_st = st; /* whether appenders may share its page (group.c) */
    if (!S_ISREG(st.st_mode)) {
        (void)close(fd); /* read-only or never written: nothing for close to report */
        return ajio__error(-EINVAL, "lock file \"%.*s/%s\" for \"%s\" is not a regular file",
                           AJIO__DIR_ARG(f), name, f->path);
    }
    return fd;
}

static int64_t now_ns(void)
{
    struct timespec ts;

    /* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer; a clock step must not
     * shorten or stretch a timeout. */
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Takes the flock on fd: blocking when timeout_ms < 0; one try when 0; else tries until the
 * deadline with a sleep that doubles from 1 ms to LOCK_POLL_MAX_NS. The kernel has no flock with
 * a timeout, and a signal-based one would touch the caller's signal handlers, which a library
 * must not; polling costs a few wakeups and serves waiters in no particular order.
 * @return 0, -EWOULDBLOCK, -ETIMEDOUT or -errno of flock(2).
 */
static int take_flock(int fd, int timeout_ms, int64_t deadline)
{
    long delay = 1000 * 1000;

    if (timeout_ms < 0) {
        while (flock(fd, LOCK_EX) < 0)
            if (errno != EINTR)
                return -errno;
        return 0;
    }
    for (;;) {
        struct timespec ts;
        int64_t left;

        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK)
            return -errno;
        if (timeout_ms == 0)
            return -EWOULDBLOCK;
        left = deadline - now_ns();
        if (left <= 0)
            return -ETIMEDOUT;
        if (left > delay)
            left = delay;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left;
        /* An interrupted sleep only means an earlier try: its result needs no check. */
        (void)nanosleep(&ts, NULL);
        if (delay < LOCK_POLL_MAX_NS)
            delay = delay * 2 < LOCK_POLL_MAX_NS ? delay * 2 : LOCK_POLL_MAX_NS;
    }
}

/* Locks the lock file of f->name in f->dirfd into f->target_lockfd. */
static int lock_target(struct ajio_file *f, const char *name, int timeout_ms, int64_t deadline)
{
    int fd = open_lock_file(f, name);
    int r;

    if (fd < 0)
        return fd;
    r = take_flock(fd, timeout_ms, deadline);
    if (r == 0) {
        f->target_lockfd = fd;
        return 0;
    }
    (void)close(fd); /* unlocked and never written: nothing for close to report */
    if (r == -EWOULDBLOCK)
        return ajio__error(r, "lock of \"%s\" is held by another writer (lock file \"%.*s/%s\")",
                           f->path, AJIO__DIR_ARG(f), name);
    if (r == -ETIMEDOUT)
        return ajio__error(r, "lock of \"%s\" not free after %d ms (lock file \"%.*s/%s\")",
                           f->path, timeout_ms, AJIO__DIR_ARG(f), name);
    return ajio__error_strerror(r, "flock of lock file \"%.*s/%s\" for \"%s\"", AJIO__DIR_ARG(f),
                                name, f->path);
}

/*
 * Forgets a resolution, keeping what the caller set and the lock, for a fresh ajio__resolve().
 * A directory handle's write (dir set) gets the handle's directory back, and path is its name.
 */
static void unresolve(struct ajio_file *f, const struct ajio_file *dir, const char *path)
{
    unsigned flags = f->flags;
    bool heap = f->heap;
    int lockfd = f->target_lockfd;

    /* A directory opened read-only: nothing for close to report. The handle's is only lent. */
    if (f->dirfd >= 0 && (dir == NULL || f->dirfd != dir->dirfd))
        (void)close(f->dirfd);
    ajio__file_init(f);
    f->flags = flags;
    f->heap = heap;
    f->target_lockfd = lockfd;
    f->same = (flags & AJIO_SKIP_UNCHANGED) != 0;
    if (dir != NULL)
        ajio__borrow_dir(f, dir, path);
}

int ajio__resolve_locked(struct ajio_file *f, const char *path, const ajio_opts *opts,
                         int timeout_ms)
{
    int64_t deadline = timeout_ms > 0 ? now_ns() + (int64_t)timeout_ms * 1000000 : 0;
    /*
     * A directory handle's write (path is then the name in it) resolves again from the handle's
     * fd each time, never from the path given at ajio_dir_open(): that path may lead elsewhere
     * now (the directory renamed, the process in another current directory), and the lock must
     * be taken where the write goes.
     */
    const struct ajio_file *dir = f->dir_handle;
    char locked[NAME_MAX + 1], name[NAME_MAX + 1];
    dev_t dev = 0;
    ino_t ino = 0;
    int r;

    for (int tries = 0;; tries++) {
        r = dir != NULL ? ajio__resolve_borrowed(f, opts) : ajio__resolve(f, path, opts);
        if (r < 0)
            return r;
        ajio__lock_name(name, f->name);
        /*
         * Resolved again under the lock: the first resolution only said where the lock is. If
         * a symlink on the path moved meanwhile, the target is elsewhere now and so is its lock.
         */
        if (f->target_lockfd >= 0) {
            if (f->dir_dev == dev && f->dir_ino == ino && strcmp(name, locked) == 0)
                return 0;
            (void)close(f->target_lockfd); /* unlocks; never written */
            f->target_lockfd = -1;
        }
        if (tries >= AJIO__MAX_SYMLINKS)
            return ajio__error(-ELOOP, "the path of \"%s\" kept changing while it was locked",
                               dir != NULL ? f->path : path);
        r = lock_target(f, name, timeout_ms, deadline);
        if (r < 0)
            return r;
        dev = f->dir_dev;
        ino = f->dir_ino;
        memcpy(locked, name, sizeof(locked));
        unresolve(f, dir, path);
    }
}

/*
 * The current content of the target, read under the lock into *ret (NUL-terminated, the NUL not
 * counted). A target that vanished (a writer that does not lock removed it) counts as none, and
 * so does a symlink that AJIO_REPLACE_LINK is about to replace.
 */
static int read_old(struct ajio_file *f, char **ret, size_t *ret_len, int *ret_exists)
{
    size_t len = 0, cap;
    struct stat st;
    char *buf = NULL;
    int fd, r;

    *ret_exists = 0;
    if (!f->exists)
        return 0;
    fd = openat(f->dirfd, f->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || (errno == ELOOP && (f->flags & AJIO_REPLACE_LINK)))
            return 0;
        return ajio__error_strerror(-errno, "open of \"%s\" to read it", f->path);
    }
    if (fstat(fd, &st) < 0) {
        r = ajio__error_strerror(-errno, "fstat of \"%s\" to read it", f->path);
        goto fail;
    }
    /* The size is a hint: the file may grow while it is read (a writer that does not lock).
     * One byte more than the size lets the first read already see the end; one more for NUL. */
    cap = (size_t)st.st_size + 2;
    buf = malloc(cap);
    if (buf == NULL) {
        r = ajio__error_strerror(-ENOMEM, "buffer to read \"%s\"", f->path);
        goto fail;
    }
    for (;;) {
        ssize_t n;

        if (len + 1 == cap) {
            char *p = realloc(buf, cap * 2);

            if (p == NULL) {
                r = ajio__error_strerror(-ENOMEM, "buffer to read \"%s\"", f->path);
                goto fail;
            }
            buf = p;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = ajio__error_strerror(-errno, "read of \"%s\"", f->path);
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    (void)close(fd); /* read-only: nothing for close to report */
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    *ret_exists = 1;
    return 0;
fail:
    (void)close(fd);
    free(buf);
    return r;
}

int ajio_update(const char *path, ajio_update_fn fn, void *ctx, int timeout_ms,
                const ajio_opts *opts)
{
    ajio_opts o = {0};
    ajio_file *f;
    unsigned long before;
    char *old = NULL;
    size_t len = 0;
    int exists, r;

    r = ajio__check_args(path, opts);
    if (r < 0)
        return r;
    if (fn == NULL)
        return ajio__error(-EINVAL, "ajio_update: callback is NULL for \"%s\"", path);
    if (opts != NULL)
        o = *opts;
    o.flags |= AJIO_LOCK;
    r = ajio__open(&f, path, &o, timeout_ms);
    if (r < 0)
        return r;
    r = read_old(f, &old, &len, &exists);
    if (r < 0) {
        ajio_abort(f);
        return r;
    }
    before = ajio__error_count();
    r = fn(ctx, old != NULL ? old : "", len, exists, f);
    free(old);
    if (r == 0)
        return ajio_commit(f); /* the lock is released last, after the directory sync */
    if (r == AJIO_UNCHANGED) {
        ajio_abort(f);
        return AJIO_UNCHANGED;
    }
    if (r > 0)
        r = ajio__error(-EINVAL,
                        "update of \"%s\": the callback returned %d, not 0, AJIO_UNCHANGED or "
                        "a negative error",
                        ajio_file_path(f), r);
    else if (ajio__error_count() == before)
        (void)ajio__error_strerror(r, "update of \"%s\": the callback failed", ajio_file_path(f));
    ajio_abort(f);
    return r;
}

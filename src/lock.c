/*
 * lock.c - the target's lock (AJIO_LOCK, ajio_update(), appends) and the state that appenders
 * keep in the lock file.
 *
 * The lock is an flock(2) on a lock file ".NAME.ajio-lock" next to the (resolved) target, never
 * on the target itself: every replace gives the name a new inode, so a lock on the target would
 * be held on a file the name no longer holds, and the next writer would lock another inode. The
 * lock file is never replaced; it is removed only by a holder of its lock (ajio_sweep() with
 * AJIO_SWEEP_LOCKS, or a writer that retires an unsafe one), and whoever locked it checks after
 * the lock that the name still holds the inode it locked, and starts again if not.
 *
 * flock rather than classic fcntl locks: a flock belongs to the open file description, so each
 * call's own open() makes threads of one process exclude each other, and no close() of another
 * fd on the same file in the process drops it, as it would drop a classic fcntl lock. The kernel
 * releases it when its holder dies, so a killed writer never leaves the target locked. On a
 * shared filesystem (fs.c) flock may exclude only this machine's writers, so the lock is an OFD
 * fcntl write lock on one byte instead: per open file description like flock, and arbitrated
 * by the server between clients (NFS, GlusterFS).
 *
 * Who may open the lock file decides who may block or mislead its users: flock needs only a
 * descriptor (a read-only one will do), so whoever may open the file may hold the lock for ever;
 * and appenders act on what the file says (the committed length, group commit's counters). So
 * the lock file may be opened only by those who may write the target anyway: it gets read and
 * write permission exactly for the classes (user, group, other) the target gives write
 * permission, it must belong to the caller, the target's owner or root, and one that grants more
 * is retired (or, where it cannot be, narrowed) by its owner and refused by anyone else.
 */
#include "internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Longest sleep between two tries of a lock with a timeout: how late a waiter may notice. */
#define LOCK_POLL_MAX_NS (20 * 1000 * 1000L)

/* Times the name may be found holding another inode than the one locked before giving up. */
#define RELOCK_MAX 64

int64_t ajio__now_ns(void)
{
    struct timespec ts;

    /* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer; a clock step must not
     * shorten or stretch a timeout. */
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Read and write for each class that may write the target; nothing for the others. */
static mode_t lock_mode(mode_t target)
{
    return ((target & S_IWUSR) ? 0600 : 0) | ((target & S_IWGRP) ? 0060 : 0) |
           ((target & S_IWOTH) ? 0006 : 0);
}

/*
 * The permission bits the lock file may have: those of lock_mode() for the target as it is, or,
 * without a regular target (not created yet, or a link that AJIO_REPLACE_LINK replaces), for the
 * mode the lock file itself was created with, which is what a new target gets too (0666 less the
 * umask). Group bits only for the target's own group.
 */
static mode_t allowed_mode(const struct stat *lock, const struct stat *target)
{
    if (target == NULL)
        return lock_mode(lock->st_mode);
    mode_t m = lock_mode(target->st_mode);
    if (lock->st_gid != target->st_gid)
        m &= ~(mode_t)0070;
    return m;
}

static bool owner_ok(const struct stat *lock, const struct stat *target, uid_t me)
{
    return lock->st_uid == me || lock->st_uid == 0 ||
           (target != NULL && lock->st_uid == target->st_uid);
}

/* The process's umask, read without changing it (umask(2) cannot): 022 where /proc says nothing. */
static mode_t current_umask(void)
{
    char buf[2048];
    mode_t m = 022;
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return m;
    n = read(fd, buf, sizeof(buf) - 1);
    (void)close(fd); /* read-only */
    if (n > 0) {
        buf[n] = '\0';
        const char *p = strstr(buf, "\nUmask:");
        if (p != NULL)
            m = (mode_t)strtoul(p + 7, NULL, 8) & 0777;
    }
    return m;
}

/*
 * A lock file just created (0600) gets the mode of lock_mode() for the target, or for the mode a
 * new target will get (0666 less the umask), before anyone relies on it.
 */
static int set_new_mode(struct ajio__target *t, int fd, const char *name)
{
    struct stat tg, lk;
    mode_t m;

    if (fstatat(t->dirfd, t->name, &tg, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(tg.st_mode)) {
        /*
         * The target's owner and group, where the caller may give them (root always; an owner
         * the target's group if a member): root's write must not lock the target's owner out of
         * the lock file, and the group bits count only for the target's own group.
         */
        uid_t uid = geteuid() == 0 ? tg.st_uid : (uid_t)-1;
        if (fchown(fd, uid, tg.st_gid) < 0 && errno != EPERM) {
            int r = ajio__error_strerror(-errno, "chown of new lock file \"%.*s/%s\" for \"%s\"",
                                         AJIO__DIR_ARG(t), name, t->path);
            (void)close(fd);
            return r;
        }
        if (fstat(fd, &lk) < 0) {
            int r = ajio__error_strerror(-errno, "fstat of new lock file \"%.*s/%s\" for \"%s\"",
                                         AJIO__DIR_ARG(t), name, t->path);
            (void)close(fd);
            return r;
        }
        m = allowed_mode(&lk, &tg);
    } else {
        m = lock_mode(0666 & ~current_umask());
    }
    if (m != 0600 && fchmod(fd, m) < 0) {
        int r = ajio__error_strerror(-errno, "chmod of new lock file \"%.*s/%s\" for \"%s\"",
                                     AJIO__DIR_ARG(t), name, t->path);
        (void)close(fd);
        return r;
    }
    return fd;
}

/* Opens (creating) the lock file read-write; a FIFO planted under the name must not hang it. */
static int open_lock_file(struct ajio__target *t, const char *name)
{
    const int flags = O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    int fd = openat(t->dirfd, name, flags);

    t->lock_created = false;
    if (fd >= 0 || errno != ENOENT)
        goto done;
    /* Owner-only until its mode is set: nobody else may open it meanwhile. */
    fd = openat(t->dirfd, name, flags | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
        t->lock_created = true;
        return set_new_mode(t, fd, name);
    }
    if (errno == EEXIST) /* created meanwhile by another writer: use that one */
        fd = openat(t->dirfd, name, flags);
    else if (errno == EACCES || errno == EPERM || errno == EROFS)
        return ajio__error_strerror(-errno,
                                    "create of lock file \"%.*s/%s\" for \"%s\" (appends and "
                                    "locked writes need a lock file beside the target, and the "
                                    "directory does not let the caller create one; someone who "
                                    "may write the directory can create it once with the "
                                    "target's write permissions)",
                                    AJIO__DIR_ARG(t), name, t->path);
done:
    if (fd < 0 && (errno == EACCES || errno == EPERM))
        return ajio__error_strerror(-errno,
                                    "open of lock file \"%.*s/%s\" for \"%s\" (only those who may "
                                    "write the target may open its lock file; its owner "
                                    "adjusts it to the target's permissions on their next write)",
                                    AJIO__DIR_ARG(t), name, t->path);
    if (fd < 0)
        return ajio__error_strerror(-errno, "open of lock file \"%.*s/%s\" for \"%s\"",
                                    AJIO__DIR_ARG(t), name, t->path);
    return fd;
}

int ajio__ofd_lock(int fd, off_t start, off_t len, bool wait)
{
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

    if (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &l) == 0)
        return 0;
    /* Held by someone else: EAGAIN or, as POSIX allows, EACCES. */
    return errno == EAGAIN || errno == EACCES ? -EWOULDBLOCK : -errno;
}

int ajio__ofd_unlock(int fd, off_t start, off_t len)
{
    struct flock l = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

    return fcntl(fd, F_OFD_SETLK, &l) == 0 ? 0 : -errno;
}

/* One try (wait false) or a wait for the target's lock on lock file fd. */
static int lock_once(int fd, bool shared, bool wait)
{
    if (shared)
        return ajio__ofd_lock(fd, AJIO__SHARED_LOCK_BYTE, 1, wait);
    return flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) == 0 ? 0 : -errno;
}

/*
 * Takes the target's lock on fd: blocking when timeout_ms < 0; one try when 0; else tries until
 * the deadline with a sleep that doubles from 1 ms to LOCK_POLL_MAX_NS. The kernel has no lock
 * with a timeout, and a signal-based one would touch the caller's signal handlers, which a
 * library must not; polling costs a few wakeups and serves waiters in no particular order.
 * @return 0, -EWOULDBLOCK, -ETIMEDOUT, -EINTR (interruptible only) or -errno of the lock call.
 */
static int take_lock(int fd, bool shared, int timeout_ms, int64_t deadline, bool interruptible)
{
    long delay = 1000 * 1000;
    int r;

    if (timeout_ms < 0) {
        while ((r = lock_once(fd, shared, true)) < 0)
            if (r != -EINTR || interruptible)
                return r;
        return 0;
    }
    for (;;) {
        struct timespec ts;
        int64_t left;

        r = lock_once(fd, shared, false);
        if (r == 0)
            return 0;
        if (r == -EINTR && !interruptible)
            continue;
        if (r != -EWOULDBLOCK)
            return r;
        if (timeout_ms == 0)
            return -EWOULDBLOCK;
        left = deadline - ajio__now_ns();
        if (left <= 0)
            return -ETIMEDOUT;
        if (left > delay)
            left = delay;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left;
        /* An interrupted sleep only means an earlier try, unless the caller wants to know. */
        if (nanosleep(&ts, NULL) < 0 && errno == EINTR && interruptible)
            return -EINTR;
        if (delay < LOCK_POLL_MAX_NS)
            delay = delay * 2 < LOCK_POLL_MAX_NS ? delay * 2 : LOCK_POLL_MAX_NS;
    }
}

int ajio__lock_drop(struct ajio__target *t)
{
    if (t->fs_shared)
        return ajio__ofd_unlock(t->lockfd, AJIO__SHARED_LOCK_BYTE, 1);
    return flock(t->lockfd, LOCK_UN) == 0 ? 0 : -errno;
}

/* The message of a failed take_lock() r on the lock file name of t. */
static int lock_failed(struct ajio__target *t, int r, int timeout_ms, const char *name)
{
    if (r == -EWOULDBLOCK)
        return ajio__error(r, "lock of \"%s\" is held by another writer (lock file \"%.*s/%s\")",
                           t->path, AJIO__DIR_ARG(t), name);
    if (r == -ETIMEDOUT)
        return ajio__error(r, "lock of \"%s\" not free after %d ms (lock file \"%.*s/%s\")",
                           t->path, timeout_ms, AJIO__DIR_ARG(t), name);
    if (r == -EINTR)
        return ajio__error(r, "wait for the lock of \"%s\" interrupted by a signal", t->path);
    return ajio__error_strerror(r, "%s of lock file \"%.*s/%s\" for \"%s\"",
                                t->fs_shared ? "fcntl lock" : "flock", AJIO__DIR_ARG(t), name,
                                t->path);
}

int ajio__lock_wait_ms(const ajio_opts *opts)
{
    if (opts != NULL && (opts->flags & AJIO_LOCK_TIMEOUT))
        return opts->lock_timeout_ms;
    return -1;
}

/*
 * Whether the locked fd is a lock file users may rely on (see the top), fixing what its owner
 * may fix. An unsafe one of the caller's (or any, for root) is retired: removed under its lock,
 * so that every waiter on it finds the name changed and starts again with a new one (*ret_retry).
 * Where it cannot be removed it is narrowed; anything else is refused.
 */
static int check_lock_file(struct ajio__target *t, int fd, const char *name, struct stat lk,
                           bool *ret_retry)
{
    struct stat tg;
    const struct stat *target = NULL;
    bool mine;
    mode_t ok;

    *ret_retry = false;
    if (!S_ISREG(lk.st_mode))
        return ajio__error(-EINVAL, "lock file \"%.*s/%s\" for \"%s\" is not a regular file",
                           AJIO__DIR_ARG(t), name, t->path);
    if (fstatat(t->dirfd, t->name, &tg, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISREG(tg.st_mode))
            target = &tg;
    } else if (errno != ENOENT) {
        return ajio__error_strerror(-errno, "stat of \"%s\" for its lock file", t->path);
    }
    uid_t me = geteuid();
    ok = allowed_mode(&lk, target);
    mine = lk.st_uid == me;
    if (owner_ok(&lk, target, me) && (lk.st_mode & 0777 & ~ok) == 0) {
        /* The owner keeps it in step with a target whose permissions grew since. */
        if (mine && (lk.st_mode & 0777) != ok && fchmod(fd, ok) < 0)
            return ajio__error_strerror(-errno, "chmod of lock file \"%.*s/%s\" for \"%s\"",
                                        AJIO__DIR_ARG(t), name, t->path);
        t->lock_st = lk;
        return 0;
    }
    if (!mine && me != 0)
        return ajio__error(-EACCES,
                           "lock file \"%.*s/%s\" for \"%s\" is not used: it belongs to uid %u "
                           "with mode 0%03o, so users who may not write the target could hold "
                           "the lock or change what it records (its owner or root replaces it "
                           "on their next write, or remove it)",
                           AJIO__DIR_ARG(t), name, t->path, (unsigned)lk.st_uid,
                           (unsigned)(lk.st_mode & 0777));
#ifndef AJIO_TEST_KEEP_UNSAFE_LOCK /* negative control of the trust suite only */
    /* Descriptors opened while it was too open stay open: only a new inode shuts them out. */
    if (unlinkat(t->dirfd, name, 0) == 0 || errno == ENOENT) {
        *ret_retry = true;
        return 0;
    }
    if (errno != EACCES && errno != EPERM)
        return ajio__error_strerror(-errno, "removal of unsafe lock file \"%.*s/%s\" for \"%s\"",
                                    AJIO__DIR_ARG(t), name, t->path);
    /* Root gives it to the target's owner, who must still be able to open it. */
    if ((mine || fchown(fd, target != NULL ? target->st_uid : me, (gid_t)-1) == 0) &&
        fchmod(fd, lk.st_mode & ok) == 0) {
        if (fstat(fd, &lk) < 0)
            return ajio__error_strerror(-errno, "fstat of lock file \"%.*s/%s\" for \"%s\"",
                                        AJIO__DIR_ARG(t), name, t->path);
        t->lock_st = lk;
        return 0;
    }
    return ajio__error_strerror(-errno, "narrowing of unsafe lock file \"%.*s/%s\" for \"%s\"",
                                AJIO__DIR_ARG(t), name, t->path);
#else
    t->lock_st = lk;
    return 0;
#endif
}

/* Whether the name still holds the lock file whose stat is a (ajio_sweep() may remove it). */
static int still_named_as(struct ajio__target *t, const struct stat *a, const char *name, bool *ret)
{
    struct stat b;

    if (fstatat(t->dirfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT)
            return ajio__error_strerror(-errno, "stat of lock file \"%.*s/%s\" for \"%s\"",
                                        AJIO__DIR_ARG(t), name, t->path);
        *ret = false;
        return 0;
    }
    *ret = a->st_dev == b.st_dev && a->st_ino == b.st_ino;
    return 0;
}

/* still_named_as() for the lock file open as fd; *ret_st is its stat. */
static int still_named(struct ajio__target *t, int fd, const char *name, bool *ret,
                       struct stat *ret_st)
{
    if (fstat(fd, ret_st) < 0)
        return ajio__error_strerror(-errno, "fstat of lock file \"%.*s/%s\" for \"%s\"",
                                    AJIO__DIR_ARG(t), name, t->path);
    return still_named_as(t, ret_st, name, ret);
}

/* A new lock file's name made durable before anything relies on what the file records. */
static int sync_new_lock(struct ajio__target *t, int fd, const char *name)
{
    int r;

    if (!t->lock_created || (t->flags & AJIO_NO_SYNC))
        return 0;
    r = ajio__sync_dir_fd(t->dirfd, t->dir_opath, fd);
    if (r < 0)
        return ajio__error_strerror(r, "%s of directory \"%.*s\" after creating lock file \"%s\"",
                                    t->dir_opath ? "syncfs" : "fsync", AJIO__DIR_ARG(t), name);
    return 0;
}

int ajio__lock_take(struct ajio__target *t, const char *name, int timeout_ms, int64_t deadline)
{
    bool interruptible = (t->flags & AJIO_INTERRUPTIBLE) != 0;
    int shared = ajio__target_shared(t);

    if (shared < 0)
        return shared;
    for (int tries = 0;; tries++) {
        bool retry, named = false;
        struct stat st;
        int fd = open_lock_file(t, name);
        int r;

        if (fd < 0)
            return fd;
        r = take_lock(fd, shared, timeout_ms, deadline, interruptible);
        if (r < 0) {
            (void)close(fd); /* never written: nothing for close to report */
            return lock_failed(t, r, timeout_ms, name);
        }
        /* Named first: only the lock file the name holds may be judged and retired. */
        retry = false;
        r = still_named(t, fd, name, &named, &st);
        if (r == 0 && named)
            r = check_lock_file(t, fd, name, st, &retry);
        if (r == 0 && !retry && named)
            r = sync_new_lock(t, fd, name);
        if (r == 0 && !retry && named) {
            t->lockfd = fd;
            return 0;
        }
        (void)close(fd); /* a lock file is never written before it is held: nothing to report */
        if (r == 0 && tries < RELOCK_MAX)
            continue;
        if (r == 0)
            return ajio__error(-EAGAIN, "lock file \"%.*s/%s\" for \"%s\" kept being replaced",
                               AJIO__DIR_ARG(t), name, t->path);
        return r; /* the step that failed set the message */
    }
}

int ajio__lock_again(struct ajio__target *t, const char *name, int timeout_ms)
{
    int64_t deadline = timeout_ms > 0 ? ajio__now_ns() + (int64_t)timeout_ms * 1000000 : 0;
    int r = take_lock(t->lockfd, t->fs_shared, timeout_ms, deadline,
                      (t->flags & AJIO_INTERRUPTIBLE) != 0);
    bool named = false;

    if (r < 0)
        return lock_failed(t, r, timeout_ms, name);
    r = still_named_as(t, &t->lock_st, name, &named);
    if (r == 0 && !named)
        r = -ESTALE; /* removed by a sweep: the caller opens the lock file again */
    if (r < 0)
        (void)ajio__lock_drop(t); /* closing would drop it too; it is not ours */
    return r;
}

/*
 * Forgets a resolution, keeping the flags and the lock, for a fresh ajio__resolve(); a directory
 * handle's write (dir) keeps the handle's directory.
 */
static void unresolve(struct ajio__target *t, struct ajio__old *old, struct ajio__perms *perms,
                      const struct ajio__target *dir, const char *path)
{
    unsigned flags = t->flags;
    int lockfd = t->lockfd;
    bool created = t->lock_created, fs_known = t->fs_known, fs_shared = t->fs_shared;
    struct stat lock_st = t->lock_st;

    /* A directory opened read-only: nothing for close to report. The handle's is only lent. */
    if (t->dirfd >= 0 && (dir == NULL || t->dirfd != dir->dirfd))
        (void)close(t->dirfd);
    ajio__target_init(t);
    t->flags = flags;
    t->lockfd = lockfd;
    t->lock_created = created;
    t->lock_st = lock_st;
    /* The lock is released the way it was taken; the lock is kept only in the same directory. */
    t->fs_known = fs_known;
    t->fs_shared = fs_shared;
    if (old != NULL)
        ajio__old_init(old, flags);
    if (perms != NULL)
        ajio__perms_init(perms);
    if (dir != NULL)
        ajio__borrow_dir(t, dir, path);
}

int ajio__resolve_locked(struct ajio__target *t, struct ajio__old *old, struct ajio__perms *perms,
                         const char *path, const ajio_opts *opts, int timeout_ms)
{
    int64_t deadline;
    /*
     * A directory handle's write (path is then the name in it) resolves again from the handle's
     * fd each time, never from the path given at ajio_dir_open(): that path may lead elsewhere
     * now (the directory renamed, the process in another current directory), and the lock must
     * be taken where the write goes.
     */
    const struct ajio__target *dir = t->dir_handle;
    char locked[NAME_MAX + 1], name[NAME_MAX + 1];
    dev_t dev = 0;
    ino_t ino = 0;
    int r;

    if (timeout_ms < 0)
        timeout_ms = ajio__lock_wait_ms(opts);
    deadline = timeout_ms > 0 ? ajio__now_ns() + (int64_t)timeout_ms * 1000000 : 0;
    for (int tries = 0;; tries++) {
        r = dir != NULL ? ajio__resolve_borrowed(t, old, perms, opts)
                        : ajio__resolve(t, old, perms, path, opts);
        if (r < 0)
            return r;
        ajio__lock_name(name, t->name);
        /*
         * Resolved again under the lock: the first resolution only said where the lock is. If
         * a symlink on the path moved meanwhile, the target is elsewhere now and so is its lock.
         */
        if (t->lockfd >= 0) {
            if (t->dir_dev == dev && t->dir_ino == ino && strcmp(name, locked) == 0)
                return 0;
            (void)close(t->lockfd); /* unlocks; never written */
            t->lockfd = -1;
        }
        if (tries >= AJIO__MAX_SYMLINKS)
            return ajio__error(-ELOOP, "the path of \"%s\" kept changing while it was locked",
                               dir != NULL ? t->path : path);
        r = ajio__lock_take(t, name, timeout_ms, deadline);
        if (r < 0)
            return r;
        dev = t->dir_dev;
        ino = t->dir_ino;
        memcpy(locked, name, sizeof(locked));
        unresolve(t, old, perms, dir, path);
    }
}

void ajio__lock_release(struct ajio__target *t)
{
    /* The page group commit mapped (group.c) goes first: it is a mapping of this file. */
    if (t->group_page != NULL) /* a valid mapping of ours: munmap cannot fail */
        (void)munmap(t->group_page, AJIO__GROUP_PAGE);
    t->group_page = NULL;
    t->group_mapped = false;
    if (t->lockfd >= 0)
        (void)close(t->lockfd); /* its records were written with pwrite: nothing to report */
    t->lockfd = -1;
}

void ajio__target_close(struct ajio__target *t)
{
    /* A directory handle's fd is only lent to the write: the handle closes it. */
    if (t->dirfd >= 0 && (t->dir_handle == NULL || t->dirfd != t->dir_handle->dirfd))
        (void)close(t->dirfd);
    t->dirfd = -1;
    /* Last: the target's lock covers everything done in the directory, a rename included. */
    ajio__lock_release(t);
}

/* ---- the state in the lock file -------------------------------------------------------------
 *
 * Two records, each with its own checksum, each written (pwrite) only under its own lock, so that
 * no writer ever rewrites a field another may be changing: the append record at offset 0 under
 * the flock, the sync record at SYNC_OFF under the sync lock (group.c). They are read without a
 * lock by group commit's waiters, and a read that meets a write half done fails the checksum and
 * counts as nothing known. Nothing here is mapped: a file that someone else may truncate must
 * never be touched through a mapping (SIGBUS).
 */

#define APPEND_MAGIC "ajio-ap3"
#define SYNC_MAGIC "ajio-sy3"
#define SYNC_OFF 512

struct append_rec {
    char magic[8];
    unsigned char boot[16];
    uint64_t mnt, dev, ino;
    uint64_t committed, pending_start, pending;
    uint64_t written, epoch;
    uint64_t sum;
};

struct sync_rec {
    char magic[8];
    uint64_t dev, ino, epoch, synced, syncs, sync_ns;
    uint64_t sum;
};

_Static_assert(offsetof(struct append_rec, sum) == sizeof(struct append_rec) - 8,
               "the checksum ends the record");
_Static_assert(offsetof(struct sync_rec, sum) == sizeof(struct sync_rec) - 8,
               "the checksum ends the record");

static unsigned char boot_id[16];
static bool boot_known;
static pthread_once_t boot_once = PTHREAD_ONCE_INIT;

/* The kernel's id of this boot: a record from another boot may predate a power cut. */
static void read_boot_id(void)
{
    char text[64];
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    ssize_t n;
    int k = 0;

    if (fd < 0)
        return; /* no /proc: every record counts as possibly stale */
    n = read(fd, text, sizeof(text) - 1);
    (void)close(fd);
    if (n <= 0)
        return;
    for (ssize_t i = 0; i < n && k < 32; i++) {
        int c = text[i], v = c >= '0' && c <= '9'   ? c - '0'
                             : c >= 'a' && c <= 't' ? c - 'a' + 10
                                                    : -1;

        if (v < 0)
            continue;
        boot_id[k / 2] = (unsigned char)(boot_id[k / 2] << 4 | v);
        k++;
    }
    boot_known = k == 32;
}

static int pread_exact(int fd, void *buf, size_t len, off_t off, bool *ret_full)
{
    ssize_t n;

    *ret_full = false;
    while ((n = pread(fd, buf, len, off)) < 0)
        if (errno != EINTR)
            return -errno;
    *ret_full = (size_t)n == len;
    return 0;
}

static int pwrite_exact(int fd, const void *buf, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, off);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf = (const char *)buf + n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/*
 * Reads the record of len bytes at off into buf: 0 and *ret_ok when it is whole, has magic and
 * checks out (its checksum is its last 8 bytes); a short, foreign or half-written one is not ok.
 */
static int read_rec(int fd, void *buf, size_t len, off_t off, const char *magic, bool *ret_ok)
{
    uint64_t sum;
    bool full;
    int r = pread_exact(fd, buf, len, off, &full);

    *ret_ok = false;
    if (r < 0 || !full || memcmp(buf, magic, 8) != 0)
        return r;
    memcpy(&sum, (const char *)buf + len - sizeof(sum), sizeof(sum));
    *ret_ok = sum == ajio__fnv1a64(buf, len - sizeof(sum));
    return 0;
}

int ajio__state_read(int lockfd, uint64_t mnt, struct ajio__state *ret)
{
    struct append_rec a;
    bool ok;
    int r = read_rec(lockfd, &a, sizeof(a), 0, APPEND_MAGIC, &ok);

    memset(ret, 0, sizeof(*ret));
    if (r < 0 || !ok)
        return r;
    (void)pthread_once(&boot_once, read_boot_id);
    ret->valid = true;
    ret->exact = boot_known && mnt != 0 && a.mnt == mnt && memcmp(a.boot, boot_id, 16) == 0;
    ret->dev = a.dev;
    ret->ino = a.ino;
    ret->committed = a.committed;
    ret->pending_start = a.pending_start;
    ret->pending = a.pending != 0;
    ret->written = a.written;
    ret->epoch = a.epoch;
    return 0;
}

int ajio__state_write(int lockfd, uint64_t mnt, const struct ajio__state *s)
{
    struct append_rec a;

    memset(&a, 0, sizeof(a));
    (void)pthread_once(&boot_once, read_boot_id);
    memcpy(a.magic, APPEND_MAGIC, 8);
    if (boot_known)
        memcpy(a.boot, boot_id, 16);
    a.mnt = mnt;
    a.dev = s->dev;
    a.ino = s->ino;
    a.committed = s->committed;
    a.pending_start = s->pending_start;
    a.pending = s->pending;
    a.written = s->written;
    a.epoch = s->epoch;
    a.sum = ajio__fnv1a64(&a, offsetof(struct append_rec, sum));
    return pwrite_exact(lockfd, &a, sizeof(a), 0);
}

int ajio__sync_read(int lockfd, struct ajio__sync *ret)
{
    struct sync_rec s;
    bool ok;
    int r = read_rec(lockfd, &s, sizeof(s), SYNC_OFF, SYNC_MAGIC, &ok);

    memset(ret, 0, sizeof(*ret));
    if (r < 0 || !ok)
        return r;
    ret->valid = true;
    ret->dev = s.dev;
    ret->ino = s.ino;
    ret->epoch = s.epoch;
    ret->synced = s.synced;
    ret->syncs = s.syncs;
    ret->sync_ns = s.sync_ns;
    return 0;
}

int ajio__sync_write(int lockfd, const struct ajio__sync *in)
{
    struct sync_rec s;

    memset(&s, 0, sizeof(s));
    memcpy(s.magic, SYNC_MAGIC, 8);
    s.dev = in->dev;
    s.ino = in->ino;
    s.epoch = in->epoch;
    s.synced = in->synced;
    s.syncs = in->syncs;
    s.sync_ns = in->sync_ns;
    s.sum = ajio__fnv1a64(&s, offsetof(struct sync_rec, sum));
    return pwrite_exact(lockfd, &s, sizeof(s), SYNC_OFF);
}

int ajio__group_counts(const char *lock_path, uint64_t *ret_written, uint64_t *ret_syncs)
{
    struct ajio__state a;
    struct ajio__sync s;
    int fd = open(lock_path, O_RDONLY | O_CLOEXEC);
    int r;

    if (fd < 0)
        return -errno;
    r = ajio__state_read(fd, 0, &a);
    if (r == 0)
        r = ajio__sync_read(fd, &s);
    (void)close(fd); /* read-only */
    if (r < 0)
        return r;
    if (!a.valid || !s.valid)
        return -ENODATA;
    *ret_written = a.written;
    *ret_syncs = s.syncs;
    return 0;
}

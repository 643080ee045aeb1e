/*
 * sweep.c - removal of temp files left by killed writers, and (AJIO_SWEEP_LOCKS) of the lock
 * files of targets that are gone.
 */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A lock name whose NAME is at least this long may stand for a longer target, cut (tempname.c:
 * at AJIO_TEMP_MAX_NAME, moved back to a UTF-8 boundary by at most 3 bytes). */
#define CUT_LOCK_NAME_MIN (AJIO_TEMP_MAX_NAME - 3)

/*
 * Removes one temp unless a live writer holds its lock (see ajio__temp_lock()): the lock is
 * taken here too and kept across the unlink, so no writer can be holding that temp meanwhile.
 * A temp this process cannot open is left alone: its writer's state cannot be known.
 * @return 1 removed (or would be), 0 left, or -errno.
 */
static int remove_unlocked(int dirfd, const char *dir, const char *name, unsigned flags,
                           bool shared)
{
    /* An OFD write lock (shared filesystems, see fs.c) needs a descriptor open for writing. */
    int fd = openat(dirfd, name,
                    (shared ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    int r = 1, l;

    if (fd < 0) {
        if (errno == ENOENT || errno == EACCES || errno == EPERM || errno == ELOOP ||
            (shared && (errno == EROFS || errno == ETXTBSY)))
            return 0;
        return ajio__error_strerror(-errno, "open of \"%s/%s\"", dir, name);
    }
    l = shared ? ajio__ofd_lock(fd, 0, 0, false)
               : (flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : -errno);
    if (l < 0) {
        if (l == -EWOULDBLOCK)
            r = 0; /* a live writer */
        else if (l != -ENOLCK && l != -EOPNOTSUPP && l != -EINVAL)
            r = ajio__error_strerror(l, "%s of \"%s/%s\"", shared ? "fcntl lock" : "flock", dir,
                                     name);
    }
    if (r == 1 && !(flags & AJIO_SWEEP_DRY_RUN) && unlinkat(dirfd, name, 0) < 0)
        r = errno == ENOENT ? 0 : ajio__error_strerror(-errno, "unlink of \"%s/%s\"", dir, name);
    (void)close(fd); /* nothing written through it: nothing for close to report */
    return r;
}

/*
 * Whether name has the shape of a lock file, "." NAME ".ajio-lock" with NAME not empty, and, if
 * target is not NULL, is the lock file of target.
 */
static bool is_lock_name(const char *name, const char *target)
{
    size_t len = strlen(name);
    char want[NAME_MAX + 1];

    if (len < 2 + AJIO__LOCK_EXT_LEN || name[0] != '.' ||
        memcmp(name + len - AJIO__LOCK_EXT_LEN, AJIO__LOCK_EXT, AJIO__LOCK_EXT_LEN) != 0)
        return false;
    if (target == NULL)
        return true;
    ajio__lock_name(want, target);
    return strcmp(name, want) == 0;
}

/*
 * A directory stream of path, relative to at (AT_FDCWD for a path as given); *ret_fd is its
 * descriptor, which closedir() closes. @return the stream, or NULL with the message set in *ret.
 */
static DIR *open_stream(int at, const char *path, const char *dir, int *ret_fd, int *ret)
{
    int fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;

    if (fd < 0) {
        *ret = ajio__error_strerror(-errno, "open of directory \"%s\"", dir);
        return NULL;
    }
    d = fdopendir(fd);
    if (d == NULL) {
        *ret = ajio__error_strerror(-errno, "fdopendir of \"%s\"", dir);
        (void)close(fd); /* read-only: nothing for close to report */
        return NULL;
    }
    *ret_fd = fd;
    return d;
}

/*
 * Whether some entry of the directory other than lock itself has lock as its lock file: the
 * check for a lock name whose NAME may be a cut longer name. @return 1, 0 or -errno.
 */
static int long_target_exists(int dirfd, const char *dir, const char *lock)
{
    char other[NAME_MAX + 1];
    struct dirent *de;
    int fd, r = 0;
    DIR *d = open_stream(dirfd, ".", dir, &fd, &r);

    if (d == NULL)
        return r;
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                r = ajio__error_strerror(-errno, "readdir of \"%s\"", dir);
            break;
        }
        if (strcmp(de->d_name, lock) == 0 || strcmp(de->d_name, ".") == 0 ||
            strcmp(de->d_name, "..") == 0)
            continue;
        ajio__lock_name(other, de->d_name);
        if (strcmp(other, lock) == 0) {
            r = 1;
            break;
        }
    }
    (void)closedir(d);
    return r;
}

/*
 * Whether the target of lock file lock exists: anything at its name, a symlink (even dangling)
 * included, or, for a name that may have been cut, any longer name with that lock file. A
 * target that cannot be looked at counts as existing. @return 1, 0 or -errno.
 */
static int target_exists(int dirfd, const char *dir, const char *lock)
{
    size_t n = strlen(lock) - 1 - AJIO__LOCK_EXT_LEN;
    char target[NAME_MAX + 1];
    struct stat st;

    memcpy(target, lock + 1, n);
    target[n] = '\0';
    if (fstatat(dirfd, target, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
        return 1;
    return n >= CUT_LOCK_NAME_MIN ? long_target_exists(dirfd, dir, lock) : 0;
}

/*
 * Removes one lock file unless someone holds it or its target exists. Under its flock, taken
 * here and kept across the unlink, nobody else holds it; the target is looked for again under
 * the lock (an update may have created it meanwhile), and the name must still be the inode
 * locked: another sweep may have removed it and a locker created a new one, which may be held.
 * A locker that opened the removed inode notices after its flock that the name is no longer its
 * inode and opens the name again (lock.c). A lock file this process may not open (another
 * user's) is left alone.
 * @return 1 removed (or would be), 0 left, or -errno.
 */
static int remove_lock(int dirfd, const char *dir, const char *name, unsigned flags,
                       bool shared)
{
    int fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat st, now;
    int r;

    if (fd < 0) {
        /* Gone, another user's, a symlink, not a file, or nothing may be removed here. */
        if (errno == ENOENT || errno == EACCES || errno == EPERM || errno == ELOOP ||
            errno == EISDIR || errno == ENXIO || errno == EROFS || errno == ETXTBSY)
            return 0;
        return ajio__error_strerror(-errno, "open of lock file \"%s/%s\"", dir, name);
    }
    if (fstat(fd, &st) < 0) {
        r = ajio__error_strerror(-errno, "fstat of lock file \"%s/%s\"", dir, name);
        goto out;
    }
    r = 0;
    if (!S_ISREG(st.st_mode))
        goto out;
    /* Held, or no lock support here: then whether a locker holds it cannot be known. */
    int l = shared ? ajio__ofd_lock(fd, AJIO__SHARED_LOCK_BYTE, 1, false)
                   : (flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : -errno);
    if (l < 0) {
        if (l != -EWOULDBLOCK && l != -ENOLCK && l != -EOPNOTSUPP && l != -EINVAL)
            r = ajio__error_strerror(l, "%s of lock file \"%s/%s\"",
                                     shared ? "fcntl lock" : "flock", dir, name);
        goto out;
    }
    if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT)
            r = ajio__error_strerror(-errno, "stat of lock file \"%s/%s\"", dir, name);
        goto out;
    }
    if (now.st_dev != st.st_dev || now.st_ino != st.st_ino)
        goto out;
    r = target_exists(dirfd, dir, name);
    if (r != 0) {
        r = r < 0 ? r : 0;
        goto out;
    }
    r = 1;
    if (!(flags & AJIO_SWEEP_DRY_RUN) && unlinkat(dirfd, name, 0) < 0)
        r = errno == ENOENT
                ? 0
                : ajio__error_strerror(-errno, "unlink of lock file \"%s/%s\"", dir, name);
out:
    (void)close(fd); /* nothing written through it: nothing for close to report */
    return r;
}

int ajio_sweep(const char *dir, const char *name, unsigned min_age_sec, unsigned flags)
{
    struct timespec now;
    struct dirent *de;
    DIR *d;
    int fd, count = 0, r;

    if (dir == NULL || dir[0] == '\0')
        return ajio__error(-EINVAL, "ajio_sweep: directory is %s", dir == NULL ? "NULL" : "empty");
    if (flags & ~(unsigned)(AJIO_SWEEP_NO_SYNC | AJIO_SWEEP_DRY_RUN | AJIO_SWEEP_LOCKS))
        return ajio__error(-EINVAL, "ajio_sweep: unknown flags 0x%x for \"%s\"", flags, dir);
    if (name != NULL && (name[0] == '\0' || strchr(name, '/') != NULL))
        return ajio__error(-EINVAL, "ajio_sweep: name \"%s\" is not a file name", name);
    if (clock_gettime(CLOCK_REALTIME, &now) < 0)
        return ajio__error_strerror(-errno, "clock_gettime for sweep of \"%s\"", dir);
    d = open_stream(AT_FDCWD, dir, dir, &fd, &r);
    if (d == NULL)
        return r;
    ajio_fs_kind kind;
    r = ajio__fs_kind(fd, &kind);
    if (r < 0) {
        r = ajio__error_strerror(r, "fstatfs of \"%s\" to sweep it", dir);
        goto fail;
    }
    for (;;) {
        struct stat st;
        time_t changed;
        bool lock;

        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0) {
                r = ajio__error_strerror(-errno, "readdir of \"%s\"", dir);
                goto fail;
            }
            break;
        }
        lock = (flags & AJIO_SWEEP_LOCKS) && is_lock_name(de->d_name, name);
        if (!lock && !ajio__is_temp_name(de->d_name, name))
            continue;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue; /* a writer renamed it, or another sweep removed it */
            r = ajio__error_strerror(-errno, "stat of \"%s/%s\"", dir, de->d_name);
            goto fail;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        /* ctime moves when linkat() gives an O_TMPFILE its name; mtime with every write. */
        changed = st.st_ctime > st.st_mtime ? st.st_ctime : st.st_mtime;
        if (now.tv_sec - changed < (time_t)min_age_sec)
            continue;
        /* A lock file's times move when appenders update the counters they share in it. */
        r = lock ? remove_lock(fd, dir, de->d_name, flags, kind != AJIO_FS_LOCAL)
                 : remove_unlocked(fd, dir, de->d_name, flags, kind != AJIO_FS_LOCAL);
        if (r < 0)
            goto fail;
        count += r;
    }
    if (count > 0 && !(flags & (AJIO_SWEEP_DRY_RUN | AJIO_SWEEP_NO_SYNC)) && fsync(fd) < 0) {
        r = ajio__error_strerror(-errno, "fsync of directory \"%s\" after sweeping", dir);
        goto fail;
    }
    (void)closedir(d);
    return count;
fail:
    (void)closedir(d);
    return r;
}

/*
 * sweep.c - removal of temp files left by killed writers.
 */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/*
 * Removes one temp unless a live writer holds its lock (see ajio__temp_lock()): the lock is
 * taken here too and kept across the unlink, so no writer can be holding that temp meanwhile.
 * A temp this process cannot open is left alone: its writer's state cannot be known.
 * @return 1 removed (or would be), 0 left, or -errno.
 */
static int remove_unlocked(int dirfd, const char *dir, const char *name, unsigned flags)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    int r = 1;

    if (fd < 0) {
        if (errno == ENOENT || errno == EACCES || errno == EPERM || errno == ELOOP)
            return 0;
        return ajio__error_strerror(-errno, "open of \"%s/%s\"", dir, name);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            r = 0; /* a live writer */
        else if (errno != ENOLCK && errno != EOPNOTSUPP && errno != EINVAL)
            r = ajio__error_strerror(-errno, "flock of \"%s/%s\"", dir, name);
    }
    if (r == 1 && !(flags & AJIO_SWEEP_DRY_RUN) && unlinkat(dirfd, name, 0) < 0)
        r = errno == ENOENT ? 0 : ajio__error_strerror(-errno, "unlink of \"%s/%s\"", dir, name);
    (void)close(fd); /* read-only: nothing for close to report */
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
    if (flags & ~(unsigned)(AJIO_SWEEP_NO_SYNC | AJIO_SWEEP_DRY_RUN))
        return ajio__error(-EINVAL, "ajio_sweep: unknown flags 0x%x for \"%s\"", flags, dir);
    if (name != NULL && (name[0] == '\0' || strchr(name, '/') != NULL))
        return ajio__error(-EINVAL, "ajio_sweep: name \"%s\" is not a file name", name);
    if (clock_gettime(CLOCK_REALTIME, &now) < 0)
        return ajio__error_strerror(-errno, "clock_gettime for sweep of \"%s\"", dir);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ajio__error_strerror(-errno, "open of directory \"%s\"", dir);
    d = fdopendir(fd);
    if (d == NULL) {
        r = ajio__error_strerror(-errno, "fdopendir of \"%s\"", dir);
        (void)close(fd);
        return r;
    }
    for (;;) {
        struct stat st;
        time_t changed;

        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0) {
                r = ajio__error_strerror(-errno, "readdir of \"%s\"", dir);
                goto fail;
            }
            break;
        }
        if (!ajio__is_temp_name(de->d_name, name))
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
        r = remove_unlocked(fd, dir, de->d_name, flags);
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

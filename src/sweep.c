/*
 * sweep.c - removal of temp files left by killed writers.
 */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int ajio_sweep(const char *dir, const char *name, unsigned min_age_sec, unsigned flags)
{
    struct timespec now;
    struct dirent *de;
    DIR *d;
    int fd, count = 0, r;

    if (dir == NULL || dir[0] == '\0')
        return ajio__set_message(-EINVAL, "ajio_sweep: directory is %s",
                                 dir == NULL ? "NULL" : "empty");
    if (flags & ~(unsigned)(AJIO_SWEEP_NO_SYNC | AJIO_SWEEP_DRY_RUN))
        return ajio__set_message(-EINVAL, "ajio_sweep: unknown flags 0x%x for \"%s\"", flags, dir);
    if (name != NULL && (name[0] == '\0' || strchr(name, '/') != NULL))
        return ajio__set_message(-EINVAL, "ajio_sweep: name \"%s\" is not a file name", name);
    if (clock_gettime(CLOCK_REALTIME, &now) < 0)
        return ajio__set_error(-errno, "clock_gettime for sweep of \"%s\"", dir);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ajio__set_error(-errno, "open of directory \"%s\"", dir);
    d = fdopendir(fd);
    if (d == NULL) {
        r = ajio__set_error(-errno, "fdopendir of \"%s\"", dir);
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
                r = ajio__set_error(-errno, "readdir of \"%s\"", dir);
                goto fail;
            }
            break;
        }
        if (!ajio__is_temp_name(de->d_name, name))
            continue;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue; /* a writer renamed it, or another sweep removed it */
            r = ajio__set_error(-errno, "stat of \"%s/%s\"", dir, de->d_name);
            goto fail;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        /* ctime moves when linkat() gives an O_TMPFILE its name; mtime with every write. */
        changed = st.st_ctime > st.st_mtime ? st.st_ctime : st.st_mtime;
        if (now.tv_sec - changed < (time_t)min_age_sec)
            continue;
        if (!(flags & AJIO_SWEEP_DRY_RUN) && unlinkat(fd, de->d_name, 0) < 0) {
            if (errno == ENOENT)
                continue;
            r = ajio__set_error(-errno, "unlink of \"%s/%s\"", dir, de->d_name);
            goto fail;
        }
        count++;
    }
    if (count > 0 && !(flags & (AJIO_SWEEP_DRY_RUN | AJIO_SWEEP_NO_SYNC)) && fsync(fd) < 0) {
        r = ajio__set_error(-errno, "fsync of directory \"%s\" after sweeping", dir);
        goto fail;
    }
    (void)closedir(d);
    return count;
fail:
    (void)closedir(d);
    return r;
}

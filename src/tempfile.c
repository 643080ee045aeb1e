/*
 * tempfile.c - the temp file: creation next to the target (O_TMPFILE, or a named temp), its
 * lock against ajio_sweep(), the write loop, and how this process links an O_TMPFILE.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/uio.h>
#include <unistd.h>

bool ajio__tmpfile_unsupported(int err)
{
    return err == EOPNOTSUPP || err == EISDIR || err == EINVAL || err == ENOSYS;
}

int ajio__temp_lock(struct ajio_file *f)
{
    /*
     * ajio_sweep() removes only temps it can lock, so a live writer's temp is never taken from
     * it, however long the writer takes. The lock is an flock(2) on the temp's open file
     * description, held until the temp is renamed or removed; on a shared filesystem (fs.c) an
     * OFD fcntl lock on the whole temp, which a sweep on another client sees. A filesystem
     * without lock support writes unlocked; only sweep's protection is lost there.
     */
    int shared = ajio__target_shared(&f->target);
    int r;

    if (shared < 0)
        return shared;
    r = shared ? ajio__ofd_lock(f->temp.fd, 0, 0, false)
               : (flock(f->temp.fd, LOCK_EX | LOCK_NB) == 0 ? 0 : -errno);
    if (r == 0 || r == -ENOLCK || r == -EOPNOTSUPP || r == -EINVAL)
        return 0;
    return ajio__error_strerror(r, "%s of temp for \"%s\"", shared ? "fcntl lock" : "flock",
                                f->target.path);
}

int ajio__temp_create(struct ajio_file *f)
{
    int fd, r;

    /*
     * O_TMPFILE first: the temp has no name until it is complete and synced, so a killed writer
     * leaves nothing behind and no reader can open it early. Nameless, it can also be created
     * with the final mode straight away; stage fixes what the umask or the owner changes.
     * Whether this process can link an O_TMPFILE at all is learnt before any data is written.
     * Nothing can open or sweep a file without a name, so its lock waits until it gets one
     * (ajio__publish()); a new target never gives it a temp name, nor a lock.
     */
    if (!(f->target.flags & AJIO_NO_TMPFILE)) {
        mode_t m = f->perms.fix_perms ? (f->perms.mode & 0777) : 0666;
        int how = f->target.dir_append ? AJIO__LINK_EMPTY_PATH : ajio__tmpfile_probe(f);

        if (how < 0)
            return how;
        /* UNKNOWN after the probe: the probe's own O_TMPFILE failed, so this one would too. */
        bool usable = how == AJIO__LINK_EMPTY_PATH || how == AJIO__LINK_PROC;

        fd = usable ? openat(f->target.dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, m) : -1;
        if (fd >= 0) {
            f->temp.fd = fd;
            f->temp.anonymous = true;
            return 0;
        }
        if (usable && !ajio__tmpfile_unsupported(errno))
            return ajio__error_strerror(-errno, "create of temp (O_TMPFILE) for \"%s\"",
                                        f->target.path);
    }
    /* A named temp could never be removed from an append-only directory. */
    if (f->target.dir_append)
        return ajio__error(-EPERM,
                           "\"%s\" is in an append-only directory, where only an "
                           "O_TMPFILE can be published",
                           f->target.path);
    /*
     * A named temp is visible from its creation, so when the final file gets other permissions
     * or another owner than a new file would, it starts private (0600) and only gets the final
     * mode once its owner is right. Otherwise 0666 minus the umask is what the final file gets.
     */
    for (int tries = 0; tries < 64; tries++) {
        ajio__temp_name(f->temp.tmpname, f->target.name);
        fd = openat(f->target.dirfd, f->temp.tmpname,
                    O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                    f->perms.fix_perms ? 0600 : 0666);
        if (fd >= 0) {
            f->temp.fd = fd;
            f->temp.named = true;
            r = ajio__temp_lock(f);
            return r;
        }
        if (errno != EEXIST)
            return ajio__error_strerror(-errno, "create of temp \"%s\" for \"%s\"", f->temp.tmpname,
                                        f->target.path);
    }
    return ajio__error(-EEXIST, "create of temp for \"%s\": 64 random names were all taken",
                       f->target.path);
}

int ajio__writev_all(int fd, struct iovec *iov, int iovcnt)
{
    while (iovcnt > 0) {
        ssize_t n = writev(fd, iov, iovcnt);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        /* A regular file only returns 0 for a non-empty write if something is badly wrong. */
        if (n == 0 && iov[0].iov_len > 0)
            return -EIO;
        /* A short write: skip what went out and go on with the rest. */
        while (iovcnt > 0 && (size_t)n >= iov[0].iov_len) {
            n -= (ssize_t)iov[0].iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov[0].iov_base = (char *)iov[0].iov_base + n;
            iov[0].iov_len -= (size_t)n;
        }
    }
    return 0;
}

/*
 * How this process can give an O_TMPFILE a name: linkat(AT_EMPTY_PATH) needs Linux >= 6.10 or
 * CAP_DAC_READ_SEARCH; linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW) needs /proc and costs a
 * procfs lookup. Learnt once per process by ajio__tmpfile_probe(), before any data is written,
 * and corrected here whenever the preferred way stops working (a process that drops privileges).
 */
static atomic_int link_method = AJIO__LINK_UNKNOWN;

static int link_via(int how, int fd, int dirfd, const char *name)
{
    char proc[32];

    if (how == AJIO__LINK_EMPTY_PATH)
        return linkat(fd, "", dirfd, name, AT_EMPTY_PATH) < 0 ? -errno : 0;
    (void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

int ajio__link_tmpfile(int fd, int dirfd, const char *name)
{
    int first = atomic_load_explicit(&link_method, memory_order_relaxed);
    int r;

    if (first != AJIO__LINK_PROC)
        first = AJIO__LINK_EMPTY_PATH;
    r = link_via(first, fd, dirfd, name);
    /* ENOENT: no /proc, or AT_EMPTY_PATH without the privilege; EPERM on some kernels. */
    if (r == -ENOENT || r == -EPERM) {
        int other = first == AJIO__LINK_PROC ? AJIO__LINK_EMPTY_PATH : AJIO__LINK_PROC;
        r = link_via(other, fd, dirfd, name);
        /* Neither: later writes of this process use named temps from the start. */
        atomic_store_explicit(&link_method,
                              r == 0                        ? other
                              : r == -ENOENT || r == -EPERM ? AJIO__LINK_NONE
                                                            : first,
                              memory_order_relaxed);
    } else if (r == 0 && first != atomic_load_explicit(&link_method, memory_order_relaxed)) {
        atomic_store_explicit(&link_method, first, memory_order_relaxed);
    }
    return r;
}

int ajio__tmpfile_probe(struct ajio_file *f)
{
    char name[NAME_MAX + 1];
    int how = atomic_load_explicit(&link_method, memory_order_relaxed);
    int fd, r = -EEXIST;

    if (how != AJIO__LINK_UNKNOWN)
        return how;
    /*
     * One empty O_TMPFILE linked and unlinked again, once per process: finding out only at
     * commit time would mean failing a write whose data is all written. A writer killed in
     * between leaves an empty temp that ajio_sweep() removes like any other.
     */
    fd = openat(f->target.dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (ajio__tmpfile_unsupported(errno))
            return AJIO__LINK_UNKNOWN; /* no O_TMPFILE here: a named temp */
        return ajio__error_strerror(-errno, "create of temp for \"%s\"",
                                    f->target.path);
    }
    for (int tries = 0; tries < 64 && r == -EEXIST; tries++) {
        ajio__temp_name(name, f->target.name);
        r = ajio__link_tmpfile(fd, f->target.dirfd, name);
    }
    (void)close(fd); /* empty and about to be unlinked: nothing for close to report */
    if (r == -ENOENT || r == -EPERM)
        return AJIO__LINK_NONE;
    if (r < 0)
        return ajio__error_strerror(r, "linkat of temp for \"%s\"",
                                    f->target.path);
    if (unlinkat(f->target.dirfd, name, 0) < 0)
        return ajio__error_strerror(-errno,
                                    "unlink of temp \"%s\" for \"%s\"; "
                                    "ajio_sweep() removes it",
                                    name, f->target.path);
    return atomic_load_explicit(&link_method, memory_order_relaxed);
}

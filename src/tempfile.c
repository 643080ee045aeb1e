/*
 * tempfile.c - the temp file: creation next to the target, the write loop and its buffer, and
 * the byte comparison behind AJIO_SKIP_UNCHANGED.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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
     * description, held until the temp is renamed or removed. A filesystem without flock
     * support writes unlocked; only sweep's protection is lost there.
     */
    if (flock(f->fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    if (errno == ENOLCK || errno == EOPNOTSUPP || errno == EINVAL)
        return 0;
    return ajio__error_strerror(-errno, "flock of temp for \"%s\"", f->path);
}

int ajio__temp_create(struct ajio_file *f)
{
    int fd, r;

    /*
     * O_TMPFILE first: the temp has no name until it is complete and synced, so a killed writer
     * leaves nothing behind and no reader can open it early. Nameless, it can also be created
     * with the final mode straight away; stage fixes what the umask or the owner changes.
     * Whether this process can link an O_TMPFILE at all is learnt before any data is written.
     */
    if (!(f->flags & AJIO_NO_TMPFILE)) {
        mode_t m = f->fix_perms ? (f->mode & 0777) : 0666;
        int how = f->dir_append ? AJIO__LINK_EMPTY_PATH : ajio__tmpfile_probe(f);

        if (how < 0)
            return how;
        /* UNKNOWN after the probe: the probe's own O_TMPFILE failed, so this one would too. */
        bool usable = how == AJIO__LINK_EMPTY_PATH || how == AJIO__LINK_PROC;

        fd = usable ? openat(f->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, m) : -1;
        if (fd >= 0) {
            f->fd = fd;
            f->anonymous = true;
            return ajio__temp_lock(f);
        }
        if (usable && !ajio__tmpfile_unsupported(errno))
            return ajio__error_strerror(-errno, "create of temp (O_TMPFILE) for \"%s\"", f->path);
    }
    /* A named temp could never be removed from an append-only directory. */
    if (f->dir_append)
        return ajio__error(-EPERM,
                           "\"%s\" is in an append-only directory, where only an "
                           "O_TMPFILE can be published",
                           f->path);
    /*
     * A named temp is visible from its creation, so when the final file gets other permissions
     * or another owner than a new file would, it starts private (0600) and only gets the final
     * mode once its owner is right. Otherwise 0666 minus the umask is what the final file gets.
     */
    for (int tries = 0; tries < 64; tries++) {
        ajio__temp_name(f->tmpname, f->name);
        fd = openat(f->dirfd, f->tmpname, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                    f->fix_perms ? 0600 : 0666);
        if (fd >= 0) {
            f->fd = fd;
            f->named = true;
            r = ajio__temp_lock(f);
            return r;
        }
        if (errno != EEXIST)
            return ajio__error_strerror(-errno, "create of temp \"%s\" for \"%s\"", f->tmpname,
                                        f->path);
    }
    return ajio__error(-EEXIST, "create of temp for \"%s\": 64 random names were all taken",
                       f->path);
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

static int write_all(struct ajio_file *f, const void *buf, size_t len)
{
    struct iovec iov = {(void *)buf, len};
    int r = ajio__writev_all(f->fd, &iov, 1);

    if (r < 0)
        return f->err = ajio__error_strerror(r, "write of temp for \"%s\"", f->path);
    return 0;
}

static bool same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

bool ajio__old_still_there(struct ajio_file *f)
{
    struct stat st;

    /*
     * The bytes compared were those of the file resolve saw (cmpfd), unmodified since (ctime
     * moves with every write), and the name holds that very file now. A writer that replaced it
     * meanwhile must not be undone by an "unchanged" that compared against its predecessor.
     */
    if (f->cmpfd < 0 || fstat(f->cmpfd, &st) < 0 || st.st_dev != f->old_dev ||
        st.st_ino != f->old_ino || !same_time(st.st_ctim, f->old_ctime) ||
        !same_time(st.st_mtim, f->old_mtime))
        return false;
    if (fstatat(f->dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != f->old_dev ||
        st.st_ino != f->old_ino || !same_time(st.st_ctim, f->old_ctime))
        return false;
    return true;
}

/* Opens the old target for AJIO_SKIP_UNCHANGED; if that fails the write simply happens. */
void ajio__open_old(struct ajio_file *f)
{
    if (!f->same || !f->exists) {
        f->same = false;
        return;
    }
    f->cmpfd = openat(f->dirfd, f->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f->cmpfd < 0)
        f->same = false; /* unreadable, gone, or replaced by a link meanwhile */
}

/*
 * Compares len bytes with the old target at offset off. Any read problem just means "changed":
 * the comparison only decides whether work can be skipped, never correctness.
 */
static void compare_old(struct ajio_file *f, uint64_t off, const void *data, size_t len)
{
    /* The handle's scratch buffer, free once resolved: no page of the caller's stack. */
    unsigned char *tmp = (unsigned char *)f->scratch;
    const size_t size = sizeof(f->scratch);
    const unsigned char *p = data;

    if (!f->same)
        return;
    if (off + len > f->old_size) {
        f->same = false;
        return;
    }
    while (len > 0) {
        size_t want = len < size ? len : size;
        ssize_t n = pread(f->cmpfd, tmp, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || memcmp(tmp, p, (size_t)n) != 0) {
            f->same = false;
            return;
        }
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
}

bool ajio__same_as_old(struct ajio_file *f, const struct iovec *iov, int iovcnt)
{
    uint64_t off = 0;

    for (int i = 0; i < iovcnt; i++)
        off += iov[i].iov_len;
    if (off != f->old_size)
        f->same = false;
    ajio__open_old(f);
    off = 0;
    for (int i = 0; i < iovcnt && f->same; i++) {
        compare_old(f, off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    return f->same && ajio__old_still_there(f);
}

int ajio__file_flush(struct ajio_file *f)
{
    int r;

    if (f->err < 0)
        return f->err;
    if (f->buflen == 0)
        return 0;
    r = write_all(f, f->buf, f->buflen);
    if (r < 0)
        return r;
    f->buflen = 0;
    return 0;
}

int ajio__file_write(struct ajio_file *f, const void *buf, size_t len)
{
    int r;

    if (f->err < 0)
        return ajio__error(f->err, "write to \"%s\" after an earlier failure: %s", f->path,
                           ajio_strerror(f->err));
    if (len == 0)
        return 0;
    if (f->checker != NULL) {
        r = ajio_json_checker_feed(f->checker, buf, len);
        if (r < 0)
            return f->err = ajio__content_checker_failed(f->path, f->checker, r);
        f->last = ((const unsigned char *)buf)[len - 1];
    }
    if (f->cmpfd >= 0)
        compare_old(f, f->written, buf, len);
    f->written += len;
    if (f->buflen + len > AJIO__BUFSIZE) {
        r = ajio__file_flush(f);
        if (r < 0)
            return r;
    }
    /* A buffer's worth or more goes straight out: copying it would only cost. */
    if (len >= AJIO__BUFSIZE)
        return write_all(f, buf, len);
    if (f->buf == NULL) {
        f->buf = malloc(AJIO__BUFSIZE);
        if (f->buf == NULL)
            return f->err = ajio__error_strerror(-ENOMEM, "buffer for \"%s\"", f->path);
    }
    memcpy(f->buf + f->buflen, buf, len);
    f->buflen += len;
    return 0;
}

/*
 * copy.c - ajio_file_write_fd(): the bytes of an fd into a handle's temp, moved by the kernel
 * (copy_file_range(2) from a regular file, splice(2) from a pipe) where nothing has to see them,
 * read and written in large pieces where something does (validation, AJIO_SKIP_UNCHANGED) or
 * where the kernel refuses.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Large enough that a validated copy costs the validator, not the system calls. */
#define COPY_PIECE (1024 * 1024)
/* What one kernel copy is asked for: it returns less at the end of the input anyway. */
#define KERNEL_PIECE ((size_t)1 << 30)

int ajio__copy_fd_mode;
unsigned long ajio__copy_fd_counts[3];

/*
 * What the kernel says when it cannot move these bytes this way: the caller then reads. EPERM and
 * ETXTBSY (an immutable or a swap file) are among them because the read path's own read or write
 * then fails with the error that names the real cause, in the words every other write uses.
 */
static bool refused(int err)
{
    return err == EINVAL || err == EXDEV || err == ENOSYS || err == EOPNOTSUPP || err == EBADF ||
           err == ETXTBSY || err == EPERM;
}

/*
 * Moves fd's bytes into the temp with copy_file_range() (regular) or splice() (pipe).
 * @return 1 when all went (fd at its end), 0 when the kernel refused and the caller must read
 *   the rest, or a negative errno with the message set (the handle failed).
 */
static int kernel_copy(struct ajio_file *f, int fd, bool pipe, uint64_t *len)
{
    const char *how = pipe ? "splice" : "copy_file_range";

    for (;;) {
        ssize_t n = pipe ? splice(fd, NULL, f->temp.fd, NULL, KERNEL_PIECE, SPLICE_F_MOVE)
                         : copy_file_range(fd, NULL, f->temp.fd, NULL, KERNEL_PIECE, 0);

        if (n > 0) {
            *len += (uint64_t)n;
            f->temp.written += (uint64_t)n;
            continue;
        }
        /* A file of /proc or /sys has size 0 to the kernel's copy, bytes to read(): the first
         * empty answer is checked by a read, which costs one system call for an empty file. */
        if (n == 0)
            return pipe || *len > 0 ? 1 : 0;
        if (errno == EINTR)
            continue;
        /* Both offsets moved by what was copied, so the read can go on from there. EBADF is
         * refused only for the input (an fd open for writing only fails the read the same way);
         * the temp is open for writing, so the kernel says EBADF only of fd. */
        if (refused(errno))
            return 0;
        return f->temp.err = ajio__error_strerror(-errno, "%s from fd %d to the temp for \"%s\"",
                                                  how, fd, f->target.path);
    }
}

/* Reads fd to its end in COPY_PIECE pieces, each through ajio__file_write(). */
static int read_copy(struct ajio_file *f, int fd, uint64_t *len)
{
    unsigned char *buf = malloc(COPY_PIECE);
    bool end = false;
    int r = 0;

    if (buf == NULL)
        return f->temp.err = ajio__error_strerror(-ENOMEM, "buffer to read fd %d for \"%s\"", fd,
                                                  f->target.path);
    while (!end && r == 0) {
        size_t have = 0;

        /* A pipe gives at most its capacity per read: the piece is filled first, so that the
         * validator and the write see 1 MiB at a time. Nothing is published before the end. */
        while (have < COPY_PIECE) {
            ssize_t n = read(fd, buf + have, COPY_PIECE - have);

            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                r = f->temp.err =
                    ajio__error_strerror(-errno, "read of fd %d for \"%s\"", fd, f->target.path);
                break;
            }
            if (n == 0) {
                end = true;
                break;
            }
            have += (size_t)n;
        }
        if (r == 0 && have > 0 && (r = ajio__file_write(f, buf, have)) == 0)
            *len += have;
    }
    free(buf);
    return r;
}

int ajio_file_write_fd(ajio_file *f, int fd, uint64_t *ret_len)
{
    uint64_t len = 0;
    struct stat st;
    int r;

    if (ret_len != NULL)
        *ret_len = 0;
    if (f == NULL)
        return ajio__error(-EINVAL, "ajio_file_write_fd: handle is NULL");
    if (fd < 0)
        return ajio__error(-EINVAL, "ajio_file_write_fd: fd is %d for \"%s\"", fd, f->target.path);
    if (f->temp.content_ops != NULL)
        return ajio__error(-EINVAL, "ajio_file_write_fd: \"%s\" is written by its %s",
                           f->target.path, f->temp.content_ops->writer);
    if (f->temp.err < 0)
        return ajio__error(f->temp.err, "write to \"%s\" after an earlier failure: %s",
                           f->target.path, ajio_strerror(f->temp.err));
    if (fstat(fd, &st) < 0)
        return f->temp.err =
                   ajio__error_strerror(-errno, "fstat of fd %d for \"%s\"", fd, f->target.path);
    r = 0;
    /* The validator and the comparison with the old file must see every byte. */
    if (f->temp.checker == NULL && f->old.cmpfd < 0 && ajio__copy_fd_mode == 0 &&
        (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
        /* What the handle holds goes first: the kernel writes at the temp's offset. */
        r = ajio__file_flush(f);
        if (r == 0)
            r = kernel_copy(f, fd, S_ISFIFO(st.st_mode), &len);
    }
    if (r == 1)
        __atomic_add_fetch(&ajio__copy_fd_counts[S_ISFIFO(st.st_mode) ? 1 : 0], 1,
                           __ATOMIC_RELAXED);
    else if (r == 0 && (r = read_copy(f, fd, &len)) == 0)
        __atomic_add_fetch(&ajio__copy_fd_counts[2], 1, __ATOMIC_RELAXED);
    if (ret_len != NULL)
        *ret_len = len;
    return r < 0 ? r : 0;
}

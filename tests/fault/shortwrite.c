/*
 * shortwrite.c - LD_PRELOAD shim that makes every write(2)/writev(2) to a regular file short, and
 * every copy_file_range(2)/splice(2) into one (ajio write moves a file or pipe on its standard
 * input with those, and must loop on a short transfer as on a short write).
 *
 * strace can fail a syscall or fake its return value, but a faked return value means the syscall
 * did not run, which is not a short write: the kernel must really have written the first n bytes.
 * This shim does exactly that. It shortens each call to at most AJIO_SHORT_WRITE bytes (default 1)
 * and lets the kernel do the rest, so the caller must loop to write everything. Only regular files
 * are affected, so the driver's own output on stdout is not.
 *
 * At exit it writes the number of calls it shortened to the file named by AJIO_SHORT_WRITE_LOG,
 * so that the harness can prove short writes really happened (a run with 0 proves nothing).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static unsigned long shortened;

static size_t limit(void)
{
    const char *s = getenv("AJIO_SHORT_WRITE");
    unsigned long n = s != NULL ? strtoul(s, NULL, 0) : 1;
    return n > 0 ? n : 1;
}

static int is_regular(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

ssize_t write(int fd, const void *buf, size_t count)
{
    size_t max = limit();

    if (count > max && is_regular(fd)) {
        count = max;
        shortened++;
    }
    return syscall(SYS_write, fd, buf, count);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    size_t max = limit();
    size_t total = 0;

    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (total <= max || !is_regular(fd))
        return syscall(SYS_writev, fd, iov, iovcnt);
    /* Only the first max bytes, wherever they lie in the vector. */
    shortened++;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len == 0)
            continue;
        size_t n = iov[i].iov_len < max ? iov[i].iov_len : max;
        return syscall(SYS_write, fd, iov[i].iov_base, n);
    }
    return 0;
}

ssize_t copy_file_range(int in, loff_t *in_off, int out, loff_t *out_off, size_t len,
                        unsigned flags)
{
    size_t max = limit();

    if (len > max && is_regular(out)) {
        len = max;
        shortened++;
    }
    return syscall(SYS_copy_file_range, in, in_off, out, out_off, len, flags);
}

ssize_t splice(int in, loff_t *in_off, int out, loff_t *out_off, size_t len, unsigned flags)
{
    size_t max = limit();

    if (len > max && is_regular(out)) {
        len = max;
        shortened++;
    }
    return syscall(SYS_splice, in, in_off, out, out_off, len, flags);
}

__attribute__((destructor)) static void report(void)
{
    const char *log = getenv("AJIO_SHORT_WRITE_LOG");
    FILE *fp;

    if (log == NULL || (fp = fopen(log, "w")) == NULL)
        return;
    fprintf(fp, "%lu\n", shortened);
    fclose(fp);
}

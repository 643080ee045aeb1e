/*
 * handle.c - the write handle: its life (made, started, finished, discarded), the buffered
 * write path every streamed byte takes, and the comparison with the old target behind
 * AJIO_SKIP_UNCHANGED. The public streaming API (ajio_file_open() ... ajio_file_commit()) is here; the
 * one-shot writes (file.c), directory writes (dir.c) and batches (batch.c) use the same life.
 *
 * A handle does not know what formats its bytes: a JSON generator (json_gen.c) attaches itself
 * through the content ops, which the commit runs first.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

void ajio__file_init(struct ajio_file *f)
{
    ajio__target_init(&f->target);
    ajio__old_init(&f->old, 0);
    ajio__perms_init(&f->perms);
    ajio__temp_init(&f->temp);
    f->heap = false;
}

int ajio__check_args(const char *path, const ajio_opts *opts)
{
    if (path == NULL || path[0] == '\0')
        return ajio__error(-EINVAL, "path is %s", path == NULL ? "NULL" : "empty");
    if (opts == NULL)
        return 0;
    if (opts->flags & ~(unsigned)AJIO__ALL_FLAGS)
        return ajio__error(-EINVAL, "unknown option flags 0x%x for \"%s\"",
                           opts->flags & ~(unsigned)AJIO__ALL_FLAGS, path);
    if ((opts->flags & AJIO_NO_FOLLOW) && (opts->flags & AJIO_REPLACE_LINK))
        return ajio__error(-EINVAL,
                           "AJIO_NO_FOLLOW and AJIO_REPLACE_LINK together for "
                           "\"%s\"",
                           path);
    if ((opts->flags & AJIO_JSON) && (opts->flags & AJIO_JSONL))
        return ajio__error(-EINVAL, "AJIO_JSON and AJIO_JSONL together for \"%s\"", path);
    if ((opts->flags & AJIO_MODE) && (opts->mode & ~07777u))
        return ajio__error(-EINVAL, "mode 0%o has bits outside 07777 for \"%s\"", opts->mode, path);
    if (opts->reserved_int != 0)
        return ajio__error(-EINVAL, "reserved option fields must be zero (\"%s\")", path);
    if ((opts->flags & AJIO_LOCK_TIMEOUT) && opts->lock_timeout_ms < 0)
        return ajio__error(-EINVAL,
                           "lock_timeout_ms is %d for \"%s\": 0 or more with AJIO_LOCK_TIMEOUT",
                           opts->lock_timeout_ms, path);
    for (size_t i = 0; i < sizeof(opts->reserved) / sizeof(opts->reserved[0]); i++)
        if (opts->reserved[i] != 0)
            return ajio__error(-EINVAL, "reserved option fields must be zero (\"%s\")", path);
    return 0;
}

int ajio__check_create_only(const struct ajio_file *f)
{
    /* Early answer only; the publish step decides atomically (linkat, or RENAME_NOREPLACE). */
    if ((f->target.flags & AJIO_CREATE_ONLY) && f->target.exists)
        return ajio__error(-EEXIST, "\"%s\" exists and create-only was asked", f->target.path);
    return 0;
}

/*
 * Everything before the first byte is written: arguments, resolution (under the target's lock
 * with AJIO_LOCK, waiting timeout_ms as ajio_update() says), temp creation.
 */
int ajio__start(struct ajio_file *f, const char *path, const ajio_opts *opts, int timeout_ms)
{
    int r = ajio__check_args(path, opts);

    if (r < 0)
        return r;
    f->target.flags = opts != NULL ? opts->flags : 0;
    f->old.same = (f->target.flags & AJIO_SKIP_UNCHANGED) != 0;
    /* A directory handle's write (f borrowed, path its name) is resolved from the handle's fd. */
    if (f->target.flags & AJIO_LOCK)
        r = ajio__resolve_locked(&f->target, &f->old, &f->perms, path, opts, timeout_ms);
    else if (f->target.dir_handle != NULL)
        r = ajio__resolve_borrowed(&f->target, &f->old, &f->perms, opts);
    else
        r = ajio__resolve(&f->target, &f->old, &f->perms, path, opts);
    if (r < 0)
        return r;
    return ajio__check_create_only(f);
}

struct ajio_file *ajio__new_handle(const char *path)
{
    struct ajio_file *f = malloc(sizeof(*f));

    if (f == NULL) {
        (void)ajio__error_strerror(-ENOMEM, "allocation of a handle for \"%s\"",
                                   path != NULL ? path : "(null)");
        return NULL;
    }
    ajio__file_init(f);
    f->heap = true;
    return f;
}

static int write_all(struct ajio_file *f, const void *buf, size_t len)
{
    struct iovec iov = {(void *)buf, len};
    int r = ajio__writev_all(f->temp.fd, &iov, 1);

    if (r < 0)
        return f->temp.err = ajio__error_strerror(r, "write of temp for \"%s\"", f->target.path);
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
    if (f->old.cmpfd < 0 || fstat(f->old.cmpfd, &st) < 0 || st.st_dev != f->old.dev ||
        st.st_ino != f->old.ino || !same_time(st.st_ctim, f->old.ctime) ||
        !same_time(st.st_mtim, f->old.mtime))
        return false;
    if (fstatat(f->target.dirfd, f->target.name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        st.st_dev != f->old.dev || st.st_ino != f->old.ino || !same_time(st.st_ctim, f->old.ctime))
        return false;
    return true;
}

/* Opens the old target for AJIO_SKIP_UNCHANGED; if that fails the write simply happens. */
void ajio__open_old(struct ajio_file *f)
{
    if (!f->old.same || !f->target.exists) {
        f->old.same = false;
        return;
    }
    f->old.cmpfd = openat(f->target.dirfd, f->target.name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f->old.cmpfd < 0)
        f->old.same = false; /* unreadable, gone, or replaced by a link meanwhile */
}

/*
 * Compares len bytes with the old target at offset off. Any read problem just means "changed":
 * the comparison only decides whether work can be skipped, never correctness.
 */
static void compare_old(struct ajio_file *f, uint64_t off, const void *data, size_t len)
{
    /* The handle's scratch buffer, free once resolved: no page of the caller's stack. */
    unsigned char *tmp = (unsigned char *)f->target.scratch;
    const size_t size = sizeof(f->target.scratch);
    const unsigned char *p = data;

    if (!f->old.same)
        return;
    if (off + len > f->old.size) {
        f->old.same = false;
        return;
    }
    while (len > 0) {
        size_t want = len < size ? len : size;
        ssize_t n = pread(f->old.cmpfd, tmp, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || memcmp(tmp, p, (size_t)n) != 0) {
            f->old.same = false;
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
    if (off != f->old.size)
        f->old.same = false;
    ajio__open_old(f);
    off = 0;
    for (int i = 0; i < iovcnt && f->old.same; i++) {
        compare_old(f, off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    return f->old.same && ajio__old_still_there(f);
}

int ajio__file_flush(struct ajio_file *f)
{
    int r;

    if (f->temp.err < 0)
        return f->temp.err;
    if (f->temp.buflen == 0)
        return 0;
    r = write_all(f, f->temp.buf, f->temp.buflen);
    if (r < 0)
        return r;
    f->temp.buflen = 0;
    return 0;
}

int ajio__file_write(struct ajio_file *f, const void *buf, size_t len)
{
    int r;

    if (f->temp.err < 0)
        return ajio__error(f->temp.err, "write to \"%s\" after an earlier failure: %s",
                           f->target.path, ajio_strerror(f->temp.err));
    if (len == 0)
        return 0;
    if (f->temp.checker != NULL) {
        r = ajio_json_checker_feed(f->temp.checker, buf, len);
        if (r < 0)
            return f->temp.err = ajio__content_checker_failed(f->target.path, f->temp.checker, r);
        f->temp.last = ((const unsigned char *)buf)[len - 1];
    }
    if (f->old.cmpfd >= 0)
        compare_old(f, f->temp.written, buf, len);
    f->temp.written += len;
    if (f->temp.buflen + len > AJIO__BUFSIZE) {
        r = ajio__file_flush(f);
        if (r < 0)
            return r;
    }
    /* A buffer's worth or more goes straight out: copying it would only cost. */
    if (len >= AJIO__BUFSIZE)
        return write_all(f, buf, len);
    if (f->temp.buf == NULL) {
        f->temp.buf = malloc(AJIO__BUFSIZE);
        if (f->temp.buf == NULL)
            return f->temp.err = ajio__error_strerror(-ENOMEM, "buffer for \"%s\"", f->target.path);
    }
    memcpy(f->temp.buf + f->temp.buflen, buf, len);
    f->temp.buflen += len;
    return 0;
}

/*
 * AJIO_JSON/AJIO_JSONL: the end of the validation, then the '\n' a file of JSON ends with. The
 * '\n' is not fed to the validator, so an incomplete document is reported where the caller's
 * bytes end, not on a line they never had.
 */
static int finish_json(struct ajio_file *f)
{
    ajio_json_checker *c = f->temp.checker;
    int r = ajio_json_checker_finish(c);

    if (r < 0)
        return f->temp.err = ajio__content_checker_failed(f->target.path, c, r);
    if (f->temp.written > 0 && f->temp.last != '\n') {
        f->temp.checker = NULL;
        r = ajio__file_write(f, "\n", 1);
        f->temp.checker = c;
    }
    return r;
}

int ajio__finish(struct ajio_file *f)
{
    int r;

    /* What formats the bytes finishes first: its last bytes belong before the last checks. */
    if (f->temp.content_ops != NULL && (r = f->temp.content_ops->finish(f->temp.content)) < 0)
        return r;
    if (f->temp.err < 0)
        return f->temp.err;
    if (f->temp.checker != NULL) {
        r = finish_json(f);
        if (r < 0)
            return r;
    }
    if (f->target.flags & AJIO_SKIP_UNCHANGED && f->target.exists && f->old.same &&
        f->temp.written == f->old.size && ajio__old_still_there(f))
        return AJIO_UNCHANGED;
    r = ajio__file_flush(f);
    if (r < 0)
        return r;
    r = ajio__stage(f);
    if (r < 0)
        return r;
    r = ajio__publish(f);
    if (r < 0)
        return r;
    r = ajio__sync_dir(f);
    if (f->temp.fd >= 0) {
        /* The published O_TMPFILE (see ajio__publish()). */
        int c = close(f->temp.fd);
        f->temp.fd = -1;
        if (c < 0 && r == 0) {
            (void)ajio__error_strerror(-errno,
                                       "close of temp after replacing \"%s\" (the file was "
                                       "replaced; durability not confirmed)",
                                       f->target.path);
            r = AJIO_ENOTDURABLE;
        }
    }
    return r;
}

/*
 * Releases everything a handle holds; a temp that still has a name is removed. close() errors are
 * dropped on purpose here: the caller already has the error that matters and nothing is published.
 * A temp that cannot be removed is the one thing the caller must hear about, in the message.
 */
void ajio__discard(struct ajio_file *f)
{
    if (f->temp.fd >= 0)
        (void)close(f->temp.fd);
#ifndef AJIO_TEST_KEEP_TEMP /* negative control of the fault-injection suite only */
    if (f->temp.named && unlinkat(f->target.dirfd, f->temp.tmpname, 0) < 0 && errno != ENOENT)
        ajio__error_append(" (and the temp \"%s\" could not be removed: %s)", f->temp.tmpname,
                           ajio_strerror(-errno));
#endif
    if (f->old.cmpfd >= 0)
        (void)close(f->old.cmpfd);
    ajio_json_checker_free(f->temp.checker);
    f->temp.checker = NULL;
    if (f->temp.content_ops != NULL)
        f->temp.content_ops->free(f->temp.content);
    f->temp.content_ops = NULL;
    f->temp.content = NULL;
    /* The first close of the temp already reported what a close can: this one only unlocks. */
    if (f->temp.lockfd >= 0)
        (void)close(f->temp.lockfd);
    /* Last: the target's lock (AJIO_LOCK) covers everything above, the rename included. */
    ajio__target_close(&f->target);
    free(f->temp.buf);
    f->temp.fd = f->old.cmpfd = f->temp.lockfd = -1;
    f->temp.named = false;
    f->temp.buf = NULL;
    if (f->heap)
        free(f);
}

int ajio__open(ajio_file **ret_file, const char *path, const ajio_opts *opts, int timeout_ms)
{
    struct ajio_file *f;
    int r;

    if (ret_file == NULL)
        return ajio__error(-EINVAL, "ajio_file_open: ret_file is NULL");
    f = ajio__new_handle(path);
    if (f == NULL)
        return -ENOMEM;
    r = ajio__start(f, path, opts, timeout_ms);
    if (r < 0)
        goto fail;
    ajio__open_old(f);
    r = ajio__content_checker_new(f->target.path, f->target.flags, &f->temp.checker);
    if (r < 0)
        goto fail;
    r = ajio__temp_create(f);
    if (r < 0)
        goto fail;
    r = ajio__sync_new_dirs(&f->target, f->temp.fd);
    if (r < 0)
        goto fail;
    *ret_file = f;
    return 0;
fail:
    ajio__discard(f);
    return r;
}

int ajio_file_open(ajio_file **ret_file, const char *path, const ajio_opts *opts)
{
    return ajio__open(ret_file, path, opts, -1);
}

int ajio_file_write(ajio_file *f, const void *buf, size_t len)
{
    if (f == NULL)
        return ajio__error(-EINVAL, "ajio_file_write: handle is NULL");
    if (buf == NULL && len > 0)
        return ajio__error(-EINVAL, "ajio_file_write: buf is NULL with length %zu for \"%s\"", len,
                           f->target.path);
    /* What formats the bytes may hold some not yet in the handle: these would land before. */
    if (f->temp.content_ops != NULL)
        return ajio__error(-EINVAL, "ajio_file_write: \"%s\" is written by its %s", f->target.path,
                           f->temp.content_ops->writer);
    return ajio__file_write(f, buf, len);
}

int ajio_file_vprintf(ajio_file *f, const char *fmt, va_list ap)
{
    char small[512];
    char *big;
    va_list ap2;
    int n, r;

    if (f == NULL || fmt == NULL)
        return ajio__error(-EINVAL, "ajio_file_printf: %s is NULL", f == NULL ? "handle" : "fmt");
    if (f->temp.content_ops != NULL)
        return ajio__error(-EINVAL, "ajio_file_printf: \"%s\" is written by its %s", f->target.path,
                           f->temp.content_ops->writer);
    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return f->temp.err = ajio__error_strerror(errno != 0 ? -errno : -EINVAL, "printf to \"%s\"",
                                                  f->target.path);
    if ((size_t)n < sizeof(small))
        return ajio__file_write(f, small, (size_t)n);
    big = malloc((size_t)n + 1);
    if (big == NULL)
        return f->temp.err = ajio__error_strerror(-ENOMEM, "printf to \"%s\"", f->target.path);
    (void)vsnprintf(big, (size_t)n + 1, fmt, ap);
    r = ajio__file_write(f, big, (size_t)n);
    free(big);
    return r;
}

int ajio_file_printf(ajio_file *f, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = ajio_file_vprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int ajio_file_commit(ajio_file *f)
{
    int r;

    if (f == NULL)
        return ajio__error(-EINVAL, "ajio_file_commit: handle is NULL");
    r = ajio__finish(f);
    ajio__discard(f);
    return r;
}

void ajio_file_abort(ajio_file *f)
{
    if (f != NULL)
        ajio__discard(f);
}

const char *ajio_file_path(const ajio_file *f)
{
    return f != NULL ? f->target.path : NULL;
}

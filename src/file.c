/*
 * file.c - the public write API: one-shot writes and the streaming handle.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

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
    /* Early answer only; the publish step decides atomically (RENAME_NOREPLACE). */
    if ((f->flags & AJIO_CREATE_ONLY) && f->exists)
        return ajio__error(-EEXIST, "\"%s\" exists and create-only was asked", f->path);
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
    f->flags = opts != NULL ? opts->flags : 0;
    f->same = (f->flags & AJIO_SKIP_UNCHANGED) != 0;
    /* A directory handle's write (f borrowed, path its name) is resolved from the handle's fd. */
    if (f->flags & AJIO_LOCK)
        r = ajio__resolve_locked(f, path, opts, timeout_ms);
    else if (f->dir_handle != NULL)
        r = ajio__resolve_borrowed(f, opts);
    else
        r = ajio__resolve(f, path, opts);
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

int ajio__write_resolved(struct ajio_file *f, struct iovec *iov, int iovcnt)
{
    int r;

    if ((f->flags & AJIO_SKIP_UNCHANGED) && ajio__same_as_old(f, iov, iovcnt))
        return AJIO_UNCHANGED;
    f->same = false; /* decided here: the commit must not decide it again */
    r = ajio__temp_create(f);
    if (r < 0)
        return r;
    r = ajio__sync_new_dirs(f);
    if (r < 0)
        return r;
    r = ajio__writev_all(f->fd, iov, iovcnt);
    if (r < 0)
        return ajio__error_strerror(r, "write of temp for \"%s\"", f->path);
    return 0;
}

/*
 * The one-shot writes write the caller's bytes straight to the temp (one writev for text plus
 * its newline): no copy. iov is consumed. JSON and JSONL content is validated whole before
 * anything touches the filesystem, so invalid input creates nothing, not even a parent directory.
 */
int ajio__write_iov(const char *path, struct iovec *iov, int iovcnt, const ajio_opts *opts)
{
    struct iovec json_iov[4];
    struct ajio_file *f;
    int r = ajio__check_args(path, opts);

    if (r < 0)
        return r;
    r = ajio__check_content(path, opts != NULL ? opts->flags : 0, &iov, &iovcnt, json_iov);
    if (r < 0)
        return r;
    /* On the heap, as a handle is: a write must fit in a small thread stack (ajio.h, "Stack"). */
    f = ajio__new_handle(path);
    if (f == NULL)
        return -ENOMEM;
    r = ajio__start(f, path, opts, -1);
    if (r == 0)
        r = ajio__write_resolved(f, iov, iovcnt);
    if (r == 0)
        r = ajio__finish(f);
    ajio__discard(f);
    return r;
}

int ajio_write_bytes(const char *path, const void *data, size_t len, const ajio_opts *opts)
{
    struct iovec iov = {(void *)data, len};

    if (data == NULL && len > 0)
        return ajio__error(-EINVAL, "data is NULL with length %zu for \"%s\"", len,
                           path != NULL ? path : "(null)");
    return ajio__write_iov(path, &iov, 1, opts);
}

int ajio_write_text(const char *path, const char *text, const ajio_opts *opts)
{
    struct iovec iov[2];
    size_t len;

    if (text == NULL)
        return ajio__error(-EINVAL, "text is NULL for \"%s\"", path != NULL ? path : "(null)");
    len = strlen(text);
    iov[0].iov_base = (void *)text;
    iov[0].iov_len = len;
    iov[1].iov_base = (void *)"\n";
    iov[1].iov_len = 1;
    return ajio__write_iov(path, iov, len > 0 && text[len - 1] == '\n' ? 1 : 2, opts);
}

int ajio__open(ajio_file **ret_file, const char *path, const ajio_opts *opts, int timeout_ms)
{
    struct ajio_file *f;
    int r;

    if (ret_file == NULL)
        return ajio__error(-EINVAL, "ajio_open: ret_file is NULL");
    f = ajio__new_handle(path);
    if (f == NULL)
        return -ENOMEM;
    r = ajio__start(f, path, opts, timeout_ms);
    if (r < 0)
        goto fail;
    ajio__open_old(f);
    r = ajio__content_checker_new(f->path, f->flags, &f->checker);
    if (r < 0)
        goto fail;
    r = ajio__temp_create(f);
    if (r < 0)
        goto fail;
    r = ajio__sync_new_dirs(f);
    if (r < 0)
        goto fail;
    *ret_file = f;
    return 0;
fail:
    ajio__discard(f);
    return r;
}

int ajio_open(ajio_file **ret_file, const char *path, const ajio_opts *opts)
{
    return ajio__open(ret_file, path, opts, -1);
}

int ajio_write(ajio_file *f, const void *buf, size_t len)
{
    if (f == NULL)
        return ajio__error(-EINVAL, "ajio_write: handle is NULL");
    if (buf == NULL && len > 0)
        return ajio__error(-EINVAL, "ajio_write: buf is NULL with length %zu for \"%s\"", len,
                           f->path);
    /* Its generator may hold bytes not yet in the handle: these would land before them. */
    if (f->gen != NULL)
        return ajio__error(-EINVAL,
                           "ajio_write: \"%s\" is written by its JSON generator "
                           "(ajio_gen_raw() adds text)",
                           f->path);
    return ajio__file_write(f, buf, len);
}

int ajio_vprintf(ajio_file *f, const char *fmt, va_list ap)
{
    char small[512];
    char *big;
    va_list ap2;
    int n, r;

    if (f == NULL || fmt == NULL)
        return ajio__error(-EINVAL, "ajio_printf: %s is NULL", f == NULL ? "handle" : "fmt");
    if (f->gen != NULL)
        return ajio__error(-EINVAL,
                           "ajio_printf: \"%s\" is written by its JSON generator "
                           "(ajio_gen_raw() adds text)",
                           f->path);
    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return f->err =
                   ajio__error_strerror(errno != 0 ? -errno : -EINVAL, "printf to \"%s\"", f->path);
    if ((size_t)n < sizeof(small))
        return ajio__file_write(f, small, (size_t)n);
    big = malloc((size_t)n + 1);
    if (big == NULL)
        return f->err = ajio__error_strerror(-ENOMEM, "printf to \"%s\"", f->path);
    (void)vsnprintf(big, (size_t)n + 1, fmt, ap);
    r = ajio__file_write(f, big, (size_t)n);
    free(big);
    return r;
}

int ajio_printf(ajio_file *f, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = ajio_vprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int ajio_commit(ajio_file *f)
{
    int r;

    if (f == NULL)
        return ajio__error(-EINVAL, "ajio_commit: handle is NULL");
    r = ajio__finish(f);
    ajio__discard(f);
    return r;
}

void ajio_abort(ajio_file *f)
{
    if (f != NULL)
        ajio__discard(f);
}

const char *ajio_file_path(const ajio_file *f)
{
    return f != NULL ? f->path : NULL;
}

/* JSON text: the one-shot write with the content kind set (validated first, '\n' ensured). */
static int write_json_kind(const char *path, const char *text, size_t len, const ajio_opts *opts,
                           unsigned kind)
{
    ajio_opts o = {0};
    struct iovec iov = {(void *)text, len};
    int r = ajio__check_args(path, opts);

    if (r < 0)
        return r;
    if (text == NULL && len > 0)
        return ajio__error(-EINVAL, "JSON text is NULL with length %zu for \"%s\"", len, path);
    if (opts != NULL)
        o = *opts;
    o.flags = (o.flags & ~(unsigned)(AJIO_JSON | AJIO_JSONL)) | kind;
    return ajio__write_iov(path, &iov, 1, &o);
}

int ajio_write_json_text(const char *path, const char *json, size_t len, const ajio_opts *opts)
{
    return write_json_kind(path, json, len, opts, AJIO_JSON);
}

int ajio_write_jsonl_text(const char *path, const char *jsonl, size_t len, const ajio_opts *opts)
{
    return write_json_kind(path, jsonl, len, opts, AJIO_JSONL);
}

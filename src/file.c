/*
 * file.c - the one-shot writes: bytes, text and JSON text written whole through a handle
 * (handle.c) that never buffers, straight from the caller's memory.
 */
#include "internal.h"

#include <string.h>
#include <sys/uio.h>

int ajio__write_resolved(struct ajio_file *f, struct iovec *iov, int iovcnt)
{
    int r;

    if ((f->target.flags & AJIO_SKIP_UNCHANGED) && ajio__same_as_old(f, iov, iovcnt))
        return AJIO_UNCHANGED;
    f->old.same = false; /* decided here: the commit must not decide it again */
    r = ajio__temp_create(f);
    if (r < 0)
        return r;
    r = ajio__sync_new_dirs(&f->target, f->temp.fd);
    if (r < 0)
        return r;
    r = ajio__writev_all(f->temp.fd, iov, iovcnt);
    if (r < 0)
        return ajio__error_strerror(r, "write of temp for \"%s\"", f->target.path);
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

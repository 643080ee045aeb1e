/*
 * content.c - what a content kind asks of the bytes: AJIO_JSON is one JSON value, AJIO_JSONL
 * JSON Lines; other content is bytes as they are. One place owns the mapping from a kind to the
 * validator's flags, the '\n' a file of JSON ends with, and the "PATH:LINE:COL: reason" message,
 * for every write that checks content: one-shot and directory writes, batches, appends, the
 * streaming handle, the reader.
 */
#include "internal.h"

#include <inttypes.h>
#include <sys/uio.h>

/*
 * The '\n' a written file ends with is added after the validation, so an error points into the
 * caller's bytes; a JSONL last line without its '\n' is complete (it gets one), not torn.
 */
unsigned ajio__content_validator(unsigned flags)
{
    return (flags & AJIO_JSONL) ? AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED : 0;
}

int ajio__json_failed(const char *path, int r, const ajio_json_error *e)
{
    if (r == AJIO_EJSON || r == AJIO_ETORN)
        return ajio__error(r, "%s:%" PRIu64 ":%" PRIu64 ": %s", path, e->line, e->column,
                           e->reason);
    return ajio__error_strerror(r, "validation of JSON for \"%s\"", path);
}

void ajio__content_terminate(unsigned flags, struct iovec **iov, int *iovcnt, struct iovec *storage)
{
    const struct iovec *last = NULL;
    int n = *iovcnt;

    if (!(flags & (AJIO_JSON | AJIO_JSONL)))
        return;
    assert(n < 4);
    for (int i = 0; i < n; i++) {
        storage[i] = (*iov)[i];
        if (storage[i].iov_len > 0)
            last = &storage[i];
    }
    /* A file of JSON ends with '\n': one is added when missing (the caller's bytes stay). */
    if (last != NULL && ((const char *)last->iov_base)[last->iov_len - 1] != '\n') {
        storage[n].iov_base = (void *)"\n";
        storage[n++].iov_len = 1;
    }
    *iov = storage;
    *iovcnt = n;
}

int ajio__check_content(const char *path, unsigned flags, struct iovec **iov, int *iovcnt,
                        struct iovec *storage)
{
    ajio_json_error e;
    int r;

    if (!(flags & (AJIO_JSON | AJIO_JSONL)))
        return 0;
    r = ajio__json_validate_iov(*iov, *iovcnt, ajio__content_validator(flags), &e);
    if (r < 0)
        return ajio__json_failed(path, r, &e);
    if (storage != NULL)
        ajio__content_terminate(flags, iov, iovcnt, storage);
    return 0;
}

int ajio__content_checker_new(const char *path, unsigned flags, ajio_json_checker **ret)
{
    int r;

    *ret = NULL;
    if (!(flags & (AJIO_JSON | AJIO_JSONL)))
        return 0;
    r = ajio_json_checker_new(ret, ajio__content_validator(flags), 0);
    if (r < 0)
        return ajio__error_strerror(r, "validator for \"%s\"", path);
    return 0;
}

int ajio__content_checker_failed(const char *path, ajio_json_checker *c, int r)
{
    ajio_json_error e;

    (void)ajio_json_checker_error(c, &e);
    return ajio__json_failed(path, r, &e);
}

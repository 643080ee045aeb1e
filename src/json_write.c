/*
 * json_write.c - atomic writes of JSON and JSONL text: validate the whole input first, then write
 * it with a trailing '\n' ensured.
 *
 * Validation comes before anything touches the filesystem, so invalid input creates nothing: no
 * temp file, no missing parent directory. The caller's bytes are never copied into a new buffer:
 * the text and, when missing, its '\n' go out in one writev straight from the caller's memory.
 */
#include "internal.h"

#include <inttypes.h>
#include <sys/uio.h>

/* "path:line:col: reason" for invalid input; the validator's own errors (-EINVAL, -ENOMEM) as is. */
static int validation_failed(const char *path, int r, const ajio_json_error *e)
{
    if (r == AJIO_EJSON || r == AJIO_ETORN)
        return ajio__set_message(r, "%s:%" PRIu64 ":%" PRIu64 ": %s", path, e->line, e->column,
                                 e->reason);
    return ajio__set_error(r, "validation of JSON for \"%s\"", path);
}

static int write_terminated(const char *path, const char *text, size_t len,
                            const ajio_opts *opts)
{
    struct iovec iov[2] = {{(void *)text, len}, {(void *)"\n", 1}};

    return ajio__write_iov(path, iov, len > 0 && text[len - 1] == '\n' ? 1 : 2, opts);
}

/* The argument checks of every write, before validation: validation messages need the path. */
static int check_input(const char *path, const char *text, size_t len, const ajio_opts *opts)
{
    int r = ajio__check_args(path, opts);

    if (r < 0)
        return r;
    if (text == NULL && len > 0)
        return ajio__set_message(-EINVAL, "JSON text is NULL with length %zu for \"%s\"", len,
                                 path);
    return 0;
}

int ajio_write_json_text(const char *path, const char *json, size_t len, const ajio_opts *opts)
{
    ajio_json_error e;
    int r = check_input(path, json, len, opts);

    if (r < 0)
        return r;
    r = ajio_json_validate(json, len, 0, &e);
    if (r < 0)
        return validation_failed(path, r, &e);
    return write_terminated(path, json, len, opts);
}

int ajio_write_jsonl_text(const char *path, const char *jsonl, size_t len, const ajio_opts *opts)
{
    ajio_json_error e;
    int r = check_input(path, jsonl, len, opts);

    if (r < 0)
        return r;
    /* Writing is not appending: a last line without '\n' is a complete line, and gets one. */
    r = ajio_json_validate(jsonl, len, AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED, &e);
    if (r < 0)
        return validation_failed(path, r, &e);
    /* No lines, no bytes: an empty JSONL file is valid and holds no newline either. */
    if (len == 0)
        return ajio_write_bytes(path, "", 0, opts);
    return write_terminated(path, jsonl, len, opts);
}

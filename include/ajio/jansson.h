/*
 * ajio/jansson.h - atomic JSON and JSONL files from jansson values (header-only).
 *
 *     #include <ajio/jansson.h>      cc app.c -lajio -ljansson
 *
 * Header-only on purpose (see ajio/emit.h): no extra library, no ABI, and it works with whichever
 * jansson version the program is built with. Every function streams the value into the temp file
 * of an ajio_open() handle through jansson's own json_dump_callback(): the output is never held
 * whole in memory, and nothing is visible at path before the commit.
 *
 * Validation: jansson itself guarantees most of what the other adapters must check. json_real()
 * refuses NaN and infinities, so they cannot be in a tree; json_dump_callback() checks the UTF-8
 * of every string value as it prints (json_string_nocheck ones too) and fails on a reference
 * cycle. Such a failure becomes AJIO_EJSON here. The one gap: an object key that is not UTF-8
 * (only the *_nocheck setters can add one; jansson makes valid UTF-8 the caller's duty there) is
 * dropped by jansson 2.14 mid-string without an error, leaving a broken document.
 * Running every write through an ajio_json_checker costs about 10% of the write's time (see
 * docs/adapters.md), so it is not the default: add AJIO_JANSSON_VALIDATE to ajio_write_json()'s
 * dump_flags to have the output checked as it streams, e.g. when keys come from outside.
 *
 * Return values of every function are those of ajio_write_bytes(): 0, AJIO_UNCHANGED (with
 * AJIO_SKIP_UNCHANGED), AJIO_ENOTDURABLE, a negative errno, plus AJIO_EJSON when jansson refuses
 * to encode the value. On any failure the target is untouched, no temp file remains and
 * ajio_last_error() tells why.
 */
#ifndef AJIO_JANSSON_H
#define AJIO_JANSSON_H

#include <ajio/emit.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The layout ajio_write_json() uses for dump_flags 0: two-space indent, insertion order. */
#define AJIO_JANSSON_DEFAULT_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER)

/* The layout of one JSONL line. */
#define AJIO_JANSSON_LINE_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

/*
 * ajio_write_json() dump flag (not passed to jansson): validate the output with an
 * ajio_json_checker as it streams. A bit far above jansson's own (which end at 0x10000).
 */
#define AJIO_JANSSON_VALIDATE ((size_t)1 << 30)

/* json_dump_callback() gives many small pieces: they go to the staging area of the emitter. */
static inline int ajio_jansson__piece(const char *buf, size_t size, void *data)
{
    return ajio_emit_raw((ajio_emit *)data, buf, size) < 0 ? -1 : 0;
}

/* One value through jansson's printer; its own failure (not ours) means it refused the value. */
static inline int ajio_jansson__dump(ajio_emit *e, const json_t *value, size_t flags)
{
    if (json_dump_callback(value, ajio_jansson__piece, e, flags | JSON_ENCODE_ANY) == 0)
        return e->err;
    if (e->err != 0)
        return e->err;
    return ajio_emit_refuse(e, "jansson could not encode the value (invalid UTF-8 in a string or "
                               "key, a reference cycle, or nesting deeper than jansson allows)");
}

/*
 * Atomically writes value as one JSON document followed by '\n'.
 *
 * Layout: dump_flags 0 means AJIO_JANSSON_DEFAULT_FLAGS: two-space indent, members in insertion
 * order ({"a": 1} becomes "{\n  \"a\": 1\n}\n"). Any other value is passed to jansson as is, with
 * JSON_ENCODE_ANY added so that a scalar root is accepted; pass JSON_ENCODE_ANY alone for jansson's
 * own flags-0 layout (one line, ", " and ": " separators). AJIO_JANSSON_VALIDATE may be added to
 * either: see the top of this file.
 *
 * @return 0, AJIO_UNCHANGED, AJIO_ENOTDURABLE, a negative errno as ajio_write_bytes();
 *   -EINVAL when value is NULL; AJIO_EJSON when jansson cannot encode the value.
 */
static inline int ajio_write_json(const char *path, const json_t *value, size_t dump_flags,
                                  const ajio_opts *opts)
{
    ajio_emit e;
    int r;

    if (value == NULL)
        return ajio_emit_bad_arg("ajio_write_json", "value is NULL", path);
    r = ajio_emit_begin(&e, path, opts, (dump_flags & AJIO_JANSSON_VALIDATE) ? 0 : -1);
    if (r < 0)
        return r;
    dump_flags &= ~AJIO_JANSSON_VALIDATE;
    (void)ajio_jansson__dump(&e, value, dump_flags != 0 ? dump_flags : AJIO_JANSSON_DEFAULT_FLAGS);
    (void)ajio_emit_byte(&e, '\n');
    return ajio_emit_end(&e);
}

/*
 * Atomically writes the elements of array as JSONL: each element compact (JSON_COMPACT, insertion
 * order) on its own line, every line ending in '\n'. An empty array gives an empty file.
 *
 * @return as ajio_write_json(); -EINVAL when array is NULL or not an array (nothing is created).
 */
static inline int ajio_write_jsonl(const char *path, const json_t *array, const ajio_opts *opts)
{
    ajio_emit e;
    size_t i, n;
    int r;

    if (array == NULL || !json_is_array(array))
        return ajio_emit_not_array("ajio_write_jsonl", path, array == NULL);
    r = ajio_emit_begin(&e, path, opts, -1);
    if (r < 0)
        return r;
    n = json_array_size(array);
    for (i = 0; i < n && e.err == 0; i++) {
        (void)ajio_jansson__dump(&e, json_array_get(array, i), AJIO_JANSSON_LINE_FLAGS);
        (void)ajio_emit_byte(&e, '\n');
    }
    return ajio_emit_end(&e);
}

/*
 * Atomically writes a JSONL file pulled value by value, without building an array: next(ctx,
 * &err) returns the next line's value as a new reference (the function json_decref()s it), or
 * NULL at the end. To fail, next sets *ret_err to a negative errno (any value it likes, e.g.
 * -ECANCELED) and returns NULL (a value returned with it is released and not written); the write
 * is then aborted, the target untouched, and that value returned. A positive *ret_err is reported
 * as -ECANCELED. *ret_err is 0 at every call.
 *
 * @return as ajio_write_jsonl(), or the callback's error; -EINVAL when next is NULL.
 */
static inline int ajio_write_jsonl_cb(const char *path, json_t *(*next)(void *ctx, int *ret_err),
                                      void *ctx, const ajio_opts *opts)
{
    ajio_emit e;
    int r;

    if (next == NULL)
        return ajio_emit_bad_arg("ajio_write_jsonl_cb", "next is NULL", path);
    r = ajio_emit_begin(&e, path, opts, -1);
    if (r < 0)
        return r;
    while (e.err == 0) {
        int cb_err = 0;
        json_t *v = next(ctx, &cb_err);

        if (cb_err != 0) {
            json_decref(v);
            (void)ajio_emit_callback_failed(&e, cb_err);
            break;
        }
        if (v == NULL)
            break;
        (void)ajio_jansson__dump(&e, v, AJIO_JANSSON_LINE_FLAGS);
        (void)ajio_emit_byte(&e, '\n');
        json_decref(v);
    }
    return ajio_emit_end(&e);
}

#ifdef __cplusplus
}
#endif

#endif /* AJIO_JANSSON_H */

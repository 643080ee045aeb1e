/*
 * ajio/cjson.h - atomic JSON and JSONL files from cJSON trees (header-only).
 *
 *     #include <ajio/cjson.h>        cc app.c -lajio -lcjson
 *
 * Header-only on purpose (see ajio/emit.h): no extra library, no ABI, and it works with whichever
 * cJSON version the program is built with.
 *
 * cJSON has no streaming printer (cJSON_Print builds the whole text in memory), so a small tree
 * walker here emits the document piece by piece into the temp file of an ajio_open() handle; the
 * output is never held whole. Numbers are printed by cJSON itself (cJSON_PrintPreallocated on the
 * number node, into a small stack buffer), so they read exactly as cJSON writes them. Strings are
 * escaped per RFC 8259 ('"', '\\' and control characters; everything else as is).
 *
 * Validation: cJSON accepts strings that are not UTF-8, prints NaN and infinities as null and
 * copies cJSON_Raw text unchecked. So every byte emitted goes through an ajio_json_checker as it
 * streams, and a NaN or infinite number is refused outright: the write fails with AJIO_EJSON, the
 * target is untouched, no temp file remains, and ajio_last_error() names the problem, e.g.
 * "data.json: NaN cannot be written as JSON (at member "x"); nothing was written".
 *
 * Return values are those of ajio_write_bytes(): 0, AJIO_UNCHANGED (with AJIO_SKIP_UNCHANGED),
 * AJIO_ENOTDURABLE, a negative errno, plus AJIO_EJSON as above.
 */
#ifndef AJIO_CJSON_H
#define AJIO_CJSON_H

#include <ajio/emit.h>
#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Layout flag of ajio_write_cjson(): one line, no spaces (as cJSON_PrintUnformatted). */
#define AJIO_CJSON_COMPACT 1u

static inline int ajio_cjson__value(ajio_emit *e, const cJSON *item, unsigned depth, int pretty);

static inline int ajio_cjson__number(ajio_emit *e, const cJSON *item)
{
    char buf[64];

    if (ajio_emit_finite(e, item->valuedouble, item->string) < 0)
        return e->err;
    if (!cJSON_PrintPreallocated((cJSON *)item, buf, (int)sizeof(buf), 0))
        return ajio_emit_refuse(e, "cJSON could not print a number");
    return ajio_emit_raw(e, buf, strlen(buf));
}

/* Arrays and objects: "[]"/"{}" when empty, else one member per line (pretty) or none. */
static inline int ajio_cjson__container(ajio_emit *e, const cJSON *item, unsigned depth,
                                        int pretty, int object)
{
    const cJSON *c;

    if (depth >= AJIO_EMIT_MAX_DEPTH)
        return ajio_emit_refuse(e, "nesting deeper than 1024 levels (or a reference cycle)");
    (void)ajio_emit_byte(e, object ? '{' : '[');
    for (c = item->child; c != NULL && e->err == 0; c = c->next) {
        if (c != item->child)
            (void)ajio_emit_byte(e, ',');
        if (pretty)
            (void)ajio_emit_newline(e, depth + 1, 2);
        if (object) {
            const char *k = c->string != NULL ? c->string : "";
            (void)ajio_emit_string(e, k, strlen(k));
            (void)ajio_emit_raw(e, ": ", pretty ? 2 : 1);
        }
        (void)ajio_cjson__value(e, c, depth + 1, pretty);
    }
    if (pretty && item->child != NULL)
        (void)ajio_emit_newline(e, depth, 2);
    (void)ajio_emit_byte(e, object ? '}' : ']');
    return e->err;
}

static inline int ajio_cjson__value(ajio_emit *e, const cJSON *item, unsigned depth, int pretty)
{
    if (e->err != 0)
        return e->err;
    if (item == NULL)
        return ajio_emit_refuse(e, "NULL cJSON item");
    switch (item->type & 0xFF) {
    case cJSON_NULL:
        return ajio_emit_raw(e, "null", 4);
    case cJSON_False:
        return ajio_emit_raw(e, "false", 5);
    case cJSON_True:
        return ajio_emit_raw(e, "true", 4);
    case cJSON_Number:
        return ajio_cjson__number(e, item);
    case cJSON_String:
        return ajio_emit_string(e, item->valuestring != NULL ? item->valuestring : "",
                                item->valuestring != NULL ? strlen(item->valuestring) : 0);
    case cJSON_Raw:
        /* Caller-supplied JSON text: copied as is, and judged by the checker like the rest. */
        if (item->valuestring == NULL)
            return ajio_emit_refuse(e, "cJSON_Raw item without text");
        return ajio_emit_raw(e, item->valuestring, strlen(item->valuestring));
    case cJSON_Array:
        return ajio_cjson__container(e, item, depth, pretty, 0);
    case cJSON_Object:
        return ajio_cjson__container(e, item, depth, pretty, 1);
    default:
        return ajio_emit_refuse(e, "invalid cJSON item type");
    }
}

/*
 * Atomically writes item as one JSON document followed by '\n'.
 *
 * Layout: layout 0 is pretty: two-space indent, ": " after keys, "[]" and "{}" when empty, members
 * in list order (the same bytes as ajio/jansson.h's default layout, apart from how each library
 * prints numbers). AJIO_CJSON_COMPACT: one line, no spaces.
 *
 * @return 0, AJIO_UNCHANGED, AJIO_ENOTDURABLE, a negative errno as ajio_write_bytes();
 *   -EINVAL when item is NULL or layout has unknown bits; AJIO_EJSON for a NaN or infinite number,
 *   a string or raw text that is not valid UTF-8/JSON, or nesting deeper than 1024.
 */
static inline int ajio_write_cjson(const char *path, const cJSON *item, unsigned layout,
                                   const ajio_opts *opts)
{
    ajio_emit e;
    int r;

    if (item == NULL || (layout & ~AJIO_CJSON_COMPACT) != 0)
        return ajio_emit_bad_arg("ajio_write_cjson",
                                 item == NULL ? "item is NULL" : "unknown layout bits", path);
    r = ajio_emit_begin(&e, path, opts, 0);
    if (r < 0)
        return r;
    (void)ajio_cjson__value(&e, item, 0, !(layout & AJIO_CJSON_COMPACT));
    (void)ajio_emit_byte(&e, '\n');
    return ajio_emit_end(&e);
}

/*
 * Atomically writes the elements of array as JSONL: each element compact on its own line, every
 * line ending in '\n'. An empty array gives an empty file.
 *
 * @return as ajio_write_cjson(); -EINVAL when array is NULL or not an array (nothing is created).
 */
static inline int ajio_write_cjsonl(const char *path, const cJSON *array, const ajio_opts *opts)
{
    ajio_emit e;
    const cJSON *c;
    int r;

    if (array == NULL || !cJSON_IsArray(array))
        return ajio_emit_not_array("ajio_write_cjsonl", path, array == NULL);
    r = ajio_emit_begin(&e, path, opts, AJIO_JSON_LINES);
    if (r < 0)
        return r;
    for (c = array->child; c != NULL && e.err == 0; c = c->next) {
        (void)ajio_cjson__value(&e, c, 0, 0);
        (void)ajio_emit_byte(&e, '\n');
    }
    return ajio_emit_end(&e);
}

/*
 * Atomically writes a JSONL file pulled value by value, without building an array: next(ctx,
 * &err) returns the next line's item, which the function owns from then on (it cJSON_Delete()s
 * it), or NULL at the end. To fail, next sets *ret_err to a negative errno and returns NULL (an
 * item returned with it is deleted and not written); the write is aborted, the target untouched,
 * and that value returned (a positive *ret_err is reported as -ECANCELED). *ret_err is 0 at every
 * call.
 *
 * @return as ajio_write_cjsonl(), or the callback's error; -EINVAL when next is NULL.
 */
static inline int ajio_write_cjsonl_cb(const char *path, cJSON *(*next)(void *ctx, int *ret_err),
                                       void *ctx, const ajio_opts *opts)
{
    ajio_emit e;
    int r;

    if (next == NULL)
        return ajio_emit_bad_arg("ajio_write_cjsonl_cb", "next is NULL", path);
    r = ajio_emit_begin(&e, path, opts, AJIO_JSON_LINES);
    if (r < 0)
        return r;
    while (e.err == 0) {
        int cb_err = 0;
        cJSON *v = next(ctx, &cb_err);

        if (cb_err != 0) {
            cJSON_Delete(v);
            (void)ajio_emit_callback_failed(&e, cb_err);
            break;
        }
        if (v == NULL)
            break;
        (void)ajio_cjson__value(&e, v, 0, 0);
        (void)ajio_emit_byte(&e, '\n');
        cJSON_Delete(v);
    }
    return ajio_emit_end(&e);
}

#ifdef __cplusplus
}
#endif

#endif /* AJIO_CJSON_H */

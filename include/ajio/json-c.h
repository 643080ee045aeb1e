/*
 * ajio/json-c.h - atomic JSON and JSONL files from json-c objects (header-only).
 *
 *     #include <ajio/json-c.h>       cc app.c -lajio -ljson-c
 *
 * Header-only on purpose (see ajio/emit.h): no extra library, no ABI, and it works with whichever
 * json-c version the program is built with.
 *
 * json-c's printer builds the whole text in memory, so a small tree walker here emits the document
 * piece by piece into the temp file of an ajio_open() handle; the output is never held whole.
 * Numbers read as json-c writes them: integers in decimal (unsigned 64-bit values included); a
 * double through json-c's own serializer (json_object_to_json_string_length on the double: the
 * text it was parsed from, or json-c's "%.17g" with ".0" added to integral values, or a format set
 * with json_c_set_serialization_double_format). json-c caches that short text on the double, as it
 * does for any object it prints. Strings are escaped per RFC 8259 ('"', '\\' and control
 * characters); unlike json-c, '/' is not escaped (JSON does not require it). Custom serializers set
 * with json_object_set_serializer are called for doubles only.
 *
 * Validation: json-c prints NaN and infinities as the invalid words NaN and Infinity, and accepts
 * strings that are not UTF-8. So a NaN or infinite double is refused outright, and every byte
 * emitted goes through an ajio_json_checker as it streams: the write fails with AJIO_EJSON, the
 * target is untouched, no temp file remains, and ajio_last_error() names the problem, e.g.
 * "data.json: NaN cannot be written as JSON (at member "x"); nothing was written".
 *
 * Return values are those of ajio_write_bytes(): 0, AJIO_UNCHANGED (with AJIO_SKIP_UNCHANGED),
 * AJIO_ENOTDURABLE, a negative errno, plus AJIO_EJSON as above.
 */
#ifndef AJIO_JSON_C_H
#define AJIO_JSON_C_H

#include <ajio/emit.h>
#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Layout flag of ajio_write_jsonc(): one line, no spaces. */
#define AJIO_JSONC_COMPACT 1u

static inline int ajio_jsonc__value(ajio_emit *e, struct json_object *v, const char *key,
                                    unsigned depth, int pretty);

static inline int ajio_jsonc__double(ajio_emit *e, struct json_object *v, const char *key)
{
    const char *s;
    size_t len = 0;

    if (ajio_emit_finite(e, json_object_get_double(v), key) < 0)
        return e->err;
    s = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &len);
    if (s == NULL)
        return ajio_emit_fail(e, ajio_set_last_error(-ENOMEM, "%s: json-c could not print a "
                                                              "number", ajio_file_path(e->f)));
    return ajio_emit_raw(e, s, len);
}

static inline int ajio_jsonc__int(ajio_emit *e, struct json_object *v)
{
    char buf[32];
    int64_t i = json_object_get_int64(v);
    int n;

    /* json-c clamps a uint64 above INT64_MAX to INT64_MAX here; the unsigned getter has it. */
    if (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
        n = snprintf(buf, sizeof(buf), "%" PRIu64, json_object_get_uint64(v));
    else
        n = snprintf(buf, sizeof(buf), "%" PRId64, i);
    return ajio_emit_raw(e, buf, (size_t)n);
}

static inline int ajio_jsonc__array(ajio_emit *e, struct json_object *v, unsigned depth,
                                    int pretty)
{
    size_t n = json_object_array_length(v);

    (void)ajio_emit_byte(e, '[');
    for (size_t i = 0; i < n && e->err == 0; i++) {
        if (i > 0)
            (void)ajio_emit_byte(e, ',');
        if (pretty)
            (void)ajio_emit_newline(e, depth + 1, 2);
        (void)ajio_jsonc__value(e, json_object_array_get_idx(v, i), NULL, depth + 1, pretty);
    }
    if (pretty && n > 0)
        (void)ajio_emit_newline(e, depth, 2);
    return ajio_emit_byte(e, ']');
}

static inline int ajio_jsonc__object(ajio_emit *e, struct json_object *v, unsigned depth,
                                     int pretty)
{
    int first = 1;

    (void)ajio_emit_byte(e, '{');
    json_object_object_foreach(v, k, m)
    {
        if (e->err != 0)
            break;
        if (!first)
            (void)ajio_emit_byte(e, ',');
        if (pretty)
            (void)ajio_emit_newline(e, depth + 1, 2);
        (void)ajio_emit_string(e, k, strlen(k));
        (void)ajio_emit_raw(e, ": ", pretty ? 2 : 1);
        (void)ajio_jsonc__value(e, m, k, depth + 1, pretty);
        first = 0;
    }
    if (pretty && !first)
        (void)ajio_emit_newline(e, depth, 2);
    return ajio_emit_byte(e, '}');
}

/* key: the member name v is the value of, or NULL; only for messages. */
static inline int ajio_jsonc__value(ajio_emit *e, struct json_object *v, const char *key,
                                    unsigned depth, int pretty)
{
    if (e->err != 0)
        return e->err;
    if (depth >= AJIO_EMIT_MAX_DEPTH)
        return ajio_emit_refuse(e, "nesting deeper than 1024 levels (or a reference cycle)");
    switch (json_object_get_type(v)) {
    case json_type_null:
        return ajio_emit_raw(e, "null", 4);
    case json_type_boolean:
        return json_object_get_boolean(v) ? ajio_emit_raw(e, "true", 4)
                                          : ajio_emit_raw(e, "false", 5);
    case json_type_int:
        return ajio_jsonc__int(e, v);
    case json_type_double:
        return ajio_jsonc__double(e, v, key);
    case json_type_string:
        return ajio_emit_string(e, json_object_get_string(v),
                                (size_t)json_object_get_string_len(v));
    case json_type_array:
        return ajio_jsonc__array(e, v, depth, pretty);
    case json_type_object:
        return ajio_jsonc__object(e, v, depth, pretty);
    default:
        return ajio_emit_refuse(e, "unknown json-c object type");
    }
}

/*
 * Atomically writes obj as one JSON document followed by '\n'. obj NULL is JSON null, as in json-c.
 *
 * Layout: layout 0 is pretty: two-space indent, ": " after keys, "[]" and "{}" when empty, members
 * in insertion order (the same bytes as ajio/jansson.h's default layout, apart from how each
 * library prints numbers). AJIO_JSONC_COMPACT: one line, no spaces.
 *
 * @return 0, AJIO_UNCHANGED, AJIO_ENOTDURABLE, a negative errno as ajio_write_bytes();
 *   -EINVAL when layout has unknown bits; AJIO_EJSON for a NaN or infinite double, a string that
 *   is not valid UTF-8, or nesting deeper than 1024.
 */
static inline int ajio_write_jsonc(const char *path, struct json_object *obj, unsigned layout,
                                   const ajio_opts *opts)
{
    ajio_emit e;
    int r;

    if ((layout & ~AJIO_JSONC_COMPACT) != 0)
        return ajio_emit_bad_arg("ajio_write_jsonc", "unknown layout bits", path);
    r = ajio_emit_begin(&e, path, opts, 0);
    if (r < 0)
        return r;
    (void)ajio_jsonc__value(&e, obj, NULL, 0, !(layout & AJIO_JSONC_COMPACT));
    (void)ajio_emit_byte(&e, '\n');
    return ajio_emit_end(&e);
}

/*
 * Atomically writes the elements of array as JSONL: each element compact on its own line, every
 * line ending in '\n'. An empty array gives an empty file.
 *
 * @return as ajio_write_jsonc(); -EINVAL when array is not an array (NULL included; nothing is
 *   created).
 */
static inline int ajio_write_jsoncl(const char *path, struct json_object *array,
                                    const ajio_opts *opts)
{
    ajio_emit e;
    size_t n;
    int r;

    if (!json_object_is_type(array, json_type_array))
        /* NULL is json-c's null, so it too is "not an array". */
        return ajio_emit_not_array("ajio_write_jsoncl", path, 0);
    r = ajio_emit_begin(&e, path, opts, AJIO_JSON_LINES);
    if (r < 0)
        return r;
    n = json_object_array_length(array);
    for (size_t i = 0; i < n && e.err == 0; i++) {
        (void)ajio_jsonc__value(&e, json_object_array_get_idx(array, i), NULL, 0, 0);
        (void)ajio_emit_byte(&e, '\n');
    }
    return ajio_emit_end(&e);
}

/*
 * Atomically writes a JSONL file pulled value by value, without building an array. Since NULL is
 * a value in json-c (null), the callback reports through its return value: next(ctx, &v) returns
 * 1 with v set to the next line's value (a reference the function json_object_put()s; NULL writes
 * null), 0 at the end, or a negative errno to fail: the write is then aborted, the target
 * untouched, and that value returned (any v set with it is released).
 *
 * @return as ajio_write_jsoncl(), or the callback's error; -EINVAL when next is NULL.
 */
static inline int ajio_write_jsoncl_cb(const char *path,
                                       int (*next)(void *ctx, struct json_object **ret_value),
                                       void *ctx, const ajio_opts *opts)
{
    ajio_emit e;
    int r;

    if (next == NULL)
        return ajio_emit_bad_arg("ajio_write_jsoncl_cb", "next is NULL", path);
    r = ajio_emit_begin(&e, path, opts, AJIO_JSON_LINES);
    if (r < 0)
        return r;
    while (e.err == 0) {
        struct json_object *v = NULL;
        int got = next(ctx, &v);

        if (got < 0) {
            json_object_put(v);
            (void)ajio_emit_callback_failed(&e, got);
            break;
        }
        if (got == 0) {
            json_object_put(v);
            break;
        }
        (void)ajio_jsonc__value(&e, v, NULL, 0, 0);
        (void)ajio_emit_byte(&e, '\n');
        json_object_put(v);
    }
    return ajio_emit_end(&e);
}

#ifdef __cplusplus
}
#endif

#endif /* AJIO_JSON_C_H */

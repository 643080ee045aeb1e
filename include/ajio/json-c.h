/*
 * ajio/json-c.h - atomic JSON and JSONL files from json-c objects (header-only).
 *
 *     #include <ajio/json-c.h>       cc app.c -lajio -ljson-c
 *
 * A thin tree walker over libajio's JSON generator (ajio_gen_*, in <ajio.h>): each object goes
 * to the generator, which formats it straight into the buffer of an ajio_file_open() handle, so the
 * output is never held whole (json-c's printer builds it all in memory) and nothing is visible at
 * path before the commit. Header-only on purpose: libajio links libc only and never sees json-c,
 * and this code is compiled against the program's own json-c headers (docs/adapters.md).
 *
 * Numbers read as json-c writes them: integers in decimal (unsigned 64-bit values included); a
 * double through json-c's own serializer (json_object_to_json_string_length on the double: the
 * text it was parsed from, or json-c's "%.17g" with ".0" added to integral values, or a format
 * set with json_c_set_serialization_double_format), checked by the generator as a JSON number.
 * json-c caches that short text on the double, as it does for any object it prints. Strings are
 * escaped per RFC 8259 ('"', '\\' and control characters); unlike json-c, '/' is not escaped
 * (JSON does not require it). Custom serializers set with json_object_set_serializer are called
 * for doubles only.
 *
 * Validation: json-c prints NaN and infinities as the invalid words NaN and Infinity, and accepts
 * strings that are not UTF-8. The generator refuses both: the write fails with AJIO_EJSON, the
 * target is untouched, no temp file remains, and ajio_last_error() names the problem and its
 * place, e.g. "JSON generation for "data.json": NaN cannot be written as JSON (at .x)". Nesting
 * deeper than 1024 levels (or a reference cycle) is refused the same way.
 *
 * Return values are those of ajio_write_bytes(): 0, AJIO_UNCHANGED (with AJIO_SKIP_UNCHANGED),
 * AJIO_ENOTDURABLE, a negative errno, plus AJIO_EJSON as above.
 */
#ifndef AJIO_JSON_C_H
#define AJIO_JSON_C_H

#include <ajio.h>
#include <json-c/json.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flag of ajio_jsonc_write(): one line, no spaces. */
#define AJIO_JSONC_COMPACT 1u

/* Deepest nesting written (1024 levels pass); it also stops a reference cycle. */
#define AJIO_JSONC_MAX_DEPTH AJIO_GEN_DEFAULT_MAX_DEPTH

static inline int ajio_jsonc__value(ajio_gen *g, struct json_object *v, unsigned depth);

static inline int ajio_jsonc__double(ajio_gen *g, struct json_object *v)
{
    const char *s;
    size_t len = 0;
    unsigned char seen = 0;

    s = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &len);
    if (s == NULL)
        return ajio_gen_fail(g, -ENOMEM, "json-c could not print a number");
    /*
     * Up to 24 characters of digits, sign and point are a finite number whatever they say; only
     * a longer text or one with letters (an exponent, "NaN", "Infinity": every letter has bit
     * 0x40, no digit or sign has) needs the value looked at, to refuse what is not finite with
     * the generator's own message and place.
     */
    if (len >= 8 && len <= 24) {
        uint64_t w = 0, x;
        for (size_t i = 0; i + 8 <= len; i += 8) {
            memcpy(&x, s + i, 8);
            w |= x;
        }
        memcpy(&x, s + len - 8, 8); /* the tail, overlapping */
        seen = (w | x) & 0x4040404040404040ULL ? 0x40 : 0;
    } else {
        for (size_t i = 0; i < len && i < 25; i++)
            seen |= (unsigned char)s[i];
    }
    if (len > 24 || (seen & 0x40)) {
        double d = json_object_get_double(v);
        if (!isfinite(d))
            return ajio_gen_double(g, d);
    }
    return ajio_gen_number(g, s, len); /* which checks the text against the number grammar */
}

static inline int ajio_jsonc__int(ajio_gen *g, struct json_object *v)
{
    int64_t i = json_object_get_int64(v);

    /* json-c clamps a uint64 above INT64_MAX to INT64_MAX here; the unsigned getter has it. */
    if (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
        return ajio_gen_uint64(g, json_object_get_uint64(v));
    return ajio_gen_int64(g, i);
}

static inline int ajio_jsonc__array(ajio_gen *g, struct json_object *v, unsigned depth)
{
    size_t n = json_object_array_length(v);
    int r;

    if ((r = ajio_gen_begin_array(g)) < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if ((r = ajio_jsonc__value(g, json_object_array_get_idx(v, i), depth + 1)) < 0)
            return r;
    return ajio_gen_end_array(g);
}

static inline int ajio_jsonc__object(ajio_gen *g, struct json_object *v, unsigned depth)
{
    int r;

    if ((r = ajio_gen_begin_object(g)) < 0)
        return r;
    json_object_object_foreach(v, k, m)
    {
        if ((r = ajio_gen_key(g, k, strlen(k))) < 0 || (r = ajio_jsonc__value(g, m, depth + 1)) < 0)
            return r;
    }
    return ajio_gen_end_object(g);
}

static inline int ajio_jsonc__value(ajio_gen *g, struct json_object *v, unsigned depth)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return ajio_gen_null(g);
    case json_type_boolean:
        return ajio_gen_bool(g, json_object_get_boolean(v));
    case json_type_int:
        return ajio_jsonc__int(g, v);
    case json_type_double:
        return ajio_jsonc__double(g, v);
    case json_type_string:
        return ajio_gen_string(g, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    case json_type_array:
    case json_type_object:
        if (depth >= AJIO_JSONC_MAX_DEPTH)
            return ajio_gen_fail(g, AJIO_EJSON,
                                 "nesting deeper than %d levels (or a reference "
                                 "cycle)",
                                 AJIO_JSONC_MAX_DEPTH);
        if (json_object_get_type(v) == json_type_array)
            return ajio_jsonc__array(g, v, depth);
        return ajio_jsonc__object(g, v, depth);
    default:
        return ajio_gen_fail(g, AJIO_EJSON, "unknown json-c object type");
    }
}

static inline int ajio_jsonc__bad_arg(const char *fn, const char *what, const char *path)
{
    return ajio_set_last_error(-EINVAL, "%s: %s for \"%s\"", fn, what,
                               path != NULL ? path : "(null)");
}

/* Opens path with a generator: pretty (two spaces), compact, or JSON Lines. */
static inline int ajio_jsonc__open(ajio_file **ret_f, ajio_gen **ret_g, const char *path,
                                   unsigned flags, int lines, const ajio_opts *opts)
{
    ajio_gen_opts go;

    memset(&go, 0, sizeof(go));
    go.flags = lines                          ? AJIO_GEN_LINES
               : (flags & AJIO_JSONC_COMPACT) ? AJIO_GEN_COMPACT
                                              : AJIO_GEN_PRETTY;
    go.indent = lines || (flags & AJIO_JSONC_COMPACT) ? 0 : 2;
    go.max_depth = AJIO_JSONC_MAX_DEPTH + 1; /* the walker's own limit comes first */
    return ajio_gen_open(ret_f, ret_g, path, opts, &go);
}

/*
 * Atomically writes obj as one JSON document followed by '\n'. obj NULL is JSON null, as in
 * json-c.
 *
 * Layout: flags 0 is pretty: two-space indent, ": " after keys, "[]" and "{}" when empty, members
 * in insertion order (the same bytes as ajio/jansson.h's default layout, apart from how each
 * library prints numbers). AJIO_JSONC_COMPACT: one line, no spaces.
 *
 * @return 0, AJIO_UNCHANGED, AJIO_ENOTDURABLE, a negative errno as ajio_write_bytes();
 *   -EINVAL when flags has unknown bits; AJIO_EJSON for a NaN or infinite double, a string that
 *   is not valid UTF-8, or nesting deeper than 1024.
 */
static inline int ajio_jsonc_write(const char *path, struct json_object *obj, unsigned flags,
                                   const ajio_opts *opts)
{
    ajio_file *f;
    ajio_gen *g;
    int r;

    if ((flags & ~AJIO_JSONC_COMPACT) != 0)
        return ajio_jsonc__bad_arg("ajio_jsonc_write", "unknown flags", path);
    if ((r = ajio_jsonc__open(&f, &g, path, flags, 0, opts)) < 0)
        return r;
    (void)ajio_jsonc__value(g, obj, 0);
    return ajio_file_commit(f); /* the generator's first error, if any; the commit's otherwise */
}

/*
 * Atomically writes the elements of array as JSON Lines: each element compact on its own line,
 * every line ending in '\n'. An empty array gives an empty file. flags: 0 or AJIO_JSONC_COMPACT
 * (the same: a line is compact).
 *
 * @return as ajio_jsonc_write(); -EINVAL when array is not an array (NULL included; nothing is
 *   created).
 */
static inline int ajio_jsonc_write_lines(const char *path, struct json_object *array,
                                         unsigned flags, const ajio_opts *opts)
{
    ajio_file *f;
    ajio_gen *g;
    size_t n;
    int r = 0;

    /* NULL is json-c's null, so it too is "not an array". */
    if (!json_object_is_type(array, json_type_array) || (flags & ~AJIO_JSONC_COMPACT) != 0)
        return ajio_jsonc__bad_arg(
            "ajio_jsonc_write_lines",
            json_object_is_type(array, json_type_array) ? "unknown flags" : "value is not an array",
            path);
    if ((r = ajio_jsonc__open(&f, &g, path, flags, 1, opts)) < 0)
        return r;
    n = json_object_array_length(array);
    for (size_t i = 0; i < n && r == 0; i++)
        r = ajio_jsonc__value(g, json_object_array_get_idx(array, i), 0);
    return ajio_file_commit(f);
}

/*
 * Atomically writes a JSON Lines file pulled value by value, without building an array. Since
 * NULL is a value in json-c (null), the callback reports through its return value: next(ctx, &v)
 * returns 1 with v set to the next line's value (a reference the function json_object_put()s;
 * NULL writes null), 0 at the end, or a negative errno to fail: the write is then aborted, the
 * target untouched, and that value returned (any v set with it is released). flags as
 * ajio_jsonc_write_lines().
 *
 * @return as ajio_jsonc_write_lines(), or the callback's error; -EINVAL when next is NULL.
 */
static inline int ajio_jsonc_write_lines_cb(const char *path,
                                            int (*next)(void *ctx, struct json_object **ret_value),
                                            void *ctx, unsigned flags, const ajio_opts *opts)
{
    ajio_file *f;
    ajio_gen *g;
    int r;

    if (next == NULL || (flags & ~AJIO_JSONC_COMPACT) != 0)
        return ajio_jsonc__bad_arg("ajio_jsonc_write_lines_cb",
                                   next == NULL ? "next is NULL" : "unknown flags", path);
    if ((r = ajio_jsonc__open(&f, &g, path, flags, 1, opts)) < 0)
        return r;
    while (r == 0) {
        struct json_object *v = NULL;
        int got = next(ctx, &v);

        if (got < 0) {
            json_object_put(v);
            (void)ajio_gen_fail(g, got, "the value callback failed (%s); nothing was written",
                                ajio_strerror(got));
            break;
        }
        if (got == 0) {
            json_object_put(v);
            break;
        }
        r = ajio_jsonc__value(g, v, 0);
        json_object_put(v);
    }
    return ajio_file_commit(f);
}

#ifdef __cplusplus
}
#endif

#endif /* AJIO_JSON_C_H */

/*
 * ajio/jansson.h - atomic JSON and JSONL files from jansson values (header-only).
 *
 *     #include <ajio/jansson.h>      cc app.c -lajio -ljansson
 *
 * A thin tree walker over libajio's JSON generator (ajio_gen_*, in <ajio.h>): it hands each
 * value of the tree to the generator, which formats it straight into the buffer of an
 * ajio_file_open() handle. The output is never held whole in memory, and nothing is visible at path
 * before the commit. Header-only on purpose: libajio links libc only and never sees jansson, and
 * this code is compiled against the program's own jansson headers, whichever version they are
 * (see docs/adapters.md).
 *
 * The bytes are exactly those json_dumpb() prints with the same flags. For every flag but
 * JSON_SORT_KEYS and JSON_EMBED the generator is simply configured as jansson lays out: what
 * that reproduces, from jansson 2.14's dump.c and strconv.c:
 *   - layout: JSON_INDENT(n), n > 0: "\n" and depth * n spaces before each member and before
 *     the closing bracket; without, ", " and ": " (JSON_COMPACT: "," and ":", with or without an
 *     indent). Empty containers are "[]" and "{}". Members in the object's iteration order,
 *     which is insertion order since jansson 2.8 (JSON_PRESERVE_ORDER changes nothing).
 *   - strings: '"' and '\\' as \" and \\; \b \f \n \r \t; other bytes below 0x20 (NUL included:
 *     json_stringn) as \u00XX in upper-case hex; U+007F and U+2028/U+2029 as they are.
 *     JSON_ESCAPE_SLASH: '/' as \/. JSON_ENSURE_ASCII: every code point above U+007F as \uXXXX,
 *     above U+FFFF as a surrogate pair.
 *   - integers: plain decimal. reals: "%.17g", or "%.<n>g" with JSON_REAL_PRECISION(n); '.'
 *     whatever the locale; ".0" added when there is neither '.' nor 'e'; the exponent without
 *     '+' and leading zeros (1e+300 -> 1e300). (A jansson built with its optional dtoa prints
 *     shortest forms instead; Debian's and the default build do not.)
 * JSON_SORT_KEYS, JSON_EMBED and bits this header does not know go to jansson's own
 * json_dump_callback(), whose pieces are written with ajio_file_write().
 *
 * Validation: json_real() refuses NaN and infinities, so they cannot be in a tree. The generator
 * checks every string value and object key as strict UTF-8, and the walker refuses a reference
 * cycle, as jansson's printer does for values and cycles; such a failure is AJIO_EJSON, with the
 * place in the message ("... an object key is not valid UTF-8 (byte 0xFF at offset 4) (at .a)").
 * (jansson 2.14's own printer drops an object key that is not UTF-8 mid-string without an error,
 * leaving a broken document: with JSON_SORT_KEYS or JSON_EMBED that hole remains; only the
 * *_nocheck setters can add such a key.) AJIO_JANSSON_VALIDATE in the flags has the whole output
 * checked again as it streams (the handle's AJIO_JSON/AJIO_JSONL): the one way to catch that hole.
 *
 * Return values of every function are those of ajio_write_bytes(): 0, AJIO_UNCHANGED (with
 * AJIO_SKIP_UNCHANGED), AJIO_ENOTDURABLE, a negative errno, plus AJIO_EJSON when the value cannot
 * be encoded. On any failure the target is untouched, no temp file remains and ajio_last_error()
 * tells why.
 */
#ifndef AJIO_JANSSON_H
#define AJIO_JANSSON_H

#include <ajio.h>
#include <jansson.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The layout ajio_jansson_write() uses for flags 0: two-space indent, insertion order. */
#define AJIO_JANSSON_DEFAULT_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER)

/* The layout of one JSONL line, for flags 0 of the _lines functions. */
#define AJIO_JANSSON_LINE_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

/*
 * A flag of ours (not passed to jansson): validate the output once more as it streams. A bit far
 * above jansson's own (which end at 0x10000).
 */
#define AJIO_JANSSON_VALIDATE ((size_t)1 << 30)

/* The dump flags the generator reproduces; any other bit goes to jansson's printer. */
#define AJIO_JANSSON__GEN_FLAGS                                                                    \
    ((size_t)JSON_MAX_INDENT | JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER |            \
     JSON_ENCODE_ANY | JSON_ESCAPE_SLASH | JSON_REAL_PRECISION(31))

/* The containers being printed, innermost first: the walker's cycle check. */
typedef struct ajio_jansson__path {
    const json_t *v;
    const struct ajio_jansson__path *up;
} ajio_jansson__path;

static inline int ajio_jansson__value(ajio_gen *g, const json_t *v, const ajio_jansson__path *up);

/*
 * jansson keeps a set of the containers being printed and refuses one it is already inside; the
 * walker looks it up in the same path, kept as a list on the stack (linear in the depth, a
 * handful of levels in real documents). There is no depth limit, as in jansson's printer.
 */
static inline int ajio_jansson__enter(ajio_gen *g, const json_t *v, const ajio_jansson__path *up)
{
    for (; up != NULL; up = up->up)
        if (up->v == v)
            return ajio_gen_fail(g, AJIO_EJSON,
                                 "jansson could not encode the value: it contains "
                                 "itself (a reference cycle)");
    return 0;
}

static inline int ajio_jansson__array(ajio_gen *g, const json_t *v, const ajio_jansson__path *up)
{
    ajio_jansson__path here = {v, up};
    size_t n = json_array_size(v);
    int r;

    if ((r = ajio_gen_begin_array(g)) < 0 || (r = ajio_jansson__enter(g, v, up)) < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if ((r = ajio_jansson__value(g, json_array_get(v, i), &here)) < 0)
            return r;
    return ajio_gen_end_array(g);
}

static inline int ajio_jansson__object(ajio_gen *g, const json_t *v, const ajio_jansson__path *up)
{
    ajio_jansson__path here = {v, up};
    void *it;
    int r;

    if ((r = ajio_gen_begin_object(g)) < 0 || (r = ajio_jansson__enter(g, v, up)) < 0)
        return r;
    for (it = json_object_iter((json_t *)v); it != NULL;
         it = json_object_iter_next((json_t *)v, it)) {
        const char *key = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
        size_t key_len = json_object_iter_key_len(it); /* keys may hold NUL since 2.14 */
#else
        size_t key_len = strlen(key);
#endif
        if ((r = ajio_gen_key(g, key, key_len)) < 0 ||
            (r = ajio_jansson__value(g, json_object_iter_value(it), &here)) < 0)
            return r;
    }
    return ajio_gen_end_object(g);
}

static inline int ajio_jansson__value(ajio_gen *g, const json_t *v, const ajio_jansson__path *up)
{
    if (v == NULL)
        return ajio_gen_fail(g, AJIO_EJSON, "jansson could not encode the value: a NULL json_t");
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return ajio_jansson__object(g, v, up);
    case JSON_ARRAY:
        return ajio_jansson__array(g, v, up);
    case JSON_STRING:
        return ajio_gen_string(g, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return ajio_gen_int64(g, (int64_t)json_integer_value(v));
    case JSON_REAL:
        return ajio_gen_double(g, json_real_value(v));
    case JSON_TRUE:
        return ajio_gen_bool(g, 1);
    case JSON_FALSE:
        return ajio_gen_bool(g, 0);
    case JSON_NULL:
        return ajio_gen_null(g);
    default:
        return ajio_gen_fail(g, AJIO_EJSON, "jansson could not encode the value: unknown type");
    }
}

/* jansson's dump flags as generator options (lines: one JSON Lines line per value). */
static inline void ajio_jansson__gen_opts(ajio_gen_opts *o, size_t flags, int lines)
{
    unsigned indent = (unsigned)(flags & JSON_MAX_INDENT);
    unsigned prec = (unsigned)(flags >> 11) & 0x1F;

    memset(o, 0, sizeof(*o));
    o->flags = (indent > 0 ? AJIO_GEN_PRETTY : 0) | (lines ? AJIO_GEN_LINES : 0) |
               ((flags & JSON_COMPACT) ? AJIO_GEN_COMPACT : 0) |
               ((flags & JSON_ENSURE_ASCII) ? AJIO_GEN_ENSURE_ASCII : 0) |
               ((flags & JSON_ESCAPE_SLASH) ? AJIO_GEN_ESCAPE_SLASH : 0);
    o->indent = (int)indent;
    if (lines && !(flags & JSON_COMPACT)) {
        /* jansson's one-line layout, which JSON Lines would otherwise make compact */
        o->item_sep = ", ";
        o->key_sep = ": ";
    }
    o->double_precision = prec != 0 ? (int)prec : 17;
    o->max_depth = UINT_MAX; /* jansson's printer has no limit either */
}

/* Opens path with a generator laid out as flags say. @return 0, or the error (nothing open). */
static inline int ajio_jansson__open(ajio_file **ret_f, ajio_gen **ret_g, const char *path,
                                     size_t flags, int lines, const ajio_opts *opts)
{
    ajio_opts o;
    ajio_gen_opts go;

    if (opts != NULL)
        o = *opts;
    else
        memset(&o, 0, sizeof(o));
    if (flags & AJIO_JANSSON_VALIDATE)
        o.flags |= lines ? AJIO_JSONL : AJIO_JSON;
    if (ret_g == NULL)
        return ajio_file_open(ret_f, path, &o);
    ajio_jansson__gen_opts(&go, flags, lines);
    return ajio_gen_open(ret_f, ret_g, path, &o, &go);
}

/* ---- jansson's own printer, for the flags the generator does not reproduce ---------------- */

struct ajio_jansson__sink {
    ajio_file *f;
    int err; /* the first failed write, whose message is set */
};

static inline int ajio_jansson__piece(const char *buf, size_t size, void *data)
{
    struct ajio_jansson__sink *s = (struct ajio_jansson__sink *)data;

    s->err = ajio_file_write(s->f, buf, size);
    return s->err < 0 ? -1 : 0;
}

/* One value and its '\n' through json_dump_callback(). @return 0 or the error, message set. */
static inline int ajio_jansson__print(ajio_file *f, const json_t *v, size_t flags)
{
    struct ajio_jansson__sink s = {f, 0};

    if (v != NULL && json_dump_callback(v, ajio_jansson__piece, &s,
                                        (flags & ~AJIO_JANSSON_VALIDATE) | JSON_ENCODE_ANY) == 0)
        return ajio_file_write(f, "\n", 1);
    if (s.err < 0)
        return s.err;
    return ajio_set_last_error(AJIO_EJSON,
                               "\"%s\": jansson could not encode the value (invalid "
                               "UTF-8 in a string or key, a reference cycle, nesting "
                               "deeper than jansson allows, or a NULL json_t); "
                               "nothing was written",
                               ajio_file_path(f));
}

/* The end of a write through jansson's printer: commit, or abort after r < 0. */
static inline int ajio_jansson__close(ajio_file *f, int r)
{
    if (r < 0) {
        ajio_file_abort(f);
        return r;
    }
    return ajio_file_commit(f);
}

static inline int ajio_jansson__bad_arg(const char *fn, const char *what, const char *path)
{
    return ajio_set_last_error(-EINVAL, "%s: %s for \"%s\"", fn, what,
                               path != NULL ? path : "(null)");
}

/* A JSONL line layout: no indent can be on one line. 0 or -EINVAL. */
static inline int ajio_jansson__line_flags(size_t *flags, const char *fn, const char *path)
{
    if ((*flags & ~AJIO_JANSSON_VALIDATE) == 0)
        *flags |= AJIO_JANSSON_LINE_FLAGS;
    if (*flags & JSON_MAX_INDENT)
        return ajio_jansson__bad_arg(fn,
                                     "JSON_INDENT() in JSON Lines, whose values are one "
                                     "line each",
                                     path);
    return 0;
}

/*
 * Atomically writes value as one JSON document followed by '\n'.
 *
 * Layout: flags 0 means AJIO_JANSSON_DEFAULT_FLAGS: two-space indent, members in insertion
 * order ({"a": 1} becomes "{\n  \"a\": 1\n}\n"). Any other value is jansson's dump flags, printed
 * byte for byte as json_dumpb() prints them, with JSON_ENCODE_ANY added so that a scalar root is
 * accepted; pass JSON_ENCODE_ANY alone for jansson's own flags-0 layout (one line, ", " and ": "
 * separators). AJIO_JANSSON_VALIDATE may be added to either: see the top of this file.
 *
 * @return 0, AJIO_UNCHANGED, AJIO_ENOTDURABLE, a negative errno as ajio_write_bytes();
 *   -EINVAL when value is NULL; AJIO_EJSON when jansson cannot encode the value.
 */
static inline int ajio_jansson_write(const char *path, const json_t *value, size_t flags,
                                     const ajio_opts *opts)
{
    ajio_file *f;
    ajio_gen *g;
    int r;

    if (value == NULL)
        return ajio_jansson__bad_arg("ajio_jansson_write", "value is NULL", path);
    if ((flags & ~AJIO_JANSSON_VALIDATE) == 0)
        flags |= AJIO_JANSSON_DEFAULT_FLAGS;
    if (flags & ~(AJIO_JANSSON__GEN_FLAGS | AJIO_JANSSON_VALIDATE)) {
        r = ajio_jansson__open(&f, NULL, path, flags, 0, opts);
        return r < 0 ? r : ajio_jansson__close(f, ajio_jansson__print(f, value, flags));
    }
    r = ajio_jansson__open(&f, &g, path, flags, 0, opts);
    if (r < 0)
        return r;
    (void)ajio_jansson__value(g, value, NULL);
    return ajio_file_commit(f); /* the generator's first error, if any; the commit's otherwise */
}

/*
 * Atomically writes the elements of array as JSON Lines: each element on its own line, every
 * line ending in '\n'. An empty array gives an empty file. flags as ajio_jansson_write(), but 0
 * means AJIO_JANSSON_LINE_FLAGS (compact) and JSON_INDENT() is refused.
 *
 * @return as ajio_jansson_write(); -EINVAL when array is NULL or not an array, or flags have an
 *   indent (nothing is created).
 */
static inline int ajio_jansson_write_lines(const char *path, const json_t *array, size_t flags,
                                           const ajio_opts *opts)
{
    ajio_file *f;
    ajio_gen *g;
    size_t i, n;
    int r = 0;

    if (array == NULL || !json_is_array(array))
        return ajio_jansson__bad_arg("ajio_jansson_write_lines",
                                     array == NULL ? "value is NULL" : "value is not an array",
                                     path);
    if ((r = ajio_jansson__line_flags(&flags, "ajio_jansson_write_lines", path)) < 0)
        return r;
    n = json_array_size(array);
    if (flags & ~(AJIO_JANSSON__GEN_FLAGS | AJIO_JANSSON_VALIDATE)) {
        if ((r = ajio_jansson__open(&f, NULL, path, flags, 1, opts)) < 0)
            return r;
        for (i = 0; i < n && r == 0; i++)
            r = ajio_jansson__print(f, json_array_get(array, i), flags);
        return ajio_jansson__close(f, r);
    }
    if ((r = ajio_jansson__open(&f, &g, path, flags, 1, opts)) < 0)
        return r;
    for (i = 0; i < n && r == 0; i++)
        r = ajio_jansson__value(g, json_array_get(array, i), NULL);
    return ajio_file_commit(f);
}

/*
 * Atomically writes a JSON Lines file pulled value by value, without building an array:
 * next(ctx, &err) returns the next line's value as a new reference (the function json_decref()s
 * it), or NULL at the end. To fail, next sets *ret_err to a negative errno (any value it likes,
 * e.g. -ECANCELED) and returns NULL (a value returned with it is released and not written); the
 * write is then aborted, the target untouched, and that value returned. A positive *ret_err is
 * reported as -ECANCELED. *ret_err is 0 at every call. flags as ajio_jansson_write_lines().
 *
 * @return as ajio_jansson_write_lines(), or the callback's error; -EINVAL when next is NULL.
 */
static inline int ajio_jansson_write_lines_cb(const char *path,
                                              json_t *(*next)(void *ctx, int *ret_err), void *ctx,
                                              size_t flags, const ajio_opts *opts)
{
    ajio_file *f;
    ajio_gen *g = NULL;
    int printer, r;

    if (next == NULL)
        return ajio_jansson__bad_arg("ajio_jansson_write_lines_cb", "next is NULL", path);
    if ((r = ajio_jansson__line_flags(&flags, "ajio_jansson_write_lines_cb", path)) < 0)
        return r;
    printer = (flags & ~(AJIO_JANSSON__GEN_FLAGS | AJIO_JANSSON_VALIDATE)) != 0;
    if ((r = ajio_jansson__open(&f, printer ? NULL : &g, path, flags, 1, opts)) < 0)
        return r;
    while (r == 0) {
        int cb_err = 0;
        json_t *v = next(ctx, &cb_err);

        if (cb_err != 0) {
            int e = cb_err < 0 ? cb_err : -ECANCELED;
            json_decref(v);
            if (printer)
                r = ajio_set_last_error(e,
                                        "\"%s\": the value callback failed (%s); nothing was "
                                        "written",
                                        ajio_file_path(f), ajio_strerror(e));
            else
                r = ajio_gen_fail(g, e, "the value callback failed (%s); nothing was written",
                                  ajio_strerror(e));
            break;
        }
        if (v == NULL)
            break;
        r = printer ? ajio_jansson__print(f, v, flags) : ajio_jansson__value(g, v, NULL);
        json_decref(v);
    }
    return printer ? ajio_jansson__close(f, r) : ajio_file_commit(f);
}

#ifdef __cplusplus
}
#endif

#endif /* AJIO_JANSSON_H */

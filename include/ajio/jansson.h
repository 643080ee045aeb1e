/*
 * ajio/jansson.h - atomic JSON and JSONL files from jansson values (header-only).
 *
 *     #include <ajio/jansson.h>      cc app.c -lajio -ljansson
 *
 * Header-only on purpose (see ajio/emit.h): no extra library, no ABI, and it works with whichever
 * jansson version the program is built with. Every function streams the value into the temp file
 * of an ajio_open() handle: the output is never held whole in memory, and nothing is visible at
 * path before the commit. The bytes are exactly those json_dumpb() prints with the same flags:
 * a tree walker below prints them for every flag but JSON_SORT_KEYS and JSON_EMBED, which go to
 * jansson's own json_dump_callback() (see "The tree walker" for why and what it reproduces).
 *
 * Validation: jansson itself guarantees most of what the other adapters must check. json_real()
 * refuses NaN and infinities, so they cannot be in a tree. The walker checks every string value
 * and object key as UTF-8 and refuses a reference cycle, as jansson's printer does for values and
 * cycles; such a failure becomes AJIO_EJSON. (jansson 2.14's printer drops an object key that is
 * not UTF-8 mid-string without an error, leaving a broken document: with JSON_SORT_KEYS or
 * JSON_EMBED that hole remains. Only the *_nocheck setters can add such a key.) Add
 * AJIO_JANSSON_VALIDATE to ajio_write_json()'s dump_flags to have the whole output checked by an
 * ajio_json_checker as it streams as well; it is not the default because it costs up to about 40%
 * of the write's time on string-heavy documents (see docs/adapters.md).
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

/* The fallback: one value through jansson's own printer; its failure (not ours) is a refusal. */
static inline int ajio_jansson__dump_cb(ajio_emit *e, const json_t *value, size_t flags)
{
    if (json_dump_callback(value, ajio_jansson__piece, e, flags | JSON_ENCODE_ANY) == 0)
        return e->err;
    if (e->err != 0)
        return e->err;
    return ajio_emit_refuse(e, "jansson could not encode the value (invalid UTF-8 in a string or "
                               "key, a reference cycle, or nesting deeper than jansson allows)");
}

/*
 * ---- The tree walker ------------------------------------------------------------------------
 *
 * jansson's printer decodes every string code point by code point to decide what to escape, and
 * hands each piece to the callback separately; on string-heavy documents that is most of its
 * time. The walker below prints the same bytes as json_dumpb() with the same flags, for every
 * flag but JSON_SORT_KEYS and JSON_EMBED (and bits this header does not know), which go to
 * jansson's printer above. What it reproduces, from jansson 2.14's dump.c and strconv.c:
 *   - layout: with JSON_INDENT(n), n > 0, "\n" and depth * n spaces before each member and before
 *     the closing bracket; without, ", " and ": " (JSON_COMPACT: "," and ":", with or without an
 *     indent). Empty containers are "[]" and "{}". Members in the object's iteration order, which
 *     is insertion order since jansson 2.8 (JSON_PRESERVE_ORDER changes nothing).
 *   - strings: '"' and '\\' as \" and \\; \b \f \n \r \t; other bytes below 0x20 (NUL included:
 *     json_stringn) as \u00XX in upper-case hex; U+007F and U+2028/U+2029 as they are.
 *     JSON_ESCAPE_SLASH: '/' as \/. JSON_ENSURE_ASCII: every code point above U+007F as \uXXXX,
 *     above U+FFFF as a surrogate pair.
 *   - integers: "%" JSON_INTEGER_FORMAT, i.e. plain decimal.
 *   - reals: "%.17g", or "%.<n>g" with JSON_REAL_PRECISION(n); the locale's decimal point read
 *     back as '.'; ".0" appended when there is neither '.' nor 'e'; the exponent without '+' and
 *     without leading zeros (1e+300 -> 1e300, 2.5e-07 -> 2.5e-7). (jansson built with its
 *     optional dtoa prints shortest forms instead; Debian's and the default build do not.)
 * Strings are checked as strict UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF), as jansson checks them. Where jansson refuses (a string value that is not UTF-8, a
 * reference cycle), so does the walker. Unlike jansson 2.14, which drops a bad object key
 * silently and prints a broken document, the walker refuses such a key too.
 *
 * Reference cycles: jansson keeps a set of the containers being printed. The walker keeps the
 * same path as a linked list on the stack and looks the container up in it: a cycle is found the
 * first time the walk re-enters a container it is inside of. The lookup is linear in the depth,
 * which is a handful of levels in real documents (and at most 2048 for anything json_load*()
 * built). There is no depth limit, as in jansson's printer.
 */

/* The dump flags the walker reproduces; any other bit goes to jansson's printer. */
#define AJIO_JANSSON__WALKER_FLAGS                                                                 \
    ((size_t)JSON_MAX_INDENT | JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER |           \
     JSON_ENCODE_ANY | JSON_ESCAPE_SLASH | JSON_REAL_PRECISION(31))

/* Byte classes of string contents: what may end a run of bytes copied as they are. */
#define AJIO_JANSSON__ESC 1   /* always escaped: below 0x20, '"', '\\' */
#define AJIO_JANSSON__SLASH 2 /* '/': escaped with JSON_ESCAPE_SLASH */
#define AJIO_JANSSON__HIGH 4  /* 0x80 and above: a UTF-8 sequence to check */

#define AJIO_JANSSON__R8(c) c, c, c, c, c, c, c, c
#define AJIO_JANSSON__R16(c) AJIO_JANSSON__R8(c), AJIO_JANSSON__R8(c)
static const unsigned char ajio_jansson__class[256] = {
    AJIO_JANSSON__R16(1), AJIO_JANSSON__R16(1),                /* 0x00-0x1F */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,            /* 0x20-0x2F: '"', '/' */
    AJIO_JANSSON__R16(0), AJIO_JANSSON__R16(0),                /* 0x30-0x4F */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,            /* 0x50-0x5F: '\\' */
    AJIO_JANSSON__R16(0), AJIO_JANSSON__R16(0),                /* 0x60-0x7F */
    AJIO_JANSSON__R16(4), AJIO_JANSSON__R16(4), AJIO_JANSSON__R16(4), AJIO_JANSSON__R16(4),
    AJIO_JANSSON__R16(4), AJIO_JANSSON__R16(4), AJIO_JANSSON__R16(4), AJIO_JANSSON__R16(4),
};
#undef AJIO_JANSSON__R16
#undef AJIO_JANSSON__R8

/* One walk: the flags, decoded once. */
typedef struct ajio_jansson__walk {
    ajio_emit *e;
    unsigned indent;    /* spaces per level; 0: one line */
    int compact;        /* JSON_COMPACT: no space after ',' and ':' */
    int ascii;          /* JSON_ENSURE_ASCII */
    unsigned char stop; /* the byte classes that end a run */
    int precision;      /* of reals, in significant digits */
} ajio_jansson__walk;

/* The containers being printed, innermost first: the walker's cycle check. */
typedef struct ajio_jansson__path {
    const json_t *v;
    const struct ajio_jansson__path *up;
} ajio_jansson__path;

static inline int ajio_jansson__value(const ajio_jansson__walk *w, const json_t *v,
                                      unsigned depth, const ajio_jansson__path *up);

/*
 * The length of the UTF-8 sequence at p, or 0 if it is not one jansson accepts (a lone or
 * unexpected continuation byte, an overlong form, a surrogate, above U+10FFFF, cut short).
 */
static inline size_t ajio_jansson__utf8(const unsigned char *p, const unsigned char *end)
{
    size_t avail = (size_t)(end - p);
    unsigned c = p[0];

    if (c < 0xC2) /* continuation byte, or 0xC0/0xC1: overlong ASCII */
        return 0;
    if (c < 0xE0)
        return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0))
            return 0; /* overlong, or a UTF-16 surrogate half */
        return 3;
    }
    if (c < 0xF5) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))
            return 0; /* overlong, or above U+10FFFF */
        return 4;
    }
    return 0;
}

/* The code point of the checked k-byte UTF-8 sequence at p as \uXXXX (JSON_ENSURE_ASCII). */
static inline void ajio_jansson__escape_utf8(ajio_emit *e, const unsigned char *p, size_t k)
{
    unsigned cp;

    if (k == 2)
        cp = (p[0] & 0x1Fu) << 6 | (p[1] & 0x3Fu);
    else if (k == 3)
        cp = (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
    else
        cp = (p[0] & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
    if (cp < 0x10000) {
        (void)ajio_emit_u16(e, cp);
    } else {
        cp -= 0x10000;
        (void)ajio_emit_u16(e, 0xD800 | (cp >> 10));
        (void)ajio_emit_u16(e, 0xDC00 | (cp & 0x3FF));
    }
}

/*
 * s[0..n) as a JSON string, escaped as jansson escapes it (see above). Runs of bytes that need
 * no escape, valid multi-byte UTF-8 included, are found with one table look-up per byte and
 * copied in one piece. @return 0, or AJIO_EJSON when s is not UTF-8 (what names the string).
 */
static inline int ajio_jansson__string(const ajio_jansson__walk *w, const char *s, size_t n,
                                       const char *what)
{
    ajio_emit *e = w->e;
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + n;
    const unsigned char *run = p;
    const unsigned char stop = w->stop;

    (void)ajio_emit_byte(e, '"');
    for (;;) {
        while (p < end && !(ajio_jansson__class[*p] & stop))
            p++;
        if (p == end)
            break;
        if (*p >= 0x80) {
            size_t k = ajio_jansson__utf8(p, end);

            if (k == 0) {
                char msg[128];
                snprintf(msg, sizeof(msg), "jansson could not encode the value: %s is not valid "
                                           "UTF-8", what);
                return ajio_emit_refuse(e, msg);
            }
            if (!w->ascii) {
                p += k; /* part of the run */
                continue;
            }
            (void)ajio_emit_raw(e, (const char *)run, (size_t)(p - run));
            ajio_jansson__escape_utf8(e, p, k);
            p += k;
        } else {
            (void)ajio_emit_raw(e, (const char *)run, (size_t)(p - run));
            (void)ajio_emit_escape(e, *p);
            p++;
        }
        run = p;
    }
    (void)ajio_emit_raw(e, (const char *)run, (size_t)(end - run));
    return ajio_emit_byte(e, '"');
}

/* An integer as "%" JSON_INTEGER_FORMAT prints it: plain decimal, '-' when negative. */
static inline int ajio_jansson__integer(ajio_emit *e, json_int_t i)
{
    char buf[24];
    char *q = buf + sizeof(buf);
    /* In unsigned arithmetic, so that the most negative value has a magnitude too. */
    unsigned long long u = i < 0 ? 0ULL - (unsigned long long)i : (unsigned long long)i;

    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (i < 0)
        *--q = '-';
    return ajio_emit_raw(e, q, (size_t)(buf + sizeof(buf) - q));
}

/*
 * A real as jansson prints it (see above). "%g" prints only digits, '-', '+', 'e' and the
 * locale's decimal point; the point is whatever else there is. jansson assumes a one-byte point;
 * should a locale's be longer, its first byte becomes '.' and the rest is dropped (jansson would
 * leave the rest in place, which is not valid JSON).
 */
static inline int ajio_jansson__real(const ajio_jansson__walk *w, double d)
{
    char buf[64];
    char out[64];
    int n = snprintf(buf, sizeof(buf), "%.*g", w->precision, d);
    size_t len = 0;
    int point = 0, exp = 0;

    if (n < 0 || (size_t)n >= sizeof(buf))
        return ajio_emit_refuse(w->e, "jansson could not encode the value: a real number");
    for (int i = 0; i < n; i++) {
        char c = buf[i];

        if ((c >= '0' && c <= '9') || c == '-') {
            out[len++] = c;
        } else if (c == 'e') {
            exp = 1;
            out[len++] = 'e';
            if (buf[i + 1] == '-')
                out[len++] = buf[++i];
            else if (buf[i + 1] == '+')
                i++;
            while (buf[i + 1] == '0')
                i++;
        } else if (!point) {
            point = 1;
            out[len++] = '.';
        }
        /* else: a later byte of a multi-byte decimal point */
    }
    if (!point && !exp) {
        out[len++] = '.';
        out[len++] = '0';
    }
    return ajio_emit_raw(w->e, out, len);
}

/* jansson's line break: "\n" and indentation with JSON_INDENT(n); else " " where space is set. */
AJIO_EMIT_HOT void ajio_jansson__break(const ajio_jansson__walk *w, unsigned depth, int space)
{
    if (w->indent > 0)
        (void)ajio_emit_newline(w->e, depth, w->indent);
    else if (space && !w->compact)
        (void)ajio_emit_byte(w->e, ' ');
}

/* Refuses v if it is one of the containers being printed (see "Reference cycles" above). */
static inline int ajio_jansson__in_path(const ajio_jansson__walk *w, const json_t *v,
                                        const ajio_jansson__path *up)
{
    for (; up != NULL; up = up->up)
        if (up->v == v)
            return ajio_emit_refuse(w->e, "jansson could not encode the value: it contains "
                                          "itself (a reference cycle)");
    return 0;
}

static inline int ajio_jansson__array(const ajio_jansson__walk *w, const json_t *v,
                                      unsigned depth, const ajio_jansson__path *up)
{
    ajio_emit *e = w->e;
    ajio_jansson__path here = {v, up};
    size_t n = json_array_size(v);

    if (ajio_jansson__in_path(w, v, up) < 0)
        return e->err;
    (void)ajio_emit_byte(e, '[');
    if (n == 0)
        return ajio_emit_byte(e, ']');
    ajio_jansson__break(w, depth + 1, 0);
    for (size_t i = 0; i < n && e->err == 0; i++) {
        (void)ajio_jansson__value(w, json_array_get(v, i), depth + 1, &here);
        if (i + 1 < n) {
            (void)ajio_emit_byte(e, ',');
            ajio_jansson__break(w, depth + 1, 1);
        }
    }
    ajio_jansson__break(w, depth, 0);
    return ajio_emit_byte(e, ']');
}

static inline int ajio_jansson__object(const ajio_jansson__walk *w, const json_t *v,
                                       unsigned depth, const ajio_jansson__path *up)
{
    ajio_emit *e = w->e;
    ajio_jansson__path here = {v, up};
    void *it;

    if (ajio_jansson__in_path(w, v, up) < 0)
        return e->err;
    it = json_object_iter((json_t *)v);
    (void)ajio_emit_byte(e, '{');
    if (it == NULL)
        return ajio_emit_byte(e, '}');
    ajio_jansson__break(w, depth + 1, 0);
    while (it != NULL && e->err == 0) {
        const char *key = json_object_iter_key(it);
        json_t *member = json_object_iter_value(it);
#if JANSSON_VERSION_HEX >= 0x020e00
        size_t key_len = json_object_iter_key_len(it); /* keys may hold NUL since 2.14 */
#else
        size_t key_len = strlen(key);
#endif

        it = json_object_iter_next((json_t *)v, it);
        (void)ajio_jansson__string(w, key, key_len, "an object key");
        (void)ajio_emit_raw(e, ": ", w->compact ? 1 : 2);
        (void)ajio_jansson__value(w, member, depth + 1, &here);
        if (it != NULL) {
            (void)ajio_emit_byte(e, ',');
            ajio_jansson__break(w, depth + 1, 1);
        }
    }
    ajio_jansson__break(w, depth, 0);
    return ajio_emit_byte(e, '}');
}

static inline int ajio_jansson__value(const ajio_jansson__walk *w, const json_t *v,
                                      unsigned depth, const ajio_jansson__path *up)
{
    ajio_emit *e = w->e;

    if (e->err != 0)
        return e->err;
    if (v == NULL)
        return ajio_emit_refuse(e, "jansson could not encode the value: a NULL json_t");
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return ajio_jansson__object(w, v, depth, up);
    case JSON_ARRAY:
        return ajio_jansson__array(w, v, depth, up);
    case JSON_STRING:
        return ajio_jansson__string(w, json_string_value(v), json_string_length(v), "a string");
    case JSON_INTEGER:
        return ajio_jansson__integer(e, json_integer_value(v));
    case JSON_REAL:
        return ajio_jansson__real(w, json_real_value(v));
    case JSON_TRUE:
        return ajio_emit_raw(e, "true", 4);
    case JSON_FALSE:
        return ajio_emit_raw(e, "false", 5);
    case JSON_NULL:
        return ajio_emit_raw(e, "null", 4);
    default:
        return ajio_emit_refuse(e, "jansson could not encode the value: unknown json_t type");
    }
}

/*
 * One value, printed as json_dumpb(value, ..., flags | JSON_ENCODE_ANY) would: by the walker for
 * the flags it reproduces, else by jansson's own printer.
 */
static inline int ajio_jansson__dump(ajio_emit *e, const json_t *value, size_t flags)
{
    ajio_jansson__walk w;
    unsigned prec = (unsigned)(flags >> 11) & 0x1F;

    if ((flags & ~AJIO_JANSSON__WALKER_FLAGS) != 0)
        return ajio_jansson__dump_cb(e, value, flags);
    w.e = e;
    w.indent = (unsigned)(flags & JSON_MAX_INDENT);
    w.compact = (flags & JSON_COMPACT) != 0;
    w.ascii = (flags & JSON_ENSURE_ASCII) != 0;
    w.stop = AJIO_JANSSON__ESC | AJIO_JANSSON__HIGH |
             ((flags & JSON_ESCAPE_SLASH) ? AJIO_JANSSON__SLASH : 0);
    w.precision = prec != 0 ? (int)prec : 17;
    return ajio_jansson__value(&w, value, 0, NULL);
}

/*
 * Atomically writes value as one JSON document followed by '\n'.
 *
 * Layout: dump_flags 0 means AJIO_JANSSON_DEFAULT_FLAGS: two-space indent, members in insertion
 * order ({"a": 1} becomes "{\n  \"a\": 1\n}\n"). Any other value is jansson's dump flags, printed
 * byte for byte as json_dumpb() prints them, with JSON_ENCODE_ANY added so that a scalar root is
 * accepted; pass JSON_ENCODE_ANY alone for jansson's own flags-0 layout (one line, ", " and ": "
 * separators). AJIO_JANSSON_VALIDATE may be added to either: see the top of this file.
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

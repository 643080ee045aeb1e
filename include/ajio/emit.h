/*
 * ajio/emit.h - the shared plumbing of the header-only JSON adapters (ajio/jansson.h,
 * ajio/cjson.h, ajio/json-c.h). Include one of those, not this file.
 *
 * Why header-only: an adapter is a few hundred lines of glue between two libraries. As inline
 * functions it is compiled into the program that already links its JSON library, so libajio keeps
 * linking libc only, there is no libajio-jansson.so to package, and no ABI to keep between libajio
 * and whichever version of jansson, cJSON or json-c the program is built against: the adapter
 * always sees that program's own headers.
 *
 * An ajio_emit streams a document into the temp file of an ajio_open() handle. Small pieces are
 * gathered in a 64 KiB staging area (bounded memory: the output is never held whole), which
 * then goes to ajio_write() in one call and, when validation is on, through an ajio_json_checker in
 * the same chunk. Nothing is visible at the target before ajio_emit_end() commits; any failure
 * aborts the handle, so the target is untouched and no temp file remains.
 */
#ifndef AJIO_EMIT_H
#define AJIO_EMIT_H

#include <ajio.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Staging area size: the size of ajio_write()'s own buffer (64 KiB). A write of exactly that size
 * bypasses the handle's buffer, so every full chunk goes from here to write(2) with no second
 * copy, and the handle never allocates its buffer until the short last chunk.
 */
#define AJIO_EMIT_BUFSIZE (64 * 1024)

/* The per-piece hot path is inlined into the walkers: a call per punctuation byte shows in profiles. */
#if defined(__GNUC__)
#define AJIO_EMIT_HOT static inline __attribute__((always_inline))
#else
#define AJIO_EMIT_HOT static inline
#endif

/* Deepest nesting the tree walkers follow (also stops reference cycles in a hand-built tree). */
#define AJIO_EMIT_MAX_DEPTH AJIO_JSON_DEFAULT_MAX_DEPTH

typedef struct ajio_emit {
    ajio_file *f;
    ajio_json_checker *check; /* NULL: the output is not validated */
    int err;                  /* first failure; every later call is a no-op returning it */
    size_t len;               /* bytes staged in buf */
    size_t cap;               /* AJIO_EMIT_BUFSIZE once buf is allocated */
    char *buf;
} ajio_emit;

/*
 * Opens path for writing. check_flags < 0: no validation; otherwise the output is validated with
 * these enum ajio_json_flags (0 for one JSON value, AJIO_JSON_LINES for JSONL).
 * @return 0 or the negative errno of ajio_open()/ajio_json_checker_new().
 */
static inline int ajio_emit_begin(ajio_emit *e, const char *path, const ajio_opts *opts,
                                  int check_flags)
{
    int r;

    e->f = NULL;
    e->check = NULL;
    e->err = 0;
    e->len = 0;
    e->cap = 0;
    e->buf = (char *)malloc(AJIO_EMIT_BUFSIZE); /* the cast: C++ callers */
    if (e->buf == NULL)
        return ajio_set_last_error(-ENOMEM, "staging buffer for \"%s\": %s",
                                   path != NULL ? path : "(null)", ajio_strerror(-ENOMEM));
    e->cap = AJIO_EMIT_BUFSIZE;
    if (check_flags >= 0) {
        r = ajio_json_checker_new(&e->check, (unsigned)check_flags, 0);
        if (r < 0) {
            free(e->buf);
            return ajio_set_last_error(r, "JSON checker for \"%s\": %s",
                                       path != NULL ? path : "(null)", ajio_strerror(r));
        }
    }
    r = ajio_open(&e->f, path, opts);
    if (r < 0) {
        ajio_json_checker_free(e->check);
        free(e->buf);
        e->check = NULL;
        e->buf = NULL;
        e->f = NULL;
    }
    return r;
}

/* Records the first failure (later ones are consequences) and returns it. */
static inline int ajio_emit_fail(ajio_emit *e, int err)
{
    if (e->err == 0)
        e->err = err;
    return e->err;
}

/*
 * -EINVAL for a bad argument, caught before anything is created: "fn: what for \"path\"" as the
 * thread's error. Shared so that every adapter words its argument errors alike.
 */
static inline int ajio_emit_bad_arg(const char *fn, const char *what, const char *path)
{
    return ajio_set_last_error(-EINVAL, "%s: %s for \"%s\"", fn, what,
                               path != NULL ? path : "(null)");
}

/* -EINVAL for a JSONL writer's value: "fn: value for \"path\" is NULL" (or "not an array"). */
static inline int ajio_emit_not_array(const char *fn, const char *path, int is_null)
{
    return ajio_set_last_error(-EINVAL, "%s: value for \"%s\" is %s", fn,
                               path != NULL ? path : "(null)", is_null ? "NULL" : "not an array");
}

/*
 * A JSONL value callback reported err: aborts the write with it (a positive err, which is no
 * errno, becomes -ECANCELED) and says so as the thread's error. @return that error.
 */
static inline int ajio_emit_callback_failed(ajio_emit *e, int err)
{
    int r = err < 0 ? err : -ECANCELED;

    (void)ajio_set_last_error(r, "%s: the value callback failed (%s); nothing was written",
                              ajio_file_path(e->f), ajio_strerror(r));
    return ajio_emit_fail(e, r);
}

/* AJIO_EJSON with "path: message" as the thread's error. */
static inline int ajio_emit_refuse(ajio_emit *e, const char *what)
{
    if (e->err != 0)
        return e->err;
    (void)ajio_set_last_error(AJIO_EJSON, "%s: %s; nothing was written", ajio_file_path(e->f),
                              what);
    return ajio_emit_fail(e, AJIO_EJSON);
}

/*
 * JSON has no NaN or infinities: AJIO_EJSON for such a d, with "NaN cannot be written as JSON
 * (at member \"key\")" (key NULL: no member named) as the thread's error. @return 0 for a finite d.
 * Shared so that the adapters whose library holds such numbers refuse them alike.
 */
static inline int ajio_emit_finite(ajio_emit *e, double d, const char *key)
{
    char what[160];

    if (isfinite(d))
        return 0;
    snprintf(what, sizeof(what), "%s cannot be written as JSON%s%.80s%s",
             isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity",
             key != NULL ? " (at member \"" : "", key != NULL ? key : "", key != NULL ? "\")" : "");
    return ajio_emit_refuse(e, what);
}

/* The checker's verdict on the output as "path:line:col: reason". */
static inline int ajio_emit__checker_error(ajio_emit *e, int r)
{
    ajio_json_error je;

    if (r != AJIO_EJSON && r != AJIO_ETORN) {
        (void)ajio_set_last_error(r, "JSON check of output for \"%s\": %s", ajio_file_path(e->f),
                                  ajio_strerror(r));
        return ajio_emit_fail(e, r);
    }
    (void)ajio_json_checker_error(e->check, &je);
    (void)ajio_set_last_error(AJIO_EJSON,
                              "%s:%" PRIu64 ":%" PRIu64 ": output would not be valid JSON: %s; "
                              "nothing was written",
                              ajio_file_path(e->f), je.line, je.column, je.reason);
    return ajio_emit_fail(e, AJIO_EJSON);
}

/* Validates and writes p[0..n) straight from the caller's memory. */
static inline int ajio_emit__out(ajio_emit *e, const char *p, size_t n)
{
    int r;

    if (e->check != NULL) {
        r = ajio_json_feed(e->check, p, n);
        if (r < 0)
            return ajio_emit__checker_error(e, r);
    }
    r = ajio_write(e->f, p, n);
    return r < 0 ? ajio_emit_fail(e, r) : 0;
}

static inline int ajio_emit_flush(ajio_emit *e)
{
    size_t n = e->len;

    if (e->err != 0)
        return e->err;
    e->len = 0;
    return n > 0 ? ajio_emit__out(e, e->buf, n) : 0;
}

/* The slow path of ajio_emit_raw(): fill the chunk up, pass it on, go on with the rest. */
static inline int ajio_emit__spill(ajio_emit *e, const char *p, size_t n)
{
    while (n > 0 && e->err == 0) {
        size_t k = e->cap - e->len;

        if (k > n)
            k = n;
        memcpy(e->buf + e->len, p, k);
        e->len += k;
        p += k;
        n -= k;
        if (e->len == e->cap)
            (void)ajio_emit_flush(e);
    }
    return e->err;
}

/*
 * Appends n bytes as they are. Every chunk passed on is exactly AJIO_EMIT_BUFSIZE long (only the
 * last one is shorter): see AJIO_EMIT_BUFSIZE. The common case, a short piece that fits, is a
 * bounds check and a copy; pieces of a few bytes (punctuation, literals) skip the memcpy call.
 */
AJIO_EMIT_HOT int ajio_emit_raw(ajio_emit *e, const char *p, size_t n)
{
    if (e->cap - e->len > n) {
        char *d = e->buf + e->len;
        e->len += n;
        if (n <= 8) {
            while (n-- > 0)
                *d++ = *p++;
        } else {
            memcpy(d, p, n);
        }
        return 0;
    }
    return ajio_emit__spill(e, p, n);
}

AJIO_EMIT_HOT int ajio_emit_byte(ajio_emit *e, char c)
{
    if (e->len + 1 < e->cap) {
        e->buf[e->len++] = c;
        return 0;
    }
    return ajio_emit_raw(e, &c, 1);
}

/* The slow path of ajio_emit_newline(): the line start crosses the end of the staging area. */
static inline int ajio_emit__newline_slow(ajio_emit *e, size_t n)
{
    static const char spaces[] = "                                                                ";

    (void)ajio_emit_byte(e, '\n');
    while (n > 0) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        (void)ajio_emit_raw(e, spaces, k);
        n -= k;
    }
    return e->err;
}

/*
 * "\n" and depth * width spaces: the pretty layout's line start. Inlined with a memset fast path:
 * in a pretty document there is one per member, as many as there are values.
 */
AJIO_EMIT_HOT int ajio_emit_newline(ajio_emit *e, unsigned depth, unsigned width)
{
    size_t n = (size_t)depth * width;

    if (e->cap - e->len > n + 1) {
        char *d = e->buf + e->len;
        d[0] = '\n';
        memset(d + 1, ' ', n);
        e->len += n + 1;
        return 0;
    }
    return ajio_emit__newline_slow(e, n);
}

/* "\uXXXX" for one UTF-16 unit, in upper-case hex (as jansson's "\\u%04X"). */
static inline int ajio_emit_u16(ajio_emit *e, unsigned u)
{
    static const char hex[] = "0123456789ABCDEF";
    char esc[6] = {'\\', 'u', hex[(u >> 12) & 15], hex[(u >> 8) & 15], hex[(u >> 4) & 15],
                   hex[u & 15]};

    return ajio_emit_raw(e, esc, 6);
}

/*
 * The escape of the ASCII byte c that a JSON string cannot hold as it is ('"', '\\', a control
 * character) or that a printer chose to escape ('/'): the short form where there is one, else
 * \u00XX.
 */
static inline int ajio_emit_escape(ajio_emit *e, unsigned c)
{
    char esc[2] = {'\\', 0};

    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '/': esc[1] = '/'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default: return ajio_emit_u16(e, c);
    }
    return ajio_emit_raw(e, esc, 2);
}

/*
 * s[0..n) as a JSON string: quoted, with '"', '\\' and the control characters escaped as RFC 8259
 * requires (ajio_emit_escape()). Other bytes, UTF-8 included, are copied as they are: the checker
 * is what refuses invalid UTF-8.
 */
static inline int ajio_emit_string(ajio_emit *e, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + n;

    (void)ajio_emit_byte(e, '"');
    while (p < end) {
        const unsigned char *run = p;

        while (p < end && *p >= 0x20 && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            (void)ajio_emit_raw(e, (const char *)run, (size_t)(p - run));
        if (p == end)
            break;
        (void)ajio_emit_escape(e, *p);
        p++;
    }
    (void)ajio_emit_byte(e, '"');
    return e->err;
}

/*
 * Ends the write: on success so far, flushes, lets the checker judge the end of input and commits;
 * otherwise aborts. @return as ajio_commit(), or the first failure (target untouched).
 */
static inline int ajio_emit_end(ajio_emit *e)
{
    int r = ajio_emit_flush(e);

    if (r == 0 && e->check != NULL) {
        r = ajio_json_finish(e->check);
        if (r < 0)
            r = ajio_emit__checker_error(e, r);
    }
    ajio_json_checker_free(e->check);
    free(e->buf);
    e->check = NULL;
    e->buf = NULL;
    if (r < 0) {
        ajio_abort(e->f);
        e->f = NULL;
        return r;
    }
    r = ajio_commit(e->f);
    e->f = NULL;
    return r;
}

#ifdef __cplusplus
}
#endif

#endif /* AJIO_EMIT_H */

/*
 * ajio/cjson.h - atomic JSON and JSONL files from cJSON trees (header-only).
 *
 *     #include <ajio/cjson.h>        cc app.c -lajio -lcjson
 *
 * A thin tree walker over libajio's JSON generator (ajio_gen_*, in <ajio.h>): each item goes to
 * the generator, which formats it straight into the buffer of an ajio_file_open() handle, so the
 * output is never held whole (cJSON_Print would build it all in memory) and nothing is visible
 * at path before the commit. Header-only on purpose: libajio links libc only and never sees
 * cJSON, and this code is compiled against the program's own cJSON headers (docs/adapters.md).
 *
 * Numbers read exactly as cJSON prints them: "%1.15g" when that reads back as the same double,
 * else "%1.17g" (cJSON's printf and sscanf cost about a microsecond a number). For the cJSON
 * versions whose printer does that (1.7.x up to 1.7.18) the walker computes the same text with
 * the generator's number formatting: an integer below 10^15 as such; a double whose shortest
 * form has at most 15 significant digits as that form (a normal double within half an ulp of a
 * 15-digit decimal rounds to it); else its 17 digits, unless its 15 digits read back within
 * cJSON's tolerance of DBL_EPSILON (relative), where cJSON versions differ. In that last case,
 * for subnormals and for any other cJSON version, cJSON's own printer formats the number. The
 * test suite compares the result with cJSON_PrintUnformatted() on 20000 random doubles and all
 * of canada.json. Strings are escaped per RFC 8259 ('"', '\\' and control characters, the latter
 * as \u00XX in upper case); everything else is copied as is.
 *
 * Validation: cJSON accepts strings that are not UTF-8, prints NaN and infinities as null and
 * copies cJSON_Raw text unchecked. The generator refuses all three: the write fails with
 * AJIO_EJSON, the target is untouched, no temp file remains, and ajio_last_error() names the
 * problem and its place, e.g.
 * "JSON generation for "data.json": NaN cannot be written as JSON (at .x)". Nesting deeper than
 * 1024 levels (or a reference cycle in a hand-built tree) is refused the same way.
 *
 * Return values are those of ajio_write_bytes(): 0, AJIO_UNCHANGED (with AJIO_SKIP_UNCHANGED),
 * AJIO_ENOTDURABLE, a negative errno, plus AJIO_EJSON as above.
 */
#ifndef AJIO_CJSON_H
#define AJIO_CJSON_H

#include <ajio.h>
#include <cjson/cJSON.h>

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flag of ajio_cjson_write(): one line, no spaces (as cJSON_PrintUnformatted). */
#define AJIO_CJSON_COMPACT 1u

/* Deepest nesting written (1024 levels pass); it also stops a reference cycle. */
#define AJIO_CJSON_MAX_DEPTH AJIO_GEN_DEFAULT_MAX_DEPTH

/* The cJSON versions whose number printer the walker reproduces itself (see the top). */
#if defined(CJSON_VERSION_MAJOR) && CJSON_VERSION_MAJOR == 1 && CJSON_VERSION_MINOR == 7 &&        \
    CJSON_VERSION_PATCH <= 18
#define AJIO_CJSON__OWN_NUMBERS 1
#else
#define AJIO_CJSON__OWN_NUMBERS 0
#endif

/*
 * The significant digits of |d| rounded to prec digits (0: its shortest form), from the
 * generator's text; *ret_x is the power of ten of the first. @return their count, 0 on failure.
 */
static inline int ajio_cjson__digits(double d, int prec, char *dig, int *ret_x)
{
    char s[AJIO_GEN_DOUBLE_MAX];
    const char *p = s;
    int n = 0, ipart = -1, lead = 0, x;

    if (ajio_gen_format_double(s, sizeof(s), d, prec) < 0)
        return 0;
    if (*p == '-')
        p++;
    /* "123.45", "0.001", "1234.0", "1e-05", "1.5e+16", "2.5e-7": digits, a point, an exponent */
    for (; *p != '\0' && *p != 'e'; p++) {
        if (*p == '.')
            ipart = n;
        else
            dig[n++] = *p;
    }
    if (ipart < 0)
        ipart = n;
    /* dig[0] is worth 10^(ipart - 1 + exponent); each leading zero moves that one place down. */
    x = ipart - 1 + (*p == 'e' ? (int)strtol(p + 1, NULL, 10) : 0);
    while (lead < n && dig[lead] == '0') {
        lead++;
        x--;
    }
    while (n > lead && dig[n - 1] == '0')
        n--;
    n -= lead;
    memmove(dig, dig + lead, (size_t)(n > 0 ? n : 0));
    *ret_x = x;
    return n;
}

/* n digits, the first worth 10^x, laid out as printf's "%1.<prec>g" (zeros stripped). */
static inline size_t ajio_cjson__layout_g(char *out, int neg, const char *dig, int n, int x,
                                          int prec)
{
    size_t len = 0;

    if (neg)
        out[len++] = '-';
    if (x < -4 || x >= prec) {
        out[len++] = dig[0];
        if (n > 1) {
            out[len++] = '.';
            memcpy(out + len, dig + 1, (size_t)n - 1);
            len += (size_t)n - 1;
        }
        len += (size_t)snprintf(out + len, 8, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
    } else if (x < 0) {
        out[len++] = '0';
        out[len++] = '.';
        for (int i = -1; i > x; i--)
            out[len++] = '0';
        memcpy(out + len, dig, (size_t)n);
        len += (size_t)n;
    } else {
        /* the integer part, zero-padded, then the fraction if any */
        for (int i = 0; i <= x || i < n; i++) {
            if (i == x + 1)
                out[len++] = '.';
            out[len++] = i < n ? dig[i] : '0';
        }
    }
    out[len] = '\0';
    return len;
}

/*
 * cJSON's text for a normal, finite, nonzero d, computed: "%1.15g" if it reads back as d, else
 * "%1.17g". @return its length, or 0 where cJSON versions differ (see below): cJSON must print it.
 */
static inline size_t ajio_cjson__own_number(char *out, double d)
{
    char dig[AJIO_GEN_DOUBLE_MAX], buf[AJIO_GEN_DOUBLE_MAX + 8];
    int x, n = ajio_cjson__digits(d, 0, dig, &x);

    /* The 15-digit rounding of a double whose shortest form has at most 15 digits is that form. */
    if (n > 0 && n <= 15)
        return ajio_cjson__layout_g(out, d < 0, dig, n, x, 15);
    /*
     * Otherwise "%1.15g" is not d; but later 1.7 releases compare what they read back with a
     * tolerance of DBL_EPSILON, relative, and keep a 15-digit text that close, where earlier
     * ones compared exactly. Outside the tolerance every version prints "%1.17g"; inside it
     * they differ, and cJSON decides.
     */
    n = ajio_cjson__digits(d, 15, dig, &x);
    if (n <= 0)
        return 0;
    memcpy(buf, dig, (size_t)n);
    (void)snprintf(buf + n, sizeof(buf) - (size_t)n, "e%d", x - n + 1); /* no point: any locale */
    double back = strtod(buf, NULL), ad = fabs(d);
    double most = back > ad ? back : ad;
    if (fabs(back - ad) <= most * DBL_EPSILON)
        return 0;
    n = ajio_cjson__digits(d, 17, dig, &x);
    return n > 0 ? ajio_cjson__layout_g(out, d < 0, dig, n, x, 17) : 0;
}

/* A number as cJSON prints it; NaN and infinities go to the generator, which refuses them. */
static inline int ajio_cjson__number(ajio_gen *g, const cJSON *item)
{
    char buf[64];
    double d = item->valuedouble;

    if (!isfinite(d))
        return ajio_gen_double(g, d);
#if AJIO_CJSON__OWN_NUMBERS
    if (d == 0)
        return ajio_gen_number(g, signbit(d) ? "-0" : "0", signbit(d) ? 2 : 1);
    /* An integer below 10^15 is exact, and "%1.15g" prints all its digits. */
    if (fabs(d) < 1e15 && d == (double)(int64_t)d)
        return ajio_gen_int64(g, (int64_t)d);
    if (fabs(d) >= DBL_MIN) {
        size_t n = ajio_cjson__own_number(buf, d);
        if (n > 0)
            return ajio_gen_number(g, buf, n);
    }
#endif
    if (!cJSON_PrintPreallocated((cJSON *)item, buf, (int)sizeof(buf), 0))
        return ajio_gen_fail(g, AJIO_EJSON, "cJSON could not print a number");
    return ajio_gen_number(g, buf, strlen(buf));
}

static inline int ajio_cjson__value(ajio_gen *g, const cJSON *item, unsigned depth)
{
    const cJSON *c;
    int r, object;

    switch (item->type & 0xFF) {
    case cJSON_NULL:
        return ajio_gen_null(g);
    case cJSON_False:
        return ajio_gen_bool(g, 0);
    case cJSON_True:
        return ajio_gen_bool(g, 1);
    case cJSON_Number:
        return ajio_cjson__number(g, item);
    case cJSON_String:
        return ajio_gen_string(g, item->valuestring != NULL ? item->valuestring : "",
                               item->valuestring != NULL ? strlen(item->valuestring) : 0);
    case cJSON_Raw:
        /* Caller-supplied JSON text: validated by the generator, then copied as is. */
        if (item->valuestring == NULL)
            return ajio_gen_fail(g, AJIO_EJSON, "cJSON_Raw item without text");
        return ajio_gen_raw(g, item->valuestring, strlen(item->valuestring));
    case cJSON_Array:
    case cJSON_Object:
        break;
    default:
        return ajio_gen_fail(g, AJIO_EJSON, "invalid cJSON item type 0x%x", item->type & 0xFF);
    }
    object = (item->type & 0xFF) == cJSON_Object;
    if (depth >= AJIO_CJSON_MAX_DEPTH)
        return ajio_gen_fail(g, AJIO_EJSON,
                             "nesting deeper than %d levels (or a reference "
                             "cycle)",
                             AJIO_CJSON_MAX_DEPTH);
    if ((r = object ? ajio_gen_begin_object(g) : ajio_gen_begin_array(g)) < 0)
        return r;
    for (c = item->child; c != NULL; c = c->next) {
        if (object && (r = ajio_gen_key(g, c->string != NULL ? c->string : "",
                                        c->string != NULL ? strlen(c->string) : 0)) < 0)
            return r;
        if ((r = ajio_cjson__value(g, c, depth + 1)) < 0)
            return r;
    }
    return object ? ajio_gen_end_object(g) : ajio_gen_end_array(g);
}

static inline int ajio_cjson__bad_arg(const char *fn, const char *what, const char *path)
{
    return ajio_set_last_error(-EINVAL, "%s: %s for \"%s\"", fn, what,
                               path != NULL ? path : "(null)");
}

/* Opens path with a generator: pretty (two spaces), compact, or JSON Lines. */
static inline int ajio_cjson__open(ajio_file **ret_f, ajio_gen **ret_g, const char *path,
                                   unsigned flags, int lines, const ajio_opts *opts)
{
    ajio_gen_opts go;

    memset(&go, 0, sizeof(go));
    go.flags = lines                          ? AJIO_GEN_LINES
               : (flags & AJIO_CJSON_COMPACT) ? AJIO_GEN_COMPACT
                                              : AJIO_GEN_PRETTY;
    go.indent = lines || (flags & AJIO_CJSON_COMPACT) ? 0 : 2;
    go.max_depth = AJIO_CJSON_MAX_DEPTH + 1; /* the walker's own limit comes first */
    return ajio_gen_open(ret_f, ret_g, path, opts, &go);
}

/*
 * Atomically writes item as one JSON document followed by '\n'.
 *
 * Layout: flags 0 is pretty: two-space indent, ": " after keys, "[]" and "{}" when empty, members
 * in list order (the same bytes as ajio/jansson.h's default layout, apart from how each library
 * prints numbers). AJIO_CJSON_COMPACT: one line, no spaces, as cJSON_PrintUnformatted.
 *
 * @return 0, AJIO_UNCHANGED, AJIO_ENOTDURABLE, a negative errno as ajio_write_bytes();
 *   -EINVAL when item is NULL or flags has unknown bits; AJIO_EJSON for a NaN or infinite number,
 *   a string or raw text that is not valid UTF-8/JSON, or nesting deeper than 1024.
 */
static inline int ajio_cjson_write(const char *path, const cJSON *item, unsigned flags,
                                   const ajio_opts *opts)
{
    ajio_file *f;
    ajio_gen *g;
    int r;

    if (item == NULL || (flags & ~AJIO_CJSON_COMPACT) != 0)
        return ajio_cjson__bad_arg("ajio_cjson_write",
                                   item == NULL ? "item is NULL" : "unknown flags", path);
    if ((r = ajio_cjson__open(&f, &g, path, flags, 0, opts)) < 0)
        return r;
    (void)ajio_cjson__value(g, item, 0);
    return ajio_file_commit(f); /* the generator's first error, if any; the commit's otherwise */
}

/*
 * Atomically writes the elements of array as JSON Lines: each element compact on its own line,
 * every line ending in '\n'. An empty array gives an empty file. flags: 0 or AJIO_CJSON_COMPACT
 * (the same: a line is compact).
 *
 * @return as ajio_cjson_write(); -EINVAL when array is NULL or not an array (nothing is created).
 */
static inline int ajio_cjson_write_lines(const char *path, const cJSON *array, unsigned flags,
                                         const ajio_opts *opts)
{
    ajio_file *f;
    ajio_gen *g;
    const cJSON *c;
    int r = 0;

    if (array == NULL || !cJSON_IsArray(array) || (flags & ~AJIO_CJSON_COMPACT) != 0)
        return ajio_cjson__bad_arg("ajio_cjson_write_lines",
                                   array == NULL          ? "value is NULL"
                                   : cJSON_IsArray(array) ? "unknown flags"
                                                          : "value is not an array",
                                   path);
    if ((r = ajio_cjson__open(&f, &g, path, flags, 1, opts)) < 0)
        return r;
    for (c = array->child; c != NULL && r == 0; c = c->next)
        r = ajio_cjson__value(g, c, 0);
    return ajio_file_commit(f);
}

/*
 * Atomically writes a JSON Lines file pulled value by value, without building an array:
 * next(ctx, &err) returns the next line's item, which the function owns from then on (it
 * cJSON_Delete()s it), or NULL at the end. To fail, next sets *ret_err to a negative errno and
 * returns NULL (an item returned with it is deleted and not written); the write is aborted, the
 * target untouched, and that value returned (a positive *ret_err is reported as -ECANCELED).
 * *ret_err is 0 at every call. flags as ajio_cjson_write_lines().
 *
 * @return as ajio_cjson_write_lines(), or the callback's error; -EINVAL when next is NULL.
 */
static inline int ajio_cjson_write_lines_cb(const char *path,
                                            cJSON *(*next)(void *ctx, int *ret_err), void *ctx,
                                            unsigned flags, const ajio_opts *opts)
{
    ajio_file *f;
    ajio_gen *g;
    int r;

    if (next == NULL || (flags & ~AJIO_CJSON_COMPACT) != 0)
        return ajio_cjson__bad_arg("ajio_cjson_write_lines_cb",
                                   next == NULL ? "next is NULL" : "unknown flags", path);
    if ((r = ajio_cjson__open(&f, &g, path, flags, 1, opts)) < 0)
        return r;
    while (r == 0) {
        int cb_err = 0;
        cJSON *v = next(ctx, &cb_err);

        if (cb_err != 0) {
            int e = cb_err < 0 ? cb_err : -ECANCELED;
            cJSON_Delete(v);
            (void)ajio_gen_fail(g, e, "the value callback failed (%s); nothing was written",
                                ajio_strerror(e));
            break;
        }
        if (v == NULL)
            break;
        r = ajio_cjson__value(g, v, 0);
        cJSON_Delete(v);
    }
    return ajio_file_commit(f);
}

#ifdef __cplusplus
}
#endif

#endif /* AJIO_CJSON_H */

/*
 * json_gen.c - the streaming JSON generator (ajio_gen_*): values in document order in, valid JSON
 * text out, formatted straight into the buffer of the handle it belongs to.
 *
 * The window. The generator writes into g->buf[g->len .. AJIO__BUFSIZE): the handle's own 64 KiB
 * buffer (f->temp.buf, "direct"), so that a full window is one write(2) and no byte is copied
 * twice. The handle's f->temp.buflen and f->temp.written catch up only when the window is flushed
 * and at the commit: nothing else looks at them while a generator is attached (ajio_file_write() is
 * refused). A handle that must see every byte go by (AJIO_SKIP_UNCHANGED compares it with the old
 * file, AJIO_JSON/AJIO_JSONL validate it) gets a window of the generator's own instead, handed to
 * ajio__file_write() whole.
 *
 * Each call reserves what it may write before it writes anything (a separator, a line break,
 * at most 6 bytes per input byte of a string), flushing the window first when that much is not
 * free, so the copying loops below never check bounds. Strings longer than a window go in
 * chunks. Separators are stored padded to AJIO_GEN_MAX_SEP bytes and copied whole, which the
 * compiler turns into two moves instead of a call.
 *
 * Strings. A 256-entry table tells which bytes end a run that can be copied as it is: the ones
 * JSON requires escaped, the bytes of a multi-byte UTF-8 sequence (checked, then usually part of
 * the run) and whatever the flags add ('/', DEL). Eight bytes at a time are tested with word
 * arithmetic, so plain ASCII runs cost a few instructions per word. Under a vector kernel
 * (cpu.c) every string that short_plain() does not settle goes to json_gen_scan.c instead, which
 * copies runs 16, 32 or 64 bytes at a time and checks whole vectors of UTF-8 along the way (escape_vec()); both ways
 * write the same bytes and report the same errors (tests/test_gen_kernels.c).
 *
 * Where a failure happened is told as a jq-like path (".items[3].price"). Array positions are the
 * element counts the generator keeps anyway; keys are found where they were written, in the
 * window, and only when the window is flushed are the keys of the open objects copied aside (a
 * few bytes each, once per 64 KiB): no cost per key for a path that is almost never printed.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define COLD __attribute__((cold, noinline))
#define HOT static inline __attribute__((always_inline))
#else
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#define COLD
#define HOT static inline
#endif

#define WINDOW ((size_t)AJIO__BUFSIZE)
/* A string whose worst case (every byte escaped to 6) fits in a window with room to spare. */
#define ONE_PIECE_MAX ((WINDOW - 256) / 6)
/* Indentation up to this many spaces is copied from spaces[] in one fixed-size piece. */
#define SPACES 32
static const char spaces[SPACES] = "                                ";
/* How much of a key the path of a message keeps. */
#define KEY_SAVE 40

/* Byte classes of string contents: what ends a run of bytes copied as they are. */
enum { C_ESC = 1, C_SLASH = AJIO__GEN_STOP_SLASH, C_HIGH = 4, C_DEL = AJIO__GEN_STOP_DEL };

/* clang-format off */
#define R8(c) c, c, c, c, c, c, c, c
#define R16(c) R8(c), R8(c)
static const unsigned char cls[256] = {
    R16(C_ESC), R16(C_ESC),                                             /* 0x00-0x1F */
    0, 0, C_ESC, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, C_SLASH,           /* '"', '/' */
    R16(0), R16(0),                                                     /* 0x30-0x4F */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, C_ESC, 0, 0, 0,                 /* '\\' */
    R16(0),                                                             /* 0x60-0x6F */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, C_DEL,                 /* DEL */
    R16(C_HIGH), R16(C_HIGH), R16(C_HIGH), R16(C_HIGH),
    R16(C_HIGH), R16(C_HIGH), R16(C_HIGH), R16(C_HIGH),
};
#undef R16
#undef R8

/* The one-letter escapes; 0: none, \u00XX. */
static const char short_escape[0x60] = {
    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
    ['"'] = '"',  ['/'] = '/',  ['\\'] = '\\',
};
/* clang-format on */

enum { KEY_NONE, KEY_WINDOW, KEY_SAVED };

/*
 * Where the generator is, as the order checks need it. Every value and key asks this; as one byte
 * it is one compare instead of the failure, the depth, the innermost level and whether a key is
 * due, each loaded and tested in turn (they are, still, on every path that refuses a call, so
 * that the messages stay as they were).
 */
enum {
    M_TOP,    /* no container open */
    M_ARRAY,  /* the innermost container is an array */
    M_KEY,    /* it is an object and a key (or its end) is due */
    M_VALUE,  /* it is an object and the last key's value is due */
    M_FAILED, /* err is set */
};

/* One open container. */
struct level {
    uint64_t count;   /* members (object) or elements (array) begun */
    uint32_t key_at;  /* KEY_WINDOW: offset of the current key's text in the window */
    uint32_t key_len; /* and its length, as written (escaped) */
    uint8_t object;
    uint8_t key; /* KEY_* */
    uint8_t saved_len;
    uint8_t cut; /* the key is longer than what was saved */
    char saved[KEY_SAVE];
};

struct ajio_gen {
    struct ajio_file *f; /* the handle written to, or NULL for a sink generator */
    ajio_gen_sink_fn sink;
    void *sink_ctx;
    unsigned char *buf; /* the window: f->temp.buf (direct), or the generator's own */
    size_t len;         /* bytes in the window */
    uint64_t handed;    /* bytes handed over before the window's (ajio__gen_text_offset) */
    bool direct;
    int err;                /* first failure, returned by every later call */
    unsigned char stop;     /* the classes that end a plain run */
    ajio__gen_copy_fn copy; /* the vector kernel's run copier; NULL: the scalar loops here */
    bool pretty, ascii, lines, final_newline;
    unsigned indent;
    const char *hex;
    int precision;
    unsigned max_depth;
    unsigned depth; /* open containers; levels[1 .. depth] */
    size_t brk;     /* pretty: 1 + depth * indent, the line break before a member; else 0 */
    uint8_t mode;   /* M_*: what the next call may be, in one byte that the hot calls test */
    bool in_key;    /* a key is being written (a flush saves what there is of it) */
    uint64_t top;   /* top-level values begun */
    uint8_t item_sep_len, key_sep_len;
    char item_sep[AJIO_GEN_MAX_SEP], key_sep[AJIO_GEN_MAX_SEP];
    struct level *levels;
    unsigned levels_cap;
    char *failure; /* the first failure's message, which later calls repeat */
};

/* ---- failures ----------------------------------------------------------------------------- */

/* Appends s to buf[*n], keeping room for a final "..." when it no longer fits. */
static bool add(char *buf, size_t size, size_t *n, const char *s, size_t len)
{
    if (*n + len + 4 > size)
        return false;
    memcpy(buf + *n, s, len);
    *n += len;
    buf[*n] = '\0';
    return true;
}

/* n, or less so that s[0..n) does not end in the middle of a UTF-8 sequence. */
static size_t utf8_whole(const char *s, size_t n)
{
    size_t i = n;

    while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0 || (unsigned char)s[i - 1] < 0xC0)
        return n; /* ASCII last, or no lead byte in reach */
    unsigned c = (unsigned char)s[i - 1];
    size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    return n - (i - 1) >= want ? n : i - 1;
}

static bool is_identifier(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/*
 * Where the generator is, as a jq path: ".a.b[3]", ."key with spaces", "." for the top; with
 * AJIO_GEN_LINES prefixed by the line ("line 3: .a"). Keys are shown as written (escaped).
 */
static void where(const struct ajio_gen *g, char *buf, size_t size)
{
    size_t n = 0;
    char tmp[32];
    bool full = false;

    buf[0] = '\0';
    if (g->lines) {
        int k = snprintf(tmp, sizeof(tmp),
                         "line %llu: ", (unsigned long long)(g->top > 0 ? g->top : 1));
        (void)add(buf, size, &n, tmp, (size_t)k);
    }
    size_t start = n;
    for (unsigned i = 1; i <= g->depth && !full; i++) {
        const struct level *l = &g->levels[i];

        if (!l->object) {
            if (l->count == 0)
                continue;
            int k = snprintf(tmp, sizeof(tmp), "%s[%llu]", n == start ? "." : "",
                             (unsigned long long)(l->count - 1));
            full = !add(buf, size, &n, tmp, (size_t)k);
            continue;
        }
        if (l->key == KEY_NONE || (i == g->depth && g->mode == M_KEY))
            continue;
        const char *k = l->key == KEY_SAVED ? l->saved : (const char *)g->buf + l->key_at;
        size_t klen = l->key == KEY_SAVED ? l->saved_len : l->key_len;
        bool cut = l->key == KEY_SAVED && l->cut;

        if (klen > KEY_SAVE) {
            klen = KEY_SAVE;
            cut = true;
        }
        if (cut)
            klen = utf8_whole(k, klen);
        if (!cut && is_identifier(k, klen)) {
            full = !add(buf, size, &n, ".", 1) || !add(buf, size, &n, k, klen);
        } else {
            full = !add(buf, size, &n, ".\"", 2) || !add(buf, size, &n, k, klen) ||
                   (cut && !add(buf, size, &n, "...", 3)) || !add(buf, size, &n, "\"", 1);
        }
    }
    if (full)
        (void)memcpy(buf + (n + 4 <= size ? n : size - 4), "...", 4);
    else if (n == start)
        (void)add(buf, size, &n, ".", 1);
}

/*
 * The first failure: the message names the file, the reason and the place; it is sticky on the
 * generator and on its handle, whose commit then returns it.
 */
static COLD AJIO_PRINTF(3, 4) int fail(struct ajio_gen *g, int err, const char *fmt, ...)
{
    char what[320];
    char at[400];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    where(g, at, sizeof(at));
    if (g->f != NULL)
        (void)ajio__error(err, "JSON generation for \"%s\": %s (at %s)", g->f->target.path, what,
                          at);
    else
        (void)ajio__error(err, "JSON generation: %s (at %s)", what, at);
    g->err = err;
    g->mode = M_FAILED;
    if (g->f != NULL)
        g->f->temp.err = err;
    free(g->failure);
    g->failure = strdup(ajio_last_error());
    return err;
}

/* A failure the handle reported (a write), already with its message. */
static COLD int failed(struct ajio_gen *g, int err)
{
    g->err = err;
    g->mode = M_FAILED;
    if (g->f != NULL)
        g->f->temp.err = err;
    free(g->failure);
    g->failure = strdup(ajio_last_error());
    return err;
}

/* Every call after a failure: the same error and message. */
static COLD int again(const struct ajio_gen *g)
{
    if (g->failure != NULL)
        return ajio__error(g->err, "%s", g->failure);
    return ajio__error(g->err, "JSON generation for \"%s\" after an earlier failure: %s",
                       g->f != NULL ? g->f->target.path : "(sink)", ajio_strerror(g->err));
}

static COLD int null_gen(const char *fn)
{
    return ajio__error(-EINVAL, "%s: generator is NULL", fn);
}

/* ---- the window ----------------------------------------------------------------------------- */

/*
 * Direct: the handle's buffer length and byte count catch up with the window. Only before the
 * handle looks at them (a flush, the commit): nothing else reads them while the generator is
 * attached, since ajio_file_write() is refused then.
 */
static void sync(struct ajio_gen *g)
{
    if (g->direct) {
        g->f->temp.written += g->len - g->f->temp.buflen;
        g->f->temp.buflen = g->len;
    }
}

/* The keys of the open objects that are in the window are about to leave it: copied aside. */
static void save_keys(struct ajio_gen *g)
{
    for (unsigned i = 1; i <= g->depth; i++) {
        struct level *l = &g->levels[i];
        bool open = g->in_key && i == g->depth;

        if (!l->object || l->key != KEY_WINDOW)
            continue;
        size_t have = open ? g->len - l->key_at : l->key_len;
        size_t n = have < KEY_SAVE ? have : KEY_SAVE;

        memcpy(l->saved, g->buf + l->key_at, n);
        l->saved_len = (uint8_t)n;
        l->cut = open || n < have;
        l->key = KEY_SAVED;
    }
}

/*
 * A sink generator's window to its callback. A message the callback set is kept (as an
 * ajio_update() callback's is); a positive result is a misuse, made an error here.
 */
static COLD int to_sink(struct ajio_gen *g)
{
    unsigned long before = ajio__error_count();
    int r = g->sink(g->sink_ctx, g->buf, g->len);

    if (r > 0)
        r = -EINVAL;
    if (r < 0 && ajio__error_count() == before)
        (void)ajio__error_strerror(r, "JSON generation: the output callback failed with %zu "
                                      "bytes to write",
                                   g->len);
    return r;
}

/* Hands the window to the handle (or the sink) and empties it. */
static COLD int flush(struct ajio_gen *g)
{
    int r;

    save_keys(g);
    if (g->sink != NULL) {
        r = to_sink(g);
    } else if (g->direct) {
        sync(g);
        r = ajio__file_flush(g->f);
    } else {
        r = ajio__file_write(g->f, g->buf, g->len);
    }
    if (r < 0)
        return failed(g, r);
    g->handed += g->len;
    g->len = 0;
    return 0;
}

/* Room for n more bytes (n <= WINDOW). */
HOT int room(struct ajio_gen *g, size_t n)
{
    if (LIKELY(WINDOW - g->len >= n))
        return 0;
    return flush(g);
}

/* n bytes as they are, in window-sized pieces if need be. */
static int put_bytes(struct ajio_gen *g, const void *data, size_t n)
{
    const unsigned char *p = data;

    while (n > 0) {
        if (g->len == WINDOW && flush(g) < 0)
            return g->err;
        size_t k = WINDOW - g->len < n ? WINDOW - g->len : n;
        memcpy(g->buf + g->len, p, k);
        g->len += k;
        p += k;
        n -= k;
    }
    return 0;
}

/* "\n" and n spaces, when they may not fit the window at once. */
static COLD int line_break_slow(struct ajio_gen *g, size_t n)
{
    if (room(g, 1) < 0)
        return g->err;
    g->buf[g->len++] = '\n';
    while (n > 0) {
        if (g->len == WINDOW && flush(g) < 0)
            return g->err;
        size_t k = WINDOW - g->len < n ? WINDOW - g->len : n;
        memset(g->buf + g->len, ' ', k);
        g->len += k;
        n -= k;
    }
    return 0;
}

/* "\n" and n spaces at p, which has room for SPACES more bytes than that. */
HOT unsigned char *put_break(unsigned char *p, size_t n)
{
    *p++ = '\n';
    /* A document is seldom more than a few levels deep: two fixed-size copies, no call. */
    if (LIKELY(n <= SPACES)) {
        memcpy(p, spaces, SPACES);
    } else {
        memset(p, ' ', n);
    }
    return p + n;
}

/*
 * Before a member or an element: the item separator (not before the first) and, pretty, the line
 * break and indentation of the current level. Then room for need more bytes.
 */
HOT int separate(struct ajio_gen *g, bool first, size_t need)
{
    size_t brk = g->brk;

    if (LIKELY(WINDOW - g->len >= AJIO_GEN_MAX_SEP + brk + SPACES + need)) {
        unsigned char *p = g->buf + g->len;
        if (!first) {
            memcpy(p, g->item_sep, AJIO_GEN_MAX_SEP);
            p += g->item_sep_len;
        }
        if (brk > 0)
            p = put_break(p, brk - 1);
        g->len = (size_t)(p - g->buf);
        return 0;
    }
    if (!first && put_bytes(g, g->item_sep, g->item_sep_len) < 0)
        return g->err;
    if (brk > 0 && line_break_slow(g, brk - 1) < 0)
        return g->err;
    return room(g, need);
}

/* ---- order -------------------------------------------------------------------------------- */

static COLD int misuse(struct ajio_gen *g, const char *fn, const char *what)
{
    return fail(g, -EINVAL, "%s: %s", fn, what);
}

/* A value at the top: one, or any number with AJIO_GEN_LINES. */
static COLD int top_start(struct ajio_gen *g, size_t need, const char *fn)
{
    if (g->top > 0 && !g->lines)
        return misuse(g, fn, "a second top-level value (only AJIO_GEN_LINES writes several)");
    g->top++;
    return room(g, need);
}

/*
 * Everything before a value: the checks of order, the separator, the line break, room for need
 * bytes, the count. @return 0 or the (sticky) error.
 */
static COLD int value_refused(struct ajio_gen *g, size_t need, const char *fn)
{
    if (g->err != 0)
        return again(g);
    if (g->depth == 0)
        return top_start(g, need, fn);
    return misuse(g, fn, "a value where an object expects a key");
}

HOT int value_start(struct ajio_gen *g, size_t need, const char *fn)
{
    if (LIKELY(g->mode == M_VALUE)) /* the key wrote the separator and the line break */
        return room(g, need);
    if (UNLIKELY(g->mode != M_ARRAY))
        return value_refused(g, need, fn);
    struct level *l = &g->levels[g->depth];
    int r = separate(g, l->count == 0, need);
    l->count++;
    return r;
}

/* The top-level value is complete: its newline. */
static COLD int top_end(struct ajio_gen *g)
{
    if (g->final_newline) {
        if (room(g, 1) < 0)
            return g->err;
        g->buf[g->len++] = '\n';
    }
    return 0;
}

HOT int value_end(struct ajio_gen *g)
{
    if (UNLIKELY(g->depth == 0)) {
        g->mode = M_TOP;
        return top_end(g);
    }
    g->mode = g->levels[g->depth].object ? M_KEY : M_ARRAY;
    return 0;
}

/* ---- strings ------------------------------------------------------------------------------ */

/*
 * The length of the UTF-8 sequence at p (p[0] >= 0x80), or 0 if it is not strict UTF-8: a lone or
 * unexpected continuation byte, an overlong form, a surrogate, above U+10FFFF, or cut short.
 */
HOT size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    size_t avail = (size_t)(end - p);
    unsigned c = p[0];

    if (c < 0xC2)
        return 0;
    if (c < 0xE0)
        return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0))
            return 0;
        return 3;
    }
    if (c < 0xF5) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

HOT unsigned char *put_u16(unsigned char *o, unsigned u, const char *hex)
{
    o[0] = '\\';
    o[1] = 'u';
    o[2] = (unsigned char)hex[(u >> 12) & 15];
    o[3] = (unsigned char)hex[(u >> 8) & 15];
    o[4] = (unsigned char)hex[(u >> 4) & 15];
    o[5] = (unsigned char)hex[u & 15];
    return o + 6;
}

/* The checked k-byte sequence at p as \uXXXX, or a surrogate pair above U+FFFF. */
static unsigned char *put_code_point(unsigned char *o, const unsigned char *p, size_t k,
                                     const char *hex)
{
    unsigned cp;

    if (k == 2)
        cp = (p[0] & 0x1Fu) << 6 | (p[1] & 0x3Fu);
    else if (k == 3)
        cp = (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
    else
        cp = (p[0] & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
    if (cp < 0x10000)
        return put_u16(o, cp, hex);
    cp -= 0x10000;
    o = put_u16(o, 0xD800 | (cp >> 10), hex);
    return put_u16(o, 0xDC00 | (cp & 0x3FF), hex);
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR 1
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* The high bit of every byte of x that is zero (exact for the lowest such byte). */
HOT uint64_t zero_bytes(uint64_t x)
{
    return (x - ONES) & ~x & HIGHS;
}

/*
 * The offset of the first byte of the word x (in memory order) that ends a plain run, or 8.
 * Bytes below 0x20, '"', '\\' and every byte from 0x80 always do; '/' and DEL when stop says so.
 * The tests borrow across bytes, so only the lowest flagged byte is sure: the one wanted.
 */
HOT unsigned word_stop(uint64_t x, unsigned char stop)
{
    uint64_t m = ((x - 0x20 * ONES) & ~x) | x; /* below 0x20, or 0x80 and above */

    m |= zero_bytes(x ^ ('"' * ONES)) | zero_bytes(x ^ ('\\' * ONES));
    if (UNLIKELY(stop & (C_SLASH | C_DEL))) {
        if (stop & C_SLASH)
            m |= zero_bytes(x ^ ('/' * ONES));
        if (stop & C_DEL)
            m |= zero_bytes(x ^ (0x7F * ONES));
    }
    m &= HIGHS;
    return m == 0 ? 8 : (unsigned)__builtin_ctzll(m) >> 3;
}

/* The same for the 8 bytes at p. */
HOT unsigned first_stop(const unsigned char *p, unsigned char stop)
{
    uint64_t x;

    memcpy(&x, p, 8);
    return word_stop(x, stop);
}
#else
#define SWAR 0
#endif

/*
 * The length of the run at the start of s[0..n) that needs no escape and no check. Short
 * strings (most keys) are tested whole with two overlapping loads instead of a loop, the tail of
 * a longer one with a load that overlaps what was tested already: no branch per byte.
 */
HOT size_t plain_prefix(const unsigned char *s, size_t n, unsigned char stop)
{
    size_t i = 0;

#if SWAR
    if (n >= 8) {
        for (; n - i >= 8; i += 8) {
            unsigned k = first_stop(s + i, stop);
            if (k < 8)
                return i + k;
        }
        if (i == n || first_stop(s + n - 8, stop) == 8)
            return n;
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        if (word_stop(a | (uint64_t)b << 32, stop) == 8)
            return n;
    }
#endif
    /* a stop somewhere (its place is found here), or under 4 bytes */
    while (i < n && !(cls[s[i]] & stop))
        i++;
    return i;
}

/*
 * A string of 4 to 16 bytes that needs no escape, checked and copied to o with two overlapping
 * loads and stores (most keys and many values: no loop, no call). @return n if it was, else 0.
 */
HOT size_t short_plain(unsigned char *o, const unsigned char *s, size_t n, unsigned char stop)
{
#if SWAR
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        if (word_stop(a, stop) == 8 && word_stop(b, stop) == 8) {
            memcpy(o, &a, 8);
            memcpy(o + n - 8, &b, 8);
            return n;
        }
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        if (word_stop(a | (uint64_t)b << 32, stop) == 8) {
            memcpy(o, &a, 4);
            memcpy(o + n - 4, &b, 4);
            return n;
        }
    }
#else
    (void)o, (void)s, (void)n, (void)stop;
#endif
    return 0;
}

/* The ASCII byte c escaped: its one-letter escape, else \u00XX. */
HOT unsigned char *put_escape(unsigned char *o, unsigned c, const char *hex)
{
    char e = c < sizeof(short_escape) ? short_escape[c] : 0;

    if (e != 0) { /* '/' gets here only with AJIO_GEN_ESCAPE_SLASH */
        o[0] = '\\';
        o[1] = (unsigned char)e;
        return o + 2;
    }
    return put_u16(o, c, hex);
}

/*
 * Escapes *pp .. stop_at into o and returns the new end of output; *pp ends at stop_at, or up to
 * 3 bytes beyond it when a UTF-8 sequence starts before it (end bounds the look-ahead). At most
 * 6 output bytes per input byte. NULL when the input is not UTF-8, *pp then at the bad byte.
 */
static unsigned char *escape(const struct ajio_gen *g, unsigned char *o, const unsigned char **pp,
                             const unsigned char *stop_at, const unsigned char *end)
{
    const unsigned char *p = *pp, *run = p;
    const unsigned char stop = g->stop;

    for (;;) {
#if SWAR
        while (stop_at - p >= 8) {
            unsigned k = first_stop(p, stop);
            p += k;
            if (k < 8)
                break;
        }
#endif
        while (p < stop_at && !(cls[*p] & stop))
            p++;
        if (p >= stop_at)
            break;
        unsigned c = *p;
        if (c >= 0x80 && !g->ascii) {
            /* Valid sequences are part of the run; text in other scripts is one after another. */
            do {
                size_t k = utf8_len(p, end);
                if (UNLIKELY(k == 0)) {
                    *pp = p;
                    return NULL;
                }
                p += k;
            } while (p < stop_at && *p >= 0x80);
            continue;
        }
        if (c >= 0x80) {
            size_t k = utf8_len(p, end);
            if (UNLIKELY(k == 0)) {
                *pp = p;
                return NULL;
            }
            memcpy(o, run, (size_t)(p - run));
            o += p - run;
            o = put_code_point(o, p, k, g->hex);
            p += k;
        } else {
            memcpy(o, run, (size_t)(p - run));
            o += p - run;
            o = put_escape(o, c, g->hex);
            p++;
        }
        run = p;
    }
    memcpy(o, run, (size_t)(p - run));
    o += p - run;
    *pp = p;
    return o;
}

/*
 * escape() with a vector kernel, which copies each run as it finds it (rather than at its end):
 * the same output, the same contract.
 */
static unsigned char *escape_vec(const struct ajio_gen *g, unsigned char *o,
                                 const unsigned char **pp, const unsigned char *stop_at,
                                 const unsigned char *end)
{
    const unsigned char *p = *pp;
    const ajio__gen_copy_fn copy = g->copy;

    /* A sequence may end past stop_at (up to end): then so does the loop. */
    while (p < stop_at) {
        size_t k = copy(o, p, (size_t)(stop_at - p), g->stop);
        o += k;
        p += k;
        if (p >= stop_at)
            break;
        unsigned c = *p;
        if (c < 0x80) {
            o = put_escape(o, c, g->hex);
            p++;
            continue;
        }
        /* Sequence after sequence, as escape() checks them; copied byte by byte, none past end. */
        do {
            k = utf8_len(p, end);
            if (UNLIKELY(k == 0)) {
                *pp = p;
                return NULL;
            }
            if (g->ascii) {
                o = put_code_point(o, p, k, g->hex);
            } else {
                o[0] = p[0];
                o[1] = p[1];
                if (k > 2)
                    o[2] = p[2];
                if (k > 3)
                    o[3] = p[3];
                o += k;
            }
            p += k;
        } while (p < stop_at && *p >= 0x80);
    }
    *pp = p;
    return o;
}

static COLD int not_utf8(struct ajio_gen *g, const unsigned char *s, const unsigned char *bad,
                         bool key)
{
    return fail(g, AJIO_EJSON, "%s is not valid UTF-8 (byte 0x%02X at offset %zu)",
                key ? "an object key" : "a string", *bad, (size_t)(bad - s));
}

/* A string longer than a window: escaped chunk by chunk, flushing in between. */
static COLD int put_long_string(struct ajio_gen *g, const unsigned char *s, size_t n, bool key)
{
    const unsigned char *p = s, *end = s + n;

    while (p < end) {
        if (WINDOW - g->len < 6 * 1024 && flush(g) < 0)
            return g->err;
        size_t chunk = (WINDOW - g->len - 64) / 6 - 3;
        if (chunk > (size_t)(end - p))
            chunk = (size_t)(end - p);
        unsigned char *o = g->copy != NULL ? escape_vec(g, g->buf + g->len, &p, p + chunk, end)
                                           : escape(g, g->buf + g->len, &p, p + chunk, end);
        if (o == NULL)
            return not_utf8(g, s, p, key);
        g->len = (size_t)(o - g->buf);
    }
    return 0;
}

/*
 * s[0..n) as a JSON string, quotes included. For a key, its place in the window is noted for the
 * path of a message.
 */
HOT int put_string(struct ajio_gen *g, const char *str, size_t n, bool key)
{
    const unsigned char *s = (const unsigned char *)str, *p = s;
    struct level *l = key ? &g->levels[g->depth] : NULL;

    if (LIKELY(n <= ONE_PIECE_MAX)) {
        if (room(g, 6 * n + 2 + AJIO_GEN_MAX_SEP) < 0)
            return g->err;
        unsigned char *o = g->buf + g->len;
        *o++ = '"';
        unsigned char *text = o;
        /* Most strings need no escape at all: found and copied here, without a call. */
        size_t plain = short_plain(o, s, n, g->stop);
        if (plain == 0 && n > 0) {
            if (g->copy != NULL) {
                plain = g->copy(o, s, n, g->stop);
            } else {
                plain = plain_prefix(s, n, g->stop);
                memcpy(o, s, plain);
            }
        }
        o += plain;
        if (plain < n) {
            p = s + plain;
            o = g->copy != NULL ? escape_vec(g, o, &p, s + n, s + n)
                                : escape(g, o, &p, s + n, s + n);
            if (UNLIKELY(o == NULL))
                return not_utf8(g, s, p, key);
        }
        if (key) {
            l->key = KEY_WINDOW;
            l->key_at = (uint32_t)(text - g->buf);
            l->key_len = (uint32_t)(o - text);
        }
        *o++ = '"';
        g->len = (size_t)(o - g->buf);
        return 0;
    }
    if (room(g, 1 + KEY_SAVE) < 0)
        return g->err;
    g->buf[g->len++] = '"';
    if (key) {
        l->key = KEY_WINDOW;
        l->key_at = (uint32_t)g->len;
        g->in_key = true;
    }
    int r = put_long_string(g, s, n, key);
    if (key) {
        g->in_key = false;
        if (l->key == KEY_WINDOW)
            l->key_len = (uint32_t)(g->len - l->key_at);
    }
    if (r < 0)
        return r;
    if (room(g, 1 + AJIO_GEN_MAX_SEP) < 0)
        return g->err;
    g->buf[g->len++] = '"';
    return 0;
}

/* ---- the API ------------------------------------------------------------------------------ */

#define CHECK(g)                                                                                   \
    do {                                                                                           \
        if (UNLIKELY((g) == NULL))                                                                 \
            return null_gen(__func__);                                                             \
    } while (0)

/* A separator: ',' (or ':') with JSON whitespace around it; no '\n' in JSON Lines. */
static bool good_sep(const char *s, char mark, bool lines)
{
    size_t n = strlen(s);
    int marks = 0;

    if (n == 0 || n > AJIO_GEN_MAX_SEP)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == mark)
            marks++;
        else if (!(s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || (s[i] == '\n' && !lines)))
            return false;
    }
    return marks == 1;
}

#define ALL_GEN_FLAGS                                                                              \
    (AJIO_GEN_PRETTY | AJIO_GEN_COMPACT | AJIO_GEN_LINES | AJIO_GEN_ENSURE_ASCII |                 \
     AJIO_GEN_ESCAPE_SLASH | AJIO_GEN_LOWER_HEX | AJIO_GEN_ESCAPE_DEL | AJIO_GEN_NO_NEWLINE)

/* AJIO_JSONL asks for lines here too, as AJIO_GEN_LINES does (their bits differ). */
static unsigned gen_flags(unsigned fl)
{
    return (fl & AJIO_JSONL) ? (fl & ~(unsigned)AJIO_JSONL) | AJIO_GEN_LINES : fl;
}

static int check_opts(const ajio_gen_opts *o, const char *path)
{
    unsigned fl = gen_flags(o->flags);
    const char *why = NULL;

    if (fl & ~(unsigned)ALL_GEN_FLAGS)
        why = "unknown flags";
    else if (o->indent != 0 && !(fl & AJIO_GEN_PRETTY))
        why = "an indent without AJIO_GEN_PRETTY";
    else if (o->indent < 0 || o->indent > AJIO_GEN_MAX_INDENT)
        why = "indent out of range (0 .. AJIO_GEN_MAX_INDENT)";
    else if ((fl & AJIO_GEN_LINES) && (fl & (AJIO_GEN_PRETTY | AJIO_GEN_NO_NEWLINE)))
        why = "AJIO_GEN_LINES with AJIO_GEN_PRETTY or AJIO_GEN_NO_NEWLINE";
    else if (o->item_sep != NULL && !good_sep(o->item_sep, ',', (fl & AJIO_GEN_LINES) != 0))
        why = "item_sep is not ',' with whitespace around it (no newline in JSON Lines)";
    else if (o->key_sep != NULL && !good_sep(o->key_sep, ':', (fl & AJIO_GEN_LINES) != 0))
        why = "key_sep is not ':' with whitespace around it (no newline in JSON Lines)";
    else if (o->double_precision < 0 || o->double_precision > AJIO_GEN_MAX_PRECISION)
        why = "double_precision out of range (0 .. AJIO_GEN_MAX_PRECISION)";
    for (size_t i = 0; why == NULL && i < sizeof(o->reserved) / sizeof(o->reserved[0]); i++)
        if (o->reserved[i] != 0)
            why = "reserved fields not zero";
    if (why != NULL)
        return ajio__error(-EINVAL, "ajio_gen_new for \"%s\": %s", path, why);
    return 0;
}

static void set_sep(char *dst, uint8_t *ret_len, const char *given, const char *dflt)
{
    const char *s = given != NULL ? given : dflt;
    size_t n = strlen(s);

    memset(dst, 0, AJIO_GEN_MAX_SEP);
    memcpy(dst, s, n);
    *ret_len = (uint8_t)n;
}

/*
 * A generator with opts applied and its window: f's buffer when direct, else one of its own.
 * path names the output in messages. @return NULL (message set) without memory.
 */
static struct ajio_gen *gen_alloc(const ajio_gen_opts *opts, struct ajio_file *f, bool direct,
                                  const char *path)
{
    struct ajio_gen *g = calloc(1, sizeof(*g));

    if (g == NULL)
        goto nomem;
    g->f = f;
    g->levels_cap = 16;
    g->levels = malloc(g->levels_cap * sizeof(*g->levels));
    g->direct = direct;
    if (direct) {
        if (f->temp.buf == NULL)
            f->temp.buf = malloc(AJIO__BUFSIZE);
        g->buf = f->temp.buf;
        g->len = f->temp.buflen;
    } else {
        g->buf = malloc(WINDOW);
    }
    if (g->levels == NULL || g->buf == NULL) {
        if (!direct)
            free(g->buf);
        free(g->levels);
        free(g);
        goto nomem;
    }

    unsigned fl = gen_flags(opts->flags);
    bool compact = (fl & (AJIO_GEN_COMPACT | AJIO_GEN_LINES)) != 0;
    g->pretty = (fl & AJIO_GEN_PRETTY) != 0;
    g->ascii = (fl & AJIO_GEN_ENSURE_ASCII) != 0;
    g->lines = (fl & AJIO_GEN_LINES) != 0;
    g->final_newline = !(fl & AJIO_GEN_NO_NEWLINE);
    g->indent = (unsigned)opts->indent;
    g->hex = (fl & AJIO_GEN_LOWER_HEX) ? "0123456789abcdef" : "0123456789ABCDEF";
    g->stop = C_ESC | C_HIGH | ((fl & AJIO_GEN_ESCAPE_SLASH) ? C_SLASH : 0) |
              ((fl & AJIO_GEN_ESCAPE_DEL) ? C_DEL : 0);
    g->copy = ajio__gen_copy_plain(ajio__kernel(), !g->ascii);
    g->precision = opts->double_precision;
    g->max_depth = opts->max_depth != 0 ? opts->max_depth : AJIO_GEN_DEFAULT_MAX_DEPTH;
    set_sep(g->item_sep, &g->item_sep_len, opts->item_sep, compact || g->pretty ? "," : ", ");
    set_sep(g->key_sep, &g->key_sep_len, opts->key_sep, compact ? ":" : ": ");
    return g;
nomem:
    (void)ajio__error_strerror(-ENOMEM, "JSON generator for \"%s\"", path);
    return NULL;
}

static int gen_finish(void *content);
static void gen_free(void *content);

/* How a handle runs its generator: finished first in the commit, freed with the handle. */
static const struct ajio__content_ops gen_ops = {
    .writer = "JSON generator (ajio_gen_raw() adds text)",
    .finish = gen_finish,
    .free = gen_free,
};

int ajio_gen_new(ajio_gen **ret, ajio_file *f, const ajio_gen_opts *opts)
{
    static const ajio_gen_opts defaults;
    struct ajio_gen *g;
    int r;

    if (ret == NULL || f == NULL)
        return ajio__error(-EINVAL, "ajio_gen_new: %s is NULL", ret == NULL ? "ret" : "f");
    if (f->temp.content_ops != NULL)
        return ajio__error(-EINVAL, "ajio_gen_new: \"%s\" already has a generator", f->target.path);
    if (f->temp.err < 0)
        return ajio__error(f->temp.err, "ajio_gen_new: \"%s\" has failed already: %s",
                           f->target.path, ajio_strerror(f->temp.err));
    if (opts == NULL)
        opts = &defaults;
    r = check_opts(opts, f->target.path);
    if (r < 0)
        return r;
    /*
     * Straight into the handle's buffer, unless the handle must see every byte go through
     * ajio__file_write(): then a window of its own, handed over whole.
     */
    g = gen_alloc(opts, f, f->old.cmpfd < 0 && f->temp.checker == NULL, f->target.path);
    if (g == NULL)
        return -ENOMEM;
    f->temp.content_ops = &gen_ops;
    f->temp.content = g;
    *ret = g;
    return 0;
}

int ajio_gen_new_sink(ajio_gen **ret, ajio_gen_sink_fn fn, void *ctx, const ajio_gen_opts *opts)
{
    static const ajio_gen_opts defaults;
    struct ajio_gen *g;
    int r;

    if (ret == NULL || fn == NULL)
        return ajio__error(-EINVAL, "ajio_gen_new_sink: %s is NULL", ret == NULL ? "ret" : "fn");
    if (opts == NULL)
        opts = &defaults;
    r = check_opts(opts, "(sink)");
    if (r < 0)
        return r;
    g = gen_alloc(opts, NULL, false, "(sink)");
    if (g == NULL)
        return -ENOMEM;
    g->sink = fn;
    g->sink_ctx = ctx;
    *ret = g;
    return 0;
}

HOT int begin(struct ajio_gen *g, bool object, const char *fn)
{
    int r = value_start(g, 2, fn);

    if (r < 0)
        return r;
    if (UNLIKELY(g->depth >= g->max_depth))
        return fail(g, -EINVAL, "%s: nesting deeper than %u levels (max_depth)", fn, g->max_depth);
    if (UNLIKELY(g->depth + 1 >= g->levels_cap)) {
        unsigned cap = g->levels_cap * 2;
        struct level *l = realloc(g->levels, cap * sizeof(*l));
        if (l == NULL)
            return fail(g, -ENOMEM, "%s: %u levels of nesting: out of memory", fn, g->depth + 1);
        g->levels = l;
        g->levels_cap = cap;
    }
    struct level *l = &g->levels[++g->depth];
    g->brk = g->pretty ? 1 + (size_t)g->depth * g->indent : 0;
    l->count = 0;
    l->object = object;
    l->key = KEY_NONE;
    g->mode = object ? M_KEY : M_ARRAY;
    g->buf[g->len++] = object ? '{' : '[';
    return 0;
}

HOT int end(struct ajio_gen *g, bool object, const char *fn)
{
    if (UNLIKELY(g->err != 0))
        return again(g);
    if (UNLIKELY(g->depth == 0))
        return misuse(g, fn, object ? "no object is open" : "no array is open");
    struct level *l = &g->levels[g->depth];
    if (UNLIKELY(l->object != object))
        return misuse(g, fn,
                      object ? "the innermost container is an array"
                             : "the innermost container is an object");
    if (UNLIKELY(object && g->mode != M_KEY))
        return misuse(g, fn, "the last key has no value");
    if (g->pretty && l->count > 0) {
        size_t n = (size_t)(g->depth - 1) * g->indent;
        if (LIKELY(WINDOW - g->len >= n + 2 + SPACES)) {
            g->len = (size_t)(put_break(g->buf + g->len, n) - g->buf);
        } else if (line_break_slow(g, n) < 0) {
            return g->err;
        }
    }
    if (room(g, 1) < 0)
        return g->err;
    g->buf[g->len++] = object ? '}' : ']';
    g->depth--;
    g->brk = g->pretty ? 1 + (size_t)g->depth * g->indent : 0;
    return value_end(g);
}

int ajio_gen_begin_object(ajio_gen *g)
{
    CHECK(g);
    return begin(g, true, __func__);
}

int ajio_gen_end_object(ajio_gen *g)
{
    CHECK(g);
    return end(g, true, __func__);
}

int ajio_gen_begin_array(ajio_gen *g)
{
    CHECK(g);
    return begin(g, false, __func__);
}

int ajio_gen_end_array(ajio_gen *g)
{
    CHECK(g);
    return end(g, false, __func__);
}

/* Why a key is refused here, checked in the order the messages have always been chosen in. */
static COLD int key_refused(struct ajio_gen *g, const char *fn)
{
    if (g->err != 0)
        return again(g);
    if (g->depth == 0 || !g->levels[g->depth].object)
        return misuse(g, fn, "a key outside an object");
    return misuse(g, fn, "a key where the last key's value is due");
}

int ajio_gen_key(ajio_gen *g, const char *s, size_t len)
{
    CHECK(g);
    if (UNLIKELY(g->mode != M_KEY))
        return key_refused(g, __func__);
    if (UNLIKELY(s == NULL && len > 0))
        return misuse(g, __func__, "s is NULL with a length");
    struct level *l = &g->levels[g->depth];
    if (separate(g, l->count == 0, 0) < 0)
        return g->err;
    l->count++;
    if (put_string(g, s, len, true) < 0)
        return g->err;
    /* put_string() left room for a separator */
    memcpy(g->buf + g->len, g->key_sep, AJIO_GEN_MAX_SEP);
    g->len += g->key_sep_len;
    g->mode = M_VALUE;
    return 0;
}

int ajio_gen_string(ajio_gen *g, const char *s, size_t len)
{
    CHECK(g);
    if (UNLIKELY(s == NULL && len > 0 && g->err == 0))
        return misuse(g, __func__, "s is NULL with a length");
    if (value_start(g, 0, __func__) < 0 || put_string(g, s, len, false) < 0)
        return g->err;
    return value_end(g);
}

/* ---- text escaped by the caller (internal.h) ------------------------------------------------- */

int ajio__gen_text_begin(ajio_gen *g, bool key, size_t need, unsigned char **ret_at)
{
    /* The quote, and room for the closing one and a key separator (copied whole) at the end. */
    need += 2 + AJIO_GEN_MAX_SEP;
    if (!key) {
        if (value_start(g, need, "ajio_gen_string") < 0)
            return g->err;
        g->buf[g->len++] = '"';
        *ret_at = g->buf + g->len;
        return 0;
    }
    if (UNLIKELY(g->mode != M_KEY))
        return key_refused(g, "ajio_gen_key");
    struct level *l = &g->levels[g->depth];
    if (separate(g, l->count == 0, need) < 0)
        return g->err;
    l->count++;
    g->buf[g->len++] = '"';
    /* Noted for the path of a message, as put_string() notes a key; a flush saves it. */
    l->key = KEY_WINDOW;
    l->key_at = (uint32_t)g->len;
    g->in_key = true;
    *ret_at = g->buf + g->len;
    return 0;
}

int ajio__gen_text_room(ajio_gen *g, size_t need, unsigned char **at)
{
    g->len = (size_t)(*at - g->buf);
    if (room(g, need + 1 + AJIO_GEN_MAX_SEP) < 0)
        return g->err;
    *at = g->buf + g->len;
    return 0;
}

int ajio__gen_text_end(ajio_gen *g, bool key, unsigned char *at)
{
    g->len = (size_t)(at - g->buf);
    /* begin and room left space for the quote and the separator */
    g->buf[g->len++] = '"';
    if (!key)
        return value_end(g);
    struct level *l = &g->levels[g->depth];
    g->in_key = false;
    if (l->key == KEY_WINDOW)
        l->key_len = (uint32_t)(g->len - 1 - l->key_at);
    memcpy(g->buf + g->len, g->key_sep, AJIO_GEN_MAX_SEP);
    g->len += g->key_sep_len;
    g->mode = M_VALUE;
    return 0;
}

uint64_t ajio__gen_text_offset(const ajio_gen *g, const unsigned char *at)
{
    return g->handed + (uint64_t)(at - g->buf);
}

int ajio_gen_int64(ajio_gen *g, int64_t v)
{
    CHECK(g);
    if (value_start(g, 24, __func__) < 0)
        return g->err;
    g->len += ajio__format_i64((char *)g->buf + g->len, v);
    return value_end(g);
}

int ajio_gen_uint64(ajio_gen *g, uint64_t v)
{
    CHECK(g);
    if (value_start(g, 24, __func__) < 0)
        return g->err;
    g->len += ajio__format_u64((char *)g->buf + g->len, v);
    return value_end(g);
}

int ajio_gen_double(ajio_gen *g, double v)
{
    CHECK(g);
    if (value_start(g, AJIO_GEN_DOUBLE_MAX, __func__) < 0)
        return g->err;
    if (UNLIKELY(!__builtin_isfinite(v)))
        return fail(g, AJIO_EJSON, "%s cannot be written as JSON",
                    v != v  ? "NaN"
                    : v > 0 ? "Infinity"
                            : "-Infinity");
    g->len += (size_t)ajio__format_double((char *)g->buf + g->len, v, g->precision);
    return value_end(g);
}

int ajio_gen_bool(ajio_gen *g, int v)
{
    CHECK(g);
    if (value_start(g, 8, __func__) < 0)
        return g->err;
    if (v) {
        memcpy(g->buf + g->len, "true", 4);
        g->len += 4;
    } else {
        memcpy(g->buf + g->len, "false", 5);
        g->len += 5;
    }
    return value_end(g);
}

int ajio_gen_null(ajio_gen *g)
{
    CHECK(g);
    if (value_start(g, 4, __func__) < 0)
        return g->err;
    memcpy(g->buf + g->len, "null", 4);
    g->len += 4;
    return value_end(g);
}

/* The end of the run of digits from s[i] (eight at a time where there are eight). */
HOT size_t skip_digits(const char *s, size_t i, size_t n)
{
#if SWAR
    while (n - i >= 8) {
        uint64_t x, t;
        memcpy(&x, s + i, 8);
        /* below '0' borrows, above '9' carries into the high bit; a digit does neither */
        t = ((x - 0x30 * ONES) | (x + 0x46 * ONES)) & HIGHS;
        if (t != 0)
            return i + ((unsigned)__builtin_ctzll(t) >> 3);
        i += 8;
    }
#endif
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* The JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_number(const char *s, size_t n)
{
    size_t i = 0;

    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        i = skip_digits(s, i + 1, n);
    else
        return false;
    if (i < n && s[i] == '.') {
        size_t d = ++i;
        i = skip_digits(s, i, n);
        if (i == d)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        i = skip_digits(s, i, n);
        if (i == d)
            return false;
    }
    return i == n;
}

int ajio_gen_number(ajio_gen *g, const char *text, size_t len)
{
    CHECK(g);
    if (value_start(g, 0, __func__) < 0)
        return g->err;
    if (UNLIKELY(text == NULL || !is_number(text, len)))
        return fail(g, AJIO_EJSON, "not a JSON number: \"%.*s\"%s", len > 40 ? 40 : (int)len,
                    text != NULL ? text : "", len > 40 ? "..." : "");
    if (LIKELY(WINDOW - g->len >= len)) {
        memcpy(g->buf + g->len, text, len);
        g->len += len;
    } else if (put_bytes(g, text, len) < 0) {
        return g->err;
    }
    return value_end(g);
}

int ajio_gen_raw(ajio_gen *g, const char *json, size_t len)
{
    ajio_json_error je;
    int r;

    CHECK(g);
    if (value_start(g, 0, __func__) < 0)
        return g->err;
    r = json == NULL ? -EINVAL : ajio_json_validate(json, len, 0, &je);
    if (r == -EINVAL)
        return misuse(g, __func__, "json is NULL");
    if (r < 0)
        return fail(g, AJIO_EJSON, "raw JSON text is not valid: %" PRIu64 ":%" PRIu64 ": %s",
                    je.line, je.column, je.reason);
    if (g->lines && memchr(json, '\n', len) != NULL)
        return fail(g, AJIO_EJSON, "raw JSON text holds a newline, which would split the line");
    if (put_bytes(g, json, len) < 0)
        return g->err;
    return value_end(g);
}

int ajio_gen_fail(ajio_gen *g, int err, const char *fmt, ...)
{
    char what[320];
    va_list ap;

    CHECK(g);
    if (g->err != 0)
        return again(g);
    if (err >= 0)
        err = -EINVAL;
    if (fmt == NULL) {
        (void)snprintf(what, sizeof(what), "%s", ajio_strerror(err));
    } else {
        va_start(ap, fmt);
        (void)vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
    }
    return fail(g, err, "%s", what);
}

int ajio_gen_format_double(char *buf, size_t size, double v, int precision)
{
    if (buf == NULL || size < AJIO_GEN_DOUBLE_MAX)
        return ajio__error(-EINVAL, "ajio_gen_format_double: %s",
                           buf == NULL ? "buf is NULL" : "size below AJIO_GEN_DOUBLE_MAX");
    if (!__builtin_isfinite(v))
        return ajio__error(-EINVAL, "ajio_gen_format_double: %s is not a JSON number",
                           v != v  ? "NaN"
                           : v > 0 ? "Infinity"
                                   : "-Infinity");
    if (precision < 0 || precision > AJIO_GEN_MAX_PRECISION)
        return ajio__error(-EINVAL, "ajio_gen_format_double: precision %d out of range", precision);
    return ajio__format_double(buf, v, precision);
}

/* ---- with the handle ---------------------------------------------------------------------- */

/* The document is complete: no container open, a value written (any number with lines). */
static int check_complete(struct ajio_gen *g)
{
    if (g->err != 0)
        return again(g);
    if (g->depth > 0) {
        const struct level *l = &g->levels[g->depth];
        if (l->object && g->mode != M_KEY)
            return fail(g, -EINVAL, "the document is incomplete: a key has no value");
        return fail(g, -EINVAL, "the document is incomplete: %u container%s still open", g->depth,
                    g->depth == 1 ? "" : "s");
    }
    if (g->top == 0 && !g->lines)
        return fail(g, -EINVAL, "the document is empty: no value was written");
    return 0;
}

static int gen_finish(void *content)
{
    struct ajio_gen *g = content;
    int r = check_complete(g);

    if (r < 0)
        return r;
    if (g->direct) {
        sync(g);
        return 0;
    }
    r = g->len > 0 ? ajio__file_write(g->f, g->buf, g->len) : 0;
    if (r < 0)
        return failed(g, r);
    g->len = 0;
    return 0;
}

int ajio_gen_finish(ajio_gen *g)
{
    int r;

    CHECK(g);
    if (g->f != NULL)
        return ajio__error(-EINVAL,
                           "ajio_gen_finish: the generator of \"%s\" is finished by "
                           "ajio_file_commit()",
                           g->f->target.path);
    r = check_complete(g);
    if (r < 0)
        return r;
    if (g->len > 0 && flush(g) < 0)
        return g->err;
    return 0;
}

void ajio_gen_free(ajio_gen *g)
{
    /* One attached to a handle belongs to it: its commit or abort frees it. */
    if (g != NULL && g->f == NULL)
        gen_free(g);
}

static void gen_free(void *content)
{
    struct ajio_gen *g = content;

    if (g == NULL)
        return;
    if (!g->direct)
        free(g->buf);
    free(g->levels);
    free(g->failure);
    free(g);
}

int ajio_gen_open(ajio_file **ret_file, ajio_gen **ret_gen, const char *path, const ajio_opts *opts,
                  const ajio_gen_opts *gen_opts)
{
    ajio_file *f;
    int r;

    if (ret_file == NULL || ret_gen == NULL)
        return ajio__error(-EINVAL, "ajio_gen_open: %s is NULL",
                           ret_file == NULL ? "ret_file" : "ret_gen");
    r = ajio_file_open(&f, path, opts);
    if (r < 0)
        return r;
    r = ajio_gen_new(ret_gen, f, gen_opts);
    if (r < 0) {
        /* The generator's message is the one that matters: the abort must not replace it. */
        ajio_file_abort(f);
        return r;
    }
    *ret_file = f;
    return 0;
}

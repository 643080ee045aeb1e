/*
 * Python objects to JSON through libajio's generator, byte for byte as json.dumps() writes them.
 *
 * The walk follows CPython's C encoder (Modules/_json.c) where json.dumps uses it (indent=None)
 * and its pure-Python encoder (json/encoder.py) where json.dumps uses that (indent given): the
 * type tests in the same order, int.__repr__ and float.__repr__ for subclasses, keys converted
 * before they are written but sorted before they are converted, the same errors with the same
 * words, and for anything but the exact types the same Python protocols (encode.h).
 */
#define PY_SSIZE_T_CLEAN
#include "encode.h"
#include "gil.h"
/* libajio's own declarations: the generator's ajio__gen_text_*(), which the extension compiles
 * with the rest of libajio (setup.py) */
#include "internal.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/*
 * The containers on the path from the root to the value being encoded, for check_circular: an
 * open-addressing set of addresses. json keeps them in a dict of id()s; a set of its own costs
 * no allocation per container.
 */
struct ptrset {
    uintptr_t *slot; /* 0: empty */
    size_t cap;      /* a power of two, or 0 */
    size_t len;
};

/* A str of dumps(ensure_ascii=False)'s result that is copied in at the end (defer_str). */
struct deferred {
    PyObject *s;      /* a reference of its own */
    uint64_t at;      /* where its text goes in the generator's output (between its quotes) */
    Py_ssize_t extra; /* what its escapes add to its length */
};

struct ajpy_enc {
    ajio_gen_opts go;
    char item_sep[AJIO_GEN_MAX_SEP + 1];
    char key_sep[AJIO_GEN_MAX_SEP + 1];
    int skipkeys;
    int check_circular;
    int sort_keys;
    /* indent is not None: json's pure-Python encoder writes the output, which words some errors
     * and lays out an object whose keys were all skipped its own way. */
    int indented;
    int indent;           /* spaces per level when indented */
    unsigned level;       /* containers open around the value being written */
    /* json/encoder.py's text would not be JSON (enc_iter): refused once the walk is done, so
     * that an error json raises later in the value is raised as json raises it. */
    char not_json[128];
    unsigned long busy;   /* inside ajpy_enc_value(): the fork generation (encode.h) */
    uintptr_t stack_stop; /* the walk refuses to nest below this stack address (stack_guard) */
    PyObject *default_fn; /* NULL: no default= */
    struct ptrset markers;
    int ascii_out; /* ensure_ascii */
    /* dumps(ensure_ascii=False): non-ASCII strs are deferred to build_result() (defer_str) */
    int defer;
    struct deferred *deferred;
    size_t deferred_len, deferred_cap;
    size_t result_len;      /* the deferred strings' characters, escapes included */
    Py_UCS4 result_maxchar; /* the largest of their kinds' */
};

#define OUT_OF_RANGE "Out of range float values are not JSON compliant"

static size_t ptr_hash(uintptr_t p, size_t cap)
{
    /* Objects are 16-byte aligned: the low bits carry nothing. */
    uint64_t h = (uint64_t)(p >> 4) * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & (cap - 1);
}

/* 1 when p was there already, 0 when added, -1 (MemoryError) when the set cannot grow. */
static int ptrset_add(struct ptrset *s, const void *obj)
{
    uintptr_t p = (uintptr_t)obj;

    if ((s->len + 1) * 2 > s->cap) {
        size_t ncap = s->cap != 0 ? s->cap * 2 : 64;
        uintptr_t *ns = calloc(ncap, sizeof(*ns));
        if (ns == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (size_t i = 0; i < s->cap; i++) {
            if (s->slot[i] == 0)
                continue;
            size_t j = ptr_hash(s->slot[i], ncap);
            while (ns[j] != 0)
                j = (j + 1) & (ncap - 1);
            ns[j] = s->slot[i];
        }
        free(s->slot);
        s->slot = ns;
        s->cap = ncap;
    }
    size_t i = ptr_hash(p, s->cap);
    while (s->slot[i] != 0) {
        if (s->slot[i] == p)
            return 1;
        i = (i + 1) & (s->cap - 1);
    }
    s->slot[i] = p;
    s->len++;
    return 0;
}

/* Removal by backward shift, so that lookups never need tombstones. */
static void ptrset_del(struct ptrset *s, const void *obj)
{
    uintptr_t p = (uintptr_t)obj;
    size_t mask = s->cap - 1;
    size_t i = ptr_hash(p, s->cap);

    while (s->slot[i] != p) {
        if (s->slot[i] == 0)
            return;
        i = (i + 1) & mask;
    }
    s->slot[i] = 0;
    s->len--;
    for (size_t j = (i + 1) & mask; s->slot[j] != 0; j = (j + 1) & mask) {
        size_t home = ptr_hash(s->slot[j], s->cap);
        /* The entry at j may move into the hole at i unless its home lies cyclically in (i, j]. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            s->slot[i] = s->slot[j];
            s->slot[j] = 0;
            i = j;
        }
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Keyword arguments                                                                            */
/* ------------------------------------------------------------------------------------------- */

/* JSON whitespace around exactly one `mark`, within the generator's length limit. */
static int sep_ok(const char *s, Py_ssize_t len, char mark, int lines)
{
    int marks = 0;

    if (len > AJIO_GEN_MAX_SEP)
        return 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        if (s[i] == mark)
            marks++;
        else if (s[i] == '\n' && lines)
            return -1;
        else if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    }
    return marks == 1;
}

/* Compared as str, so that a name with a NUL inside ("indent\0x") is no keyword. */
static int kw_is(PyObject *k, const char *name)
{
    return PyUnicode_CompareWithASCIIString(k, name) == 0;
}

/* The default layout of lines=0 files: json.dumps(obj, indent=2). */
#define FILE_INDENT 2

/*
 * The parse step: json.dumps keyword arguments into o, checked, with nothing allocated (o's
 * default_fn is borrowed from kwargs). 0; 1: a fallback (nothing set); -1 + exception.
 */
int ajpy_enc_parse(PyObject *kwargs, unsigned mode, ajpy_enc_opts *o)
{
    int lines = (mode & AJPY_ENC_LINES) != 0;
    PyObject *item_sep = NULL, *key_sep = NULL;

    memset(o, 0, sizeof(*o));
    o->mode = mode;
    o->ensure_ascii = 1;
    o->check_circular = 1;
    o->indented = (mode & (AJPY_ENC_LINES | AJPY_ENC_DUMPS)) == 0;
    o->indent = FILE_INDENT;
    if (kwargs != NULL && !PyDict_Check(kwargs)) {
        PyErr_SetString(PyExc_TypeError, "keyword arguments must be a dict");
        return -1;
    }
    if (kwargs != NULL) {
        PyObject *cls = PyDict_GetItemString(kwargs, "cls");
        /* An encoder class decides everything, the keyword arguments it takes included. */
        if (cls != NULL && cls != Py_None)
            return 1;
    }

    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (kwargs != NULL && PyDict_Next(kwargs, &pos, &k, &v)) {
        int *flag = NULL;

        if (!PyUnicode_Check(k)) {
            PyErr_SetString(PyExc_TypeError, "keywords must be strings");
            return -1;
        }
        if (kw_is(k, "skipkeys"))
            flag = &o->skipkeys;
        else if (kw_is(k, "ensure_ascii"))
            flag = &o->ensure_ascii;
        else if (kw_is(k, "check_circular"))
            flag = &o->check_circular;
        else if (kw_is(k, "sort_keys"))
            flag = &o->sort_keys;
        else if (kw_is(k, "cls"))
            continue;
        else if (kw_is(k, "allow_nan")) {
            int t = PyObject_IsTrue(v);
            if (t < 0)
                return -1;
            /* NaN written as NaN: json's text, which is not JSON, is the caller's to write. */
            if (t)
                return 1;
            continue;
        } else if (kw_is(k, "default")) {
            o->default_fn = v != Py_None ? v : NULL;
            continue;
        } else if (kw_is(k, "indent")) {
            if (v == Py_None) {
                o->indented = 0;
                continue;
            }
            if (lines) {
                PyErr_SetString(PyExc_ValueError,
                                "indent cannot be used with JSON Lines: a record is one line");
                return -1;
            }
            o->indented = 1;
            if (PyLong_Check(v)) {
                /* ' ' * indent: a negative count is the empty string, as 0. */
                int overflow;
                long n = PyLong_AsLongAndOverflow(v, &overflow);
                if (n == -1 && PyErr_Occurred())
                    return -1;
                /* Beyond a Py_ssize_t json raises OverflowError: its own to raise. */
                if (overflow != 0 || n > AJIO_GEN_MAX_INDENT)
                    return 1;
                o->indent = n < 0 ? 0 : (int)n;
            } else if (PyUnicode_Check(v)) {
                Py_ssize_t n = PyUnicode_GET_LENGTH(v);
                for (Py_ssize_t i = 0; i < n; i++) {
                    /* Tabs and the like: the generator indents with spaces only. */
                    if (PyUnicode_READ_CHAR(v, i) != ' ')
                        return 1;
                }
                if (n > AJIO_GEN_MAX_INDENT)
                    return 1;
                o->indent = (int)n;
            } else {
                /* Whatever ' ' * indent makes of it (or the error it raises) is json's. */
                return 1;
            }
            continue;
        } else if (kw_is(k, "separators")) {
            if (v == Py_None) {
                item_sep = key_sep = NULL;
                continue;
            }
            if (!PyTuple_Check(v) && !PyList_Check(v))
                return 1;
            if (PySequence_Fast_GET_SIZE(v) != 2 ||
                !PyUnicode_Check(PySequence_Fast_GET_ITEM(v, 0)) ||
                !PyUnicode_Check(PySequence_Fast_GET_ITEM(v, 1)))
                return 1; /* json's own error, or its own use of them */
            item_sep = PySequence_Fast_GET_ITEM(v, 0);
            key_sep = PySequence_Fast_GET_ITEM(v, 1);
            continue;
        } else {
            PyErr_Format(PyExc_TypeError,
                         "JSONEncoder.__init__() got an unexpected keyword argument '%U'", k);
            return -1;
        }
        int t = PyObject_IsTrue(v);
        if (t < 0)
            return -1;
        *flag = t;
    }

    if (item_sep != NULL) {
        Py_ssize_t il, kl;
        const char *is = PyUnicode_AsUTF8AndSize(item_sep, &il);
        const char *ks = is != NULL ? PyUnicode_AsUTF8AndSize(key_sep, &kl) : NULL;
        if (ks == NULL)
            return -1;
        int iok = sep_ok(is, il, ',', lines), kok = sep_ok(ks, kl, ':', lines);
        if (iok < 0 || kok < 0) {
            PyErr_SetString(PyExc_ValueError,
                            "separators with a line break cannot be used with JSON Lines");
            return -1;
        }
        if (!iok || !kok)
            return 1;
        memcpy(o->item_sep, is, (size_t)il + 1);
        memcpy(o->key_sep, ks, (size_t)kl + 1);
        o->separators = 1;
    }
    return 0;
}

/* The build step: an encoder from parsed options; NULL + MemoryError. */
ajpy_enc *ajpy_enc_build(const ajpy_enc_opts *o)
{
    int lines = (o->mode & AJPY_ENC_LINES) != 0;
    ajpy_enc *e = PyMem_Calloc(1, sizeof(*e));

    if (e == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    if (o->separators) {
        memcpy(e->item_sep, o->item_sep, sizeof(e->item_sep));
        memcpy(e->key_sep, o->key_sep, sizeof(e->key_sep));
        e->go.item_sep = e->item_sep;
        e->go.key_sep = e->key_sep;
    } else if (lines) {
        /* json.dumps's one-line defaults, which the generator has everywhere but in JSON Lines. */
        e->go.item_sep = ", ";
        e->go.key_sep = ": ";
    }
    e->go.flags = o->ensure_ascii ? AJIO_GEN_PYTHON_ESCAPES : AJIO_GEN_LOWER_HEX;
    if (o->indented) {
        e->go.flags |= AJIO_GEN_PRETTY;
        e->go.indent = o->indent;
    }
    if (lines)
        e->go.flags |= AJIO_GEN_LINES;
    if (o->mode & AJPY_ENC_DUMPS)
        e->go.flags |= AJIO_GEN_NO_NEWLINE;
    /* Depth is bounded by Py_EnterRecursiveCall(), as json's: the generator must not stop first. */
    e->go.max_depth = UINT_MAX;
    e->skipkeys = o->skipkeys;
    e->check_circular = o->check_circular;
    e->sort_keys = o->sort_keys;
    e->indented = o->indented;
    e->indent = o->indent;
    e->default_fn = o->default_fn;
    Py_XINCREF(o->default_fn);
    e->ascii_out = o->ensure_ascii;
    /* dumps's result is a str: the generator writes its ASCII part, the rest is copied in. */
    e->defer = (o->mode & AJPY_ENC_DUMPS) && !o->ensure_ascii;
    e->result_maxchar = 127;
    return e;
}

static ajpy_enc *enc_new(PyObject *kwargs, unsigned mode, int *ret_fallback)
{
    ajpy_enc_opts o;
    int r = ajpy_enc_parse(kwargs, mode, &o);

    *ret_fallback = r > 0;
    return r == 0 ? ajpy_enc_build(&o) : NULL;
}

ajpy_enc *ajpy_enc_new(PyObject *kwargs, int lines, int *ret_fallback)
{
    return enc_new(kwargs, lines ? AJPY_ENC_LINES : 0, ret_fallback);
}

ajpy_enc *ajpy_enc_new_dumps(PyObject *kwargs, int *ret_fallback)
{
    return enc_new(kwargs, AJPY_ENC_DUMPS, ret_fallback);
}

void ajpy_enc_free(ajpy_enc *e)
{
    if (e == NULL)
        return;
    Py_XDECREF(e->default_fn);
    free(e->markers.slot);
    for (size_t i = 0; i < e->deferred_len; i++)
        Py_DECREF(e->deferred[i].s);
    PyMem_Free(e->deferred);
    PyMem_Free(e);
}

int ajpy_enc_traverse(const ajpy_enc *e, visitproc visit, void *arg)
{
    /* The deferred strs live only during one dumps() call, in an encoder no object holds. */
    Py_VISIT(e->default_fn);
    return 0;
}

void ajpy_enc_clear(ajpy_enc *e)
{
    Py_CLEAR(e->default_fn);
}

const ajio_gen_opts *ajpy_enc_gen_opts(const ajpy_enc *e)
{
    return &e->go;
}

/* ------------------------------------------------------------------------------------------- */
/* The walk                                                                                     */
/* ------------------------------------------------------------------------------------------- */

/* The Python exception for a failed generator call (its message is ajio_last_error()'s). */
static int gen_error(int r)
{
    const char *msg = ajio_last_error();

    if (r == -ENOMEM)
        PyErr_NoMemory();
    else if (r == AJIO_EJSON || r == -EINVAL)
        PyErr_SetString(PyExc_ValueError, msg);
    else {
        /* OSError(errno, message) becomes the subclass of that errno (FileNotFoundError...). */
        PyObject *args = Py_BuildValue("(is)", -r, msg);
        if (args != NULL) {
            PyErr_SetObject(PyExc_OSError, args);
            Py_DECREF(args);
        }
    }
    return -1;
}

#define GEN(call)                                                                                  \
    do {                                                                                           \
        int gr_ = (call);                                                                          \
        if (gr_ < 0)                                                                               \
            return gen_error(gr_);                                                                 \
    } while (0)

static int enc_obj(ajpy_enc *e, ajio_gen *g, PyObject *o);

static int surrogate_error(int ascii_out, Py_UCS4 c, Py_ssize_t i)
{
    PyErr_Format(PyExc_ValueError,
                 "str holds a%s surrogate \\u%04x at index %zd, which has no UTF-8 form and "
                 "cannot be written as JSON",
                 ascii_out ? " lone" : "", (unsigned)c, i);
    return -1;
}

/* ------------------------------------------------------------------------------------------- */
/* Strings, escaped from the str's own storage                                                  */
/* ------------------------------------------------------------------------------------------- */

/*
 * A str is escaped from its PEP 393 storage (1, 2 or 4 bytes per character) straight into the
 * generator's window (ajio__gen_text_begin), as json.dumps escapes it: '"', '\\' and the control
 * characters as \" \\ \b \t \n \f \r or \u00xx; with ensure_ascii also DEL and every character
 * above U+007F as \uxxxx (a surrogate pair above U+FFFF), without it those as UTF-8. A UTF-8
 * copy for the generator to check and escape again would cost a second pass over every
 * non-ASCII string, and PyUnicode_AsUTF8AndSize() would keep one alive in every str of the
 * caller's data.
 */

/* What an ASCII character becomes: 0 itself, a letter its two-character escape, 'u' \u00xx.
 * [1]: with ensure_ascii, which escapes DEL too. */
/* clang-format off */
#define U4 'u', 'u', 'u', 'u'
static const char esc_of[2][128] = {
    {U4, U4, 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u', U4, U4, U4, U4, ['"'] = '"', ['\\'] = '\\'},
    {U4, U4, 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u', U4, U4, U4, U4, ['"'] = '"', ['\\'] = '\\',
     [0x7F] = 'u'},
};
#undef U4
/* clang-format on */

/* Two lower-case hex digits per byte value, for \uxxxx in two copies instead of four lookups. */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

static inline unsigned char *put_u(unsigned char *o, unsigned u)
{
    o[0] = '\\';
    o[1] = 'u';
    memcpy(o + 2, hex_pairs + 2 * (u >> 8), 2);
    memcpy(o + 4, hex_pairs + 2 * (u & 0xFF), 2);
    return o + 6;
}

/* The escape of an ASCII character that has one (esc_of[..][c] != 0). */
static inline unsigned char *put_esc(unsigned char *o, unsigned c, char e)
{
    if (e != 'u') {
        o[0] = '\\';
        o[1] = (unsigned char)e;
        return o + 2;
    }
    return put_u(o, c);
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR 1
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

static inline uint64_t zero_bytes(uint64_t x)
{
    return (x - ONES) & ~x & HIGHS;
}

/*
 * The high bit of the bytes of x (eight Latin-1 characters) that end a run copied as it is:
 * below 0x20, '"', '\\', 0x80 and above, and DEL with ensure_ascii. The tests borrow across
 * bytes, so only the lowest flagged byte is sure, and it is the one wanted.
 */
static inline uint64_t ucs1_stops(uint64_t x, int ascii_out)
{
    uint64_t m = ((x - 0x20 * ONES) & ~x) | x;

    m |= zero_bytes(x ^ ('"' * ONES)) | zero_bytes(x ^ ('\\' * ONES));
    if (ascii_out)
        m |= zero_bytes(x ^ (0x7F * ONES));
    return m & HIGHS;
}
#else
#define SWAR 0
#endif

/* Room per character at most: \uxxxx, or two of them for a 4-byte str's character above U+FFFF
 * with ensure_ascii. SLACK: the 8-byte stores of the loops below may overrun by up to 7 bytes,
 * and a surrogate pair may take its low half past the end of a chunk. */
#define CHUNK_CHARS ((Py_ssize_t)(AJIO__GEN_TEXT_MAX / 12 - 8))
#define SLACK 16

/*
 * One loop per storage kind, so that reading a character is a plain load. Each escapes
 * src[*pi .. stop) into o and returns the new end of the output, *pi where it stopped (stop, or
 * one beyond with a surrogate pair that straddles it); n is the whole string's length (for the
 * look-ahead of a pair). NULL with ValueError for a surrogate that cannot be written: with
 * ensure_ascii json writes each surrogate code point as its escape, and a high one followed by a
 * low one reads back as the character of the pair, so that pair is written; anything else has no
 * UTF-8 form (json.dumps would write "\ud800", which no strict parser reads back).
 */
#if SWAR
/*
 * The run of characters at src[i ..) (up to stop) that are copied as they are: copied to o, as
 * eight at a time with stores that may go up to 7 bytes past the run (the room has SLACK for
 * them), and its length returned. The last few characters are tested with one load that ends
 * at stop (overlapping what was tested, the extra bytes shifted out), a string shorter than
 * eight with two overlapping 4-byte loads: most keys and short values cost no loop at all.
 */
static inline Py_ssize_t plain_run(unsigned char *o, const Py_UCS1 *src, Py_ssize_t i,
                                   Py_ssize_t stop, int ascii_out)
{
    const Py_ssize_t start = i;
    uint64_t x, m;

    for (; stop - i >= 8; i += 8) {
        memcpy(&x, src + i, 8);
        memcpy(o + (i - start), &x, 8);
        m = ucs1_stops(x, ascii_out);
        if (m != 0)
            return i - start + (__builtin_ctzll(m) >> 3);
    }
    Py_ssize_t r = stop - i;
    if (r == 0)
        return i - start;
    if (stop >= 8) {
        memcpy(&x, src + stop - 8, 8);
        x >>= 8 * (8 - r);
        m = ucs1_stops(x, ascii_out) & ((UINT64_C(1) << (8 * r)) - 1);
        memcpy(o + (i - start), &x, 8);
        return i - start + (m != 0 ? __builtin_ctzll(m) >> 3 : r);
    }
    if (r >= 4) {
        uint32_t a, b;
        memcpy(&a, src + i, 4);
        memcpy(&b, src + stop - 4, 4);
        if (ucs1_stops(a | (uint64_t)b << 32, ascii_out) == 0) {
            memcpy(o + (i - start), &a, 4);
            memcpy(o + (i - start) + r - 4, &b, 4);
            return i - start + r;
        }
    }
    const char *esc = esc_of[ascii_out];
    while (i < stop && src[i] < 0x80 && esc[src[i]] == 0) {
        o[i - start] = src[i];
        i++;
    }
    return i - start;
}
#endif

static unsigned char *esc_ucs1(unsigned char *o, const Py_UCS1 *src, Py_ssize_t *pi,
                               Py_ssize_t stop, int ascii_out)
{
    const char *esc = esc_of[ascii_out];
    Py_ssize_t i = *pi;

    while (i < stop) {
#if SWAR
        Py_ssize_t k = plain_run(o, src, i, stop, ascii_out);
        i += k;
        o += k;
        if (i >= stop)
            break;
#endif
        /* One at a time while they need more than a copy (text in a language of Latin-1 has
         * its accented letters close together; going back to the words each time costs). */
        do {
            Py_UCS1 c = src[i++];
            if (c < 0x80) {
                char e = esc[c];
                if (e == 0)
                    *o++ = c;
                else
                    o = put_esc(o, c, e);
            } else if (ascii_out) {
                o = put_u(o, c);
            } else {
                o[0] = (unsigned char)(0xC0 | (c >> 6));
                o[1] = (unsigned char)(0x80 | (c & 0x3F));
                o += 2;
            }
        } while (i < stop && (src[i] >= 0x80 || esc[src[i]] != 0));
    }
    *pi = i;
    return o;
}

/* A surrogate code point at src[i]: with ensure_ascii, a pair is written (returns 2, the code
 * points it takes), anything else is refused (-1 with ValueError). */
#define SURROGATE(src, i, n, ascii_out, c)                                                         \
    (((ascii_out) && (c) <= 0xDBFF && (i) + 1 < (n) && (src)[(i) + 1] >= 0xDC00 &&                 \
      (src)[(i) + 1] <= 0xDFFF)                                                                    \
         ? 2                                                                                       \
         : surrogate_error((ascii_out), (c), (i)))

#define DEFINE_ESC_WIDE(NAME, T)                                                                   \
    static unsigned char *NAME(unsigned char *o, const T *src, Py_ssize_t *pi, Py_ssize_t stop,    \
                               Py_ssize_t n, int ascii_out)                                        \
    {                                                                                              \
        const char *esc = esc_of[ascii_out];                                                       \
        Py_ssize_t i = *pi;                                                                        \
                                                                                                   \
        for (; i < stop; i++) {                                                                    \
            Py_UCS4 c = src[i];                                                                    \
            if (c < 0x80) {                                                                        \
                char e = esc[c];                                                                   \
                if (e == 0)                                                                        \
                    *o++ = (unsigned char)c;                                                       \
                else                                                                               \
                    o = put_esc(o, c, e);                                                          \
                continue;                                                                          \
            }                                                                                      \
            if ((c & ~(Py_UCS4)0x7FF) == 0xD800) {                                                 \
                if (SURROGATE(src, i, n, ascii_out, c) < 0)                                        \
                    return NULL;                                                                   \
                /* both halves as they are, escaped */                                             \
                o = put_u(o, c);                                                                   \
                o = put_u(o, src[++i]);                                                            \
                continue;                                                                          \
            }                                                                                      \
            if (ascii_out) {                                                                       \
                if (c < 0x10000) {                                                                 \
                    o = put_u(o, c);                                                               \
                } else {                                                                           \
                    c -= 0x10000;                                                                  \
                    o = put_u(o, 0xD800 | (c >> 10));                                              \
                    o = put_u(o, 0xDC00 | (c & 0x3FF));                                            \
                }                                                                                  \
            } else if (c < 0x800) {                                                                \
                o[0] = (unsigned char)(0xC0 | (c >> 6));                                           \
                o[1] = (unsigned char)(0x80 | (c & 0x3F));                                         \
                o += 2;                                                                            \
            } else if (c < 0x10000) {                                                              \
                o[0] = (unsigned char)(0xE0 | (c >> 12));                                          \
                o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));                                  \
                o[2] = (unsigned char)(0x80 | (c & 0x3F));                                         \
                o += 3;                                                                            \
            } else {                                                                               \
                o[0] = (unsigned char)(0xF0 | (c >> 18));                                          \
                o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));                                 \
                o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));                                  \
                o[3] = (unsigned char)(0x80 | (c & 0x3F));                                         \
                o += 4;                                                                            \
            }                                                                                      \
        }                                                                                          \
        *pi = i;                                                                                   \
        return o;                                                                                  \
    }

DEFINE_ESC_WIDE(esc_ucs2, Py_UCS2)
DEFINE_ESC_WIDE(esc_ucs4, Py_UCS4)

/*
 * dumps(ensure_ascii=False): a str that is not ASCII is not written where it goes but noted
 * (deferred) with its place in the output, and copied into the result str in the result's own
 * kind by build_result(): its characters are never converted to UTF-8 and back. Here it is only
 * scanned, for the escapes that make it longer and for a surrogate, which is refused as above.
 */
#define DEFINE_SCAN(NAME, T)                                                                       \
    static Py_ssize_t NAME(const T *src, Py_ssize_t n)                                             \
    {                                                                                              \
        Py_ssize_t extra = 0;                                                                      \
        for (Py_ssize_t i = 0; i < n; i++) {                                                       \
            Py_UCS4 c = src[i];                                                                    \
            if (c <= '\\') {                                                                       \
                if (c < 0x20)                                                                      \
                    extra += esc_of[0][c] == 'u' ? 5 : 1;                                          \
                else if (c == '"' || c == '\\')                                                    \
                    extra++;                                                                       \
            } else if (sizeof(T) > 1 && (c & ~(Py_UCS4)0x7FF) == 0xD800) {                         \
                return surrogate_error(0, c, i);                                                   \
            }                                                                                      \
        }                                                                                          \
        return extra;                                                                              \
    }

DEFINE_SCAN(scan_ucs1, Py_UCS1)
DEFINE_SCAN(scan_ucs2, Py_UCS2)
DEFINE_SCAN(scan_ucs4, Py_UCS4)

static int defer_str(ajpy_enc *e, ajio_gen *g, PyObject *s, int key)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(s), extra;
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    unsigned char *o;

    if (kind == PyUnicode_1BYTE_KIND)
        extra = scan_ucs1(data, n);
    else if (kind == PyUnicode_2BYTE_KIND)
        extra = scan_ucs2(data, n);
    else
        extra = scan_ucs4(data, n);
    if (extra < 0)
        return -1;
    if (e->deferred_len == e->deferred_cap) {
        size_t cap = e->deferred_cap != 0 ? e->deferred_cap * 2 : 64;
        struct deferred *d = PyMem_Realloc(e->deferred, cap * sizeof(*d));
        if (d == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        e->deferred = d;
        e->deferred_cap = cap;
    }
    /* The quotes go out now, the text between them in build_result(). The generator's path of
     * a message shows such a key as "" (dumps raises the encoder's own errors, not those). */
    GEN(ajio__gen_text_begin(g, key, 0, &o));
    struct deferred *d = &e->deferred[e->deferred_len++];
    Py_INCREF(s); /* default= may hand over a str that nothing else keeps */
    d->s = s;
    d->at = ajio__gen_text_offset(g, o);
    d->extra = extra;
    e->result_len += (size_t)(n + extra);
    if (PyUnicode_MAX_CHAR_VALUE(s) > e->result_maxchar)
        e->result_maxchar = PyUnicode_MAX_CHAR_VALUE(s);
    GEN(ajio__gen_text_end(g, key, o));
    return 0;
}

/* s as a JSON string (key: as the next member's key), quotes included. */
static int enc_str(ajpy_enc *e, ajio_gen *g, PyObject *s, int key)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0)
        return -1;
#endif
    if (PyUnicode_IS_ASCII(s) && PyUnicode_GET_LENGTH(s) <= 16) {
        /* Its own UTF-8: the generator's string call escapes it as json does with the flags
         * enc_new() set, in one call, with its tests for short strings (most keys). */
        const char *p = PyUnicode_DATA(s);
        size_t n = (size_t)PyUnicode_GET_LENGTH(s);
        GEN(key ? ajio_gen_key(g, p, n) : ajio_gen_string(g, p, n));
        return 0;
    }
    if (e->defer && !PyUnicode_IS_ASCII(s))
        return defer_str(e, g, s, key);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s), i = 0;
    int kind = PyUnicode_KIND(s), ascii_out = e->ascii_out;
    const void *data = PyUnicode_DATA(s);
    size_t per_char = kind == PyUnicode_4BYTE_KIND && ascii_out ? 12 : 6;
    unsigned char *o;

    /* A long string goes in chunks, the window handed over between them when it is full. */
    Py_ssize_t stop = n < CHUNK_CHARS ? n : CHUNK_CHARS;
    GEN(ajio__gen_text_begin(g, key, (size_t)stop * per_char + SLACK, &o));
    for (;;) {
        if (kind == PyUnicode_1BYTE_KIND)
            o = esc_ucs1(o, data, &i, stop, ascii_out);
        else if (kind == PyUnicode_2BYTE_KIND)
            o = esc_ucs2(o, data, &i, stop, n, ascii_out);
        else
            o = esc_ucs4(o, data, &i, stop, n, ascii_out);
        if (o == NULL)
            return -1;
        if (i >= n)
            break;
        stop = n - i < CHUNK_CHARS ? n : i + CHUNK_CHARS;
        GEN(ajio__gen_text_room(g, (size_t)(stop - i) * per_char + SLACK, &o));
    }
    GEN(ajio__gen_text_end(g, key, o));
    return 0;
}

/*
 * The result of dumps(ensure_ascii=False) with deferred strings: the generator's text (ASCII:
 * everything but those strings) and the strings, each copied into the result str in its kind,
 * escaped as it goes when its scan found something to escape.
 */
#if defined(__SSE2__)
/*
 * Widening without escapes is most of the work when a document's widest string is wider than
 * the rest (the generator's ASCII text of a document with one emoji is copied as 4-byte
 * characters): sixteen at a time. gcc -O2 does not vectorise the loop by itself.
 */
static Py_ssize_t widen_1_2(Py_UCS2 *o, const Py_UCS1 *src, Py_ssize_t n)
{
    const __m128i zero = _mm_setzero_si128();
    Py_ssize_t i = 0;

    for (; n - i >= 16; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(o + i), _mm_unpacklo_epi8(x, zero));
        _mm_storeu_si128((__m128i *)(o + i + 8), _mm_unpackhi_epi8(x, zero));
    }
    return i;
}

static Py_ssize_t widen_1_4(Py_UCS4 *o, const Py_UCS1 *src, Py_ssize_t n)
{
    const __m128i zero = _mm_setzero_si128();
    Py_ssize_t i = 0;

    for (; n - i >= 16; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i lo = _mm_unpacklo_epi8(x, zero), hi = _mm_unpackhi_epi8(x, zero);
        _mm_storeu_si128((__m128i *)(o + i), _mm_unpacklo_epi16(lo, zero));
        _mm_storeu_si128((__m128i *)(o + i + 4), _mm_unpackhi_epi16(lo, zero));
        _mm_storeu_si128((__m128i *)(o + i + 8), _mm_unpacklo_epi16(hi, zero));
        _mm_storeu_si128((__m128i *)(o + i + 12), _mm_unpackhi_epi16(hi, zero));
    }
    return i;
}

static Py_ssize_t widen_2_4(Py_UCS4 *o, const Py_UCS2 *src, Py_ssize_t n)
{
    const __m128i zero = _mm_setzero_si128();
    Py_ssize_t i = 0;

    for (; n - i >= 8; i += 8) {
        __m128i x = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(o + i), _mm_unpacklo_epi16(x, zero));
        _mm_storeu_si128((__m128i *)(o + i + 4), _mm_unpackhi_epi16(x, zero));
    }
    return i;
}
#define WIDEN(o, src, n)                                                                           \
    (sizeof(*(src)) == 1 && sizeof(*(o)) == 2   ? widen_1_2((void *)(o), (const void *)(src), n)   \
     : sizeof(*(src)) == 1 && sizeof(*(o)) == 4 ? widen_1_4((void *)(o), (const void *)(src), n)   \
     : sizeof(*(src)) == 2 && sizeof(*(o)) == 4 ? widen_2_4((void *)(o), (const void *)(src), n)   \
                                                : 0)
#else
#define WIDEN(o, src, n) 0
#endif

#define DEFINE_PUT(NAME, S, D)                                                                     \
    static D *NAME(D *o, const S *src, Py_ssize_t n, Py_ssize_t extra)                             \
    {                                                                                              \
        if (extra == 0) {                                                                          \
            if (sizeof(S) == sizeof(D)) {                                                          \
                memcpy(o, src, (size_t)n * sizeof(D));                                             \
                return o + n;                                                                      \
            }                                                                                      \
            for (Py_ssize_t i = WIDEN(o, src, n); i < n; i++)                                      \
                o[i] = src[i];                                                                     \
            return o + n;                                                                          \
        }                                                                                          \
        for (Py_ssize_t i = 0; i < n; i++) {                                                       \
            Py_UCS4 c = src[i];                                                                    \
            char e = c < 0x80 ? esc_of[0][c] : 0;                                                  \
            if (e == 0) {                                                                          \
                *o++ = (D)c;                                                                       \
                continue;                                                                          \
            }                                                                                      \
            o[0] = '\\';                                                                           \
            if (e != 'u') {                                                                        \
                o[1] = (D)e;                                                                       \
                o += 2;                                                                            \
                continue;                                                                          \
            }                                                                                      \
            o[1] = 'u';                                                                            \
            o[2] = '0';                                                                            \
            o[3] = '0';                                                                            \
            o[4] = (D)hex_pairs[2 * c];                                                            \
            o[5] = (D)hex_pairs[2 * c + 1];                                                        \
            o += 6;                                                                                \
        }                                                                                          \
        return o;                                                                                  \
    }

DEFINE_PUT(put_1_1, Py_UCS1, Py_UCS1)
DEFINE_PUT(put_1_2, Py_UCS1, Py_UCS2)
DEFINE_PUT(put_1_4, Py_UCS1, Py_UCS4)
DEFINE_PUT(put_2_2, Py_UCS2, Py_UCS2)
DEFINE_PUT(put_2_4, Py_UCS2, Py_UCS4)
DEFINE_PUT(put_4_4, Py_UCS4, Py_UCS4)

/* n characters of src (of kind skind, at most kind) at out[w] of a str of kind kind: the new w. */
static Py_ssize_t put_chars(void *out, int kind, Py_ssize_t w, const void *src, int skind,
                            Py_ssize_t n, Py_ssize_t extra)
{
    if (kind == PyUnicode_1BYTE_KIND)
        return put_1_1((Py_UCS1 *)out + w, src, n, extra) - (Py_UCS1 *)out;
    if (kind == PyUnicode_2BYTE_KIND) {
        Py_UCS2 *o = (Py_UCS2 *)out + w;
        o = skind == PyUnicode_1BYTE_KIND ? put_1_2(o, src, n, extra) : put_2_2(o, src, n, extra);
        return o - (Py_UCS2 *)out;
    }
    Py_UCS4 *o = (Py_UCS4 *)out + w;
    if (skind == PyUnicode_1BYTE_KIND)
        o = put_1_4(o, src, n, extra);
    else if (skind == PyUnicode_2BYTE_KIND)
        o = put_2_4(o, src, n, extra);
    else
        o = put_4_4(o, src, n, extra);
    return o - (Py_UCS4 *)out;
}

/* From this size on, dumps() copies its result without the GIL: about 2 ms of copying. */
#define AJPY_UNLOCKED_COPY ((size_t)8 << 20)

static PyObject *build_result(const ajpy_enc *e, const char *p, size_t len)
{
    PyObject *r = PyUnicode_New((Py_ssize_t)(len + e->result_len), e->result_maxchar);
    if (r == NULL)
        return NULL;
    int kind = PyUnicode_KIND(r);
    void *out = PyUnicode_DATA(r);
    PyThreadState *ts = NULL;
    Py_ssize_t w = 0;
    uint64_t at = 0;

    for (size_t j = 0; j < e->deferred_len; j++) {
        const struct deferred *d = &e->deferred[j];
        if (d->at < at || d->at > len) {
            /* Places that do not follow each other in the text: nothing to build from. */
            Py_DECREF(r);
            PyErr_SetString(PyExc_SystemError, "dumps: a deferred string is out of place");
            return NULL;
        }
        at = d->at;
    }
    /*
     * A large result is copied without the GIL, which no Python object here needs: r is not
     * shared yet, and the deferred strs are immutable and held by e->deferred. (Copying 72 MiB
     * held it for about 50 ms, far over the switch interval other threads expect.)
     */
    if (len + e->result_len >= AJPY_UNLOCKED_COPY)
        ts = PyEval_SaveThread();
    at = 0;
    for (size_t j = 0; j < e->deferred_len; j++) {
        const struct deferred *d = &e->deferred[j];
        w = put_chars(out, kind, w, p + at, PyUnicode_1BYTE_KIND, (Py_ssize_t)(d->at - at), 0);
        w = put_chars(out, kind, w, PyUnicode_DATA(d->s), PyUnicode_KIND(d->s),
                      PyUnicode_GET_LENGTH(d->s), d->extra);
        at = d->at;
    }
    w = put_chars(out, kind, w, p + at, PyUnicode_1BYTE_KIND, (Py_ssize_t)(len - at), 0);
    if (ts != NULL)
        PyEval_RestoreThread(ts);
    assert(w == PyUnicode_GET_LENGTH(r));
    (void)w;
    return r;
}

static int out_of_range(double v)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *f = PyFloat_FromDouble(v);
    if (f != NULL) {
        PyErr_Format(PyExc_ValueError, OUT_OF_RANGE ": %R", f);
        Py_DECREF(f);
    }
#else
    (void)v;
    PyErr_SetString(PyExc_ValueError, OUT_OF_RANGE);
#endif
    return -1;
}

/* int.__repr__ of o as text for ajio_gen_number() or a key: new reference. */
static PyObject *int_text(PyObject *o)
{
    return PyLong_Type.tp_repr(o);
}

/*
 * json/encoder.py (indent) writes an int with int.__repr__(o) and a float with float.__repr__(o):
 * for an object that only claims to be one (a proxy's __class__) that call raises TypeError,
 * which is json's error to raise.
 */
static int repr_refused(PyTypeObject *type, PyObject *o)
{
    PyObject *fn = PyObject_GetAttrString((PyObject *)type, "__repr__");
    PyObject *r = fn != NULL ? PyObject_CallOneArg(fn, o) : NULL;

    Py_XDECREF(fn);
    if (r != NULL) {
        Py_DECREF(r);
        PyErr_Format(PyExc_TypeError, "%s.__repr__() cannot write a %.100s", type->tp_name,
                     Py_TYPE(o)->tp_name);
    }
    return -1;
}

/* What claims to be a str (its __class__) but is none goes to json's C string encoder, which
 * refuses it with these words. */
static int not_a_str(PyObject *o)
{
    PyErr_Format(PyExc_TypeError, "first argument must be a string, not %.80s",
                 Py_TYPE(o)->tp_name);
    return -1;
}

/* The truth of `o op other` as the operator computes it: 1, 0, or -1 with an exception.
 * (PyObject_RichCompareBool would answer o != o by identity, without asking o.) */
static int compare_true(PyObject *o, PyObject *other, int op)
{
    PyObject *r = PyObject_RichCompare(o, other, op);
    int t = r != NULL ? PyObject_IsTrue(r) : -1;

    Py_XDECREF(r);
    return t;
}

/*
 * json/encoder.py's floatstr() for a float subclass (or what claims to be a float): NaN when
 * o != o, Infinity when o == inf, -Infinity when o == -inf, asked through the operators, which a
 * subclass may override; float.__repr__(o) otherwise. 0 with the value to write in *ret, or -1:
 * the refusal of NaN and the infinities (as for real ones), or the error of a comparison or of
 * float.__repr__.
 */
static int float_as_python(PyObject *o, double *ret)
{
    int t = compare_true(o, o, Py_NE);

    if (t != 0)
        return t < 0 ? -1 : out_of_range(NAN);
    for (int i = 0; i < 2; i++) {
        double inf = i == 0 ? HUGE_VAL : -HUGE_VAL;
        PyObject *f = PyFloat_FromDouble(inf);
        if (f == NULL)
            return -1;
        t = compare_true(o, f, Py_EQ);
        Py_DECREF(f);
        if (t != 0)
            return t < 0 ? -1 : out_of_range(inf);
    }
    if (!PyFloat_Check(o))
        return repr_refused(&PyFloat_Type, o);
    *ret = PyFloat_AS_DOUBLE(o);
    return 0;
}

static int float_key(double v, char *buf, const char **ret, size_t *ret_len)
{
    if (!isfinite(v))
        return out_of_range(v);
    int n = ajio_gen_format_double(buf, AJIO_GEN_DOUBLE_MAX, v, 0);
    if (n < 0)
        return gen_error(n);
    *ret = buf;
    *ret_len = (size_t)n;
    return 1;
}

static int int_key(PyObject *key, char *buf, PyObject **ret_owner, const char **ret,
                   size_t *ret_len)
{
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(key, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (!overflow) {
        int n = snprintf(buf, AJIO_GEN_DOUBLE_MAX, "%lld", v);
        *ret = buf;
        *ret_len = (size_t)n;
        return 1;
    }
    PyObject *t = int_text(key);
    Py_ssize_t n;
    if (t == NULL || (*ret = PyUnicode_AsUTF8AndSize(t, &n)) == NULL) {
        Py_XDECREF(t);
        return -1;
    }
    *ret_owner = t;
    *ret_len = (size_t)n;
    return 1;
}

/*
 * A key json/encoder.py (indent) tests with isinstance(), which believes __class__, in its order:
 * str, float, int. As key_text(), or 2 when it is none of them.
 */
static int key_as_python(PyObject *key, char *buf, PyObject **ret_owner, const char **ret,
                         size_t *ret_len)
{
    double v;
    int r = PyObject_IsInstance(key, (PyObject *)&PyUnicode_Type);

    if (r != 0)
        return r < 0 ? -1 : not_a_str(key);
    r = PyObject_IsInstance(key, (PyObject *)&PyFloat_Type);
    if (r != 0)
        return r < 0 || float_as_python(key, &v) < 0 ? -1 : float_key(v, buf, ret, ret_len);
    r = PyObject_IsInstance(key, (PyObject *)&PyLong_Type);
    if (r != 0) {
        if (r < 0)
            return -1;
        return PyLong_Check(key) ? int_key(key, buf, ret_owner, ret, ret_len)
                                 : repr_refused(&PyLong_Type, key);
    }
    return 2;
}

/*
 * A key other than a str (enc_member() writes those as str values are written) as json converts
 * it: 1 with the text in *ret (or a NUL-terminated buf of
 * AJIO_GEN_DOUBLE_MAX bytes, or *ret_owner keeping it alive), 0 to skip it (skipkeys), -1 with an
 * exception. Subclasses of float and int are read from their storage by json's C encoder, through
 * isinstance() and floatstr() by json/encoder.py (indent).
 */
static int key_text(ajpy_enc *e, PyObject *key, char *buf, PyObject **ret_owner, const char **ret,
                    size_t *ret_len)
{
    *ret_owner = NULL;
    if (PyFloat_CheckExact(key) || (PyFloat_Check(key) && !e->indented))
        return float_key(PyFloat_AS_DOUBLE(key), buf, ret, ret_len);
    if (key == Py_True || key == Py_False || key == Py_None) {
        *ret = key == Py_True ? "true" : key == Py_False ? "false" : "null";
        *ret_len = strlen(*ret);
        return 1;
    }
    if (PyLong_CheckExact(key) || (PyLong_Check(key) && !e->indented))
        return int_key(key, buf, ret_owner, ret, ret_len);
    if (e->indented) {
        int r = key_as_python(key, buf, ret_owner, ret, ret_len);
        if (r != 2)
            return r;
    }
    if (e->skipkeys)
        return 0;
    if (e->indented) {
        /* json/encoder.py words it with __class__.__name__, Modules/_json.c with tp_name. */
        PyObject *cls = PyObject_GetAttrString(key, "__class__");
        PyObject *name = cls != NULL ? PyObject_GetAttrString(cls, "__name__") : NULL;
        if (name != NULL)
            PyErr_Format(PyExc_TypeError, "keys must be str, int, float, bool or None, not %S",
                         name);
        Py_XDECREF(name);
        Py_XDECREF(cls);
        return -1;
    }
    PyErr_Format(PyExc_TypeError, "keys must be str, int, float, bool or None, not %.100s",
                 Py_TYPE(key)->tp_name);
    return -1;
}

/* One member; the object's "{" goes out before its first member that is written (*opened). */
static int enc_member(ajpy_enc *e, ajio_gen *g, PyObject *key, PyObject *value, int *opened)
{
    char buf[AJIO_GEN_DOUBLE_MAX];
    PyObject *owner = NULL;
    const char *s = NULL;
    size_t n = 0;
    int is_str = PyUnicode_Check(key);
    int r = is_str ? 1 : key_text(e, key, buf, &owner, &s, &n);

    if (r <= 0)
        return r;
    r = *opened ? 0 : ajio_gen_begin_object(g);
    if (r == 0) {
        *opened = 1;
        /* A str key is escaped from its storage as a str value is. */
        if (is_str)
            return enc_str(e, g, key, 1) < 0 ? -1 : enc_obj(e, g, value);
        r = ajio_gen_key(g, s, n);
    }
    Py_XDECREF(owner);
    if (r < 0)
        return gen_error(r);
    return enc_obj(e, g, value);
}

/*
 * A pair of items() as json/encoder.py's `for key, value in items` unpacks it: any iterable of
 * two, with the errors of Python's unpacking otherwise. 0 with new references, or -1.
 */
static int unpack_pair(PyObject *item, PyObject **ret_key, PyObject **ret_value)
{
    PyObject *got[3] = {NULL, NULL, NULL};
    int n = 0;

    if ((PyTuple_CheckExact(item) || PyList_CheckExact(item)) &&
        PySequence_Fast_GET_SIZE(item) == 2) {
        *ret_key = PySequence_Fast_GET_ITEM(item, 0);
        *ret_value = PySequence_Fast_GET_ITEM(item, 1);
        Py_INCREF(*ret_key);
        Py_INCREF(*ret_value);
        return 0;
    }
    PyObject *it = PyObject_GetIter(item);
    if (it == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError) && Py_TYPE(item)->tp_iter == NULL &&
            !PySequence_Check(item)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "cannot unpack non-iterable %.200s object",
                         Py_TYPE(item)->tp_name);
        }
        return -1;
    }
    while (n < 3 && (got[n] = PyIter_Next(it)) != NULL)
        n++;
    Py_DECREF(it);
    if (PyErr_Occurred())
        goto fail;
    if (n < 2) {
        PyErr_Format(PyExc_ValueError, "not enough values to unpack (expected 2, got %d)", n);
        goto fail;
    }
    if (n > 2) {
        if (PyList_CheckExact(item) || PyTuple_CheckExact(item) || PyDict_CheckExact(item))
            PyErr_Format(PyExc_ValueError, "too many values to unpack (expected 2, got %zd)",
                         PyDict_CheckExact(item) ? PyDict_GET_SIZE(item) : Py_SIZE(item));
        else
            PyErr_SetString(PyExc_ValueError, "too many values to unpack (expected 2)");
        goto fail;
    }
    *ret_key = got[0];
    *ret_value = got[1];
    return 0;
fail:
    for (int i = 0; i < n; i++)
        Py_DECREF(got[i]);
    return -1;
}

/* One pair of items() as json/encoder.py's `for key, value in items` takes it. */
static int enc_pair(ajpy_enc *e, ajio_gen *g, PyObject *item, int *opened)
{
    PyObject *k, *v;
    int r;

    Py_INCREF(item); /* unpacking may run Python code that drops it from its list */
    r = unpack_pair(item, &k, &v);
    Py_DECREF(item);
    if (r < 0)
        return -1;
    r = enc_member(e, g, k, v, opened);
    Py_DECREF(k);
    Py_DECREF(v);
    return r;
}

static int enc_empty(ajio_gen *g, int kind)
{
    GEN(kind == 'd' ? ajio_gen_begin_object(g) : ajio_gen_begin_array(g));
    GEN(kind == 'd' ? ajio_gen_end_object(g) : ajio_gen_end_array(g));
    return 0;
}

/*
 * json/encoder.py opens an indented object before it looks at the keys: when it writes no member
 * (skipkeys dropped every key, or items() yielded none) the object is "{", a line break with the
 * inner indentation, a line break with the outer one and "}", not "{}". The generator lays out
 * only what it is given, so that shape goes in as raw text.
 */
static int enc_opened_empty_object(ajpy_enc *e, ajio_gen *g, unsigned level)
{
    size_t len = 4 + (size_t)e->indent * (2 * (size_t)level + 1);
    char *t = PyMem_Malloc(len);
    if (t == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    char *p = t;
    *p++ = '{';
    *p++ = '\n';
    memset(p, ' ', (size_t)e->indent * (level + 1));
    p += (size_t)e->indent * (level + 1);
    *p++ = '\n';
    memset(p, ' ', (size_t)e->indent * level);
    p += (size_t)e->indent * level;
    *p++ = '}';
    int r = ajio_gen_raw(g, t, (size_t)(p - t));
    PyMem_Free(t);
    return r < 0 ? gen_error(r) : 0;
}

static int enc_dict(ajpy_enc *e, ajio_gen *g, PyObject *o)
{
    unsigned level = e->level - 1; /* enc_nested() counted this object already */
    PyObject *items = NULL, *it = NULL, *k, *v;
    int rc = -1, opened = 0, r;

    if (e->indented && (!PyDict_CheckExact(o) || e->sort_keys)) {
        /* json/encoder.py: `for key, value in dct.items()`, sorted() first with sort_keys; the
         * object's own items() (a subclass's, a proxy's), iterated as it comes. */
        int own = PyDict_CheckExact(o);
        items = own ? PyDict_Items(o) : PyObject_CallMethod(o, "items", NULL);
        if (items != NULL && e->sort_keys) {
            /* sorted(): a list of its own, never the one items() may have handed out. */
            if (!own)
                Py_SETREF(items, PySequence_List(items));
            if (items != NULL && PyList_Sort(items) < 0)
                goto out;
        }
        if (items == NULL)
            goto out;
        if (PyList_CheckExact(items)) {
            /* By index, the size read again each time as a list's iterator reads it. */
            for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++)
                if (enc_pair(e, g, PyList_GET_ITEM(items, i), &opened) < 0)
                    goto out;
        } else {
            it = PyObject_GetIter(items);
            if (it == NULL)
                goto out;
            PyObject *item;
            while ((item = PyIter_Next(it)) != NULL) {
                r = enc_pair(e, g, item, &opened);
                Py_DECREF(item);
                if (r < 0)
                    goto out;
            }
            if (PyErr_Occurred())
                goto out;
        }
    } else if (e->indented) {
        /* An exact dict: PyDict_Next walks it as the live items() view json/encoder.py iterates
         * does, with the view's errors when what a value ran (default=, a subclass's method)
         * changed the dict. */
        Py_ssize_t pos = 0, used = PyDict_GET_SIZE(o), left = used;
        for (;;) {
            if (PyDict_GET_SIZE(o) != used) {
                PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
                goto out;
            }
            if (!PyDict_Next(o, &pos, &k, &v))
                break;
            if (left-- == 0) {
                PyErr_SetString(PyExc_RuntimeError, "dictionary keys changed during iteration");
                goto out;
            }
            Py_INCREF(k);
            Py_INCREF(v);
            r = enc_member(e, g, k, v, &opened);
            Py_DECREF(k);
            Py_DECREF(v);
            if (r < 0)
                goto out;
        }
    } else {
        /* json's C encoder writes "{" at once: no member makes "{}". */
        r = ajio_gen_begin_object(g);
        if (r < 0) {
            gen_error(r);
            goto out;
        }
        opened = 1;
        if (!PyDict_CheckExact(o) || e->sort_keys || e->default_fn != NULL) {
            /* As json: a subclass's own items(), sorting the (key, value) pairs with their
             * unconverted keys (with the TypeError that comparing str and int raises), and a
             * snapshot that default= cannot change. */
            items = PyMapping_Items(o);
            if (items == NULL)
                goto out;
            if (e->sort_keys && PyList_Sort(items) < 0)
                goto out;
            for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
                PyObject *item = PyList_GET_ITEM(items, i);
                if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
                    PyErr_SetString(PyExc_ValueError, "items must return 2-tuples");
                    goto out;
                }
                if (enc_member(e, g, PyTuple_GET_ITEM(item, 0), PyTuple_GET_ITEM(item, 1),
                               &opened) < 0)
                    goto out;
            }
        } else {
            Py_ssize_t pos = 0;
            while (PyDict_Next(o, &pos, &k, &v)) {
                /* A dict subclass's items() below may change this dict: hold what is written. */
                Py_INCREF(k);
                Py_INCREF(v);
                r = enc_member(e, g, k, v, &opened);
                Py_DECREF(k);
                Py_DECREF(v);
                if (r < 0)
                    goto out;
            }
        }
    }
    if (!opened) {
        rc = enc_opened_empty_object(e, g, level);
        goto out;
    }
    r = ajio_gen_end_object(g);
    if (r < 0) {
        gen_error(r);
        goto out;
    }
    rc = 0;
out:
    Py_XDECREF(it);
    Py_XDECREF(items);
    return rc;
}

/* A list or tuple by index, its size read again each time: default= may run Python code that
 * changes the list (an exact one; a subclass's is json's snapshot, from PySequence_Fast). */
static int enc_list(ajpy_enc *e, ajio_gen *g, PyObject *o)
{
    GEN(ajio_gen_begin_array(g));
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(o); i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(o, i);
        Py_INCREF(item);
        int r = enc_obj(e, g, item);
        Py_DECREF(item);
        if (r < 0)
            return -1;
    }
    GEN(ajio_gen_end_array(g));
    return 0;
}

/* json/encoder.py's `for value in lst` over a list or tuple subclass, or what claims to be one:
 * its own __iter__, live. */
static int enc_iter(ajpy_enc *e, ajio_gen *g, PyObject *o)
{
    PyObject *it = PyObject_GetIter(o), *item;
    int opened = 0, r = 0;

    if (it == NULL)
        return -1;
    while (r == 0 && (item = PyIter_Next(it)) != NULL) {
        r = opened ? 0 : ajio_gen_begin_array(g);
        if (r < 0) {
            gen_error(r);
        } else {
            opened = 1;
            r = enc_obj(e, g, item);
        }
        Py_DECREF(item);
    }
    Py_DECREF(it);
    if (r < 0 || PyErr_Occurred())
        return -1;
    if (!opened) {
        /* json/encoder.py writes "[" with the first value: a list that is not empty by its
         * __len__ or __bool__ but yields nothing comes out as "]" alone, which is not JSON.
         * "[]" stands in for it until the walk ends (ajpy_enc_value refuses the value then). */
        if (e->not_json[0] == '\0')
            snprintf(e->not_json, sizeof(e->not_json), "%.80s", Py_TYPE(o)->tp_name);
        return enc_empty(g, 'l');
    }
    GEN(ajio_gen_end_array(g));
    return 0;
}

static int not_serializable(PyObject *o)
{
    /* json's JSONEncoder.default() words it with __class__.__name__. */
    PyObject *cls = PyObject_GetAttrString(o, "__class__");
    PyObject *name = cls != NULL ? PyObject_GetAttrString(cls, "__name__") : NULL;

    if (name != NULL)
        PyErr_Format(PyExc_TypeError, "Object of type %S is not JSON serializable", name);
    Py_XDECREF(name);
    Py_XDECREF(cls);
    return -1;
}

/*
 * The C stack guard. Py_EnterRecursiveCall() counts against sys.getrecursionlimit(), which a
 * program may raise far beyond what the C stack holds (Python 3.11 does not check the C stack
 * itself): 80,000 nested lists then overflowed it. So the walk also refuses to go deeper when
 * its stack frames reach a fixed budget (STACK_BUDGET below where the walk began, a few thousand
 * levels: newer CPythons limit C recursion to about that too), or come within STACK_MARGIN of
 * the end of this thread's stack (pthread_getattr_np: a thread with a small stack), whichever
 * comes first. The margin leaves room for what a level may call: default=, a dict subclass's
 * items(), key comparisons, and the error path.
 */
#define STACK_BUDGET ((uintptr_t)2 << 20)
#define STACK_MARGIN ((uintptr_t)256 << 10)

/* The lowest address this thread's stack may use, plus the margin; 0 when unknown. Computed
 * once per thread (pthread_getattr_np reads /proc/self/maps for the main thread). */
static uintptr_t stack_floor(void)
{
    static _Thread_local uintptr_t floor;
    static _Thread_local int known;
    pthread_attr_t a;
    void *addr;
    size_t size;

    if (!known) {
        known = 1;
        if (pthread_getattr_np(pthread_self(), &a) == 0) {
            if (pthread_attr_getstack(&a, &addr, &size) == 0) {
                uintptr_t margin = size / 4 < STACK_MARGIN ? size / 4 : STACK_MARGIN;
                floor = (uintptr_t)addr + margin;
            }
            pthread_attr_destroy(&a);
        }
    }
    return floor;
}

/* Where the walk starting here must stop nesting (stacks grow down on every Linux target
 * CPython supports but HP-PA, which has no stable CPython port). */
static uintptr_t stack_stop_for_walk(void)
{
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    uintptr_t stop = here > STACK_BUDGET ? here - STACK_BUDGET : 0;
    uintptr_t floor = stack_floor();

    return floor > stop ? floor : stop;
}

static int stack_guard(const ajpy_enc *e)
{
    if ((uintptr_t)__builtin_frame_address(0) >= e->stack_stop)
        return 0;
    PyErr_SetString(PyExc_RecursionError,
                    "maximum recursion depth exceeded while encoding a JSON object "
                    "(nesting too deep for the C stack)");
    return -1;
}

/*
 * A non-empty list, tuple or dict, or what default= makes of another object: marked for
 * check_circular and counted against the recursion limit as json does (with json's words).
 * kind: 'l' a list or tuple by index (seq: o itself, or json's snapshot of a subclass), 'i' one
 * iterated as json/encoder.py does, 'd' a dict or what claims to be one, 'x' default=.
 */
static int enc_nested(ajpy_enc *e, ajio_gen *g, PyObject *o, PyObject *seq, int kind)
{
    int r;

    if (stack_guard(e) < 0 || Py_EnterRecursiveCall(" while encoding a JSON object"))
        return -1;
    if (e->check_circular) {
        r = ptrset_add(&e->markers, o);
        if (r != 0) {
            Py_LeaveRecursiveCall();
            if (r > 0)
                PyErr_SetString(PyExc_ValueError, "Circular reference detected");
            return -1;
        }
    }
    if (kind == 'd') {
        e->level++;
        r = enc_dict(e, g, o);
        e->level--;
    } else if (kind == 'l') {
        e->level++;
        r = enc_list(e, g, seq);
        e->level--;
    } else if (kind == 'i') {
        e->level++;
        r = enc_iter(e, g, o);
        e->level--;
    } else {
        PyObject *v = PyObject_CallOneArg(e->default_fn, o);
        r = -1;
        if (v != NULL) {
            r = enc_obj(e, g, v);
            Py_DECREF(v);
        }
    }
    if (e->check_circular)
        ptrset_del(&e->markers, o);
    Py_LeaveRecursiveCall();
    return r;
}

static int enc_int(ajio_gen *g, PyObject *o)
{
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (!overflow) {
        GEN(ajio_gen_int64(g, v));
        return 0;
    }
    /* Beyond 64 bits: int.__repr__ (which refuses past sys.get_int_max_str_digits(), as
     * json does). */
    PyObject *t = int_text(o);
    Py_ssize_t n;
    const char *s = t != NULL ? PyUnicode_AsUTF8AndSize(t, &n) : NULL;
    int r = s != NULL ? ajio_gen_number(g, s, (size_t)n) : 0;
    Py_XDECREF(t);
    if (s == NULL)
        return -1;
    if (r < 0)
        return gen_error(r);
    return 0;
}

static int enc_float(ajio_gen *g, double v)
{
    if (!isfinite(v))
        return out_of_range(v);
    GEN(ajio_gen_double(g, v));
    return 0;
}

/*
 * json/encoder.py (indent) on anything but a str, None, a bool and the exact int, float, list,
 * tuple and dict: its isinstance() tests in its order, which believe what an object's __class__
 * claims (a proxy's); a float's floatstr(); a container's truth (__bool__, __len__) for empty;
 * then the container's own __iter__ or items().
 */
static int enc_as_python(ajpy_enc *e, ajio_gen *g, PyObject *o)
{
    double v;
    int kind = 0, r = PyObject_IsInstance(o, (PyObject *)&PyUnicode_Type);

    if (r != 0)
        return r < 0 ? -1 : not_a_str(o);
    r = PyObject_IsInstance(o, (PyObject *)&PyLong_Type);
    if (r != 0) {
        if (r < 0)
            return -1;
        return PyLong_Check(o) ? enc_int(g, o) : repr_refused(&PyLong_Type, o);
    }
    r = PyObject_IsInstance(o, (PyObject *)&PyFloat_Type);
    if (r != 0)
        return r < 0 || float_as_python(o, &v) < 0 ? -1 : enc_float(g, v);
    r = PyObject_IsInstance(o, (PyObject *)&PyList_Type);
    if (r == 0)
        r = PyObject_IsInstance(o, (PyObject *)&PyTuple_Type);
    if (r > 0)
        kind = 'i';
    else if (r == 0 && (r = PyObject_IsInstance(o, (PyObject *)&PyDict_Type)) > 0)
        kind = 'd';
    if (r < 0)
        return -1;
    if (kind != 0) {
        r = PyObject_IsTrue(o);
        if (r <= 0)
            return r < 0 ? -1 : enc_empty(g, kind);
        return enc_nested(e, g, o, NULL, kind);
    }
    if (e->default_fn == NULL)
        return not_serializable(o);
    return enc_nested(e, g, o, NULL, 'x');
}

/*
 * Exact types first, read from their C storage, as both of json's encoders may. Anything else
 * follows the encoder json.dumps uses for the layout: json/encoder.py with indent
 * (enc_as_python), Modules/_json.c's C type tests without, which read a list or tuple subclass
 * through PySequence_Fast (its __iter__, a snapshot) and a dict subclass through its items().
 */
static int enc_obj(ajpy_enc *e, ajio_gen *g, PyObject *o)
{
    if (PyUnicode_Check(o))
        return enc_str(e, g, o, 0);
    if (o == Py_None) {
        GEN(ajio_gen_null(g));
        return 0;
    }
    if (o == Py_True || o == Py_False) {
        GEN(ajio_gen_bool(g, o == Py_True));
        return 0;
    }
    if (PyLong_CheckExact(o))
        return enc_int(g, o);
    if (PyFloat_CheckExact(o))
        return enc_float(g, PyFloat_AS_DOUBLE(o));
    if (PyList_CheckExact(o) || PyTuple_CheckExact(o)) {
        if (PySequence_Fast_GET_SIZE(o) == 0)
            return enc_empty(g, 'l');
        return enc_nested(e, g, o, o, 'l');
    }
    if (PyDict_CheckExact(o)) {
        if (PyDict_GET_SIZE(o) == 0)
            return enc_empty(g, 'd');
        return enc_nested(e, g, o, NULL, 'd');
    }
    if (e->indented)
        return enc_as_python(e, g, o);
    /* Subclasses of int and float: int.__repr__ and float.__repr__ of their storage. */
    if (PyLong_Check(o))
        return enc_int(g, o);
    if (PyFloat_Check(o))
        return enc_float(g, PyFloat_AS_DOUBLE(o));
    if (PyList_Check(o) || PyTuple_Check(o)) {
        PyObject *seq = PySequence_Fast(o, "_iterencode_list needs a sequence");
        if (seq == NULL)
            return -1;
        int r = PySequence_Fast_GET_SIZE(seq) == 0 ? enc_empty(g, 'l')
                                                   : enc_nested(e, g, o, seq, 'l');
        Py_DECREF(seq);
        return r;
    }
    if (PyDict_Check(o)) {
        /* Empty by its C size, whatever its __len__ says, as json's C encoder finds it. */
        if (PyDict_GET_SIZE(o) == 0)
            return enc_empty(g, 'd');
        return enc_nested(e, g, o, NULL, 'd');
    }
    if (e->default_fn == NULL)
        return not_serializable(o);
    return enc_nested(e, g, o, NULL, 'x');
}

/*
 * json.JSONEncoder.encode() asks isinstance(obj, str) of the top-level value first, in both
 * layouts: what only claims to be a str (its __class__) goes to json's string encoder, which
 * refuses it, instead of to default=. enc_as_python() asks it below the top with indent.
 */
static int top_level_str_check(const ajpy_enc *e, PyObject *o)
{
    if (e->indented || PyUnicode_Check(o) || o == Py_None || o == Py_True || o == Py_False ||
        PyLong_CheckExact(o) || PyFloat_CheckExact(o) || PyList_CheckExact(o) ||
        PyTuple_CheckExact(o) || PyDict_CheckExact(o))
        return 0;
    int r = PyObject_IsInstance(o, (PyObject *)&PyUnicode_Type);
    return r == 0 ? 0 : r < 0 ? -1 : not_a_str(o);
}

/*
 * Fails the generator with the Python exception's text, so that a commit after it fails and
 * leaves the target untouched. The exception stays set.
 */
static void fail_gen(ajio_gen *g)
{
    PyObject *type, *value, *tb;
    int err = PyErr_ExceptionMatches(PyExc_MemoryError) ? -ENOMEM : AJIO_EJSON;

    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *text = value != NULL ? PyObject_Str(value) : NULL;
    const char *msg = text != NULL ? PyUnicode_AsUTF8(text) : NULL;
    if (msg == NULL) {
        PyErr_Clear();
        msg = "";
    }
    (void)ajio_gen_fail(g, err, "%s: %s", ((PyTypeObject *)type)->tp_name, msg);
    Py_XDECREF(text);
    PyErr_Restore(type, value, tb);
}

int ajpy_enc_value(ajpy_enc *e, ajio_gen *g, PyObject *obj)
{
    int r;

    if (AJPY_BUSY(e->busy)) {
        /* default= runs Python code, which may switch threads or encode again: the cycle
         * marks and the deferred strings are for one walk at a time. */
        PyErr_SetString(PyExc_RuntimeError, "this encoder is already encoding a value");
        fail_gen(g);
        return -1;
    }
    e->busy = ajpy_fork_gen;
    e->level = 0;
    e->stack_stop = stack_stop_for_walk();
    e->not_json[0] = '\0';
    r = top_level_str_check(e, obj) < 0 ? -1 : enc_obj(e, g, obj);
    if (r == 0 && e->not_json[0] != '\0') {
        PyErr_Format(PyExc_ValueError,
                     "a %s is not empty but iterating it yields nothing: json.dumps with indent "
                     "writes \"]\" without its \"[\", which is not JSON",
                     e->not_json);
        r = -1;
    }
    e->busy = 0;
    if (r == 0)
        return 0;
    /* Every container took its mark off on the way out, failing or not. */
    assert(e->markers.len == 0);
    fail_gen(g);
    return -1;
}

/* ------------------------------------------------------------------------------------------- */
/* dumps                                                                                        */
/* ------------------------------------------------------------------------------------------- */

struct sink {
    char *p;
    size_t len, cap;
    int ascii;
    int finishing; /* inside ajio_gen_finish(): the call with the rest is the last */
    PyObject *str; /* made straight from the generator's window when it all fitted in one */
    ajpy_pace pace; /* a long dumps() lets other threads in (gil.h) */
};

static PyObject *make_str(const char *p, size_t len, int ascii)
{
    if (!ascii)
        return PyUnicode_DecodeUTF8(p, (Py_ssize_t)len, "strict");
    PyObject *s = PyUnicode_New((Py_ssize_t)len, 127);
    if (s != NULL && len >= AJPY_UNLOCKED_COPY) {
        Py_BEGIN_ALLOW_THREADS /* s is not shared yet: see build_result() */
        memcpy(PyUnicode_DATA(s), p, len);
        Py_END_ALLOW_THREADS
    } else if (s != NULL) {
        memcpy(PyUnicode_DATA(s), p, len);
    }
    return s;
}

static int sink_write(void *ctx, const void *buf, size_t len)
{
    struct sink *k = ctx;

    ajpy_pace_point(&k->pace);
    if (k->str != NULL)
        return -EPROTO; /* ajio_gen_finish() hands over the rest in one call */
    if (k->finishing && k->len == 0) {
        k->str = make_str(buf, len, k->ascii);
        return k->str != NULL ? 0 : -ENOMEM;
    }
    if (len > k->cap - k->len) {
        size_t cap = k->cap != 0 ? k->cap : 1 << 17;
        while (cap - k->len < len)
            cap *= 2;
        char *p = PyMem_Realloc(k->p, cap);
        if (p == NULL)
            return -ENOMEM;
        k->p = p;
        k->cap = cap;
    }
    memcpy(k->p + k->len, buf, len);
    k->len += len;
    return 0;
}

/* json.dumps(obj, **kwargs), with allow_nan=False unless kwargs say otherwise: NaN is refused
 * by default on this path too. */
static PyObject *dumps_fallback(PyObject *json_dumps, PyObject *obj, PyObject *kwargs)
{
    PyObject *kw = kwargs != NULL ? PyDict_Copy(kwargs) : PyDict_New();
    PyObject *key = PyUnicode_InternFromString("allow_nan");
    PyObject *r = NULL, *args = NULL;

    if (kw == NULL || key == NULL || PyDict_SetDefault(kw, key, Py_False) == NULL)
        goto out;
    args = PyTuple_Pack(1, obj);
    r = args != NULL ? PyObject_Call(json_dumps, args, kw) : NULL;
out:
    Py_XDECREF(key);
    Py_XDECREF(kw);
    Py_XDECREF(args);
    return r;
}

PyObject *ajpy_dumps(PyObject *json_dumps, PyObject *args, PyObject *kwargs)
{
    PyObject *obj, *kw = NULL, *result = NULL;
    struct sink k = {0};
    ajio_gen *g = NULL;
    ajpy_enc *e;
    int fallback, r;

    /* dumps(obj, *, ...): obj may also come by name, as json.dumps allows. */
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (nargs == 1) {
        obj = PyTuple_GET_ITEM(args, 0);
        if (kwargs != NULL && PyDict_GetItemString(kwargs, "obj") != NULL) {
            PyErr_SetString(PyExc_TypeError, "dumps() got multiple values for argument 'obj'");
            return NULL;
        }
        kw = kwargs;
        Py_XINCREF(kw);
    } else if (nargs == 0 && kwargs != NULL && PyDict_GetItemString(kwargs, "obj") != NULL) {
        obj = PyDict_GetItemString(kwargs, "obj");
        kw = PyDict_Copy(kwargs);
        if (kw == NULL || PyDict_DelItemString(kw, "obj") < 0)
            goto out;
    } else if (nargs == 0) {
        PyErr_SetString(PyExc_TypeError, "dumps() missing 1 required positional argument: 'obj'");
        return NULL;
    } else {
        PyErr_Format(PyExc_TypeError, "dumps() takes 1 positional argument but %zd were given",
                     nargs);
        return NULL;
    }
    Py_INCREF(obj);

    e = ajpy_enc_new_dumps(kw, &fallback);
    if (e == NULL) {
        if (fallback)
            result = dumps_fallback(json_dumps, obj, kw);
        goto out_obj;
    }
    /* ASCII either way: with ensure_ascii=False the strs that are not wait in e->deferred. */
    k.ascii = 1;
    r = ajio_gen_new_sink(&g, sink_write, &k, ajpy_enc_gen_opts(e));
    if (r < 0) {
        gen_error(r);
        goto out_enc;
    }
    if (ajpy_enc_value(e, g, obj) < 0)
        goto out_gen;
    /* With deferred strs the text is built from the whole output, not made from the window. */
    k.finishing = e->deferred_len == 0;
    r = ajio_gen_finish(g);
    if (r < 0) {
        /* A Python error raised by the sink (a failed str) is more precise than the errno. */
        if (!PyErr_Occurred())
            gen_error(r);
        goto out_gen;
    }
    if (k.str != NULL) {
        result = k.str;
        k.str = NULL;
    } else if (e->deferred_len != 0) {
        result = build_result(e, k.p != NULL ? k.p : "", k.len);
    } else {
        result = make_str(k.p != NULL ? k.p : "", k.len, k.ascii);
    }
out_gen:
    ajio_gen_free(g);
    Py_XDECREF(k.str);
    PyMem_Free(k.p);
out_enc:
    ajpy_enc_free(e);
out_obj:
    Py_DECREF(obj);
out:
    Py_XDECREF(kw);
    return result;
}

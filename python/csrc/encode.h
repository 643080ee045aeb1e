/*
 * The JSON encoder of atomic_json_io: Python objects to JSON text through libajio's generator
 * (ajio_gen_*), byte for byte what json.dumps() writes with the same keyword arguments.
 *
 * Handled in C: dict, list, tuple, str, int, float, bool, None and their subclasses (subclasses
 * of int and float are written with int.__repr__ / float.__repr__, as json does, so an IntEnum is
 * its number), integers of any size, keys that are str, int, float, bool or None, and the keyword
 * arguments skipkeys, ensure_ascii, check_circular, allow_nan (False only), indent (an int, or a
 * str made of spaces only), separators (',' and ':' with JSON whitespace around them), default,
 * sort_keys. What C cannot honour is reported as a fallback (below) before anything is encoded.
 *
 * The exact types are read from their C storage. Everything else goes through the Python
 * protocols that the encoder json.dumps uses for the layout consults. Without indent (json's C
 * encoder): a list or tuple subclass is what its __iter__ yields, taken before it is written (so
 * default= changing it does not show), a dict subclass is its items() (2-tuples), and an empty
 * dict is found by its C size. With indent (json/encoder.py): isinstance() tests, which believe
 * an object's __class__ (a proxy of a dict or list is encoded as one); empty means false
 * (__bool__, __len__); a list is iterated live and a dict's items() pairs of any kind are
 * unpacked as they come (an exact dict changed meanwhile is RuntimeError, as its items() view
 * raises); a float subclass is NaN or an infinity (refused as such, below) when o != o,
 * o == inf or o == -inf says so.
 * At the top, in both layouts, what claims to be a str but is none is TypeError, as
 * json.JSONEncoder.encode() asks isinstance(o, str) first.
 *
 * Where this encoder differs from json.dumps on purpose:
 *   - NaN and the infinities are refused with ValueError("Out of range float values are not JSON
 *     compliant") whatever allow_nan says, unless allow_nan=True is given explicitly, which is a
 *     fallback (json.dumps's default is allow_nan=True: it writes NaN, which is not JSON).
 *   - A str holding a surrogate code point (U+D800..U+DFFF) is refused with ValueError, as a
 *     value and as a key, since the file would not be UTF-8 (libajio's validator also refuses
 *     "\ud800" escapes, so json.dumps's escape of a lone surrogate is no way out either). The
 *     one exception: with ensure_ascii a high surrogate followed by a low one (a pair kept as
 *     two code points, as UTF-16 decoded with "surrogatepass" gives) is written as json.dumps
 *     writes it, the two escapes of the pair.
 *   - Nesting: every container (and every value default= returns) counts as one recursive call
 *     (Py_EnterRecursiveCall, as json's C encoder counts them), so nesting beyond the recursion
 *     limit is RecursionError, a cycle with check_circular=False too; the generator's own
 *     max_depth is lifted so that it never stops first. Whatever the recursion limit, a C stack
 *     guard also raises RecursionError once one walk's frames take 2 MiB of stack (about 14,000
 *     nested lists or 7,000 nested dicts) or come near the end of the thread's stack, where
 *     json.dumps with a raised limit would crash the interpreter.
 *   - Text json.dumps writes that is not JSON is refused with ValueError as NaN is: with indent,
 *     a list that is not empty by its __len__ or __bool__ but whose __iter__ yields nothing loses
 *     its "[" in json/encoder.py. An error json raises later in the same value is raised first.
 *   - Without indent an exact dict is read live where json's C encoder writes the items it took
 *     before the first: the two differ when Python code run while writing its values (a list
 *     subclass's __iter__, a dict subclass's items(), but not default=, against which the
 *     encoder takes the items first too) changes that dict.
 */
#ifndef AJPY_ENCODE_H
#define AJPY_ENCODE_H

#include <Python.h>
#include <ajio.h>

typedef struct ajpy_enc ajpy_enc;

/*
 * The fork generation (module.c): bumped in a child after fork(). Handles and encoders mark
 * themselves busy with it while a call runs, so that a mark copied into a child by a fork in
 * another thread (which does not exist in the child) does not keep them busy there.
 */
extern unsigned long ajpy_fork_gen;
#define AJPY_BUSY(mark) ((mark) == ajpy_fork_gen)

/*
 * Parses json.dumps keyword arguments from kwargs (a dict, or NULL for the defaults):
 * skipkeys, ensure_ascii, check_circular, allow_nan, cls, indent, separators, default,
 * sort_keys; anything else is TypeError as json.dumps words it. lines=1: the encoder makes JSON
 * Lines records (one json.dumps(record, **kw) per line, so ", " and ": " unless separators says
 * otherwise; an indent other than None, or separators holding a line break -> ValueError).
 *
 * The file layout: with lines=0 an indent that kwargs does not give (or kwargs NULL) is 2, so that
 * the file is json.dumps(obj, indent=2) plus "\n"; indent=None given explicitly makes one line.
 * Every other default is json.dumps's own. The generator adds the final "\n" (and the one after
 * each record with lines=1).
 *
 * Returns NULL with a Python exception set; or NULL with *ret_fallback = 1 and no exception when C
 * cannot honour the arguments (cls= other than None, a true allow_nan, an indent that is neither
 * an int nor a str of spaces, or more than AJIO_GEN_MAX_INDENT of them, separators that are not
 * a list or tuple of two str or that the generator cannot write, such as (";", "=")). The
 * caller then writes json.dumps's text (or raises its error), with indent=2 added for a lines=0
 * file whose kwargs have no "indent" and allow_nan=False unless kwargs say otherwise, so that the
 * layout and the NaN refusal stay those above.
 */
ajpy_enc *ajpy_enc_new(PyObject *kwargs, int lines, int *ret_fallback);

/*
 * ajpy_enc_new() in its two steps, for callers that check arguments apart from making an
 * encoder: ajpy_enc_parse() reads kwargs into *o (the options, checked, nothing allocated:
 * default_fn is borrowed from kwargs, which must outlive o) and returns 0, or 1 for a fallback
 * (as *ret_fallback above), or -1 with an exception; ajpy_enc_build() makes the encoder of o
 * (NULL + MemoryError). mode: AJPY_ENC_LINES for lines=1, AJPY_ENC_DUMPS for dumps()'s encoder.
 */
enum { AJPY_ENC_LINES = 1, AJPY_ENC_DUMPS = 2 };

typedef struct ajpy_enc_opts {
    unsigned mode;
    int skipkeys, ensure_ascii, check_circular, sort_keys;
    int indented; /* indent is not None (2 unless given, for a lines=0 file) */
    int indent;   /* spaces per level, when indented */
    int separators; /* item_sep and key_sep were given; else the layout's defaults */
    char item_sep[AJIO_GEN_MAX_SEP + 1];
    char key_sep[AJIO_GEN_MAX_SEP + 1];
    PyObject *default_fn; /* borrowed; NULL: no default= */
} ajpy_enc_opts;

int ajpy_enc_parse(PyObject *kwargs, unsigned mode, ajpy_enc_opts *o);
ajpy_enc *ajpy_enc_build(const ajpy_enc_opts *o);

/* As ajpy_enc_new(kwargs, 0, ...) with json.dumps's defaults untouched (indent=None) and no
 * newline after the document: the encoder behind ajpy_dumps(). */
ajpy_enc *ajpy_enc_new_dumps(PyObject *kwargs, int *ret_fallback);

void ajpy_enc_free(ajpy_enc *e);

/* The generator options for ajio_gen_new() / ajio_gen_open() / ajio_gen_new_sink(); valid while
 * e lives. */
const ajio_gen_opts *ajpy_enc_gen_opts(const ajpy_enc *e);

/*
 * Encodes obj as one top-level value (one record with lines=1) into g. 0, or -1 with a Python
 * exception set AND the generator failed (ajio_gen_fail) so that a commit fails and the target
 * stays untouched. An error of the generator itself is raised with ajio_last_error()'s message:
 * AJIO_EJSON and -EINVAL as ValueError, -ENOMEM as MemoryError, a write error of the file below
 * (-ENOSPC, -EIO, ...) as the OSError of its errno. An encoder walks one value at a time: a
 * second call while the first runs (from another thread while default= or the sink let go of
 * the GIL, which a sink does once per switch interval (gil.h), or from inside default=) is
 * RuntimeError.
 */
int ajpy_enc_value(ajpy_enc *e, ajio_gen *g, PyObject *obj);

/* For the collector (tp_traverse, tp_clear of the object holding e): the references e holds,
 * default= only. After ajpy_enc_clear() e encodes as if no default= were given. */
int ajpy_enc_traverse(const ajpy_enc *e, visitproc visit, void *arg);
void ajpy_enc_clear(ajpy_enc *e);

/*
 * dumps(obj, **kw) -> str, byte-identical to json.dumps(obj, **kw) (with the refusals above);
 * through a sink generator (ajio_gen_new_sink) into a growing buffer, which holds ASCII only:
 * with ensure_ascii=False the strs that are not ASCII are copied into the result str at the end,
 * in its kind, never through UTF-8. A fallback calls json_dumps (json.dumps as the module found
 * it when loaded, kept in the module's state), with allow_nan=False unless given. args and
 * kwargs are those of atomic_json_io._ajio.dumps (METH_VARARGS | METH_KEYWORDS).
 */
PyObject *ajpy_dumps(PyObject *json_dumps, PyObject *args, PyObject *kwargs);

#endif /* AJPY_ENCODE_H */

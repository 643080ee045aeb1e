/*
 * module.c - atomic_json_io._ajio: the file operations of libajio for Python.
 *
 * The Python layer (atomic_json_io/__init__.py) turns keyword options into ajio flags and calls
 * these functions; everything that touches the filesystem happens here, with the GIL released
 * around each call that can block (open, write, commit, append, the update's lock wait), so
 * other threads run while a durable write waits for the disk. The JSON encoder is encode.c's: it
 * runs with the GIL held, and its text goes to the file in writes made without it (file_sink),
 * once per switch interval of encoding, which lets other threads run meanwhile (gil.h).
 *
 * Errors become Python's own exceptions (set_error): OSError built from the errno, so that
 * Python picks the subclass (FileExistsError, PermissionError, ...), with libajio's message
 * (which names the failed step) as strerror; NotDurableError for AJIO_ENOTDURABLE; ValueError
 * for AJIO_EJSON and AJIO_ETORN.
 *
 * State and threads. The Python objects the module keeps are in its state (ajpy_state, one per
 * module object: PEP 489 / PEP 630), so interpreters share none. What threads of one interpreter
 * share, and what the GIL alone makes safe today, so what a free-threaded build (PEP 703) would
 * need to guard, with a per-object lock (Py_BEGIN_CRITICAL_SECTION) or atomics:
 *   - the busy marks of File, Reader, Batch and Txn (handle_usable, AJPY_BUSY): tested and set
 *     under the GIL before the GIL is released for the call; a test-and-set that must be one
 *     atomic step, as must the clearing of the handle pointer (f, rd, b, t) on commit or close;
 *   - File.buffered, Reader.line / torn / torn_message, Batch.paths and committed: read and
 *     written by the calls on their object, under its busy mark or the GIL;
 *   - Log.appends / appends_gen, the append() calls in flight (Log_appends), which close()
 *     consults: a counter bumped and dropped around each append, to be atomic or locked with the
 *     object; the ajio_log handle itself has a lock of its own (libajio);
 *   - the encoder's "encoding" mark (ajpy_enc.busy in encode.c) and everything it guards while
 *     a value is walked (the markers of check_circular, level, the deferred strs): one encoder
 *     per call of dumps(), but an Encoder object from make_encoder() may be passed to calls in
 *     several threads at once, which the mark refuses with RuntimeError;
 *   - the objects the encoder walks (dicts, lists), read live through the C API with borrowed
 *     references (PyDict_Next, PyList_GET_ITEM): without the GIL another thread may change
 *     them meanwhile, so these reads need the object's critical section or strong references;
 *   - process-wide C state, shared by every interpreter too: ajpy_fork_gen (bumped only in a
 *     child after fork, read by every busy test: an atomic load/store without the GIL) and
 *     gil.c's ajpy_gil_offers (the tests' switch). The pacing of the GIL offers (ajpy_pace) is
 *     per call, on the caller's stack, and shares nothing; without a GIL it has nothing to do.
 * Py_mod_gil (3.13+) is not declared: until the above is guarded the module needs the GIL.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <ajio.h>

#include "encode.h"
#include "gil.h"

/*
 * The module's state (PEP 630): every Python object the C code keeps lives here, one copy per
 * module object, so that two interpreters (or a second module object made from the same spec)
 * share none. Module-level functions reach it through their module (mod_state); methods of the
 * types through the type that defined them (obj_state), which a Python subclass of Reader
 * inherits.
 */
typedef struct {
    PyObject *NotDurableError;
    /* The json module's dumps as it was when the module was loaded (ajpy_dumps's fallback): a
     * program may set json.dumps = atomic_json_io.dumps, and the fallback must not then call
     * itself. */
    PyObject *json_dumps;
    PyTypeObject *Encoder, *File, *Log, *Reader, *Batch, *Txn, *Snapshot, *Checker;
} ajpy_state;

static struct PyModuleDef module;

static ajpy_state *mod_state(PyObject *m)
{
    return PyModule_GetState(m);
}

/* The state of the module whose type (or a base of it) o is an instance of: never NULL for the
 * objects of this module's types, whose methods are all that call it. */
static ajpy_state *obj_state(PyObject *o)
{
    return PyModule_GetState(PyType_GetModuleByDef(Py_TYPE(o), &module));
}

/* Raises the exception for ajio result r (< 0) with libajio's message msg about path (any
 * object, or NULL). */
static PyObject *set_error_msg(ajpy_state *st, int r, const char *msg, PyObject *path)
{
    PyObject *type, *text, *exc;
    int err;

    if (r == AJIO_EJSON || r == AJIO_ETORN) {
        /* The message may quote a path that is not UTF-8: decode as the filesystem does. */
        text = PyUnicode_DecodeFSDefault(msg);
        if (text) {
            PyErr_SetObject(PyExc_ValueError, text);
            Py_DECREF(text);
        }
        return NULL;
    }
    if (r == AJIO_ENOTDURABLE) {
        /* The errno of the failed directory sync is only in the message; EIO says what it
         * means for the caller: the data may not be on the disk. */
        type = st->NotDurableError;
        err = EIO;
    } else {
        type = PyExc_OSError;
        err = r < 0 && r > -4096 ? -r : EIO;
    }
    text = PyUnicode_DecodeFSDefault(msg[0] ? msg : ajio_strerror(r));
    if (!text)
        return NULL;
    /* OSError(errno, strerror, filename): OSError.__new__ maps the errno to its subclass. */
    exc = PyObject_CallFunction(type, "iOO", err, text, path ? path : Py_None);
    Py_DECREF(text);
    if (!exc)
        return NULL;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

/* The same with the calling thread's ajio_last_error(). */
static PyObject *set_error(ajpy_state *st, int r, PyObject *path)
{
    return set_error_msg(st, r, ajio_last_error(), path);
}

/* The result of a successful write: False when AJIO_SKIP_UNCHANGED found nothing to do. */
static PyObject *write_result(int r)
{
    return PyBool_FromLong(r != AJIO_UNCHANGED);
}

static int opts_init(ajio_opts *opts, unsigned flags, unsigned mode)
{
    memset(opts, 0, sizeof(*opts));
    opts->flags = flags;
    opts->mode = mode;
    return 0;
}

/* ---- waits for a lock: interruptible (PEP 475), with an optional timeout --------------------- */

/*
 * Python installs its signal handlers without SA_RESTART and only runs them in the main thread
 * between bytecodes, so a Ctrl-C during a lock wait must end the wait: every call that may wait
 * passes AJIO_INTERRUPTIBLE, and on -EINTR (nothing written) runs the handlers; if one raises,
 * the call raises, else it is made again. The timeout is a deadline over all the tries: a
 * handler that returns must not give the wait a fresh timeout.
 */
struct lock_wait {
    int timeout_ms;   /* -1: as long as the lock is held; 0: one try; else milliseconds */
    int64_t deadline; /* CLOCK_MONOTONIC ns, with timeout_ms > 0 */
};

static int64_t mono_ns(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void lock_wait_init(struct lock_wait *w, int timeout_ms)
{
    w->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
    w->deadline = w->timeout_ms > 0 ? mono_ns() + (int64_t)w->timeout_ms * 1000000 : 0;
}

/* The timeout for the next try: what is left of the deadline, at least 1 ms so that a wait
 * that ran out fails with -ETIMEDOUT as a timeout does, not with a single try's -EWOULDBLOCK. */
static int lock_wait_left(const struct lock_wait *w)
{
    int64_t left;

    if (w->timeout_ms <= 0)
        return w->timeout_ms;
    left = (w->deadline - mono_ns() + 999999) / 1000000;
    return left < 1 ? 1 : left > INT_MAX ? INT_MAX : (int)left;
}

/* opts for a call that may wait for the lock: interruptible, bounded by w when it has a timeout. */
static void lock_opts_init(ajio_opts *opts, unsigned flags, unsigned mode,
                           const struct lock_wait *w)
{
    opts_init(opts, flags | AJIO_INTERRUPTIBLE, mode);
    if (w && w->timeout_ms >= 0) {
        opts->flags |= AJIO_LOCK_TIMEOUT;
        opts->lock_timeout_ms = lock_wait_left(w);
    }
}

/*
 * After a call that may wait for a lock returned r: 1 when a signal interrupted the wait and its
 * handlers returned (make the call again, with opts' timeout what is left of w's); 0 when r is
 * the call's result; -1 when a handler raised (the exception is set, nothing was written).
 */
static int lock_wait_again(int r, ajio_opts *opts, const struct lock_wait *w)
{
    if (r != -EINTR)
        return 0;
    if (PyErr_CheckSignals() < 0)
        return -1;
    if (w && w->timeout_ms >= 0)
        opts->lock_timeout_ms = lock_wait_left(w);
    return 1;
}

/*
 * ajio_file_open() of path (str, bytes or os.PathLike) with the GIL released, its lock wait ended by
 * signals as PEP 475 says. @return 0 and *ret, or -1 with the exception set.
 */
static int open_file(ajpy_state *st, PyObject *path, unsigned flags, unsigned mode,
                     ajio_file **ret)
{
    PyObject *pathb = NULL;
    ajio_opts opts;
    int r, again;

    if (!PyUnicode_FSConverter(path, &pathb))
        return -1;
    lock_opts_init(&opts, flags, mode, NULL);
    do {
        Py_BEGIN_ALLOW_THREADS
        r = ajio_file_open(ret, PyBytes_AS_STRING(pathb), &opts);
        Py_END_ALLOW_THREADS
    } while ((again = lock_wait_again(r, &opts, NULL)) > 0);
    Py_DECREF(pathb);
    if (again < 0)
        return -1;
    if (r < 0) {
        set_error(st, r, path);
        return -1;
    }
    return 0;
}

/* ---- after fork() ---------------------------------------------------------------------------- */

/*
 * A handle object is marked busy while one thread runs a call on it with the GIL released. A
 * fork() in another thread copies the mark into a child where that thread does not exist, and
 * the handle would be "in use by another thread" for ever. The mark is the fork generation in
 * which it was set, and the child starts a new generation (os.register_at_fork calls
 * _after_fork_child, see __init__.py), so inherited marks are stale there. The libajio handles
 * themselves notice the new process on their own (a log reopens its lock file and target).
 */
unsigned long ajpy_fork_gen = 1;

static PyObject *py_after_fork_child(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    ajpy_fork_gen++;
    if (ajpy_fork_gen == 0) /* 0 means "not busy" */
        ajpy_fork_gen = 1;
    Py_RETURN_NONE;
}

/* _gil_offers(enabled) -> the previous setting: whether long encodes offer the GIL to other
 * threads (gil.h). For the tests' negative control only. */
static PyObject *py_gil_offers(PyObject *self, PyObject *arg)
{
    int was = ajpy_gil_offers, on = PyObject_IsTrue(arg);

    (void)self;
    if (on < 0)
        return NULL;
    ajpy_gil_offers = on;
    return PyBool_FromLong(was);
}

/* ---- write_bytes(path, data, flags, mode) -> unchanged ---------------------------------------- */

static PyObject *py_write_bytes(PyObject *self, PyObject *args)
{
    ajpy_state *st = mod_state(self);
    PyObject *path, *pathb = NULL;
    Py_buffer data;
    unsigned flags, mode;
    ajio_opts opts;
    int r, again;

    if (!PyArg_ParseTuple(args, "Oy*II:write_bytes", &path, &data, &flags, &mode))
        return NULL;
    if (!PyUnicode_FSConverter(path, &pathb)) {
        PyBuffer_Release(&data);
        return NULL;
    }
    /* With AJIO_LOCK the write waits for the target's lock. */
    lock_opts_init(&opts, flags, mode, NULL);
    do {
        Py_BEGIN_ALLOW_THREADS
        r = ajio_write_bytes(PyBytes_AS_STRING(pathb), data.buf, (size_t)data.len, &opts);
        Py_END_ALLOW_THREADS
    } while ((again = lock_wait_again(r, &opts, NULL)) > 0);
    PyBuffer_Release(&data);
    Py_DECREF(pathb);
    if (again < 0)
        return NULL;
    if (r < 0)
        return set_error(st, r, path);
    return write_result(r);
}

/* ---- write_text(path, text, flags, mode) -> unchanged ---------------------------------------- */

/*
 * The str's UTF-8 form is cached in the object (for ASCII text it is the object's own storage),
 * so a text is not copied once more to add the newline: a missing '\n' goes through a handle.
 */
static PyObject *py_write_text(PyObject *self, PyObject *args)
{
    ajpy_state *st = mod_state(self);
    PyObject *path, *text, *pathb = NULL;
    unsigned flags, mode;
    const char *s;
    Py_ssize_t len;
    ajio_opts opts;
    ajio_file *f;
    int r, again;

    if (!PyArg_ParseTuple(args, "OUII:write_text", &path, &text, &flags, &mode))
        return NULL;
    s = PyUnicode_AsUTF8AndSize(text, &len);
    if (!s)
        return NULL;
    if (!PyUnicode_FSConverter(path, &pathb))
        return NULL;
    lock_opts_init(&opts, flags, mode, NULL);
    do {
        Py_BEGIN_ALLOW_THREADS
        if (len > 0 && s[len - 1] == '\n') {
            r = ajio_write_bytes(PyBytes_AS_STRING(pathb), s, (size_t)len, &opts);
        } else {
            r = ajio_file_open(&f, PyBytes_AS_STRING(pathb), &opts);
            if (r >= 0) {
                /* Errors are sticky in the handle: the commit returns the first one. */
                (void)ajio_file_write(f, s, (size_t)len);
                (void)ajio_file_write(f, "\n", 1);
                r = ajio_file_commit(f);
            }
        }
        Py_END_ALLOW_THREADS
    } while ((again = lock_wait_again(r, &opts, NULL)) > 0);
    Py_DECREF(pathb);
    if (again < 0)
        return NULL;
    if (r < 0)
        return set_error(st, r, path);
    return write_result(r);
}

/* ---- Encoder: json.dumps keyword arguments, parsed once per call ------------------------------ */

typedef struct {
    PyObject_HEAD
    ajpy_enc *enc;
} EncoderObject;

/* The encoder holds default=, which may hold the encoder: the collector must see it. */
static int Encoder_traverse(EncoderObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return self->enc ? ajpy_enc_traverse(self->enc, visit, arg) : 0;
}

static int Encoder_clear(EncoderObject *self)
{
    if (self->enc)
        ajpy_enc_clear(self->enc);
    return 0;
}

/* The dealloc of a heap type drops the instance's reference to its type (PEP 630). */
static void Encoder_dealloc(EncoderObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    ajpy_enc_free(self->enc);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/*
 * The types are heap types made per module object from these specs (module_exec), so that each
 * interpreter has its own. Py_TPFLAGS_IMMUTABLETYPE keeps them closed to attribute assignment as
 * the static types were; those that hold Python objects are tracked by the collector, and every
 * instance holds a reference to its type, visited in traverse and dropped in dealloc.
 */
static PyType_Slot Encoder_slots[] = {
    {Py_tp_dealloc, (void *)Encoder_dealloc},
    {Py_tp_traverse, (void *)Encoder_traverse},
    {Py_tp_clear, (void *)Encoder_clear},
    {Py_tp_doc, (void *)"json.dumps keyword arguments parsed for the C encoder (make_encoder())."},
    {0, NULL},
};

static PyType_Spec Encoder_spec = {
    .name = "atomic_json_io._ajio.Encoder",
    .basicsize = sizeof(EncoderObject),
    /* make_encoder() makes them, as the static type did (it had no tp_new). */
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Encoder_slots,
};

/*
 * make_encoder(kwargs, lines) -> Encoder, or None when C cannot honour the arguments and the
 * caller must use the json module (cls=, allow_nan=True, ...).
 */
static PyObject *py_make_encoder(PyObject *self, PyObject *args)
{
    ajpy_state *st = mod_state(self);
    PyObject *kwargs;
    int lines, fallback = 0;
    ajpy_enc *e;
    EncoderObject *o;

    if (!PyArg_ParseTuple(args, "O!p:make_encoder", &PyDict_Type, &kwargs, &lines))
        return NULL;
    e = ajpy_enc_new(kwargs, lines, &fallback);
    if (!e) {
        if (fallback && !PyErr_Occurred())
            Py_RETURN_NONE;
        return NULL;
    }
    o = PyObject_GC_New(EncoderObject, st->Encoder);
    if (!o) {
        ajpy_enc_free(e);
        return NULL;
    }
    o->enc = e;
    PyObject_GC_Track(o);
    return (PyObject *)o;
}

/*
 * _encoder_options(kwargs, lines) -> dict of the options the encoder would be built with, or None
 * for a fallback: ajpy_enc_parse() alone, for the tests of the argument checks.
 */
static PyObject *py_encoder_options(PyObject *self, PyObject *args)
{
    PyObject *kwargs;
    ajpy_enc_opts o;
    int lines, r;

    (void)self;
    if (!PyArg_ParseTuple(args, "O!p:_encoder_options", &PyDict_Type, &kwargs, &lines))
        return NULL;
    r = ajpy_enc_parse(kwargs, lines ? AJPY_ENC_LINES : 0, &o);
    if (r < 0)
        return NULL;
    if (r > 0)
        Py_RETURN_NONE;
    return Py_BuildValue("{sOsOsOsOsOsisNsNsO}", "skipkeys", o.skipkeys ? Py_True : Py_False,
                         "ensure_ascii", o.ensure_ascii ? Py_True : Py_False, "check_circular",
                         o.check_circular ? Py_True : Py_False, "sort_keys",
                         o.sort_keys ? Py_True : Py_False, "indented",
                         o.indented ? Py_True : Py_False, "indent", o.indent, "item_sep",
                         o.separators ? PyUnicode_FromString(o.item_sep) : Py_NewRef(Py_None),
                         "key_sep",
                         o.separators ? PyUnicode_FromString(o.key_sep) : Py_NewRef(Py_None),
                         "default", o.default_fn ? o.default_fn : Py_None);
}

/* ---- the encoder's text into a handle: write() without the GIL --------------------------------- */

/*
 * A sink generator (ajio_gen_new_sink) with the encoder's layout, whose text goes to a handle,
 * each write() with the GIL released. The 64 KiB windows are gathered here and written together
 * when an offer of the GIL is due (gil.h), when STAGE_MAX bytes are gathered, and at the end:
 * releasing the GIL for the write of each window would hand it to a busy thread at every window
 * and leave the encoder waiting a switch interval to get it back each time (measured on a
 * 72 MiB document: 23x slower next to a busy thread).
 */
#define STAGE_MAX ((size_t)4 << 20)
#define WINDOW ((size_t)64 << 10) /* what the generator hands over at most at a time */

struct file_sink {
    ajio_file *f;
    char *buf; /* the gathered windows (raw allocator: freed without the GIL too) */
    size_t len, cap;
    ajpy_pace pace;
};

/* The gathered windows into the handle, in one write(). The caller has released the GIL. */
static int file_sink_out(struct file_sink *s)
{
    int r = s->len > 0 ? ajio_file_write(s->f, s->buf, s->len) : 0;

    s->len = 0;
    return r;
}

static int file_sink_write(void *ctx, const void *buf, size_t len)
{
    struct file_sink *s = ctx;
    PyThreadState *ts;
    int r;

    if (len > s->cap - s->len) {
        size_t cap = s->cap ? s->cap : WINDOW;
        char *p;
        while (cap - s->len < len)
            cap *= 2;
        p = PyMem_RawRealloc(s->buf, cap);
        if (!p)
            return -ENOMEM;
        s->buf = p;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, buf, len);
    s->len += len;
    /* Room for one more window, up to STAGE_MAX: the buffer never grows beyond it. */
    if (s->len <= STAGE_MAX - WINDOW && !ajpy_pace_due(&s->pace))
        return 0;
    ts = ajpy_pace_release(&s->pace);
    r = file_sink_out(s);
    ajpy_pace_reacquire(&s->pace, ts);
    return r;
}

/* A sink generator into s->f; 0 or -1 + exception. */
static int file_sink_gen(ajpy_state *st, struct file_sink *s, ajpy_enc *e, ajio_gen **ret_g,
                         PyObject *path)
{
    int r = ajio_gen_new_sink(ret_g, file_sink_write, s, ajpy_enc_gen_opts(e));

    if (r < 0) {
        set_error(st, r, path);
        return -1;
    }
    return 0;
}

/* Encodes obj (lines=0) or every item of the iterable obj (lines=1) into g. 0 or -1 + exception. */
static int encode_into(ajpy_enc *e, ajio_gen *g, PyObject *obj, int lines)
{
    PyObject *it, *item;

    if (!lines)
        return ajpy_enc_value(e, g, obj);
    it = PyObject_GetIter(obj);
    if (!it)
        return -1;
    /* One record at a time: the iterable may be a generator of any length, and only the
     * windows gathered for the next write (file_sink) hold encoded text. */
    while ((item = PyIter_Next(it))) {
        int r = ajpy_enc_value(e, g, item);
        Py_DECREF(item);
        if (r < 0) {
            Py_DECREF(it);
            return -1;
        }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

/* ---- write_json(path, obj, flags, mode, encoder, lines) -> unchanged -------------------------- */

static PyObject *py_write_json(PyObject *self, PyObject *args)
{
    ajpy_state *st = mod_state(self);
    PyObject *path, *obj;
    EncoderObject *enc;
    unsigned flags, mode;
    int lines, r;
    ajio_file *f = NULL;
    ajio_gen *g = NULL;
    struct file_sink s = {0};

    if (!PyArg_ParseTuple(args, "OOIIO!p:write_json", &path, &obj, &flags, &mode, st->Encoder,
                          &enc, &lines))
        return NULL;
    r = open_file(st, path, flags, mode, &f);
    if (r < 0)
        return NULL;
    s.f = f;
    if (file_sink_gen(st, &s, enc->enc, &g, path) < 0 || encode_into(enc->enc, g, obj, lines) < 0)
        goto fail;
    /* The rest of the text to the sink; the generator's errors are its own (a write's too). */
    r = ajio_gen_finish(g);
    ajio_gen_free(g);
    if (r < 0) {
        set_error(st, r, path);
        goto fail_freed;
    }
    Py_BEGIN_ALLOW_THREADS
    /* Errors are sticky in the handle: the commit returns the first one. */
    (void)file_sink_out(&s);
    r = ajio_file_commit(f);
    PyMem_RawFree(s.buf);
    Py_END_ALLOW_THREADS
    if (r < 0)
        return set_error(st, r, path);
    return write_result(r);
fail:
    ajio_gen_free(g);
fail_freed:
    /* Removing a temp file of many MB takes a while too. */
    Py_BEGIN_ALLOW_THREADS
    ajio_file_abort(f);
    PyMem_RawFree(s.buf);
    Py_END_ALLOW_THREADS
    return NULL;
}

/* ---- File: a streaming handle, for the json-module fallback ----------------------------------- */

typedef struct {
    PyObject_HEAD
    ajio_file *f;
    PyObject *path;
    /* a call runs with the GIL released: another thread must not use f meanwhile */
    unsigned long busy;
    size_t buffered; /* bytes in f's 64 KiB buffer (file_write_goes_out) */
} FileObject;

static int File_traverse(FileObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->path);
    return 0;
}

static int File_clear(FileObject *self)
{
    Py_CLEAR(self->path);
    return 0;
}

static void File_dealloc(FileObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    if (self->f) {
        /* A temp file of many MB takes a while to remove. */
        Py_BEGIN_ALLOW_THREADS
        ajio_file_abort(self->f);
        Py_END_ALLOW_THREADS
    }
    Py_XDECREF(self->path);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int File_init(FileObject *self, PyObject *args, PyObject *kwds)
{
    ajpy_state *st = obj_state((PyObject *)self);
    PyObject *path;
    unsigned flags, mode;
    ajio_file *f;

    if (kwds && PyDict_GET_SIZE(kwds) > 0) {
        PyErr_SetString(PyExc_TypeError, "File() takes no keyword arguments");
        return -1;
    }
    if (self->f) {
        PyErr_SetString(PyExc_RuntimeError, "File already open");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "OII:File", &path, &flags, &mode))
        return -1;
    if (open_file(st, path, flags, mode, &f) < 0)
        return -1;
    self->f = f;
    Py_INCREF(path);
    Py_XSETREF(self->path, path);
    return 0;
}

/*
 * Whether a handle object may be used now: not while another thread runs a call on it with the
 * GIL released (busy), nor once it is finished (handle NULL).
 */
static int handle_usable(unsigned long busy, const void *handle, const char *what,
                         const char *finished)
{
    if (AJPY_BUSY(busy)) {
        PyErr_Format(PyExc_RuntimeError, "the %s is in use by another thread", what);
        return -1;
    }
    if (!handle) {
        PyErr_Format(PyExc_ValueError, "the %s is %s", what, finished);
        return -1;
    }
    return 0;
}

static int File_check(FileObject *self)
{
    return handle_usable(self->busy, self->f, "file", "committed or aborted");
}

/*
 * ajio_file_write() copies into the handle's 64 KiB buffer (ajio.h); a write that does not fit
 * writes the buffer out first, and one of 64 KiB or more goes to the temp file at once. Whether
 * a write of len bytes calls write(), given what the buffer holds, which *buffered tracks.
 */
#define HANDLE_BUFFER 65536

static int file_write_goes_out(size_t *buffered, size_t len)
{
    int out = *buffered + len > HANDLE_BUFFER || len >= HANDLE_BUFFER;

    if (*buffered + len > HANDLE_BUFFER)
        *buffered = 0;
    if (len < HANDLE_BUFFER)
        *buffered += len;
    return out;
}

/* The GIL is released for a write that goes out to the temp file, not for a copy into the
 * buffer: a release per small write would hand the GIL to a busy thread every few bytes and
 * leave this one waiting a switch interval for it each time. */
static PyObject *File_write(FileObject *self, PyObject *arg)
{
    ajpy_state *st = obj_state((PyObject *)self);
    Py_buffer data = {0};
    const char *s;
    Py_ssize_t len;
    int r;

    if (File_check(self) < 0)
        return NULL;
    if (PyUnicode_Check(arg)) {
        s = PyUnicode_AsUTF8AndSize(arg, &len);
        if (!s)
            return NULL;
    } else {
        if (PyObject_GetBuffer(arg, &data, PyBUF_SIMPLE) < 0)
            return NULL;
        s = data.buf;
        len = data.len;
    }
    if (file_write_goes_out(&self->buffered, (size_t)len)) {
        self->busy = ajpy_fork_gen;
        Py_BEGIN_ALLOW_THREADS
        r = ajio_file_write(self->f, s, (size_t)len);
        Py_END_ALLOW_THREADS
        self->busy = 0;
    } else {
        r = ajio_file_write(self->f, s, (size_t)len);
    }
    PyBuffer_Release(&data);
    if (r < 0)
        return set_error(st, r, self->path);
    Py_RETURN_NONE;
}

static PyObject *File_commit(FileObject *self, PyObject *unused)
{
    ajpy_state *st = obj_state((PyObject *)self);
    ajio_file *f = self->f;
    int r;

    (void)unused;
    if (File_check(self) < 0)
        return NULL;
    self->f = NULL; /* ajio_file_commit() frees it whatever the result */
    Py_BEGIN_ALLOW_THREADS
    r = ajio_file_commit(f);
    Py_END_ALLOW_THREADS
    if (r < 0)
        return set_error(st, r, self->path);
    return write_result(r);
}

static PyObject *File_abort(FileObject *self, PyObject *unused)
{
    ajio_file *f = self->f;

    (void)unused;
    if (AJPY_BUSY(self->busy)) {
        PyErr_SetString(PyExc_RuntimeError, "the file is in use by another thread");
        return NULL;
    }
    self->f = NULL; /* other threads see it aborted while the temp is removed */
    if (f) {
        Py_BEGIN_ALLOW_THREADS
        ajio_file_abort(f);
        Py_END_ALLOW_THREADS
    }
    Py_RETURN_NONE;
}

static PyMethodDef File_methods[] = {
    {"write", (PyCFunction)File_write, METH_O, "write(data): bytes-like or str (UTF-8)."},
    {"commit", (PyCFunction)File_commit, METH_NOARGS,
     "commit() -> unchanged: publish the temp over the target."},
    {"abort", (PyCFunction)File_abort, METH_NOARGS, "abort(): discard the temp."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot File_slots[] = {
    {Py_tp_dealloc, (void *)File_dealloc},
    {Py_tp_traverse, (void *)File_traverse},
    {Py_tp_clear, (void *)File_clear},
    {Py_tp_doc,
     (void *)"File(path, flags, mode): an ajio_file_open() handle; nothing is visible at path "
             "before commit()."},
    {Py_tp_methods, File_methods},
    {Py_tp_init, (void *)File_init},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL},
};

static PyType_Spec File_spec = {
    .name = "atomic_json_io._ajio.File",
    .basicsize = sizeof(FileObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = File_slots,
};

/* ---- update(path, step, flags, mode, timeout_ms, encoder) -> new value ------------------------ */

/*
 * ajio_update() runs with the GIL released, since it may wait for the lock as long as another
 * process holds it; its callback takes the GIL back to run the Python step.
 */
struct update_ctx {
    ajpy_state *st;
    PyThreadState *ts;
    PyObject *step;
    ajpy_enc *enc; /* NULL: the step returns the bytes to write */
    PyObject *path;
    PyObject *result;
    int failed;
};

static int update_cb(void *vctx, const void *old, size_t old_len, int exists, ajio_file *out)
{
    struct update_ctx *ctx = vctx;
    ajpy_state *st = ctx->st;
    PyObject *arg, *res = NULL, *value, *payload;
    struct file_sink s = {.f = out};
    ajio_gen *g = NULL;
    int r = -ECANCELED;

    PyEval_RestoreThread(ctx->ts);
    if (exists)
        arg = PyBytes_FromStringAndSize(old, (Py_ssize_t)old_len);
    else
        arg = Py_NewRef(Py_None);
    if (!arg)
        goto done;
    /* step(old bytes or None) -> (new value, bytes to write or None for the encoder) */
    res = PyObject_CallOneArg(ctx->step, arg);
    Py_DECREF(arg);
    if (!res)
        goto done;
    if (!PyTuple_Check(res) || PyTuple_GET_SIZE(res) != 2) {
        PyErr_SetString(PyExc_TypeError, "update step must return (value, payload)");
        goto done;
    }
    value = PyTuple_GET_ITEM(res, 0);
    payload = PyTuple_GET_ITEM(res, 1);
    if (ctx->enc) {
        if (file_sink_gen(st, &s, ctx->enc, &g, ctx->path) < 0)
            goto done;
        if (ajpy_enc_value(ctx->enc, g, value) < 0)
            goto done;
        r = ajio_gen_finish(g);
        if (r < 0) {
            set_error(st, r, ctx->path);
            goto done;
        }
    } else {
        /* The payload (bytes from the json module) stays alive in res; the GIL is released for
         * the write as for any other. */
        Py_buffer data;
        if (PyObject_GetBuffer(payload, &data, PyBUF_SIMPLE) < 0)
            goto done;
        Py_BEGIN_ALLOW_THREADS
        r = ajio_file_write(out, data.buf, (size_t)data.len);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&data);
        if (r < 0) {
            set_error(st, r, ctx->path);
            goto done;
        }
    }
    Py_XSETREF(ctx->result, Py_NewRef(value));
    r = 0;
done:
    if (r < 0)
        ctx->failed = 1; /* the exception stays set in this thread across the save */
    ajio_gen_free(g);
    Py_XDECREF(res);
    ctx->ts = PyEval_SaveThread();
    /* What the encoder left gathered goes out without the GIL; a failed write is sticky in out,
     * whose commit by ajio_update() returns it. */
    if (r == 0)
        (void)file_sink_out(&s);
    PyMem_RawFree(s.buf);
    return r;
}

static PyObject *py_update(PyObject *self, PyObject *args)
{
    ajpy_state *st = mod_state(self);
    PyObject *path, *step, *encobj, *pathb = NULL;
    unsigned flags, mode;
    int timeout_ms, r;
    ajio_opts opts;
    struct update_ctx ctx = {0};
    struct lock_wait w;

    if (!PyArg_ParseTuple(args, "OOIIiO:update", &path, &step, &flags, &mode, &timeout_ms,
                          &encobj))
        return NULL;
    if (encobj != Py_None && !PyObject_TypeCheck(encobj, st->Encoder)) {
        PyErr_SetString(PyExc_TypeError, "encoder must be an Encoder or None");
        return NULL;
    }
    if (!PyUnicode_FSConverter(path, &pathb))
        return NULL;
    /* ajio_update() has its own timeout (not AJIO_LOCK_TIMEOUT); the deadline is kept here
     * across the tries that a signal interrupts. */
    opts_init(&opts, flags | AJIO_INTERRUPTIBLE, mode);
    lock_wait_init(&w, timeout_ms);
    ctx.st = st;
    ctx.step = step;
    ctx.enc = encobj == Py_None ? NULL : ((EncoderObject *)encobj)->enc;
    ctx.path = path;
    for (;;) {
        ctx.ts = PyEval_SaveThread();
        r = ajio_update(PyBytes_AS_STRING(pathb), update_cb, &ctx, lock_wait_left(&w), &opts);
        PyEval_RestoreThread(ctx.ts);
        /* -EINTR comes only from the wait, before the step ran: nothing was read or written. */
        if (r != -EINTR || ctx.failed)
            break;
        if (PyErr_CheckSignals() < 0) {
            Py_DECREF(pathb);
            return NULL;
        }
    }
    Py_DECREF(pathb);
    if (ctx.failed && PyErr_Occurred()) {
        Py_XDECREF(ctx.result);
        return NULL;
    }
    if (r < 0) {
        Py_XDECREF(ctx.result);
        return set_error(st, r, path);
    }
    if (!ctx.result)
        Py_RETURN_NONE;
    return ctx.result;
}

/* ---- append(path, data, flags) -> repair message or None -------------------------------------- */

static PyObject *py_append(PyObject *self, PyObject *args)
{
    ajpy_state *st = mod_state(self);
    PyObject *path, *pathb = NULL;
    Py_buffer data;
    unsigned flags;
    ajio_opts opts;
    struct lock_wait w;
    int timeout_ms, r, again;

    if (!PyArg_ParseTuple(args, "Oy*Ii:append", &path, &data, &flags, &timeout_ms))
        return NULL;
    if (!PyUnicode_FSConverter(path, &pathb)) {
        PyBuffer_Release(&data);
        return NULL;
    }
    lock_wait_init(&w, timeout_ms);
    lock_opts_init(&opts, flags, 0, &w);
    do {
        Py_BEGIN_ALLOW_THREADS
        r = ajio_append(PyBytes_AS_STRING(pathb), data.buf, (size_t)data.len, &opts);
        Py_END_ALLOW_THREADS
    } while ((again = lock_wait_again(r, &opts, &w)) > 0);
    PyBuffer_Release(&data);
    Py_DECREF(pathb);
    if (again < 0)
        return NULL;
    if (r < 0)
        return set_error(st, r, path);
    if (r == AJIO_REPAIRED)
        return PyUnicode_DecodeFSDefault(ajio_last_error());
    Py_RETURN_NONE;
}

/* ---- append_records(path, iterable, flags, encoder, chunk) -> (count, repair message) ---------- */

struct membuf {
    char *p;
    size_t len, cap;
    ajpy_pace pace; /* the encoding lets other threads in (gil.h) */
};

static int membuf_sink(void *ctx, const void *buf, size_t len)
{
    struct membuf *mb = ctx;

    ajpy_pace_point(&mb->pace);
    if (len > mb->cap - mb->len) {
        size_t cap = mb->cap ? mb->cap : 65536;
        char *p;
        while (cap - mb->len < len) {
            if (cap > SIZE_MAX / 2)
                return -ENOMEM;
            cap *= 2;
        }
        p = PyMem_RawRealloc(mb->p, cap);
        if (!p)
            return -ENOMEM;
        mb->p = p;
        mb->cap = cap;
    }
    memcpy(mb->p + mb->len, buf, len);
    mb->len += len;
    return 0;
}

/* Appends the complete lines in mb (GIL released) to pathc, or through log when not NULL, and
 * empties it. */
static int append_chunk(ajpy_state *st, PyObject *path, const char *pathc, ajio_log *log,
                        struct membuf *mb, unsigned flags, int timeout_ms, PyObject **repair)
{
    ajio_opts opts;
    struct lock_wait w;
    int r, again;

    if (mb->len == 0)
        return 0;
    /* Each chunk's wait for the lock has the whole timeout (a log's is set at its open). */
    lock_wait_init(&w, timeout_ms);
    lock_opts_init(&opts, flags, 0, &w);
    do {
        Py_BEGIN_ALLOW_THREADS
        if (log)
            r = ajio_log_append(log, mb->p, mb->len);
        else
            r = ajio_append(pathc, mb->p, mb->len, &opts);
        Py_END_ALLOW_THREADS
    } while ((again = lock_wait_again(r, &opts, &w)) > 0);
    mb->len = 0;
    if (again < 0)
        return -1;
    if (r < 0) {
        set_error(st, r, path);
        return -1;
    }
    if (r == AJIO_REPAIRED && !*repair) {
        *repair = PyUnicode_DecodeFSDefault(ajio_last_error());
        if (!*repair)
            return -1;
    }
    return 0;
}

/*
 * Records are encoded into memory and appended chunk by chunk, each chunk (whole records, about
 * `chunk` bytes) one ajio_append() (or ajio_log_append()): a generator of any length keeps
 * memory bounded, and each append is atomic towards other appenders.
 * Returns (count, repair message or None), or NULL with an exception.
 */
static PyObject *append_records(ajpy_state *st, PyObject *path, const char *pathc, ajio_log *log,
                                PyObject *records, unsigned flags, int timeout_ms, ajpy_enc *enc,
                                Py_ssize_t chunk)
{
    PyObject *it, *item, *repair = NULL, *res = NULL;
    struct membuf mb = {0};
    ajio_gen *g = NULL;
    unsigned long long count = 0;
    int r;

    it = PyObject_GetIter(records);
    if (!it)
        return NULL;
    r = ajio_gen_new_sink(&g, membuf_sink, &mb, ajpy_enc_gen_opts(enc));
    if (r < 0) {
        set_error(st, r, path);
        goto out;
    }
    while ((item = PyIter_Next(it))) {
        r = ajpy_enc_value(enc, g, item);
        Py_DECREF(item);
        if (r < 0)
            goto out;
        count++;
        if (mb.len >= (size_t)chunk) {
            r = ajio_gen_finish(g);
            if (r < 0) {
                set_error(st, r, path);
                goto out;
            }
            if (append_chunk(st, path, pathc, log, &mb, flags, timeout_ms, &repair) < 0)
                goto out;
        }
    }
    if (PyErr_Occurred())
        goto out;
    r = ajio_gen_finish(g);
    if (r < 0) {
        set_error(st, r, path);
        goto out;
    }
    if (append_chunk(st, path, pathc, log, &mb, flags, timeout_ms, &repair) < 0)
        goto out;
    res = Py_BuildValue("KO", count, repair ? repair : Py_None);
out:
    ajio_gen_free(g);
    PyMem_RawFree(mb.p);
    Py_DECREF(it);
    Py_XDECREF(repair);
    return res;
}

static PyObject *py_append_records(PyObject *self, PyObject *args)
{
    ajpy_state *st = mod_state(self);
    PyObject *path, *records, *pathb = NULL, *res;
    EncoderObject *enc;
    unsigned flags;
    Py_ssize_t chunk;
    int timeout_ms;

    if (!PyArg_ParseTuple(args, "OOIO!ni:append_records", &path, &records, &flags, st->Encoder,
                          &enc, &chunk, &timeout_ms))
        return NULL;
    if (!PyUnicode_FSConverter(path, &pathb))
        return NULL;
    res = append_records(st, path, PyBytes_AS_STRING(pathb), NULL, records, flags, timeout_ms,
                         enc->enc, chunk);
    Py_DECREF(pathb);
    return res;
}

/* ---- Log: a long-lived append handle (ajio_log) ----------------------------------------------- */

/*
 * Threads may append through one Log at once: ajio_log_append() combines their records (one
 * write and one sync per batch), so each append releases the GIL and nothing here serialises
 * them. Only close must wait for the appends: appends counts the append() calls under way
 * (they release the GIL, and run the records' iterator), in fork generation appends_gen, so
 * that calls of threads that a fork() left behind in the parent do not count in the child.
 */
typedef struct {
    PyObject_HEAD
    ajio_log *log;
    PyObject *path;
    PyObject *repair; /* what ajio_log_open() repaired, or NULL */
    int timeout_ms;   /* of each wait for the lock, as opened: -1 none */
    unsigned long appends_gen;
    unsigned long appends; /* append() calls under way, in fork generation appends_gen */
} LogObject;

static int Log_traverse(LogObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->path);
    Py_VISIT(self->repair);
    return 0;
}

static int Log_clear(LogObject *self)
{
    Py_CLEAR(self->path);
    Py_CLEAR(self->repair);
    return 0;
}

static void Log_dealloc(LogObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    (void)ajio_log_close(self->log);
    Py_XDECREF(self->path);
    Py_XDECREF(self->repair);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int Log_init(LogObject *self, PyObject *args, PyObject *kwds)
{
    ajpy_state *st = obj_state((PyObject *)self);
    PyObject *path, *pathb = NULL;
    unsigned flags;
    ajio_opts opts;
    ajio_log *log;
    struct lock_wait w;
    int timeout_ms, r, again;

    if ((kwds && PyDict_GET_SIZE(kwds) > 0) || self->log || self->path) {
        PyErr_SetString(PyExc_TypeError, "Log(path, flags, timeout_ms) once, positional only");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "OIi:Log", &path, &flags, &timeout_ms))
        return -1;
    if (!PyUnicode_FSConverter(path, &pathb))
        return -1;
    /* The handle keeps these options: every append through it waits as the open does. */
    lock_wait_init(&w, timeout_ms);
    lock_opts_init(&opts, flags, 0, &w);
    do {
        Py_BEGIN_ALLOW_THREADS
        r = ajio_log_open(&log, PyBytes_AS_STRING(pathb), &opts);
        Py_END_ALLOW_THREADS
    } while ((again = lock_wait_again(r, &opts, &w)) > 0);
    Py_DECREF(pathb);
    if (again < 0)
        return -1;
    if (r < 0) {
        set_error(st, r, path);
        return -1;
    }
    if (r == AJIO_REPAIRED) {
        self->repair = PyUnicode_DecodeFSDefault(ajio_last_error());
        if (!self->repair) {
            (void)ajio_log_close(log);
            return -1;
        }
    }
    self->log = log;
    self->path = Py_NewRef(path);
    self->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
    return 0;
}

/* The append() calls under way in this process (all under the GIL). */
static unsigned long Log_appends(LogObject *self)
{
    return self->appends_gen == ajpy_fork_gen ? self->appends : 0;
}

/* append(records, encoder, chunk) -> (count, repair message or None) */
static PyObject *Log_append(LogObject *self, PyObject *args)
{
    ajpy_state *st = obj_state((PyObject *)self);
    PyObject *records, *res;
    EncoderObject *enc;
    Py_ssize_t chunk;

    if (!PyArg_ParseTuple(args, "OO!n:append", &records, st->Encoder, &enc, &chunk))
        return NULL;
    /* Other threads' appends do not make the log busy: only a closed log is refused. */
    if (!self->log) {
        PyErr_SetString(PyExc_ValueError, "the log is closed");
        return NULL;
    }
    self->appends = Log_appends(self) + 1;
    self->appends_gen = ajpy_fork_gen;
    res = append_records(st, self->path, NULL, self->log, records, 0, self->timeout_ms, enc->enc,
                         chunk);
    /* In a child forked during the call (from its iterator) the generation is new, and the
     * count restarted without this call. */
    if (self->appends_gen == ajpy_fork_gen)
        self->appends--;
    return res;
}

static PyObject *Log_close(LogObject *self, PyObject *unused)
{
    ajpy_state *st = obj_state((PyObject *)self);
    ajio_log *log = self->log;
    int r;

    (void)unused;
    /*
     * Not under an append: its records point into the handle's queue, and the thread may be in
     * the records' iterator, in this very thread too (a generator that closes the log), where
     * waiting for it would never end. The caller closes once its appenders have returned.
     */
    if (Log_appends(self) > 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the log is in use by another thread: close it once its appends have "
                        "returned");
        return NULL;
    }
    self->log = NULL;
    r = ajio_log_close(log);
    if (r < 0)
        return set_error(st, r, self->path);
    Py_RETURN_NONE;
}

static PyObject *Log_get_repair(LogObject *self, void *closure)
{
    (void)closure;
    return Py_NewRef(self->repair ? self->repair : Py_None);
}

static PyMethodDef Log_methods[] = {
    {"append", (PyCFunction)Log_append, METH_VARARGS,
     "append(records, encoder, chunk) -> (count, repair message or None)"},
    {"close", (PyCFunction)Log_close, METH_NOARGS, "close(): close the file."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Log_getset[] = {
    {"repair", (getter)Log_get_repair, NULL,
     "What opening repaired (a torn last line), or None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Log_slots[] = {
    {Py_tp_dealloc, (void *)Log_dealloc},
    {Py_tp_traverse, (void *)Log_traverse},
    {Py_tp_clear, (void *)Log_clear},
    {Py_tp_doc, (void *)"Log(path, flags, timeout_ms): ajio_log, an append handle opened once."},
    {Py_tp_methods, Log_methods},
    {Py_tp_getset, Log_getset},
    {Py_tp_init, (void *)Log_init},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL},
};

static PyType_Spec Log_spec = {
    .name = "atomic_json_io._ajio.Log",
    .basicsize = sizeof(LogObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Log_slots,
};

/* ---- Reader: lines of a JSON Lines file (ajio_reader) ----------------------------------------- */

typedef struct {
    PyObject_HEAD
    ajio_reader *rd;
    PyObject *path;
    PyObject *loads; /* NULL: hand out the lines as bytes */
    PyObject *error; /* NULL: an invalid line is a ValueError, else error(message, line, lineno) */
    unsigned long long line;
    unsigned long long torn;
    PyObject *torn_message;
    /* a read runs with the GIL released: another thread must not use rd meanwhile */
    unsigned long busy;
} ReaderObject;

static int Reader_traverse(ReaderObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->path);
    Py_VISIT(self->loads);
    Py_VISIT(self->error);
    Py_VISIT(self->torn_message);
    return 0;
}

static int Reader_clear(ReaderObject *self)
{
    Py_CLEAR(self->path);
    Py_CLEAR(self->loads);
    Py_CLEAR(self->error);
    Py_CLEAR(self->torn_message);
    return 0;
}

static void Reader_dealloc(ReaderObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    ajio_reader_close(self->rd);
    Py_XDECREF(self->path);
    Py_XDECREF(self->loads);
    Py_XDECREF(self->error);
    Py_XDECREF(self->torn_message);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int Reader_init(ReaderObject *self, PyObject *args, PyObject *kwds)
{
    ajpy_state *st = obj_state((PyObject *)self);
    PyObject *path, *loads, *error = Py_None, *pathb = NULL;
    ajio_reader *rd;
    unsigned flags;
    int r;

    if ((kwds && PyDict_GET_SIZE(kwds) > 0) || self->rd || self->path) {
        PyErr_SetString(PyExc_TypeError,
                        "Reader(path, flags, loads[, error]) once, positional only");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "OIO|O:Reader", &path, &flags, &loads, &error))
        return -1;
    if (!PyUnicode_FSConverter(path, &pathb))
        return -1;
    Py_BEGIN_ALLOW_THREADS
    r = ajio_reader_open(&rd, PyBytes_AS_STRING(pathb), &(ajio_opts){.flags = flags});
    Py_END_ALLOW_THREADS
    Py_DECREF(pathb);
    if (r < 0) {
        set_error(st, r, path);
        return -1;
    }
    self->rd = rd;
    self->path = Py_NewRef(path);
    self->loads = loads == Py_None ? NULL : Py_NewRef(loads);
    self->error = error == Py_None ? NULL : Py_NewRef(error);
    return 0;
}

/*
 * The exception for an invalid line: error(message, line, lineno), message being libajio's
 * "PATH:LINE:COL: reason" and line the bytes of the line (JSONLDecodeError, see __init__.py).
 */
static PyObject *reader_error(ReaderObject *self, const char *line, size_t len)
{
    PyObject *exc;

    exc = PyObject_CallFunction(self->error, "Ny#K", PyUnicode_DecodeFSDefault(ajio_last_error()),
                                line, (Py_ssize_t)len, self->line);
    if (!exc)
        return NULL;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

static PyObject *Reader_next(ReaderObject *self)
{
    ajpy_state *st = obj_state((PyObject *)self);
    const char *line;
    size_t len;
    PyObject *text, *value;
    int r;

    if (AJPY_BUSY(self->busy)) {
        PyErr_SetString(PyExc_RuntimeError, "the reader is in use by another thread");
        return NULL;
    }
    if (!self->rd)
        return NULL;
    self->busy = ajpy_fork_gen;
    Py_BEGIN_ALLOW_THREADS
    r = ajio_reader_next(self->rd, &line, &len);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    self->line = ajio_reader_line(self->rd);
    if (r == 0) {
        self->torn = ajio_reader_torn(self->rd);
        if (self->torn)
            Py_XSETREF(self->torn_message, PyUnicode_DecodeFSDefault(ajio_last_error()));
        ajio_reader_close(self->rd);
        self->rd = NULL;
        return NULL; /* StopIteration */
    }
    if (r == AJIO_EJSON && self->error)
        return reader_error(self, line, len);
    if (r < 0) {
        /* AJIO_EJSON: the message names the path, line and column; iteration may go on. */
        return set_error(st, r, self->path);
    }
    if (!self->loads)
        return PyBytes_FromStringAndSize(line, (Py_ssize_t)len);
    text = PyBytes_FromStringAndSize(line, (Py_ssize_t)len);
    if (!text)
        return NULL;
    value = PyObject_CallOneArg(self->loads, text);
    Py_DECREF(text);
    return value;
}

static PyObject *Reader_close(ReaderObject *self, PyObject *unused)
{
    (void)unused;
    if (AJPY_BUSY(self->busy)) {
        PyErr_SetString(PyExc_RuntimeError, "the reader is in use by another thread");
        return NULL;
    }
    ajio_reader_close(self->rd);
    self->rd = NULL;
    Py_RETURN_NONE;
}

static PyObject *Reader_get_line(ReaderObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLongLong(self->line);
}

static PyObject *Reader_get_torn(ReaderObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLongLong(self->torn);
}

static PyObject *Reader_get_torn_message(ReaderObject *self, void *closure)
{
    (void)closure;
    return Py_NewRef(self->torn_message ? self->torn_message : Py_None);
}

static PyMethodDef Reader_methods[] = {
    {"close", (PyCFunction)Reader_close, METH_NOARGS, "close(): release the file."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Reader_getset[] = {
    {"line", (getter)Reader_get_line, NULL, "1-based number of the line last read.", NULL},
    {"torn", (getter)Reader_get_torn, NULL,
     "At the end: bytes of a torn last line (no newline) that were skipped, else 0.", NULL},
    {"torn_message", (getter)Reader_get_torn_message, NULL,
     "At the end: libajio's description of the skipped torn line, or None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Reader_slots[] = {
    {Py_tp_dealloc, (void *)Reader_dealloc},
    {Py_tp_traverse, (void *)Reader_traverse},
    {Py_tp_clear, (void *)Reader_clear},
    {Py_tp_doc,
     (void *)"Reader(path, flags, loads[, error]): iterator over the complete lines of a file."},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, (void *)Reader_next},
    {Py_tp_methods, Reader_methods},
    {Py_tp_getset, Reader_getset},
    {Py_tp_init, (void *)Reader_init},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL},
};

static PyType_Spec Reader_spec = {
    .name = "atomic_json_io._ajio.Reader",
    .basicsize = sizeof(ReaderObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Reader_slots,
};

/* ---- Batch: many files, syncs amortised (ajio_batch) ------------------------------------------ */

typedef struct {
    PyObject_HEAD
    ajio_batch *b;
    PyObject *paths; /* the path objects as given, for the exceptions' filename */
    int committed;
    unsigned long busy; /* the commit runs with the GIL released */
} BatchObject;

static int Batch_traverse(BatchObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->paths);
    return 0;
}

static int Batch_clear(BatchObject *self)
{
    Py_CLEAR(self->paths);
    return 0;
}

static void Batch_dealloc(BatchObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    ajio_batch_free(self->b); /* an uncommitted batch writes nothing */
    Py_XDECREF(self->paths);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int Batch_init(BatchObject *self, PyObject *args, PyObject *kwds)
{
    ajpy_state *st = obj_state((PyObject *)self);
    unsigned flags, mode;
    ajio_opts opts;
    ajio_batch *b;
    int r;

    if ((kwds && PyDict_GET_SIZE(kwds) > 0) || self->b) {
        PyErr_SetString(PyExc_TypeError, "Batch(flags, mode) once, positional only");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "II:Batch", &flags, &mode))
        return -1;
    opts_init(&opts, flags, mode);
    r = ajio_batch_new(&b, &opts);
    if (r < 0) {
        set_error(st, r, NULL);
        return -1;
    }
    self->paths = PyList_New(0);
    if (!self->paths) {
        ajio_batch_free(b);
        return -1;
    }
    self->b = b;
    return 0;
}

static int Batch_check(BatchObject *self)
{
    if (!self->b || self->committed) {
        PyErr_SetString(PyExc_ValueError, "the batch is committed or discarded");
        return -1;
    }
    return 0;
}

/* add(path, data): data is bytes-like, or str (UTF-8); both are copied by the library. */
static PyObject *Batch_add(BatchObject *self, PyObject *args)
{
    ajpy_state *st = obj_state((PyObject *)self);
    PyObject *path, *data, *pathb = NULL;
    Py_buffer buf = {0};
    const char *s;
    Py_ssize_t len;
    int r;

    if (!PyArg_ParseTuple(args, "OO:add", &path, &data) || Batch_check(self) < 0)
        return NULL;
    if (PyUnicode_Check(data)) {
        s = PyUnicode_AsUTF8AndSize(data, &len);
        if (!s)
            return NULL;
    } else {
        if (PyObject_GetBuffer(data, &buf, PyBUF_SIMPLE) < 0)
            return NULL;
        s = buf.buf;
        len = buf.len;
    }
    if (!PyUnicode_FSConverter(path, &pathb)) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    r = ajio_batch_add(self->b, PyBytes_AS_STRING(pathb), s, (size_t)len);
    Py_DECREF(pathb);
    PyBuffer_Release(&buf);
    if (r < 0)
        return set_error(st, r, path);
    if (PyList_Append(self->paths, path) < 0)
        return NULL; /* the batch holds one more file than paths: discard it */
    Py_RETURN_NONE;
}

/* commit(): every file; raises for the first that was not written durably. */
static PyObject *Batch_commit(BatchObject *self, PyObject *unused)
{
    ajpy_state *st = obj_state((PyObject *)self);
    size_t i, n;
    int r;

    (void)unused;
    if (Batch_check(self) < 0)
        return NULL;
    if ((size_t)PyList_GET_SIZE(self->paths) != ajio_batch_count(self->b)) {
        PyErr_SetString(PyExc_RuntimeError, "the batch lost track of a file: not committed");
        return NULL;
    }
    self->committed = 1;
    self->busy = ajpy_fork_gen;
    Py_BEGIN_ALLOW_THREADS
    r = ajio_batch_commit(self->b);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    if (r >= 0)
        Py_RETURN_NONE;
    n = ajio_batch_count(self->b);
    for (i = 0; i < n; i++) {
        const char *msg;
        int fr = ajio_batch_result(self->b, i, NULL, &msg);
        if (fr < 0)
            return set_error_msg(st, fr, msg, PyList_GET_ITEM(self->paths, (Py_ssize_t)i));
    }
    return set_error(st, r, NULL);
}

/* results() -> [(path, None or exception)] after the commit, in the order added. */
static PyObject *Batch_results(BatchObject *self, PyObject *unused)
{
    ajpy_state *st = obj_state((PyObject *)self);
    PyObject *list, *item, *exc, *type, *value, *tb;
    size_t i, n;

    (void)unused;
    if (!self->b || !self->committed || AJPY_BUSY(self->busy)) {
        PyErr_SetString(PyExc_ValueError, "the batch is not committed");
        return NULL;
    }
    n = ajio_batch_count(self->b);
    list = PyList_New((Py_ssize_t)n);
    if (!list)
        return NULL;
    for (i = 0; i < n; i++) {
        const char *msg;
        int fr = ajio_batch_result(self->b, i, NULL, &msg);
        PyObject *path = PyList_GET_ITEM(self->paths, (Py_ssize_t)i);
        if (fr >= 0) {
            exc = Py_NewRef(Py_None);
        } else {
            set_error_msg(st, fr, msg, path);
            PyErr_Fetch(&type, &value, &tb);
            PyErr_NormalizeException(&type, &value, &tb);
            Py_XDECREF(type);
            Py_XDECREF(tb);
            if (!value) {
                Py_DECREF(list);
                return NULL;
            }
            exc = value;
        }
        item = PyTuple_Pack(2, path, exc);
        Py_DECREF(exc);
        if (!item) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    return list;
}

static Py_ssize_t Batch_len(BatchObject *self)
{
    /* Counted on the Python side, which the commit does not touch. */
    return self->paths ? PyList_GET_SIZE(self->paths) : 0;
}

static PyMethodDef Batch_methods[] = {
    {"add", (PyCFunction)Batch_add, METH_VARARGS, "add(path, data): queue a file."},
    {"commit", (PyCFunction)Batch_commit, METH_NOARGS,
     "commit(): write every file; raises for the first one not written durably."},
    {"results", (PyCFunction)Batch_results, METH_NOARGS,
     "results() -> [(path, None or the exception)] after commit()."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Batch_slots[] = {
    {Py_tp_dealloc, (void *)Batch_dealloc},
    {Py_tp_traverse, (void *)Batch_traverse},
    {Py_tp_clear, (void *)Batch_clear},
    {Py_tp_doc, (void *)"Batch(flags, mode): ajio_batch; files written at commit()."},
    {Py_tp_methods, Batch_methods},
    {Py_sq_length, (void *)Batch_len},
    {Py_tp_init, (void *)Batch_init},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL},
};

static PyType_Spec Batch_spec = {
    .name = "atomic_json_io._ajio.Batch",
    .basicsize = sizeof(BatchObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Batch_slots,
};

/* ---- Txn: many files all or nothing (ajio_txn) ------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    ajio_txn *t;
    PyObject *dir; /* the directory as given, for the exceptions' filename */
    int committed;
    unsigned long busy; /* the commit runs with the GIL released */
} TxnObject;

static int Txn_traverse(TxnObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->dir);
    return 0;
}

static int Txn_clear(TxnObject *self)
{
    Py_CLEAR(self->dir);
    return 0;
}

static void Txn_dealloc(TxnObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    ajio_txn_free(self->t); /* an uncommitted transaction writes nothing */
    Py_XDECREF(self->dir);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* Txn(dir, flags, mode): opens dir (created unless AJIO_NO_MKDIR); nothing is locked yet. */
static int Txn_init(TxnObject *self, PyObject *args, PyObject *kwds)
{
    ajpy_state *st = obj_state((PyObject *)self);
    PyObject *dir, *dirb = NULL;
    unsigned flags, mode;
    ajio_opts opts;
    ajio_txn *t;
    int r;

    if ((kwds && PyDict_GET_SIZE(kwds) > 0) || self->t || self->committed) {
        PyErr_SetString(PyExc_TypeError, "Txn(dir, flags, mode) once, positional only");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "OII:Txn", &dir, &flags, &mode))
        return -1;
    if (!PyUnicode_FSConverter(dir, &dirb))
        return -1;
    /* The waits for the locks (at the commit) end on a signal: see Txn_commit. */
    opts_init(&opts, flags | AJIO_INTERRUPTIBLE, mode);
    Py_BEGIN_ALLOW_THREADS
    r = ajio_txn_begin(&t, PyBytes_AS_STRING(dirb), &opts);
    Py_END_ALLOW_THREADS
    Py_DECREF(dirb);
    if (r < 0) {
        set_error(st, r, dir);
        return -1;
    }
    Py_INCREF(dir);
    self->dir = dir;
    self->t = t;
    return 0;
}

static int Txn_check(TxnObject *self)
{
    if (AJPY_BUSY(self->busy)) {
        PyErr_SetString(PyExc_RuntimeError, "the transaction is in use by another thread");
        return -1;
    }
    if (!self->t || self->committed) {
        PyErr_SetString(PyExc_ValueError, "the transaction is committed or discarded");
        return -1;
    }
    return 0;
}

/* write(relpath, data): data is bytes-like, or str (UTF-8), copied by the library;
 * remove(relpath). A refused member (a bad path, twice the same) raises here. */
static PyObject *txn_add(TxnObject *self, PyObject *relpath, PyObject *data)
{
    ajpy_state *st = obj_state((PyObject *)self);
    PyObject *relb = NULL;
    Py_buffer buf = {0};
    const char *s = NULL;
    Py_ssize_t len = 0;
    int r;

    if (Txn_check(self) < 0)
        return NULL;
    if (data && PyUnicode_Check(data)) {
        s = PyUnicode_AsUTF8AndSize(data, &len);
        if (!s)
            return NULL;
    } else if (data) {
        if (PyObject_GetBuffer(data, &buf, PyBUF_SIMPLE) < 0)
            return NULL;
        s = buf.buf;
        len = buf.len;
    }
    if (!PyUnicode_FSConverter(relpath, &relb)) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    if (data)
        r = ajio_txn_write(self->t, PyBytes_AS_STRING(relb), s ? s : "", (size_t)len);
    else
        r = ajio_txn_remove(self->t, PyBytes_AS_STRING(relb));
    Py_DECREF(relb);
    PyBuffer_Release(&buf);
    if (r < 0)
        return set_error(st, r, relpath);
    Py_RETURN_NONE;
}

static PyObject *Txn_write(TxnObject *self, PyObject *args)
{
    PyObject *relpath, *data;

    if (!PyArg_ParseTuple(args, "OO:write", &relpath, &data))
        return NULL;
    return txn_add(self, relpath, data);
}

static PyObject *Txn_remove(TxnObject *self, PyObject *relpath)
{
    return txn_add(self, relpath, NULL);
}

/*
 * commit(): only once. A signal during the wait for the locks ends it with nothing changed: a
 * handler that raised raises here; one that returned gives InterruptedError, on which the
 * Python layer builds the transaction again and commits that (a commit cannot be repeated).
 */
static PyObject *Txn_commit(TxnObject *self, PyObject *unused)
{
    ajpy_state *st = obj_state((PyObject *)self);
    int r;

    (void)unused;
    if (Txn_check(self) < 0)
        return NULL;
    self->committed = 1;
    self->busy = ajpy_fork_gen;
    Py_BEGIN_ALLOW_THREADS
    r = ajio_txn_commit(self->t);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    if (r >= 0)
        Py_RETURN_NONE;
    if (r == -EINTR && PyErr_CheckSignals() < 0)
        return NULL;
    return set_error(st, r, self->dir);
}

static Py_ssize_t Txn_len(TxnObject *self)
{
    return self->t ? (Py_ssize_t)ajio_txn_count(self->t) : 0;
}

static PyMethodDef Txn_methods[] = {
    {"write", (PyCFunction)Txn_write, METH_VARARGS, "write(relpath, data): a member to replace."},
    {"remove", (PyCFunction)Txn_remove, METH_O, "remove(relpath): a member to remove."},
    {"commit", (PyCFunction)Txn_commit, METH_NOARGS,
     "commit(): every member or none; InterruptedError: build it again and commit that."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Txn_slots[] = {
    {Py_tp_dealloc, (void *)Txn_dealloc},
    {Py_tp_traverse, (void *)Txn_traverse},
    {Py_tp_clear, (void *)Txn_clear},
    {Py_tp_doc, (void *)"Txn(dir, flags, mode): ajio_txn; the members written at commit()."},
    {Py_tp_methods, Txn_methods},
    {Py_sq_length, (void *)Txn_len},
    {Py_tp_init, (void *)Txn_init},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL},
};

static PyType_Spec Txn_spec = {
    .name = "atomic_json_io._ajio.Txn",
    .basicsize = sizeof(TxnObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Txn_slots,
};

/* ---- recover(dir, flags) -> repaired ---------------------------------------------------------- */

static PyObject *py_recover(PyObject *self, PyObject *args)
{
    ajpy_state *st = mod_state(self);
    PyObject *dir, *dirb = NULL;
    unsigned flags;
    ajio_opts opts;
    int r, again;

    if (!PyArg_ParseTuple(args, "OI:recover", &dir, &flags))
        return NULL;
    if (!PyUnicode_FSConverter(dir, &dirb))
        return NULL;
    /* A recovery can be repeated: a signal during its wait for DIR's lock just waits again. */
    lock_opts_init(&opts, flags, 0, NULL);
    do {
        Py_BEGIN_ALLOW_THREADS
        r = ajio_recover(PyBytes_AS_STRING(dirb), &opts);
        Py_END_ALLOW_THREADS
    } while ((again = lock_wait_again(r, &opts, NULL)) > 0);
    Py_DECREF(dirb);
    if (again < 0)
        return NULL;
    if (r < 0)
        return set_error(st, r, dir);
    return PyBool_FromLong(r == AJIO_REPAIRED);
}

/* ---- publish(src_dir, name, flags), snapshot_gc(name, flags) -> removed ----------------------- */

static PyObject *py_publish(PyObject *self, PyObject *args)
{
    ajpy_state *st = mod_state(self);
    PyObject *src, *name, *srcb = NULL, *nameb = NULL;
    unsigned flags;
    ajio_opts opts;
    int r;

    if (!PyArg_ParseTuple(args, "OOI:publish", &src, &name, &flags))
        return NULL;
    if (!PyUnicode_FSConverter(src, &srcb))
        return NULL;
    if (!PyUnicode_FSConverter(name, &nameb)) {
        Py_DECREF(srcb);
        return NULL;
    }
    opts_init(&opts, flags, 0);
    Py_BEGIN_ALLOW_THREADS
    r = ajio_publish(PyBytes_AS_STRING(srcb), PyBytes_AS_STRING(nameb), &opts);
    Py_END_ALLOW_THREADS
    Py_DECREF(srcb);
    Py_DECREF(nameb);
    if (r < 0)
        return set_error(st, r, name);
    Py_RETURN_NONE;
}

static PyObject *py_snapshot_gc(PyObject *self, PyObject *args)
{
    ajpy_state *st = mod_state(self);
    PyObject *name, *nameb = NULL;
    unsigned flags;
    ajio_opts opts;
    int r;

    if (!PyArg_ParseTuple(args, "OI:snapshot_gc", &name, &flags))
        return NULL;
    if (!PyUnicode_FSConverter(name, &nameb))
        return NULL;
    opts_init(&opts, flags, 0);
    Py_BEGIN_ALLOW_THREADS
    r = ajio_snapshot_gc(PyBytes_AS_STRING(nameb), &opts);
    Py_END_ALLOW_THREADS
    Py_DECREF(nameb);
    if (r < 0)
        return set_error(st, r, name);
    return PyLong_FromLong(r);
}

/* ---- Snapshot(name): a generation held by the reader protocol (ajio_snapshot) ------------------ */

typedef struct {
    PyObject_HEAD
    ajio_snapshot *s;
} SnapshotObject;

/* Holds no Python object: not tracked by the collector. */
static void Snapshot_dealloc(SnapshotObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    ajio_snapshot_close(self->s);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* Waits (GIL released) for the generation's shared lock while a gc deletes it. */
static int Snapshot_init(SnapshotObject *self, PyObject *args, PyObject *kwds)
{
    ajpy_state *st = obj_state((PyObject *)self);
    PyObject *name, *nameb = NULL;
    ajio_snapshot *s;
    int r;

    if ((kwds && PyDict_GET_SIZE(kwds) > 0) || self->s) {
        PyErr_SetString(PyExc_TypeError, "Snapshot(name) once, positional only");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "O:Snapshot", &name))
        return -1;
    if (!PyUnicode_FSConverter(name, &nameb))
        return -1;
    Py_BEGIN_ALLOW_THREADS
    r = ajio_snapshot_open(&s, PyBytes_AS_STRING(nameb), NULL);
    Py_END_ALLOW_THREADS
    Py_DECREF(nameb);
    if (r < 0) {
        set_error(st, r, name);
        return -1;
    }
    self->s = s;
    return 0;
}

static PyObject *Snapshot_get_fd(SnapshotObject *self, void *closure)
{
    (void)closure;
    if (!self->s) {
        PyErr_SetString(PyExc_ValueError, "the snapshot is closed");
        return NULL;
    }
    return PyLong_FromLong(ajio_snapshot_fd(self->s));
}

static PyObject *Snapshot_close(SnapshotObject *self, PyObject *unused)
{
    (void)unused;
    ajio_snapshot_close(self->s); /* close(2) of a directory does not block */
    self->s = NULL;
    Py_RETURN_NONE;
}

static PyMethodDef Snapshot_methods[] = {
    {"close", (PyCFunction)Snapshot_close, METH_NOARGS,
     "close(): release the generation (a later publish or gc may remove it)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Snapshot_getset[] = {
    {"fd", (getter)Snapshot_get_fd, NULL, "the generation's directory descriptor", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Snapshot_slots[] = {
    {Py_tp_dealloc, (void *)Snapshot_dealloc},
    {Py_tp_doc,
     (void *)"Snapshot(name): ajio_snapshot_open(); the generation held until close()."},
    {Py_tp_methods, Snapshot_methods},
    {Py_tp_getset, Snapshot_getset},
    {Py_tp_init, (void *)Snapshot_init},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL},
};

static PyType_Spec Snapshot_spec = {
    .name = "atomic_json_io._ajio.Snapshot",
    .basicsize = sizeof(SnapshotObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Snapshot_slots,
};

/* ---- sweep(dir, name, min_age_sec, flags) -> removed ------------------------------------------ */

static PyObject *py_sweep(PyObject *self, PyObject *args)
{
    ajpy_state *st = mod_state(self);
    PyObject *dir, *name, *dirb = NULL, *nameb = NULL;
    unsigned min_age, flags;
    int r;

    if (!PyArg_ParseTuple(args, "OOII:sweep", &dir, &name, &min_age, &flags))
        return NULL;
    if (!PyUnicode_FSConverter(dir, &dirb))
        return NULL;
    if (name != Py_None && !PyUnicode_FSConverter(name, &nameb)) {
        Py_DECREF(dirb);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    r = ajio_sweep(PyBytes_AS_STRING(dirb), nameb ? PyBytes_AS_STRING(nameb) : NULL, min_age,
                   flags);
    Py_END_ALLOW_THREADS
    Py_DECREF(dirb);
    Py_XDECREF(nameb);
    if (r < 0)
        return set_error(st, r, dir);
    return PyLong_FromLong(r);
}

/* ---- Checker(lines): the streaming validator (ajio_json_checker) ------------------------------ */

/* For "python -m atomic_json_io check": the verdicts of "ajio check", file pieces fed in turn. */
typedef struct {
    PyObject_HEAD
    ajio_json_checker *c;
} CheckerObject;

/* Holds no Python object: not tracked by the collector. */
static void Checker_dealloc(CheckerObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    ajio_json_checker_free(self->c);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int Checker_init(CheckerObject *self, PyObject *args, PyObject *kwds)
{
    ajpy_state *st = obj_state((PyObject *)self);
    ajio_json_checker *c;
    int lines, r;

    if ((kwds && PyDict_GET_SIZE(kwds) > 0) || self->c) {
        PyErr_SetString(PyExc_TypeError, "Checker(lines) once, positional only");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "p:Checker", &lines))
        return -1;
    r = ajio_json_checker_new(&c, lines ? AJIO_JSONL : 0, 0);
    if (r < 0) {
        set_error(st, r, NULL);
        return -1;
    }
    self->c = c;
    return 0;
}

static int Checker_check(CheckerObject *self)
{
    if (!self->c) {
        PyErr_SetString(PyExc_ValueError, "the checker is not initialised");
        return -1;
    }
    return 0;
}

/* feed(data) -> False once the input is invalid (every later feed says so too). */
static PyObject *Checker_feed(CheckerObject *self, PyObject *arg)
{
    ajpy_state *st = obj_state((PyObject *)self);
    Py_buffer data;
    int r;

    if (Checker_check(self) < 0 || PyObject_GetBuffer(arg, &data, PyBUF_SIMPLE) < 0)
        return NULL;
    r = ajio_json_checker_feed(self->c, data.buf, (size_t)data.len);
    PyBuffer_Release(&data);
    if (r < 0 && r != AJIO_EJSON)
        return set_error(st, r, NULL);
    return PyBool_FromLong(r == 0);
}

/* finish() -> None when valid, else (line, column, reason, torn): ajio_json_error's. */
static PyObject *Checker_finish(CheckerObject *self, PyObject *unused)
{
    ajpy_state *st = obj_state((PyObject *)self);
    ajio_json_error e;
    int r;

    (void)unused;
    if (Checker_check(self) < 0)
        return NULL;
    r = ajio_json_checker_finish(self->c);
    if (r == 0)
        Py_RETURN_NONE;
    if ((r != AJIO_EJSON && r != AJIO_ETORN) || ajio_json_checker_error(self->c, &e) < 0)
        return set_error(st, r, NULL);
    return Py_BuildValue("KKsO", (unsigned long long)e.line, (unsigned long long)e.column,
                         e.reason, r == AJIO_ETORN ? Py_True : Py_False);
}

static PyObject *Checker_get_count(CheckerObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLongLong(ajio_json_checker_count(self->c));
}

static PyMethodDef Checker_methods[] = {
    {"feed", (PyCFunction)Checker_feed, METH_O, "feed(data) -> False once invalid."},
    {"finish", (PyCFunction)Checker_finish, METH_NOARGS,
     "finish() -> None, or (line, column, reason, torn)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Checker_getset[] = {
    {"count", (getter)Checker_get_count, NULL, "complete values (JSONL: lines) seen so far",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Checker_slots[] = {
    {Py_tp_dealloc, (void *)Checker_dealloc},
    {Py_tp_doc,
     (void *)"Checker(lines): strict RFC 8259 validation of one JSON value, or JSON Lines."},
    {Py_tp_methods, Checker_methods},
    {Py_tp_getset, Checker_getset},
    {Py_tp_init, (void *)Checker_init},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL},
};

static PyType_Spec Checker_spec = {
    .name = "atomic_json_io._ajio.Checker",
    .basicsize = sizeof(CheckerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Checker_slots,
};

/* ---- module ----------------------------------------------------------------------------------- */

/* dumps(obj, **kw) -> str: encode.c's, with the json.dumps of this module's state. */
static PyObject *py_dumps(PyObject *self, PyObject *args, PyObject *kwargs)
{
    return ajpy_dumps(mod_state(self)->json_dumps, args, kwargs);
}

static PyMethodDef methods[] = {
    {"write_bytes", py_write_bytes, METH_VARARGS,
     "write_bytes(path, data, flags, mode) -> unchanged"},
    {"write_text", py_write_text, METH_VARARGS,
     "write_text(path, text, flags, mode) -> unchanged ('\\n' ensured)"},
    {"make_encoder", py_make_encoder, METH_VARARGS,
     "make_encoder(kwargs, lines) -> Encoder, or None: use the json module"},
    {"_encoder_options", py_encoder_options, METH_VARARGS,
     "_encoder_options(kwargs, lines) -> the parsed options, or None: use the json module (tests)"},
    {"write_json", py_write_json, METH_VARARGS,
     "write_json(path, obj, flags, mode, encoder, lines) -> unchanged"},
    {"update", py_update, METH_VARARGS,
     "update(path, step, flags, mode, timeout_ms, encoder) -> new value"},
    {"append", py_append, METH_VARARGS,
     "append(path, data, flags, timeout_ms) -> the repair message, or None"},
    {"append_records", py_append_records, METH_VARARGS,
     "append_records(path, records, flags, encoder, chunk, timeout_ms) -> (count, repair or None)"},
    {"sweep", py_sweep, METH_VARARGS, "sweep(dir, name, min_age_sec, flags) -> removed"},
    {"recover", py_recover, METH_VARARGS, "recover(dir, flags) -> repaired"},
    {"publish", py_publish, METH_VARARGS, "publish(src_dir, name, flags)"},
    {"snapshot_gc", py_snapshot_gc, METH_VARARGS, "snapshot_gc(name, flags) -> removed"},
    {"_after_fork_child", py_after_fork_child, METH_NOARGS,
     "_after_fork_child(): for os.register_at_fork(after_in_child=...) only"},
    {"_gil_offers", py_gil_offers, METH_O,
     "_gil_offers(enabled) -> previous: long encodes offer the GIL to other threads (tests only)"},
    {"dumps", (PyCFunction)(void (*)(void))py_dumps, METH_VARARGS | METH_KEYWORDS,
     "dumps(obj, **kw) -> str, as json.dumps(obj, **kw)"},
    {NULL, NULL, 0, NULL},
};

static int module_traverse(PyObject *m, visitproc visit, void *arg)
{
    ajpy_state *st = mod_state(m);

    Py_VISIT(st->NotDurableError);
    Py_VISIT(st->json_dumps);
    Py_VISIT(st->Encoder);
    Py_VISIT(st->File);
    Py_VISIT(st->Log);
    Py_VISIT(st->Reader);
    Py_VISIT(st->Batch);
    Py_VISIT(st->Txn);
    Py_VISIT(st->Snapshot);
    Py_VISIT(st->Checker);
    return 0;
}

static int module_clear(PyObject *m)
{
    ajpy_state *st = mod_state(m);

    Py_CLEAR(st->NotDurableError);
    Py_CLEAR(st->json_dumps);
    Py_CLEAR(st->Encoder);
    Py_CLEAR(st->File);
    Py_CLEAR(st->Log);
    Py_CLEAR(st->Reader);
    Py_CLEAR(st->Batch);
    Py_CLEAR(st->Txn);
    Py_CLEAR(st->Snapshot);
    Py_CLEAR(st->Checker);
    return 0;
}

static void module_free(void *m)
{
    (void)module_clear((PyObject *)m);
}

static int module_exec(PyObject *m);

/*
 * All the Python objects are per module, but the module also has process-wide C state: the fork
 * generation (ajpy_fork_gen), which is right to share (a fork copies every interpreter) and is
 * only ever bumped, and the tests' switch ajpy_gil_offers. Neither refers to an object of any
 * interpreter, so the module can run in interpreters with a GIL of their own.
 */
static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)module_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "atomic_json_io._ajio",
    .m_doc = "libajio's file operations; use the atomic_json_io package.",
    .m_size = sizeof(ajpy_state),
    .m_methods = methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

static int add_int(PyObject *m, const char *name, long v)
{
    return PyModule_AddIntConstant(m, name, v);
}

/* A type of the module from its spec, kept in the state (*ret) and added to the module. */
static int add_type(PyObject *m, PyType_Spec *spec, PyTypeObject **ret)
{
    *ret = (PyTypeObject *)PyType_FromModuleAndSpec(m, spec, NULL);
    if (!*ret)
        return -1;
    return PyModule_AddType(m, *ret);
}

/* Fills a new module object: its state, its types and constants. On failure the state holds
 * what was made so far, which module_clear / module_free release with the module. */
static int module_exec(PyObject *m)
{
    ajpy_state *st = mod_state(m);
    PyObject *json = PyImport_ImportModule("json");

    if (!json)
        return -1;
    st->json_dumps = PyObject_GetAttrString(json, "dumps");
    Py_DECREF(json);
    if (!st->json_dumps)
        return -1;
    st->NotDurableError = PyErr_NewExceptionWithDoc(
        "atomic_json_io.NotDurableError",
        "The target was replaced (readers see the new content), but the final sync of its "
        "directory failed: the new name may not survive a power cut. Retry the write for "
        "durability.",
        PyExc_OSError, NULL);
    if (!st->NotDurableError ||
        PyModule_AddObjectRef(m, "NotDurableError", st->NotDurableError) < 0 ||
        add_type(m, &Encoder_spec, &st->Encoder) < 0 || add_type(m, &File_spec, &st->File) < 0 ||
        add_type(m, &Reader_spec, &st->Reader) < 0 || add_type(m, &Batch_spec, &st->Batch) < 0 ||
        add_type(m, &Log_spec, &st->Log) < 0 || add_type(m, &Txn_spec, &st->Txn) < 0 ||
        add_type(m, &Snapshot_spec, &st->Snapshot) < 0 ||
        add_type(m, &Checker_spec, &st->Checker) < 0 ||
        add_int(m, "PUBLISH_MOVE", AJIO_PUBLISH_MOVE) < 0 ||
        add_int(m, "SYNC_EACH", AJIO_SYNC_EACH) < 0 ||
        add_int(m, "NO_SYNC", AJIO_NO_SYNC) < 0 || add_int(m, "NO_MKDIR", AJIO_NO_MKDIR) < 0 ||
        add_int(m, "REPLACE_LINK", AJIO_REPLACE_LINK) < 0 ||
        add_int(m, "NO_FOLLOW", AJIO_NO_FOLLOW) < 0 ||
        add_int(m, "CREATE_ONLY", AJIO_CREATE_ONLY) < 0 ||
        add_int(m, "SKIP_UNCHANGED", AJIO_SKIP_UNCHANGED) < 0 ||
        add_int(m, "MODE", AJIO_MODE) < 0 || add_int(m, "JSON", AJIO_JSON) < 0 ||
        add_int(m, "JSONL", AJIO_JSONL) < 0 || add_int(m, "LOCK", AJIO_LOCK) < 0 ||
        add_int(m, "NO_REPAIR", AJIO_NO_REPAIR) < 0 ||
        add_int(m, "NO_TMPFILE", AJIO_NO_TMPFILE) < 0 ||
        add_int(m, "INTERRUPTIBLE", AJIO_INTERRUPTIBLE) < 0 ||
        PyModule_AddStringConstant(m, "LIBAJIO_VERSION", ajio_version()) < 0)
        return -1;
    return 0;
}

/* Multi-phase initialisation (PEP 489): the import system creates the module object and runs
 * module_exec on it, once per module object, so each interpreter (and each module made with
 * importlib.util.module_from_spec) gets a state and types of its own. */
PyMODINIT_FUNC PyInit__ajio(void)
{
    return PyModuleDef_Init(&module);
}

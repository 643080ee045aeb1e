/*
 * gil.c - the GIL offered once per switch interval of encoding (gil.h).
 */
#include "gil.h"

#include <time.h>

/*
 * How long an offer waits for a thread woken by the release to take the GIL, while the offers
 * are taken: a wake-up on this 2-vCPU virtual machine takes tens of microseconds. With it two
 * busy threads take turns of one switch interval each, as two Python threads do; without it the
 * waiter got the GIL only at every other offer. Not paid once an offer found no taker.
 */
#define PAUSE_NS 50000

/* Getting the GIL back took this long: another thread had it. */
#define TAKEN_NS 200000

int ajpy_gil_offers = 1;

static int64_t mono_ns(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* sys.getswitchinterval() in ns (5 ms if it cannot be read or is a second or more), leaving
 * any exception as it was: read once per pace, which starts only for output of two windows or
 * more. */
static int64_t switch_interval_ns(void)
{
    PyObject *type, *value, *tb, *fn, *r;
    double s = 0.005;

    PyErr_Fetch(&type, &value, &tb);
    fn = PySys_GetObject("getswitchinterval");
    r = fn != NULL ? PyObject_CallNoArgs(fn) : NULL;
    if (r != NULL && PyFloat_Check(r) && PyFloat_AS_DOUBLE(r) > 0 && PyFloat_AS_DOUBLE(r) < 1)
        s = PyFloat_AS_DOUBLE(r);
    Py_XDECREF(r);
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
    return (int64_t)(s * 1e9);
}

int ajpy_pace_due(ajpy_pace *p)
{
    if (!ajpy_gil_offers)
        return 0;
    if (p->due > 0)
        return mono_ns() >= p->due;
    if (p->due == 0) {
        p->due = -1;
        return 0;
    }
    p->interval = switch_interval_ns();
    p->due = mono_ns() + p->interval;
    return 0;
}

PyThreadState *ajpy_pace_release(ajpy_pace *p)
{
    p->released = mono_ns();
    return PyEval_SaveThread();
}

void ajpy_pace_reacquire(ajpy_pace *p, PyThreadState *ts)
{
    int64_t t = mono_ns(), now;

    if (!p->quiet && t - p->released < PAUSE_NS) {
        struct timespec pause = {0, (long)(PAUSE_NS - (t - p->released))};
        (void)nanosleep(&pause, NULL);
        t = mono_ns();
    }
    PyEval_RestoreThread(ts);
    now = mono_ns();
    p->quiet = now - t < TAKEN_NS;
    if (p->interval == 0)
        p->interval = switch_interval_ns();
    p->due = now + (p->quiet ? p->interval + p->interval / 2 : p->interval);
}

void ajpy_pace_point(ajpy_pace *p)
{
    if (ajpy_pace_due(p))
        ajpy_pace_reacquire(p, ajpy_pace_release(p));
}

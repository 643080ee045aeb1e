/*
 * Other threads keep running while the encoder works. CPython's eval loop hands the GIL to a
 * thread that has waited a switch interval (sys.getswitchinterval(), 5 ms): the waiter asks for
 * it (a drop request) and the holder lets go at its next bytecode and waits until the waiter has
 * it. C code that holds the GIL never sees the request; encoding a large document would keep
 * every other thread out for all of its length. So the encoder's output paths (the sinks of
 * its generators) offer the GIL once per switch interval of encoding, at a 64 KiB window: the
 * file writes do their write() without it, dumps() and the appends just let go and take it back.
 *
 * Letting go and taking it back at once does not hand it over by itself (Python/ceval_gil.h):
 * a waiter takes it only if it has asked for it already, and the holder then waits for the
 * switch; one that has not asked is woken by the release, finds the GIL taken again and starts
 * its wait of a switch interval over. Offers more frequent than the switch interval starve a
 * waiter that way (measured: offers every 1 ms let a busy thread run 2% of the time), and offers
 * exactly one interval apart race its wait, and could lose for a whole 72 MiB document. Hence:
 * while the offers are taken (another thread wants the GIL), each comes a switch interval after
 * the GIL was taken back and pauses briefly (PAUSE_NS in gil.c), long enough for the woken
 * waiter to take it; after an offer that no thread took, the next one comes an interval and a
 * half later, without a pause: a waiter woken by the last offer has asked for the GIL by then
 * (unless its wake-up took half an interval), and the release hands it over. Without another
 * thread, offers cost a clock read per window and two uncontended lock operations per 1.5
 * intervals.
 */
#ifndef AJPY_GIL_H
#define AJPY_GIL_H

#include <Python.h>
#include <stdint.h>

typedef struct ajpy_pace {
    int64_t due;      /* CLOCK_MONOTONIC ns of the next offer; 0: not started; -1: armed */
    int64_t interval; /* the switch interval, ns */
    int64_t released; /* when the GIL was let go of (ajpy_pace_release) */
    int quiet;        /* the last offer found no taker */
} ajpy_pace;

/* A pace starts zeroed ({0}): its clock starts at its second window, so that output of one
 * window (most documents) costs no clock read. */

/* 0: no offers at all, for the negative control of the tests (_ajio._gil_offers()). */
extern int ajpy_gil_offers;

/* 1 when the GIL is to be offered now, with the GIL held. */
int ajpy_pace_due(ajpy_pace *p);

/* An offer: the GIL let go of. The caller may do work that touches no Python object, then calls
 * ajpy_pace_reacquire(), which starts the next interval. */
PyThreadState *ajpy_pace_release(ajpy_pace *p);
void ajpy_pace_reacquire(ajpy_pace *p, PyThreadState *ts);

/* At a window of output with nothing to do without the GIL: an offer when one is due. */
void ajpy_pace_point(ajpy_pace *p);

#endif /* AJPY_GIL_H */

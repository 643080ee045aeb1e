/*
 * slowsync.h - the state of the slow-sync model (bench/slowsync.c), shared by every process that
 * syncs on the modelled device, and read by its self-check (bench/slowsync_check.c) for the
 * counts. The layout is the contract between the two: a file in /dev/shm holds one of these.
 */
#ifndef AJIO_SLOWSYNC_H
#define AJIO_SLOWSYNC_H

#include <pthread.h>
#include <stdint.h>

#define SLOWSYNC_MAGIC 0x736c6f7773796e63ULL /* written last: the mutex is ready */

struct slowsync_state {
    uint64_t magic;
    pthread_mutex_t mu; /* process-shared and robust: a process killed in it does not wedge all */
    int64_t start_ns;   /* CLOCK_MONOTONIC start of the latest flush scheduled; it ends L later */
    uint64_t flushes;   /* flushes scheduled since the file was made */
    uint64_t syncs;     /* calls charged: each covered by one of those flushes */
};

#endif

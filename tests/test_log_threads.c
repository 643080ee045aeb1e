/*
 * test_log_threads.c - one log handle shared by many threads (ajio_log_append(), "Threads"):
 * every record acknowledged is in the file exactly once, whole, each thread's in its order;
 * the appends are combined (on a disk, at most one fdatasync per two records); a record that is
 * not JSON fails alone; a sync that fails fails every record of its batch, and none of them
 * stays in the file; a repair before a batch is reported to each of its appenders; a close
 * during appends is refused; a fork while threads append leaves the child a handle it can use.
 *
 * The syncs are seen through fdatasync(), defined here: the static libajio linked into this
 * program calls it instead of libc's. It counts the calls on the log file, and on request fails
 * one, sleeps in one or holds one until the test lets it go.
 *
 * Negative controls: the checker that judges every run is run first on planted files (a record
 * missing, one twice, two out of order, one altered, one reported failed but present) and must
 * name each; the fork test is run once with a raw clone(2), which skips the library's
 * pthread_atfork() handlers, and must then see the child hang on the queue it inherited.
 */
#include "testutil.h"

#include "internal.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#define TMPFS_MAGIC 0x01021994
#define FUSE_MAGIC 0x65735546

#define MAX_T 16   /* writers: threads of this process, then those of forked children */
#define MAX_I 4000 /* records per writer */
#define MSGS 16    /* messages kept: of a writer's first records */
#define RECORD 200

/* ---- the fdatasync hook ---------------------------------------------------------------------- */

static struct {
    dev_t dev;
    ino_t ino;
    atomic_int watching;
    atomic_int syncs; /* fdatasyncs of the watched file */
    int sleep_at;     /* this call (1-based) sleeps 200 ms first: others queue meanwhile */
    int fail_at;      /* this call fails with EIO, the file as it saw it kept in snapshot */
    atomic_int hold;  /* 1: the next call waits in held until released */
    atomic_int held;  /* a call is waiting */
    atomic_int released;
    char *snapshot;
    size_t snapshot_len;
} hk;

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

    (void)nanosleep(&ts, NULL);
}

int fdatasync(int fd)
{
    struct stat st;

    if (atomic_load(&hk.watching) && fstat(fd, &st) == 0 && st.st_dev == hk.dev &&
        st.st_ino == hk.ino) {
        int n = atomic_fetch_add(&hk.syncs, 1) + 1;

        if (atomic_exchange(&hk.hold, 0) == 1) {
            atomic_store(&hk.held, 1);
            while (!atomic_load(&hk.released))
                nap_ms(1);
        }
        if (n == hk.sleep_at)
            nap_ms(200);
        if (n == hk.fail_at) {
            hk.snapshot_len = (size_t)st.st_size;
            hk.snapshot = malloc(hk.snapshot_len + 1);
            if (hk.snapshot == NULL ||
                pread(fd, hk.snapshot, hk.snapshot_len, 0) != (ssize_t)hk.snapshot_len)
                abort();
            errno = EIO;
            return -1;
        }
    }
    return (int)syscall(SYS_fdatasync, fd);
}

static void watch(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    hk.dev = st.st_dev;
    hk.ino = st.st_ino;
    hk.sleep_at = hk.fail_at = 0;
    atomic_store(&hk.syncs, 0);
    atomic_store(&hk.hold, 0);
    atomic_store(&hk.held, 0);
    atomic_store(&hk.released, 0);
    atomic_store(&hk.watching, 1);
}

/* Arms the hold: the next sync of the log waits, until release_sync(). */
static void hold_next_sync(void)
{
    atomic_store(&hk.released, 0);
    atomic_store(&hk.held, 0);
    atomic_store(&hk.hold, 1);
}

static void wait_held(void)
{
    for (int i = 0; i < 10000 && !atomic_load(&hk.held); i++)
        nap_ms(1);
    assert_true(atomic_load(&hk.held));
}

static void release_sync(void)
{
    atomic_store(&hk.released, 1);
}

/* ---- records and the checker ----------------------------------------------------------------- */

/* Record i of writer t: {"t":..,"i":..,"pad":"..."} of exactly RECORD bytes. */
static void make_record(char *buf, int t, int i)
{
    int n = snprintf(buf, RECORD, "{\"t\":%d,\"i\":%d,\"pad\":\"", t, i);

    memset(buf + n, 'a' + (t * 7 + i) % 26, RECORD - (size_t)n - 3);
    memcpy(buf + RECORD - 3, "\"}\n", 3);
}

/* What the caller was told of each record: not appended (never tried), acknowledged, failed. */
enum { NONE, ACKED, FAILED };
static unsigned char outcome[MAX_T][MAX_I];

/*
 * Whether the file's bytes are what the callers were told: every record acknowledged there
 * exactly once and whole, each writer's in its order; no record reported failed there; nothing
 * else. NULL, or what is wrong (a static buffer).
 */
static const char *check_log(const char *s, size_t len)
{
    static char why[200];
    static unsigned char seen[MAX_T][MAX_I];
    int last[MAX_T];
    char want[RECORD];

    memset(seen, 0, sizeof(seen));
    for (int t = 0; t < MAX_T; t++)
        last[t] = -1;
    if (len % RECORD != 0)
        return snprintf(why, sizeof(why), "%zu bytes: not whole records", len), why;
    for (size_t off = 0; off < len; off += RECORD) {
        int t, i;

        if (sscanf(s + off, "{\"t\":%d,\"i\":%d,", &t, &i) != 2 || t < 0 || t >= MAX_T || i < 0 ||
            i >= MAX_I)
            return snprintf(why, sizeof(why), "at %zu: not a record", off), why;
        make_record(want, t, i);
        if (memcmp(s + off, want, RECORD) != 0)
            return snprintf(why, sizeof(why), "at %zu: record %d/%d not whole", off, t, i), why;
        if (outcome[t][i] != ACKED)
            return snprintf(why, sizeof(why), "record %d/%d there, but reported %s", t, i,
                            outcome[t][i] == FAILED ? "failed" : "never appended"),
                   why;
        if (seen[t][i]++)
            return snprintf(why, sizeof(why), "record %d/%d twice", t, i), why;
        if (i < last[t])
            return snprintf(why, sizeof(why), "record %d/%d after %d/%d", t, i, t, last[t]), why;
        last[t] = i;
    }
    for (int t = 0; t < MAX_T; t++)
        for (int i = 0; i < MAX_I; i++)
            if (outcome[t][i] == ACKED && !seen[t][i])
                return snprintf(why, sizeof(why), "record %d/%d acknowledged, missing", t, i), why;
    return NULL;
}

static void assert_log_ok(const char *path)
{
    size_t len = 0;
    char *s = tu_read(path, &len);
    const char *why;

    assert_non_null(s);
    why = check_log(s, len);
    if (why != NULL)
        fail_msg("%s: %s", path, why);
    free(s);
}

/* The checker on planted files: each way of being wrong is named. */
static void test_checker_controls(void **state)
{
    char buf[8 * RECORD], rec[RECORD];
    size_t len = 0;

    (void)state;
    memset(outcome, NONE, sizeof(outcome));
    /* Two writers of two records each, interleaved: right as it is. */
    for (int i = 0; i < 2; i++)
        for (int t = 0; t < 2; t++) {
            make_record(buf + len, t, i);
            len += RECORD;
            outcome[t][i] = ACKED;
        }
    assert_null(check_log(buf, len));
    assert_non_null(strstr(check_log(buf, len - RECORD), "acknowledged, missing"));
    memcpy(buf + len, buf, RECORD);
    assert_non_null(strstr(check_log(buf, len + RECORD), "twice"));
    memcpy(rec, buf, RECORD); /* 0/0 and 0/1 swapped */
    memcpy(buf, buf + 2 * RECORD, RECORD);
    memcpy(buf + 2 * RECORD, rec, RECORD);
    assert_non_null(strstr(check_log(buf, len), "after"));
    memcpy(buf + 2 * RECORD, buf, RECORD);
    memcpy(buf, rec, RECORD);
    assert_null(check_log(buf, len));
    buf[RECORD + 30] ^= 1;
    assert_non_null(strstr(check_log(buf, len), "not whole"));
    buf[RECORD + 30] ^= 1;
    outcome[1][1] = FAILED;
    assert_non_null(strstr(check_log(buf, len), "reported failed"));
}

/* ---- many threads, one handle ---------------------------------------------------------------- */

#define THREADS 8
#define PER_THREAD 150

struct writer {
    ajio_log *log;
    int t, n; /* records: n, or fewer if stop is set meanwhile */
    atomic_int *stop;
    int done;     /* records appended or failed */
    int bad_json; /* every tenth call also appends a line that is not JSON: AJIO_EJSON, alone */
    int err;      /* the first unexpected result */
    int repaired; /* AJIO_REPAIRED results with the repair's message */
    int results[MAX_I];
    char msg[MSGS][160];
};

static void *write_records(void *arg)
{
    struct writer *w = arg;
    char rec[RECORD];

    for (int i = 0; i < w->n && !(w->stop != NULL && atomic_load(w->stop)); i++) {
        make_record(rec, w->t, i);
        if (w->bad_json && i % 10 == 5) {
            int r = ajio_log_append(w->log, "{\"t\":\n", 6);
            if (r != AJIO_EJSON && w->err == 0)
                w->err = r == 0 ? -1 : r;
        }
        w->results[i] = ajio_log_append(w->log, rec, RECORD);
        if (i < MSGS)
            snprintf(w->msg[i], sizeof(w->msg[i]), "%s", ajio_last_error());
        outcome[w->t][i] = w->results[i] >= 0 ? ACKED : FAILED;
        if (w->results[i] == AJIO_REPAIRED && strstr(ajio_last_error(), "repair of") != NULL)
            w->repaired++;
        w->done = i + 1;
    }
    return NULL;
}

static void run_writers(struct writer *w, int n)
{
    pthread_t th[MAX_T];

    for (int k = 0; k < n; k++)
        assert_int_equal(pthread_create(&th[k], NULL, write_records, &w[k]), 0);
    for (int k = 0; k < n; k++)
        assert_int_equal(pthread_join(th[k], NULL), 0);
}

static long fs_type(const char *dir)
{
    struct statfs sf;

    assert_int_equal(statfs(dir, &sf), 0);
    return (long)sf.f_type;
}

static void test_threads_share_a_handle(void **state)
{
    const char *p = tu_path(*state, "log.jsonl");
    static struct writer w[THREADS];
    char lock[4096];
    uint64_t batches = 0, syncs_recorded = 0;
    ajio_log *log;

    memset(outcome, NONE, sizeof(outcome));
    tu_assert_ok(ajio_log_open(&log, p, &(ajio_opts){.flags = AJIO_JSONL}));
    watch(p);
    for (int k = 0; k < THREADS; k++)
        w[k] = (struct writer){.log = log, .t = k, .n = PER_THREAD, .bad_json = 1};
    run_writers(w, THREADS);
    atomic_store(&hk.watching, 0);
    for (int k = 0; k < THREADS; k++) {
        assert_int_equal(w[k].err, 0);
        for (int i = 0; i < PER_THREAD; i++)
            if (w[k].results[i] != 0)
                fail_msg("thread %d record %d: %s", k, i, ajio_err_name(w[k].results[i]));
    }
    tu_assert_ok(ajio_log_close(log));
    assert_log_ok(p);

    int records = THREADS * PER_THREAD, syncs = atomic_load(&hk.syncs);
    snprintf(lock, sizeof(lock), "%s/.log.jsonl.ajio-lock", (const char *)*state);
    /* Tickets number the appends of the file: one per batch. */
    (void)ajio__group_counts(lock, &batches, &syncs_recorded);
    print_message("%d threads, one handle: %d records in %" PRIu64 " batches, %d fdatasyncs\n",
                  THREADS, records, batches, syncs);
    assert_true(syncs >= 1 && syncs <= records);
    /*
     * On a disk a sync takes long enough for the other threads to queue behind it; on tmpfs it
     * takes nothing, and the batches are as large as the scheduler happens to make them.
     */
    if (fs_type(*state) != TMPFS_MAGIC && fs_type(*state) != FUSE_MAGIC)
        assert_true(syncs <= records / 2);
}

/* ---- a failed sync fails its whole batch ----------------------------------------------------- */

static void test_failed_sync_fails_the_batch(void **state)
{
    const char *p = tu_path(*state, "log.jsonl");
    static struct writer w[THREADS];
    int failed = 0, in_batch = 0;
    ajio_log *log;

    memset(outcome, NONE, sizeof(outcome));
    tu_assert_ok(ajio_log_open(&log, p, NULL));
    watch(p);
    /*
     * The first sync sleeps while the other threads queue: they make the second batch, whose
     * sync fails.
     */
    hk.sleep_at = 1;
    hk.fail_at = 2;
    for (int k = 0; k < THREADS; k++)
        w[k] = (struct writer){.log = log, .t = k, .n = 5};
    run_writers(w, THREADS);
    atomic_store(&hk.watching, 0);
    tu_assert_ok(ajio_log_close(log));
    assert_non_null(hk.snapshot);

    /* Every failure is the failed sync's, its message naming the step and the file. */
    for (int k = 0; k < THREADS; k++)
        for (int i = 0; i < 5; i++) {
            if (w[k].results[i] == 0)
                continue;
            assert_int_equal(w[k].results[i], -EIO);
            assert_non_null(strstr(w[k].msg[i], "fdatasync"));
            assert_non_null(strstr(w[k].msg[i], p));
            failed++;
        }
    /* None of them is in the file, every record acknowledged is, once. */
    assert_log_ok(p);

    /*
     * The failed batch is what the failing sync saw after the file as it stands before it: the
     * bytes past the committed end. The records reported failed are exactly those.
     */
    size_t len = 0;
    char *s = tu_read(p, &len);
    size_t start = 0;
    while (start < hk.snapshot_len && start < len &&
           memcmp(s + start, hk.snapshot + start, RECORD) == 0)
        start += RECORD;
    for (size_t off = start; off < hk.snapshot_len; off += RECORD) {
        int t, i;
        assert_int_equal(sscanf(hk.snapshot + off, "{\"t\":%d,\"i\":%d,", &t, &i), 2);
        assert_int_equal(outcome[t][i], FAILED);
        in_batch++;
    }
    print_message("the failed batch: %d records, %d reported failed\n", in_batch, failed);
    assert_int_equal(in_batch, failed);
    assert_true(failed >= 2); /* a batch, not one append */
    free(s);
    free(hk.snapshot);
    hk.snapshot = NULL;
}

/* ---- a repair before a batch is every appender's --------------------------------------------- */

static void test_repair_reported_to_the_batch(void **state)
{
    const char *p = tu_path(*state, "app.log");
    static struct writer w[4];
    int repaired = 0;
    ajio_log *log;

    memset(outcome, NONE, sizeof(outcome));
    tu_assert_ok(ajio_log_open(&log, p, NULL));
    watch(p);
    hold_next_sync();
    w[0] = (struct writer){.log = log, .t = 0, .n = 1};
    pthread_t first;
    assert_int_equal(pthread_create(&first, NULL, write_records, &w[0]), 0);
    wait_held();
    /* While the first batch waits for its sync, others queue and someone leaves a torn line. */
    pthread_t th[3];
    for (int k = 1; k < 4; k++) {
        w[k] = (struct writer){.log = log, .t = k, .n = 1};
        assert_int_equal(pthread_create(&th[k - 1], NULL, write_records, &w[k]), 0);
    }
    nap_ms(200);
    int fd = open(p, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "torn", 4), 4);
    assert_int_equal(close(fd), 0);
    release_sync();
    assert_int_equal(pthread_join(first, NULL), 0);
    for (int k = 0; k < 3; k++)
        assert_int_equal(pthread_join(th[k], NULL), 0);
    atomic_store(&hk.watching, 0);
    tu_assert_ok(ajio_log_close(log));
    assert_int_equal(w[0].results[0], 0);
    for (int k = 1; k < 4; k++) {
        assert_int_equal(w[k].results[0], AJIO_REPAIRED);
        assert_non_null(strstr(w[k].msg[0], "terminated the last line"));
        repaired += w[k].repaired;
    }
    assert_int_equal(repaired, 3);
    /* The torn text kept, terminated, before the batch. */
    size_t len = 0;
    char *s = tu_read(p, &len);
    assert_int_equal(len, 4 * RECORD + 5);
    assert_memory_equal(s + RECORD, "torn\n", 5);
    free(s);
}

/* ---- close while appending ------------------------------------------------------------------- */

static void test_close_while_appending(void **state)
{
    const char *p = tu_path(*state, "log.jsonl");
    static struct writer w;
    pthread_t th;
    ajio_log *log;

    memset(outcome, NONE, sizeof(outcome));
    tu_assert_ok(ajio_log_open(&log, p, NULL));
    watch(p);
    hold_next_sync();
    w = (struct writer){.log = log, .t = 0, .n = 1};
    assert_int_equal(pthread_create(&th, NULL, write_records, &w), 0);
    wait_held();
    tu_assert_fails(ajio_log_close(log), -EBUSY, "log.jsonl");
    release_sync();
    assert_int_equal(pthread_join(th, NULL), 0);
    atomic_store(&hk.watching, 0);
    assert_int_equal(w.results[0], 0);
    tu_assert_ok(ajio_log_close(log));
    assert_log_ok(p);
}

/* ---- fork while threads append --------------------------------------------------------------- */

#define FORK_THREADS 4
#define FORKS 6
#define CHILD_THREADS 2
#define CHILD_PER_THREAD 20

static ajio_log *fork_log;

static void *child_writer(void *arg)
{
    int t = (int)(intptr_t)arg;
    char rec[RECORD];

    for (int i = 0; i < CHILD_PER_THREAD; i++) {
        make_record(rec, t, i);
        if (ajio_log_append(fork_log, rec, RECORD) != 0)
            return (void *)1;
    }
    return NULL;
}

/*
 * In the child: threads append through the inherited handle (after a raw clone, where the C
 * library's own fork handlers did not run either, only the one thread there is), then it is
 * closed. A child that hangs (on a queue or a mutex inherited from threads that are not there)
 * is ended by SIGALRM.
 */
static void child(int first_t, bool raw)
{
    pthread_t th[CHILD_THREADS];
    int bad = 0;

    atomic_store(&hk.watching, 0);
    alarm(raw ? 2 : 30);
    if (raw)
        _exit(child_writer((void *)(intptr_t)first_t) != NULL);
    for (int k = 0; k < CHILD_THREADS; k++)
        if (pthread_create(&th[k], NULL, child_writer, (void *)(intptr_t)(first_t + k)) != 0)
            _exit(3);
    for (int k = 0; k < CHILD_THREADS; k++) {
        void *ret;
        if (pthread_join(th[k], &ret) != 0 || ret != NULL)
            bad = 1;
    }
    _exit(bad || ajio_log_close(fork_log) != 0);
}

/* A fork() with the library's pthread_atfork() handlers, or a raw clone(2) without them. */
static pid_t fork_with(bool raw)
{
    if (raw)
        return (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
    return fork();
}

/*
 * The parent's threads append until told to stop; the main thread forks children meanwhile,
 * some while a batch waits for its sync (the hook holds it: a leader at work, others queued),
 * the others wherever the threads are. Each child appends through the same handle.
 * @return how many children failed or hung.
 */
static int fork_storm(const char *p, bool raw)
{
    static struct writer w[FORK_THREADS];
    static atomic_int stop;
    pthread_t th[FORK_THREADS];
    int failures = 0, forks = raw ? 1 : FORKS;

    memset(outcome, NONE, sizeof(outcome));
    tu_assert_ok(ajio_log_open(&fork_log, p, NULL));
    watch(p);
    atomic_store(&stop, 0);
    for (int k = 0; k < FORK_THREADS; k++) {
        w[k] = (struct writer){.log = fork_log, .t = k, .n = MAX_I, .stop = &stop};
        assert_int_equal(pthread_create(&th[k], NULL, write_records, &w[k]), 0);
    }
    for (int f = 0; f < forks; f++) {
        bool held = raw || f % 2 == 0;
        int first_t = FORK_THREADS + f * CHILD_THREADS, status;
        pid_t pid;

        if (held) {
            hold_next_sync();
            wait_held();
        } else {
            nap_ms(5);
        }
        pid = fork_with(raw);
        assert_true(pid >= 0);
        if (pid == 0)
            child(first_t, raw);
        if (held)
            release_sync();
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            for (int k = 0; k < CHILD_THREADS; k++)
                for (int i = 0; i < CHILD_PER_THREAD; i++)
                    outcome[first_t + k][i] = ACKED;
        } else {
            failures++;
            print_message("child %d: %s %d\n", f, WIFSIGNALED(status) ? "killed by signal" : "exit",
                          WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        }
    }
    atomic_store(&stop, 1);
    for (int k = 0; k < FORK_THREADS; k++)
        assert_int_equal(pthread_join(th[k], NULL), 0);
    atomic_store(&hk.watching, 0);
    for (int k = 0; k < FORK_THREADS; k++) {
        if (!raw) /* still appending at the last fork (the control's fork is inside a batch) */
            assert_true(w[k].done < MAX_I);
        for (int i = 0; i < w[k].done; i++)
            assert_int_equal(w[k].results[i], 0);
    }
    tu_assert_ok(ajio_log_close(fork_log));
    print_message("%d forks while %d threads appended (%d records each): %d children failed\n",
                  forks, FORK_THREADS, w[0].done, failures);
    return failures;
}

static void test_fork_while_threads_append(void **state)
{
    const char *p = tu_path(*state, "log.jsonl");

    assert_int_equal(fork_storm(p, false), 0);
    assert_log_ok(p);
}

/* The control: without the atfork handlers, a child forked during a batch hangs. */
static void test_fork_control_without_atfork(void **state)
{
    const char *p = tu_path(*state, "log.jsonl");

    assert_int_equal(fork_storm(p, true), 1);
    /* The parent's records are all there all the same. */
    assert_log_ok(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checker_controls),
        TU_TEST(test_threads_share_a_handle),
        TU_TEST(test_failed_sync_fails_the_batch),
        TU_TEST(test_repair_reported_to_the_batch),
        TU_TEST(test_close_while_appending),
        TU_TEST(test_fork_control_without_atfork),
        TU_TEST(test_fork_while_threads_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

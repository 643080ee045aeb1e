/*
 * test_killstorm.c - appenders and updaters SIGKILLed at random moments (issue 9, "Kill storm").
 *
 * Appender processes append self-checking records to one log with ajio_append() (every other
 * appender through a log handle, ajio_log_append()); updater
 * processes increment a counter document with ajio_update(); a batch writer replaces four files
 * at a time with ajio_batch_commit(), each a self-checking document of the batch's number. The
 * parent kills one of them every 1-20 ms and starts a replacement, while it reads the counter
 * document and the batch's files as a reader would.
 *
 * What "returned" means is made knowable: a child reports a record through a pipe only after
 * ajio_append() has returned success for it, and an updater reports the counter value it wrote
 * only after ajio_update() returned. A kill between the return and the report loses only the
 * report, so the log may hold records nobody reported, never the reverse. Afterwards:
 *
 *   - every reported record is in the log exactly once, on a line of its own and intact; every
 *     complete line is a whole record; after the last '\n' there is at most one torn tail;
 *   - the next append repairs that tail (AJIO_REPAIRED exactly when there was one);
 *   - the counter document was complete at every read, and no two updaters reported the same
 *     value (a lost update would show as a repeated value);
 *   - every file of the batches was complete at every read, and afterwards holds the number of
 *     the last batch reported or of a later one (a batch killed part way may have replaced some
 *     of its files: a batch is atomic per file, not across files);
 *   - no lock is left held: a final ajio_update() with timeout 0 succeeds;
 *   - what the killed writers left besides the two files and their lock files is temp-shaped,
 *     and ajio_sweep() removes it.
 *
 * Negative controls: appenders that write each record in two write(2)s without the lock (what
 * "O_APPEND is enough" code does) must make the same checker report lost records; and the
 * checker must notice one reported record deliberately dropped from a good log.
 */
#include "testutil.h"

#include <poll.h>
#include <stdbool.h>
#include <sys/file.h>

#define STORM_SECONDS 3.0   /* AJIO_STRESS_SECONDS overrides it, as for tests/test_stress.c */
#define CONTROL_SECONDS 2.0 /* at most */
#define APPENDERS 4
#define UPDATERS 2
#define BATCHERS 1
#define CHILDREN (APPENDERS + UPDATERS + BATCHERS)
#define BATCH_FILES 4
#define MAX_REPORTS (1 << 20)

/* One report through the pipe: 16 bytes, far below PIPE_BUF, so reports never interleave. */
struct report {
    uint32_t kind; /* 'A' a record appended, 'U' a counter value written, 'B' a batch committed */
    uint32_t worker;
    uint64_t value; /* the record's sequence number, or the counter value */
};

enum appender_kind { APPEND_AJIO, APPEND_NAIVE };

static double storm_seconds(void)
{
    const char *s = getenv("AJIO_STRESS_SECONDS");

    return s != NULL && atof(s) > 0 ? atof(s) : STORM_SECONDS;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The pad letter of a record: a function of its worker and sequence number, so that a record
 * glued to or overwritten by another shows. */
static char pad_letter(uint32_t w, uint64_t s)
{
    return (char)('a' + (w * 7 + s) % 26);
}

/*
 * {"w":W,"s":S,"len":L,"pad":"xxxx"}\n, L being the length of the whole line with its '\n'. Most
 * records are short; one in eight spans pages (4-12 KiB), where a write(2) is most likely split.
 */
static size_t make_record(char *buf, size_t cap, uint32_t w, uint64_t s, uint64_t *rng)
{
    size_t pad = xorshift(rng) % 8 == 0 ? 4000 + xorshift(rng) % 8000 : xorshift(rng) % 200;
    int head;
    size_t len;

    /* The length field counts its own digits: the first digit count that agrees with itself. */
    head = snprintf(buf, cap, "{\"w\":%u,\"s\":%llu,\"len\":,\"pad\":\"", w,
                    (unsigned long long)s);
    for (size_t digits = 1, limit = 10;; digits++, limit *= 10) {
        len = (size_t)head + digits + pad + 3;
        if (len < limit)
            break; /* a shorter count was tried first, so len has exactly this many digits */
    }
    head = snprintf(buf, cap, "{\"w\":%u,\"s\":%llu,\"len\":%zu,\"pad\":\"", w,
                    (unsigned long long)s, len);
    assert_true(len < cap);
    memset(buf + head, pad_letter(w, s), pad);
    memcpy(buf + head + pad, "\"}\n", 3);
    return len;
}

/* Parses one complete line (without its '\n'); true when it is an intact record. */
static bool parse_record(const char *line, size_t n, uint32_t *ret_w, uint64_t *ret_s)
{
    unsigned w;
    unsigned long long s;
    size_t len;
    int head = 0;
    char c, start[80];

    /*
     * sscanf() takes the length of its whole input first: on the log itself (no NUL for a
     * hundred megabytes) that is quadratic, so the head of the line is copied out.
     */
    if (n < 20)
        return false;
    memcpy(start, line, n < sizeof(start) - 1 ? n : sizeof(start) - 1);
    start[n < sizeof(start) - 1 ? n : sizeof(start) - 1] = '\0';
    if (sscanf(start, "{\"w\":%u,\"s\":%llu,\"len\":%zu,\"pad\":\"%n", &w, &s, &len, &head) != 3 ||
        head == 0 || len != n + 1 || line[n - 2] != '"' || line[n - 1] != '}')
        return false;
    c = pad_letter(w, s);
    for (size_t i = (size_t)head; i < n - 2; i++)
        if (line[i] != c)
            return false;
    *ret_w = w;
    *ret_s = s;
    return true;
}

/* ---- the checker ------------------------------------------------------------------------- */

struct verdict {
    long lines;      /* complete lines */
    long records;    /* intact records among them */
    long corrupt;    /* complete lines that are no intact record */
    long duplicates; /* records found twice */
    long lost;       /* reported records not found */
    size_t torn;     /* bytes after the last '\n' */
    char first_corrupt[160]; /* the start of the first corrupt line, for the message */
};

/* Open addressing on (worker << 32 | seq) + 1; big enough for every record of a storm. */
#define SET_SLOTS (1u << 21)
static uint64_t *set;

static bool set_add(uint64_t key)
{
    uint64_t k = key + 1, h = (k * 0x9e3779b97f4a7c15u) >> 43;

    for (;; h = (h + 1) & (SET_SLOTS - 1)) {
        if (set[h] == k)
            return false;
        if (set[h] == 0) {
            set[h] = k;
            return true;
        }
    }
}

static bool set_has(uint64_t key)
{
    uint64_t k = key + 1, h = (k * 0x9e3779b97f4a7c15u) >> 43;

    for (;; h = (h + 1) & (SET_SLOTS - 1)) {
        if (set[h] == k)
            return true;
        if (set[h] == 0)
            return false;
    }
}

static struct verdict check_log(const char *log, size_t len, const struct report *reps,
                                size_t nreps)
{
    struct verdict v = {0};
    size_t pos = 0;

    memset(set, 0, SET_SLOTS * sizeof(*set));
    while (pos < len) {
        const char *nl = memchr(log + pos, '\n', len - pos);
        uint32_t w;
        uint64_t s;

        if (nl == NULL) {
            v.torn = len - pos;
            break;
        }
        v.lines++;
        if (parse_record(log + pos, (size_t)(nl - (log + pos)), &w, &s)) {
            v.records++;
            if (!set_add((uint64_t)w << 32 | s))
                v.duplicates++;
        } else if (v.corrupt++ == 0) {
            size_t n = (size_t)(nl - (log + pos));

            snprintf(v.first_corrupt, sizeof(v.first_corrupt), "line %ld, %zu bytes: %.100s",
                     v.lines, n, log + pos);
        }
        pos = (size_t)(nl - log) + 1;
    }
    for (size_t i = 0; i < nreps; i++)
        if (reps[i].kind == 'A' && !set_has((uint64_t)reps[i].worker << 32 | reps[i].value))
            v.lost++;
    return v;
}

/* ---- the children -------------------------------------------------------------------------- */

static char log_path[4096], state_path[4096];

static void report(int fd, uint32_t kind, uint32_t w, uint64_t value)
{
    struct report r = {kind, w, value};

    /* The parent is the only reader and drains the pipe: a failure here is a broken test. */
    if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
        _exit(10);
}

static void appender(int fd, uint32_t w, enum appender_kind kind)
{
    static char rec[16384];
    uint64_t rng = 0x2545F4914F6CDD1DULL ^ ((uint64_t)w << 20) ^ (uint64_t)getpid();
    ajio_log *handle = NULL;

    /* Odd workers append through a log handle, durably; even ones one-shot, half of them not. */
    if (kind == APPEND_AJIO && w % 2 == 1 && ajio_log_open(&handle, log_path, NULL) < 0) {
        fprintf(stderr, "appender %u: %s\n", w, ajio_last_error());
        _exit(11);
    }
    for (uint64_t s = 0;; s++) {
        size_t len = make_record(rec, sizeof(rec), w, s, &rng);

        if (kind == APPEND_AJIO) {
            ajio_opts o = {.flags = s % 2 ? AJIO_NO_SYNC : 0};
            int r = handle != NULL ? ajio_log_append(handle, rec, len)
                                   : ajio_append(log_path, rec, len, &o);

            if (r < 0) {
                fprintf(stderr, "appender %u: %s\n", w, ajio_last_error());
                _exit(11);
            }
        } else {
            /* The negative control: two write(2)s per record, no lock, no repair. */
            int lfd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
            size_t half = len / 2;

            if (lfd < 0 || write(lfd, rec, half) != (ssize_t)half ||
                write(lfd, rec + half, len - half) != (ssize_t)(len - half) || close(lfd) < 0)
                _exit(12);
            /* Paced like the library's appends, so the log stays a few megabytes. */
            usleep(500);
        }
        report(fd, 'A', w, s);
    }
}

/* The counter document: {"n":N,"w":W,"pad":"xxx"} with a pad of N-dependent length, so that a
 * reader can tell a complete document from a partial one. */
static int counter_of(const char *doc, size_t len, uint64_t *ret_n)
{
    unsigned long long n;
    unsigned w;
    int head = 0;
    size_t pad;

    if (sscanf(doc, "{\"n\":%llu,\"w\":%u,\"pad\":\"%n", &n, &w, &head) != 2 || head == 0)
        return -1;
    pad = (size_t)(n * 977 % 9000);
    if (len != (size_t)head + pad + 3 || memcmp(doc + head + pad, "\"}\n", 3) != 0)
        return -1;
    for (size_t i = 0; i < pad; i++)
        if (doc[head + i] != 'p')
            return -1;
    *ret_n = n;
    return 0;
}

struct update_ctx {
    uint32_t w;
    uint64_t written;
};

static int increment(void *ctx, const void *old, size_t old_len, int exists, ajio_file *out)
{
    struct update_ctx *u = ctx;
    uint64_t n = 0;
    size_t pad;
    int r;

    if (exists && counter_of(old, old_len, &n) < 0)
        return ajio_set_last_error(-EBADMSG, "the counter document is not complete");
    n++;
    pad = (size_t)(n * 977 % 9000);
    r = ajio_file_printf(out, "{\"n\":%llu,\"w\":%u,\"pad\":\"", (unsigned long long)n, u->w);
    for (size_t i = 0; r == 0 && i < pad; i += 64)
        r = ajio_file_write(out, "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp",
                       pad - i < 64 ? pad - i : 64);
    if (r == 0)
        r = ajio_file_write(out, "\"}\n", 3);
    u->written = n;
    return r;
}

static void updater(int fd, uint32_t w)
{
    for (;;) {
        struct update_ctx u = {w, 0};
        int r = ajio_update(state_path, increment, &u, -1, NULL);

        if (r < 0) {
            fprintf(stderr, "updater %u: %s\n", w, ajio_last_error());
            _exit(13);
        }
        report(fd, 'U', w, u.written);
    }
}

static char batch_paths[BATCH_FILES][4096];

/* Batches numbered from a base unique to the worker, so that numbers only grow across workers. */
static void batcher(int fd, uint32_t w)
{
    for (uint64_t n = (uint64_t)w << 32;; n++) {
        char doc[16384];
        ajio_batch *b;
        int r = ajio_batch_new(&b, NULL);

        for (int i = 0; r == 0 && i < BATCH_FILES; i++) {
            size_t pad = (size_t)(n * 977 % 9000), head;

            head = (size_t)snprintf(doc, sizeof(doc), "{\"n\":%llu,\"w\":%u,\"pad\":\"",
                                    (unsigned long long)n, w);
            memset(doc + head, 'p', pad);
            memcpy(doc + head + pad, "\"}\n", 3);
            r = ajio_batch_add(b, batch_paths[i], doc, head + pad + 3);
        }
        if (r == 0)
            r = ajio_batch_commit(b);
        if (r < 0) {
            fprintf(stderr, "batch writer %u: %s\n", w, ajio_last_error());
            _exit(14);
        }
        ajio_batch_free(b);
        report(fd, 'B', w, n);
    }
}

static pid_t spawn_child(int fd, int slot, uint32_t w, enum appender_kind kind, int readfd)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        (void)close(readfd);
        if (slot < APPENDERS)
            appender(fd, w, kind);
        else if (slot < APPENDERS + UPDATERS)
            updater(fd, w);
        else
            batcher(fd, w);
        _exit(0);
    }
    return pid;
}

/* ---- the storm ------------------------------------------------------------------------------- */

struct storm {
    struct report *reps;
    size_t nreps;
    long kills;
    long reads;     /* counter document reads during the storm */
    long bad_reads; /* reads that saw no complete document */
};

static void drain(int fd, struct storm *st)
{
    struct report buf[256];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        assert_int_equal(n % (ssize_t)sizeof(struct report), 0);
        for (ssize_t i = 0; i < n / (ssize_t)sizeof(struct report); i++) {
            assert_true(st->nreps < MAX_REPORTS);
            st->reps[st->nreps++] = buf[i];
        }
    }
    assert_true(n == 0 || errno == EAGAIN);
}

/* One read of a document as a reader would make it; the number it holds, or -1 if none yet. */
static int64_t read_doc(struct storm *st, const char *path)
{
    size_t len;
    char *doc = tu_read(path, &len);
    uint64_t n;

    if (doc == NULL) {
        assert_int_equal(errno, ENOENT); /* before the first write only */
        return -1;
    }
    st->reads++;
    if (counter_of(doc, len, &n) < 0) {
        st->bad_reads++;
        n = 0;
    }
    free(doc);
    return (int64_t)n;
}

static void read_counter(struct storm *st)
{
    (void)read_doc(st, state_path);
    for (int i = 0; i < BATCH_FILES; i++)
        (void)read_doc(st, batch_paths[i]);
}

static double since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void run_storm(const char *dir, enum appender_kind kind, double seconds, bool updaters,
                      struct storm *st)
{
    int p[2];
    pid_t pids[CHILDREN];
    uint32_t next_worker = 0;
    uint64_t rng = 88172645463325252ULL ^ (uint64_t)getpid();
    int nchildren = updaters ? CHILDREN : APPENDERS;
    struct timespec t0;

    snprintf(log_path, sizeof(log_path), "%s/events.jsonl", dir);
    snprintf(state_path, sizeof(state_path), "%s/state.json", dir);
    for (int i = 0; i < BATCH_FILES; i++)
        snprintf(batch_paths[i], sizeof(batch_paths[i]), "%s/batch/f%d.json", dir, i);
    set = calloc(SET_SLOTS, sizeof(*set));
    st->reps = malloc(MAX_REPORTS * sizeof(*st->reps));
    assert_non_null(set);
    assert_non_null(st->reps);
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    for (int i = 0; i < nchildren; i++)
        pids[i] = spawn_child(p[1], i, next_worker++, kind, p[0]);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (since(&t0) < seconds) {
        int victim = (int)(xorshift(&rng) % (uint64_t)nchildren);
        int status;

        usleep((useconds_t)(1000 + xorshift(&rng) % 19000));
        drain(p[0], st);
        if (updaters)
            read_counter(st);
        assert_int_equal(kill(pids[victim], SIGKILL), 0);
        assert_int_equal(waitpid(pids[victim], &status, 0), pids[victim]);
        /* Killed, not failed: a child that exited on its own met an error it printed. */
        assert_true(WIFSIGNALED(status));
        st->kills++;
        pids[victim] = spawn_child(p[1], victim, next_worker++, kind, p[0]);
    }
    for (int i = 0; i < nchildren; i++) {
        int status;

        assert_int_equal(kill(pids[i], SIGKILL), 0);
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFSIGNALED(status));
        st->kills++;
    }
    /* Every writer is gone: what is left in the pipe is all there will be. */
    assert_int_equal(close(p[1]), 0);
    drain(p[0], st);
    assert_int_equal(close(p[0]), 0);
}

static void print_verdict(const char *what, const struct verdict *v)
{
    printf("    %s: %ld lines, %ld records, %ld corrupt, %ld duplicates, %ld reported but lost, "
           "torn tail %zu bytes\n",
           what, v->lines, v->records, v->corrupt, v->duplicates, v->lost, v->torn);
    if (v->corrupt > 0)
        printf("    first corrupt %s\n", v->first_corrupt);
}

static int check_final(void *ctx, const void *old, size_t old_len, int exists, ajio_file *out)
{
    uint64_t *ret_n = ctx;

    (void)out;
    if (!exists || counter_of(old, old_len, ret_n) < 0)
        return -EBADMSG;
    return AJIO_UNCHANGED;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void test_kill_storm(void **state)
{
    const char *dir = *state;
    static const char last[] = "{\"w\":4000000000,\"s\":0,\"len\":41,\"pad\":\"\"}\n";
    struct storm st = {0};
    struct verdict v, after;
    uint64_t *values, final_n = 0;
    size_t nvalues = 0, len = 0, appends = 0, repeated = 0, batches = 0;
    uint64_t last_batch = 0;
    int r, swept;
    char *log;

    run_storm(dir, APPEND_AJIO, storm_seconds(), true, &st);

    log = tu_read(log_path, &len);
    assert_non_null(log);
    v = check_log(log, len, st.reps, st.nreps);
    free(log);
    values = malloc((st.nreps + 1) * sizeof(*values));
    assert_non_null(values);
    for (size_t i = 0; i < st.nreps; i++) {
        if (st.reps[i].kind == 'U')
            values[nvalues++] = st.reps[i].value;
        else if (st.reps[i].kind == 'A')
            appends++;
        else if (batches++ == 0 || st.reps[i].value > last_batch)
            last_batch = st.reps[i].value;
    }
    qsort(values, nvalues, sizeof(*values), cmp_u64);
    for (size_t i = 1; i < nvalues; i++)
        repeated += values[i] == values[i - 1];

    printf("    kill storm: %.0f s, %ld kills, %zu appends, %zu updates and %zu batches reported, "
           "%ld reads of the counter and the batch files (%ld incomplete)\n",
           storm_seconds(), st.kills, appends, nvalues, batches, st.reads, st.bad_reads);
    print_verdict("log", &v);

    assert_true(appends > 50);
    assert_true(nvalues > 10);
    assert_int_equal(v.lost, 0);
    assert_int_equal(v.corrupt, 0);
    assert_int_equal(v.duplicates, 0);
    assert_int_equal(st.bad_reads, 0);
    assert_int_equal(repeated, 0);
    assert_true(batches > 5);
    /* Every file of the batches: complete, and from the last batch reported or a later one. */
    for (int i = 0; i < BATCH_FILES; i++) {
        int64_t n = read_doc(&st, batch_paths[i]);

        assert_int_equal(st.bad_reads, 0);
        if (n < 0 || (uint64_t)n < last_batch)
            fail_msg("%s holds batch %lld, the last batch reported was %llu", batch_paths[i],
                     (long long)n, (unsigned long long)last_batch);
    }

    /* No lock left held, and the counter is at least the last value reported. */
    r = ajio_update(state_path, check_final, &final_n, 0, NULL);
    if (r != AJIO_UNCHANGED)
        fail_msg("final ajio_update with timeout 0: %s (%s)", ajio_err_name(r), ajio_last_error());
    assert_true(final_n >= values[nvalues - 1]);

    /*
     * The next append repairs the torn tail, if any, and says so. A log without a torn tail may
     * be repaired too: an appender killed after its write and before its commit record leaves
     * whole lines that were never reported, and the lock file's record says to cut them (the
     * checks below show that no reported record went).
     */
    r = ajio_append(log_path, last, strlen(last), NULL);
    if (v.torn > 0 ? r != AJIO_REPAIRED : r != 0 && r != AJIO_REPAIRED)
        fail_msg("final append returned %s with a torn tail of %zu bytes: %s", ajio_err_name(r),
                 v.torn, ajio_last_error());
    log = tu_read(log_path, &len);
    assert_non_null(log);
    after = check_log(log, len, st.reps, st.nreps);
    print_verdict("after the next append", &after);
    assert_int_equal(after.torn, 0);
    assert_int_equal(after.lost, 0);
    assert_int_equal(after.corrupt, 0);
    /* The new record, and every record before it but the unreported ones a repair cut. */
    if (r == 0)
        assert_int_equal(after.records, v.records + 1);
    else
        assert_true(after.records >= 1 && after.records <= v.records + 1);
    assert_true(len >= strlen(last) && memcmp(log + len - strlen(last), last, strlen(last)) == 0);

    /* Negative control of the checker: the same log with one reported record dropped. */
    {
        const struct report *rep = NULL;
        char *cut = NULL;
        struct verdict dropped;

        for (size_t i = 0; i < st.nreps && rep == NULL; i++)
            if (st.reps[i].kind == 'A')
                rep = &st.reps[i];
        assert_non_null(rep);
        for (char *line = log; line < log + len; line = strchr(line, '\n') + 1) {
            uint32_t w;
            uint64_t s;

            if (parse_record(line, (size_t)(strchr(line, '\n') - line), &w, &s) &&
                w == rep->worker && s == rep->value) {
                cut = line;
                break;
            }
        }
        assert_non_null(cut);
        size_t cutlen = (size_t)(strchr(cut, '\n') - cut) + 1;
        memmove(cut, cut + cutlen, len - (size_t)(cut - log) - cutlen);
        dropped = check_log(log, len - cutlen, st.reps, st.nreps);
        print_verdict("negative control, one reported record dropped", &dropped);
        assert_int_equal(dropped.lost, 1);
    }
    free(log);

    /* Only temp-shaped leftovers: the files, their lock files, and what sweep removes. */
    swept = ajio_sweep(dir, NULL, 0, 0);
    {
        char sub[4200];
        int bswept;

        snprintf(sub, sizeof(sub), "%s/batch", dir);
        bswept = ajio_sweep(sub, NULL, 0, 0);
        printf("    temps left by killed writers and removed by ajio_sweep(): %d + %d\n", swept,
               bswept);
        assert_true(swept >= 0 && bswept >= 0);
        assert_int_equal(tu_count_entries(sub), BATCH_FILES);
    }
    assert_int_equal(tu_count_entries(dir), 5);
    assert_int_equal(tu_count_matching(dir, ".ajio-lock"), 2);

    free(values);
    free(st.reps);
    free(set);
}

/* The same storm and checker against appenders that trust O_APPEND: records must be lost. */
static void test_kill_storm_negative_control(void **state)
{
    struct storm st = {0};
    struct verdict v;
    size_t len = 0;
    char *log;

    run_storm(*state, APPEND_NAIVE,
              storm_seconds() < CONTROL_SECONDS ? storm_seconds() : CONTROL_SECONDS, false, &st);
    log = tu_read(log_path, &len);
    assert_non_null(log);
    v = check_log(log, len, st.reps, st.nreps);
    free(log);
    printf("    naive appenders (two write(2)s a record, no lock), %ld kills:\n", st.kills);
    print_verdict("log", &v);
    assert_true(v.lost > 0);
    free(st.reps);
    free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill_storm, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_kill_storm_negative_control, tu_setup, tu_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * xclient.c - one client's part of a cross-client case of tests/shared/cases.sh.
 *
 * A case starts several of these at once, each on the same directory as another client of a
 * shared filesystem sees it (NFS, GlusterFS; two bind mounts for the local harness), then a
 * check-* subcommand judges what they left. Each prints its counts as key=value lines on stdout,
 * and the message of its first failure on stderr, for the script to judge and to show.
 *
 *   replace FILE N [FIRST]          N durable replaces of a self-checking document, v = FIRST...
 *   naive-replace FILE N [FIRST]    the same in place (open O_TRUNC, write, close): a control
 *   read-plain FILE SECONDS         open, read, close until SIGTERM or SECONDS; each read judged
 *   read-lib FILE SECONDS           the same through ajio_reader_open/ajio_reader_next
 *   check-doc FILE [V]              one read, judged (as every check, retried on ESTALE/ENOENT);
 *                                   with V, until it is version V or later
 *   check-lib-doc FILE [V]          the same through the library's reader, not retried
 *   show FILE                       one read, printed
 *   update FILE N                   N ajio_update() increments of {"n":K}
 *   naive-update FILE N             a plain read, then ajio_write_bytes() without the lock
 *   counter FILE                    the counter, as ajio_update() reads it
 *   append FILE N TAG ACKS [PAD]    N durable ajio_append() records; ACKS gets "TAG I" per ack
 *   naive-append FILE N TAG ACKS    pwrite() at the size fstat() gave, unlocked: a control
 *   log FILE N TAG ACKS [THREADS]   the same through one ajio_log handle shared by THREADS
 *   check-log FILE ACKS...          every acknowledged record present once, no broken line
 *   create DIR PREFIX M WHO WON     AJIO_CREATE_ONLY of PREFIX-0..M-1; WON gets "WHO I" per win
 *   naive-create DIR PREFIX M WHO WON   access(), then a write that may replace: a control
 *   check-create DIR PREFIX M WON...    each name won exactly once, by the client it names
 *   hold-temp FILE SECONDS READY    ajio_file_open(), write, create READY, sleep, commit
 *   plant-dead-temps FILE K         K writers SIGKILLed while they hold their named temps
 *   txn DIR N TAG                   N transactions of m0.json..m4.json
 *   batch DIR N TAG                 the same with ajio_batch, which is not all or nothing
 *   naive-set DIR N TAG             the same file by file with pauses, to be killed midway
 *   check-set DIR                   the five members come from one transaction
 *   fill FILE                       write until the filesystem is full
 *
 * Every subcommand waits for XC_START_MS and its loops end early at XC_UNTIL_MS (milliseconds
 * since the epoch: one clock for every client of a case, so that they run at the same time and
 * stop together); XC_PACE_MS is a pause between iterations. XC_RACE_US (default 20000) is the
 * time naive-create takes between its check and its write (the other naive writers a fraction
 * of it), as a program computing its output would: without it the naive loops of the controls
 * finish before the other client's have started. Exit status: 0 when the subcommand ran (its
 * counts say how it went), 1 when a check found a problem or check-doc a document that is not
 * whole, 2 on usage or setup errors.
 */
#include "ajio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAD 65536
#define DOC_MAX (MAX_PAD + 64)
#define READ_MAX (1 << 20)
#define MEMBERS 5
#define HOLD_V 4242
#define TAG_MAX 32

static volatile sig_atomic_t stop_requested;
static atomic_bool stopped_early;
static long long until_ms = -1;
static long pace_ms;
static long race_us = 20000;

static void die(const char *fmt, ...) AJIO_PRINTF(1, 2);
static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("xclient: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, us % 1000000 * 1000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop_requested)
        ;
}

static long parse_long(const char *s, const char *what)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0)
        die("%s: not a count: '%s'", what, s);
    return v;
}

/* Iteration i of n may start: neither done, nor told to stop, nor past the case's deadline. */
static bool keep_going(long i, long n)
{
    if (i >= n || stop_requested)
        return false;
    if (until_ms >= 0 && now_ms() >= until_ms) {
        atomic_store(&stopped_early, true);
        return false;
    }
    if (i > 0 && pace_ms > 0)
        sleep_us(pace_ms * 1000);
    return true;
}

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* ---- results --------------------------------------------------------------------------------- */

struct tally {
    long ok, failed;
    int first_err;
    pthread_mutex_t lock;
};

/* Counts one result; the first failure is named on stderr with the library's own message. */
static void tally_add(struct tally *t, int r, const char *what)
{
    pthread_mutex_lock(&t->lock);
    if (r >= 0) {
        t->ok++;
    } else {
        if (t->failed++ == 0) {
            t->first_err = r;
            fprintf(stderr, "xclient: %s: %s: %s\n", what, ajio_err_name(r), ajio_last_error());
        }
    }
    pthread_mutex_unlock(&t->lock);
}

static void tally_print(const struct tally *t)
{
    printf("ok=%ld\nfailed=%ld\nfirst_error=%s\n", t->ok, t->failed,
           t->failed ? ajio_err_name(t->first_err) : "none");
    if (atomic_load(&stopped_early))
        printf("stopped=deadline\n");
}

/* ---- the replaced document ------------------------------------------------------------------- */

/*
 * Every eighth document is about 64 KiB, so that readers also meet files of many pages, the
 * others 1 B to 4 KiB of padding; the padding's letter changes with v, so that pages of two
 * versions put together never look like one.
 */
static size_t pad_len(long v)
{
    if (v % 8 == 0)
        return MAX_PAD - (size_t)(v / 8 % 1024);
    return 1 + (size_t)((unsigned long)v * 2654435761u % 4096);
}

static size_t make_doc(char *buf, long v)
{
    size_t pad = pad_len(v);
    size_t n = (size_t)sprintf(buf, "{\"v\":%ld,\"pad\":\"", v);

    memset(buf + n, 'a' + (int)(v % 26), pad);
    memcpy(buf + n + pad, "\"}\n", 3);
    return n + pad + 3;
}

enum doc_kind { DOC_WHOLE, DOC_TORN, DOC_EMPTY };

/*
 * Whole: valid JSON, ending with a newline, and byte for byte the document its own "v" names. A
 * stale page cache can serve a mix of two versions that is valid JSON but not that document.
 */
static enum doc_kind doc_check(const char *buf, size_t len, long *ret_v, char *scratch)
{
    char *end;
    long v;

    if (len == 0)
        return DOC_EMPTY;
    if (buf[len - 1] != '\n' || ajio_json_validate(buf, len, 0, NULL) != 0 ||
        strncmp(buf, "{\"v\":", 5) != 0)
        return DOC_TORN;
    v = strtol(buf + 5, &end, 10);
    if (end == buf + 5 || v < 0 || make_doc(scratch, v) != len || memcmp(scratch, buf, len) != 0)
        return DOC_TORN;
    *ret_v = v;
    return DOC_WHOLE;
}

static int cmd_replace(int argc, char **argv, bool naive)
{
    long n = parse_long(argv[1], "N"), first = argc > 2 ? parse_long(argv[2], "FIRST") : 0;
    long last = -1; /* the last version written */
    struct tally t = {.lock = PTHREAD_MUTEX_INITIALIZER};
    char *doc = malloc(DOC_MAX);

    if (doc == NULL)
        die("out of memory");
    for (long i = 0; keep_going(i, n); i++) {
        size_t len = make_doc(doc, first + i);
        int r;

        if (naive) {
            /* What most programs do, and what readers must catch: truncate, then write. */
            int fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

            r = fd < 0 ? -errno : 0;
            sleep_us(race_us / 20);
            for (size_t off = 0; r == 0 && off < len;) {
                ssize_t w = write(fd, doc + off, len - off < 4096 ? len - off : 4096);
                if (w < 0)
                    r = -errno;
                else
                    off += (size_t)w;
            }
            if (fd >= 0 && close(fd) < 0 && r == 0)
                r = -errno;
            if (r < 0)
                ajio_set_last_error(r, "naive write of \"%s\": %s", argv[0], strerror(-r));
        } else if (i % 2) {
            r = ajio_write_json_text(argv[0], doc, len, NULL);
        } else {
            r = ajio_write_bytes(argv[0], doc, len, NULL);
        }
        tally_add(&t, r, naive ? "naive-replace" : "replace");
        if (r >= 0)
            last = first + i;
    }
    tally_print(&t);
    printf("last_v=%ld\n", last);
    free(doc);
    return 0;
}

/* ---- readers --------------------------------------------------------------------------------- */

struct reads {
    long reads, whole, torn, empty, enoent, estale, other, backwards, max_v;
    int other_errno;
};

/* Counts a failed read; the first of each kind is named on stderr, with the step that failed. */
static void reads_error(struct reads *s, int err, const char *what, const char *path)
{
    long *count = err == ENOENT ? &s->enoent : err == ESTALE ? &s->estale : &s->other;

    if ((*count)++ > 0)
        return;
    if (count == &s->other)
        s->other_errno = err;
    fprintf(stderr, "xclient: first %s: %s of \"%s\": %s\n", ajio_err_name(-err), what, path,
            strncmp(what, "ajio_", 5) == 0 ? ajio_last_error() : strerror(err));
}

static void reads_judge(struct reads *s, const char *buf, size_t len, char *scratch)
{
    long v = -1;

    switch (doc_check(buf, len, &v, scratch)) {
    case DOC_WHOLE:
        s->whole++;
        if (v < s->max_v)
            s->backwards++;
        else
            s->max_v = v;
        break;
    case DOC_EMPTY:
        s->empty++;
        break;
    case DOC_TORN:
        if (s->torn++ == 0)
            fprintf(stderr, "xclient: first torn read: %zu bytes: %.60s...\n", len, buf);
        break;
    }
}

static void reads_torn(struct reads *s, const char *what)
{
    if (s->torn++ == 0)
        fprintf(stderr, "xclient: first torn read: %s\n", what);
}

static void reads_print(const struct reads *s)
{
    printf("reads=%ld\nwhole=%ld\ntorn=%ld\nempty=%ld\nenoent=%ld\nestale=%ld\nother_errors=%ld\n"
           "first_other_error=%s\nmax_v=%ld\nbackwards=%ld\n",
           s->reads, s->whole, s->torn, s->empty, s->enoent, s->estale, s->other,
           s->other ? ajio_err_name(-s->other_errno) : "none", s->max_v, s->backwards);
}

/* One plain read of path into buf (READ_MAX + 1 bytes): 0 and *ret_len, or an errno. */
static int plain_read(const char *path, char *buf, size_t *ret_len, const char **ret_what)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    ssize_t n = 0;

    *ret_what = "open";
    if (fd < 0)
        return errno;
    while (len < READ_MAX && (n = read(fd, buf + len, READ_MAX - len)) > 0)
        len += (size_t)n;
    if (n < 0) {
        int err = errno;
        close(fd);
        *ret_what = "read";
        return err;
    }
    close(fd);
    buf[len] = '\0';
    *ret_len = len;
    return 0;
}

/* One plain read of a whole file of any size: 0 and *ret_buf (NUL-terminated), or an errno. */
static int read_file(const char *path, char **ret_buf, size_t *ret_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap + 1);
    ssize_t n;

    if (buf == NULL)
        die("out of memory");
    if (fd < 0) {
        free(buf);
        return errno;
    }
    while ((n = read(fd, buf + len, cap - len)) > 0) {
        len += (size_t)n;
        if (len == cap && (buf = realloc(buf, (cap *= 2) + 1)) == NULL)
            die("out of memory");
    }
    if (n < 0)
        err = errno;
    close(fd);
    if (err != 0) {
        free(buf);
        return err;
    }
    buf[len] = '\0';
    *ret_buf = buf;
    *ret_len = len;
    return 0;
}

static int read_retries, retries_left = 30;

/*
 * A checker's read, once the clients are done. A client of a network filesystem may still
 * hold, for a while, a name for the file that a replace removed on the server (ESTALE) or a
 * stale negative entry (ENOENT): it is asked again, 0.1 s apart, at most 30 times per process,
 * and the retries are printed. Returns NULL and prints the error when it still fails.
 */
static char *settled_read(const char *path, size_t *ret_len)
{
    char *buf = NULL;
    int err;

    while ((err = read_file(path, &buf, ret_len)) == ESTALE ||
           (err == ENOENT && retries_left > 0)) {
        if (retries_left-- <= 0)
            break;
        read_retries++;
        sleep_us(100000);
    }
    if (err == 0)
        return buf;
    fprintf(stderr, "xclient: read of \"%s\": %s\n", path, strerror(err));
    printf("error=%s\n", ajio_err_name(-err));
    return NULL;
}

/* One read through the library's reader: the document is one line, so exactly one record. */
static void read_lib_once(struct reads *s, const char *path, char *buf, char *scratch)
{
    ajio_opts jsonl = {.flags = AJIO_JSONL};
    const char *line;
    size_t len = 0, doc_len;
    ajio_reader *rd;
    int r = ajio_reader_open(&rd, path, &jsonl);

    if (r < 0) {
        reads_error(s, -r, "ajio_reader_open", path);
        return;
    }
    r = ajio_reader_next(rd, &line, &len);
    if (r == 1 && len < READ_MAX) {
        memcpy(buf, line, len);
        buf[len] = '\n';
        doc_len = len + 1;
        r = ajio_reader_next(rd, &line, &len);
        if (r == 0)
            reads_judge(s, buf, doc_len, scratch);
        else if (r == 1 || r == AJIO_EJSON)
            reads_torn(s, "a second line");
    } else if (r == 1 || r == AJIO_EJSON) {
        reads_torn(s, "a line that is not JSON");
    } else if (r == 0 && ajio_reader_torn(rd) > 0) {
        reads_torn(s, "a last line without its newline");
    } else if (r == 0) {
        s->empty++;
    }
    if (r < 0 && r != AJIO_EJSON)
        reads_error(s, -r, "ajio_reader_next", path);
    ajio_reader_close(rd);
}

static int cmd_read(int argc, char **argv, bool lib)
{
    long long end = now_ms() + parse_long(argv[1], "SECONDS") * 1000;
    char *buf = malloc(READ_MAX + 2), *scratch = malloc(DOC_MAX);
    struct reads s = {.max_v = -1};

    (void)argc;
    if (buf == NULL || scratch == NULL)
        die("out of memory");
    while (!stop_requested && now_ms() < end) {
        const char *what;
        size_t len = 0;
        int err;

        s.reads++;
        if (lib) {
            read_lib_once(&s, argv[0], buf, scratch);
        } else if ((err = plain_read(argv[0], buf, &len, &what)) != 0) {
            reads_error(&s, err, what, argv[0]);
        } else {
            reads_judge(&s, buf, len, scratch);
        }
    }
    reads_print(&s);
    free(buf);
    free(scratch);
    return 0;
}

/*
 * One read by a checker: plain (retried as settled_read() does) or through the library's reader
 * (not retried: the library's own retries are what is judged). Returns the document's kind, or
 * -1 with *ret_err.
 */
static int read_doc(const char *path, bool lib, char *buf, char *scratch, long *ret_v, int *ret_err)
{
    struct reads s = {.max_v = -1};
    size_t len;
    char *p;
    int kind;

    if (lib) {
        read_lib_once(&s, path, buf, scratch);
        *ret_v = s.max_v;
        *ret_err = s.enoent ? ENOENT : s.estale ? ESTALE : s.other_errno;
        return s.whole ? DOC_WHOLE : s.empty ? DOC_EMPTY : s.torn ? DOC_TORN : -1;
    }
    if ((p = settled_read(path, &len)) == NULL) {
        *ret_err = EIO;
        return -1;
    }
    kind = (int)doc_check(p, len, ret_v, scratch);
    free(p);
    return kind;
}

/*
 * With V, the document is read again, 0.1 s apart, until it is whole and version V or later, for
 * at most XC_SETTLE_MS (default 10000): how long this client went on serving an older version,
 * or failing, after the writer returned is printed, and judged by the script.
 */
static int cmd_check_doc(int argc, char **argv, bool lib)
{
    long long t0 = now_ms(), settle = 10000;
    long want = argc > 1 ? parse_long(argv[1], "V") : -1, v = -1;
    char *buf = malloc(READ_MAX + 2), *scratch = malloc(DOC_MAX);
    const char *e = getenv("XC_SETTLE_MS");
    static const char *const kinds[] = {"whole", "torn", "empty"};
    int kind, err = 0;

    if (buf == NULL || scratch == NULL)
        die("out of memory");
    if (e != NULL && *e)
        settle = parse_long(e, "XC_SETTLE_MS");
    while (((kind = read_doc(argv[0], lib, buf, scratch, &v, &err)) != DOC_WHOLE || v < want) &&
           want >= 0 && now_ms() - t0 < settle)
        sleep_us(100000);
    printf("kind=%s\nv=%ld\nread_retries=%d\nsettle_ms=%lld\n", kind < 0 ? "error" : kinds[kind], v,
           read_retries, now_ms() - t0);
    if (kind < 0)
        printf("error=%s\n", ajio_err_name(-err));
    free(buf);
    free(scratch);
    return kind == DOC_WHOLE && v >= want ? 0 : 1;
}

static int cmd_show(int argc, char **argv)
{
    size_t len = 0;
    char *buf = settled_read(argv[0], &len);

    (void)argc;
    if (buf == NULL)
        return 1;
    fwrite(buf, 1, len, stdout);
    if (read_retries > 0)
        fprintf(stderr, "xclient: %s: read after %d retries\n", argv[0], read_retries);
    free(buf);
    return 0;
}

/* ---- locked read-modify-write ---------------------------------------------------------------- */

static long long counter_of(const char *text)
{
    const char *p = strstr(text, "\"n\":");

    return p == NULL ? -1 : strtoll(p + 4, NULL, 10);
}

static int increment(void *ctx, const void *old, size_t old_len, int exists, ajio_file *out)
{
    long long k = exists ? counter_of(old) : 0;

    (void)ctx;
    if (k < 0)
        return ajio_set_last_error(AJIO_EJSON, "no counter in %zu bytes: %.40s", old_len,
                                   (const char *)old);
    return ajio_file_printf(out, "{\"n\":%lld}\n", k + 1);
}

static int peek(void *ctx, const void *old, size_t old_len, int exists, ajio_file *out)
{
    (void)old_len;
    (void)out;
    *(long long *)ctx = exists ? counter_of(old) : -1;
    return AJIO_UNCHANGED;
}

/*
 * The counter as ajio_update() reads it, under the lock and from the server: a plain read may
 * still get an older version from this client's cache, which would count as updates lost.
 */
static int cmd_counter(int argc, char **argv)
{
    long long k = -1;
    int r = ajio_update(argv[0], peek, &k, -1, NULL);

    (void)argc;
    if (r < 0) {
        fprintf(stderr, "xclient: counter: %s\n", ajio_last_error());
        printf("error=%s\n", ajio_err_name(r));
        return 1;
    }
    printf("n=%lld\n", k);
    return k < 0;
}

static int cmd_update(int argc, char **argv, bool naive)
{
    long n = parse_long(argv[1], "N");
    struct tally t = {.lock = PTHREAD_MUTEX_INITIALIZER};
    char *buf = malloc(READ_MAX + 2);

    (void)argc;
    if (buf == NULL)
        die("out of memory");
    for (long i = 0; keep_going(i, n); i++) {
        const char *what;
        char doc[64];
        size_t len;
        long long k;
        int r;

        if (!naive) {
            tally_add(&t, ajio_update(argv[0], increment, NULL, -1, NULL), "update");
            continue;
        }
        /*
         * The lost update every unlocked read-modify-write risks. The read is tried again as
         * a careful program would, so that both clients keep updating: a client that gave up
         * on every ESTALE would leave the file to the other, and lose nothing.
         */
        for (int tries = 0;
             (r = plain_read(argv[0], buf, &len, &what)) == ESTALE || (r == ENOENT && tries < 50);
             tries++)
            sleep_us(10000);
        if (r != 0) {
            tally_add(&t, ajio_set_last_error(-r, "%s of \"%s\"", what, argv[0]), "naive-update");
            continue;
        }
        k = counter_of(buf);
        if (k < 0) {
            tally_add(&t, ajio_set_last_error(AJIO_EJSON, "no counter in \"%s\"", argv[0]),
                      "naive-update");
            continue;
        }
        len = (size_t)snprintf(doc, sizeof(doc), "{\"n\":%lld}\n", k + 1);
        sleep_us(race_us / 4);
        tally_add(&t, ajio_write_bytes(argv[0], doc, len, NULL), "naive-update");
    }
    tally_print(&t);
    free(buf);
    return 0;
}

/* ---- appends --------------------------------------------------------------------------------- */

struct appender {
    const char *path, *tag;
    long n;
    size_t pad; /* SIZE_MAX: i % 61, so that an overwrite shifts lines and shows */
    int threads;
    FILE *acks;
    ajio_log *log;
    struct tally t;
};

static size_t make_record(char *buf, const char *tag, long i, size_t pad)
{
    size_t n = (size_t)sprintf(buf, "{\"c\":\"%s\",\"i\":%ld,\"p\":\"", tag, i);

    if (pad == SIZE_MAX)
        pad = (size_t)(i % 61);
    memset(buf + n, 'p', pad);
    memcpy(buf + n + pad, "\"}\n", 3);
    return n + pad + 3;
}

static void ack(struct appender *a, long i)
{
    pthread_mutex_lock(&a->t.lock);
    fprintf(a->acks, "%s %ld\n", a->tag, i);
    pthread_mutex_unlock(&a->t.lock);
}

static FILE *open_acks(const char *path)
{
    FILE *f = fopen(path, "a");

    if (f == NULL)
        die("%s: %s", path, strerror(errno));
    /* A client the case's timeout kills still leaves the acknowledgements it had. */
    setvbuf(f, NULL, _IOLBF, 0);
    return f;
}

/* A writer without lock nor O_APPEND that takes the end of the file from fstat. */
static int naive_append(const char *path, const char *rec, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), r = 0;
    struct stat st;

    if (fd < 0)
        return ajio_set_last_error(-errno, "open of \"%s\": %s", path, strerror(errno));
    if (fstat(fd, &st) < 0) {
        r = -errno;
    } else {
        sleep_us(race_us / 20);
        ssize_t w = pwrite(fd, rec, len, st.st_size);
        if (w < 0)
            r = -errno;
        else if ((size_t)w != len)
            r = -EIO;
    }
    if (close(fd) < 0 && r == 0)
        r = -errno;
    return r < 0 ? ajio_set_last_error(r, "naive append to \"%s\": %s", path, strerror(-r)) : 0;
}

struct worker {
    struct appender *a;
    int id;
    bool naive;
};

static void *append_worker(void *p)
{
    struct worker *w = p;
    struct appender *a = w->a;
    char *rec = malloc((a->pad == SIZE_MAX ? 64 : a->pad) + 64 + TAG_MAX);

    if (rec == NULL)
        die("out of memory");
    /* Thread k of T appends records k, k + T, ...: the indexes stay unique per tag. */
    for (long i = w->id; keep_going(i, a->n); i += a->threads) {
        size_t len = make_record(rec, a->tag, i, a->pad);
        int r = a->log     ? ajio_log_append(a->log, rec, len)
                : w->naive ? naive_append(a->path, rec, len)
                           : ajio_append(a->path, rec, len, NULL);

        tally_add(&a->t, r, a->log ? "log append" : w->naive ? "naive-append" : "append");
        if (r >= 0)
            ack(a, i);
    }
    free(rec);
    return NULL;
}

static int cmd_append(int argc, char **argv, int mode)
{
    struct appender a = {.path = argv[0],
                         .tag = argv[2],
                         .n = parse_long(argv[1], "N"),
                         .pad = SIZE_MAX,
                         .threads = 1,
                         .t = {.lock = PTHREAD_MUTEX_INITIALIZER}};
    struct worker w[16];
    pthread_t th[16];

    if (strlen(a.tag) >= TAG_MAX || strchr(a.tag, '"') || strchr(a.tag, ' '))
        die("TAG: at most %d characters, no quote nor space: '%s'", TAG_MAX - 1, a.tag);
    if (mode == 'l' && argc > 4)
        a.threads = (int)parse_long(argv[4], "THREADS");
    else if (mode == 'a' && argc > 4)
        a.pad = (size_t)parse_long(argv[4], "PAD");
    if (a.threads < 1 || a.threads > 16)
        die("THREADS: 1 to 16");
    a.acks = open_acks(argv[3]);
    if (mode == 'l') {
        int r = ajio_log_open(&a.log, a.path, NULL);
        if (r < 0) {
            tally_add(&a.t, r, "ajio_log_open");
            tally_print(&a.t);
            return 0;
        }
    }
    for (int k = 0; k < a.threads; k++) {
        w[k] = (struct worker){&a, k, mode == 'n'};
        if (pthread_create(&th[k], NULL, append_worker, &w[k]) != 0)
            die("pthread_create failed");
    }
    for (int k = 0; k < a.threads; k++)
        pthread_join(th[k], NULL);
    if (a.log != NULL) {
        int r = ajio_log_close(a.log);
        printf("close=%s\n", ajio_err_name(r));
        if (r < 0)
            fprintf(stderr, "xclient: ajio_log_close: %s\n", ajio_last_error());
    }
    tally_print(&a.t);
    fclose(a.acks);
    return 0;
}

/* ---- judging a log --------------------------------------------------------------------------- */

struct tagrec {
    char name[TAG_MAX];
    unsigned char *seen, *acked; /* per index: copies in the file (saturating), acknowledged */
    size_t cap;
};

static struct tagrec tags[32];
static size_t ntags;

static struct tagrec *tag_slot(const char *name, long i)
{
    struct tagrec *t = NULL;

    if (i < 0 || i >= 10000000)
        return NULL;
    for (size_t k = 0; k < ntags && t == NULL; k++)
        if (strcmp(tags[k].name, name) == 0)
            t = &tags[k];
    if (t == NULL) {
        if (ntags == sizeof(tags) / sizeof(tags[0]))
            return NULL;
        t = &tags[ntags++];
        snprintf(t->name, sizeof(t->name), "%s", name);
    }
    if ((size_t)i >= t->cap) {
        size_t cap = (size_t)i * 2 + 64;
        t->seen = realloc(t->seen, cap);
        t->acked = realloc(t->acked, cap);
        if (t->seen == NULL || t->acked == NULL)
            die("out of memory");
        memset(t->seen + t->cap, 0, cap - t->cap);
        memset(t->acked + t->cap, 0, cap - t->cap);
        t->cap = cap;
    }
    return t;
}

struct log_counts {
    long lines, records, broken, acked, dup, missing, unacked;
    bool torn_tail;
};

/* Counts the records of buf (the log) against the acknowledgements in tags[]. */
static void judge_log(const char *path, const char *buf, size_t len, struct log_counts *c,
                      bool verbose)
{
    const char *p = buf, *end = buf + len;
    char tag[TAG_MAX];
    size_t shown = 0;
    long i;

    for (size_t k = 0; k < ntags; k++)
        memset(tags[k].seen, 0, tags[k].cap);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct tagrec *t;

        if (nl == NULL) {
            c->torn_tail = true;
            c->broken++;
            if (verbose)
                fprintf(stderr, "xclient: %s: torn last line of %zu bytes\n", path,
                        (size_t)(end - p));
            break;
        }
        c->lines++;
        /* sscanf() stops within a line that is valid JSON: the buffer stays as it was read. */
        if (ajio_json_validate(p, (size_t)(nl - p), 0, NULL) != 0 ||
            sscanf(p, "{\"c\":\"%31[^\"]\",\"i\":%ld", tag, &i) != 2 ||
            (t = tag_slot(tag, i)) == NULL) {
            if (c->broken++ < 3 && verbose)
                fprintf(stderr, "xclient: %s:%ld: broken line: %.*s\n", path, c->lines,
                        nl - p < 80 ? (int)(nl - p) : 80, p);
        } else {
            c->records++;
            if (t->seen[i] < 255)
                t->seen[i]++;
        }
        p = nl + 1;
    }
    for (size_t k = 0; k < ntags; k++) {
        for (size_t j = 0; j < tags[k].cap; j++) {
            const char *what = NULL;

            c->acked += tags[k].acked[j] != 0;
            if (tags[k].seen[j] > 1) {
                c->dup += tags[k].seen[j] - 1;
                what = "duplicated";
            }
            if (tags[k].acked[j] && !tags[k].seen[j]) {
                c->missing++;
                what = "acknowledged but missing";
            }
            if (!tags[k].acked[j] && tags[k].seen[j])
                c->unacked++;
            if (what != NULL && verbose && shown++ < 5)
                fprintf(stderr, "xclient: %s: record %s %zu %s\n", path, tags[k].name, j, what);
        }
    }
}

static int cmd_check_log(int argc, char **argv)
{
    struct log_counts c;
    char tag[TAG_MAX];
    int rereads = 0;
    size_t len = 0;
    char *buf = NULL;
    long i;

    for (int k = 1; k < argc; k++) {
        FILE *f = fopen(argv[k], "r");
        struct tagrec *t;

        if (f == NULL)
            die("%s: %s", argv[k], strerror(errno));
        while (fscanf(f, "%31s %ld", tag, &i) == 2)
            if ((t = tag_slot(tag, i)) != NULL)
                t->acked[i] = 1;
        fclose(f);
    }
    for (;;) {
        if ((buf = settled_read(argv[0], &len)) == NULL)
            return 1;
        c = (struct log_counts){0};
        judge_log(argv[0], buf, len, &c, false);
        /*
         * The last records another client appended can stay hidden for a moment behind this
         * client's cached size of the file: the file is read again before they count as lost.
         */
        if (c.missing == 0 || rereads == 3)
            break;
        free(buf);
        rereads++;
        sleep_us(1000000);
    }
    c = (struct log_counts){0};
    judge_log(argv[0], buf, len, &c, true);
    printf("lines=%ld\nrecords=%ld\nacked=%ld\nmissing=%ld\ndup=%ld\nbroken=%ld\ntorn_tail=%d\n"
           "unacked=%ld\nrereads=%d\nread_retries=%d\n",
           c.lines, c.records, c.acked, c.missing, c.dup, c.broken, c.torn_tail, c.unacked, rereads,
           read_retries);
    free(buf);
    return c.missing || c.dup || c.broken ? 1 : 0;
}

/* ---- exclusive creation ---------------------------------------------------------------------- */

static int cmd_create(int argc, char **argv, bool naive)
{
    long m = parse_long(argv[2], "M"), won = 0, lost = 0;
    struct tally t = {.lock = PTHREAD_MUTEX_INITIALIZER};
    ajio_opts excl = {.flags = AJIO_CREATE_ONLY};
    FILE *wins = open_acks(argv[4]);

    (void)argc;
    for (long i = 0; keep_going(i, m); i++) {
        char path[4096], doc[128];
        size_t len =
            (size_t)snprintf(doc, sizeof(doc), "{\"owner\":\"%s\",\"i\":%ld}\n", argv[3], i);
        int r;

        snprintf(path, sizeof(path), "%s/%s-%ld", argv[0], argv[1], i);
        if (naive) {
            /* Check, then create: the other client can do the same between the two. */
            if (access(path, F_OK) == 0) {
                r = -EEXIST;
            } else {
                sleep_us(race_us);
                r = ajio_write_bytes(path, doc, len, NULL);
            }
        } else {
            r = ajio_write_bytes(path, doc, len, &excl);
        }
        if (r == -EEXIST) {
            lost++;
            continue;
        }
        tally_add(&t, r, naive ? "naive-create" : "create");
        if (r >= 0) {
            won++;
            fprintf(wins, "%s %ld\n", argv[3], i);
        }
    }
    printf("won=%ld\nlost=%ld\n", won, lost);
    tally_print(&t);
    fclose(wins);
    return 0;
}

static int cmd_check_create(int argc, char **argv)
{
    long m = parse_long(argv[2], "M"), once = 0, twice = 0, none = 0, wrong = 0;
    unsigned char *wins = calloc((size_t)m + 1, 1);
    char(*winner)[TAG_MAX] = calloc((size_t)m + 1, TAG_MAX);
    char who[TAG_MAX];
    long i;

    if (wins == NULL || winner == NULL)
        die("out of memory");
    for (int k = 3; k < argc; k++) {
        FILE *f = fopen(argv[k], "r");

        if (f == NULL)
            die("%s: %s", argv[k], strerror(errno));
        while (fscanf(f, "%31s %ld", who, &i) == 2)
            if (i >= 0 && i < m && wins[i]++ == 0)
                memcpy(winner[i], who, TAG_MAX);
        fclose(f);
    }
    for (i = 0; i < m; i++) {
        char path[4096], owner[TAG_MAX] = "", *buf;
        size_t len;

        snprintf(path, sizeof(path), "%s/%s-%ld", argv[0], argv[1], i);
        if ((buf = settled_read(path, &len)) != NULL) {
            if (sscanf(buf, "{\"owner\":\"%31[^\"]\"", owner) != 1)
                owner[0] = '\0';
            free(buf);
        }
        if (wins[i] > 1) {
            if (twice++ < 3)
                fprintf(stderr, "xclient: %s: won by %d clients, holds \"%s\"\n", path, wins[i],
                        owner);
        } else if (wins[i] == 0) {
            if (none++ < 3)
                fprintf(stderr, "xclient: %s: won by nobody (holds \"%s\")\n", path, owner);
        } else if (strcmp(owner, winner[i]) != 0) {
            if (wrong++ < 3)
                fprintf(stderr, "xclient: %s: won by %s but holds \"%s\"\n", path, winner[i],
                        owner);
        } else {
            once++;
        }
    }
    printf("names=%ld\nonce=%ld\ndouble=%ld\nnone=%ld\nwrong_owner=%ld\nread_retries=%d\n", m, once,
           twice, none, wrong, read_retries);
    free(wins);
    free(winner);
    return twice || none || wrong ? 1 : 0;
}

/* ---- live and dead temps --------------------------------------------------------------------- */

static const ajio_opts named_temp = {.flags = AJIO_NO_TMPFILE};

static int cmd_hold_temp(int argc, char **argv)
{
    char *doc = malloc(DOC_MAX);
    size_t len = make_doc(doc, HOLD_V);
    ajio_file *f;
    int fd, r;

    (void)argc;
    /* A named temp, which a sweeper can see, where the filesystem would have an O_TMPFILE. */
    r = ajio_file_open(&f, argv[0], &named_temp);
    if (r == 0)
        r = ajio_file_write(f, doc, len);
    fd = open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        die("%s: %s", argv[2], strerror(errno));
    close(fd);
    if (r < 0) {
        fprintf(stderr, "xclient: hold-temp: %s\n", ajio_last_error());
        printf("committed=0\nerror=%s\n", ajio_err_name(r));
        return 0;
    }
    sleep_us(parse_long(argv[1], "SECONDS") * 1000000);
    r = ajio_file_commit(f);
    if (r < 0)
        fprintf(stderr, "xclient: hold-temp commit: %s\n", ajio_last_error());
    printf("committed=%d\nerror=%s\nv=%d\n", r >= 0, ajio_err_name(r), HOLD_V);
    free(doc);
    return 0;
}

static int cmd_plant(int argc, char **argv)
{
    long k = parse_long(argv[1], "K"), planted = 0;

    (void)argc;
    for (long j = 0; j < k; j++) {
        int p[2];
        char c = 'f';
        pid_t pid;

        if (pipe(p) < 0 || (pid = fork()) < 0)
            die("pipe/fork: %s", strerror(errno));
        if (pid == 0) {
            ajio_file *f;
            int r = ajio_file_open(&f, argv[0], &named_temp);

            if (r == 0)
                r = ajio_file_write(f, "{\"dead\":true}\n", 14);
            if (r < 0)
                fprintf(stderr, "xclient: plant: %s\n", ajio_last_error());
            c = r == 0 ? 'r' : 'f';
            if (write(p[1], &c, 1) != 1)
                _exit(1);
            pause();
            _exit(0);
        }
        close(p[1]);
        if (read(p[0], &c, 1) == 1 && c == 'r')
            planted++;
        close(p[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    printf("planted=%ld\n", planted);
    return 0;
}

/* ---- sets of files --------------------------------------------------------------------------- */

static int cmd_set(int argc, char **argv, int mode)
{
    long n = parse_long(argv[1], "N"), gap_us = 5000;
    struct tally t = {.lock = PTHREAD_MUTEX_INITIALIZER};
    const char *g = getenv("XC_SET_GAP_US");

    (void)argc;
    if (g != NULL)
        gap_us = parse_long(g, "XC_SET_GAP_US");
    for (long r = 0; keep_going(r, n); r++) {
        char doc[128], path[4096], name[16];
        size_t len =
            (size_t)snprintf(doc, sizeof(doc), "{\"tag\":\"%s\",\"round\":%ld}\n", argv[2], r);
        ajio_batch *b = NULL;
        ajio_txn *x = NULL;
        int res = 0;

        if (mode == 't')
            res = ajio_txn_begin(&x, argv[0], NULL);
        else if (mode == 'b')
            res = ajio_batch_new(&b, NULL);
        for (int m = 0; m < MEMBERS && res == 0; m++) {
            snprintf(name, sizeof(name), "m%d.json", m);
            snprintf(path, sizeof(path), "%s/%s", argv[0], name);
            if (mode == 't') {
                res = ajio_txn_write(x, name, doc, len);
            } else if (mode == 'b') {
                res = ajio_batch_add(b, path, doc, len);
            } else {
                /* Each member alone, with time between them for a kill to land in. */
                res = ajio_write_bytes(path, doc, len, NULL);
                sleep_us(gap_us);
            }
        }
        if (res == 0 && x != NULL)
            res = ajio_txn_commit(x);
        else if (res == 0 && b != NULL)
            res = ajio_batch_commit(b);
        ajio_txn_free(x);
        ajio_batch_free(b);
        tally_add(&t, res, mode == 't' ? "txn" : mode == 'b' ? "batch" : "naive-set");
    }
    tally_print(&t);
    return 0;
}

static int cmd_check_set(int argc, char **argv)
{
    char tag[MEMBERS][TAG_MAX], all[MEMBERS * (TAG_MAX + 24)] = "";
    long round[MEMBERS];
    bool mixed = false, missing = false;

    (void)argc;
    for (int m = 0; m < MEMBERS; m++) {
        char path[4096], *buf;
        size_t len;

        snprintf(path, sizeof(path), "%s/m%d.json", argv[0], m);
        buf = settled_read(path, &len);
        if (buf == NULL ||
            sscanf(buf, "{\"tag\":\"%31[^\"]\",\"round\":%ld", tag[m], &round[m]) != 2) {
            snprintf(tag[m], TAG_MAX, "%s", buf ? "unreadable" : "missing");
            round[m] = -1;
            missing = true;
        }
        free(buf);
        snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s/%ld", m ? "," : "", tag[m],
                 round[m]);
        if (strcmp(tag[m], tag[0]) != 0 || round[m] != round[0])
            mixed = true;
    }
    printf("set=%s\nmembers=%s\nread_retries=%d\n",
           missing ? "missing"
           : mixed ? "mixed"
                   : "same",
           all, read_retries);
    return missing || mixed ? 1 : 0;
}

/* ---- a full filesystem ----------------------------------------------------------------------- */

static int cmd_fill(int argc, char **argv)
{
    static char chunk[65536];
    int fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), err = 0;
    long long bytes = 0;

    (void)argc;
    if (fd < 0)
        die("%s: %s", argv[0], strerror(errno));
    memset(chunk, 'f', sizeof(chunk));
    /* A server may take writes into its cache and refuse them only at the sync or the close. */
    while (err == 0 && bytes < (1LL << 30)) {
        ssize_t w = write(fd, chunk, sizeof(chunk));
        if (w < 0)
            err = errno;
        else
            bytes += w;
    }
    if (fsync(fd) < 0 && err == 0)
        err = errno;
    if (close(fd) < 0 && err == 0)
        err = errno;
    printf("bytes=%lld\nerror=%s\n", bytes, err ? ajio_err_name(-err) : "none");
    return 0;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

struct command {
    const char *name, *args;
    int min, max;
    int (*fn)(int argc, char **argv);
};

#define VARIANT(fn, name, arg)                                                                     \
    static int fn(int argc, char **argv)                                                           \
    {                                                                                              \
        return name(argc, argv, arg);                                                              \
    }
VARIANT(run_replace, cmd_replace, false)
VARIANT(run_naive_replace, cmd_replace, true)
VARIANT(run_read_plain, cmd_read, false)
VARIANT(run_read_lib, cmd_read, true)
VARIANT(run_check_doc, cmd_check_doc, false)
VARIANT(run_check_lib_doc, cmd_check_doc, true)
VARIANT(run_update, cmd_update, false)
VARIANT(run_naive_update, cmd_update, true)
VARIANT(run_append, cmd_append, 'a')
VARIANT(run_naive_append, cmd_append, 'n')
VARIANT(run_log, cmd_append, 'l')
VARIANT(run_create, cmd_create, false)
VARIANT(run_naive_create, cmd_create, true)
VARIANT(run_txn, cmd_set, 't')
VARIANT(run_batch, cmd_set, 'b')
VARIANT(run_naive_set, cmd_set, 'n')

static const struct command commands[] = {
    {"replace", "FILE N [FIRST]", 2, 3, run_replace},
    {"naive-replace", "FILE N [FIRST]", 2, 3, run_naive_replace},
    {"read-plain", "FILE SECONDS", 2, 2, run_read_plain},
    {"read-lib", "FILE SECONDS", 2, 2, run_read_lib},
    {"check-doc", "FILE [V]", 1, 2, run_check_doc},
    {"check-lib-doc", "FILE [V]", 1, 2, run_check_lib_doc},
    {"show", "FILE", 1, 1, cmd_show},
    {"counter", "FILE", 1, 1, cmd_counter},
    {"update", "FILE N", 2, 2, run_update},
    {"naive-update", "FILE N", 2, 2, run_naive_update},
    {"append", "FILE N TAG ACKS [PAD]", 4, 5, run_append},
    {"naive-append", "FILE N TAG ACKS", 4, 4, run_naive_append},
    {"log", "FILE N TAG ACKS [THREADS]", 4, 5, run_log},
    {"check-log", "FILE ACKS...", 1, 64, cmd_check_log},
    {"create", "DIR PREFIX M WHO WON", 5, 5, run_create},
    {"naive-create", "DIR PREFIX M WHO WON", 5, 5, run_naive_create},
    {"check-create", "DIR PREFIX M WON...", 3, 64, cmd_check_create},
    {"hold-temp", "FILE SECONDS READY", 3, 3, cmd_hold_temp},
    {"plant-dead-temps", "FILE K", 2, 2, cmd_plant},
    {"txn", "DIR N TAG", 3, 3, run_txn},
    {"batch", "DIR N TAG", 3, 3, run_batch},
    {"naive-set", "DIR N TAG", 3, 3, run_naive_set},
    {"check-set", "DIR", 1, 1, cmd_check_set},
    {"fill", "FILE", 1, 1, cmd_fill},
};

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_stop};
    const char *e;

    /* No SA_RESTART: a reader told to stop leaves its loop at once and prints its counts. */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if ((e = getenv("XC_UNTIL_MS")) != NULL && *e)
        until_ms = strtoll(e, NULL, 10);
    if ((e = getenv("XC_PACE_MS")) != NULL && *e)
        pace_ms = parse_long(e, "XC_PACE_MS");
    if ((e = getenv("XC_RACE_US")) != NULL && *e)
        race_us = parse_long(e, "XC_RACE_US");
    if ((e = getenv("XC_START_MS")) != NULL && *e) {
        long long wait = strtoll(e, NULL, 10) - now_ms();
        if (wait > 0)
            sleep_us((long)wait * 1000);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++) {
        const struct command *c = &commands[i];
        if (strcmp(argv[1], c->name) != 0)
            continue;
        if (argc - 2 < c->min || argc - 2 > c->max)
            die("usage: xclient %s %s", c->name, c->args);
        return c->fn(argc - 2, argv + 2);
    }
    fprintf(stderr, "usage: xclient COMMAND ARGS...\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(stderr, "  %s %s\n", commands[i].name, commands[i].args);
    return 2;
}

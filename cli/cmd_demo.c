/*
 * cmd_demo.c - "ajio demo": writes the three example files, then the torn-read showdown.
 *
 * The showdown runs the same reader processes against two writers in turn:
 *
 *   naive  open(O_TRUNC) and the new document written in several pieces, what most programs do;
 *   ajio   ajio_write_bytes().
 *
 * Every document is a self-checking JSON object whose header holds its total length and an
 * FNV-1a checksum of everything after the header, so a reader classifies each read without
 * knowing what was written:
 *
 *   {"len":"0000012345","fnv":"0123456789abcdef","body":"w1-s42:qhdu...."}\n
 *
 *   complete  length and checksum match and the bytes are valid JSON;
 *   torn      a header was read but the length or checksum is wrong: a prefix of a document,
 *             or pieces of two documents;
 *   empty     zero bytes (read right after the truncation);
 *   invalid   not even a header: e.g. the hole a truncation leaves under another writer.
 *
 * Processes, not threads: that is how separate programs share a file, and it keeps the readers'
 * view honest (nothing shared but the file). Counters live in a shared anonymous mapping, one
 * slot per process, each written only by its owner.
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WRITERS 64
#define MAX_READERS 64
#define DOC_MIN (1024)
#define DOC_MAX (256 * 1024)
/* A reader's buffer: a naive writer can leave a file longer than any single document only by a
 * bug, but a reader must still see (and count) that rather than overflow. */
#define READ_MAX (2 * DOC_MAX)
/* Pieces of one naive write: each write(2) is a moment where a reader sees a prefix. */
#define NAIVE_PIECES 4
#define HDR_FMT "{\"len\":\"%010zu\",\"fnv\":\"%016" PRIx64 "\",\"body\":\""
#define HDR_LEN 53 /* strlen of HDR_FMT once formatted: 8 + 10 + 9 + 16 + 10 */
#define TAIL "\"}\n"

const char cmd_demo_usage[] =
    "Usage: ajio demo [OPTION]...\n"
    "Write three example files with libajio and show them, then run the torn-read showdown:\n"
    "reader processes read a file over and over while writer processes replace it, first\n"
    "naively (open with O_TRUNC, write in pieces), then with ajio_write_bytes(). Each read is\n"
    "classified as complete, torn, empty or invalid. Exit status 70 if any read of the ajio\n"
    "file was not complete.\n"
    "\n"
    "      --dir DIR      where to write the files (default ./ajio-demo)\n"
    "      --seconds N    how long each writer runs (default 5)\n"
    "      --writers N    concurrent writer processes (default 2, at most 64)\n"
    "      --readers N    concurrent reader processes (default 2, at most 64)\n"
    "      --sync         make the ajio writes durable (fsync); default AJIO_NO_SYNC, since\n"
    "                     what readers see does not depend on fsync\n"
    "  -h, --help         show this help\n";

/* Counters of one process. Written by that process only (relaxed), read by the parent. */
struct slot {
    _Atomic uint64_t writes, write_errors;
    _Atomic uint64_t reads, complete, torn, empty, invalid, read_errors;
};

struct shared {
    atomic_int stop;
    atomic_int have_message;
    char message[256]; /* the first writer or reader error, for the final report */
    struct slot slots[MAX_WRITERS + MAX_READERS];
};

struct totals {
    uint64_t writes, write_errors, reads, complete, torn, empty, invalid, read_errors;
};

enum { WRITER_NAIVE, WRITER_AJIO };
static const char *const writer_names[] = {"naive", "ajio"};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

static uint64_t fnv1a(const char *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3u;
    }
    return h;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static double now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Builds document seq of writer w into buf (DOC_MAX bytes). @return its length. */
static size_t make_doc(char *buf, int w, uint64_t seq, uint64_t *rng)
{
    size_t len = DOC_MIN + (size_t)(xorshift(rng) % (DOC_MAX - DOC_MIN + 1));
    size_t body_end = len - (sizeof(TAIL) - 1);
    size_t i = HDR_LEN;
    uint64_t r = 0;
    char save;

    i += (size_t)snprintf(buf + i, body_end - i, "w%d-s%" PRIu64 ":", w, seq);
    for (size_t k = 0; i < body_end; i++, k++) {
        if (k % 12 == 0)
            r = xorshift(rng);
        buf[i] = (char)('a' + (r % 26));
        r /= 26;
    }
    memcpy(buf + body_end, TAIL, sizeof(TAIL) - 1);
    /* snprintf writes a NUL after the header: keep the body's first byte. */
    save = buf[HDR_LEN];
    snprintf(buf, HDR_LEN + 1, HDR_FMT, len, fnv1a(buf + HDR_LEN, len - HDR_LEN));
    buf[HDR_LEN] = save;
    return len;
}

enum { READ_COMPLETE, READ_TORN, READ_EMPTY, READ_INVALID };

static int classify(const char *buf, size_t n)
{
    char hdr[HDR_LEN + 1];
    size_t len;
    uint64_t sum;
    int used = 0;

    if (n == 0)
        return READ_EMPTY;
    if (n < HDR_LEN)
        return memcmp(buf, "{\"len\":", n < 7 ? n : 7) == 0 ? READ_TORN : READ_INVALID;
    memcpy(hdr, buf, HDR_LEN);
    hdr[HDR_LEN] = '\0';
    if (sscanf(hdr, "{\"len\":\"%10zu\",\"fnv\":\"%16" SCNx64 "\",\"body\":\"%n", &len, &sum,
               &used) != 2 ||
        used != HDR_LEN)
        return READ_INVALID;
    if (len != n || fnv1a(buf + HDR_LEN, n - HDR_LEN) != sum)
        return READ_TORN;
    /* Length and checksum can only match a whole document; the JSON check proves the rest. */
    return ajio_json_validate(buf, n, 0, NULL) == 0 ? READ_COMPLETE : READ_INVALID;
}

static void note_error(struct shared *sh, const char *what, const char *detail)
{
    if (atomic_exchange(&sh->have_message, 1) == 0)
        snprintf(sh->message, sizeof(sh->message), "%.100s: %.150s", what, detail);
}

/* write(2) of all of len bytes, retrying EINTR and short writes. */
static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The way most programs write a file: a reader can see it empty, partial or mixed. */
static int naive_write(const char *path, const char *doc, size_t len)
{
    size_t piece = (len + NAIVE_PIECES - 1) / NAIVE_PIECES;
    int fd, r = 0;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    for (size_t off = 0; off < len && r == 0; off += piece) {
        r = write_all(fd, doc + off, len - off < piece ? len - off : piece);
    }
    if (close(fd) < 0 && r == 0)
        r = -errno;
    return r;
}

static void writer_loop(struct shared *sh, struct slot *s, int kind, int w, const char *path,
                        const ajio_opts *opts)
{
    char *doc = malloc(DOC_MAX);
    uint64_t rng = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ 0x9e3779b97f4a7c15u;

    if (doc == NULL) {
        note_error(sh, "writer", "out of memory");
        atomic_fetch_add_explicit(&s->write_errors, 1, memory_order_relaxed);
        return;
    }
    for (uint64_t seq = 0; !atomic_load_explicit(&sh->stop, memory_order_relaxed); seq++) {
        size_t len = make_doc(doc, w, seq, &rng);
        int r;

        if (kind == WRITER_NAIVE) {
            r = naive_write(path, doc, len);
            if (r < 0)
                note_error(sh, path, strerror(-r));
        } else {
            r = ajio_write_bytes(path, doc, len, opts);
            if (r < 0)
                note_error(sh, "ajio_write_bytes", ajio_last_error());
        }
        atomic_fetch_add_explicit(r < 0 ? &s->write_errors : &s->writes, 1, memory_order_relaxed);
        if (r < 0)
            usleep(10000); /* a persistent error (disk full) must not spin */
    }
    free(doc);
}

static void reader_loop(struct shared *sh, struct slot *s, const char *path)
{
    char *buf = malloc(READ_MAX);

    if (buf == NULL) {
        note_error(sh, "reader", "out of memory");
        atomic_fetch_add_explicit(&s->read_errors, 1, memory_order_relaxed);
        return;
    }
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        size_t n = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC), kind;

        if (fd < 0) {
            note_error(sh, path, strerror(errno));
            atomic_fetch_add_explicit(&s->read_errors, 1, memory_order_relaxed);
            usleep(1000);
            continue;
        }
        for (ssize_t k; n < READ_MAX && (k = cli_read_retry(fd, buf + n, READ_MAX - n)) > 0;)
            n += (size_t)k;
        (void)close(fd);
        kind = classify(buf, n);
        atomic_fetch_add_explicit(&s->reads, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(kind == READ_COMPLETE ? &s->complete
                                  : kind == READ_TORN   ? &s->torn
                                  : kind == READ_EMPTY  ? &s->empty
                                                        : &s->invalid,
                                  1, memory_order_relaxed);
    }
    free(buf);
}

static void sum_slots(const struct shared *sh, int nprocs, struct totals *t)
{
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < nprocs; i++) {
        const struct slot *s = &sh->slots[i];

        t->writes += atomic_load_explicit(&s->writes, memory_order_relaxed);
        t->write_errors += atomic_load_explicit(&s->write_errors, memory_order_relaxed);
        t->reads += atomic_load_explicit(&s->reads, memory_order_relaxed);
        t->complete += atomic_load_explicit(&s->complete, memory_order_relaxed);
        t->torn += atomic_load_explicit(&s->torn, memory_order_relaxed);
        t->empty += atomic_load_explicit(&s->empty, memory_order_relaxed);
        t->invalid += atomic_load_explicit(&s->invalid, memory_order_relaxed);
        t->read_errors += atomic_load_explicit(&s->read_errors, memory_order_relaxed);
    }
}

static void progress(int tty, const char *name, double elapsed, const struct totals *t)
{
    fprintf(stderr,
            "%s%-5s %5.1fs  writes %8" PRIu64 "  reads %8" PRIu64 "  torn %7" PRIu64
            "  empty %7" PRIu64 "  invalid %7" PRIu64 "%s",
            tty ? "\r\033[K" : "", name, elapsed, t->writes, t->reads, t->torn, t->empty,
            t->invalid, tty ? "" : "\n");
    fflush(stderr);
}

/*
 * Runs one phase: writers of the given kind and the readers against path for seconds.
 * @return 0, or a negative errno if the phase could not be set up.
 */
static int run_phase(struct shared *sh, int kind, const char *path, int writers, int readers,
                     double seconds, const ajio_opts *opts, struct totals *t)
{
    int nprocs = writers + readers, started = 0, tty = isatty(STDERR_FILENO);
    pid_t pids[MAX_WRITERS + MAX_READERS];
    static char first[DOC_MAX];
    uint64_t rng = 42;
    double start, next_line;
    int r;

    memset(sh->slots, 0, sizeof(sh->slots));
    atomic_store(&sh->stop, 0);
    /* Readers start on a complete document, so every bad read is the writer's doing. */
    r = ajio_write_bytes(path, first, make_doc(first, 0, 0, &rng), opts);
    if (r < 0) {
        cli_error("%s", ajio_last_error());
        return r;
    }
    fflush(NULL);
    for (int i = 0; i < nprocs; i++) {
        pid_t pid = fork();

        if (pid < 0) {
            r = -errno;
            cli_error("fork: %s", strerror(errno));
            break;
        }
        if (pid == 0) {
            /* Ctrl-C reaches the whole process group: the parent stops the children in order,
             * and they must not outlive it if it is killed. */
            signal(SIGINT, SIG_IGN);
            signal(SIGTERM, SIG_DFL);
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() == 1)
                _exit(0);
            if (i < writers)
                writer_loop(sh, &sh->slots[i], kind, i + 1, path, opts);
            else
                reader_loop(sh, &sh->slots[i], path);
            _exit(0);
        }
        pids[started++] = pid;
    }
    start = now_sec();
    next_line = start + 1.0;
    while (r == 0 && !interrupted) {
        struct timespec tick = {0, 200 * 1000 * 1000};
        double elapsed = now_sec() - start;

        if (elapsed >= seconds)
            break;
        nanosleep(&tick, NULL);
        sum_slots(sh, nprocs, t);
        /* A terminal gets a line redrawn 5 times a second; a log one line a second. */
        if (tty || now_sec() >= next_line) {
            progress(tty, writer_names[kind], now_sec() - start, t);
            next_line += 1.0;
        }
    }
    atomic_store(&sh->stop, 1);
    for (int i = 0; i < started; i++) {
        int status;

        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            note_error(sh, writer_names[kind], "a child process died");
            r = r < 0 ? r : -ECHILD;
        }
    }
    sum_slots(sh, nprocs, t);
    if (tty)
        fputs("\r\033[K", stderr);
    else
        progress(0, writer_names[kind], now_sec() - start, t);
    return r;
}

/* Prints one example file the library wrote. */
static void show_file(const char *path)
{
    char buf[4096];
    size_t n;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        cli_print_line(stdout, "==> %s: %s <==", path, strerror(errno));
        return;
    }
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    /* The name comes from --dir and is escaped; the content is the demo's own. */
    cli_print_line(stdout, "==> %s (%zu bytes) <==", path, n);
    fwrite(buf, 1, n, stdout);
    if (n > 0 && buf[n - 1] != '\n')
        putchar('\n');
}

/* dir/name into buf (4096 bytes), or an error if it does not fit. @return 0 or -ENAMETOOLONG. */
static int join_path(char *buf, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, 4096, "%s/%s", dir, name) >= 4096) {
        cli_error("--dir is too long");
        return -ENAMETOOLONG;
    }
    return 0;
}

/*
 * The three examples of the original package's README, the same bytes as in this project's README
 * and tests/cases/adapters/seed/ (tests/cli/demo.sh compares them).
 */
static int write_examples(const char *dir)
{
    static const char config[] = "{\n"
                                 "  \"name\": \"demo\",\n"
                                 "  \"debug\": true,\n"
                                 "  \"port\": 8080\n"
                                 "}";
    static const char notes[] = "# Notes\n"
                                "\n"
                                "Written atomically.";
    static const char events[] = "{\"event\":\"start\",\"id\":1}\n"
                                 "{\"event\":\"tick\",\"id\":2,\"tags\":[\"a\",\"b\"]}\n"
                                 "{\"event\":\"stop\",\"id\":3,\"ok\":true}\n";
    static const char *const names[] = {"config.json", "notes.md", "events.jsonl"};
    char path[3][4096];
    int r;

    for (int i = 0; i < 3; i++) {
        if ((r = join_path(path[i], dir, names[i])) < 0)
            return r;
    }
    /* Each one through a different entry point of the library. */
    r = ajio_write_json_text(path[0], config, sizeof(config) - 1, NULL);
    if (r >= 0)
        r = ajio_write_text(path[1], notes, NULL);
    if (r >= 0)
        r = ajio_write_jsonl_text(path[2], events, sizeof(events) - 1, NULL);
    if (r < 0) {
        cli_error("%s", ajio_last_error());
        return r;
    }
    printf("Example files written atomically and durably with libajio %s:\n", ajio_version());
    for (int i = 0; i < 3; i++)
        show_file(path[i]);
    putchar('\n');
    return 0;
}

enum { OPT_DIR = CLI_OPT_COMMAND, OPT_SECONDS, OPT_WRITERS, OPT_READERS };

static const struct cli_option options[] = {
    {"dir", required_argument, OPT_DIR, 0, 0},
    {"seconds", required_argument, OPT_SECONDS, 0, 0},
    {"writers", required_argument, OPT_WRITERS, 0, 0},
    {"readers", required_argument, OPT_READERS, 0, 0},
    /* --sync takes AJIO_NO_SYNC away from the default flags of the ajio writer. */
    {"sync", .clear = AJIO_NO_SYNC},
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

/* The whole-number options, in the order of their OPT_ values from OPT_SECONDS on. */
enum { SECONDS, WRITERS, READERS, NCOUNTS };
static const struct {
    const char *name;
    unsigned long max;
} counts[NCOUNTS] = {
    [SECONDS] = {"--seconds", 3600},
    [WRITERS] = {"--writers", MAX_WRITERS},
    [READERS] = {"--readers", MAX_READERS},
};

int cmd_demo(int argc, char **argv)
{
    const char *dir = "ajio-demo";
    unsigned long count[NCOUNTS] = {[SECONDS] = 5, [WRITERS] = 2, [READERS] = 2};
    unsigned long seconds, writers, readers;
    ajio_opts opts = {.flags = AJIO_NO_SYNC};
    struct totals t[2];
    struct shared *sh;
    struct sigaction sa;
    char path[2][4096];
    int c, r, rc = 0;

    while ((c = cli_getopt(argc, argv, options, &opts.flags)) != -1) {
        int k = c - OPT_SECONDS;

        if (c == OPT_DIR) {
            dir = optarg;
            continue;
        }
        if (k < 0 || k >= NCOUNTS)
            return cli_other_option(cmd_demo_usage, c, argv);
        if (cli_parse_unsigned(optarg, 10, counts[k].max, &count[k]) < 0 || count[k] < 1)
            return cli_usage_error(cmd_demo_usage,
                                   "%s wants a whole number from 1 to %lu, not '%s'",
                                   counts[k].name, counts[k].max, optarg);
    }
    if (optind < argc)
        return cli_usage_error(cmd_demo_usage, "demo takes no arguments ('%s')", argv[optind]);
    seconds = count[SECONDS];
    writers = count[WRITERS];
    readers = count[READERS];

    /* Both showdown names are checked before anything is written: a truncated one would be
     * another file. */
    for (int k = 0; k < 2; k++) {
        char name[32];

        snprintf(name, sizeof(name), "showdown-%s.json", writer_names[k]);
        if (join_path(path[k], dir, name) < 0)
            return cli_exit_for(-ENAMETOOLONG);
    }
    r = write_examples(dir);
    if (r < 0)
        return cli_exit_for(r);

    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        cli_error("mmap: %s", strerror(errno));
        return EXIT_SOFTWARE;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: the sleep of the progress loop ends at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    printf("Torn-read showdown: %lu writer%s and %lu reader process%s, %lu s per writer,\n"
           "JSON documents of %d KiB to %d KiB, each holding its length and checksum.\n"
           "  naive: open(O_TRUNC), then write(2) in %d pieces\n"
           "  ajio:  ajio_write_bytes()%s\n\n",
           writers, writers == 1 ? "" : "s", readers, readers == 1 ? "" : "es", seconds,
           DOC_MIN / 1024, DOC_MAX / 1024, NAIVE_PIECES,
           (opts.flags & AJIO_NO_SYNC) ? " with AJIO_NO_SYNC (readers' view needs no fsync)"
                                       : ", durable");
    fflush(stdout);
    memset(t, 0, sizeof(t));
    for (int k = 0; k < 2 && r == 0 && !interrupted; k++)
        r = run_phase(sh, k, path[k], (int)writers, (int)readers, (double)seconds, &opts, &t[k]);

    printf("%-7s %10s %10s %10s %10s %10s %10s\n", "writer", "writes", "reads", "complete", "torn",
           "empty", "invalid");
    for (int k = 0; k < 2; k++)
        printf("%-7s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
               " %10" PRIu64 "\n",
               writer_names[k], t[k].writes, t[k].reads, t[k].complete, t[k].torn, t[k].empty,
               t[k].invalid);
    putchar('\n');

    if (interrupted) {
        printf("Interrupted: the table shows the reads made so far.\n");
        rc = 128 + interrupted;
    } else if (r < 0) {
        rc = cli_exit_for(r);
    }
    if (atomic_load(&sh->have_message))
        cli_error("first error: %s", sh->message);
    if (!interrupted && r == 0) {
        uint64_t bad = t[0].torn + t[0].empty + t[0].invalid;

        if (bad > 0)
            printf("naive: %" PRIu64 " of %" PRIu64 " reads (%.1f%%) saw a broken file.\n", bad,
                   t[0].reads, t[0].reads ? 100.0 * (double)bad / (double)t[0].reads : 0.0);
        else
            printf("naive: NO torn reads in this run. That is luck, not safety: run longer or\n"
                   "       with more readers (--seconds, --readers) to see them.\n");
    }
    if (t[1].torn + t[1].empty + t[1].invalid > 0) {
        printf("ajio:  %" PRIu64 " BAD reads of the ajio-written file: this is a bug.\n",
               t[1].torn + t[1].empty + t[1].invalid);
        rc = EXIT_SOFTWARE;
    } else if (!interrupted && r == 0) {
        printf("ajio:  0 bad reads: all %" PRIu64 " reads saw a complete document.\n", t[1].reads);
    }
    if (rc == 0 && (t[0].write_errors + t[1].write_errors + t[0].read_errors + t[1].read_errors))
        rc = EXIT_IOERR;
    if (rc == 0) {
        /* Property 3 of ajio.h: successful writes leave no temp file behind. */
        r = ajio_sweep(dir, NULL, 0, AJIO_SWEEP_DRY_RUN);
        if (r != 0) {
            cli_print_line(stdout, "ajio:  %d temp file%s left in %s", r, r == 1 ? "" : "s", dir);
            rc = r < 0 ? cli_exit_for(r) : EXIT_SOFTWARE;
        } else {
            cli_print_line(stdout, "ajio:  no temp file left in %s.", dir);
        }
    }
    fflush(stdout);
    munmap(sh, sizeof(*sh));
    return rc;
}

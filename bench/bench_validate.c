/*
 * bench_validate.c - speed of the JSON validator, each of its kernels, against simdjson (each of
 * its implementations), jansson and memchr, on the same bytes.
 *
 * Workloads, for each standard document (twitter, citm_catalog, canada):
 *
 *   cache   the document itself, validated over and over (it stays in the caches)
 *   50 MB   one valid JSON value of about TARGET_MB, "[" doc "," doc ... "]"
 *
 * and one JSONL workload: the three documents minified to one line each, repeated in turn to
 * about JSONL_MB. Tools:
 *
 *   ajio/KERNEL          ajio_json_validate, one shot (AJIO_JSONL for the lines)
 *   ajio/KERNEL 64 KiB   ajio_json_checker_feed in 64 KiB pieces + ajio_json_checker_finish
 *   simdjson/IMPL        dom::parser::parse, a full parse that validates every byte (parse_many
 *                        over the lines, 4 MB batches), with IMPL forced as the active one
 *   jansson              json_loadb, a full decode (50 MB only; the tree is freed off the clock)
 *   memchr               a search for a byte that is not there: the floor of reading the bytes
 *
 * libajio chooses its kernel once per process (AJIO_KERNEL, src/cpu.c), so each kernel runs in a
 * child forked with AJIO_KERNEL set; the parent never calls the library. Every tool runs REPS
 * times on each workload, one tool after the other; the table prints medians in MB/s
 * (1 MB = 10^6 bytes), the ratio to the best simdjson implementation on that workload, and the
 * share of memchr's speed. Runs are timed in the thread's CPU time: on a shared machine the
 * wall clock counts the time other processes hold the CPU, which varied 2x between runs of the
 * same code under load; CPU time leaves only what they do to the caches.
 *
 * usage: bench_validate [DATA_DIR [TARGET_MB [REPS [JSONL_MB]]]]
 *   DATA_DIR defaults to $AJIO_TEST_DATA or tests/data (run from the repo root); the documents
 *   are read from DATA_DIR/json-bench.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ajio.h"
#include "bench_validate_simdjson.h"
#include "benchutil.h"
#include "internal.h"

#define CHUNK (64 * 1024)
#define MAX_REPS 101
#define MAX_IMPL 8

typedef struct workload {
    char name[48];
    const char *buf; /* sj_padding() readable bytes after the end */
    size_t len;
    long iters; /* validations per timed run: cache runs repeat the document */
    int lines;  /* JSONL */
} workload;

static void die(const char *what)
{
    fprintf(stderr, "bench_validate: %s: %s\n", what, strerror(errno));
    exit(1);
}

static char *alloc_padded(size_t len)
{
    char *b = malloc(len + sj_padding() + 1);

    if (!b)
        die("out of memory");
    memset(b + len, 0, sj_padding() + 1);
    return b;
}

/* "[" doc "," doc ... "]" of at least target bytes: one valid JSON value for every tool. */
static char *repeat_doc(const char *doc, size_t len, size_t target, size_t *ret_len)
{
    size_t copies = target / (len + 1) + 1, n = 0;
    char *buf = alloc_padded(copies * (len + 1) + 2);

    buf[n++] = '[';
    for (size_t i = 0; i < copies; i++) {
        if (i)
            buf[n++] = ',';
        memcpy(buf + n, doc, len);
        n += len;
    }
    buf[n++] = ']';
    *ret_len = n;
    return buf;
}

/* The whitespace outside strings dropped, so that a document fits on one JSONL line. */
static size_t minify(const char *in, size_t len, char *out)
{
    size_t n = 0;
    int str = 0;

    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (str) {
            out[n++] = ch;
            if (ch == '\\')
                out[n++] = in[++i];
            else if (ch == '"')
                str = 0;
        } else if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') {
            out[n++] = ch;
            str = ch == '"';
        }
    }
    return n;
}

/* Seconds for one timed run of a tool on w; negative if the tool rejects the input. */
typedef double (*tool_fn)(const workload *w, const char *arg);

static double run_memchr(const workload *w, const char *arg)
{
    double t = bu_cpu_now();

    (void)arg;
    for (long i = 0; i < w->iters; i++) {
        /* memchr is pure: without the barrier the compiler could call it once for all */
        __asm__ volatile("" ::: "memory");
        if (memchr(w->buf, 0x01, w->len)) /* never there: every byte is read */
            return -1;
    }
    return bu_cpu_now() - t;
}

static double run_simdjson(const workload *w, const char *arg)
{
    double t = bu_cpu_now();

    (void)arg;
    for (long i = 0; i < w->iters; i++) {
        size_t docs;
        if (w->lines ? sj_parse_many(w->buf, w->len, 4 << 20, &docs) : sj_parse(w->buf, w->len))
            return -1;
    }
    return bu_cpu_now() - t;
}

static double run_jansson(const workload *w, const char *arg)
{
    double t, sum = 0;

    (void)arg;
    for (long i = 0; i < w->iters; i++) {
        json_error_t err;
        t = bu_cpu_now();
        json_t *root = json_loadb(w->buf, w->len, 0, &err);
        sum += bu_cpu_now() - t;
        if (!root)
            return -1;
        json_decref(root);
    }
    return sum;
}

static int feed_chunks(const char *buf, size_t len, unsigned flags)
{
    ajio_json_checker *c;
    int r = ajio_json_checker_new(&c, flags, 0);

    if (r)
        return r;
    for (size_t off = 0; off < len && r == 0; off += CHUNK)
        r = ajio_json_checker_feed(c, buf + off, len - off < CHUNK ? len - off : CHUNK);
    if (r == 0)
        r = ajio_json_checker_finish(c);
    ajio_json_checker_free(c);
    return r;
}

static double run_ajio(const workload *w, const char *arg)
{
    unsigned flags = w->lines ? AJIO_JSONL : 0;
    double t = bu_cpu_now();

    for (long i = 0; i < w->iters; i++)
        if (arg ? feed_chunks(w->buf, w->len, flags)
                : ajio_json_validate(w->buf, w->len, flags, NULL))
            return -1;
    return bu_cpu_now() - t;
}

/*
 * A child that runs libajio with kernel k (AJIO_KERNEL set before its first call) and times one
 * run per request: 'v' the one-shot call, 'f' the 64 KiB feed; it answers with the seconds
 * (negative: rejected). The first answer is the kernel it runs. A child per kernel lets the
 * parent run every tool in turn, round after round, so that a change of the machine's load
 * hits them all alike.
 */
typedef struct kid {
    pid_t pid;
    int to, from;
} kid;

static int kid_start(kid *c, int k, const workload *w)
{
    int req[2], ans[2], got;

    if (pipe(req) || pipe(ans))
        die("pipe");
    fflush(NULL);
    c->pid = fork();
    if (c->pid < 0)
        die("fork");
    if (c->pid == 0) {
        char cmd;

        close(req[1]);
        close(ans[0]);
        setenv("AJIO_KERNEL", ajio__kernel_name(k), 1);
        got = ajio__kernel();
        if (write(ans[1], &got, sizeof(got)) != sizeof(got))
            _exit(1);
        while (read(req[0], &cmd, 1) == 1 && cmd != 'q') {
            double t = run_ajio(w, cmd == 'f' ? "feed" : NULL);
            if (write(ans[1], &t, sizeof(t)) != sizeof(t))
                _exit(1);
        }
        _exit(0);
    }
    close(req[0]);
    close(ans[1]);
    c->to = req[1];
    c->from = ans[0];
    if (read(c->from, &got, sizeof(got)) != sizeof(got))
        got = -1;
    return got;
}

static double kid_run(const kid *c, char cmd)
{
    double t;

    if (write(c->to, &cmd, 1) != 1 || read(c->from, &t, sizeof(t)) != sizeof(t)) {
        fprintf(stderr, "bench_validate: a kernel child died\n");
        exit(1);
    }
    return t;
}

static void kid_stop(kid *c)
{
    int status;

    if (write(c->to, "q", 1) != 1 || waitpid(c->pid, &status, 0) != c->pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_validate: a kernel child failed\n");
        exit(1);
    }
    close(c->to);
    close(c->from);
}

/* Median MB/s of the n runs in t (seconds); 0 if a run rejected the input. */
static double mbs_of(const workload *w, double *t, int n)
{
    for (int i = 0; i < n; i++)
        if (t[i] < 0)
            return 0;
    return (double)w->len * (double)w->iters / (bu_median_inplace(t, n) * 1e6);
}

static void row(const char *wname, const char *tool, double mbs, double sj_best, double floor)
{
    if (mbs <= 0) {
        printf("%-22s %-24s %9s\n", wname, tool, "REJECTED");
        return;
    }
    printf("%-22s %-24s %9.0f %9.2fx %8.0f%%\n", wname, tool, mbs, sj_best > 0 ? mbs / sj_best : 0,
           100 * mbs / floor);
}

/* Rows of the table, in its order: libajio's kernels (one-shot and fed, 2 per kernel), simdjson's
 * implementations, jansson, memchr. */
enum { T_AJIO = 0, T_SJ = 2 * AJIO__KERNEL_COUNT, T_MAX = T_SJ + MAX_IMPL + 2 };

static void bench(const workload *w, int reps, int jansson)
{
    static double t[T_MAX][MAX_REPS + 1];
    const char *impl[MAX_IMPL];
    int nimpl = sj_implementations(impl, MAX_IMPL), best = ajio__kernel_best();
    int t_jansson = T_SJ + nimpl, t_memchr = t_jansson + 1;
    kid kids[AJIO__KERNEL_COUNT];
    double mbs[T_MAX], sj_best = 0;
    char tool[64];

    for (int k = 0; k <= best; k++)
        if (kid_start(&kids[k], k, w) != k) {
            fprintf(stderr, "bench_validate: the child for kernel %s runs another\n",
                    ajio__kernel_name(k));
            exit(1);
        }
    /* Round 0 warms up (caches, page faults, simdjson's parser buffers) and is not counted. */
    for (int r = 0; r <= reps; r++) {
        for (int k = best; k >= 0; k--) {
            t[T_AJIO + 2 * k][r] = kid_run(&kids[k], 'v');
            t[T_AJIO + 2 * k + 1][r] = kid_run(&kids[k], 'f');
        }
        for (int i = 0; i < nimpl; i++)
            t[T_SJ + i][r] = sj_use(impl[i]) == 0 ? run_simdjson(w, NULL) : -1;
        if (jansson)
            t[t_jansson][r] = run_jansson(w, NULL);
        t[t_memchr][r] = run_memchr(w, NULL);
    }
    for (int k = 0; k <= best; k++)
        kid_stop(&kids[k]);
    for (int i = 0; i < T_MAX; i++)
        mbs[i] = i < t_memchr + 1 && (i != t_jansson || jansson) ? mbs_of(w, t[i] + 1, reps) : 0;
    for (int i = 0; i < nimpl; i++)
        if (mbs[T_SJ + i] > sj_best)
            sj_best = mbs[T_SJ + i];

    for (int k = AJIO__KERNEL_COUNT - 1; k >= 0; k--) {
        snprintf(tool, sizeof(tool), "ajio/%s", ajio__kernel_name(k));
        if (k > best) {
            printf("%-22s %-24s %9s\n", w->name, tool, "not on this CPU");
            continue;
        }
        row(w->name, tool, mbs[T_AJIO + 2 * k], sj_best, mbs[t_memchr]);
        snprintf(tool, sizeof(tool), "ajio/%s 64 KiB", ajio__kernel_name(k));
        row(w->name, tool, mbs[T_AJIO + 2 * k + 1], sj_best, mbs[t_memchr]);
    }
    for (int i = 0; i < nimpl; i++) {
        snprintf(tool, sizeof(tool), "simdjson/%s", impl[i]);
        row(w->name, tool, mbs[T_SJ + i], sj_best, mbs[t_memchr]);
    }
    if (jansson)
        row(w->name, "jansson", mbs[t_jansson], sj_best, mbs[t_memchr]);
    row(w->name, "memchr", mbs[t_memchr], sj_best, mbs[t_memchr]);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static const char *const docs[] = {"twitter.json", "citm_catalog.json", "canada.json"};
    enum { NDOCS = sizeof(docs) / sizeof(docs[0]) };
    const char *env = getenv("AJIO_TEST_DATA");
    const char *data = argc > 1 ? argv[1] : env && *env ? env : "tests/data";
    size_t target = (size_t)((argc > 2 ? atof(argv[2]) : 50) * 1e6);
    int reps = argc > 3 ? atoi(argv[3]) : 7;
    size_t jsonl_target = (size_t)((argc > 4 ? atof(argv[4]) : 220) * 1e6);
    char *doc[NDOCS], *line[NDOCS];
    size_t len[NDOCS], line_len[NDOCS];

    if (reps < 1 || reps > MAX_REPS)
        reps = reps < 1 ? 1 : MAX_REPS;
    printf("JSON validation, median of %d runs (thread CPU time), MB/s (MB = 10^6 bytes), vs = "
           "ratio to the best simdjson implementation, floor = share of memchr's speed\n",
           reps);
    printf("%-22s %-24s %9s %10s %9s\n", "workload", "tool", "MB/s", "vs", "floor");

    for (int d = 0; d < NDOCS; d++) {
        char path[4096];
        char *raw;

        snprintf(path, sizeof(path), "%s/json-bench/%s", data, docs[d]);
        raw = bu_slurp(path, &len[d]);
        if (raw == NULL)
            die(path);
        doc[d] = alloc_padded(len[d]);
        memcpy(doc[d], raw, len[d]);
        free(raw);
        line[d] = malloc(len[d] + 1);
        if (!line[d])
            die("out of memory");
        line_len[d] = minify(doc[d], len[d], line[d]);
        line[d][line_len[d]++] = '\n';
    }

    for (int d = 0; d < NDOCS; d++) {
        workload w = {.buf = doc[d], .len = len[d], .iters = (long)(target / len[d]) + 1};
        size_t n;

        snprintf(w.name, sizeof(w.name), "%.*s cache", (int)strcspn(docs[d], "."), docs[d]);
        bench(&w, reps, 0);
        w.buf = repeat_doc(doc[d], len[d], target, &n);
        w.len = n;
        w.iters = 1;
        snprintf(w.name, sizeof(w.name), "%.*s %.0f MB", (int)strcspn(docs[d], "."), docs[d],
                 (double)n / 1e6);
        bench(&w, reps, 1);
        free((char *)w.buf);
    }

    {
        size_t n = 0, cap = jsonl_target + line_len[0] + line_len[1] + line_len[2];
        char *buf = alloc_padded(cap);
        long lines = 0;
        workload w = {.iters = 1, .lines = 1};

        for (int d = 0; n < jsonl_target; d = (d + 1) % NDOCS, lines++) {
            memcpy(buf + n, line[d], line_len[d]);
            n += line_len[d];
        }
        memset(buf + n, 0, sj_padding() + 1);
        w.buf = buf;
        w.len = n;
        snprintf(w.name, sizeof(w.name), "JSONL %.0f MB", (double)n / 1e6);
        bench(&w, reps, 0);
        printf("(JSONL: %ld lines, the three documents minified, in turn)\n", lines);
        free(buf);
    }
    for (int d = 0; d < NDOCS; d++) {
        free(doc[d]);
        free(line[d]);
    }
    return 0;
}

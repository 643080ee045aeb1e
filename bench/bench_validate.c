/*
 * bench_validate.c - speed of the JSON validator against jansson and jq, on the same bytes.
 *
 * For each standard document (twitter, citm_catalog, canada) it builds one valid JSON value of
 * about 50 MB, "[" doc "," doc ... "]", in memory and in a temp file, then times:
 *
 *   ajio_json_validate   one shot over the whole buffer
 *   ajio_json_checker_feed       the same buffer in 64 KiB chunks, then ajio_json_checker_finish
 *   jansson json_loadb   a full decode of the same buffer (the tree is freed outside the clock)
 *   jq empty FILE        the same bytes from the (page-cached) temp file, process start included
 *
 * and prints the median of the repetitions in MB/s (1 MB = 10^6 bytes) and the ratio to jansson.
 *
 * usage: bench_validate [DATA_DIR [TARGET_MB [REPS]]]
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ajio.h"
#include "benchutil.h"

#define CHUNK (64 * 1024)

/* "[" doc "," doc ... "]" of at least target bytes: one valid JSON value for every tool. */
static char *repeat_doc(const char *doc, size_t len, size_t target, size_t *ret_len)
{
    size_t copies = target / (len + 1) + 1, n = 0;
    char *buf = malloc(copies * (len + 1) + 2);

    if (!buf) {
        fprintf(stderr, "bench_validate: out of memory\n");
        exit(1);
    }
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

static int feed_chunks(const char *buf, size_t len)
{
    ajio_json_checker *c;
    int r = ajio_json_checker_new(&c, 0, 0);

    if (r)
        return r;
    for (size_t off = 0; off < len && r == 0; off += CHUNK)
        r = ajio_json_checker_feed(c, buf + off, len - off < CHUNK ? len - off : CHUNK);
    if (r == 0)
        r = ajio_json_checker_finish(c);
    ajio_json_checker_free(c);
    return r;
}

/* Runs "jq empty path" with stdout/stderr to /dev/null; -1 if jq is missing or fails. */
static double time_jq(const char *path)
{
    double t;
    pid_t pid;
    int status;

    fflush(NULL); /* the child must not inherit (and flush again) our buffered output */
    t = bu_now();
    pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(127);
        execlp("jq", "jq", "empty", path, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return bu_now() - t;
}

int main(int argc, char **argv)
{
    static const char *const docs[] = {"twitter.json", "citm_catalog.json", "canada.json"};
    const char *env = getenv("AJIO_TEST_DATA");
    const char *data = argc > 1 ? argv[1] : env && *env ? env : "tests/data";
    size_t target = (size_t)(argc > 2 ? atof(argv[2]) : 50) * 1000 * 1000;
    int reps = argc > 3 ? atoi(argv[3]) : 7;
    char tmpdir[] = "/tmp/ajio-bench-XXXXXX";
    double *t = NULL;

    if (reps < 1)
        reps = 1;
    t = calloc((size_t)reps, sizeof(*t));
    if (!t || !mkdtemp(tmpdir)) {
        fprintf(stderr, "bench_validate: setup failed: %s\n", strerror(errno));
        return 1;
    }
    printf("JSON validation speed, median of %d runs, MB = 10^6 bytes, ratio = vs jansson\n", reps);
    printf("%-18s %-30s %10s %10s %9s\n", "document", "tool", "ms", "MB/s", "ratio");

    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        char path[4096], file[4096 + 64];
        size_t len, n;
        char *doc, *buf;
        double jansson_mbs, mbs, ms;
        FILE *f;

        snprintf(path, sizeof(path), "%s/json-bench/%s", data, docs[d]);
        doc = bu_slurp(path, &len);
        if (doc == NULL) {
            fprintf(stderr, "bench_validate: cannot read %s: %s\n", path, strerror(errno));
            return 1;
        }
        buf = repeat_doc(doc, len, target, &n);
        snprintf(file, sizeof(file), "%s/%s", tmpdir, docs[d]);
        f = fopen(file, "wb");
        if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
            fprintf(stderr, "bench_validate: cannot write %s\n", file);
            return 1;
        }

        /* jansson first: its number is the reference for the ratios. */
        for (int i = 0; i < reps; i++) {
            json_error_t err;
            double t0 = bu_now();
            json_t *root = json_loadb(buf, n, 0, &err);
            t[i] = bu_now() - t0;
            if (!root) {
                fprintf(stderr, "bench_validate: jansson rejects %s: %s\n", docs[d], err.text);
                return 1;
            }
            json_decref(root);
        }
        ms = bu_median_inplace(t, reps) * 1e3;
        jansson_mbs = (double)n / (ms * 1e3);

        for (int i = 0; i < reps; i++) {
            double t0 = bu_now();
            int r = ajio_json_validate(buf, n, 0, NULL);
            t[i] = bu_now() - t0;
            if (r != 0) {
                fprintf(stderr, "bench_validate: ajio_json_validate rejects %s: %d\n", docs[d], r);
                return 1;
            }
        }
        ms = bu_median_inplace(t, reps) * 1e3;
        mbs = (double)n / (ms * 1e3);
        printf("%-18s %-30s %10.1f %10.0f %8.1fx\n", docs[d], "ajio_json_validate", ms, mbs,
               mbs / jansson_mbs);

        for (int i = 0; i < reps; i++) {
            double t0 = bu_now();
            int r = feed_chunks(buf, n);
            t[i] = bu_now() - t0;
            if (r != 0) {
                fprintf(stderr, "bench_validate: ajio_json_checker_feed rejects %s: %d\n",
                        docs[d], r);
                return 1;
            }
        }
        ms = bu_median_inplace(t, reps) * 1e3;
        mbs = (double)n / (ms * 1e3);
        printf("%-18s %-30s %10.1f %10.0f %8.1fx\n", "", "ajio_json_checker_feed 64 KiB", ms, mbs,
               mbs / jansson_mbs);

        printf("%-18s %-30s %10.1f %10.0f %8.1fx\n", "", "jansson json_loadb",
               (double)n / (jansson_mbs * 1e3), jansson_mbs, 1.0);

        int ok = 1;
        for (int i = 0; i < reps && ok; i++)
            ok = (t[i] = time_jq(file)) >= 0;
        if (ok) {
            ms = bu_median_inplace(t, reps) * 1e3;
            mbs = (double)n / (ms * 1e3);
            printf("%-18s %-30s %10.1f %10.0f %8.2fx\n", "", "jq empty (file)", ms, mbs,
                   mbs / jansson_mbs);
        } else {
            printf("%-18s %-30s %10s\n", "", "jq empty (file)", "n/a (jq missing or failed)");
        }
        printf("%-18s (%.1f MB: %zu copies of %zu bytes)\n", "", (double)n / 1e6,
               (n - 2) / (len + 1) + ((n - 2) % (len + 1) != 0), len);

        unlink(file);
        free(buf);
        free(doc);
    }
    rmdir(tmpdir);
    free(t);
    return 0;
}

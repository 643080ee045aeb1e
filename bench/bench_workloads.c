/*
 * bench_workloads.c - the workloads beyond a single replace, each against the code a program
 * would write by hand for the same job (make bench-workloads; results in bench/README.md):
 *
 *   append   one process, durable 200-byte records: ajio_append() and a log handle against
 *            open(O_APPEND) once + write + fdatasync per record
 *   group    8 processes appending durable 200-byte records to one file: log handles (group
 *            commit) against write + fdatasync per record by hand; records per second
 *   log-threads  8 threads of one process appending durable 200-byte records to one file: one
 *            handle shared by all (their appends combined) against a handle each (group
 *            commit between handles) and against one handle under the caller's mutex
 *   batch    500 files of 1 KiB in one directory, durable: one batch against 500 one-shot writes
 *   update   an uncontended ajio_update() of a 1 KiB JSON file against read + ajio_write_bytes()
 *   atomic   a 100-byte AJIO_NO_SYNC replace on tmpfs: the directory handle and the path API
 *            against openat(O_EXCL) + write + close + renameat with the directory fd held
 *   txn      500 files of 1 KiB, durable, on the disk and on tmpfs: one all-or-nothing
 *            transaction against one (non-atomic) ajio_batch of the same files
 *   publish  a tree of 1,000 files of 4 KiB (or argv[5] bytes) in 10 subdirectories published
 *            on DISK_DIR: reflinks (the default) against copies forced by read and write;
 *            durable, also the default synced the older ways (an fsync per file and
 *            directory; writeback started per file, then an fsync each) against its syncfs
 *
 * Variants run side by side: in every round each variant does its block of operations, in an
 * order that rotates from round to round, and the round's ratio is the variant's block time over
 * the floor's block time in that same round. The tables give the median time per operation and
 * the median of the rounds' ratios, so that a machine that is slower for a while (it is shared)
 * moves both sides of a ratio alike.
 */
#include "benchutil.h"
#include "internal.h"
#include "slowsync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_VARIANTS 5
#define MAX_ROUNDS 64

static char g_disk[512], g_tmpfs[512];

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_workloads: %s: %s (%s)\n", what, ajio_strerror(err), ajio_last_error());
    exit(1);
}

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("write", -errno);
        p += n;
        len -= (size_t)n;
    }
}

static void path_of(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

/* ---- the side-by-side driver ------------------------------------------------------------------ */

struct variant {
    const char *name;
    void (*setup)(int v);    /* before the rounds (may be NULL) */
    void (*block)(int v);    /* one block of operations, timed */
    void (*teardown)(int v); /* after the rounds (may be NULL) */
};

struct result {
    double per_op[MAX_VARIANTS]; /* median seconds per operation */
    double ratio[MAX_VARIANTS];  /* median of the rounds' ratios to variant 0 */
    double lo[MAX_VARIANTS], hi[MAX_VARIANTS];
};

/*
 * Under the slow-sync model (make bench-slowsync), its device's counters: how many flushes and
 * syncs each variant's blocks cost, all processes together, for the tables. NULL otherwise.
 */
static const struct slowsync_state *g_model;
static double g_model_flushes[MAX_VARIANTS], g_model_syncs[MAX_VARIANTS];

static void model_open(void)
{
    const char *dev = getenv("AJIO_BENCH_SYNC_DEV");
    int fd;

    if (getenv("AJIO_BENCH_SYNC_US") == NULL || dev == NULL)
        return;
    fd = open(dev, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    g_model = mmap(NULL, sizeof(*g_model), PROT_READ, MAP_SHARED, fd, 0);
    (void)close(fd);
    if (g_model == MAP_FAILED || g_model->magic != SLOWSYNC_MAGIC)
        g_model = NULL;
}

static void model_count(uint64_t *flushes, uint64_t *syncs)
{
    *flushes = g_model ? __atomic_load_n(&g_model->flushes, __ATOMIC_ACQUIRE) : 0;
    *syncs = g_model ? __atomic_load_n(&g_model->syncs, __ATOMIC_ACQUIRE) : 0;
}

/* The model's counts per block of each variant, after its table. */
static void model_print(const struct variant *vs, int nv)
{
    if (g_model == NULL)
        return;
    printf("\nslowsync, per block (all processes):");
    for (int v = 0; v < nv; v++)
        printf(" %s: %.1f flushes for %.1f syncs%s", vs[v].name, g_model_flushes[v],
               g_model_syncs[v], v < nv - 1 ? ";" : "\n");
}

static void side_by_side(const struct variant *vs, int nv, int rounds, long ops_per_block,
                         struct result *res)
{
    uint64_t f0, s0, f1, s1;

    double t[MAX_VARIANTS][MAX_ROUNDS], ratio[MAX_VARIANTS][MAX_ROUNDS];

    for (int v = 0; v < nv; v++)
        if (vs[v].setup != NULL)
            vs[v].setup(v);
    /* One untimed round: page cache, dentries and the lock files in place. */
    for (int v = 0; v < nv; v++)
        vs[v].block(v);
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < nv; k++) {
            int v = (r + k) % nv;
            model_count(&f0, &s0);
            double t0 = bu_now();
            vs[v].block(v);
            t[v][r] = (bu_now() - t0) / (double)ops_per_block;
            model_count(&f1, &s1);
            if (r == 0)
                g_model_flushes[v] = g_model_syncs[v] = 0;
            g_model_flushes[v] += (double)(f1 - f0) / rounds;
            g_model_syncs[v] += (double)(s1 - s0) / rounds;
        }
        for (int v = 0; v < nv; v++)
            ratio[v][r] = t[v][r] / t[0][r];
    }
    for (int v = 0; v < nv; v++) {
        double tmp[MAX_ROUNDS];
        memcpy(tmp, ratio[v], sizeof(double) * (size_t)rounds);
        res->ratio[v] = bu_median_inplace(tmp, rounds);
        res->lo[v] = tmp[0];
        res->hi[v] = tmp[rounds - 1];
        memcpy(tmp, t[v], sizeof(double) * (size_t)rounds);
        res->per_op[v] = bu_median_inplace(tmp, rounds);
        if (vs[v].teardown != NULL)
            vs[v].teardown(v);
    }
}

static void print_table(const char *title, const char *unit, double scale,
                        const struct variant *vs, int nv, int rounds, long ops,
                        const struct result *res)
{
    printf("\n#### %s\n\n", title);
    printf("| variant | rounds x ops | %s per op | ratio to %s | ratio range |\n", unit,
           vs[0].name);
    printf("|---|---|---|---|---|\n");
    for (int v = 0; v < nv; v++)
        printf("| %s | %d x %ld | %.1f | %.3f | %.3f .. %.3f |\n", vs[v].name, rounds, ops,
               res->per_op[v] * scale, res->ratio[v], res->lo[v], res->hi[v]);
    model_print(vs, nv);
}

static void verdict(const char *what, double value, double limit, bool at_most)
{
    bool met = at_most ? value <= limit : value >= limit;
    printf("target %s %s %.2fx: %s (%.3f)\n", what, at_most ? "<=" : ">=", limit,
           met ? "met" : "MISSED", value);
}

static int g_control_failed;

/*
 * A negative control: the same check applied to a case that must miss it (a known extra cost,
 * or a filesystem that cannot do what is measured). If it is met, the check cannot tell, and
 * the run exits 1.
 */
static void control(const char *what, double value, double limit, bool at_most)
{
    bool met = at_most ? value <= limit : value >= limit;
    printf("control %s %s %.2fx: %s (%.3f)\n", what, at_most ? "<=" : ">=", limit,
           met ? "met, so the check cannot see what it should: CONTROL FAILED"
               : "MISSED, as it must",
           value);
    if (met)
        g_control_failed = 1;
}

/* ---- append: one process ---------------------------------------------------------------------- */

#define RECORD 200
#define APPEND_BLOCK 100

static char g_record[RECORD];
static char g_files[MAX_VARIANTS][600];
static int g_fd[MAX_VARIANTS];
static ajio_log *g_log[MAX_VARIANTS];

static void make_record(char *rec, size_t n, int id)
{
    int k = snprintf(rec, n, "{\"id\":%d,\"msg\":\"", id);
    memset(rec + k, 'x', n - (size_t)k - 3);
    memcpy(rec + n - 3, "\"}\n", 3);
}

static void append_setup(int v)
{
    char name[32];
    snprintf(name, sizeof(name), "append%d.jsonl", v);
    path_of(g_files[v], sizeof(g_files[v]), g_disk, name);
    g_fd[v] = -1;
    g_log[v] = NULL;
}

static void floor_setup(int v)
{
    append_setup(v);
    g_fd[v] = open(g_files[v], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (g_fd[v] < 0)
        die("open", -errno);
}

static void floor_block(int v)
{
    for (int i = 0; i < APPEND_BLOCK; i++) {
        write_all(g_fd[v], g_record, RECORD);
        if (fdatasync(g_fd[v]) < 0)
            die("fdatasync", -errno);
    }
}

static void floor_teardown(int v)
{
    if (close(g_fd[v]) < 0)
        die("close", -errno);
}

static void oneshot_block(int v)
{
    for (int i = 0; i < APPEND_BLOCK; i++) {
        int r = ajio_append(g_files[v], g_record, RECORD, NULL);
        if (r != 0)
            die("ajio_append", r);
    }
}

static void log_setup(int v)
{
    append_setup(v);
    int r = ajio_log_open(&g_log[v], g_files[v], NULL);
    if (r < 0)
        die("ajio_log_open", r);
}

static void log_block(int v)
{
    for (int i = 0; i < APPEND_BLOCK; i++) {
        int r = ajio_log_append(g_log[v], g_record, RECORD);
        if (r != 0)
            die("ajio_log_append", r);
    }
}

static void log_teardown(int v)
{
    int r = ajio_log_close(g_log[v]);
    if (r < 0)
        die("ajio_log_close", r);
}

static void cmd_append(int rounds)
{
    const struct variant vs[] = {
        {"write + fdatasync (fd held)", floor_setup, floor_block, floor_teardown},
        {"ajio_append", append_setup, oneshot_block, NULL},
        {"ajio_log_append", log_setup, log_block, log_teardown},
    };
    struct result res;

    make_record(g_record, RECORD, 1);
    side_by_side(vs, 3, rounds, APPEND_BLOCK, &res);
    print_table("Append, one process, durable 200-byte records (disk)", "us", 1e6, vs, 3, rounds,
                APPEND_BLOCK, &res);
    verdict("one-shot append / floor", res.ratio[1], 1.10, true);
    verdict("log handle / floor", res.ratio[2], 1.05, true);
}

/* ---- group commit: 8 processes ---------------------------------------------------------------- */

#define GROUP_PROCS 8
#define GROUP_PER_PROC 100

/* Each of GROUP_PROCS processes appends GROUP_PER_PROC records; the block is the whole run. */
static void group_run(int v)
{
    pid_t pids[GROUP_PROCS];

    for (int p = 0; p < GROUP_PROCS; p++) {
        pids[p] = fork();
        if (pids[p] < 0)
            die("fork", -errno);
        if (pids[p] == 0) {
            char rec[RECORD];
            make_record(rec, RECORD, p);
            if (v == 0) {
                int fd = open(g_files[0], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                if (fd < 0)
                    _exit(1);
                for (int i = 0; i < GROUP_PER_PROC; i++) {
                    write_all(fd, rec, RECORD);
                    if (fdatasync(fd) < 0)
                        _exit(1);
                }
                _exit(close(fd) < 0);
            }
            ajio_log *log;
            if (ajio_log_open(&log, g_files[v], NULL) < 0)
                _exit(1);
            for (int i = 0; i < GROUP_PER_PROC; i++)
                if (ajio_log_append(log, rec, RECORD) != 0)
                    _exit(1);
            _exit(ajio_log_close(log) < 0);
        }
    }
    for (int p = 0; p < GROUP_PROCS; p++) {
        int status;
        if (waitpid(pids[p], &status, 0) != pids[p] || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            die("an appender process failed", -EIO);
    }
}

static void group_setup(int v)
{
    char name[32];
    snprintf(name, sizeof(name), "group%d.jsonl", v);
    path_of(g_files[v], sizeof(g_files[v]), g_disk, name);
}

static void cmd_group(int rounds)
{
    const struct variant vs[] = {
        {"8 x (write + fdatasync)", group_setup, group_run, NULL},
        {"8 x ajio_log_append", group_setup, group_run, NULL},
    };
    const long ops = GROUP_PROCS * GROUP_PER_PROC;
    struct result res;
    char lock[640];
    uint64_t written = 0, syncs = 0;

    side_by_side(vs, 2, rounds, ops, &res);
    printf("\n#### Group commit: %d processes appending durable 200-byte records to one file "
           "(disk)\n\n",
           GROUP_PROCS);
    printf("| variant | rounds x records | records/s (all processes) | speed-up over %s | "
           "range |\n|---|---|---|---|---|\n",
           vs[0].name);
    for (int v = 0; v < 2; v++)
        printf("| %s | %d x %ld | %.0f | %.2f | %.2f .. %.2f |\n", vs[v].name, rounds, ops,
               1.0 / res.per_op[v], 1.0 / res.ratio[v], 1.0 / res.hi[v], 1.0 / res.lo[v]);
    model_print(vs, 2);
    snprintf(lock, sizeof(lock), "%s/.group1.jsonl.ajio-lock", g_disk);
    /* The counters live in the lock file (src/group.c): appends numbered, fdatasyncs done. */
    if (ajio__group_counts(lock, &written, &syncs) == 0 && syncs > 0)
        printf("\nfdatasyncs per append with group commit: %.3f (%llu appends, %llu syncs)\n",
               (double)syncs / (double)written, (unsigned long long)written,
               (unsigned long long)syncs);
    verdict("group commit records/s over by hand", 1.0 / res.ratio[1], 2.0, false);
}

/* ---- log-threads: 8 threads, one process ------------------------------------------------------ */

#define LT_THREADS 8
#define LT_PER_THREAD 25

/* Variant 0: a handle per thread; 1 (under g_lt_mutex) and 2: the handle [0] for all. */
static ajio_log *g_lt_log[MAX_VARIANTS][LT_THREADS];
static pthread_mutex_t g_lt_mutex = PTHREAD_MUTEX_INITIALIZER;

struct lt_arg {
    int v, k;
};

static void *lt_thread(void *arg)
{
    const struct lt_arg *a = arg;
    ajio_log *log = g_lt_log[a->v][a->v == 0 ? a->k : 0];
    char rec[RECORD];

    make_record(rec, RECORD, a->k);
    for (int i = 0; i < LT_PER_THREAD; i++) {
        if (a->v == 1)
            (void)pthread_mutex_lock(&g_lt_mutex);
        int r = ajio_log_append(log, rec, RECORD);
        if (a->v == 1)
            (void)pthread_mutex_unlock(&g_lt_mutex);
        if (r != 0)
            die("ajio_log_append", r);
    }
    return NULL;
}

/* The block is the whole run: LT_THREADS threads started, each appending LT_PER_THREAD. */
static void lt_block(int v)
{
    pthread_t th[LT_THREADS];
    struct lt_arg args[LT_THREADS];

    for (int k = 0; k < LT_THREADS; k++) {
        args[k] = (struct lt_arg){v, k};
        if (pthread_create(&th[k], NULL, lt_thread, &args[k]) != 0)
            die("pthread_create", -EAGAIN);
    }
    for (int k = 0; k < LT_THREADS; k++)
        (void)pthread_join(th[k], NULL);
}

static void lt_setup(int v)
{
    char name[32];

    snprintf(name, sizeof(name), "threads%d.jsonl", v);
    path_of(g_files[v], sizeof(g_files[v]), g_disk, name);
    for (int k = 0; k < (v == 0 ? LT_THREADS : 1); k++) {
        int r = ajio_log_open(&g_lt_log[v][k], g_files[v], NULL);
        if (r < 0)
            die("ajio_log_open", r);
    }
}

static void lt_teardown(int v)
{
    for (int k = 0; k < (v == 0 ? LT_THREADS : 1); k++) {
        int r = ajio_log_close(g_lt_log[v][k]);
        if (r < 0)
            die("ajio_log_close", r);
    }
}

static void cmd_log_threads(int rounds)
{
    const struct variant vs[] = {
        {"8 threads, a handle each", lt_setup, lt_block, lt_teardown},
        {"8 threads, one handle under a mutex", lt_setup, lt_block, lt_teardown},
        {"8 threads sharing one handle", lt_setup, lt_block, lt_teardown},
    };
    const long ops = LT_THREADS * LT_PER_THREAD;
    struct result res;

    side_by_side(vs, 3, rounds, ops, &res);
    printf("\n#### Log threads: %d threads of one process appending durable 200-byte records to "
           "one file (disk)\n\n",
           LT_THREADS);
    printf("| variant | rounds x records | records/s (all threads) | speed-up over %s | range | "
           "fdatasyncs per record |\n|---|---|---|---|---|---|\n",
           vs[0].name);
    for (int v = 0; v < 3; v++) {
        char lock[640], name[32];
        uint64_t written = 0, syncs = 0;
        double records = (double)ops * (rounds + 1); /* the untimed round appends too */

        /* The lock file's counters (src/group.c): appends numbered (a batch is one), syncs. */
        snprintf(name, sizeof(name), ".threads%d.jsonl.ajio-lock", v);
        path_of(lock, sizeof(lock), g_disk, name);
        (void)ajio__group_counts(lock, &written, &syncs);
        printf("| %s | %d x %ld | %.0f | %.2f | %.2f .. %.2f | %.3f (%llu appends numbered) |\n",
               vs[v].name, rounds, ops, 1.0 / res.per_op[v], 1.0 / res.ratio[v], 1.0 / res.hi[v],
               1.0 / res.lo[v], (double)syncs / records, (unsigned long long)written);
    }
    verdict("shared handle records/s over a handle each", 1.0 / res.ratio[2], 1.0, false);
    /* One handle under a mutex waits for one sync per record: the same check must miss it. */
    control("one handle under a mutex records/s over a handle each", 1.0 / res.ratio[1], 1.0,
            false);
}

/* ---- batch ------------------------------------------------------------------------------------ */

#define BATCH_FILES 500
#define BATCH_SIZE 1024

static char g_payload[BATCH_SIZE];
static char (*g_batch_paths)[600];

static void batch_setup(int v)
{
    (void)v;
    if (g_batch_paths != NULL)
        return;
    g_batch_paths = malloc(sizeof(*g_batch_paths) * BATCH_FILES);
    if (g_batch_paths == NULL)
        die("malloc", -ENOMEM);
    for (int i = 0; i < BATCH_FILES; i++) {
        char name[32];
        snprintf(name, sizeof(name), "batch/f%03d.json", i);
        path_of(g_batch_paths[i], sizeof(g_batch_paths[i]), g_disk, name);
    }
    memset(g_payload, 'b', sizeof(g_payload));
    g_payload[BATCH_SIZE - 1] = '\n';
}

static void oneshots_block(int v)
{
    (void)v;
    for (int i = 0; i < BATCH_FILES; i++) {
        int r = ajio_write_bytes(g_batch_paths[i], g_payload, BATCH_SIZE, NULL);
        if (r != 0)
            die("ajio_write_bytes", r);
    }
}

/* v 1: the batch as the library does it (one syncfs per round); v 2: an fdatasync per file. */
static void batch_block(int v)
{
    ajio_batch *b;
    ajio_opts o = {.flags = v == 2 ? AJIO_SYNC_EACH : 0};
    int r = ajio_batch_new(&b, &o);

    if (r < 0)
        die("ajio_batch_new", r);
    for (int i = 0; i < BATCH_FILES; i++)
        if ((r = ajio_batch_add(b, g_batch_paths[i], g_payload, BATCH_SIZE)) < 0)
            die("ajio_batch_add", r);
    if ((r = ajio_batch_commit(b)) != 0)
        die("ajio_batch_commit", r);
    ajio_batch_free(b);
}

/*
 * The lower bound of any durable way: the same 500 replaces with no sync at all (openat O_EXCL,
 * write, close, renameat, the directory fd held). What a batch costs above it is its syncs.
 */
static void nosync_block(int v)
{
    int dfd;
    char dir[600], tmp[32], name[32];

    (void)v;
    path_of(dir, sizeof(dir), g_disk, "batch");
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        die("open batch dir", -errno);
    for (int i = 0; i < BATCH_FILES; i++) {
        snprintf(tmp, sizeof(tmp), ".f%03d.tmp", i);
        snprintf(name, sizeof(name), "f%03d.json", i);
        int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            die("openat", -errno);
        write_all(fd, g_payload, BATCH_SIZE);
        if (close(fd) < 0 || renameat(dfd, tmp, dfd, name) < 0)
            die("close/renameat", -errno);
    }
    if (close(dfd) < 0)
        die("close", -errno);
}

static void cmd_batch(int rounds)
{
    const struct variant vs[] = {
        {"500 x ajio_write_bytes", batch_setup, oneshots_block, NULL},
        {"ajio_batch of 500", batch_setup, batch_block, NULL},
        {"ajio_batch of 500, AJIO_SYNC_EACH", batch_setup, batch_block, NULL},
        {"500 x replace without any sync (by hand)", batch_setup, nosync_block, NULL},
    };
    struct result res;

    side_by_side(vs, 4, rounds, BATCH_FILES, &res);
    print_table("Batch: 500 files of 1 KiB in one directory, durable (disk)", "us", 1e6, vs, 4,
                rounds, BATCH_FILES, &res);
    verdict("batch speed-up per file", 1.0 / res.ratio[1], 5.0, false);
    printf("the batch's syncs cost %.0f us per file above replacing with no sync at all\n",
           (res.per_op[1] - res.per_op[3]) * 1e6);
}

/* ---- update ----------------------------------------------------------------------------------- */

#define UPDATE_BLOCK 100

static char g_update_path[2][600];
static unsigned g_counter;

/* The same edit both ways: a 1 KiB JSON document whose first digit changes. */
static void edit(char *doc, size_t len)
{
    (void)len;
    doc[7] = (char)('0' + g_counter++ % 10);
}

static int update_cb(void *ctx, const void *old, size_t old_len, int exists, ajio_file *out)
{
    char doc[BATCH_SIZE];

    (void)ctx;
    if (!exists || old_len != sizeof(doc))
        return -EINVAL;
    memcpy(doc, old, sizeof(doc));
    edit(doc, sizeof(doc));
    return ajio_file_write(out, doc, sizeof(doc));
}

static void update_setup(int v)
{
    char doc[BATCH_SIZE], name[32];
    int r;

    snprintf(name, sizeof(name), "update%d.json", v);
    path_of(g_update_path[v], sizeof(g_update_path[v]), g_disk, name);
    memset(doc, ' ', sizeof(doc));
    memcpy(doc, "{\"n\": 0, \"pad\": \"", 17);
    memset(doc + 17, 'p', sizeof(doc) - 20);
    memcpy(doc + sizeof(doc) - 3, "\"}\n", 3);
    if ((r = ajio_write_bytes(g_update_path[v], doc, sizeof(doc), NULL)) < 0)
        die("ajio_write_bytes", r);
}

static void by_hand_block(int v)
{
    char doc[BATCH_SIZE];

    for (int i = 0; i < UPDATE_BLOCK; i++) {
        int fd = open(g_update_path[v], O_RDONLY | O_CLOEXEC);
        ssize_t n;
        if (fd < 0)
            die("open", -errno);
        n = read(fd, doc, sizeof(doc));
        if (n != (ssize_t)sizeof(doc) || close(fd) < 0)
            die("read", -EIO);
        edit(doc, sizeof(doc));
        int r = ajio_write_bytes(g_update_path[v], doc, sizeof(doc), NULL);
        if (r != 0)
            die("ajio_write_bytes", r);
    }
}

static void update_block(int v)
{
    for (int i = 0; i < UPDATE_BLOCK; i++) {
        int r = ajio_update(g_update_path[v], update_cb, NULL, -1, NULL);
        if (r != 0)
            die("ajio_update", r);
    }
}

static void cmd_update(int rounds)
{
    const struct variant vs[] = {
        {"read + ajio_write_bytes", update_setup, by_hand_block, NULL},
        {"ajio_update", update_setup, update_block, NULL},
    };
    struct result res;

    side_by_side(vs, 2, rounds, UPDATE_BLOCK, &res);
    print_table("Update: uncontended read-modify-write of a 1 KiB JSON file, durable (disk)",
                "us", 1e6, vs, 2, rounds, UPDATE_BLOCK, &res);
    verdict("ajio_update / by hand", res.ratio[1], 1.15, true);
}

/* ---- atomic-only replace on tmpfs ------------------------------------------------------------- */

#define ATOMIC_BLOCK 2000
#define SMALL 100

static char g_small[SMALL];
static int g_dirfd;
static ajio_dir *g_dir;
static char g_atomic_path[MAX_VARIANTS][600];

static void atomic_setup(int v)
{
    char name[32];
    int r;

    snprintf(name, sizeof(name), "small%d", v);
    path_of(g_atomic_path[v], sizeof(g_atomic_path[v]), g_tmpfs, name);
    if ((r = ajio_write_bytes(g_atomic_path[v], g_small, SMALL, NULL)) < 0)
        die("ajio_write_bytes", r);
}

static void raw_block(int v)
{
    char name[32], tmp[40];

    snprintf(name, sizeof(name), "small%d", v);
    snprintf(tmp, sizeof(tmp), ".small%d.tmp", v);
    for (int i = 0; i < ATOMIC_BLOCK; i++) {
        int fd = openat(g_dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            die("openat", -errno);
        write_all(fd, g_small, SMALL);
        if (close(fd) < 0 || renameat(g_dirfd, tmp, g_dirfd, name) < 0)
            die("close/renameat", -errno);
    }
}

static void dir_block(int v)
{
    const ajio_opts o = {.flags = AJIO_NO_SYNC};
    char name[32];

    snprintf(name, sizeof(name), "small%d", v);
    for (int i = 0; i < ATOMIC_BLOCK; i++) {
        int r = ajio_dir_write(g_dir, name, g_small, SMALL, &o);
        if (r != 0)
            die("ajio_dir_write", r);
    }
}

static void path_block(int v)
{
    const ajio_opts o = {.flags = AJIO_NO_SYNC};

    for (int i = 0; i < ATOMIC_BLOCK; i++) {
        int r = ajio_write_bytes(g_atomic_path[v], g_small, SMALL, &o);
        if (r != 0)
            die("ajio_write_bytes", r);
    }
}

static void cmd_atomic(int rounds)
{
    const struct variant vs[] = {
        {"openat + write + close + renameat (dir fd held)", atomic_setup, raw_block, NULL},
        {"ajio_dir_write", atomic_setup, dir_block, NULL},
        {"ajio_write_bytes", atomic_setup, path_block, NULL},
    };
    struct result res;
    int r;

    memset(g_small, 's', sizeof(g_small));
    g_small[SMALL - 1] = '\n';
    g_dirfd = open(g_tmpfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g_dirfd < 0)
        die("open tmpfs dir", -errno);
    if ((r = ajio_dir_open(&g_dir, g_tmpfs, NULL)) < 0)
        die("ajio_dir_open", r);
    side_by_side(vs, 3, rounds, ATOMIC_BLOCK, &res);
    print_table("Atomic-only 100-byte replace of an existing file (AJIO_NO_SYNC, tmpfs)", "us",
                1e6, vs, 3, rounds, ATOMIC_BLOCK, &res);
    verdict("directory handle / raw floor", res.ratio[1], 1.15, true);
    verdict("path API / raw floor", res.ratio[2], 1.5, true);
    ajio_dir_close(g_dir);
    (void)close(g_dirfd);
}

/* ---- txn: an all-or-nothing transaction against the batch ------------------------------------ */

#define TXN_FILES 500

static char g_txn_dir[600];
static char (*g_txn_paths)[700];
static char (*g_txn_rel)[32];

static void txn_batch_block(int v)
{
    ajio_batch *b;
    int r = ajio_batch_new(&b, NULL);

    (void)v;
    if (r < 0)
        die("ajio_batch_new", r);
    for (int i = 0; i < TXN_FILES; i++)
        if ((r = ajio_batch_add(b, g_txn_paths[i], g_payload, BATCH_SIZE)) < 0)
            die("ajio_batch_add", r);
    if ((r = ajio_batch_commit(b)) != 0)
        die("ajio_batch_commit", r);
    ajio_batch_free(b);
}

static void txn_once(void)
{
    ajio_txn *t;
    int r = ajio_txn_begin(&t, g_txn_dir, NULL);

    if (r < 0)
        die("ajio_txn_begin", r);
    for (int i = 0; i < TXN_FILES; i++)
        if ((r = ajio_txn_write(t, g_txn_rel[i], g_payload, BATCH_SIZE)) < 0)
            die("ajio_txn_write", r);
    if ((r = ajio_txn_commit(t)) != 0)
        die("ajio_txn_commit", r);
    ajio_txn_free(t);
}

static void txn_block(int v)
{
    (void)v;
    txn_once();
}

/* The control: the same transaction twice per block, a known 2x that the check must see. */
static void txn_twice_block(int v)
{
    (void)v;
    txn_once();
    txn_once();
}

static void txn_on(const char *base, const char *where, int rounds)
{
    const struct variant vs[] = {
        {"ajio_batch of 500 (not atomic as a set)", NULL, txn_batch_block, NULL},
        {"ajio_txn of 500 (all-or-nothing)", NULL, txn_block, NULL},
        {"control: 2 x ajio_txn of 500 per block", NULL, txn_twice_block, NULL},
    };
    struct result res;
    char title[200], what[120];

    path_of(g_txn_dir, sizeof(g_txn_dir), base, "txn");
    if (mkdir(g_txn_dir, 0755) < 0 && errno != EEXIST)
        die("mkdir txn", -errno);
    for (int i = 0; i < TXN_FILES; i++) {
        snprintf(g_txn_rel[i], sizeof(g_txn_rel[i]), "f%03d.json", i);
        path_of(g_txn_paths[i], sizeof(g_txn_paths[i]), g_txn_dir, g_txn_rel[i]);
    }
    side_by_side(vs, 3, rounds, TXN_FILES, &res);
    snprintf(title, sizeof(title),
             "Transaction: 500 files of 1 KiB in one directory, durable (%s)", where);
    print_table(title, "us", 1e6, vs, 3, rounds, TXN_FILES, &res);
    snprintf(what, sizeof(what), "transaction / batch per file (%s)", where);
    verdict(what, res.ratio[1], 1.3, true);
    snprintf(what, sizeof(what), "two transactions / batch (%s)", where);
    control(what, res.ratio[2], 1.3, true);
}

static void cmd_txn(int rounds)
{
    g_txn_paths = malloc(sizeof(*g_txn_paths) * TXN_FILES);
    g_txn_rel = malloc(sizeof(*g_txn_rel) * TXN_FILES);
    if (g_txn_paths == NULL || g_txn_rel == NULL)
        die("malloc", -ENOMEM);
    memset(g_payload, 't', sizeof(g_payload));
    g_payload[BATCH_SIZE - 1] = '\n';
    txn_on(g_disk, "disk", rounds);
    txn_on(g_tmpfs, "tmpfs", rounds);
    free(g_txn_paths);
    free(g_txn_rel);
}

/* ---- publish: reflinks against copies --------------------------------------------------------- */

#define PUB_FILES 1000
#define PUB_DIRS 10
#define PUB_SIZE 4096 /* bytes per file unless argv[5] says otherwise */

static char g_pub_src[600], g_pub_name[MAX_VARIANTS][600];
static int g_pub_mode[MAX_VARIANTS], g_pub_sync[MAX_VARIANTS];
static unsigned g_pub_flags;
static size_t g_pub_size = PUB_SIZE;
static unsigned long g_pub_counts[MAX_VARIANTS][3];

static const char *fs_name(const char *dir)
{
    struct statfs sf;

    if (statfs(dir, &sf) < 0)
        die("statfs", -errno);
    switch ((unsigned long)sf.f_type) {
    case 0x58465342UL:
        return "xfs";
    case 0x9123683EUL:
        return "btrfs";
    case 0xEF53UL:
        return "ext4";
    case 0x01021994UL:
        return "tmpfs";
    default:
        return "other";
    }
}

/* The source tree: PUB_DIRS subdirectories of PUB_FILES / PUB_DIRS files, each different. */
static void make_source(const char *base)
{
    char *buf = malloc(g_pub_size), path[700];

    if (buf == NULL)
        die("malloc", -ENOMEM);
    path_of(g_pub_src, sizeof(g_pub_src), base, "pubsrc");
    if (mkdir(g_pub_src, 0755) < 0)
        die("mkdir pubsrc", -errno);
    for (int d = 0; d < PUB_DIRS; d++) {
        snprintf(path, sizeof(path), "%s/d%02d", g_pub_src, d);
        if (mkdir(path, 0755) < 0)
            die("mkdir", -errno);
    }
    memset(buf, 'p', g_pub_size);
    buf[g_pub_size - 1] = '\n';
    for (int i = 0; i < PUB_FILES; i++) {
        snprintf(path, sizeof(path), "%s/d%02d/f%04d.json", g_pub_src, i % PUB_DIRS, i);
        int k = snprintf(buf, 32, "{\"id\":%d,\"pad\":\"", i);
        buf[k] = 'p';
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            die("open source file", -errno);
        write_all(fd, buf, g_pub_size);
        if (close(fd) < 0)
            die("close", -errno);
    }
    /* Written back before anything is timed: a reflink of a dirty file writes it back first. */
    int fd = open(g_pub_src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) < 0)
        die("syncfs", -errno);
    (void)close(fd);
    free(buf);
}

static void publish_block(int v)
{
    const ajio_opts o = {.flags = g_pub_flags};
    unsigned long before[3];
    int r;

    memcpy(before, ajio__snapshot_copies, sizeof(before));
    ajio__snapshot_copy_mode = g_pub_mode[v];
    ajio__snapshot_sync_mode = g_pub_sync[v];
    r = ajio_publish(g_pub_src, g_pub_name[v], &o);
    ajio__snapshot_copy_mode = 0;
    ajio__snapshot_sync_mode = 0;
    if (r != 0)
        die("ajio_publish", r);
    for (int k = 0; k < 3; k++)
        g_pub_counts[v][k] += ajio__snapshot_copies[k] - before[k];
}

static void publish_run(const char *fs, bool durable, int rounds)
{
    const struct variant vs[] = {
        {"ajio_publish, default (FICLONE first)", NULL, publish_block, NULL},
        {"ajio_publish, copy_file_range forced", NULL, publish_block, NULL},
        {"ajio_publish, read + write forced", NULL, publish_block, NULL},
        /* Durable only: the default's copy synced the other ways of snapshot.c's sync_mode. */
        {"default, an fsync per file and directory", NULL, publish_block, NULL},
        {"default, writeback started per file, then an fsync each", NULL, publish_block, NULL},
    };
    int nv = durable ? 5 : 3;
    struct result res;
    char title[200], what[160];
    unsigned long per = (unsigned long)rounds + 1;

    g_pub_flags = durable ? 0 : AJIO_NO_SYNC;
    memset(g_pub_counts, 0, sizeof(g_pub_counts));
    side_by_side(vs, nv, rounds, 1, &res);
    snprintf(title, sizeof(title), "Publish: 1,000 files of %zu KiB in 10 directories, %s (%s)",
             g_pub_size / 1024, durable ? "durable" : "AJIO_NO_SYNC", fs);
    print_table(title, "ms", 1e3, vs, nv, rounds, 1, &res);
    printf("\nfiles per publish by method (FICLONE / copy_file_range / read + write):");
    for (int v = 0; v < 3; v++)
        printf(" %lu / %lu / %lu%s", g_pub_counts[v][0] / per, g_pub_counts[v][1] / per,
               g_pub_counts[v][2] / per, v < 2 ? ";" : "\n");
    if (g_pub_counts[2][2] != per * PUB_FILES)
        die("the forced read + write variant did not copy every file by read and write", -EIO);
    snprintf(what, sizeof(what), "reflinks speed-up over read + write copies (%s, %zu KiB, %s)",
             fs, g_pub_size / 1024, durable ? "durable" : "AJIO_NO_SYNC");
    if (g_pub_counts[0][0] == per * PUB_FILES)
        verdict(what, res.ratio[2], 5.0, false);
    else
        /* No reflinks here: the default copies too, so the same check must miss. */
        control(what, res.ratio[2], 5.0, false);
}

static void cmd_publish(int rounds)
{
    const char *fs = fs_name(g_disk);

    for (int v = 0; v < 5; v++) {
        char name[32];
        snprintf(name, sizeof(name), "pub%d", v);
        path_of(g_pub_name[v], sizeof(g_pub_name[v]), g_disk, name);
        g_pub_mode[v] = v < 3 ? v : 0;
        g_pub_sync[v] = v < 3 ? 0 : v - 2;
    }
    make_source(g_disk);
    publish_run(fs, true, rounds);
    publish_run(fs, false, rounds);
}

int main(int argc, char **argv)
{
    /* A durable publish of 1,000 files takes a second or so: 5 rounds keep it under a minute. */
    int rounds = argc > 1 && strcmp(argv[1], "publish") == 0 ? 5 : 21;

    if (argc > 4)
        rounds = atoi(argv[4]);
    if (argc < 4) {
        fprintf(stderr,
                "usage: bench_workloads append|group|log-threads|batch|update|atomic|txn|publish "
                "DISK_DIR TMPFS_DIR [ROUNDS [PUBLISH_FILE_BYTES]]\n");
        return 2;
    }
    if (rounds < 1 || rounds > MAX_ROUNDS)
        rounds = 21;
    if (argc > 5 && (g_pub_size = strtoul(argv[5], NULL, 10)) < 64)
        g_pub_size = PUB_SIZE;
    model_open();
    snprintf(g_disk, sizeof(g_disk), "%s", argv[2]);
    snprintf(g_tmpfs, sizeof(g_tmpfs), "%s", argv[3]);
    if (strcmp(argv[1], "append") == 0)
        cmd_append(rounds);
    else if (strcmp(argv[1], "group") == 0)
        cmd_group(rounds);
    else if (strcmp(argv[1], "log-threads") == 0)
        cmd_log_threads(rounds);
    else if (strcmp(argv[1], "batch") == 0)
        cmd_batch(rounds);
    else if (strcmp(argv[1], "update") == 0)
        cmd_update(rounds);
    else if (strcmp(argv[1], "atomic") == 0)
        cmd_atomic(rounds);
    else if (strcmp(argv[1], "txn") == 0)
        cmd_txn(rounds);
    else if (strcmp(argv[1], "publish") == 0)
        cmd_publish(rounds);
    else
        return 2;
    return g_control_failed;
}

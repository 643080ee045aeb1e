/*
 * test_stress.c - promise 1 and 4 under load.
 *
 * Concurrency: 8 writer processes x 4 threads replace one target with self-checking payloads
 * (a header with the body length and an FNV-1a checksum, bodies from 0 B to 1 MiB) while 2 reader
 * processes re-open and verify it continuously. Every read must be one complete payload.
 *
 * Kill storm: writer processes are SIGKILLed at random moments and replaced while the readers
 * verify; afterwards only temp-shaped leftovers may remain and ajio_sweep() removes them.
 *
 * Each has a negative control: the same readers against a naive writer (open with O_TRUNC, write
 * in pieces) must see torn reads, which shows the readers would catch a broken writer.
 *
 * AJIO_STRESS_SECONDS sets the length of each storm (default 4).
 */
#include "testutil.h"

#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define WRITER_PROCS 8
#define WRITER_THREADS 4
#define READERS 2
#define MAX_BODY (1 << 20)
#define HDR_LEN 29 /* "AJIOSTRESS %08x %08x\n" */

enum writer_kind { WRITER_AJIO, WRITER_NAIVE };

struct shared {
    atomic_int stop;
    atomic_long writes, write_failures, reads, complete, torn, empty, missing;
    char first_failure[512];
    atomic_int failure_claimed;
    char target[4096];
    char dir[4096];
};

static struct shared *sh;

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static double stress_seconds(void)
{
    const char *s = getenv("AJIO_STRESS_SECONDS");
    return s != NULL && atof(s) > 0 ? atof(s) : 4.0;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Mostly small files, as config and state files are, with a tail up to 1 MiB. */
static size_t pick_size(uint64_t *rng)
{
    uint64_t r = xorshift(rng);
    switch (r % 10) {
    case 0:
        return (size_t)(r >> 8) % (MAX_BODY + 1);
    case 1:
    case 2:
    case 3:
        return (size_t)(r >> 8) % 65536;
    default:
        return (size_t)(r >> 8) % 4096;
    }
}

/* Fills buf with a payload of body length n; returns the total length. */
static size_t make_payload(unsigned char *buf, size_t n, unsigned char fill)
{
    char hdr[HDR_LEN + 1];

    memset(buf + HDR_LEN, fill, n);
    snprintf(hdr, sizeof(hdr), "AJIOSTRESS %08zx %08x\n", n, fnv1a(buf + HDR_LEN, n));
    memcpy(buf, hdr, HDR_LEN);
    return HDR_LEN + n;
}

static void record_failure(const char *msg)
{
    if (atomic_exchange(&sh->failure_claimed, 1) == 0)
        snprintf(sh->first_failure, sizeof(sh->first_failure), "%s", msg);
}

/* A naive writer: truncate in place and write in pieces, as most programs do. */
static int naive_write(const char *path, const unsigned char *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    for (size_t off = 0; off < len;) {
        size_t piece = len - off < 4096 ? len - off : 4096;
        ssize_t n = write(fd, buf + off, piece);
        if (n < 0) {
            close(fd);
            return -errno;
        }
        off += (size_t)n;
    }
    return close(fd) < 0 ? -errno : 0;
}

struct writer_arg {
    enum writer_kind kind;
    unsigned id;
};

static void *writer_thread(void *p)
{
    struct writer_arg *a = p;
    unsigned char *buf = malloc(HDR_LEN + MAX_BODY);
    uint64_t rng = 0x9e3779b97f4a7c15ULL * (a->id + 1) ^ (uint64_t)getpid();
    unsigned long seq = 0;

    assert_non_null(buf);
    while (!atomic_load(&sh->stop)) {
        size_t n = make_payload(buf, pick_size(&rng), (unsigned char)(a->id * 37 + seq));
        int r;

        if (a->kind == WRITER_NAIVE) {
            r = naive_write(sh->target, buf, n);
        } else {
            /* Mix the paths: durable now and then, named temps on odd writers. */
            ajio_opts o = {.flags = (seq % 8 ? AJIO_NO_SYNC : 0) |
                                    (a->id & 1 ? AJIO_NO_TMPFILE : 0)};
            r = ajio_write_bytes(sh->target, buf, n, &o);
        }
        if (r != 0) {
            char msg[512];
            atomic_fetch_add(&sh->write_failures, 1);
            snprintf(msg, sizeof(msg), "writer %u: %d %s", a->id, r, ajio_last_error());
            record_failure(msg);
        }
        atomic_fetch_add(&sh->writes, 1);
        seq++;
    }
    free(buf);
    return NULL;
}

static void writer_process(enum writer_kind kind, unsigned first_id, int threads)
{
    pthread_t t[WRITER_THREADS];
    struct writer_arg a[WRITER_THREADS];

    for (int i = 0; i < threads; i++) {
        a[i] = (struct writer_arg){kind, first_id + (unsigned)i};
        if (pthread_create(&t[i], NULL, writer_thread, &a[i]) != 0)
            _exit(3);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    _exit(0);
}

/* Reads the whole file as one open file description and classifies it. */
static void reader_process(void)
{
    unsigned char *buf = malloc(HDR_LEN + MAX_BODY + 2);

    while (!atomic_load(&sh->stop)) {
        int fd = open(sh->target, O_RDONLY | O_CLOEXEC);
        size_t len = 0;
        ssize_t n;
        unsigned body;
        unsigned sum;

        if (fd < 0) {
            atomic_fetch_add(&sh->missing, 1);
            atomic_fetch_add(&sh->reads, 1);
            continue;
        }
        while ((n = read(fd, buf + len, HDR_LEN + MAX_BODY + 1 - len)) > 0)
            len += (size_t)n;
        close(fd);
        atomic_fetch_add(&sh->reads, 1);
        buf[len] = '\0'; /* for sscanf */
        if (len == 0) {
            atomic_fetch_add(&sh->empty, 1);
        } else if (len >= HDR_LEN && sscanf((char *)buf, "AJIOSTRESS %8x %8x", &body, &sum) == 2 &&
                   body == len - HDR_LEN && fnv1a(buf + HDR_LEN, body) == sum) {
            atomic_fetch_add(&sh->complete, 1);
        } else {
            atomic_fetch_add(&sh->torn, 1);
        }
    }
    free(buf);
    _exit(0);
}

static pid_t spawn(void (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        fn();
    return pid;
}

static pid_t spawn_writer(enum writer_kind kind, unsigned first_id, int threads)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        writer_process(kind, first_id, threads);
    return pid;
}

static void reset_shared(void **state)
{
    const char *dir = *state;
    unsigned char buf[HDR_LEN];

    memset(sh, 0, sizeof(*sh));
    snprintf(sh->dir, sizeof(sh->dir), "%s", dir);
    snprintf(sh->target, sizeof(sh->target), "%s/target.bin", dir);
    /* The target exists before the storm: a reader must never find it missing. */
    tu_assert_ok(ajio_write_bytes(sh->target, buf, make_payload(buf, 0, 0), NULL));
}

static void wait_all(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        int status;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

static void print_counts(const char *what)
{
    printf("    %-28s writes %7ld (failed %ld)  reads %7ld: complete %7ld torn %ld empty %ld "
           "missing %ld\n",
           what, atomic_load(&sh->writes), atomic_load(&sh->write_failures),
           atomic_load(&sh->reads), atomic_load(&sh->complete), atomic_load(&sh->torn),
           atomic_load(&sh->empty), atomic_load(&sh->missing));
    fflush(stdout);
}

/*
 * A missing file is a failure everywhere except where the filesystem itself cannot promise a
 * name across a rename: path-based FUSE daemons (bindfs) answer a lookup racing with a rename
 * with ENOENT. AJIO_STRESS_ALLOW_MISSING=1, set by the filesystem matrix for those only, counts
 * such reads apart; torn and empty reads still fail.
 */
static long bad_reads(void)
{
    const char *allow = getenv("AJIO_STRESS_ALLOW_MISSING");
    long missing = atomic_load(&sh->missing);

    if (allow != NULL && strcmp(allow, "1") == 0)
        missing = 0;
    return atomic_load(&sh->torn) + atomic_load(&sh->empty) + missing;
}

static void storm(void **state, enum writer_kind kind, double seconds)
{
    pid_t pids[WRITER_PROCS + READERS];
    int n = 0;

    reset_shared(state);
    for (int i = 0; i < READERS; i++)
        pids[n++] = spawn(reader_process);
    for (unsigned i = 0; i < WRITER_PROCS; i++)
        pids[n++] = spawn_writer(kind, i * WRITER_THREADS, WRITER_THREADS);
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&sh->stop, 1);
    wait_all(pids, n);
}

static void test_concurrent_writers(void **state)
{
    storm(state, WRITER_AJIO, stress_seconds());
    print_counts("ajio, 8 procs x 4 threads:");
    if (atomic_load(&sh->write_failures) != 0)
        fail_msg("%ld writes failed; first: %s", atomic_load(&sh->write_failures),
                 sh->first_failure);
    assert_int_equal(bad_reads(), 0);
    assert_true(atomic_load(&sh->writes) > 100);
    assert_true(atomic_load(&sh->complete) > 100);
    assert_int_equal(tu_count_entries(*state), 1); /* no temp left behind */
}

static void test_concurrent_writers_negative_control(void **state)
{
    storm(state, WRITER_NAIVE, 1.0);
    print_counts("naive O_TRUNC writer:");
    /* The readers must be able to see what atomic replacement prevents. */
    assert_true(bad_reads() > 0);
}

/*
 * Kill storm: 4 single-purpose writer processes (2 threads each, half with named temps) are
 * SIGKILLed at random moments, 1-20 ms apart, and replaced.
 */
static long kill_storm(void **state, enum writer_kind kind, double seconds)
{
    enum { WRITERS = 4 };
    pid_t readers[READERS], writers[WRITERS];
    struct timespec start, now;
    uint64_t rng = 88172645463325252ULL ^ (uint64_t)getpid();
    long kills = 0;

    reset_shared(state);
    for (int i = 0; i < READERS; i++)
        readers[i] = spawn(reader_process);
    for (unsigned i = 0; i < WRITERS; i++)
        writers[i] = spawn_writer(kind, i * 2, 2);
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        int victim = (int)(xorshift(&rng) % WRITERS);
        usleep((useconds_t)(1000 + xorshift(&rng) % 19000));
        assert_int_equal(kill(writers[victim], SIGKILL), 0);
        assert_int_equal(waitpid(writers[victim], NULL, 0), writers[victim]);
        kills++;
        writers[victim] = spawn_writer(kind, (unsigned)victim * 2, 2);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
    for (int i = 0; i < WRITERS; i++) {
        assert_int_equal(kill(writers[i], SIGKILL), 0);
        assert_int_equal(waitpid(writers[i], NULL, 0), writers[i]);
        kills++;
    }
    atomic_store(&sh->stop, 1);
    wait_all(readers, READERS);
    return kills;
}

static void test_kill_storm(void **state)
{
    long kills = kill_storm(state, WRITER_AJIO, stress_seconds());
    int entries = tu_count_entries(*state);
    int leftovers = ajio_sweep(*state, NULL, 0, AJIO_SWEEP_DRY_RUN);

    print_counts("ajio, writers SIGKILLed:");
    printf("    kills %ld, leftovers %d (all temp-shaped: %s)\n", kills, leftovers,
           entries - 1 == leftovers ? "yes" : "NO");
    if (atomic_load(&sh->write_failures) != 0)
        fail_msg("%ld writes failed; first: %s", atomic_load(&sh->write_failures),
                 sh->first_failure);
    assert_int_equal(bad_reads(), 0);
    assert_true(atomic_load(&sh->complete) > 100);
    /* Only temp-shaped leftovers, at most one per killed writer thread. */
    if (entries - 1 != leftovers) {
        DIR *d = opendir(*state);
        struct dirent *de;

        while (d != NULL && (de = readdir(d)) != NULL)
            if (!ajio__is_temp_name(de->d_name, NULL))
                print_message("    not a temp: %s\n", de->d_name);
        if (d != NULL)
            closedir(d);
    }
    assert_int_equal(entries - 1, leftovers);
    assert_true(leftovers <= kills * 2);
    assert_int_equal(ajio_sweep(*state, NULL, 0, 0), leftovers);
    assert_int_equal(tu_count_entries(*state), 1);
}

static void test_kill_storm_negative_control(void **state)
{
    kill_storm(state, WRITER_NAIVE, 1.0);
    print_counts("naive writer, SIGKILLed:");
    assert_true(bad_reads() > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_writers, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers_negative_control, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_kill_storm, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_kill_storm_negative_control, tu_setup, tu_teardown),
    };

    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return 1;
    return cmocka_run_group_tests_name("stress", tests, NULL, NULL);
}

/*
 * test_append.c - ajio_append() and ajio_repair(): creation, accumulation, refusals that write
 * nothing, the torn-tail repair by who wrote the tail (another writer's bytes kept, an append of
 * ours that did not finish cut, a tail from before a power cut judged as 0.2 did but for values
 * whose end is not certain), a write that would pass RLIMIT_FSIZE refused with the file as it
 * was, and the point of the lock: records larger than a page from many processes and threads
 * never interleave, while the same records written in two pieces to an O_APPEND fd without the
 * lock do (the negative control).
 */
#include "testutil.h"

#include "internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U
#endif

enum { STALE, PENDING };

/*
 * Rewrites what path's lock file records of it: as written on another mount (what a power cut
 * leaves: the record may be older than the file), or as an append of ours under way from start
 * on this mount (what a writer killed mid-append leaves).
 */
static void set_record(const char *path, int how, uint64_t start)
{
    char lock[PATH_MAX];
    const char *slash = strrchr(path, '/');
    struct ajio__state st;
    struct statx sx;
    struct stat fs;
    int fd;

    snprintf(lock, sizeof(lock), "%.*s/.%s.ajio-lock", (int)(slash - path), path, slash + 1);
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(stat(path, &fs), 0);
    assert_int_equal(statx(AT_FDCWD, path, 0, STATX_MNT_ID_UNIQUE, &sx), 0);
    assert_int_equal(ajio__state_read(fd, 0, &st), 0);
    st.dev = fs.st_dev;
    st.ino = fs.st_ino;
    st.pending = how == PENDING;
    st.pending_start = start;
    st.committed = start;
    assert_int_equal(ajio__state_write(fd, how == STALE ? 1 : sx.stx_mnt_id, &st), 0);
    assert_int_equal(close(fd), 0);
}

static void test_creates_file_and_parents(void **state)
{
    const char *path = tu_path(*state, "a/b/log.txt");
    struct stat st;

    tu_assert_ok(ajio_append(path, "one\n", 4, NULL));
    tu_assert_content(path, "one\n", 4);
    assert_int_equal(stat(tu_path(*state, "a/b"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* No temp: an append writes in place. */
    assert_int_equal(tu_count_temps(tu_path(*state, "a/b")), 1); /* only the lock file */
    assert_int_equal(tu_count_matching(tu_path(*state, "a/b"), ".ajio-lock"), 1);

    /* AJIO_NO_MKDIR: no parents made. */
    tu_assert_fails(
        ajio_append(tu_path(*state, "x/y.txt"), "z\n", 2, &(ajio_opts){.flags = AJIO_NO_MKDIR}),
        -ENOENT, "x");
}

static void test_appends_accumulate(void **state)
{
    const char *path = tu_path(*state, "log.jsonl");
    const ajio_opts jl = {.flags = AJIO_JSONL};

    tu_assert_ok(ajio_append(path, "{\"a\":1}\n", 8, &jl));
    tu_assert_ok(ajio_append(path, "{\"b\":2}\n[3]\n", 12, &jl));
    tu_assert_ok(ajio_append(path, "", 0, &jl));
    tu_assert_content(path, "{\"a\":1}\n{\"b\":2}\n[3]\n", 20);

    /* len 0 creates nothing. */
    tu_assert_ok(ajio_append(tu_path(*state, "none"), "", 0, NULL));
    assert_int_equal(access(tu_path(*state, "none"), F_OK), -1);
}

static void test_refusals_write_nothing(void **state)
{
    const char *path = tu_path(*state, "log.jsonl");
    const ajio_opts jl = {.flags = AJIO_JSONL};

    tu_assert_fails(ajio_append(path, "no newline", 10, NULL), -EINVAL, path);
    assert_non_null(strstr(ajio_last_error(), "a record ends with a newline"));
    assert_int_equal(access(path, F_OK), -1); /* not even created */

    tu_assert_ok(ajio_append(path, "{\"a\":1}\n", 8, &jl));
    tu_assert_fails(ajio_append(path, "{\"b\":2}\n{\"c\":\n", 14, &jl), AJIO_EJSON, path);
    assert_non_null(strstr(ajio_last_error(), ":2:"));
    tu_assert_content(path, "{\"a\":1}\n", 8);

    /* The flags of a replace mean nothing here. */
    tu_assert_fails(ajio_append(path, "x\n", 2, &(ajio_opts){.flags = AJIO_CREATE_ONLY}), -EINVAL,
                    path);
    tu_assert_fails(ajio_repair(path, &(ajio_opts){.flags = AJIO_NO_REPAIR}, NULL), -EINVAL, path);
    tu_assert_content(path, "{\"a\":1}\n", 8);
}

static void test_complete_tail_terminated(void **state)
{
    const char *path = tu_path(*state, "log.jsonl");

    tu_put(path, "{\"a\":1}\n{\"b\":2}", 0644);
    assert_int_equal(ajio_append(path, "{\"c\":3}\n", 8, &(ajio_opts){.flags = AJIO_JSONL}), AJIO_REPAIRED);
    assert_non_null(strstr(ajio_last_error(), "terminated the last line"));
    tu_assert_content(path, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n", 24);

    /* In text mode another writer's unterminated line is kept too, and terminated. */
    tu_put(path, "{\"a\":1}\n{\"b\":2", 0644);
    assert_int_equal(ajio_append(path, "{\"c\":3}\n", 8, NULL), AJIO_REPAIRED);
    tu_assert_content(path, "{\"a\":1}\n{\"b\":2\n{\"c\":3}\n", 23);
}

/*
 * A power cut between the '\n' that terminates a value and its fdatasync can bring the file back
 * with the new size but a zero for the byte (ext4): the value is still whole. After a power cut
 * (a record from another mount) it is terminated (the zeros dropped first), not cut with its
 * zeros; in text mode such a tail is cut as any.
 */
static void test_zeros_after_value(void **state)
{
    const char *p = tu_path(*state, "z.jsonl");
    const char torn[] = "{\"b\":2}\0\0";
    size_t cut = 99;

    /* A record from before a power cut is a local notion: on a shared filesystem no record is
     * exact, and a tail without a pending record is someone else's (test_partial_tail_cut). */
    if (tu_shared_fs(*state))
        skip();

    for (int jsonl = 1; jsonl >= 0; jsonl--) {
        (void)unlink(p);
        tu_assert_ok(ajio_append(p, "{\"a\":1}\n", 8, NULL));
        int fd = open(p, O_WRONLY | O_APPEND);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, torn, sizeof(torn) - 1), (ssize_t)sizeof(torn) - 1);
        assert_int_equal(close(fd), 0);
        set_record(p, STALE, 8);
        assert_int_equal(ajio_repair(p, &(ajio_opts){.flags = jsonl ? AJIO_JSONL : 0}, &cut),
                         AJIO_REPAIRED);
        if (jsonl) {
            assert_int_equal(cut, 0);
            tu_assert_content(p, "{\"a\":1}\n{\"b\":2}\n", 16);
        } else {
            assert_int_equal(cut, 9);
            tu_assert_content(p, "{\"a\":1}\n", 8);
        }
    }
    /* Zeros alone after the last newline are cut. */
    int fd = open(p, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\0\0\0", 3), 3);
    assert_int_equal(close(fd), 0);
    set_record(p, STALE, 8);
    assert_int_equal(ajio_repair(p, &(ajio_opts){.flags = AJIO_JSONL}, &cut), AJIO_REPAIRED);
    assert_int_equal(cut, 3);
    tu_assert_content(p, "{\"a\":1}\n", 8);

    /* After a power cut a number's end is never certain: "123" of "12345" is cut, not kept. */
    fd = open(p, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "123\0", 4), 4);
    assert_int_equal(close(fd), 0);
    set_record(p, STALE, 8);
    assert_int_equal(ajio_repair(p, &(ajio_opts){.flags = AJIO_JSONL}, &cut), AJIO_REPAIRED);
    assert_int_equal(cut, 4);
    tu_assert_content(p, "{\"a\":1}\n", 8);
}

static void test_partial_tail_cut(void **state)
{
    const char *path = tu_path(*state, "log.jsonl");
    const ajio_opts jl = {.flags = AJIO_JSONL};
    size_t len = 0, cut = 0;
    char *text;

    /*
     * An append of ours killed part way: everything it wrote goes, complete lines included. On
     * a shared filesystem no record is exact (a server may bring back an old one): only the
     * bytes after the last newline go, which no durable append ever acknowledged.
     */
    tu_put(path, "{\"ok\":0}\n{\"x\":9}\n{\"a\":1", 0644);
    set_record(path, PENDING, 9);
    assert_int_equal(ajio_append(path, "{\"b\":2}\n", 8, &jl), AJIO_REPAIRED);
    if (tu_shared_fs(path)) {
        assert_non_null(strstr(ajio_last_error(), "cut 6 bytes"));
        tu_assert_content(path, "{\"ok\":0}\n{\"x\":9}\n{\"b\":2}\n", 25);
    } else {
        assert_non_null(strstr(ajio_last_error(), "cut 14 bytes"));
        assert_non_null(strstr(ajio_last_error(), "\"{\\\"x\\\":9}\\x0a{\\\"a\\\":1\""));
        tu_assert_content(path, "{\"ok\":0}\n{\"b\":2}\n", 17);
    }
    text = tu_read(path, &len);
    assert_int_equal(ajio_json_validate(text, len, AJIO_JSON_LINES, NULL), 0);
    free(text);

    /* Another writer's torn JSONL tail: an append refuses it, untouched; a repair cuts it. */
    tu_put(path, "{\"ok\":0}\n{\"a\":1", 0644);
    tu_assert_fails(ajio_append(path, "{\"b\":2}\n", 8, &jl), AJIO_ETORN, "not a complete");
    tu_assert_content(path, "{\"ok\":0}\n{\"a\":1", 15);
    assert_int_equal(ajio_repair(path, &(ajio_opts){.flags = AJIO_JSONL}, &cut), AJIO_REPAIRED);
    assert_int_equal(cut, 6);
    tu_assert_ok(ajio_append(path, "{\"b\":2}\n", 8, &jl));
    tu_assert_content(path, "{\"ok\":0}\n{\"b\":2}\n", 17);

    /* No '\n' at all, ours: the whole file is the torn tail. */
    tu_put(path, "{\"a\"", 0644);
    set_record(path, PENDING, 0);
    assert_int_equal(ajio_append(path, "{\"b\":2}\n", 8, &jl), AJIO_REPAIRED);
    tu_assert_content(path, "{\"b\":2}\n", 8);
    /* ... someone else's, in text mode: kept and terminated, never emptied. */
    tu_put(path, "abc", 0644);
    assert_int_equal(ajio_append(path, "rec\n", 4, NULL), AJIO_REPAIRED);
    tu_assert_content(path, "abc\nrec\n", 8);
    /* ... with the zeros a power cut leaves of a lost '\n' after it: the zeros go, not the text. */
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc\0\0", 5), 5);
    assert_int_equal(close(fd), 0);
    assert_int_equal(ajio_append(path, "rec\n", 4, NULL), AJIO_REPAIRED);
    tu_assert_content(path, "abc\nrec\n", 8);
}

static void test_no_repair_refuses(void **state)
{
    const char *path = tu_path(*state, "log.jsonl");

    tu_put(path, "{\"ok\":0}\n{\"a\":1", 0644);
    tu_assert_fails(
        ajio_append(path, "{\"b\":2}\n", 8, &(ajio_opts){.flags = AJIO_JSONL | AJIO_NO_REPAIR}),
        AJIO_ETORN, path);
    tu_assert_content(path, "{\"ok\":0}\n{\"a\":1", 15);
    /* A healthy file appends as usual. */
    tu_put(path, "{\"ok\":0}\n", 0644);
    tu_assert_ok(ajio_append(path, "{\"b\":2}\n", 8, &(ajio_opts){.flags = AJIO_NO_REPAIR}));
    tu_assert_content(path, "{\"ok\":0}\n{\"b\":2}\n", 17);
}

static void test_repair_reports_and_is_idempotent(void **state)
{
    const char *path = tu_path(*state, "log.jsonl");
    char big[300];
    size_t cut = 12345;

    tu_assert_fails(ajio_repair(tu_path(*state, "missing"), NULL, &cut), -ENOENT, "missing");
    assert_int_equal(cut, 12345);

    tu_put(path, "line\n", 0644);
    assert_int_equal(ajio_repair(path, NULL, &cut), 0);
    assert_int_equal(cut, 0);

    /* A long torn tail: cut whole, shown truncated, escaped. */
    memset(big, 'x', sizeof(big) - 1);
    big[0] = '\t';
    big[sizeof(big) - 1] = '\0';
    tu_put(path, "line\n", 0644);
    {
        FILE *fp = fopen(path, "a");
        assert_non_null(fp);
        fputs(big, fp);
        fclose(fp);
    }
    set_record(path, PENDING, 5); /* an append of ours that did not finish */
    cut = 0;
    assert_int_equal(ajio_repair(path, NULL, &cut), AJIO_REPAIRED);
    assert_int_equal(cut, sizeof(big) - 1);
    assert_non_null(strstr(ajio_last_error(), "\"\\x09xxx"));
    assert_non_null(strstr(ajio_last_error(), "xxx\"..."));
    tu_assert_content(path, "line\n", 5);
    assert_int_equal(ajio_repair(path, NULL, &cut), 0); /* nothing left to do */
    assert_int_equal(cut, 0);

    /* JSONL: a complete value is terminated, cut 0; then nothing to do. */
    tu_put(path, "[1]\n[2]", 0644);
    cut = 99;
    assert_int_equal(ajio_repair(path, &(ajio_opts){.flags = AJIO_JSONL}, &cut), AJIO_REPAIRED);
    assert_int_equal(cut, 0);
    tu_assert_content(path, "[1]\n[2]\n", 8);
    assert_int_equal(ajio_repair(path, &(ajio_opts){.flags = AJIO_JSONL}, &cut), 0);
    tu_assert_content(path, "[1]\n[2]\n", 8);
}

/* A write that fails part way (RLIMIT_FSIZE, SIGXFSZ ignored) is cut back: the file as before. */
static void test_failed_write_cut_back(void **state)
{
    const char *path = tu_path(*state, "log.txt");
    static char rec[20000];
    struct rlimit old, lim;
    void (*old_handler)(int);
    struct stat st;
    int r;

    tu_put(path, "line1\n", 0644);
    memset(rec, 'r', sizeof(rec));
    rec[sizeof(rec) - 1] = '\n';
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 6 + 8192 + 100; /* the record goes part way, then EFBIG */
    old_handler = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    r = ajio_append(path, rec, sizeof(rec), NULL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    tu_assert_fails(r, -EFBIG, path);
    tu_assert_content(path, "line1\n", 6);

    /* Negative control: the limit really lets a plain write go part way. */
    {
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        ssize_t n;

        assert_true(fd >= 0);
        old_handler = signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        n = write(fd, rec, sizeof(rec));
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        signal(SIGXFSZ, old_handler);
        assert_true(n > 0 && n < (ssize_t)sizeof(rec));
        close(fd);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > 6);
    }
}

/* ---- concurrency: records larger than a page ------------------------------------------- */

#define PROCS 8
#define THREADS 4
#define APPENDS 200
#define CONTROL_APPENDS 40
#define RECORD 5000

static const char *conc_path;
static int conc_locked;

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* "PP TT IIII <filler> XXXXXXXX\n", RECORD bytes; the filler and the checksum say who wrote it. */
static void make_record(char *rec, int p, int t, int i)
{
    int n = snprintf(rec, RECORD, "%02d %02d %04d ", p, t, i);

    for (int k = n; k < RECORD - 10; k++)
        rec[k] = (char)('a' + (p * 7 + t * 3 + i + k) % 26);
    snprintf(rec + RECORD - 10, 10, " %08x", fnv1a(rec, RECORD - 10));
    rec[RECORD - 1] = '\n';
}

/* The negative control: O_APPEND, no lock, the record in two write(2)s. */
static int append_unlocked(const char *rec)
{
    int fd = open(conc_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    int r = 0;

    if (fd < 0)
        return -errno;
    /* The pause between the halves is where a short write or a signal would split a record. */
    if (write(fd, rec, RECORD / 2) != RECORD / 2)
        r = -EIO;
    sched_yield();
    if (r == 0 && write(fd, rec + RECORD / 2, RECORD - RECORD / 2) != RECORD - RECORD / 2)
        r = -EIO;
    close(fd);
    return r;
}

static void *append_thread(void *arg)
{
    /* arg is proc * THREADS + thread (tu_run_concurrently()). */
    int id = (int)(intptr_t)arg, proc = id / THREADS, t = id % THREADS;
    int n = conc_locked ? APPENDS : CONTROL_APPENDS;
    /* No fsync: durability is not what is tested, and 6400 of them would take long. */
    const ajio_opts opts = {.flags = AJIO_NO_SYNC};
    char *rec = malloc(RECORD);

    if (rec == NULL)
        return (void *)1;
    for (int i = 0; i < n; i++) {
        int r;

        make_record(rec, proc, t, i);
        r = conc_locked ? ajio_append(conc_path, rec, RECORD, &opts) : append_unlocked(rec);
        if (r != 0) {
            fprintf(stderr, "append: %s: %s\n", ajio_err_name(r), ajio_last_error());
            free(rec);
            return (void *)1;
        }
    }
    free(rec);
    return NULL;
}

/* Runs the appenders; returns the number of bad lines, *ret_good the number of intact ones. */
static int append_concurrently(const char *dir, int locked, int *ret_good)
{
    static unsigned char seen[PROCS][THREADS][APPENDS];
    size_t len = 0;
    int bad = 0, good = 0;
    char *text, *line;

    conc_path = tu_path(dir, locked ? "log.txt" : "control.txt");
    conc_locked = locked;
    tu_run_concurrently(PROCS, THREADS, append_thread);
    text = tu_read(conc_path, &len);
    assert_non_null(text);
    memset(seen, 0, sizeof(seen));
    for (line = text; line < text + len;) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        size_t n = nl != NULL ? (size_t)(nl - line) + 1 : (size_t)(text + len - line);
        char want[RECORD];
        int p, t, i;

        if (n == RECORD && sscanf(line, "%d %d %d", &p, &t, &i) == 3 && p >= 0 && p < PROCS &&
            t >= 0 && t < THREADS && i >= 0 && i < APPENDS && !seen[p][t][i]) {
            make_record(want, p, t, i);
            if (memcmp(want, line, RECORD) == 0) {
                seen[p][t][i] = 1;
                good++;
                line += n;
                continue;
            }
        }
        bad++;
        line += n;
    }
    free(text);
    *ret_good = good;
    return bad;
}

/*
 * A caller that leaves SIGXFSZ at its default (death) is not killed by an append that would pass
 * RLIMIT_FSIZE: the append is refused with -EFBIG before a byte is written. Control: a plain
 * write loop past the limit kills such a process (the kernel cuts the first write short at the
 * limit and sends SIGXFSZ for the next).
 */
static void test_fsize_limit_never_kills(void **state)
{
    const char *path = tu_path(*state, "fsize.txt");
    static char rec[20000];

    tu_put(path, "line1\n", 0644);
    memset(rec, 'r', sizeof(rec));
    rec[sizeof(rec) - 1] = '\n';
    for (int plain = 0; plain <= 1; plain++) {
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0) {
            struct rlimit lim = {6 + 8192, 6 + 8192};

            signal(SIGXFSZ, SIG_DFL);
            if (setrlimit(RLIMIT_FSIZE, &lim) < 0)
                _exit(90);
            if (plain) {
                /* A writer that loops on short writes, as every careful one does. */
                int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
                size_t done = 0;
                while (fd >= 0 && done < sizeof(rec)) {
                    ssize_t n = write(fd, rec + done, sizeof(rec) - done);
                    if (n <= 0)
                        _exit(91);
                    done += (size_t)n;
                }
                _exit(93);
            }
            _exit(ajio_append(path, rec, sizeof(rec), NULL) == -EFBIG ? 0 : 92);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (plain) {
            assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ);
        } else {
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 0);
            tu_assert_content(path, "line1\n", 6);
        }
    }
}

static void test_concurrent_records_intact(void **state)
{
    int good, bad = append_concurrently(*state, 1, &good);

    assert_int_equal(bad, 0);
    assert_int_equal(good, PROCS * THREADS * APPENDS);
}

/* Negative control: the same records written in two halves to O_APPEND without the lock mix. */
static void test_concurrent_unlocked_interleaves(void **state)
{
    int good, bad = append_concurrently(*state, 0, &good);

    fprintf(stderr, "note: without the lock %d of %d records were spoilt\n",
            PROCS * THREADS * CONTROL_APPENDS - good, PROCS * THREADS * CONTROL_APPENDS);
    assert_true(bad > 0);
    assert_true(good < PROCS * THREADS * CONTROL_APPENDS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_creates_file_and_parents, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_appends_accumulate, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_refusals_write_nothing, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_complete_tail_terminated, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_partial_tail_cut, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_zeros_after_value, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_no_repair_refuses, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_repair_reports_and_is_idempotent, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_cut_back, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_fsize_limit_never_kills, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_records_intact, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_unlocked_interleaves, tu_setup,
                                        tu_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

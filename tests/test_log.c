/*
 * test_log.c - the log handle (ajio_log_*) and group commit: appends through a handle land as
 * ajio_append()'s do, a tail torn by someone else between two appends is repaired, a rotated or
 * removed log is followed to the file now at the name; many processes and threads appending
 * durably at once (handles and one-shot appends mixed) keep every record whole and none lost,
 * and on a disk they share syncs (fewer fdatasyncs than appends) - the control being the same
 * run with a lock file that others may write, where every append syncs on its own.
 */
#include "testutil.h"

#include "internal.h"

#include <inttypes.h>
#include <sys/vfs.h>

#define TMPFS_MAGIC 0x01021994

static void test_log_appends(void **state)
{
    const char *p = tu_path(*state, "d/log.jsonl");
    const ajio_opts jl = {.flags = AJIO_JSONL};
    int fds = tu_fd_count();
    ajio_log *log;

    tu_assert_ok(ajio_log_open(&log, p, &jl));
    tu_assert_ok(ajio_log_append(log, "{\"a\":1}\n", 8));
    tu_assert_ok(ajio_log_append(log, "[2]\n[3]\n", 8));
    tu_assert_ok(ajio_log_append(log, "", 0));
    tu_assert_fails(ajio_log_append(log, "[4]", 3), -EINVAL, "log.jsonl");
    tu_assert_fails(ajio_log_append(log, "[4\n", 3), AJIO_EJSON, "log.jsonl:1:");
    /* A one-shot append in between: the handle appends after it, no repair needed. */
    tu_assert_ok(ajio_append(p, "\"x\"\n", 4, &jl));
    tu_assert_ok(ajio_log_append(log, "[5]\n", 4));
    tu_assert_content(p, "{\"a\":1}\n[2]\n[3]\n\"x\"\n[5]\n", 24);

    /* Someone appends without the library and is cut off mid-record: repaired first. */
    int fd = open(p, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"torn", 6), 6);
    assert_int_equal(close(fd), 0);
    /* Not ours to cut: refused, untouched, until a repair is asked for. */
    tu_assert_fails(ajio_log_append(log, "[6]\n", 4), AJIO_ETORN, "log.jsonl");
    tu_assert_content(p, "{\"a\":1}\n[2]\n[3]\n\"x\"\n[5]\n{\"torn", 30);
    assert_int_equal(ajio_repair(p, &(ajio_opts){.flags = AJIO_JSONL}, NULL), AJIO_REPAIRED);
    assert_non_null(strstr(ajio_last_error(), "cut 6 bytes"));
    tu_assert_ok(ajio_log_append(log, "[6]\n", 4));
    tu_assert_content(p, "{\"a\":1}\n[2]\n[3]\n\"x\"\n[5]\n[6]\n", 28);
    tu_assert_ok(ajio_log_close(log));
    tu_assert_ok(ajio_log_close(NULL));
    assert_int_equal(tu_fd_count(), fds);

    /* A file cut short by someone else: not ours to cut, until a repair is asked for. */
    assert_int_equal(truncate(p, 26), 0);
    tu_assert_fails(ajio_log_open(&log, p, &jl), AJIO_ETORN, "log.jsonl");
    assert_int_equal(ajio_repair(p, &(ajio_opts){.flags = AJIO_JSONL}, NULL), AJIO_REPAIRED);
    tu_assert_ok(ajio_log_open(&log, p, &jl));
    tu_assert_ok(ajio_log_append(log, "[7]\n", 4));
    tu_assert_content(p, "{\"a\":1}\n[2]\n[3]\n\"x\"\n[5]\n[7]\n", 28);
    tu_assert_ok(ajio_log_close(log));

    tu_assert_fails(ajio_log_open(&log, p, &(ajio_opts){.flags = AJIO_MODE}), -EINVAL, p);
    tu_assert_fails(ajio_log_open(NULL, p, NULL), -EINVAL, "ret");
    tu_assert_fails(ajio_log_append(NULL, "x\n", 2), -EINVAL, "NULL");
    tu_assert_fails(ajio_log_open(&log, tu_path(*state, "no/such"), &(ajio_opts){.flags = AJIO_NO_MKDIR}),
                    -ENOENT, "no");
}

/* Rotation: the handle follows the name, to a new file or a file put there. */
static void test_log_rotation(void **state)
{
    const char *p = tu_path(*state, "app.log");
    char old[4096];
    ajio_log *log;

    snprintf(old, sizeof(old), "%s.1", p);
    tu_assert_ok(ajio_log_open(&log, p, NULL));
    tu_assert_ok(ajio_log_append(log, "one\n", 4));
    assert_int_equal(rename(p, old), 0);
    tu_assert_ok(ajio_log_append(log, "two\n", 4)); /* a new file at the name */
    tu_assert_content(old, "one\n", 4);
    tu_assert_content(p, "two\n", 4);
    assert_int_equal(unlink(p), 0);
    tu_assert_ok(ajio_log_append(log, "three\n", 6));
    tu_assert_content(p, "three\n", 6);
    tu_put(p, "put there\n", 0644); /* replaced by another file */
    tu_assert_ok(ajio_log_append(log, "four\n", 5));
    tu_assert_content(p, "put there\nfour\n", 15);
    tu_assert_ok(ajio_log_close(log));
}

/* ---- many appenders --------------------------------------------------------------------------- */

#define PROCS 8
#define THREADS 4
#define PER_THREAD 40
#define RECORD 300

static const char *storm_path;

/* Record i of appender id: {"id":..,"i":..,"pad":"..."} of exactly RECORD bytes. */
static size_t make_record(char *buf, int id, int i)
{
    int n = snprintf(buf, RECORD, "{\"id\":%d,\"i\":%d,\"pad\":\"", id, i);
    memset(buf + n, 'a' + id % 26, RECORD - (size_t)n - 3);
    memcpy(buf + RECORD - 3, "\"}\n", 3);
    return RECORD;
}

static void *appender(void *arg)
{
    int id = (int)(intptr_t)arg;
    char rec[RECORD];
    ajio_log *log = NULL;

    /* Half the appenders use a handle, half one-shot appends. */
    if (id % 2 == 0 && ajio_log_open(&log, storm_path, NULL) < 0)
        return (void *)1;
    for (int i = 0; i < PER_THREAD; i++) {
        size_t n = make_record(rec, id, i);
        int r = log != NULL ? ajio_log_append(log, rec, n) : ajio_append(storm_path, rec, n, NULL);
        if (r != 0)
            return (void *)1;
    }
    if (log != NULL && ajio_log_close(log) < 0)
        return (void *)1;
    return NULL;
}

/* Every record of every appender exactly once, whole, each appender's in its order. */
static void check_storm(const char *p)
{
    size_t len = 0;
    char *s = tu_read(p, &len), *line = s, want[RECORD];
    int next[PROCS * THREADS] = {0};

    assert_non_null(s);
    assert_int_equal(len, (size_t)PROCS * THREADS * PER_THREAD * RECORD);
    for (size_t k = 0; k < len / RECORD; k++, line += RECORD) {
        int id, i;
        assert_int_equal(sscanf(line, "{\"id\":%d,\"i\":%d,", &id, &i), 2);
        assert_true(id >= 0 && id < PROCS * THREADS);
        assert_int_equal(i, next[id]);
        next[id]++;
        make_record(want, id, i);
        assert_memory_equal(line, want, RECORD);
    }
    free(s);
}

static long fs_type(const char *dir)
{
    struct statfs sf;

    assert_int_equal(statfs(dir, &sf), 0);
    return (long)sf.f_type;
}

static void storm(const char *dir, uint64_t *ret_written, uint64_t *ret_syncs)
{
    char lock[4096];

    tu_run_concurrently(PROCS, THREADS, appender);
    check_storm(storm_path);
    snprintf(lock, sizeof(lock), "%s/.log.jsonl.ajio-lock", dir);
    *ret_written = *ret_syncs = 0;
    (void)ajio__group_counts(lock, ret_written, ret_syncs);
}

static void test_group_commit(void **state)
{
    uint64_t written, syncs;

    storm_path = tu_path(*state, "log.jsonl");
    storm(*state, &written, &syncs);
    print_message("group commit: %d appends, %" PRIu64 " numbered, %" PRIu64 " fdatasyncs\n",
                  PROCS * THREADS * PER_THREAD, written, syncs);
    /* A shared filesystem (FUSE is taken as one) has no group commit: every append syncs on
     * its own under the lock, as documented, and no counters are kept. */
    bool shared = tu_shared_fs(*state);
    if (!shared) {
        assert_int_equal(written, PROCS * THREADS * PER_THREAD);
        assert_true(syncs >= 1 && syncs <= written);
    }
    /* On a disk a sync takes long enough for others to queue behind it: they share it. */
    if (!shared && fs_type(*state) != TMPFS_MAGIC)
        assert_true(syncs < written * 3 / 4);

    /*
     * A lock file others may open is never relied on: its owner (the caller) retires it, and the
     * storm runs on a new one that only the log's writers may open.
     */
    assert_int_equal(unlink(storm_path), 0);
    char lock[4096];
    struct stat before, after;
    snprintf(lock, sizeof(lock), "%s/.log.jsonl.ajio-lock", (const char *)*state);
    assert_int_equal(unlink(lock), 0);
    tu_put(lock, "", 0666);
    assert_int_equal(chmod(lock, 0666), 0);
    assert_int_equal(stat(lock, &before), 0);
    char keep[4200];
    snprintf(keep, sizeof(keep), "%s.keep", lock); /* the old inode stays: no reuse of its number */
    assert_int_equal(link(lock, keep), 0);
    tu_put(storm_path, "", 0644); /* judged against the log's mode from the first append on */
    storm(*state, &written, &syncs);
    assert_int_equal(stat(lock, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    assert_int_equal(after.st_mode & 0777, 0600); /* a 0644 log: only its owner */
    if (!shared)
        assert_int_equal(written, PROCS * THREADS * PER_THREAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_log_appends),
        TU_TEST(test_log_rotation),
        TU_TEST(test_group_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_update.c - the locked read-modify-write: ajio_update() and AJIO_LOCK. What the callback
 * sees, what each of its answers does to the target, the lock's timeouts against another
 * process, the lock file's survival of ajio_sweep(), and the point of it all: concurrent
 * increments of a counter from processes and threads are never lost, while the same increments
 * without the lock are (the negative control).
 */
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

/* What a callback saw, and what it is to do. */
struct seen {
    char old[256];
    size_t len;
    int exists;
    int calls;
    const char *write; /* written to out when not NULL */
    int ret;           /* returned */
    const char *msg;   /* with ret < 0: set with ajio_set_last_error() when not NULL */
};

static int record(void *ctx, const void *old, size_t old_len, int exists, ajio_file *out)
{
    struct seen *s = ctx;

    s->calls++;
    assert_non_null(old);
    assert_true(old_len < sizeof(s->old));
    memcpy(s->old, old, old_len + 1); /* the NUL after the content is promised too */
    s->len = old_len;
    s->exists = exists;
    if (s->write != NULL)
        assert_int_equal(ajio_file_write(out, s->write, strlen(s->write)), 0);
    if (s->ret < 0 && s->msg != NULL)
        return ajio_set_last_error(s->ret, "%s", s->msg);
    return s->ret;
}

/* Whether dir holds a file whose name ends in ".tmp" (a temp; lock files end otherwise). */
static bool has_temp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    bool found = false;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0)
            found = true;
    }
    closedir(d);
    return found;
}

static void test_old_content_and_commit(void **state)
{
    const char *dir = *state;
    const char *path = tu_path(dir, "state.json");
    struct seen s = {.write = "{\"n\": 1}\n"};

    /* No file: exists 0, empty old. */
    tu_assert_ok(ajio_update(path, record, &s, -1, NULL));
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.exists, 0);
    assert_int_equal(s.len, 0);
    assert_string_equal(s.old, "");
    tu_assert_content(path, "{\"n\": 1}\n", 9);

    /* Now the callback sees what the first one committed, and its own result is committed. */
    s.write = "{\"n\": 2}\n";
    tu_assert_ok(ajio_update(path, record, &s, 0, NULL));
    assert_int_equal(s.exists, 1);
    assert_int_equal(s.len, 9);
    assert_string_equal(s.old, "{\"n\": 1}\n");
    tu_assert_content(path, "{\"n\": 2}\n", 9);
    assert_false(has_temp(dir));
    /* The lock file stays, next to the target. */
    assert_int_equal(access(tu_path(dir, ".state.json.ajio-lock"), F_OK), 0);
}

static void test_unchanged_writes_nothing(void **state)
{
    const char *dir = *state;
    const char *path = tu_path(dir, "f");
    struct seen s = {.ret = AJIO_UNCHANGED, .write = "ignored"};
    struct stat before, after;

    tu_put(path, "old", 0640);
    assert_int_equal(stat(path, &before), 0);
    /* A later write would show in mtime even within the same clock tick of a coarse clock. */
    usleep(20 * 1000);
    assert_int_equal(ajio_update(path, record, &s, -1, NULL), AJIO_UNCHANGED);
    assert_string_equal(s.old, "old");
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    tu_assert_content(path, "old", 3);
    assert_false(has_temp(dir));
}

static void test_callback_error(void **state)
{
    const char *dir = *state;
    const char *path = tu_path(dir, "f");
    struct seen s = {.ret = -EIO, .write = "half of the new content"};
    struct stat before, after;
    int fds = tu_fd_count();

    tu_put(path, "old", 0644);
    assert_int_equal(stat(path, &before), 0);
    /* No message of its own: the update says the callback failed, and where. */
    tu_assert_fails(ajio_update(path, record, &s, -1, NULL), -EIO, path);
    assert_non_null(strstr(ajio_last_error(), "callback failed"));
    tu_assert_content(path, "old", 3);
    assert_false(has_temp(dir));

    /* Its own message is kept as it is. */
    s.ret = -ERANGE;
    s.msg = "counter overflow in f";
    tu_assert_fails(ajio_update(path, record, &s, -1, NULL), -ERANGE, "counter overflow in f");
    assert_string_equal(ajio_last_error(), "counter overflow in f");

    /* A positive value other than AJIO_UNCHANGED is a bug of the callback. */
    s.ret = 7;
    tu_assert_fails(ajio_update(path, record, &s, -1, NULL), -EINVAL, path);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    tu_assert_content(path, "old", 3);
    assert_false(has_temp(dir));

    tu_assert_fails(ajio_update(path, NULL, NULL, -1, NULL), -EINVAL, path);
    /* Every failure closed what it opened, the lock file included. */
    assert_int_equal(tu_fd_count(), fds);
}

static void test_json_validates_result(void **state)
{
    const char *dir = *state;
    const char *path = tu_path(dir, "f.json");
    const ajio_opts json = {.flags = AJIO_JSON};
    struct seen s = {.write = "{\"n\": "};

    tu_put(path, "{\"n\": 1}\n", 0644);
    tu_assert_fails(ajio_update(path, record, &s, -1, &json), AJIO_EJSON, path);
    tu_assert_content(path, "{\"n\": 1}\n", 9);
    assert_false(has_temp(dir));
    /* Valid content gets its '\n', as any AJIO_JSON write. */
    s.write = "{\"n\": 2}";
    tu_assert_ok(ajio_update(path, record, &s, -1, &json));
    tu_assert_content(path, "{\"n\": 2}\n", 9);
}

/*
 * A child that holds path's lock (an AJIO_LOCK handle) until the parent writes to release; it
 * writes one byte to ready once it holds it. @return its pid.
 */
static pid_t hold_lock(const char *path, int *ret_release)
{
    int ready[2], release[2];
    char c;
    pid_t pid;

    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(release), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const ajio_opts lock = {.flags = AJIO_LOCK};
        ajio_file *f;

        close(ready[0]);
        close(release[1]);
        if (ajio_file_open(&f, path, &lock) < 0)
            _exit(1);
        if (write(ready[1], "x", 1) != 1 || read(release[0], &c, 1) < 0)
            _exit(2);
        ajio_file_abort(f);
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    *ret_release = release[1];
    return pid;
}

static void release_lock(pid_t pid, int release)
{
    int status;

    assert_int_equal(write(release, "x", 1), 1);
    close(release);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static double elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void test_timeouts(void **state)
{
    const char *dir = *state;
    const char *path = tu_path(dir, "f");
    struct seen s = {.write = "new"};
    struct timespec t0;
    int release;
    pid_t pid;

    tu_put(path, "old", 0644);
    pid = hold_lock(path, &release);
    tu_assert_fails(ajio_update(path, record, &s, 0, NULL), -EWOULDBLOCK, path);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tu_assert_fails(ajio_update(path, record, &s, 150, NULL), -ETIMEDOUT, path);
    assert_true(elapsed_ms(&t0) >= 150);
    assert_true(elapsed_ms(&t0) < 2000);
    assert_int_equal(s.calls, 0);
    tu_assert_content(path, "old", 3);
    release_lock(pid, release);
    /* Free again: even a single try gets it. */
    tu_assert_ok(ajio_update(path, record, &s, 0, NULL));
    tu_assert_content(path, "new", 3);
    assert_false(has_temp(dir));
}

static void test_sweep_keeps_lock_file(void **state)
{
    const char *dir = *state;
    const char *path = tu_path(dir, "f");
    const char *lock = tu_path(dir, ".f.ajio-lock");
    struct timespec old[2] = {{.tv_sec = 1000000}, {.tv_sec = 1000000}};
    struct seen s = {.write = "x"};

    tu_assert_ok(ajio_update(path, record, &s, -1, NULL));
    assert_int_equal(access(lock, F_OK), 0);
    /* As old as any leftover temp could be: age is not what protects it. */
    assert_int_equal(utimensat(AT_FDCWD, lock, old, 0), 0);
    assert_int_equal(ajio_sweep(dir, NULL, 0, 0), 0);
    assert_int_equal(ajio_sweep(dir, "f", 0, 0), 0);
    assert_int_equal(access(lock, F_OK), 0);
}

/* The callback of the child in test_lock_write_waits: tells the parent, then takes its time. */
static int slow_update(void *ctx, const void *old, size_t old_len, int exists, ajio_file *out)
{
    int fd = *(int *)ctx;

    (void)old;
    (void)old_len;
    (void)exists;
    if (write(fd, "x", 1) != 1)
        return -EIO;
    usleep(300 * 1000);
    return ajio_file_write(out, "child", 5);
}

/* An AJIO_LOCK write (lock 1) waits for an updater; a write without it (0) does not. */
static void lock_write_case(const char *dir, int lock)
{
    const char *path = tu_path(dir, lock ? "locked" : "unlocked");
    const ajio_opts opts = {.flags = lock ? AJIO_LOCK : 0};
    struct timespec t0;
    int p[2], status;
    char c;
    pid_t pid;

    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        _exit(ajio_update(path, slow_update, &p[1], -1, NULL) == 0 ? 0 : 1);
    }
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1); /* the child holds the lock now */
    close(p[0]);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tu_assert_ok(ajio_write_bytes(path, "parent", 6, &opts));
    if (lock)
        assert_true(elapsed_ms(&t0) >= 200);
    else
        assert_true(elapsed_ms(&t0) < 200);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* Locked, the write came after the update; unlocked, the update overwrote it. */
    if (lock)
        tu_assert_content(path, "parent", 6);
    else
        tu_assert_content(path, "child", 5);
}

static void test_lock_write_waits(void **state)
{
    lock_write_case(*state, 1);
    lock_write_case(*state, 0); /* negative control */
}

/* ---- concurrency: a JSON counter ------------------------------------------------------- */

#define PROCS 8
#define THREADS 4
#define INCREMENTS 50

static const char *counter_path;
static int counter_locked;

static long parse_counter(const char *text, size_t len)
{
    long n = 0;

    if (len == 0)
        return 0;
    if (sscanf(text, "{\"n\": %ld}", &n) != 1)
        return -1;
    return n;
}

static int increment(void *ctx, const void *old, size_t old_len, int exists, ajio_file *out)
{
    long n = parse_counter(old, old_len);

    (void)ctx;
    (void)exists;
    if (n < 0)
        return ajio_set_last_error(-EINVAL, "counter \"%s\" unreadable", (const char *)old);
    return ajio_file_printf(out, "{\"n\": %ld}", n + 1);
}

/* The negative control: read, a pause that invites a race, write. What updates exist to fix. */
static int increment_unlocked(const char *path)
{
    char buf[64];
    ssize_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        len = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (len < 0)
            return -errno;
    } else if (errno != ENOENT) {
        return -errno;
    }
    buf[len] = '\0';
    long n = parse_counter(buf, (size_t)len);
    if (n < 0)
        return -EINVAL;
    sched_yield();
    usleep(200);
    len = snprintf(buf, sizeof(buf), "{\"n\": %ld}\n", n + 1);
    return ajio_write_bytes(path, buf, (size_t)len, &(ajio_opts){.flags = AJIO_NO_SYNC});
}

static void *counter_thread(void *arg)
{
    /* No fsync: durability is not what is tested, and 1600 of them would take long. */
    const ajio_opts opts = {.flags = AJIO_JSON | AJIO_NO_SYNC};

    (void)arg;
    for (int i = 0; i < INCREMENTS; i++) {
        int r = counter_locked ? ajio_update(counter_path, increment, NULL, -1, &opts)
                               : increment_unlocked(counter_path);
        if (r != 0) {
            fprintf(stderr, "increment: %s: %s\n", ajio_err_name(r), ajio_last_error());
            return (void *)1;
        }
    }
    return NULL;
}

static long count_concurrently(const char *dir, int locked)
{
    size_t len = 0;
    char *text;
    long n;

    counter_path = tu_path(dir, locked ? "counter.json" : "control.json");
    counter_locked = locked;
    tu_run_concurrently(PROCS, THREADS, counter_thread);
    text = tu_read(counter_path, &len);
    assert_non_null(text);
    n = parse_counter(text, len);
    free(text);
    return n;
}

static void test_concurrent_counter(void **state)
{
    long n = count_concurrently(*state, 1);

    assert_int_equal(n, PROCS * THREADS * INCREMENTS);
    assert_false(has_temp(*state));
}

/* Negative control: the same increments without the lock lose some. */
static void test_concurrent_counter_unlocked_loses(void **state)
{
    long n = count_concurrently(*state, 0);

    fprintf(stderr, "note: without the lock %ld of %d increments survived\n", n,
            PROCS * THREADS * INCREMENTS);
    assert_true(n > 0);
    assert_true(n < PROCS * THREADS * INCREMENTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_old_content_and_commit, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_unchanged_writes_nothing, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_callback_error, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_json_validates_result, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timeouts, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_keeps_lock_file, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_lock_write_waits, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_counter, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_counter_unlocked_loses, tu_setup,
                                        tu_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

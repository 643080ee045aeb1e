/*
 * test_write_fd.c - ajio_file_write_fd(): the bytes of a regular file, a pipe, a /proc file and
 * the target itself, each through the path the kernel offers and through the forced read path;
 * validation and AJIO_SKIP_UNCHANGED, which must see every byte; failures on either side, which
 * fail the handle and leave the target as it was and no temp.
 */
#include "testutil.h"
#include "internal.h"

#include <sys/resource.h>

#define BIG (3 * 1024 * 1024 + 12345) /* several kernel and read pieces, not a whole one */

/* BIG bytes no piece of which repeats at a piece's distance: a misplaced piece shows. */
static unsigned char *pattern(void)
{
    unsigned char *p = malloc(BIG);
    uint32_t x = 2463534242u;

    assert_non_null(p);
    for (size_t i = 0; i < BIG; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    return p;
}

static void put_bytes(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* A pipe whose reading end is returned, a child writing len bytes of data into it, then EOF. */
static int pipe_from(const void *data, size_t len, pid_t *child)
{
    int p[2];

    assert_int_equal(pipe(p), 0);
    *child = fork();
    assert_true(*child >= 0);
    if (*child == 0) {
        const char *c = data;

        (void)close(p[0]);
        while (len > 0) {
            ssize_t n = write(p[1], c, len);
            if (n <= 0)
                _exit(1);
            c += n;
            len -= (size_t)n;
        }
        _exit(0);
    }
    (void)close(p[1]);
    return p[0];
}

static void reap(pid_t child)
{
    int st;

    assert_int_equal(waitpid(child, &st, 0), child);
    /* The child may die of SIGPIPE where the test stopped reading early: that is fine. */
    (void)st;
}

/* Whether the kernel's own copy is expected: the default scratch directory (the matrix moves
 * it to filesystems where the kernel may refuse, and then the read path must do). */
static bool kernel_expected(void)
{
    const char *d = getenv("AJIO_TEST_DIR");

    return d == NULL || d[0] == '\0';
}

/* Prefix, the whole of fd, suffix: the order of the pieces and the handle's buffer hold. */
static void copy_between(const char *dir, int fd, const unsigned char *data, int method)
{
    const char *p = tu_path(dir, "out");
    unsigned long before[3];
    unsigned char *want = malloc(BIG + 8);
    uint64_t len = 1;
    ajio_file *f;

    assert_non_null(want);
    memcpy(before, ajio__copy_fd_counts, sizeof(before));
    tu_assert_ok(ajio_file_open(&f, p, NULL));
    tu_assert_ok(ajio_file_write(f, "head", 4));
    tu_assert_ok(ajio_file_write_fd(f, fd, &len));
    assert_int_equal(len, BIG);
    tu_assert_ok(ajio_file_write(f, "tail", 4));
    tu_assert_ok(ajio_file_commit(f));
    memcpy(want, "head", 4);
    memcpy(want + 4, data, BIG);
    memcpy(want + 4 + BIG, "tail", 4);
    tu_assert_content(p, want, BIG + 8);
    free(want);
    assert_int_equal(tu_count_temps(dir), 0);
    /* Exactly one method finished the call; the one asked for where the kernel is expected. */
    assert_int_equal(ajio__copy_fd_counts[0] + ajio__copy_fd_counts[1] + ajio__copy_fd_counts[2],
                     before[0] + before[1] + before[2] + 1);
    if (method == 2 || kernel_expected())
        assert_int_equal(ajio__copy_fd_counts[method], before[method] + 1);
}

static void test_regular_file(void **state)
{
    const char *in = tu_path(*state, "in");
    unsigned char *data = pattern();
    int fd;

    put_bytes(in, data, BIG);
    fd = open(in, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    copy_between(*state, fd, data, 0);
    /* fd is left at its end, as a read to EOF leaves it, and still open. */
    assert_int_equal(lseek(fd, 0, SEEK_CUR), BIG);
    assert_int_equal(close(fd), 0);
    free(data);
}

static void test_pipe(void **state)
{
    unsigned char *data = pattern();
    pid_t child;
    int fd = pipe_from(data, BIG, &child);

    copy_between(*state, fd, data, 1);
    assert_int_equal(close(fd), 0);
    reap(child);
    free(data);
}

/* The read path, forced: the same bytes from a regular file and from a pipe. */
static void test_forced_read(void **state)
{
    const char *in = tu_path(*state, "in");
    unsigned char *data = pattern();
    pid_t child;
    int fd;

    put_bytes(in, data, BIG);
    ajio__copy_fd_mode = 1;
    fd = open(in, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    copy_between(*state, fd, data, 2);
    assert_int_equal(close(fd), 0);
    fd = pipe_from(data, BIG, &child);
    copy_between(*state, fd, data, 2);
    assert_int_equal(close(fd), 0);
    reap(child);
    ajio__copy_fd_mode = 0;
    free(data);
}

/* The input's offset is where the copy starts; an input at its end adds nothing. */
static void test_offset_and_empty(void **state)
{
    const char *in = tu_path(*state, "in"), *p = tu_path(*state, "out");
    uint64_t len = 7;
    ajio_file *f;
    int fd;

    tu_put(in, "skip:keep", 0644);
    fd = open(in, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 5, SEEK_SET), 5);
    tu_assert_ok(ajio_file_open(&f, p, NULL));
    tu_assert_ok(ajio_file_write_fd(f, fd, &len));
    assert_int_equal(len, 4);
    tu_assert_ok(ajio_file_write_fd(f, fd, &len));
    assert_int_equal(len, 0);
    tu_assert_ok(ajio_file_write_fd(f, fd, NULL));
    tu_assert_ok(ajio_file_commit(f));
    tu_assert_content(p, "keep", 4);
    assert_int_equal(close(fd), 0);
}

/* A /proc file has size 0 to copy_file_range(): its bytes come by read. */
static void test_proc_file(void **state)
{
    const char *p = tu_path(*state, "out");
    uint64_t len = 0;
    ajio_file *f;
    size_t n = 0;
    char *got;
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

    assert_true(fd >= 0);
    tu_assert_ok(ajio_file_open(&f, p, NULL));
    tu_assert_ok(ajio_file_write_fd(f, fd, &len));
    tu_assert_ok(ajio_file_commit(f));
    assert_int_equal(close(fd), 0);
    got = tu_read(p, &n);
    assert_non_null(got);
    assert_true(len > 0 && n == len);
    assert_memory_equal(got, "Name:", 5);
    free(got);
}

/* The input open on the target itself: the old content is what is copied. */
static void test_target_as_input(void **state)
{
    const char *p = tu_path(*state, "self");
    ajio_file *f;
    int fd;

    tu_put(p, "old content\n", 0644);
    fd = open(p, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    tu_assert_ok(ajio_file_open(&f, p, NULL));
    tu_assert_ok(ajio_file_write(f, "new, then ", 10));
    tu_assert_ok(ajio_file_write_fd(f, fd, NULL));
    tu_assert_ok(ajio_file_commit(f));
    assert_int_equal(close(fd), 0);
    tu_assert_content(p, "new, then old content\n", 22);
    assert_int_equal(tu_count_entries(*state), 1);
}

/* An array of BIG-ish size, so the validator sees several 1 MiB pieces; bad adds a stray byte
 * in the middle. */
static char *json_array(size_t *ret_len, bool bad)
{
    size_t n = 500000, len = 0;
    char *s = malloc(n * 12 + 16);

    assert_non_null(s);
    s[len++] = '[';
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(s + len, "%s%zu", i > 0 ? "," : "", i);
    s[len++] = ']';
    if (bad)
        s[len / 2] = '}';
    *ret_len = len;
    return s;
}

static void test_validated(void **state)
{
    const char *in = tu_path(*state, "in.json"), *p = tu_path(*state, "v.json");
    ajio_opts o = {.flags = AJIO_JSON};
    unsigned long before[3];
    size_t len;
    char *doc = json_array(&len, false), *want;
    ajio_file *f;
    pid_t child;
    int fd;

    assert_true(len > 2 * 1024 * 1024);
    memcpy(before, ajio__copy_fd_counts, sizeof(before));
    /* From a pipe: validated, the '\n' a JSON file ends with added. */
    fd = pipe_from(doc, len, &child);
    tu_assert_ok(ajio_file_open(&f, p, &o));
    tu_assert_ok(ajio_file_write_fd(f, fd, NULL));
    tu_assert_ok(ajio_file_commit(f));
    assert_int_equal(close(fd), 0);
    reap(child);
    want = malloc(len + 1);
    assert_non_null(want);
    memcpy(want, doc, len);
    want[len] = '\n';
    tu_assert_content(p, want, len + 1);
    /* The bytes went through memory: the read path, never the kernel's copy. */
    assert_int_equal(ajio__copy_fd_counts[2], before[2] + 1);
    assert_int_equal(ajio__copy_fd_counts[0], before[0]);
    assert_int_equal(ajio__copy_fd_counts[1], before[1]);
    free(doc);

    /* From a regular file, invalid: the call fails, and so does the commit; nothing changes. */
    doc = json_array(&len, true);
    put_bytes(in, doc, len);
    fd = open(in, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    tu_assert_ok(ajio_file_open(&f, p, &o));
    tu_assert_fails(ajio_file_write_fd(f, fd, NULL), AJIO_EJSON, p);
    tu_assert_fails(ajio_file_write(f, "1", 1), AJIO_EJSON, p);
    tu_assert_fails(ajio_file_commit(f), AJIO_EJSON, p);
    assert_int_equal(close(fd), 0);
    tu_assert_content(p, want, len + 1);
    assert_int_equal(tu_count_temps(*state), 0);
    free(want);
    free(doc);
}

static void test_skip_unchanged(void **state)
{
    const char *in = tu_path(*state, "in"), *p = tu_path(*state, "s");
    ajio_opts o = {.flags = AJIO_SKIP_UNCHANGED};
    unsigned char *data = pattern();
    struct stat a, b;
    ajio_file *f;
    int fd;

    put_bytes(in, data, BIG);
    put_bytes(p, data, BIG);
    assert_int_equal(stat(p, &a), 0);
    fd = open(in, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    tu_assert_ok(ajio_file_open(&f, p, &o));
    tu_assert_ok(ajio_file_write_fd(f, fd, NULL));
    assert_int_equal(ajio_file_commit(f), AJIO_UNCHANGED);
    assert_int_equal(stat(p, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    /* One byte more is a change, and is written. */
    assert_int_equal(lseek(fd, BIG - 1, SEEK_SET), BIG - 1);
    tu_assert_ok(ajio_file_open(&f, p, &o));
    tu_assert_ok(ajio_file_write(f, data, BIG));
    tu_assert_ok(ajio_file_write_fd(f, fd, NULL));
    tu_assert_ok(ajio_file_commit(f));
    assert_int_equal(stat(p, &b), 0);
    assert_int_equal(b.st_size, BIG + 1);
    assert_int_equal(close(fd), 0);
    free(data);
}

static void test_errors(void **state)
{
    const char *p = tu_path(*state, "f"), *in = tu_path(*state, "in");
    uint64_t len = 9;
    ajio_file *f;
    int fd;

    tu_put(p, "old", 0644);
    tu_put(in, "data", 0644);
    tu_assert_fails(ajio_file_write_fd(NULL, 0, &len), -EINVAL, "NULL");
    assert_int_equal(len, 0);
    tu_assert_ok(ajio_file_open(&f, p, NULL));
    tu_assert_fails(ajio_file_write_fd(f, -1, NULL), -EINVAL, p);
    /* Refused arguments do not fail the handle: nothing was consumed. */
    tu_assert_ok(ajio_file_write(f, "x", 1));
    /* An fd open for writing only: the read's EBADF, after the kernel's copy refused. */
    fd = open(in, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    tu_assert_fails(ajio_file_write_fd(f, fd, NULL), -EBADF, "read of fd");
    tu_assert_fails(ajio_file_write(f, "x", 1), -EBADF, p);
    tu_assert_fails(ajio_file_commit(f), -EBADF, p);
    assert_int_equal(close(fd), 0);
    /* A directory. */
    fd = open(*state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    tu_assert_ok(ajio_file_open(&f, p, NULL));
    tu_assert_fails(ajio_file_write_fd(f, fd, NULL), -EISDIR, p);
    tu_assert_fails(ajio_file_commit(f), -EISDIR, p);
    assert_int_equal(close(fd), 0);
    tu_assert_content(p, "old", 3);
    assert_int_equal(tu_count_temps(*state), 0);
}

/* A file-size limit stops the kernel's copy half way: the handle fails, the target stays. */
static void test_size_limit(void **state)
{
    const char *p = tu_path(*state, "f"), *in = tu_path(*state, "in");
    unsigned char *data = pattern();
    struct rlimit old, lim;
    ajio_file *f;
    pid_t child;
    int fd;

    tu_put(p, "old", 0644);
    put_bytes(in, data, BIG);
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 100000;
    for (int kind = 0; kind < 3; kind++) {
        ajio__copy_fd_mode = kind == 2;
        fd = kind == 1 ? pipe_from(data, BIG, &child) : open(in, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        tu_assert_ok(ajio_file_open(&f, p, NULL));
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        tu_assert_fails(ajio_file_write_fd(f, fd, NULL), -EFBIG, p);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        tu_assert_fails(ajio_file_commit(f), -EFBIG, p);
        assert_int_equal(close(fd), 0);
        if (kind == 1)
            reap(child);
        tu_assert_content(p, "old", 3);
        assert_int_equal(tu_count_temps(*state), 0);
    }
    ajio__copy_fd_mode = 0;
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_regular_file),     TU_TEST(test_pipe),           TU_TEST(test_forced_read),
        TU_TEST(test_offset_and_empty), TU_TEST(test_proc_file),      TU_TEST(test_target_as_input),
        TU_TEST(test_validated),        TU_TEST(test_skip_unchanged), TU_TEST(test_errors),
        TU_TEST(test_size_limit),
    };
    return cmocka_run_group_tests_name("write_fd", tests, NULL, NULL);
}

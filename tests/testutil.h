/*
 * testutil.h - small helpers shared by the cmocka suites: scratch directories (under
 * $AJIO_TEST_DIR, so the filesystem matrix can run every suite on another filesystem), whole-file
 * reads, directory listings and fd counts.
 */
#ifndef AJIO_TESTUTIL_H
#define AJIO_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ajio.h"

/* A fresh scratch directory; free() the result after tu_rmrf(). */
static inline char *tu_mkdtemp(void)
{
    const char *base = getenv("AJIO_TEST_DIR");
    char *p;

    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    if (asprintf(&p, "%s/ajio-test.XXXXXX", base) < 0)
        abort();
    if (mkdtemp(p) == NULL) {
        fprintf(stderr, "mkdtemp %s: %s\n", p, strerror(errno));
        abort();
    }
    return p;
}

static inline int tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void tu_rmrf(const char *path)
{
    (void)nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* "dir/name" in a static rotating buffer: enough for a few live paths at a time. */
static inline const char *tu_path(const char *dir, const char *name)
{
    static char bufs[8][4096];
    static int i;
    char *b = bufs[i++ & 7];

    snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
    return b;
}

/* Whole file into a malloc'ed NUL-terminated buffer; NULL (errno set) if it cannot be read. */
static inline char *tu_read(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL)
        return NULL;
    do {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    if (ret_len != NULL)
        *ret_len = len;
    return buf;
}

/* Asserts that path holds exactly the len bytes at data. */
#define tu_assert_content(path, data, len)                                                         \
    do {                                                                                           \
        size_t tu_len_;                                                                            \
        char *tu_buf_ = tu_read(path, &tu_len_);                                                   \
        assert_non_null(tu_buf_);                                                                  \
        assert_int_equal(tu_len_, (len));                                                          \
        assert_memory_equal(tu_buf_, (data), (len));                                               \
        free(tu_buf_);                                                                             \
    } while (0)

static inline void tu_put(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

/* Whether path is on a filesystem the library treats as shared (ajio.h, "Shared filesystems"). */
static inline int tu_shared_fs(const char *path)
{
    ajio_fs_info info;

    return ajio_fs_probe(path, &info) == 0 && info.kind != AJIO_FS_LOCAL;
}

/*
 * Takes a target's lock on its lock file fd (open read-write) as the library does on the
 * filesystem of dir: flock(2), or on a shared filesystem an OFD lock on byte 1024 (lock.c).
 */
static inline int tu_lock_target(int fd, const char *dir)
{
    if (tu_shared_fs(dir)) {
        struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1024, .l_len = 1};

        return fcntl(fd, F_OFD_SETLKW, &l);
    }
    return flock(fd, LOCK_EX);
}

/* Number of entries in dir other than "." and "..", or only those containing part. */
static inline int tu_count_matching(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    /*
     * ".nfs" and hex digits: what an NFS client names a file one of its processes still had
     * open when it was unlinked or replaced (a "silly rename"); the client removes it at the
     * last close. Nobody's leftover.
     */
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            strncmp(de->d_name, ".nfs", 4) != 0 &&
            (part == NULL || strstr(de->d_name, part) != NULL))
            n++;
    closedir(d);
    return n;
}

static inline int tu_count_entries(const char *dir)
{
    return tu_count_matching(dir, NULL);
}

/* Number of entries in dir whose name has the ajio temp shape. */
static inline int tu_count_temps(const char *dir)
{
    return tu_count_matching(dir, ".ajio-");
}

static inline int tu_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    assert_non_null(d);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n - 3; /* ".", "..", and the fd of d itself */
}

/* Asserts r == expected and, for failures, that the message names the path. */
#define tu_assert_fails(r, expected, path_part)                                                    \
    do {                                                                                           \
        int tu_r_ = (r);                                                                           \
        if (tu_r_ != (expected))                                                                   \
            fail_msg("returned %d (%s), expected %d (%s); message: %s", tu_r_,                     \
                     ajio_err_name(tu_r_), (expected), ajio_err_name(expected),                    \
                     ajio_last_error());                                                           \
        if (strstr(ajio_last_error(), (path_part)) == NULL)                                        \
            fail_msg("message \"%s\" does not name \"%s\"", ajio_last_error(), (path_part));       \
    } while (0)

#define tu_assert_ok(r)                                                                            \
    do {                                                                                           \
        int tu_r_ = (r);                                                                           \
        if (tu_r_ != 0)                                                                            \
            fail_msg("returned %d (%s): %s", tu_r_, ajio_err_name(tu_r_), ajio_last_error());      \
    } while (0)

/* Whether the filesystem of dir supports O_TMPFILE (FUSE passthroughs do not). */
static inline int tu_has_tmpfile(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);

    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* Runs fn in a child that has dropped root to nobody; returns the child's exit status. */
static inline int tu_as_nobody(void (*fn)(const char *), const char *arg)
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(98);
        fn(arg);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/*
 * Runs fn in threads threads of each of procs forked processes, at once, and waits for them all:
 * the shape of every concurrency test. fn gets proc * threads + thread as its argument and
 * returns NULL on success; the test fails if any thread did not, or any process died.
 */
static inline void tu_run_concurrently(int procs, int threads, void *(*fn)(void *))
{
    pid_t pids[64];

    assert_true(procs <= 64);
    for (int p = 0; p < procs; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            pthread_t t[64];
            int failed = 0;

            if (threads > 64)
                _exit(2);
            for (int i = 0; i < threads; i++)
                if (pthread_create(&t[i], NULL, fn, (void *)(intptr_t)(p * threads + i)) != 0)
                    _exit(3);
            for (int i = 0; i < threads; i++) {
                void *ret;
                if (pthread_join(t[i], &ret) != 0 || ret != NULL)
                    failed = 1;
            }
            _exit(failed);
        }
    }
    for (int p = 0; p < procs; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

/* Root-only tests skip outside CI with a reason; CI runs as root, so there they must not. */
#define tu_require_root()                                                                          \
    do {                                                                                           \
        if (geteuid() != 0) {                                                                      \
            if (getenv("CI") != NULL && strcmp(getenv("CI"), "true") == 0)                         \
                fail_msg("CI runs as root: this test must not skip there");                        \
            fprintf(stderr, "skip: needs root\n");                                                \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/*
 * Switches LC_NUMERIC to de_DE.UTF-8, whose decimal point is a comma, building the locale into
 * locdir (a mkdtemp template, /tmp/...) when the system lacks it. Outside the scratch directory:
 * the process keeps the locale files mapped, and on FUSE (bindfs in the filesystem matrix) a
 * mapped file cannot be removed for good. @return whether locdir was made (tu_decimal_point_end).
 */
static inline int tu_decimal_comma_begin(char *locdir)
{
    char cmd[4400], buf[8];
    int built = 0;

    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") == NULL) {
        assert_non_null(mkdtemp(locdir));
        built = 1;
        snprintf(cmd, sizeof(cmd), "localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1",
                 locdir);
        if (system(cmd) != 0)
            fail_msg("no de_DE.UTF-8 locale and localedef failed (package locales)");
        setenv("LOCPATH", locdir, 1);
        assert_non_null(setlocale(LC_NUMERIC, "de_DE.UTF-8"));
    }
    /* Negative control: the locale is in effect, printf's point is a comma. */
    snprintf(buf, sizeof(buf), "%.1f", 1.5);
    assert_string_equal(buf, "1,5");
    return built;
}

/* Back to the C locale; removes what tu_decimal_comma_begin() built. */
static inline void tu_decimal_comma_end(char *locdir, int built)
{
    setlocale(LC_NUMERIC, "C");
    unsetenv("LOCPATH");
    if (built)
        tu_rmrf(locdir);
}

/* Per-test scratch directory as cmocka state. */
static inline int tu_setup(void **state)
{
    *state = tu_mkdtemp();
    return 0;
}

static inline int tu_teardown(void **state)
{
    tu_rmrf(*state);
    free(*state);
    return 0;
}

/* A cmocka test that gets a fresh scratch directory as its state, removed after it. */
#define TU_TEST(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)

#endif /* AJIO_TESTUTIL_H */

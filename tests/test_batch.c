/*
 * test_batch.c - the directory handle (ajio_dir_*) and the batch (ajio_batch_*): the same files,
 * modes and refusals as path writes; a directory handle that follows its directory when it is
 * renamed (it never walks the path again); batches across directories and rounds (a small
 * RLIMIT_NOFILE forces many), a failure part way that leaves its own file untouched and the
 * others written, per-file results, and no descriptor or temp left behind.
 */
#include "testutil.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

/* ---- directory handle ----------------------------------------------------------------------- */

static void test_dir_writes(void **state)
{
    const char *dir = tu_path(*state, "a/b");
    int fds = tu_fd_count();
    ajio_dir *d;
    struct stat st;

    tu_assert_ok(ajio_dir_open(&d, dir, NULL)); /* created, parents too */
    assert_int_equal(tu_fd_count(), fds + 1);
    tu_assert_ok(ajio_dir_write(d, "one.json", "{}", 2, &(ajio_opts){.flags = AJIO_JSON}));
    tu_assert_content(tu_path(*state, "a/b/one.json"), "{}\n", 3);
    tu_assert_ok(ajio_dir_write(d, "two", "x", 1, NULL));
    assert_int_equal(chmod(tu_path(*state, "a/b/two"), 0640), 0);
    tu_assert_ok(ajio_dir_write(d, "two", "yy", 2, NULL));
    tu_assert_content(tu_path(*state, "a/b/two"), "yy", 2);
    assert_int_equal(stat(tu_path(*state, "a/b/two"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640); /* kept, as a path write keeps it */

    tu_assert_fails(ajio_dir_write(d, "two", "z", 1, &(ajio_opts){.flags = AJIO_CREATE_ONLY}),
                    -EEXIST, "a/b/two");
    assert_int_equal(ajio_dir_write(d, "two", "yy", 2,
                                    &(ajio_opts){.flags = AJIO_SKIP_UNCHANGED}),
                     AJIO_UNCHANGED);
    tu_assert_fails(ajio_dir_write(d, "bad.json", "{", 1, &(ajio_opts){.flags = AJIO_JSON}),
                    AJIO_EJSON, "a/b/bad.json:1:");
    assert_int_equal(access(tu_path(*state, "a/b/bad.json"), F_OK), -1);
    assert_int_equal(mkdir(tu_path(*state, "a/b/sub"), 0755), 0);
    tu_assert_fails(ajio_dir_write(d, "sub", "x", 1, NULL), -EISDIR, "a/b/sub");

    /* Names, not paths. */
    tu_assert_fails(ajio_dir_write(d, "sub/x", "x", 1, NULL), -EINVAL, "sub/x");
    tu_assert_fails(ajio_dir_write(d, "", "x", 1, NULL), -EINVAL, "empty");
    tu_assert_fails(ajio_dir_write(d, "..", "x", 1, NULL), -EISDIR, "..");
    char longname[NAME_MAX + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    tu_assert_fails(ajio_dir_write(d, longname, "x", 1, NULL), -ENAMETOOLONG, "NAME_MAX");
    tu_assert_fails(ajio_dir_write(NULL, "x", "x", 1, NULL), -EINVAL, "NULL");
    tu_assert_fails(ajio_dir_write(d, "x", NULL, 1, NULL), -EINVAL, "NULL");
    assert_int_equal(tu_count_temps(dir), 0);
    ajio_dir_close(d);
    ajio_dir_close(NULL);
    assert_int_equal(tu_fd_count(), fds);

    tu_assert_fails(ajio_dir_open(&d, tu_path(*state, "none"), &(ajio_opts){.flags = AJIO_NO_MKDIR}),
                    -ENOENT, "none");
    tu_assert_fails(ajio_dir_open(&d, dir, &(ajio_opts){.flags = AJIO_JSON}), -EINVAL, "a/b");
    tu_assert_fails(ajio_dir_open(&d, tu_path(*state, "a/b/two"), NULL), -ENOTDIR, "two");
    tu_assert_fails(ajio_dir_open(NULL, dir, NULL), -EINVAL, "ret");
}

/* The handle holds the directory, not its path: renamed, the writes follow; removed, they fail. */
static void test_dir_held(void **state)
{
    ajio_dir *d;

    char val[16];
    bool xattrs;

    tu_assert_ok(ajio_dir_open(&d, tu_path(*state, "old"), NULL));
    tu_assert_ok(ajio_dir_write(d, "kept", "0", 1, NULL));
    xattrs = setxattr(tu_path(*state, "old/kept"), "user.test", "v1", 2, 0) == 0;
    assert_int_equal(chmod(tu_path(*state, "old/kept"), 0604), 0);
    assert_int_equal(rename(tu_path(*state, "old"), tu_path(*state, "new")), 0);
    tu_assert_ok(ajio_dir_write(d, "f", "1", 1, NULL));
    tu_assert_content(tu_path(*state, "new/f"), "1", 1);
    /* The old file's attributes are found through the handle, not the stale path. */
    tu_assert_ok(ajio_dir_write(d, "kept", "2", 1, NULL));
    tu_assert_content(tu_path(*state, "new/kept"), "2", 1);
    struct stat st;
    assert_int_equal(stat(tu_path(*state, "new/kept"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0604);
    if (xattrs) {
        assert_int_equal(getxattr(tu_path(*state, "new/kept"), "user.test", val, sizeof(val)), 2);
        assert_memory_equal(val, "v1", 2);
    } else {
        print_message("no user.* attributes on this filesystem: the attribute check is skipped\n");
    }
    assert_int_equal(unlink(tu_path(*state, "new/kept")), 0);
    assert_int_equal(access(tu_path(*state, "old"), F_OK), -1);
    assert_int_equal(unlink(tu_path(*state, "new/f")), 0);
    assert_int_equal(rmdir(tu_path(*state, "new")), 0);
    /* -ENOENT or, from O_TMPFILE in a removed directory, -EPERM: the kernel's answer. */
    assert_true(ajio_dir_write(d, "f", "1", 1, NULL) < 0);
    assert_non_null(strstr(ajio_last_error(), "/f"));
    ajio_dir_close(d);
}

/*
 * Without listxattrat(2) (an older kernel: ENOSYS; a seccomp filter older than the call: EPERM)
 * the attributes are found through /proc/self/fd: still not by the stale path; a path write's by
 * its path. Run in a child that a seccomp filter denies the *at calls.
 */
static void test_dir_attrs_without_at_calls(void **state)
{
    const int errs[] = {ENOSYS, EPERM};
    char base[4096];

    for (int k = 0; k < 2; k++) {
        int status;
        pid_t pid;

        snprintf(base, sizeof(base), "%s/try%d", (const char *)*state, k);
        assert_int_equal(mkdir(base, 0755), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct sock_filter filt[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 464 /* getxattrat */, 1, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 465 /* listxattrat */, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)errs[k]),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            };
            struct sock_fprog prog = {.len = 5, .filter = filt};
            char a[4200], b[4200], val[8];
            ajio_dir *d;

            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
                _exit(99);
            snprintf(a, sizeof(a), "%s/a", base);
            snprintf(b, sizeof(b), "%s/b", base);
            if (ajio_dir_open(&d, a, NULL) < 0 || ajio_dir_write(d, "f", "0", 1, NULL) < 0)
                _exit(2);
            snprintf(a, sizeof(a), "%s/a/f", base);
            if (setxattr(a, "user.test", "v1", 2, 0) < 0)
                _exit(errno == ENOTSUP ? 77 : 3);
            snprintf(a, sizeof(a), "%s/a", base);
            if (rename(a, b) < 0 || ajio_dir_write(d, "f", "1", 1, NULL) < 0)
                _exit(4);
            snprintf(b, sizeof(b), "%s/b/f", base);
            if (getxattr(b, "user.test", val, sizeof(val)) != 2 || memcmp(val, "v1", 2) != 0)
                _exit(5);
            /* A path write, which also names the old file by its directory fd, falls back to
             * the path as resolved. */
            if (ajio_write_bytes(b, "2", 1, NULL) < 0 ||
                getxattr(b, "user.test", val, sizeof(val)) != 2 || memcmp(val, "v1", 2) != 0)
                _exit(6);
            ajio_dir_close(d);
            _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77) {
            print_message("no user.* attributes on this filesystem: skipped\n");
            return;
        }
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

/* A symlink at the name is followed as a path write follows it, or refused with AJIO_NO_FOLLOW. */
static void test_dir_symlink(void **state)
{
    ajio_dir *d;
    char buf[8];

    assert_int_equal(mkdir(tu_path(*state, "d"), 0755), 0);
    assert_int_equal(mkdir(tu_path(*state, "elsewhere"), 0755), 0);
    assert_int_equal(symlink("../elsewhere/real", tu_path(*state, "d/link")), 0);
    tu_assert_ok(ajio_dir_open(&d, tu_path(*state, "d"), NULL));
    tu_assert_ok(ajio_dir_write(d, "link", "via", 3, NULL));
    tu_assert_content(tu_path(*state, "elsewhere/real"), "via", 3);
    assert_int_equal(readlink(tu_path(*state, "d/link"), buf, sizeof(buf)), sizeof(buf)); /* still a link */
    tu_assert_fails(ajio_dir_write(d, "link", "no", 2, &(ajio_opts){.flags = AJIO_NO_FOLLOW}),
                    -ELOOP, "link");
    tu_assert_ok(ajio_dir_write(d, "link", "mine", 4, &(ajio_opts){.flags = AJIO_REPLACE_LINK}));
    tu_assert_content(tu_path(*state, "d/link"), "mine", 4);
    tu_assert_content(tu_path(*state, "elsewhere/real"), "via", 3);
    /* With AJIO_LOCK the lock file is in the handle's directory. */
    tu_assert_ok(ajio_dir_write(d, "locked", "l", 1, &(ajio_opts){.flags = AJIO_LOCK}));
    tu_assert_content(tu_path(*state, "d/locked"), "l", 1);
    assert_int_equal(tu_count_matching(tu_path(*state, "d"), "ajio-lock"), 1);
    ajio_dir_close(d);
}

/* Several threads through one handle. */
static ajio_dir *shared_dir;

static void *dir_writer(void *arg)
{
    char name[32], text[32];
    int id = (int)(intptr_t)arg;

    for (int i = 0; i < 50; i++) {
        int n = snprintf(text, sizeof(text), "%d-%d", id, i);
        snprintf(name, sizeof(name), "t%d", id % 3);
        if (ajio_dir_write(shared_dir, name, text, (size_t)n, &(ajio_opts){.flags = AJIO_NO_SYNC}) != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_dir_threads(void **state)
{
    tu_assert_ok(ajio_dir_open(&shared_dir, *state, NULL));
    tu_run_concurrently(2, 4, dir_writer);
    for (int k = 0; k < 3; k++) {
        size_t len;
        char *s = tu_read(tu_path(*state, k == 0 ? "t0" : k == 1 ? "t1" : "t2"), &len);
        int id, i;
        assert_non_null(s);
        assert_int_equal(sscanf(s, "%d-%d", &id, &i), 2); /* one whole text, never a mix */
        assert_int_equal(id % 3, k);
        free(s);
    }
    assert_int_equal(tu_count_temps(*state), 0);
    ajio_dir_close(shared_dir);
}

static bool is_symlink(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* ---- batch ---------------------------------------------------------------------------------- */

static void test_batch_many(void **state)
{
    int fds = tu_fd_count();
    ajio_batch *b;
    char path[4096], text[64];
    const char *p, *msg;

    tu_assert_ok(ajio_batch_new(&b, NULL));
    for (int i = 0; i < 300; i++) {
        int n = snprintf(text, sizeof(text), "file %d\n", i);
        snprintf(path, sizeof(path), "%s/d%d/new/f%d", (const char *)*state, i % 3, i);
        tu_assert_ok(ajio_batch_add(b, path, text, (size_t)n));
    }
    snprintf(path, sizeof(path), "%s/d0/new/f0", (const char *)*state);
    tu_assert_ok(ajio_batch_add(b, path, "again\n", 6)); /* the last one wins */
    assert_int_equal(ajio_batch_count(b), 301);
    tu_assert_fails(ajio_batch_result(b, 0, NULL, NULL), -EINVAL, "not committed");
    tu_assert_ok(ajio_batch_commit(b));
    for (int i = 0; i < 300; i++) {
        int n = snprintf(text, sizeof(text), "file %d\n", i);
        snprintf(path, sizeof(path), "%s/d%d/new/f%d", (const char *)*state, i % 3, i);
        if (i == 0)
            tu_assert_content(path, "again\n", 6);
        else
            tu_assert_content(path, text, (size_t)n);
        assert_int_equal(ajio_batch_result(b, (size_t)i, &p, &msg), 0);
        assert_string_equal(p, path);
        assert_string_equal(msg, "");
    }
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof(path), "%s/d%d/new", (const char *)*state, k);
        assert_int_equal(tu_count_temps(path), 0);
    }
    tu_assert_fails(ajio_batch_commit(b), -EINVAL, "committed already");
    tu_assert_fails(ajio_batch_add(b, path, "x", 1), -EINVAL, "after the commit");
    tu_assert_fails(ajio_batch_result(b, 301, NULL, NULL), -EINVAL, "no such file");
    ajio_batch_free(b);
    assert_int_equal(tu_fd_count(), fds);
}

/* A file that fails is untouched and reported; the files around it are written. */
static void test_batch_partial_failure(void **state)
{
    ajio_batch *b;
    const char *msg;

    tu_put(tu_path(*state, "plain"), "i am a file\n", 0644);
    tu_put(tu_path(*state, "kept"), "old\n", 0644);
    tu_assert_ok(ajio_batch_new(&b, &(ajio_opts){.flags = AJIO_CREATE_ONLY}));
    tu_assert_ok(ajio_batch_add(b, tu_path(*state, "a"), "A", 1));
    tu_assert_ok(ajio_batch_add(b, tu_path(*state, "plain/under"), "X", 1)); /* ENOTDIR */
    tu_assert_ok(ajio_batch_add(b, tu_path(*state, "kept"), "new\n", 4));   /* EEXIST */
    tu_assert_ok(ajio_batch_add(b, tu_path(*state, "b"), "B", 1));
    tu_assert_fails(ajio_batch_commit(b), -ENOTDIR, "batch of 4 files: 2 not written durably");
    assert_non_null(strstr(ajio_last_error(), "plain"));
    assert_int_equal(ajio_batch_result(b, 0, NULL, NULL), 0);
    assert_int_equal(ajio_batch_result(b, 1, NULL, &msg), -ENOTDIR);
    assert_non_null(strstr(msg, "plain"));
    assert_int_equal(ajio_batch_result(b, 2, NULL, &msg), -EEXIST);
    assert_non_null(strstr(msg, "kept"));
    assert_int_equal(ajio_batch_result(b, 3, NULL, NULL), 0);
    tu_assert_content(tu_path(*state, "a"), "A", 1);
    tu_assert_content(tu_path(*state, "b"), "B", 1);
    tu_assert_content(tu_path(*state, "kept"), "old\n", 4);
    tu_assert_content(tu_path(*state, "plain"), "i am a file\n", 12);
    assert_int_equal(tu_count_temps(*state), 0);
    ajio_batch_free(b);
}

static void test_batch_json_and_unchanged(void **state)
{
    ajio_batch *b;

    tu_put(tu_path(*state, "same.json"), "[1]\n", 0644);
    tu_assert_ok(
        ajio_batch_new(&b, &(ajio_opts){.flags = AJIO_JSON | AJIO_SKIP_UNCHANGED | AJIO_NO_SYNC}));
    tu_assert_fails(ajio_batch_add(b, tu_path(*state, "bad.json"), "[1,", 3), AJIO_EJSON,
                    "bad.json:1:");
    assert_int_equal(ajio_batch_count(b), 0);
    tu_assert_ok(ajio_batch_add(b, tu_path(*state, "x.json"), "{\"a\":1}", 7));
    tu_assert_ok(ajio_batch_add(b, tu_path(*state, "same.json"), "[1]", 3));
    tu_assert_ok(ajio_batch_commit(b));
    tu_assert_content(tu_path(*state, "x.json"), "{\"a\":1}\n", 8);
    assert_int_equal(ajio_batch_result(b, 0, NULL, NULL), 0);
    assert_int_equal(ajio_batch_result(b, 1, NULL, NULL), AJIO_UNCHANGED);
    assert_int_equal(access(tu_path(*state, "bad.json"), F_OK), -1);
    ajio_batch_free(b);

    /* AJIO_SYNC_EACH is for batches and transactions alone: a one-shot write refuses it. */
    tu_assert_ok(ajio_batch_new(&b, &(ajio_opts){.flags = AJIO_SYNC_EACH | AJIO_JSON}));
    tu_assert_ok(ajio_batch_add(b, tu_path(*state, "each1.json"), "1", 1));
    tu_assert_ok(ajio_batch_add(b, tu_path(*state, "each2.json"), "2", 1));
    tu_assert_ok(ajio_batch_commit(b));
    tu_assert_content(tu_path(*state, "each1.json"), "1\n", 2);
    tu_assert_content(tu_path(*state, "each2.json"), "2\n", 2);
    ajio_batch_free(b);
    tu_assert_fails(ajio_write_bytes(tu_path(*state, "each3"), "x", 1,
                                     &(ajio_opts){.flags = AJIO_SYNC_EACH}),
                    -EINVAL, "unknown option flags");
    assert_int_equal(access(tu_path(*state, "each3"), F_OK), -1);

    /* Refusals; an uncommitted batch writes nothing. */
    tu_assert_fails(ajio_batch_new(&b, &(ajio_opts){.flags = AJIO_LOCK}), -EINVAL, "AJIO_LOCK");
    tu_assert_fails(ajio_batch_new(NULL, NULL), -EINVAL, "ret");
    tu_assert_ok(ajio_batch_new(&b, NULL));
    tu_assert_fails(ajio_batch_add(b, "", "x", 1), -EINVAL, "empty");
    tu_assert_fails(ajio_batch_add(b, "x", NULL, 1), -EINVAL, "NULL");
    tu_assert_ok(ajio_batch_add(b, tu_path(*state, "never"), "x", 1));
    ajio_batch_free(b);
    ajio_batch_free(NULL);
    assert_int_equal(access(tu_path(*state, "never"), F_OK), -1);
    tu_assert_fails(ajio_batch_commit(NULL), -EINVAL, "NULL");
}

/* Few descriptors allowed: the batch works in many small rounds and still writes everything. */
static void test_batch_small_fd_limit(void **state)
{
    struct rlimit old, low = {.rlim_cur = 64, .rlim_max = 0};
    ajio_batch *b;
    char path[4096];

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low.rlim_max = old.rlim_max;
    tu_assert_ok(ajio_batch_new(&b, NULL));
    for (int i = 0; i < 200; i++) {
        snprintf(path, sizeof(path), "%s/f%d", (const char *)*state, i);
        tu_assert_ok(ajio_batch_add(b, path, "z", 1));
    }
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int r = ajio_batch_commit(b);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    tu_assert_ok(r);
    for (int i = 0; i < 200; i++) {
        snprintf(path, sizeof(path), "%s/f%d", (const char *)*state, i);
        tu_assert_content(path, "z", 1);
    }
    ajio_batch_free(b);
}

/*
 * The same target twice in a batch, spelt the same or not: written in order, as two one-shot
 * writes are, each reporting what it did. The reference is those one-shot writes, run on the
 * same file first: the batch must give the same results and leave the same content. Negative
 * control: the spellings differ as strings, so only the resolved target (directory and name)
 * tells that they are one file.
 */
static void test_batch_same_target_twice(void **state)
{
    const char *base = *state;
    char f[1024];
    const char *spellings[] = {"a/f", "a/./f", "a//f", "ln/f", "a/fl", "a/../a/f"};
    const ajio_opts skip = {.flags = AJIO_SKIP_UNCHANGED};
    /* Contents in order; the target holds "A" before each run. */
    const char *const seqs[][3] = {{"B", "A", NULL}, {"A", "B", NULL}, {"B", "A", "A"},
                                   {"B", "B", "A"}};
    ajio_batch *b;

    snprintf(f, sizeof(f), "%s/a/f", base);
    assert_int_equal(mkdir(tu_path(base, "a"), 0755), 0);
    assert_int_equal(symlink("a", tu_path(base, "ln")), 0);
    assert_int_equal(symlink("f", tu_path(base, "a/fl")), 0);
    for (size_t k = 1; k < sizeof(spellings) / sizeof(spellings[0]); k++)
        assert_string_not_equal(spellings[0], spellings[k]);

    for (size_t k = 1; k < sizeof(spellings) / sizeof(spellings[0]); k++) {
        for (size_t q = 0; q < sizeof(seqs) / sizeof(seqs[0]); q++) {
            int want[3], n = 0;
            char *last = NULL;

            tu_put(f, "A", 0644);
            for (; n < 3 && seqs[q][n] != NULL; n++)
                want[n] = ajio_write_bytes(tu_path(base, spellings[n % 2 ? k : 0]), seqs[q][n],
                                           1, &skip);
            last = tu_read(f, NULL);
            assert_non_null(last);
            tu_put(f, "A", 0644);
            tu_assert_ok(ajio_batch_new(&b, &skip));
            for (int i = 0; i < n; i++)
                tu_assert_ok(
                    ajio_batch_add(b, tu_path(base, spellings[i % 2 ? k : 0]), seqs[q][i], 1));
            tu_assert_ok(ajio_batch_commit(b));
            for (int i = 0; i < n; i++)
                if (ajio_batch_result(b, (size_t)i, NULL, NULL) != want[i])
                    fail_msg("\"%s\" then \"%s\", sequence %zu: entry %d gave %d, one-shot %d",
                             spellings[0], spellings[k], q, i,
                             ajio_batch_result(b, (size_t)i, NULL, NULL), want[i]);
            tu_assert_content(f, last, strlen(last));
            assert_true(is_symlink(tu_path(base, "a/fl")));
            free(last);
            ajio_batch_free(b);
        }
    }
    /* The reference itself: later wins, and the earlier reports it was written. */
    tu_put(f, "A", 0644);
    tu_assert_ok(ajio_batch_new(&b, &skip));
    tu_assert_ok(ajio_batch_add(b, f, "B", 1));
    tu_assert_ok(ajio_batch_add(b, tu_path(base, "ln/./f"), "A", 1));
    tu_assert_ok(ajio_batch_commit(b));
    assert_int_equal(ajio_batch_result(b, 0, NULL, NULL), 0);
    assert_int_equal(ajio_batch_result(b, 1, NULL, NULL), 0);
    tu_assert_content(f, "A", 1);
    ajio_batch_free(b);

    /* Create-only: the first creates, the second finds it there. */
    tu_assert_ok(ajio_batch_new(&b, &(ajio_opts){.flags = AJIO_CREATE_ONLY}));
    tu_assert_ok(ajio_batch_add(b, tu_path(base, "a/new"), "1", 1));
    tu_assert_ok(ajio_batch_add(b, tu_path(base, "ln//new"), "2", 1));
    tu_assert_fails(ajio_batch_commit(b), -EEXIST, "ln//new");
    assert_int_equal(ajio_batch_result(b, 0, NULL, NULL), 0);
    assert_int_equal(ajio_batch_result(b, 1, NULL, NULL), -EEXIST);
    tu_assert_content(tu_path(base, "a/new"), "1", 1);
    ajio_batch_free(b);

    /* Interleaved over many targets and rounds: the last of each wins, nothing else is lost. */
    tu_assert_ok(ajio_batch_new(&b, &skip));
    for (int round = 0; round < 3; round++)
        for (int t = 0; t < 100; t++) {
            char path[1024], text[16];
            int len = snprintf(text, sizeof(text), "%d.%d", t, round);
            snprintf(path, sizeof(path), "%s/%s/m%d", base, round == 1 ? "ln" : "a", t);
            tu_assert_ok(ajio_batch_add(b, path, text, (size_t)len));
        }
    tu_assert_ok(ajio_batch_commit(b));
    for (int t = 0; t < 100; t++) {
        char path[1024], text[16];
        int len = snprintf(text, sizeof(text), "%d.2", t);
        snprintf(path, sizeof(path), "%s/a/m%d", base, t);
        tu_assert_content(path, text, (size_t)len);
    }
    for (size_t i = 0; i < ajio_batch_count(b); i++)
        assert_int_equal(ajio_batch_result(b, i, NULL, NULL), 0);
    assert_int_equal(tu_count_temps(tu_path(base, "a")), 0);
    ajio_batch_free(b);
}

/*
 * In a child under RLIMIT_NOFILE limit: n files in n new directories, every one written with its
 * content and the commit 0. Negative control first: one descriptor per directory held at once
 * (what keeping every directory open for its sync at the end amounts to) does run out here.
 * Exit status: 0, or the line that failed.
 */
static void many_dirs_child(const char *base, rlim_t limit, int n)
{
    struct rlimit rl;
    ajio_batch *b;
    char path[4096], text[32];
    int *held, opened = 0, r;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        _exit(__LINE__ & 0xff);
    rl.rlim_cur = limit;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        _exit(__LINE__ & 0xff);
    held = calloc((size_t)n, sizeof(*held));
    for (int i = 0; i < n; i++) {
        held[i] = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (held[i] < 0)
            break;
        opened++;
    }
    for (int i = 0; i < opened; i++)
        close(held[i]);
    free(held);
    if (opened == n || errno != EMFILE)
        _exit(1); /* the limit does not bind: the test would prove nothing */
    if (ajio_batch_new(&b, NULL) != 0)
        _exit(2);
    for (int i = 0; i < n; i++) {
        int len = snprintf(text, sizeof(text), "file %d\n", i);
        snprintf(path, sizeof(path), "%s/d%d/f", base, i);
        if (ajio_batch_add(b, path, text, (size_t)len) != 0)
            _exit(3);
    }
    r = ajio_batch_commit(b);
    if (r != 0) {
        fprintf(stderr, "limit %d, %d directories: %s\n", (int)limit, n, ajio_last_error());
        _exit(4);
    }
    for (int i = 0; i < n; i++) {
        size_t len;
        int want = snprintf(text, sizeof(text), "file %d\n", i);
        snprintf(path, sizeof(path), "%s/d%d/f", base, i);
        char *s = tu_read(path, &len);
        if (s == NULL || len != (size_t)want || memcmp(s, text, len) != 0 ||
            ajio_batch_result(b, (size_t)i, NULL, NULL) != 0)
            _exit(5);
        free(s);
    }
    ajio_batch_free(b);
    _exit(0);
}

static void run_many_dirs(const char *base, rlim_t limit, int n)
{
    int status;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0)
        many_dirs_child(base, limit, n);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Directories count against RLIMIT_NOFILE too: a batch across many stays within it. */
static void test_batch_many_dirs_fd_limit(void **state)
{
    char base[1024];

    snprintf(base, sizeof(base), "%s/a", (const char *)*state);
    assert_int_equal(mkdir(base, 0755), 0);
    run_many_dirs(base, 256, 400);
    snprintf(base, sizeof(base), "%s/b", (const char *)*state);
    assert_int_equal(mkdir(base, 0755), 0);
    run_many_dirs(base, 1024, 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_dir_writes),        TU_TEST(test_dir_held),
        TU_TEST(test_dir_symlink),       TU_TEST(test_dir_threads),
        TU_TEST(test_dir_attrs_without_at_calls),
        TU_TEST(test_batch_many),        TU_TEST(test_batch_partial_failure),
        TU_TEST(test_batch_json_and_unchanged), TU_TEST(test_batch_small_fd_limit),
        TU_TEST(test_batch_many_dirs_fd_limit), TU_TEST(test_batch_same_target_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

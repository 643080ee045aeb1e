/*
 * test_handle.c - the streaming handle (ajio_file_open/write/printf/commit/abort), temp-file
 * visibility and permissions while a write is in progress, and ajio_sweep().
 */
#include "testutil.h"

#include <sys/resource.h>

static void test_stream_commit(void **state)
{
    const char *p = tu_path(*state, "log.txt");
    ajio_file *f;
    char *expect = NULL;
    size_t elen = 0;
    FILE *m = open_memstream(&expect, &elen);
    char big[200000];

    memset(big, 'b', sizeof(big));
    tu_put(p, "old", 0644);
    tu_assert_ok(ajio_file_open(&f, p, NULL));
    assert_string_equal(ajio_file_path(f), p);
    for (int i = 0; i < 20000; i++) {
        tu_assert_ok(ajio_file_printf(f, "line %d\n", i));
        fprintf(m, "line %d\n", i);
        if (i % 5000 == 0) { /* large writes bypass the buffer and must keep the order */
            tu_assert_ok(ajio_file_write(f, big, sizeof(big)));
            fwrite(big, 1, sizeof(big), m);
        }
    }
    /* A printf longer than the internal small buffer. */
    tu_assert_ok(ajio_file_printf(f, "%0900d\n", 7));
    fprintf(m, "%0900d\n", 7);
    tu_assert_content(p, "old", 3); /* nothing visible before the commit */
    tu_assert_ok(ajio_file_commit(f));
    fclose(m);
    tu_assert_content(p, expect, elen);
    assert_int_equal(tu_count_entries(*state), 1);
    free(expect);
}

static void test_stream_abort(void **state)
{
    const char *p = tu_path(*state, "f");
    ajio_opts named = {.flags = AJIO_NO_TMPFILE};
    int fds = tu_fd_count();
    ajio_file *f;

    tu_put(p, "old", 0644);
    for (int i = 0; i < 2; i++) {
        tu_assert_ok(ajio_file_open(&f, p, i ? &named : NULL));
        tu_assert_ok(ajio_file_write(f, "new", 3));
        ajio_file_abort(f);
        tu_assert_content(p, "old", 3);
        assert_int_equal(tu_count_entries(*state), 1);
    }
    /* Abort of a never-created target leaves nothing, not even the name. */
    tu_assert_ok(ajio_file_open(&f, tu_path(*state, "never"), NULL));
    ajio_file_abort(f);
    assert_int_equal(tu_count_entries(*state), 1);
    ajio_file_abort(NULL);
    assert_int_equal(tu_fd_count(), fds);
}

static void test_stream_errors(void **state)
{
    const char *p = tu_path(*state, "f");
    ajio_file *f = (ajio_file *)0x1;
    ajio_file *keep;

    tu_assert_fails(ajio_file_open(NULL, p, NULL), -EINVAL, "ret_file");
    tu_assert_fails(ajio_file_open(&f, NULL, NULL), -EINVAL, "NULL");
    assert_ptr_equal(f, (ajio_file *)0x1); /* outputs untouched on failure */
    tu_assert_fails(ajio_file_open(&f, tu_path(*state, "x/"), NULL), -EISDIR, "x/");
    assert_ptr_equal(f, (ajio_file *)0x1);
    tu_assert_fails(ajio_file_commit(NULL), -EINVAL, "NULL");
    tu_assert_fails(ajio_file_write(NULL, "x", 1), -EINVAL, "NULL");
    tu_assert_fails(ajio_file_printf(NULL, "x"), -EINVAL, "NULL");
    tu_assert_ok(ajio_file_open(&keep, p, NULL));
    tu_assert_fails(ajio_file_write(keep, NULL, 1), -EINVAL, p);
    tu_assert_ok(ajio_file_write(keep, NULL, 0));
    ajio_file_abort(keep);
    assert_int_equal(tu_count_entries(*state), 0);
}

/* After a write fails, the handle stays failed and the commit reports it without publishing. */
static void test_stream_sticky_error(void **state)
{
    const char *p = tu_path(*state, "f");
    struct rlimit old, lim;
    static char chunk[1 << 16];
    ajio_file *f;
    int r = 0;

    tu_put(p, "old", 0644);
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 100000;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    tu_assert_ok(ajio_file_open(&f, p, NULL));
    for (int i = 0; i < 10 && r == 0; i++)
        r = ajio_file_write(f, chunk, sizeof(chunk));
    assert_int_equal(r, -EFBIG);
    tu_assert_fails(ajio_file_write(f, "x", 1), -EFBIG, p);
    tu_assert_fails(ajio_file_printf(f, "%d", 1), -EFBIG, p);
    tu_assert_fails(ajio_file_commit(f), -EFBIG, p);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    tu_assert_content(p, "old", 3);
    assert_int_equal(tu_count_entries(*state), 1);
}

static void test_stream_skip_unchanged(void **state)
{
    const char *p = tu_path(*state, "s");
    ajio_opts o = {.flags = AJIO_SKIP_UNCHANGED};
    struct stat a, b;
    ajio_file *f;

    tu_put(p, "hello world", 0644);
    assert_int_equal(stat(p, &a), 0);
    tu_assert_ok(ajio_file_open(&f, p, &o));
    tu_assert_ok(ajio_file_write(f, "hello ", 6));
    tu_assert_ok(ajio_file_write(f, "world", 5));
    assert_int_equal(ajio_file_commit(f), AJIO_UNCHANGED);
    assert_int_equal(stat(p, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    /* A prefix of the old content is a change. */
    tu_assert_ok(ajio_file_open(&f, p, &o));
    tu_assert_ok(ajio_file_write(f, "hello", 5));
    tu_assert_ok(ajio_file_commit(f));
    tu_assert_content(p, "hello", 5);
    assert_int_equal(tu_count_entries(*state), 1);
}

/*
 * While a write is in progress the target's directory shows at most the temp, and the temp is
 * never readable by anyone who cannot read the final file: replacing a 0600 file under umask 0
 * must not expose a 0644 (or 0666) temp.
 */
static void test_temp_never_more_open(void **state)
{
    const char *p = tu_path(*state, "secret");
    ajio_opts named = {.flags = AJIO_NO_TMPFILE};
    mode_t old = umask(0);
    ajio_file *f;
    struct stat st;
    struct dirent *de;
    DIR *d;
    int temps = 0;

    tu_put(p, "s3cret", 0600);
    /* O_TMPFILE, where the filesystem has it: no name at all until the commit. */
    tu_assert_ok(ajio_file_open(&f, p, NULL));
    tu_assert_ok(ajio_file_write(f, "n3w", 3));
    assert_int_equal(tu_count_entries(*state), tu_has_tmpfile(*state) ? 1 : 2);
    tu_assert_ok(ajio_file_commit(f));
    /* Named temp: exists, with owner-only permissions. */
    tu_assert_ok(ajio_file_open(&f, p, &named));
    tu_assert_ok(ajio_file_write(f, "n3w2", 4));
    d = opendir(*state);
    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".ajio-") == NULL)
            continue;
        temps++;
        assert_int_equal(fstatat(dirfd(d), de->d_name, &st, 0), 0);
        assert_int_equal(st.st_mode & 077, 0);
    }
    closedir(d);
    assert_int_equal(temps, 1);
    tu_assert_ok(ajio_file_commit(f));
    umask(old);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    tu_assert_content(p, "n3w2", 4);
    assert_int_equal(tu_count_entries(*state), 1);
}

/* Makes a file whose name has the temp shape, with the given age in seconds. */
static void make_leftover(const char *dir, const char *name, int age)
{
    struct timespec t[2];
    char *p = strdup(tu_path(dir, name));

    tu_put(p, "junk", 0600);
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= age;
    t[1] = t[0];
    assert_int_equal(utimensat(AT_FDCWD, p, t, 0), 0);
    free(p);
}

static void test_sweep(void **state)
{
    const char *dir = *state;

    make_leftover(dir, ".state.json.ajio-0123456789abcdef.tmp", 3600);
    make_leftover(dir, ".state.json.ajio-fedcba9876543210.tmp", 3600);
    make_leftover(dir, ".other.ajio-00000000000000aa.tmp", 3600);
    make_leftover(dir, ".fresh.ajio-00000000000000bb.tmp", 0);
    /* Near misses that must never be touched. */
    make_leftover(dir, ".state.json.ajio-0123456789ABCDEF.tmp", 3600);
    make_leftover(dir, ".state.json.ajio-0123456789abcde.tmp", 3600);
    make_leftover(dir, "state.json.ajio-0123456789abcdef.tmp", 3600);
    make_leftover(dir, ".state.json.ajio-0123456789abcdef.tmp~", 3600);
    make_leftover(dir, "state.json", 3600);
    assert_int_equal(mkdir(tu_path(dir, ".d.ajio-0123456789abcdef.tmp"), 0755), 0);
    assert_int_equal(ajio_sweep(dir, "state.json", 0, AJIO_SWEEP_DRY_RUN), 2);
    assert_int_equal(tu_count_entries(dir), 10);
    assert_int_equal(ajio_sweep(dir, "state.json", 0, 0), 2);
    assert_int_equal(tu_count_entries(dir), 8);
    /*
     * Age counts from the later of mtime and ctime, and ctime cannot be set back: every file
     * here changed just now, so a minimum age keeps them all until that age has passed.
     */
    assert_int_equal(ajio_sweep(dir, NULL, 60, 0), 0);
    sleep(2);
    assert_int_equal(ajio_sweep(dir, NULL, 1, AJIO_SWEEP_NO_SYNC), 2);
    assert_int_equal(tu_count_entries(dir), 6);
    assert_int_equal(ajio_sweep(dir, NULL, 0, 0), 0);

    tu_assert_fails(ajio_sweep(NULL, NULL, 0, 0), -EINVAL, "NULL");
    tu_assert_fails(ajio_sweep(dir, "a/b", 0, 0), -EINVAL, "a/b");
    tu_assert_fails(ajio_sweep(dir, NULL, 0, 1u << 20), -EINVAL, dir);
    tu_assert_fails(ajio_sweep(tu_path(dir, "missing"), NULL, 0, 0), -ENOENT, "missing");
    tu_assert_fails(ajio_sweep(tu_path(dir, "state.json"), NULL, 0, 0), -ENOTDIR, "state.json");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream_commit, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_stream_abort, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_stream_errors, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_stream_sticky_error, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_stream_skip_unchanged, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_temp_never_more_open, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_sweep, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests_name("handle", tests, NULL, NULL);
}

/*
 * test_write.c - one-shot writes: content, modes, parent directories, options and bad input.
 * Every failing case checks the return value, that the message names the path, that the target
 * is untouched and that no temp file is left.
 */
#include "testutil.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>

static const ajio_opts no_tmpfile = {.flags = AJIO_NO_TMPFILE};

/* Runs each write test twice: with O_TMPFILE (where the fs has it) and with a named temp. */
static const ajio_opts *variant(void **state, int named)
{
    (void)state;
    return named ? &no_tmpfile : NULL;
}

static void new_file(void **state, int named)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "new.json");
    struct stat st;
    mode_t old = umask(022);

    tu_assert_ok(ajio_write_bytes(p, "{\"a\":1}\n", 8, variant(state, named)));
    tu_assert_content(p, "{\"a\":1}\n", 8);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644); /* what creat() would give */
    umask(077);
    tu_assert_ok(ajio_write_bytes(tu_path(dir, "private"), "x", 1, variant(state, named)));
    assert_int_equal(stat(tu_path(dir, "private"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    umask(old);
    assert_int_equal(tu_count_entries(dir), 2);
}

static void test_new_file(void **state)
{
    new_file(state, 0);
}

static void test_new_file_named(void **state)
{
    new_file(state, 1);
}

static void replace_keeps_mode(void **state, int named)
{
    const char *p = tu_path(*state, "cfg");
    struct stat st;
    mode_t old;

    tu_put(p, "old", 0640);
    old = umask(077); /* the umask must not leak into an existing file's mode */
    tu_assert_ok(ajio_write_text(p, "new", variant(state, named)));
    umask(old);
    tu_assert_content(p, "new\n", 4);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(tu_count_entries(*state), 1);
}

static void test_replace_keeps_mode(void **state)
{
    replace_keeps_mode(state, 0);
}

static void test_replace_keeps_mode_named(void **state)
{
    replace_keeps_mode(state, 1);
}

static void test_text_newline(void **state)
{
    const char *p = tu_path(*state, "t");

    tu_assert_ok(ajio_write_text(p, "a\nb", NULL));
    tu_assert_content(p, "a\nb\n", 4);
    tu_assert_ok(ajio_write_text(p, "a\n", NULL));
    tu_assert_content(p, "a\n", 2);
    tu_assert_ok(ajio_write_text(p, "", NULL));
    tu_assert_content(p, "\n", 1);
    tu_assert_ok(ajio_write_bytes(p, "", 0, NULL));
    tu_assert_content(p, "", 0);
    tu_assert_ok(ajio_write_bytes(p, NULL, 0, NULL));
    tu_assert_content(p, "", 0);
}

static void test_explicit_mode(void **state)
{
    const char *p = tu_path(*state, "m");
    ajio_opts o = {.flags = AJIO_MODE, .mode = 0751};
    struct stat st;
    mode_t old = umask(0777);

    tu_assert_ok(ajio_write_bytes(p, "x", 1, &o));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0751);
    o.mode = 0600;
    o.flags |= AJIO_NO_TMPFILE;
    tu_assert_ok(ajio_write_bytes(p, "y", 1, &o));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    umask(old);
}

static void test_parents_created(void **state)
{
    const char *p = tu_path(*state, "a/b/c/d.json");
    struct stat st;
    mode_t old = umask(027);

    tu_assert_ok(ajio_write_bytes(p, "1", 1, NULL));
    umask(old);
    tu_assert_content(p, "1", 1);
    assert_int_equal(stat(tu_path(*state, "a/b"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0750);
}

static void test_no_mkdir(void **state)
{
    ajio_opts o = {.flags = AJIO_NO_MKDIR};
    const char *p = tu_path(*state, "x/y.json");

    tu_assert_fails(ajio_write_bytes(p, "1", 1, &o), -ENOENT, p);
    assert_int_equal(tu_count_entries(*state), 0);
}

static void test_symlink_follow(void **state)
{
    const char *dir = *state;
    char *real = strdup(tu_path(dir, "real.json"));
    char *link = strdup(tu_path(dir, "link.json"));
    struct stat st;

    tu_put(real, "old", 0600);
    assert_int_equal(symlink("real.json", link), 0);
    tu_assert_ok(ajio_write_bytes(link, "new", 3, NULL));
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* the link survives */
    tu_assert_content(real, "new", 3);
    assert_int_equal(stat(real, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(tu_count_entries(dir), 2);
    free(real);
    free(link);
}

static void test_symlink_follow_other_dir(void **state)
{
    const char *dir = *state;
    char *link = strdup(tu_path(dir, "a/link"));

    assert_int_equal(mkdir(tu_path(dir, "a"), 0755), 0);
    assert_int_equal(mkdir(tu_path(dir, "b"), 0755), 0);
    tu_put(tu_path(dir, "b/f"), "old", 0644);
    /* A relative link is relative to the directory holding the link. */
    assert_int_equal(symlink("../b/f", link), 0);
    tu_assert_ok(ajio_write_bytes(link, "new", 3, NULL));
    tu_assert_content(tu_path(dir, "b/f"), "new", 3);
    assert_int_equal(tu_count_entries(tu_path(dir, "b")), 1); /* the temp went next to f */
    assert_int_equal(tu_count_entries(tu_path(dir, "a")), 1);
    free(link);
}

static void test_symlink_dangling(void **state)
{
    char *link = strdup(tu_path(*state, "link"));

    assert_int_equal(symlink("sub/target", link), 0);
    tu_assert_ok(ajio_write_bytes(link, "x", 1, NULL));
    tu_assert_content(tu_path(*state, "sub/target"), "x", 1);
    free(link);
}

static void test_symlink_replace(void **state)
{
    char *real = strdup(tu_path(*state, "real"));
    char *link = strdup(tu_path(*state, "link"));
    ajio_opts o = {.flags = AJIO_REPLACE_LINK};
    struct stat st;

    tu_put(real, "old", 0644);
    assert_int_equal(symlink("real", link), 0);
    tu_assert_ok(ajio_write_bytes(link, "new", 3, &o));
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    tu_assert_content(link, "new", 3);
    tu_assert_content(real, "old", 3);
    free(real);
    free(link);
}

static void test_symlink_refuse(void **state)
{
    char *real = strdup(tu_path(*state, "real"));
    char *link = strdup(tu_path(*state, "link"));
    ajio_opts o = {.flags = AJIO_NO_FOLLOW};
    struct stat st;

    tu_put(real, "old", 0644);
    assert_int_equal(symlink("real", link), 0);
    tu_assert_fails(ajio_write_bytes(link, "new", 3, &o), -ELOOP, link);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    tu_assert_content(real, "old", 3);
    assert_int_equal(tu_count_entries(*state), 2);
    free(real);
    free(link);
}

static void test_symlink_loop(void **state)
{
    char *a = strdup(tu_path(*state, "a"));

    assert_int_equal(symlink("b", a), 0);
    assert_int_equal(symlink("a", tu_path(*state, "b")), 0);
    tu_assert_fails(ajio_write_bytes(a, "x", 1, NULL), -ELOOP, a);
    assert_int_equal(tu_count_entries(*state), 2);
    free(a);
}

static void test_symlinked_directory(void **state)
{
    const char *dir = *state;

    assert_int_equal(mkdir(tu_path(dir, "real"), 0755), 0);
    assert_int_equal(symlink("real", tu_path(dir, "alias")), 0);
    tu_assert_ok(ajio_write_bytes(tu_path(dir, "alias/f.json"), "1", 1, NULL));
    tu_assert_content(tu_path(dir, "real/f.json"), "1", 1);
    assert_int_equal(tu_count_entries(tu_path(dir, "real")), 1);
}

static void test_create_only(void **state)
{
    const char *p = tu_path(*state, "once");
    ajio_opts o = {.flags = AJIO_CREATE_ONLY};

    tu_assert_ok(ajio_write_bytes(p, "first", 5, &o));
    tu_assert_fails(ajio_write_bytes(p, "second", 6, &o), -EEXIST, p);
    tu_assert_content(p, "first", 5);
    o.flags |= AJIO_NO_TMPFILE;
    tu_assert_fails(ajio_write_bytes(p, "second", 6, &o), -EEXIST, p);
    tu_assert_content(p, "first", 5);
    assert_int_equal(tu_count_entries(*state), 1);
}

/* The create-only decision must be the kernel's: with the target created after ajio_file_open
 * resolved it, the commit still fails with -EEXIST and leaves the other creator's file. */
static void test_create_only_late_creator(void **state)
{
    const char *p = tu_path(*state, "once");
    ajio_opts o = {.flags = AJIO_CREATE_ONLY};

    for (int named = 0; named < 2; named++) {
        ajio_file *f;

        o.flags = AJIO_CREATE_ONLY | (named ? AJIO_NO_TMPFILE : 0);
        (void)unlink(p);
        tu_assert_ok(ajio_file_open(&f, p, &o));
        tu_assert_ok(ajio_file_write(f, "mine", 4));
        tu_put(p, "theirs", 0644);
        tu_assert_fails(ajio_file_commit(f), -EEXIST, p);
        tu_assert_content(p, "theirs", 6);
        assert_int_equal(tu_count_entries(*state), 1);
    }
}

struct racer {
    const char *path;
    int id;
    int result;
    pthread_barrier_t *barrier;
};

static void *race_create(void *arg)
{
    struct racer *r = arg;
    ajio_opts o = {.flags = AJIO_CREATE_ONLY | (r->id & 1 ? AJIO_NO_TMPFILE : 0)};
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "writer %d", r->id);

    pthread_barrier_wait(r->barrier);
    r->result = ajio_write_bytes(r->path, buf, (size_t)n, &o);
    return NULL;
}

static void test_create_only_race(void **state)
{
    enum { N = 16, ROUNDS = 50 };

    for (int round = 0; round < ROUNDS; round++) {
        const char *p = tu_path(*state, "contended");
        pthread_t t[N];
        struct racer r[N];
        pthread_barrier_t barrier;
        int winners = 0, winner = -1;
        char expect[32];

        (void)unlink(p);
        pthread_barrier_init(&barrier, NULL, N);
        for (int i = 0; i < N; i++) {
            r[i] = (struct racer){.path = p, .id = i, .barrier = &barrier};
            assert_int_equal(pthread_create(&t[i], NULL, race_create, &r[i]), 0);
        }
        for (int i = 0; i < N; i++) {
            pthread_join(t[i], NULL);
            if (r[i].result == 0) {
                winners++;
                winner = i;
            } else {
                assert_int_equal(r[i].result, -EEXIST);
            }
        }
        pthread_barrier_destroy(&barrier);
        assert_int_equal(winners, 1);
        snprintf(expect, sizeof(expect), "writer %d", winner);
        tu_assert_content(p, expect, strlen(expect));
        assert_int_equal(tu_count_entries(*state), 1);
    }
}

static void test_skip_unchanged(void **state)
{
    const char *p = tu_path(*state, "same");
    ajio_opts o = {.flags = AJIO_SKIP_UNCHANGED};
    struct stat before, after;
    struct timespec old_times[2] = {{1000000, 0}, {1000000, 0}};

    tu_assert_ok(ajio_write_bytes(p, "abc", 3, NULL));
    assert_int_equal(utimensat(AT_FDCWD, p, old_times, 0), 0);
    assert_int_equal(stat(p, &before), 0);
    assert_int_equal(ajio_write_bytes(p, "abc", 3, &o), AJIO_UNCHANGED);
    assert_int_equal(ajio_write_text(p, "abc", &o), 0); /* "abc\n" differs */
    assert_int_equal(ajio_write_text(p, "abc", &o), AJIO_UNCHANGED);
    assert_int_equal(stat(p, &after), 0);
    assert_int_not_equal(before.st_ino, after.st_ino);
    before = after;
    assert_int_equal(ajio_write_text(p, "abc\n", &o), AJIO_UNCHANGED);
    assert_int_equal(stat(p, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
    /* Same length, other bytes: written. */
    assert_int_equal(ajio_write_text(p, "abd", &o), 0);
    tu_assert_content(p, "abd\n", 4);
    /* Same bytes but another explicit mode: that is a change. */
    o.flags |= AJIO_MODE;
    o.mode = 0600;
    assert_int_equal(ajio_write_text(p, "abd", &o), 0);
    assert_int_equal(ajio_write_text(p, "abd", &o), AJIO_UNCHANGED);
    assert_int_equal(tu_count_entries(*state), 1);
}

static void test_long_name(void **state)
{
    char name[NAME_MAX + 2];
    char *p;

    memset(name, 'n', NAME_MAX);
    name[NAME_MAX] = '\0';
    /* A multi-byte UTF-8 character around the cut point must not be split in the temp name. */
    memcpy(name + 226, "\xc3\xa9\xc3\xa9", 4);
    p = strdup(tu_path(*state, name));
    tu_assert_ok(ajio_write_bytes(p, "x", 1, NULL));
    tu_assert_ok(ajio_write_bytes(p, "y", 1, &no_tmpfile));
    tu_assert_content(p, "y", 1);
    assert_int_equal(tu_count_entries(*state), 1);
    assert_int_equal(ajio_sweep(*state, name, 0, 0), 0);
    free(p);
    name[NAME_MAX] = 'n';
    name[NAME_MAX + 1] = '\0';
    p = strdup(tu_path(*state, name));
    tu_assert_fails(ajio_write_bytes(p, "x", 1, NULL), -ENAMETOOLONG, "NAME_MAX");
    assert_int_equal(tu_count_entries(*state), 1);
    free(p);
}

static void test_bad_input(void **state)
{
    const char *dir = *state;
    char *file = strdup(tu_path(dir, "file"));
    char *sub = strdup(tu_path(dir, "sub"));
    char *slash;
    ajio_opts o = {0};
    int fds = tu_fd_count();

    tu_put(file, "keep", 0644);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(asprintf(&slash, "%s/", file), (int)strlen(file) + 1);

    tu_assert_fails(ajio_write_bytes(NULL, "x", 1, NULL), -EINVAL, "NULL");
    tu_assert_fails(ajio_write_bytes("", "x", 1, NULL), -EINVAL, "empty");
    tu_assert_fails(ajio_write_bytes(file, NULL, 1, NULL), -EINVAL, file);
    tu_assert_fails(ajio_write_text(file, NULL, NULL), -EINVAL, file);
    tu_assert_fails(ajio_write_bytes(sub, "x", 1, NULL), -EISDIR, sub);
    tu_assert_fails(ajio_write_bytes(slash, "x", 1, NULL), -EISDIR, file);
    tu_assert_fails(ajio_write_bytes(tu_path(dir, "file/x"), "x", 1, NULL), -ENOTDIR, "file");
    tu_assert_fails(ajio_write_bytes(tu_path(dir, "file/x/y"), "x", 1, NULL), -ENOTDIR, "file");
    tu_assert_fails(ajio_write_bytes(tu_path(dir, ".."), "x", 1, NULL), -EISDIR, dir);
    o.flags = 1u << 30;
    tu_assert_fails(ajio_write_bytes(file, "x", 1, &o), -EINVAL, file);
    o.flags = AJIO_NO_FOLLOW | AJIO_REPLACE_LINK;
    tu_assert_fails(ajio_write_bytes(file, "x", 1, &o), -EINVAL, file);
    o.flags = AJIO_MODE;
    o.mode = 010000;
    tu_assert_fails(ajio_write_bytes(file, "x", 1, &o), -EINVAL, file);
    o = (ajio_opts){.reserved = {1}};
    tu_assert_fails(ajio_write_bytes(file, "x", 1, &o), -EINVAL, file);
    tu_assert_fails(ajio_write_bytes("/dev/null", "x", 1, NULL), -EINVAL, "/dev/null");

    tu_assert_content(file, "keep", 4);
    assert_int_equal(tu_count_entries(dir), 2);
    assert_int_equal(tu_count_entries(sub), 0);
    assert_int_equal(tu_fd_count(), fds);
    free(slash);
    free(file);
    free(sub);
}

static void test_path_too_long(void **state)
{
    char *p = malloc(PATH_MAX + 10);

    memset(p, 'a', PATH_MAX + 9);
    p[PATH_MAX + 9] = '\0';
    tu_assert_fails(ajio_write_bytes(p, "x", 1, NULL), -ENAMETOOLONG, "PATH_MAX");
    free(p);
    (void)state;
}

/* A file size limit makes write(2) fail with EFBIG, the same path as a full disk. */
static void test_write_fails_file_limit(void **state)
{
    const char *p = tu_path(*state, "big");
    struct rlimit old, lim;
    char *data = calloc(1, 1 << 20);
    int fds;

    tu_put(p, "old", 0644);
    fds = tu_fd_count();
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (int named = 0; named < 2; named++) {
        tu_assert_fails(ajio_write_bytes(p, data, 1 << 20, variant(state, named)), -EFBIG, p);
        assert_non_null(strstr(ajio_last_error(), "write of temp"));
        tu_assert_content(p, "old", 3);
        assert_int_equal(tu_count_entries(*state), 1);
    }
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(tu_fd_count(), fds);
    free(data);
}

static void test_out_of_fds(void **state)
{
    const char *p = tu_path(*state, "f");
    struct rlimit old, lim;
    int fds, next, r;

    tu_put(p, "old", 0644);
    fds = tu_fd_count();
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    next = dup(0);
    assert_true(next >= 0);
    close(next);
    /* Room for the directory fd but not for the temp. */
    lim = old;
    lim.rlim_cur = (rlim_t)next + 1;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
    r = ajio_write_bytes(p, "new", 3, NULL);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    tu_assert_fails(r, -EMFILE, p);
    assert_non_null(strstr(ajio_last_error(), "create of temp"));
    tu_assert_content(p, "old", 3);
    assert_int_equal(tu_count_entries(*state), 1);
    assert_int_equal(tu_fd_count(), fds);
}

static void write_in_readonly_dir(const char *dir)
{
    char p[4096];
    int r;

    snprintf(p, sizeof(p), "%s/f", dir);
    r = ajio_write_bytes(p, "new", 3, NULL);
    if (r != -EACCES || strstr(ajio_last_error(), p) == NULL)
        _exit(1);
    r = ajio_write_bytes(p, "new", 3, &no_tmpfile);
    if (r != -EACCES || strstr(ajio_last_error(), p) == NULL)
        _exit(2);
}

static void test_readonly_dir(void **state)
{
    const char *dir = *state;

    tu_put(tu_path(dir, "f"), "old", 0666);
    if (geteuid() == 0) {
        /* Root ignores permissions; a child that dropped root does not. */
        assert_int_equal(chmod(dir, 0755), 0);
        assert_int_equal(tu_as_nobody(write_in_readonly_dir, dir), 0);
    } else {
        assert_int_equal(chmod(dir, 0555), 0);
        write_in_readonly_dir(dir);
        assert_int_equal(chmod(dir, 0755), 0);
    }
    tu_assert_content(tu_path(dir, "f"), "old", 3);
    assert_int_equal(tu_count_entries(dir), 1);
}

/* Replacing another user's file as root keeps its owner and group. */
static void test_owner_kept(void **state)
{
    const char *p = tu_path(*state, "owned");
    struct stat st;

    if (geteuid() != 0) {
        if (getenv("CI") != NULL && strcmp(getenv("CI"), "true") == 0)
            fail_msg("CI runs as root: this test must not skip there");
        skip();
    }
    tu_put(p, "old", 0640);
    assert_int_equal(chown(p, 65534, 65534), 0);
    for (int named = 0; named < 2; named++) {
        tu_assert_ok(ajio_write_bytes(p, "new", 3, variant(state, named)));
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_uid, 65534);
        assert_int_equal(st.st_gid, 65534);
        assert_int_equal(st.st_mode & 07777, 0640);
    }
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(ajio_err_name(-ENOSPC), "ENOSPC");
    assert_string_equal(ajio_err_name(AJIO_ENOTDURABLE), "AJIO_ENOTDURABLE");
    assert_string_equal(ajio_err_name(AJIO_UNCHANGED), "AJIO_UNCHANGED");
    assert_string_equal(ajio_strerror(-ENOSPC), "No space left on device");
    assert_non_null(strstr(ajio_strerror(AJIO_ENOTDURABLE), "durability"));
    assert_string_equal(ajio_strerror(-999999), "unknown error");
    assert_string_equal(ajio_version(), AJIO_VERSION_STRING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_file, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_new_file_named, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_replace_keeps_mode, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_replace_keeps_mode_named, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_text_newline, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_explicit_mode, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_parents_created, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_no_mkdir, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_follow, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_follow_other_dir, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_dangling, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_replace, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_refuse, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_loop, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_symlinked_directory, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_create_only, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_create_only_late_creator, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_create_only_race, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_skip_unchanged, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_long_name, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_path_too_long, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_write_fails_file_limit, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_out_of_fds, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_readonly_dir, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_owner_kept, tu_setup, tu_teardown),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests_name("write", tests, NULL, NULL);
}

/*
 * test_dir.c - a directory handle goes by its descriptor, never by the path given at
 * ajio_dir_open(): once the directory is renamed, or the process has changed directory, a write
 * with AJIO_LOCK, a write through a symlink at the name and the directories such a link needs all
 * land in the directory the handle holds, and the sticky rules still apply to the links. Each
 * test first shows that the old path now leads somewhere else (a path write there goes astray),
 * so that a handle still using it would fail the same assertions.
 */
#include "testutil.h"

#include <stdbool.h>
#include <sys/file.h>

#define AJIO_LOCK_SUFFIX ".ajio-lock"

/* Temps left in dir: the ".ajio-" shape, lock files (".NAME.ajio-lock") apart. */
static int temps(const char *dir)
{
    return tu_count_temps(dir) - tu_count_matching(dir, AJIO_LOCK_SUFFIX);
}

/* Negative control: the path the handle was opened with no longer names its directory. */
static void assert_path_is_stale(const char *base, const char *old, const char *moved)
{
    char probe[1024];

    snprintf(probe, sizeof(probe), "%s/probe", old);
    tu_assert_ok(ajio_write_bytes(tu_path(base, probe), "p", 1, &(ajio_opts){.flags = AJIO_LOCK}));
    assert_int_equal(access(tu_path(base, old), F_OK), 0); /* a path write re-created it */
    assert_int_equal(access(tu_path(moved, "probe"), F_OK), -1);
    tu_rmrf(tu_path(base, old));
    assert_int_equal(access(tu_path(base, old), F_OK), -1);
}

/* AJIO_LOCK after a rename: the write and its lock file in the renamed directory. */
static void test_dir_lock_after_rename(void **state)
{
    const char *base = *state;
    char moved[1024];
    int fds = tu_fd_count();
    ajio_dir *d;

    snprintf(moved, sizeof(moved), "%s/D.moved", base);
    tu_assert_ok(ajio_dir_open(&d, tu_path(base, "D"), NULL));
    assert_int_equal(rename(tu_path(base, "D"), moved), 0);
    assert_path_is_stale(base, "D", moved);

    tu_assert_ok(ajio_dir_write(d, "x", "locked", 6, &(ajio_opts){.flags = AJIO_LOCK}));
    tu_assert_content(tu_path(moved, "x"), "locked", 6);
    assert_int_equal(access(tu_path(moved, ".x.ajio-lock"), F_OK), 0);
    assert_int_equal(access(tu_path(base, "D"), F_OK), -1); /* not re-created */
    /* Again with the lock file there, and with AJIO_SKIP_UNCHANGED comparing under the lock. */
    assert_int_equal(
        ajio_dir_write(d, "x", "locked", 6, &(ajio_opts){.flags = AJIO_LOCK | AJIO_SKIP_UNCHANGED}),
        AJIO_UNCHANGED);
    tu_assert_ok(ajio_dir_write(d, "x", "again", 5, &(ajio_opts){.flags = AJIO_LOCK}));
    tu_assert_content(tu_path(moved, "x"), "again", 5);
    assert_int_equal(access(tu_path(base, "D"), F_OK), -1);
    assert_int_equal(temps(moved), 0);
    ajio_dir_close(d);
    assert_int_equal(tu_fd_count(), fds);
}

/* The lock a handle's write takes is the one path writers take: it waits for a holder. */
struct locked_write {
    ajio_dir *d;
    volatile int done;
    int r;
};

static void *locked_writer(void *arg)
{
    struct locked_write *w = arg;

    w->r = ajio_dir_write(w->d, "x", "second", 6, &(ajio_opts){.flags = AJIO_LOCK});
    w->done = 1;
    return NULL;
}

static void test_dir_lock_is_shared(void **state)
{
    const char *base = *state;
    char moved[1024];
    struct locked_write w = {0};
    pthread_t t;
    int lfd;

    snprintf(moved, sizeof(moved), "%s/D.moved", base);
    tu_assert_ok(ajio_dir_open(&w.d, tu_path(base, "D"), NULL));
    assert_int_equal(rename(tu_path(base, "D"), moved), 0);
    /* A path writer of the file's real path holds its lock: same lock file, so the handle waits. */
    tu_assert_ok(
        ajio_write_bytes(tu_path(moved, "x"), "first", 5, &(ajio_opts){.flags = AJIO_LOCK}));
    lfd = open(tu_path(moved, ".x.ajio-lock"), O_RDWR | O_CLOEXEC);
    assert_true(lfd >= 0);
    assert_int_equal(tu_lock_target(lfd, moved), 0);
    assert_int_equal(pthread_create(&t, NULL, locked_writer, &w), 0);
    usleep(200 * 1000);
    assert_int_equal(w.done, 0);
    tu_assert_content(tu_path(moved, "x"), "first", 5);
    assert_int_equal(close(lfd), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    tu_assert_ok(w.r);
    tu_assert_content(tu_path(moved, "x"), "second", 6);
    assert_int_equal(access(tu_path(base, "D"), F_OK), -1);
    ajio_dir_close(w.d);
}

/* AJIO_LOCK after chdir(): a handle opened by a relative path stays where it was. */
static void test_dir_lock_after_chdir(void **state)
{
    const char *base = *state;
    char cwd[1024], elsewhere[1024];
    ajio_dir *d;
    int r;

    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", base);
    assert_int_equal(mkdir(elsewhere, 0755), 0);
    assert_int_equal(chdir(base), 0);
    r = ajio_dir_open(&d, "D", NULL);
    assert_int_equal(chdir(elsewhere), 0);
    tu_assert_ok(r);
    /* Negative control: from here, "D" is elsewhere/D. */
    tu_assert_ok(ajio_write_bytes("D/probe", "p", 1, NULL));
    assert_int_equal(access(tu_path(elsewhere, "D/probe"), F_OK), 0);
    tu_rmrf(tu_path(elsewhere, "D"));

    r = ajio_dir_write(d, "x", "here", 4, &(ajio_opts){.flags = AJIO_LOCK});
    int r2 = ajio_dir_write(d, "y", "plain", 5, NULL);
    assert_int_equal(chdir(cwd), 0);
    tu_assert_ok(r);
    tu_assert_ok(r2);
    tu_assert_content(tu_path(base, "D/x"), "here", 4);
    tu_assert_content(tu_path(base, "D/y"), "plain", 5);
    assert_int_equal(access(tu_path(base, "D/.x.ajio-lock"), F_OK), 0);
    assert_int_equal(access(tu_path(elsewhere, "D"), F_OK), -1);
    ajio_dir_close(d);
}

/* Whether path is a symlink still. */
static bool is_link(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/*
 * Symlinks at the name after a rename: a relative link is followed from the directory the handle
 * holds (into missing directories, created there), an absolute one as its own path; with
 * AJIO_LOCK the lock goes where the link leads.
 */
static void test_dir_symlink_after_rename(void **state)
{
    const char *base = *state;
    char moved[1024], abs_target[1024];
    int fds = tu_fd_count();
    ajio_dir *d;

    snprintf(moved, sizeof(moved), "%s/P/D2", base);
    snprintf(abs_target, sizeof(abs_target), "%s/abs/t", base);
    tu_assert_ok(ajio_dir_open(&d, tu_path(base, "D"), NULL));
    assert_int_equal(symlink("real", tu_path(base, "D/same")), 0);
    assert_int_equal(symlink("sub/deeper/t", tu_path(base, "D/down")), 0);
    assert_int_equal(symlink("../o/t", tu_path(base, "D/up")), 0);
    assert_int_equal(symlink(abs_target, tu_path(base, "D/abs")), 0);
    assert_int_equal(symlink("same", tu_path(base, "D/chain")), 0);
    assert_int_equal(mkdir(tu_path(base, "P"), 0755), 0);
    assert_int_equal(rename(tu_path(base, "D"), moved), 0);
    assert_path_is_stale(base, "D", moved);

    tu_assert_ok(ajio_dir_write(d, "same", "1", 1, NULL));
    tu_assert_content(tu_path(moved, "real"), "1", 1);
    assert_true(is_link(tu_path(moved, "same")));
    tu_assert_ok(ajio_dir_write(d, "chain", "2", 1, NULL));
    tu_assert_content(tu_path(moved, "real"), "2", 1);
    tu_assert_ok(ajio_dir_write(d, "down", "3", 1, NULL)); /* sub/deeper made in the handle's */
    tu_assert_content(tu_path(moved, "sub/deeper/t"), "3", 1);
    tu_assert_ok(ajio_dir_write(d, "up", "4", 1, NULL)); /* ".." of the handle's directory */
    tu_assert_content(tu_path(base, "P/o/t"), "4", 1);
    tu_assert_ok(ajio_dir_write(d, "abs", "5", 1, NULL));
    tu_assert_content(abs_target, "5", 1);
    tu_assert_ok(ajio_dir_write(d, "same", "6", 1, &(ajio_opts){.flags = AJIO_LOCK}));
    tu_assert_content(tu_path(moved, "real"), "6", 1);
    assert_int_equal(access(tu_path(moved, ".real.ajio-lock"), F_OK), 0);
    tu_assert_ok(ajio_dir_write(d, "up", "7", 1, &(ajio_opts){.flags = AJIO_LOCK}));
    tu_assert_content(tu_path(base, "P/o/t"), "7", 1);
    assert_int_equal(access(tu_path(base, "P/o/.t.ajio-lock"), F_OK), 0);
    /* AJIO_NO_MKDIR holds for the directories a link leads to. */
    assert_int_equal(symlink("none/t", tu_path(moved, "nomk")), 0);
    tu_assert_fails(ajio_dir_write(d, "nomk", "8", 1, &(ajio_opts){.flags = AJIO_NO_MKDIR}),
                    -ENOENT, "none");
    assert_int_equal(access(tu_path(moved, "none"), F_OK), -1);

    /* Nothing at the old path, and every link still a link. */
    assert_int_equal(access(tu_path(base, "D"), F_OK), -1);
    assert_true(is_link(tu_path(moved, "down")) && is_link(tu_path(moved, "up")) &&
                is_link(tu_path(moved, "abs")) && is_link(tu_path(moved, "chain")));
    assert_int_equal(temps(moved), 0);
    ajio_dir_close(d);
    assert_int_equal(tu_fd_count(), fds);
}

/*
 * The sticky rules for links the handle follows: in a sticky world-writable directory a link
 * that belongs to neither the caller nor the directory's owner is not followed, at the name nor
 * on the way the link leads. Control: the same links are followed once the directory is not
 * sticky.
 */
static void test_dir_symlink_sticky(void **state)
{
    const char *base = *state;
    char moved[1024];
    ajio_dir *d;

    tu_require_root();
    snprintf(moved, sizeof(moved), "%s/S.moved", base);
    assert_int_equal(mkdir(tu_path(base, "S"), 0755), 0);
    assert_int_equal(chmod(tu_path(base, "S"), 01777), 0);
    assert_int_equal(mkdir(tu_path(base, "S/real"), 0755), 0);
    assert_int_equal(symlink("real/t", tu_path(base, "S/theirs")), 0);
    assert_int_equal(lchown(tu_path(base, "S/theirs"), 65534, 65534), 0);
    assert_int_equal(symlink("hop/t", tu_path(base, "S/mine")), 0); /* root's: followed */
    assert_int_equal(symlink("real", tu_path(base, "S/hop")), 0);   /* on the way: not */
    assert_int_equal(lchown(tu_path(base, "S/hop"), 65534, 65534), 0);
    tu_assert_ok(ajio_dir_open(&d, tu_path(base, "S"), NULL));
    assert_int_equal(rename(tu_path(base, "S"), moved), 0);

    tu_assert_fails(ajio_dir_write(d, "theirs", "x", 1, NULL), -EACCES, "theirs");
    tu_assert_fails(ajio_dir_write(d, "theirs", "x", 1, &(ajio_opts){.flags = AJIO_LOCK}), -EACCES,
                    "theirs");
    tu_assert_fails(ajio_dir_write(d, "mine", "x", 1, NULL), -EACCES, "hop");
    assert_int_equal(access(tu_path(moved, "real/t"), F_OK), -1);
    assert_int_equal(access(tu_path(base, "S"), F_OK), -1);

    /* Control: not sticky, both are followed (a new handle: one learns the mode at open). */
    ajio_dir_close(d);
    assert_int_equal(chmod(moved, 0777), 0);
    tu_assert_ok(ajio_dir_open(&d, moved, NULL));
    tu_assert_ok(ajio_dir_write(d, "theirs", "a", 1, NULL));
    tu_assert_content(tu_path(moved, "real/t"), "a", 1);
    tu_assert_ok(ajio_dir_write(d, "mine", "b", 1, NULL));
    tu_assert_content(tu_path(moved, "real/t"), "b", 1);
    assert_int_equal(access(tu_path(base, "S"), F_OK), -1);
    ajio_dir_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_dir_lock_after_rename), TU_TEST(test_dir_lock_is_shared),
        TU_TEST(test_dir_lock_after_chdir),  TU_TEST(test_dir_symlink_after_rename),
        TU_TEST(test_dir_symlink_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_sweep_locks.c - ajio_sweep() with AJIO_SWEEP_LOCKS: the lock file of a target that is
 * gone is removed; one whose target exists (a symlink included), one another process holds, a
 * symlink or a directory of the lock shape, or one younger than min_age_sec is kept; dry runs
 * count without removing; the name filter and cut long names are honoured.
 */
#include "testutil.h"

#include <limits.h>
#include <sys/file.h>

static int fail_update(void *ctx, const void *old, size_t len, int exists, ajio_file *out)
{
    (void)ctx;
    (void)old;
    (void)len;
    (void)exists;
    (void)out;
    return -ECANCELED;
}

static int fill_update(void *ctx, const void *old, size_t len, int exists, ajio_file *out)
{
    (void)ctx;
    (void)old;
    (void)len;
    (void)exists;
    return ajio_file_write(out, "{}\n", 3);
}

static int exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* A failed update creates nothing but the lock file: the leftover this flag is for. */
static void test_missing_target_removed(void **state)
{
    const char *dir = *state;

    assert_int_equal(ajio_update(tu_path(dir, "gone.json"), fail_update, NULL, -1, NULL),
                     -ECANCELED);
    assert_false(exists(tu_path(dir, "gone.json")));
    assert_true(exists(tu_path(dir, ".gone.json.ajio-lock")));
    /* Without the flag lock files stay, as before 0.3. */
    assert_int_equal(ajio_sweep(dir, NULL, 0, 0), 0);
    assert_true(exists(tu_path(dir, ".gone.json.ajio-lock")));
    assert_int_equal(ajio_sweep(dir, NULL, 0, AJIO_SWEEP_LOCKS), 1);
    assert_int_equal(tu_count_entries(dir), 0);
    /* The lock works again afterwards: a new lock file is made. */
    assert_int_equal(ajio_update(tu_path(dir, "gone.json"), fill_update, NULL, 0, NULL), 0);
    assert_true(exists(tu_path(dir, ".gone.json.ajio-lock")));
}

static void test_existing_target_kept(void **state)
{
    const char *dir = *state;

    assert_int_equal(ajio_update(tu_path(dir, "here.json"), fill_update, NULL, -1, NULL), 0);
    assert_int_equal(ajio_sweep(dir, NULL, 0, AJIO_SWEEP_LOCKS), 0);
    assert_true(exists(tu_path(dir, ".here.json.ajio-lock")));
    /* A dangling symlink at NAME is a target too (an update would follow it). */
    tu_put(tu_path(dir, ".link.ajio-lock"), "", 0644);
    assert_int_equal(symlink("nowhere", tu_path(dir, "link")), 0);
    assert_int_equal(ajio_sweep(dir, NULL, 0, AJIO_SWEEP_LOCKS), 0);
    assert_true(exists(tu_path(dir, ".link.ajio-lock")));
    /* Once the target is removed, its lock file goes. */
    assert_int_equal(unlink(tu_path(dir, "here.json")), 0);
    assert_int_equal(ajio_sweep(dir, NULL, 0, AJIO_SWEEP_LOCKS), 1);
    assert_false(exists(tu_path(dir, ".here.json.ajio-lock")));
}

/* A child holds the flock of a lock file whose target is missing: sweep must leave it. */
static void test_held_lock_kept(void **state)
{
    const char *dir = *state;
    const char *lock = tu_path(dir, ".held.ajio-lock");
    int ready[2], go[2], status;
    char c;
    pid_t pid;

    tu_put(lock, "", 0644);
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(lock, O_RDWR);

        if (fd < 0 || tu_lock_target(fd, lock) < 0 || write(ready[1], "x", 1) != 1)
            _exit(1);
        _exit(read(go[0], &c, 1) == 1 ? 0 : 2);
    }
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(ajio_sweep(dir, NULL, 0, AJIO_SWEEP_LOCKS), 0);
    assert_true(exists(lock));
    assert_int_equal(ajio_sweep(dir, NULL, 0, AJIO_SWEEP_LOCKS | AJIO_SWEEP_DRY_RUN), 0);
    assert_int_equal(write(go[1], "x", 1), 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(ajio_sweep(dir, NULL, 0, AJIO_SWEEP_LOCKS), 1);
    assert_false(exists(lock));
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
}

/* A symlink of the lock shape is neither followed nor removed; nor is a directory. */
static void test_symlink_and_dir_kept(void **state)
{
    const char *dir = *state;

    tu_put(tu_path(dir, "victim"), "keep\n", 0644);
    assert_int_equal(symlink("victim", tu_path(dir, ".sym.ajio-lock")), 0);
    assert_int_equal(mkdir(tu_path(dir, ".sub.ajio-lock"), 0755), 0);
    assert_int_equal(ajio_sweep(dir, NULL, 0, AJIO_SWEEP_LOCKS), 0);
    assert_true(exists(tu_path(dir, ".sym.ajio-lock")));
    assert_true(exists(tu_path(dir, ".sub.ajio-lock")));
    tu_assert_content(tu_path(dir, "victim"), "keep\n", 5);
    /* ".ajio-lock" alone has no NAME: not a lock file. */
    tu_put(tu_path(dir, ".ajio-lock"), "", 0644);
    assert_int_equal(ajio_sweep(dir, NULL, 0, AJIO_SWEEP_LOCKS), 0);
    assert_true(exists(tu_path(dir, ".ajio-lock")));
}

static void test_dry_run_counts(void **state)
{
    const char *dir = *state;

    tu_put(tu_path(dir, ".a.ajio-lock"), "", 0644);
    tu_put(tu_path(dir, ".b.ajio-lock"), "", 0644);
    assert_int_equal(ajio_sweep(dir, NULL, 0, AJIO_SWEEP_LOCKS | AJIO_SWEEP_DRY_RUN), 2);
    assert_int_equal(tu_count_entries(dir), 2);
    assert_int_equal(ajio_sweep(dir, NULL, 0, AJIO_SWEEP_LOCKS), 2);
    assert_int_equal(tu_count_entries(dir), 0);
}

static void test_name_and_age(void **state)
{
    const char *dir = *state;

    tu_put(tu_path(dir, ".a.ajio-lock"), "", 0644);
    tu_put(tu_path(dir, ".b.ajio-lock"), "", 0644);
    /* Just made: younger than an hour. */
    assert_int_equal(ajio_sweep(dir, NULL, 3600, AJIO_SWEEP_LOCKS), 0);
    assert_int_equal(tu_count_entries(dir), 2);
    assert_int_equal(ajio_sweep(dir, "a", 0, AJIO_SWEEP_LOCKS), 1);
    assert_false(exists(tu_path(dir, ".a.ajio-lock")));
    assert_true(exists(tu_path(dir, ".b.ajio-lock")));
    /* The lock file's name is no target name: the filter is the target's name. */
    assert_int_equal(ajio_sweep(dir, ".b.ajio-lock", 0, AJIO_SWEEP_LOCKS), 0);
    assert_true(exists(tu_path(dir, ".b.ajio-lock")));
    assert_int_equal(ajio_sweep(dir, NULL, 0, 1u << 3), -EINVAL);
}

/* A target name longer than AJIO_TEMP_MAX_NAME shares a lock file cut to it: that lock file
 * stays while any such name exists. */
static void test_long_name(void **state)
{
    const char *dir = *state;
    char name[256], lock[NAME_MAX + 1];

    memset(name, 'n', 240);
    name[240] = '\0';
    assert_int_equal(ajio_update(tu_path(dir, name), fill_update, NULL, -1, NULL), 0);
    lock[0] = '.';
    memset(lock + 1, 'n', AJIO_TEMP_MAX_NAME);
    strcpy(lock + 1 + AJIO_TEMP_MAX_NAME, ".ajio-lock");
    assert_true(exists(tu_path(dir, lock)));
    assert_int_equal(ajio_sweep(dir, NULL, 0, AJIO_SWEEP_LOCKS), 0);
    assert_true(exists(tu_path(dir, lock)));
    assert_int_equal(ajio_sweep(dir, name, 0, AJIO_SWEEP_LOCKS), 0);
    assert_int_equal(unlink(tu_path(dir, name)), 0);
    assert_int_equal(ajio_sweep(dir, name, 0, AJIO_SWEEP_LOCKS), 1);
    assert_false(exists(tu_path(dir, lock)));
}

/* Temps and lock files are swept together and counted together. */
static void test_with_temps(void **state)
{
    const char *dir = *state;

    tu_put(tu_path(dir, ".t.ajio-0123456789abcdef.tmp"), "x", 0644);
    tu_put(tu_path(dir, ".t.ajio-lock"), "", 0644);
    assert_int_equal(ajio_sweep(dir, "t", 0, AJIO_SWEEP_LOCKS | AJIO_SWEEP_NO_SYNC), 2);
    assert_int_equal(tu_count_entries(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_target_removed, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_existing_target_kept, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_held_lock_kept, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_and_dir_kept, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_counts, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_name_and_age, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_long_name, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_with_temps, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests_name("sweep_locks", tests, NULL, NULL);
}

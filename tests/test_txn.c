/*
 * test_txn.c - transactions: all or nothing across files, recovery from a planted intent, the
 * refusal of corrupt ones, the locks, and SIGKILL at random moments (with a plain batch as the
 * negative control: it does leave mixed sets).
 */
#include "testutil.h"

#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#define INTENT ".ajio-txn-intent"
#define LOCKF ".ajio-txn.ajio-lock"
#define NFILES 20

static int count_txn_files(const char *dir)
{
    return tu_count_matching(dir, ".ajio-txn-");
}

static void test_commit_basic_subdirs_removal(void **state)
{
    const char *dir = *state;
    ajio_txn *t;
    int fds = tu_fd_count();

    tu_put(tu_path(dir, "gone"), "old\n", 0640);
    assert_int_equal(mkdir(tu_path(dir, "s"), 0755), 0);
    tu_put(tu_path(dir, "s/gone2"), "old\n", 0644);
    tu_put(tu_path(dir, "keep"), "old\n", 0640);
    tu_assert_ok(ajio_txn_begin(&t, dir, NULL));
    tu_assert_ok(ajio_txn_write(t, "keep", "new\n", 4));
    tu_assert_ok(ajio_txn_write(t, "a/b/c.json", "{}\n", 3));
    tu_assert_ok(ajio_txn_remove(t, "gone"));
    tu_assert_ok(ajio_txn_remove(t, "s/gone2"));
    tu_assert_ok(ajio_txn_remove(t, "never/was"));
    assert_int_equal(ajio_txn_count(t), 5);
    tu_assert_ok(ajio_txn_commit(t));
    assert_int_equal(ajio_txn_commit(t), -EINVAL);
    ajio_txn_free(t);
    tu_assert_content(tu_path(dir, "keep"), "new\n", 4);
    tu_assert_content(tu_path(dir, "a/b/c.json"), "{}\n", 3);
    assert_int_equal(access(tu_path(dir, "gone"), F_OK), -1);
    assert_int_equal(access(tu_path(dir, "s/gone2"), F_OK), -1);
    struct stat st;
    assert_int_equal(stat(tu_path(dir, "keep"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640); /* the replaced file's mode kept */
    assert_int_equal(count_txn_files(dir), 0);  /* no temp, no intent left */
    assert_int_equal(tu_fd_count(), fds);
    assert_int_equal(ajio_recover(dir, NULL), 0); /* nothing to do */
}

static void test_bad_paths_refused(void **state)
{
    const char *dir = *state;
    const char *bad[] = {"/etc/passwd", "../x", "a/../x", "a//b", "./a", "a/", "", ".ajio-txn-x"};
    ajio_txn *t;

    tu_assert_ok(ajio_txn_begin(&t, dir, NULL));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ajio_txn_write(t, bad[i], "x", 1), -EINVAL);
    ajio_txn_free(t);
    /* A symlink on the way is not followed, so a member never lands outside DIR. */
    assert_int_equal(symlink("/tmp", tu_path(dir, "ln")), 0);
    tu_assert_ok(ajio_txn_begin(&t, dir, NULL));
    tu_assert_ok(ajio_txn_write(t, "ln/x", "x", 1));
    tu_assert_fails(ajio_txn_commit(t), -ENOTDIR, "ln/x");
    ajio_txn_free(t);
    tu_assert_ok(ajio_txn_begin(&t, dir, NULL));
    tu_assert_ok(ajio_txn_write(t, "ln", "x", 1));
    tu_assert_fails(ajio_txn_commit(t), -ELOOP, "ln");
    ajio_txn_free(t);
    assert_int_equal(count_txn_files(dir), 0);
    /* Control: the same transaction without the symlink commits. */
    assert_int_equal(unlink(tu_path(dir, "ln")), 0);
    tu_assert_ok(ajio_txn_begin(&t, dir, NULL));
    tu_assert_ok(ajio_txn_write(t, "ln/x", "x", 1));
    tu_assert_ok(ajio_txn_commit(t));
    ajio_txn_free(t);
}

static void test_invalid_json_aborts_all(void **state)
{
    const char *dir = *state;
    ajio_opts o = {.flags = AJIO_JSON};
    ajio_txn *t;

    tu_put(tu_path(dir, "a.json"), "1\n", 0644);
    tu_put(tu_path(dir, "c.json"), "3\n", 0644);
    tu_assert_ok(ajio_txn_begin(&t, dir, &o));
    tu_assert_ok(ajio_txn_write(t, "a.json", "2", 1));
    tu_assert_fails(ajio_txn_write(t, "b.json", "{", 1), AJIO_EJSON, "b.json");
    tu_assert_ok(ajio_txn_remove(t, "c.json"));
    tu_assert_fails(ajio_txn_commit(t), AJIO_EJSON, "b.json");
    ajio_txn_free(t);
    tu_assert_content(tu_path(dir, "a.json"), "1\n", 2);
    assert_int_equal(access(tu_path(dir, "b.json"), F_OK), -1);
    tu_assert_content(tu_path(dir, "c.json"), "3\n", 2);
    assert_int_equal(count_txn_files(dir), 0);
    /* Control: valid members commit, the final '\n' added; then the same with an fdatasync per
     * member (AJIO_SYNC_EACH), which ajio_recover takes too. */
    for (int each = 0; each < 2; each++) {
        const char *a = each ? "3\n" : "2\n", *b = each ? "[]\n" : "{}\n";

        if (each)
            o.flags |= AJIO_SYNC_EACH;
        tu_assert_ok(ajio_txn_begin(&t, dir, &o));
        tu_assert_ok(ajio_txn_write(t, "a.json", a, 1));
        tu_assert_ok(ajio_txn_write(t, "b.json", b, 2));
        tu_assert_ok(ajio_txn_commit(t));
        ajio_txn_free(t);
        tu_assert_content(tu_path(dir, "a.json"), a, 2);
        tu_assert_content(tu_path(dir, "b.json"), b, 3);
    }
    tu_assert_ok(ajio_recover(dir, &o));
    assert_int_equal(count_txn_files(dir), 0);
}

static void test_failure_before_commit_point_changes_nothing(void **state)
{
    const char *dir = *state;
    ajio_txn *t;
    int fds = tu_fd_count();

    tu_put(tu_path(dir, "a"), "old\n", 0644);
    assert_int_equal(mkdir(tu_path(dir, "d"), 0755), 0);
    tu_assert_ok(ajio_txn_begin(&t, dir, NULL));
    tu_assert_ok(ajio_txn_write(t, "a", "new\n", 4));
    tu_assert_ok(ajio_txn_write(t, "d", "file over a dir\n", 16));
    tu_assert_fails(ajio_txn_commit(t), -EISDIR, "d");
    ajio_txn_free(t);
    tu_assert_content(tu_path(dir, "a"), "old\n", 4);
    assert_int_equal(count_txn_files(dir), 0);
    assert_int_equal(tu_fd_count(), fds);
    /*
     * A directory to remove is refused before anything changes too (it was found only at its
     * unlinkat, after "a" was renamed, and its intent then made every recovery fail).
     */
    tu_assert_ok(ajio_txn_begin(&t, dir, NULL));
    tu_assert_ok(ajio_txn_write(t, "a", "new\n", 4));
    tu_assert_ok(ajio_txn_remove(t, "d"));
    tu_assert_fails(ajio_txn_commit(t), -EISDIR, "d");
    ajio_txn_free(t);
    tu_assert_content(tu_path(dir, "a"), "old\n", 4);
    assert_int_equal(count_txn_files(dir), 0);
    tu_assert_ok(ajio_recover(dir, NULL));
    assert_int_equal(tu_fd_count(), fds);
}

/* FNV-1a 64, as the intent's checksum. */
static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* An intent as the library writes it: R temp path, D path. */
static size_t make_intent(char *buf, int version, const char *const *recs, size_t nrec)
{
    size_t len = (size_t)sprintf(buf, "ajio-txn %d\n", version);

    for (size_t i = 0; i < nrec; i++) {
        const char *r = recs[i];
        buf[len++] = r[0];
        if (r[0] == 'R') {
            const char *sp = strchr(r + 2, ' ');
            memcpy(buf + len, r + 2, (size_t)(sp - (r + 2)));
            len += (size_t)(sp - (r + 2));
            buf[len++] = '\0';
            strcpy(buf + len, sp + 1);
            len += strlen(sp + 1) + 1;
        } else {
            strcpy(buf + len, r + 2);
            len += strlen(r + 2) + 1;
        }
    }
    len += (size_t)sprintf(buf + len, "end %zu %016llx\n", nrec,
                           (unsigned long long)fnv(buf, len));
    return len;
}

static void put_bytes(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

#define TMP_A ".ajio-txn-00000000000000aa.tmp"
#define TMP_B ".ajio-txn-00000000000000bb.tmp"
#define TMP_C ".ajio-txn-00000000000000cc.tmp"
#define VERSION 2 /* of the intent: temps beside their members */

/* A commit that died after its commit point: a renamed, b and s/e not yet, c to remove. */
static size_t plant(const char *dir, char *buf, int version)
{
    const char *recs[] = {"R " TMP_A " s/a", "R " TMP_B " b", "D c", "R " TMP_C " s/e"};

    assert_int_equal(mkdir(tu_path(dir, "s"), 0755), 0);
    tu_put(tu_path(dir, "s/a"), "new\n", 0644); /* renamed before the crash */
    tu_put(tu_path(dir, "b"), "old\n", 0644);
    tu_put(tu_path(dir, TMP_B), "new\n", 0644);
    tu_put(tu_path(dir, "c"), "old\n", 0644);
    tu_put(tu_path(dir, "s/e"), "old\n", 0644);
    tu_put(tu_path(dir, "s/" TMP_C), "new\n", 0644); /* beside its member */
    size_t len = make_intent(buf, version, recs, 4);
    put_bytes(tu_path(dir, INTENT), buf, len);
    return len;
}

static void test_recover_rolls_forward_idempotent(void **state)
{
    const char *dir = *state;
    char buf[4096];
    ajio_txn *t;

    plant(dir, buf, VERSION);
    assert_int_equal(ajio_recover(dir, NULL), AJIO_REPAIRED);
    tu_assert_content(tu_path(dir, "s/a"), "new\n", 4);
    tu_assert_content(tu_path(dir, "b"), "new\n", 4);
    tu_assert_content(tu_path(dir, "s/e"), "new\n", 4);
    assert_int_equal(access(tu_path(dir, "c"), F_OK), -1);
    assert_int_equal(count_txn_files(dir), 0);
    assert_int_equal(count_txn_files(tu_path(dir, "s")), 0);
    assert_int_equal(ajio_recover(dir, NULL), 0);
    /* A recovery that died after the renames: the same intent again finds everything done. */
    size_t len = make_intent(buf, VERSION, (const char *const[]){"R " TMP_A " s/a", "R " TMP_B " b",
                                                           "D c"}, 3);
    put_bytes(tu_path(dir, INTENT), buf, len);
    assert_int_equal(ajio_recover(dir, NULL), AJIO_REPAIRED);
    tu_assert_content(tu_path(dir, "s/a"), "new\n", 4);
    tu_assert_content(tu_path(dir, "b"), "new\n", 4);
    assert_int_equal(count_txn_files(dir), 0);
    /* A commit recovers first, without being asked. */
    tu_put(tu_path(dir, TMP_A), "newer\n", 0644);
    len = make_intent(buf, VERSION, (const char *const[]){"R " TMP_A " b"}, 1);
    put_bytes(tu_path(dir, INTENT), buf, len);
    tu_assert_ok(ajio_txn_begin(&t, dir, NULL));
    tu_assert_ok(ajio_txn_write(t, "z", "z\n", 2));
    tu_assert_ok(ajio_txn_commit(t));
    ajio_txn_free(t);
    tu_assert_content(tu_path(dir, "b"), "newer\n", 6);
    tu_assert_content(tu_path(dir, "z"), "z\n", 2);
}

static void assert_untouched(const char *dir, const char *intent, size_t len)
{
    tu_assert_content(tu_path(dir, "b"), "old\n", 4);
    tu_assert_content(tu_path(dir, "c"), "old\n", 4);
    tu_assert_content(tu_path(dir, TMP_B), "new\n", 4);
    tu_assert_content(tu_path(dir, INTENT), intent, len);
}

static void test_corrupt_intent_refused(void **state)
{
    const char *dir = *state;
    char buf[4096];
    ajio_txn *t;
    size_t len = plant(dir, buf, VERSION);
    int fds = tu_fd_count();

    /* Every single flipped byte is caught: nothing is applied. */
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x01;
        put_bytes(tu_path(dir, INTENT), buf, len);
        int r = ajio_recover(dir, NULL);
        if (r != -EBADMSG && r != -EPROTONOSUPPORT)
            fail_msg("byte %zu flipped: %d %s", i, r, ajio_last_error());
        assert_untouched(dir, buf, len);
        buf[i] ^= 0x01;
    }
    /* Cut short. */
    put_bytes(tu_path(dir, INTENT), buf, len / 2);
    tu_assert_fails(ajio_recover(dir, NULL), -EBADMSG, INTENT);
    assert_untouched(dir, buf, len / 2);
    /* A commit refuses to build on it. */
    tu_assert_ok(ajio_txn_begin(&t, dir, NULL));
    tu_assert_ok(ajio_txn_write(t, "b", "other\n", 6));
    tu_assert_fails(ajio_txn_commit(t), -EBADMSG, INTENT);
    ajio_txn_free(t);
    assert_untouched(dir, buf, len / 2);
    assert_int_equal(tu_fd_count(), fds);
    /* Control: the intact intent is applied. */
    put_bytes(tu_path(dir, INTENT), buf, len);
    assert_int_equal(ajio_recover(dir, NULL), AJIO_REPAIRED);
    tu_assert_content(tu_path(dir, "b"), "new\n", 4);
}

static void test_other_version_refused(void **state)
{
    const char *dir = *state;
    char buf[4096];
    size_t len = plant(dir, buf, 1); /* 1 had every temp in DIR */

    tu_assert_fails(ajio_recover(dir, NULL), -EPROTONOSUPPORT, "version 1");
    assert_untouched(dir, buf, len);
}

static void test_recover_rolls_back(void **state)
{
    const char *dir = *state;
    const char *foreign = ".b.ajio-00000000000000cc.tmp"; /* a plain write's: not ours */
    /* Not in the plan: a transaction of a parent of dir may have it there, live. */
    const char *other = "s/.ajio-txn-00000000000000dd.tmp";
    char buf[4096];
    size_t len;

    /* A commit that died before its commit point: its plan names its temps and where. */
    assert_int_equal(mkdir(tu_path(dir, "s"), 0755), 0);
    tu_put(tu_path(dir, "b"), "old\n", 0644);
    tu_put(tu_path(dir, "s/e"), "old\n", 0644);
    tu_put(tu_path(dir, TMP_B), "new\n", 0644);
    tu_put(tu_path(dir, "s/" TMP_C), "new\n", 0644);
    tu_put(tu_path(dir, other), "x", 0644);
    tu_put(tu_path(dir, foreign), "x", 0644);
    len = make_intent(buf, VERSION, (const char *const[]){"R " TMP_B " b", "R " TMP_C " s/e",
                                                          "R " TMP_A " gone/f", "D c"}, 4);
    put_bytes(tu_path(dir, INTENT ".new"), buf, len);
    assert_int_equal(ajio_recover(dir, NULL), AJIO_REPAIRED);
    tu_assert_content(tu_path(dir, "b"), "old\n", 4);
    tu_assert_content(tu_path(dir, "s/e"), "old\n", 4);
    assert_int_equal(count_txn_files(dir), 0);
    assert_int_equal(access(tu_path(dir, "s/" TMP_C), F_OK), -1);
    assert_int_equal(access(tu_path(dir, other), F_OK), 0);
    assert_int_equal(access(tu_path(dir, foreign), F_OK), 0);
    assert_int_equal(access(tu_path(dir, "gone"), F_OK), -1); /* nothing created */
    assert_int_equal(ajio_recover(dir, NULL), 0);
    /* A plan cut short by the crash had no temps yet (they follow its sync): it just goes. */
    tu_put(tu_path(dir, INTENT ".new"), "ajio-txn 2\nR", 0644);
    assert_int_equal(ajio_recover(dir, NULL), AJIO_REPAIRED);
    assert_int_equal(count_txn_files(dir), 0);
    /*
     * A plan damaged after its temps were made (its checksum fails): the temps its whole
     * records name still go, those before the damage; so do those in a directory since made a
     * symlink, left where they are. The control: they are there before.
     */
    tu_put(tu_path(dir, TMP_B), "new\n", 0644);
    tu_put(tu_path(dir, "s/" TMP_C), "new\n", 0644);
    assert_int_equal(mkdir(tu_path(dir, "t"), 0755), 0);
    tu_put(tu_path(dir, "t/" TMP_A), "new\n", 0644);
    assert_int_equal(symlink("t", tu_path(dir, "l")), 0);
    len = make_intent(buf, VERSION, (const char *const[]){"R " TMP_A " l/f", "R " TMP_B " b",
                                                          "R " TMP_C " s/e"}, 3);
    buf[len - 3] ^= 1; /* the checksum's last hex digit */
    put_bytes(tu_path(dir, INTENT ".new"), buf, len);
    assert_int_equal(access(tu_path(dir, TMP_B), F_OK), 0);
    assert_int_equal(access(tu_path(dir, "s/" TMP_C), F_OK), 0);
    assert_int_equal(ajio_recover(dir, NULL), AJIO_REPAIRED);
    assert_int_equal(access(tu_path(dir, TMP_B), F_OK), -1);
    assert_int_equal(access(tu_path(dir, "s/" TMP_C), F_OK), -1);
    assert_int_equal(access(tu_path(dir, "t/" TMP_A), F_OK), 0); /* not followed */
    assert_int_equal(count_txn_files(dir), 0);
    /* Damaged in its second record: the first one's temp goes, the plan too. */
    tu_put(tu_path(dir, TMP_B), "new\n", 0644);
    len = make_intent(buf, VERSION, (const char *const[]){"R " TMP_B " b", "R " TMP_C " s/e"}, 2);
    buf[strlen("ajio-txn 2\n") + 1 + strlen(TMP_B) + 1 + 2] = 'X';
    buf[strlen("ajio-txn 2\n") + 1 + strlen(TMP_B) + 1 + 2 + 1] = '/';
    put_bytes(tu_path(dir, INTENT ".new"), buf, len);
    assert_int_equal(ajio_recover(dir, NULL), AJIO_REPAIRED);
    assert_int_equal(access(tu_path(dir, TMP_B), F_OK), -1);
    assert_int_equal(count_txn_files(dir), 0);
    /* One of another version is left, as an intent would be. */
    len = make_intent(buf, 1, (const char *const[]){"R " TMP_B " b"}, 1);
    put_bytes(tu_path(dir, INTENT ".new"), buf, len);
    tu_assert_fails(ajio_recover(dir, NULL), -EPROTONOSUPPORT, "version 1");
    assert_int_equal(unlink(tu_path(dir, INTENT ".new")), 0);
    assert_int_equal(ajio_recover(tu_path(dir, "missing"), NULL), -ENOENT);
}

static void test_dir_lock_serialises(void **state)
{
    const char *dir = *state;
    ajio_opts o = {.flags = AJIO_LOCK_TIMEOUT, .lock_timeout_ms = 0};
    ajio_txn *t;
    int fd;

    tu_put(tu_path(dir, "a"), "old\n", 0644);
    tu_assert_ok(ajio_recover(dir, NULL)); /* creates the lock file */
    fd = open(tu_path(dir, LOCKF), O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(tu_lock_target(fd, dir), 0);
    tu_assert_ok(ajio_txn_begin(&t, dir, &o));
    tu_assert_ok(ajio_txn_write(t, "a", "new\n", 4));
    tu_assert_fails(ajio_txn_commit(t), -EWOULDBLOCK, dir);
    ajio_txn_free(t);
    tu_assert_content(tu_path(dir, "a"), "old\n", 4);
    assert_int_equal(ajio_recover(dir, &o), -EWOULDBLOCK);
    assert_int_equal(close(fd), 0);
    /* Control: released, the same commit goes through. */
    tu_assert_ok(ajio_txn_begin(&t, dir, &o));
    tu_assert_ok(ajio_txn_write(t, "a", "new\n", 4));
    tu_assert_ok(ajio_txn_commit(t));
    ajio_txn_free(t);
}

struct upd {
    int entered[2]; /* a pipe: the update holds the lock */
    int release[2]; /* a pipe: let it go on */
};

static int slow_update(void *ctx, const void *old, size_t len, int exists, ajio_file *out)
{
    struct upd *u = ctx;
    char c = 'x';

    (void)old;
    (void)len;
    (void)exists;
    assert_int_equal(write(u->entered[1], &c, 1), 1);
    assert_int_equal(read(u->release[0], &c, 1), 1);
    return ajio_file_write(out, "upd\n", 4);
}

static void *updater(void *arg)
{
    struct upd *u = arg;
    char path[4096];

    snprintf(path, sizeof(path), "%s", (const char *)(u + 1));
    tu_assert_ok(ajio_update(path, slow_update, u, -1, NULL));
    return NULL;
}

static void test_member_lock_serialises_with_update(void **state)
{
    const char *dir = *state;
    ajio_opts o = {.flags = AJIO_LOCK_TIMEOUT, .lock_timeout_ms = 0};
    struct {
        struct upd u;
        char path[4096];
    } arg;
    pthread_t th;
    ajio_txn *t;
    char c = 'x';

    tu_put(tu_path(dir, "a"), "old\n", 0644);
    tu_put(tu_path(dir, "b"), "old\n", 0644);
    snprintf(arg.path, sizeof(arg.path), "%s/a", dir);
    assert_int_equal(pipe(arg.u.entered), 0);
    assert_int_equal(pipe(arg.u.release), 0);
    assert_int_equal(pthread_create(&th, NULL, updater, &arg.u), 0);
    assert_int_equal(read(arg.u.entered[0], &c, 1), 1); /* the update holds a's lock */
    tu_assert_ok(ajio_txn_begin(&t, dir, &o));
    tu_assert_ok(ajio_txn_write(t, "b", "txn\n", 4));
    tu_assert_ok(ajio_txn_write(t, "a", "txn\n", 4));
    tu_assert_fails(ajio_txn_commit(t), -EWOULDBLOCK, "a");
    ajio_txn_free(t);
    tu_assert_content(tu_path(dir, "b"), "old\n", 4); /* b not written either */
    assert_int_equal(count_txn_files(dir), 0);
    /* Control: a transaction without a commits meanwhile. */
    tu_assert_ok(ajio_txn_begin(&t, dir, &o));
    tu_assert_ok(ajio_txn_write(t, "b", "txn\n", 4));
    tu_assert_ok(ajio_txn_commit(t));
    ajio_txn_free(t);
    assert_int_equal(write(arg.u.release[1], &c, 1), 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    tu_assert_content(tu_path(dir, "a"), "upd\n", 4);
    /* And an AJIO_LOCK writer waits for a transaction's member lock: the same lock file. */
    int fd = open(tu_path(dir, ".a.ajio-lock"), O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(tu_lock_target(fd, dir), 0);
    ajio_opts lo = {.flags = AJIO_LOCK | AJIO_LOCK_TIMEOUT, .lock_timeout_ms = 0};
    assert_int_equal(ajio_write_text(tu_path(dir, "a"), "w", &lo), -EWOULDBLOCK);
    assert_int_equal(close(fd), 0);
    for (int i = 0; i < 2; i++) {
        close(arg.u.entered[i]);
        close(arg.u.release[i]);
    }
}

/* Two processes commit transactions of x and y, each writing one token to both, at once. */
static void test_concurrent_transactions(void **state)
{
    const char *dir = *state;
    ajio_opts o = {.flags = AJIO_NO_SYNC};
    pid_t pids[2];

    for (int p = 0; p < 2; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            for (int i = 0; i < 200; i++) {
                char tok[64];
                ajio_txn *t;
                int n = snprintf(tok, sizeof(tok), "%d-%d\n", p, i);
                if (ajio_txn_begin(&t, dir, &o) < 0 || ajio_txn_write(t, "x", tok, (size_t)n) < 0 ||
                    ajio_txn_write(t, "sub/y", tok, (size_t)n) < 0 || ajio_txn_commit(t) < 0)
                    _exit(1);
                ajio_txn_free(t);
                /* Each of our commits saw a whole set before it (under the lock, x == y). */
            }
            _exit(0);
        }
    }
    for (int p = 0; p < 2; p++) {
        int st;
        assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    char *x = tu_read(tu_path(dir, "x"), NULL), *y = tu_read(tu_path(dir, "sub/y"), NULL);
    assert_string_equal(x, y);
    free(x);
    free(y);
    assert_int_equal(count_txn_files(dir), 0);
}

/* A child commits sets of NFILES files, each set one generation, until it is killed. */
static void writer_loop(const char *dir, bool txn)
{
    ajio_opts o = {.flags = AJIO_NO_SYNC};

    for (unsigned gen = 1;; gen++) {
        char data[32], name[16];
        int n = snprintf(data, sizeof(data), "%u\n", gen);
        if (txn) {
            ajio_txn *t;
            if (ajio_txn_begin(&t, dir, &o) < 0)
                _exit(2);
            for (int i = 0; i < NFILES; i++) {
                snprintf(name, sizeof(name), "%s/f%02d", i % 2 ? "d" : "e", i);
                if (ajio_txn_write(t, name, data, (size_t)n) < 0)
                    _exit(2);
            }
            if (ajio_txn_commit(t) < 0)
                _exit(3);
            ajio_txn_free(t);
        } else {
            ajio_batch *b;
            if (ajio_batch_new(&b, &o) < 0)
                _exit(2);
            for (int i = 0; i < NFILES; i++) {
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s/f%02d", dir, i % 2 ? "d" : "e", i);
                if (ajio_batch_add(b, path, data, (size_t)n) < 0)
                    _exit(2);
            }
            if (ajio_batch_commit(b) < 0)
                _exit(3);
            ajio_batch_free(b);
        }
    }
}

/* Whether the NFILES files hold one generation; the first one read into *gen. */
static bool set_is_whole(const char *dir)
{
    char *first = NULL;
    bool whole = true;

    for (int i = 0; i < NFILES; i++) {
        char name[16];
        snprintf(name, sizeof(name), "%s/f%02d", i % 2 ? "d" : "e", i);
        char *s = tu_read(tu_path(dir, name), NULL);
        assert_non_null(s);
        if (first == NULL)
            first = s;
        else {
            if (strcmp(first, s) != 0)
                whole = false;
            free(s);
        }
    }
    free(first);
    return whole;
}

/* One round: the child runs for a random moment, then SIGKILL. @return whether the set was whole. */
static bool kill_round(const char *dir, bool txn, unsigned *seed)
{
    pid_t pid = fork();
    int st;

    assert_true(pid >= 0);
    if (pid == 0)
        writer_loop(dir, txn);
    struct timespec ts = {0, (long)(1 + rand_r(seed) % 20000) * 1000};
    nanosleep(&ts, NULL);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
        fail_msg("the writer exited by itself (status %d): %s", st, "a commit failed");
    if (txn) {
        int r = ajio_recover(dir, NULL);
        assert_true(r == 0 || r == AJIO_REPAIRED);
        assert_int_equal(count_txn_files(dir), 0);
    }
    return set_is_whole(dir);
}

static void initial_set(const char *dir)
{
    ajio_txn *t;

    tu_assert_ok(ajio_txn_begin(&t, dir, NULL));
    for (int i = 0; i < NFILES; i++) {
        char name[16];
        snprintf(name, sizeof(name), "%s/f%02d", i % 2 ? "d" : "e", i);
        tu_assert_ok(ajio_txn_write(t, name, "0\n", 2));
    }
    tu_assert_ok(ajio_txn_commit(t));
    ajio_txn_free(t);
}

static void test_sigkill_transactions_whole(void **state)
{
    const char *dir = *state;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

    initial_set(dir);
    for (int round = 0; round < 40; round++)
        if (!kill_round(dir, true, &seed))
            fail_msg("round %d: a mixed set after recovery", round);
}

static void test_sigkill_batch_mixes(void **state)
{
    const char *dir = *state;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    int round;

    initial_set(dir);
    for (round = 0; round < 500; round++)
        if (!kill_round(dir, false, &seed))
            break;
    if (round == 500)
        fail_msg("a plain batch never left a mixed set in 500 kills: the test cannot fail");
}

/* ---- promise 5: new bytes never more exposed than their member -------------------------- */

#define NOBODY 65534
#define SECRET "new secret bytes\n"

static int trap_fd = -1;

static void on_sigsys(int sig)
{
    char c = 's';

    (void)sig;
    if (write(trap_fd, &c, 1) != 1)
        _exit(5);
    for (;;)
        pause(); /* stopped here, between the temps and the renames, until killed */
}

/*
 * From now on the process's first rename(2) in any form raises SIGSYS instead of running: in a
 * commit that is the commit point, with every temp made, filled and synced.
 */
static int trap_renames(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#ifdef SYS_rename
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rename, 3, 0),
#else
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_renameat2, 3, 0),
#endif
#ifdef SYS_renameat
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_renameat, 2, 0),
#else
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_renameat2, 2, 0),
#endif
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_renameat2, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
    };
    struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};

    if (signal(SIGSYS, on_sigsys) == SIG_ERR || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* Whether user nobody (no supplementary groups) can open path for reading. */
static bool nobody_can_read(const char *path)
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
            setresuid(NOBODY, NOBODY, NOBODY) < 0)
            _exit(98);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        _exit(fd >= 0 ? 0 : errno == EACCES ? 1 : 97);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_true(WEXITSTATUS(status) <= 1);
    return WEXITSTATUS(status) == 0;
}

/* Every regular file below dir holding exactly SECRET; asserts nobody can read any of them. */
static int secrets_kept_from_nobody(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char p[PATH_MAX], got[64];
        struct stat st;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        assert_int_equal(lstat(p, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            n += secrets_kept_from_nobody(p);
            continue;
        }
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        ssize_t k = read(fd, got, sizeof(got));
        (void)close(fd);
        if (k != (ssize_t)strlen(SECRET) || memcmp(got, SECRET, (size_t)k) != 0)
            continue;
        if (nobody_can_read(p))
            fail_msg("the new bytes of private/m are readable by nobody at \"%s\"", p);
        n++;
    }
    closedir(d);
    return n;
}

static void test_temps_no_more_exposed_than_members(void **state)
{
    const char *dir = *state;
    char c;
    int pfd[2], status;
    pid_t pid;

    if (geteuid() != 0) {
        fprintf(stderr, "note: not root: the exposure of a commit's temps to other users is "
                        "not checked\n");
        return;
    }
    /* DIR open to all, private/ to root only; the member's own mode lets all read. */
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(mkdir(tu_path(dir, "private"), 0700), 0);
    assert_int_equal(chmod(tu_path(dir, "private"), 0700), 0);
    tu_put(tu_path(dir, "private/m"), "old\n", 0644);
    tu_put(tu_path(dir, "pub"), "old\n", 0644);
    tu_assert_ok(ajio_recover(dir, NULL)); /* the lock file made outside the trap */
    assert_int_equal(pipe(pfd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ajio_txn *t;

        trap_fd = pfd[1];
        /* Gone with the test, whether it passes or fails while this waits. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
            _exit(6);
        alarm(60);
        if (trap_renames() < 0)
            _exit(4);
        if (ajio_txn_begin(&t, dir, NULL) < 0 ||
            ajio_txn_write(t, "private/m", SECRET, strlen(SECRET)) < 0 ||
            ajio_txn_write(t, "pub", "new\n", 4) < 0)
            _exit(2);
        (void)ajio_txn_commit(t);
        _exit(3); /* never reached: the commit point traps */
    }
    struct pollfd pf = {pfd[0], POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 20000), 1);
    assert_int_equal(read(pfd[0], &c, 1), 1);
    /* Stopped before its renames: the new bytes exist, and only where the member is. */
    assert_int_equal(secrets_kept_from_nobody(dir), 1);
    tu_assert_content(tu_path(dir, "private/m"), "old\n", 4);
    /* Control: the check does see bytes that nobody can read. */
    tu_put(tu_path(dir, "probe"), "x", 0644);
    assert_true(nobody_can_read(tu_path(dir, "probe")));
    /* A crash there: recovery finds the temp, wherever it is, and removes it. */
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    (void)close(pfd[0]);
    (void)close(pfd[1]);
    assert_int_equal(secrets_kept_from_nobody(dir), 1);
    assert_int_equal(ajio_recover(dir, NULL), AJIO_REPAIRED);
    assert_int_equal(secrets_kept_from_nobody(dir), 0);
    tu_assert_content(tu_path(dir, "private/m"), "old\n", 4);
    tu_assert_content(tu_path(dir, "pub"), "old\n", 4);
    assert_int_equal(count_txn_files(dir), 0);
    assert_int_equal(count_txn_files(tu_path(dir, "private")), 0);
    /* Control: the same commit, untrapped, replaces both and leaves private/m as it was. */
    ajio_txn *t;
    tu_assert_ok(ajio_txn_begin(&t, dir, NULL));
    tu_assert_ok(ajio_txn_write(t, "private/m", SECRET, strlen(SECRET)));
    tu_assert_ok(ajio_txn_commit(t));
    ajio_txn_free(t);
    struct stat st;
    assert_int_equal(stat(tu_path(dir, "private/m"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(secrets_kept_from_nobody(dir), 1);
}

/* ---- a replaced member keeps its access ACL and extended attributes ---------------------- */

struct acl_entry {
    uint16_t tag, perm;
    uint32_t id;
};

static bool unsupported(int err)
{
    return err == EOPNOTSUPP || err == ENOTTY || err == EINVAL;
}

static void test_members_keep_acl_and_xattrs(void **state)
{
    const char *dir = *state;
    /* 0640 plus user nobody:r, as "setfacl -m u:nobody:r" leaves it. */
    const struct acl_entry e[] = {{1, 6, 0xffffffffu}, {2, 4, 65534}, {4, 4, 0xffffffffu},
                                  {0x10, 4, 0xffffffffu}, {0x20, 0, 0xffffffffu}};
    unsigned char acl[4 + sizeof(e)], got[256];
    uint32_t version = 2;
    bool with_acl = true;
    struct stat st;
    ajio_txn *t;

    memcpy(acl, &version, 4);
    memcpy(acl + 4, e, sizeof(e));
    assert_int_equal(mkdir(tu_path(dir, "s"), 0755), 0);
    tu_put(tu_path(dir, "s/a"), "old\n", 0640);
    tu_put(tu_path(dir, "b"), "old\n", 0644);
    if (setxattr(tu_path(dir, "s/a"), "user.origin", "cfg-v1", 6, 0) < 0) {
        assert_true(unsupported(errno));
        fprintf(stderr, "note: no user.* attributes on the filesystem of %s: not checked\n", dir);
        return;
    }
    if (setxattr(tu_path(dir, "s/a"), "system.posix_acl_access", acl, sizeof(acl), 0) < 0) {
        assert_true(unsupported(errno));
        fprintf(stderr, "note: no POSIX ACLs on the filesystem of %s: that part not checked\n",
                dir);
        with_acl = false;
    }
    assert_int_equal(setxattr(tu_path(dir, "b"), "user.b", "2", 1, 0), 0);
    tu_assert_ok(ajio_txn_begin(&t, dir, NULL));
    tu_assert_ok(ajio_txn_write(t, "s/a", "new\n", 4));
    tu_assert_ok(ajio_txn_write(t, "b", "new\n", 4));
    tu_assert_ok(ajio_txn_commit(t));
    ajio_txn_free(t);
    tu_assert_content(tu_path(dir, "s/a"), "new\n", 4);
    assert_int_equal(getxattr(tu_path(dir, "s/a"), "user.origin", got, sizeof(got)), 6);
    assert_memory_equal(got, "cfg-v1", 6);
    assert_int_equal(getxattr(tu_path(dir, "b"), "user.b", got, sizeof(got)), 1);
    if (with_acl) {
        assert_int_equal(getxattr(tu_path(dir, "s/a"), "system.posix_acl_access", got,
                                  sizeof(got)), (ssize_t)sizeof(acl));
        assert_memory_equal(got, acl, sizeof(acl));
        assert_int_equal(stat(tu_path(dir, "s/a"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
    }
    /* AJIO_MODE means exactly that mode: the ACL goes, the attributes stay. */
    ajio_opts o = {.flags = AJIO_MODE, .mode = 0600};
    tu_assert_ok(ajio_txn_begin(&t, dir, &o));
    tu_assert_ok(ajio_txn_write(t, "s/a", "newer\n", 6));
    tu_assert_ok(ajio_txn_commit(t));
    ajio_txn_free(t);
    assert_int_equal(getxattr(tu_path(dir, "s/a"), "system.posix_acl_access", got, sizeof(got)),
                     -1);
    assert_int_equal(errno, ENODATA);
    assert_int_equal(getxattr(tu_path(dir, "s/a"), "user.origin", got, sizeof(got)), 6);
    assert_int_equal(stat(tu_path(dir, "s/a"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
}

/* ---- a member whose group the writer cannot keep --------------------------------------- */

/* Whether path's group bits reach nobody beyond the group old_gid that had them. */
static bool group_widened(const char *path, gid_t old_gid)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_gid != old_gid && (st.st_mode & 070) != 0;
}

static void test_group_bits_dropped_when_group_not_kept(void **state)
{
    const char *dir = *state;
    const gid_t other = 54321; /* a group user nobody is not in */
    char g[PATH_MAX];
    struct stat st;
    int status;
    pid_t pid;

    if (geteuid() != 0) {
        fprintf(stderr, "note: not root: a member of a group its writer is not in is not "
                        "made here\n");
        return;
    }
    assert_int_equal(chmod(dir, 0755), 0);
    snprintf(g, sizeof(g), "%s", tu_path(dir, "g"));
    assert_int_equal(mkdir(g, 0755), 0);
    assert_int_equal(chown(g, NOBODY, NOBODY), 0);
    tu_put(tu_path(dir, "g/m"), "old\n", 0640);
    assert_int_equal(chown(tu_path(dir, "g/m"), NOBODY, other), 0);
    assert_int_equal(chmod(tu_path(dir, "g/m"), 0640), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ajio_txn *t;

        if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
            setresuid(NOBODY, NOBODY, NOBODY) < 0)
            _exit(98);
        if (ajio_txn_begin(&t, g, NULL) < 0 || ajio_txn_write(t, "m", "new\n", 4) < 0 ||
            ajio_txn_commit(t) < 0)
            _exit(2);
        ajio_txn_free(t);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    tu_assert_content(tu_path(dir, "g/m"), "new\n", 4);
    /* The group went to the writer's; its bits did not go with it: the file is 0600. */
    assert_false(group_widened(tu_path(dir, "g/m"), other));
    assert_int_equal(stat(tu_path(dir, "g/m"), &st), 0);
    assert_int_equal(st.st_uid, NOBODY);
    assert_int_equal(st.st_mode & 07777, 0600);
    /* Control: the check sees a group read bit handed to another group. */
    tu_put(tu_path(dir, "probe"), "x", 0640);
    assert_int_equal(chown(tu_path(dir, "probe"), NOBODY, NOBODY), 0);
    assert_true(group_widened(tu_path(dir, "probe"), other));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_commit_basic_subdirs_removal),
        TU_TEST(test_bad_paths_refused),
        TU_TEST(test_invalid_json_aborts_all),
        TU_TEST(test_failure_before_commit_point_changes_nothing),
        TU_TEST(test_recover_rolls_forward_idempotent),
        TU_TEST(test_corrupt_intent_refused),
        TU_TEST(test_other_version_refused),
        TU_TEST(test_recover_rolls_back),
        TU_TEST(test_dir_lock_serialises),
        TU_TEST(test_member_lock_serialises_with_update),
        TU_TEST(test_concurrent_transactions),
        TU_TEST(test_sigkill_transactions_whole),
        TU_TEST(test_sigkill_batch_mixes),
        TU_TEST(test_temps_no_more_exposed_than_members),
        TU_TEST(test_members_keep_acl_and_xattrs),
        TU_TEST(test_group_bits_dropped_when_group_not_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

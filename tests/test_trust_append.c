/*
 * test_trust_append.c - an appender trusts only the file it opened and the bytes it wrote.
 * Attacks and accidents that must not make ajio_append() or a log handle write into someone
 * else's file, or keep or delete bytes it should not:
 *
 *   5. log rotation into a planted file: in a sticky directory, after alice's log was rotated,
 *      bob creates app.log (0666); alice's next ajio_log_append() refuses with -EACCES (the
 *      protected_regular rule) and bob's file stays empty;
 *   6. log reopened onto a FIFO bob planted: every append fails, nothing reaches a reader of the
 *      FIFO, and the failed reopen leaks no descriptor;
 *   7. one-shot append race in a sticky directory: bob creates and renames away app.log in a
 *      loop while alice appends to it; none of alice's successful records lands in bob's inodes;
 *   8. fork() with a log handle: children (and the parent) appending 8 MiB records through the
 *      inherited handle lose, duplicate or break none of the records whose append succeeded;
 *  10. text-mode repair never deletes other writers' bytes; a foreign torn JSONL tail is
 *      terminated when it is a complete object, array or string, else the append is refused
 *      (AJIO_ETORN) with the file unchanged, and ajio_repair() cuts it;
 *  11. the bytes of an ajio append that was killed mid-write are all cut by the next append or
 *      repair, complete lines included, while complete foreign lines ('>>') are kept.
 *
 * Every test has a negative control: the same race or check run where the attack does succeed
 * (a naive appender, a record removed on purpose) and is seen to.
 *
 * 11 kills a writer at a chosen byte: this program defines write(), writev() and pwrite*()
 * itself, so that the copy of libajio linked into it calls them; they pass everything to the
 * kernel, except in a child that armed the shim, where the write to the target inode stops
 * after the chosen number of bytes and the child SIGKILLs itself.
 *
 * Tests 5-7 need root (they create files as other users: uids 64011, 64012, 64013).
 */
#include "testutil.h"

#include <grp.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define TU_SHARED_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup_shared, tu_teardown)

#define ALICE 64011
#define BOB 64012
#define THIRD 64013
#define SHARED_GID 64020

/* ---- the write shim (11) ------------------------------------------------------------------ */

static volatile int shim_armed;
static dev_t shim_dev;
static ino_t shim_ino;
static size_t shim_left; /* bytes the target still gets before the writer dies */

static bool shim_hits(int fd)
{
    struct stat st;

    return shim_armed && fstat(fd, &st) == 0 && st.st_dev == shim_dev && st.st_ino == shim_ino;
}

/* Writes what is left of the allowance from iov at the file's end (the fd is O_APPEND), dies. */
static void shim_die(int fd, const struct iovec *iov, int cnt, off_t off)
{
    for (int i = 0; i < cnt && shim_left > 0; i++) {
        size_t n = iov[i].iov_len < shim_left ? iov[i].iov_len : shim_left;
        ssize_t w = off < 0 ? syscall(SYS_write, fd, iov[i].iov_base, n)
                            : syscall(SYS_pwrite64, fd, iov[i].iov_base, n, off);
        if (w > 0) {
            shim_left -= (size_t)w;
            if (off >= 0)
                off += w;
        }
        if (w != (ssize_t)n)
            break;
    }
    kill(getpid(), SIGKILL);
    for (;;)
        pause();
}

ssize_t write(int fd, const void *buf, size_t n)
{
    if (shim_hits(fd))
        shim_die(fd, &(struct iovec){(void *)buf, n}, 1, -1);
    return syscall(SYS_write, fd, buf, n);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    if (shim_hits(fd))
        shim_die(fd, iov, cnt, -1);
    return syscall(SYS_writev, fd, iov, cnt);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (shim_hits(fd))
        shim_die(fd, &(struct iovec){(void *)buf, n}, 1, off);
    return syscall(SYS_pwrite64, fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    return pwrite(fd, buf, n, off);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    if (shim_hits(fd))
        shim_die(fd, iov, cnt, off);
    return syscall(SYS_pwritev, fd, iov, cnt, (unsigned long)off, 0UL);
}

ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    if (shim_hits(fd))
        shim_die(fd, iov, cnt, off);
    return syscall(SYS_pwritev2, fd, iov, cnt, (unsigned long)off, 0UL, flags);
}

/* ---- processes as other users ------------------------------------------------------------- */

/* In a child: drops root for uid (group uid, plus extra when not 0); _exit(98) if it cannot. */
static void become(uid_t uid, gid_t extra)
{
    gid_t groups[1] = {extra};

    if (setgroups(extra != 0 ? 1 : 0, groups) < 0 || setgid(uid) < 0 || setuid(uid) < 0) {
        fprintf(stderr, "cannot become uid %u: %s\n", (unsigned)uid, strerror(errno));
        _exit(98);
    }
    /* Still allowed to look at its own /proc/self/fd (fd counts, ajio's linkat probe). */
    (void)prctl(PR_SET_DUMPABLE, 1);
}

/* A child that runs fn(arg) as uid and exits 0, or with fn's failure (fn calls _exit). */
static pid_t spawn_as(uid_t uid, gid_t extra, void (*fn)(void *), void *arg)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        become(uid, extra);
        fn(arg);
        _exit(0);
    }
    return pid;
}

/* Waits for pid; its exit status, or 128 + signal. */
static int reap(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void *shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    assert_true(p != MAP_FAILED);
    memset(p, 0, size);
    return p;
}

/* Steps between processes: one byte down a pipe. await_step() is false at EOF (peer died). */
static void post(int fd)
{
    while (write(fd, "s", 1) < 0 && errno == EINTR)
        ;
}

static bool await_step(int fd)
{
    char c;
    ssize_t n;

    while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
        ;
    return n == 1;
}

struct chan {
    int down[2]; /* parent -> child */
    int up[2];   /* child -> parent */
};

static void chan_open(struct chan *c)
{
    assert_int_equal(pipe2(c->down, O_CLOEXEC), 0);
    assert_int_equal(pipe2(c->up, O_CLOEXEC), 0);
}

/* In the child: its ends only. */
static void chan_child(struct chan *c)
{
    close(c->down[1]);
    close(c->up[0]);
}

/* In the parent, once the child is forked. */
static void chan_parent(struct chan *c)
{
    close(c->down[0]);
    close(c->up[1]);
}

static void chan_close(struct chan *c)
{
    close(c->down[1]);
    close(c->up[0]);
}

/*
 * A sticky directory others may write, "D" in the scratch directory (made 0755 so that the
 * users can reach it): owned by owner, group group, mode mode (01777 or 01770).
 */
static const char *sticky_dir(const char *scratch, uid_t owner, gid_t group, mode_t mode)
{
    static char d[4096];

    snprintf(d, sizeof(d), "%s/D", scratch);
    assert_int_equal(chmod(scratch, 0755), 0);
    assert_int_equal(mkdir(d, 0700), 0);
    assert_int_equal(chown(d, owner, group), 0);
    assert_int_equal(chmod(d, mode), 0);
    return d;
}

/* A scratch directory that other users may search: the sticky directories are made in it. */
static int setup_shared(void **state)
{
    tu_setup(state);
    return chmod(*state, 0755);
}

/* The scratch directory must be reachable by other users (AJIO_TEST_DIR under a 0700 home). */
static void probe_reach(void *arg)
{
    _exit(access((const char *)arg, W_OK | X_OK) == 0 ? 0 : 1);
}

static void require_reachable(const char *d, gid_t extra)
{
    if (reap(spawn_as(ALICE, extra, probe_reach, (void *)d)) != 0) {
        fprintf(stderr, "skip: %s cannot be reached by uid %d (AJIO_TEST_DIR not searchable)\n",
                d, ALICE);
        skip();
    }
}

static off_t file_size(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 ? st.st_size : -1;
}

/* s as a C string literal's inside (newlines as \n), at most 120 bytes, in a rotating buffer. */
static const char *esc(const char *s)
{
    static char bufs[6][512];
    static int k;
    char *b = bufs[k++ % 6], *o = b;

    for (size_t i = 0; s != NULL && s[i] != '\0' && o < b + 500; i++) {
        if (i == 120) {
            o += sprintf(o, "...");
            break;
        }
        if (s[i] == '\n')
            o += sprintf(o, "\\n");
        else if (s[i] == '"' || s[i] == '\\')
            o += sprintf(o, "\\%c", s[i]);
        else
            *o++ = s[i];
    }
    *o = '\0';
    return b;
}

/* The file's content, escaped (esc()). */
static const char *shown(const char *path)
{
    char *got = tu_read(path, NULL);
    const char *e = got != NULL ? esc(got) : "(unreadable)";

    free(got);
    return e;
}

/*
 * Failures noted while a test goes on to its negative control, which must run whatever the code
 * under test did; verdict() fails the test with all of them at the end.
 */
static char notes[8192];

AJIO_PRINTF(1, 2) static void note(const char *fmt, ...)
{
    size_t used = strlen(notes);
    va_list ap;

    if (used > 0 && used + 3 < sizeof(notes)) {
        strcat(notes, "\n  ");
        used += 3;
    }
    va_start(ap, fmt);
    vsnprintf(notes + used, sizeof(notes) - used, fmt, ap);
    va_end(ap);
}

static void verdict(void)
{
    if (notes[0] != '\0')
        fail_msg("%s", notes);
}

/* ---- 5, 6: a rotated log reopened onto a file or FIFO bob planted ------------------------- */

struct rot {
    const char *dir;
    gid_t extra;      /* supplementary group of alice and bob (group-writable variant) */
    bool fifo;        /* bob plants a FIFO instead of a regular file */
    struct chan a, b; /* to alice, to bob */
    /* alice's results */
    int r_open, r_first, r_rename, r_log[2], r_once;
    int fds_base, fds_before, fds_after, fds_closed;
    char msg_log[512], msg_once[512];
    /* bob's: bytes read from the FIFO after alice's appends, and after the naive write */
    long fifo_read, fifo_read_control;
};

static void alice_rotates(void *arg)
{
    struct rot *s = arg;
    char log_path[4096], old[4096];
    ajio_log *log = NULL;

    chan_child(&s->a);
    snprintf(log_path, sizeof(log_path), "%s/app.log", s->dir);
    snprintf(old, sizeof(old), "%s/app.log.1", s->dir);
    s->fds_base = tu_fd_count();
    s->r_open = ajio_log_open(&log, log_path, NULL);
    if (s->r_open < 0)
        _exit(10);
    s->r_first = ajio_log_append(log, "alice 1\n", 8);
    s->r_rename = rename(log_path, old) == 0 ? 0 : -errno;
    post(s->a.up[1]);
    if (!await_step(s->a.down[0])) /* bob has planted */
        _exit(11);
    s->fds_before = tu_fd_count();
    s->r_log[0] = ajio_log_append(log, "alice 2\n", 8);
    snprintf(s->msg_log, sizeof(s->msg_log), "%s", ajio_last_error());
    s->r_log[1] = ajio_log_append(log, "alice 3\n", 8);
    s->fds_after = tu_fd_count();
    (void)ajio_log_close(log);
    s->fds_closed = tu_fd_count();
    s->r_once = ajio_append(log_path, "alice 4\n", 8, NULL);
    snprintf(s->msg_once, sizeof(s->msg_once), "%s", ajio_last_error());
    post(s->a.up[1]);
}

static void bob_plants(void *arg)
{
    struct rot *s = arg;
    char p[4096];
    int fd = -1;
    long n = 0;
    char buf[4096];
    ssize_t k;

    chan_child(&s->b);
    snprintf(p, sizeof(p), "%s/app.log", s->dir);
    if (s->fifo) {
        if (mkfifo(p, 0666) < 0 || chmod(p, 0666) < 0)
            _exit(20);
        fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    } else {
        fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 && fchmod(fd, 0666) < 0)
            _exit(21);
    }
    if (fd < 0)
        _exit(22);
    post(s->b.up[1]);
    if (!await_step(s->b.down[0])) /* alice is done */
        _exit(23);
    if (s->fifo) {
        while ((k = read(fd, buf, sizeof(buf))) > 0)
            n += k;
        s->fifo_read = n;
        post(s->b.up[1]);
        if (!await_step(s->b.down[0])) /* the control wrote */
            _exit(24);
        n = 0;
        while ((k = read(fd, buf, sizeof(buf))) > 0)
            n += k;
        s->fifo_read_control = n;
    }
    close(fd);
}

/* Negative control: alice reopening the name naively (open + write) does reach bob's file. */
static void alice_naive_write(void *arg)
{
    const char *p = arg;
    int fd = open(p, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0 || write(fd, "naive\n", 6) != 6)
        _exit(30);
    close(fd);
}

static void run_rotation(struct rot *s)
{
    pid_t alice, bob;

    chan_open(&s->a);
    chan_open(&s->b);
    alice = spawn_as(ALICE, s->extra, alice_rotates, s);
    chan_parent(&s->a);
    if (!await_step(s->a.up[0]))
        fail_msg("alice died before the rotation: exit %d (open returned %d)", reap(alice),
                 s->r_open);
    bob = spawn_as(BOB, s->extra, bob_plants, s);
    chan_parent(&s->b);
    if (!await_step(s->b.up[0]))
        fail_msg("bob could not plant app.log: exit %d", reap(bob));
    post(s->a.down[1]);
    if (!await_step(s->a.up[0]))
        fail_msg("alice died while appending: exit %d", reap(alice));
    assert_int_equal(reap(alice), 0);
    post(s->b.down[1]);
    if (s->fifo) {
        char p[4096];

        if (!await_step(s->b.up[0]))
            fail_msg("bob died reading the FIFO: exit %d", reap(bob));
        snprintf(p, sizeof(p), "%s/app.log", s->dir);
        assert_int_equal(reap(spawn_as(ALICE, s->extra, alice_naive_write, p)), 0);
        post(s->b.down[1]);
    }
    assert_int_equal(reap(bob), 0);
    chan_close(&s->a);
    chan_close(&s->b);
    /* The part before the attack went as usual. */
    assert_int_equal(s->r_open, 0);
    assert_int_equal(s->r_first, 0);
    assert_int_equal(s->r_rename, 0);
}

static const struct {
    uid_t owner;
    gid_t group;
    mode_t mode;
    const char *what;
} sticky_kinds[] = {
    {0, 0, 01777, "root's 1777"},
    {THIRD, THIRD, 01777, "a third user's 1777"},
    {0, SHARED_GID, 01770, "root's 1770, group shared by alice and bob"},
};

/* A sticky directory of kind k in its own scratch subdirectory, and alice's shared results. */
static struct rot *rotation_setup(const char *state, size_t k, bool fifo)
{
    char scratch[4096];
    struct rot *s;

    snprintf(scratch, sizeof(scratch), "%s/%zu", state, k);
    assert_int_equal(mkdir(scratch, 0755), 0);
    s = shared_alloc(sizeof(*s));
    s->dir = sticky_dir(scratch, sticky_kinds[k].owner, sticky_kinds[k].group,
                        sticky_kinds[k].mode);
    s->extra = sticky_kinds[k].group == SHARED_GID ? SHARED_GID : 0;
    require_reachable(s->dir, s->extra);
    s->fifo = fifo;
    return s;
}

static void test_rotation_into_planted_file(void **state)
{
    tu_require_root();
    notes[0] = '\0';
    for (size_t k = 0; k < sizeof(sticky_kinds) / sizeof(sticky_kinds[0]); k++) {
        const char *what = sticky_kinds[k].what;
        struct rot *s = rotation_setup(*state, k, false);
        char p[4096], old[4096];
        struct stat st;

        run_rotation(s);
        snprintf(p, sizeof(p), "%s/app.log", s->dir);
        snprintf(old, sizeof(old), "%s/app.log.1", s->dir);

        /* Bob's file is untouched, and the handle said so. */
        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_uid, BOB);
        if (st.st_size != 0) {
            note("%s: alice's log handle wrote into bob's planted app.log (returns %d, %d); "
                 "bob's file holds \"%s\"",
                 what, s->r_log[0], s->r_log[1], shown(p));
        }
        if (s->r_log[0] != -EACCES || s->r_log[1] != -EACCES)
            note("%s: ajio_log_append after the rotation returned %d (%s), %d (%s), expected "
                 "-EACCES twice; message: %s",
                 what, s->r_log[0], ajio_err_name(s->r_log[0]), s->r_log[1],
                 ajio_err_name(s->r_log[1]), s->msg_log);
        else if (strstr(s->msg_log, "app.log") == NULL)
            note("%s: the refusal does not name the file: %s", what, s->msg_log);
        tu_assert_content(old, "alice 1\n", 8);
        /* No descriptor left behind by the refused reopen, nor by the handle. */
        if (s->fds_after > s->fds_before || s->fds_closed != s->fds_base)
            note("%s: descriptors: %d before the open, %d before the refused appends, %d after "
                 "them, %d after the close",
                 what, s->fds_base, s->fds_before, s->fds_after, s->fds_closed);
        /* The one-shot append applies the rule too (it did before the log handle did). */
        if (s->r_once != -EACCES || strstr(s->msg_once, "protected_regular") == NULL)
            note("%s: one-shot ajio_append returned %d (%s): %s", what, s->r_once,
                 ajio_err_name(s->r_once), s->msg_once);

        /* Negative control: a naive reopen by name lands in bob's file, and that is seen. */
        off_t before = file_size(p);
        assert_int_equal(reap(spawn_as(ALICE, s->extra, alice_naive_write, p)), 0);
        assert_int_equal(file_size(p), before + 6);
        munmap(s, sizeof(*s));
    }
    verdict();
}

static void test_rotation_onto_fifo(void **state)
{
    tu_require_root();
    notes[0] = '\0';
    for (size_t k = 0; k < sizeof(sticky_kinds) / sizeof(sticky_kinds[0]); k++) {
        const char *what = sticky_kinds[k].what;
        struct rot *s = rotation_setup(*state, k, true);
        char p[4096], old[4096];
        struct stat st;

        /* Negative control inside: after the appends, a naive write reaches bob's reader. */
        run_rotation(s);
        snprintf(p, sizeof(p), "%s/app.log", s->dir);
        snprintf(old, sizeof(old), "%s/app.log.1", s->dir);

        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISFIFO(st.st_mode));
        if (s->fifo_read != 0)
            note("%s: %ld bytes of alice's log reached bob's FIFO reader (returns %d (%s), %d "
                 "(%s))",
                 what, s->fifo_read, s->r_log[0], ajio_err_name(s->r_log[0]), s->r_log[1],
                 ajio_err_name(s->r_log[1]));
        if (s->r_log[0] >= 0 || s->r_log[1] >= 0)
            note("%s: ajio_log_append onto the FIFO returned %d (%s), %d (%s); both must fail. "
                 "First message: %s",
                 what, s->r_log[0], ajio_err_name(s->r_log[0]), s->r_log[1],
                 ajio_err_name(s->r_log[1]), s->msg_log);
        if (s->r_once >= 0)
            note("%s: one-shot ajio_append onto the FIFO returned %d", what, s->r_once);
        tu_assert_content(old, "alice 1\n", 8);
        /* The failed reopen closed what it opened; closing the handle leaves nothing open. */
        if (s->fds_after > s->fds_before || s->fds_closed != s->fds_base)
            note("%s: descriptors: %d before the open, %d before the failed appends, %d after "
                 "them (leaked if more), %d after the close",
                 what, s->fds_base, s->fds_before, s->fds_after, s->fds_closed);
        assert_int_equal(s->fifo_read_control, 6);
        munmap(s, sizeof(*s));
    }
    verdict();
}

/* ---- 7: one-shot append race in a sticky directory ---------------------------------------- */

#define RACE_MAX 100000
#define RACE_RING 64

enum appender { AJIO_APPENDER, NAIVE_APPENDER };

struct race {
    const char *dir;
    enum appender kind;
    int iterations;
    int rotate_every;
    double seconds; /* alice stops after this long, whatever iterations says */
    volatile int stop;
    int alice_done, alice_ok, alice_eacces, alice_other, last_other;
    char other_msg[256];
    int bob_made;
    volatile int bob_hits; /* bob's files found with bytes in them (the control may stop then) */
    int stop_at_hits;
    unsigned char ok[RACE_MAX];
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The naive appender: a stat-based owner check, then open by name with O_CREAT, then write. */
static int naive_append(int dfd, uid_t dir_owner, const char *rec, size_t len)
{
    struct stat st;
    int fd;

    if (fstatat(dfd, "app.log", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid != getuid() &&
        st.st_uid != dir_owner)
        return -EACCES;
    /* The window between the check and the open, widened so that the control never misses it. */
    struct timespec gap = {0, 50 * 1000};
    nanosleep(&gap, NULL);
    fd = openat(dfd, "app.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return -errno;
    if (write(fd, rec, len) != (ssize_t)len) {
        close(fd);
        return -EIO;
    }
    close(fd);
    return 0;
}

static void alice_races(void *arg)
{
    struct race *s = arg;
    char p[4096], rec[64], away[64];
    int dfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct stat dst, st;
    double end = now_s() + s->seconds;
    int i, kept = 0;

    if (dfd < 0 || fstat(dfd, &dst) < 0)
        _exit(40);
    snprintf(p, sizeof(p), "%s/app.log", s->dir);
    for (i = 0; i < s->iterations && now_s() < end; i++) {
        if (s->stop_at_hits > 0 && s->bob_hits >= s->stop_at_hits)
            break;
        /* Her file moved away every few rounds (kept, to be checked), so the name is often free. */
        if (i % s->rotate_every == 0 && fstatat(dfd, "app.log", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            st.st_uid == ALICE) {
            snprintf(away, sizeof(away), "alice.%d", kept++);
            (void)renameat(dfd, "app.log", dfd, away);
        }
        /* Wait for bob to free the name: the append then races his next create. */
        while (fstatat(dfd, "app.log", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid != ALICE &&
               now_s() < end)
            ;
        int n = snprintf(rec, sizeof(rec), "alice %d\n", i);
        int r = s->kind == AJIO_APPENDER ? ajio_append(p, rec, (size_t)n, NULL)
                                         : naive_append(dfd, dst.st_uid, rec, (size_t)n);
        if (r >= 0) {
            s->ok[i] = 1;
            s->alice_ok++;
        } else if (r == -EACCES) {
            s->alice_eacces++;
        } else {
            s->alice_other++;
            s->last_other = r;
            snprintf(s->other_msg, sizeof(s->other_msg), "%s", ajio_last_error());
        }
    }
    s->alice_done = i;
    s->stop = 1;
}

/* Microseconds bob holds the name, and leaves it free, at most (each round draws at random). */
static const int bob_hold = 20, bob_pause = 5;

/* Busy for us microseconds: sleeping would leave the name in one state for far too long. */
static void spin_us(unsigned us)
{
    double end = now_s() + us / 1e6;

    while (now_s() < end)
        ;
}

static void bob_races(void *arg)
{
    struct race *s = arg;
    unsigned seed = (unsigned)getpid();
    int dfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int ring[RACE_RING];
    char name[64];
    int n = 0;

    if (dfd < 0)
        _exit(50);
    for (int i = 0; i < RACE_RING; i++)
        ring[i] = -1;
    while (!s->stop) {
        int fd = openat(dfd, "app.log", O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);

        if (fd < 0) {
            if (errno != EEXIST)
                _exit(51);
            continue; /* alice's file: try again at once */
        }
        if (fchmod(fd, 0666) < 0)
            _exit(52);
        spin_us(rand_r(&seed) % (unsigned)bob_hold); /* the name held for a moment */
        snprintf(name, sizeof(name), "bob.%d", n);
        if (renameat(dfd, "app.log", dfd, name) < 0)
            _exit(53);
        /* A file renamed away RACE_RING rounds ago: removed if nobody wrote into it. */
        int slot = n % RACE_RING;
        if (ring[slot] >= 0) {
            struct stat st;

            if (fstat(ring[slot], &st) == 0 && st.st_size == 0) {
                snprintf(name, sizeof(name), "bob.%d", n - RACE_RING);
                (void)unlinkat(dfd, name, 0);
            } else {
                s->bob_hits++;
            }
            close(ring[slot]);
        }
        ring[slot] = fd;
        n++;
        spin_us(rand_r(&seed) % (unsigned)bob_pause); /* the name left free for a moment */
    }
    s->bob_made = n;
}

struct landed {
    int in_bob;      /* alice's successful records in bob's files */
    int in_bob_any;  /* any alice record in bob's files */
    int bob_files;   /* bob's files with bytes */
    int in_alice;    /* successful records found in alice's files */
    int foreign;     /* lines in alice's files that are not hers */
};

static void count_landed(struct race *s, struct landed *l)
{
    DIR *dir = opendir(s->dir);
    struct dirent *de;

    memset(l, 0, sizeof(*l));
    assert_non_null(dir);
    while ((de = readdir(dir)) != NULL) {
        const char *p = tu_path(s->dir, de->d_name);
        struct stat st;

        if (de->d_name[0] == '.') /* ".", "..", the lock file */
            continue;
        assert_int_equal(lstat(p, &st), 0);
        if (!S_ISREG(st.st_mode))
            continue;
        bool bob = st.st_uid == BOB, alice = st.st_uid == ALICE;
        assert_true(bob || alice);
        char *buf = tu_read(p, NULL);
        assert_non_null(buf);
        if (bob && buf[0] != '\0')
            l->bob_files++;
        for (char *line = buf, *nl; *line != '\0'; line = nl + 1) {
            int i;

            nl = strchr(line, '\n');
            if (nl == NULL)
                nl = line + strlen(line) - 1;
            if (sscanf(line, "alice %d", &i) == 1 && i >= 0 && i < RACE_MAX) {
                if (bob) {
                    l->in_bob_any++;
                    l->in_bob += s->ok[i];
                } else {
                    l->in_alice += s->ok[i];
                }
            } else if (alice) {
                l->foreign++;
            }
        }
        free(buf);
    }
    closedir(dir);
}

static void race(const char *scratch, struct race *s, struct landed *l)
{
    assert_int_equal(mkdir(scratch, 0755), 0);
    s->dir = sticky_dir(scratch, 0, 0, 01777);
    require_reachable(s->dir, 0);
    pid_t bob = spawn_as(BOB, 0, bob_races, s);
    pid_t alice = spawn_as(ALICE, 0, alice_races, s);
    int ra = reap(alice);
    s->stop = 1;
    int rb = reap(bob);
    if (ra != 0 || rb != 0)
        fail_msg("alice exited %d, bob %d", ra, rb);
    count_landed(s, l);
    print_message("%s: %d appends (%d ok, %d EACCES, %d other), bob made %d files, %d of them "
                  "with bytes; alice's successful records in bob's files: %d (any: %d)\n",
                  s->kind == AJIO_APPENDER ? "ajio_append" : "naive appender", s->alice_done,
                  s->alice_ok, s->alice_eacces, s->alice_other, s->bob_made, l->bob_files,
                  l->in_bob, l->in_bob_any);
}

/* One round of the race in a fresh scratch directory ROOT/TAG<round>; s (if any) is replaced. */
static struct race *race_round(struct race *s, enum appender kind, int iterations, int stop_at_hits,
                               const char *root, const char *tag, int round, struct landed *l)
{
    char scratch[4096];

    if (s != NULL)
        munmap(s, sizeof(*s));
    s = shared_alloc(sizeof(*s));
    s->kind = kind;
    s->iterations = iterations;
    s->stop_at_hits = stop_at_hits;
    s->rotate_every = 2;
    s->seconds = 6;
    snprintf(scratch, sizeof(scratch), "%s/%s%d", root, tag, round);
    race(scratch, s, l);
    return s;
}

static void test_append_race_sticky(void **state)
{
    struct landed l;

    tu_require_root();
    /*
     * Negative control: a naive appender in the same race does land records in bob's files. The
     * race is a matter of timing: a machine may need more than one round to show it.
     */
    struct race *s = NULL;
    for (int round = 0; round < 3 && (round == 0 || l.in_bob == 0); round++)
        s = race_round(s, NAIVE_APPENDER, RACE_MAX, 3, *state, "naive", round, &l);
    if (l.in_bob == 0)
        fail_msg("control: the naive appender never landed in bob's files in %d rounds: the race "
                 "is too narrow to show anything",
                 s->alice_done);
    /*
     * The append under test. Every round is judged; rounds go on (at most 3) until the race has
     * run: many successful appends (fewer under the sanitizers, and xfs refuses most while bob's
     * file is there) and many of bob's files.
     */
    int ok_total = 0, made_total = 0;
    for (int round = 0; round < 3 && (ok_total < 20 || made_total < 100); round++) {
        s = race_round(s, AJIO_APPENDER, 2000, 0, *state, "ajio", round, &l);
        notes[0] = '\0';
        if (l.in_bob != 0)
            note("%d of alice's %d successful ajio_append records landed in bob's files (%d "
                 "files)",
                 l.in_bob, s->alice_ok, l.bob_files);
        if (s->alice_other != 0)
            note("%d appends failed otherwise than -EACCES, the last %d (%s): %s",
                 s->alice_other, s->last_other, ajio_err_name(s->last_other), s->other_msg);
        /* Every successful record is in one of alice's own files, and nothing else is. */
        if (l.in_alice + l.in_bob != s->alice_ok || l.foreign != 0)
            note("of %d successful records %d are in alice's files, %d in bob's; %d lines in "
                 "alice's files are not hers",
                 s->alice_ok, l.in_alice, l.in_bob, l.foreign);
        verdict();
        ok_total += s->alice_ok;
        made_total += s->bob_made;
    }
    print_message("race: %d successful appends, %d files of bob's\n", ok_total, made_total);
    assert_true(ok_total >= 20);
    assert_true(made_total >= 100);
    munmap(s, sizeof(*s));
}

/* ---- 8: fork() with a log handle ----------------------------------------------------------- */

#define BIG (8u << 20)
#define WRITERS 5 /* children 0..3, and the parent as writer 4 */
#define RECS 12

/* 0: not tried, 1: the append returned success, 2: it failed. */
struct fork_box {
    unsigned char ok[WRITERS][RECS];
    int ret[WRITERS][RECS];
};

static char record_letter(int w, int r)
{
    return "abcdefghijklmnopqrstuvwxyz"[(w * RECS + r) % 26];
}

/* One line of BIG bytes: a JSON string "wW rRR xxxx...x" and '\n'. */
static void make_record(char *buf, int w, int r)
{
    int n = snprintf(buf, 16, "\"w%d r%02d ", w, r);

    memset(buf + n, record_letter(w, r), BIG - (size_t)n - 2);
    buf[BIG - 2] = '"';
    buf[BIG - 1] = '\n';
}

struct census {
    int lines, broken, unknown, dup, missing, failed_present;
    int seen[WRITERS][RECS];
};

/* Reads the log back: every line must be one whole record, once, of an append that succeeded. */
static void take_census(const char *path, const struct fork_box *box, struct census *c)
{
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    memset(c, 0, sizeof(*c));
    assert_non_null(f);
    while ((n = getline(&line, &cap, f)) > 0) {
        int w, r, k = 0;
        char want[16];

        c->lines++;
        if (n != BIG || line[n - 1] != '\n' || sscanf(line, "\"w%d r%d %n", &w, &r, &k) != 2 ||
            w < 0 || w >= WRITERS || r < 0 || r >= RECS) {
            c->broken++;
            continue;
        }
        snprintf(want, sizeof(want), "\"w%d r%02d ", w, r);
        bool whole = k == (int)strlen(want) && memcmp(line, want, (size_t)k) == 0 &&
                     line[BIG - 2] == '"';
        for (size_t i = (size_t)k; whole && i < BIG - 2; i++)
            whole = line[i] == record_letter(w, r);
        if (!whole) {
            c->broken++;
            continue;
        }
        if (box->ok[w][r] == 0)
            c->unknown++; /* nobody wrote it */
        else if (box->ok[w][r] == 2)
            c->failed_present++;
        if (++c->seen[w][r] == 2)
            c->dup++;
    }
    free(line);
    fclose(f);
    for (int w = 0; w < WRITERS; w++)
        for (int r = 0; r < RECS; r++)
            if (box->ok[w][r] == 1 && c->seen[w][r] == 0)
                c->missing++;
}

static void census_note(const char *what, const struct census *c, const struct fork_box *box)
{
    int ok = 0, failed = 0;

    for (int w = 0; w < WRITERS; w++)
        for (int r = 0; r < RECS; r++) {
            ok += box->ok[w][r] == 1;
            failed += box->ok[w][r] == 2;
        }
    if (c->broken || c->unknown || c->dup || c->missing || c->failed_present)
        note("%s: %d appends succeeded, %d failed; the file has %d lines: %d broken, %d that "
             "nobody wrote, %d duplicated, %d of a failed append; %d successful records missing",
             what, ok, failed, c->lines, c->broken, c->unknown, c->dup, c->failed_present,
             c->missing);
}

static void append_all(ajio_log *log, struct fork_box *box, int w)
{
    char *buf = malloc(BIG);

    if (buf == NULL)
        _exit(60);
    for (int r = 0; r < RECS; r++) {
        make_record(buf, w, r);
        box->ret[w][r] = ajio_log_append(log, buf, BIG);
        box->ok[w][r] = box->ret[w][r] >= 0 ? 1 : 2;
    }
    free(buf);
}

/* children writers 0..children-1 through the inherited handle; the parent too when it says. */
static void fork_appenders(const char *path, int children, bool parent_too, struct fork_box *box)
{
    pid_t pids[WRITERS];
    ajio_log *log;

    tu_assert_ok(ajio_log_open(&log, path, &(ajio_opts){.flags = AJIO_NO_SYNC}));
    for (int w = 0; w < children; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            append_all(log, box, w);
            (void)ajio_log_close(log);
            _exit(0);
        }
    }
    if (parent_too)
        append_all(log, box, WRITERS - 1);
    for (int w = 0; w < children; w++)
        assert_int_equal(reap(pids[w]), 0);
    tu_assert_ok(ajio_log_close(log));
}

static void test_fork_log_handle(void **state)
{
    struct fork_box *box = shared_alloc(sizeof(*box));
    const char *p = tu_path(*state, "children.log");
    const char *q = tu_path(*state, "parent.log");
    struct census c;

    notes[0] = '\0';
    /* Four children, 12 records of 8 MiB each. */
    fork_appenders(p, 4, false, box);
    take_census(p, box, &c);
    census_note("4 children", &c, box);
    assert_int_equal(unlink(p), 0);

    /* Three children and the parent, at once. */
    memset(box, 0, sizeof(*box));
    fork_appenders(q, 3, true, box);
    take_census(q, box, &c);
    census_note("3 children and the parent", &c, box);
    assert_int_equal(unlink(q), 0);

    /* Negative control: the census sees a record cut short, one missing, one twice. */
    char *buf = malloc(BIG);
    const char *x = tu_path(*state, "control.log");
    int fd = open(x, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    assert_non_null(buf);
    assert_true(fd >= 0);
    memset(box, 0, sizeof(*box));
    for (int r = 0; r < 4; r++)
        box->ok[0][r] = 1;
    make_record(buf, 0, 0);
    assert_int_equal(write(fd, buf, BIG), (ssize_t)BIG);
    make_record(buf, 0, 1); /* the record cut short: its line ends early */
    assert_int_equal(write(fd, buf, BIG / 2), (ssize_t)(BIG / 2));
    assert_int_equal(write(fd, "\n", 1), 1);
    make_record(buf, 0, 2);
    assert_int_equal(write(fd, buf, BIG), (ssize_t)BIG);
    assert_int_equal(write(fd, buf, BIG), (ssize_t)BIG);
    /* record 3 never written */
    assert_int_equal(close(fd), 0);
    take_census(x, box, &c);
    assert_int_equal(c.lines, 4);
    assert_int_equal(c.broken, 1);
    assert_int_equal(c.dup, 1);
    assert_int_equal(c.missing, 2);
    /* ... and a line nobody wrote. */
    box->ok[0][2] = 0;
    take_census(x, box, &c);
    assert_int_equal(c.unknown, 2);
    free(buf);
    munmap(box, sizeof(*box));
    verdict();
}

/* ---- 10: foreign bytes are never deleted -------------------------------------------------- */

static bool has_content(const char *path, const char *want)
{
    size_t len;
    char *got = tu_read(path, &len);
    bool same = got != NULL && len == strlen(want) && memcmp(got, want, len) == 0;

    free(got);
    return same;
}

/* Writes text at the end of path as another program would: no lock, no ajio. */
static void foreign_append(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
}

/* One case: path holds before (foreign bytes after ajio's own, if ajio_first); the append. */
static void foreign_case(const char *path, const char *ajio_first, const char *foreign,
                         unsigned flags, const char *rec, int want_ret, const char *want)
{
    const ajio_opts o = {.flags = flags};
    char before[256];
    int r;

    (void)unlink(path);
    if (ajio_first != NULL)
        tu_assert_ok(ajio_append(path, ajio_first, strlen(ajio_first), &o));
    foreign_append(path, foreign);
    snprintf(before, sizeof(before), "%s%s", ajio_first != NULL ? ajio_first : "", foreign);
    r = ajio_append(path, rec, strlen(rec), &o);
    if (r != want_ret || !has_content(path, want)) {
        note("%s: \"%s\" then ajio_append(\"%s\"): returned %d (%s), file \"%s\"; expected %d "
             "(%s), \"%s\"",
             flags & AJIO_JSONL ? "JSONL" : "text", esc(before), esc(rec), r, ajio_err_name(r), shown(path),
             want_ret, ajio_err_name(want_ret), esc(want));
    }
}

static void test_foreign_tail_kept(void **state)
{
    const char *p = tu_path(*state, "f");
    size_t cut = 12345;
    int r;

    notes[0] = '\0';
    /* Text: a foreign last line without '\n' is terminated, never cut. */
    foreign_case(p, NULL, "a\nhalf", 0, "rec\n", AJIO_REPAIRED, "a\nhalf\nrec\n");
    foreign_case(p, NULL, "abc", 0, "rec\n", AJIO_REPAIRED, "abc\nrec\n");
    foreign_case(p, "x\n", "half", 0, "rec\n", AJIO_REPAIRED, "x\nhalf\nrec\n");
    /* JSONL: a complete object, array or string is terminated. */
    foreign_case(p, NULL, "{\"a\":1}", AJIO_JSONL, "{\"r\":1}\n", AJIO_REPAIRED,
                 "{\"a\":1}\n{\"r\":1}\n");
    foreign_case(p, NULL, "[1,2]", AJIO_JSONL, "[3]\n", AJIO_REPAIRED, "[1,2]\n[3]\n");
    foreign_case(p, "[0]\n", "\"s\"", AJIO_JSONL, "[3]\n", AJIO_REPAIRED, "[0]\n\"s\"\n[3]\n");
    /* JSONL: anything that may be a piece of a longer value is refused, the file unchanged. */
    static const char *const torn[] = {"12", "tru", "{\"a\":", "[1,", "\"unterminated", "-"};
    for (size_t i = 0; i < sizeof(torn) / sizeof(torn[0]); i++) {
        char want[64];

        snprintf(want, sizeof(want), "{\"a\":1}\n%s", torn[i]);
        foreign_case(p, NULL, want, AJIO_JSONL, "[9]\n", AJIO_ETORN, want);
        snprintf(want, sizeof(want), "[0]\n%s", torn[i]);
        foreign_case(p, "[0]\n", torn[i], AJIO_JSONL, "[9]\n", AJIO_ETORN, want);
    }
    /* An explicit JSONL repair of such a tail cuts it and says how much. */
    tu_put(p, "{\"a\":1}\n{\"a\":", 0644);
    r = ajio_repair(p, &(ajio_opts){.flags = AJIO_JSONL}, &cut);
    if (r != AJIO_REPAIRED || cut != 5 || !has_content(p, "{\"a\":1}\n"))
        note("JSONL ajio_repair of \"{\\\"a\\\":1}\\n{\\\"a\\\":\": returned %d, cut %zu", r, cut);
    tu_put(p, "{\"a\":1}\n12", 0644);
    cut = 12345;
    r = ajio_repair(p, &(ajio_opts){.flags = AJIO_JSONL}, &cut);
    if (r != AJIO_REPAIRED || cut != 2 || !has_content(p, "{\"a\":1}\n")) {
        note("JSONL ajio_repair of \"{\\\"a\\\":1}\\n12\": returned %d, cut %zu, file \"%s\"", r,
             cut, shown(p));
    }
    /* Negative control: the comparison sees a foreign line that was cut. */
    tu_put(p, "a\nrec\n", 0644);
    assert_false(has_content(p, "a\nhalf\nrec\n"));
    assert_true(has_content(p, "a\nrec\n"));
    verdict();
}

/* Complete foreign lines after ajio's records ('>>') are kept; the next append goes after. */
static void test_foreign_lines_kept(void **state)
{
    const char *p = tu_path(*state, "f");
    ajio_log *log;

    notes[0] = '\0';
    foreign_case(p, "a\n", "foreign 1\nforeign 2\n", 0, "b\n", 0, "a\nforeign 1\nforeign 2\nb\n");
    foreign_case(p, "[1]\n", "[\"f\"]\n", AJIO_JSONL, "[2]\n", 0, "[1]\n[\"f\"]\n[2]\n");
    /* Through a log handle too. */
    (void)unlink(p);
    tu_assert_ok(ajio_log_open(&log, p, NULL));
    tu_assert_ok(ajio_log_append(log, "a\n", 2));
    foreign_append(p, "foreign\n");
    tu_assert_ok(ajio_log_append(log, "b\n", 2));
    tu_assert_ok(ajio_log_close(log));
    if (!has_content(p, "a\nforeign\nb\n"))
        note("log handle: foreign line after its record not kept");
    /* Negative control: a file missing the foreign line is told apart. */
    tu_put(p, "a\nb\n", 0644);
    assert_false(has_content(p, "a\nforeign\nb\n"));
    verdict();
}

/* ---- 11: the bytes of a killed ajio append are never kept --------------------------------- */

/* In a child: ajio_append(data) that dies after `allowed` bytes reached the file. */
static void killed_append(const char *path, const char *data, size_t len, size_t allowed,
                          unsigned flags)
{
    struct stat st;
    pid_t pid;

    assert_int_equal(stat(path, &st), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        shim_dev = st.st_dev;
        shim_ino = st.st_ino;
        shim_left = allowed;
        shim_armed = 1;
        (void)ajio_append(path, data, len, &(ajio_opts){.flags = flags});
        _exit(70); /* not killed: the shim did not see the write */
    }
    assert_int_equal(reap(pid), 128 + SIGKILL);
}

static void test_killed_append_cut(void **state)
{
    const char *p = tu_path(*state, "k.jsonl");
    static const unsigned modes[] = {0, AJIO_JSONL};

    notes[0] = '\0';
    for (size_t m = 0; m < 2; m++) {
        const char *mode = modes[m] ? "JSONL" : "text";

        for (int how = 0; how < 2; how++) { /* 0: ajio_repair, 1: the next append */
            const ajio_opts o = {.flags = modes[m]};
            size_t cut = 12345;
            int r;

            (void)unlink(p);
            tu_assert_ok(ajio_append(p, "{\"a\":1}\n", 8, &o));
            killed_append(p, "12345\n", 6, 3, modes[m]);
            /* Control: the kill left exactly the torn "123". */
            tu_assert_content(p, "{\"a\":1}\n123", 11);
            if (how == 0) {
                r = ajio_repair(p, &(ajio_opts){.flags = modes[m]}, &cut);
                if (r != AJIO_REPAIRED || cut != 3 || !has_content(p, "{\"a\":1}\n")) {
                    note("%s: ajio_repair after a killed append left \"123\": returned %d (%s), "
                         "cut %zu, file \"%s\"",
                         mode, r, ajio_err_name(r), cut, shown(p));
                        }
                /* Read back: only {"a":1}. */
                ajio_reader *rd;
                const char *line;
                size_t len;
                int lines = 0;
                bool only_a = true;

                tu_assert_ok(ajio_reader_open(&rd, p, NULL));
                while ((r = ajio_reader_next(rd, &line, &len)) == 1) {
                    lines++;
                    only_a = only_a && strcmp(line, "{\"a\":1}") == 0;
                }
                ajio_reader_close(rd);
                if (lines != 1 || !only_a)
                    note("%s: reading back after the repair gave %d lines, not only {\"a\":1}",
                         mode, lines);
            } else {
                r = ajio_append(p, "[2]\n", 4, &o);
                if (r != AJIO_REPAIRED || !has_content(p, "{\"a\":1}\n[2]\n")) {
                    note("%s: append after a killed append left \"123\": returned %d (%s), file "
                         "\"%s\"",
                         mode, r, ajio_err_name(r), shown(p));
                        }
            }
        }

        /*
         * Complete lines of the killed append are cut as well: it never succeeded. On a shared
         * filesystem no record is exact (a server may bring back an old one), so only what
         * follows the last newline goes: that, no durable append ever acknowledged.
         */
        const ajio_opts o = {.flags = modes[m]};
        const char *want = tu_shared_fs(*state) ? "[0]\n[1]\n[2]\n[4]\n" : "[0]\n[4]\n";
        (void)unlink(p);
        tu_assert_ok(ajio_append(p, "[0]\n", 4, &o));
        killed_append(p, "[1]\n[2]\n[3]\n", 12, 9, modes[m]);
        tu_assert_content(p, "[0]\n[1]\n[2]\n[", 13); /* control */
        int r = ajio_append(p, "[4]\n", 4, &o);
        if (r != AJIO_REPAIRED || !has_content(p, want)) {
            note("%s: killed append of [1] [2] [3] stopped in [3], then an append: returned %d "
                 "(%s), file \"%s\" (its complete lines kept)",
                 mode, r, ajio_err_name(r), shown(p));
        }

        /* Foreign complete lines before the killed append stay; only its bytes go. */
        (void)unlink(p);
        tu_assert_ok(ajio_append(p, "[0]\n", 4, &o));
        foreign_append(p, "[\"f\"]\n");
        killed_append(p, "[1]\n[2]\n", 8, 6, modes[m]);
        tu_assert_content(p, "[0]\n[\"f\"]\n[1]\n[2", 16); /* control */
        size_t cut = 12345;
        bool shared = tu_shared_fs(*state);
        r = ajio_repair(p, &(ajio_opts){.flags = modes[m]}, &cut);
        if (r != AJIO_REPAIRED || cut != (shared ? 2 : 6) ||
            !has_content(p, shared ? "[0]\n[\"f\"]\n[1]\n" : "[0]\n[\"f\"]\n")) {
            note("%s: foreign line, then a killed append: repair returned %d (%s), cut %zu, "
                 "file \"%s\"",
                 mode, r, ajio_err_name(r), cut, shown(p));
        }
    }
    verdict();
}

/* The same with a real kill: a 256 MiB record "1234567890..." killed while it is written. */
#define HUGE_REC (256u << 20)

static void test_killed_big_append_cut(void **state)
{
    const char *p = tu_path(*state, "big.log");
    static const unsigned modes[] = {0, AJIO_JSONL};
    char *buf = malloc(HUGE_REC);

    assert_non_null(buf);
    for (size_t i = 0; i < HUGE_REC - 1; i++)
        buf[i] = (char)('1' + i % 9);
    buf[HUGE_REC - 1] = '\n';
    notes[0] = '\0';
    for (size_t m = 0; m < 2; m++) {
        for (int how = 0; how < 2; how++) {
            const ajio_opts o = {.flags = modes[m] | AJIO_NO_SYNC};
            const char *mode = modes[m] ? "JSONL" : "text";
            struct stat st;
            off_t size = 0;
            int tries, r;

            for (tries = 0; tries < 5; tries++) {
                int go[2];

                (void)unlink(p);
                tu_assert_ok(ajio_append(p, "{\"a\":1}\n", 8, &o));
                assert_int_equal(pipe2(go, O_CLOEXEC), 0);
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                    close(go[0]);
                    post(go[1]);
                    (void)ajio_append(p, buf, HUGE_REC, &o);
                    _exit(0);
                }
                close(go[1]);
                assert_true(await_step(go[0]));
                close(go[0]);
                /* Kill it once the record has started to land. */
                double end = now_s() + 10;
                while (stat(p, &st) == 0 && st.st_size <= 8 && now_s() < end)
                    ;
                kill(pid, SIGKILL);
                (void)reap(pid);
                size = file_size(p);
                if (size > 8 && size < 8 + (off_t)HUGE_REC)
                    break;
            }
            /*
             * Control: the kill left a partial record. Some filesystems (btrfs) publish the size
             * of a large write in steps too coarse to be caught between; the precise kill of
             * test_killed_append_cut covers the rule there, and this case says so.
             */
            if (tries == 5) {
                print_message("note: could not kill a 256 MiB append mid-write in 5 tries (size "
                              "%lld): not shown on this filesystem\n",
                              (long long)size);
                continue;
            }
            size_t cut = 0;
            r = how == 0 ? ajio_repair(p, &(ajio_opts){.flags = modes[m]}, &cut)
                         : ajio_append(p, "[2]\n", 4, &o);
            const char *want = how == 0 ? "{\"a\":1}\n" : "{\"a\":1}\n[2]\n";
            if (r != AJIO_REPAIRED || !has_content(p, want) ||
                (how == 0 && cut != (size_t)(size - 8)))
                note("%s: %lld bytes of a 256 MiB record left by a kill, then %s: returned %d "
                     "(%s), cut %zu, file now %lld bytes (expected \"%s\")",
                     mode, (long long)(size - 8), how == 0 ? "ajio_repair" : "ajio_append", r,
                     ajio_err_name(r), cut, (long long)file_size(p), esc(want));
        }
    }
    free(buf);
    (void)unlink(p);
    verdict();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_SHARED_TEST(test_rotation_into_planted_file),
        TU_SHARED_TEST(test_rotation_onto_fifo),
        TU_SHARED_TEST(test_append_race_sticky),
        TU_TEST(test_fork_log_handle),
        TU_TEST(test_foreign_tail_kept),
        TU_TEST(test_foreign_lines_kept),
        TU_TEST(test_killed_append_cut),
        TU_TEST(test_killed_big_append_cut),
    };

    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    /* Not root: the sticky-directory tests were skipped; say so with the skip status. */
    if (failed == 0 && geteuid() != 0 && !(getenv("CI") && strcmp(getenv("CI"), "true") == 0)) {
        fprintf(stderr, "skip: the sticky-directory tests (5-7) need root to act as other users\n");
        return 77;
    }
    return failed;
}

/*
 * test_trust_lock.c - attacks on the target's lock file ".NAME.ajio-lock" by other users, and
 * the bounds of every wait for it. The lock file is trusted only when no one who may not write
 * the target can open it; its shared group-commit state is read with pread, never mapped, and
 * never lets a durable append skip its sync; no wait for a lock lasts beyond what the caller
 * asked for. Each attack runs in a watched child (tt_run): a child that dies of a signal or
 * hangs fails the test instead of the suite.
 *
 * Root only: the attacks need other users (uids 64001..64003, no /etc entry needed). Without
 * root the program says so and exits 77.
 */
#include "testutil.h"
#include "trustutil.h"

#include <poll.h>
#include <sys/file.h>
#include <sys/time.h>

TT_DEFINE_SYNC_COUNTER()

#define REC1 "{\"a\":1}\n"
#define REC2 "{\"b\":2}\n"
#define LOCK_NAME ".ev.jsonl.ajio-lock"

/* The arguments of a child: the paths it works on and what it should do. */
struct job {
    const char *log;
    const char *lock;
    ajio_opts opts;
    int ready_fd; /* holders: a byte is written here once the lock is held */
    int hold_ms;  /* holders: how long */
    const unsigned char *forgery;
    size_t forgery_len;
};

/* ---- children ------------------------------------------------------------------------------- */

/* A durable (or opts) append of REC2; the result in the shared page. Exit 0 whatever r is. */
static int child_append(void *arg)
{
    struct job *j = arg;
    long start = tt_now_ms();
    int r = ajio_append(j->log, REC2, strlen(REC2), &j->opts);

    tt_record(r, start);
    return 0;
}

/* Holds the target's lock (tu_lock_target()) on the lock file, opened O_RDWR, for j->hold_ms. */
static int child_hold_flock(void *arg)
{
    struct job *j = arg;
    int fd = open(j->lock, O_RDWR | O_CLOEXEC);

    if (fd < 0 || tu_lock_target(fd, j->lock) < 0)
        return 10;
    if (write(j->ready_fd, "h", 1) != 1)
        return 11;
    usleep((useconds_t)j->hold_ms * 1000);
    return 0;
}

/* Holds an OFD write lock on byte 0 of the lock file (the group-commit sync lock). */
static int child_hold_ofd(void *arg)
{
    struct job *j = arg;
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    int fd = open(j->lock, O_RDWR | O_CLOEXEC);

    if (fd < 0 || fcntl(fd, F_OFD_SETLK, &l) < 0)
        return 10;
    if (write(j->ready_fd, "h", 1) != 1)
        return 11;
    usleep((useconds_t)j->hold_ms * 1000);
    return 0;
}

/*
 * The reader's denial of service: open the lock file read-only (all a reader of the target
 * needs for flock) and hold its lock. Records the errno of the open in r (0: it opened); writes
 * "n" on the ready pipe when it could not open, "h" when it holds the lock.
 */
static int child_reader_blocks(void *arg)
{
    struct job *j = arg;
    int fd = open(j->lock, O_RDONLY | O_CLOEXEC);

    tt_sh->r = fd < 0 ? errno : 0;
    if (fd < 0)
        return write(j->ready_fd, "n", 1) == 1 ? 0 : 11;
    if (flock(fd, LOCK_EX) < 0)
        return 12;
    if (write(j->ready_fd, "h", 1) != 1)
        return 11;
    usleep((useconds_t)j->hold_ms * 1000);
    return 0;
}

/* Writes j->forgery over the start of the lock file (an existing one, opened O_RDWR). */
static int child_forge_existing(void *arg)
{
    struct job *j = arg;
    int fd = open(j->lock, O_RDWR | O_CLOEXEC);

    tt_sh->r = fd < 0 ? errno : 0;
    if (fd < 0)
        return 0; /* the attack is impossible: the caller looks at r */
    if (pwrite(fd, j->forgery, j->forgery_len, 0) != (ssize_t)j->forgery_len)
        return 13;
    return close(fd) == 0 ? 0 : 14;
}

/* Plants the lock file before anyone else: created by the attacker 0660, filled with forgery. */
static int child_forge_plant(void *arg)
{
    struct job *j = arg;
    int fd = open(j->lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0660);

    if (fd < 0)
        return 15;
    if (fchmod(fd, 0660) < 0)
        return 16;
    if (pwrite(fd, j->forgery, j->forgery_len, 0) != (ssize_t)j->forgery_len)
        return 13;
    return close(fd) == 0 ? 0 : 14;
}

/* A log handle whose lock file is truncated to 0 between two appends. */
static int child_log_truncated(void *arg)
{
    struct job *j = arg;
    ajio_log *log;
    long start = tt_now_ms();
    int r = ajio_log_open(&log, j->log, &j->opts);

    if (r < 0) {
        tt_record(r, start);
        return 20;
    }
    r = ajio_log_append(log, REC1, strlen(REC1));
    if (r < 0) {
        tt_record(r, start);
        return 21;
    }
    if (truncate(j->lock, 0) < 0)
        return 22;
    r = ajio_log_append(log, REC2, strlen(REC2));
    tt_record(r, start);
    (void)ajio_log_close(log);
    return 0;
}

/* Negative control of the detector: a child that really dies of SIGBUS on a truncated map. */
static int child_sigbus(void *arg)
{
    struct job *j = arg;
    int fd = open(j->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    volatile char *p;

    if (fd < 0 || ftruncate(fd, 4096) < 0)
        return 30;
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return 31;
    p[0] = 1;
    if (ftruncate(fd, 0) < 0)
        return 32;
    p[0] = 2; /* SIGBUS */
    return 0;
}

static int child_sleep(void *arg)
{
    (void)arg;
    sleep(30);
    return 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

/* Waits up to 3 s for the one byte a holder writes once it holds; returns it (0 on timeout). */
static char wait_ready(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c = 0;

    if (poll(&p, 1, 3000) == 1 && read(fd, &c, 1) == 1)
        return c;
    return 0;
}

static void stop(pid_t pid)
{
    int status;

    kill(pid, SIGKILL);
    (void)waitpid(pid, &status, 0);
}

/* Paths of one case: a directory, its log and the log's lock file. */
struct paths {
    char dir[4096];
    char log[4200];
    char lock[4200];
};

static void paths_in(struct paths *p, const char *scratch, const char *sub)
{
    snprintf(p->dir, sizeof(p->dir), "%s/%s", scratch, sub);
    snprintf(p->log, sizeof(p->log), "%s/ev.jsonl", p->dir);
    snprintf(p->lock, sizeof(p->lock), "%s/" LOCK_NAME, p->dir);
}

/* The scratch directory is root's 0700: others must pass through it. */
static int setup(void **state)
{
    tu_setup(state);
    assert_int_equal(chmod(*state, 0755), 0);
    tt_shared_init();
    umask(022);
    return 0;
}

static int teardown(void **state)
{
    umask(022);
    return tu_teardown(state);
}

/* Fails unless the append result r was refused with -EACCES naming the lock file. */
static void assert_refused(int r, const char *msg, const char *lock)
{
    if (r != -EACCES)
        fail_msg("append returned %d (%s), expected -EACCES for an unsafe lock file; message: %s",
                 r, ajio_err_name(r), msg);
    if (strstr(msg, lock) == NULL)
        fail_msg("message \"%s\" does not name the lock file \"%s\"", msg, lock);
}

/* ---- negative controls of the detectors --------------------------------------------------- */

/* The watchdog tells a clean exit, a death by SIGBUS and a hang apart. */
static void control_detector(void **state)
{
    struct paths p;
    struct job j = {0};
    tt_child res;

    paths_in(&p, *state, ".");
    j.lock = p.lock;
    tt_run(0, 0, child_sigbus, &j, 3000, &res);
    assert_int_equal(res.signal, SIGBUS);
    assert_false(res.exited);
    tt_run(0, 0, child_sleep, &j, 300, &res);
    assert_true(res.timed_out);
    assert_int_equal(res.signal, 0);
}

/* The sync counter sees no sync for AJIO_NO_SYNC and at least one for a durable append. */
static void control_sync_counter(void **state)
{
    struct paths p;
    struct job j = {0};
    tt_child res;

    paths_in(&p, *state, ".");
    tu_put(p.log, REC1, 0644);
    j.log = p.log;
    tt_watch_syncs(p.log);
    j.opts.flags = AJIO_NO_SYNC;
    tt_run(0, 0, child_append, &j, 5000, &res);
    tt_assert_clean_exit(&res, "append --no-sync");
    tu_assert_ok(tt_sh->r);
    assert_int_equal(tt_sh->syncs, 0);
    j.opts.flags = 0;
    tt_run(0, 0, child_append, &j, 5000, &res);
    tt_assert_clean_exit(&res, "durable append");
    tu_assert_ok(tt_sh->r);
    assert_true(tt_sh->syncs >= 1);
    tu_assert_content(p.log, REC1 REC2 REC2, strlen(REC1 REC2 REC2));
}

/* ---- the lock file's mode and owner -----------------------------------------------------------
 */

/* An existing target's write bits make the lock file's: 0644 -> 0600, 0664 -> 0660, 0666. */
static void lock_mode_from_target(void **state)
{
    static const struct {
        mode_t target, lock;
    } cases[] = {{0644, 0600}, {0664, 0660}, {0666, 0666},
                 {0600, 0600}, {0620, 0660}, {0646, 0606}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct paths p;
        char sub[32];

        snprintf(sub, sizeof(sub), "m%zu", i);
        paths_in(&p, *state, sub);
        tt_dir_as(p.dir, 0, 0, 0755);
        tt_put_as(p.log, REC1, 0, 0, cases[i].target);
        tu_assert_ok(ajio_append(p.log, REC2, strlen(REC2), NULL));
        struct stat st = tt_stat(p.lock);
        if ((st.st_mode & 07777) != cases[i].lock)
            fail_msg("target 0%o (umask 022): lock file 0%o, expected 0%o", cases[i].target,
                     st.st_mode & 07777, cases[i].lock);
    }
}

/* A target that does not exist yet: the mode it will get, 0666 & ~umask, decides. */
static void lock_mode_new_target(void **state)
{
    static const struct {
        mode_t umask, target, lock;
    } cases[] = {{022, 0644, 0600}, {002, 0664, 0660}, {0, 0666, 0666}, {077, 0600, 0600}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct paths p;
        char sub[32];

        snprintf(sub, sizeof(sub), "n%zu", i);
        paths_in(&p, *state, sub);
        tt_dir_as(p.dir, 0, 0, 0755);
        umask(cases[i].umask);
        int r = ajio_append(p.log, REC1, strlen(REC1), NULL);
        umask(022);
        tu_assert_ok(r);
        assert_int_equal(tt_stat(p.log).st_mode & 07777, cases[i].target); /* the premise */
        struct stat st = tt_stat(p.lock);
        if ((st.st_mode & 07777) != cases[i].lock)
            fail_msg("new target, umask 0%03o: lock file 0%o, expected 0%o", cases[i].umask,
                     st.st_mode & 07777, cases[i].lock);
    }
}

/* A lock file of the caller's that is wider than the target allows is narrowed, then used. */
static void lock_own_too_wide_is_narrowed(void **state)
{
    struct paths p;
    struct job j = {0};
    tt_child res;

    paths_in(&p, *state, "own");
    tt_dir_as(p.dir, TT_UID_VICTIM, TT_UID_VICTIM, 0755);
    tt_put_as(p.log, REC1, TT_UID_VICTIM, TT_UID_VICTIM, 0644);
    tt_put_as(p.lock, "", TT_UID_VICTIM, TT_UID_VICTIM, 0666);
    j.log = p.log;
    tt_run(TT_UID_VICTIM, TT_UID_VICTIM, child_append, &j, 5000, &res);
    tt_assert_clean_exit(&res, "victim's append");
    if (tt_sh->r != 0)
        fail_msg("append with the caller's own 0666 lock file: %d (%s): %s", tt_sh->r,
                 ajio_err_name(tt_sh->r), tt_sh->msg);
    tu_assert_content(p.log, REC1 REC2, strlen(REC1 REC2));
    struct stat st = tt_stat(p.lock);
    if ((st.st_mode & 07777) != 0600)
        fail_msg("the caller's 0666 lock file of a 0644 target was left 0%o, not narrowed to 0600",
                 st.st_mode & 07777);
}

/*
 * Lock files the caller does not own and that are unsafe are refused with -EACCES naming the
 * lock file, nothing written: (a) another user's, world-writable, for a 0644 target; (b) a
 * stranger's (neither the caller, the target's owner nor root), however narrow; (c) the target
 * owner's, but open to a group the target does not let write.
 */
static void lock_foreign_unsafe_refused(void **state)
{
    struct paths p;
    struct job j = {0};
    tt_child res;

    /* (a) The victim appends; the attacker planted a 0666 lock file. */
    paths_in(&p, *state, "a");
    tt_dir_as(p.dir, TT_UID_VICTIM, TT_UID_VICTIM, 0777);
    tt_put_as(p.log, REC1, TT_UID_VICTIM, TT_UID_VICTIM, 0644);
    tt_put_as(p.lock, "", TT_UID_ATTACKER, TT_UID_ATTACKER, 0666);
    j.log = p.log;
    tt_run(TT_UID_VICTIM, TT_UID_VICTIM, child_append, &j, 5000, &res);
    tt_assert_clean_exit(&res, "(a) victim's append");
    assert_refused(tt_sh->r, tt_sh->msg, p.lock);
    tu_assert_content(p.log, REC1, strlen(REC1));

    /* (b) The victim appends; a stranger owns a 0600 lock file. */
    paths_in(&p, *state, "b");
    tt_dir_as(p.dir, TT_UID_VICTIM, TT_UID_VICTIM, 0755);
    tt_put_as(p.log, REC1, TT_UID_VICTIM, TT_UID_VICTIM, 0644);
    tt_put_as(p.lock, "", TT_UID_THIRD, TT_UID_THIRD, 0600);
    tt_shared_init();
    tt_run(TT_UID_VICTIM, TT_UID_VICTIM, child_append, &j, 5000, &res);
    tt_assert_clean_exit(&res, "(b) victim's append");
    if (tt_sh->r != -EACCES)
        fail_msg("(b) append returned %d, expected -EACCES: %s", tt_sh->r, tt_sh->msg);
    tu_assert_content(p.log, REC1, strlen(REC1));

    /*
     * Root may fix what it finds: (b) again, (c) a target 0664 of group OTHER whose owner's lock
     * file is 0660 of group SHARED, (d) a 0644 target whose owner's lock file is 0604. Each
     * unsafe lock file is retired and replaced by one that belongs to the target's owner and
     * group with the target's write permissions, so root's write never locks them out.
     */
    static const struct {
        const char *sub;
        gid_t tgid, lgid;
        mode_t tmode, lmode, want;
        uid_t lowner;
    } cases[] = {
        {"b2", TT_UID_VICTIM, TT_UID_THIRD, 0644, 0600, 0600, TT_UID_THIRD},
        {"c", TT_GID_OTHER, TT_GID_SHARED, 0664, 0660, 0660, TT_UID_VICTIM},
        {"d", TT_UID_VICTIM, TT_UID_VICTIM, 0644, 0604, 0600, TT_UID_VICTIM},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        paths_in(&p, *state, cases[i].sub);
        tt_dir_as(p.dir, TT_UID_VICTIM, cases[i].tgid, 0755);
        tt_put_as(p.log, REC1, TT_UID_VICTIM, cases[i].tgid, cases[i].tmode);
        tt_put_as(p.lock, "", cases[i].lowner, cases[i].lgid, cases[i].lmode);
        struct stat old = tt_stat(p.lock);
        char keep[4300];
        snprintf(keep, sizeof(keep), "%s.keep", p.lock); /* no reuse of the inode number */
        assert_int_equal(link(p.lock, keep), 0);
        tu_assert_ok(ajio_append(p.log, REC2, strlen(REC2), NULL));
        tu_assert_content(p.log, REC1 REC2, strlen(REC1 REC2));
        struct stat st = tt_stat(p.lock);
        if (st.st_ino == old.st_ino || st.st_uid != TT_UID_VICTIM || st.st_gid != cases[i].tgid ||
            (st.st_mode & 07777) != cases[i].want)
            fail_msg("(%s) lock file after root's append: ino %s, uid %u gid %u mode 0%o",
                     cases[i].sub, st.st_ino == old.st_ino ? "kept" : "new",
                     (unsigned)st.st_uid, (unsigned)st.st_gid, st.st_mode & 07777);
    }
}

/*
 * Control of the refusals: safe lock files the caller does not own are used. The target
 * owner's 0600 lock file, by root; root's 0666 lock file of a 0666 target, by the victim; the
 * owner's 0660 lock file of the target's own group, by a member of that group.
 */
static void lock_foreign_safe_used(void **state)
{
    struct paths p;
    struct job j = {0};
    tt_child res;

    paths_in(&p, *state, "a");
    tt_dir_as(p.dir, TT_UID_VICTIM, TT_UID_VICTIM, 0755);
    tt_put_as(p.log, REC1, TT_UID_VICTIM, TT_UID_VICTIM, 0644);
    tt_put_as(p.lock, "", TT_UID_VICTIM, TT_UID_VICTIM, 0600);
    tu_assert_ok(ajio_append(p.log, REC2, strlen(REC2), NULL));
    tu_assert_content(p.log, REC1 REC2, strlen(REC1 REC2));
    assert_int_equal(tt_stat(p.lock).st_mode & 07777, 0600);

    paths_in(&p, *state, "b");
    tt_dir_as(p.dir, 0, 0, 0777);
    tt_put_as(p.log, REC1, TT_UID_ATTACKER, 0, 0666); /* the lock file's group: no stranger */
    tt_put_as(p.lock, "", 0, 0, 0666);
    j.log = p.log;
    tt_run(TT_UID_VICTIM, TT_UID_VICTIM, child_append, &j, 5000, &res);
    tt_assert_clean_exit(&res, "victim's append, root's lock file");
    if (tt_sh->r != 0)
        fail_msg("append to a 0666 target with root's 0666 lock file: %d (%s): %s", tt_sh->r,
                 ajio_err_name(tt_sh->r), tt_sh->msg);
    tu_assert_content(p.log, REC1 REC2, strlen(REC1 REC2));

    paths_in(&p, *state, "c");
    tt_dir_as(p.dir, TT_UID_VICTIM, TT_GID_SHARED, 02775);
    tt_put_as(p.log, REC1, TT_UID_VICTIM, TT_GID_SHARED, 0664);
    tt_put_as(p.lock, "", TT_UID_VICTIM, TT_GID_SHARED, 0660);
    tt_run(TT_UID_ATTACKER, TT_UID_ATTACKER, child_append, &j, 5000, &res);
    tt_assert_clean_exit(&res, "group member's append");
    if (tt_sh->r != 0)
        fail_msg("group member's append, owner's 0660 lock file: %d (%s): %s", tt_sh->r,
                 ajio_err_name(tt_sh->r), tt_sh->msg);
    tu_assert_content(p.log, REC1 REC2, strlen(REC1 REC2));
}

/* ---- (2) a log handle whose lock file is cut to 0 bytes -------------------------------------- */

static void log_survives_truncated_lock_file(void **state)
{
    struct paths p;
    struct job j = {0};
    tt_child res;

    paths_in(&p, *state, ".");
    j.log = p.log;
    j.lock = p.lock;
    tt_run(0, 0, child_log_truncated, &j, 5000, &res);
    tt_assert_clean_exit(&res, "log append after the lock file was truncated");
    if (tt_sh->r != 0)
        fail_msg("ajio_log_append after the truncation: %d (%s): %s", tt_sh->r,
                 ajio_err_name(tt_sh->r), tt_sh->msg);
    tu_assert_content(p.log, REC1 REC2, strlen(REC1 REC2));
}

/* ---- (3) forged group-commit state never skips a sync ------------------------------------------
 */

/* The 0.2 page: "ajio-gc2", then u64 written, synced, dev, ino, epoch, syncs, u32 done, waiters. */
static void forge_struct(unsigned char *buf, size_t len, const char *log)
{
    struct stat st = tt_stat(log);
    uint64_t v[6] = {1000, UINT64_MAX, (uint64_t)st.st_dev, (uint64_t)st.st_ino, 0, 0};

    memset(buf, 0, len);
    memcpy(buf, "ajio-gc2", 8);
    for (int i = 0; i < 6; i++)
        for (int b = 0; b < 8; b++)
            buf[8 + i * 8 + b] = (unsigned char)(v[i] >> (8 * b)); /* little-endian */
}

/*
 * The victim appends durably; the attacker, a member of the directory's group, had filled the
 * lock file beforehand. The append must be refused (-EACCES, nothing appended) or sync the log.
 */
static void check_forged(const struct paths *p, const char *what)
{
    struct job j = {0};
    tt_child res;

    j.log = p->log;
    tt_watch_syncs(p->log);
    tt_run(TT_UID_VICTIM, TT_UID_VICTIM, child_append, &j, 5000, &res);
    tt_assert_clean_exit(&res, what);
    if (tt_sh->r == -EACCES) {
        tu_assert_content(p->log, REC1, strlen(REC1));
        return;
    }
    if (tt_sh->r != 0)
        fail_msg("%s: append returned %d (%s): %s", what, tt_sh->r, ajio_err_name(tt_sh->r),
                 tt_sh->msg);
    tu_assert_content(p->log, REC1 REC2, strlen(REC1 REC2));
    if (tt_sh->syncs < 1)
        fail_msg("%s: the durable append returned 0 without any fdatasync/fsync of the log", what);
}

/* A group-shared log: setgid directory and target 0664 of the group, the victim owning both. */
static void shared_log(struct paths *p, const char *scratch, const char *sub)
{
    paths_in(p, scratch, sub);
    tt_dir_as(p->dir, TT_UID_VICTIM, TT_GID_SHARED, 02775);
    tt_put_as(p->log, REC1, TT_UID_VICTIM, TT_GID_SHARED, 0664);
}

/* The lock file is the victim's, made by an earlier append; the attacker fills it. */
static void forged_victims_lock_file(void **state)
{
    static unsigned char buf[4096];
    static const char *names[] = {"4 KiB of 0xff", "the 0.2 page claiming all synced"};

    for (int k = 0; k < 2; k++) {
        struct paths p;
        struct job j = {0};
        tt_child res;

        shared_log(&p, *state, k == 0 ? "ff" : "gc2");
        /* The lock file as the victim's own append makes it, then back to one record. */
        umask(002);
        j.log = p.log;
        tt_run(TT_UID_VICTIM, TT_UID_VICTIM, child_append, &j, 5000, &res);
        umask(022);
        tt_assert_clean_exit(&res, "victim's first append");
        tu_assert_ok(tt_sh->r);
        tt_put_as(p.log, REC1, TT_UID_VICTIM, TT_GID_SHARED, 0664);
        assert_int_equal(tt_stat(p.lock).st_uid, TT_UID_VICTIM);

        if (k == 0)
            memset(buf, 0xff, sizeof(buf));
        else
            forge_struct(buf, sizeof(buf), p.log);
        j.lock = p.lock;
        j.forgery = buf;
        j.forgery_len = sizeof(buf);
        tt_run(TT_UID_ATTACKER, TT_UID_ATTACKER, child_forge_existing, &j, 5000, &res);
        tt_assert_clean_exit(&res, "attacker's forgery");
        if (tt_sh->r != 0) {
            /* A lock file the group may not write: the attack cannot even start. */
            assert_int_equal(tt_sh->r, EACCES);
            continue;
        }
        check_forged(&p, names[k]);
    }
}

/* The attacker creates the lock file first (his own, group-writable) and fills it. */
static void forged_planted_lock_file(void **state)
{
    static unsigned char buf[4096];

    for (int k = 0; k < 2; k++) {
        struct paths p;
        struct job j = {0};
        tt_child res;

        shared_log(&p, *state, k == 0 ? "ff" : "gc2");
        if (k == 0)
            memset(buf, 0xff, sizeof(buf));
        else
            forge_struct(buf, sizeof(buf), p.log);
        j.lock = p.lock;
        j.forgery = buf;
        j.forgery_len = sizeof(buf);
        tt_run(TT_UID_ATTACKER, TT_UID_ATTACKER, child_forge_plant, &j, 5000, &res);
        tt_assert_clean_exit(&res, "attacker plants the lock file");
        check_forged(&p, k == 0 ? "planted, 0xff" : "planted, 0.2 page");
    }
}

/* ---- (4) waits without end --------------------------------------------------------------------
 */

/*
 * A user who may only read the target (0644, the victim's) cannot open the lock file, so cannot
 * hold it: the victim's append completes at once.
 */
static void reader_cannot_block_appends(void **state)
{
    struct paths p;
    struct job j = {0};
    tt_child res;
    int pipefd[2];

    paths_in(&p, *state, "r");
    tt_dir_as(p.dir, TT_UID_VICTIM, TT_UID_VICTIM, 0755);
    j.log = p.log;
    j.lock = p.lock;
    tt_run(TT_UID_VICTIM, TT_UID_VICTIM, child_append, &j, 5000, &res); /* creates both */
    tt_assert_clean_exit(&res, "victim's first append");
    tu_assert_ok(tt_sh->r);
    assert_int_equal(tt_stat(p.log).st_mode & 07777, 0644);

    assert_int_equal(pipe(pipefd), 0);
    j.ready_fd = pipefd[1];
    j.hold_ms = 10000;
    tt_sh->r = -1;
    pid_t holder = tt_spawn(TT_UID_ATTACKER, TT_UID_ATTACKER, child_reader_blocks, &j);
    char c = wait_ready(pipefd[0]);
    int open_errno = tt_sh->r;

    tt_run(TT_UID_VICTIM, TT_UID_VICTIM, child_append, &j, 3000, &res);
    stop(holder);
    close(pipefd[0]);
    close(pipefd[1]);
    if (res.timed_out)
        fail_msg("the reader (open of the lock file: %s) held the lock and the victim's append "
                 "was still waiting after %ld ms",
                 open_errno ? strerror(open_errno) : "succeeded", res.elapsed_ms);
    tt_assert_clean_exit(&res, "victim's append");
    tu_assert_ok(tt_sh->r);
    assert_true(res.elapsed_ms < 2000);
    tu_assert_content(p.log, REC2 REC2, strlen(REC2 REC2));
    if (c != 'n' || open_errno != EACCES)
        fail_msg("a reader of the 0644 target could open its lock file (%s)",
                 open_errno ? strerror(open_errno) : "it opened and locked it");
}

/* The log and its lock file, and a child of root's holding the flock; the holder's pid. */
static pid_t hold_lock(struct paths *p, const char *scratch, struct job *j, int *pipefd,
                       int (*holder_fn)(void *))
{
    paths_in(p, scratch, ".");
    tu_assert_ok(ajio_append(p->log, REC1, strlen(REC1), NULL)); /* creates the lock file */
    j->log = p->log;
    j->lock = p->lock;
    assert_int_equal(pipe(pipefd), 0);
    j->ready_fd = pipefd[1];
    j->hold_ms = 10000;
    pid_t pid = tt_spawn(0, 0, holder_fn, j);
    assert_int_equal(wait_ready(pipefd[0]), 'h');
    return pid;
}

static void unhold(pid_t pid, int *pipefd)
{
    stop(pid);
    close(pipefd[0]);
    close(pipefd[1]);
}

/* Control of the holders: a third descriptor finds the lock taken. */
static void assert_flock_held(const char *lock)
{
    int fd = open(lock, O_RDWR | O_CLOEXEC);

    assert_true(fd >= 0);
    if (tu_shared_fs(lock)) {
        struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1024, .l_len = 1};

        assert_int_equal(fcntl(fd, F_OFD_SETLK, &l), -1);
        assert_true(errno == EAGAIN || errno == EACCES);
    } else {
        assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
        assert_int_equal(errno, EWOULDBLOCK);
    }
    close(fd);
}

/* A lock held by a legitimate holder: AJIO_LOCK_TIMEOUT bounds the wait (200 ms, then 0). */
static void lock_timeout_bounds_wait(void **state)
{
    struct paths p;
    struct job j = {0};
    tt_child res;
    int pipefd[2];
    pid_t holder = hold_lock(&p, *state, &j, pipefd, child_hold_flock);

    assert_flock_held(p.lock);
    j.opts.flags = AJIO_LOCK_TIMEOUT;
    j.opts.lock_timeout_ms = 200;
    tt_run(0, 0, child_append, &j, 3000, &res);
    if (res.timed_out) {
        unhold(holder, pipefd);
        fail_msg("lock_timeout_ms 200: the append was still waiting after %ld ms", res.elapsed_ms);
    }
    tt_assert_clean_exit(&res, "append with lock_timeout_ms 200");
    if (tt_sh->r != -ETIMEDOUT)
        fail_msg("lock_timeout_ms 200: %d (%s), expected -ETIMEDOUT: %s", tt_sh->r,
                 ajio_err_name(tt_sh->r), tt_sh->msg);
    assert_true(tt_sh->elapsed_ms >= 150 && tt_sh->elapsed_ms < 1000);

    j.opts.lock_timeout_ms = 0;
    tt_run(0, 0, child_append, &j, 3000, &res);
    unhold(holder, pipefd);
    if (res.timed_out)
        fail_msg("lock_timeout_ms 0: the append was still waiting after %ld ms", res.elapsed_ms);
    tt_assert_clean_exit(&res, "append with lock_timeout_ms 0");
    if (tt_sh->r != -EWOULDBLOCK)
        fail_msg("lock_timeout_ms 0: %d (%s), expected -EWOULDBLOCK: %s", tt_sh->r,
                 ajio_err_name(tt_sh->r), tt_sh->msg);
    assert_true(tt_sh->elapsed_ms < 500);
    tu_assert_content(p.log, REC1, strlen(REC1));
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* An append with AJIO_INTERRUPTIBLE whose wait a SIGALRM (handler, no SA_RESTART) ends. */
static int child_append_interrupted(void *arg)
{
    struct job *j = arg;
    struct sigaction sa = {0};
    struct itimerval it = {.it_value = {0, 300 * 1000}};

    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART */
    if (sigaction(SIGALRM, &sa, NULL) < 0 || setitimer(ITIMER_REAL, &it, NULL) < 0)
        return 40;
    long start = tt_now_ms();
    int r = ajio_append(j->log, REC2, strlen(REC2), &j->opts);
    tt_record(r, start);
    return alarms == 1 ? 0 : 41; /* control: the signal came, and its handler ran */
}

static void interruptible_wait_ends_with_eintr(void **state)
{
    struct paths p;
    struct job j = {0};
    tt_child res;
    int pipefd[2];
    pid_t holder = hold_lock(&p, *state, &j, pipefd, child_hold_flock);

    assert_flock_held(p.lock);
    j.opts.flags = AJIO_INTERRUPTIBLE;
    tt_run(0, 0, child_append_interrupted, &j, 3000, &res);
    unhold(holder, pipefd);
    if (res.timed_out)
        fail_msg("AJIO_INTERRUPTIBLE: the append was still waiting %ld ms after the start, the "
                 "SIGALRM at 300 ms ignored",
                 res.elapsed_ms);
    tt_assert_clean_exit(&res, "interrupted append");
    if (tt_sh->r != -EINTR)
        fail_msg("AJIO_INTERRUPTIBLE: %d (%s), expected -EINTR: %s", tt_sh->r,
                 ajio_err_name(tt_sh->r), tt_sh->msg);
    tu_assert_content(p.log, REC1, strlen(REC1));
}

/*
 * A holder of the group-commit sync lock (an OFD lock on byte 0 of the lock file) for 10 s does
 * not keep a durable append from returning: it syncs the log itself, within about 2 s.
 */
static void sync_lock_holder_does_not_stall(void **state)
{
    struct paths p;
    struct job j = {0};
    tt_child res;
    int pipefd[2];
    pid_t holder = hold_lock(&p, *state, &j, pipefd, child_hold_ofd);

    /* Control: the holder really holds the OFD lock on byte 0. */
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    int fd = open(p.lock, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(fcntl(fd, F_OFD_GETLK, &l), 0);
    assert_int_equal(l.l_type, F_WRLCK);
    close(fd);

    tt_watch_syncs(p.log);
    tt_run(0, 0, child_append, &j, 4000, &res);
    unhold(holder, pipefd);
    if (res.timed_out)
        fail_msg("durable append with the sync lock held elsewhere: still waiting after %ld ms",
                 res.elapsed_ms);
    tt_assert_clean_exit(&res, "durable append, sync lock held");
    tu_assert_ok(tt_sh->r);
    if (tt_sh->elapsed_ms > 2000)
        fail_msg("durable append with the sync lock held elsewhere took %ld ms", tt_sh->elapsed_ms);
    if (tt_sh->syncs < 1)
        fail_msg("durable append returned 0 without syncing the log (the sync lock was held)");
    tu_assert_content(p.log, REC1 REC2, strlen(REC1 REC2));
}

/* ---- (15) appending where ">>" works, in a directory the user cannot write ------------------- */

static void unwritable_dir_no_lock_file(void **state)
{
    struct paths p;
    struct job j = {0};
    tt_child res;

    paths_in(&p, *state, "pub");
    tt_dir_as(p.dir, 0, 0, 0755);
    tt_put_as(p.log, REC1, TT_UID_VICTIM, TT_UID_VICTIM, 0644);
    j.log = p.log;
    tt_run(TT_UID_VICTIM, TT_UID_VICTIM, child_append, &j, 5000, &res);
    tt_assert_clean_exit(&res, "append in an unwritable directory");
    if (tt_sh->r != -EACCES)
        fail_msg("append without a lock file in an unwritable directory: %d (%s), expected "
                 "-EACCES: %s",
                 tt_sh->r, ajio_err_name(tt_sh->r), tt_sh->msg);
    if (strstr(tt_sh->msg, p.lock) == NULL || strstr(tt_sh->msg, "lock file") == NULL)
        fail_msg("message \"%s\" names neither the lock file \"%s\" nor says \"lock file\"",
                 tt_sh->msg, p.lock);
    tu_assert_content(p.log, REC1, strlen(REC1));
    assert_int_equal(access(p.lock, F_OK), -1);
}

/* The directory's owner made the lock file (the target owner's, 0600): the append works. */
static void unwritable_dir_prepared_lock_file(void **state)
{
    struct paths p;
    struct job j = {0};
    tt_child res;

    paths_in(&p, *state, "pub");
    tt_dir_as(p.dir, 0, 0, 0755);
    tt_put_as(p.log, REC1, TT_UID_VICTIM, TT_UID_VICTIM, 0644);
    tt_put_as(p.lock, "", TT_UID_VICTIM, TT_UID_VICTIM, 0600);
    j.log = p.log;
    tt_run(TT_UID_VICTIM, TT_UID_VICTIM, child_append, &j, 5000, &res);
    tt_assert_clean_exit(&res, "append with a prepared lock file");
    if (tt_sh->r != 0)
        fail_msg("append with a prepared lock file: %d (%s): %s", tt_sh->r, ajio_err_name(tt_sh->r),
                 tt_sh->msg);
    tu_assert_content(p.log, REC1 REC2, strlen(REC1 REC2));

    /* And root's 0666 lock file of a world-writable log (0666), by a user who may write it. */
    paths_in(&p, *state, "pub2");
    tt_dir_as(p.dir, 0, 0, 0755);
    tt_put_as(p.log, REC1, 0, 0, 0666);
    tt_put_as(p.lock, "", 0, 0, 0666);
    tt_run(TT_UID_VICTIM, TT_UID_VICTIM, child_append, &j, 5000, &res);
    tt_assert_clean_exit(&res, "append with root's prepared lock file");
    if (tt_sh->r != 0)
        fail_msg("append to a 0666 log with root's 0666 lock file: %d (%s): %s", tt_sh->r,
                 ajio_err_name(tt_sh->r), tt_sh->msg);
    tu_assert_content(p.log, REC1 REC2, strlen(REC1 REC2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(control_detector, setup, teardown),
        cmocka_unit_test_setup_teardown(control_sync_counter, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_mode_from_target, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_mode_new_target, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_own_too_wide_is_narrowed, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_foreign_unsafe_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_foreign_safe_used, setup, teardown),
        cmocka_unit_test_setup_teardown(log_survives_truncated_lock_file, setup, teardown),
        cmocka_unit_test_setup_teardown(forged_victims_lock_file, setup, teardown),
        cmocka_unit_test_setup_teardown(forged_planted_lock_file, setup, teardown),
        cmocka_unit_test_setup_teardown(reader_cannot_block_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_timeout_bounds_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(interruptible_wait_ends_with_eintr, setup, teardown),
        cmocka_unit_test_setup_teardown(sync_lock_holder_does_not_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_dir_no_lock_file, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_dir_prepared_lock_file, setup, teardown),
    };

    if (geteuid() != 0) {
        fprintf(stderr, "test_trust_lock: skip: needs root (runs attacks as other uids)\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * trustutil.h - helpers for the suites that attack the target's lock file as another user:
 * running code as an unprivileged uid (no /etc entry needed), a watchdog that tells a child that
 * returned from one that died of a signal or hung, and a counter of the fdatasync/fsync calls
 * made on one file. Include after testutil.h.
 *
 * Uids and gids: TT_UID_VICTIM and TT_UID_ATTACKER share the group TT_GID_SHARED; none of them
 * needs an entry in /etc/passwd, since setuid(2) takes any number.
 */
#ifndef AJIO_TRUSTUTIL_H
#define AJIO_TRUSTUTIL_H

#include <grp.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define TT_UID_VICTIM 64001
#define TT_UID_ATTACKER 64002
#define TT_UID_THIRD 64003
#define TT_GID_SHARED 64100
#define TT_GID_OTHER 64101

/* The result of a watched child. */
typedef struct tt_child {
    int exited; /* returned or called exit: code holds the status */
    int code;
    int signal;    /* killed by this signal (not by the watchdog) */
    int timed_out; /* still running at the deadline: killed with SIGKILL by the watchdog */
    long elapsed_ms;
} tt_child;

/*
 * What a child wants its parent to know besides its exit status, in a shared anonymous
 * mapping made before the fork: the result of the call under test, its message, how long it
 * took, and the number of syncs of the watched file.
 */
typedef struct tt_shared {
    int r;
    long elapsed_ms;
    char msg[1024];
    /* The sync counter: syncs of the file with identity (dev, ino) while watching is set. */
    volatile int watching;
    volatile dev_t dev;
    volatile ino_t ino;
    volatile long syncs;
} tt_shared;

static tt_shared *tt_sh;

static inline void tt_shared_init(void)
{
    if (tt_sh == NULL) {
        void *p =
            mmap(NULL, sizeof(*tt_sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            abort();
        tt_sh = p;
    }
    memset(tt_sh, 0, sizeof(*tt_sh));
    tt_sh->r = -99999;
}

/* Records r, its message and the time since start_ns into the shared page (in a child). */
static inline long tt_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void tt_record(int r, long start_ms)
{
    tt_sh->r = r;
    tt_sh->elapsed_ms = tt_now_ms() - start_ms;
    snprintf(tt_sh->msg, sizeof(tt_sh->msg), "%s", ajio_last_error());
}

/*
 * Drops root to uid/gid with exactly the supplementary groups given (none when n is 0). In a
 * child only; returns -1 when the kernel refused.
 */
static inline int tt_become(uid_t uid, gid_t gid, const gid_t *groups, size_t n)
{
    if (setgroups(n, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
        return -1;
    return 0;
}

/*
 * Forks a child that becomes uid (gid and TT_GID_SHARED as its groups) unless uid is 0, then
 * runs fn(arg) and exits with its result (stdio not flushed: the parent's buffers are not
 * written twice). @return the child's pid.
 */
static inline pid_t tt_spawn(uid_t uid, gid_t gid, int (*fn)(void *), void *arg)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        static const int sigs[] = {SIGBUS, SIGSEGV, SIGILL, SIGFPE, SIGABRT, SIGSYS};
        gid_t groups[2] = {gid, TT_GID_SHARED};

        /* cmocka catches these to report a crash and go on with the next test: in the child
         * that would run the rest of the suite. The child must die of them, visibly. */
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
            signal(sigs[i], SIG_DFL);

        if (uid != 0 && tt_become(uid, gid, groups, 2) < 0)
            _exit(98);
        _exit(fn(arg));
    }
    return pid;
}

/* Waits for pid at most timeout_ms, killing it with SIGKILL then; fills *res. */
static inline void tt_wait(pid_t pid, long timeout_ms, long start_ms, tt_child *res)
{
    int status;

    memset(res, 0, sizeof(*res));
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);

        assert_true(w >= 0);
        if (w == pid)
            break;
        if (tt_now_ms() - start_ms > timeout_ms) {
            kill(pid, SIGKILL);
            assert_int_equal(waitpid(pid, &status, 0), pid);
            res->timed_out = 1;
            res->elapsed_ms = tt_now_ms() - start_ms;
            return;
        }
        usleep(2000);
    }
    res->elapsed_ms = tt_now_ms() - start_ms;
    if (WIFEXITED(status)) {
        res->exited = 1;
        res->code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        res->signal = WTERMSIG(status);
    }
}

/* tt_spawn + tt_wait: runs fn(arg) as uid in a child watched for timeout_ms. */
static inline void tt_run(uid_t uid, gid_t gid, int (*fn)(void *), void *arg, long timeout_ms,
                          tt_child *res)
{
    long start = tt_now_ms();
    pid_t pid = tt_spawn(uid, gid, fn, arg);

    tt_wait(pid, timeout_ms, start, res);
}

/* Fails the test unless the child returned normally with exit status 0. */
#define tt_assert_clean_exit(res, what)                                                            \
    do {                                                                                           \
        if ((res)->signal)                                                                         \
            fail_msg("%s: the child died of signal %d (%s)", (what), (res)->signal,                \
                     strsignal((res)->signal));                                                    \
        if ((res)->timed_out)                                                                      \
            fail_msg("%s: the child was still waiting after %ld ms (killed)", (what),              \
                     (res)->elapsed_ms);                                                           \
        if ((res)->code != 0)                                                                      \
            fail_msg("%s: the child exited %d (r=%d %s: %s)", (what), (res)->code, tt_sh->r,       \
                     ajio_err_name(tt_sh->r), tt_sh->msg);                                         \
    } while (0)

/* Owner, group and mode of path, for the lock-file checks. */
static inline struct stat tt_stat(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        fail_msg("lstat %s: %s", path, strerror(errno));
    return st;
}

/* Creates path with text, then gives it uid, gid and mode (in that order: chown clears bits). */
static inline void tt_put_as(const char *path, const char *text, uid_t uid, gid_t gid, mode_t mode)
{
    tu_put(path, text, 0600);
    assert_int_equal(chown(path, uid, gid), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* A directory with that owner and mode (made here if missing). */
static inline void tt_dir_as(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", path, strerror(errno));
    assert_int_equal(chown(path, uid, gid), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/*
 * The sync counter. TT_DEFINE_SYNC_COUNTER() (once, in the test's .c file) defines fdatasync()
 * and fsync() in the test program: the static libajio linked into it calls these instead of
 * libc's, and each counts a call on the file being watched before doing the real system call.
 * Children inherit the counter through the shared page, whatever uid they run as.
 */
#define TT_DEFINE_SYNC_COUNTER()                                                                   \
    static void tt_note_sync(int fd)                                                               \
    {                                                                                              \
        struct stat st;                                                                            \
        if (tt_sh != NULL && tt_sh->watching && fstat(fd, &st) == 0 && st.st_dev == tt_sh->dev &&  \
            st.st_ino == tt_sh->ino)                                                               \
            __atomic_add_fetch(&tt_sh->syncs, 1, __ATOMIC_SEQ_CST);                                \
    }                                                                                              \
    int fdatasync(int fd)                                                                          \
    {                                                                                              \
        tt_note_sync(fd);                                                                          \
        return (int)syscall(SYS_fdatasync, fd);                                                    \
    }                                                                                              \
    int fsync(int fd)                                                                              \
    {                                                                                              \
        tt_note_sync(fd);                                                                          \
        return (int)syscall(SYS_fsync, fd);                                                        \
    }

/* Starts counting the syncs of the file at path (it must exist). */
static inline void tt_watch_syncs(const char *path)
{
    struct stat st = tt_stat(path);

    tt_sh->dev = st.st_dev;
    tt_sh->ino = st.st_ino;
    tt_sh->syncs = 0;
    tt_sh->watching = 1;
}

#endif /* AJIO_TRUSTUTIL_H */

/*
 * crash_run.c - one power-cut cycle on a freshly made loop filesystem, in two halves.
 *
 *   crash_run crash --mnt DIR --dev /dev/loopN --state FILE --seed N [--cli PATH]
 *                   [--only SCENARIO,...]
 *       Lays out the old state of every writer and syncs it (syncfs), then starts one writer
 *       per (api, scenario, size, crash point), each in its own directory, and stops each under
 *       ptrace at the entry of its N-th system call (the call has not run yet): the "crash
 *       point". Once every writer is stopped, one FS_IOC_SHUTDOWN(NOLOGFLUSH) drops everything
 *       that was not durable, as a power cut would, and the writers are killed. What each writer
 *       was doing goes to the state file.
 *
 *   crash_run check --mnt DIR --state FILE
 *       Run after unmount and mount again (log recovery). Checks every writer's target against
 *       the promise of ajio.h, checks that only temp names of the documented shape are left,
 *       removes them with ajio_sweep() and checks that they are gone. Prints one RESULT line
 *       per (api, scenario, size) and the details of the first violations.
 *
 *   crash_run probe --mnt DIR --dev /dev/loopN
 *       Only the safety check and the shutdown: exit 0 if the filesystem supports it, 3 if not.
 *
 * The crash points of one (api, scenario, size) are learnt first by a counting run in a scratch
 * directory that records the system call sequence; every stopped writer is then checked to sit
 * at the entry of the very system call the counting run saw at that index.
 *
 * Why the two phases below: when a writer is stopped after its rename but before its directory
 * sync, a later fsync by another writer on the same filesystem commits the journal (ext4) or
 * forces the log (xfs) and so makes that rename durable. That is a legal crash state, but it
 * hides a missing sync. So all writers first run up to their rename (where every fdatasync of a
 * temp and every parent-directory fsync happens), and only then does each run from its rename to
 * its crash point. A build without the directory sync then leaves every finished writer's rename
 * in memory only, and the suite can see it.
 */
#include "ajio.h"
#include "internal.h" /* the lock file's append record: ajio__state_read(), ajio__state_write() */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Not in the libc headers of Debian 12; the values are the kernel ABI (include/uapi). */
#ifndef FS_IOC_SHUTDOWN
#define FS_IOC_SHUTDOWN _IOR('X', 125, uint32_t)
#endif
#define SHUTDOWN_NOLOGFLUSH 2u /* FS_SHUTDOWN_FLAGS_NOLOGFLUSH: drop the unwritten log too */
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U /* Linux 6.8, as in src/append.c */
#endif

enum api { API_LIB, API_CLI, API_COUNT };
static const char *const api_names[API_COUNT] = {"lib", "cli"};

/*
 * The replace scenarios, then the locked read-modify-write (ajio_update) and the appends: to a
 * file that does not exist yet, to a healthy file, to a file whose last line is torn (cut back
 * first), to a JSON Lines file whose last line is a complete value without its newline
 * (terminated first, AJIO_JSONL), through a log handle (ajio_log_open and one ajio_log_append,
 * on a torn file), and the repair of a torn last line on its own (ajio_repair); then a batch.
 */
enum scenario {
    SC_NEW,
    SC_REPLACE,
    SC_MKDIRS,
    SC_CREATE_ONLY,
    SC_SYMLINK,
    SC_UPDATE,
    SC_APPEND_NEW,
    SC_APPEND,
    SC_APPEND_TORN,
    SC_APPEND_TERM,
    SC_LOG,
    SC_REPAIR,
    SC_SEQ,
    SC_SEQ_JSONL,
    SC_LOG_SEQ,
    SC_LOG_SEQ_JSONL,
    SC_BATCH,
    SC_TXN,
    SC_RECOVER_FWD,
    SC_RECOVER_BACK,
    SC_PUBLISH,
    SC_PUBLISH_MOVE,
    SC_COUNT
};
static const char *const sc_names[SC_COUNT] = {
    "new",        "replace",    "mkdirs",          "create-only",   "symlink",
    "update",     "append-new", "append",          "append-torn",   "append-term",
    "log",        "repair",     "append-seq",      "append-seq-jsonl", "log-seq",
    "log-seq-jsonl", "batch", "txn", "txn-recover", "txn-rollback", "publish", "publish-move"};

/*
 * The files of one batch: a replace, a new file, and a replace in a subdirectory, so that the
 * commit syncs two directories. The content of file f is that of job number BATCH_JOB(j, f).
 */
#define BATCH_FILES 3
static const char *const batch_names[BATCH_FILES] = {"t.json", "b1.json", "d/b2.json"};
static const bool batch_old[BATCH_FILES] = {true, false, true};
#define BATCH_JOB(j, f) ((j) + 1000 * (f))

/*
 * A transaction (library only, 100 B): TXN_MEMBERS members of the writer's directory, the
 * transaction's DIR. Members 0-13 beside the intent, 14-18 in "sub" (18 new: no old file), and
 * 19 ("gone.json", which exists) removed. A generation is the whole set: old (old contents, 18
 * missing, 19 present) or new (new contents, 19 gone). The content of member f is that of job
 * number TXN_JOB(j, f).
 *
 * txn: crash points of ajio_txn_commit(). txn-recover and txn-rollback: crash points of
 * ajio_recover() on what a commit killed at the layout left: txn-recover after its commit
 * point (the intent durable, two members renamed: recovery rolls forward), txn-rollback
 * before it (plan and every temp durable, no intent: recovery rolls back). After the power
 * cut the checker runs ajio_recover() again (a recovery that crashed is finished by the next)
 * and judges the set.
 */
#define TXN_MEMBERS 20
#define TXN_NEW 18
#define TXN_GONE 19
#define TXN_JOB(j, f) ((j) + 1000 * (10 + (f)))

static bool is_txn(enum scenario sc)
{
    return sc == SC_TXN || sc == SC_RECOVER_FWD || sc == SC_RECOVER_BACK;
}

static void txn_name(int f, char *buf, size_t size)
{
    if (f == TXN_GONE)
        snprintf(buf, size, "gone.json");
    else
        snprintf(buf, size, "%sm%02d.json", f >= 14 ? "sub/" : "", f);
}

/*
 * A publish (library only, 100 B): the tree "src" (PUB_FILES files, two directories deep) is
 * published as "cur" in the writer's directory, over a generation published at the layout from
 * the old contents (src is then rewritten in place with the new ones). publish-move publishes
 * with AJIO_PUBLISH_MOVE. After the power cut "cur" must resolve to a complete generation, old
 * or new; after ajio_snapshot_gc() too, and with a move the new tree must be somewhere whole:
 * behind "cur" or back at "src".
 */
#define PUB_FILES 4
static const char *const pub_names[PUB_FILES] = {"a.json", "b.json", "d/c.json", "d/e/f.json"};
#define PUB_JOB(j, f) ((j) + 1000 * (40 + (f)))

static bool is_publish(enum scenario sc)
{
    return sc == SC_PUBLISH || sc == SC_PUBLISH_MOVE;
}

static bool is_append(enum scenario sc)
{
    return sc >= SC_APPEND_NEW && sc <= SC_LOG_SEQ_JSONL;
}

/*
 * The committed-length scenarios: SEQ_APPENDS appends of multi-record data in one window, through
 * ajio_append() or a log handle, text or AJIO_JSONL, to a file that an append of this library
 * was killed in: its lock file records (exactly: this boot, this mount) an append under way
 * from OLD_LEN, and after the old lines the file holds what that append left, two complete
 * lines and a torn third (seq_torn). The first append of the window must cut all of it (exact +
 * pending). The writer counts its acknowledged appends in shared memory (slot.acked).
 */
#define SEQ_APPENDS 3
static bool is_seq(enum scenario sc)
{
    return sc >= SC_SEQ && sc <= SC_LOG_SEQ_JSONL;
}

static bool is_jsonl(enum scenario sc)
{
    return sc == SC_APPEND_TERM || sc == SC_SEQ_JSONL || sc == SC_LOG_SEQ_JSONL;
}


/*
 * The remains of an interrupted append seeded at the end of the old file: a fragment that is no
 * JSON value (cut back by the repair) and a complete value that only lost its newline (terminated
 * with AJIO_JSONL). Lowercase like all old content.
 */
static const char torn_tail[] = "\"torn remains of an interrupted append";
static const char term_tail[] = "\"complete value without its newline\"";

static const size_t sizes[] = {0, 100, 1u << 20};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

#define OLD_LEN 3000     /* the old content: neither empty nor any of the new sizes */
#define MAX_SYS 1024     /* system calls in one write, far above what one write makes */
#define MAX_WRITERS 8192 /* per cycle */
#define MAX_SHOWN 20     /* violations printed in full per check */
#define DIR_MAX 1024     /* writer directories: short paths under the mount point */

/* One (api, scenario, size) and its system call sequence from the counting run. */
struct job {
    enum api api;
    enum scenario sc;
    size_t size;
    int nsys;          /* system calls from the start of the write to its end, exclusive */
    int rename_at;     /* index of the last rename* (or publishing linkat), or nsys if none */
    long seq[MAX_SYS]; /* their numbers */
    long end_nr;       /* the call that ends the window: the end marker or exit_group */
};

/* One stopped writer. Crash point k: stopped at the entry of seq[k]; k == nsys: at end_nr. */
struct writer {
    int job;
    int k;
    pid_t pid;
    int cur;       /* index of the system call at whose entry it now sits (-2: not started) */
    int target;    /* where the current phase takes it */
    bool mismatch; /* some system call differed from the counting run */
    long stop_nr;  /* the system call it is stopped at */
    char tstate;   /* state letter in /proc/PID/stat at the shutdown */
    int returned;  /* the write had returned when the power went */
    int rc;        /* its result, when it returned */
    int acked;     /* appends acknowledged (returned success) when the power went */
};

/* Results of in-process writers: shared with the forked children, written without a syscall. */
struct slot {
    volatile int done;
    volatile int rc;
    volatile int acked; /* appends that returned success (the committed-length scenarios) */
};

static struct job jobs[API_COUNT * SC_COUNT * NSIZES];
static int njobs;
static struct writer *writers;
static int nwriters;
static struct slot *slots;
static const char *mnt;
static const char *cli;
static const char *workdir;
static uint64_t seed;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("crash_run: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* ---- content -------------------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/*
 * Old content is lowercase, new content uppercase, so the two differ at every byte and any mix of
 * them is caught. Lines of 64 keep a failing file readable.
 */
static unsigned char *make_lines(size_t len, int job, bool new_content);

static unsigned char *make_content(size_t len, int job, bool new_content)
{
    unsigned char *p = malloc(len + 1);
    uint64_t s = splitmix(seed * 1000003u + (uint64_t)job * 2u + (new_content ? 1u : 0u)) | 1u;

    if (p == NULL)
        die("out of memory");
    for (size_t i = 0; i < len; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        p[i] = i % 64 == 63 ? '\n' : (unsigned char)((new_content ? 'A' : 'a') + s % 26);
    }
    return p;
}

/*
 * Records for the appends: JSON strings of letters, one per line, 64 bytes a line (the last one
 * shorter), so that the same bytes serve the text and the AJIO_JSONL appends and a record cut
 * anywhere is never a complete line.
 */
static unsigned char *make_lines(size_t len, int job, bool new_content)
{
    unsigned char *p = make_content(len, job, new_content);
    size_t pos = 0;

    while (pos < len) {
        size_t rem = len - pos, l = rem <= 64 ? rem : rem - 64 < 3 ? rem - 3 : 64;

        if (l < 3)
            die("make_lines: %zu bytes cannot end in a whole record", len);
        p[pos] = '"';
        for (size_t i = 1; i + 2 < l; i++)
            if (p[pos + i] == '\n')
                p[pos + i] = new_content ? 'N' : 'n';
        p[pos + l - 2] = '"';
        p[pos + l - 1] = '\n';
        pos += l;
    }
    return p;
}

/* The new content of every job, made once per cycle and shared with the forked writers. */
static unsigned char *new_of[API_COUNT * SC_COUNT * NSIZES];

static const unsigned char *new_content(int job)
{
    if (new_of[job] == NULL)
        new_of[job] = is_append(jobs[job].sc) ? make_lines(jobs[job].size, job, true)
                                              : make_content(jobs[job].size, job, true);
    return new_of[job];
}

/* Append m (0 .. SEQ_APPENDS-1) of a committed-length job: its own records, uppercase. */
static unsigned char *seq_data(int j, int m)
{
    return make_lines(jobs[j].size, 10000 + j * SEQ_APPENDS + m, true);
}

/*
 * What the killed append of a committed-length job left after the old lines: two complete
 * records and the first 30 bytes of a third (never a complete value). Lowercase: never
 * acknowledged, and told apart from the window's records.
 */
#define SEQ_TORN_LEN (2 * 64 + 30)
static unsigned char *seq_torn(int j)
{
    return make_lines(3 * 64, 20000 + j, false);
}

/* ---- layout --------------------------------------------------------------------------------- */

/* The path given to the writer and the directory and name of the file that really changes. */
static void target_paths(const char *base, enum scenario sc, char *path, char *dir, char *name)
{
    const char *sub = sc == SC_MKDIRS ? "/a/b/c" : "";

    snprintf(path, PATH_MAX, "%s%s/t.json", base, sub);
    snprintf(dir, DIR_MAX, "%s%s", base, sub);
    strcpy(name, sc == SC_SYMLINK ? "real.json" : "t.json");
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) < 0)
        die("setup: writing %s: %s", path, strerror(errno));
}

/* The tail seeded after the old lines of an append scenario ("" for none). */
static const char *tail_of(enum scenario sc)
{
    return sc == SC_APPEND_TORN || sc == SC_LOG || sc == SC_REPAIR ? torn_tail
           : sc == SC_APPEND_TERM                  ? term_tail
                                                   : "";
}

/*
 * The old file of an append scenario: OLD_LEN bytes of old lines, then its tail; *ret_lines is
 * the length of the lines alone. NULL for the append to a new file.
 */
static unsigned char *append_old(int job, size_t *ret_len, size_t *ret_lines)
{
    enum scenario sc = jobs[job].sc;
    const char *tail = tail_of(sc);
    unsigned char *p;

    *ret_len = *ret_lines = 0;
    if (sc == SC_APPEND_NEW)
        return NULL;
    p = make_lines(OLD_LEN, job, false);
    if (is_seq(sc)) {
        unsigned char *torn = seq_torn(job);

        p = realloc(p, OLD_LEN + SEQ_TORN_LEN);
        if (p == NULL)
            die("out of memory");
        memcpy(p + OLD_LEN, torn, SEQ_TORN_LEN);
        free(torn);
        *ret_lines = OLD_LEN;
        *ret_len = OLD_LEN + SEQ_TORN_LEN;
        return p;
    }
    p = realloc(p, OLD_LEN + strlen(tail) + 1);
    if (p == NULL)
        die("out of memory");
    memcpy(p + OLD_LEN, tail, strlen(tail));
    *ret_lines = OLD_LEN;
    *ret_len = OLD_LEN + strlen(tail);
    return p;
}

/* The unique id of the mount a descriptor was opened through (statx), 0 if the kernel has none. */
static uint64_t mount_id(int fd)
{
    struct statx sx;

    if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &sx) == 0 &&
        (sx.stx_mask & STATX_MNT_ID_UNIQUE))
        return sx.stx_mnt_id;
    return 0;
}

/*
 * The lock file of a committed-length job as an append of this library killed in its write
 * leaves it: the record says (exactly: written in this boot, on this mount) that an append of
 * t.json is under way from start, and the appends before it ended there. Written with the
 * library's own writer of the record, owner-only as a new lock file of a 0644 target gets it.
 */
static void seed_killed_append(const char *base, size_t start)
{
    char path[PATH_MAX], lock[PATH_MAX];
    struct ajio__state st = {0};
    struct stat tst;
    int fd, lfd;

    snprintf(path, sizeof(path), "%s/t.json", base);
    snprintf(lock, sizeof(lock), "%s/.t.json.ajio-lock", base);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    lfd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || lfd < 0 || fstat(fd, &tst) < 0)
        die("setup: %s: %s", lock, strerror(errno));
    st.dev = (uint64_t)tst.st_dev;
    st.ino = (uint64_t)tst.st_ino;
    st.committed = st.pending_start = start;
    st.pending = true;
    st.epoch = 1; /* as the first record of a file has it: its tickets start with the next */
    if (ajio__state_write(lfd, mount_id(fd), &st) < 0)
        die("setup: record in %s: %s", lock, strerror(errno));
    close(fd);
    close(lfd);
}

static void kill_commit(const char *base, int j, int renames);

/* The old set of a transaction; for the recovery scenarios, what a commit killed there left. */
static void setup_txn(const char *base, int j)
{
    char path[PATH_MAX], name[32];

    snprintf(path, sizeof(path), "%s/sub", base);
    if (mkdir(path, 0755) < 0)
        die("setup: mkdir %s: %s", path, strerror(errno));
    for (int f = 0; f < TXN_MEMBERS; f++) {
        unsigned char *old;

        if (f == TXN_NEW)
            continue;
        old = make_content(OLD_LEN, TXN_JOB(j, f), false);
        txn_name(f, name, sizeof(name));
        snprintf(path, sizeof(path), "%s/%s", base, name);
        write_file(path, old, OLD_LEN);
        free(old);
    }
    /* After the intent and two members renamed; or at the rename of the plan to the intent. */
    if (jobs[j].sc == SC_RECOVER_FWD)
        kill_commit(base, j, 3);
    else if (jobs[j].sc == SC_RECOVER_BACK)
        kill_commit(base, j, 0);
}

/* The tree of a publish under dir, old or new contents. */
static void write_pub_tree(const char *dir, int j, bool new_content)
{
    char path[PATH_MAX];

    for (int f = 0; f < PUB_FILES; f++) {
        unsigned char *data = make_content(jobs[j].size, PUB_JOB(j, f), new_content);

        snprintf(path, sizeof(path), "%s/%s", dir, pub_names[f]);
        write_file(path, data, jobs[j].size);
        free(data);
    }
}

/* "cur" published from the old tree, then "src" rewritten in place with the new one. */
static void setup_publish(const char *base, int j)
{
    char src[DIR_MAX], name[DIR_MAX], path[PATH_MAX];
    int r;

    snprintf(src, sizeof(src), "%s/src", base);
    snprintf(name, sizeof(name), "%s/cur", base);
    if (mkdir(src, 0755) < 0)
        die("setup: mkdir %s: %s", src, strerror(errno));
    snprintf(path, sizeof(path), "%s/d", src);
    if (mkdir(path, 0755) < 0)
        die("setup: mkdir %s: %s", path, strerror(errno));
    snprintf(path, sizeof(path), "%s/d/e", src);
    if (mkdir(path, 0755) < 0)
        die("setup: mkdir %s: %s", path, strerror(errno));
    write_pub_tree(src, j, false);
    r = ajio_publish(src, name, NULL);
    if (r < 0)
        die("setup: ajio_publish(%s, %s): %s", src, name, ajio_last_error());
    write_pub_tree(src, j, true);
}

/* The state before the write: what "old" is. Made durable by the caller's syncfs. */
static void setup_old(const char *base, int job)
{
    enum scenario sc = jobs[job].sc;
    char path[PATH_MAX];
    unsigned char *old;

    if (mkdir(base, 0755) < 0)
        die("setup: mkdir %s: %s", base, strerror(errno));
    if (is_append(sc)) {
        size_t len, lines;

        old = append_old(job, &len, &lines);
        if (old != NULL) {
            snprintf(path, sizeof(path), "%s/t.json", base);
            write_file(path, old, len);
            free(old);
        }
        if (is_seq(sc))
            seed_killed_append(base, lines);
        return;
    }
    if (is_txn(sc)) {
        setup_txn(base, job);
        return;
    }
    if (is_publish(sc)) {
        setup_publish(base, job);
        return;
    }
    if (sc == SC_BATCH) {
        snprintf(path, sizeof(path), "%s/d", base);
        if (mkdir(path, 0755) < 0)
            die("setup: mkdir %s: %s", path, strerror(errno));
        for (int f = 0; f < BATCH_FILES; f++) {
            if (!batch_old[f])
                continue;
            old = make_content(OLD_LEN, BATCH_JOB(job, f), false);
            snprintf(path, sizeof(path), "%s/%s", base, batch_names[f]);
            write_file(path, old, OLD_LEN);
            free(old);
        }
        return;
    }
    if (sc == SC_UPDATE)
        sc = SC_REPLACE;
    if (sc != SC_REPLACE && sc != SC_SYMLINK)
        return;
    old = make_content(OLD_LEN, job, false);
    snprintf(path, sizeof(path), "%s/%s", base, sc == SC_SYMLINK ? "real.json" : "t.json");
    write_file(path, old, OLD_LEN);
    free(old);
    if (sc == SC_SYMLINK) {
        snprintf(path, sizeof(path), "%s/t.json", base);
        if (symlink("real.json", path) < 0)
            die("setup: symlink %s: %s", path, strerror(errno));
    }
}

/* ---- tracing -------------------------------------------------------------------------------- */

/* Names of the system calls a write makes, for the SEQ lines and the messages. */
static const char *sysname(long nr)
{
#define N(x)                                                                                       \
    {                                                                                              \
        SYS_##x, #x                                                                                \
    }
    static const struct {
        long nr;
        const char *name;
    } names[] = {
        N(read),       N(write),  N(open),      N(openat),    N(close),      N(newfstatat),
        N(fstat),      N(statx),  N(mkdir),     N(mkdirat),   N(fsync),      N(fdatasync),
        N(linkat),     N(link),   N(renameat),  N(renameat2), N(rename),     N(unlinkat),
        N(readlinkat), N(fchmod), N(fchown),    N(getppid),   N(exit_group), N(mmap),
        N(munmap),     N(brk),    N(getrandom), N(lseek),     N(fcntl),      N(ioctl),
        N(writev),     N(mremap), N(gettid),    N(getpid),    N(pread64),    N(pwrite64),
        N(openat2),    N(flock),  N(llistxattr), N(flistxattr), N(lgetxattr), N(fsetxattr),
        N(fremovexattr), N(syncfs), N(geteuid), N(fstatfs), N(statfs), N(copy_file_range),
        N(splice),
        /* Linux 6.13, newer than the headers of Debian 12: the same number everywhere. */
        {464, "getxattrat"}, {465, "listxattrat"},
    };
#undef N
    static char other[32];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].nr == nr)
            return names[i].name;
    snprintf(other, sizeof(other), "syscall_%ld", nr);
    return other;
}

static bool is_rename(long nr)
{
    return nr == SYS_renameat || nr == SYS_renameat2 || nr == SYS_rename;
}

/* Resumes a tracee until its next system call entry. Returns false if it exited instead. */
static bool next_entry(pid_t pid, struct __ptrace_syscall_info *info)
{
    int sig = 0, st;

    for (;;) {
        if (ptrace(PTRACE_SYSCALL, pid, 0, (void *)(intptr_t)sig) < 0)
            die("PTRACE_SYSCALL %d: %s", (int)pid, strerror(errno));
        if (waitpid(pid, &st, __WALL) < 0)
            die("waitpid %d: %s", (int)pid, strerror(errno));
        if (WIFEXITED(st) || WIFSIGNALED(st))
            return false;
        sig = 0;
        if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
            if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(*info), info) < 0)
                die("PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));
            if (info->op == PTRACE_SYSCALL_INFO_ENTRY)
                return true;
        } else if (st >> 16 == 0 && WSTOPSIG(st) != SIGTRAP) {
            sig = WSTOPSIG(st); /* a real signal: deliver it (the post-exec SIGTRAP is not) */
        }
    }
}

/* Reads a NUL-terminated string from the tracee. */
static void peek_string(pid_t pid, uint64_t addr, char *buf, size_t size)
{
    size_t i = 0;

    while (i + sizeof(long) < size) {
        long word;

        errno = 0;
        word = ptrace(PTRACE_PEEKDATA, pid, (void *)(uintptr_t)(addr + i), 0);
        if (errno != 0)
            break;
        memcpy(buf + i, &word, sizeof(word));
        if (memchr(&word, 0, sizeof(word)) != NULL)
            return;
        i += sizeof(word);
    }
    buf[i] = '\0';
}

/* The CLI's window starts at its first system call that names a path on the test filesystem. */
static bool touches_mnt(pid_t pid, const struct __ptrace_syscall_info *info)
{
    char path[PATH_MAX];
    long nr = (long)info->seccomp.nr; /* a seccomp stop: nr and args as at an entry */
    int arg;

    if (nr == SYS_open || nr == SYS_stat || nr == SYS_lstat || nr == SYS_mkdir ||
        nr == SYS_access || nr == SYS_readlink)
        arg = 0;
    else if (nr == SYS_openat || nr == SYS_openat2 || nr == SYS_newfstatat || nr == SYS_statx ||
             nr == SYS_mkdirat || nr == SYS_readlinkat || nr == SYS_faccessat)
        arg = 1;
    else
        return false;
    peek_string(pid, info->seccomp.args[arg], path, sizeof(path));
    return strncmp(path, mnt, strlen(mnt)) == 0;
}

/*
 * ajio__new_dir_sec for the tool, which is another program: set through ptrace when its window
 * opens, at the address of the variable in its symbol table (nm) plus where the kernel loaded
 * the tool (a position-independent executable's first mapping in /proc/PID/maps).
 */
static void cli_new_dir_sec(pid_t pid)
{
    static unsigned long vaddr;
    static bool pie;
    char line[PATH_MAX + 128], exe[PATH_MAX];
    unsigned long base = 0;
    FILE *f;

    if (vaddr == 0) {
        unsigned char ehdr[18];
        int fd = open(cli, O_RDONLY | O_CLOEXEC);

        if (fd < 0 || read(fd, ehdr, sizeof(ehdr)) != (ssize_t)sizeof(ehdr))
            die("reading the ELF header of %s: %s", cli, strerror(errno));
        close(fd);
        pie = ehdr[16] == 3; /* e_type ET_DYN */
        snprintf(line, sizeof(line), "nm -P --defined-only '%s'", cli);
        f = popen(line, "r");
        if (f == NULL)
            die("nm %s: %s", cli, strerror(errno));
        while (fgets(line, sizeof(line), f) != NULL)
            if (strncmp(line, "ajio__new_dir_sec ", 18) == 0)
                vaddr = strtoul(line + 20, NULL, 16);
        if (pclose(f) != 0 || vaddr == 0)
            die("nm found no ajio__new_dir_sec in %s (binutils installed? the tool stripped?)",
                cli);
    }
    if (pie) {
        if (realpath(cli, exe) == NULL)
            die("realpath %s: %s", cli, strerror(errno));
        snprintf(line, sizeof(line), "/proc/%d/maps", (int)pid);
        f = fopen(line, "r");
        if (f == NULL)
            die("%s: %s", line, strerror(errno));
        while (base == 0 && fgets(line, sizeof(line), f) != NULL) {
            char *path = strchr(line, '/');
            unsigned long lo, off;

            if (path != NULL && sscanf(line, "%lx-%*x %*s %lx", &lo, &off) == 2 && off == 0 &&
                strncmp(path, exe, strlen(exe)) == 0 && path[strlen(exe)] == '\n')
                base = lo;
        }
        fclose(f);
        if (base == 0)
            die("the tool %s is not mapped in process %d", exe, (int)pid);
    }
    if (ptrace(PTRACE_POKEDATA, pid, (void *)(base + vaddr), (void *)(1L << 30)) < 0)
        die("setting ajio__new_dir_sec in the tool (pid %d): %s", (int)pid, strerror(errno));
}

/*
 * The tool's window opens at its first system call on a path of the test filesystem. Stepping
 * through every system call of the dynamic loader to find it costs two ptrace stops each, so a
 * seccomp filter stops the tool only at the calls that take a path until then.
 */
static int trap_path_calls(void)
{
    static const long path_calls[] = {SYS_open,     SYS_openat,     SYS_openat2, SYS_stat,
                                      SYS_lstat,    SYS_newfstatat, SYS_statx,   SYS_mkdir,
                                      SYS_mkdirat,  SYS_access,     SYS_faccessat, SYS_readlink,
                                      SYS_readlinkat};
    enum { N = sizeof(path_calls) / sizeof(path_calls[0]) };
    struct sock_filter code[N + 3];
    struct sock_fprog prog = {.len = N + 3, .filter = code};

    code[0] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (int i = 0; i < N; i++) /* on a match jump to the RET_TRACE after the RET_ALLOW */
        code[1 + i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                                   (uint32_t)path_calls[i], (uint8_t)(N - i), 0);
    code[N + 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    code[N + 2] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/*
 * ajio_update()'s callback: the old content must be what setup_old() laid out (else the update
 * fails, and the check counts a harness violation), the new one is the job's.
 */
struct update_ctx {
    int job;
    const unsigned char *data;
};

static int update_cb(void *ctx, const void *old, size_t old_len, int exists, ajio_file *out)
{
    const struct update_ctx *u = ctx;
    unsigned char *want = make_content(OLD_LEN, u->job, false);
    bool same = exists && old_len == OLD_LEN && memcmp(old, want, OLD_LEN) == 0;

    free(want);
    if (!same)
        return -EBADMSG;
    return ajio_file_write(out, u->data, jobs[u->job].size);
}

/*
 * The batch of job j: BATCH_FILES files beside path, added before the start marker (the adds
 * copy the data, which only costs memory), so that the window is the commit alone.
 */
static ajio_batch *batch;

static int prepare_batch(int j, const char *path, const unsigned char *data, const ajio_opts *opts)
{
    char file[PATH_MAX + 16];
    int dirlen = (int)(strrchr(path, '/') - path);
    int r = ajio_batch_new(&batch, opts);

    if (r < 0)
        return r;
    for (int f = 0; f < BATCH_FILES && r == 0; f++) {
        unsigned char *own = f == 0 ? NULL : make_content(jobs[j].size, BATCH_JOB(j, f), true);

        snprintf(file, sizeof(file), "%.*s/%s", dirlen, path, batch_names[f]);
        r = ajio_batch_add(batch, file, f == 0 ? data : own, jobs[j].size);
        free(own);
    }
    return r;
}

/* The transaction of job j in base (the writer's directory), made before the start marker. */
static ajio_txn *txn;

static int prepare_txn(int j, const char *base)
{
    char name[32];
    int r = ajio_txn_begin(&txn, base, NULL);

    for (int f = 0; f < TXN_MEMBERS && r == 0; f++) {
        unsigned char *data;

        txn_name(f, name, sizeof(name));
        if (f == TXN_GONE) {
            r = ajio_txn_remove(txn, name);
            continue;
        }
        data = make_content(jobs[j].size, TXN_JOB(j, f), true);
        r = ajio_txn_write(txn, name, data, jobs[j].size);
        free(data);
    }
    return r;
}

static const char *wbase; /* the writer's directory (transactions, publishes) */

static const char *seq_path; /* the target of a committed-length writer */

/*
 * The window of a committed-length job: SEQ_APPENDS appends, through ajio_append() or one log
 * handle (not closed: the writer is stopped for good at the end marker), each counted in the
 * shared slot once it returned success, without a system call.
 */
static int run_seq(int j, const ajio_opts *opts, struct slot *sl)
{
    const struct job *jb = &jobs[j];
    unsigned char *data[SEQ_APPENDS];
    ajio_log *log = NULL;
    int r = 0;

    for (int m = 0; m < SEQ_APPENDS; m++)
        data[m] = seq_data(j, m); /* before the window: the heap calls are not the appends' */
    syscall(SYS_getppid);     /* start marker */
    if (jb->sc == SC_LOG_SEQ || jb->sc == SC_LOG_SEQ_JSONL)
        r = ajio_log_open(&log, seq_path, opts);
    for (int m = 0; m < SEQ_APPENDS && r >= 0; m++) {
        r = log != NULL ? ajio_log_append(log, data[m], jb->size)
                        : ajio_append(seq_path, data[m], jb->size, opts);
        if (r >= 0)
            sl->acked = m + 1;
    }
    return r;
}

/* The library call of job j; every scenario's success is >= 0 (AJIO_REPAIRED included). */
static int run_lib(int j, const char *path, const unsigned char *data, const ajio_opts *opts)
{
    const struct job *jb = &jobs[j];

    if (jb->sc == SC_UPDATE) {
        struct update_ctx u = {j, data};

        return ajio_update(path, update_cb, &u, -1, opts);
    }
    if (jb->sc == SC_REPAIR)
        return ajio_repair(path, opts, NULL);
    if (jb->sc == SC_BATCH)
        return ajio_batch_commit(batch);
    if (jb->sc == SC_TXN)
        return ajio_txn_commit(txn);
    if (jb->sc == SC_RECOVER_FWD || jb->sc == SC_RECOVER_BACK)
        return ajio_recover(wbase, opts);
    if (is_publish(jb->sc)) {
        char src[PATH_MAX], name[PATH_MAX];
        ajio_opts o = {.flags = jb->sc == SC_PUBLISH_MOVE ? AJIO_PUBLISH_MOVE : 0};

        snprintf(src, sizeof(src), "%s/src", wbase);
        snprintf(name, sizeof(name), "%s/cur", wbase);
        return ajio_publish(src, name, &o);
    }
    if (jb->sc == SC_LOG) {
        /* Not closed: the writer is stopped for good at the end marker, before a close. */
        ajio_log *log;
        int r = ajio_log_open(&log, path, opts);

        return r < 0 ? r : ajio_log_append(log, data, jb->size);
    }
    if (is_append(jb->sc))
        return ajio_append(path, data, jb->size, opts);
    return ajio_write_bytes(path, data, jb->size, opts);
}

/*
 * Forks a writer for job j on the file under base. It stops itself (SIGSTOP) before anything
 * else, traced by this process; slot receives the result of an in-process write.
 */
static pid_t spawn(int j, const char *base, int slot)
{
    const struct job *jb = &jobs[j];
    char path[PATH_MAX], dir[DIR_MAX], name[NAME_MAX + 1], in[PATH_MAX];
    const unsigned char *data = new_content(j);
    pid_t pid;

    target_paths(base, jb->sc, path, dir, name);
    snprintf(in, sizeof(in), "%s/stdin-%d", workdir, j);
    pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        ajio_opts opts = {0};
        int r;

        if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
            _exit(120);
        if (jb->api == API_CLI) {
            int fd = open(in, O_RDONLY);
            int null = open("/dev/null", O_WRONLY);

            /* stderr too: the notes of ajio append about each repair are not the harness's. */
            if (fd < 0 || null < 0 || dup2(fd, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
                trap_path_calls() < 0)
                _exit(121);
            raise(SIGSTOP);
            /* The 0-byte writes are meant: the tool refuses an empty input unless told. */
            if (jb->sc == SC_CREATE_ONLY)
                execl(cli, "ajio", "write", "--allow-empty", "--create-only", path, (char *)NULL);
            else if (jb->sc == SC_REPAIR)
                execl(cli, "ajio", "repair", path, (char *)NULL);
            else if (jb->sc == SC_APPEND_TERM)
                execl(cli, "ajio", "append", "--jsonl", path, (char *)NULL);
            else if (is_append(jb->sc))
                execl(cli, "ajio", "append", path, (char *)NULL);
            else
                execl(cli, "ajio", "write", "--allow-empty", path, (char *)NULL);
            _exit(122);
        }
        raise(SIGSTOP);
        opts.flags = jb->sc == SC_CREATE_ONLY ? AJIO_CREATE_ONLY
                     : is_jsonl(jb->sc)         ? AJIO_JSONL
                                                : 0;
        if (jb->sc == SC_BATCH && prepare_batch(j, path, data, &opts) < 0)
            _exit(123);
        wbase = base;
        if (jb->sc == SC_TXN && prepare_txn(j, base) < 0)
            _exit(124);
        slots[slot].acked = 0;
        if (is_seq(jb->sc)) {
            seq_path = path;
            r = run_seq(j, &opts, &slots[slot]); /* its own start marker */
        } else {
            syscall(SYS_getppid); /* start marker: the next system call is the write's first */
            r = run_lib(j, path, data, &opts);
        }
        slots[slot].rc = r;
        slots[slot].done = 1;
        syscall(SYS_getppid); /* end marker: the write has returned */
        _exit(0);
    }
    return pid;
}

static void set_options(pid_t pid)
{
    if (ptrace(PTRACE_SETOPTIONS, pid, 0,
               (void *)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP)) < 0)
        die("PTRACE_SETOPTIONS: %s", strerror(errno));
}

/*
 * The layout of txn-recover and txn-rollback: a commit of job j's transaction in base, killed
 * at the entry of its rename number renames + 1 (counted from 0 in the commit), so that
 * renames of them ran: 0 is the rename of the plan to the intent, the commit point.
 */
static void kill_commit(const char *base, int j, int renames)
{
    struct __ptrace_syscall_info info;
    pid_t pid = fork();
    int st, seen = 0;

    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
            _exit(120);
        raise(SIGSTOP);
        if (prepare_txn(j, base) < 0)
            _exit(124);
        syscall(SYS_getppid); /* start marker */
        ajio_txn_commit(txn);
        _exit(125); /* never reached: killed at its rename */
    }
    if (waitpid(pid, &st, __WALL) < 0 || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP)
        die("setup: committer %d did not stop at its start (status %#x)", (int)pid, st);
    set_options(pid);
    do {
        if (!next_entry(pid, &info))
            die("setup: committer in %s exited before its start marker", base);
    } while ((long)info.entry.nr != SYS_getppid);
    for (;;) {
        if (!next_entry(pid, &info))
            die("setup: committer in %s exited after %d renames", base, seen);
        if (is_rename((long)info.entry.nr) && seen++ == renames)
            break;
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, __WALL);
}

/* Starts one writer and leaves it at the entry of seq[0] (used by the counting runs). */
static pid_t start_writer(int j, const char *base, int slot)
{
    const struct job *jb = &jobs[j];
    struct __ptrace_syscall_info info;
    pid_t pid = spawn(j, base, slot);
    int st;

    if (waitpid(pid, &st, __WALL) < 0 || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP)
        die("writer %d did not stop at its start (status %#x)", (int)pid, st);
    set_options(pid);
    if (jb->api == API_CLI) {
        /* Seccomp stops only, until a path on the test filesystem: that call has not run yet. */
        int sig = 0;

        for (;;) {
            if (ptrace(PTRACE_CONT, pid, 0, (void *)(intptr_t)sig) < 0 ||
                waitpid(pid, &st, __WALL) < 0)
                die("starting the tool: %s", strerror(errno));
            if (WIFEXITED(st) || WIFSIGNALED(st))
                die("ajio write for %s %zu exited before its write started (status %#x)",
                    sc_names[jb->sc], jb->size, st);
            sig = 0;
            if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) {
                if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info) < 0)
                    die("PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));
                if (touches_mnt(pid, &info)) {
                    cli_new_dir_sec(pid);
                    return pid;
                }
            } else if (st >> 16 == 0 && WSTOPSIG(st) != SIGTRAP) {
                sig = WSTOPSIG(st);
            }
        }
    }
    for (;;) {
        if (!next_entry(pid, &info))
            die("writer for %s %zu exited before its write started", sc_names[jb->sc], jb->size);
        if ((long)info.entry.nr == SYS_getppid) {
            if (!next_entry(pid, &info))
                die("writer exited at its start marker");
            return pid;
        }
    }
}

static bool at_end(const struct job *jb, long nr)
{
    return nr == jb->end_nr;
}

/* Learns the system call sequence of job j by one full, unstopped write in a scratch dir. */
static void count_job(int j)
{
    struct job *jb = &jobs[j];
    struct __ptrace_syscall_info info;
    char base[DIR_MAX - 16];
    pid_t pid;
    int st;

    snprintf(base, sizeof(base), "%s/count/%d", mnt, j);
    setup_old(base, j);
    slots[MAX_WRITERS + j].done = 0;
    pid = start_writer(j, base, MAX_WRITERS + j);
    jb->end_nr = jb->api == API_LIB ? SYS_getppid : SYS_exit_group;
    jb->nsys = 0;
    jb->rename_at = -1;
    if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info) < 0)
        die("PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));
    while (!at_end(jb, (long)info.entry.nr)) {
        if (jb->nsys == MAX_SYS)
            die("job %s %s %zu: more than %d system calls", api_names[jb->api], sc_names[jb->sc],
                jb->size, MAX_SYS);
        /*
         * A new file's O_TMPFILE is published by its linkat to the name, with no rename; before
         * it, linkat only gives a temp its name (the probe, a replace's temp), so the last one
         * is the publish. A transaction and a snapshot publish by their renames alone.
         */
        if (is_rename((long)info.entry.nr) ||
            ((long)info.entry.nr == SYS_linkat && !is_txn(jb->sc) && !is_publish(jb->sc)))
            jb->rename_at = jb->nsys;
        jb->seq[jb->nsys++] = (long)info.entry.nr;
        if (!next_entry(pid, &info))
            die("counting writer exited before its end");
    }
    if (jb->api == API_CLI && info.entry.args[0] != 0)
        die("counting run of ajio write %s %zu exited %d", sc_names[jb->sc], jb->size,
            (int)info.entry.args[0]);
    if (jb->api == API_LIB && (!slots[MAX_WRITERS + j].done || slots[MAX_WRITERS + j].rc < 0))
        die("counting run of %s %zu failed: %d", sc_names[jb->sc], jb->size,
            slots[MAX_WRITERS + j].rc);
    /*
     * An append or a repair renames nothing, nor does a rollback: its crash points are all
     * reached in phase 1.
     */
    if (jb->rename_at < 0 && !is_append(jb->sc) && jb->sc != SC_RECOVER_BACK)
        die("counting run of %s %s %zu made no rename nor link", api_names[jb->api], sc_names[jb->sc],
            jb->size);
    if (jb->rename_at < 0)
        jb->rename_at = jb->nsys;
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, __WALL);
}

/*
 * The cycle's writers are driven all at once: each tracer round trip costs a context switch, and
 * on a busy machine the writers would otherwise spend most of the cycle waiting for their turn.
 * Nothing about the crash states depends on the order in which writers reach their points
 * within one phase.
 */
#define PID_SLOTS 16384 /* open addressing, pid to writer index; more than twice MAX_WRITERS */
static pid_t slot_pid[PID_SLOTS];
static int slot_writer[PID_SLOTS];

static void map_pid(pid_t pid, int i)
{
    unsigned h = (unsigned)pid % PID_SLOTS;

    while (slot_pid[h] != 0)
        h = (h + 1) % PID_SLOTS;
    slot_pid[h] = pid;
    slot_writer[h] = i;
}

static struct writer *writer_of(pid_t pid)
{
    for (unsigned h = (unsigned)pid % PID_SLOTS; slot_pid[h] != 0; h = (h + 1) % PID_SLOTS)
        if (slot_pid[h] == pid)
            return &writers[slot_writer[h]];
    die("wait returned unknown process %d", (int)pid);
}

static void resume(const struct writer *w, int request, int sig)
{
    if (ptrace(request, w->pid, 0, (void *)(intptr_t)sig) < 0)
        die("ptrace resume of %d: %s", (int)w->pid, strerror(errno));
}

/* Waits for the next stop of any writer. */
static struct writer *wait_any(int *st)
{
    pid_t pid = waitpid(-1, st, __WALL);
    struct writer *w;

    if (pid < 0)
        die("waitpid: %s", strerror(errno));
    w = writer_of(pid);
    if (WIFEXITED(*st) || WIFSIGNALED(*st))
        die("writer %d (%s %s %zu, crash point %d) ended early (status %#x)", (int)pid,
            api_names[jobs[w->job].api], sc_names[jobs[w->job].sc], jobs[w->job].size, w->k, *st);
    return w;
}

/* Starts every writer and leaves each at the entry of the first system call of its write. */
static void start_all(const int *order)
{
    char base[DIR_MAX - 16];
    int running = nwriters;

    for (int i = 0; i < nwriters; i++) {
        struct writer *w = &writers[order[i]];

        snprintf(base, sizeof(base), "%s/w/%d", mnt, order[i]);
        slots[order[i]].done = 0;
        w->pid = spawn(w->job, base, order[i]);
        map_pid(w->pid, order[i]);
    }
    while (running > 0) {
        int st, sig = 0;
        struct writer *w = wait_any(&st);
        const struct job *jb = &jobs[w->job];
        struct __ptrace_syscall_info info;
        bool cli_mode = jb->api == API_CLI;

        if (w->cur == -2) { /* its own SIGSTOP: the first stop of every writer */
            set_options(w->pid);
            w->cur = -1;
        } else if (cli_mode && st >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) {
            /* The tool runs free with seccomp stops only, until a path on the test fs. */
            if (ptrace(PTRACE_GET_SYSCALL_INFO, w->pid, (void *)sizeof(info), &info) < 0)
                die("PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));
            if (touches_mnt(w->pid, &info)) {
                cli_new_dir_sec(w->pid);
                w->cur = 0;
                w->stop_nr = (long)info.seccomp.nr;
                running--;
                continue;
            }
        } else if (!cli_mode && WSTOPSIG(st) == (SIGTRAP | 0x80)) {
            if (ptrace(PTRACE_GET_SYSCALL_INFO, w->pid, (void *)sizeof(info), &info) < 0)
                die("PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));
            if (info.op == PTRACE_SYSCALL_INFO_ENTRY && w->cur == 0) {
                /* the first system call after the start marker */
                w->stop_nr = (long)info.entry.nr;
                running--;
                continue;
            }
            if (info.op == PTRACE_SYSCALL_INFO_ENTRY && (long)info.entry.nr == SYS_getppid)
                w->cur = 0; /* the start marker: the next entry is the write's first */
        } else if (st >> 16 == 0 && WSTOPSIG(st) != SIGTRAP) {
            sig = WSTOPSIG(st);
        }
        resume(w, cli_mode ? PTRACE_CONT : PTRACE_SYSCALL, sig);
    }
    for (int i = 0; i < nwriters; i++)
        if (writers[i].stop_nr != jobs[writers[i].job].seq[0])
            writers[i].mismatch = true;
}

/*
 * Moves every writer forward to the entry of its system call number target (its crash point, or
 * its rename if that comes first and to_rename is set). A writer whose system calls differ from
 * the counting run stops there; the check reports it.
 */
static void drive(bool to_rename)
{
    int running = 0;

    for (int i = 0; i < nwriters; i++) {
        struct writer *w = &writers[i];
        int r = jobs[w->job].rename_at;

        w->target = to_rename && r < w->k ? r : w->k;
        if (w->cur < w->target && !w->mismatch) {
            resume(w, PTRACE_SYSCALL, 0);
            running++;
        }
    }
    while (running > 0) {
        int st, sig = 0;
        struct writer *w = wait_any(&st);
        const struct job *jb = &jobs[w->job];
        struct __ptrace_syscall_info info;

        if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
            if (ptrace(PTRACE_GET_SYSCALL_INFO, w->pid, (void *)sizeof(info), &info) < 0)
                die("PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));
            if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
                w->cur++;
                w->stop_nr = (long)info.entry.nr;
                if (w->cur < jb->nsys ? w->stop_nr != jb->seq[w->cur] : !at_end(jb, w->stop_nr))
                    w->mismatch = true;
                if (w->cur >= w->target || w->mismatch) {
                    running--;
                    continue;
                }
            }
        } else if (st >> 16 == 0 && WSTOPSIG(st) != SIGTRAP) {
            sig = WSTOPSIG(st);
        }
        resume(w, PTRACE_SYSCALL, sig);
    }
}

static char proc_state(pid_t pid)
{
    char path[64], buf[512], *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return '?';
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    return p != NULL && p[1] == ' ' ? p[2] : '?';
}

/*
 * Whether /proc/self/mountinfo shows dir mounted from dev with device number st_dev (btrfs
 * reports an anonymous st_dev, not the block device's, so the mount table is the common check).
 */
static bool mounted_from(const char *dir, const char *dev, dev_t st_dev)
{
    char real[PATH_MAX], line[4096], point[PATH_MAX], type[64], source[PATH_MAX];
    unsigned maj, min;
    bool found = false;
    FILE *f;

    if (realpath(dir, real) == NULL || (f = fopen("/proc/self/mountinfo", "r")) == NULL)
        return false;
    while (fgets(line, sizeof(line), f) != NULL) {
        const char *dash = strstr(line, " - ");

        if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, point) != 3 || dash == NULL ||
            sscanf(dash, " - %63s %4095s", type, source) != 2)
            continue;
        /*
         * The last matching line wins: a later mount on the same point hides earlier ones. btrfs
         * gives each subvolume its own anonymous device, so there only the source can match.
         */
        if (strcmp(point, real) == 0)
            found = strcmp(source, dev) == 0 &&
                    (makedev(maj, min) == st_dev || strcmp(type, "btrfs") == 0);
    }
    fclose(f);
    return found;
}

/*
 * A shutdown of the wrong filesystem would take the machine down. The directory must be the root
 * of a mount (its device differs from its parent's), on another device than "/", and the mount
 * table must show it mounted from the loop device the caller named.
 */
static int shutdown_fd(const char *dir, const char *dev)
{
    struct stat root, parent, here;
    char up[PATH_MAX];
    int fd;

    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        die("open %s: %s", dir, strerror(errno));
    snprintf(up, sizeof(up), "%s/..", dir);
    if (fstat(fd, &here) < 0 || stat("/", &root) < 0 || stat(up, &parent) < 0)
        die("stat before shutdown: %s", strerror(errno));
    if (here.st_dev == root.st_dev || here.st_dev == parent.st_dev ||
        strncmp(dev, "/dev/loop", 9) != 0 || !mounted_from(dir, dev, here.st_dev))
        die("refusing to shut down %s: not the root of a mount of loop device %s", dir, dev);
    return fd;
}

/* The shutdown itself, of a directory that shutdown_fd() checked; closes fd. */
static int shutdown_now(int fd)
{
    uint32_t flags = SHUTDOWN_NOLOGFLUSH;
    int r = ioctl(fd, FS_IOC_SHUTDOWN, &flags);

    r = r < 0 ? -errno : 0;
    close(fd);
    return r;
}

static int safe_shutdown(const char *dir, const char *dev)
{
    return shutdown_now(shutdown_fd(dir, dev));
}

/* ---- crash ---------------------------------------------------------------------------------- */

static void shuffle(int *order, int n, uint64_t *s)
{
    for (int i = n - 1; i > 0; i--) {
        int j, t;

        *s = splitmix(*s);
        j = (int)(*s % (uint64_t)(i + 1));
        t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/*
 * crash --only SC,SC,...: writers for these scenarios only (the negative controls need only the
 * scenarios their switch breaks); the job table stays whole, so check reads any state file.
 * Without it, every scenario but the transactions and publishes.
 */
static const char *only;

static bool selected(enum scenario sc)
{
    size_t n = strlen(sc_names[sc]);

    /*
     * The transactions and publishes run in cycles of their own (check-crash.sh): their
     * thousands of stops would stretch a cycle past the minute after which a write into a new
     * directory no longer syncs its parents, and the writes' system calls would change.
     */
    if (only == NULL)
        return !is_txn(sc) && !is_publish(sc);
    for (const char *p = only; p != NULL; p = strchr(p, ','), p = p != NULL ? p + 1 : NULL)
        if (strncmp(p, sc_names[sc], n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

static void make_jobs(bool with_cli)
{
    for (int a = 0; a < API_COUNT; a++) {
        if (a == API_CLI && !with_cli)
            continue;
        for (int sc = 0; sc < SC_COUNT; sc++)
            for (size_t z = 0; z < NSIZES; z++) {
                /*
                 * An append of 0 bytes does nothing at all, and a repair has no size; ajio
                 * update runs a command, which the tracer would have to follow: the library
                 * covers the update.
                 */
                if ((is_append((enum scenario)sc) && sizes[z] == 0) ||
                    ((sc == SC_REPAIR || is_txn((enum scenario)sc) ||
                      is_publish((enum scenario)sc)) && sizes[z] != 100) ||
                    (a == API_CLI && (sc == SC_UPDATE || sc == SC_LOG || sc == SC_BATCH ||
                                      is_txn((enum scenario)sc) || is_publish((enum scenario)sc) ||
                                      is_seq((enum scenario)sc))))
                    continue;
                jobs[njobs].api = (enum api)a;
                jobs[njobs].sc = (enum scenario)sc;
                jobs[njobs].size = sizes[z];
                njobs++;
            }
    }
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_crash(const char *dev, const char *state)
{
    double t[8];

    char path[PATH_MAX];
    int *order, mntfd, r;
    uint64_t s = seed;
    FILE *out;

    make_jobs(cli != NULL);
    /*
     * The library reads the boot id once per process. The committed-length layout writes lock
     * records from this process, so it reads it here, before any writer is forked: every counting
     * run and every writer then inherit it alike, and their system calls agree.
     */
    snprintf(path, sizeof(path), "%s/boot-id", workdir);
    {
        struct ajio__state none = {0};
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd < 0 || ajio__state_write(fd, 0, &none) < 0)
            die("%s: %s", path, strerror(errno));
        close(fd);
    }
    /*
     * Likewise the seed of its temp names (one getrandom() per process, inherited by a fork):
     * seeded here, before the counting runs, and not by the first layout that makes a temp (a
     * publish), or the counting runs would make a getrandom() the writers do not.
     */
    snprintf(path, sizeof(path), "%s/rng-seed", workdir);
    if (ajio_write_bytes(path, "", 0, &(ajio_opts){.flags = AJIO_NO_SYNC}) < 0)
        die("%s: %s", path, ajio_last_error());
    /*
     * A write into a directory born in the last minute also syncs its new ancestors. A writer's
     * directory is a few seconds old when its job is counted and may be over a minute old when
     * the writer runs on a busy machine, which would then skip syscalls its count has: here
     * every directory of the run counts as new, so that both sync the same ancestors (the
     * tool's writers are set alike, cli_new_dir_sec()).
     */
    ajio__new_dir_sec = 1L << 30;
    slots = mmap(NULL, sizeof(*slots) * (MAX_WRITERS + (size_t)njobs), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    writers = calloc(MAX_WRITERS, sizeof(*writers));
    order = calloc(MAX_WRITERS, sizeof(*order));
    if (slots == MAP_FAILED || writers == NULL || order == NULL)
        die("out of memory");
    for (int j = 0; j < njobs; j++) {
        size_t size = jobs[j].size;
        unsigned char *data = is_append(jobs[j].sc) ? make_lines(size, j, true)
                                                    : make_content(size, j, true);

        snprintf(path, sizeof(path), "%s/stdin-%d", workdir, j);
        write_file(path, data, size);
        free(data);
    }
    snprintf(path, sizeof(path), "%s/count", mnt);
    if (mkdir(path, 0755) < 0)
        die("mkdir %s: %s", path, strerror(errno));
    t[0] = now();
    for (int j = 0; j < njobs; j++)
        if (selected(jobs[j].sc))
            count_job(j);
    t[1] = now();

    /* One writer per crash point, old state laid out and made durable before any of them runs. */
    snprintf(path, sizeof(path), "%s/w", mnt);
    if (mkdir(path, 0755) < 0)
        die("mkdir %s: %s", path, strerror(errno));
    for (int j = 0; j < njobs; j++)
        for (int k = 0; k <= jobs[j].nsys && selected(jobs[j].sc); k++) {
            if (nwriters == MAX_WRITERS)
                die("more than %d writers", MAX_WRITERS);
            writers[nwriters].job = j;
            writers[nwriters].k = k;
            snprintf(path, sizeof(path), "%s/w/%d", mnt, nwriters);
            setup_old(path, j);
            order[nwriters] = nwriters;
            nwriters++;
        }
    mntfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mntfd < 0 || syncfs(mntfd) < 0)
        die("syncfs %s: %s", mnt, strerror(errno));
    close(mntfd);
    t[2] = now();

    shuffle(order, nwriters, &s);
    for (int i = 0; i < nwriters; i++)
        writers[i].cur = -2;
    start_all(order);
    t[3] = now();
    /* Phase 1: everyone up to its rename (all the syncs before it); phase 2: to the crash point. */
    drive(true);
    t[4] = now();
    drive(false);
    t[5] = now();

    for (int i = 0; i < nwriters; i++) {
        struct writer *w = &writers[i];
        const struct job *jb = &jobs[w->job];
        struct __ptrace_syscall_info info;

        w->tstate = proc_state(w->pid);
        if (ptrace(PTRACE_GET_SYSCALL_INFO, w->pid, (void *)sizeof(info), &info) < 0 ||
            (info.op != PTRACE_SYSCALL_INFO_ENTRY && info.op != PTRACE_SYSCALL_INFO_SECCOMP) ||
            (long)info.entry.nr != w->stop_nr)
            w->mismatch = true;
        w->acked = jb->api == API_LIB ? slots[i].acked : 0;
        if (w->k == jb->nsys) {
            if (jb->api == API_LIB) {
                w->returned = slots[i].done;
                w->rc = slots[i].rc;
            } else {
                w->returned = 1;
                w->rc = (int)info.entry.args[0]; /* the exit status of ajio write */
            }
        }
    }
    r = safe_shutdown(mnt, dev);
    for (int i = 0; i < nwriters; i++) {
        int st;

        kill(writers[i].pid, SIGKILL);
        waitpid(writers[i].pid, &st, __WALL);
    }
    if (r < 0)
        die("FS_IOC_SHUTDOWN of %s: %s", mnt, strerror(-r));
    t[6] = now();
    fprintf(stderr,
            "crash_run: %d writers; seconds: count %.2f, layout+syncfs %.2f, start %.2f, "
            "to rename %.2f, to crash point %.2f, shutdown+kill %.2f\n",
            nwriters, t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3], t[5] - t[4], t[6] - t[5]);

    out = fopen(state, "w");
    if (out == NULL)
        die("%s: %s", state, strerror(errno));
    fprintf(out, "seed %" PRIu64 " cli %d\n", seed, cli != NULL);
    for (int j = 0; j < njobs; j++) {
        fprintf(out, "J %d %d %d %zu %d %d", j, jobs[j].api, jobs[j].sc, jobs[j].size, jobs[j].nsys,
                jobs[j].rename_at);
        for (int i = 0; i < jobs[j].nsys; i++)
            fprintf(out, " %s", sysname(jobs[j].seq[i]));
        fputc('\n', out);
    }
    for (int i = 0; i < nwriters; i++) {
        const struct writer *w = &writers[i];

        fprintf(out, "W %d %d %d %d %d %c %d %s %d\n", i, w->job, w->k, w->returned, w->rc,
                w->tstate, w->mismatch, sysname(w->stop_nr), w->acked);
    }
    if (fclose(out) != 0)
        die("%s: %s", state, strerror(errno));
    return 0;
}

/* ---- check ---------------------------------------------------------------------------------- */

enum kind {
    K_MISSING,       /* target gone although it existed and the write had not returned */
    K_EMPTY,         /* 0 bytes, and neither old nor new content is empty */
    K_SHORT,         /* a proper prefix of old or new */
    K_MIXED,         /* anything else that is neither old nor new */
    K_OLD_AFTER,     /* old content after the write returned success */
    K_MISSING_AFTER, /* no target after the write returned success */
    K_LEFTOVER,      /* a name that is neither expected nor a temp, or more than one temp */
    K_SWEEP,         /* ajio_sweep() failed, left a temp, or changed the target */
    K_SYMLINK,       /* the symlink did not survive as a symlink to the same name */
    K_LOST_RECORDS,  /* an append returned success, its records (or the repair) are not all there */
    K_REPAIR,        /* the next append did not repair the tail as ajio.h says */
    K_VALUE_CUT,     /* a complete last value followed by zeros: the next repair cut it */
    K_ACKED_CUT,     /* the repair after the crash cut (or changed) acknowledged bytes */
    K_KEPT,          /* the repair kept bytes that were neither acknowledged nor whole lines */
    K_ZEROS_KEPT,    /* the repair kept a zero byte (what did not reach the disk) */
    K_JSONL,         /* an AJIO_JSONL file is not JSON Lines after the repair */
    K_EXACT,         /* a record from before the power cut counts as exact on the new mount */
    K_NO_RECORD,     /* bytes of an append of ours, and no record of the file in its lock file */
    K_HARNESS,       /* writer not stopped where intended, or the write failed: the run is void */
    K_COUNT
};
static const char *const kind_names[K_COUNT] = {
    "missing",  "empty", "short",   "mixed",  "old-after-success", "missing-after-success",
    "leftover", "sweep", "symlink", "records-lost-after-success", "repair", "value-cut",
    "acked-cut", "unacked-kept", "zeros-kept", "jsonl", "exact-after-crash", "no-record",
    "harness"};

struct tally {
    int points;
    int returned;
    int bad;
    int swept; /* temps found after recovery and removed by ajio_sweep() */
    int records;    /* appends: lock files holding a valid record after the crash (never exact) */
    int kept_lines; /* appends: repairs that kept whole lines of the append under way */
    int older;      /* appends: records older than the file (acked bytes past what they say) */
    int kinds[K_COUNT];
};

static int shown;
static char stopped_at[32]; /* check: the system call the writer being checked was stopped at */
static char *seq_names[API_COUNT * SC_COUNT * NSIZES]; /* check: the J lines' name lists */

/* The name of the system call at crash point k of job j, for messages. */
static const char *point_name(int j, int k)
{
    static char name[32];
    const char *p = seq_names[j];

    if (k >= jobs[j].nsys || p == NULL)
        return "the return";
    for (int i = 0; i < k && p != NULL; i++)
        p = strchr(p + 1, ' ');
    if (p == NULL)
        return "?";
    snprintf(name, sizeof(name), "%.*s", (int)strcspn(p + 1, " \n"), p + 1);
    return name;
}

static void violation(struct tally *t, enum kind k, int w, const struct job *jb, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));
static void violation(struct tally *t, enum kind k, int w, const struct job *jb, const char *fmt,
                      ...)
{
    va_list ap;

    t->kinds[k]++;
    if (shown++ >= MAX_SHOWN)
        return;
    fprintf(stderr, "VIOLATION %s: writer %d (%s %s %zu): ", kind_names[k], w, api_names[jb->api],
            sc_names[jb->sc], jb->size);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Reads a whole regular file: its length, or -1 if it does not exist. */
static ssize_t slurp(const char *path, unsigned char **ret)
{
    struct stat st;
    unsigned char *p;
    ssize_t n = 0, r;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    *ret = NULL;
    if (fd < 0) {
        if (errno == ENOENT)
            return -1;
        return -2;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -2;
    }
    p = malloc((size_t)st.st_size + 1);
    if (p == NULL)
        die("out of memory");
    while ((r = read(fd, p + n, (size_t)st.st_size - (size_t)n)) > 0)
        n += r;
    close(fd);
    *ret = p;
    return r < 0 ? -2 : n;
}

static bool is_temp_of(const char *ent, const char *name)
{
    size_t n = strlen(name), len = strlen(ent);

    if (len != 1 + n + 6 + 16 + 4 || ent[0] != '.' || strncmp(ent + 1, name, n) != 0 ||
        strncmp(ent + 1 + n, ".ajio-", 6) != 0 || strcmp(ent + len - 4, ".tmp") != 0)
        return false;
    for (size_t i = 1 + n + 6; i < len - 4; i++)
        if (!isxdigit((unsigned char)ent[i]) || isupper((unsigned char)ent[i]))
            return false;
    return true;
}

/* Counts temps in dir; anything but ".", "..", the allowed names and temps of name is stray. */
static int list_dir(const char *dir, const char *name, const char *const *allowed, int *stray,
                    char *first_stray)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int temps = 0;

    *stray = 0;
    if (d == NULL)
        return 0; /* a directory that never became durable: nothing in it either */
    while ((e = readdir(d)) != NULL) {
        bool ok = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;

        for (int i = 0; !ok && allowed[i] != NULL; i++)
            ok = strcmp(e->d_name, allowed[i]) == 0;
        if (ok)
            continue;
        if (is_temp_of(e->d_name, name)) {
            temps++;
        } else {
            if (*stray == 0)
                snprintf(first_stray, NAME_MAX + 1, "%s", e->d_name);
            (*stray)++;
        }
    }
    closedir(d);
    return temps;
}

/* Compares what came back with old and new; returns the violation or K_COUNT when legal. */
static enum kind classify(const unsigned char *got, ssize_t n, const unsigned char *old,
                          size_t oldlen, const unsigned char *new, size_t newlen, bool returned)
{
    if (n < 0) {
        if (returned)
            return K_MISSING_AFTER;
        return old != NULL ? K_MISSING : K_COUNT;
    }
    if ((size_t)n == newlen && memcmp(got, new, newlen) == 0)
        return K_COUNT;
    if (old != NULL && (size_t)n == oldlen && memcmp(got, old, oldlen) == 0)
        return returned ? K_OLD_AFTER : K_COUNT;
    if (n == 0)
        return K_EMPTY;
    if (((size_t)n < newlen && memcmp(got, new, (size_t)n) == 0) ||
        (old != NULL && (size_t)n < oldlen && memcmp(got, old, (size_t)n) == 0))
        return K_SHORT;
    return K_MIXED;
}

/*
 * Whether got[off, n) is what an append of the len bytes at p may leave before it returned: its
 * complete lines are p's first lines, byte for byte, and what follows the last '\n' (the torn
 * tail) holds p's next bytes or zeros. Zeros, because a file can come back longer than the data
 * that reached the disk: ext4 logs the new size of a write into a block the file already had
 * before that block's data is written back, and the gap reads as zeros.
 */
static bool partial_append(const unsigned char *got, size_t n, size_t off, const unsigned char *p,
                           size_t len)
{
    size_t end = n;

    if (n < off || n - off > len)
        return false;
    while (end > off && got[end - 1] != '\n')
        end--;
    if (memcmp(got + off, p, end - off) != 0)
        return false;
    for (size_t i = end; i < n; i++)
        if (got[i] != p[i - off] && got[i] != 0)
            return false;
    return true;
}

/* Whether the n bytes at p are all zero. */
static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/*
 * An append, a repair, or a window of appends (the committed-length scenarios), judged by the
 * rules of 0.3 (ajio.h, "Torn-tail repair"). With O the old lines, T the seeded tail and A the
 * appends of the window (one, N, for the single-append scenarios; SEQ_APPENDS for the
 * committed-length ones; none for a repair):
 *
 *   R, the file once the window's first repair is done: O T "\n" where T was seeded (nobody's
 *   record speaks of it: another program's bytes, terminated, never deleted, in text as with
 *   AJIO_JSONL, whose T is a complete value); O alone for the committed-length scenarios, whose
 *   tail is what an append of ours left, cut from where it started (exact + pending).
 *
 * The crash image (before any repair after the power cut) must be one of: the old file
 * untouched; for a seeded T, O T followed by zeros (the '\n' of the termination, its size on
 * disk, its byte not); R, the acked appends whole, then what partial_append() allows of the next
 * one. Acked appends missing: records-lost-after-success.
 *
 * Then the checker repairs what came back, through ajio_repair() and the next append for even
 * writers, the next append alone for odd ones (an AJIO_JSONL append may refuse another program's
 * tail with AJIO_ETORN, the file unchanged; ajio_repair() then cuts it), and judges the result,
 * its own record "rec" at the end:
 *
 *   - The lock file's record, read before the repair with the mount id of the new mount, must
 *     not be exact: the remount gave the filesystem a new unique mount id, so nothing written
 *     before the power cut may pass for this mount's (exact-after-crash, a bug if ever seen).
 *     Bytes of an append of ours after R need a record of the file (no-record): the first
 *     record of a file is synced before its first byte is written.
 *   - Acknowledged bytes are never cut: R (O T "\n", or O, or the old file's complete lines
 *     when the image was untouched) and every acked append, byte for byte (acked-cut).
 *   - Nothing else stays but what the rules allow after a power cut, where the record is stale:
 *     complete lines of the one append that was under way (only bytes after the last '\n' are
 *     cut: a stale record may be older than the file, so where that append started is not
 *     known), which with AJIO_JSONL may end with a record whose '\n' was lost, kept as a complete
 *     string and terminated. A torn record kept (text terminated, or any other byte) is
 *     unacked-kept; a zero byte kept is zeros-kept.
 *   - With AJIO_JSONL the whole file is JSON Lines (jsonl).
 *   - The return values: AJIO_REPAIRED exactly when there was a tail after the last '\n'
 *     (repair).
 */
static void check_append(int i, int j, int k, bool ret_ok, int acked, const char *file,
                         struct tally *t)
{
    static const char rec[] = "\"the next append\"\n";
    const struct job *jb = &jobs[j];
    enum scenario sc = jb->sc;
    const char *tail = is_seq(sc) ? "" : tail_of(sc);
    bool jsonl = is_jsonl(sc);
    int nappends = is_seq(sc) ? SEQ_APPENDS : sc == SC_REPAIR ? 0 : 1;
    size_t alen = jb->size, oldlen, lines, rlen, u, keep, plen = 0, clen = 0;
    unsigned char *old = append_old(j, &oldlen, &lines);
    unsigned char *a[SEQ_APPENDS] = {NULL};
    unsigned char *r = malloc(oldlen + 2 + (size_t)SEQ_APPENDS * alen), *got, *again = NULL;
    const unsigned char *cand = NULL; /* the append under way at the crash, if any came back */
    ajio_opts nosync = {.flags = AJIO_NO_SYNC | (jsonl ? AJIO_JSONL : 0)};
    struct ajio__state st = {0};
    enum kind kd = K_COUNT;
    bool untouched = false, zeros = false, known = false;
    ssize_t n, n2;
    int rr, form = -1;

    if (r == NULL)
        die("out of memory");
    for (int m = 0; m < nappends; m++)
        a[m] = is_seq(sc) ? seq_data(j, m) : make_lines(alen, j, true);
    rlen = lines;
    if (old != NULL)
        memcpy(r, old, lines);
    if (*tail != '\0') {
        memcpy(r + rlen, tail, strlen(tail));
        rlen += strlen(tail);
        r[rlen++] = '\n';
    }
    if (acked > nappends)
        acked = nappends;
    n = slurp(file, &got);
    u = n > 0 ? (size_t)n : 0;
    if (n == -2) {
        kd = K_MIXED;
    } else if (n < 0) {
        kd = acked > 0 || ret_ok ? K_MISSING_AFTER : old != NULL ? K_MISSING : K_COUNT;
    } else {
        untouched = old != NULL && u == oldlen && memcmp(got, old, oldlen) == 0;
        zeros = *tail != '\0' && u > oldlen && memcmp(got, old, oldlen) == 0 &&
                all_zero(got + oldlen, u - oldlen);
        /* The largest number of whole appends after R that came back, and the rest partial. */
        for (int m = 0; m <= nappends && u >= rlen && memcmp(got, r, rlen) == 0; m++) {
            size_t off = rlen + (size_t)m * alen;

            if (m < nappends && u >= off + alen && memcmp(got + off, a[m], alen) == 0)
                continue; /* append m whole */
            if (m == nappends ? u == off : partial_append(got, u, off, a[m], alen))
                form = m;
            break;
        }
        if (form >= acked && (form < nappends || u == rlen + (size_t)form * alen))
            kd = K_COUNT;
        else if ((untouched || zeros) && acked == 0)
            kd = K_COUNT;
        else if (acked > 0 && (untouched || zeros || form >= 0))
            kd = K_LOST_RECORDS;
        else if (u == 0)
            kd = K_EMPTY;
        else if ((old != NULL && u < oldlen && memcmp(got, old, u) == 0) ||
                 (u < rlen && memcmp(got, r, u) == 0))
            kd = K_SHORT;
        else
            kd = K_MIXED;
    }
    if (kd != K_COUNT)
        violation(t, kd, i, jb, "crash point %d, before %s, %d of %d appends acknowledged: %s "
                  "holds %zd bytes (old lines %zu + tail %zu, after repair %zu, appends of %zu)",
                  k, point_name(j, k), acked, nappends, file, n, lines, oldlen - lines, rlen, alen);
    if (kd != K_COUNT || n < 0)
        goto out;

    /* What must stay (plen bytes of r) and what may (whole lines of cand, clen bytes at most). */
    if (form >= 0) {
        /* The acked appends must stay; of the one under way (whole or not), whole lines may. */
        for (int m = 0; m < acked; m++)
            memcpy(r + rlen + (size_t)m * alen, a[m], alen);
        plen = rlen + (size_t)acked * alen;
        if (acked < nappends) {
            cand = a[acked];
            clen = alen;
        }
    } else if (untouched && is_seq(sc)) {
        plen = lines; /* O; the killed append's lines are not acknowledged */
        cand = old + lines;
        clen = oldlen - lines;
    } else {
        plen = rlen; /* O T "\n": T terminated, or for AJIO_JSONL a value kept */
    }

    /* The record as the repair will read it: of this file, and never exact after a remount. */
    {
        char lock[PATH_MAX];
        int fd = open(file, O_RDONLY | O_CLOEXEC), lfd;
        struct stat fst;

        snprintf(lock, sizeof(lock), "%.*s/.%s.ajio-lock", (int)(strrchr(file, '/') - file), file,
                 strrchr(file, '/') + 1);
        lfd = open(lock, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && lfd >= 0 && fstat(fd, &fst) == 0 &&
            ajio__state_read(lfd, mount_id(fd), &st) == 0 && st.valid) {
            known = st.dev == (uint64_t)fst.st_dev && st.ino == (uint64_t)fst.st_ino;
            t->records++;
            /* Taken for exact, this record would cut acknowledged bytes. */
            t->older += known && (st.pending ? st.pending_start : st.committed) < plen;
            if (st.exact)
                violation(t, K_EXACT, i, jb,
                          "crash point %d: the lock file of %s holds a record that counts as "
                          "exact on the new mount (pending %d from %" PRIu64 ", committed %" PRIu64
                          "): a repair would trust what a power cut may have outdated",
                          k, file, st.pending, st.pending_start, st.committed);
        }
        if (fd >= 0)
            close(fd);
        if (lfd >= 0)
            close(lfd);
    }
    if (!known && u > plen && !untouched && !zeros)
        violation(t, K_NO_RECORD, i, jb,
                  "crash point %d: %s holds %zu bytes of an append of ours after its %zu "
                  "acknowledged ones, and its lock file has no record of it",
                  k, file, u - plen, plen);

    /* The repair: ajio_repair() then the next append (even writers), or the append alone. */
    for (keep = u; keep > 0 && got[keep - 1] != '\n'; keep--)
        ;
    if (i % 2 == 0) {
        size_t cut = 0;

        rr = ajio_repair(file, &nosync, &cut);
        if (rr != (keep == u ? 0 : AJIO_REPAIRED))
            violation(t, K_REPAIR, i, jb, "crash point %d: ajio_repair(%s) (%zu bytes, %zu after "
                      "its last newline) returned %d (%s)", k, file, u, u - keep, rr,
                      rr < 0 ? ajio_last_error() : "");
        rr = ajio_append(file, rec, strlen(rec), &nosync);
        if (rr != 0)
            violation(t, K_REPAIR, i, jb, "crash point %d: the append after ajio_repair(%s) "
                      "returned %d (%s)", k, file, rr, rr < 0 ? ajio_last_error() : "");
    } else {
        rr = ajio_append(file, rec, strlen(rec), &nosync);
        if (rr == AJIO_ETORN && jsonl && !known) {
            /* Another program's bytes, no complete value: refused, the file as it was. */
            n2 = slurp(file, &again);
            if (n2 != n || memcmp(again, got, u) != 0)
                violation(t, K_REPAIR, i, jb, "crash point %d: an append to %s refused with "
                          "AJIO_ETORN changed the file", k, file);
            free(again);
            again = NULL;
            rr = ajio_repair(file, &nosync, NULL);
            if (rr >= 0)
                rr = ajio_append(file, rec, strlen(rec), &nosync) == 0 ? AJIO_REPAIRED : -1;
        }
        if (rr != (keep == u ? 0 : AJIO_REPAIRED))
            violation(t, K_REPAIR, i, jb, "crash point %d: the next append to %s (%zu bytes, %zu "
                      "after its last newline) returned %d (%s)", k, file, u, u - keep, rr,
                      rr < 0 ? ajio_last_error() : "");
    }

    /* What the repair left, against what must and what may stay. */
    n2 = slurp(file, &again);
    if (n2 < (ssize_t)strlen(rec) || memcmp(again + n2 - strlen(rec), rec, strlen(rec)) != 0) {
        violation(t, K_REPAIR, i, jb, "crash point %d: %s (%zd bytes after the repair) does not "
                  "end with the next append's record", k, file, n2);
    } else {
        size_t body = (size_t)n2 - strlen(rec), x;

        if (memchr(again, 0, body) != NULL)
            violation(t, K_ZEROS_KEPT, i, jb, "crash point %d: %s keeps a zero byte after the "
                      "repair (%zu bytes came back, %zu after the last newline, %zu left)", k,
                      file, u, u - keep, body);
        else if (body < plen || memcmp(again, r, plen) != 0)
            violation(t, zeros && jsonl ? K_VALUE_CUT : K_ACKED_CUT, i, jb,
                      "crash point %d, %d of %d appends acknowledged: the repair of %s (%zu bytes "
                      "came back, %zu after the last newline; record %s) left %zu bytes, not the "
                      "%zu acknowledged ones", k, acked, nappends, file, u, u - keep,
                      known ? "of the file, stale" : st.valid ? "of another file" : "none", body,
                      plen);
        else if ((x = body - plen) > 0 &&
                 (x > clen || memcmp(again + plen, cand, x) != 0 || cand[x - 1] != '\n'))
            violation(t, K_KEPT, i, jb, "crash point %d, %d of %d appends acknowledged: the "
                      "repair of %s (%zu bytes came back, %zu after the last newline; record %s) "
                      "kept %zu bytes after the %zu acknowledged ones that are not whole lines "
                      "of the append under way", k, acked, nappends, file, u, u - keep,
                      known ? "of the file, stale" : st.valid ? "of another file" : "none", x,
                      plen);
        if (jsonl && ajio_json_validate(again, (size_t)n2, AJIO_JSON_LINES, NULL) != 0)
            violation(t, K_JSONL, i, jb, "crash point %d: %s is not JSON Lines after the repair",
                      k, file);
        t->kept_lines += body > plen;
    }
    free(again);
out:
    free(got);
    free(old);
    for (int m = 0; m < nappends; m++)
        free(a[m]);
    free(r);
}

/* Temps in dir of any of the NULL-terminated names; anything else not allowed is stray. */
static int list_dir_of(const char *dir, const char *const *names, const char *const *allowed,
                       int *stray, char *first_stray)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int temps = 0;

    *stray = 0;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        bool ok = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0, temp = false;

        for (int i = 0; !ok && allowed[i] != NULL; i++)
            ok = strcmp(e->d_name, allowed[i]) == 0;
        for (int i = 0; !ok && !temp && names[i] != NULL; i++)
            temp = is_temp_of(e->d_name, names[i]);
        if (temp) {
            temps++;
        } else if (!ok) {
            if (*stray == 0)
                snprintf(first_stray, NAME_MAX + 1, "%s", e->d_name);
            (*stray)++;
        }
    }
    closedir(d);
    return temps;
}

/*
 * A batch: each file old or new (a new file missing or new) until the commit returned, every
 * file new after it returned 0; in each of the two directories only the files and temps of
 * their shape, at most one per file, which ajio_sweep() removes.
 */
static void check_batch(int i, int j, int k, bool ret_ok, const char *base, struct tally *t)
{
    static const char *const top_names[] = {"t.json", "b1.json", NULL};
    static const char *const top_allowed[] = {"t.json", "b1.json", "d", NULL};
    static const char *const sub_names[] = {"b2.json", NULL};
    const struct job *jb = &jobs[j];
    char file[PATH_MAX], dirs[2][PATH_MAX], stray_name[NAME_MAX + 1];
    int temps[2], stray;

    for (int f = 0; f < BATCH_FILES; f++) {
        unsigned char *new = make_content(jb->size, BATCH_JOB(j, f), true), *got;
        unsigned char *old = batch_old[f] ? make_content(OLD_LEN, BATCH_JOB(j, f), false) : NULL;
        ssize_t n;
        enum kind kd;

        snprintf(file, sizeof(file), "%s/%s", base, batch_names[f]);
        n = slurp(file, &got);
        if (n == -2)
            violation(t, K_MIXED, i, jb, "crash point %d: %s is not a readable regular file", k,
                      file);
        else if ((kd = classify(got, n, old, OLD_LEN, new, jb->size, ret_ok)) != K_COUNT)
            violation(t, kd, i, jb, "crash point %d, before %s: %s holds %zd bytes (old %d, new %zu)",
                      k, point_name(j, k), file, n, old != NULL ? OLD_LEN : -1, jb->size);
        free(got);
        free(old);
        free(new);
    }
    snprintf(dirs[0], sizeof(dirs[0]), "%s", base);
    snprintf(dirs[1], sizeof(dirs[1]), "%s/d", base);
    for (int d = 0; d < 2; d++) {
        temps[d] = list_dir_of(dirs[d], d == 0 ? top_names : sub_names,
                               d == 0 ? top_allowed : sub_names, &stray, stray_name);
        if (stray > 0)
            violation(t, K_LEFTOVER, i, jb, "crash point %d: %d other names (%s) in %s", k, stray,
                      stray_name, dirs[d]);
    }
    if (temps[0] + temps[1] > BATCH_FILES)
        violation(t, K_LEFTOVER, i, jb, "crash point %d: %d temps for %d files", k,
                  temps[0] + temps[1], BATCH_FILES);
    for (int d = 0; d < 2; d++) {
        int swept;

        if (temps[d] == 0)
            continue;
        t->swept += temps[d];
        swept = ajio_sweep(dirs[d], NULL, 0, 0);
        if (swept != temps[d] ||
            list_dir_of(dirs[d], d == 0 ? top_names : sub_names, d == 0 ? top_allowed : sub_names,
                        &stray, stray_name) != 0)
            violation(t, K_SWEEP, i, jb, "ajio_sweep(%s) returned %d for %d temps (%s)", dirs[d],
                      swept, temps[d], swept < 0 ? ajio_last_error() : "");
    }
}

/* The generation member f of a transaction holds: 0 old, 1 new, -1 neither (then a violation). */
enum { GEN_OLD, GEN_NEW, GEN_NONE };

static int txn_member(int i, int j, int k, int f, const char *base, const char *when,
                      struct tally *t)
{
    const struct job *jb = &jobs[j];
    char name[32], file[PATH_MAX];
    unsigned char *got, *old, *new;
    ssize_t n;
    int g = GEN_NONE;

    txn_name(f, name, sizeof(name));
    snprintf(file, sizeof(file), "%s/%s", base, name);
    n = slurp(file, &got);
    old = make_content(OLD_LEN, TXN_JOB(j, f), false);
    new = make_content(jb->size, TXN_JOB(j, f), true);
    if (n == -1)
        g = f == TXN_GONE ? GEN_NEW : f == TXN_NEW ? GEN_OLD : GEN_NONE;
    else if (n == OLD_LEN && f != TXN_NEW && memcmp(got, old, OLD_LEN) == 0)
        g = GEN_OLD;
    else if (n == (ssize_t)jb->size && f != TXN_GONE && memcmp(got, new, jb->size) == 0)
        g = GEN_NEW;
    if (g == GEN_NONE)
        violation(t, n == -1 ? K_MISSING : K_MIXED, i, jb,
                  "crash point %d (%s), %s: member %s holds %zd bytes, neither old nor new", k,
                  point_name(j, k), when, name, n);
    free(got);
    free(old);
    free(new);
    return g;
}

/* The set's generation: GEN_OLD or GEN_NEW when whole, GEN_NONE after a violation. */
static int txn_set(int i, int j, int k, const char *base, const char *when, struct tally *t)
{
    int count[3] = {0, 0, 0};

    for (int f = 0; f < TXN_MEMBERS; f++)
        count[txn_member(i, j, k, f, base, when, t)]++;
    if (count[GEN_NONE] > 0)
        return GEN_NONE;
    if (count[GEN_OLD] > 0 && count[GEN_NEW] > 0) {
        violation(t, K_MIXED, i, &jobs[j], "crash point %d (%s), %s: a mixed set, %d members "
                  "old and %d new", k, point_name(j, k), when, count[GEN_OLD], count[GEN_NEW]);
        return GEN_NONE;
    }
    return count[GEN_NEW] > 0 ? GEN_NEW : GEN_OLD;
}

/* Names in dir other than members, lock files (".NAME.ajio-lock") and "sub" in DIR. */
static int txn_strays(const char *dir, bool top, char *first)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int stray = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        size_t len = strlen(nm);
        bool ok = strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 || (top && strcmp(nm, "sub") == 0) ||
                  (nm[0] == '.' && len > 10 && strcmp(nm + len - 10, ".ajio-lock") == 0);

        for (int f = 0; f < TXN_MEMBERS && !ok; f++) {
            char name[32];

            txn_name(f, name, sizeof(name));
            ok = strcmp(top ? name : name + 4, nm) == 0 && (strncmp(name, "sub/", 4) == 0) != top;
        }
        if (!ok && stray++ == 0)
            snprintf(first, NAME_MAX + 1, "%s", nm);
    }
    closedir(d);
    return stray;
}

/*
 * A transaction or a recovery: after it returned success the set is whole before any recovery
 * (new; old for a rollback); then ajio_recover() (which finishes a recovery the crash cut
 * short) must return success and leave the set whole: old or new for a commit, new after a
 * commit point, old before one; nothing but the members and lock files left.
 */
static void check_txn(int i, int j, int k, bool ret_ok, const char *base, struct tally *t)
{
    const struct job *jb = &jobs[j];
    int want = jb->sc == SC_RECOVER_FWD ? GEN_NEW : jb->sc == SC_RECOVER_BACK ? GEN_OLD : -1;
    int g, r, stray;
    char dir[PATH_MAX], first[NAME_MAX + 1];

    if (ret_ok) {
        g = txn_set(i, j, k, base, "after it returned, before recovery", t);
        if (g != GEN_NONE && g != (want < 0 ? GEN_NEW : want))
            violation(t, K_OLD_AFTER, i, jb, "crash point %d: the %s set after it returned", k,
                      g == GEN_OLD ? "old" : "new");
    }
    r = ajio_recover(base, NULL);
    if (r < 0) {
        violation(t, K_REPAIR, i, jb, "crash point %d (%s): ajio_recover: %s", k,
                  point_name(j, k), ajio_last_error());
        return;
    }
    t->swept += r == AJIO_REPAIRED;
    g = txn_set(i, j, k, base, "after ajio_recover()", t);
    if (g != GEN_NONE && ((want >= 0 && g != want) || (ret_ok && want < 0 && g != GEN_NEW)))
        violation(t, want == GEN_NEW || ret_ok ? K_OLD_AFTER : K_MIXED, i, jb,
                  "crash point %d (%s): the %s set after ajio_recover(), %s expected", k,
                  point_name(j, k), g == GEN_OLD ? "old" : "new",
                  want == GEN_OLD ? "old" : "new");
    for (int d = 0; d < 2; d++) {
        snprintf(dir, sizeof(dir), "%s%s", base, d == 0 ? "" : "/sub");
        stray = txn_strays(dir, d == 0, first);
        if (stray > 0)
            violation(t, K_LEFTOVER, i, jb, "crash point %d (%s): %d names (%s) left in %s "
                      "after ajio_recover()", k, point_name(j, k), stray, first, dir);
    }
}

/*
 * The generation "cur" resolves to: GEN_OLD or GEN_NEW when complete, GEN_NONE (and a
 * violation) otherwise. *target gets the symlink's text.
 */
static int pub_gen(int i, int j, int k, const char *base, const char *tree, const char *when,
                   struct tally *t, bool quiet)
{
    const struct job *jb = &jobs[j];
    int count[2] = {0, 0};
    char file[PATH_MAX];

    for (int f = 0; f < PUB_FILES; f++) {
        unsigned char *got, *old = make_content(jb->size, PUB_JOB(j, f), false),
                            *new = make_content(jb->size, PUB_JOB(j, f), true);
        ssize_t n;

        snprintf(file, sizeof(file), "%s/%s/%s", base, tree, pub_names[f]);
        n = slurp(file, &got);
        if (n == (ssize_t)jb->size && memcmp(got, old, jb->size) == 0)
            count[GEN_OLD]++;
        else if (n == (ssize_t)jb->size && memcmp(got, new, jb->size) == 0)
            count[GEN_NEW]++;
        else if (!quiet)
            violation(t, n == -1 ? K_MISSING : K_MIXED, i, jb, "crash point %d (%s), %s: "
                      "%s/%s holds %zd bytes, neither old nor new: a partial generation", k,
                      point_name(j, k), when, tree, pub_names[f], n);
        free(got);
        free(old);
        free(new);
    }
    if (count[GEN_OLD] == PUB_FILES)
        return GEN_OLD;
    if (count[GEN_NEW] == PUB_FILES)
        return GEN_NEW;
    if (!quiet && count[GEN_OLD] + count[GEN_NEW] == PUB_FILES)
        violation(t, K_MIXED, i, jb, "crash point %d (%s), %s: %s mixes generations", k,
                  point_name(j, k), when, tree);
    return GEN_NONE;
}

/*
 * A publish: "cur" a symlink to a complete generation, old or new (new once the publish
 * returned), before and after ajio_snapshot_gc(); after the gc only "cur", its generation and
 * "src" (a copy leaves it; a move that did not switch is moved back) remain; with a move the
 * new tree is whole behind "cur" or at "src", never lost.
 */
static void check_publish(int i, int j, int k, bool ret_ok, const char *base, struct tally *t)
{
    const struct job *jb = &jobs[j];
    char link[PATH_MAX], cur[PATH_MAX], first[NAME_MAX + 1] = "";
    int g, r, stray = 0;
    ssize_t m;
    DIR *d;
    struct dirent *e;

    for (int pass = 0; pass < 2; pass++) {
        const char *when = pass == 0 ? "before the gc" : "after ajio_snapshot_gc()";

        snprintf(cur, sizeof(cur), "%s/cur", base);
        m = readlink(cur, link, sizeof(link) - 1);
        if (m < 0) {
            violation(t, K_MISSING, i, jb, "crash point %d (%s), %s: %s is no symlink: %s", k,
                      point_name(j, k), when, cur, strerror(errno));
            return;
        }
        link[m] = '\0';
        g = pub_gen(i, j, k, base, "cur", when, t, false);
        if (g == GEN_OLD && ret_ok)
            violation(t, K_OLD_AFTER, i, jb, "crash point %d, %s: cur is old after the publish "
                      "returned", k, when);
        if (pass == 0) {
            r = ajio_snapshot_gc(cur, NULL);
            if (r < 0) {
                violation(t, K_REPAIR, i, jb, "crash point %d (%s): ajio_snapshot_gc: %s", k,
                          point_name(j, k), ajio_last_error());
                return;
            }
            t->swept += r;
        }
    }
    if (jb->sc == SC_PUBLISH_MOVE && g == GEN_OLD &&
        pub_gen(i, j, k, base, "src", "after ajio_snapshot_gc()", t, true) != GEN_NEW)
        violation(t, K_LOST_RECORDS, i, jb, "crash point %d (%s): cur is old and the moved tree "
                  "is not back whole at src", k, point_name(j, k));
    if (jb->sc == SC_PUBLISH && pub_gen(i, j, k, base, "src", "after the gc", t, true) != GEN_NEW)
        violation(t, K_MIXED, i, jb, "crash point %d (%s): the source src changed", k,
                  point_name(j, k));
    d = opendir(base);
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, "cur") == 0 || strcmp(e->d_name, link) == 0 ||
            (strcmp(e->d_name, "src") == 0 && (jb->sc == SC_PUBLISH || g == GEN_OLD)))
            continue;
        if (stray++ == 0)
            snprintf(first, sizeof(first), "%s", e->d_name);
    }
    if (d != NULL)
        closedir(d);
    if (stray > 0)
        violation(t, K_LEFTOVER, i, jb, "crash point %d (%s): %d names (%s) beside cur after "
                  "ajio_snapshot_gc()", k, point_name(j, k), stray, first);
}

static void check_writer(int i, int j, int k, int returned, int rc, char tstate, int mismatch,
                         int acked, struct tally *t)
{
    const struct job *jb = &jobs[j];
    enum scenario sc = jb->sc;
    char base[DIR_MAX - 16], path[PATH_MAX], dir[DIR_MAX], name[NAME_MAX + 1], file[PATH_MAX];
    char stray_name[NAME_MAX + 1];
    unsigned char *got, *again, *old = NULL, *new;
    ssize_t n, n2;
    int temps, stray, swept;
    enum kind kd;
    bool ret_ok = returned && rc >= 0;

    t->points++;
    t->returned += ret_ok;
    /* The tool exits 0 on success, the library returns >= 0 (AJIO_REPAIRED is one). */
    if (tstate != 't' || mismatch || (returned && (rc < 0 || (jb->api == API_CLI && rc != 0)))) {
        violation(t, K_HARNESS, i, jb,
                  "crash point %d: state '%c', mismatch %d (stopped at %s, the counting run "
                  "made %s), rc %d",
                  k, tstate, mismatch, stopped_at, point_name(j, k), rc);
        return;
    }
    snprintf(base, sizeof(base), "%s/w/%d", mnt, i);
    if (sc == SC_BATCH) {
        check_batch(i, j, k, ret_ok, base, t);
        return;
    }
    if (is_txn(sc)) {
        check_txn(i, j, k, ret_ok, base, t);
        return;
    }
    if (is_publish(sc)) {
        check_publish(i, j, k, ret_ok, base, t);
        return;
    }
    target_paths(base, sc, path, dir, name);
    snprintf(file, sizeof(file), "%s/%s", dir, name);
    new = make_content(jb->size, j, true);
    if (sc == SC_REPLACE || sc == SC_SYMLINK || sc == SC_UPDATE)
        old = make_content(OLD_LEN, j, false);

    if (is_append(sc)) {
        check_append(i, j, k, ret_ok, is_seq(sc) ? acked : ret_ok && sc != SC_REPAIR, file, t);
        n = slurp(file, &got); /* as the next append left it, for the sweep's comparison */
    } else if ((n = slurp(file, &got)) == -2) {
        violation(t, K_MIXED, i, jb, "crash point %d (%s): %s is not a readable regular file", k,
                  point_name(j, k), file);
    } else if ((kd = classify(got, n, old, OLD_LEN, new, jb->size, ret_ok)) != K_COUNT) {
        violation(t, kd, i, jb, "crash point %d, before %s: %s holds %zd bytes (old %d, new %zu)",
                  k, point_name(j, k), file, n, old != NULL ? OLD_LEN : -1, jb->size);
    }
    if (sc == SC_SYMLINK) {
        char link[PATH_MAX];
        ssize_t m = readlink(path, link, sizeof(link) - 1);

        if (m < 0 || (link[m] = '\0', strcmp(link, "real.json") != 0))
            violation(t, K_SYMLINK, i, jb,
                      "crash point %d: %s is no longer a symlink to "
                      "real.json",
                      k, path);
    }

    /* Leftovers: only the documented temp shape, at most one per killed writer. */
    {
        static const char *const none[] = {NULL};
        static const char *const lvl_a[] = {"a", NULL}, *const lvl_b[] = {"b", NULL},
                                 *const lvl_c[] = {"c", NULL};
        static const char *const plain[] = {"t.json", NULL};
        static const char *const link[] = {"t.json", "real.json", NULL};
        /* The lock file of updates and appends stays, by design (ajio.h). */
        static const char *const locked[] = {"t.json", ".t.json.ajio-lock", NULL};
        const char *const *allowed = sc == SC_SYMLINK                     ? link
                                     : sc == SC_UPDATE || is_append(sc) ? locked
                                                                          : plain;
        int s2 = 0;

        if (sc == SC_MKDIRS) {
            char p[PATH_MAX];

            list_dir(base, name, lvl_a, &stray, stray_name);
            s2 += stray;
            snprintf(p, sizeof(p), "%s/a", base);
            list_dir(p, name, lvl_b, &stray, stray_name);
            s2 += stray;
            snprintf(p, sizeof(p), "%s/a/b", base);
            list_dir(p, name, lvl_c, &stray, stray_name);
            s2 += stray;
        }
        (void)none;
        temps = list_dir(dir, name, allowed, &stray, stray_name);
        stray += s2;
        if (stray > 0 || temps > 1)
            violation(t, K_LEFTOVER, i, jb,
                      "crash point %d: %d temps and %d other names (%s) "
                      "in %s",
                      k, temps, stray, stray > 0 ? stray_name : "-", dir);
    }
    if (temps > 0) {
        static const char *const all[] = {"t.json", "real.json", ".t.json.ajio-lock", NULL};

        t->swept += temps;
        swept = ajio_sweep(dir, NULL, 0, 0);
        if (swept != temps)
            violation(t, K_SWEEP, i, jb, "ajio_sweep(%s) returned %d for %d temps (%s)", dir, swept,
                      temps, swept < 0 ? ajio_last_error() : "");
        if (list_dir(dir, name, all, &stray, stray_name) != 0)
            violation(t, K_SWEEP, i, jb, "temps remain in %s after ajio_sweep()", dir);
        n2 = slurp(file, &again);
        if (n2 != n || (n > 0 && memcmp(got, again, (size_t)n) != 0))
            violation(t, K_SWEEP, i, jb, "ajio_sweep() changed %s", file);
        free(again);
    }
    free(got);
    free(old);
    free(new);
}

/* The rest of a line after its first n space-separated fields (with the leading space). */
static const char *skip_fields(const char *line, int n)
{
    const char *p = line;

    while (n-- > 0 && (p = strchr(p + 1, ' ')) != NULL)
        ;
    return p != NULL ? p : "\n";
}

static int cmd_check(const char *state)
{
    FILE *in = fopen(state, "r");
    static char line[65536]; /* a J line names every system call of its job */
    struct tally *tallies;
    int with_cli;

    if (in == NULL)
        die("%s: %s", state, strerror(errno));
    if (fgets(line, sizeof(line), in) == NULL ||
        sscanf(line, "seed %" SCNu64 " cli %d", &seed, &with_cli) != 2)
        die("%s: bad header", state);
    make_jobs(with_cli);
    tallies = calloc((size_t)njobs, sizeof(*tallies));
    if (tallies == NULL)
        die("out of memory");
    while (fgets(line, sizeof(line), in) != NULL) {
        int i, j, k, returned, rc, mismatch, nsys, rename_at, a, sc, acked;
        size_t size;
        char tstate;

        if (sscanf(line, "J %d %d %d %zu %d %d", &j, &a, &sc, &size, &nsys, &rename_at) == 6) {
            if (j < 0 || j >= njobs || jobs[j].api != (enum api)a || jobs[j].size != size)
                die("%s: job table differs", state);
            jobs[j].nsys = nsys;
            jobs[j].rename_at = rename_at;
            seq_names[j] = strdup(skip_fields(line, 7));
            printf("SEQ %s %s %zu %d:%s", api_names[a], sc_names[sc], size, nsys, seq_names[j]);
            continue;
        }
        if (sscanf(line, "W %d %d %d %d %d %c %d %31s %d", &i, &j, &k, &returned, &rc, &tstate,
                   &mismatch, stopped_at, &acked) != 9 ||
            j < 0 || j >= njobs)
            die("%s: bad line: %s", state, line);
        check_writer(i, j, k, returned, rc, tstate, mismatch, acked, &tallies[j]);
    }
    fclose(in);
    for (int j = 0; j < njobs; j++) {
        const struct tally *t = &tallies[j];
        int bad = 0;

        for (int k = 0; k < K_COUNT; k++)
            bad += t->kinds[k];
        printf("RESULT %s %s %zu points %d returned %d violations %d swept %d records %d kept %d "
               "older %d",
               api_names[jobs[j].api], sc_names[jobs[j].sc], jobs[j].size, t->points, t->returned,
               bad, t->swept, t->records, t->kept_lines, t->older);
        for (int k = 0; k < K_COUNT; k++)
            if (t->kinds[k] > 0)
                printf(" %s=%d", kind_names[k], t->kinds[k]);
        putchar('\n');
    }
    free(tallies);
    return 0;
}

/* ---- group commit --------------------------------------------------------------------------- */

/*
 * crash_run group --mnt DIR --dev /dev/loopN --state FILE --seed N
 *       GROUP_PROCS processes append durably and at once to one file, mnt/g/log.jsonl (the first
 *       GROUP_LOGS through a log handle, the others with ajio_append()), untraced, as fast as they
 *       can, so that group commit lets most of them return without a sync of their own. Each
 *       append is 1 to GROUP_MAX_LINES records that name their writer (p), its append number (n)
 *       and their line in it (i), padded with letters that follow from the seed. A writer reports
 *       (p, n) through a pipe to this process only after the append returned success; this
 *       process keeps the reports in memory. At a moment drawn from the seed, the group-commit
 *       counters of the lock file are read, the filesystem is shut down (FS_IOC_SHUTDOWN, as a
 *       power cut), the writers are killed, the pipe is drained, and the reports go to the
 *       state file (tmpfs, not the crashed filesystem).
 *
 *   crash_run group-check --mnt DIR --state FILE
 *       After the recovery mount: every reported append must be in the file, all its lines
 *       intact and together; the file must be records only, each writer's appends in order and
 *       none twice, with at most one torn tail (a prefix of a record, or zeros) after the last
 *       line (the lines of an append cut short by the crash may precede it); the next append
 *       must repair that tail. Prints one GROUP line of key=value pairs.
 */
int ajio__group_counts(const char *lock_path, uint64_t *ret_written, uint64_t *ret_syncs);

#define GROUP_PROCS 6
#define GROUP_LOGS 4         /* writers 0..3 use a log handle, 4..5 ajio_append() */
#define GROUP_MAX_LINES 3    /* records per append */
#define GROUP_LINE_MAX 256   /* bytes per record, at most */
#define GROUP_READY 0xffffffffu
#define GROUP_FAIL 0x80000000u /* n | GROUP_FAIL: append n failed */
#define GROUP_AFTER 0x40000000u /* kept reports: returned after the shutdown ioctl returned */

static unsigned group_nlines(unsigned p, unsigned n)
{
    return 1 + (unsigned)(splitmix(seed * 7919u + (uint64_t)p * 1000003u + n) % GROUP_MAX_LINES);
}

/* Record line i of append n of writer p, into buf; returns its length (with the '\n'). */
static size_t group_line(unsigned p, unsigned n, unsigned i, char *buf)
{
    uint64_t h = splitmix((seed << 20) ^ ((uint64_t)p << 56) ^ ((uint64_t)n << 4) ^ i) | 1u;
    int m = snprintf(buf, GROUP_LINE_MAX, "{\"p\":%u,\"n\":%u,\"i\":%u,\"d\":\"", p, n, i);
    size_t pad = 4 + (size_t)(h % 150);

    for (size_t k = 0; k < pad; k++) {
        h ^= h << 13;
        h ^= h >> 7;
        h ^= h << 17;
        buf[(size_t)m + k] = (char)('a' + h % 26);
    }
    memcpy(buf + (size_t)m + pad, "\"}\n", 3);
    return (size_t)m + pad + 3;
}

/* A report: writer, append (or GROUP_READY, or n | GROUP_FAIL), and when the append returned. */
struct group_msg {
    uint32_t p, n;
    uint64_t ns; /* CLOCK_MONOTONIC, read after the return: no earlier than the return */
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void group_report(int fd, uint32_t p, uint32_t n)
{
    struct group_msg msg = {p, n, now_ns()};

    /* 16 bytes: atomic on a pipe, whole or not at all even when the writer is killed. */
    if (write(fd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
        _exit(1);
}

static void group_writer(unsigned p, const char *path, int go, int rep)
{
    char buf[GROUP_MAX_LINES * GROUP_LINE_MAX], c;
    ajio_log *log = NULL;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (p < GROUP_LOGS && ajio_log_open(&log, path, NULL) < 0) {
        group_report(rep, p, GROUP_FAIL);
        for (;;)
            pause();
    }
    group_report(rep, p, GROUP_READY);
    if (read(go, &c, 1) != 0) /* the parent closes its end: go */
        _exit(1);
    for (uint32_t n = 0; n < GROUP_FAIL; n++) {
        size_t len = 0;
        int r;

        for (unsigned i = 0; i < group_nlines(p, n); i++)
            len += group_line(p, n, i, buf + len);
        r = log != NULL ? ajio_log_append(log, buf, len) : ajio_append(path, buf, len, NULL);
        group_report(rep, p, r >= 0 ? n : n | GROUP_FAIL);
        if (r < 0) /* the shutdown (else a failure the check reports): nothing more to do */
            for (;;)
                pause();
    }
    _exit(1);
}

struct group_reports {
    uint32_t *n; /* append numbers; | GROUP_FAIL: returned after the shutdown began; | GROUP_AFTER:
                    after the shutdown ioctl returned */
    size_t len, cap;
};

static struct group_reports group_rep[GROUP_PROCS];
static int group_ready, group_failed, group_late_failed;

/*
 * Takes reports read from the pipe. An append that returned before the shutdown began (its
 * time is before shut_ns) is the promise under test: it returned before the power went. One
 * that returned after it is kept apart, for information only: no power cut lets a call return
 * after it, and a shutdown can (ext4 can let an fdatasync that began before the shutdown return
 * 0 after the shutdown aborted the journal commit it waited for).
 */
static void group_take(const struct group_msg *msgs, size_t count, uint64_t shut_ns,
                       uint64_t shut_end_ns, int gofd)
{
    for (size_t k = 0; k < count; k++) {
        uint32_t p = msgs[k].p, n = msgs[k].n;
        bool late = msgs[k].ns >= shut_ns;
        struct group_reports *g = &group_rep[p];

        if (p >= GROUP_PROCS)
            die("bad report");
        if (n == GROUP_READY) {
            if (++group_ready == GROUP_PROCS)
                close(gofd); /* go */
        } else if (n & GROUP_FAIL) {
            if (late)
                group_late_failed++;
            else
                group_failed++;
        } else {
            if (g->len == g->cap) {
                g->cap = g->cap ? 2 * g->cap : 4096;
                g->n = realloc(g->n, g->cap * sizeof(*g->n));
                if (g->n == NULL)
                    die("out of memory");
            }
            g->n[g->len++] = !late ? n : msgs[k].ns < shut_end_ns ? n | GROUP_FAIL
                                                                  : n | GROUP_FAIL | GROUP_AFTER;
        }
    }
}

static int cmd_group(const char *dev, const char *state)
{
    char dir[DIR_MAX], path[PATH_MAX], lock[PATH_MAX];
    struct group_msg msgs[256];
    pid_t pids[GROUP_PROCS];
    int gofd[2], repfd[2], mntfd, r, cr = -1;
    uint64_t written = 0, syncs = 0, shut_ns = UINT64_MAX, shut_end_ns = UINT64_MAX;
    double t0 = 0, delay, elapsed = 0;
    ssize_t got;
    FILE *out;

    snprintf(dir, sizeof(dir), "%s/g", mnt);
    snprintf(path, sizeof(path), "%s/log.jsonl", dir);
    snprintf(lock, sizeof(lock), "%s/.log.jsonl.ajio-lock", dir);
    if (mkdir(dir, 0755) < 0)
        die("mkdir %s: %s", dir, strerror(errno));
    write_file(path, "", 0);
    mntfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mntfd < 0 || syncfs(mntfd) < 0)
        die("syncfs %s: %s", mnt, strerror(errno));
    close(mntfd);
    if (pipe(gofd) < 0 || pipe(repfd) < 0)
        die("pipe: %s", strerror(errno));
    for (unsigned p = 0; p < GROUP_PROCS; p++) {
        pids[p] = fork();
        if (pids[p] < 0)
            die("fork: %s", strerror(errno));
        if (pids[p] == 0) {
            close(gofd[1]);
            close(repfd[0]);
            group_writer(p, path, gofd[0], repfd[1]);
        }
    }
    close(gofd[0]);
    close(repfd[1]);
    /* The shutdown comes 0.15 to 1.15 s after the start: well before ext4's 5 s commit. */
    delay = 0.15 + (double)(splitmix(seed ^ 0x5eed) % 1000) / 1000.0;
    for (;;) {
        if (shut_ns == UINT64_MAX && group_ready == GROUP_PROCS && now() >= t0 + delay) {
            /* The checks and the counters first: after the shutdown nothing can be read. */
            int fd = shutdown_fd(mnt, dev);

            cr = ajio__group_counts(lock, &written, &syncs);
            shut_ns = now_ns();
            r = shutdown_now(fd);
            shut_end_ns = now_ns();
            elapsed = now() - t0;
            for (unsigned p = 0; p < GROUP_PROCS; p++) {
                int st;

                kill(pids[p], SIGKILL);
                waitpid(pids[p], &st, 0);
            }
            if (r < 0)
                die("FS_IOC_SHUTDOWN of %s: %s", mnt, strerror(-r));
            continue;
        }
        if (shut_ns == UINT64_MAX) {
            struct pollfd pfd = {.fd = repfd[0], .events = POLLIN};
            int timeout = group_ready < GROUP_PROCS ? 10000 : (int)((t0 + delay - now()) * 1000) + 1;

            if (poll(&pfd, 1, timeout < 0 ? 0 : timeout) < 0 && errno != EINTR)
                die("poll: %s", strerror(errno));
            if (pfd.revents == 0) {
                if (group_ready < GROUP_PROCS)
                    die("group writers not ready after 10 s");
                continue;
            }
        }
        got = read(repfd[0], msgs, sizeof(msgs));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            die("read of the reports: %s", strerror(errno));
        if (got == 0) /* every writer is dead: drained */
            break;
        if (got % sizeof(msgs[0]) != 0)
            die("torn report");
        group_take(msgs, (size_t)got / sizeof(msgs[0]), shut_ns, shut_end_ns, gofd[1]);
        if (t0 == 0 && group_ready == GROUP_PROCS)
            t0 = now();
    }
    close(repfd[0]);
    out = fopen(state, "w");
    if (out == NULL)
        die("%s: %s", state, strerror(errno));
    fprintf(out, "group seed %" PRIu64 " procs %d written %" PRIu64 " syncs %" PRIu64
            " failed %d late_failed %d ms %d counts %d ioctl_us %d\n",
            seed, GROUP_PROCS, written, syncs, group_failed, group_late_failed,
            (int)(elapsed * 1000), cr, (int)((shut_end_ns - shut_ns) / 1000));
    for (unsigned p = 0; p < GROUP_PROCS; p++) {
        for (size_t k = 0; k < group_rep[p].len; k++)
            fprintf(out, "%c %u %" PRIu32 "\n",
                    group_rep[p].n[k] & GROUP_AFTER  ? 'A'
                    : group_rep[p].n[k] & GROUP_FAIL ? 'L'
                                                     : 'R',
                    p, group_rep[p].n[k] & ~(GROUP_FAIL | GROUP_AFTER));
        free(group_rep[p].n);
    }
    if (fclose(out) != 0)
        die("%s: %s", state, strerror(errno));
    fprintf(stderr, "crash_run group: shutdown after %.0f ms, %" PRIu64 " appends numbered, %"
            PRIu64 " syncs\n", elapsed * 1000, written, syncs);
    return 0;
}

/* Per writer: which appends came back whole, and the last one seen (order, duplicates). */
struct group_seen {
    unsigned char *have;
    size_t cap;
    long last;
};

static void group_mark(struct group_seen *s, uint32_t n)
{
    if (n >= s->cap) {
        size_t cap = s->cap ? s->cap : 4096;

        while (cap <= n)
            cap *= 2;
        s->have = realloc(s->have, cap);
        if (s->have == NULL)
            die("out of memory");
        memset(s->have + s->cap, 0, cap - s->cap);
        s->cap = cap;
    }
    s->have[n] = 1;
}

/* Parses the head of a record line: writer, append, line; false if it is not one. */
static bool group_parse(const char *p, size_t len, unsigned *ret_p, unsigned *ret_n,
                        unsigned *ret_i)
{
    char head[64];
    int used = 0;

    snprintf(head, sizeof(head), "%.*s", (int)(len < 63 ? len : 63), p);
    return sscanf(head, "{\"p\":%u,\"n\":%u,\"i\":%u,\"d\":\"%n", ret_p, ret_n, ret_i, &used) == 3 &&
           used > 0 && *ret_p < GROUP_PROCS && *ret_n < GROUP_FAIL && *ret_i < GROUP_MAX_LINES;
}

static int cmd_group_check(const char *state)
{
    FILE *in = fopen(state, "r");
    char line[256], path[PATH_MAX], want[GROUP_LINE_MAX];
    struct group_seen seen[GROUP_PROCS] = {{0}};
    struct tally t = {0};
    uint64_t written, syncs;
    int procs, failed, late_failed, ms, cr, ioctl_us, mixed_lines = 0;
    size_t reported = 0, late = 0, late_lost = 0, after = 0, after_lost = 0, present = 0,
           pos = 0, lastnl = 0;
    unsigned char *got = NULL, *again = NULL;
    unsigned cur_p = 0, cur_n = 0, cur_i = 0, cur_want = 0;
    ssize_t n, n2;
    bool open_group = false;

    if (in == NULL)
        die("%s: %s", state, strerror(errno));
    if (fgets(line, sizeof(line), in) == NULL ||
        sscanf(line, "group seed %" SCNu64 " procs %d written %" SCNu64 " syncs %" SCNu64
               " failed %d late_failed %d ms %d counts %d ioctl_us %d",
               &seed, &procs, &written, &syncs, &failed, &late_failed, &ms, &cr, &ioctl_us) != 9 ||
        procs != GROUP_PROCS)
        die("%s: bad header", state);
    for (int p = 0; p < GROUP_PROCS; p++)
        seen[p].last = -1;
    snprintf(path, sizeof(path), "%s/g/log.jsonl", mnt);
    n = slurp(path, &got);
    if (n == -2)
        die("%s: not a readable regular file", path);
    /* The records, line by line; an append's lines together and in order. */
    while (n > 0 && pos < (size_t)n) {
        unsigned char *nl = memchr(got + pos, '\n', (size_t)n - pos);
        size_t len, wl;
        unsigned p, a, i;

        if (nl == NULL)
            break; /* the torn tail */
        len = (size_t)(nl - (got + pos)) + 1;
        if (!group_parse((const char *)got + pos, len, &p, &a, &i) ||
            (wl = group_line(p, a, i, want)) != len || memcmp(want, got + pos, len) != 0 ||
            (i == 0) == open_group || (i > 0 && (p != cur_p || a != cur_n || i != cur_i + 1))) {
            if (mixed_lines++ == 0 && shown++ < MAX_SHOWN)
                fprintf(stderr, "VIOLATION mixed: group: %s: the line at byte %zu (%zu bytes) is "
                        "no record in its place\n", path, pos, len);
            open_group = false;
        } else {
            if (i == 0) {
                cur_p = p;
                cur_n = a;
                cur_want = group_nlines(p, a);
                open_group = true;
            }
            cur_i = i;
            if (i + 1 == cur_want) {
                open_group = false;
                if ((long)a <= seen[p].last) {
                    if (mixed_lines++ == 0 && shown++ < MAX_SHOWN)
                        fprintf(stderr, "VIOLATION mixed: group: append %u of writer %u at byte "
                                "%zu after append %ld\n", a, p, pos, seen[p].last);
                } else {
                    seen[p].last = a;
                    group_mark(&seen[p], a);
                    present++;
                }
            }
        }
        pos += len;
        lastnl = pos;
    }
    /* The torn tail: a record's first bytes, or zeros where they did not reach the disk. */
    if (n > 0 && lastnl < (size_t)n) {
        size_t tl = (size_t)n - lastnl;
        unsigned p, a, i;
        bool ok = all_zero(got + lastnl, tl);

        if (!ok && group_parse((const char *)got + lastnl, tl, &p, &a, &i)) {
            size_t wl = group_line(p, a, i, want);

            ok = tl < wl;
            for (size_t k = 0; ok && k < tl; k++)
                ok = got[lastnl + k] == (unsigned char)want[k] || got[lastnl + k] == 0;
        } else if (!ok) {
            ok = tl < 40 && memchr(got + lastnl, '\n', tl) == NULL; /* too short for a head */
        }
        if (!ok) {
            mixed_lines++;
            if (shown++ < MAX_SHOWN)
                fprintf(stderr, "VIOLATION mixed: group: %s: the %zu bytes after the last line "
                        "are no torn record\n", path, tl);
        }
    }
    t.kinds[K_MIXED] = mixed_lines;
    /*
     * Every append that returned before the shutdown began (R), whole. Those that returned after
     * it (L) are only counted: no power cut lets a call return after it.
     */
    while (fgets(line, sizeof(line), in) != NULL) {
        unsigned p;
        uint32_t a;
        char c;

        if (sscanf(line, "%c %u %" SCNu32, &c, &p, &a) != 3 ||
            (c != 'R' && c != 'L' && c != 'A') || p >= GROUP_PROCS)
            die("%s: bad line: %s", state, line);
        if (c == 'L') {
            late++;
            late_lost += a >= seen[p].cap || !seen[p].have[a];
            continue;
        }
        if (c == 'A') {
            after++;
            after_lost += a >= seen[p].cap || !seen[p].have[a];
            continue;
        }
        reported++;
        if (a >= seen[p].cap || !seen[p].have[a]) {
            t.kinds[K_LOST_RECORDS]++;
            if (shown++ < MAX_SHOWN)
                fprintf(stderr, "VIOLATION records-lost-after-success: group: append %" PRIu32
                        " of writer %u returned 0 and reported, not in %s (%zd bytes; the "
                        "writer's last append there: %ld)\n", a, p, path, n, seen[p].last);
        }
    }
    fclose(in);
    if (failed > 0) {
        t.kinds[K_HARNESS] += failed;
        fprintf(stderr, "VIOLATION harness: group: %d appends failed before the shutdown\n",
                failed);
    }
    if (reported == 0 || cr != 0) {
        t.kinds[K_HARNESS]++;
        fprintf(stderr, "VIOLATION harness: group: %zu appends reported, counters %s\n",
                reported, cr == 0 ? "read" : "unreadable");
    }
    /* The next append must cut the torn tail and add its record after the last line. */
    if (n >= 0) {
        static const char rec[] = "\"after the crash\"\n";
        ajio_opts nosync = {.flags = AJIO_NO_SYNC};
        int rr = ajio_append(path, rec, strlen(rec), &nosync);

        n2 = slurp(path, &again);
        if (rr != (lastnl == (size_t)n ? 0 : AJIO_REPAIRED) ||
            n2 != (ssize_t)(lastnl + strlen(rec)) || memcmp(again, got, lastnl) != 0 ||
            memcmp(again + lastnl, rec, strlen(rec)) != 0) {
            t.kinds[K_REPAIR]++;
            fprintf(stderr, "VIOLATION repair: group: the next append to %s (%zd bytes, %zu "
                    "after the last newline) returned %d and left %zd bytes\n",
                    path, n, (size_t)n - lastnl, rr, n2);
        }
        free(again);
    }
    printf("GROUP procs=%d reported=%zu present=%zu bytes=%zd tail=%zu written=%" PRIu64
           " syncs=%" PRIu64 " ms=%d ioctl-us=%d late-reported=%zu late-lost=%zu "
           "after-reported=%zu after-lost=%zu late-failed=%d",
           GROUP_PROCS, reported, present, n, n > 0 ? (size_t)n - lastnl : 0, written, syncs, ms,
           ioctl_us, late, late_lost, after, after_lost, late_failed);
    {
        int bad = 0;

        for (int k = 0; k < K_COUNT; k++)
            bad += t.kinds[k];
        printf(" violations=%d", bad);
        for (int k = 0; k < K_COUNT; k++)
            if (t.kinds[k] > 0)
                printf(" %s=%d", kind_names[k], t.kinds[k]);
    }
    putchar('\n');
    for (int p = 0; p < GROUP_PROCS; p++)
        free(seen[p].have);
    free(got);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dev = NULL, *state = NULL;
    int i;

    if (argc < 2)
        die("usage: crash_run crash|check|group|group-check|probe --mnt DIR [--dev DEV] "
            "[--state FILE] "
            "[--seed N] [--cli PATH] [--only SCENARIO,...]");
    for (i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--mnt") == 0)
            mnt = argv[i + 1];
        else if (strcmp(argv[i], "--dev") == 0)
            dev = argv[i + 1];
        else if (strcmp(argv[i], "--state") == 0)
            state = argv[i + 1];
        else if (strcmp(argv[i], "--seed") == 0)
            seed = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--cli") == 0)
            cli = argv[i + 1];
        else if (strcmp(argv[i], "--only") == 0)
            only = argv[i + 1];
        else
            die("unknown option %s", argv[i]);
    }
    if (i != argc || mnt == NULL)
        die("bad arguments");
    if (strcmp(argv[1], "probe") == 0) {
        int r;

        if (dev == NULL)
            die("probe needs --dev");
        r = safe_shutdown(mnt, dev);
        if (r == -ENOTTY || r == -EOPNOTSUPP || r == -EINVAL)
            return 3;
        if (r < 0)
            die("shutdown: %s", strerror(-r));
        return 0;
    }
    if (state == NULL)
        die("%s needs --state", argv[1]);
    if (strcmp(argv[1], "check") == 0)
        return cmd_check(state);
    if (strcmp(argv[1], "group-check") == 0)
        return cmd_group_check(state);
    if (strcmp(argv[1], "group") == 0) {
        if (dev == NULL)
            die("group needs --dev");
        return cmd_group(dev, state);
    }
    if (strcmp(argv[1], "crash") == 0) {
        static char wd[PATH_MAX];
        char *slash;

        if (dev == NULL)
            die("crash needs --dev");
        snprintf(wd, sizeof(wd), "%s", state);
        slash = strrchr(wd, '/');
        if (slash == NULL)
            die("--state needs a directory part");
        *slash = '\0';
        workdir = wd;
        return cmd_crash(dev, state);
    }
    die("unknown command %s", argv[1]);
}

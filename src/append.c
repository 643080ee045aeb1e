/*
 * append.c - appending records to a file in place, ajio_append(), and the repair of a torn last
 * line, ajio_repair().
 *
 * An append cannot be atomic the way a replace is: the file grows where it is. What can be kept
 * is that records never mix and that a failed append leaves nothing behind:
 *
 *   - Appenders take the target's lock (lock.c), the same one as AJIO_LOCK and ajio_update().
 *     O_APPEND alone makes each write(2) land at the end, but a large record may take several
 *     writes (a short write, a signal), and another appender's write can land between them.
 *   - A failed write or sync is undone with ftruncate(2) back to the size before the append, so
 *     the caller can retry without duplicating a record.
 *   - A crash can still leave a partial record at the end: the next append (or ajio_repair())
 *     finds it and repairs it before writing. What it may do with bytes at the end depends on
 *     who wrote them, which the lock file records (lock.c): the size after the last append that
 *     finished (committed) and the start of one under way (pending). See repair_tail().
 */
#include "internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U /* Linux 6.8: a mount id never reused within a boot */
#endif

/* Flags that mean something for an append or a repair; the flags of a replace do not. */
#define APPEND_FLAGS                                                                               \
    (AJIO_NO_SYNC | AJIO_NO_MKDIR | AJIO_NO_FOLLOW | AJIO_JSONL | AJIO_LOCK | AJIO_NO_REPAIR |     \
     AJIO_LOCK_TIMEOUT | AJIO_INTERRUPTIBLE)
#define REPAIR_FLAGS                                                                               \
    (AJIO_NO_SYNC | AJIO_NO_FOLLOW | AJIO_JSONL | AJIO_LOCK | AJIO_LOCK_TIMEOUT | AJIO_INTERRUPTIBLE)

/* Bytes of a cut tail shown in the message. */
#define SHOWN_MAX 80

/* The file as opened for an append or a repair, and what its tail was. */
struct opened {
    int wfd;       /* O_RDWR|O_APPEND: the tail read with pread, the writes, the cut, the syncs */
    bool created;  /* this call created the file */
    off_t size;    /* size once the tail is repaired: where this append starts */
    bool repaired; /* a torn tail was cut or terminated */
    size_t cut;    /* bytes cut off (0 when terminated) */
    struct stat st; /* the file as opened: its identity for group commit and rotation */
    uint64_t mnt;   /* unique id of the mount it was opened through, 0 if unknown */
    struct ajio__state rec; /* what the lock file records, as read under the current lock */
};

/*
 * The target of an append, on the heap as a handle is (its two PATH_MAX buffers would not fit a
 * small thread stack: ajio.h, "Stack"); released by release(). NULL (message set) without memory.
 */
static struct ajio__target *new_target(const char *path)
{
    struct ajio__target *t = malloc(sizeof(*t));

    if (t == NULL) {
        (void)ajio__error_strerror(-ENOMEM, "allocation of a handle for \"%s\"",
                                   path != NULL ? path : "(null)");
        return NULL;
    }
    ajio__target_init(t);
    return t;
}

static int check_flags(const char *path, unsigned flags, unsigned allowed, const char *what)
{
    if (flags & ~allowed)
        return ajio__error(-EINVAL, "%s of \"%s\": option flags 0x%x are not for %ss", what, path,
                           flags & ~allowed, what);
    return 0;
}

/*
 * Opens the target for reading and appending (creating it when create is set): one descriptor
 * for the tail's check, the records, the cut and the syncs. An existing file is opened first,
 * the common case; creation uses O_EXCL so that "created" is true only for the call that made
 * the file and owes its directory a sync. O_NOFOLLOW: the resolution already followed the
 * symlinks the options allow, so a symlink here appeared since, and is not followed. O_NONBLOCK:
 * a FIFO planted under the name must not hang the open; only a regular file is used.
 */
static int open_target(struct ajio__target *f, struct opened *t, bool create)
{
    const int flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;

    t->created = false;
    for (int tries = 0;; tries++) {
        t->wfd = openat(f->dirfd, f->name, flags);
        if (t->wfd >= 0)
            break;
        if (errno != ENOENT || !create || tries >= 3)
            return ajio__error_strerror(-errno, "open of \"%s\" to append to it", f->path);
        t->wfd = openat(f->dirfd, f->name, flags | O_CREAT | O_EXCL, 0666);
        if (t->wfd >= 0) {
            t->created = true;
            break;
        }
        /* Someone else created it meanwhile (a writer that does not lock): open that. */
        if (errno != EEXIST || tries >= 3)
            return ajio__error_strerror(-errno, "create of \"%s\" to append to it", f->path);
    }
    /*
     * The rules are checked on the file actually opened, not on an earlier look at the name:
     * anyone who may write the directory can swap what the name holds in between.
     */
    int r = 0;
    struct statx sx;

    /*
     * One statx for the stat and the mount's unique id (0 where the kernel has none: Linux 6.8).
     * On a shared filesystem the size is asked of the server: a cached one may predate another
     * client's appends, and this append would land in the middle of them.
     */
    int sync = f->fs_shared ? AT_STATX_FORCE_SYNC : 0;
    if (statx(t->wfd, "", AT_EMPTY_PATH | sync, STATX_BASIC_STATS | STATX_MNT_ID_UNIQUE, &sx) <
        0) {
        r = ajio__error_strerror(-errno, "statx of \"%s\" opened to append", f->path);
    } else {
        memset(&t->st, 0, sizeof(t->st));
        t->st.st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
        t->st.st_ino = sx.stx_ino;
        t->st.st_mode = sx.stx_mode;
        t->st.st_uid = sx.stx_uid;
        t->st.st_gid = sx.stx_gid;
        t->st.st_size = (off_t)sx.stx_size;
        t->mnt = (sx.stx_mask & STATX_MNT_ID_UNIQUE) ? sx.stx_mnt_id : 0;
    }
    if (r == 0 && !S_ISREG(t->st.st_mode))
        r = ajio__error(-EINVAL, "\"%s\" is not a regular file: nothing is appended to it",
                        f->path);
    else if (r == 0 && !t->created)
        r = ajio__check_regular(f, &t->st);
    if (r < 0) {
        (void)close(t->wfd); /* nothing was written through it */
        t->wfd = -1;
        return r;
    }
    t->size = t->st.st_size;
    return 0;
}

/* Reads exactly len bytes at off (the file is locked and does not shrink under us). */
static int pread_all(struct ajio__target *f, int fd, void *buf, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pread(fd, buf, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ajio__error_strerror(-errno, "read of the last line of \"%s\"", f->path);
        }
        if (n == 0)
            return ajio__error(-EIO, "read of the last line of \"%s\": the file shrank", f->path);
        buf = (char *)buf + n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/*
 * Where the last line starts: just after the last '\n', found by reading backwards from the end
 * in chunks of f->scratch (a heap buffer), so a long torn tail costs no more memory than a short
 * one. @return 0 and *ret_start (t->size when the file ends with '\n' or is empty), or -errno.
 */
static int find_last_line(struct ajio__target *f, const struct opened *t, off_t *ret_start)
{
    char *buf = f->scratch;
    off_t pos = t->size;

    while (pos > 0) {
        size_t n = pos < (off_t)sizeof(f->scratch) ? (size_t)pos : sizeof(f->scratch);
        int r = pread_all(f, t->wfd, buf, n, pos - (off_t)n);

        if (r < 0)
            return r;
        for (size_t i = n; i > 0; i--)
            if (buf[i - 1] == '\n') {
                *ret_start = pos - (off_t)n + (off_t)i;
                return 0;
            }
        pos -= (off_t)n;
    }
    *ret_start = 0;
    return 0;
}

/*
 * Where the tail ends without the zeros at its end. A crash between a write at the end and its
 * fdatasync can leave the new size on disk without the bytes, which read back as zeros (ext4
 * logs the size of a write into a block the file already has before the data): the '\n' of an
 * interrupted termination comes back as a zero, and the value before it is still whole.
 */
static int tail_end(struct ajio__target *f, const struct opened *t, off_t start, off_t *ret_end)
{
    off_t pos = t->size;

    while (pos > start) {
        size_t n = pos - start < (off_t)sizeof(f->scratch) ? (size_t)(pos - start)
                                                           : sizeof(f->scratch);
        int r = pread_all(f, t->wfd, f->scratch, n, pos - (off_t)n);

        if (r < 0)
            return r;
        for (size_t i = n; i > 0; i--)
            if (f->scratch[i - 1] != '\0') {
                *ret_end = pos - (off_t)n + (off_t)i;
                return 0;
            }
        pos -= (off_t)n;
    }
    *ret_end = start;
    return 0;
}

/* Whether the bytes [start, end) are one complete JSON value (streamed through a validator). */
static int tail_is_value(struct ajio__target *f, const struct opened *t, off_t start, off_t end,
                         bool *ret)
{
    ajio_json_checker *c;
    int r = ajio_json_checker_new(&c, AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED, 0);

    if (r < 0)
        return ajio__error_strerror(r, "validator for the last line of \"%s\"", f->path);
    for (off_t pos = start; pos < end && r == 0;) {
        size_t n = end - pos < (off_t)sizeof(f->scratch) ? (size_t)(end - pos)
                                                         : sizeof(f->scratch);
        r = pread_all(f, t->wfd, f->scratch, n, pos);
        if (r < 0)
            break;
        /* An invalid byte is an answer, not a failure: the tail is then torn. */
        (void)ajio_json_checker_feed(c, f->scratch, n);
        pos += (off_t)n;
    }
    if (r == 0)
        *ret = ajio_json_checker_finish(c) == 0;
    ajio_json_checker_free(c);
    return r;
}

/* "cut N bytes ...: "<the first SHOWN_MAX bytes, escaped>"" as the thread's message. */
static void describe_cut(struct ajio__target *f, const struct opened *t, off_t start)
{
    char raw[SHOWN_MAX], shown[4 * SHOWN_MAX + 1];
    size_t n = t->cut < SHOWN_MAX ? t->cut : SHOWN_MAX, k = 0;

    /* Called before the cut, while the bytes are still there to be shown. */
    if (pread_all(f, t->wfd, raw, n, start) < 0)
        n = 0; /* the message only loses the text; the repair itself is what counts */
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)raw[i];

        if (ch == '"' || ch == '\\')
            k += (size_t)snprintf(shown + k, sizeof(shown) - k, "\\%c", ch);
        else if (ch >= 0x20 && ch < 0x7f)
            shown[k++] = (char)ch;
        else
            k += (size_t)snprintf(shown + k, sizeof(shown) - k, "\\x%02x", ch);
    }
    shown[k] = '\0';
    (void)ajio__error(1, "repair of \"%s\": cut %zu bytes after the last complete line: \"%s\"%s",
                      f->path, t->cut, shown, t->cut > n ? "..." : "");
}

static int sync_file(struct ajio__target *f, const struct opened *t, const char *step)
{
    if (f->flags & AJIO_NO_SYNC)
        return 0;
#ifdef AJIO_TEST_OMIT_APPEND_SYNC /* negative control of the power-cut suite only */
    return 0;
#endif
    if (fdatasync(t->wfd) < 0)
        return ajio__error_strerror(-errno, "fdatasync of \"%s\" after %s", f->path, step);
    return 0;
}

/* The first byte of [start, end) that is not JSON whitespace, or 0 if there is none. */
static int first_byte(struct ajio__target *f, const struct opened *t, off_t start, off_t end,
                      char *ret)
{
    *ret = 0;
    for (off_t pos = start; pos < end;) {
        size_t n = end - pos < (off_t)sizeof(f->scratch) ? (size_t)(end - pos)
                                                         : sizeof(f->scratch);
        int r = pread_all(f, t->wfd, f->scratch, n, pos);

        if (r < 0)
            return r;
        for (size_t i = 0; i < n; i++)
            if (f->scratch[i] != ' ' && f->scratch[i] != '\t' && f->scratch[i] != '\r') {
                *ret = f->scratch[i];
                return 0;
            }
        pos += (off_t)n;
    }
    return 0;
}

/*
 * Whether [start, end) is one complete JSON value that delimits itself: an object, an array or a
 * string. A number or a literal may be the prefix of a longer one ("123" of "12345", "tru" is
 * not, but "true" may be that of nothing and "1" of "10"): its end is never certain.
 */
static int tail_is_whole(struct ajio__target *f, const struct opened *t, off_t start, off_t end,
                         bool *ret)
{
    char c;
    int r = first_byte(f, t, start, end, &c);

    *ret = false;
    if (r < 0 || (c != '{' && c != '[' && c != '"'))
        return r;
    return tail_is_value(f, t, start, end, ret);
}

/* Cuts the file back to start, the message naming what was cut. */
static int cut_tail(struct ajio__target *f, struct opened *t, off_t start)
{
    int r;

    t->cut = (size_t)(t->size - start);
    /* First: the message stays unless the cut or its sync fail (and then tell why). */
    describe_cut(f, t, start);
    if (ftruncate(t->wfd, start) < 0)
        return ajio__error_strerror(-errno, "ftruncate of \"%s\" to cut its torn last line",
                                    f->path);
    r = sync_file(f, t, "cutting its torn last line");
    if (r < 0)
        return r;
    t->size = start;
    t->repaired = true;
    return 0;
}

/* Ends the last line at end (zeros after it dropped first) with the '\n' it lacks. */
static int terminate_tail(struct ajio__target *f, struct opened *t, off_t end, const char *whose)
{
    struct iovec iov = {(void *)"\n", 1};
    int r;

    /* The zeros after the value go first: the '\n' belongs right after it. */
    if (end < t->size) {
        if (ftruncate(t->wfd, end) < 0)
            return ajio__error_strerror(-errno, "ftruncate of \"%s\" to the end of its last value",
                                        f->path);
        t->size = end;
    }
    r = ajio__writev_all(t->wfd, &iov, 1);
    if (r < 0)
        return ajio__error_strerror(r, "write of the missing newline at the end of \"%s\"",
                                    f->path);
    r = sync_file(f, t, "terminating its last line");
    if (r < 0)
        return r;
    t->size++;
    t->cut = 0;
    t->repaired = true;
    (void)ajio__error(1, "repair of \"%s\": terminated the last line (%s)", f->path, whose);
    return 0;
}

/*
 * Whether the lock file's record speaks of the file opened. On a shared filesystem each client
 * has a device number of its own for the mount, so the inode number alone tells (a replace of
 * the file gives it a new one).
 */
static bool same_file(const struct ajio__target *f, const struct ajio__state *st,
                      const struct opened *t)
{
    return st->ino == (uint64_t)t->st.st_ino && (f->fs_shared || st->dev == (uint64_t)t->st.st_dev);
}

/*
 * On a shared filesystem, whether the last line, from start, is what an append of this library
 * left when it died: the record says one was under way and the line began at or after its
 * start. Under the cluster-wide lock nobody else appends meanwhile, and an append is durable
 * before its lock goes, so only its bytes after the last newline can be torn, and none of them
 * was acknowledged. Without a pending record the bytes are someone else's (a writer that does not
 * use the library, or a client whose record never reached the server) and are kept.
 */
static bool dead_append(const struct ajio__state *st, off_t start)
{
    return st->pending && st->pending_start <= (uint64_t)start;
}

/*
 * The repair of the end of the file, before an append (explicit false) or by ajio_repair()
 * (explicit true), with st what the lock file records. Who wrote the bytes at the end decides
 * what may be done with them:
 *
 *   an append of ours that did not finish (the record says one was under way, and the record is
 *   exact: written in this boot on this mount, so nothing was lost since): everything from where
 *   it started is cut, complete lines included, since none of it was acknowledged;
 *
 *   possibly ours, from before a power cut (a record of this file that is not exact): a durable
 *   append returns only once its '\n' is on disk, so the bytes after the last '\n' were never
 *   acknowledged. A JSONL tail that is a whole self-delimiting value is kept and terminated (the
 *   zeros after it are the '\n' of a repair that did not reach the disk); anything else is cut;
 *
 *   someone else's (the exact record says our appends ended before them, or there is no record
 *   of this file, or the file was cut short or rewritten in place since: ">>", ">", an editor):
 *   never deleted by an append. Text gets the '\n' they lack;
 *   JSONL is terminated if the tail is a whole self-delimiting value and refused (AJIO_ETORN)
 *   otherwise, where ajio_repair(), asked to repair, cuts it.
 *
 * Idempotent, so a crash in the middle is harmless: it only shortens the file or appends one
 * '\n', and a second run on either outcome ends in the same state.
 * @return 0 (t->repaired, t->cut and t->size say what it did), or AJIO_ETORN, or -errno.
 */
static int repair_tail(struct ajio__target *f, struct opened *t, const struct ajio__state *st,
                       bool explicit)
{
    bool known = st->valid && same_file(f, st, t);
    bool ours = known && st->exact && st->pending && st->pending_start <= (uint64_t)t->size;
    bool value = false;
    off_t start, end;
    int r;

    t->repaired = false;
    t->cut = 0;
#ifdef AJIO_TEST_NO_COMMITTED /* negative control of the trust suite only: 0.2's guesswork */
    known = ours = false;
#endif
#ifdef AJIO_TEST_TRUST_STALE /* negative control of the power-cut suite only: any record exact */
    ours = known && st->pending && st->pending_start <= (uint64_t)t->size;
#endif
    /* Our own last append ended right there: nothing to read. */
    if (known && st->exact && !st->pending && st->committed == (uint64_t)t->size)
        return 0;
    if (ours) {
        start = (off_t)st->pending_start;
        if (start == t->size)
            return 0;
    } else {
        r = find_last_line(f, t, &start);
        if (r < 0 || start == t->size)
            return r;
    }
    if (f->flags & AJIO_NO_REPAIR)
        return ajio__error(AJIO_ETORN,
                           "\"%s\" ends with %lld bytes after its last complete append (a torn "
                           "append?); not repaired (AJIO_NO_REPAIR)",
                           f->path, (long long)(t->size - start));
    if (ours)
        return cut_tail(f, t, start);
    /*
     * Zeros at the very end are what a power cut leaves of bytes that never reached the disk
     * (a '\n' of a repair, say): nobody's data. They go before the tail is judged, and a tail of
     * zeros alone is cut.
     */
    r = tail_end(f, t, start, &end);
    if (r == 0 && end > start && (f->flags & AJIO_JSONL))
        r = tail_is_whole(f, t, start, end, &value);
    if (r < 0)
        return r;
    if (end == start || (known && !st->exact && (!f->fs_shared || dead_append(st, start)))) {
        if (value)
            return terminate_tail(f, t, end, "a complete JSON value without its newline");
        return cut_tail(f, t, start);
    }
    /* Someone else's bytes. */
    if (!(f->flags & AJIO_JSONL))
        return terminate_tail(f, t, end, "text that another writer left without a newline");
    if (value)
        return terminate_tail(f, t, end, "a complete JSON value without its newline");
    if (explicit)
        return cut_tail(f, t, start);
    return ajio__error(AJIO_ETORN,
                       "\"%s\" ends with %lld bytes after its last newline that no append of "
                       "this library left and that are not a complete JSON value; nothing is "
                       "appended after them (ajio_repair() cuts them)",
                       f->path, (long long)(t->size - start));
}

/*
 * Records in the lock file where the file stands: its size after the last append or repair that
 * finished (committed), an append under way from pending_start (pending), and with ticket one
 * more group commit ticket, the last. Called under the lock, t->rec as read under it. When the
 * record starts to speak of another file (the first append, a rotated log), the lock file is
 * synced once, so that after a power cut it speaks of the file that is there.
 */
static int record(struct ajio__target *f, struct opened *t, bool pending, off_t pending_start,
                  off_t committed, bool ticket)
{
    struct ajio__state n = t->rec;
    bool switched = !n.valid || !same_file(f, &n, t);
    int r;

    if (switched) {
        n.dev = (uint64_t)t->st.st_dev;
        n.ino = (uint64_t)t->st.st_ino;
        n.epoch = n.written + 1; /* the tickets of this file start with the next one */
    }
    if (switched && !(f->flags & AJIO_NO_SYNC) && !f->fs_shared) {
        r = ajio__group_reserve(f->lockfd);
        if (r < 0)
            return ajio__error_strerror(r, "fallocate of the lock file of \"%s\"", f->path);
    }
    n.pending = pending;
    n.pending_start = (uint64_t)pending_start;
    n.committed = (uint64_t)committed;
    if (ticket)
        n.written++;
    r = ajio__state_write(f->lockfd, t->mnt, &n);
    if (r == 0 && switched && !(f->flags & AJIO_NO_SYNC) && fdatasync(f->lockfd) < 0)
        r = -errno;
    if (r < 0)
        return ajio__error_strerror(r, "write of the lock file of \"%s\"", f->path);
    n.valid = true;
    t->rec = n;
    return 0;
}

static int read_record(struct ajio__target *f, struct opened *t)
{
    int r = ajio__state_read(f->lockfd, t->mnt, &t->rec);

    if (r < 0)
        return ajio__error_strerror(r, "read of the lock file of \"%s\"", f->path);
    /*
     * On a shared filesystem a record is never taken as exact: a server that lost power may
     * bring back an older one, and no boot id tells. The repair then cuts only what follows the
     * last newline of a file the record names, which no durable append ever acknowledged.
     */
    if (f->fs_shared)
        t->rec.exact = false;
    return 0;
}

/* The tail repaired as the lock file's record says, and the repair recorded. */
static int repair_recorded(struct ajio__target *f, struct opened *t, bool explicit)
{
    int r = read_record(f, t);

    if (r == 0)
        r = repair_tail(f, t, &t->rec, explicit);
    if (r == 0 && t->repaired)
        r = record(f, t, false, 0, t->size, false);
    return r;
}

/*
 * The target opened (created when create is set) and its tail repaired, the lock held. A file
 * this call created gets its directory synced before anything is in it.
 */
static int open_and_repair(struct ajio__target *f, struct opened *t, bool create, bool explicit)
{
    int r = open_target(f, t, create);

    if (r < 0)
        return r;
    if (t->created && !(f->flags & AJIO_NO_SYNC)) {
        /*
         * The new name on disk before any record is in the file: should this sync fail, the
         * empty file is removed and nothing was appended. ajio__sync_new_dirs() syncs through
         * the file when the directory is O_PATH.
         */
        r = ajio__sync_new_dirs(f, t->wfd);
        if (r == 0) {
            r = ajio__sync_dir_fd(f->dirfd, f->dir_opath, t->wfd);
            if (r < 0)
                (void)ajio__error_strerror(r, "%s of directory \"%.*s\" after creating \"%s\"",
                                           f->dir_opath ? "syncfs" : "fsync", AJIO__DIR_ARG(f),
                                           f->path);
        }
        if (r < 0) {
            if (unlinkat(f->dirfd, f->name, 0) < 0)
                ajio__error_append(" (and the new empty file could not be removed: %s)",
                                   ajio_strerror(-errno));
            return r;
        }
    }
    return repair_recorded(f, t, explicit);
}

/*
 * Everything before the first byte of the records: the resolution, the target's lock, the target
 * opened and its tail repaired. f->flags carries AJIO__APPENDING.
 */
static int prepare(struct ajio__target *f, struct opened *t, const char *path,
                   const ajio_opts *opts, unsigned flags, bool create)
{
    int r;

    f->flags = flags | AJIO_LOCK | AJIO__APPENDING | (create ? 0 : AJIO_NO_MKDIR);
    r = ajio__resolve_locked(f, NULL, NULL, path, opts, -1);
    if (r < 0)
        return r;
    if (!create && !f->exists)
        return ajio__error(-ENOENT, "repair of \"%s\": no such file", f->path);
    return open_and_repair(f, t, create, !create);
}

/* Closes what prepare() opened; the write fd is closed (and its error reported) by the caller. */
static void release(struct ajio__target *f, struct opened *t)
{
    if (t->wfd >= 0)
        (void)close(t->wfd); /* only after a failure, whose error is the one that matters */
    t->wfd = -1;
    ajio__target_close(f); /* the directory, then the target's lock, last */
    free(f);
}

/*
 * The size before this append, restored after a failure, and recorded; the message gets what
 * could not be done.
 */
static void cut_back(struct ajio__target *f, struct opened *t)
{
#ifdef AJIO_TEST_NO_CUT_BACK /* negative control of the fault-injection suite only */
    return;
#endif
    if (ftruncate(t->wfd, t->size) < 0) {
        ajio__error_append(" (and \"%s\" could not be cut back to its %lld bytes before the "
                           "append: %s)",
                           f->path, (long long)t->size, ajio_strerror(-errno));
        return; /* the record still says an append is under way: the next one cuts it */
    }
    if (record(f, t, false, 0, t->size, false) < 0)
        ajio__error_append(" (the lock file could not record the cut)");
}

static int unlock_appends(struct ajio__target *f, int r)
{
    int u = ajio__lock_drop(f);

    if (u < 0 && r >= 0)
        r = ajio__error_strerror(u, "unlock of the lock file of \"%s\"", f->path);
    return r;
}

/*
 * After a failed group sync, with the lock released: the records are cut back only if nothing
 * was appended after them meanwhile; another appender's records are never cut.
 */
static void cut_back_later(struct ajio__target *f, struct opened *t, off_t end)
{
    char name[NAME_MAX + 1];
    struct stat st;
    int r;

    /* However long the lock is held: records that may not be durable must not stay. */
    ajio__lock_name(name, f->name);
    r = ajio__lock_again(f, name, -1);
    if (r < 0) {
        ajio__error_append(" (and \"%s\" could not be cut back: the lock could not be taken)",
                           f->path);
        return;
    }
    if (fstat(t->wfd, &st) < 0)
        ajio__error_append(" (and \"%s\" could not be cut back: fstat: %s)", f->path,
                           ajio_strerror(-errno));
    else if (st.st_size != end)
        ajio__error_append(" (and \"%s\" was not cut back to its %lld bytes before the append: "
                           "%lld bytes were appended after it meanwhile)",
                           f->path, (long long)t->size, (long long)(st.st_size - end));
    else if (read_record(f, t) == 0)
        cut_back(f, t);
    (void)unlock_appends(f, -1); /* the error is already the one that counts */
}

/*
 * Appends that would pass RLIMIT_FSIZE are refused before a byte is written: the kernel would
 * write up to the limit and then send SIGXFSZ, which kills a caller that does not ignore it,
 * leaving a torn record behind.
 */
static int check_fsize(struct ajio__target *f, const struct opened *t, size_t len)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_FSIZE, &rl) < 0)
        return ajio__error_strerror(-errno, "getrlimit before appending to \"%s\"", f->path);
    if (rl.rlim_cur != RLIM_INFINITY && (uint64_t)t->size + len > (uint64_t)rl.rlim_cur)
        return ajio__error(-EFBIG,
                           "append of %zu bytes to \"%s\" (%lld bytes) would pass the file size "
                           "limit of %llu bytes (RLIMIT_FSIZE): nothing appended",
                           len, f->path, (long long)t->size, (unsigned long long)rl.rlim_cur);
    return 0;
}

/*
 * The records (len bytes in iovcnt pieces: one caller's, or a log handle's batch), written with
 * the lock held on entry and released on return, then made durable: group commit, after the
 * lock is released. A failure cuts the file back to t->size, where this append started: a batch
 * is one append, whole or not at all.
 */
static int append_records(struct ajio__target *f, struct opened *t, struct iovec *iov,
                          int iovcnt, size_t len)
{
    off_t start = t->size;
    bool shared, durable;
    int r = check_fsize(f, t, len);

    if (r == 0)
        r = record(f, t, true, start, start, false);
    if (r < 0)
        return unlock_appends(f, r);
    r = ajio__writev_all(t->wfd, iov, iovcnt);
    if (r < 0) {
        (void)ajio__error_strerror(r, "write of %zu bytes to the end of \"%s\"", len, f->path);
        cut_back(f, t);
        return unlock_appends(f, r);
    }
    r = record(f, t, false, 0, start + (off_t)len, true);
    if (r < 0) {
        cut_back(f, t);
        return unlock_appends(f, r);
    }
    if (f->flags & AJIO_NO_SYNC) {
        t->size = start + (off_t)len;
        return unlock_appends(f, 0);
    }
    if (f->fs_shared) {
        /*
         * Durable before the lock goes: the next holder, maybe on another client, appends after
         * these records and must find them on the server; and the memory group commit shares
         * through the lock file is shared only on this machine.
         */
        r = sync_file(f, t, "appending");
        if (r < 0) {
            cut_back(f, t);
            return unlock_appends(f, r);
        }
        t->size = start + (off_t)len;
        return unlock_appends(f, 0);
    }
    uint64_t ticket = t->rec.written, epoch = t->rec.epoch;
    r = unlock_appends(f, 0);
    if (r < 0)
        return r;
    r = ajio__group_sync(f, t->wfd, (uint64_t)t->st.st_dev, (uint64_t)t->st.st_ino, epoch,
                         ticket, &shared, &durable);
    if (r < 0 && !durable)
        cut_back_later(f, t, start + (off_t)len);
    else
        t->size = start + (off_t)len;
    return r;
}

/* Arguments of an append: records ending with '\n', valid JSON Lines with AJIO_JSONL. */
static int check_records(const char *path, unsigned flags, const void *data, size_t len)
{
    if (data == NULL && len > 0)
        return ajio__error(-EINVAL, "append to \"%s\": data is NULL with length %zu", path, len);
    if (len == 0)
        return 0;
    if (((const char *)data)[len - 1] != '\n')
        return ajio__error(-EINVAL,
                           "append to \"%s\": a record ends with a newline, and the data's last "
                           "byte is not one",
                           path);
    /* Every record ends with its '\n' (checked above): nothing to add, only the lines to check. */
    struct iovec one = {(void *)data, len}, *iov = &one;
    int iovcnt = 1;

    return ajio__check_content(path, flags & AJIO_JSONL, &iov, &iovcnt, NULL);
}

int ajio_append(const char *path, const void *data, size_t len, const ajio_opts *opts)
{
    struct opened t = {.wfd = -1};
    unsigned flags = opts != NULL ? opts->flags : 0;
    struct ajio__target *f;
    int r = ajio__check_args(path, opts);

    if (r < 0)
        return r;
    r = check_flags(path, flags, APPEND_FLAGS, "append");
    if (r < 0)
        return r;
    r = check_records(path, flags, data, len);
    if (r < 0 || len == 0)
        return r;
    f = new_target(path);
    if (f == NULL)
        return -ENOMEM;
    r = prepare(f, &t, path, opts, flags, true);
    if (r < 0)
        goto out;
    r = append_records(f, &t, &(struct iovec){(void *)data, len}, 1, len);
    if (r < 0)
        goto out;
    r = close(t.wfd);
    t.wfd = -1;
    if (r < 0) {
        /* Too late to cut back: the fd is gone. Only network filesystems report here. */
        r = ajio__error_strerror(-errno,
                                 "close of \"%s\" after appending (the records may be "
                                 "incomplete)",
                                 f->path);
        goto out;
    }
    r = t.repaired ? AJIO_REPAIRED : 0;
out:
    release(f, &t);
    return r;
}

/* ---- the log handle ------------------------------------------------------------------------- */

/*
 * Threads share a handle, and their appends share the file's lock, write and sync. Each
 * ajio_log_append() queues its records (a struct appender, on the caller's stack) and waits; the
 * appender at the head of the queue leads: it takes up to BATCH_MAX queued appends, its own first,
 * and makes them one append of the file (the lock taken once, the name followed and the tail
 * repaired once, one writev, the lock file's records written once, one sync, shared with other
 * processes' appenders by group commit), with the handle's mutex released so that the next
 * appenders queue meanwhile. Then it gives each appender of the batch the batch's result, takes
 * them off the queue and wakes the new head, the next leader. A mutex held for the whole append
 * would make each thread wait for the others' syncs one after the other; here one sync serves
 * everyone who queued during the last one.
 *
 * A batch can only be as large as the number of appenders queued when it is taken, and the
 * appenders of the last batch are released all at once, each to come back with its next records
 * a moment later. A leader that took its batch at once would take only those who queued during
 * the last append, and the threads would split into two halves syncing in turn. So a leader
 * first waits for the crowd (the last batch's appenders and those queued behind it) to queue
 * again, at most half as long as the last batch's append took (GATHER_MAX_NS at most): when the
 * syncs are the cost, one more appender in the batch is one sync less; a lone appender (a crowd
 * of one) never waits. group.c's leader yields to other processes' appenders for the same reason.
 *
 * Only a leader touches the file's state (f and t), and there is one leader at a time, so that
 * state needs no lock of its own; the mutex guards the queue alone and is held only to change
 * it, never while waiting for anything else.
 */
#define BATCH_MAX 64
#define GATHER_MAX_NS (1000 * 1000L)

/* The message of a batch that did not simply succeed, for its appenders other than the leader. */
struct batch_msg {
    atomic_uint refs; /* appenders yet to copy it: the last one frees it */
    char text[];
};

struct appender {
    const void *data;
    size_t len;
    struct appender *next;
    pthread_cond_t wake; /* signalled when done, or when it becomes the head (it leads then) */
    bool done;
    bool lost_msg; /* result is not 0 and there was no memory to copy its message */
    int result;
    struct batch_msg *msg; /* result is not 0: the leader's message, or NULL for the leader */
};

struct ajio_log {
    struct ajio__target *f; /* the resolution and the lock file, kept; the lock is not */
    struct opened t;
    char lockname[NAME_MAX + 1];
    int wait_ms;                  /* AJIO_LOCK_TIMEOUT's wait, or -1 */
    pid_t pid;                    /* the process that opened or last reopened the handle */
    pthread_mutex_t mu;           /* the queue, io and the crowd */
    struct appender *head, *tail; /* the queue: the head leads, or its batch is being appended */
    unsigned queued;              /* appenders in the queue */
    unsigned crowd;               /* the last batch's appenders and those queued when it ended */
    bool gathering;               /* the head waits for the crowd: wake it once it is there */
    bool io;                      /* a leader is using f and t */
    int64_t io_ns;                /* how long the last batch's append took */
    struct ajio_log *prev, *next; /* every handle of the process (logs), for fork() */
    struct iovec iov[BATCH_MAX];  /* the leader's batch */
};

/*
 * fork() copies a handle into a child that has only the forking thread: the handle's mutex may
 * be held by a thread that does not exist there, and its queue names appenders that do not
 * either, one of them perhaps leading, with the handle's descriptors half-changed. Handlers
 * registered with pthread_atfork() make every handle usable in the child: before the fork they
 * take the list's mutex and every handle's (each held only to change a queue), so that the
 * child copies each queue between two changes; in the child they empty the queues and release
 * the mutexes. The list is the library's one process-wide mutable state; a pid check alone
 * could not tell a mutex left locked by a vanished thread from one held now.
 */
static pthread_mutex_t logs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ajio_log *logs;
static pthread_once_t logs_once = PTHREAD_ONCE_INIT;
static int logs_atfork; /* what pthread_atfork() returned: 0, or an errno */

/* Normal mutexes, taken and released by one thread: pthread_mutex_(un)lock cannot fail. */
static void logs_prepare(void)
{
    (void)pthread_mutex_lock(&logs_mu);
    for (struct ajio_log *l = logs; l != NULL; l = l->next)
        (void)pthread_mutex_lock(&l->mu);
}

static void logs_parent(void)
{
    for (struct ajio_log *l = logs; l != NULL; l = l->next)
        (void)pthread_mutex_unlock(&l->mu);
    (void)pthread_mutex_unlock(&logs_mu);
}

static void logs_child(void)
{
    for (struct ajio_log *l = logs; l != NULL; l = l->next) {
        if (l->io) {
            /*
             * A leader was at work in the parent: a descriptor it held may be closed already and
             * its successor not yet recorded. The child forgets them unclosed (they close at its
             * exit or exec) rather than close a number that may now be another file's; its first
             * append opens its own, as after any fork (lock_log()).
             */
            l->f->lockfd = -1;
            l->f->group_page = NULL;
            l->f->group_mapped = false;
            l->t.wfd = -1;
            l->io = false;
        }
        /* The parent's appenders: none of them is in this process. */
        l->head = l->tail = NULL;
        l->queued = l->crowd = 0;
        l->gathering = false;
        (void)pthread_mutex_unlock(&l->mu);
    }
    (void)pthread_mutex_unlock(&logs_mu);
}

static void logs_register(void)
{
    logs_atfork = pthread_atfork(logs_prepare, logs_parent, logs_child);
}

int ajio_log_open(ajio_log **ret, const char *path, const ajio_opts *opts)
{
    unsigned flags = opts != NULL ? opts->flags : 0;
    struct ajio_log *log;
    int r;

    if (ret == NULL)
        return ajio__error(-EINVAL, "ajio_log_open: ret is NULL");
    r = ajio__check_args(path, opts);
    if (r < 0)
        return r;
    r = check_flags(path, flags, APPEND_FLAGS, "append");
    if (r < 0)
        return r;
    r = pthread_once(&logs_once, logs_register);
    if (r == 0)
        r = logs_atfork;
    if (r != 0)
        return ajio__error_strerror(-r, "pthread_atfork for the log handle of \"%s\"", path);
    log = calloc(1, sizeof(*log));
    if (log == NULL)
        return ajio__error_strerror(-ENOMEM, "log handle for \"%s\"", path);
    log->t.wfd = -1;
    log->wait_ms = ajio__lock_wait_ms(opts);
    log->pid = getpid();
    log->f = new_target(path);
    if (log->f == NULL) {
        free(log);
        return -ENOMEM;
    }
    r = prepare(log->f, &log->t, path, opts, flags, true);
    if (r >= 0)
        r = unlock_appends(log->f, r);
    if (r < 0) {
        release(log->f, &log->t);
        free(log);
        return r;
    }
    ajio__lock_name(log->lockname, log->f->name);
    (void)pthread_mutex_init(&log->mu, NULL); /* default attributes: cannot fail on Linux */
    (void)pthread_mutex_lock(&logs_mu);
    log->next = logs;
    if (logs != NULL)
        logs->prev = log;
    logs = log;
    (void)pthread_mutex_unlock(&logs_mu);
    *ret = log;
    return log->t.repaired ? AJIO_REPAIRED : 0;
}

/*
 * The target's lock for the next append. The lock file is opened again where the one held open
 * is not to be used: in a child process after fork() (the inherited descriptor shares its flock
 * with the parent and every other child, so it would exclude none of them) or when the name no
 * longer holds it (removed by a sweep).
 */
static int lock_log(struct ajio_log *log)
{
    struct ajio__target *f = log->f;
    pid_t me = getpid();
    int r = -ESTALE;

    if (log->pid == me && f->lockfd >= 0)
        r = ajio__lock_again(f, log->lockname, log->wait_ms);
    if (r != -ESTALE)
        return r;
    ajio__lock_release(f);
    if (log->pid != me && log->t.wfd >= 0) {
        /* The parent's descriptor of the log: this process appends through one of its own. */
        (void)close(log->t.wfd); /* the parent's data is its own to report */
        log->t.wfd = -1;
    }
    int64_t deadline =
        log->wait_ms > 0 ? ajio__now_ns() + (int64_t)log->wait_ms * 1000000 : 0;
    r = ajio__lock_take(f, log->lockname, log->wait_ms, deadline);
    if (r == 0)
        log->pid = me;
    return r;
}

/*
 * With the lock held: the file the name holds now, opened again if it is not the one this handle
 * has open (rotated: renamed away and created again, or removed; or a reopen that failed before),
 * with every rule of a first open, and its tail repaired as the lock file records it.
 */
static int follow_name(struct ajio_log *log)
{
    struct ajio__target *f = log->f;
    struct opened *t = &log->t;
    struct stat st;

    t->repaired = false;
    t->cut = 0;
    /*
     * On a shared filesystem the file is opened again for every batch, as ajio_append() does: an
     * NFS client revalidates its cached pages of a file only when it is opened, and a write into
     * a cached page that another client's appends have since filled may write the whole page
     * back, stale bytes and all.
     */
    if (t->wfd >= 0 && f->fs_shared) {
        int r = close(t->wfd);

        t->wfd = -1;
        if (r < 0)
            return ajio__error_strerror(-errno, "close of \"%s\" after appending", f->path);
    }
    if (t->wfd >= 0) {
        bool gone = fstatat(f->dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) < 0;

        if (gone && errno != ENOENT)
            return ajio__error_strerror(-errno, "stat of \"%s\" to append to it", f->path);
        if (!gone && st.st_dev == t->st.st_dev && st.st_ino == t->st.st_ino) {
            /* The name's stat is the open file's (same inode): its size is where to append. */
            t->size = st.st_size;
            return repair_recorded(f, t, false);
        }
        int r = close(t->wfd);
        t->wfd = -1;
        if (r < 0)
            return ajio__error_strerror(-errno, "close of the old \"%s\" (rotated)", f->path);
    }
    return open_and_repair(f, t, true, false);
}

/* The leader's batch, log->iov[0..n) of len bytes, appended as one caller's records are. */
static int append_batch(struct ajio_log *log, int n, size_t len)
{
    int r = lock_log(log);

    if (r < 0)
        return r;
    r = follow_name(log);
    if (r < 0)
        return unlock_appends(log->f, r);
    r = append_records(log->f, &log->t, log->iov, n, len);
    if (r < 0)
        return r;
    return log->t.repaired ? AJIO_REPAIRED : 0;
}

/* A copy of this thread's message for n other appenders; NULL without memory. */
static struct batch_msg *share_message(unsigned n)
{
    const char *text = ajio_last_error();
    size_t len = strlen(text);
    struct batch_msg *m = malloc(sizeof(*m) + len + 1);

    if (m == NULL)
        return NULL;
    atomic_init(&m->refs, n);
    memcpy(m->text, text, len + 1);
    return m;
}

/* The head waits for the crowd to queue, bounded (see above): log->mu held. */
static void gather(struct ajio_log *log)
{
    if (log->queued >= log->crowd)
        return;
    int64_t wait = log->io_ns / 2 < GATHER_MAX_NS ? log->io_ns / 2 : GATHER_MAX_NS;
    int64_t end = ajio__now_ns() + wait;
    struct timespec ts = {(time_t)(end / 1000000000), (long)(end % 1000000000)};

    log->gathering = true;
    /* Woken by the appender that completes the crowd, or at the deadline; anything else: look. */
    while (log->queued < log->crowd &&
           pthread_cond_clockwait(&log->head->wake, &log->mu, CLOCK_MONOTONIC, &ts) != ETIMEDOUT)
        ;
    log->gathering = false;
}

/*
 * The head of the queue leads: called with log->mu held, released while the batch is appended
 * and held again on return. Every appender of the batch gets its result: the records of all of
 * them were appended and made durable, or none is reported written (a failed write or sync is
 * cut back as one append's is, and what the cut cannot undo the message says).
 */
static void lead(struct ajio_log *log)
{
    struct appender *a;
    struct batch_msg *msg = NULL;
    size_t len = 0;
    int64_t t0;
    int n = 0, r;

    gather(log);
    for (a = log->head; a != NULL && n < BATCH_MAX; a = a->next, n++) {
        log->iov[n] = (struct iovec){(void *)a->data, a->len};
        len += a->len;
    }
    log->io = true;
    (void)pthread_mutex_unlock(&log->mu);
    t0 = ajio__now_ns();
    r = append_batch(log, n, len);
    log->io_ns = ajio__now_ns() - t0; /* the next leader reads it once the mutex passed on */
    if (r != 0 && n > 1)
        msg = share_message((unsigned)n - 1);
    (void)pthread_mutex_lock(&log->mu);
    log->io = false;
    /* The batch is still the first n of the queue: appenders only join at its tail. */
    for (int i = 0; i < n; i++) {
        a = log->head;
        log->head = a->next;
        a->result = r;
        a->done = true;
        if (i > 0) {
            a->msg = msg;
            a->lost_msg = r != 0 && msg == NULL;
            (void)pthread_cond_signal(&a->wake);
        }
    }
    log->queued -= (unsigned)n;
    log->crowd = (unsigned)n + log->queued;
    if (log->head == NULL)
        log->tail = NULL;
    else
        (void)pthread_cond_signal(&log->head->wake); /* the next leader */
}

int ajio_log_append(ajio_log *log, const void *data, size_t len)
{
    struct appender me = {.data = data, .len = len};
    int r;

    if (log == NULL)
        return ajio__error(-EINVAL, "ajio_log_append: the log handle is NULL");
    /* Invalid records fail alone, before they join a batch. */
    r = check_records(log->f->path, log->f->flags, data, len);
    if (r < 0 || len == 0)
        return r;
    (void)pthread_cond_init(&me.wake, NULL); /* default attributes: cannot fail on Linux */
    (void)pthread_mutex_lock(&log->mu);
    if (log->tail != NULL)
        log->tail->next = &me;
    else
        log->head = &me;
    log->tail = &me;
    log->queued++;
    if (log->gathering && log->queued >= log->crowd)
        (void)pthread_cond_signal(&log->head->wake);
    while (!me.done && log->head != &me)
        (void)pthread_cond_wait(&me.wake, &log->mu);
    if (!me.done)
        lead(log);
    (void)pthread_mutex_unlock(&log->mu);
    (void)pthread_cond_destroy(&me.wake);
    if (me.msg != NULL) {
        /* The leader's message is this thread's now, as if it had appended on its own. */
        (void)ajio__error(me.result, "%s", me.msg->text);
        if (atomic_fetch_sub(&me.msg->refs, 1) == 1)
            free(me.msg);
    } else if (me.lost_msg) {
        (void)ajio__error(me.result,
                          "append to \"%s\", in one write with other threads' records: %s (the "
                          "message of the step that failed was lost: out of memory)",
                          log->f->path, ajio_strerror(me.result));
    }
    return me.result;
}

int ajio_log_close(ajio_log *log)
{
    bool busy;
    int r = 0;

    if (log == NULL)
        return 0;
    /* A misuse caught where it can be: the appenders' records point into their callers. */
    (void)pthread_mutex_lock(&log->mu);
    busy = log->head != NULL;
    (void)pthread_mutex_unlock(&log->mu);
    if (busy)
        return ajio__error(-EBUSY,
                           "close of the log handle of \"%s\" while other threads append through "
                           "it: nothing closed",
                           log->f->path);
    (void)pthread_mutex_lock(&logs_mu);
    if (log->prev != NULL)
        log->prev->next = log->next;
    else
        logs = log->next;
    if (log->next != NULL)
        log->next->prev = log->prev;
    (void)pthread_mutex_unlock(&logs_mu);
    /* A child's copy of its parent's descriptor reports nothing of the child's appends. */
    if (log->t.wfd >= 0 && close(log->t.wfd) < 0 && log->pid == getpid())
        r = ajio__error_strerror(-errno,
                                 "close of \"%s\" after appending (the records may be "
                                 "incomplete)",
                                 log->f->path);
    log->t.wfd = -1;
    release(log->f, &log->t);
    (void)pthread_mutex_destroy(&log->mu);
    free(log);
    return r;
}

int ajio_repair(const char *path, const ajio_opts *opts, size_t *ret_cut)
{
    unsigned flags = 0;
    struct opened t = {.wfd = -1};
    struct ajio__target *f;
    int r = ajio__check_args(path, opts);

    if (r < 0)
        return r;
    if (opts != NULL)
        flags |= opts->flags;
    r = check_flags(path, flags, REPAIR_FLAGS, "repair");
    if (r < 0)
        return r;
    f = new_target(path);
    if (f == NULL)
        return -ENOMEM;
    r = prepare(f, &t, path, opts, flags, false);
    if (r < 0)
        goto out;
    r = close(t.wfd);
    t.wfd = -1;
    if (r < 0) {
        r = ajio__error_strerror(-errno, "close of \"%s\" after its repair", f->path);
        goto out;
    }
    if (ret_cut != NULL)
        *ret_cut = t.cut;
    r = t.repaired ? AJIO_REPAIRED : 0;
out:
    release(f, &t);
    return r;
}

/*
 * append.c - appending records to a file in place, ajio_append(), and the repair of a torn last
 * line, ajio_repair().
 *
 * An append cannot be atomic the way a replace is: the file grows where it is. What can be kept
 * is that records never mix and that a failed append leaves nothing behind:
 *
 *   - Appenders take the target's lock (update.c), the same one as AJIO_LOCK and ajio_update().
 *     O_APPEND alone makes each write(2) land at the end, but a large record may take several
 *     writes (a short write, a signal), and another appender's write can land between them.
 *   - A failed write or sync is undone with ftruncate(2) back to the size before the append, so
 *     the caller can retry without duplicating a record.
 *   - A crash can still leave a partial record at the end: the next append (or ajio_repair())
 *     finds it, because a healthy file ends with '\n', and repairs it before writing.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/uio.h>
#include <unistd.h>

/* Flags that mean something for an append or a repair; the flags of a replace do not. */
#define APPEND_FLAGS                                                                               \
    (AJIO_NO_SYNC | AJIO_NO_MKDIR | AJIO_NO_FOLLOW | AJIO_JSONL | AJIO_LOCK | AJIO_NO_REPAIR |     \
     AJIO_LOCK_TIMEOUT | AJIO_INTERRUPTIBLE)
#define REPAIR_FLAGS                                                                               \
    (AJIO_NO_SYNC | AJIO_NO_FOLLOW | AJIO_JSONL | AJIO_LOCK | AJIO_LOCK_TIMEOUT | AJIO_INTERRUPTIBLE)

/* Bytes of a cut tail shown in the message. */
#define SHOWN_MAX 80

/* The file as opened for an append or a repair, and what its tail was. */
struct target {
    int wfd;       /* O_RDWR|O_APPEND: the tail read with pread, the writes, the cut, the syncs */
    bool created;  /* this call created the file */
    off_t size;    /* size once the tail is repaired: where this append starts */
    bool repaired; /* a torn tail was cut or terminated */
    size_t cut;    /* bytes cut off (0 when terminated) */
    struct stat st; /* the file as opened: its identity for group commit and rotation */
};

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
static int open_target(struct ajio_file *f, struct target *t, bool create)
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
    if (fstat(t->wfd, &t->st) < 0)
        return ajio__error_strerror(-errno, "fstat of \"%s\" opened to append", f->path);
    if (!S_ISREG(t->st.st_mode))
        return ajio__error(-EINVAL, "\"%s\" is not a regular file: nothing is appended to it",
                           f->path);
    t->size = t->st.st_size;
    return 0;
}

/* Reads exactly len bytes at off (the file is locked and does not shrink under us). */
static int pread_all(struct ajio_file *f, int fd, void *buf, size_t len, off_t off)
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
static int find_last_line(struct ajio_file *f, const struct target *t, off_t *ret_start)
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
static int tail_end(struct ajio_file *f, const struct target *t, off_t start, off_t *ret_end)
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
static int tail_is_value(struct ajio_file *f, const struct target *t, off_t start, off_t end,
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
static void describe_cut(struct ajio_file *f, const struct target *t, off_t start)
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

static int sync_file(struct ajio_file *f, const struct target *t, const char *step)
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

/*
 * The torn-tail repair. Idempotent, so a crash in the middle is harmless: it only ever shortens
 * the file to just after its last '\n' or appends the one '\n' a complete last value lacks, and
 * a second run on either outcome (or on the untouched file) ends in the same state.
 * @return 0 (t->repaired, t->cut and t->size say what it did), or AJIO_ETORN with
 *   AJIO_NO_REPAIR, or -errno.
 */
static int repair_tail(struct ajio_file *f, struct target *t)
{
    bool value = false;
    off_t start, end;
    int r = find_last_line(f, t, &start);

    if (r < 0 || start == t->size)
        return r;
    if (f->flags & AJIO_NO_REPAIR)
        return ajio__error(AJIO_ETORN,
                           "\"%s\" ends with %lld bytes after its last newline (a torn append?); "
                           "not repaired (AJIO_NO_REPAIR)",
                           f->path, (long long)(t->size - start));
    if (f->flags & AJIO_JSONL) {
        r = tail_end(f, t, start, &end);
        if (r == 0 && end > start)
            r = tail_is_value(f, t, start, end, &value);
        if (r < 0)
            return r;
    }
    if (value) {
        struct iovec iov = {(void *)"\n", 1};

        /* The zeros after the value go first: the '\n' belongs right after it. */
        if (end < t->size) {
            if (ftruncate(t->wfd, end) < 0)
                return ajio__error_strerror(-errno,
                                            "ftruncate of \"%s\" to the end of its last value",
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
        (void)ajio__error(1,
                          "repair of \"%s\": terminated the last line (a complete JSON value "
                          "without its newline)",
                          f->path);
    } else {
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
    }
    t->repaired = true;
    return 0;
}

/*
 * The target opened (created when create is set) and its tail repaired, the lock held. A file
 * this call created gets its directory synced before anything is in it.
 */
static int open_and_repair(struct ajio_file *f, struct target *t, bool create)
{
    int r = open_target(f, t, create);

    if (r < 0)
        return r;
    if (t->created && !(f->flags & AJIO_NO_SYNC)) {
        /*
         * The new name on disk before any record is in the file: should this sync fail, the
         * empty file is removed and nothing was appended. ajio__sync_new_dirs() syncs through
         * f->fd when the directory is O_PATH.
         */
        f->fd = t->wfd;
        r = ajio__sync_new_dirs(f);
        if (r == 0) {
            r = ajio__sync_dir_fd(f->dirfd, f->dir_opath, t->wfd);
            if (r < 0)
                (void)ajio__error_strerror(r, "%s of directory \"%.*s\" after creating \"%s\"",
                                           f->dir_opath ? "syncfs" : "fsync", AJIO__DIR_ARG(f),
                                           f->path);
        }
        f->fd = -1;
        if (r < 0) {
            if (unlinkat(f->dirfd, f->name, 0) < 0)
                ajio__error_append(" (and the new empty file could not be removed: %s)",
                                   ajio_strerror(-errno));
            return r;
        }
    }
    return repair_tail(f, t);
}

/*
 * Everything before the first byte of the records: a handle for the resolution, the target's
 * lock, the target opened and its tail repaired. f->flags carries AJIO__APPENDING.
 */
static int prepare(struct ajio_file *f, struct target *t, const char *path, const ajio_opts *opts,
                   unsigned flags, bool create)
{
    int r;

    f->flags = flags | AJIO_LOCK | AJIO__APPENDING | (create ? 0 : AJIO_NO_MKDIR);
    r = ajio__resolve_locked(f, path, opts, -1);
    if (r < 0)
        return r;
    if (!create && !f->exists)
        return ajio__error(-ENOENT, "repair of \"%s\": no such file", f->path);
    return open_and_repair(f, t, create);
}

/* Closes what prepare() opened; the write fd is closed (and its error reported) by the caller. */
static void release(struct ajio_file *f, struct target *t)
{
    if (t->wfd >= 0)
        (void)close(t->wfd); /* only after a failure, whose error is the one that matters */
    ajio__discard(f);        /* the directory, then the target's lock, last */
}

/* The size before this append, restored after a failure; the message gets what could not be. */
static void cut_back(struct ajio_file *f, const struct target *t)
{
#ifdef AJIO_TEST_NO_CUT_BACK /* negative control of the fault-injection suite only */
    return;
#endif
    if (ftruncate(t->wfd, t->size) < 0)
        ajio__error_append(" (and \"%s\" could not be cut back to its %lld bytes before the "
                           "append: %s)",
                           f->path, (long long)t->size, ajio_strerror(-errno));
}

/* Waits for the target's lock (the flock of its lock file), as ajio__resolve_locked() takes it. */
static int lock_appends(struct ajio_file *f)
{
    while (flock(f->target_lockfd, LOCK_EX) < 0)
        if (errno != EINTR)
            return ajio__error_strerror(-errno, "flock of the lock file of \"%s\"", f->path);
    return 0;
}

static int unlock_appends(struct ajio_file *f, int r)
{
    if (flock(f->target_lockfd, LOCK_UN) < 0 && r >= 0)
        r = ajio__error_strerror(-errno, "unlock of the lock file of \"%s\"", f->path);
    return r;
}

/*
 * After a failed group sync, with the lock released: the records are cut back only if nothing
 * was appended after them meanwhile; another appender's records are never cut.
 */
static void cut_back_later(struct ajio_file *f, const struct target *t, off_t end)
{
    struct stat st;

    if (lock_appends(f) < 0)
        return;
    if (fstat(t->wfd, &st) < 0)
        ajio__error_append(" (and \"%s\" could not be cut back: fstat: %s)", f->path,
                           ajio_strerror(-errno));
    else if (st.st_size != end)
        ajio__error_append(" (and \"%s\" was not cut back to its %lld bytes before the append: "
                           "%lld bytes were appended after it meanwhile)",
                           f->path, (long long)t->size, (long long)(st.st_size - end));
    else
        cut_back(f, t);
    (void)unlock_appends(f, -1); /* the error is already the one that counts */
}

/*
 * The records, written with the lock held on entry and released on return, then made durable:
 * with the lock held when group commit is not used (g NULL), or after it with group commit.
 * A failure cuts the file back to t->size, where this append started.
 */
static int append_records(struct ajio_file *f, struct target *t, struct ajio__group *g,
                          const void *data, size_t len)
{
    struct iovec iov = {(void *)data, len};
    bool shared, durable;
    uint64_t ticket;
    int r = ajio__writev_all(t->wfd, &iov, 1);

    if (r < 0) {
        (void)ajio__error_strerror(r, "write of %zu bytes to the end of \"%s\"", len, f->path);
        cut_back(f, t);
        return unlock_appends(f, r);
    }
    if (g == NULL || (f->flags & AJIO_NO_SYNC)) {
        /* A record that may not be on disk is undone too, so that a retry does not duplicate it. */
        r = sync_file(f, t, "appending");
        if (r < 0)
            cut_back(f, t);
        return unlock_appends(f, r);
    }
    ticket = ajio__group_ticket(g, t->st.st_dev, t->st.st_ino);
    r = unlock_appends(f, 0);
    if (r < 0)
        return r;
    r = ajio__group_sync(f, g, t->wfd, t->st.st_dev, t->st.st_ino, ticket, &shared, &durable);
    if (r < 0 && !durable)
        cut_back_later(f, t, t->size + (off_t)len);
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
    if (flags & AJIO_JSONL) {
        ajio_json_error e;
        int r = ajio_json_validate(data, len, AJIO_JSON_LINES, &e);

        if (r < 0)
            return ajio__json_failed(path, r, &e);
    }
    return 0;
}

int ajio_append(const char *path, const void *data, size_t len, const ajio_opts *opts)
{
    struct target t = {.wfd = -1};
    unsigned flags = opts != NULL ? opts->flags : 0;
    struct ajio__group *g = NULL;
    struct ajio_file *f;
    int r = ajio__check_args(path, opts);

    if (r < 0)
        return r;
    r = check_flags(path, flags, APPEND_FLAGS, "append");
    if (r < 0)
        return r;
    r = check_records(path, flags, data, len);
    if (r < 0 || len == 0)
        return r;
    f = ajio__new_handle(path);
    if (f == NULL)
        return -ENOMEM;
    r = prepare(f, &t, path, opts, flags, true);
    if (r == 0 && !(flags & AJIO_NO_SYNC))
        r = ajio__group_map(f, &t.st, &g);
    if (r < 0)
        goto out;
    r = append_records(f, &t, g, data, len);
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
    ajio__group_unmap(g);
    release(f, &t);
    return r;
}

/* ---- the log handle ------------------------------------------------------------------------- */

struct ajio_log {
    struct ajio_file *f; /* the resolution and the lock file, kept; the lock is not */
    struct target t;
    struct ajio__group *g;
    off_t end; /* the file's size after this handle's last append: no tail to check then */
};

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
    log = calloc(1, sizeof(*log));
    if (log == NULL)
        return ajio__error_strerror(-ENOMEM, "log handle for \"%s\"", path);
    log->t.wfd = -1;
    log->f = ajio__new_handle(path);
    if (log->f == NULL) {
        free(log);
        return -ENOMEM;
    }
    r = prepare(log->f, &log->t, path, opts, flags, true);
    if (r == 0 && !(flags & AJIO_NO_SYNC))
        r = ajio__group_map(log->f, &log->t.st, &log->g);
    if (r >= 0)
        r = unlock_appends(log->f, r);
    if (r < 0) {
        ajio__group_unmap(log->g);
        release(log->f, &log->t);
        free(log);
        return r;
    }
    log->end = log->t.size;
    *ret = log;
    return log->t.repaired ? AJIO_REPAIRED : 0;
}

/*
 * With the lock held: the file the name holds now, opened again if it is not the one this handle
 * has open (rotated: renamed away and created again, or removed), and the size to append at,
 * with the tail repaired if someone else left it torn since this handle's last append.
 */
static int follow_name(struct ajio_log *log)
{
    struct ajio_file *f = log->f;
    struct target *t = &log->t;
    struct stat st;

    t->repaired = false;
    t->cut = 0;
    bool gone = fstatat(f->dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) < 0;

    if (gone && errno != ENOENT)
        return ajio__error_strerror(-errno, "stat of \"%s\" to append to it", f->path);
    if (gone || st.st_dev != t->st.st_dev || st.st_ino != t->st.st_ino) {
        if (close(t->wfd) < 0) {
            t->wfd = -1;
            return ajio__error_strerror(-errno, "close of the old \"%s\" (rotated)", f->path);
        }
        t->wfd = -1;
        return open_and_repair(f, t, true);
    }
    /* The name's stat is the open file's (same inode): its size is where this append starts. */
    t->size = st.st_size;
    return st.st_size == log->end ? 0 : repair_tail(f, t);
}

int ajio_log_append(ajio_log *log, const void *data, size_t len)
{
    int r;

    if (log == NULL)
        return ajio__error(-EINVAL, "ajio_log_append: the log handle is NULL");
    r = check_records(log->f->path, log->f->flags, data, len);
    if (r < 0 || len == 0)
        return r;
    if (log->t.wfd < 0)
        return ajio__error(-EBADF, "append to \"%s\": the log handle failed earlier (its file "
                                   "could not be reopened)",
                           log->f->path);
    r = lock_appends(log->f);
    if (r < 0)
        return r;
    r = follow_name(log);
    if (r < 0)
        return unlock_appends(log->f, r);
    r = append_records(log->f, &log->t, log->g, data, len);
    if (r < 0) {
        log->end = -1; /* cut back or not: the next append looks at the tail */
        return r;
    }
    log->end = log->t.size + (off_t)len;
    return log->t.repaired ? AJIO_REPAIRED : 0;
}

int ajio_log_close(ajio_log *log)
{
    int r = 0;

    if (log == NULL)
        return 0;
    if (log->t.wfd >= 0 && close(log->t.wfd) < 0)
        r = ajio__error_strerror(-errno,
                                 "close of \"%s\" after appending (the records may be "
                                 "incomplete)",
                                 log->f->path);
    log->t.wfd = -1;
    ajio__group_unmap(log->g);
    release(log->f, &log->t);
    free(log);
    return r;
}

int ajio_repair(const char *path, unsigned flags, size_t *ret_cut, const ajio_opts *opts)
{
    struct target t = {.wfd = -1};
    struct ajio_file *f;
    int r = ajio__check_args(path, opts);

    if (r < 0)
        return r;
    if (opts != NULL)
        flags |= opts->flags;
    r = check_flags(path, flags, REPAIR_FLAGS, "repair");
    if (r < 0)
        return r;
    f = ajio__new_handle(path);
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

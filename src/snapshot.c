/*
 * snapshot.c - published directory snapshots: ajio_publish(), ajio_snapshot_open(),
 * ajio_snapshot_gc().
 *
 * NAME is a symlink to a generation directory ".NAME.snap-<16 hex>" beside it. A publish builds
 * a new generation, syncs all of it, and renames a temp symlink over NAME: readers see the old
 * tree or the new one, whole. Generations are guarded by flock(2) on the directory itself:
 * readers hold LOCK_SH for as long as they read, a publisher holds LOCK_EX while it builds one,
 * and the gc removes only what it can lock LOCK_EX without waiting, under that lock, so a reader
 * that opened a generation just before it went sees st_nlink == 0 once its flock is granted.
 */
#include "internal.h"

#include <dirent.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define GEN_TAG ".snap-"
#define GEN_TAG_LEN 6
#define GEN_HEX 16
/* The record of a move, ".NAME.from-<hex>" beside ".NAME.snap-<hex>": as long as the tag. */
#define FROM_TAG ".from-"

/* Retries of ajio_snapshot_open() while publishes keep removing what it just opened. */
#define OPEN_RETRIES 10000

/* The copy methods, for the tests (internal.h). */
int ajio__snapshot_copy_mode;
unsigned long ajio__snapshot_copies[3];
int (*ajio__snapshot_hook)(const char *step);
int ajio__snapshot_plain_rename;
int ajio__snapshot_gc_ignore_locks;
int ajio__snapshot_sync_mode;
int ajio__snapshot_fail_sync;

struct ajio_snapshot {
    int fd;
};

/* Where NAME lives: its directory (opened for fsync) and its last component. */
struct place {
    int dirfd;
    const char *path; /* as given, for messages */
    const char *base; /* inside path */
    char dir[PATH_MAX];
};

static int place_open(struct place *p, const char *path, const char *what)
{
    const char *slash;
    size_t n;

    *p = (struct place){.dirfd = -1, .path = path};
    if (path == NULL || path[0] == '\0')
        return ajio__error(-EINVAL, "%s: the name is NULL or empty", what);
    n = strlen(path);
    if (path[n - 1] == '/')
        return ajio__error(-EINVAL, "%s %s: the name ends with '/'", what, path);
    slash = strrchr(path, '/');
    if (slash == NULL) {
        p->base = path;
        strcpy(p->dir, ".");
    } else {
        p->base = slash + 1;
        n = (size_t)(slash - path);
        if (n >= sizeof(p->dir))
            return ajio__error(-ENAMETOOLONG, "%s %s: the path is too long", what, path);
        memcpy(p->dir, path, n);
        p->dir[n] = '\0';
        if (n == 0)
            strcpy(p->dir, "/");
    }
    if (strcmp(p->base, ".") == 0 || strcmp(p->base, "..") == 0)
        return ajio__error(-EINVAL, "%s %s: the name must not be . or ..", what, path);
    /* ".NAME.snap-" + 16 hex must fit in a file name. */
    if (strlen(p->base) + 1 + GEN_TAG_LEN + GEN_HEX > NAME_MAX)
        return ajio__error(-ENAMETOOLONG, "%s %s: the name is longer than %d bytes", what, path,
                           NAME_MAX - 1 - GEN_TAG_LEN - GEN_HEX);
    p->dirfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->dirfd < 0)
        return ajio__error_strerror(-errno, "%s %s: open directory %s", what, path, p->dir);
    return 0;
}

static void place_close(struct place *p)
{
    if (p->dirfd >= 0)
        (void)close(p->dirfd);
    p->dirfd = -1;
}

/* ".NAME" + tag followed by exactly 16 lowercase hex digits. */
static bool has_shape(const char *entry, const char *base, const char *tag)
{
    size_t n = strlen(base);

    if (entry[0] != '.' || strncmp(entry + 1, base, n) != 0 ||
        strncmp(entry + 1 + n, tag, GEN_TAG_LEN) != 0)
        return false;
    entry += 1 + n + GEN_TAG_LEN;
    for (int i = 0; i < GEN_HEX; i++)
        if (!((entry[i] >= '0' && entry[i] <= '9') || (entry[i] >= 'a' && entry[i] <= 'f')))
            return false;
    return entry[GEN_HEX] == '\0';
}

static bool is_gen_name(const char *entry, const char *base)
{
    return has_shape(entry, base, GEN_TAG);
}

static bool is_record_name(const char *entry, const char *base)
{
    return has_shape(entry, base, FROM_TAG);
}

/* The name of the record of generation gen, or the reverse: the tags swapped. */
static void swap_tag(char ret[NAME_MAX + 1], const char *entry, const char *base, const char *tag)
{
    size_t n = strlen(base);

    (void)snprintf(ret, NAME_MAX + 1, ".%s%s%s", base, tag, entry + 1 + n + GEN_TAG_LEN);
}

/*
 * A new generation name. The 16 hex digits are those of a temp name, whose generator is
 * already seeded per thread from getrandom(): a collision is caught by mkdirat's EEXIST anyway.
 */
static void gen_name(char ret[NAME_MAX + 1], const char *base)
{
    char tmp[NAME_MAX + 1];
    size_t len;

    ajio__temp_name(tmp, base);
    len = strlen(tmp);
    (void)snprintf(ret, NAME_MAX + 1, ".%s%s%.*s", base, GEN_TAG, GEN_HEX,
                   tmp + len - AJIO__TEMP_EXT_LEN - GEN_HEX);
}

/*
 * What NAME points to now, if it is one of our symlinks. @return 1 and ret filled, 0 if NAME
 * is missing, -EEXIST if it is something else (a directory, a file, a foreign symlink).
 */
static int read_current(int dirfd, const char *base, char ret[NAME_MAX + 1])
{
    ssize_t n = readlinkat(dirfd, base, ret, NAME_MAX + 1);

    if (n < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == EINVAL)
            return -EEXIST; /* not a symlink */
        return -errno;
    }
    if (n > NAME_MAX)
        return -EEXIST;
    ret[n] = '\0';
    return is_gen_name(ret, base) ? 1 : -EEXIST;
}

static int fsync_fd(int fd, unsigned flags)
{
    if (flags & AJIO_NO_SYNC)
        return 0;
    return fsync(fd) < 0 ? -errno : 0;
}

/*
 * flock(2) of a generation or a source directory. NFSv4 emulates flock with a byte-range lock
 * that must be exclusive for LOCK_EX, which a descriptor not open for writing (a directory's
 * never is) may not take: EBADF, said as what it is.
 */
static int dir_flock(int fd, int op)
{
    int r = flock(fd, op);

    if (r < 0 && errno == EBADF)
        errno = EOPNOTSUPP;
    return r;
}

static int flock_retry(int fd, int op)
{
    while (dir_flock(fd, op) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

/* An fd of dirfd/entry that opendir may own, so the caller keeps its own fd. */
static DIR *open_listing(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;

    if (fd < 0)
        return NULL;
    d = fdopendir(fd);
    if (d == NULL) {
        int e = errno;
        (void)close(fd);
        errno = e;
    }
    return d;
}

static bool is_dot(const char *n)
{
    return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

/* ---- copying a tree -------------------------------------------------------------------------- */

/* Failures that mean "this method cannot do it here", not "the copy failed". */
static bool unsupported(int e)
{
    return e == EOPNOTSUPP || e == ENOTTY || e == EXDEV || e == EINVAL || e == ENOSYS ||
           e == EBADF || e == ETXTBSY || e == EPERM;
}

static int copy_data(int in, int out, const char *rel, const char *src)
{
    char *buf;
    int r = 0;

    /* A reflink shares the blocks: copy-on-write on both sides, so a later rewrite in place of
     * the source never shows through, which is what a hard link could not promise. */
    if (ajio__snapshot_copy_mode == 0) {
        if (ioctl(out, FICLONE, in) == 0) {
            __atomic_add_fetch(&ajio__snapshot_copies[0], 1, __ATOMIC_RELAXED);
            return 0;
        }
        if (!unsupported(errno))
            return ajio__error_strerror(-errno, "publish %s: reflink %s", src, rel);
    }
    if (ajio__snapshot_copy_mode <= 1) {
        bool any = false;
        for (;;) {
            ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
            if (n > 0) {
                any = true;
                continue;
            }
            if (n == 0) {
                __atomic_add_fetch(&ajio__snapshot_copies[1], 1, __ATOMIC_RELAXED);
                return 0;
            }
            if (errno == EINTR)
                continue;
            /* Only before the first byte may the method be changed: offsets have moved. */
            if (any || !unsupported(errno))
                return ajio__error_strerror(-errno, "publish %s: copy_file_range %s", src, rel);
            break;
        }
    }
    buf = malloc(AJIO__BUFSIZE);
    if (buf == NULL)
        return ajio__error(-ENOMEM, "publish %s: copy %s: out of memory", src, rel);
    for (;;) {
        ssize_t n = read(in, buf, AJIO__BUFSIZE), w = 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = ajio__error_strerror(-errno, "publish %s: read %s", src, rel);
            break;
        }
        if (n == 0)
            break;
        while (w < n && r == 0) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));
            if (k < 0 && errno != EINTR)
                r = ajio__error_strerror(-errno, "publish %s: write %s", src, rel);
            else if (k > 0)
                w += k;
        }
        if (r < 0)
            break;
    }
    free(buf);
    if (r == 0)
        __atomic_add_fetch(&ajio__snapshot_copies[2], 1, __ATOMIC_RELAXED);
    return r;
}

/*
 * Calls each(fd, entry, rel, len, arg) for every entry of the directory fd but "." and "..",
 * until one fails. rel holds the path of the directory below the tree (rlen bytes, for
 * messages); it is extended in place with "/entry" (len bytes in all) for the call, and cut back.
 */
typedef int each_entry_fn(int fd, const char *entry, char *rel, size_t len, void *arg);

static int for_each_entry(int fd, char *rel, size_t rlen, const char *src, each_entry_fn *each,
                          void *arg)
{
    DIR *d = open_listing(fd);
    struct dirent *de;
    int r = 0;

    if (d == NULL)
        return ajio__error_strerror(-errno, "publish %s: list %s", src, rlen ? rel : ".");
    for (;;) {
        size_t n;

        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                r = ajio__error_strerror(-errno, "publish %s: list %s", src, rlen ? rel : ".");
            break;
        }
        if (is_dot(de->d_name))
            continue;
        n = strlen(de->d_name);
        if (rlen + n + 2 > PATH_MAX) {
            r = ajio__error(-ENAMETOOLONG, "publish %s: a path below it is too long", src);
            break;
        }
        if (rlen)
            rel[rlen] = '/';
        memcpy(rel + rlen + (rlen ? 1 : 0), de->d_name, n + 1);
        r = each(fd, de->d_name, rel, rlen + n + (rlen ? 1 : 0), arg);
        rel[rlen] = '\0';
        if (r < 0)
            break;
    }
    (void)closedir(d);
    return r;
}

/* What one copy needs besides the two directories: messages, flags, the generation itself. */
struct copy {
    const char *src;
    unsigned flags;
    bool fsync_each;     /* sync mode 1: every file and directory fsync'ed as it is copied */
    bool writeback_each; /* sync mode 2: each file's writeback started as it is copied */
    dev_t gen_dev;
    ino_t gen_ino;
};

static int copy_tree(int sfd, int dfd, char *rel, size_t rlen, const struct copy *c);

static int copy_entry(int sfd, int dfd, const char *n, char *rel, size_t rlen, const struct copy *c)
{
    const char *src = c->src;
    unsigned flags = c->flags;
    struct stat st;
    int in = -1, out = -1, r;

    if (fstatat(sfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return ajio__error_strerror(-errno, "publish %s: stat %s", src, rel);
    /* A name inside its own source would copy the generation into itself without end. */
    if (S_ISDIR(st.st_mode) && st.st_dev == c->gen_dev && st.st_ino == c->gen_ino)
        return ajio__error(-EINVAL,
                           "publish %s: %s is the new generation: the name is inside the "
                           "source",
                           src, rel);
    if (S_ISLNK(st.st_mode)) {
        char text[PATH_MAX];
        ssize_t k = readlinkat(sfd, n, text, sizeof(text));
        if (k < 0)
            return ajio__error_strerror(-errno, "publish %s: readlink %s", src, rel);
        if ((size_t)k >= sizeof(text))
            return ajio__error(-ENAMETOOLONG, "publish %s: symlink %s: text too long", src, rel);
        text[k] = '\0';
        if (symlinkat(text, dfd, n) < 0)
            return ajio__error_strerror(-errno, "publish %s: symlink %s", src, rel);
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        /* 0700 while it is filled: the source's mode may forbid our own writes. */
        if (mkdirat(dfd, n, 0700) < 0)
            return ajio__error_strerror(-errno, "publish %s: mkdir %s", src, rel);
        in = openat(sfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0) {
            r = ajio__error_strerror(-errno, "publish %s: open %s", src, rel);
            goto out;
        }
        out = openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (out < 0) {
            r = ajio__error_strerror(-errno, "publish %s: open the copy of %s", src, rel);
            goto out;
        }
        r = copy_tree(in, out, rel, rlen, c);
        if (r < 0)
            goto out;
        if (fchmod(out, st.st_mode & 07777) < 0) {
            r = ajio__error_strerror(-errno, "publish %s: chmod the copy of %s", src, rel);
            goto out;
        }
        if (c->fsync_each) {
            r = fsync_fd(out, flags);
            if (r < 0)
                r = ajio__error_strerror(r, "publish %s: fsync the copy of %s", src, rel);
        }
        goto out;
    }
    if (!S_ISREG(st.st_mode))
        return ajio__error(-EOPNOTSUPP,
                           "publish %s: %s is not a regular file, directory or symlink", src, rel);
    in = openat(sfd, n, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (in < 0)
        return ajio__error_strerror(-errno, "publish %s: open %s", src, rel);
    out = openat(dfd, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        r = ajio__error_strerror(-errno, "publish %s: create the copy of %s", src, rel);
        goto out;
    }
    r = copy_data(in, out, rel, src);
    if (r < 0)
        goto out;
    if (fchmod(out, st.st_mode & 07777) < 0) {
        r = ajio__error_strerror(-errno, "publish %s: chmod the copy of %s", src, rel);
        goto out;
    }
    if (c->fsync_each) {
        r = fsync_fd(out, flags);
        if (r < 0) {
            r = ajio__error_strerror(r, "publish %s: fsync the copy of %s", src, rel);
            goto out;
        }
    } else if (c->writeback_each && sync_file_range(out, 0, 0, SYNC_FILE_RANGE_WRITE) < 0 &&
               errno != ESPIPE) {
        r = ajio__error_strerror(-errno, "publish %s: sync_file_range the copy of %s", src, rel);
        goto out;
    }
    /* close() reports deferred write errors on some filesystems (NFS). */
    r = close(out) < 0 ? ajio__error_strerror(-errno, "publish %s: close the copy of %s", src, rel)
                       : 0;
    out = -1;
out:
    if (in >= 0)
        (void)close(in);
    if (out >= 0)
        (void)close(out);
    return r;
}

struct copy_into {
    int dfd;
    const struct copy *c;
};

static int copy_one(int sfd, const char *entry, char *rel, size_t len, void *arg)
{
    const struct copy_into *into = arg;

    return copy_entry(sfd, into->dfd, entry, rel, len, into->c);
}

/* rel is the path below the source, for messages; it is extended in place. */
static int copy_tree(int sfd, int dfd, char *rel, size_t rlen, const struct copy *c)
{
    struct copy_into into = {dfd, c};

    return for_each_entry(sfd, rel, rlen, c->src, copy_one, &into);
}

/*
 * For a move: every file and directory of the tree in place is synced (the tree becomes the
 * generation as it is), and anything that is not a file, directory or symlink is refused
 * before anything moves.
 */
static int sync_tree(int fd, char *rel, size_t rlen, const char *src, unsigned flags);

struct sync_how {
    const char *src;
    unsigned flags;
};

static int sync_one(int fd, const char *entry, char *rel, size_t len, void *arg)
{
    const struct sync_how *how = arg;
    struct stat st;
    int sub, r = 0;

    if (fstatat(fd, entry, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return ajio__error_strerror(-errno, "publish %s: stat %s", how->src, rel);
    if (S_ISLNK(st.st_mode))
        return 0;
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return ajio__error(-EOPNOTSUPP,
                           "publish %s: %s is not a regular file, directory or symlink", how->src,
                           rel);
    sub = openat(fd, entry, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC |
                                (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
    if (sub < 0)
        return ajio__error_strerror(-errno, "publish %s: open %s", how->src, rel);
    if (S_ISDIR(st.st_mode))
        r = sync_tree(sub, rel, len, how->src, how->flags);
    if (r == 0) {
        r = fsync_fd(sub, how->flags);
        if (r < 0)
            r = ajio__error_strerror(r, "publish %s: fsync %s", how->src, rel);
    }
    (void)close(sub);
    return r;
}

static int sync_tree(int fd, char *rel, size_t rlen, const char *src, unsigned flags)
{
    struct sync_how how = {src, flags};

    return for_each_entry(fd, rel, rlen, src, sync_one, &how);
}

/*
 * Makes the tree at fd durable, all of it (files, directories, fd itself) and fd's own entry,
 * before NAME may point to it. Mode 0 (the library): one syncfs(2) of its filesystem, which
 * writes back every file at once and commits the journal once, where an fsync of each file and
 * directory pays a commit (a log force, a cache flush) each; it fails on a writeback error of
 * any file of that filesystem since fd was opened (Linux >= 5.8). Modes 1 and 2, for the
 * benchmark: every file and directory fsync'ed, as it was copied (1) or in a second pass after
 * the copy started each file's writeback (2). copied: the tree is a copy made with those modes
 * (mode 1 synced its entries already); else it is a tree moved in, of which nothing is synced
 * yet. what: the tree's path, for messages.
 */
static int sync_generation(int fd, char *rel, const char *name, const char *what, bool copied,
                           unsigned flags)
{
    int r = 0;

    /* A tree moved in is walked all the same: what is not a file, directory or symlink is
     * refused before anything moves. */
    if (!copied && (ajio__snapshot_sync_mode == 0 || (flags & AJIO_NO_SYNC))) {
        r = sync_tree(fd, rel, 0, what, flags | AJIO_NO_SYNC);
        if (r < 0)
            return r;
    }
    if (flags & AJIO_NO_SYNC)
        return 0;
    if (ajio__snapshot_sync_mode == 0) {
        if (syncfs(fd) < 0)
            r = ajio__error_strerror(-errno, "publish %s: syncfs of %s", name, what);
    } else {
        if (!copied || ajio__snapshot_sync_mode == 2)
            r = sync_tree(fd, rel, 0, copied ? name : what, flags);
        if (r == 0) {
            r = fsync_fd(fd, flags);
            if (r < 0)
                r = ajio__error_strerror(r, "publish %s: fsync %s", name, what);
        }
    }
    if (r == 0 && ajio__snapshot_fail_sync != 0)
        r = ajio__error(-EIO, "publish %s: sync of %s: failed (test)", name, what);
    /* The negative control of the tests: the failure ignored. */
    if (ajio__snapshot_fail_sync == 2)
        r = 0;
    return r;
}

/* ---- removing a generation ---------------------------------------------------------------- */

/*
 * Empties the directory fd (rm -r of its contents), never following a symlink. rel holds the
 * directory's path below p->dir (a buffer of PATH_MAX, rlen used) and is extended in place, so
 * that a message names the whole path; op is the call, for messages.
 */
static int rm_contents(int fd, const struct place *p, const char *op, char *rel, size_t rlen)
{
    DIR *d = open_listing(fd);
    struct dirent *de;
    int r = 0;

    if (d == NULL)
        return ajio__error_strerror(-errno, "%s %s: list %s/%s", op, p->path, p->dir, rel);
    for (;;) {
        struct stat st;
        size_t n;
        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                r = ajio__error_strerror(-errno, "%s %s: list %s/%s", op, p->path, p->dir, rel);
            break;
        }
        if (is_dot(de->d_name))
            continue;
        n = strlen(de->d_name);
        if (rlen + n + 2 > PATH_MAX) {
            r = ajio__error(-ENAMETOOLONG, "%s %s: a path below %s/%s is too long", op, p->path,
                            p->dir, rel);
            break;
        }
        rel[rlen] = '/';
        memcpy(rel + rlen + 1, de->d_name, n + 1);
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                r = ajio__error_strerror(-errno, "%s %s: stat %s/%s", op, p->path, p->dir, rel);
        } else if (S_ISDIR(st.st_mode)) {
            int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                r = ajio__error_strerror(-errno, "%s %s: open %s/%s", op, p->path, p->dir, rel);
            } else {
                /* A published read-only directory must be writable to be emptied. */
                if ((st.st_mode & 0700) != 0700 && fchmod(sub, 0700) < 0)
                    r = ajio__error_strerror(-errno, "%s %s: chmod %s/%s", op, p->path, p->dir,
                                             rel);
                else
                    r = rm_contents(sub, p, op, rel, rlen + 1 + n);
                (void)close(sub);
                if (r == 0 && unlinkat(fd, de->d_name, AT_REMOVEDIR) < 0)
                    r = ajio__error_strerror(-errno, "%s %s: rmdir %s/%s", op, p->path, p->dir,
                                             rel);
            }
        } else if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT) {
            r = ajio__error_strerror(-errno, "%s %s: unlink %s/%s", op, p->path, p->dir, rel);
        }
        rel[rlen] = '\0';
        if (r < 0)
            break;
    }
    (void)closedir(d);
    return r;
}

/*
 * Removes generation entry unless it is current or held. @return 1 removed, 0 kept, or a
 * negative errno.
 */
static int gc_generation(struct place *p, const char *entry)
{
    char cur[NAME_MAX + 1], rec[NAME_MAX + 1];
    struct stat st;
    int fd, r;

    fd = openat(p->dirfd, entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        /* Removed meanwhile by another gc, or not a directory: not ours to remove. */
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return 0;
        return ajio__error_strerror(-errno, "snapshot gc %s: open %s", p->path, entry);
    }
    if (dir_flock(fd, LOCK_EX | LOCK_NB) < 0 &&
        !(ajio__snapshot_gc_ignore_locks && errno == EWOULDBLOCK)) {
        r = errno == EWOULDBLOCK || errno == EINTR
                ? 0
                : ajio__error_strerror(-errno, "snapshot gc %s: flock %s", p->path, entry);
        goto out;
    }
    /*
     * Decided again under the lock: a publisher holds its generation's lock until NAME points
     * to it, so what NAME says now is at least as new as that generation.
     */
    r = read_current(p->dirfd, p->base, cur);
    if (r < 0 && r != -EEXIST) {
        r = ajio__error_strerror(r, "snapshot gc %s: readlink", p->path);
        goto out;
    }
    if (r == 1 && strcmp(cur, entry) == 0) {
        r = 0;
        goto out;
    }
    /*
     * A source moved in by a publish that never finished: its record, made durable before the
     * move, says where it goes back (gc_record), and it is never deleted.
     */
    swap_tag(rec, entry, p->base, FROM_TAG);
    if (fstatat(p->dirfd, rec, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) {
        r = 0;
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        r = ajio__error_strerror(-errno, "snapshot gc %s: fstat %s", p->path, entry);
        goto out;
    }
    if (st.st_nlink == 0) {
        r = 0; /* another gc removed it between our open and our lock */
        goto out;
    }
    if ((st.st_mode & 0700) != 0700 && fchmod(fd, 0700) < 0) {
        r = ajio__error_strerror(-errno, "snapshot gc %s: chmod %s", p->path, entry);
        goto out;
    }
    {
        char rel[PATH_MAX];
        (void)snprintf(rel, sizeof(rel), "%s", entry);
        r = rm_contents(fd, p, "snapshot gc", rel, strlen(rel));
    }
    if (r < 0)
        goto out;
    /* Still under the lock: a reader waiting for LOCK_SH then finds st_nlink == 0. */
    if (unlinkat(p->dirfd, entry, AT_REMOVEDIR) < 0) {
        r = errno == ENOENT
                ? 0
                : ajio__error_strerror(-errno, "snapshot gc %s: rmdir %s", p->path, entry);
        goto out;
    }
    r = 1;
out:
    (void)close(fd);
    return r;
}

/*
 * A temp symlink ".NAME.ajio-<hex>.tmp" left by a publish that died before its rename. A live
 * publisher holds the lock of the generation its temp points to from before the temp exists
 * until after the rename, so a temp whose generation is missing or can be locked is dead.
 */
static int gc_temp_link(struct place *p, const char *entry)
{
    char text[NAME_MAX + 1];
    ssize_t n = readlinkat(p->dirfd, entry, text, sizeof(text) - 1);
    int fd = -1, r = 0;

    if (n < 0)
        return errno == ENOENT || errno == EINVAL
                   ? 0
                   : ajio__error_strerror(-errno, "snapshot gc %s: readlink %s", p->path, entry);
    text[n] = '\0';
    if (is_gen_name(text, p->base)) {
        fd = openat(p->dirfd, text, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
            return ajio__error_strerror(-errno, "snapshot gc %s: open %s", p->path, text);
        if (fd >= 0 && dir_flock(fd, LOCK_EX | LOCK_NB) < 0) {
            (void)close(fd);
            return 0;
        }
    }
    if (unlinkat(p->dirfd, entry, 0) == 0)
        r = 1;
    else if (errno != ENOENT)
        r = ajio__error_strerror(-errno, "snapshot gc %s: unlink %s", p->path, entry);
    if (fd >= 0)
        (void)close(fd);
    return r;
}

/*
 * Moves a directory to a name that must be free. Where the filesystem refuses RENAME_NOREPLACE
 * (FUSE daemons built on libfuse's high-level API, such as bindfs: EINVAL), the name is checked
 * first and renamed over by renameat(): in the moment between, only an empty directory made at
 * the name could be replaced (rename(2) fails over a file or a directory with entries), and the
 * names moved to are either random (a new generation) or the caller's own source path.
 */
static int move_dir_noreplace(int olddirfd, const char *old, int newdirfd, const char *new)
{
    struct stat st;

    if (renameat2(olddirfd, old, newdirfd, new, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (fstatat(newdirfd, new, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        errno = EEXIST;
        return -1;
    }
    if (errno != ENOENT)
        return -1;
    return renameat(olddirfd, old, newdirfd, new);
}

/*
 * The record ".NAME.from-<hex>" of a publish with AJIO_PUBLISH_MOVE: the absolute path the
 * source had, and a newline. Its publisher holds LOCK_EX on it from its creation, before the
 * move, until it is removed, after NAME points to the generation (or the source is back).
 * One that can be locked is a dead publisher's: if its generation is current the record is
 * just removed; if the generation exists and is not current, it goes back to the recorded path
 * (RENAME_NOREPLACE, synced on both sides) and then the record goes; if the path is taken, or
 * the record cannot be read, both stay, for the caller (see the header), and each gc tries
 * again; with no generation the move never happened and the record goes. wait: take the lock
 * waiting (a publish, which must not switch NAME while another process decides on a record).
 * @return 1 if a generation was moved back, 0, or a negative errno.
 */
static int gc_record(struct place *p, const char *entry, unsigned flags, bool wait)
{
    char gen[NAME_MAX + 1], cur[NAME_MAX + 1], path[PATH_MAX + 1];
    struct stat st;
    ssize_t n;
    int fd, gfd = -1, r = 0;
    bool drop = true;

    fd = openat(p->dirfd, entry, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ELOOP
                   ? 0
                   : ajio__error_strerror(-errno, "snapshot gc %s: open %s", p->path, entry);
    r = wait ? flock_retry(fd, LOCK_EX) : (dir_flock(fd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0);
    if (r < 0) {
        r = r == -EWOULDBLOCK || r == -EINTR
                ? 0 /* its publisher is alive */
                : ajio__error_strerror(r, "snapshot gc %s: flock %s", p->path, entry);
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        r = ajio__error_strerror(-errno, "snapshot gc %s: fstat %s", p->path, entry);
        goto out;
    }
    if (st.st_nlink == 0 || !S_ISREG(st.st_mode))
        goto out; /* removed by its publisher or another gc; or not ours */
    swap_tag(gen, entry, p->base, GEN_TAG);
    gfd = openat(p->dirfd, gen, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (gfd < 0 && errno != ENOENT) {
        r = ajio__error_strerror(-errno, "snapshot gc %s: open %s", p->path, gen);
        goto out;
    }
    if (gfd >= 0) {
        r = read_current(p->dirfd, p->base, cur);
        if (r < 0 && r != -EEXIST) {
            r = ajio__error_strerror(r, "snapshot gc %s: readlink", p->path);
            goto out;
        }
        if (r == 1 && strcmp(cur, gen) == 0) {
            r = 0; /* published: from now on a generation like any other */
            goto remove;
        }
        r = 0;
        drop = false;
        /* Held by a reader, which could only be if it was published once: next time. */
        if (dir_flock(gfd, LOCK_EX | LOCK_NB) < 0)
            goto out;
        n = pread(fd, path, sizeof(path), 0);
        if (n < 2 || (size_t)n >= sizeof(path) || path[0] != '/' || path[n - 1] != '\n' ||
            memchr(path, '\0', (size_t)n) != NULL)
            goto out;
        path[n - 1] = '\0';
        if (move_dir_noreplace(p->dirfd, gen, AT_FDCWD, path) < 0)
            goto out; /* the path is taken, or its directory gone: kept for the caller */
        /* The source's entry is durable before the record that finds it can go. */
        if (!(flags & AJIO_NO_SYNC)) {
            int pfd = openat(gfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (pfd < 0 || fsync(pfd) < 0 || fsync(p->dirfd) < 0) {
                r = ajio__error_strerror(-errno, "snapshot gc %s: fsync after moving %s back to %s",
                                         p->path, gen, path);
                if (pfd >= 0)
                    (void)close(pfd);
                goto out;
            }
            (void)close(pfd);
        }
        drop = true;
        r = 1;
    }
remove:
    if (drop && unlinkat(p->dirfd, entry, 0) < 0 && errno != ENOENT)
        r = ajio__error_strerror(-errno, "snapshot gc %s: unlink %s", p->path, entry);
out:
    if (gfd >= 0)
        (void)close(gfd);
    (void)close(fd);
    return r;
}

/* records_only: only the records of moves, their locks waited for (see gc_record). */
static int gc(struct place *p, unsigned flags, bool records_only)
{
    char cur[NAME_MAX + 1];
    bool has_cur = read_current(p->dirfd, p->base, cur) == 1;
    DIR *d = open_listing(p->dirfd);
    struct dirent *de;
    int removed = 0, r = 0;

    if (d == NULL)
        return ajio__error_strerror(-errno, "snapshot gc %s: list %s", p->path, p->dir);
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                r = ajio__error_strerror(-errno, "snapshot gc %s: list %s", p->path, p->dir);
            break;
        }
        if (is_record_name(de->d_name, p->base))
            r = gc_record(p, de->d_name, flags, records_only);
        else if (records_only)
            continue;
        /* The current one is not even locked: readers would wait for nothing. */
        else if (is_gen_name(de->d_name, p->base) && has_cur && strcmp(de->d_name, cur) == 0)
            continue;
        else if (is_gen_name(de->d_name, p->base))
            r = gc_generation(p, de->d_name);
        /* DT_UNKNOWN (some filesystems): gc_temp_link's readlink tells, EINVAL for a file. */
        else if (ajio__is_temp_name(de->d_name, p->base) &&
                 (de->d_type == DT_LNK || de->d_type == DT_UNKNOWN))
            r = gc_temp_link(p, de->d_name);
        else
            continue;
        if (r < 0)
            break;
        removed += r;
    }
    (void)closedir(d);
    if (r < 0)
        return r;
    if (removed > 0) {
        r = fsync_fd(p->dirfd, flags);
        if (r < 0)
            return ajio__error_strerror(r, "snapshot gc %s: fsync %s", p->path, p->dir);
    }
    return removed;
}

/* ---- public calls ------------------------------------------------------------------------- */

#define PUBLISH_FLAGS (AJIO_NO_SYNC | AJIO_PUBLISH_MOVE)

/*
 * A generation this publish made and nothing points to, removed on its failure path (err, whose
 * message is set): best effort, under the lock the caller may still hold. If it cannot be removed
 * the message says so and why, and the next gc removes it (nobody locks it once we are gone).
 * fd: the generation's, or -1 if it is known to be empty. @return err.
 */
static int drop_generation(const struct place *p, const char *gen, int fd, int err)
{
    char msg[PATH_MAX + 256], rel[PATH_MAX];
    int r = 0;

    (void)snprintf(msg, sizeof(msg), "%s", ajio_last_error());
    (void)snprintf(rel, sizeof(rel), "%s", gen);
    /* Its mode is the source's by now, which may forbid our own removals. */
    if (fd >= 0 && fchmod(fd, 0700) < 0)
        r = ajio__error_strerror(-errno, "chmod %s/%s", p->dir, gen);
    if (r == 0 && fd >= 0)
        r = rm_contents(fd, p, "publish", rel, strlen(rel));
    if (r == 0 && unlinkat(p->dirfd, gen, AT_REMOVEDIR) < 0 && errno != ENOENT)
        r = ajio__error_strerror(-errno, "rmdir %s/%s", p->dir, gen);
    if (r < 0) {
        char why[PATH_MAX + 256];
        (void)snprintf(why, sizeof(why), "%s", ajio_last_error());
        (void)ajio__error(err, "%s", msg);
        ajio__error_append(" (the new generation is left for the next gc: %s)", why);
    }
    return err;
}

/*
 * The new generation, empty, locked, in p->dir. A gc may take a directory between our mkdir
 * and our flock (it is not current and nobody holds it): then it is gone and we start again.
 */
static int make_generation(struct place *p, char gen[NAME_MAX + 1], mode_t mode)
{
    for (int tries = 0; tries < 100; tries++) {
        struct stat st;
        int fd;
        gen_name(gen, p->base);
        if (mkdirat(p->dirfd, gen, mode) < 0) {
            if (errno == EEXIST)
                continue;
            return ajio__error_strerror(-errno, "publish %s: mkdir %s/%s", p->path, p->dir, gen);
        }
        if (ajio__snapshot_hook != NULL && ajio__snapshot_hook("mkdir") != 0)
            return drop_generation(
                p, gen, -1,
                ajio__error(-ECANCELED, "publish %s: open %s: failed (test)", p->path, gen));
        fd = openat(p->dirfd, gen, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                continue;
            return drop_generation(
                p, gen, -1, ajio__error_strerror(-errno, "publish %s: open %s", p->path, gen));
        }
        if (flock_retry(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0) {
            int e = -errno;
            (void)close(fd);
            return drop_generation(
                p, gen, -1, ajio__error_strerror(e, "publish %s: lock %s", p->path, gen));
        }
        if (st.st_nlink > 0)
            return fd;
        (void)close(fd);
    }
    return ajio__error(-EAGAIN, "publish %s: no new generation could be made", p->path);
}

/*
 * Points NAME at gen, then syncs the directory. exists says what the check before found at NAME:
 * one of our symlinks (exchanged with the temp symlink, RENAME_EXCHANGE) or nothing (the temp
 * renamed with RENAME_NOREPLACE). Either way nothing that appeared at NAME after the check is
 * ever overwritten: after an exchange the temp's name holds what NAME was, and unless that is
 * one of our symlinks it is exchanged back and the publish refused. Only where the filesystem
 * refuses both flags (EINVAL, ENOSYS) is a plain renameat() used, and the check is all there is.
 * *ret_switched (false on entry) becomes true once NAME points to gen, whatever is returned.
 */
static int switch_name(struct place *p, const char *gen, bool exists, unsigned flags,
                       bool *ret_switched)
{
    char tmp[NAME_MAX + 1], was[NAME_MAX + 1];
    ssize_t n;
    int r;

    ajio__temp_name(tmp, p->base);
    if (symlinkat(gen, p->dirfd, tmp) < 0)
        return ajio__error_strerror(-errno, "publish %s: symlink %s", p->path, tmp);
    if (ajio__snapshot_hook != NULL)
        (void)ajio__snapshot_hook("swap");
    for (int tries = 0;; tries++) {
        unsigned how = exists ? RENAME_EXCHANGE : RENAME_NOREPLACE;
        if (!ajio__snapshot_plain_rename && renameat2(p->dirfd, tmp, p->dirfd, p->base, how) == 0)
            break;
        if (ajio__snapshot_plain_rename || errno == EINVAL || errno == ENOSYS) {
            if (renameat(p->dirfd, tmp, p->dirfd, p->base) == 0)
                goto synced;
        } else if (tries < 100 && (errno == EEXIST || errno == ENOENT)) {
            /* NAME came (or went) since the check: look again by the other way. */
            exists = errno == EEXIST;
            continue;
        }
        r = ajio__error_strerror(-errno, "publish %s: rename %s", p->path, tmp);
        (void)unlinkat(p->dirfd, tmp, 0);
        return r;
    }
    if (exists) {
        /* The temp's name now holds what NAME was: the previous generation's symlink, or not. */
        n = readlinkat(p->dirfd, tmp, was, sizeof(was) - 1);
        if (n >= 0)
            was[n] = '\0';
        if (n < 0 || !is_gen_name(was, p->base)) {
            /* Unreadable is not known to be ours: exchanged back as well. EINVAL: no symlink. */
            int e = n < 0 && errno != EINVAL ? -errno : 0;
            if (renameat2(p->dirfd, tmp, p->dirfd, p->base, RENAME_EXCHANGE) < 0) {
                *ret_switched = true;
                return ajio__error_strerror(-errno,
                                            "publish %s: exchange back: the name points to the new "
                                            "generation, what was at the name is now at %s/%s",
                                            p->path, p->dir, tmp);
            }
            (void)unlinkat(p->dirfd, tmp, 0);
            if (e < 0)
                return ajio__error_strerror(e,
                                            "publish %s: readlink %s/%s (what was at the name; "
                                            "exchanged back, left as it was)",
                                            p->path, p->dir, tmp);
            return ajio__error(-EEXIST,
                               "publish %s: it became something other than a snapshot symlink "
                               "during the publish; left as it was",
                               p->path);
        }
        /* A failure leaves a temp symlink to an old generation: the gc removes it. */
        (void)unlinkat(p->dirfd, tmp, 0);
    }
synced:
    *ret_switched = true;
    /* The switch cannot be undone without the same failing sync: the result says what happened. */
    r = fsync_fd(p->dirfd, flags);
    if (r < 0) {
        (void)ajio__error_strerror(r,
                                   "publish %s: fsync %s after the switch (the name points to the "
                                   "new generation; durability not confirmed)",
                                   p->path, p->dir);
        return AJIO_ENOTDURABLE;
    }
    return 0;
}

/*
 * The absolute path src_dir names, for the record of a move: its directory resolved, its last
 * component as given (the entry that is renamed, even if it is a symlink).
 */
static int source_path(const char *name, const char *src_dir, char ret[PATH_MAX])
{
    char buf[PATH_MAX], parent[PATH_MAX];
    const char *last;
    char *slash;
    size_t n = strlen(src_dir);

    if (n >= sizeof(buf))
        return ajio__error(-ENAMETOOLONG, "publish %s: the source path is too long", name);
    memcpy(buf, src_dir, n + 1);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    slash = strrchr(buf, '/');
    if (slash == NULL) {
        last = buf;
        strcpy(parent, ".");
    } else {
        last = slash + 1;
        *slash = '\0';
        strcpy(parent, slash == buf ? "/" : buf);
    }
    if (last[0] == '\0' || strcmp(last, ".") == 0 || strcmp(last, "..") == 0)
        return ajio__error(-EINVAL, "publish %s: the source %s cannot be moved", name, src_dir);
    if (realpath(parent, buf) == NULL)
        return ajio__error_strerror(-errno, "publish %s: resolve the directory of %s", name,
                                    src_dir);
    if ((size_t)snprintf(ret, PATH_MAX, "%s/%s", strcmp(buf, "/") == 0 ? "" : buf, last) >=
        PATH_MAX)
        return ajio__error(-ENAMETOOLONG, "publish %s: the source path is too long", name);
    return 0;
}

/*
 * What NAME points to now (read_current()), for a publish: 1 and cur, 0 when there is no NAME,
 * or a negative errno with its message: a NAME that is not one of our symlinks is never replaced.
 */
static int current_of_name(const struct place *p, const char *name, char *cur)
{
    int r = read_current(p->dirfd, p->base, cur);

    if (r == -EEXIST)
        return ajio__error(-EEXIST, "publish %s: it exists and is not a snapshot symlink", name);
    if (r < 0)
        return ajio__error_strerror(r, "publish %s: readlink", name);
    return r;
}

/*
 * Creates the record of moving from into gen, locked, with its content and its entry durable.
 * @return its fd, or a negative errno (-EEXIST: the name is taken, choose another).
 */
static int record_create(struct place *p, const char *gen, const char *from, unsigned flags)
{
    char rec[NAME_MAX + 1];
    size_t len = strlen(from);
    int fd, r;

    swap_tag(rec, gen, p->base, FROM_TAG);
    fd = openat(p->dirfd, rec, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return ajio__error_strerror(-errno, "publish %s: create %s", p->path, rec);
    r = flock_retry(fd, LOCK_EX);
    if (r < 0) {
        r = ajio__error_strerror(r, "publish %s: flock %s", p->path, rec);
        goto fail;
    }
    for (size_t w = 0; w <= len;) {
        ssize_t k = w < len ? write(fd, from + w, len - w) : write(fd, "\n", 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            r = ajio__error_strerror(-errno, "publish %s: write %s", p->path, rec);
            goto fail;
        }
        w += (size_t)k;
    }
    r = fsync_fd(fd, flags);
    if (r == 0)
        r = fsync_fd(p->dirfd, flags);
    if (r < 0) {
        r = ajio__error_strerror(r, "publish %s: fsync %s", p->path, rec);
        goto fail;
    }
    return fd;
fail:
    (void)unlinkat(p->dirfd, rec, 0);
    (void)close(fd);
    return r;
}

int ajio_publish(const char *src_dir, const char *name, const ajio_opts *opts)
{
    unsigned flags = opts ? opts->flags : 0;
    char gen[NAME_MAX + 1], cur[NAME_MAX + 1], rec[NAME_MAX + 1], rel[PATH_MAX], from[PATH_MAX];
    struct place p;
    struct stat st;
    int sfd = -1, gfd = -1, rfd = -1, r;
    bool made = false, crashed = false;

    rel[0] = '\0';
    if (flags & ~PUBLISH_FLAGS)
        return ajio__error(-EINVAL, "publish: unknown flags 0x%x", flags & ~PUBLISH_FLAGS);
    if (src_dir == NULL || src_dir[0] == '\0')
        return ajio__error(-EINVAL, "publish: the source directory is NULL or empty");
    r = place_open(&p, name, "publish");
    if (r < 0)
        goto out;
    /*
     * The records of moves that never finished are settled before NAME can change: one whose
     * generation is current now is removed, rather than seen by a gc after this publish as an
     * unpublished move and moved back.
     */
    r = gc(&p, flags, true);
    if (r < 0)
        goto out;
    /* A name that is not one of ours is refused before anything is created. */
    r = current_of_name(&p, name, cur);
    if (r < 0)
        goto out;
    sfd = open(src_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sfd < 0) {
        r = ajio__error_strerror(-errno, "publish %s: open source %s", name, src_dir);
        goto out;
    }
    if (fstat(sfd, &st) < 0) {
        r = ajio__error_strerror(-errno, "publish %s: fstat source %s", name, src_dir);
        goto out;
    }

    if (flags & AJIO_PUBLISH_MOVE) {
        r = sync_generation(sfd, rel, name, src_dir, false, flags);
        if (r < 0)
            goto out;
        /* Locked before it has its generation name, so that no gc can take it. */
        r = flock_retry(sfd, LOCK_EX);
        if (r < 0) {
            r = ajio__error_strerror(r, "publish %s: flock %s", name, src_dir);
            goto out;
        }
        r = source_path(name, src_dir, from);
        if (r < 0)
            goto out;
        /*
         * Before the move, a durable record of where the tree came from: a power cut between
         * the move and the switch leaves a generation that no gc deletes, but moves back.
         */
        for (int tries = 0;; tries++) {
            int e;
            gen_name(gen, p.base);
            rfd = record_create(&p, gen, from, flags);
            if (rfd == -EEXIST && tries < 100)
                continue;
            if (rfd < 0) {
                r = rfd;
                goto out;
            }
            if (move_dir_noreplace(AT_FDCWD, src_dir, p.dirfd, gen) == 0)
                break;
            e = errno;
            swap_tag(rec, gen, p.base, FROM_TAG);
            (void)unlinkat(p.dirfd, rec, 0);
            (void)close(rfd);
            rfd = -1;
            if (e == EEXIST && tries < 100)
                continue;
            r = ajio__error_strerror(-e, "publish %s: move %s to %s/%s", name, src_dir, p.dir, gen);
            goto out;
        }
        swap_tag(rec, gen, p.base, FROM_TAG);
        made = true;
        gfd = sfd;
        sfd = -1;
        /* The source's old directory lost an entry: sync it, unless it is ours. */
        if (!(flags & AJIO_NO_SYNC)) {
            int pfd = openat(gfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (pfd < 0 || fsync(pfd) < 0) {
                r = ajio__error_strerror(-errno, "publish %s: fsync the parent of %s", name,
                                         src_dir);
                if (pfd >= 0)
                    (void)close(pfd);
                goto out;
            }
            (void)close(pfd);
        }
        if (ajio__snapshot_hook != NULL && ajio__snapshot_hook("moved") != 0) {
            crashed = true;
            r = ajio__error(-ECANCELED, "publish %s: stopped after the move (test)", name);
            goto out;
        }
    } else {
        gfd = make_generation(&p, gen, 0700);
        if (gfd < 0) {
            r = gfd;
            goto out;
        }
        made = true;
        {
            struct copy c = {.src = src_dir,
                             .flags = flags,
                             .fsync_each = ajio__snapshot_sync_mode == 1,
                             .writeback_each = ajio__snapshot_sync_mode == 2};
            struct stat gst;
            if (fstat(gfd, &gst) < 0) {
                r = ajio__error_strerror(-errno, "publish %s: fstat %s", name, gen);
                goto out;
            }
            c.gen_dev = gst.st_dev;
            c.gen_ino = gst.st_ino;
            r = copy_tree(sfd, gfd, rel, 0, &c);
        }
        if (r < 0)
            goto out;
        if (fchmod(gfd, st.st_mode & 07777) < 0) {
            r = ajio__error_strerror(-errno, "publish %s: chmod %s", name, gen);
            goto out;
        }
        r = sync_generation(gfd, rel, name, gen, true, flags);
        if (r < 0)
            goto out;
    }
    /* The generation's own entry is durable before NAME can point to it. */
    r = fsync_fd(p.dirfd, flags);
    if (r < 0) {
        r = ajio__error_strerror(r, "publish %s: fsync %s", name, p.dir);
        goto out;
    }
    /* NAME may have become something else meanwhile: never replace it then. */
    r = current_of_name(&p, name, cur);
    if (r < 0)
        goto out;
    {
        bool switched = false;
        r = switch_name(&p, gen, r == 1, flags, &switched);
        /* NAME points to it: whatever comes next, the generation stays. */
        if (switched)
            made = false;
        if (r < 0 && r != AJIO_ENOTDURABLE)
            goto out;
    }
    /* Published: the record goes (one left behind is removed by the next publish or gc). */
    if (rfd >= 0) {
        (void)unlinkat(p.dirfd, rec, 0);
        (void)close(rfd);
        rfd = -1;
    }
    /* Our lock goes before the gc, which must not find our (now current) generation held. */
    (void)close(gfd);
    gfd = -1;
    /*
     * Published: the gc cannot make it undone, so its failure does not fail the publish; what
     * it could not remove the next gc (or publish) does. After AJIO_ENOTDURABLE no gc at all:
     * until the directory is synced a power cut may bring back the old NAME, and with it the
     * need for its generation.
     */
    if (r == 0)
        (void)gc(&p, flags, false);
out:
    if (made && !crashed) {
        /* Nothing points to it: remove it under the lock we still hold. */
        if (!(flags & AJIO_PUBLISH_MOVE))
            (void)drop_generation(&p, gen, gfd, r);
        else if (move_dir_noreplace(p.dirfd, gen, AT_FDCWD, src_dir) < 0) {
            /* Its record stays: every gc tries again to move it back to the recorded path. */
            ajio__error_append(" (the source is left at %s/%s, recorded in %s)", p.dir, gen, rec);
            crashed = true;
        } else if (!(flags & AJIO_NO_SYNC)) {
            /* Back in place durably before the record goes; if not, the record stays. */
            int pfd = openat(gfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (pfd < 0 || fsync(pfd) < 0 || fsync(p.dirfd) < 0)
                crashed = true;
            if (pfd >= 0)
                (void)close(pfd);
        }
    }
    if (rfd >= 0) {
        if (!crashed)
            (void)unlinkat(p.dirfd, rec, 0);
        (void)close(rfd);
    }
    if (gfd >= 0)
        (void)close(gfd);
    if (sfd >= 0)
        (void)close(sfd);
    place_close(&p);
    return r;
}

int ajio_snapshot_gc(const char *name, const ajio_opts *opts)
{
    unsigned flags = opts ? opts->flags : 0;
    struct place p;
    int r;

    if (flags & ~AJIO_NO_SYNC)
        return ajio__error(-EINVAL, "snapshot gc: unknown flags 0x%x", flags & ~AJIO_NO_SYNC);
    r = place_open(&p, name, "snapshot gc");
    if (r == 0)
        r = gc(&p, flags, false);
    place_close(&p);
    return r;
}

int ajio_snapshot_open(ajio_snapshot **ret, const char *name, const ajio_opts *opts)
{
    unsigned flags = opts ? opts->flags : 0;
    char last[PATH_MAX] = "";
    ajio_snapshot *s;
    int fd = -1;

    if (ret == NULL)
        return ajio__error(-EINVAL, "snapshot open: ret is NULL");
    if (name == NULL || name[0] == '\0')
        return ajio__error(-EINVAL, "snapshot open: the name is NULL or empty");
    if (flags != 0)
        return ajio__error(-EINVAL, "snapshot open %s: unknown flags 0x%x", name, flags);
    for (int tries = 0;; tries++) {
        struct stat st;
        int r;
        if (tries == OPEN_RETRIES)
            return ajio__error(-EAGAIN, "snapshot open %s: removed under us %d times", name, tries);
        fd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            char text[PATH_MAX];
            ssize_t n;
            int e = -errno;
            /*
             * ENOENT with NAME still a symlink: the generation it named was removed between
             * the kernel's reading of the link and its lookup of the target. Retried while
             * the link text changes; the same text twice is a dangling NAME.
             */
            if (e != -ENOENT || (n = readlink(name, text, sizeof(text) - 1)) < 0)
                return ajio__error_strerror(e, "snapshot open %s: open", name);
            text[n] = '\0';
            if (strcmp(text, last) == 0)
                return ajio__error_strerror(e, "snapshot open %s: open %s", name, text);
            memcpy(last, text, (size_t)n + 1);
            continue;
        }
        r = flock_retry(fd, LOCK_SH);
        if (r == 0 && fstat(fd, &st) < 0) {
            r = -errno;
            /*
             * Removed as well: where the filesystem asks its server for the attributes of a
             * directory that is gone (FUSE daemons such as bindfs, network filesystems), the
             * answer is an error rather than st_nlink 0.
             */
            if (r == -ENOENT || r == -ESTALE) {
                (void)close(fd);
                continue;
            }
        }
        if (r < 0) {
            (void)close(fd);
            return ajio__error_strerror(r, "snapshot open %s: lock", name);
        }
        if (st.st_nlink > 0)
            break;
        (void)close(fd);
    }
    s = malloc(sizeof(*s));
    if (s == NULL) {
        (void)close(fd);
        return ajio__error(-ENOMEM, "snapshot open %s: out of memory", name);
    }
    s->fd = fd;
    *ret = s;
    return 0;
}

int ajio_snapshot_fd(const ajio_snapshot *s)
{
    return s ? s->fd : ajio__error(-EINVAL, "ajio_snapshot_fd: the snapshot is NULL");
}

void ajio_snapshot_close(ajio_snapshot *s)
{
    if (s == NULL)
        return;
    (void)close(s->fd);
    free(s);
}

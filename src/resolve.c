/*
 * resolve.c - from a path to a directory fd and a final name, once.
 *
 * Every later step (temp creation, link, rename, directory sync) is relative to the directory fd
 * opened here, so a concurrent rename of a parent directory can never make the temp and the
 * target land in different directories, and the rename stays within one filesystem.
 *
 * The kernel resolves the directory whenever the path has no symlink (openat2 with
 * RESOLVE_NO_SYMLINKS: one syscall, as a plain open). A path with a symlink, or with directories
 * to create, is walked one component at a time instead, because every symlink on it must pass
 * the rule of sticky directories below whatever fs.protected_symlinks says.
 */
#include "internal.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

void ajio__target_init(struct ajio__target *t)
{
    /*
     * One initializer for every field before the path buffers, so that a new field cannot be
     * left out; the 8 KB of buffers after them are not zeroed on every write (see internal.h).
     */
    static const struct ajio__target init = {.dirfd = -1, .basefd = AT_FDCWD, .lockfd = -1};

    memcpy(t, &init, offsetof(struct ajio__target, path));
    t->name = t->path;
    t->path[0] = '\0';
}

int ajio__sync_dir_fd(int fd, bool opath, int anyfd)
{
    /*
     * fsync(2) needs a file opened for reading or writing; a directory the writer may only
     * search and write (a 0733 drop box) can only be opened O_PATH. syncfs(2) on another file of
     * the same filesystem then makes the entry durable: it commits every pending change of that
     * filesystem, directory entries included, and reports writeback errors (Linux >= 5.8).
     */
    if (!opath)
        return fsync(fd) < 0 ? -errno : 0;
    return syncfs(anyfd) < 0 ? -errno : 0;
}

/*
 * Splits t->path into directory and name. The directory is t->path[0..dirlen): "" (the current
 * directory), "/" or "a/b". A trailing slash names a directory, which a file cannot replace.
 */
static int split_path(struct ajio__target *t)
{
    size_t len = strlen(t->path);
    const char *slash;
    size_t namelen;

    if (t->path[len - 1] == '/')
        return ajio__error(-EISDIR,
                           "path \"%s\" ends with '/': a file cannot replace a "
                           "directory",
                           t->path);
    slash = strrchr(t->path, '/');
    t->name = slash != NULL ? slash + 1 : t->path;
    t->dirlen = slash == NULL ? 0 : slash == t->path ? 1 : (size_t)(slash - t->path);
    namelen = strlen(t->name);
    if (strcmp(t->name, ".") == 0 || strcmp(t->name, "..") == 0)
        return ajio__error(-EISDIR, "path \"%s\" names a directory", t->path);
    if (namelen > NAME_MAX)
        return ajio__error(-ENAMETOOLONG,
                           "file name of \"%s\" is %zu bytes, over NAME_MAX "
                           "(%d)",
                           t->path, namelen, NAME_MAX);
    return 0;
}

/*
 * The kernel's fs.protected_symlinks rule, applied whatever the sysctl says: in a sticky
 * world-writable directory (/tmp) a symlink is followed only if it belongs to the caller or to
 * the directory's owner. Anyone may plant a link there; following it would let them aim a
 * privileged writer at any file.
 */
static int check_link(const struct ajio__target *t, const struct stat *dir, const struct stat *link,
                      const char *where)
{
    uid_t me;

    if ((dir->st_mode & (S_ISVTX | S_IWOTH)) != (S_ISVTX | S_IWOTH))
        return 0;
    me = geteuid();
    if (link->st_uid == me || link->st_uid == dir->st_uid)
        return 0;
    return ajio__error(-EACCES,
                       "symlink \"%s\" for \"%s\" is not followed: it belongs to "
                       "uid %u, in a sticky world-writable directory owned by uid "
                       "%u, and the caller is uid %u (protected_symlinks rule)",
                       where, t->path, (unsigned)link->st_uid, (unsigned)dir->st_uid, (unsigned)me);
}

/*
 * Makes directory fd's entry "name", just created (or found just created by a concurrent
 * writer, who may not have synced it yet), durable. fd may be O_PATH.
 */
static int sync_new_entry(struct ajio__target *t, int fd, const char *name, const char *dir)
{
    int pfd, cfd = -1, r;
    bool opath = false;

    if (t->flags & AJIO_NO_SYNC)
        return 0;
    pfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0 && errno == EACCES) {
        opath = true;
        cfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cfd < 0)
            return ajio__error_strerror(-errno, "open of new directory \"%s\" for \"%s\"", dir,
                                        t->path);
    } else if (pfd < 0) {
        return ajio__error_strerror(-errno, "open of the parent of new directory \"%s\" for \"%s\"",
                                    dir, t->path);
    }
    r = ajio__sync_dir_fd(pfd, opath, cfd);
    if (r < 0)
        (void)ajio__error_strerror(r, "%s of the parent of new directory \"%s\" for \"%s\"",
                                   opath ? "syncfs" : "fsync", dir, t->path);
    if (pfd >= 0)
        (void)close(pfd);
    if (cfd >= 0)
        (void)close(cfd);
    return r;
}

/*
 * Opens directory dir one component at a time, like the kernel's own lookup, with three
 * differences: every symlink passes check_link(); missing directories are created (mkdir -p)
 * unless AJIO_NO_MKDIR, and the parent of each one is synced; intermediate directories are
 * opened O_PATH, so search permission is all they need. Directories created here stay if the
 * write later fails: another writer may already be using them.
 */
static int walk_dir(struct ajio__target *t, const char *dir)
{
    /* The slow path (symlinks, new directories): its two path buffers come from the heap. */
    char *rest = malloc(2 * PATH_MAX), *link;
    size_t pos = 0;
    int fd, hops = 0, made = 0, r;

    if (rest == NULL)
        return ajio__error_strerror(-ENOMEM, "open of directory \"%s\" for \"%s\"", dir, t->path);
    link = rest + PATH_MAX;
    memcpy(rest, dir, strlen(dir) + 1);
    /* A relative dir starts where t->path's base is: the current directory or a handle's. */
    fd = rest[0] == '/' ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)
                        : openat(t->basefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        r = ajio__error_strerror(-errno, "open of directory \"%s\" for \"%s\"",
                                 rest[0] == '/' ? "/" : ".", t->path);
        free(rest);
        return r;
    }
    for (;;) {
        struct stat dst, lst;
        char *comp, *end, saved;
        ssize_t n;
        int nfd;

        while (rest[pos] == '/')
            pos++;
        if (rest[pos] == '\0')
            break;
        comp = rest + pos;
        end = strchrnul(comp, '/');
        saved = *end;
        *end = '\0';
        nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd >= 0) {
            (void)close(fd);
            fd = nfd;
            *end = saved;
            pos = (size_t)(end - rest);
            continue;
        }
        if (errno == ENOENT && !(t->flags & AJIO_NO_MKDIR) && made++ < 4 * PATH_MAX) {
            /* EEXIST: a concurrent writer made it first; sync_new_entry() covers it too. */
            if (mkdirat(fd, comp, 0777) < 0 && errno != EEXIST) {
                r = ajio__error_strerror(-errno, "mkdir of \"%s\" for \"%s\"", rest, t->path);
                goto fail;
            }
            r = sync_new_entry(t, fd, comp, dir);
            if (r < 0)
                goto fail;
            *end = saved;
            continue; /* open it on the next round */
        }
        if (errno != ELOOP && errno != ENOTDIR) {
            r = ajio__error_strerror(-errno, "open of directory \"%s\" for \"%s\"", dir, t->path);
            goto fail;
        }
        /* With O_NOFOLLOW a symlink fails as ELOOP or ENOTDIR: look at what is there. */
        if (fstatat(fd, comp, &lst, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(lst.st_mode)) {
            r = ajio__error(-ENOTDIR,
                            "open of directory \"%s\" for \"%s\": \"%s\" is not "
                            "a directory",
                            dir, t->path, comp);
            goto fail;
        }
        if (++hops > AJIO__MAX_SYMLINKS) {
            r = ajio__error(-ELOOP, "too many levels of symlinks in \"%s\" for \"%s\"", dir,
                            t->path);
            goto fail;
        }
        if (fstat(fd, &dst) < 0) {
            r = ajio__error_strerror(-errno,
                                     "stat of the directory holding symlink \"%s\" for "
                                     "\"%s\"",
                                     comp, t->path);
            goto fail;
        }
        r = check_link(t, &dst, &lst, comp);
        if (r < 0)
            goto fail;
        n = readlinkat(fd, comp, link, PATH_MAX);
        if (n < 0) {
            r = ajio__error_strerror(-errno, "readlink of \"%s\" for \"%s\"", comp, t->path);
            goto fail;
        }
        *end = saved;
        /* The rest of the walk is the link's text, then what followed the link. */
        if ((size_t)n + strlen(end) + 1 > PATH_MAX) {
            r = ajio__error(-ENAMETOOLONG,
                            "symlink \"%s\" makes the path of \"%s\" longer "
                            "than PATH_MAX",
                            comp, t->path);
            goto fail;
        }
        memcpy(link + n, end, strlen(end) + 1);
        memcpy(rest, link, strlen(link) + 1);
        pos = 0;
        if (rest[0] == '/') {
            nfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (nfd < 0) {
                r = ajio__error_strerror(-errno, "open of directory \"/\" for \"%s\"", t->path);
                goto fail;
            }
            (void)close(fd);
            fd = nfd;
        }
    }
    /* The last directory is read-opened when allowed, so fsync(2) can sync it. */
    r = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r >= 0) {
        (void)close(fd);
        free(rest);
        return r;
    }
    if (errno != EACCES) {
        r = ajio__error_strerror(-errno, "open of directory \"%s\" for \"%s\"", dir, t->path);
        goto fail;
    }
    t->dir_opath = true;
    free(rest);
    return fd;
fail:
    (void)close(fd);
    free(rest);
    return r;
}

static int open_dir(struct ajio__target *t)
{
    struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_NO_SYMLINKS};
    char *dir = t->scratch;
    int fd;

    /* Relative to basefd, which stands for t->path[0..baselen) (nothing: the current dir). */
    if (t->dirlen <= t->baselen) {
        dir[0] = '.';
        dir[1] = '\0';
    } else {
        memcpy(dir, t->path + t->baselen, t->dirlen - t->baselen);
        dir[t->dirlen - t->baselen] = '\0';
    }
    t->dir_opath = false;
    fd = (int)syscall(SYS_openat2, t->basefd, dir, &how, sizeof(how));
    if (fd >= 0)
        return fd;
    if (errno == EACCES) {
        /* Search and write permission without read: a drop box. O_PATH is enough to work in. */
        how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
        fd = (int)syscall(SYS_openat2, t->basefd, dir, &how, sizeof(how));
        if (fd >= 0) {
            t->dir_opath = true;
            return fd;
        }
    }
    /* ELOOP: a symlink on the path. ENOSYS: a kernel before openat2 (5.6). */
    if (errno == ELOOP || errno == ENOSYS || (errno == ENOENT && !(t->flags & AJIO_NO_MKDIR)))
        return walk_dir(t, dir);
    return ajio__error_strerror(-errno, "open of directory \"%s\" for \"%s\"", dir, t->path);
}

/*
 * Replaces t->path by the target of the symlink t->name, relative to the link's directory. An
 * absolute target is a path of its own: no base directory any more.
 */
static int follow_link(struct ajio__target *t)
{
    char *link = t->scratch;
    ssize_t n;

    n = readlinkat(t->dirfd, t->name, link, PATH_MAX);
    if (n < 0)
        return ajio__error_strerror(-errno, "readlink of \"%s\"", t->path);
    if ((size_t)n >= PATH_MAX)
        return ajio__error(-ENAMETOOLONG, "symlink \"%s\" points to a path over PATH_MAX", t->path);
    link[n] = '\0';
    if (link[0] == '/') {
        t->basefd = AT_FDCWD;
        t->baselen = 0;
    }
    if (link[0] == '/' || t->dirlen == 0) {
        memcpy(t->path, link, (size_t)n + 1);
        return 0;
    }
    /* Relative: the link's directory (already at the start of t->path), '/', the link. */
    if (t->dirlen + 1 + (size_t)n + 1 > PATH_MAX)
        return ajio__error(-ENAMETOOLONG,
                           "symlink \"%s\" resolves to a path over "
                           "PATH_MAX",
                           t->path);
    t->path[t->dirlen] = '/';
    memcpy(t->path + t->dirlen + 1, link, (size_t)n + 1);
    return 0;
}

/*
 * Decides the final mode and owner of the new file, and whether the temp needs them set; notes
 * what AJIO_SKIP_UNCHANGED compares against. Nothing to plan without perms (an append).
 */
static void plan_permissions(const struct ajio__target *t, struct ajio__old *old,
                             struct ajio__perms *perms, const struct stat *st,
                             const ajio_opts *opts)
{
    if (perms == NULL)
        return;
    if (st != NULL) {
        perms->uid = st->st_uid;
        perms->gid = st->st_gid;
        perms->chown = true;
        perms->mode = st->st_mode & 07777;
        perms->fix_perms = true;
        perms->copy_meta = true;
        old->size = (uint64_t)st->st_size;
        old->dev = st->st_dev;
        old->ino = st->st_ino;
        old->mtime = st->st_mtim;
        old->ctime = st->st_ctim;
    }
    if (t->flags & AJIO_MODE) {
        if (st != NULL && (st->st_mode & 07777) != (opts->mode & 07777))
            old->same = false; /* a mode change is a change, even with equal bytes */
        perms->mode = opts->mode & 07777;
        perms->fix_perms = true;
    }
}

/*
 * The kernel's fs.protected_regular=2 rule, applied whatever the sysctl says: in a sticky
 * directory that others may write, a file that belongs to neither the caller nor the directory's
 * owner is never taken over. Replacing it would give the new content the planter's owner and
 * mode, so whoever pre-created the name could read what was written.
 */
int ajio__check_regular(const struct ajio__target *t, const struct stat *st)
{
    uid_t me;

    if (!(t->dir_mode & S_ISVTX) || !(t->dir_mode & (S_IWOTH | S_IWGRP)))
        return 0;
    me = geteuid();
    if (st->st_uid == me || st->st_uid == t->dir_uid)
        return 0;
    return ajio__error(-EACCES,
                       "\"%s\" belongs to uid %u, in a sticky directory others "
                       "may write owned by uid %u; the caller (uid %u) does not "
                       "take it over (protected_regular rule)",
                       t->path, (unsigned)st->st_uid, (unsigned)t->dir_uid, (unsigned)me);
}

/*
 * A directory made moments ago, by this writer or a concurrent one, may exist only in memory:
 * its creator syncs its parent, but a second writer can find it and return before that sync.
 * So a durable write into a directory born less than ajio__new_dir_sec ago syncs the parents of
 * every such new directory on its way up; older entries have long been written back by the
 * kernel. The last directory done is remembered per thread, so a burst of writes into one new
 * directory pays once. Called once the temp exists, before any name does.
 */
static _Thread_local struct {
    dev_t dev;
    ino_t ino;
} synced_dir;

long ajio__new_dir_sec = 60;

int ajio__sync_new_dirs(struct ajio__target *t, int anyfd)
{
    struct timespec now;
    struct statx cur;
    int fd = t->dirfd, r = 0;

    if ((t->flags & AJIO_NO_SYNC) || t->dir_btime == 0)
        return 0;
    if (synced_dir.dev == t->dir_dev && synced_dir.ino == t->dir_ino)
        return 0;
    if (clock_gettime(CLOCK_REALTIME, &now) < 0)
        return ajio__error_strerror(-errno, "clock_gettime for \"%s\"", t->path);
    cur.stx_btime.tv_sec = t->dir_btime;
    for (int depth = 0; depth < PATH_MAX / 2; depth++) {
        int pfd;
        bool opath = false;

        if (now.tv_sec - cur.stx_btime.tv_sec >= ajio__new_dir_sec)
            break;
        pfd = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0 && errno == EACCES) {
            opath = true;
            pfd = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        }
        if (pfd < 0) {
            r = ajio__error_strerror(-errno,
                                     "open of the parent of new directory \"%.*s\" for \"%s\"",
                                     AJIO__DIR_ARG(t), t->path);
            break;
        }
        if (fd != t->dirfd)
            (void)close(fd);
        fd = pfd;
        /* The temp is on the same filesystem: syncfs(2) through it when fd is O_PATH. */
        r = ajio__sync_dir_fd(fd, opath, anyfd);
        if (r < 0) {
            (void)ajio__error_strerror(r, "%s of the parent of new directory \"%.*s\" for \"%s\"",
                                       opath ? "syncfs" : "fsync", AJIO__DIR_ARG(t), t->path);
            break;
        }
        if (statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_BTIME, &cur) < 0) {
            r = ajio__error_strerror(-errno,
                                     "stat of the parent of new directory \"%.*s\" for \"%s\"",
                                     AJIO__DIR_ARG(t), t->path);
            break;
        }
        /* No birth time, or the root of a filesystem: no entry above it is on this disk. */
        if (!(cur.stx_mask & STATX_BTIME) || (cur.stx_attributes & STATX_ATTR_MOUNT_ROOT) ||
            cur.stx_ino == t->dir_ino)
            break;
    }
    if (fd != t->dirfd)
        (void)close(fd);
    if (r == 0) {
        synced_dir.dev = t->dir_dev;
        synced_dir.ino = t->dir_ino;
    }
    return r;
}

/* Opens the directory t->path[0..dirlen) and learns what the rules below need of it. */
static int open_and_stat_dir(struct ajio__target *t)
{
    struct statx stx;

    t->dirfd = open_dir(t);
    if (t->dirfd < 0) {
        int r = t->dirfd;
        t->dirfd = -1;
        return r;
    }
    /*
     * One statx serves the sticky rules, the append-only check, the new-directory sync and, by
     * the mount's ID, the kind of filesystem (fs.c), which then needs no fstatfs of its own.
     */
    if (statx(t->dirfd, "", AT_EMPTY_PATH,
              STATX_MODE | STATX_UID | STATX_INO | STATX_BTIME | AJIO__STATX_MNT_ID_UNIQUE,
              &stx) < 0)
        return ajio__error_strerror(-errno, "stat of the directory of \"%s\"", t->path);
    t->dir_mode = stx.stx_mode;
    t->dir_uid = stx.stx_uid;
    t->dir_append = (stx.stx_attributes & STATX_ATTR_APPEND) != 0;
    t->dir_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
    t->dir_ino = stx.stx_ino;
    /* A filesystem's root has no entry on that filesystem to sync: 0 skips the walk up. */
    t->dir_btime = (stx.stx_mask & STATX_BTIME) && !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)
                       ? stx.stx_btime.tv_sec
                       : 0;
    t->dir_mnt_id = ajio__statx_mnt_id(&stx);
    return 0;
}

int ajio__resolve_dir(struct ajio__target *t, const char *dir)
{
    size_t len = strlen(dir);

    /* "a/b/" is "a/b"; "/" stays. t->path becomes "DIR/", t->name the empty string after it. */
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len + 2 > PATH_MAX)
        return ajio__error(-ENAMETOOLONG, "path of %zu bytes is over PATH_MAX (%d)", len,
                           PATH_MAX);
    memcpy(t->path, dir, len);
    t->path[len] = '/';
    t->path[len + 1] = '\0';
    t->dirlen = len;
    t->name = t->path + len + 1;
    return open_and_stat_dir(t);
}

int ajio__resolve_name(struct ajio__target *t, struct ajio__old *old, struct ajio__perms *perms,
                       const ajio_opts *opts)
{
    struct stat st;
    int r, n = 0;

    /*
     * ESTALE: another writer replaced the target between this client's lookup of the name and
     * its look at the file (a shared filesystem, or FUSE); the name is looked up again.
     */
    while (fstatat(t->dirfd, t->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ESTALE && ajio__shared_retry(n++, 8))
            continue;
        if (errno != ENOENT)
            return ajio__error_strerror(-errno, "stat of \"%s\"", t->path);
        t->exists = false;
        plan_permissions(t, old, perms, NULL, opts);
        return 0;
    }
    if (S_ISLNK(st.st_mode)) {
        if (t->flags & AJIO_NO_FOLLOW)
            return ajio__error(-ELOOP, "\"%s\" is a symlink and symlinks are not followed",
                               t->path);
        /* As open(O_CREAT|O_EXCL): a link, dangling or not, is never followed to create. */
        if (t->flags & AJIO_CREATE_ONLY)
            return ajio__error(-EEXIST, "\"%s\" exists (a symlink) and create-only was asked",
                               t->path);
        if (t->flags & AJIO_REPLACE_LINK) {
            /* The link goes, so its target's mode is irrelevant: a new file's mode. */
            t->exists = true;
            if (old != NULL)
                old->same = false;
            plan_permissions(t, old, perms, NULL, opts);
            return 0;
        }
        struct stat dst = {.st_mode = t->dir_mode, .st_uid = t->dir_uid};
        r = check_link(t, &dst, &st, t->path);
        return r < 0 ? r : AJIO__FOLLOW;
    }
    if (S_ISDIR(st.st_mode))
        return ajio__error(-EISDIR, "\"%s\" is a directory", t->path);
    if (!S_ISREG(st.st_mode))
        return ajio__error(-EINVAL,
                           "\"%s\" is not a regular file (a device, FIFO or socket is never "
                           "replaced)",
                           t->path);
    r = ajio__check_regular(t, &st);
    if (r < 0)
        return r;
    t->exists = true;
    plan_permissions(t, old, perms, &st, opts);
    return 0;
}

/*
 * From a symlink at t->name that the options follow (ajio__resolve_name() said AJIO__FOLLOW) to
 * the file: the link's target, its directory opened, its name looked at, as often as it takes.
 * path names the write in the message of too many links.
 */
static int follow_links(struct ajio__target *t, struct ajio__old *old, struct ajio__perms *perms,
                        const ajio_opts *opts, const char *path)
{
    for (int hops = 0;; hops++) {
        int r;

        if (hops >= AJIO__MAX_SYMLINKS)
            return ajio__error(-ELOOP, "too many levels of symlinks at \"%s\"", path);
        r = follow_link(t);
        if (r < 0)
            return r;
        /* A directory handle's fd is lent (the base of the rest of the walk): never closed. */
        if (t->dir_handle == NULL || t->dirfd != t->dir_handle->dirfd)
            (void)close(t->dirfd);
        t->dirfd = -1;
        r = split_path(t);
        if (r < 0)
            return r;
        r = open_and_stat_dir(t);
        if (r < 0)
            return r;
        r = ajio__resolve_name(t, old, perms, opts);
        if (r != AJIO__FOLLOW)
            return r;
    }
}

int ajio__resolve(struct ajio__target *t, struct ajio__old *old, struct ajio__perms *perms,
                  const char *path, const ajio_opts *opts)
{
    size_t len = strlen(path);
    int r;

    if (len >= PATH_MAX)
        return ajio__error(-ENAMETOOLONG, "path of %zu bytes is over PATH_MAX (%d)", len, PATH_MAX);
    memcpy(t->path, path, len + 1);
    r = split_path(t);
    if (r < 0)
        return r;
    r = open_and_stat_dir(t);
    if (r < 0)
        return r;
    r = ajio__resolve_name(t, old, perms, opts);
    if (r == AJIO__FOLLOW)
        r = follow_links(t, old, perms, opts, path);
    if (r < 0)
        return r;
    return ajio__check_append_only(t);
}

void ajio__borrow_dir(struct ajio__target *t, const struct ajio__target *dir, const char *name)
{
    size_t prefix = (size_t)(dir->name - dir->path); /* dir->path is "DIR/", its name empty */

    t->dirfd = dir->dirfd;
    t->dir_borrowed = true;
    t->dir_handle = dir;
    t->basefd = dir->dirfd;
    t->baselen = prefix;
    t->dir_opath = dir->dir_opath;
    t->dir_append = dir->dir_append;
    t->dir_uid = dir->dir_uid;
    t->dir_mode = dir->dir_mode;
    t->dir_dev = dir->dir_dev;
    t->dir_ino = dir->dir_ino;
    t->dir_btime = dir->dir_btime;
    t->dir_mnt_id = dir->dir_mnt_id;
    memcpy(t->path, dir->path, prefix);
    strcpy(t->path + prefix, name);
    t->dirlen = dir->dirlen;
    t->name = t->path + prefix;
}

int ajio__resolve_borrowed(struct ajio__target *t, struct ajio__old *old, struct ajio__perms *perms,
                           const ajio_opts *opts)
{
    int r = ajio__resolve_name(t, old, perms, opts);

    /*
     * t->path is "DIR/name" as given at ajio_dir_open(), stale once the directory is renamed or
     * the process changes directory: a relative link is followed from the handle's fd (basefd,
     * which stands for that "DIR/"), so the path text only ever serves the messages.
     */
    if (r == AJIO__FOLLOW)
        r = follow_links(t, old, perms, opts, t->path);
    if (r < 0)
        return r;
    return ajio__check_append_only(t);
}

int ajio__check_append_only(const struct ajio__target *t)
{
    /*
     * Nothing in an append-only directory can be renamed or removed: refuse before any name. An
     * append writes into the file in place and needs neither.
     */
    if (t->exists && t->dir_append && !(t->flags & AJIO__APPENDING))
        return ajio__error(-EPERM,
                           "\"%s\" exists in an append-only directory, where no "
                           "file can be replaced",
                           t->path);
    return 0;
}

/*
 * resolve.c - from a path to a directory fd and a final name, once.
 *
 * Every later step (temp creation, link, rename, directory sync) is relative to the directory fd
 * opened here, so a concurrent rename of a parent directory can never make the temp and the
 * target land in different directories, and the rename stays within one filesystem.
 */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

const char *ajio__dir_for_message(const struct ajio_file *f, char *buf, size_t size)
{
    size_t n = f->dirlen;

    if (n == 0)
        return ".";
    if (n >= size)
        n = size - 1;
    memcpy(buf, f->path, n);
    buf[n] = '\0';
    return buf;
}

/*
 * Splits f->path into directory and name. The directory is f->path[0..dirlen): "" (the current
 * directory), "/" or "a/b". A trailing slash names a directory, which a file cannot replace.
 */
static int split_path(struct ajio_file *f)
{
    size_t len = strlen(f->path);
    const char *slash;
    size_t namelen;

    if (f->path[len - 1] == '/')
        return ajio__set_message(-EISDIR, "path \"%s\" ends with '/': a file cannot replace a "
                                          "directory", f->path);
    slash = strrchr(f->path, '/');
    f->name = slash != NULL ? slash + 1 : f->path;
    f->dirlen = slash == NULL ? 0 : slash == f->path ? 1 : (size_t)(slash - f->path);
    namelen = strlen(f->name);
    if (strcmp(f->name, ".") == 0 || strcmp(f->name, "..") == 0)
        return ajio__set_message(-EISDIR, "path \"%s\" names a directory", f->path);
    if (namelen > NAME_MAX)
        return ajio__set_message(-ENAMETOOLONG, "file name of \"%s\" is %zu bytes, over NAME_MAX "
                                                "(%d)", f->path, namelen, NAME_MAX);
    return 0;
}

/*
 * Creates the missing directories of dir one component at a time, like mkdir -p, and returns an
 * fd of the last one. A directory entry is durable only once its parent is synced, so the parent
 * of every directory created here is fsynced (unless AJIO_NO_SYNC); the last directory itself is
 * synced after the final rename. Directories created here stay if the write later fails: another
 * writer may already be using them.
 */
static int make_parents(struct ajio_file *f, const char *dir)
{
    char buf[PATH_MAX];
    char *p, *end;
    int fd, r;

    memcpy(buf, dir, strlen(dir) + 1);
    fd = open(buf[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ajio__set_error(-errno, "open of directory \"%s\" for \"%s\"",
                               buf[0] == '/' ? "/" : ".", f->path);
    for (p = buf;; p = end + 1) {
        int nfd;
        bool last;

        end = strchr(p, '/');
        last = end == NULL;
        if (!last)
            *end = '\0';
        if (*p != '\0') {
            nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (nfd < 0 && errno == ENOENT) {
                if (mkdirat(fd, p, 0777) < 0) {
                    /* EEXIST: a concurrent writer made it first, which is just as good. */
                    if (errno != EEXIST) {
                        r = ajio__set_error(-errno, "mkdir of \"%s\" for \"%s\"", dir, f->path);
                        goto fail;
                    }
                } else if (!(f->flags & AJIO_NO_SYNC) && fsync(fd) < 0) {
                    r = ajio__set_error(-errno, "fsync of the parent of new directory \"%s\" "
                                                "for \"%s\"", buf, f->path);
                    goto fail;
                }
                nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            }
            if (nfd < 0) {
                r = ajio__set_error(-errno, "open of directory \"%s\" for \"%s\"", buf, f->path);
                goto fail;
            }
            (void)close(fd);
            fd = nfd;
        }
        if (last)
            break;
        *end = '/';
    }
    return fd;
fail:
    (void)close(fd);
    return r;
}

static int open_dir(struct ajio_file *f)
{
    char dir[PATH_MAX];
    int fd;

    if (f->dirlen == 0) {
        dir[0] = '.';
        dir[1] = '\0';
    } else {
        memcpy(dir, f->path, f->dirlen);
        dir[f->dirlen] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !(f->flags & AJIO_NO_MKDIR))
        return make_parents(f, dir);
    if (fd < 0)
        return ajio__set_error(-errno, "open of directory \"%s\" for \"%s\"", dir, f->path);
    return fd;
}

/* Replaces f->path by the target of the symlink f->name, relative to the link's directory. */
static int follow_link(struct ajio_file *f)
{
    char link[PATH_MAX];
    char next[PATH_MAX];
    ssize_t n;
    size_t need;

    n = readlinkat(f->dirfd, f->name, link, sizeof(link));
    if (n < 0)
        return ajio__set_error(-errno, "readlink of \"%s\"", f->path);
    if ((size_t)n >= sizeof(link))
        return ajio__set_message(-ENAMETOOLONG, "symlink \"%s\" points to a path over PATH_MAX",
                                 f->path);
    link[n] = '\0';
    if (link[0] == '/' || f->dirlen == 0) {
        memcpy(next, link, (size_t)n + 1);
    } else {
        need = f->dirlen + 1 + (size_t)n + 1;
        if (need > sizeof(next))
            return ajio__set_message(-ENAMETOOLONG, "symlink \"%s\" resolves to a path over "
                                                    "PATH_MAX", f->path);
        memcpy(next, f->path, f->dirlen);
        next[f->dirlen] = '/';
        memcpy(next + f->dirlen + 1, link, (size_t)n + 1);
    }
    memcpy(f->path, next, strlen(next) + 1);
    return 0;
}

/* Decides the final mode and owner of the new file, and whether the temp needs them set. */
static void plan_permissions(struct ajio_file *f, const struct stat *st, const ajio_opts *opts)
{
    if (st != NULL) {
        f->uid = st->st_uid;
        f->gid = st->st_gid;
        f->chown = true;
        f->mode = st->st_mode & 07777;
        f->fix_perms = true;
        f->old_size = (uint64_t)st->st_size;
    }
    if (f->flags & AJIO_MODE) {
        if (st != NULL && (st->st_mode & 07777) != (opts->mode & 07777))
            f->same = false; /* a mode change is a change, even with equal bytes */
        f->mode = opts->mode & 07777;
        f->fix_perms = true;
    }
}

int ajio__resolve(struct ajio_file *f, const char *path, const ajio_opts *opts)
{
    size_t len = strlen(path);
    struct stat st;
    int r;

    if (len >= PATH_MAX)
        return ajio__set_message(-ENAMETOOLONG, "path of %zu bytes is over PATH_MAX (%d)", len,
                                 PATH_MAX);
    memcpy(f->path, path, len + 1);
    for (int hops = 0;; hops++) {
        r = split_path(f);
        if (r < 0)
            return r;
        f->dirfd = open_dir(f);
        if (f->dirfd < 0) {
            r = f->dirfd;
            f->dirfd = -1;
            return r;
        }
        if (fstatat(f->dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                return ajio__set_error(-errno, "stat of \"%s\"", f->path);
            f->exists = false;
            plan_permissions(f, NULL, opts);
            return 0;
        }
        if (S_ISLNK(st.st_mode)) {
            if (f->flags & AJIO_NO_FOLLOW)
                return ajio__set_message(-ELOOP, "\"%s\" is a symlink and symlinks are not "
                                                 "followed", f->path);
            if (f->flags & AJIO_REPLACE_LINK) {
                /* The link goes, so its target's mode is irrelevant: a new file's mode. */
                f->exists = true;
                f->same = false;
                plan_permissions(f, NULL, opts);
                return 0;
            }
            if (hops >= AJIO__MAX_SYMLINKS)
                return ajio__set_message(-ELOOP, "too many levels of symlinks at \"%s\"", path);
            r = follow_link(f);
            if (r < 0)
                return r;
            (void)close(f->dirfd);
            f->dirfd = -1;
            continue;
        }
        if (S_ISDIR(st.st_mode))
            return ajio__set_message(-EISDIR, "\"%s\" is a directory", f->path);
        if (!S_ISREG(st.st_mode))
            return ajio__set_message(-EINVAL, "\"%s\" is not a regular file (a device, FIFO or "
                                              "socket is never replaced)", f->path);
        f->exists = true;
        plan_permissions(f, &st, opts);
        return 0;
    }
}

/*
 * dir.c - the directory handle: ajio_dir_open() resolves and opens a directory once, and
 * ajio_dir_write() replaces files in it by name, skipping the path walk, the directory's open
 * and stat and its close that every path write pays.
 *
 * Each write borrows the handle's directory fd and what was learnt of the directory (owner and
 * mode for the sticky rules, append-only, birth time) in a handle of its own, and then runs the
 * same steps as a path write: the name's stat and permission plan (resolve.c), the temp
 * (tempfile.c), stage, publish and directory sync (commit.c). Nothing a write does goes by the
 * path given at ajio_dir_open(), which is stale once the directory is renamed or the process
 * changes directory: a symlink at the name is followed from the handle's fd (resolve.c), the
 * target's lock (AJIO_LOCK) is taken in the directory that fd holds (lock.c), and a missing
 * directory a relative link leads to is created from there.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* What a directory handle's open accepts; the rest are per write. */
#define DIR_OPEN_FLAGS (AJIO_NO_MKDIR | AJIO_NO_SYNC)

struct ajio_dir {
    struct ajio__target dir; /* dirfd and the dir_* fields; path is "DIR/" */
    size_t prefix;        /* strlen(dir.path) */
};

int ajio_dir_open(ajio_dir **ret, const char *path, const ajio_opts *opts)
{
    unsigned flags = opts != NULL ? opts->flags : 0;
    struct ajio_dir *d;
    int r;

    if (ret == NULL)
        return ajio__error(-EINVAL, "ajio_dir_open: ret is NULL");
    r = ajio__check_args(path, opts);
    if (r < 0)
        return r;
    if (flags & ~DIR_OPEN_FLAGS)
        return ajio__error(-EINVAL,
                           "directory \"%s\": option flags 0x%x are for writes, not for "
                           "ajio_dir_open()",
                           path, flags & ~DIR_OPEN_FLAGS);
    d = malloc(sizeof(*d));
    if (d == NULL)
        return ajio__error_strerror(-ENOMEM, "directory handle for \"%s\"", path);
    ajio__target_init(&d->dir);
    d->dir.flags = flags;
    r = ajio__resolve_dir(&d->dir, path);
    if (r < 0) {
        ajio__target_close(&d->dir);
        free(d);
        return r;
    }
    d->prefix = strlen(d->dir.path);
    *ret = d;
    return 0;
}

/* A name in the directory: one component, not "." or "..". */
static int check_name(const struct ajio_dir *d, const char *name)
{
    size_t n;

    if (name == NULL || name[0] == '\0')
        return ajio__error(-EINVAL, "write in directory \"%s\": the name is %s", d->dir.path,
                           name == NULL ? "NULL" : "empty");
    if (strchr(name, '/') != NULL)
        return ajio__error(-EINVAL,
                           "write in directory \"%s\": \"%s\" is not a name in it (it holds "
                           "'/'; use the path functions)",
                           d->dir.path, name);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return ajio__error(-EISDIR, "write in directory \"%s\": \"%s\" names a directory",
                           d->dir.path, name);
    n = strlen(name);
    if (n > NAME_MAX)
        return ajio__error(-ENAMETOOLONG,
                           "write in directory \"%s\": the name is %zu bytes, over NAME_MAX (%d)",
                           d->dir.path, n, NAME_MAX);
    if (d->prefix + n >= PATH_MAX)
        return ajio__error(-ENAMETOOLONG, "path of %zu bytes is over PATH_MAX (%d)", d->prefix + n,
                           PATH_MAX);
    return 0;
}

int ajio_dir_write(ajio_dir *d, const char *name, const void *data, size_t len,
                   const ajio_opts *opts)
{
    struct iovec iov_one = {(void *)data, len}, json_iov[4], *iov = &iov_one;
    struct ajio_file *f;
    int iovcnt = 1, r;

    if (d == NULL)
        return ajio__error(-EINVAL, "ajio_dir_write: the directory handle is NULL");
    r = check_name(d, name);
    if (r < 0)
        return r;
    r = ajio__check_args(name, opts);
    if (r < 0)
        return r;
    if (data == NULL && len > 0)
        return ajio__error(-EINVAL, "data is NULL with length %zu for \"%s\"", len, name);
    f = ajio__new_handle(name);
    if (f == NULL)
        return -ENOMEM;
    ajio__borrow_dir(&f->target, &d->dir, name);
    r = ajio__check_content(f->target.path, opts != NULL ? opts->flags : 0, &iov, &iovcnt,
                            json_iov);
    /* As a path write from here on; being borrowed, f is resolved from the handle's fd. */
    if (r == 0)
        r = ajio__start(f, name, opts, -1);
    if (r == 0)
        r = ajio__write_resolved(f, iov, iovcnt);
    if (r == 0)
        r = ajio__finish(f);
    ajio__discard(f); /* leaves the handle's fd open */
    return r;
}

void ajio_dir_close(ajio_dir *d)
{
    if (d == NULL)
        return;
    ajio__target_close(&d->dir); /* closes the directory; nothing was written through it */
    free(d);
}

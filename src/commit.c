/*
 * commit.c - the commit sequence, in two halves:
 *
 *   stage    buffer flushed, permissions set, temp fdatasync'ed: the temp is complete on disk
 *   publish  the temp gets a name (O_TMPFILE) and is renamed over the target
 *
 * followed by the directory sync. They are apart so that a batch can stage many files, publish
 * them, and sync each directory once.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ajio__file_init(struct ajio_file *f)
{
    /* Only the fields a failure path reads need values; path and tmpname fill as they go. */
    f->dirfd = -1;
    f->fd = -1;
    f->cmpfd = -1;
    f->flags = 0;
    f->err = 0;
    f->anonymous = false;
    f->named = false;
    f->exists = false;
    f->same = false;
    f->fix_perms = false;
    f->mode = 0;
    f->uid = 0;
    f->gid = 0;
    f->chown = false;
    f->written = 0;
    f->old_size = 0;
    f->buflen = 0;
    f->buf = NULL;
    f->heap = false;
    f->name = f->path;
    f->dirlen = 0;
    f->path[0] = '\0';
    f->tmpname[0] = '\0';
}

/*
 * Gives the temp the target's owner and mode. Owner first: chown(2) clears the set-id bits, and
 * the mode must be the last word. When the group cannot be kept, the group bits are dropped
 * rather than handed to the writer's own group, so nobody gains read access by the rewrite.
 */
static int set_permissions(struct ajio_file *f)
{
    struct stat st;
    mode_t mode = f->mode;

    if (fstat(f->fd, &st) < 0)
        return ajio__set_error(-errno, "fstat of temp for \"%s\"", f->path);
    if (f->chown && (st.st_uid != f->uid || st.st_gid != f->gid)) {
        if (fchown(f->fd, f->uid, f->gid) < 0) {
            if (errno != EPERM)
                return ajio__set_error(-errno, "fchown of temp for \"%s\"", f->path);
            /* Not allowed to give the file away; keeping the group may still be allowed. */
            if (st.st_gid != f->gid && fchown(f->fd, (uid_t)-1, f->gid) < 0) {
                if (errno != EPERM)
                    return ajio__set_error(-errno, "fchown of temp for \"%s\"", f->path);
                mode &= ~(mode_t)070;
            }
        }
        st.st_mode = ~mode; /* chown may have cleared set-id bits: always set the mode */
    }
    if ((st.st_mode & 07777) != mode && fchmod(f->fd, mode) < 0)
        return ajio__set_error(-errno, "fchmod of temp for \"%s\"", f->path);
    return 0;
}

int ajio__stage(struct ajio_file *f)
{
    int r = ajio__file_flush(f);

    if (r < 0)
        return r;
    if (f->fix_perms) {
        r = set_permissions(f);
        if (r < 0)
            return f->err = r;
    }
    /*
     * The data must be on disk before any name points to it: otherwise a power cut after the
     * rename can bring back a zero-length or partly written target (ext4 without auto_da_alloc,
     * xfs). A failed fdatasync is never retried: the kernel may have dropped the dirty pages and
     * a second call could succeed on data that never reached the disk.
     */
#ifndef AJIO_TEST_OMIT_FILE_SYNC /* negative control of the power-cut suite only */
    if (!(f->flags & AJIO_NO_SYNC) && fdatasync(f->fd) < 0)
        return f->err = ajio__set_error(-errno, "fdatasync of temp for \"%s\"", f->path);
#endif
    return 0;
}

/* Gives an O_TMPFILE a temp name in the target's directory. */
static int link_anonymous(struct ajio_file *f)
{
    char proc[32];

    (void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
    for (int tries = 0; tries < 64; tries++) {
        ajio__temp_name(f->tmpname, f->name);
        if (linkat(AT_FDCWD, proc, f->dirfd, f->tmpname, AT_SYMLINK_FOLLOW) == 0)
            goto linked;
        /* Without /proc only AT_EMPTY_PATH can name the fd (it needs CAP_DAC_READ_SEARCH). */
        if (errno == ENOENT &&
            linkat(f->fd, "", f->dirfd, f->tmpname, AT_EMPTY_PATH) == 0)
            goto linked;
        if (errno != EEXIST)
            return ajio__set_error(-errno, "linkat of temp for \"%s\"", f->path);
    }
    return ajio__set_message(-EEXIST, "linkat of temp for \"%s\": 64 random names were all taken",
                             f->path);
linked:
    f->anonymous = false;
    f->named = true;
    return 0;
}

/* Create-only publish: the kernel decides atomically whether the target exists. */
static int publish_noreplace(struct ajio_file *f)
{
    if (renameat2(f->dirfd, f->tmpname, f->dirfd, f->name, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EEXIST)
        return ajio__set_message(-EEXIST, "\"%s\" exists and create-only was asked", f->path);
    /* Filesystems without RENAME_NOREPLACE (some FUSE) still have link(2), which never replaces. */
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return ajio__set_error(-errno, "rename of temp to \"%s\"", f->path);
    if (linkat(f->dirfd, f->tmpname, f->dirfd, f->name, 0) < 0) {
        if (errno == EEXIST)
            return ajio__set_message(-EEXIST, "\"%s\" exists and create-only was asked",
                                     f->path);
        return ajio__set_error(-errno, "link of temp to \"%s\"", f->path);
    }
    if (unlinkat(f->dirfd, f->tmpname, 0) < 0)
        return ajio__set_error(-errno, "unlink of temp \"%s\" after creating \"%s\"", f->tmpname,
                               f->path);
    return 0;
}

int ajio__publish(struct ajio_file *f)
{
    int r;

    if (f->err < 0)
        return f->err;
    if (f->anonymous) {
        r = link_anonymous(f);
        if (r < 0)
            return f->err = r;
    }
    /*
     * Close before the rename, so that an error close() reports (quota or I/O on some
     * filesystems) still leaves the target untouched. close() is never retried: the fd is gone
     * whatever it returns.
     */
    r = close(f->fd);
    f->fd = -1;
    if (r < 0)
        return f->err = ajio__set_error(-errno, "close of temp for \"%s\"", f->path);
    if (f->flags & AJIO_CREATE_ONLY)
        r = publish_noreplace(f);
    else if (renameat(f->dirfd, f->tmpname, f->dirfd, f->name) < 0)
        r = ajio__set_error(-errno, "rename of temp to \"%s\"", f->path);
    if (r < 0)
        return f->err = r;
    f->named = false;
    return 0;
}

int ajio__sync_dir(struct ajio_file *f)
{
    char dir[PATH_MAX];

    if (f->flags & AJIO_NO_SYNC)
        return 0;
    /*
     * The rename is in the directory, not in the file: without this fsync a power cut can bring
     * back the old target (or no target) although the call returned success. The rename cannot
     * be undone without the same failing sync, so the result says what happened instead.
     */
#ifdef AJIO_TEST_OMIT_DIR_SYNC /* negative control of the power-cut suite only */
    return 0;
#endif
    if (fsync(f->dirfd) < 0) {
        (void)ajio__set_error(-errno, "fsync of directory \"%s\" after replacing \"%s\" (the "
                                      "file was replaced; durability not confirmed)",
                              ajio__dir_for_message(f, dir, sizeof(dir)), f->path);
        return AJIO_ENOTDURABLE;
    }
    return 0;
}

int ajio__finish(struct ajio_file *f)
{
    int r;

    if (f->err < 0)
        return f->err;
    if (f->flags & AJIO_SKIP_UNCHANGED && f->exists && f->same && f->written == f->old_size)
        return AJIO_UNCHANGED;
    r = ajio__stage(f);
    if (r < 0)
        return r;
    r = ajio__publish(f);
    if (r < 0)
        return r;
    return ajio__sync_dir(f);
}

/*
 * Releases everything a handle holds; a temp that still has a name is removed. close() errors are
 * dropped on purpose here: the caller already has the error that matters and nothing is published.
 * A temp that cannot be removed is the one thing the caller must hear about, in the message.
 */
void ajio__discard(struct ajio_file *f)
{
    if (f->fd >= 0)
        (void)close(f->fd);
    if (f->named && unlinkat(f->dirfd, f->tmpname, 0) < 0 && errno != ENOENT)
        ajio__append_message(" (and the temp \"%s\" could not be removed: %s)", f->tmpname,
                             ajio_strerror(-errno));
    if (f->cmpfd >= 0)
        (void)close(f->cmpfd);
    if (f->dirfd >= 0)
        (void)close(f->dirfd);
    free(f->buf);
    f->fd = f->cmpfd = f->dirfd = -1;
    f->named = false;
    f->buf = NULL;
    if (f->heap)
        free(f);
}

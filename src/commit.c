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
#include <string.h>
#include <unistd.h>

int ajio__stage(struct ajio_file *f)
{
    int r;

    if (f->temp.err < 0)
        return f->temp.err;
    /* Attributes first: setting an access ACL rewrites the mode, which must be the last word. */
    if (f->perms.copy_meta) {
        r = ajio__copy_meta(&f->target, f->temp.fd);
        if (r < 0)
            return f->temp.err = r;
    }
    if (f->perms.fix_perms) {
        r = ajio__set_perms(f->temp.fd, &f->perms, f->target.path);
        if (r < 0)
            return f->temp.err = r;
    }
    /*
     * The data must be on disk before any name points to it: otherwise a power cut after the
     * rename can bring back a zero-length or partly written target (ext4 without auto_da_alloc,
     * xfs). A failed fdatasync is never retried: the kernel may have dropped the dirty pages and
     * a second call could succeed on data that never reached the disk.
     */
#ifndef AJIO_TEST_OMIT_FILE_SYNC /* negative control of the power-cut suite only */
    if (!(f->target.flags & AJIO_NO_SYNC) && fdatasync(f->temp.fd) < 0) {
#ifndef AJIO_TEST_IGNORE_FDATASYNC /* negative control of the fault-injection suite only */
        return f->temp.err =
                   ajio__error_strerror(-errno, "fdatasync of temp for \"%s\"", f->target.path);
#endif
    }
#endif
    return 0;
}

/* Gives an O_TMPFILE a temp name in the target's directory, locked first (see sweep.c). */
static int link_anonymous(struct ajio_file *f)
{
    int r = ajio__temp_lock(f);

    if (r < 0)
        return r;
    r = -EEXIST;
    for (int tries = 0; tries < 64 && r == -EEXIST; tries++) {
        ajio__temp_name(f->temp.tmpname, f->target.name);
        r = ajio__link_tmpfile(f->temp.fd, f->target.dirfd, f->temp.tmpname);
    }
    if (r == -EEXIST)
        return ajio__error(-EEXIST,
                           "linkat of temp for \"%s\": 64 random names were all "
                           "taken",
                           f->target.path);
    if (r < 0)
        return ajio__error_strerror(r, "linkat of temp for \"%s\"", f->target.path);
    f->temp.anonymous = false;
    f->temp.named = true;
    return 0;
}

/*
 * A new target is the O_TMPFILE linked straight to its name: linkat(2) never replaces, so a
 * reader finds no file or the whole file, and without a temp name there is nothing for a sweep
 * to see, so no lock, and nothing to rename. It is also the only way to publish in an
 * append-only directory, where nothing can be renamed or removed but new names can be made.
 * @return 0 published, 1 the name appeared meanwhile and may be replaced (a temp name and a
 * rename then, as for any existing target), or -errno.
 */
static int link_new(struct ajio_file *f)
{
    int r = ajio__link_tmpfile(f->temp.fd, f->target.dirfd, f->target.name);

    if (r == 0) {
        f->temp.anonymous = false;
        return 0;
    }
    if (r == -EEXIST && f->target.dir_append)
        return ajio__error(-EEXIST,
                           "\"%s\" appeared meanwhile in an append-only "
                           "directory, where it cannot be replaced",
                           f->target.path);
    if (r == -EEXIST && (f->target.flags & AJIO_CREATE_ONLY))
        return ajio__error(-EEXIST, "\"%s\" exists and create-only was asked", f->target.path);
    if (r == -EEXIST)
        return 1;
    return ajio__error_strerror(r, "linkat of temp to \"%s\"", f->target.path);
}

/* Create-only publish: the kernel decides atomically whether the target exists. */
static int publish_noreplace(struct ajio_file *f)
{
    if (renameat2(f->target.dirfd, f->temp.tmpname, f->target.dirfd, f->target.name,
                  RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EEXIST)
        return ajio__error(-EEXIST, "\"%s\" exists and create-only was asked", f->target.path);
    /* Filesystems without RENAME_NOREPLACE (some FUSE) still have link(2), which never replaces. */
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return ajio__error_strerror(-errno, "rename of temp to \"%s\"", f->target.path);
    if (linkat(f->target.dirfd, f->temp.tmpname, f->target.dirfd, f->target.name, 0) < 0) {
        if (errno == EEXIST)
            return ajio__error(-EEXIST, "\"%s\" exists and create-only was asked", f->target.path);
        return ajio__error_strerror(-errno, "link of temp to \"%s\"", f->target.path);
    }
    if (unlinkat(f->target.dirfd, f->temp.tmpname, 0) < 0)
        return ajio__error_strerror(-errno, "unlink of temp \"%s\" after creating \"%s\"",
                                    f->temp.tmpname, f->target.path);
    return 0;
}

/* Renames the named temp over the target (or, create-only, next to it). */
static int rename_temp(struct ajio_file *f)
{
    int r = 0;

    if (f->target.flags & AJIO_CREATE_ONLY)
        r = publish_noreplace(f);
    else if (renameat(f->target.dirfd, f->temp.tmpname, f->target.dirfd, f->target.name) < 0)
        r = ajio__error_strerror(-errno, "rename of temp to \"%s\"", f->target.path);
    if (r < 0)
        return f->temp.err = r;
    f->temp.named = false;
    return 0;
}

int ajio__publish(struct ajio_file *f)
{
    int r;

    if (f->temp.err < 0)
        return f->temp.err;
    /*
     * An O_TMPFILE stays open, and so keeps its lock (ajio_sweep() skips locked temps), from
     * before it has a temp name until after the rename and the directory sync (syncfs() needs a
     * file when the directory cannot be opened for fsync()); ajio__finish() closes it. O_TMPFILE
     * exists on local filesystems only, where close(2) reports nothing that fdatasync(2) has not.
     */
    if (f->temp.anonymous) {
        r = !f->target.exists || f->target.dir_append ? link_new(f) : 1;
        if (r == 1)
            r = link_anonymous(f);
        else if (r == 0)
            return 0;
        if (r < 0)
            return f->temp.err = r;
        return rename_temp(f);
    }
    /*
     * A named temp is what network and FUSE filesystems get, where close(2) can report a
     * deferred write error (NFS, quota): closed before the rename, so that such an error still
     * leaves the target untouched. close() is never retried: the fd is gone whatever it returns.
     * A second fd keeps the lock until the rename and serves syncfs() as above.
     */
    f->temp.lockfd = fcntl(f->temp.fd, F_DUPFD_CLOEXEC, 3);
    if (f->temp.lockfd < 0)
        return f->temp.err = ajio__error_strerror(-errno, "dup of temp for \"%s\"", f->target.path);
    r = close(f->temp.fd);
    f->temp.fd = -1;
    if (r < 0)
        return f->temp.err =
                   ajio__error_strerror(-errno, "close of temp for \"%s\"", f->target.path);
    return rename_temp(f);
}

int ajio__sync_dir(struct ajio_file *f)
{
    int r;

    if (f->target.flags & AJIO_NO_SYNC)
        return 0;
        /*
         * The rename is in the directory, not in the file: without this fsync a power cut can bring
         * back the old target (or no target) although the call returned success. The rename cannot
         * be undone without the same failing sync, so the result says what happened instead.
         */
#ifdef AJIO_TEST_OMIT_DIR_SYNC /* negative control of the power-cut suite only */
    return 0;
#endif
    r = ajio__sync_dir_fd(f->target.dirfd, f->target.dir_opath,
                          f->temp.fd >= 0 ? f->temp.fd : f->temp.lockfd);
    if (r < 0) {
        (void)ajio__error_strerror(r,
                                   "%s of directory \"%.*s\" after replacing \"%s\" (the file was "
                                   "replaced; durability not confirmed)",
                                   f->target.dir_opath ? "syncfs" : "fsync",
                                   AJIO__DIR_ARG(&f->target), f->target.path);
        return AJIO_ENOTDURABLE;
    }
    return 0;
}

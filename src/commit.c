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
#include <stdatomic.h>
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
    f->copy_meta = false;
    f->dir_opath = false;
    f->dir_append = false;
    f->dir_borrowed = false;
    f->dir_handle = NULL;
    f->basefd = AT_FDCWD;
    f->baselen = 0;
    f->lockfd = -1;
    f->target_lockfd = -1;
    f->lock_created = false;
    f->group_page = NULL;
    f->group_mapped = false;
    f->old_dev = 0;
    f->old_ino = 0;
    f->dir_btime = 0;
    f->mode = 0;
    f->uid = 0;
    f->gid = 0;
    f->chown = false;
    f->written = 0;
    f->checker = NULL;
    f->last = 0;
    f->gen = NULL;
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
        return ajio__error_strerror(-errno, "fstat of temp for \"%s\"", f->path);
    if (f->chown && (st.st_uid != f->uid || st.st_gid != f->gid)) {
        if (fchown(f->fd, f->uid, f->gid) < 0) {
            if (errno != EPERM)
                return ajio__error_strerror(-errno, "fchown of temp for \"%s\"", f->path);
            /* Not allowed to give the file away; keeping the group may still be allowed. */
            if (st.st_gid != f->gid && fchown(f->fd, (uid_t)-1, f->gid) < 0) {
                if (errno != EPERM)
                    return ajio__error_strerror(-errno, "fchown of temp for \"%s\"", f->path);
                mode &= ~(mode_t)070;
            }
        }
        st.st_mode = ~mode; /* chown may have cleared set-id bits: always set the mode */
    }
    if ((st.st_mode & 07777) != mode && fchmod(f->fd, mode) < 0)
        return ajio__error_strerror(-errno, "fchmod of temp for \"%s\"", f->path);
    return 0;
}

int ajio__stage(struct ajio_file *f)
{
    int r = ajio__file_flush(f);

    if (r < 0)
        return r;
    /* Attributes first: setting an access ACL rewrites the mode, which must be the last word. */
    if (f->copy_meta) {
        r = ajio__copy_meta(f);
        if (r < 0)
            return f->err = r;
    }
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
    if (!(f->flags & AJIO_NO_SYNC) && fdatasync(f->fd) < 0) {
#ifndef AJIO_TEST_IGNORE_FDATASYNC /* negative control of the fault-injection suite only */
        return f->err = ajio__error_strerror(-errno, "fdatasync of temp for \"%s\"", f->path);
#endif
    }
#endif
    return 0;
}

/*
 * How this process can give an O_TMPFILE a name: linkat(AT_EMPTY_PATH) needs Linux >= 6.10 or
 * CAP_DAC_READ_SEARCH; linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW) needs /proc and costs a
 * procfs lookup. Learnt once per process by ajio__tmpfile_probe(), before any data is written,
 * and corrected here whenever the preferred way stops working (a process that drops privileges).
 */
static atomic_int link_method = AJIO__LINK_UNKNOWN;

static int link_via(int how, int fd, int dirfd, const char *name)
{
    char proc[32];

    if (how == AJIO__LINK_EMPTY_PATH)
        return linkat(fd, "", dirfd, name, AT_EMPTY_PATH) < 0 ? -errno : 0;
    (void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

/* Links fd as name in dirfd, the preferred way first. @return 0 or -errno of the last try. */
static int link_tmpfile(int fd, int dirfd, const char *name)
{
    int first = atomic_load_explicit(&link_method, memory_order_relaxed);
    int r;

    if (first != AJIO__LINK_PROC)
        first = AJIO__LINK_EMPTY_PATH;
    r = link_via(first, fd, dirfd, name);
    /* ENOENT: no /proc, or AT_EMPTY_PATH without the privilege; EPERM on some kernels. */
    if (r == -ENOENT || r == -EPERM) {
        int other = first == AJIO__LINK_PROC ? AJIO__LINK_EMPTY_PATH : AJIO__LINK_PROC;
        r = link_via(other, fd, dirfd, name);
        /* Neither: later writes of this process use named temps from the start. */
        atomic_store_explicit(&link_method,
                              r == 0                        ? other
                              : r == -ENOENT || r == -EPERM ? AJIO__LINK_NONE
                                                            : first,
                              memory_order_relaxed);
    } else if (r == 0 && first != atomic_load_explicit(&link_method, memory_order_relaxed)) {
        atomic_store_explicit(&link_method, first, memory_order_relaxed);
    }
    return r;
}

int ajio__tmpfile_probe(struct ajio_file *f)
{
    char name[NAME_MAX + 1];
    int how = atomic_load_explicit(&link_method, memory_order_relaxed);
    int fd, r = -EEXIST;

    if (how != AJIO__LINK_UNKNOWN)
        return how;
    /*
     * One empty O_TMPFILE linked and unlinked again, once per process: finding out only at
     * commit time would mean failing a write whose data is all written. A writer killed in
     * between leaves an empty temp that ajio_sweep() removes like any other.
     */
    fd = openat(f->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (ajio__tmpfile_unsupported(errno))
            return AJIO__LINK_UNKNOWN; /* no O_TMPFILE here: a named temp */
        return ajio__error_strerror(-errno, "create of temp (O_TMPFILE probe) for \"%s\"", f->path);
    }
    for (int tries = 0; tries < 64 && r == -EEXIST; tries++) {
        ajio__temp_name(name, f->name);
        r = link_tmpfile(fd, f->dirfd, name);
    }
    (void)close(fd); /* empty and about to be unlinked: nothing for close to report */
    if (r == -ENOENT || r == -EPERM)
        return AJIO__LINK_NONE;
    if (r < 0)
        return ajio__error_strerror(r, "linkat of temp (O_TMPFILE probe) for \"%s\"", f->path);
    if (unlinkat(f->dirfd, name, 0) < 0)
        return ajio__error_strerror(-errno,
                                    "unlink of temp \"%s\" (O_TMPFILE probe) for \"%s\"; "
                                    "ajio_sweep() removes it",
                                    name, f->path);
    return atomic_load_explicit(&link_method, memory_order_relaxed);
}

/* Gives an O_TMPFILE a temp name in the target's directory. */
static int link_anonymous(struct ajio_file *f)
{
    int r = -EEXIST;

    for (int tries = 0; tries < 64 && r == -EEXIST; tries++) {
        ajio__temp_name(f->tmpname, f->name);
        r = link_tmpfile(f->fd, f->dirfd, f->tmpname);
    }
    if (r == -EEXIST)
        return ajio__error(-EEXIST,
                           "linkat of temp for \"%s\": 64 random names were all "
                           "taken",
                           f->path);
    if (r < 0)
        return ajio__error_strerror(r, "linkat of temp for \"%s\"", f->path);
    f->anonymous = false;
    f->named = true;
    return 0;
}

/*
 * In an append-only directory nothing can be renamed or removed, but new names can be made:
 * a new target is the O_TMPFILE linked straight to its name, which never replaces anything.
 */
static int publish_append_only(struct ajio_file *f)
{
    int r = link_tmpfile(f->fd, f->dirfd, f->name);

    if (r == -EEXIST)
        return ajio__error(-EEXIST,
                           "\"%s\" appeared meanwhile in an append-only "
                           "directory, where it cannot be replaced",
                           f->path);
    if (r < 0)
        return ajio__error_strerror(r, "linkat of temp to \"%s\"", f->path);
    f->anonymous = false;
    return 0;
}

/* Create-only publish: the kernel decides atomically whether the target exists. */
static int publish_noreplace(struct ajio_file *f)
{
    if (renameat2(f->dirfd, f->tmpname, f->dirfd, f->name, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EEXIST)
        return ajio__error(-EEXIST, "\"%s\" exists and create-only was asked", f->path);
    /* Filesystems without RENAME_NOREPLACE (some FUSE) still have link(2), which never replaces. */
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return ajio__error_strerror(-errno, "rename of temp to \"%s\"", f->path);
    if (linkat(f->dirfd, f->tmpname, f->dirfd, f->name, 0) < 0) {
        if (errno == EEXIST)
            return ajio__error(-EEXIST, "\"%s\" exists and create-only was asked", f->path);
        return ajio__error_strerror(-errno, "link of temp to \"%s\"", f->path);
    }
    if (unlinkat(f->dirfd, f->tmpname, 0) < 0)
        return ajio__error_strerror(-errno, "unlink of temp \"%s\" after creating \"%s\"",
                                    f->tmpname, f->path);
    return 0;
}

/* Renames the named temp over the target (or, create-only, next to it). */
static int rename_temp(struct ajio_file *f)
{
    int r = 0;

    if (f->flags & AJIO_CREATE_ONLY)
        r = publish_noreplace(f);
    else if (renameat(f->dirfd, f->tmpname, f->dirfd, f->name) < 0)
        r = ajio__error_strerror(-errno, "rename of temp to \"%s\"", f->path);
    if (r < 0)
        return f->err = r;
    f->named = false;
    return 0;
}

int ajio__publish(struct ajio_file *f)
{
    int r;

    if (f->err < 0)
        return f->err;
    /*
     * An O_TMPFILE stays open, and so keeps its lock (ajio_sweep() skips locked temps), from
     * before it has a name until after the rename and the directory sync (syncfs() needs a file
     * when the directory cannot be opened for fsync()); ajio__finish() closes it. O_TMPFILE
     * exists on local filesystems only, where close(2) reports nothing that fdatasync(2) has not.
     */
    if (f->dir_append || f->anonymous) {
        r = f->dir_append ? publish_append_only(f) : link_anonymous(f);
        if (r < 0)
            return f->err = r;
        return f->dir_append ? 0 : rename_temp(f);
    }
    /*
     * A named temp is what network and FUSE filesystems get, where close(2) can report a
     * deferred write error (NFS, quota): closed before the rename, so that such an error still
     * leaves the target untouched. close() is never retried: the fd is gone whatever it returns.
     * A second fd keeps the lock until the rename and serves syncfs() as above.
     */
    f->lockfd = fcntl(f->fd, F_DUPFD_CLOEXEC, 3);
    if (f->lockfd < 0)
        return f->err = ajio__error_strerror(-errno, "dup of temp for \"%s\"", f->path);
    r = close(f->fd);
    f->fd = -1;
    if (r < 0)
        return f->err = ajio__error_strerror(-errno, "close of temp for \"%s\"", f->path);
    return rename_temp(f);
}

int ajio__sync_dir(struct ajio_file *f)
{
    int r;

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
    r = ajio__sync_dir_fd(f->dirfd, f->dir_opath, f->fd >= 0 ? f->fd : f->lockfd);
    if (r < 0) {
        (void)ajio__error_strerror(r,
                                   "%s of directory \"%.*s\" after replacing \"%s\" (the file was "
                                   "replaced; durability not confirmed)",
                                   f->dir_opath ? "syncfs" : "fsync", AJIO__DIR_ARG(f), f->path);
        return AJIO_ENOTDURABLE;
    }
    return 0;
}

/*
 * AJIO_JSON/AJIO_JSONL: the end of the validation, then the '\n' a file of JSON ends with. The
 * '\n' is not fed to the validator, so an incomplete document is reported where the caller's
 * bytes end, not on a line they never had.
 */
static int finish_json(struct ajio_file *f)
{
    ajio_json_checker *c = f->checker;
    int r = ajio_json_checker_finish(c);

    if (r < 0)
        return f->err = ajio__content_checker_failed(f->path, c, r);
    if (f->written > 0 && f->last != '\n') {
        f->checker = NULL;
        r = ajio__file_write(f, "\n", 1);
        f->checker = c;
    }
    return r;
}

int ajio__finish(struct ajio_file *f)
{
    int r;

    /* A generator's document must be complete, and its last bytes in the handle (json_gen.c). */
    if (f->gen != NULL && (r = ajio__gen_finish(f->gen)) < 0)
        return r;
    if (f->err < 0)
        return f->err;
    if (f->checker != NULL) {
        r = finish_json(f);
        if (r < 0)
            return r;
    }
    if (f->flags & AJIO_SKIP_UNCHANGED && f->exists && f->same && f->written == f->old_size &&
        ajio__old_still_there(f))
        return AJIO_UNCHANGED;
    r = ajio__stage(f);
    if (r < 0)
        return r;
    r = ajio__publish(f);
    if (r < 0)
        return r;
    r = ajio__sync_dir(f);
    if (f->fd >= 0) {
        /* The published O_TMPFILE (see ajio__publish()). */
        int c = close(f->fd);
        f->fd = -1;
        if (c < 0 && r == 0) {
            (void)ajio__error_strerror(-errno,
                                       "close of temp after replacing \"%s\" (the file was "
                                       "replaced; durability not confirmed)",
                                       f->path);
            r = AJIO_ENOTDURABLE;
        }
    }
    return r;
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
#ifndef AJIO_TEST_KEEP_TEMP /* negative control of the fault-injection suite only */
    if (f->named && unlinkat(f->dirfd, f->tmpname, 0) < 0 && errno != ENOENT)
        ajio__error_append(" (and the temp \"%s\" could not be removed: %s)", f->tmpname,
                           ajio_strerror(-errno));
#endif
    if (f->cmpfd >= 0)
        (void)close(f->cmpfd);
    ajio_json_checker_free(f->checker);
    f->checker = NULL;
    ajio__gen_free(f->gen);
    f->gen = NULL;
    /* The first close of the temp already reported what a close can: this one only unlocks. */
    if (f->lockfd >= 0)
        (void)close(f->lockfd);
    /* A directory handle's fd is only lent to the write: the handle closes it. */
    if (f->dirfd >= 0 && (f->dir_handle == NULL || f->dirfd != f->dir_handle->dirfd))
        (void)close(f->dirfd);
    /* Last: the target's lock (AJIO_LOCK) covers everything above, the rename included. */
    ajio__group_release(f);
    if (f->target_lockfd >= 0)
        (void)close(f->target_lockfd);
    free(f->buf);
    f->fd = f->cmpfd = f->dirfd = f->lockfd = f->target_lockfd = -1;
    f->named = false;
    f->buf = NULL;
    if (f->heap)
        free(f);
}

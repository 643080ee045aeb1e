/*
 * update.c - the locked read-modify-write, ajio_update(): the content read and the replacement
 * written under the target's lock (lock.c), through a handle (handle.c).
 */
#include "internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * One read of the target's content (see read_old()): 0, 1 when the name holds nothing (or what
 * AJIO_REPLACE_LINK replaces), or -errno with errno's value unreported for ESTALE (tried again).
 */
static int read_once(struct ajio_file *f, char **ret, size_t *ret_len)
{
    size_t len = 0, cap;
    struct statx sx;
    char *buf = NULL;
    int fd, r;

    /* Names this client cached may hide another client's replace (see ajio__refresh_dir()). */
    if (f->target.fs_shared)
        ajio__refresh_dir(f->target.dirfd, "");
    fd = openat(f->target.dirfd, f->target.name,
                O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        /* A name another client replaced may be missing from this one's cache for a moment. */
        if (errno == ESTALE || (errno == ENOENT && f->target.fs_shared))
            return -ESTALE;
        if (errno == ENOENT || (errno == ELOOP && (f->target.flags & AJIO_REPLACE_LINK)))
            return 1;
        return ajio__error_strerror(-errno, "open of \"%s\" to read it", f->target.path);
    }
    /*
     * On a shared filesystem the attributes are the server's: a name this client cached may
     * still lead to the file another client's replace unlinked (no links left), which must not
     * be read as the current content.
     */
    if (statx(fd, "", AT_EMPTY_PATH | (f->target.fs_shared ? AT_STATX_FORCE_SYNC : 0),
              STATX_SIZE | STATX_NLINK, &sx) < 0) {
        r = errno == ESTALE || errno == ENOENT
                ? -ESTALE
                : ajio__error_strerror(-errno, "statx of \"%s\" to read it", f->target.path);
        goto fail;
    }
    if (sx.stx_nlink == 0) {
        r = -ESTALE;
        goto fail;
    }
    /* The size is a hint: the file may grow while it is read (a writer that does not lock).
     * One byte more than the size lets the first read already see the end; one more for NUL. */
    cap = (size_t)sx.stx_size + 2;
    buf = malloc(cap);
    if (buf == NULL) {
        r = ajio__error_strerror(-ENOMEM, "buffer to read \"%s\"", f->target.path);
        goto fail;
    }
    for (;;) {
        ssize_t n;

        if (len + 1 == cap) {
            char *p = realloc(buf, cap * 2);

            if (p == NULL) {
                r = ajio__error_strerror(-ENOMEM, "buffer to read \"%s\"", f->target.path);
                goto fail;
            }
            buf = p;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = errno == ESTALE || errno == ENOENT
                    ? -ESTALE
                    : ajio__error_strerror(-errno, "read of \"%s\"", f->target.path);
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    (void)close(fd); /* read-only: nothing for close to report */
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    return 0;
fail:
    (void)close(fd);
    free(buf);
    return r;
}

/*
 * The current content of the target, read under the lock into *ret (NUL-terminated, the NUL not
 * counted). A target that vanished (a writer that does not lock removed it) counts as none, and
 * so does a symlink that AJIO_REPLACE_LINK is about to replace. A file that went stale under
 * the read (ESTALE, or unlinked: another client replaced it just before the lock was granted,
 * and this client still had the old name cached) is read again from the name.
 */
static int read_old(struct ajio_file *f, char **ret, size_t *ret_len, int *ret_exists)
{
    *ret_exists = 0;
    if (!f->target.exists)
        return 0;
    for (int n = 0;; n++) {
        int r = read_once(f, ret, ret_len);

        if (r >= 0) {
            *ret_exists = r == 0;
            return 0;
        }
        if (r != -ESTALE)
            return r;
        /* A client's cache of names may lag for as long as the mount lets it (GlusterFS: a
         * second by default): tried for twice that. */
        if (!ajio__shared_retry(n, 11))
            break;
    }
    /* A name missing all along is missing: a writer that does not lock removed the target. */
    if (f->target.fs_shared &&
        faccessat(f->target.dirfd, f->target.name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
        errno == ENOENT)
        return 0;
    return ajio__error(-ESTALE,
                       "read of \"%s\": the file kept going stale (replaced by writers that do "
                       "not take its lock?)",
                       f->target.path);
}

int ajio_update(const char *path, ajio_update_fn fn, void *ctx, int timeout_ms,
                const ajio_opts *opts)
{
    ajio_opts o = {0};
    ajio_file *f;
    unsigned long before;
    char *old = NULL;
    size_t len = 0;
    int exists, r;

    r = ajio__check_args(path, opts);
    if (r < 0)
        return r;
    if (fn == NULL)
        return ajio__error(-EINVAL, "ajio_update: callback is NULL for \"%s\"", path);
    if (opts != NULL)
        o = *opts;
    /* timeout_ms is the wait here, whatever the options say. */
    o.flags = (o.flags | AJIO_LOCK) & ~(unsigned)AJIO_LOCK_TIMEOUT;
    o.lock_timeout_ms = 0;
    r = ajio__open(&f, path, &o, timeout_ms);
    if (r < 0)
        return r;
    r = read_old(f, &old, &len, &exists);
    if (r < 0) {
        ajio_file_abort(f);
        return r;
    }
    before = ajio__error_count();
    r = fn(ctx, old != NULL ? old : "", len, exists, f);
    free(old);
    if (r == 0)
        return ajio_file_commit(f); /* the lock is released last, after the directory sync */
    if (r == AJIO_UNCHANGED) {
        ajio_file_abort(f);
        return AJIO_UNCHANGED;
    }
    if (r > 0)
        r = ajio__error(-EINVAL,
                        "update of \"%s\": the callback returned %d, not 0, AJIO_UNCHANGED or "
                        "a negative error",
                        ajio_file_path(f), r);
    else if (ajio__error_count() == before)
        (void)ajio__error_strerror(r, "update of \"%s\": the callback failed", ajio_file_path(f));
    ajio_file_abort(f);
    return r;
}

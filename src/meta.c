/*
 * meta.c - the old target's access ACL and extended attributes, carried to the new content.
 *
 * rename(2) replaces an inode by another, so whatever the kernel keeps in the old inode besides
 * mode and owner is lost unless copied: the POSIX access ACL (dropping it both locks out the
 * users it names and turns its mask into group bits that let the whole group in), user.*
 * attributes, and where the process may set them trusted.* and the SELinux label. The temp, in
 * turn, may have inherited the directory's default ACL, which must not widen access to the file
 * it replaces. security.capability is never carried over: the kernel drops it on every write,
 * and new content must not inherit privileges granted to the old.
 *
 * Cost: a target with no attributes costs one listxattrat(2) (llistxattr(2) before Linux 6.13)
 * and one flistxattr(2) per write; stat(2) has no cheaper way to tell. Both are needed even then:
 * only the temp's own list says whether it inherited a default ACL, which the directory can be
 * given at any moment. A new file keeps what creat(2) gives it and costs neither.
 */
#include "internal.h"

#include <stdatomic.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#define ACL_ACCESS "system.posix_acl_access"

/* listxattrat(2) and getxattrat(2), Linux 6.13; older headers lack the numbers (the same on
 * every architecture, as for every system call added since 5.1). */
#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif
struct xattr_args_v0 {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};

/*
 * The old target: by path, or by its name in a directory fd (the *at calls) where the path may be
 * stale (a directory handle's) and the kernel has them.
 */
struct old {
    const char *path;
    int dirfd; /* >= 0: listxattrat/getxattrat(dirfd, name) */
    const char *name;
};

static ssize_t old_list(const struct old *o, char *buf, size_t size)
{
    if (o->dirfd >= 0)
        return syscall(SYS_listxattrat, o->dirfd, o->name, AT_SYMLINK_NOFOLLOW, buf, size);
    return llistxattr(o->path, buf, size);
}

static ssize_t old_get(const struct old *o, const char *name, void *val, size_t size)
{
    if (o->dirfd >= 0) {
        struct xattr_args_v0 a = {.value = (uintptr_t)val, .size = (uint32_t)size};
        return syscall(SYS_getxattrat, o->dirfd, o->name, AT_SYMLINK_NOFOLLOW, name, &a,
                       sizeof(a));
    }
    return lgetxattr(o->path, name, val, size);
}

/* Names copied from the old target; anything else (security.capability, IMA, ...) is not. */
static bool copied(const char *name, bool with_acl)
{
    if (strcmp(name, ACL_ACCESS) == 0)
        return with_acl;
    /* xfs shows its on-disk ACLs to root as trusted.SGI_ACL_*: the ACL again, by another door. */
    if (strncmp(name, "trusted.SGI_ACL_", 16) == 0)
        return false;
    return strncmp(name, "user.", 5) == 0 || strncmp(name, "trusted.", 8) == 0 ||
           strcmp(name, "security.selinux") == 0;
}

/*
 * What the process may not set, or the filesystem does not take, is skipped: a non-root writer
 * cannot set trusted.*, a confined one may not relabel. The ACL and user.* attributes are always
 * settable by the file's owner, so a failure there is real and fails the write.
 */
static bool may_skip(const char *name, int err)
{
    if (strcmp(name, ACL_ACCESS) == 0 || strncmp(name, "user.", 5) == 0)
        return false;
    return err == EPERM || err == EACCES || err == EOPNOTSUPP;
}

/* Whether list (NUL-separated names, len bytes) holds name. */
static bool listed(const char *list, ssize_t len, const char *name)
{
    for (const char *p = list; p < list + len; p += strlen(p) + 1)
        if (strcmp(p, name) == 0)
            return true;
    return false;
}

/* The names of the old file's (fd < 0) or a file's attributes into *buf (stack or heap), or -errno. */
static ssize_t list_names(const struct old *o, int fd, char **buf, char *stack, size_t size)
{
    *buf = stack;
    for (;;) {
        ssize_t n = fd >= 0 ? flistxattr(fd, *buf, size) : old_list(o, *buf, size);
        if (n >= 0)
            return n;
        /*
         * ENOTSUP: no attributes on this filesystem, nothing to keep. ENOENT: a concurrent writer
         * removed or is renaming over the old file (path-based FUSE filesystems drop the name
         * for a moment); ESTALE, the same seen by another client of a shared filesystem, whose
         * cached name still led to the file replaced. The write replaces whatever is there then,
         * as any last writer does.
         */
        if (errno == ENOTSUP || (fd < 0 && (errno == ENOENT || errno == ESTALE)))
            return 0;
        if (errno != ERANGE)
            return -errno;
        /* Grew meanwhile, or larger than the stack buffer: ask the size and try again. */
        n = fd >= 0 ? flistxattr(fd, NULL, 0) : old_list(o, NULL, 0);
        if (n < 0)
            return -errno;
        if (*buf != stack)
            free(*buf);
        size = (size_t)n + 256;
        *buf = malloc(size);
        if (*buf == NULL)
            return -ENOMEM;
    }
}

static int copy_one(struct ajio__target *t, int fd, const struct old *old, const char *name)
{
    char stack[512]; /* an ACL of 60 entries, a label: larger values go to the heap */
    char *val = stack;
    size_t size = sizeof(stack);
    ssize_t n;
    int r = 0;

    for (;;) {
        n = old_get(old, name, val, size);
        if (n >= 0)
            break;
        if (errno == ENODATA || errno == ENOENT || errno == ESTALE)
            goto out; /* removed meanwhile, or the whole file (see list_names()) */
        if (errno != ERANGE) {
            r = ajio__error_strerror(-errno, "getxattr %s of \"%s\"", name, t->path);
            goto out;
        }
        n = old_get(old, name, NULL, 0);
        if (n < 0) {
            r = ajio__error_strerror(-errno, "getxattr %s of \"%s\"", name, t->path);
            goto out;
        }
        if (val != stack)
            free(val);
        size = (size_t)n + 256;
        val = malloc(size);
        if (val == NULL) {
            r = ajio__error_strerror(-ENOMEM, "getxattr %s of \"%s\"", name, t->path);
            goto out;
        }
    }
    if (fsetxattr(fd, name, val, (size_t)n, 0) < 0 && !may_skip(name, errno)) {
#ifndef AJIO_TEST_IGNORE_SETXATTR /* negative control of the fault-injection suite only */
        r = ajio__error_strerror(-errno, "setxattr %s of temp for \"%s\"", name, t->path);
#endif
    }
out:
    if (val != stack)
        free(val);
    return r;
}

/* Whether the kernel has listxattrat(2): learnt once per process (-1 unknown, 0 no, 1 yes). */
static atomic_int at_calls = -1;

/* Whether /proc/self/fd is there (a chroot or container may lack /proc): learnt once. */
static bool proc_fd_works(void)
{
    static atomic_int known = -1;
    int k = atomic_load(&known);

    if (k < 0) {
        /* Only ENOENT means "not mounted"; anything else, /proc is there to try. */
        k = access("/proc/self/fd", F_OK) == 0 || errno != ENOENT;
        atomic_store(&known, k);
    }
    return k != 0;
}

int ajio__copy_meta(struct ajio__target *t, int fd)
{
    /*
     * The old file is named by the directory fd and the name, as the stat that planned the write
     * named it, with the *at calls where the kernel has them: no second walk of the path, which
     * a rename of a directory on it could lead elsewhere. Before Linux 6.13 the path, as
     * resolved, names the target; a directory handle's path may be stale (the directory renamed
     * since it was opened), so its writes then go through /proc, where /proc is mounted.
     */
    struct old old = {.path = t->path, .dirfd = -1, .name = t->name};
    char old_stack[512], tmp_stack[512];
    char *old_names = NULL, *tmp_names = NULL;
    /* With AJIO_MODE the file gets exactly that mode: no ACL, whatever the old file had. */
    bool with_acl = !(t->flags & AJIO_MODE);
    ssize_t nold, ntmp;
    int r = 0;

    if (t->dirfd >= 0 && atomic_load(&at_calls) != 0) {
        old.dirfd = t->dirfd;
        nold = list_names(&old, -1, &old_names, old_stack, sizeof(old_stack));
        /* ENOSYS: an older kernel; EPERM: a seccomp filter that predates the call. */
        if (nold == -ENOSYS || nold == -EPERM) {
            atomic_store(&at_calls, 0);
            old.dirfd = -1;
        } else {
            atomic_store(&at_calls, 1);
            goto listed_old;
        }
    }
    if (t->dir_borrowed && proc_fd_works()) {
        (void)snprintf(t->scratch, sizeof(t->scratch), "/proc/self/fd/%d/%s", t->dirfd, t->name);
        old.path = t->scratch;
    }
    nold = list_names(&old, -1, &old_names, old_stack, sizeof(old_stack));
listed_old:
    if (nold < 0) {
        r = ajio__error_strerror((int)nold, "listxattr of \"%s\"", t->path);
        goto out;
    }
    ntmp = list_names(&old, fd, &tmp_names, tmp_stack, sizeof(tmp_stack)); /* by fd */
    if (ntmp < 0) {
        r = ajio__error_strerror((int)ntmp, "listxattr of temp for \"%s\"", t->path);
        goto out;
    }
    /* First what the temp got by itself (a default ACL, chiefly) and the old file lacks. */
    for (const char *p = tmp_names; p < tmp_names + ntmp; p += strlen(p) + 1) {
        if (!(copied(p, true) && !(copied(p, with_acl) && listed(old_names, nold, p))))
            continue;
        if (fremovexattr(fd, p) < 0 && errno != ENODATA && !may_skip(p, errno)) {
            r = ajio__error_strerror(-errno, "removexattr %s of temp for \"%s\"", p, t->path);
            goto out;
        }
    }
    for (const char *p = old_names; p < old_names + nold; p += strlen(p) + 1) {
        if (!copied(p, with_acl))
            continue;
        r = copy_one(t, fd, &old, p);
        if (r < 0)
            goto out;
    }
out:
    if (old_names != old_stack)
        free(old_names);
    if (tmp_names != tmp_stack)
        free(tmp_names);
    return r;
}

/*
 * Owner first: chown(2) clears the set-id bits, and the mode must be the last word. When the
 * group cannot be kept, the group bits are dropped rather than handed to the writer's own group,
 * so nobody gains read access by the rewrite.
 */
int ajio__set_perms(int fd, const struct ajio__perms *p, const char *path)
{
    struct stat st;
    mode_t mode = p->mode;

    if (fstat(fd, &st) < 0)
        return ajio__error_strerror(-errno, "fstat of temp for \"%s\"", path);
    if (p->chown && (st.st_uid != p->uid || st.st_gid != p->gid)) {
        if (fchown(fd, p->uid, p->gid) < 0) {
            if (errno != EPERM)
                return ajio__error_strerror(-errno, "fchown of temp for \"%s\"", path);
            /* Not allowed to give the file away; keeping the group may still be allowed. */
            if (st.st_gid != p->gid && fchown(fd, (uid_t)-1, p->gid) < 0) {
                if (errno != EPERM)
                    return ajio__error_strerror(-errno, "fchown of temp for \"%s\"", path);
                mode &= ~(mode_t)070;
            }
        }
        st.st_mode = ~mode; /* chown may have cleared set-id bits: always set the mode */
    }
    if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
        return ajio__error_strerror(-errno, "fchmod of temp for \"%s\"", path);
    return 0;
}

/*
 * test_harden.c - a replace is never less safe than the shell's '>': the rules of sticky
 * directories, the old file's ACL and attributes, create-only and symlinks, skip-unchanged
 * against the current file, write-only directories, sweep and live writers, append-only
 * directories, and O_TMPFILEs that cannot be linked.
 *
 * Most cases need root (other users' files and links, trusted.* and security.* attributes,
 * chattr); they skip with a reason outside CI and never in CI. Where the filesystem under
 * $AJIO_TEST_DIR lacks a feature (ACLs, user xattrs, FS_APPEND_FL), the case says so on stderr
 * and checks the rest.
 */
#include "testutil.h"

#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#define NOBODY 65534

static const ajio_opts no_tmpfile = {.flags = AJIO_NO_TMPFILE};

static const ajio_opts *variant(int named)
{
    return named ? &no_tmpfile : NULL;
}

/* A POSIX ACL in the kernel's xattr format (version 2, entries sorted by tag then id). */
struct acl_entry {
    uint16_t tag, perm;
    uint32_t id;
};
enum { A_USER_OBJ = 1, A_USER = 2, A_GROUP_OBJ = 4, A_MASK = 0x10, A_OTHER = 0x20 };
#define A_NOID 0xffffffffu

static size_t acl_make(unsigned char *buf, const struct acl_entry *e, int n)
{
    uint32_t version = 2;

    memcpy(buf, &version, 4);
    memcpy(buf + 4, e, sizeof(*e) * (size_t)n);
    return 4 + sizeof(*e) * (size_t)n;
}

/* 0640 plus user nobody:r, as "setfacl -m u:nobody:r" leaves it. */
static const struct acl_entry acl_nobody_r[] = {
    {A_USER_OBJ, 6, A_NOID}, {A_USER, 4, NOBODY}, {A_GROUP_OBJ, 4, A_NOID},
    {A_MASK, 4, A_NOID},     {A_OTHER, 0, A_NOID},
};

/* A default ACL that gives nobody rw on everything created in the directory. */
static const struct acl_entry acl_default_nobody_rw[] = {
    {A_USER_OBJ, 7, A_NOID}, {A_USER, 6, NOBODY}, {A_GROUP_OBJ, 5, A_NOID},
    {A_MASK, 7, A_NOID},     {A_OTHER, 0, A_NOID},
};

static bool unsupported(int err)
{
    return err == EOPNOTSUPP || err == ENOTTY || err == EINVAL;
}

static void say_unsupported(const char *what, const char *dir)
{
    fprintf(stderr, "note: %s not supported on the filesystem of %s: that part not checked\n",
            what, dir);
}

/* ---- 1. sticky directories ------------------------------------------------------------- */

/* A sticky world-writable directory owned by root, like /tmp, inside the scratch directory. */
static const char *sticky_dir(const char *dir)
{
    static char s[4096];

    snprintf(s, sizeof(s), "%s/tmp", dir);
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(mkdir(s, 01777), 0);
    assert_int_equal(chmod(s, 01777), 0);
    return s;
}

static void test_sticky_symlink_refused(void **state)
{
    const char *dir = *state;
    char victim[4096], link[4096], sub[4096], via[4096];

    tu_require_root();
    const char *tmp = sticky_dir(dir);
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    snprintf(link, sizeof(link), "%s/app.json", tmp);
    tu_put(victim, "secret", 0600);
    assert_int_equal(symlink(victim, link), 0);
    assert_int_equal(lchown(link, NOBODY, NOBODY), 0);
    for (int named = 0; named < 2; named++) {
        tu_assert_fails(ajio_write_bytes(link, "evil", 4, variant(named)), -EACCES, link);
        assert_non_null(strstr(ajio_last_error(), "protected_symlinks"));
        tu_assert_content(victim, "secret", 6);
    }
    /* The same link on the path, as a directory: refused too. */
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(via, sizeof(via), "%s/d", tmp);
    assert_int_equal(symlink(sub, via), 0);
    assert_int_equal(lchown(via, NOBODY, NOBODY), 0);
    snprintf(via, sizeof(via), "%s/d/f", tmp);
    tu_assert_fails(ajio_write_bytes(via, "evil", 4, NULL), -EACCES, via);
    assert_int_equal(tu_count_entries(sub), 0);
    /* Control: the caller's own link, and a link of the directory's owner, are followed. */
    assert_int_equal(lchown(link, 0, 0), 0);
    tu_assert_ok(ajio_write_bytes(link, "mine", 4, NULL));
    tu_assert_content(victim, "mine", 4);
    assert_int_equal(chown(tmp, NOBODY, NOBODY), 0);
    assert_int_equal(lchown(link, NOBODY, NOBODY), 0);
    tu_assert_ok(ajio_write_bytes(link, "owner", 5, NULL));
    tu_assert_content(victim, "owner", 5);
    assert_int_equal(tu_count_temps(tmp), 0);
}

static void test_sticky_regular_refused(void **state)
{
    const char *dir = *state;
    char p[4096], q[4096];
    struct stat st;

    tu_require_root();
    const char *tmp = sticky_dir(dir);
    snprintf(p, sizeof(p), "%s/app.state", tmp);
    tu_put(p, "planted", 0666);
    assert_int_equal(chown(p, NOBODY, NOBODY), 0);
    for (int named = 0; named < 2; named++) {
        tu_assert_fails(ajio_write_bytes(p, "secret", 6, variant(named)), -EACCES, p);
        assert_non_null(strstr(ajio_last_error(), "protected_regular"));
        tu_assert_content(p, "planted", 7);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_uid, NOBODY);
    }
    assert_int_equal(tu_count_temps(tmp), 0);
    /* Control: outside a sticky directory another user's file is replaced, owner kept. */
    snprintf(q, sizeof(q), "%s/plain", dir);
    tu_put(q, "old", 0640);
    assert_int_equal(chown(q, NOBODY, NOBODY), 0);
    tu_assert_ok(ajio_write_bytes(q, "new", 3, NULL));
    assert_int_equal(stat(q, &st), 0);
    assert_int_equal(st.st_uid, NOBODY);
    /* Control: the caller's own file in the sticky directory is replaced. */
    assert_int_equal(chown(p, 0, 0), 0);
    tu_assert_ok(ajio_write_bytes(p, "mine", 4, NULL));
    tu_assert_content(p, "mine", 4);
}

/* ---- 2. ACLs and extended attributes ---------------------------------------------------- */

static void test_acl_kept(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "acl");
    unsigned char acl[128], got[256];
    size_t n = acl_make(acl, acl_nobody_r, 5);
    struct stat st;

    for (int named = 0; named < 2; named++) {
        tu_put(p, "old", 0640);
        if (setxattr(p, "system.posix_acl_access", acl, n, 0) < 0) {
            assert_true(unsupported(errno));
            say_unsupported("POSIX ACLs", dir);
            return;
        }
        tu_assert_ok(ajio_write_bytes(p, "new", 3, variant(named)));
        tu_assert_content(p, "new", 3);
        assert_int_equal(getxattr(p, "system.posix_acl_access", got, sizeof(got)), (ssize_t)n);
        assert_memory_equal(got, acl, n);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
    }
    /* AJIO_MODE means exactly that mode: the ACL goes. */
    ajio_opts o = {.flags = AJIO_MODE, .mode = 0600};
    tu_assert_ok(ajio_write_bytes(p, "exact", 5, &o));
    assert_int_equal(getxattr(p, "system.posix_acl_access", got, sizeof(got)), -1);
    assert_int_equal(errno, ENODATA);
}

/* Checks, as nobody, that path cannot be opened for reading. */
static void nobody_cannot_read(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    _exit(fd < 0 && errno == EACCES ? 0 : 1);
}

static void test_default_acl(void **state)
{
    const char *dir = *state;
    const char *old = tu_path(dir, "old");
    const char *fresh = tu_path(dir, "fresh");
    unsigned char acl[128], got[256];
    size_t n = acl_make(acl, acl_default_nobody_rw, 5);
    ajio_file *h;
    ajio_dir *dh;

    assert_int_equal(chmod(dir, 0755), 0);
    tu_put(old, "old", 0600); /* before the default ACL: no ACL of its own */
    /* Opened before the directory gets its default ACL: nothing about it is learnt at open. */
    tu_assert_ok(ajio_dir_open(&dh, dir, NULL));
    if (setxattr(dir, "system.posix_acl_default", acl, n, 0) < 0) {
        assert_true(unsupported(errno));
        say_unsupported("default ACLs", dir);
        ajio_dir_close(dh);
        return;
    }
    tu_assert_ok(ajio_dir_write(dh, "old", "new", 3, NULL));
    ajio_dir_close(dh);
    assert_int_equal(getxattr(old, "system.posix_acl_access", got, sizeof(got)), -1);
    assert_int_equal(errno, ENODATA);
    for (int named = 0; named < 2; named++) {
        /* While the write is open, the named temp is unreadable to nobody. */
        assert_int_equal(ajio_file_open(&h, old, variant(named)), 0);
        assert_int_equal(ajio_file_write(h, "new", 3), 0);
        if (named && geteuid() == 0) {
            DIR *d = opendir(dir);
            struct dirent *de;
            int seen = 0;
            assert_non_null(d);
            while ((de = readdir(d)) != NULL) {
                if (strstr(de->d_name, ".ajio-") == NULL)
                    continue;
                assert_int_equal(tu_as_nobody(nobody_cannot_read, tu_path(dir, de->d_name)), 0);
                seen++;
            }
            closedir(d);
            assert_int_equal(seen, 1);
        }
        tu_assert_ok(ajio_file_commit(h));
        /* The replacement has the old file's permissions: no inherited ACL. */
        assert_int_equal(getxattr(old, "system.posix_acl_access", got, sizeof(got)), -1);
        assert_int_equal(errno, ENODATA);
        if (geteuid() == 0)
            assert_int_equal(tu_as_nobody(nobody_cannot_read, old), 0);
    }
    /* A new file gets what creat(2) gives: the default ACL. */
    tu_assert_ok(ajio_write_bytes(fresh, "x", 1, NULL));
    assert_true(getxattr(fresh, "system.posix_acl_access", got, sizeof(got)) > 0);
}

static void test_xattrs_kept(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "x");
    /* VFS_CAP_REVISION_2, CAP_NET_RAW permitted. */
    uint32_t cap[5] = {0x02000000, 1u << 13, 0, 0, 0};
    static const char label[] = "system_u:object_r:etc_t:s0";
    char got[64];
    bool trusted = false, capability = false, selinux = false;

    for (int named = 0; named < 2; named++) {
        tu_put(p, "old", 0644);
        if (setxattr(p, "user.origin", "cfg-v1", 6, 0) < 0) {
            assert_true(unsupported(errno));
            say_unsupported("user.* attributes", dir);
            return;
        }
        if (geteuid() == 0) {
            trusted = setxattr(p, "trusted.ajio", "t", 1, 0) == 0;
            capability = setxattr(p, "security.capability", cap, sizeof(cap), 0) == 0;
            /* Without SELinux in the kernel the label is a plain attribute root may set. */
            selinux = setxattr(p, "security.selinux", label, sizeof(label), 0) == 0;
            if (!trusted || !capability || !selinux)
                say_unsupported("trusted.*, security.capability or security.selinux", dir);
        }
        tu_assert_ok(ajio_write_bytes(p, "new", 3, variant(named)));
        assert_int_equal(getxattr(p, "user.origin", got, sizeof(got)), 6);
        assert_memory_equal(got, "cfg-v1", 6);
        if (trusted) {
            assert_int_equal(getxattr(p, "trusted.ajio", got, sizeof(got)), 1);
        }
        if (selinux) {
            assert_int_equal(getxattr(p, "security.selinux", got, sizeof(got)),
                             (ssize_t)sizeof(label));
            assert_memory_equal(got, label, sizeof(label));
        }
        if (capability) {
            assert_int_equal(getxattr(p, "security.capability", got, sizeof(got)), -1);
            assert_int_equal(errno, ENODATA);
        }
    }
    /* A writer that may not set trusted.* still writes: the attribute is skipped. */
}

/* Hard links: the replaced name gets new content, the other keeps the old (documented). */
static void test_hard_link_split(void **state)
{
    const char *a = tu_path(*state, "a");
    const char *b = tu_path(*state, "b");

    tu_put(a, "old", 0644);
    assert_int_equal(link(a, b), 0);
    tu_assert_ok(ajio_write_bytes(a, "new", 3, NULL));
    tu_assert_content(a, "new", 3);
    tu_assert_content(b, "old", 3);
}

/* ---- 3. create-only and symlinks -------------------------------------------------------- */

static void test_create_only_dangling_link(void **state)
{
    const char *dir = *state;
    const char *lock = tu_path(dir, "lock");
    const char *live = tu_path(dir, "live");
    ajio_opts o = {.flags = AJIO_CREATE_ONLY};

    assert_int_equal(symlink("sub/deeper/target", lock), 0);
    for (int named = 0; named < 2; named++) {
        o.flags = AJIO_CREATE_ONLY | (named ? AJIO_NO_TMPFILE : 0);
        tu_assert_fails(ajio_write_bytes(lock, "x", 1, &o), -EEXIST, lock);
    }
    assert_int_equal(access(tu_path(dir, "sub"), F_OK), -1);
    /* A link to an existing file is just as much "exists". */
    tu_put(tu_path(dir, "real"), "old", 0644);
    assert_int_equal(symlink("real", live), 0);
    tu_assert_fails(ajio_write_bytes(live, "x", 1, &o), -EEXIST, live);
    tu_assert_content(tu_path(dir, "real"), "old", 3);
    assert_int_equal(tu_count_entries(dir), 3);
}

/* ---- 4. skip-unchanged decides against the file at commit time ---------------------------- */

static void test_skip_unchanged_current(void **state)
{
    const char *p = tu_path(*state, "s");
    ajio_opts skip = {.flags = AJIO_SKIP_UNCHANGED};
    ajio_file *h;
    int fd;

    for (int named = 0; named < 2; named++) {
        skip.flags = AJIO_SKIP_UNCHANGED | (named ? AJIO_NO_TMPFILE : 0);
        /* Replaced by another writer between open and commit. */
        tu_put(p, "X", 0644);
        assert_int_equal(ajio_file_open(&h, p, &skip), 0);
        assert_int_equal(ajio_file_write(h, "X", 1), 0);
        tu_assert_ok(ajio_write_bytes(p, "Y", 1, NULL));
        assert_int_equal(ajio_file_commit(h), 0);
        tu_assert_content(p, "X", 1);
        /* Changed in place between open and commit. */
        assert_int_equal(ajio_file_open(&h, p, &skip), 0);
        assert_int_equal(ajio_file_write(h, "X", 1), 0);
        fd = open(p, O_WRONLY);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, "Z", 1, 0), 1);
        close(fd);
        assert_int_equal(ajio_file_commit(h), 0);
        tu_assert_content(p, "X", 1);
        /* Control: nobody interferes, so nothing is written. */
        assert_int_equal(ajio_file_open(&h, p, &skip), 0);
        assert_int_equal(ajio_file_write(h, "X", 1), 0);
        assert_int_equal(ajio_file_commit(h), AJIO_UNCHANGED);
        assert_int_equal(ajio_write_bytes(p, "X", 1, &skip), AJIO_UNCHANGED);
    }
}

/* ---- 5. write-only directories (drop boxes) --------------------------------------------- */

static void write_in_drop_box(const char *dir)
{
    static const ajio_opts nosync = {.flags = AJIO_NO_SYNC};
    static const ajio_opts named = {.flags = AJIO_NO_TMPFILE};
    char p[4096];

    if (access(dir, W_OK | X_OK) < 0)
        _exit(77); /* a parent nobody may not search: not a drop box for nobody */

    snprintf(p, sizeof(p), "%.4000s/f", dir);
    if (ajio_write_bytes(p, "durable", 7, NULL) != 0)
        _exit(1);
    if (ajio_write_bytes(p, "again", 5, NULL) != 0) /* a replace too */
        _exit(2);
    if (ajio_write_bytes(p, "nosync", 6, &nosync) != 0)
        _exit(3);
    if (ajio_write_bytes(p, "named", 5, &named) != 0)
        _exit(4);
    snprintf(p, sizeof(p), "%.4000s/new/deeper/g", dir);
    if (ajio_write_bytes(p, "mkdir", 5, NULL) != 0)
        _exit(5);
}

static void test_drop_box(void **state)
{
    const char *dir = *state;
    char box[2048];
    int r;

    tu_require_root();
    snprintf(box, sizeof(box), "%.2000s/box", dir);
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(mkdir(box, 0733), 0);
    assert_int_equal(chmod(box, 0733), 0);
    r = tu_as_nobody(write_in_drop_box, box);
    if (r == 77) {
        fprintf(stderr, "note: nobody cannot reach %s: drop box not checked here\n", box);
        return;
    }
    assert_int_equal(r, 0);
    tu_assert_content(tu_path(box, "f"), "named", 5);
    tu_assert_content(tu_path(box, "new/deeper/g"), "mkdir", 5);
    assert_int_equal(tu_count_temps(box), 0);
}

/* ---- 6. leftovers and sweep ------------------------------------------------------------- */

/* A child opens a handle with a named temp and is killed, as a crashed writer is. */
static void leave_temp(const char *path)
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        ajio_file *h;
        if (ajio_file_open(&h, path, &no_tmpfile) != 0 || ajio_file_write(h, "x", 1) != 0)
            _exit(1);
        raise(SIGKILL);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
}

static void test_sweep_skips_live_writer(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "slow");
    ajio_file *h;

    assert_int_equal(ajio_file_open(&h, p, &no_tmpfile), 0);
    assert_int_equal(ajio_file_write(h, "first", 5), 0);
    assert_int_equal(tu_count_temps(dir), 1);
    /* min_age 0 matches every temp: only the lock protects the live one. */
    assert_int_equal(ajio_sweep(dir, NULL, 0, 0), 0);
    assert_int_equal(tu_count_temps(dir), 1);
    assert_int_equal(ajio_file_write(h, "-second", 7), 0);
    tu_assert_ok(ajio_file_commit(h));
    tu_assert_content(p, "first-second", 12);
    /* Control: the temp of a killed writer is removed. */
    leave_temp(p);
    assert_int_equal(tu_count_temps(dir), 1);
    assert_int_equal(ajio_sweep(dir, NULL, 0, 0), 1);
    assert_int_equal(tu_count_temps(dir), 0);
}

/*
 * This program's own renameat() and linkat(), which libajio.a calls instead of the C library's:
 * renameat sweeps the directory in the window between an O_TMPFILE's temp name and its rename
 * (min_age 0: only the lock protects), linkat makes a name appear just before the link.
 */
struct hook {
    const char *sweep_dir; /* renameat sweeps it first */
    int renames, temps_seen, swept;
    const char *appear;    /* linkat to this name creates it first, as another writer would */
};
static struct hook hook;

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    hook.renames++;
    if (hook.sweep_dir != NULL) {
        hook.temps_seen = tu_count_temps(hook.sweep_dir);
        hook.swept = ajio_sweep(hook.sweep_dir, NULL, 0, AJIO_SWEEP_NO_SYNC);
    }
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, 0);
}

int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
    if (hook.appear != NULL && strcmp(newpath, hook.appear) == 0) {
        int fd = (int)syscall(SYS_openat, newdirfd, newpath, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "other", 5), 5);
        close(fd);
    }
    return (int)syscall(SYS_linkat, olddirfd, oldpath, newdirfd, newpath, flags);
}

/*
 * An O_TMPFILE is locked from before it gets a temp name (an existing target's replace), so a
 * sweep in that window leaves it; a new target is linked straight to its name: no temp name, no
 * rename. Through a path and through a directory handle.
 */
static void test_sweep_skips_linked_tmpfile(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "cfg");
    const char *fresh = tu_path(dir, "fresh");
    ajio_dir *d;

    if (!tu_has_tmpfile(dir)) {
        say_unsupported("O_TMPFILE", dir);
        return;
    }
    tu_assert_ok(ajio_dir_open(&d, dir, NULL));
    tu_put(p, "old", 0644);
    for (int handle = 0; handle < 2; handle++) {
        hook = (struct hook){.sweep_dir = dir, .temps_seen = -1, .swept = -1};
        tu_assert_ok(handle ? ajio_dir_write(d, "cfg", "new", 3, NULL)
                            : ajio_write_bytes(p, "new", 3, NULL));
        assert_int_equal(hook.renames, 1);
        assert_int_equal(hook.temps_seen, 1);
        assert_int_equal(hook.swept, 0);
        tu_assert_content(p, "new", 3);
        hook = (struct hook){.sweep_dir = dir};
        tu_assert_ok(handle ? ajio_dir_write(d, "fresh", "x", 1, NULL)
                            : ajio_write_bytes(fresh, "x", 1, NULL));
        assert_int_equal(hook.renames, 0);
        tu_assert_content(fresh, "x", 1);
        assert_int_equal(unlink(fresh), 0);
    }
    hook = (struct hook){0};
    ajio_dir_close(d);
    assert_int_equal(tu_count_temps(dir), 0);
}

/*
 * A new target whose name another writer creates between the look and the link is replaced
 * through a temp name, as any last writer replaces; create-only refuses it, and keeps it.
 */
static void test_new_name_appears(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "late");
    const ajio_opts create_only = {.flags = AJIO_CREATE_ONLY};

    if (!tu_has_tmpfile(dir)) {
        say_unsupported("O_TMPFILE", dir);
        return;
    }
    hook = (struct hook){.appear = "late"};
    tu_assert_ok(ajio_write_bytes(p, "mine", 4, NULL));
    assert_int_equal(hook.renames, 1);
    tu_assert_content(p, "mine", 4);
    assert_int_equal(unlink(p), 0);
    tu_assert_fails(ajio_write_bytes(p, "mine", 4, &create_only), -EEXIST, p);
    hook = (struct hook){0};
    tu_assert_content(p, "other", 5);
    assert_int_equal(tu_count_temps(dir), 0);
}

static void test_sweep_non_utf8_name(void **state)
{
    const char *dir = *state;
    char name[NAME_MAX + 1];

    memset(name, 0x80, NAME_MAX);
    name[NAME_MAX] = '\0';
    leave_temp(tu_path(dir, name));
    assert_int_equal(tu_count_temps(dir), 1);
    assert_int_equal(ajio_sweep(dir, name, 0, AJIO_SWEEP_DRY_RUN), 1);
    assert_int_equal(ajio_sweep(dir, NULL, 0, 0), 1);
    assert_int_equal(tu_count_entries(dir), 0);
    /* The name itself is written fine. */
    tu_assert_ok(ajio_write_bytes(tu_path(dir, name), "x", 1, NULL));
}

static int set_append_only(const char *dir, bool on)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY), flags, r;

    assert_true(fd >= 0);
    r = ioctl(fd, FS_IOC_GETFLAGS, &flags);
    if (r == 0) {
        flags = on ? flags | FS_APPEND_FL : flags & ~FS_APPEND_FL;
        r = ioctl(fd, FS_IOC_SETFLAGS, &flags);
    }
    if (r < 0)
        r = -errno;
    close(fd);
    return r;
}

static void test_append_only_dir(void **state)
{
    const char *dir = *state;
    char ao[2048], old[4096], fresh[4096];
    int r;

    tu_require_root();
    snprintf(ao, sizeof(ao), "%.2000s/ao", dir);
    assert_int_equal(mkdir(ao, 0755), 0);
    snprintf(old, sizeof(old), "%.4000s/old", ao);
    snprintf(fresh, sizeof(fresh), "%.4000s/fresh", ao);
    tu_put(old, "old", 0644);
    r = set_append_only(ao, true);
    if (r < 0) {
        assert_true(unsupported(-r));
        say_unsupported("chattr +a", dir);
        return;
    }
    for (int named = 0; named < 2; named++)
        tu_assert_fails(ajio_write_bytes(old, "new", 3, variant(named)), -EPERM, old);
    tu_assert_fails(ajio_write_bytes(fresh, "x", 1, &no_tmpfile), -EPERM, fresh);
    /* A new file is an O_TMPFILE linked straight to its name: allowed there. */
    r = ajio_write_bytes(fresh, "fresh", 5, NULL);
    /* Appends grow a file in place (and create it and its lock file): allowed there too. */
    char log[4096];
    ajio_log *lh = NULL;
    snprintf(log, sizeof(log), "%.4000s/log", ao);
    int ra = ajio_append(log, "a\n", 2, NULL);
    int rb = ajio_log_open(&lh, log, NULL);
    int rc = rb == 0 ? ajio_log_append(lh, "b\n", 2) : rb;
    int rd = ajio_log_close(lh);
    assert_int_equal(set_append_only(ao, false), 0);
    tu_assert_ok(ra);
    tu_assert_ok(rb);
    tu_assert_ok(rc);
    tu_assert_ok(rd);
    tu_assert_content(log, "a\nb\n", 4);
    if (tu_has_tmpfile(ao)) {
        tu_assert_ok(r);
        tu_assert_content(fresh, "fresh", 5);
    }
    tu_assert_content(old, "old", 3);
    /* No temp: the one ".ajio-" name is the log's lock file. */
    assert_int_equal(tu_count_matching(ao, ".ajio-lock"), 1);
    assert_int_equal(tu_count_temps(ao), 1);
}

/*
 * A fresh process whose every linkat fails with ENOENT (no /proc, no privilege for
 * AT_EMPTY_PATH, as on kernels before 6.10) writes with a named temp, decided before it writes.
 */
static void test_tmpfile_not_linkable(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "nolink");
    const char *build = getenv("AJIO_BUILD");
    char ajio[4096];
    pid_t pid;
    int status, in[2];

    snprintf(ajio, sizeof(ajio), "%s/ajio", build != NULL ? build : "build");
    if (access(ajio, X_OK) < 0)
        fail_msg("%s not built", ajio);
    if (!tu_has_tmpfile(dir)) {
        say_unsupported("O_TMPFILE", dir);
        return;
    }
    tu_put(p, "old", 0644);
    for (int deny = 1; deny >= 0; deny--) {
        assert_int_equal(pipe(in), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct sock_filter filt[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_linkat, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOENT),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            };
            struct sock_fprog prog = {.len = 4, .filter = filt};
            dup2(in[0], 0);
            close(in[0]);
            close(in[1]);
            if (deny && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0))
                _exit(99);
            execl(ajio, ajio, "write", p, (char *)NULL);
            _exit(98);
        }
        close(in[0]);
        assert_int_equal(write(in[1], deny ? "denied" : "linked", 6), 6);
        close(in[1]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        tu_assert_content(p, deny ? "denied" : "linked", 6);
        assert_int_equal(tu_count_temps(dir), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sticky_symlink_refused, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_sticky_regular_refused, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_acl_kept, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_default_acl, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_xattrs_kept, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_hard_link_split, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_create_only_dangling_link, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_skip_unchanged_current, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_drop_box, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_skips_live_writer, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_skips_linked_tmpfile, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_new_name_appears, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_non_utf8_name, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_append_only_dir, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_tmpfile_not_linkable, tu_setup, tu_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

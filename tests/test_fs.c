/*
 * test_fs.c - the filesystem's kind and the weak promises of a mount (ajio_fs_probe()): the mount
 * options that keep locks on one machine (NFS nolock and local_lock=, SMB nobrl, FUSE servers
 * without lock forwarding) are told from those that do not, and the probe reports what
 * fstatfs(2) says of the test directory. The mechanisms themselves are proven across clients of
 * real servers by make check-shared (tests/shared/).
 */
#include "testutil.h"

#include "internal.h"

#include <sys/vfs.h>

static ajio_fs_info judged(ajio_fs_kind kind, const char *type, const char *mopts,
                           const char *sopts)
{
    ajio_fs_info info = {.kind = kind};

    ajio__fs_judge(&info, type, mopts, sopts);
    assert_string_equal(info.type, type);
    /* A warning exactly where a promise is weaker. */
    assert_int_equal(info.warning[0] != '\0', info.weak != 0);
    return info;
}

static void test_nfs_options(void **state)
{
    (void)state;
    /* What the kernel shows for a default NFSv4.2 and NFSv3 mount: locks go to the server. */
    ajio_fs_info i = judged(AJIO_FS_NFS, "nfs4", "rw,relatime",
                            "rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,"
                            "timeo=600,retrans=2,sec=sys,clientaddr=10.0.0.2,local_lock=none,"
                            "addr=10.0.0.1");
    assert_int_equal(i.weak, 0);
    i = judged(AJIO_FS_NFS, "nfs", "rw,relatime",
               "rw,vers=3,hard,proto=tcp,mountproto=tcp,local_lock=none,addr=10.0.0.1");
    assert_int_equal(i.weak, 0);
    /* local_lock=flock keeps only flock local: the library's locks are fcntl locks there. */
    i = judged(AJIO_FS_NFS, "nfs", "rw", "rw,vers=3,local_lock=flock,addr=10.0.0.1");
    assert_int_equal(i.weak, 0);

    /* nolock (shown as local_lock=all by newer kernels) and local_lock=posix|all are weak. */
    i = judged(AJIO_FS_NFS, "nfs", "rw", "rw,vers=3,nolock,addr=10.0.0.1");
    assert_int_equal(i.weak, AJIO_FS_WEAK_LOCKS);
    assert_non_null(strstr(i.warning, "nfs is mounted with nolock:"));
    i = judged(AJIO_FS_NFS, "nfs4", "rw", "rw,vers=4.2,local_lock=all,addr=10.0.0.1");
    assert_int_equal(i.weak, AJIO_FS_WEAK_LOCKS);
    assert_non_null(strstr(i.warning, "mounted with local_lock=all"));
    i = judged(AJIO_FS_NFS, "nfs", "rw", "rw,vers=3,local_lock=posix,addr=10.0.0.1");
    assert_int_equal(i.weak, AJIO_FS_WEAK_LOCKS);
    /* An option that only starts like one is not it. */
    i = judged(AJIO_FS_NFS, "nfs", "rw", "rw,vers=3,nolockx=1,local_lockx=all");
    assert_int_equal(i.weak, 0);
    i = judged(AJIO_FS_NFS, "nfs", "rw", "");
    assert_int_equal(i.weak, 0);
}

static void test_other_kinds(void **state)
{
    (void)state;
    ajio_fs_info i = judged(AJIO_FS_SMB, "cifs", "rw", "rw,vers=3.1.1,nobrl,uid=0");
    assert_int_equal(i.weak, AJIO_FS_WEAK_LOCKS);
    i = judged(AJIO_FS_SMB, "cifs", "rw", "rw,vers=3.1.1,uid=0");
    assert_int_equal(i.weak, 0);
    i = judged(AJIO_FS_FUSE, "fuse.sshfs", "rw,nosuid,nodev", "rw,user_id=0,group_id=0");
    assert_int_equal(i.weak, AJIO_FS_WEAK_LOCKS);
    i = judged(AJIO_FS_FUSE, "fuse.glusterfs", "rw,relatime",
               "rw,user_id=0,group_id=0,default_permissions,allow_other,max_read=131072");
    assert_int_equal(i.weak, 0);
    /* A local filesystem is never weak, whatever its options say. */
    i = judged(AJIO_FS_LOCAL, "ext4", "rw,nolock", "rw,nolock,local_lock=all");
    assert_int_equal(i.weak, 0);
}

static void test_probe(void **state)
{
    const char *dir = *state;
    struct statfs sf;
    ajio_fs_info info;

    tu_put(tu_path(dir, "f"), "x", 0644);
    assert_int_equal(statfs(dir, &sf), 0);
    tu_assert_ok(ajio_fs_probe(dir, &info));
    /* The kinds of the filesystems a test directory can be on (the matrix: make check-fs). */
    if (sf.f_type == 0x65735546)
        assert_int_equal(info.kind, AJIO_FS_FUSE);
    else if (sf.f_type == 0x6969)
        assert_int_equal(info.kind, AJIO_FS_NFS);
    else
        assert_int_equal(info.kind, AJIO_FS_LOCAL);
    assert_int_equal(info.kind != AJIO_FS_LOCAL, tu_shared_fs(dir));
    /* The mount's type is read (from /proc/self/mountinfo) only for a shared filesystem. */
    assert_int_equal(info.type[0] != '\0', info.kind != AJIO_FS_LOCAL);
    assert_int_equal(info.weak, 0);
    /* A file answers for its filesystem too. */
    ajio_fs_info file;
    tu_assert_ok(ajio_fs_probe(tu_path(dir, "f"), &file));
    assert_int_equal(file.kind, info.kind);
    assert_string_equal(file.type, info.type);

    tu_assert_fails(ajio_fs_probe(tu_path(dir, "missing/x"), &info), -ENOENT, "missing/x");
    tu_assert_fails(ajio_fs_probe(NULL, &info), -EINVAL, "ajio_fs_probe");
    tu_assert_fails(ajio_fs_probe("", &info), -EINVAL, "ajio_fs_probe");
    tu_assert_fails(ajio_fs_probe(dir, NULL), -EINVAL, "ret is NULL");
}

/*
 * The kind of a mount seen before comes from the thread's cache, by the mount's unique ID; a
 * mount not seen before, or a kernel that gives no such ID (0), is still asked with fstatfs(2):
 * here a closed descriptor makes the asking visible as EBADF.
 */
static void test_kind_by_mount(void **state)
{
    const char *dir = *state;
    struct ajio__target t;
    struct statx stx;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    assert_true(fd >= 0);
    assert_int_equal(statx(fd, "", AT_EMPTY_PATH, AJIO__STATX_MNT_ID_UNIQUE, &stx), 0);
    ajio__target_init(&t);
    t.dirfd = fd;
    t.dir_mnt_id = ajio__statx_mnt_id(&stx);
    assert_int_equal(ajio__target_shared(&t), tu_shared_fs(dir));
    close(fd);
    if (t.dir_mnt_id == 0) {
        fprintf(stderr, "note: no unique mount IDs (Linux < 6.8): the cache is not used\n");
    } else {
        /* The same mount again: answered without a descriptor. */
        uint64_t id = t.dir_mnt_id;
        ajio__target_init(&t);
        t.dirfd = fd;
        t.dir_mnt_id = id;
        assert_int_equal(ajio__target_shared(&t), tu_shared_fs(dir));
        /* Another mount: asked. */
        ajio__target_init(&t);
        t.dirfd = fd;
        t.dir_mnt_id = id + 1000000;
        tu_assert_fails(ajio__target_shared(&t), -EBADF, "fstatfs of directory");
    }
    ajio__target_init(&t);
    t.dirfd = fd;
    tu_assert_fails(ajio__target_shared(&t), -EBADF, "fstatfs of directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nfs_options),
        cmocka_unit_test(test_other_kinds),
        cmocka_unit_test_setup_teardown(test_probe, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_kind_by_mount, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests_name("fs", tests, NULL, NULL);
}

/*
 * fs.c - which kind of filesystem a directory is on, and which promises are weaker there.
 *
 * A filesystem that other machines mount too (NFS, SMB, CephFS, 9p, AFS, and FUSE, whose server
 * may be anything: GlusterFS, ceph-fuse, sshfs) breaks three assumptions of the local design,
 * each of which lost acknowledged appends and updates between two clients of a real server:
 *
 *   - flock(2) may exclude only the processes of one machine (FUSE, NFS with local_lock=), and
 *     where NFS does forward it, it is a write lock that a read-only descriptor may not take.
 *     POSIX locks (the OFD kind, per open file description like flock) are what NFS and FUSE
 *     servers arbitrate between clients: lock.c and tempfile.c use them there.
 *   - A size, a name or a page the client cached may be out of date: the end of a file is asked
 *     of the server under the lock (AT_STATX_FORCE_SYNC), and a read that meets ESTALE, or a
 *     name missing for the moment of an NFS "silly rename", is tried again (read.c, update.c).
 *   - Memory shared through a mapping of the lock file is shared only on one machine, so group
 *     commit (group.c) is off, and each append is made durable before its lock is released.
 *
 * The kind is read with fstatfs(2) once per resolution, and not even that for a mount this
 * thread has written on lately (ajio__target_shared()). What the mount options say (NFS's
 * nolock, local_lock=) is read from /proc/self/mountinfo only by ajio_fs_probe(), for the one
 * warning a tool gives: the mechanisms cannot do better on such a mount, only say so.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

/* f_type values of <linux/magic.h> and the filesystems' own headers. */
#define NFS_SUPER_MAGIC 0x6969
#define FUSE_SUPER_MAGIC 0x65735546
#define SMB_SUPER_MAGIC 0x517B
#define CIFS_SUPER_MAGIC 0xFF534D42
#define SMB2_SUPER_MAGIC 0xFE534D42
#define CEPH_SUPER_MAGIC 0x00C36400
#define V9FS_MAGIC 0x01021997
#define AFS_FS_MAGIC 0x6B414653
#define AFS_SUPER_MAGIC 0x5346414F
#define CODA_SUPER_MAGIC 0x73757245
#define OCFS2_SUPER_MAGIC 0x7461636f
#define GFS2_MAGIC 0x01161970
#define LUSTRE_SUPER_MAGIC 0x0BD00BD0
#define ORANGEFS_DEVREQ_MAGIC 0x20030528

static ajio_fs_kind kind_of(unsigned long type)
{
    switch (type) {
    case NFS_SUPER_MAGIC:
        return AJIO_FS_NFS;
    case FUSE_SUPER_MAGIC:
        return AJIO_FS_FUSE;
    case SMB_SUPER_MAGIC:
    case CIFS_SUPER_MAGIC:
    case SMB2_SUPER_MAGIC:
        return AJIO_FS_SMB;
    case CEPH_SUPER_MAGIC:
        return AJIO_FS_CEPH;
    case V9FS_MAGIC:
    case AFS_FS_MAGIC:
    case AFS_SUPER_MAGIC:
    case CODA_SUPER_MAGIC:
    case OCFS2_SUPER_MAGIC:
    case GFS2_MAGIC:
    case LUSTRE_SUPER_MAGIC:
    case ORANGEFS_DEVREQ_MAGIC:
        return AJIO_FS_OTHER_SHARED;
    default:
        return AJIO_FS_LOCAL;
    }
}

int ajio__fs_kind(int fd, ajio_fs_kind *ret)
{
    struct statfs sf;

    *ret = AJIO_FS_LOCAL;
#ifdef AJIO_TEST_LOCAL_FS /* negative control of the shared-filesystem suite only */
    return 0;
#endif
    while (fstatfs(fd, &sf) < 0)
        if (errno != EINTR)
            return -errno;
    *ret = kind_of((unsigned long)sf.f_type);
    return 0;
}

uint64_t ajio__statx_mnt_id(const struct statx *stx)
{
    /* stx_mnt_id is at byte 144 in every kernel's struct; glibc 2.36 names it padding. */
    uint64_t id;

    _Static_assert(sizeof(struct statx) >= 152, "struct statx without stx_mnt_id");
    if (!(stx->stx_mask & AJIO__STATX_MNT_ID_UNIQUE))
        return 0;
    memcpy(&id, (const char *)stx + 144, sizeof(id));
    return id;
}

/*
 * The kinds of the mounts this thread wrote on last, by the mount's unique ID (statx, Linux
 * 6.8): a mount keeps its filesystem for life and its ID is never given to another mount, so a
 * write to a mount seen before needs no fstatfs(2). Four mounts cover the writer that works
 * in a few places; a miss costs the fstatfs as before.
 */
static _Thread_local struct {
    uint64_t mnt_id;
    bool shared;
} kinds[4];
static _Thread_local unsigned kinds_next;

int ajio__target_shared(struct ajio__target *t)
{
    ajio_fs_kind k;
    int r;

    if (t->fs_known)
        return t->fs_shared;
    for (unsigned i = 0; t->dir_mnt_id != 0 && i < 4; i++)
        if (kinds[i].mnt_id == t->dir_mnt_id) {
            t->fs_shared = kinds[i].shared;
            t->fs_known = true;
            return t->fs_shared;
        }
    r = ajio__fs_kind(t->dirfd, &k);
    if (r < 0)
        return ajio__error_strerror(r, "fstatfs of directory \"%.*s\"", AJIO__DIR_ARG(t));
    t->fs_shared = k != AJIO_FS_LOCAL;
    t->fs_known = true;
    if (t->dir_mnt_id != 0) {
        kinds[kinds_next].mnt_id = t->dir_mnt_id;
        kinds[kinds_next].shared = t->fs_shared;
        kinds_next = (kinds_next + 1) % 4;
    }
    return t->fs_shared;
}

bool ajio__syncfs_reports_errors(void)
{
    /* 0 unknown, 1 yes, 2 no; every thread computes the same answer, so a race only repeats it. */
    static int known;
    int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
    struct utsname u;
    unsigned major = 0, minor = 0;

    if (k == 0) {
        k = 2;
        if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
            (major > 5 || (major == 5 && minor >= 17)))
            k = 1;
        __atomic_store_n(&known, k, __ATOMIC_RELAXED);
    }
    return k == 1;
}

bool ajio__sync_by_fs(bool sync_each, bool local)
{
    return !sync_each && local && ajio__syncfs_reports_errors();
}

/* The value of option name in a comma-separated list ("" for a flag), or NULL. */
static const char *option(const char *opts, const char *name, char *buf, size_t size)
{
    size_t n = strlen(name);

    for (const char *p = opts; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        if (len >= n && memcmp(p, name, n) == 0 && (len == n || p[n] == '=')) {
            size_t v = len == n ? 0 : len - n - 1;

            if (v >= size)
                v = size - 1;
            memcpy(buf, p + (len == n ? n : n + 1), v);
            buf[v] = '\0';
            return buf;
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return NULL;
}

void ajio__fs_judge(ajio_fs_info *info, const char *type, const char *mount_opts,
                    const char *super_opts)
{
    char v[64];

    snprintf(info->type, sizeof(info->type), "%s", type);
    info->weak = 0;
    info->warning[0] = '\0';
    if (info->kind == AJIO_FS_NFS) {
        /*
         * nolock (NFSv3) and local_lock= keep locks on this machine: two clients both hold the
         * lock, and appends and updates from them lose records. The kernel shows the effective
         * local_lock= among the superblock's options.
         */
        char nl[8];
        const char *ll = option(super_opts, "local_lock", v, sizeof(v));
        bool nolock = option(super_opts, "nolock", nl, sizeof(nl)) != NULL ||
                      option(mount_opts, "nolock", nl, sizeof(nl)) != NULL;

        if (nolock || (ll != NULL && strcmp(ll, "none") != 0 && strcmp(ll, "flock") != 0)) {
            info->weak |= AJIO_FS_WEAK_LOCKS;
            snprintf(info->warning, sizeof(info->warning),
                     "%s is mounted with %s%s: its locks exclude only this machine's writers, "
                     "so appends and updates from other clients can lose records",
                     type, ll != NULL && !nolock ? "local_lock=" : "nolock",
                     ll != NULL && !nolock ? ll : "");
        }
    } else if (info->kind == AJIO_FS_SMB) {
        if (option(super_opts, "nobrl", v, sizeof(v)) != NULL ||
            option(mount_opts, "nobrl", v, sizeof(v)) != NULL) {
            info->weak |= AJIO_FS_WEAK_LOCKS;
            snprintf(info->warning, sizeof(info->warning),
                     "%s is mounted with nobrl: its locks exclude only this machine's writers, "
                     "so appends and updates from other clients can lose records",
                     type);
        }
    } else if (info->kind == AJIO_FS_FUSE) {
        /* FUSE servers that are known to keep fcntl locks on the client (no lock operations). */
        static const char *const local_locks[] = {"fuse.sshfs", "fuse.s3fs", "fuse.rclone",
                                                  "fuse.gcsfuse", "fuse.goofys"};

        for (size_t i = 0; i < sizeof(local_locks) / sizeof(local_locks[0]); i++)
            if (strcmp(type, local_locks[i]) == 0) {
                info->weak |= AJIO_FS_WEAK_LOCKS;
                snprintf(info->warning, sizeof(info->warning),
                         "%s does not share locks between machines: appends and updates from "
                         "other machines can lose records",
                         type);
            }
    }
}

/*
 * The line of /proc/self/mountinfo for mount id: its type ("nfs4", "fuse.glusterfs"), the
 * mount's options and the superblock's. Fields: id parent major:minor root point options
 * [optional fields...] - type source super-options.
 */
static int find_mount(uint64_t id, char *type, size_t tsize, char *mopts, size_t msize,
                      char *sopts, size_t ssize)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char *line = NULL;
    size_t cap = 0;
    int r = -ENOENT;

    if (f == NULL)
        return -errno;
    while (getline(&line, &cap, f) > 0) {
        char *save = NULL, *field[6], *tok = strtok_r(line, " \n", &save);
        int n = 0;

        while (tok != NULL && n < 6) {
            field[n++] = tok;
            tok = strtok_r(NULL, " \n", &save);
        }
        if (n < 6 || strtoull(field[0], NULL, 10) != id)
            continue;
        /* Optional fields up to "-", then type, source and the superblock's options. */
        while (tok != NULL && strcmp(tok, "-") != 0)
            tok = strtok_r(NULL, " \n", &save);
        char *t = tok != NULL ? strtok_r(NULL, " \n", &save) : NULL;
        char *src = t != NULL ? strtok_r(NULL, " \n", &save) : NULL;
        char *so = src != NULL ? strtok_r(NULL, " \n", &save) : NULL;

        snprintf(type, tsize, "%s", t != NULL ? t : "");
        snprintf(mopts, msize, "%s", field[5]);
        snprintf(sopts, ssize, "%s", so != NULL ? so : "");
        r = 0;
        break;
    }
    free(line);
    (void)fclose(f); /* read-only */
    return r;
}

int ajio_fs_probe(const char *path, ajio_fs_info *ret)
{
    char type[64] = "", mopts[1024] = "", sopts[1024] = "";
    struct statx sx;
    int fd, r;

    if (path == NULL || path[0] == '\0' || ret == NULL)
        return ajio__error(-EINVAL, "ajio_fs_probe: %s",
                           ret == NULL ? "ret is NULL" : "path is NULL or empty");
    memset(ret, 0, sizeof(*ret));
    /* O_PATH: a directory or file that may not be read can still be asked about. */
    fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return ajio__error_strerror(-errno, "open of \"%s\" to probe its filesystem", path);
    r = ajio__fs_kind(fd, &ret->kind);
    if (r < 0) {
        (void)close(fd); /* O_PATH */
        return ajio__error_strerror(r, "fstatfs of \"%s\"", path);
    }
    /* A local filesystem keeps every promise whatever its options: nothing more to read. */
    if (ret->kind != AJIO_FS_LOCAL &&
        statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID) &&
        find_mount(sx.stx_mnt_id, type, sizeof(type), mopts, sizeof(mopts), sopts,
                   sizeof(sopts)) == 0)
        ajio__fs_judge(ret, type, mopts, sopts);
    (void)close(fd); /* O_PATH */
    return 0;
}

bool ajio__shared_retry(int n, int tries)
{
#ifdef AJIO_TEST_LOCAL_FS /* negative control of the shared-filesystem suite only: no retries */
    tries = 0;
#endif
    if (n >= tries)
        return false;
    struct timespec ts = {0, (1000L * 1000L) << n};

    (void)nanosleep(&ts, NULL); /* an interrupted sleep only means an earlier try */
    return true;
}

bool ajio__path_shared(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    struct statfs sf;

    if (slash == NULL)
        snprintf(dir, size, ".");
    else if (slash == path)
        snprintf(dir, size, "/");
    else
        snprintf(dir, size, "%.*s", (int)(slash - path), path);
#ifdef AJIO_TEST_LOCAL_FS /* negative control of the shared-filesystem suite only */
    return false;
#endif
    return statfs(dir, &sf) == 0 && kind_of((unsigned long)sf.f_type) != AJIO_FS_LOCAL;
}

void ajio__refresh_dir(int dirfd, const char *path)
{
    struct statx sx;

    /*
     * An NFS client trusts the names it cached, found and missing alike, until the directory's
     * attributes say it changed, which it asks the server only every few seconds (acdirmin):
     * another client's replace can go unseen that long. Asked now, a change makes the next
     * lookup of a name go to the server. Nothing to report: the open that follows reports.
     */
    (void)statx(dirfd, path, AT_STATX_FORCE_SYNC | (path[0] == '\0' ? AT_EMPTY_PATH : 0),
                STATX_BASIC_STATS, &sx);
}

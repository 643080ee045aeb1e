/*
 * internal.h - private declarations shared by the files of libajio. Not installed.
 *
 * The files form layers, each calling only the layers before it (docs/design.md; the order is
 * checked by tests/callgraph.py):
 *
 *   error tempname json_check json_number content   messages, names, the validator,
 *   json_gen_scan                                    the generator's vector kernels
 *   resolve meta lock group                          where a write goes, its lock, its old file
 *   tempfile                                         the temp: created, locked, written
 *   commit                                           stage, publish, directory sync
 *   handle                                           a replace's life and its buffered writes
 *   file dir batch txn append json_gen snapshot      the write APIs
 *   update read sweep                                built on the write APIs
 */
#ifndef AJIO_INTERNAL_H
#define AJIO_INTERNAL_H

#include "ajio.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* All flags a write accepts; anything else is -EINVAL, so a newer caller fails loudly here. */
#define AJIO__ALL_FLAGS                                                                            \
    (AJIO_NO_SYNC | AJIO_NO_MKDIR | AJIO_REPLACE_LINK | AJIO_NO_FOLLOW | AJIO_CREATE_ONLY |        \
     AJIO_SKIP_UNCHANGED | AJIO_MODE | AJIO_NO_TMPFILE | AJIO_JSON | AJIO_JSONL | AJIO_LOCK |      \
     AJIO_NO_REPAIR | AJIO_LOCK_TIMEOUT | AJIO_INTERRUPTIBLE)

/*
 * Private bit in ajio__target.flags, never in ajio_opts: the handle appends to the target in place
 * (append.c) instead of replacing it, so an existing target in an append-only directory is fine.
 */
#define AJIO__APPENDING (1u << 31)

/* The streaming buffer. Writes at least this large bypass it. */
#define AJIO__BUFSIZE (64 * 1024)

/* Most symlinks followed at the target before -ELOOP, as the kernel's own limit. */
#define AJIO__MAX_SYMLINKS 40

/* Temp name: "." NAME ".ajio-" 16 hex ".tmp". */
#define AJIO__TEMP_SUFFIX ".ajio-"
#define AJIO__TEMP_SUFFIX_LEN 6
#define AJIO__TEMP_HEX 16
#define AJIO__TEMP_EXT ".tmp"
#define AJIO__TEMP_EXT_LEN 4

/* Lock file of AJIO_LOCK and ajio_update(): "." NAME ".ajio-lock", never of the temp shape. */
#define AJIO__LOCK_EXT ".ajio-lock"
#define AJIO__LOCK_EXT_LEN 10

/*
 * A write in four parts, one per phase, so that each step holds only what it uses. An append,
 * the log handle and a repair (append.c) hold a target alone; a replace holds all four in
 * struct ajio_file. Each part is set up by one assignment (ajio__*_init()), so that a new field
 * cannot be left out.
 */

/* Where the write goes: resolve.c fills it, lock.c adds the target's lock. */
struct ajio__target {
    int dirfd; /* directory of the (resolved) target; every step is relative to it */
    unsigned flags;
    bool exists;     /* something (file or, with AJIO_REPLACE_LINK, a link) is at name */
    bool dir_opath;  /* dirfd is O_PATH (no read permission): synced with syncfs() */
    bool dir_append; /* the directory is append-only: nothing in it can be renamed or removed */
    bool dir_borrowed; /* a directory handle's write (dir.c): path may be stale */
    const struct ajio__target *dir_handle; /* that handle's own target, whose dirfd is lent */
    int basefd;     /* what a relative path is relative to: AT_FDCWD, or a handle's dirfd */
    size_t baselen; /* path[0..baselen) is the stale text basefd stands for ("DIR/") */
    uid_t dir_uid;  /* owner and mode of the directory, for the rules of sticky directories */
    mode_t dir_mode;
    dev_t dir_dev;
    ino_t dir_ino;
    time_t dir_btime;    /* birth of the directory, 0 if the filesystem does not say */
    uint64_t dir_mnt_id; /* its mount's ID, never reused while the system runs; 0: not known */
    int lockfd;          /* AJIO_LOCK: the target's lock file, locked until the target closes */
    bool fs_known;       /* fs_shared was read (fs.c): once per resolution */
    bool fs_shared;      /* the directory is on a filesystem other machines mount too */
    bool lock_created;   /* this call created the lock file */
    void *group_page;    /* group.c: the lock file's first page, mapped, or NULL */
    bool group_mapped;   /* group_page was tried for this lock file */
    struct stat lock_st; /* the lock file as locked and checked (lock.c) */
    const char *name;    /* final component, inside path */
    size_t dirlen;       /* path[0..dirlen) is the directory as given or resolved */
    /* Last, and in this order (see ajio__target_init()). */
    char path[PATH_MAX];
    char scratch[PATH_MAX]; /* a directory or a link text, a tail read: off the caller's stack */
};

/* The old target as resolved (resolve.c), for AJIO_SKIP_UNCHANGED. */
struct ajio__old {
    int cmpfd; /* the old target, read while writing; else -1 */
    bool same; /* every byte so far equals the old target */
    dev_t dev; /* its identity, so that AJIO_SKIP_UNCHANGED decides against the file the name */
    ino_t ino; /* holds at commit time */
    struct timespec mtime;
    struct timespec ctime;
    uint64_t size;
};

/* What the new file gets (resolve.c plans it, commit.c applies it at stage time). */
struct ajio__perms {
    bool fix_perms; /* the temp's mode/owner must be set at stage time */
    bool copy_meta; /* the old target's ACL and xattrs go to the temp at stage time */
    bool chown;     /* give the file uid and gid */
    mode_t mode;    /* final permission bits when fix_perms */
    uid_t uid;
    gid_t gid;
};

/*
 * Something that formats a handle's bytes itself (a JSON generator, json_gen.c) attaches to the
 * handle with these: the commit runs finish first (it refuses an incomplete document and hands
 * the last bytes to the handle), the discard runs free. While one is attached, ajio_file_write() and
 * ajio_file_printf() are refused: their bytes would land before the ones it still holds. writer names
 * it in that message.
 */
struct ajio__content_ops {
    const char *writer;
    int (*finish)(void *content);
    void (*free)(void *content);
};

/* The temp and what is written to it (tempfile.c, handle.c, commit.c). */
struct ajio__temp {
    int fd;           /* the temp file, -1 once closed */
    int lockfd;       /* second fd of the temp: holds its flock (see sweep.c) through the rename */
    int err;          /* sticky: first failure of a write; the commit returns it */
    bool anonymous;   /* fd is an O_TMPFILE that has no name yet */
    bool named;       /* tmpname exists in the target's directory and must be removed on failure */
    uint64_t written; /* bytes handed to ajio_file_write so far */
    unsigned char last; /* the last byte written, for the '\n' a JSON file ends with */
    size_t buflen;
    unsigned char *buf;         /* lazily allocated AJIO__BUFSIZE buffer */
    ajio_json_checker *checker; /* AJIO_JSON/AJIO_JSONL: every byte written is fed to it */
    const struct ajio__content_ops *content_ops; /* what formats the bytes, if anything */
    void *content;                               /* its state, given to content_ops */
    char tmpname[NAME_MAX + 1];
};

struct ajio_file {
    struct ajio__target target;
    struct ajio__old old;
    struct ajio__perms perms;
    struct ajio__temp temp;
    bool heap; /* the struct itself was malloc'ed (ajio_file_open) */
};

/*
 * The two PATH_MAX buffers end the target: ajio__target_init() (resolve.c) sets everything
 * before them from one initializer, and they fill as they go, not zeroed for every write.
 */
_Static_assert(offsetof(struct ajio__target, scratch) ==
                       offsetof(struct ajio__target, path) + PATH_MAX &&
                   sizeof(struct ajio__target) == offsetof(struct ajio__target, scratch) + PATH_MAX,
               "path and scratch must be the last fields of struct ajio__target");

/* same starts true with AJIO_SKIP_UNCHANGED: resolve and every byte written may clear it. */
static inline void ajio__old_init(struct ajio__old *o, unsigned flags)
{
    *o = (struct ajio__old){.cmpfd = -1, .same = (flags & AJIO_SKIP_UNCHANGED) != 0};
}

static inline void ajio__perms_init(struct ajio__perms *p)
{
    *p = (struct ajio__perms){.fix_perms = false};
}

static inline void ajio__temp_init(struct ajio__temp *t)
{
    *t = (struct ajio__temp){.fd = -1, .lockfd = -1};
}

/* error.c */
/*
 * The calling thread's message (ajio_last_error()), one setter per shape, each returning err:
 *   ajio__error           the formatted text as it is
 *   ajio__error_strerror  the formatted text, then ": " and the text of err
 *   ajio__error_append    more text after the current message (what a cleanup could not undo)
 */
int ajio__error(int err, const char *fmt, ...) AJIO_PRINTF(2, 3);
int ajio__error_strerror(int err, const char *fmt, ...) AJIO_PRINTF(2, 3);
void ajio__error_append(const char *fmt, ...) AJIO_PRINTF(1, 2);
/* How many messages this thread has set so far: tells whether a callback set one of its own. */
unsigned long ajio__error_count(void);

/* Seconds a directory counts as new: writes into it make its ancestors durable (resolve.c).
 * 60; the power-cut suite sets more than its run lasts, so that a writer's system calls do not
 * depend on how long it waited for its turn. */
extern long ajio__new_dir_sec;

/* snapshot.c, for the tests: 0 tries a reflink first, 1 starts at copy_file_range(), 2 reads and
 * writes; counts of files copied by each method, in that order. */
extern int ajio__snapshot_copy_mode;
extern unsigned long ajio__snapshot_copies[3];

/* copy.c, for the tests: 1 makes ajio_file_write_fd() read and write whatever fd is; counts of
 * calls finished by copy_file_range(), by splice() and by reads, in that order. */
extern int ajio__copy_fd_mode;
extern unsigned long ajio__copy_fd_counts[3];
/* snapshot.c, for the tests: called at the named steps of a publish ("mkdir": the new generation
 * made, and a nonzero return fails the publish there as a failed open would; "swap": NAME
 * checked, the temp symlink made, just before the swap); NULL in the library. */
extern int (*ajio__snapshot_hook)(const char *step);
/* snapshot.c, negative controls of the tests: 1 swaps with a plain renameat(), as a filesystem
 * without RENAME_EXCHANGE would. */
extern int ajio__snapshot_plain_rename;
/* 1 makes the gc remove old generations that readers hold, as if their locks were not there. */
extern int ajio__snapshot_gc_ignore_locks;
/* snapshot.c, how a publish makes its generation durable: 0 one syncfs() of its filesystem (the
 * library), 1 an fsync of each file and directory as it is copied (the way before, for the
 * benchmark), 2 each file's writeback started as it is copied, then an fsync of each. */
extern int ajio__snapshot_sync_mode;
/* snapshot.c, for the tests: 1 fails the generation's sync with EIO; 2 fails it and ignores the
 * failure (the negative control). */
extern int ajio__snapshot_fail_sync;

/*
 * cpu.c: the vector kernel of this process, chosen once from CPUID (AJIO_KERNEL forces one the
 * CPU has). The order is a ladder: each kernel's CPU also runs the ones before it.
 */
enum {
    AJIO__KERNEL_SCALAR, /* portable C, no vector instructions */
    AJIO__KERNEL_SSE42,  /* SSE4.2 + SSSE3 + PCLMUL */
    AJIO__KERNEL_AVX2,   /* AVX2 + BMI2 + PCLMUL */
    AJIO__KERNEL_AVX512, /* AVX-512 F + BW + VL */
    AJIO__KERNEL_COUNT
};
int ajio__kernel(void);
int ajio__kernel_best(void);
const char *ajio__kernel_name(int kernel);
/* json_check.c: runs c with another kernel (the tests compare them); -ENOTSUP if the CPU lacks
 * it. */
int ajio__json_checker_kernel(ajio_json_checker *c, int kernel);

/* tempname.c */
void ajio__temp_name(char ret_name[NAME_MAX + 1], const char *target);
bool ajio__is_temp_name(const char *name, const char *target);
void ajio__lock_name(char ret_name[NAME_MAX + 1], const char *target);

/*
 * lock.c: the target's lock. ajio__lock_take() opens (creating) lock file name in t->dirfd,
 * checks that only those who may write the target may open it, and flocks it into t->lockfd
 * (timeout_ms as ajio_update(), until deadline of ajio__now_ns()). ajio__lock_again() takes the
 * flock of t->lockfd again after an unlock (the log handle): -ESTALE, unlocked, if the name no
 * longer holds that lock file. ajio__lock_wait_ms() is the wait the options ask for (-1: as long
 * as it is held). ajio__lock_release() unmaps what group.c mapped of the lock file and closes it.
 */
int64_t ajio__now_ns(void);
int ajio__lock_take(struct ajio__target *t, const char *name, int timeout_ms, int64_t deadline);
/*
 * The lock of a lock file or a temp as held on a shared filesystem (fs.c): an OFD write lock
 * that the server arbitrates, on the byte AJIO__SHARED_LOCK_BYTE of a lock file (group.c's sync
 * and waiter locks use others) or on the whole temp (len 0). try_lock fails with -EWOULDBLOCK.
 */
#define AJIO__SHARED_LOCK_BYTE 1024
int ajio__ofd_lock(int fd, off_t start, off_t len, bool wait);
int ajio__ofd_unlock(int fd, off_t start, off_t len);
/* The target's lock released without closing the lock file (a log handle keeps it). */
int ajio__lock_drop(struct ajio__target *t);
int ajio__lock_again(struct ajio__target *t, const char *name, int timeout_ms);
int ajio__lock_wait_ms(const ajio_opts *opts);
void ajio__lock_release(struct ajio__target *t);
/*
 * ajio__resolve() under the target's lock (AJIO_LOCK): resolves, takes the lock in the resolved
 * directory (timeout_ms as ajio_update(); < 0: as the options say), and resolves again under it,
 * so that the permission plan and the old content are those of the file the lock protects. old
 * and perms may be NULL (an append plans neither).
 */
int ajio__resolve_locked(struct ajio__target *t, struct ajio__old *old, struct ajio__perms *perms,
                         const char *path, const ajio_opts *opts, int timeout_ms);
/* Closes what a target holds: its directory (unless lent), then its lock, last. */
void ajio__target_close(struct ajio__target *t);

/*
 * What the lock file records of the appends to its target (lock.c), read and written under the
 * flock: the file (dev, ino) it speaks of; committed, the file's size after the last append or
 * repair that finished; pending and pending_start, an append under way from that offset; the
 * group commit tickets handed out (written) and the first one of this file (epoch). exact: the
 * record was written in this boot on this mount of the file's filesystem (mnt, a unique mount
 * id), so no power cut can have left it behind the file since.
 */
struct ajio__state {
    bool valid, exact, pending;
    uint64_t dev, ino, committed, pending_start, written, epoch;
};
/* The sync record: every ticket <= synced of file dev/ino since epoch is durable. */
struct ajio__sync {
    bool valid;
    uint64_t dev, ino, epoch, synced, syncs, sync_ns;
};
int ajio__state_read(int lockfd, uint64_t mnt, struct ajio__state *ret);
int ajio__state_write(int lockfd, uint64_t mnt, const struct ajio__state *s);
int ajio__sync_read(int lockfd, struct ajio__sync *ret);
int ajio__sync_write(int lockfd, const struct ajio__sync *s);
/* Tests and benchmarks: appends numbered and syncs done, read from a lock file. */
int ajio__group_counts(const char *lock_path, uint64_t *ret_written, uint64_t *ret_syncs);

/*
 * group.c: group commit of appends (see there). After the flock is released, makes ticket (of
 * file dev/ino, whose first ticket is epoch) durable with a sync of its own or one that another
 * appender started after the write: *ret_shared tells which, and *ret_durable whether the
 * records are durable.
 */
int ajio__group_sync(struct ajio__target *t, int wfd, uint64_t dev, uint64_t ino, uint64_t epoch,
                     uint64_t ticket, bool *ret_shared, bool *ret_durable);
/*
 * Reserves the blocks of the lock file's first AJIO__GROUP_PAGE bytes, where group commit keeps
 * its futex words (a full disk: -ENOSPC, before anything is appended). Under the flock.
 */
#define AJIO__GROUP_PAGE 4096
int ajio__group_reserve(int lockfd);

/* resolve.c: a target that holds nothing yet, with an empty path. */
void ajio__target_init(struct ajio__target *t);
/*
 * resolve.c: fills t (dirfd, path, name, exists) and, unless NULL, the permission plan and the
 * old target's facts.
 */
int ajio__resolve(struct ajio__target *t, struct ajio__old *old, struct ajio__perms *perms,
                  const char *path, const ajio_opts *opts);
/* The protected_regular rule for the existing file st at t->name: 0 or -EACCES (message set). */
int ajio__check_regular(const struct ajio__target *t, const struct stat *st);
/*
 * The two halves of ajio__resolve(), for the directory handle (dir.c). ajio__resolve_dir() opens
 * the directory dir (created unless AJIO_NO_MKDIR) and sets f->path to "DIR/" with an empty
 * f->name. ajio__resolve_name() looks at f->name in f->dirfd: 0 when the plan is made, or
 * AJIO__FOLLOW for a symlink the options say to follow (the sticky rule already checked), which
 * may lead to another directory. ajio__check_append_only() is the last check of a replace.
 */
#define AJIO__FOLLOW 1
int ajio__resolve_dir(struct ajio__target *t, const char *dir);
int ajio__resolve_name(struct ajio__target *t, struct ajio__old *old, struct ajio__perms *perms,
                       const ajio_opts *opts);
/*
 * ajio__resolve() for a write through a directory handle (f set up by ajio__borrow_dir()): the
 * name in the handle's directory, a symlink there followed relative to the handle's fd (an
 * absolute one as a path of its own), never the path given at ajio_dir_open().
 */
int ajio__resolve_borrowed(struct ajio__target *t, struct ajio__old *old, struct ajio__perms *perms,
                           const ajio_opts *opts);
int ajio__check_append_only(const struct ajio__target *t);
/*
 * Durable writes: syncs the parents of directories born in the last ajio__new_dir_sec; anyfd is
 * a file on the same filesystem, for syncfs() where a parent can only be opened O_PATH.
 */
int ajio__sync_new_dirs(struct ajio__target *t, int anyfd);
/*
 * t becomes a write of name in the directory of dir (a directory handle's target, dir.c): it
 * borrows dir's fd, never closed through t, and what was learnt of the directory.
 */
void ajio__borrow_dir(struct ajio__target *t, const struct ajio__target *dir, const char *name);

/* Makes a new entry of directory fd durable: fsync, or syncfs when fd is not readable. */
int ajio__sync_dir_fd(int fd, bool opath, int anyfd);

/* tempfile.c */
struct iovec;
int ajio__temp_create(struct ajio_file *f);
/* Filesystems and kernels without O_TMPFILE answer with one of these; anything else is real. */
bool ajio__tmpfile_unsupported(int err);

/* fs.c: the filesystem's kind (ajio.h, "Shared filesystems"). */
int ajio__fs_kind(int fd, ajio_fs_kind *ret);
/* 1 when t's directory is on a shared filesystem, 0 when local, or -errno (message set). */
int ajio__target_shared(struct ajio__target *t);
/* Whether syncfs(2) reports every error an fsync would: writeback errors (Linux 5.8) and the
 * filesystem's own, such as a failed journal commit (5.17). Else each file gets an fsync. */
bool ajio__syncfs_reports_errors(void);
/* Whether several temps of a batch or transaction round are made durable by one syncfs(2) of
 * their filesystem instead of an fdatasync each: local (shared: the filesystem's syncfs need not
 * commit them, as FUSE's does not), AJIO_SYNC_EACH not asked, syncfs reporting every error. */
bool ajio__sync_by_fs(bool sync_each, bool local);
/* statx(2)'s mount ID that is never reused (Linux 6.8); older headers lack the name. */
#define AJIO__STATX_MNT_ID_UNIQUE 0x4000U
/* That ID from a statx asked for it, or 0 when the kernel did not give it. */
uint64_t ajio__statx_mnt_id(const struct statx *stx);
/* The weak promises of a mount of kind info->kind, from its type and options (tests use it). */
void ajio__fs_judge(ajio_fs_info *info, const char *type, const char *mount_opts,
                    const char *super_opts);
/* Sleeps 2^n ms before try n + 1 of a read that met a name missing or stale on a shared
 * filesystem: false once n reaches tries (8 tries: 255 ms in all; 11: about 2 s). */
bool ajio__shared_retry(int n, int tries);
/* Whether the directory of path (into dir, of size bytes) is on a shared filesystem (false when
 * that cannot be told). */
bool ajio__path_shared(const char *path, char *dir, size_t size);
/* Asks the server for the attributes of directory path (relative to dirfd; "" for dirfd itself)
 * so that the names the client cached in it are looked up again if it changed. */
void ajio__refresh_dir(int dirfd, const char *path);
/* Locks the temp (flock) so that ajio_sweep() leaves it alone while this writer lives. */
int ajio__temp_lock(struct ajio_file *f);
/* Writes every piece, looping on EINTR and short writes; iov is consumed. */
int ajio__writev_all(int fd, struct iovec *iov, int iovcnt);
/* How an O_TMPFILE gets a name in this process (see tempfile.c). */
enum { AJIO__LINK_UNKNOWN, AJIO__LINK_EMPTY_PATH, AJIO__LINK_PROC, AJIO__LINK_NONE };
/* Learns, once per process, whether O_TMPFILEs can be linked. @return AJIO__LINK_* or -errno. */
int ajio__tmpfile_probe(struct ajio_file *f);
/* Links O_TMPFILE fd as name in dirfd, the preferred way first. @return 0 or -errno. */
int ajio__link_tmpfile(int fd, int dirfd, const char *name);

/*
 * FNV-1a 64 of n bytes: the checksum of the records this library writes and reads back (the
 * lock file's, a transaction's intent), so that a torn or foreign record never checks out.
 */
static inline uint64_t ajio__fnv1a64(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* meta.c: copies the old target's access ACL and extended attributes to the temp fd. */
int ajio__copy_meta(struct ajio__target *t, int fd);
/* meta.c: gives the temp fd p's owner and mode (path names it in messages). */
int ajio__set_perms(int fd, const struct ajio__perms *p, const char *path);

/* json_check.c: validates iovcnt pieces as one input, on the stack (no allocation). */
int ajio__json_validate_iov(const struct iovec *iov, int iovcnt, unsigned flags,
                            ajio_json_error *ret_err);

/*
 * content.c: what a content kind (AJIO_JSON, AJIO_JSONL in flags) asks of the bytes; nothing
 * for other content. ajio__content_validator() is the validator's flags for the kind.
 * ajio__check_content() validates the iovcnt (< 4) pieces as one input and, with storage, adds
 * the '\n' a file of JSON ends with when the content lacks it (ajio__content_terminate(), for
 * content validated earlier), as one more piece in storage (*iov then points there).
 * ajio__content_checker_new() is the streaming validator of the kind (NULL for other content),
 * ajio__content_checker_failed() the message of its failure r, which it returns.
 */
unsigned ajio__content_validator(unsigned flags);
int ajio__check_content(const char *path, unsigned flags, struct iovec **iov, int *iovcnt,
                        struct iovec *storage);
void ajio__content_terminate(unsigned flags, struct iovec **iov, int *iovcnt,
                             struct iovec *storage);
int ajio__content_checker_new(const char *path, unsigned flags, ajio_json_checker **ret);
int ajio__content_checker_failed(const char *path, ajio_json_checker *c, int r);
/* "PATH:LINE:COL: reason" for AJIO_EJSON/AJIO_ETORN, the validator's own errors as they are. */
int ajio__json_failed(const char *path, int r, const ajio_json_error *e);

/*
 * handle.c: the handle's life and its buffered write path. ajio__check_args() checks what every
 * public write is given. ajio__start() is everything before the first byte is written:
 * arguments, resolution (under the target's lock with AJIO_LOCK, waiting timeout_ms as
 * ajio_update() says), the create-only check. ajio__finish() runs the content's finish, the last
 * validation, AJIO_SKIP_UNCHANGED's decision, the flush, stage, publish and directory sync;
 * ajio__discard() releases everything (and frees a handle from ajio__new_handle()).
 */
int ajio__check_args(const char *path, const ajio_opts *opts);
void ajio__file_init(struct ajio_file *f);
/* A handle on the heap, freed by ajio__discard(); NULL (message set) without memory. */
struct ajio_file *ajio__new_handle(const char *path);
int ajio__start(struct ajio_file *f, const char *path, const ajio_opts *opts, int timeout_ms);
/* AJIO_CREATE_ONLY and a target that exists: -EEXIST before anything is created. */
int ajio__check_create_only(const struct ajio_file *f);
int ajio__file_write(struct ajio_file *f, const void *buf, size_t len);
int ajio__file_flush(struct ajio_file *f);
/* AJIO_SKIP_UNCHANGED: open the old target (streaming), or compare it with whole content. */
void ajio__open_old(struct ajio_file *f);
bool ajio__same_as_old(struct ajio_file *f, const struct iovec *iov, int iovcnt);
/* AJIO_SKIP_UNCHANGED: whether the name still holds the very file compared, unmodified. */
bool ajio__old_still_there(struct ajio_file *f);
int ajio__finish(struct ajio_file *f);
void ajio__discard(struct ajio_file *f);
/* ajio_file_open() with the lock's timeout (ajio_update()); ajio_file_open() itself waits for the lock. */
int ajio__open(ajio_file **ret_file, const char *path, const ajio_opts *opts, int timeout_ms);

/* file.c: one-shot write of iovcnt pieces (iov is consumed); the core of ajio_write_bytes(). */
int ajio__write_iov(const char *path, struct iovec *iov, int iovcnt, const ajio_opts *opts);
/*
 * The one-shot write after the resolution: AJIO_SKIP_UNCHANGED's comparison (AJIO_UNCHANGED),
 * the temp, the syncs of new parents, the bytes. The caller finishes (or stages) and discards.
 */
int ajio__write_resolved(struct ajio_file *f, struct iovec *iov, int iovcnt);

/*
 * json_gen.c: a generator attaches to a handle through struct ajio__content_ops. Without
 * AJIO_SKIP_UNCHANGED and the JSON kinds it formats straight into f->buf (f->buflen and
 * f->written catch up at each flush and at the commit; ajio_file_write() is refused meanwhile),
 * bypassing ajio__file_write(): anything that function learns to do per byte must make
 * json_gen.c take its ajio__file_write() path too.
 */

/*
 * json_gen.c: string text escaped by the caller, straight into the window: a language binding
 * that holds its strings in another form than UTF-8 (the Python encoder, which reads a str's
 * own 1-, 2- or 4-byte storage) escapes them there itself instead of making a UTF-8 copy for
 * ajio_gen_string() to check and escape again. The generator does not look at that text: the
 * caller must write valid JSON string contents (no quote, backslash or control character
 * unescaped, strict UTF-8) with the escapes its flags ask for, or the output is not JSON.
 *
 * ajio__gen_text_begin() takes the place of ajio_gen_key() (key) or ajio_gen_string() (!key):
 * the same checks of order, the separator and line break, the opening quote; *ret_at is where
 * the text goes, with room for need bytes (need <= AJIO__GEN_TEXT_MAX). ajio__gen_text_room()
 * is told how far the text got (*at) and makes room for need more bytes, handing the window
 * over when it is full (*at then points into the emptied window). ajio__gen_text_end() is told
 * where the text ends and writes the closing quote (and a key's separator). Each returns 0 or
 * the generator's (sticky) error. ajio__gen_text_offset() is where at lies in the whole output
 * (the bytes handed over before the window's, plus at's place in it).
 */
#define AJIO__GEN_TEXT_MAX ((size_t)AJIO__BUFSIZE / 2)
int ajio__gen_text_begin(ajio_gen *g, bool key, size_t need, unsigned char **ret_at);
int ajio__gen_text_room(ajio_gen *g, size_t need, unsigned char **at);
int ajio__gen_text_end(ajio_gen *g, bool key, unsigned char *at);
uint64_t ajio__gen_text_offset(const ajio_gen *g, const unsigned char *at);

/*
 * json_gen_scan.c: a vector kernel's copy of the run at the start of s[0..n) that a JSON
 * string takes as it is: no byte below 0x20, '"' or '\\', nor '/' or DEL when stop has
 * AJIO__GEN_STOP_SLASH or AJIO__GEN_STOP_DEL; bytes from 0x80 end it too, except that a utf8
 * kernel takes valid UTF-8 sequences into it. s must start where a sequence may. It is copied
 * to o; o[run .. n) may be written too (with the bytes of s), nothing past o + n. @return the
 * run's length: it ends at a byte to escape, at a byte from 0x80 (a sequence to check one byte
 * at a time: it may be invalid, or cut by n), or at n. ajio__gen_copy_plain() gives the kernel's
 * function, NULL for the scalar kernel: json_gen.c's own loops.
 */
enum { AJIO__GEN_STOP_SLASH = 2, AJIO__GEN_STOP_DEL = 8 };
typedef size_t (*ajio__gen_copy_fn)(unsigned char *o, const unsigned char *s, size_t n,
                                    unsigned stop);
ajio__gen_copy_fn ajio__gen_copy_plain(int kernel, bool utf8);

/* json_number.c: numbers as JSON text. Integers need 20 bytes, doubles AJIO_GEN_DOUBLE_MAX. */
size_t ajio__format_u64(char *out, uint64_t v);
size_t ajio__format_i64(char *out, int64_t v);
/* @return the length (NUL-terminated), or -EINVAL for a non-finite v or a bad precision. */
int ajio__format_double(char *out, double v, int precision);

/*
 * commit.c: stage (permissions, attributes, fdatasync; the handle flushes its buffer first),
 * publish (name, rename), directory sync.
 */
int ajio__stage(struct ajio_file *f);
int ajio__publish(struct ajio_file *f);
int ajio__sync_dir(struct ajio_file *f);

/*
 * The directory part of t->path for a "%.*s" in a message ("." when the path had none): no
 * PATH_MAX copy on the stack (see "Stack" in ajio.h).
 */
#define AJIO__DIR_ARG(t) ((t)->dirlen ? (int)(t)->dirlen : 1), ((t)->dirlen ? (t)->path : ".")

#endif /* AJIO_INTERNAL_H */

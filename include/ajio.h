/*
 * ajio.h - crash-safe, concurrency-safe atomic file replacement for Linux.
 *
 * libajio replaces a file so that:
 *
 *   1. a reader that opens the target at any moment sees the complete previous content or the
 *      complete new content, never a partial, empty or mixed file, whatever number of threads and
 *      processes write it at once;
 *   2. after a durable call returns success, the new content and its name survive a power cut;
 *   3. if the call fails, the target is untouched and no temporary file is left behind (the
 *      exceptions: AJIO_ENOTDURABLE, below; and a temp whose own removal fails after the failure,
 *      or the empty probe temp of a process's first write when its removal fails - the message
 *      then names it and ajio_sweep() removes it);
 *   4. if the process is killed mid-write, the target holds the old content; at most one temporary
 *      file per killed writer may remain, and ajio_sweep() removes it.
 *
 * Promise 1 needs rename(2) to switch names atomically for readers, as every local filesystem
 * does. Path-based FUSE filesystems (bindfs and other libfuse high-level daemons) drop the old
 * name for a moment while it is renamed over: a reader's open can then fail with ENOENT, though
 * what it reads is still never partial. Such filesystems also lack O_TMPFILE, so a named temp is
 * used there.
 *
 * Never less safe than the shell's '>': a replace keeps every protection an in-place write would
 * have (docs/design.md says how, step by step):
 *
 *   - In sticky directories the kernel's protected_symlinks and protected_regular=2 rules are
 *     applied whatever the sysctls say: a symlink on the path is followed only if it belongs to
 *     the caller or the directory's owner, and another user's file in a directory others may
 *     write is never replaced; both fail with -EACCES and a message that names the rule.
 *   - The replaced file's mode, owner and group (where the process may set them), its POSIX
 *     access ACL, user.* attributes and, where the process may set them, trusted.* and
 *     security.selinux are kept; security.capability and other security.* attributes are not.
 *     An attribute the process may not set or the filesystem does not take is skipped; any
 *     other failure to keep one fails the write, target untouched. A new file gets what
 *     creat(2) would give it; with AJIO_MODE, exactly that mode and no ACL.
 *   - The temp is never readable by anyone who cannot read the target.
 *   - Hard links are split: the name written gets the new content, the other names keep the
 *     old one (rename(2) swaps names, not content).
 *   - Directories the writer may search and write but not read (0733 drop boxes) work.
 *   - In an append-only directory (chattr +a) a replace of an existing file fails with -EPERM
 *     before anything is created; a new file is written.
 *   - A durable write into a directory another writer created moments ago makes every
 *     directory on the path durable before it succeeds.
 *   - An O_TMPFILE is used where it can be linked; else a named temp. A process that loses the
 *     means to link one (privileges dropped, no /proc) fails one write, target untouched, then
 *     uses named temps.
 *
 * Errors. Every function that can fail returns 0 (or a documented non-negative value) on success
 * and a negative errno value on failure, like libuv and systemd. On failure a message naming the
 * failed step and the path, e.g.
 *
 *     fdatasync of temp for "/srv/app/state.json": No space left on device
 *
 * is kept for the calling thread and returned by ajio_last_error(); every public function that
 * can fail sets it, the validator's included. A call that succeeds leaves it as it was, so it
 * always describes the last failure. ajio_strerror() and ajio_err_name() translate any return
 * value.
 *
 * Threads. Every function is thread-safe and takes no lock in memory (only AJIO_LOCK,
 * ajio_update(), ajio_append() and ajio_repair() take a file lock, see "Locked
 * read-modify-write") but a log handle's own mutex, which queues the appends of the threads that
 * share it (ajio_log_append()); a handle (ajio_file) must be used by one thread at a time. The
 * per-thread state is the last error message, the seed of the temp-name generator and the last
 * new directory made durable; the process-wide state is how an O_TMPFILE can be linked, learnt
 * once (an atomic), and the list of open log handles, which a pthread_atfork() handler resets in
 * a child. File descriptors are all opened O_CLOEXEC. The library never prints, never calls
 * exit() and never changes the umask.
 */
#ifndef AJIO_H
#define AJIO_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AJIO_VERSION_MAJOR 0
#define AJIO_VERSION_MINOR 3
#define AJIO_VERSION_PATCH 0
#define AJIO_VERSION_STRING "0.3.0"
/*
 * One number for compile-time checks: #if AJIO_VERSION_NUMBER >= 200 (0.2.0), and the same as
 * 0xMMmmpp. What came after 0.1 says so, always as "(since X)". (since 0.2)
 */
#define AJIO_VERSION_NUMBER (AJIO_VERSION_MAJOR * 10000 + AJIO_VERSION_MINOR * 100 + AJIO_VERSION_PATCH)
#define AJIO_VERSION_HEX ((AJIO_VERSION_MAJOR << 16) | (AJIO_VERSION_MINOR << 8) | AJIO_VERSION_PATCH)

#if defined(AJIO_BUILDING) && defined(__GNUC__)
#define AJIO_API __attribute__((visibility("default")))
#else
#define AJIO_API
#endif

/*
 * AJIO_SYMBOL gives a function whose arguments changed the symbol of its new version, so that
 * programs built against an older release keep calling the old one.
 */
#if defined(__GNUC__)
#define AJIO_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define AJIO_DEPRECATED(msg) __attribute__((deprecated(msg)))
#define AJIO_SYMBOL(name) __asm__(name)
#else
#define AJIO_PRINTF(a, b)
#define AJIO_DEPRECATED(msg)
#define AJIO_SYMBOL(name)
#define ajio_repair ajio_repair_v03
#define ajio_reader_open ajio_reader_open_v03
#endif

/* ---------------------------------------------------------------------------------------------
 * Results
 * --------------------------------------------------------------------------------------------- */

/*
 * Every result of this library, and what ajio_err_name() calls it:
 *
 *   0                 "OK"                success
 *   AJIO_UNCHANGED    "AJIO_UNCHANGED"    success, nothing had to be written (positive)
 *   AJIO_REPAIRED     "AJIO_REPAIRED"     success, after a torn last line was repaired (positive)
 *   AJIO_ENOTDURABLE  "AJIO_ENOTDURABLE"  replaced, but the new name may not survive a power cut
 *   AJIO_EJSON        "AJIO_EJSON"        the content is not JSON (JSON Lines)
 *   AJIO_ETORN        "AJIO_ETORN"        JSON Lines whose last line has no '\n'
 *   -errno            "ENOSPC", ...       the call failed, as the errno says
 *
 * The AJIO_E* codes are below -4095, outside every errno. Functions that return a count or a
 * line (ajio_sweep(), ajio_reader_next(), ajio_gen_format_double()) say so.
 */

/*
 * AJIO_UNCHANGED: returned (a success) by the write functions when AJIO_SKIP_UNCHANGED is set and
 * the target already held exactly the new bytes. Nothing was written, renamed or synced.
 */
#define AJIO_UNCHANGED 1

/*
 * AJIO_REPAIRED: returned (a success) by ajio_append() and ajio_repair() when a torn last line
 * was repaired first; ajio_last_error() then says what was cut or terminated. (since 0.2)
 */
#define AJIO_REPAIRED 2

/*
 * AJIO_ENOTDURABLE: the target was replaced (readers see the new content), but the final fsync of
 * its directory failed, so the new name may not survive a power cut. The file is not renamed back:
 * doing so would need the same failing sync. The message from ajio_last_error() carries the
 * underlying errno. A caller that needs durability should retry the whole write.
 */
#define AJIO_ENOTDURABLE (-4096)

/*
 * AJIO_EJSON: the input is not valid JSON (or JSONL). ajio_last_error() gives line, column and
 * reason; the validator API below gives them as numbers.
 */
#define AJIO_EJSON (-4097)

/*
 * AJIO_ETORN: JSONL input whose last line has no terminating '\n'. This is what a torn append
 * looks like, so it is reported apart from other invalid JSON. Also ajio_append() with
 * AJIO_NO_REPAIR, on a file whose last line is torn (see "Appending").
 */
#define AJIO_ETORN (-4098)

/*
 * Stack. A call of this library takes at most AJIO_STACK_MAX bytes of the caller's stack
 * (measured by tests/test_stack.c on its deepest paths), so writes are safe in threads with
 * small stacks; paths, handles and buffers of PATH_MAX live on the heap. (since 0.2)
 */
#define AJIO_STACK_MAX (16 * 1024)

/*
 * Returns a static description of any result above: 0, AJIO_UNCHANGED, AJIO_REPAIRED, an
 * AJIO_E* code or a negative errno. Never NULL.
 */
AJIO_API const char *ajio_strerror(int err);

/*
 * Returns the symbolic name of any result above ("OK", "AJIO_UNCHANGED", "AJIO_REPAIRED",
 * "AJIO_ENOTDURABLE", "ENOSPC", ...). Never NULL.
 */
AJIO_API const char *ajio_err_name(int err);

/*
 * Returns the message of the last failing ajio call in this thread ("" if none failed yet). The
 * string stays valid until the next ajio call in the same thread.
 */
AJIO_API const char *ajio_last_error(void);

/*
 * Sets the calling thread's ajio_last_error() message (printf format; NULL fmt: the text of err)
 * and returns err. For code built on this API, such as the adapters in <ajio/jansson.h>, so that
 * their refusals read like the library's own.
 */
AJIO_API int ajio_set_last_error(int err, const char *fmt, ...) AJIO_PRINTF(2, 3);

/* Returns AJIO_VERSION_STRING of the library actually linked. */
AJIO_API const char *ajio_version(void);

/* ---------------------------------------------------------------------------------------------
 * Options
 * --------------------------------------------------------------------------------------------- */

enum ajio_flags {
    /*
     * Atomic only: skip every fsync/fdatasync. Readers and process crashes still see old or new,
     * never partial; after a power cut the file may be old, new, or (on some filesystems) empty.
     */
    AJIO_NO_SYNC = 1u << 0,
    /* Do not create missing parent directories: fail with -ENOENT. */
    AJIO_NO_MKDIR = 1u << 1,
    /* If the target is a symlink, replace the link itself with a regular file. */
    AJIO_REPLACE_LINK = 1u << 2,
    /* If the target is a symlink, fail with -ELOOP. */
    AJIO_NO_FOLLOW = 1u << 3,
    /*
     * Fail with -EEXIST if the target exists. Atomic: decided by link(2)/RENAME_NOREPLACE. A
     * symlink at the target, dangling or not, exists: it is never followed to create a file,
     * as open(O_CREAT|O_EXCL) never follows one.
     */
    AJIO_CREATE_ONLY = 1u << 4,
    /*
     * If the target already holds exactly the new bytes, touch nothing, return AJIO_UNCHANGED.
     * Decided at commit time against the file the name holds then: if another writer replaced
     * or modified the file after ajio_file_open(), the new content is written.
     */
    AJIO_SKIP_UNCHANGED = 1u << 5,
    /* Give the file exactly ajio_opts.mode (07777 bits), whatever the umask or the old file. */
    AJIO_MODE = 1u << 6,
    /*
     * Never use O_TMPFILE; always a named temp (used by tests; also a workaround knob). Not in
     * an append-only directory, where a named temp could never be removed (-EPERM).
     */
    AJIO_NO_TMPFILE = 1u << 7,
    /*
     * The content must be one JSON value (strict RFC 8259, see the validator below). Every byte
     * written goes through the streaming validator as it is written; the commit finishes it and
     * ensures a trailing '\n'. Invalid content fails the write with AJIO_EJSON and the message
     * "PATH:LINE:COL: reason"; the temp is discarded and the target untouched. A one-shot write
     * validates before it touches the filesystem, so invalid input creates nothing.
     */
    AJIO_JSON = 1u << 8, /* (since 0.2) */
    /*
     * The content must be JSON Lines: one JSON value per line. As AJIO_JSON; a last line without
     * its '\n' that is a complete value gets one, an incomplete last line is AJIO_EJSON. An empty
     * content is a valid, empty JSONL file.
     */
    AJIO_JSONL = 1u << 9, /* (since 0.2) */
    /*
     * Hold the target's lock (see "Locked read-modify-write") from ajio_file_open() (or the start
     * of a one-shot write) until the commit or abort has finished, waiting as long as it is held:
     * such a write never lands between an ajio_update()'s read and its commit. Writes without
     * it are not serialised and can still be lost by an updater. (since 0.2)
     */
    AJIO_LOCK = 1u << 10,
    /*
     * ajio_append() only: a target whose last line has no '\n' (a torn append) is refused with
     * AJIO_ETORN and left as it is, instead of being repaired first. Other writes ignore it.
     * (since 0.2)
     */
    AJIO_NO_REPAIR = 1u << 11,
    /*
     * Bound every wait for the target's lock (appends, the log handle, repairs, AJIO_LOCK
     * writes) by ajio_opts.lock_timeout_ms: 0 tries once and fails with -EWOULDBLOCK, more waits
     * at most that many milliseconds and fails with -ETIMEDOUT. Nothing is written then. Without
     * it a lock is waited for as long as it is held. ajio_update() has its own timeout_ms and
     * ignores this. (since 0.3)
     */
    AJIO_LOCK_TIMEOUT = 1u << 12,
    /*
     * A wait for a lock that a signal interrupts fails with -EINTR, nothing written, instead of
     * going on waiting: for callers whose signal handlers must run before the wait ends (a
     * language runtime's Ctrl-C). Without it, waits resume after a signal. (since 0.3)
     */
    AJIO_INTERRUPTIBLE = 1u << 13,
};

/*
 * Options for every write. A zero-initialised struct (or a NULL pointer) gives the safe defaults:
 * durable; parent directories created (0777 minus umask, each made durable); an existing target
 * keeps its mode and, where the process may set them, its owner and group; a new file gets 0666
 * minus the umask, as creat(2) would; a symlink at the target is followed and the file it points
 * to is replaced (the link survives).
 */
typedef struct ajio_opts {
    unsigned flags; /* bitwise or of enum ajio_flags */
    unsigned mode;  /* with AJIO_MODE: the exact permission bits */
    int lock_timeout_ms; /* with AJIO_LOCK_TIMEOUT: the longest wait for a lock (since 0.3) */
    int reserved_int;    /* keep zero */
    /* Reserved for future options; keep zero. */
    uintptr_t reserved[5];
} ajio_opts;

/* ---------------------------------------------------------------------------------------------
 * Replacing a file: one-shot writes
 * --------------------------------------------------------------------------------------------- */

/*
 * Atomically replaces (or creates) the file at path with exactly len bytes from data.
 *
 * @return 0 on success; AJIO_UNCHANGED with AJIO_SKIP_UNCHANGED when nothing had to change;
 *   AJIO_ENOTDURABLE when only the final directory sync failed; otherwise a negative errno and the
 *   target is untouched and no temp file remains. Some possible errors:
 *   -EINVAL        path NULL or empty, data NULL with len > 0, unknown flag bits
 *   -EISDIR        the target is a directory, or path ends with '/'
 *   -ENOTDIR       a component of the path is not a directory
 *   -ENOENT        a parent directory is missing and AJIO_NO_MKDIR is set
 *   -EEXIST        AJIO_CREATE_ONLY and the target exists
 *   -ELOOP         AJIO_NO_FOLLOW and the target is a symlink, or too many symlinks
 *   -ENAMETOOLONG  a component longer than NAME_MAX, or the path longer than PATH_MAX
 *   -EACCES        a rule of sticky directories (protected_symlinks, protected_regular)
 *   -EPERM         the target exists in an append-only directory
 *   -EACCES, -EPERM, -EROFS      not allowed to create files in the directory
 *   -ENOSPC, -EDQUOT, -EIO, -EFBIG  from write(2), fdatasync(2), close(2)
 *   -ENOMEM        out of memory
 */
AJIO_API int ajio_write_bytes(const char *path, const void *data, size_t len,
                              const ajio_opts *opts);

/*
 * Like ajio_write_bytes() with the NUL-terminated text, plus a trailing '\n' when the text does
 * not already end with one (an empty text gives a file holding "\n").
 */
AJIO_API int ajio_write_text(const char *path, const char *text, const ajio_opts *opts);

/* ---------------------------------------------------------------------------------------------
 * Replacing a file: JSON and JSON Lines from text
 * --------------------------------------------------------------------------------------------- */

/*
 * Validates json (one JSON value) and atomically writes it with a trailing '\n' ensured: the same
 * as ajio_write_bytes() with AJIO_JSON added to opts. Invalid input is refused before anything
 * touches the filesystem.
 * @return as ajio_write_bytes(), plus AJIO_EJSON with "path:line:col: reason" in
 *   ajio_last_error(); the target is untouched on any failure.
 */
AJIO_API int ajio_write_json_text(const char *path, const char *json, size_t len,
                                  const ajio_opts *opts);

/*
 * Validates every line of jsonl (one JSON value per line; the last line may lack its '\n', which
 * is then added) and atomically writes it: ajio_write_bytes() with AJIO_JSONL. An empty input
 * gives an empty file.
 * @return as ajio_write_json_text().
 */
AJIO_API int ajio_write_jsonl_text(const char *path, const char *jsonl, size_t len,
                                   const ajio_opts *opts);

/* ---------------------------------------------------------------------------------------------
 * Replacing many files: the directory handle and the batch (since 0.2)
 * --------------------------------------------------------------------------------------------- */

typedef struct ajio_dir ajio_dir;

/*
 * Resolves and opens the directory at path once (creating it and its missing parents, each made
 * durable, unless AJIO_NO_MKDIR), for programs that write many files in one directory:
 * ajio_dir_write() then skips the path walk and the open, stat and close of the directory that
 * every path write pays. Symlinks on the way are followed under the rules of sticky
 * directories, as for a write. opts: only AJIO_NO_MKDIR and AJIO_NO_SYNC (new directories not
 * synced); the options of each write go to ajio_dir_write(). The handle holds one descriptor of
 * the directory: if the directory is renamed, writes follow it; if it is removed, they fail
 * (-ENOENT, or -EPERM where the kernel refuses O_TMPFILE in a removed directory).
 * @return 0 and *ret, or -EINVAL (ret NULL, another flag), -ENOMEM, -ENOTDIR, -ENOENT (with
 *   AJIO_NO_MKDIR), -EACCES and the other errors of ajio_write_bytes() about directories.
 */
AJIO_API int ajio_dir_open(ajio_dir **ret, const char *path, const ajio_opts *opts);

/*
 * ajio_write_bytes() of name (one path component: no '/', not "." or "..") in the directory of
 * d: the same sequence, options, promises and errors, with messages that name "DIR/name" (DIR as
 * given at the open, even if the directory has been renamed since). Everything goes through the
 * handle's descriptor, never the path given at the open, which may lead elsewhere once the
 * directory is renamed or the process changes its current directory: with AJIO_LOCK the lock
 * file is the one in the directory the handle holds (the one path writers of that file lock), and
 * a symlink at name that the options follow is followed from that directory (a relative link
 * resolves against it, an absolute one is a path of its own; the rules of sticky directories
 * apply, with the directory's mode and owner as learnt at the open; directories it leads to are
 * created unless AJIO_NO_MKDIR). Handles are not locked: several threads may write through one
 * handle at once.
 * @return as ajio_write_bytes(); -EINVAL also for a NULL d or an empty name or one with '/'.
 */
AJIO_API int ajio_dir_write(ajio_dir *d, const char *name, const void *data, size_t len,
                            const ajio_opts *opts);

/* Closes the directory and frees the handle. NULL is fine. */
AJIO_API void ajio_dir_close(ajio_dir *d);

typedef struct ajio_batch ajio_batch;

/* ajio_batch_new(), ajio_txn_begin(): an fdatasync of each file instead of one syncfs(2) of
 * their filesystem, for a filesystem where other programs keep much unwritten data (see
 * ajio_batch_new()). (since 0.3) */
#define AJIO_SYNC_EACH (1u << 25)

/*
 * A batch replaces many files with their syncs amortised: add (path, bytes) pairs, then commit
 * once. Every file is replaced atomically, exactly as by ajio_write_bytes() with the batch's
 * opts (promises 1, 3 and 5 per file), and when the commit returns 0 every file is durable
 * (promise 2). It costs one sync per round of up to 128 files and one fsync per directory,
 * instead of two syncs per file (docs/design.md shows the sequence).
 *
 * The round's sync: where two or more of its files are on one local filesystem, one syncfs(2)
 * of that filesystem makes them all durable at once, with one journal commit and one cache
 * flush of the disk (where a flush takes 2 ms, a batch of 500 was 12x faster per file than
 * one-shot writes, 46x at 8 ms: bench/README.md, "Syncs at the cost of real disks"). The
 * trade-off is the one of ajio_publish(): syncfs writes back the whole filesystem, so the
 * commit also waits for what other programs left dirty there, and it fails on a writeback error
 * of any file there; the library then asks each of its files with an fdatasync of its own, so
 * only a file of the batch whose own data failed fails. Elsewhere each file gets an fdatasync
 * of its own, issued one after another from the caller's thread (on a disk with a volatile
 * write cache each of those costs a cache flush): a file alone on its filesystem in its round,
 * a shared filesystem, Linux < 5.17 (whose syncfs reports writeback errors only from 5.8, and
 * the filesystem's own, such as a failed journal commit, only from 5.17), and AJIO_SYNC_EACH.
 *
 * The commit holds a bounded number of descriptors, sized from what RLIMIT_NOFILE's soft limit
 * leaves free when it starts (with a margin for the caller's other threads): rounds are smaller
 * under a low limit, and a batch across more directories than can stay open until the end syncs
 * some of them early (a directory that then gets more files is synced again). Any number of files
 * in any number of directories fits, as one-shot writes do.
 *
 * A batch is not all-or-nothing across files: a file that fails (a full disk, a directory that
 * cannot be created, its rename refused) is left untouched with no temp behind, and the others
 * go on. Until the commit returns, files already renamed may be seen by readers and may not yet
 * survive a power cut. ajio_batch_result() tells what happened to each file.
 *
 * opts: every flag of a write except AJIO_LOCK (a batch would hold many locks at once, and two
 * batches taking them in different orders would wait for each other for ever) and
 * AJIO_NO_REPAIR, and AJIO_SYNC_EACH; NULL is the defaults. Not for use by several threads
 * at once.
 * @return 0 and *ret, or -EINVAL (ret NULL, a flag not for batches), -ENOMEM.
 */
AJIO_API int ajio_batch_new(ajio_batch **ret, const ajio_opts *opts);

/*
 * Adds a file: path and the len bytes of data are copied, so both may be reused at once. With
 * AJIO_JSON or AJIO_JSONL the data is validated here (a missing final '\n' is added at the
 * commit).
 *
 * The same target added twice or more is written that many times, in the order added, exactly
 * as that many ajio_write_bytes() calls would: the last one wins, and each reports what it did.
 * "The same target" is the same name in the same directory once resolved at the commit, however
 * the paths spell it ("a/f", "a/./f", "a//f", a symlink to a, a symlink at the name that the
 * options follow), not the same string. So with AJIO_SKIP_UNCHANGED, a target holding "A" and
 * "B" then "A" added, the first reports 0 (B was written) and the second 0 (A written over B),
 * and the file holds A; with AJIO_CREATE_ONLY the first creates the file and the second fails
 * with -EEXIST. Each repeat costs the commit one more round (one more data-sync wait): the
 * repeat is resolved and compared only once the earlier write is in place. Two hard links of one
 * file are two targets, as for one-shot writes.
 * @return 0, or -EINVAL (b NULL, path NULL or empty, data NULL with len > 0, the batch already
 *   committed), -ENAMETOOLONG, AJIO_EJSON (invalid content, "PATH:LINE:COL: reason": not
 *   added), -ENOMEM.
 */
AJIO_API int ajio_batch_add(ajio_batch *b, const char *path, const void *data, size_t len);

/*
 * Writes every file added, as described above. Only once per batch.
 * @return 0 when every file was replaced (or, with AJIO_SKIP_UNCHANGED, left as it was) and is
 *   durable; else the result of the first file that was not (a negative errno, or
 *   AJIO_ENOTDURABLE when it was replaced but its directory sync or the temp's close failed),
 *   with the message "batch of N files: K not written durably; first: <its message>";
 *   -EINVAL for a NULL or already committed batch.
 */
AJIO_API int ajio_batch_commit(ajio_batch *b);

/* The number of files added. */
AJIO_API size_t ajio_batch_count(const ajio_batch *b);

/*
 * What the commit did with file i (0-based, in the order added): its path, its message (""
 * when it succeeded), both valid until ajio_batch_free(); either pointer may be NULL.
 * @return 0 (replaced, durable), AJIO_UNCHANGED, AJIO_ENOTDURABLE, or its negative error, the
 *   file untouched; -EINVAL when b is NULL, i out of range or the batch not yet committed.
 */
AJIO_API int ajio_batch_result(const ajio_batch *b, size_t i, const char **ret_path,
                               const char **ret_message);

/* Frees the batch, committed or not (an uncommitted batch writes nothing). NULL is fine. */
AJIO_API void ajio_batch_free(ajio_batch *b);

/* ---------------------------------------------------------------------------------------------
 * Replacing many files all or nothing: transactions (since 0.3)
 * --------------------------------------------------------------------------------------------- */

typedef struct ajio_txn ajio_txn;

/*
 * A transaction replaces and removes files below one directory DIR all or nothing, across a
 * crash or a power cut: after ajio_txn_commit() returns 0 every member is new (or gone) and
 * durable; after a failure before the commit point, or a crash at any moment followed by
 * ajio_recover() or by the next commit of a transaction in DIR, either every member is new or
 * every member is old, never a mix.
 *
 * The commit, holding DIR's lock file ".ajio-txn.ajio-lock" (an flock(2), as ajio_update()
 * takes a target's lock) for its whole run:
 *
 *     recover                 what a commit that died left in DIR, as ajio_recover() does
 *     flock(member locks)     each member's ".NAME.ajio-lock", in the order of the paths
 *     plan                    ".ajio-txn-intent.new" in DIR, naming every temp: fdatasync,
 *                             fsync(DIR)
 *     temps                   ".ajio-txn-<16 hex>.tmp" beside each member: bytes, ACL and
 *                             xattrs, owner, mode; fdatasync; fsync of each directory that
 *                             got one
 *     intent                  the plan renamed to ".ajio-txn-intent", fsync(DIR)
 *                                                     (the commit point)
 *     renameat / unlinkat     every temp over its member, every removal
 *     fsync                   every directory touched, then DIR
 *     unlink intent           then fsync(DIR)
 *
 * The intent is versioned and checksummed; it lists each temp and its member, and each member
 * removed. Members are paths relative to DIR ("a.json", "sub/dir/b.json"): their directories are
 * created (each made durable) unless AJIO_NO_MKDIR; absolute paths, empty, "." and ".."
 * components, and names starting with ".ajio-txn" are refused; symlinks are never followed, in
 * the directories or at the member (-ENOTDIR, -ELOOP), so that a recovery reaches the same files,
 * always inside DIR. Every member must be on DIR's filesystem (-EXDEV, found before anything is
 * renamed). A replaced member keeps its mode, its access ACL and extended attributes (as
 * ajio_write_bytes() keeps them: user.*, and trusted.* and security.selinux where the process may
 * set them; never security.capability) and, where the process may set them, its owner and group;
 * a new one gets 0666 minus the umask and its directory's default ACL; with AJIO_MODE, exactly
 * opts.mode and no ACL. Each temp is made beside its member, in the member's own
 * directory, so that while a commit runs (and after a crash, until recovery) a member's new bytes
 * are readable by nobody who could not read the member: "private/m" behind a 0700 "private"
 * keeps its new bytes there too, whatever m's own mode (promise 5, as for a single-file write).
 * A recovery finds the temps through the plan, which is durable before the first temp is made
 * and names each one; it removes exactly those, never a file for its name's shape.
 *
 * Concurrency: two transactions in one directory take turns (DIR's lock); a transaction also
 * holds each member's lock from before its temps are made until after the directory syncs, so
 * AJIO_LOCK writes and ajio_update() of a member land before or after it, never between its read
 * and its commit. Readers of single files see each file old or new, but while a commit runs (or
 * a crash waits for recovery) they may see some members new and others old: a reader that needs
 * the whole set consistent reads a published snapshot instead. A transaction holds one
 * descriptor per member (its lock) and one per directory during the commit.
 *
 * opts: AJIO_NO_SYNC (atomic across process crashes only: no sync at all), AJIO_NO_MKDIR,
 * AJIO_MODE, AJIO_JSON or AJIO_JSONL (each member validated when added), AJIO_LOCK_TIMEOUT and
 * AJIO_INTERRUPTIBLE (the waits for DIR's lock and the members' locks); any other flag is
 * -EINVAL. DIR is opened now (created unless AJIO_NO_MKDIR) and must be readable; nothing is
 * locked until the commit. Not for use by several threads at once.
 * @return 0 and *ret, or -EINVAL, -ENOMEM, and the errors of ajio_dir_open().
 */
AJIO_API int ajio_txn_begin(ajio_txn **ret, const char *dir, const ajio_opts *opts);

/*
 * Adds a member to write with the len bytes of data (both copied). With AJIO_JSON or AJIO_JSONL
 * the bytes are validated now, and a missing final '\n' is added at the commit.
 * @return 0, or -EINVAL (t NULL, a path as refused above, data NULL with len > 0, already
 *   committed), -ENAMETOOLONG, -EEXIST (relpath is in the transaction already: one outcome per
 *   member), AJIO_EJSON ("PATH:LINE:COL: reason"), -ENOMEM. A member refused (for any of
 *   these but a NULL t) makes the commit fail with the same error, nothing changed: the set is
 *   changed as a whole or not at all.
 */
AJIO_API int ajio_txn_write(ajio_txn *t, const char *relpath, const void *data, size_t len);

/*
 * Adds a member to remove. A member that does not exist at the commit is fine (as rm -f); a
 * directory is not removed: the commit fails with -EISDIR before anything changes (one made at
 * the name later by a program that does not take the member's lock, after the commit point, is
 * left as it is).
 * @return as ajio_txn_write().
 */
AJIO_API int ajio_txn_remove(ajio_txn *t, const char *relpath);

/* The number of members added. */
AJIO_API size_t ajio_txn_count(const ajio_txn *t);

/*
 * Commits the transaction as described above. Only once.
 * @return 0: every member replaced or removed, durable. A negative errno before the commit
 *   point: no member changed, no temp left (a member refused when added: its error); the
 *   directories made for members and the members' lock files stay, as after a single-file
 *   write with AJIO_LOCK that fails. A negative
 *   errno after it (a rename refused, a failed directory sync): the intent stays and records
 *   the set; ajio_recover() or the next commit in DIR completes it, so the set is never left
 *   mixed once the cause is gone; the message says which step failed. Some
 *   possible errors: -EINVAL (NULL, committed already), -EWOULDBLOCK, -ETIMEDOUT, -EINTR (the
 *   locks, with AJIO_LOCK_TIMEOUT or AJIO_INTERRUPTIBLE), -EISDIR (a member is a directory),
 *   -ELOOP (a member is a symlink), -ENOTDIR, -EXDEV, -EBADMSG and -EPROTONOSUPPORT (an intent
 *   left in DIR cannot be recovered, see ajio_recover(): nothing is done), -ENOSPC, -EIO, ...
 */
AJIO_API int ajio_txn_commit(ajio_txn *t);

/* Frees the transaction, committed or not (an uncommitted one writes nothing). NULL is fine. */
AJIO_API void ajio_txn_free(ajio_txn *t);

/*
 * Makes the set of DIR whole after a commit died (a crash, a kill, a failed rename), holding
 * DIR's lock: with an intent, every temp it names that is still there is renamed over its
 * member (a temp that is gone was renamed), every removal it names is done again, the
 * directories are synced and the intent removed; without one, a commit that died before its
 * commit point is undone: every temp its plan names is removed from its member's directory,
 * then the plan (a plan cut short had no temps yet; one whose checksum fails gives up the temps
 * of its whole records before the damage, and goes). Each step can be
 * repeated, so a recovery that dies is completed by the next. Every commit does this first, so
 * calling it is needed only to repair DIR before reading it. An intent that is corrupt
 * (-EBADMSG) or of another version of the intent format (-EPROTONOSUPPORT; a plan of another
 * version too) is left as it is and nothing is touched. DIR is never created. opts: as
 * ajio_txn_begin() (AJIO_NO_SYNC, AJIO_LOCK_TIMEOUT, AJIO_INTERRUPTIBLE apply).
 * @return 0 (nothing to do), AJIO_REPAIRED (a commit was completed or undone), or a negative
 *   errno: -EINVAL, -ENOENT, -ENOTDIR, -EACCES, -EBADMSG, -EPROTONOSUPPORT, the lock's errors,
 *   the errors of renameat(2), unlinkat(2), fsync(2).
 */
AJIO_API int ajio_recover(const char *dir, const ajio_opts *opts);

/* ---------------------------------------------------------------------------------------------
 * Replacing a file: the streaming handle
 * --------------------------------------------------------------------------------------------- */

typedef struct ajio_file ajio_file;

/*
 * Starts an atomic replacement of path: resolves the directory (creating it unless AJIO_NO_MKDIR),
 * applies the symlink policy and creates the temp file. Nothing is visible at path until
 * ajio_file_commit(). On success *ret_file is a handle to pass to exactly one of
 * ajio_file_commit() or ajio_file_abort(); on failure *ret_file is unchanged. Errors as
 * ajio_write_bytes(). (since 0.3; 0.2 called it ajio_open())
 */
AJIO_API int ajio_file_open(ajio_file **ret_file, const char *path, const ajio_opts *opts);

/*
 * Appends len bytes to the temp file through a 64 KiB buffer (larger writes go straight through).
 * Memory use is bounded whatever the total size. With AJIO_JSON or AJIO_JSONL the bytes are
 * validated as they come (constant memory besides a 1 KiB nesting stack), and the write that
 * carries the first invalid byte fails. After a failure the handle stays failed: every later
 * ajio_file_write/ajio_file_printf returns the same error and ajio_file_commit() returns it too
 * and discards the temp. (since 0.3; 0.2 called it ajio_write())
 * @return 0, or -EINVAL (f NULL, or buf NULL with len > 0), AJIO_EJSON, -ENOSPC, -EDQUOT, -EIO,
 *   -EFBIG, ...
 */
AJIO_API int ajio_file_write(ajio_file *f, const void *buf, size_t len);

/*
 * Appends everything fd has from its current offset to its end (EOF) to the temp file, after the
 * bytes written so far; the offset of fd moves as read(2) would move it, and fd stays open. The
 * bytes are moved by the kernel where it can: from a regular file with copy_file_range(2), which
 * shares the blocks on a filesystem that can (XFS, Btrfs: a reflink, the copy then costs no data
 * I/O), from a pipe with splice(2). Where the kernel refuses (EINVAL, EXDEV, ENOSYS, EOPNOTSUPP:
 * across filesystems, a filesystem without splice, a file of /proc or /sys that reports size 0),
 * and for any other kind of fd (a terminal, a socket, a character device), it reads and writes in
 * 1 MiB pieces. With AJIO_JSON or AJIO_JSONL, or AJIO_SKIP_UNCHANGED, the bytes must pass through
 * memory: 1 MiB reads, each validated (or compared) and then written, so the cost is the
 * validator's and not the system calls'. fd may be open on the target itself: it reads the old
 * content, which stays in place until the commit. A failure, on either side, fails the handle as
 * ajio_file_write() does: an unknown part of fd has been consumed. If ret_len is not NULL it gets
 * the number of bytes appended by this call, on failure too. An fd that is O_NONBLOCK and has no
 * data yet is -EAGAIN, as read(2) says. (since 0.4)
 * @return 0, or -EINVAL (f NULL, fd negative, or a generator attached), -EBADF (fd not open for
 *   reading), -EISDIR, AJIO_EJSON, -EAGAIN, -EIO, -ENOSPC, -EDQUOT, -EFBIG, ...; the message names
 *   the step (copy_file_range, splice, read, write), fd and the target.
 */
AJIO_API int ajio_file_write_fd(ajio_file *f, int fd, uint64_t *ret_len);

/*
 * printf(3) into the handle. @return 0 or a negative errno, as ajio_file_write(). (since 0.3;
 * 0.2 called them ajio_printf() and ajio_vprintf())
 */
AJIO_API int ajio_file_printf(ajio_file *f, const char *fmt, ...) AJIO_PRINTF(2, 3);
AJIO_API int ajio_file_vprintf(ajio_file *f, const char *fmt, va_list ap) AJIO_PRINTF(2, 0);

/*
 * Finishes the validation (AJIO_JSON/AJIO_JSONL: the trailing '\n' is added when missing, an
 * incomplete document is AJIO_EJSON), then flushes, syncs and publishes the temp file over the
 * target, then syncs the directory. Always frees f, whatever the result: the handle must not be
 * used again (a second commit or an abort after commit is a use-after-free, as with fclose(3)).
 * ajio_file_commit(NULL) returns -EINVAL. (since 0.3; 0.2 called it ajio_commit())
 * @return as ajio_write_bytes(); on failure the target is untouched and the temp removed.
 */
AJIO_API int ajio_file_commit(ajio_file *f);

/*
 * Discards the temp file and frees f; the target is untouched. ajio_file_abort(NULL) does
 * nothing. (since 0.3; 0.2 called it ajio_abort())
 */
AJIO_API void ajio_file_abort(ajio_file *f);

/* The resolved target path of a handle (after following symlinks), for messages. */
AJIO_API const char *ajio_file_path(const ajio_file *f);

/* ---------------------------------------------------------------------------------------------
 * The streaming handle: a JSON generator (since 0.2)
 * --------------------------------------------------------------------------------------------- */

/*
 * A streaming JSON writer: a program calls ajio_gen_begin_object(), ajio_gen_key(),
 * ajio_gen_string(), ... in document order, and the text goes straight into the 64 KiB buffer of
 * an ajio_file_open() handle, then to the temp file: the document is never held whole in memory,
 * and nothing is visible at the target before ajio_file_commit().
 *
 *     ajio_file *f;
 *     ajio_gen *g;
 *     ajio_gen_opts go = {.flags = AJIO_GEN_PRETTY, .indent = 2};
 *
 *     if (ajio_file_open(&f, "state.json", NULL) < 0)
 *         return -1;
 *     if (ajio_gen_new(&g, f, &go) < 0) {
 *         ajio_file_abort(f);
 *         return -1;
 *     }
 *     ajio_gen_begin_object(g);
 *     ajio_gen_key(g, "port", 4);
 *     ajio_gen_int64(g, 8080);
 *     ajio_gen_end_object(g);
 *     return ajio_file_commit(f);
 *
 * The calls' results need no checking one by one: the commit returns the first error of any of
 * them, or its own.
 *
 * Whatever it is given, the output is valid JSON (RFC 8259; JSON Lines with AJIO_JSONL):
 * strings and keys are checked as strict UTF-8 (no overlong forms, no surrogates, nothing above
 * U+10FFFF) and escaped, NaN and infinities are refused, raw text is validated, and a call out of
 * order is refused. Every failure names the file and where in the document it happened, as a
 * jq-like path:
 *
 *     JSON generation for "/srv/state.json": NaN cannot be written as JSON (at .items[3].price)
 *
 * The generator belongs to its handle: ajio_file_commit() or ajio_file_abort() frees it, and it
 * must not be used afterwards. Errors are sticky: after the first failure every generator call
 * returns it again (with the same message), and so does ajio_file_commit(), which then discards
 * the temp and leaves the target untouched. ajio_file_commit() also refuses an incomplete document
 * (a container still open, a key without its value, no value at all outside AJIO_JSONL) with
 * -EINVAL, target untouched.
 * While a generator is attached, ajio_file_write() and ajio_file_printf() on its handle are
 * refused with -EINVAL: ajio_gen_raw() is the way to put text of one's own in the document.
 *
 * Every function returns 0 or a negative error (-EINVAL for a NULL generator), and every failure
 * sets ajio_last_error(). The errors:
 *   AJIO_EJSON     the value cannot be written as JSON: a string or key that is not UTF-8, a NaN
 *                  or infinity, raw or number text that is not what it claims to be
 *   -EINVAL        a call out of order: a value where a key is due, a key outside an object,
 *                  ajio_gen_end_array() closing an object (or anything closing nothing), nesting
 *                  deeper than max_depth, a second top-level value without AJIO_JSONL
 *   -ENOMEM, and the errors of ajio_file_write() (-ENOSPC, -EIO, ...) as the buffer is written out
 */
typedef struct ajio_gen ajio_gen;

enum ajio_gen_flags {
    /*
     * One member per line: "\n" and opts.indent spaces per level before each member and before
     * the closing bracket of a non-empty container; empty ones stay "[]" and "{}". As Python's
     * json.dumps(indent=N) and jansson's JSON_INDENT(N). Without it the document is one line.
     */
    AJIO_GEN_PRETTY = 1u << 0,
    /* Default separators "," and ":", not ", " and ": " (one line) or "," and ": " (pretty). */
    AJIO_GEN_COMPACT = 1u << 1,
    /*
     * Deprecated since 0.3: AJIO_JSONL (of enum ajio_flags, a different bit; both still work).
     * JSON Lines: any number of top-level values, each on its own line and followed by '\n'.
     * The default separators are then "," and ":"; separators holding '\n' and AJIO_GEN_PRETTY
     * are refused. No value at all is a valid, empty JSONL file.
     */
    AJIO_GEN_LINES = 1u << 2,
    /*
     * Every code point above U+007F as \uXXXX, above U+FFFF as a surrogate pair ("\uD83D\uDE00"),
     * so that the output is pure ASCII: Python's json.dumps default and jansson's
     * JSON_ENSURE_ASCII.
     */
    AJIO_GEN_ENSURE_ASCII = 1u << 3,
    /* '/' as "\/" (jansson's JSON_ESCAPE_SLASH), so that "</script>" cannot end an HTML script. */
    AJIO_GEN_ESCAPE_SLASH = 1u << 4,
    /* \u escapes in lower-case hex ("\u001f", "\ud83d"), as Python, cJSON and json-c write them. */
    AJIO_GEN_LOWER_HEX = 1u << 5,
    /* U+007F (DEL) as "\u007F", as Python's json.dumps does with ensure_ascii. */
    AJIO_GEN_ESCAPE_DEL = 1u << 6,
    /* No '\n' after the document (Python's json.dump writes none). Not with AJIO_JSONL. */
    AJIO_GEN_NO_NEWLINE = 1u << 7,
};

/* The string escapes of Python's json.dumps() with its default ensure_ascii=True. */
#define AJIO_GEN_PYTHON_ESCAPES (AJIO_GEN_ENSURE_ASCII | AJIO_GEN_LOWER_HEX | AJIO_GEN_ESCAPE_DEL)

/* Largest opts.indent, and longest separator. */
#define AJIO_GEN_MAX_INDENT 255
#define AJIO_GEN_MAX_SEP 16
/* Largest opts.double_precision (jansson's JSON_REAL_PRECISION() takes up to 31 too). */
#define AJIO_GEN_MAX_PRECISION 31
/* Default maximum nesting depth, as the validator's: 1024 levels pass, 1025 do not. */
#define AJIO_GEN_DEFAULT_MAX_DEPTH AJIO_JSON_DEFAULT_MAX_DEPTH

/*
 * Layout and number format. A zero-initialised struct (or NULL) gives one line with ", " and
 * ": " between items, UTF-8 as is, doubles in their shortest form and '\n' after the document:
 * Python's json.dumps(v, ensure_ascii=False) and a newline, but for the \u00XX escapes of control
 * characters, whose hex digits are upper-case as jansson writes them. Exactly, byte for byte
 * (tests/cases/gen/ for Python's, tests/test_adapter_jansson.c for jansson's):
 *
 *   json.dumps(v)                      .flags = AJIO_GEN_PYTHON_ESCAPES | AJIO_GEN_NO_NEWLINE
 *   json.dumps(v, indent=2)            as above | AJIO_GEN_PRETTY, .indent = 2
 *   json.dumps(v, ensure_ascii=False)  .flags = AJIO_GEN_LOWER_HEX | AJIO_GEN_NO_NEWLINE
 *   separators=(",", ":")              add AJIO_GEN_COMPACT
 *   separators=(" ,", " : ")           .item_sep = " ,", .key_sep = " : "
 *   json_dumpb(v, JSON_INDENT(4))      .flags = AJIO_GEN_PRETTY, .indent = 4,
 *                                      .double_precision = 17
 *   json_dumpb(v, JSON_COMPACT)        .flags = AJIO_GEN_COMPACT, .double_precision = 17
 *   JSON Lines, compact values         .flags = AJIO_JSONL
 *
 * (Python's NaN, which is not JSON, is refused here; its integers beyond 64 bits go through
 * ajio_gen_number().)
 */
typedef struct ajio_gen_opts {
    unsigned flags;        /* bitwise or of enum ajio_gen_flags */
    /* With AJIO_GEN_PRETTY: spaces per level, 0 .. AJIO_GEN_MAX_INDENT (0: newlines only, as
     * Python's indent=0). Without it: must be 0. */
    int indent;
    /* Between items, and between a key and its value: NULL for the defaults above, or a ','
     * (':') with JSON whitespace (space, tab, CR, LF) around it, at most AJIO_GEN_MAX_SEP bytes.
     * With AJIO_GEN_PRETTY the line break follows item_sep. */
    const char *item_sep;
    const char *key_sep;
    /*
     * 0: the shortest text that reads back as the same double, laid out as Python's repr():
     * "0.1", "1.0", "100.0", "1e+16", "1.5e-07", "-0.0", "1.2345678901234568e+17" (e-form when
     * the exponent is below -4 or 16 and above). 1 .. AJIO_GEN_MAX_PRECISION: that many
     * significant digits, as jansson prints reals with JSON_REAL_PRECISION(n) (17 is its
     * default): printf's "%.<n>g", then ".0" added when there is neither '.' nor 'e', the
     * exponent without '+' or leading zeros ("1e300", "2.4999999999999999e-7"). Either way the
     * decimal point is '.', whatever the locale.
     */
    int double_precision;
    /* Deepest nesting of arrays and objects: 0 means AJIO_GEN_DEFAULT_MAX_DEPTH. Memory grows
     * with the depth actually reached (about 64 bytes per level), not with this limit. */
    unsigned max_depth;
    /* Reserved for future options; keep zero. */
    uintptr_t reserved[4];
} ajio_gen_opts;

/*
 * Attaches a generator to f, a handle from ajio_file_open(), which gets everything it writes. opts
 * NULL means all defaults. A handle has at most one generator; it may already hold bytes (a
 * JSON Lines file started with ajio_file_write(), say), which stay in front.
 * The text is formatted straight into the handle's 64 KiB buffer; if f was opened with
 * AJIO_SKIP_UNCHANGED, AJIO_JSON or AJIO_JSONL it goes through the handle's write path in 64 KiB
 * chunks instead, compared or validated once more as those flags ask.
 * @return 0, -EINVAL (ret or f NULL, f already has a generator, unknown flags, reserved fields
 *   not zero, indent without AJIO_GEN_PRETTY or out of range, AJIO_JSONL with
 *   AJIO_GEN_PRETTY or AJIO_GEN_NO_NEWLINE, a separator that is not ',' or ':' with whitespace,
 *   double_precision out of range), -ENOMEM, or the handle's own error if it has failed
 *   already. On failure *ret is unchanged and f is as it was.
 */
AJIO_API int ajio_gen_new(ajio_gen **ret, ajio_file *f, const ajio_gen_opts *opts);

/*
 * ajio_file_open() and ajio_gen_new() in one call: a handle for path with a generator attached,
 * for code that only writes through the generator (the adapters in <ajio/...>). On success both
 * *ret_file and *ret_gen are set; ajio_file_commit(*ret_file) finishes the document. (since 0.2)
 * @return 0, or the error of either call (-EINVAL also for a NULL ret_file or ret_gen); nothing is
 *   left open and both outputs are unchanged.
 */
AJIO_API int ajio_gen_open(ajio_file **ret_file, ajio_gen **ret_gen, const char *path,
                           const ajio_opts *opts, const ajio_gen_opts *gen_opts);

/*
 * Where a sink generator's text goes: called with each full 64 KiB window and with the rest at
 * ajio_gen_finish(), in order. Returns 0, or a negative errno that fails the generator (sticky,
 * as any failure; a message the callback set with ajio_set_last_error() is kept).
 */
typedef int (*ajio_gen_sink_fn)(void *ctx, const void *buf, size_t len);

/*
 * A generator that is not attached to a file: its text goes to fn (a growing buffer, a socket,
 * a hash), for the same output in memory that a file would get, such as a language binding's
 * dumps(). The same calls and errors as a handle's generator, but messages say "JSON generation:"
 * instead of naming a file. Finish the document with ajio_gen_finish() and free it with
 * ajio_gen_free(). (since 0.2)
 * @return 0, -EINVAL (ret or fn NULL, opts as ajio_gen_new()), -ENOMEM; *ret unchanged on failure.
 */
AJIO_API int ajio_gen_new_sink(ajio_gen **ret, ajio_gen_sink_fn fn, void *ctx,
                               const ajio_gen_opts *opts);

/*
 * Sink generators: refuses an incomplete document as ajio_file_commit() does (-EINVAL), then hands
 * the last bytes to the sink. The generator stays usable only with AJIO_JSONL, for more
 * records. A generator attached to a handle is finished by ajio_file_commit(): -EINVAL here.
 * @return 0, or the generator's sticky error.
 */
AJIO_API int ajio_gen_finish(ajio_gen *g);

/* Frees a sink generator (NULL is fine). A handle's generator is left to its commit or abort. */
AJIO_API void ajio_gen_free(ajio_gen *g);

/* '{' and '}'. A closing bracket must match the innermost open container. */
AJIO_API int ajio_gen_begin_object(ajio_gen *g);
AJIO_API int ajio_gen_end_object(ajio_gen *g);

/* '[' and ']'. */
AJIO_API int ajio_gen_begin_array(ajio_gen *g);
AJIO_API int ajio_gen_end_array(ajio_gen *g);

/*
 * The next member's key, len bytes of UTF-8 (NUL is allowed and written as \u0000). Only where
 * an object expects a key; the next call must give its value. Keys are written as given: the
 * generator neither sorts them nor refuses duplicates.
 */
AJIO_API int ajio_gen_key(ajio_gen *g, const char *s, size_t len);

/*
 * A string of len bytes of UTF-8, s NULL only with len 0. Escaped as RFC 8259 requires ('"',
 * '\\', and the control characters: \b \f \n \r \t, the others as \u00XX), plus what the flags
 * ask; everything else is copied as is, runs of plain bytes in one piece.
 */
AJIO_API int ajio_gen_string(ajio_gen *g, const char *s, size_t len);

/*
 * ajio_gen_key() and ajio_gen_string() of a NUL-terminated string, for the common case of C
 * strings (a NUL inside a key or string needs the length form). A NULL key fails the generator
 * with -EINVAL (a key is always a string; "" is the empty key); a NULL string writes null, as a
 * missing optional value usually should. (since 0.3)
 */
AJIO_API int ajio_gen_key_str(ajio_gen *g, const char *s);
AJIO_API int ajio_gen_string_str(ajio_gen *g, const char *s);

/* Integers, in plain decimal. */
AJIO_API int ajio_gen_int64(ajio_gen *g, int64_t v);
AJIO_API int ajio_gen_uint64(ajio_gen *g, uint64_t v);

/* A double, formatted as opts.double_precision says. NaN and infinities: AJIO_EJSON. */
AJIO_API int ajio_gen_double(ajio_gen *g, double v);

/* true (v != 0) or false; null. */
AJIO_API int ajio_gen_bool(ajio_gen *g, int v);
AJIO_API int ajio_gen_null(ajio_gen *g);

/*
 * A number given as text, copied as is once it is checked against the JSON number grammar
 * (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?): for integers beyond 64 bits, decimals kept
 * as they were read, or a JSON library's own formatting. Anything else: AJIO_EJSON.
 */
AJIO_API int ajio_gen_number(ajio_gen *g, const char *text, size_t len);

/*
 * One complete JSON value given as text (whitespace around it allowed), copied as is once
 * ajio_json_validate() accepts it; its own nesting is checked against the validator's default
 * depth. The generator's layout is not applied inside it. Invalid text: AJIO_EJSON with the
 * validator's reason; with AJIO_JSONL a text holding '\n' is refused too (it would split the
 * line).
 */
AJIO_API int ajio_gen_raw(ajio_gen *g, const char *json, size_t len);

/*
 * Fails the document on behalf of the caller: err (a negative errno or AJIO_E* code; anything
 * else becomes -EINVAL) becomes the generator's sticky error, and the message reads like the
 * generator's own, "JSON generation for \"FILE\": <fmt> (at PATH)", so that a tree walker's
 * refusals (a reference cycle, a callback that failed) say where they happened too.
 * @return err (or -EINVAL), or the earlier error if the generator has already failed.
 */
AJIO_API int ajio_gen_fail(ajio_gen *g, int err, const char *fmt, ...) AJIO_PRINTF(3, 4);

/* Room for any text ajio_gen_format_double() writes, its NUL included. */
#define AJIO_GEN_DOUBLE_MAX 40

/*
 * Writes into buf the text ajio_gen_double() would write for v with the given precision (see
 * ajio_gen_opts.double_precision), NUL-terminated. For code that needs the digits without a
 * generator: a JSON library's own number format built on the shortest form, a key made of a
 * number. @return its length, or -EINVAL (buf NULL, size below AJIO_GEN_DOUBLE_MAX, v not
 * finite, precision out of range).
 */
AJIO_API int ajio_gen_format_double(char *buf, size_t size, double v, int precision);

/* ---------------------------------------------------------------------------------------------
 * Appending (since 0.2)
 * --------------------------------------------------------------------------------------------- */

/*
 * Appends len bytes - one or more complete records, each ending with '\n' - to the end of the
 * file at path, creating the file (0666 minus the umask, as creat(2)) and, unless AJIO_NO_MKDIR,
 * its missing parents. For logs and JSON Lines files, which grow in place instead of being
 * replaced; readers may see a record while it is being written, but never a record of another
 * appender inside it, and after success it is whole and on its own line.
 *
 * Appenders take turns on the target's lock (the lock file ".NAME.ajio-lock" of "Locked
 * read-modify-write", as AJIO_LOCK takes it, waiting as long as it is held); writers that append
 * without this function (or AJIO_LOCK) are not serialised with them. When several appenders of
 * one file append durably at once, their syncs are shared (group commit, docs/design.md); the
 * promise is unchanged: when a durable append returns, its records and every record before them
 * are on disk. A failed sync cuts the records back only when nothing was appended after them
 * meanwhile; else the message says so and the records stay, not known to be durable.
 *
 * Torn-tail repair. Appending after a fragment would glue the next record to it and spoil both,
 * so before every append the end of the file is repaired, and what may be done with its bytes
 * depends on who wrote them, which the lock file records (since 0.3): the size after the last
 * append that finished, and the start of an append under way. The record is exact when it was
 * written in this boot on this mount of the filesystem (nothing can have been lost since);
 * after a power cut or a remount it may be older than the file.
 *   - An append of this library that did not finish (killed, or its process crashed; the exact
 *     record says it was under way): everything from where it started is cut, complete lines
 *     included. None of it was acknowledged.
 *   - Bytes after the last '\n' with a record of this file that is not exact (a power cut): no
 *     durable append ever returned before its '\n' was on disk, so they were never
 *     acknowledged. With AJIO_JSONL a tail that is one complete object, array or string (its
 *     end is certain) lost only its '\n' (zeros after it are that '\n', lost) and gets one;
 *     anything else is cut, a bare number or literal too ("123" may be all that survived of
 *     "12345").
 *   - Bytes after the last '\n' that another program wrote (the exact record says the appends
 *     of this library ended before them, or there is no record of this file, or the file was
 *     cut or rewritten in place since): never deleted. In text mode they get the '\n' they
 *     lack, as ">>" would have left them followed by the record; with AJIO_JSONL a complete
 *     object, array or string is terminated, and anything else refuses the append with
 *     AJIO_ETORN, the file unchanged (ajio_repair(), asked to repair, cuts it).
 * Zero bytes at the very end of the file are what a power cut leaves of bytes that never reached
 * the disk: they are dropped before the tail is judged, and a tail of zeros alone is cut.
 * The repair is synced unless AJIO_NO_SYNC. With AJIO_NO_REPAIR a torn tail fails the call with
 * AJIO_ETORN instead, the file unchanged. Known limit: bytes another program left without a
 * '\n' before a power cut, in a file that also has a record, count as a torn append of ours.
 *
 * data must end with '\n' (else -EINVAL, "a record ends with a newline"); len 0 appends nothing,
 * creates nothing and returns 0. With AJIO_JSONL every line of data must be one JSON value
 * (ajio_json_validate() with AJIO_JSONL): invalid data appends nothing and returns
 * AJIO_EJSON with "PATH:LINE:COL: reason", before anything touches the filesystem.
 *
 * Flags: AJIO_NO_SYNC (no fdatasync nor directory sync), AJIO_NO_MKDIR, AJIO_NO_FOLLOW (a
 * symlink at the target: -ELOOP; else symlinks are followed), AJIO_JSONL, AJIO_NO_REPAIR, and
 * AJIO_LOCK (implied). The flags of a replace (AJIO_REPLACE_LINK, AJIO_CREATE_ONLY,
 * AJIO_SKIP_UNCHANGED, AJIO_MODE, AJIO_NO_TMPFILE, AJIO_JSON) are -EINVAL.
 *
 * A failure leaves the file as it was: a write or fdatasync that fails part way (a full disk)
 * cuts the file back with ftruncate(2) to its size before this append (and records that), an
 * append that would pass RLIMIT_FSIZE is refused with -EFBIG before a byte is written (the
 * kernel would write up to the limit and then kill a caller that does not ignore SIGXFSZ, and
 * a killed append leaves its bytes for the next repair to cut), and a file
 * this call created whose directory cannot be synced is removed before anything is written. A
 * repair done before the failure stays (it is a repair, not part of the append). If the cut
 * itself fails, the message says so and names the size to cut back to.
 *
 * @return 0; AJIO_REPAIRED when a torn tail was repaired first (the records are appended all the
 * same;
 *   ajio_last_error() then describes the repair as ajio_repair() does); or a negative error:
 *   -EINVAL        path NULL or empty, data NULL with len > 0, data not ending with '\n', a flag
 *                  that is not for appends, reserved fields not zero; the target or the lock
 *                  file name is not a regular file
 *   AJIO_EJSON     AJIO_JSONL and data is not JSON Lines
 *   AJIO_ETORN     AJIO_NO_REPAIR and the file ends with a torn line, or (AJIO_JSONL) it ends
 *                  with bytes another program left that are not a complete value
 *   -EACCES        the file may not be read (the tail must be checked) or written; it is
 *                  another user's in a sticky directory others may write (protected_regular);
 *                  its lock file does not exist and the directory does not let the caller create
 *                  it (">>" needs no lock file; an append does: someone who may write the
 *                  directory can create it once, with the file's write permissions); the lock
 *                  file may be opened by users who may not write the file and is not the
 *                  caller's to fix (see ajio_update())
 *   -EWOULDBLOCK, -ETIMEDOUT  AJIO_LOCK_TIMEOUT and the lock stayed held; -EINTR with
 *                  AJIO_INTERRUPTIBLE, a signal during the wait; nothing written
 *   -ELOOP, -ENOENT, -ENOTDIR, -EISDIR, -ENAMETOOLONG   as ajio_write_bytes()
 *   -ENOSPC, -EDQUOT, -EIO, -EFBIG   from write(2), fdatasync(2), ftruncate(2), or the lock
 *                  file's record (a full disk fails before the file is touched)
 */
AJIO_API int ajio_append(const char *path, const void *data, size_t len, const ajio_opts *opts);

typedef struct ajio_log ajio_log;

/*
 * A log handle: ajio_append() for a program that appends all its life, with the resolution, the
 * open of the file and of its lock file done once. Opens (creating it and its parents as
 * ajio_append() does) and repairs the file at path, under its lock. Flags as ajio_append().
 * (since 0.2)
 * @return 0 or AJIO_REPAIRED (a torn tail was repaired) and *ret; or the errors of
 *   ajio_append() (-EINVAL also for a NULL ret), *ret unchanged.
 */
AJIO_API int ajio_log_open(ajio_log **ret, const char *path, const ajio_opts *opts);

/*
 * ajio_append() of len bytes through the handle: the same promises, the same lock (so handles,
 * one-shot appends and AJIO_LOCK writers of the same file in any process take turns), the same
 * errors. Per append, under the lock: the name is looked up again, and if it no longer holds
 * the file the handle has open (the log was rotated: renamed away, or removed) the file now at
 * the name is opened, or created, with every rule of a first open (a FIFO or another user's
 * file planted in a sticky directory is refused, and tried again on the next append); and its
 * end is checked and repaired as ajio_append() does.
 * fork(): a handle used in a child process opens its lock file and its file again before the
 * child's first append (the inherited descriptors share the parent's lock, which would exclude
 * nobody), so parent and children may all append through it. (since 0.3) Whatever the parent's
 * other threads were doing with the handle at the fork, the child can use it: it inherits none
 * of their queued appends (since 0.4).
 *
 * Threads (since 0.4). Any number of threads may append through one handle at once, and their
 * appends are combined: while one thread appends a batch under the file's lock, the others queue
 * their records, and the next batch is every append queued meanwhile (up to 64), in queue
 * order, written with one write(2) and made durable with one fdatasync (shared with appenders in
 * other processes by group commit, as above). Before it takes a batch, the thread that appends
 * it waits for the threads of the last batch to queue again, at most half as long as the last
 * batch's append took and 1 ms (a thread that appends alone never waits). So threads sharing a
 * handle wait for one sync per batch, where a handle under a mutex of the caller's would make
 * them wait for one per append.
 *   - A call returns once its records, and every record before them, are durable (as a lone
 *     append's would be), or with the error that stopped its batch. A thread's records stay in
 *     its order (each call returns before the next one begins).
 *   - Records that are not valid (no final '\n'; with AJIO_JSONL, not JSON Lines) fail alone,
 *     before they join a batch: -EINVAL or AJIO_EJSON, as above.
 *   - A batch is one append, with every rule above: the name looked up again, the tail checked
 *     and repaired once before it, the lock file's records spanning all of it. Every call of the
 *     batch gets the batch's result, and ajio_last_error() its message: AJIO_REPAIRED for each
 *     when a torn tail was repaired before the batch; an error for each when any step fails -
 *     the wait for the lock (-ETIMEDOUT, or -EINTR with AJIO_INTERRUPTIBLE although the signal
 *     reached one thread only: nothing is written, and the others may simply call again), a
 *     tail refused, the write, the sync. Then none of the batch's records is reported written,
 *     and the batch is cut back whole, as one append is: always after a failed write, after a
 *     failed sync unless another appender appended after the batch meanwhile (the message then
 *     says that the records stay, not known to be durable). A crash in the middle of a batch
 *     leaves an append under way, which the next repair cuts whole.
 *   - AJIO_LOCK_TIMEOUT bounds each batch's wait for the file's lock, not the time a call spends
 *     queued behind the batch before its own.
 * ajio_log_close() must not run while other threads may still append through the handle.
 * @return 0, AJIO_REPAIRED, or the errors of ajio_append().
 */
AJIO_API int ajio_log_append(ajio_log *log, const void *data, size_t len);

/*
 * Closes the file and frees the handle (NULL is fine). Only once no other thread may call
 * ajio_log_append() on the handle any more: the caller makes sure its threads have returned
 * from their appends (joined, or told to stop) first. A close that finds appends of other
 * threads queued or under way refuses with -EBUSY, closes nothing and leaves the handle as it
 * was (since 0.4), but an append that starts after that look would use a freed handle: that is
 * undefined behaviour, not an error this call can report.
 * @return 0, -EBUSY, or the error of close(2) (network filesystems report write errors there).
 */
AJIO_API int ajio_log_close(ajio_log *log);

/*
 * The torn-tail repair of ajio_append() on its own, under the same lock: for a file that a
 * crashed appender may have left torn, at startup, before reading it. The file is never created
 * (nor its parents, though the lock file is). opts->flags (opts may be NULL): AJIO_JSONL (a
 * complete last value is terminated rather than cut), AJIO_NO_SYNC, AJIO_NO_FOLLOW, AJIO_LOCK
 * (implied), AJIO_LOCK_TIMEOUT, AJIO_INTERRUPTIBLE; anything else is -EINVAL. (since 0.3, these
 * arguments; 0.2 took the flags apart, before ret_cut, and opts last)
 *
 * What is cut and what is kept is decided as for ajio_append(), but for bytes another program
 * left that are not a complete JSON value with AJIO_JSONL: a repair asked for cuts them (an
 * append refuses them). A crash during a repair is harmless: a repair only ever cuts the file
 * back or appends the one missing '\n', so running it again finishes it or finds nothing.
 *
 * On success *ret_cut (when not NULL) is the number of bytes cut off, 0 when nothing was torn or
 * the last line was only terminated. After a repair (AJIO_REPAIRED) ajio_last_error() describes
 * it, even though the call succeeded:
 *
 *     repair of "log.jsonl": cut 6 bytes after the last complete line: "{\"a\":1"
 *     repair of "log.jsonl": terminated the last line (a complete JSON value without its newline)
 *
 * (the cut text escaped as in C, at most its first 80 bytes, then "...").
 *
 * @return 0 when nothing was torn, AJIO_REPAIRED when it repaired; or a negative error, *ret_cut
 *   unchanged:
 *   -ENOENT (no such file), -EINVAL (path NULL or empty, a flag not listed above, not a regular
 *   file), -EACCES, -EIO and the errors of ajio_append().
 */
AJIO_API int ajio_repair(const char *path, const ajio_opts *opts, size_t *ret_cut)
    AJIO_SYMBOL("ajio_repair_v03");

/* ---------------------------------------------------------------------------------------------
 * Appending: reading the records back (since 0.2)
 * --------------------------------------------------------------------------------------------- */

typedef struct ajio_reader ajio_reader;

/*
 * Opens path (symlinks followed, as any reader does) to read it line by line: records of a JSON
 * Lines file or a log that ajio_append() grows. opts->flags (opts may be NULL): AJIO_JSONL
 * checks that every complete line is one JSON value; without it lines are handed out as they
 * are. Nothing is written, locked or repaired: the reader may run while appenders write.
 * (since 0.3, opts; 0.2 took the flags themselves)
 * @return 0 and *ret, or -EINVAL (ret NULL, path NULL or empty, another flag, reserved fields
 *   not zero), -ENOMEM, or the errors of open(2) (-ENOENT, -EACCES, ...); *ret unchanged on
 *   failure.
 */
AJIO_API int ajio_reader_open(ajio_reader **ret, const char *path, const ajio_opts *opts)
    AJIO_SYMBOL("ajio_reader_open_v03");

/*
 * The next record: *ret_line points to the line without its '\n' (a "\r" before it is kept),
 * NUL-terminated, *ret_len its length; valid until the next call. A line is handed out whole,
 * however long: the buffer (64 KiB at first) doubles until it fits.
 *
 * A last line without a '\n' is the remains of an interrupted append, or one still being
 * written: it is never returned. The end of the file is reported as usual (0), and
 * ajio_reader_torn() tells how many bytes were skipped; ajio_last_error() then reads
 * "PATH:LINE: skipped a torn last line of N bytes without a newline".
 *
 * @return 1 with a record; 0 at the end of the file (and again on every later call);
 *   AJIO_EJSON with AJIO_JSONL when this complete line is not JSON: *ret_line and *ret_len hold
 *   it, ajio_last_error() says "PATH:LINE:COL: reason", and the next call goes on with the next
 *   line, so a loader chooses to stop or to skip it knowingly; -EINVAL (a NULL argument), -ENOMEM
 *   (a line that does not fit in memory), or the errors of read(2) (-EIO, ...).
 */
AJIO_API int ajio_reader_next(ajio_reader *rd, const char **ret_line, size_t *ret_len);

/* The 1-based number of the line ajio_reader_next() last returned (0 before the first). */
AJIO_API uint64_t ajio_reader_line(const ajio_reader *rd);

/* Once ajio_reader_next() has returned 0: bytes of the torn last line it skipped, else 0. */
AJIO_API uint64_t ajio_reader_torn(const ajio_reader *rd);

/* Closes the file and frees the reader. NULL is fine. */
AJIO_API void ajio_reader_close(ajio_reader *rd);

/* ---------------------------------------------------------------------------------------------
 * Locked read-modify-write
 * --------------------------------------------------------------------------------------------- */

/*
 * Called by ajio_update() with the lock held: old holds the old_len bytes of the current
 * content, followed by a NUL not counted in old_len (so text can be parsed in place); exists is
 * 0 (old "" and old_len 0) when there is no file, or when the target is a symlink that
 * AJIO_REPLACE_LINK replaces. old is valid only during the call. The callback writes the new
 * content into out (ajio_file_write(), ajio_file_printf(), a generator from ajio_gen_new()) and
 * must neither commit nor abort it. It returns:
 *   0               commit what was written to out
 *   AJIO_UNCHANGED  write nothing, leave the file as it is
 *   < 0             a negative errno or AJIO_E* code: the update fails with it, target untouched.
 *                   A message set with ajio_set_last_error() is kept as the update's message.
 */
typedef int (*ajio_update_fn)(void *ctx, const void *old, size_t old_len, int exists,
                              ajio_file *out);

/*
 * Replaces path with what fn makes of its current content, with no other updater (nor writer
 * using AJIO_LOCK), in any thread or process, between the read and the replace: concurrent
 * increments of a counter are never lost. (since 0.2)
 *
 * The sequence: ajio_file_open(path, opts | AJIO_LOCK), which resolves path, takes an exclusive
 * flock(2) on the lock file ".NAME.ajio-lock" in the target's directory (after symlinks are
 * followed; on a shared filesystem an OFD fcntl lock, see "Shared filesystems") and resolves
 * again under the lock; a read of the current content; fn; then
 * ajio_file_commit() (the same sequence, durability and promises as any write: AJIO_JSON and
 * AJIO_JSONL validate the result, AJIO_MODE and the kept owner, ACL and attributes apply); the
 * lock is released last, after the directory sync. The lock is released by the kernel when its
 * holder dies, so a killed updater never leaves path locked.
 *
 * The lock file (why it is apart from the target: docs/design.md) is created with read and write
 * permission for exactly the classes (user, group, other) the target lets write (0644 gives
 * 0600, 0664 gives 0660; a new target's mode, 0666 minus the umask, counts), with the target's
 * owner and group where the caller may give them. A lock file that grants more, or that belongs
 * to someone other than the caller, the target's owner or root, is retired (removed under its
 * lock and replaced) by its owner or root and refused with -EACCES by anyone else. It is removed
 * only by ajio_sweep() with AJIO_SWEEP_LOCKS. Do not remove it yourself (rm): an updater that
 * holds a lock file being removed and the next one, which creates a new one, would both run at
 * once.
 * Target names that agree in their first AJIO_TEMP_MAX_NAME bytes share a lock file. The lock
 * is advisory: writers that neither update nor use AJIO_LOCK ignore it. (since 0.3, the rules on
 * who may open it; 0.2 created it 0666 minus the umask)
 *
 * timeout_ms < 0 waits for the lock as long as it is held (a blocking flock); 0 tries once;
 * > 0 tries until that many milliseconds have passed, sleeping between tries from 1 ms up to
 * 20 ms (so a waiter may notice a release up to 20 ms late, and waiters are served in no
 * particular order).
 *
 * @return what ajio_file_commit() returns (0, AJIO_UNCHANGED with AJIO_SKIP_UNCHANGED and equal
 *   bytes, AJIO_ENOTDURABLE, or its errors); AJIO_UNCHANGED when fn returned it; fn's own
 *   negative result (its message kept if it set one, else "update of PATH: the callback
 *   failed"); or one of the errors of ajio_file_open() and:
 *   -EINVAL        fn NULL, or fn returned a positive value other than AJIO_UNCHANGED; the lock
 *                  file name is taken by something that is not a regular file
 *   -EWOULDBLOCK   timeout_ms 0 and the lock is held
 *   -ETIMEDOUT     timeout_ms > 0 and the lock was held all that time
 *   -ENOLCK, -EOPNOTSUPP  the filesystem has no flock(2)
 *   any error of reading the current content (-EACCES, -EIO, -ENOMEM, ...)
 * On any failure the target is untouched and no temp file remains.
 */
AJIO_API int ajio_update(const char *path, ajio_update_fn fn, void *ctx, int timeout_ms,
                         const ajio_opts *opts);

/* ---------------------------------------------------------------------------------------------
 * JSON and JSONL validation (strict RFC 8259, streaming)
 * --------------------------------------------------------------------------------------------- */

/*
 * Vector kernels (since 0.3). The validator and the generator's string code run the fastest
 * kernel the CPU has, chosen once per process from CPUID: AVX-512 (F, BW, VL), AVX2, SSE4.2, or
 * portable C. Every kernel gives the same verdicts, the same error positions and messages and the
 * same bytes; the tests hold each kernel against the portable one. The environment variable
 * AJIO_KERNEL=scalar|sse42|avx2|avx512, read at the first call, forces a kernel for comparisons
 * and tests; one the CPU lacks, or any other value, is ignored (never SIGILL).
 */

/*
 * Flags of the validator. AJIO_JSONL (of enum ajio_flags) asks for JSON Lines here too, as
 * everywhere lines are meant: JSONL, one value per line, '\n' separated ("\r\n" accepted); a
 * blank line is an error. (since 0.3, AJIO_JSONL here)
 */
enum ajio_json_flags {
    /* Deprecated since 0.3: AJIO_JSONL, the same meaning (a different bit; both still work). */
    AJIO_JSON_LINES = 1u << 0,
    /* JSONL: accept a last line without '\n' (instead of returning AJIO_ETORN). */
    AJIO_JSON_ALLOW_UNTERMINATED = 1u << 1,
};

/* Default maximum nesting depth of arrays and objects: 1024 levels pass, 1025 do not. */
#define AJIO_JSON_DEFAULT_MAX_DEPTH 1024

/*
 * Where and why validation failed. The offending byte is the first one at which the input can no
 * longer start a valid document; for an unexpected end of input it is the input length.
 */
typedef struct ajio_json_error {
    uint64_t line;    /* 1-based; only '\n' starts a line */
    uint64_t column;  /* 1-based, in bytes */
    uint64_t offset;  /* 0-based byte offset of the offending byte */
    char reason[96];  /* e.g. "expected ',' or '}' after object member" */
} ajio_json_error;

typedef struct ajio_json_checker ajio_json_checker;

/*
 * Creates a streaming validator (strict RFC 8259: one value, strict UTF-8, no BOM; lone surrogate
 * escapes such as "\uD800" are rejected; see docs/json-validator.md). flags: enum
 * ajio_json_flags. max_depth 0 means AJIO_JSON_DEFAULT_MAX_DEPTH; max_depth bytes are allocated
 * here and nothing later. @return 0, -EINVAL or -ENOMEM; *ret unchanged on failure.
 */
AJIO_API int ajio_json_checker_new(ajio_json_checker **ret, unsigned flags, unsigned max_depth);

/*
 * Feeds the next len bytes. Chunks may be split anywhere, even inside a UTF-8 sequence or a
 * number; the result does not depend on the split. @return 0, or AJIO_EJSON at the first error
 * (then every later call returns it too); -EINVAL for a NULL checker, NULL buf with len > 0, or
 * a feed after ajio_json_checker_finish().
 */
AJIO_API int ajio_json_checker_feed(ajio_json_checker *c, const void *buf, size_t len);

/*
 * Ends the input. @return 0 if everything fed is valid; AJIO_EJSON (incomplete or invalid value,
 * JSON empty input); AJIO_ETORN (JSONL whose last line has bytes but no '\n' - complete value or
 * not - without AJIO_JSON_ALLOW_UNTERMINATED). Calling it again returns the same result.
 */
AJIO_API int ajio_json_checker_finish(ajio_json_checker *c);

/*
 * Copies the error position and reason after a failed feed/finish (all zero and "" if there was
 * no error). @return 0 or -EINVAL.
 */
AJIO_API int ajio_json_checker_error(const ajio_json_checker *c, ajio_json_error *ret_err);

/*
 * Number of complete values seen so far. JSONL: valid '\n'-terminated lines, plus the last line
 * when accepted with AJIO_JSON_ALLOW_UNTERMINATED (not a torn one).
 */
AJIO_API uint64_t ajio_json_checker_count(const ajio_json_checker *c);

/* Frees a validator. NULL is allowed. */
AJIO_API void ajio_json_checker_free(ajio_json_checker *c);

/*
 * One-shot validation of a whole buffer with the default depth; does not allocate. ret_err may
 * be NULL. @return 0, AJIO_EJSON, AJIO_ETORN, -EINVAL (buf NULL with len > 0, unknown flags).
 */
AJIO_API int ajio_json_validate(const void *buf, size_t len, unsigned flags,
                                ajio_json_error *ret_err);

/* ---------------------------------------------------------------------------------------------
 * Published directory snapshots (since 0.3)
 * --------------------------------------------------------------------------------------------- */

/*
 * A published name NAME is a symlink to a generation directory beside it,
 *
 *     "." + NAME + ".snap-" + 16 lowercase hex digits
 *
 * that is never changed once NAME points to it. ajio_publish() builds a new generation, makes
 * all of it durable, then swaps a temp symlink (".NAME.ajio-<16 hex>.tmp", the temp shape)
 * with NAME by renameat2(RENAME_EXCHANGE) (RENAME_NOREPLACE on a first publish): a reader sees
 * the whole old tree or the whole new one, never a mix, and after a power cut at any point NAME
 * points to a complete generation, old or new. What the exchange took from NAME must be one of
 * these symlinks: anything else that appeared at NAME during the publish (a file, a directory)
 * is exchanged back, untouched, and the publish fails with -EEXIST. Only on a filesystem that
 * refuses both flags (EINVAL, ENOSYS; FUSE daemons built on libfuse's high-level API, such as
 * bindfs) is a plain renameat() used; there a file created at NAME between the publish's last
 * check and its rename is replaced, and the moves of AJIO_PUBLISH_MOVE check that the name moved
 * to is free just before they rename. Writers of single files have no part in this: what is
 * published is only ever changed by publishing again.
 *
 * The reader protocol. Any program, in any language and without this library, reads a whole
 * snapshot this way:
 *
 *   1. fd = open(NAME, O_RDONLY | O_DIRECTORY). If it fails with ENOENT while NAME is still a
 *      symlink, the generation was removed between the kernel's reading of the link and its
 *      lookup of the target: start again (NAME then points to a newer one).
 *   2. flock(fd, LOCK_SH), waiting.
 *   3. fstat(fd): st_nlink == 0 means the generation was removed between 1 and 2: close(fd) and
 *      start again. So does an fstat that fails with ENOENT or ESTALE, the answer of filesystems
 *      that ask a server (FUSE daemons such as bindfs, network filesystems) about a removed
 *      directory.
 *   4. Read every file relative to fd (openat(fd, "dir/file", ...)), never through NAME: NAME
 *      may point to another generation by then.
 *   5. close(fd), which releases the lock.
 *
 * Reading NAME/FILE by path, without these steps, sees each file whole but may mix files of
 * different generations, or fail with ENOENT when a generation goes away under it.
 *
 * Garbage collection (at the end of every publish, and ajio_snapshot_gc()): every generation
 * of NAME that is not current is removed if flock(LOCK_EX | LOCK_NB) on it succeeds, its tree
 * deleted while that lock is held, so that a reader waiting at step 2 then sees st_nlink 0. A
 * generation a reader holds is kept and removed by a later publish or gc. No older generation
 * is kept "for safety": a reader between steps 1 and 2 is covered by step 3, one in step 1 by
 * its ENOENT retry, so after a publish with no readers only the current generation remains.
 * The leftovers of a publish that died (a half-copied generation, which its dead publisher no
 * longer locks; a temp symlink whose generation nobody locks) are removed the same way; a
 * generation that was a moved source (AJIO_PUBLISH_MOVE, below) never is. A
 * publisher holds its new generation's lock from its creation until NAME points to it, and the
 * gc checks NAME again under the lock, so publishes and gcs in other processes never remove a
 * generation being built or just published. Concurrent publishes of one NAME each succeed and
 * the last to switch NAME wins.
 */

/* ajio_publish(): move src_dir in as the new generation instead of copying it. (since 0.3) */
#define AJIO_PUBLISH_MOVE (1u << 24)

/*
 * Publishes a copy of the tree src_dir as the new generation of name (a path; its directory
 * must exist), then removes the generations no reader holds (the gc above).
 *
 * The copy: regular files (reflinked with ioctl(FICLONE) where the filesystem can share
 * blocks, else copy_file_range(2), else read and write: never hard links, so rewriting a
 * source file in place later never changes what was published), directories and symlinks (as
 * symlinks, their text unchanged). Each keeps its permission bits (07777); owners, times, ACLs
 * and xattrs are not copied. All of the generation is made durable before name is switched by
 * one syncfs(2) of its filesystem, then the directory of name is fsync'ed; after the switch
 * that directory again. src_dir is only read. A source changed during the publish may be
 * copied in any mix of before and after.
 *
 * The syncfs trade-off: one syncfs writes back all files at once and commits the journal once,
 * where an fsync per file and directory commits it 1,011 times for 1,000 files (a durable
 * publish of 1,000 files of 4 KiB: 5-16x faster, bench/README.md). But it syncs the whole
 * filesystem: whatever other programs left dirty there is written too, and the publish waits
 * for it. Its error fails the publish (-EIO, -ENOSPC, ...; name unchanged): a writeback error
 * of any file of that filesystem, ours or not, since the publish began (or earlier and not yet
 * reported to a syncfs). Before Linux 5.8 syncfs reports no writeback error at all, and
 * before 5.17 not the filesystem's own errors (a failed journal commit). On a
 * filesystem busy with other writes, publish to a name on a filesystem of its own.
 *
 * With AJIO_PUBLISH_MOVE, src_dir itself (same filesystem as name) is synced in place (the same
 * syncfs) and renamed to the generation name: nothing is copied and src_dir is gone on success.
 * Before the move a record ".NAME.from-<16 hex>" (the generation's hex) is written and synced
 * beside it, holding src_dir's absolute path and a newline; it is removed once name points to the
 * generation. If the publish fails after the move, the tree is moved back to src_dir. A power cut
 * between the move and the switch leaves the generation with its record, and the data is never
 * lost: no gc deletes a generation that has a record. The next gc (ajio_snapshot_gc() or any
 * publish of name) moves it back to the recorded path if nothing is there (then syncs both
 * directories and removes the record); if the path is taken (or the record unreadable) both stay
 * and every later gc tries again. Such a kept tree is reported by its record alone: a
 * ".NAME.from-*" file beside name names where the tree ".NAME.snap-*" of the same hex came from;
 * move it there (or anywhere) and remove the record. A record whose generation is current, left by
 * a power cut just after the switch, is simply removed.
 *
 * opts->flags (opts may be NULL): AJIO_NO_SYNC (no fsync or syncfs at all: atomic for readers and
 * process crashes only), AJIO_PUBLISH_MOVE; anything else is -EINVAL.
 * Once name is switched the publish has happened, and nothing after it is reported as a failure
 * that left name unchanged: a gc that then fails is no failure of the publish (the generations it
 * could not remove go at the next gc or publish), and a failed sync of the directory after the
 * switch is AJIO_ENOTDURABLE, as for a single file; the gc is then skipped (a power cut may yet
 * bring back the old name, and its generation is kept until the next gc).
 *
 * @return 0; AJIO_ENOTDURABLE when only the directory sync after the switch failed (name was
 *   switched; the message names the directory and the errno's text);
 *   otherwise a negative errno and name is unchanged, no new generation remains (one whose
 *   removal failed is named in the message, and the next gc removes it):
 *   -EINVAL        NULL or empty arguments, name ending in '/', "." or "..", name inside
 *                  src_dir, src_dir "." or ".." with AJIO_PUBLISH_MOVE, unknown flags
 *   -EEXIST        name exists and is not such a symlink (a directory, a file, another
 *                  symlink), or became one during the publish: it is never replaced (the
 *                  one exception: if it cannot be exchanged back, that rename's errno, name
 *                  points to the new generation and the message says where the other is)
 *   -EOPNOTSUPP    src_dir holds something other than a regular file, directory or symlink
 *                  (a fifo, socket or device): nothing is published, nothing moved
 *   -EXDEV         AJIO_PUBLISH_MOVE across filesystems (src_dir untouched)
 *   -ENAMETOOLONG  name's last component longer than 232 bytes (NAME_MAX minus the suffix)
 *   -EAGAIN        no new generation name was free in 100 random tries
 *   -ENOENT, -ENOTDIR, -EACCES, -ENOSPC, -EDQUOT, -EIO, -ENOMEM, ...
 */
AJIO_API int ajio_publish(const char *src_dir, const char *name, const ajio_opts *opts);

/* The generation a reader holds, see ajio_snapshot_open(). */
typedef struct ajio_snapshot ajio_snapshot;

/*
 * Opens the current generation of name by the reader protocol above (steps 1 to 3): *ret holds
 * its directory, locked LOCK_SH, until ajio_snapshot_close(). Read its files relative to
 * ajio_snapshot_fd(). opts: NULL or no flags. Retries while publishes remove what it opened
 * (at most 10000 times, then -EAGAIN).
 * @return 0 and *ret; or -EINVAL, -ENOENT (no name, or a name whose generation is missing),
 *   -ENOTDIR (name is not a directory nor a symlink to one), -EACCES, -ENOMEM, -EAGAIN.
 */
AJIO_API int ajio_snapshot_open(ajio_snapshot **ret, const char *name, const ajio_opts *opts);

/* The generation's directory fd, owned by s: for openat() and the like. -EINVAL if s is NULL
 * (with its message, as every failure). */
AJIO_API int ajio_snapshot_fd(const ajio_snapshot *s);

/* Closes the directory (releasing the lock) and frees s. NULL is a no-op. */
AJIO_API void ajio_snapshot_close(ajio_snapshot *s);

/*
 * The gc of ajio_publish() alone: removes the generations of name that are not current and that
 * no reader holds, and the leftovers of publishes that died; a source moved in by a publish
 * with AJIO_PUBLISH_MOVE that died before the switch is moved back, or kept with its record
 * (see ajio_publish()). opts->flags: AJIO_NO_SYNC (the directory is not synced after removals)
 * or nothing. name need not exist: the leftovers of a first publish that died are removed too.
 * @return the number of generations (moved back ones included) and temp symlinks removed, or a
 * negative errno (-EINVAL, -ENOENT when the directory of name does not exist, -EACCES, -EIO, ...).
 */
AJIO_API int ajio_snapshot_gc(const char *name, const ajio_opts *opts);

/* ---------------------------------------------------------------------------------------------
 * Leftover temp files
 * --------------------------------------------------------------------------------------------- */

/*
 * Temp names have one fixed shape:
 *
 *     "." + NAME + ".ajio-" + 16 lowercase hex digits + ".tmp"
 *
 * where NAME is the target's file name, cut to at most 228 bytes so that the whole name fits in
 * NAME_MAX (255) even for a 255-byte target name; the cut moves back to a UTF-8 character
 * boundary when the name is UTF-8 (at most 3 bytes), and is at 228 when it is not. A temp exists
 * under this name only between linkat() and renameat() (O_TMPFILE) or for the whole write (named
 * temp), so a name of this shape is left behind only by a writer killed in that window.
 */
#define AJIO_TEMP_MAX_NAME 228

enum ajio_sweep_flags {
    /* Skip the fsync of the directory after removals. */
    AJIO_SWEEP_NO_SYNC = 1u << 0,
    /* Only count what would be removed. */
    AJIO_SWEEP_DRY_RUN = 1u << 1,
    /*
     * Also remove lock files (".NAME.ajio-lock", see ajio_update()) whose target NAME no longer
     * exists and that nobody holds: one is left behind by every file ever updated, appended to
     * or written with AJIO_LOCK, even by an update that failed and created nothing. (since 0.3)
     */
    AJIO_SWEEP_LOCKS = 1u << 2,
};

/*
 * Removes leftover temp files from directory dir: regular files whose name has the shape above
 * and whose last change is at least min_age_sec seconds old. A temp that a live writer holds is
 * never removed, whatever its age: every writer holds an flock(2) on its temp (on a shared
 * filesystem an OFD fcntl lock, which a sweep on another client sees) from before the temp has
 * a name until it is renamed or removed, and sweep removes only a temp it can lock
 * itself (keeping its lock across the unlink). The one window is a named temp between its
 * creation and its lock, one syscall long; a min_age_sec of 1 or more covers it. A temp this
 * process cannot open (another user's, without root) is left alone; on a filesystem without
 * flock(2) support only min_age_sec protects live writers. If name is not NULL only temps of the
 * target called name are removed. The directory is synced after any removal unless
 * AJIO_SWEEP_NO_SYNC.
 *
 * Lock files (".NAME.ajio-lock", see ajio_update()) are removed only with AJIO_SWEEP_LOCKS, and
 * then only one that is a regular file, at least min_age_sec old (its ctime or mtime), that this
 * process can open for writing (another user's is left alone), that nobody holds (sweep takes
 * its flock without waiting and keeps it across the unlink) and whose target does not exist:
 * nothing at NAME, not even a symlink, looked for again under the lock; for a NAME cut to
 * AJIO_TEMP_MAX_NAME, no longer name in dir shares the lock file. A locker that opened the lock
 * file before it was removed sees, once its flock is granted, that the name no longer refers to
 * its file, and opens the name again. With name, only the lock file of the target name is
 * considered. Lock files count in the result as temps do.
 * @return the number of files removed (or found, with AJIO_SWEEP_DRY_RUN), or a negative errno:
 *   -EINVAL (dir NULL or empty), -ENOENT, -ENOTDIR, -EACCES, -EIO, ...
 */
AJIO_API int ajio_sweep(const char *dir, const char *name, unsigned min_age_sec, unsigned flags);

/* ---------------------------------------------------------------------------------------------
 * Shared filesystems (since 0.3)
 *
 * On a filesystem that other machines mount too (NFS, SMB, CephFS, FUSE such as GlusterFS, 9p,
 * AFS), which fstatfs(2) tells once per call (once per mount and thread where statx(2) gives
 * the mount's unique ID, Linux 6.8), the library changes mechanisms so that its promises
 * hold between clients: the target's lock and the temp's are POSIX (OFD) fcntl locks, which the
 * server arbitrates, instead of flock(2); an append takes the end of the file from the server
 * under the lock and is durable before the lock is released (group commit is off); the repair
 * cuts only the bytes after the last newline of a file whose lock file names it (a dead
 * append: every acknowledged record ends with a newline on the server's disk); and readers
 * (ajio_reader_open(), ajio_update()'s read) try again when the server reports ESTALE or, for up
 * to about a quarter second, when the name is missing for the moment of another client's
 * replace. docs/fs-matrix.md lists per filesystem which promises hold and under which mount
 * options. Snapshots keep their flock(2) on generation directories, which such filesystems
 * share between clients only partly or not at all: there, ajio_snapshot_gc() protects only the
 * readers of the machine it runs on (docs/fs-matrix.md).
 * --------------------------------------------------------------------------------------------- */

typedef enum ajio_fs_kind {
    AJIO_FS_LOCAL = 0,    /* only this machine mounts it: ext4, xfs, btrfs, tmpfs, ... */
    AJIO_FS_NFS = 1,      /* NFS, any version */
    AJIO_FS_FUSE = 2,     /* FUSE: GlusterFS, ceph-fuse, sshfs, bindfs, ... (taken as shared) */
    AJIO_FS_SMB = 3,      /* SMB/CIFS */
    AJIO_FS_CEPH = 4,     /* the kernel's CephFS client */
    AJIO_FS_OTHER_SHARED = 5 /* 9p, AFS, Coda, OCFS2, GFS2, Lustre, OrangeFS */
} ajio_fs_kind;

enum ajio_fs_weak {
    /*
     * Locks exclude only the writers of this machine: NFS mounted with nolock or
     * local_lock=posix|all, SMB with nobrl, FUSE servers known to keep locks on the client
     * (sshfs, s3fs, rclone, gcsfuse, goofys). Appends and updates from two machines can lose
     * records there; replaces keep promise 1.
     */
    AJIO_FS_WEAK_LOCKS = 1u << 0,
};

typedef struct ajio_fs_info {
    ajio_fs_kind kind;
    unsigned weak;     /* ajio_fs_weak flags: promises weaker on this mount */
    char type[64];     /* a shared mount's type in /proc/self/mountinfo ("nfs4",
                        * "fuse.glusterfs"); "" for a local one */
    char warning[320]; /* one line for a user when weak is not 0, else "" */
} ajio_fs_info;

/*
 * What kind of filesystem path (a file or a directory) is on, and which promises are weaker
 * there because of how it is mounted, for a tool's one warning (`ajio` prints it once). The
 * library itself needs no call: every write detects the filesystem.
 * @return 0, or -EINVAL, -ENOENT, -EACCES, ... (message set)
 */
AJIO_API int ajio_fs_probe(const char *path, ajio_fs_info *ret);

/* ---------------------------------------------------------------------------------------------
 * Deprecated
 * --------------------------------------------------------------------------------------------- */

/*
 * The 0.2 names of the handle's functions: the same functions, kept for one release so that
 * programs built against 0.2 still link and code written for it still compiles (with a
 * warning). They are removed in 0.4. tools/rename-0.3.sed in the source tree renames every use:
 *
 *     sed -i -E -f rename-0.3.sed FILE.c ...
 *
 * ajio_repair() and ajio_reader_open() changed their arguments in 0.3; binaries built against
 * 0.2 keep calling the 0.2 functions under their old symbols, and source code gets the new
 * arguments (the compiler points at each call to change).
 */
AJIO_API int ajio_open(ajio_file **ret_file, const char *path, const ajio_opts *opts)
    AJIO_DEPRECATED("use ajio_file_open");
AJIO_API int ajio_write(ajio_file *f, const void *buf, size_t len)
    AJIO_DEPRECATED("use ajio_file_write");
AJIO_API int ajio_printf(ajio_file *f, const char *fmt, ...) AJIO_PRINTF(2, 3)
    AJIO_DEPRECATED("use ajio_file_printf");
AJIO_API int ajio_vprintf(ajio_file *f, const char *fmt, va_list ap) AJIO_PRINTF(2, 0)
    AJIO_DEPRECATED("use ajio_file_vprintf");
AJIO_API int ajio_commit(ajio_file *f) AJIO_DEPRECATED("use ajio_file_commit");
AJIO_API void ajio_abort(ajio_file *f) AJIO_DEPRECATED("use ajio_file_abort");

#ifdef __cplusplus
}
#endif

#endif /* AJIO_H */

/*
 * txn.c - many files replaced and removed all or nothing, across a crash: ajio_txn_*,
 * ajio_recover().
 *
 * A transaction of directory DIR has these files of its own:
 *
 *   DIR/.ajio-txn.ajio-lock     flock'ed by every commit and recovery of DIR, for their whole run
 *   .ajio-txn-<16 hex>.tmp      one temp per member written, beside its member (in the member's
 *                               own directory), with the member's final bytes, mode, owner, ACL
 *                               and extended attributes
 *   DIR/.ajio-txn-intent.new    the plan: the intent's very bytes, written before any temp
 *   DIR/.ajio-txn-intent        the intent: which temp becomes which member, which members go
 *
 * The commit, under the lock: recover what a dead commit left; take each member's own lock
 * (".NAME.ajio-lock", as AJIO_LOCK and ajio_update() take it) in one global order; choose every
 * temp's name and write the plan, fdatasync it and fsync DIR; make and fdatasync every temp and
 * fsync each directory that got one; rename the plan to the intent and fsync DIR; then rename
 * every temp over its member, remove the members to remove, fsync every directory touched and
 * DIR, and remove the intent. The intent's rename is the commit point: before it a crash leaves
 * the old set and temps that recovery finds through the plan and removes; after it every temp
 * is durable, so recovery renames those still there (a temp that is gone was renamed: nothing
 * else removes a temp while an intent names it) and removes again what was to be removed,
 * which is idempotent.
 *
 * Why temps sit beside their members and not in DIR (promise 5): a temp holds its member's new
 * bytes with the member's final mode and ACL, so in DIR it would be readable by whoever that
 * mode lets read even when the member's own directory (DIR/private, 0700) keeps them out. Beside
 * its member it is behind exactly the directories the member is behind, as a single-file write's
 * temp is. Keeping temps owner-only in DIR and setting the mode after the rename was the other
 * way, and a worse one: readers would see a member with the wrong mode between the rename and
 * the chmod, and a recovery would have to redo the chmod. The price is finding temps after a
 * crash before the commit point: the plan lists them by name, is durable before the first temp
 * is made, and goes only after they do. Recovery removes exactly the temps a plan names, never
 * a file because of its shape: a transaction of a parent of DIR may have its own live temps in
 * DIR's subdirectories. The names are not of the shape ajio_sweep() removes, so a sweep never
 * takes a temp an intent still needs.
 *
 * Member paths are relative to DIR and walked one component at a time without following
 * symlinks, so that the commit and a recovery in another process, maybe after a reboot, reach
 * the same files, always inside DIR.
 */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define TXN_FLAGS                                                                                  \
    (AJIO_NO_SYNC | AJIO_NO_MKDIR | AJIO_MODE | AJIO_JSON | AJIO_JSONL | AJIO_LOCK_TIMEOUT |       \
     AJIO_INTERRUPTIBLE)

#define LOCK_TARGET "ajio-txn"
#define LOCK_NAME ".ajio-txn.ajio-lock"
#define INTENT_NAME ".ajio-txn-intent"
#define INTENT_NEW ".ajio-txn-intent.new"
#define TEMP_PREFIX ".ajio-txn-"
#define TEMP_PREFIX_LEN 10
#define TEMP_LEN (TEMP_PREFIX_LEN + 16 + 4)
#define INTENT_MAGIC "ajio-txn "
/* 2: a temp's name is in its member's directory (1 had every temp in DIR). */
#define INTENT_VERSION 2
/* An intent larger than this is not one this library wrote for any sane transaction. */
#define INTENT_MAX (256u << 20)
/* Temps open at once while their data is synced. */
#define ROUND 128

struct op {
    char *path; /* relative to DIR; then the data, in one allocation */
    const char *name; /* last component, inside path */
    char *data;
    size_t len;
    bool remove;
    char tmp[TEMP_LEN + 1]; /* a write's temp, in the member's directory; chosen before the plan */
    bool made;              /* this commit created tmp (only then does an undo remove it) */
    size_t dir;             /* index in dirs, or SIZE_MAX when the directory does not exist */
    int lockfd;
};

struct tdir {
    char *rel; /* "" for DIR itself */
    int fd;
    dev_t dev;
    ino_t ino;
    bool touched; /* a rename or removal in it is to be made durable */
    bool staged;  /* a temp was made in it: to be made durable before the commit point */
};

/* What a commit and a recovery share: DIR, its lock, the directories of members. */
struct ctx {
    const char *display; /* DIR as given, for messages */
    int dirfd;
    dev_t dev;
    unsigned flags;
    int lockfd;
    struct tdir *dirs;
    size_t ndirs, dirs_cap;
    struct ajio__target *scratch; /* for lock.c's ajio__lock_take() */
    bool sync_each;               /* AJIO_SYNC_EACH, kept out of flags */
    int by_fs;                    /* the temps synced by one syncfs: 1 yes, 2 no, 0 not known */
};

struct ajio_txn {
    ajio_opts opts;
    char *display;
    int dirfd;
    dev_t dev;
    struct op *v;
    size_t n, cap;
    int err;      /* the first member refused: the commit fails with it, nothing changed */
    char *errmsg; /* its message */
    bool committed;
};

static bool want_sync(const struct ctx *c)
{
    return !(c->flags & AJIO_NO_SYNC);
}

/*
 * A member path: relative, its components neither empty nor "." nor "..", none longer than
 * NAME_MAX, none a file of the transaction's own (".ajio-txn..."): it always names the same
 * file below DIR, however it was spelt, and two different strings never name one file.
 */
static int check_relpath(const char *display, const char *p)
{
    const char *s = p;

    if (p == NULL || p[0] == '\0')
        return ajio__error(-EINVAL, "transaction in \"%s\": member path is %s", display,
                           p == NULL ? "NULL" : "empty");
    if (strlen(p) >= PATH_MAX)
        return ajio__error(-ENAMETOOLONG, "transaction in \"%s\": member path over PATH_MAX",
                           display);
    if (p[0] == '/')
        return ajio__error(-EINVAL, "transaction in \"%s\": \"%s\" is absolute (members are "
                           "relative to the transaction's directory)", display, p);
    for (;;) {
        const char *e = strchr(s, '/');
        size_t n = e != NULL ? (size_t)(e - s) : strlen(s);

        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return ajio__error(-EINVAL, "transaction in \"%s\": \"%s\" has an empty, \".\" or "
                               "\"..\" component (members stay inside the directory, each "
                               "spelt one way)", display, p);
        if (n > NAME_MAX)
            return ajio__error(-ENAMETOOLONG, "transaction in \"%s\": a component of \"%s\" is "
                               "over NAME_MAX", display, p);
        if (n >= TEMP_PREFIX_LEN - 1 && memcmp(s, TEMP_PREFIX, TEMP_PREFIX_LEN - 1) == 0)
            return ajio__error(-EINVAL, "transaction in \"%s\": \"%s\": names starting with "
                               "\".ajio-txn\" are the transaction's own", display, p);
        if (e == NULL)
            return 0;
        s = e + 1;
    }
}

static bool is_txn_temp(const char *name)
{
    if (strlen(name) != TEMP_LEN || memcmp(name, TEMP_PREFIX, TEMP_PREFIX_LEN) != 0 ||
        memcmp(name + TEMP_LEN - 4, ".tmp", 4) != 0)
        return false;
    for (int i = TEMP_PREFIX_LEN; i < TEMP_LEN - 4; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return false;
    return true;
}

static int fsync_dir(const struct ctx *c, int fd, const char *rel)
{
    if (!want_sync(c) || fsync(fd) == 0)
        return 0;
    return ajio__error_strerror(-errno, "fsync of directory \"%s%s%s\"", c->display,
                                rel[0] ? "/" : "", rel);
}

/*
 * The directory of op (its path up to the last '/'), walked from DIR without following symlinks
 * and created (each new one made durable in its parent) when create is set. A missing one with
 * create unset: op->dir = SIZE_MAX. Directories are opened once per transaction.
 */
static int open_dir_of(struct ctx *c, struct op *op, bool create)
{
    size_t rlen = (size_t)(op->name - op->path);
    char rel[PATH_MAX];
    int fd = -1, r;
    struct stat st;

    rlen = rlen > 0 ? rlen - 1 : 0;
    for (size_t i = 0; i < c->ndirs; i++)
        if (strlen(c->dirs[i].rel) == rlen && memcmp(c->dirs[i].rel, op->path, rlen) == 0) {
            op->dir = i;
            return 0;
        }
    memcpy(rel, op->path, rlen);
    rel[rlen] = '\0';
    fd = fcntl(c->dirfd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return ajio__error_strerror(-errno, "dup of directory \"%s\"", c->display);
    for (char *s = rel; rlen > 0 && *s != '\0';) {
        char *e = strchr(s, '/');
        int next;

        if (e != NULL)
            *e = '\0';
        next = openat(fd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && !create) {
            (void)close(fd); /* a directory read-only: nothing to report */
            op->dir = SIZE_MAX;
            return 0;
        }
        if (next < 0 && errno == ENOENT && !(c->flags & AJIO_NO_MKDIR)) {
            if (mkdirat(fd, s, 0777) < 0 && errno != EEXIST) {
                r = ajio__error_strerror(-errno, "mkdir of \"%s/%s\" for \"%s\"", c->display,
                                         rel, op->path);
                goto fail;
            }
            /* The new entry durable before an intent can rely on the directory. */
            if (want_sync(c) && fsync(fd) < 0) {
                r = ajio__error_strerror(-errno, "fsync of the parent of new directory "
                                         "\"%s/%s\"", c->display, rel);
                goto fail;
            }
            next = openat(fd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0) {
            r = -errno;
            if (r == -ELOOP)
                r = -ENOTDIR;
            r = ajio__error_strerror(r, "open of directory \"%s/%s\" for \"%s\"%s", c->display,
                                     rel, op->path,
                                     r == -ENOTDIR ? " (symlinks are not followed in a "
                                                     "transaction)" : "");
            goto fail;
        }
        (void)close(fd);
        fd = next;
        if (e == NULL)
            break;
        *e = '/';
        s = e + 1;
    }
    if (fstat(fd, &st) < 0) {
        r = ajio__error_strerror(-errno, "fstat of the directory of \"%s/%s\"", c->display,
                                 op->path);
        goto fail;
    }
    /* rename(2) cannot cross filesystems: found now, before anything is renamed. */
    if (st.st_dev != c->dev) {
        r = ajio__error(-EXDEV, "transaction in \"%s\": \"%s\" is on another filesystem",
                        c->display, op->path);
        goto fail;
    }
    if (c->ndirs == c->dirs_cap) {
        size_t cap = c->dirs_cap ? c->dirs_cap * 2 : 8;
        struct tdir *v = realloc(c->dirs, cap * sizeof(*v));
        if (v == NULL) {
            r = ajio__error_strerror(-ENOMEM, "transaction in \"%s\"", c->display);
            goto fail;
        }
        c->dirs = v;
        c->dirs_cap = cap;
    }
    struct tdir *d = &c->dirs[c->ndirs];
    d->rel = strdup(rel);
    if (d->rel == NULL) {
        r = ajio__error_strerror(-ENOMEM, "transaction in \"%s\"", c->display);
        goto fail;
    }
    d->fd = fd;
    d->dev = st.st_dev;
    d->ino = st.st_ino;
    d->touched = false;
    d->staged = false;
    op->dir = c->ndirs++;
    return 0;
fail:
    (void)close(fd);
    return r;
}

static int cmp_lock_order(const void *a, const void *b)
{
    const struct op *x = *(const struct op *const *)a, *y = *(const struct op *const *)b;

    if (x->dir == SIZE_MAX || y->dir == SIZE_MAX)
        return (x->dir == SIZE_MAX) - (y->dir == SIZE_MAX);
    return strcmp(x->path, y->path);
}

/*
 * Takes the lock of every member whose directory exists, in the order of their paths below DIR:
 * two transactions of one directory are serialised by DIR's lock already; the order keeps a
 * transaction of a directory and one of its subdirectory, which share members, from waiting for
 * each other for ever (the paths of shared members sort alike from both). Single-file writers
 * take one lock only.
 */
static int lock_members(struct ctx *c, struct op *ops, size_t n, int timeout_ms, int64_t deadline)
{
    struct op **order = malloc((n ? n : 1) * sizeof(*order));
    int r = 0;

    if (order == NULL)
        return ajio__error_strerror(-ENOMEM, "transaction in \"%s\"", c->display);
    for (size_t i = 0; i < n; i++)
        order[i] = &ops[i];
    qsort(order, n, sizeof(*order), cmp_lock_order);
    for (size_t i = 0; i < n && r == 0; i++) {
        struct op *op = order[i];
        struct ajio__target *s = c->scratch;
        char name[NAME_MAX + 1];
        int len;

        if (op->dir == SIZE_MAX)
            continue;
        ajio__target_init(s);
        s->flags = c->flags;
        s->dirfd = c->dirs[op->dir].fd;
        len = snprintf(s->path, PATH_MAX, "%s/%s", c->display, op->path);
        if (len < 0 || len >= PATH_MAX) {
            r = ajio__error(-ENAMETOOLONG, "transaction in \"%s\": \"%s\" too long", c->display,
                            op->path);
            break;
        }
        s->name = s->path + len - strlen(op->name);
        s->dirlen = (size_t)(s->name - s->path) - 1;
        ajio__lock_name(name, op->name);
        r = ajio__lock_take(s, name, timeout_ms, deadline);
        op->lockfd = s->lockfd;
        s->lockfd = -1;
        s->dirfd = -1;
    }
    free(order);
    return r;
}

static void unlock_members(struct op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].lockfd >= 0)
            (void)close(ops[i].lockfd); /* never written: closing only unlocks */
        ops[i].lockfd = -1;
    }
}

static void ctx_close_dirs(struct ctx *c)
{
    for (size_t i = 0; i < c->ndirs; i++) {
        (void)close(c->dirs[i].fd); /* read-only */
        free(c->dirs[i].rel);
    }
    free(c->dirs);
    c->dirs = NULL;
    c->ndirs = c->dirs_cap = 0;
}

/*
 * The renames and removals of an intent that is durable, then the syncs, then the intent
 * removed: what a commit does after its commit point and what recovery redoes, so each step
 * must be idempotent. A temp that is gone has been renamed.
 */
static int apply(struct ctx *c, struct op *ops, size_t n)
{
    int r;

    for (size_t i = 0; i < n; i++) {
        struct op *op = &ops[i];

        if (op->remove) {
            if (op->dir == SIZE_MAX)
                continue;
            /*
             * EISDIR: a directory made at the name after the commit checked it (by a program
             * that does not take the member's lock). Not a file of the set: it is left, rather
             * than keep every later recovery of DIR failing on it.
             */
            if (unlinkat(c->dirs[op->dir].fd, op->name, 0) == 0)
                c->dirs[op->dir].touched = true;
            else if (errno != ENOENT && errno != EISDIR)
                return ajio__error_strerror(-errno, "removal of \"%s/%s\" in a transaction "
                                            "(recorded: ajio_recover() or the next transaction "
                                            "completes it)", c->display, op->path);
            continue;
        }
        if (op->dir == SIZE_MAX)
            continue; /* its directory removed since, and the temp with it: nothing to rename */
        if (renameat(c->dirs[op->dir].fd, op->tmp, c->dirs[op->dir].fd, op->name) == 0) {
            c->dirs[op->dir].touched = true;
            continue;
        }
        struct stat st;
        if (errno == ENOENT &&
            fstatat(c->dirs[op->dir].fd, op->tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
            errno == ENOENT)
            continue; /* renamed before a crash */
        return ajio__error_strerror(-errno, "rename of temp \"%s\" over \"%s/%s\" in a "
                                    "transaction (recorded: ajio_recover() or the next "
                                    "transaction completes it)", op->tmp, c->display, op->path);
    }
    /* Every rename durable before the intent that would redo it goes. */
    for (size_t i = 0; i < c->ndirs; i++)
        if (c->dirs[i].touched && c->dirs[i].rel[0] != '\0') {
            r = fsync_dir(c, c->dirs[i].fd, c->dirs[i].rel);
            if (r < 0)
                return r;
        }
    r = fsync_dir(c, c->dirfd, "");
    if (r < 0)
        return r;
    if (unlinkat(c->dirfd, INTENT_NAME, 0) < 0 && errno != ENOENT)
        return ajio__error_strerror(-errno, "removal of \"%s/" INTENT_NAME "\" after the "
                                    "transaction was applied", c->display);
    return fsync_dir(c, c->dirfd, "");
}

/*
 * The intent: "ajio-txn 2\n", then per member "R" TEMP NUL PATH NUL or "D" PATH NUL, then
 * "end N HASH\n" with N the number of members and HASH the FNV-1a 64 of every byte before "end".
 * NUL separates because it is the one byte a path cannot hold.
 */
static int intent_format(const struct op *ops, size_t n, char **ret, size_t *ret_len)
{
    size_t cap = 64, len;
    char *buf;

    for (size_t i = 0; i < n; i++)
        cap += strlen(ops[i].path) + TEMP_LEN + 4;
    buf = malloc(cap);
    if (buf == NULL)
        return -ENOMEM;
    len = (size_t)sprintf(buf, INTENT_MAGIC "%d\n", INTENT_VERSION);
    for (size_t i = 0; i < n; i++) {
        size_t pl = strlen(ops[i].path) + 1;
        if (ops[i].remove) {
            buf[len++] = 'D';
        } else {
            buf[len++] = 'R';
            memcpy(buf + len, ops[i].tmp, TEMP_LEN + 1);
            len += TEMP_LEN + 1;
        }
        memcpy(buf + len, ops[i].path, pl);
        len += pl;
    }
    len += (size_t)sprintf(buf + len, "end %zu %016llx\n", n,
                           (unsigned long long)ajio__fnv1a64(buf, len));
    *ret = buf;
    *ret_len = len;
    return 0;
}

static void free_ops(struct op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ops[i].path);
    free(ops);
}

/*
 * Parses an intent or a plan (file: which): nothing half-read is ever acted on, with one
 * exception, salvage (for a plan only): a plan whose checksum fails still gives, with -EBADMSG,
 * the whole records before its first broken one, so that a roll-back removes the temps they name
 * (a plan cut short by a crash had none yet; one damaged after its temps were made did).
 */
static int intent_parse(const char *display, const char *file, char *buf, size_t len,
                        bool salvage, struct op **ret, size_t *ret_n)
{
    size_t ml = strlen(INTENT_MAGIC), n = 0, count = 0, pos;
    unsigned long long sum;
    char *end, *endrec = NULL;
    struct op *ops = NULL;
    bool broken = false;
    long version;

    if (len < ml || memcmp(buf, INTENT_MAGIC, ml) != 0)
        return ajio__error(-EBADMSG, "\"%s/%s\" is not a transaction's "
                           "intent: left as it is, nothing applied", display, file);
    version = strtol(buf + ml, &end, 10);
    if (end == buf + ml || (size_t)(end - buf) >= len || *end != '\n')
        return ajio__error(-EBADMSG, "\"%s/%s\" is corrupt (no version): "
                           "left as it is, nothing applied", display, file);
    if (version != INTENT_VERSION)
        return ajio__error(-EPROTONOSUPPORT, "\"%s/%s\" is of version %ld, "
                           "this library reads version %d: left as it is, nothing applied (the "
                           "library that wrote it recovers it)", display, file, version,
                           INTENT_VERSION);
    /* The trailer is the last "end " after a NUL or the header's '\n': a path may hold "end ". */
    for (size_t i = len; i-- > 4;)
        if (memcmp(buf + i - 4, "end ", 4) == 0 && (buf[i - 5] == '\0' || buf[i - 5] == '\n')) {
            endrec = buf + i - 4;
            break;
        }
    if (endrec == NULL || buf[len - 1] != '\n' ||
        sscanf(endrec, "end %zu %16llx", &count, &sum) != 2 ||
        ajio__fnv1a64(buf, (size_t)(endrec - buf)) != sum) {
        if (!salvage)
            return ajio__error(-EBADMSG, "\"%s/%s\" is corrupt (its checksum "
                               "does not match): left as it is, nothing applied", display, file);
        broken = true;
        endrec = buf + len;
        count = len / 3; /* the shortest record, "D" NAME NUL, is 3 bytes */
    }
    ops = calloc(count ? count : 1, sizeof(*ops));
    if (ops == NULL)
        return ajio__error_strerror(-ENOMEM, "reading \"%s/%s\"", display, file);
    pos = (size_t)(end - buf) + 1;
    while (buf + pos < endrec) {
        struct op *op = &ops[n];
        const char *tmp = NULL, *path;
        size_t avail = (size_t)(endrec - (buf + pos));
        char kind = buf[pos++];

        if (n == count || (kind != 'R' && kind != 'D'))
            goto corrupt;
        if (kind == 'R') {
            tmp = buf + pos;
            if (strnlen(tmp, avail) != TEMP_LEN || !is_txn_temp(tmp))
                goto corrupt;
            pos += TEMP_LEN + 1;
        }
        path = buf + pos;
        if (buf + pos >= endrec ||
            strnlen(path, (size_t)(endrec - path)) == (size_t)(endrec - path))
            goto corrupt;
        pos += strlen(path) + 1;
        if (check_relpath(display, path) < 0)
            goto corrupt;
        op->path = strdup(path);
        if (op->path == NULL) {
            free_ops(ops, n);
            return ajio__error_strerror(-ENOMEM, "reading \"%s/%s\"", display, file);
        }
        op->name = strrchr(op->path, '/') ? strrchr(op->path, '/') + 1 : op->path;
        op->remove = kind == 'D';
        if (tmp != NULL)
            memcpy(op->tmp, tmp, TEMP_LEN + 1);
        op->lockfd = -1;
        op->dir = SIZE_MAX;
        n++;
    }
    if (n != count && !broken)
        goto corrupt;
    *ret = ops;
    *ret_n = n;
    return broken ? -EBADMSG : 0;
corrupt:
    if (broken) {
        *ret = ops;
        *ret_n = n;
        return -EBADMSG;
    }
    free_ops(ops, n);
    return ajio__error(-EBADMSG, "\"%s/%s\" is corrupt (its records do not "
                       "parse): left as it is, nothing applied", display, file);
}

/* Reads DIR's file name (the intent or the plan): 0 when there is none, 1 and *ret when read. */
static int read_record(struct ctx *c, const char *name, char **ret, size_t *ret_len)
{
    int fd = openat(c->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    size_t len = 0, cap = 4096;
    char *buf;

    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0)
        return ajio__error_strerror(-errno, "open of \"%s/%s\"", c->display, name);
    buf = malloc(cap);
    for (;;) {
        ssize_t k;

        if (buf != NULL && len == cap && cap < INTENT_MAX) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL)
                free(buf);
            buf = nb;
            cap *= 2;
        }
        if (buf == NULL) {
            (void)close(fd);
            return ajio__error_strerror(-ENOMEM, "reading \"%s/%s\"", c->display, name);
        }
        if (len == cap) {
            free(buf);
            (void)close(fd);
            return ajio__error(-EBADMSG, "\"%s/%s\" is over %u bytes: left as it is", c->display,
                               name, INTENT_MAX);
        }
        k = read(fd, buf + len, cap - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int r = ajio__error_strerror(-errno, "read of \"%s/%s\"", c->display, name);
            free(buf);
            (void)close(fd);
            return r;
        }
        if (k == 0)
            break;
        len += (size_t)k;
    }
    (void)close(fd); /* read-only */
    *ret = buf;
    *ret_len = len;
    return 1;
}

/*
 * No intent: a commit that died before its commit point. Every temp its plan names goes, each
 * from its member's directory (a directory that is gone held none), those directories are
 * synced, then the plan goes. A plan cut short by the crash is removed as it is: temps are made
 * only once the whole plan is durable, so no temp can exist for it. A plan of another version is
 * left, as an intent would be.
 */
static int roll_back(struct ctx *c, bool *ret_did)
{
    struct op *ops = NULL;
    size_t n = 0, len = 0;
    char *buf = NULL;
    int r = read_record(c, INTENT_NEW, &buf, &len);

    if (r <= 0)
        return r;
    r = intent_parse(c->display, INTENT_NEW, buf, len, true, &ops, &n);
    free(buf);
    if (r == -EPROTONOSUPPORT)
        return r;
    if (r == -EBADMSG)
        r = 0; /* cut short (or damaged): the temps of its whole records go, see above */
    for (size_t i = 0; i < n && r == 0; i++) {
        if (ops[i].remove)
            continue;
        r = open_dir_of(c, &ops[i], false);
        if (r == -ENOTDIR)
            r = 0; /* a directory since replaced by a file or a symlink: no temp is reachable */
        if (r < 0 || ops[i].dir == SIZE_MAX)
            continue;
        if (unlinkat(c->dirs[ops[i].dir].fd, ops[i].tmp, 0) == 0)
            c->dirs[ops[i].dir].touched = true;
        else if (errno != ENOENT)
            r = ajio__error_strerror(-errno, "removal of leftover temp \"%s\" of \"%s/%s\"",
                                     ops[i].tmp, c->display, ops[i].path);
    }
    /* The removals durable before the plan that finds the temps goes. */
    for (size_t i = 0; i < c->ndirs && r == 0; i++)
        if (c->dirs[i].touched && c->dirs[i].rel[0] != '\0')
            r = fsync_dir(c, c->dirs[i].fd, c->dirs[i].rel);
    free_ops(ops, n);
    ctx_close_dirs(c);
    if (r == 0 && unlinkat(c->dirfd, INTENT_NEW, 0) < 0 && errno != ENOENT)
        r = ajio__error_strerror(-errno, "removal of leftover \"%s/" INTENT_NEW "\"", c->display);
    if (r == 0)
        r = fsync_dir(c, c->dirfd, "");
    if (r == 0)
        *ret_did = true;
    return r;
}

/*
 * Under DIR's lock: a durable intent is rolled forward, else leftovers are rolled back.
 * @return 0 (nothing to do), 1 (something done), or a negative errno.
 */
static int recover_locked(struct ctx *c, int timeout_ms, int64_t deadline)
{
    struct op *ops = NULL;
    size_t n = 0, len = 0;
    char *buf = NULL;
    bool did = false;
    int r = read_record(c, INTENT_NAME, &buf, &len);

    if (r < 0)
        return r;
    if (r == 0) {
        r = roll_back(c, &did);
        return r < 0 ? r : did;
    }
    r = intent_parse(c->display, INTENT_NAME, buf, len, false, &ops, &n);
    free(buf);
    if (r < 0)
        return r;
    /* Nothing is created: a temp is in its member's directory, so a missing one holds none. */
    for (size_t i = 0; i < n && r == 0; i++)
        r = open_dir_of(c, &ops[i], false);
    if (r == 0)
        r = lock_members(c, ops, n, timeout_ms, deadline);
    if (r == 0)
        r = apply(c, ops, n);
    unlock_members(ops, n);
    free_ops(ops, n);
    ctx_close_dirs(c);
    return r < 0 ? r : 1;
}

static int ctx_lock(struct ctx *c, const ajio_opts *opts, int *ret_timeout, int64_t *ret_deadline)
{
    struct ajio__target *s = c->scratch;
    int timeout_ms = ajio__lock_wait_ms(opts);
    int64_t deadline = timeout_ms > 0 ? ajio__now_ns() + (int64_t)timeout_ms * 1000000 : 0;
    int len, r;

    ajio__target_init(s);
    s->flags = c->flags;
    s->dirfd = c->dirfd;
    len = snprintf(s->path, PATH_MAX, "%s/" LOCK_TARGET, c->display);
    if (len < 0 || len >= PATH_MAX)
        return ajio__error(-ENAMETOOLONG, "transaction in \"%s\": path too long", c->display);
    s->name = s->path + len - strlen(LOCK_TARGET);
    s->dirlen = (size_t)(s->name - s->path) - 1;
    r = ajio__lock_take(s, LOCK_NAME, timeout_ms, deadline);
    c->lockfd = s->lockfd;
    s->lockfd = -1;
    s->dirfd = -1;
    *ret_timeout = timeout_ms;
    *ret_deadline = deadline;
    return r;
}

static int ctx_init(struct ctx *c, const char *display, int dirfd, dev_t dev, unsigned flags)
{
    *c = (struct ctx){.display = display, .dirfd = dirfd, .dev = dev,
                      .flags = flags & ~(unsigned)AJIO_SYNC_EACH, .lockfd = -1,
                      .sync_each = (flags & AJIO_SYNC_EACH) != 0};
    c->scratch = malloc(sizeof(*c->scratch));
    if (c->scratch == NULL)
        return ajio__error_strerror(-ENOMEM, "transaction in \"%s\"", display);
    return 0;
}

static void ctx_done(struct ctx *c)
{
    ctx_close_dirs(c);
    if (c->lockfd >= 0)
        (void)close(c->lockfd); /* last: releases DIR's lock after everything above */
    c->lockfd = -1;
    free(c->scratch);
}

/* Opens DIR (created with its parents unless AJIO_NO_MKDIR) as a readable directory. */
static int open_txn_dir(const char *dir, unsigned flags, int *ret_fd, dev_t *ret_dev)
{
    struct ajio__target *t = malloc(sizeof(*t));
    struct stat st;
    int fd, r;

    if (t == NULL)
        return ajio__error_strerror(-ENOMEM, "transaction in \"%s\"", dir);
    ajio__target_init(t);
    t->flags = flags;
    r = ajio__resolve_dir(t, dir);
    if (r < 0) {
        ajio__target_close(t);
        free(t);
        return r;
    }
    /* Read (recovery lists it for leftover temps) and fsync'ed: O_PATH will not do. */
    fd = openat(t->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    r = fd < 0 ? ajio__error_strerror(-errno, "open of directory \"%s\"", dir) : 0;
    ajio__target_close(t);
    free(t);
    if (r == 0 && fstat(fd, &st) < 0) {
        r = ajio__error_strerror(-errno, "fstat of directory \"%s\"", dir);
        (void)close(fd);
    }
    if (r < 0)
        return r;
    *ret_fd = fd;
    *ret_dev = st.st_dev;
    return 0;
}

static int check_opts(const char *what, const char *dir, const ajio_opts *opts)
{
    ajio_opts o = {0};
    int r;

    if (dir == NULL || dir[0] == '\0')
        return ajio__error(-EINVAL, "%s: the directory is %s", what, dir ? "empty" : "NULL");
    if (opts != NULL)
        o = *opts;
    o.flags &= ~(unsigned)AJIO_SYNC_EACH;
    r = ajio__check_args(dir, &o);
    if (r < 0)
        return r;
    if (o.flags & ~(unsigned)TXN_FLAGS)
        return ajio__error(-EINVAL, "%s: option flags 0x%x are not for transactions", what,
                           o.flags & ~(unsigned)TXN_FLAGS);
    return 0;
}

int ajio_txn_begin(ajio_txn **ret, const char *dir, const ajio_opts *opts)
{
    struct ajio_txn *t;
    int r;

    if (ret == NULL)
        return ajio__error(-EINVAL, "ajio_txn_begin: ret is NULL");
    r = check_opts("ajio_txn_begin", dir, opts);
    if (r < 0)
        return r;
    t = calloc(1, sizeof(*t));
    if (t == NULL || (t->display = strdup(dir)) == NULL) {
        free(t);
        return ajio__error_strerror(-ENOMEM, "transaction in \"%s\"", dir);
    }
    if (opts != NULL)
        t->opts = *opts;
    r = open_txn_dir(dir, t->opts.flags, &t->dirfd, &t->dev);
    if (r < 0) {
        free(t->display);
        free(t);
        return r;
    }
    *ret = t;
    return 0;
}

static int add(ajio_txn *t, const char *path, const void *data, size_t len, bool remove)
{
    struct op *op;
    size_t plen;
    int r;

    if (t == NULL)
        return ajio__error(-EINVAL, "transaction: the handle is NULL");
    r = check_relpath(t->display, path);
    if (r < 0)
        return r;
    if (data == NULL && len > 0)
        return ajio__error(-EINVAL, "transaction in \"%s\": data is NULL with length %zu for "
                           "\"%s\"", t->display, len, path);
    if (t->committed)
        return ajio__error(-EINVAL, "transaction in \"%s\": \"%s\" added after the commit",
                           t->display, path);
    /* One outcome per member: a second write or removal of it would be ambiguous. */
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].path, path) == 0)
            return ajio__error(-EEXIST, "transaction in \"%s\": \"%s\" is in it already",
                               t->display, path);
    if (!remove) {
        struct iovec one = {(void *)data, len}, *iov = &one;
        int iovcnt = 1;

        r = ajio__check_content(path, t->opts.flags, &iov, &iovcnt, NULL);
        if (r < 0)
            return r;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct op *v = realloc(t->v, cap * sizeof(*v));
        if (v == NULL)
            return ajio__error_strerror(-ENOMEM, "transaction: adding \"%s\"", path);
        t->v = v;
        t->cap = cap;
    }
    plen = strlen(path);
    op = &t->v[t->n];
    *op = (struct op){.len = len, .remove = remove, .dir = SIZE_MAX, .lockfd = -1};
    op->path = malloc(plen + 1 + len);
    if (op->path == NULL)
        return ajio__error_strerror(-ENOMEM, "transaction: adding \"%s\" (%zu bytes)", path, len);
    memcpy(op->path, path, plen + 1);
    op->data = op->path + plen + 1;
    if (len > 0)
        memcpy(op->data, data, len);
    op->name = strrchr(op->path, '/') ? strrchr(op->path, '/') + 1 : op->path;
    t->n++;
    return 0;
}

/*
 * A member refused (invalid JSON, a bad path) poisons the transaction: committing the others
 * would change a set the caller meant to change as a whole.
 */
static int added(ajio_txn *t, int r)
{
    if (r < 0 && t != NULL && t->err == 0 && !t->committed) {
        t->err = r;
        t->errmsg = strdup(ajio_last_error());
    }
    return r;
}

int ajio_txn_write(ajio_txn *t, const char *relpath, const void *data, size_t len)
{
    return added(t, add(t, relpath, data, len, false));
}

int ajio_txn_remove(ajio_txn *t, const char *relpath)
{
    return added(t, add(t, relpath, NULL, 0, true));
}

size_t ajio_txn_count(const ajio_txn *t)
{
    return t != NULL ? t->n : 0;
}

/*
 * Names every write's temp before the plan records them: random, as a regular temp's, and
 * distinct within the transaction (two members of one directory must not share one).
 */
static void choose_temp_names(struct op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].remove)
            continue;
        for (bool again = true; again;) {
            char hex[NAME_MAX + 1];

            /* The random part of a regular temp name, reused: unique enough, and tested. */
            ajio__temp_name(hex, "x");
            snprintf(ops[i].tmp, sizeof(ops[i].tmp), TEMP_PREFIX "%.16s.tmp",
                     hex + 2 + AJIO__TEMP_SUFFIX_LEN);
            again = false;
            for (size_t j = 0; j < i; j++)
                if (strcmp(ops[j].tmp, ops[i].tmp) == 0)
                    again = true;
        }
    }
}

/*
 * Whether the temps of a round are made durable by one syncfs(2) of DIR's filesystem (every
 * member is on it) rather than an fdatasync each: as a batch's (batch.c), unless the
 * filesystem is shared, AJIO_SYNC_EACH was asked, or syncfs reports no writeback error.
 */
static bool sync_by_fs(struct ctx *c)
{
    ajio_fs_kind kind;

    if (c->by_fs == 0)
        c->by_fs = ajio__sync_by_fs(c->sync_each,
                                    ajio__fs_kind(c->dirfd, &kind) == 0 && kind == AJIO_FS_LOCAL)
                       ? 1
                       : 2;
    return c->by_fs == 1;
}

/*
 * A member's temp, beside it: its bytes, and the access ACL, extended attributes, owner and
 * mode of the file it replaces (or those a new file gets), all set before any name points to
 * the new content. Its data sync is left to the caller.
 */
static int make_temp(struct ctx *c, const ajio_opts *opts, struct op *op, int *ret_fd)
{
    struct iovec one = {op->data, op->len}, storage[4], *iov = &one;
    struct tdir *d = &c->dirs[op->dir];
    int fd = -1, iovcnt = 1, r;
    bool exists = false;
    struct stat st;

    if (fstatat(d->fd, op->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISDIR(st.st_mode))
            return ajio__error(-EISDIR, "transaction in \"%s\": \"%s\" is a directory",
                               c->display, op->path);
        if (!S_ISREG(st.st_mode))
            return ajio__error(S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL,
                               "transaction in \"%s\": \"%s\" is not a regular file (symlinks "
                               "are not followed in a transaction)", c->display, op->path);
        exists = true;
    } else if (errno != ENOENT) {
        return ajio__error_strerror(-errno, "stat of \"%s/%s\"", c->display, op->path);
    }
    /*
     * The name is the plan's: a file already there (never one of ours: the names are random and
     * reserved) fails the commit rather than be taken. A new file's permissions come from the
     * umask and the directory's default ACL through creat's mode, as for creat(2).
     */
    fd = openat(d->fd, op->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                exists || (opts->flags & AJIO_MODE) ? 0600 : 0666);
    if (fd < 0)
        return ajio__error_strerror(-errno, "create of temp \"%s\" for \"%s/%s\"", op->tmp,
                                    c->display, op->path);
    op->made = true;
    d->staged = true;
    ajio__content_terminate(opts->flags, &iov, &iovcnt, storage);
    r = ajio__writev_all(fd, iov, iovcnt);
    if (r < 0) {
        r = ajio__error_strerror(r, "write of temp for \"%s/%s\"", c->display, op->path);
        goto fail;
    }
    /*
     * The ACL and attributes of the replaced file, as a single-file write keeps them (meta.c:
     * with AJIO_MODE no ACL); first, since setting an access ACL rewrites the mode, which must
     * be the last word. Then its owner and mode, or the group bits dropped where its group
     * cannot be kept, exactly as a single-file write does.
     */
    if (exists || (opts->flags & AJIO_MODE)) {
        struct ajio__target *s = c->scratch;
        struct ajio__perms p;
        int len;

        ajio__target_init(s);
        s->flags = c->flags;
        s->dirfd = d->fd;
        s->dir_borrowed = true; /* name it by d->fd: the path is DIR as given, maybe relative */
        len = snprintf(s->path, PATH_MAX, "%s/%s", c->display, op->path);
        if (len < 0 || len >= PATH_MAX) {
            r = ajio__error(-ENAMETOOLONG, "transaction in \"%s\": \"%s\" too long", c->display,
                            op->path);
            goto fail;
        }
        s->name = s->path + len - strlen(op->name);
        s->dirlen = (size_t)(s->name - s->path) - 1;
        r = exists ? ajio__copy_meta(s, fd) : 0;
        s->dirfd = -1; /* lent */
        ajio__perms_init(&p);
        if (exists)
            p = (struct ajio__perms){.chown = true, .uid = st.st_uid, .gid = st.st_gid,
                                     .mode = st.st_mode & 07777};
        if (opts->flags & AJIO_MODE)
            p.mode = opts->mode & 07777;
        if (r == 0)
            r = ajio__set_perms(fd, &p, s->path);
        if (r < 0)
            goto fail;
    }
    /* Writeback started for the fdatasync of each temp; a syncfs starts it for all (batch.c). */
    if (want_sync(c) && !sync_by_fs(c) && sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) < 0 &&
        errno != ESPIPE) {
        r = ajio__error_strerror(-errno, "sync_file_range of temp for \"%s/%s\"", c->display,
                                 op->path);
        goto fail;
    }
    *ret_fd = fd;
    return 0;
fail:
    (void)close(fd); /* removed by the caller */
    return r;
}

/*
 * The temps of members [from, to) written, then synced together, then closed. A syncfs that
 * fails may have failed for another program's file: each temp's own fdatasync then decides.
 * It is called on the round's first temp, opened before the others were written, so that a
 * writeback error of any of them is one it reports.
 */
static int stage_round(struct ctx *c, const ajio_opts *opts, struct op *ops, size_t from,
                       size_t to)
{
    int fds[ROUND];
    size_t k = 0;
    int r = 0;
    bool synced;

    for (size_t i = from; i < to && r == 0; i++)
        if (!ops[i].remove && (r = make_temp(c, opts, &ops[i], &fds[k])) == 0)
            k++;
    synced = r == 0 && want_sync(c) && k >= 2 && sync_by_fs(c);
#ifndef AJIO_TEST_OMIT_FILE_SYNC /* negative control of the power-cut suite only */
    if (synced)
        synced = syncfs(fds[0]) == 0;
#else
    (void)synced;
#endif
    for (size_t j = 0; j < k; j++) {
#ifndef AJIO_TEST_OMIT_FILE_SYNC /* negative control of the power-cut suite only */
        if (r == 0 && want_sync(c) && !synced && fdatasync(fds[j]) < 0)
            r = ajio__error_strerror(-errno, "fdatasync of a temp of the transaction in \"%s\"",
                                     c->display);
#endif
        if (close(fds[j]) < 0 && r == 0)
            r = ajio__error_strerror(-errno, "close of a temp of the transaction in \"%s\"",
                                     c->display);
    }
    return r;
}

/*
 * A member to remove that is a directory is refused before the plan, with nothing changed: after
 * the commit point it could only be skipped. Its member lock keeps AJIO_LOCK writers from
 * changing it from here on.
 */
static int check_removal(struct ctx *c, const struct op *op)
{
    struct stat st;

    if (!op->remove || op->dir == SIZE_MAX)
        return 0;
    if (fstatat(c->dirs[op->dir].fd, op->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : ajio__error_strerror(-errno, "stat of \"%s/%s\"",
                                                          c->display, op->path);
    if (S_ISDIR(st.st_mode))
        return ajio__error(-EISDIR, "transaction in \"%s\": \"%s\" to remove is a directory "
                           "(a transaction removes files only): nothing changed", c->display,
                           op->path);
    return 0;
}

/*
 * The plan: the intent's bytes under INTENT_NEW, durable (data and name) before the first temp
 * is made, so that a recovery without an intent knows every temp there may be and where.
 */
static int write_plan(struct ctx *c, const struct op *ops, size_t n)
{
    struct iovec iov;
    size_t len;
    char *buf;
    int fd, r;

    r = intent_format(ops, n, &buf, &len);
    if (r < 0)
        return ajio__error_strerror(r, "plan of the transaction in \"%s\"", c->display);
    fd = openat(c->dirfd, INTENT_NEW, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                0600);
    if (fd < 0) {
        free(buf);
        return ajio__error_strerror(-errno, "create of \"%s/" INTENT_NEW "\"", c->display);
    }
    iov = (struct iovec){buf, len};
    r = ajio__writev_all(fd, &iov, 1);
    free(buf);
    if (r < 0)
        r = ajio__error_strerror(r, "write of \"%s/" INTENT_NEW "\"", c->display);
    if (r == 0 && want_sync(c) && fdatasync(fd) < 0)
        r = ajio__error_strerror(-errno, "fdatasync of \"%s/" INTENT_NEW "\"", c->display);
    if (close(fd) < 0 && r == 0)
        r = ajio__error_strerror(-errno, "close of \"%s/" INTENT_NEW "\"", c->display);
    if (r == 0)
        r = fsync_dir(c, c->dirfd, "");
    return r;
}

/*
 * Every temp's name durable in its directory (DIR's comes with the fsync below), then the plan
 * renamed to the intent: the commit point, a whole intent appears under its name or none does.
 */
static int commit_point(struct ctx *c, bool *ret_point)
{
    int r = 0;

    for (size_t i = 0; i < c->ndirs && r == 0; i++)
        if (c->dirs[i].staged && c->dirs[i].rel[0] != '\0')
            r = fsync_dir(c, c->dirs[i].fd, c->dirs[i].rel);
    if (r == 0 && renameat(c->dirfd, INTENT_NEW, c->dirfd, INTENT_NAME) < 0)
        r = ajio__error_strerror(-errno, "rename of \"%s/" INTENT_NEW "\" to " INTENT_NAME,
                                 c->display);
    /* From here the intent is there under its name: a failure must not undo the staging. */
    if (r == 0)
        *ret_point = true;
    if (r == 0)
        r = fsync_dir(c, c->dirfd, "");
    return r;
}

/* Before the commit point: what was made goes, the plan last, nothing was changed. */
static void undo_staging(struct ctx *c, struct op *ops, size_t n)
{
    bool kept = false;

#ifdef AJIO_TEST_TXN_KEEP_STAGING /* negative control of the fault-injection suite only */
    return;
#endif
    for (size_t i = 0; i < n; i++) {
        if (!ops[i].made || unlinkat(c->dirs[ops[i].dir].fd, ops[i].tmp, 0) == 0 ||
            errno == ENOENT)
            continue;
        ajio__error_append(" (and temp \"%s\" of \"%s/%s\" could not be removed: %s)",
                           ops[i].tmp, c->display, ops[i].path, ajio_strerror(-errno));
        kept = true;
    }
    /* A temp left is still found by recovery through the plan. */
    if (!kept && unlinkat(c->dirfd, INTENT_NEW, 0) < 0 && errno != ENOENT)
        ajio__error_append(" (and \"%s/" INTENT_NEW "\" could not be removed: %s)", c->display,
                           ajio_strerror(-errno));
}

int ajio_txn_commit(ajio_txn *t)
{
    struct ctx c;
    int timeout_ms, r;
    int64_t deadline;
    bool staged = false, point = false;

    if (t == NULL)
        return ajio__error(-EINVAL, "ajio_txn_commit: the transaction is NULL");
    if (t->committed)
        return ajio__error(-EINVAL, "transaction in \"%s\": committed already", t->display);
    t->committed = true;
    if (t->err < 0)
        return ajio__error(t->err, "transaction in \"%s\" not committed, nothing changed: a "
                           "member was refused: %s", t->display,
                           t->errmsg != NULL ? t->errmsg : ajio_strerror(t->err));
    r = ctx_init(&c, t->display, t->dirfd, t->dev, t->opts.flags);
    if (r < 0)
        return r;
    r = ctx_lock(&c, &t->opts, &timeout_ms, &deadline);
    /* Never build on a half-applied set: a dead commit is finished or undone first. */
    if (r == 0)
        r = recover_locked(&c, timeout_ms, deadline);
    for (size_t i = 0; i < t->n && r >= 0; i++)
        r = open_dir_of(&c, &t->v[i], !t->v[i].remove);
    if (r >= 0)
        r = lock_members(&c, t->v, t->n, timeout_ms, deadline);
    for (size_t i = 0; i < t->n && r >= 0; i++)
        r = check_removal(&c, &t->v[i]);
    if (r >= 0) {
        choose_temp_names(t->v, t->n);
        staged = true;
        r = write_plan(&c, t->v, t->n);
    }
    for (size_t i = 0; i < t->n && r >= 0; i += ROUND)
        r = stage_round(&c, &t->opts, t->v, i, t->n - i < ROUND ? t->n : i + ROUND);
#ifdef AJIO_TEST_RENAME_BEFORE_INTENT /* negative control of the power-cut suite only */
    if (r >= 0)
        r = apply(&c, t->v, t->n); /* the renames before the intent that would redo them */
#endif
    if (r >= 0)
        r = commit_point(&c, &point);
    if (r >= 0)
        r = apply(&c, t->v, t->n);
    if (r < 0 && staged && !point)
        undo_staging(&c, t->v, t->n);
    unlock_members(t->v, t->n);
    ctx_done(&c);
    return r < 0 ? r : 0;
}

void ajio_txn_free(ajio_txn *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].path);
    free(t->v);
    free(t->errmsg);
    if (t->dirfd >= 0)
        (void)close(t->dirfd); /* read-only */
    free(t->display);
    free(t);
}

int ajio_recover(const char *dir, const ajio_opts *opts)
{
    ajio_opts o = opts != NULL ? *opts : (ajio_opts){0};
    struct ctx c;
    int fd, timeout_ms, r;
    int64_t deadline;
    dev_t dev;

    r = check_opts("ajio_recover", dir, opts);
    if (r < 0)
        return r;
    /* Nothing to recover in a directory that is not there: never created here. */
    r = open_txn_dir(dir, o.flags | AJIO_NO_MKDIR, &fd, &dev);
    if (r < 0)
        return r;
    r = ctx_init(&c, dir, fd, dev, o.flags);
    if (r == 0)
        r = ctx_lock(&c, &o, &timeout_ms, &deadline);
    if (r == 0)
        r = recover_locked(&c, timeout_ms, deadline);
    ctx_done(&c);
    (void)close(fd); /* read-only */
    return r < 0 ? r : r > 0 ? AJIO_REPAIRED : 0;
}

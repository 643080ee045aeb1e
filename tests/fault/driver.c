/*
 * driver.c - one atomic write through libajio, for the fault-injection harness
 * (tests/fault/run.sh) and the filesystem matrix (tests/fs/run.sh).
 *
 *   driver [-m MODE] [-c CHUNK] [-o FLAG,...] [-M MODE] [-X] [-n] [-P] TARGET PAYLOAD
 *
 * MODE is how TARGET is written: bytes (ajio_write_bytes, the default), text, stream (ajio_file_open,
 * ajio_file_write in chunks, ajio_file_commit), update (ajio_update whose callback writes PAYLOAD), append
 * (ajio_append of PAYLOAD), log (ajio_log_open, ajio_log_append of PAYLOAD, ajio_log_close:
 * the first error of the three), repair (ajio_repair of TARGET; PAYLOAD is not used), batch
 * (one ajio_batch of PAYLOAD into TARGET and TARGET.2), txn (one transaction in the directory
 * TARGET: PAYLOAD into a.json and sub/b.json, gone.json removed; begin, commit and free),
 * recover (ajio_recover of the directory TARGET), publish (ajio_publish of TARGET/src as
 * TARGET/cur), gc (ajio_snapshot_gc of TARGET/cur).
 *
 * It reads PAYLOAD into memory first, then makes exactly one write of TARGET and prints one line:
 *
 *   ret=<return value> name=<ajio_err_name> fds=<fd delta> heap=<heap delta> msg=<last error>
 *
 * The write is framed by two access(2) calls on paths that do not exist
 * ("/.ajio-fault-begin", "/.ajio-fault-end"), so that a trace of the run shows exactly which
 * syscalls belong to the library: the harness numbers the syscalls between the two marks and
 * fails each one in turn.
 *
 * fds and heap are measured around the write only: the number of open descriptors (probed with
 * fcntl, which neither allocates nor opens anything) and the bytes in use on the malloc heap
 * (mallinfo2). Both must be 0 after any result, success or failure: the library may not leak a
 * descriptor or a buffer on any error path.
 *
 * -P denies listxattrat(2) and getxattrat(2) (ENOSYS, as a kernel before 6.13 would) so that the
 * library names the old file by its path: strace 6.1 cannot fail the *at calls, which it knows
 * only by number, and the harness fails llistxattr and lgetxattr instead.
 *
 * -n is the negative control of the resource tests: a naive in-place write (open O_TRUNC, write)
 * of the kind the library exists to replace. On a full or read-only filesystem it destroys the
 * target, and the checks must say so.
 *
 * Exit status: 0 whatever the write returned (the harness judges the printed line), 2 on usage
 * or setup errors.
 */
#include "ajio.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARK_BEGIN "/.ajio-fault-begin"
#define MARK_END "/.ajio-fault-end"

/* -P: listxattrat (465) and getxattrat (464) fail with ENOSYS. */
static void deny_xattr_at_calls(void)
{
    struct sock_filter filt[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 464, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 465, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = 5, .filter = filt};

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
        perror("driver: seccomp");
        exit(2);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: driver [-m bytes|text|stream|update|append|log|repair|batch|txn|"
                    "recover|publish|gc] [-c CHUNK] "
                    "[-o FLAG,...] [-M MODE] [-X] [-n] [-P] TARGET PAYLOAD\n"
                    "  FLAG: no-sync no-mkdir replace-link no-follow create-only skip-unchanged "
                    "no-tmpfile jsonl no-repair\n");
    exit(2);
}

static unsigned parse_flags(char *list)
{
    static const struct {
        const char *name;
        unsigned flag;
    } names[] = {
        {"no-sync", AJIO_NO_SYNC},           {"no-mkdir", AJIO_NO_MKDIR},
        {"replace-link", AJIO_REPLACE_LINK}, {"no-follow", AJIO_NO_FOLLOW},
        {"create-only", AJIO_CREATE_ONLY},   {"skip-unchanged", AJIO_SKIP_UNCHANGED},
        {"no-tmpfile", AJIO_NO_TMPFILE},     {"jsonl", AJIO_JSONL},
        {"no-repair", AJIO_NO_REPAIR},       {"sync-each", AJIO_SYNC_EACH},
    };
    unsigned flags = 0;

    for (char *tok = strtok(list, ","); tok != NULL; tok = strtok(NULL, ",")) {
        size_t i;
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (strcmp(tok, names[i].name) == 0)
                break;
        if (i == sizeof(names) / sizeof(names[0])) {
            fprintf(stderr, "driver: unknown flag %s\n", tok);
            usage();
        }
        flags |= names[i].flag;
    }
    return flags;
}

static char *read_payload(const char *path, size_t *ret_len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (fp == NULL) {
        fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap + 1);
            if (buf == NULL) {
                fprintf(stderr, "driver: out of memory\n");
                exit(2);
            }
        }
        size_t n = fread(buf + len, 1, cap - len, fp);
        if (n == 0)
            break;
        len += n;
    }
    if (ferror(fp)) {
        fprintf(stderr, "driver: read %s: %s\n", path, strerror(errno));
        exit(2);
    }
    fclose(fp);
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

/* Open descriptors below 1024, probed with F_GETFD: no allocation, no new descriptor. */
static int count_fds(void)
{
    int n = 0;

    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

static long heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long)mi.uordblks;
}

/* Streaming: the payload in chunks, then one commit that reports any sticky write error. */
static int write_stream(const char *target, const char *data, size_t len, size_t chunk,
                        const ajio_opts *opts)
{
    ajio_file *f;
    int r = ajio_file_open(&f, target, opts);

    if (r < 0)
        return r;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        int w = ajio_file_write(f, data + off, n);
        if (w < 0)
            break; /* the handle keeps the error: the commit must return it and discard the temp */
    }
    return ajio_file_commit(f);
}

/* ajio_update()'s callback: the new content is the payload, whatever the old one was. */
struct payload {
    const char *data;
    size_t len;
};

static int put_payload(void *ctx, const void *old, size_t old_len, int exists, ajio_file *out)
{
    const struct payload *p = ctx;

    (void)old;
    (void)old_len;
    (void)exists;
    return ajio_file_write(out, p->data, p->len);
}

/* A log handle used once: its first error, or what the append returned. */
static int write_log(const char *target, const char *data, size_t len, const ajio_opts *opts)
{
    ajio_log *log;
    int r = ajio_log_open(&log, target, opts), c;

    if (r < 0)
        return r;
    r = ajio_log_append(log, data, len);
    c = ajio_log_close(log);
    return r < 0 ? r : c < 0 ? c : r;
}

/* A batch of two files, TARGET and TARGET.2, with the same content: the commit's result. */
static int write_batch(const char *target, const char *data, size_t len, const ajio_opts *opts)
{
    char second[4096];
    ajio_batch *b;
    int r = ajio_batch_new(&b, opts);

    if (r < 0)
        return r;
    snprintf(second, sizeof(second), "%s.2", target);
    r = ajio_batch_add(b, target, data, len);
    if (r == 0)
        r = ajio_batch_add(b, second, data, len);
    if (r == 0)
        r = ajio_batch_commit(b);
    ajio_batch_free(b);
    return r;
}

/* A transaction of three members in the directory TARGET: the commit's result. */
static int write_txn(const char *dir, const char *data, size_t len, const ajio_opts *opts)
{
    ajio_txn *t;
    int r = ajio_txn_begin(&t, dir, opts);

    if (r < 0)
        return r;
    r = ajio_txn_write(t, "a.json", data, len);
    if (r == 0)
        r = ajio_txn_write(t, "sub/b.json", data, len);
    if (r == 0)
        r = ajio_txn_remove(t, "gone.json");
    if (r == 0)
        r = ajio_txn_commit(t);
    ajio_txn_free(t);
    return r;
}

/* TARGET/src published as TARGET/cur, or the gc of TARGET/cur. */
static int publish(const char *dir, bool gc, const ajio_opts *opts)
{
    char src[4096], name[4096];

    snprintf(src, sizeof(src), "%s/src", dir);
    snprintf(name, sizeof(name), "%s/cur", dir);
    return gc ? ajio_snapshot_gc(name, opts) : ajio_publish(src, name, opts);
}

/* The negative control: what an application without the library does. */
static int write_naive(const char *target, const char *data, size_t len)
{
    int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);

    if (fd < 0)
        return -errno;
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        data += n;
        len -= (size_t)n;
    }
    return close(fd) < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
    const char *mode = "bytes";
    size_t chunk = 4096;
    ajio_opts opts = {0};
    bool naive = false;
    int opt, r, fds0, fds1;
    long heap0, heap1;
    size_t len;
    char *data;

    while ((opt = getopt(argc, argv, "m:c:o:M:XnP")) != -1) {
        switch (opt) {
        case 'm':
            mode = optarg;
            break;
        case 'c':
            chunk = strtoul(optarg, NULL, 0);
            if (chunk == 0)
                usage();
            break;
        case 'o':
            opts.flags |= parse_flags(optarg);
            break;
        case 'M':
            opts.flags |= AJIO_MODE;
            opts.mode = (unsigned)strtoul(optarg, NULL, 8);
            break;
        case 'X':
            /* RLIMIT_FSIZE tests: a write past the limit must fail with EFBIG, not kill us. */
            signal(SIGXFSZ, SIG_IGN);
            break;
        case 'n':
            naive = true;
            break;
        case 'P':
            deny_xattr_at_calls();
            break;
        default:
            usage();
        }
    }
    if (argc - optind != 2)
        usage();
    data = read_payload(argv[optind + 1], &len);

    /* Warm up stdio and the error strings so that their first allocations are not counted. */
    (void)ajio_strerror(-EIO);
    (void)ajio_err_name(-EIO);
    fflush(stdout);

    fds0 = count_fds();
    heap0 = heap_in_use();
    (void)access(MARK_BEGIN, F_OK);
    if (naive)
        r = write_naive(argv[optind], data, len);
    else if (strcmp(mode, "bytes") == 0)
        r = ajio_write_bytes(argv[optind], data, len, &opts);
    else if (strcmp(mode, "text") == 0)
        r = ajio_write_text(argv[optind], data, &opts);
    else if (strcmp(mode, "stream") == 0)
        r = write_stream(argv[optind], data, len, chunk, &opts);
    else if (strcmp(mode, "update") == 0)
        r = ajio_update(argv[optind], put_payload, &(struct payload){data, len}, -1, &opts);
    else if (strcmp(mode, "append") == 0)
        r = ajio_append(argv[optind], data, len, &opts);
    else if (strcmp(mode, "log") == 0)
        r = write_log(argv[optind], data, len, &opts);
    else if (strcmp(mode, "repair") == 0)
        r = ajio_repair(argv[optind], &opts, NULL);
    else if (strcmp(mode, "batch") == 0)
        r = write_batch(argv[optind], data, len, &opts);
    else if (strcmp(mode, "txn") == 0)
        r = write_txn(argv[optind], data, len, &opts);
    else if (strcmp(mode, "recover") == 0)
        r = ajio_recover(argv[optind], &opts);
    else if (strcmp(mode, "publish") == 0 || strcmp(mode, "gc") == 0)
        r = publish(argv[optind], mode[0] == 'g', &opts);
    else
        usage();
    (void)access(MARK_END, F_OK);
    heap1 = heap_in_use();
    fds1 = count_fds();

    printf("ret=%d name=%s fds=%d heap=%ld msg=%s\n", r, ajio_err_name(r), fds1 - fds0,
           heap1 - heap0,
           r < 0 || r == AJIO_ENOTDURABLE || r == AJIO_REPAIRED ? ajio_last_error() : "");
    free(data);
    return 0;
}

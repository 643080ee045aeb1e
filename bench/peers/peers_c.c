/*
 * peers_c.c - the C side of make bench-peers: the raw syscall floor, libajio and GLib, driven by
 * bench/peers/run.py over a line protocol shared with peers_py.py and peers_node.js.
 *
 *   peers_c worker          reads commands on stdin, answers one line each on stdout
 *   peers_c reader PATH A B reads PATH in a loop until stdin has input or closes, then prints
 *                           "ok READS TORN MISSING": a read that is neither file A nor file B
 *                           is torn, a failed open is missing
 *
 * Commands of the worker (every implementation's worker speaks the same):
 *
 *   load FILE [FILE...]     the payloads; writes cycle through them in order
 *   write VARIANT PATH N    N writes of the payloads to PATH; answers "ok NANOSECONDS"
 *   timed VARIANT PATH MS   writes for MS milliseconds; answers "ok WRITES"
 *   loop VARIANT PATH       answers "ok started", then writes until killed
 *   quit
 *
 * Any failure answers "err MESSAGE" (the worker stays usable). The variants:
 *
 *   floor         open(temp, O_CREAT|O_EXCL) in the target's directory, write, fdatasync,
 *                 close, rename, open/fsync/close of the directory: the least a durable
 *                 replace can do, with no metadata kept
 *   floor-nosync  the same without fdatasync and the directory fsync: the atomic-only floor
 *   ajio          ajio_write_bytes(), durable
 *   ajio-nosync   ajio_write_bytes() with AJIO_NO_SYNC
 *   glib-cd       g_file_set_contents_full(G_FILE_SET_CONTENTS_CONSISTENT | ..._DURABLE, 0666)
 *   glib-c        g_file_set_contents_full(G_FILE_SET_CONTENTS_CONSISTENT, 0666)
 *   naive         open(O_TRUNC), write, close: not atomic, the control of the torn-read probe
 */
#include "ajio.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAYLOADS 4

struct payload {
    char *data;
    size_t len;
};

static struct payload g_payloads[MAX_PAYLOADS];
static int g_npayloads;
static char g_err[2 * PATH_MAX];

static long long now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int fail(const char *what, const char *path, int err)
{
    snprintf(g_err, sizeof(g_err), "%s %s: %s", what, path, strerror(err));
    return -err;
}

static int read_file(const char *path, struct payload *ret)
{
    struct stat st;
    char *data;
    ssize_t n;
    size_t off = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return fail("open", path, errno);
    if (fstat(fd, &st) < 0) {
        int err = errno;
        (void)close(fd);
        return fail("fstat", path, err);
    }
    data = malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        (void)close(fd);
        return fail("malloc for", path, ENOMEM);
    }
    while (off < (size_t)st.st_size) {
        n = read(fd, data + off, (size_t)st.st_size - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            free(data);
            (void)close(fd);
            return fail("read", path, err);
        }
        off += (size_t)n;
    }
    (void)close(fd);
    ret->data = data;
    ret->len = off;
    return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The directory part of path ("." when it has none), for the floor's directory fsync. */
static void dir_of(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        snprintf(buf, size, ".");
    else if (slash == path)
        snprintf(buf, size, "/");
    else
        snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

static int write_floor(const char *path, const struct payload *p, bool sync)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    int fd, r;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.floor-tmp", path) >= sizeof(tmp))
        return fail("temp name for", path, ENAMETOOLONG);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail("open", tmp, errno);
    r = write_all(fd, p->data, p->len);
    if (r < 0) {
        (void)close(fd);
        (void)unlink(tmp);
        return fail("write", tmp, -r);
    }
    if (sync && fdatasync(fd) < 0) {
        r = errno;
        (void)close(fd);
        (void)unlink(tmp);
        return fail("fdatasync", tmp, r);
    }
    if (close(fd) < 0) {
        r = errno;
        (void)unlink(tmp);
        return fail("close", tmp, r);
    }
    if (rename(tmp, path) < 0) {
        r = errno;
        (void)unlink(tmp);
        return fail("rename to", path, r);
    }
    if (!sync)
        return 0;
    dir_of(path, dir, sizeof(dir));
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fail("open", dir, errno);
    if (fsync(fd) < 0) {
        r = errno;
        (void)close(fd);
        return fail("fsync", dir, r);
    }
    if (close(fd) < 0)
        return fail("close", dir, errno);
    return 0;
}

static int write_naive(const char *path, const struct payload *p)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int r;

    if (fd < 0)
        return fail("open", path, errno);
    r = write_all(fd, p->data, p->len);
    if (r < 0) {
        (void)close(fd);
        return fail("write", path, -r);
    }
    if (close(fd) < 0)
        return fail("close", path, errno);
    return 0;
}

static int write_ajio(const char *path, const struct payload *p, unsigned flags)
{
    ajio_opts opts = { .flags = flags };
    int r = ajio_write_bytes(path, p->data, p->len, &opts);

    if (r < 0) {
        snprintf(g_err, sizeof(g_err), "ajio_write_bytes: %s", ajio_last_error());
        return r;
    }
    return 0;
}

static int write_glib(const char *path, const struct payload *p, GFileSetContentsFlags flags)
{
    GError *error = NULL;

    if (!g_file_set_contents_full(path, p->data, (gssize)p->len, flags, 0666, &error)) {
        snprintf(g_err, sizeof(g_err), "g_file_set_contents_full: %s", error->message);
        g_error_free(error);
        return -EIO;
    }
    return 0;
}

/* One write of payload p with the named variant; -EINVAL for an unknown name. */
static int write_one(const char *variant, const char *path, const struct payload *p)
{
    if (strcmp(variant, "floor") == 0)
        return write_floor(path, p, true);
    if (strcmp(variant, "floor-nosync") == 0)
        return write_floor(path, p, false);
    if (strcmp(variant, "ajio") == 0)
        return write_ajio(path, p, 0);
    if (strcmp(variant, "ajio-nosync") == 0)
        return write_ajio(path, p, AJIO_NO_SYNC);
    if (strcmp(variant, "glib-cd") == 0)
        return write_glib(path, p, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE);
    if (strcmp(variant, "glib-c") == 0)
        return write_glib(path, p, G_FILE_SET_CONTENTS_CONSISTENT);
    if (strcmp(variant, "naive") == 0)
        return write_naive(path, p);
    snprintf(g_err, sizeof(g_err), "unknown variant %s", variant);
    return -EINVAL;
}

static void reply_err(void)
{
    printf("err %s\n", g_err);
}

static void cmd_load(char *args)
{
    int n = 0;

    for (int i = 0; i < g_npayloads; i++)
        free(g_payloads[i].data);
    g_npayloads = 0;
    for (char *f = strtok(args, " "); f != NULL; f = strtok(NULL, " ")) {
        if (n == MAX_PAYLOADS) {
            snprintf(g_err, sizeof(g_err), "more than %d payloads", MAX_PAYLOADS);
            reply_err();
            return;
        }
        if (read_file(f, &g_payloads[n]) < 0) {
            reply_err();
            return;
        }
        g_npayloads = ++n;
    }
    if (n == 0) {
        snprintf(g_err, sizeof(g_err), "load: no file");
        reply_err();
        return;
    }
    printf("ok %zu\n", g_payloads[0].len);
}

/* mode: 'w' N writes, 't' writes for N ms, 'l' forever. */
static void cmd_write(char *args, char mode)
{
    char *variant = strtok(args, " "), *path = strtok(NULL, " "), *count = strtok(NULL, " ");
    long long n = count != NULL ? atoll(count) : 0, done = 0, t0, deadline;

    if (variant == NULL || path == NULL || (mode != 'l' && n <= 0) || g_npayloads == 0) {
        snprintf(g_err, sizeof(g_err), "usage: write|timed VARIANT PATH N after load");
        reply_err();
        return;
    }
    if (mode == 'l') {
        printf("ok started\n");
        fflush(stdout);
    }
    t0 = now_ns();
    deadline = t0 + n * 1000000LL;
    for (;;) {
        if (mode == 'w' && done == n)
            break;
        if (mode == 't' && now_ns() >= deadline)
            break;
        if (write_one(variant, path, &g_payloads[done % g_npayloads]) < 0) {
            reply_err();
            return;
        }
        done++;
    }
    printf("ok %lld\n", mode == 'w' ? now_ns() - t0 : done);
}

static int worker(void)
{
    char line[8192];

    while (fgets(line, sizeof(line), stdin) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "load ", 5) == 0)
            cmd_load(line + 5);
        else if (strncmp(line, "write ", 6) == 0)
            cmd_write(line + 6, 'w');
        else if (strncmp(line, "timed ", 6) == 0)
            cmd_write(line + 6, 't');
        else if (strncmp(line, "loop ", 5) == 0)
            cmd_write(line + 5, 'l');
        else if (strcmp(line, "quit") == 0)
            break;
        else
            printf("err unknown command\n");
        fflush(stdout);
    }
    return 0;
}

/* True once stdin is readable or closed: the driver's signal that the writer has finished. */
static bool stop_requested(void)
{
    struct pollfd pfd = { .fd = 0, .events = POLLIN };

    return poll(&pfd, 1, 0) != 0;
}

static int reader(const char *path, const char *fa, const char *fb)
{
    struct payload a, b;
    size_t cap;
    char *buf;
    long long reads = 0, torn = 0, missing = 0;

    if (read_file(fa, &a) < 0 || read_file(fb, &b) < 0) {
        fprintf(stderr, "peers_c reader: %s\n", g_err);
        return 1;
    }
    /* One byte more than either payload, so that a longer (mixed) file is seen as longer. */
    cap = (a.len > b.len ? a.len : b.len) + 1;
    buf = malloc(cap);
    if (buf == NULL) {
        fprintf(stderr, "peers_c reader: out of memory\n");
        return 1;
    }
    do {
        for (int i = 0; i < 64; i++) {
            size_t off = 0;
            ssize_t n;
            int fd = open(path, O_RDONLY | O_CLOEXEC);

            if (fd < 0) {
                missing++;
                continue;
            }
            /* A read that fails midway leaves a part of the file: counted as torn below. */
            while (off < cap) {
                n = read(fd, buf + off, cap - off);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    break;
                off += (size_t)n;
            }
            (void)close(fd);
            reads++;
            if (!(off == a.len && memcmp(buf, a.data, off) == 0) &&
                !(off == b.len && memcmp(buf, b.data, off) == 0))
                torn++;
        }
    } while (!stop_requested());
    printf("ok %lld %lld %lld\n", reads, torn, missing);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "worker") == 0)
        return worker();
    if (argc == 5 && strcmp(argv[1], "reader") == 0)
        return reader(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: peers_c worker | peers_c reader PATH FILE_A FILE_B\n");
    return 2;
}

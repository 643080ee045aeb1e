/*
 * read.c - reading a JSON Lines file (or any line file) record by record: ajio_reader_*.
 *
 * The reader's one judgement is where a record ends: at a '\n'. A last line without one is what
 * an interrupted append leaves (or an append still in flight, for a reader that runs beside the
 * writers), so it is never returned as a record: it is counted and reported as torn. Every
 * complete line is returned, and with AJIO_JSONL one that is not JSON is reported with its line
 * number, never skipped in silence: a loader decides whether to go on.
 *
 * Lines are found with memchr in a buffer that starts at 64 KiB and doubles for a longer line, so
 * a record is always handed out whole and contiguous, NUL-terminated in place of its '\n'.
 */
#include "internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_FLAGS AJIO_JSONL

struct ajio_reader {
    int fd;
    unsigned flags;
    char *buf;
    size_t cap;
    size_t start; /* the next line begins here */
    size_t end;   /* bytes read into buf */
    bool eof;
    uint64_t line; /* number of the line last returned */
    uint64_t torn; /* bytes of an unterminated last line, once the end is reached */
    int reopened;  /* times the file was opened again after ESTALE */
    uint64_t size;   /* the file's size when it was opened (UINT64_MAX: not a regular file) */
    uint64_t offset; /* bytes read from it */
    char path[];
};

/*
 * Opens rd->path. On a shared filesystem (fs.c) the directory's attributes are asked of the
 * server first, so that a replace by another client is not hidden behind the names this client
 * cached. A server may still answer ESTALE for a name whose file another client just replaced
 * (a FUSE client such as GlusterFS keeps names for a second), and an NFS client that replaces a
 * file some process of its own still holds open renames it away first ("silly rename"), so that
 * other clients find no name for a moment: ESTALE is tried again for about 2 s, ENOENT on a
 * shared filesystem for a quarter second, the directory asked again before each try.
 */
static int open_path(struct ajio_reader *rd)
{
    char dir[PATH_MAX];
    bool shared = ajio__path_shared(rd->path, dir, sizeof(dir));
    struct stat st;
    int n = 0;

    for (;;) {
        if (shared)
            ajio__refresh_dir(AT_FDCWD, dir);
        rd->fd = open(rd->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (rd->fd >= 0)
            break;
        if (!((errno == ESTALE && ajio__shared_retry(n++, 11)) ||
              (errno == ENOENT && shared && ajio__shared_retry(n++, 8))))
            return ajio__error_strerror(-errno, "open of \"%s\" to read it", rd->path);
    }
    /* The size it had: a file replaced by another client after this is read up to there. */
    rd->size = fstat(rd->fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : UINT64_MAX;
    rd->offset = 0;
    return 0;
}

int ajio_reader_open(ajio_reader **ret, const char *path, const ajio_opts *opts)
{
    unsigned flags = opts != NULL ? opts->flags : 0;
    struct ajio_reader *rd;
    size_t n;

    if (ret == NULL || path == NULL || path[0] == '\0')
        return ajio__error(-EINVAL, "ajio_reader_open: %s",
                           ret == NULL ? "ret is NULL" : "path is NULL or empty");
    if (flags & ~READ_FLAGS)
        return ajio__error(-EINVAL, "read of \"%s\": flags 0x%x are not for reading", path,
                           flags & ~READ_FLAGS);
    if (ajio__check_args(path, opts) < 0)
        return -EINVAL;
    n = strlen(path);
    rd = calloc(1, sizeof(*rd) + n + 1);
    if (rd == NULL)
        return ajio__error_strerror(-ENOMEM, "read of \"%s\"", path);
    memcpy(rd->path, path, n + 1);
    rd->flags = flags;
    rd->cap = AJIO__BUFSIZE;
    rd->buf = malloc(rd->cap);
    if (rd->buf == NULL) {
        free(rd);
        return ajio__error_strerror(-ENOMEM, "read of \"%s\"", path);
    }
    int r = open_path(rd);
    if (r < 0) {
        free(rd->buf);
        free(rd);
        return r;
    }
    *ret = rd;
    return 0;
}

/* More bytes after rd->end, making room first; sets rd->eof at the end of the file. */
static int fill(struct ajio_reader *rd)
{
    if (rd->start > 0) {
        memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
        rd->end -= rd->start;
        rd->start = 0;
    }
    if (rd->end == rd->cap) {
        /* One line fills the buffer: it must be handed out whole, so the buffer grows. */
        char *b = rd->cap <= SIZE_MAX / 2 ? realloc(rd->buf, rd->cap * 2) : NULL;

        if (b == NULL)
            return ajio__error_strerror(-ENOMEM, "read of \"%s\": line %" PRIu64
                                                 " is longer than %zu bytes",
                                        rd->path, rd->line + 1, rd->cap);
        rd->buf = b;
        rd->cap *= 2;
    }
    for (;;) {
        ssize_t n = read(rd->fd, rd->buf + rd->end, rd->cap - rd->end);

        if (n > 0) {
            rd->end += (size_t)n;
            rd->offset += (uint64_t)n;
            return 0;
        }
        if (n == 0) {
            rd->eof = true;
            return 0;
        }
        /*
         * The file was replaced by another client and is gone from the server. Read up to the
         * size it had when it was opened, it is the whole of the version opened: that is its end.
         */
        if (errno == ESTALE && rd->offset >= rd->size) {
            rd->eof = true;
            return 0;
        }
        if (errno == ESTALE && rd->line == 0 && rd->start == 0 && rd->reopened < 8) {
            /* Replaced by another client before a line was handed out: read the new file. */
            (void)close(rd->fd); /* read-only: nothing for close to report */
            rd->reopened++;
            rd->end = 0;
            int r = open_path(rd);
            if (r < 0)
                return r;
            continue;
        }
        if (errno != EINTR)
            return ajio__error_strerror(-errno, "read of \"%s\" after line %" PRIu64, rd->path,
                                        rd->line);
    }
}

int ajio_reader_next(ajio_reader *rd, const char **ret_line, size_t *ret_len)
{
    if (rd == NULL || ret_line == NULL || ret_len == NULL)
        return ajio__error(-EINVAL, "ajio_reader_next: %s is NULL",
                           rd == NULL ? "the reader" : ret_line == NULL ? "ret_line" : "ret_len");
    for (;;) {
        char *p = rd->buf + rd->start;
        char *nl = memchr(p, '\n', rd->end - rd->start);

        if (nl != NULL) {
            size_t len = (size_t)(nl - p);

            *nl = '\0';
            rd->start += len + 1;
            rd->line++;
            *ret_line = p;
            *ret_len = len;
            if (rd->flags & AJIO_JSONL) {
                ajio_json_error e;
                int r = ajio_json_validate(p, len, 0, &e);

                if (r < 0) {
                    e.line = rd->line;
                    return ajio__json_failed(rd->path, r, &e);
                }
            }
            return 1;
        }
        if (rd->eof) {
            if (rd->end > rd->start) {
                rd->torn = rd->end - rd->start;
                rd->start = rd->end;
                /* Not a failure: the message is there for whoever reports the skipped bytes. */
                (void)ajio__error(0,
                                  "%s:%" PRIu64 ": skipped a torn last line of %" PRIu64
                                  " bytes without a newline",
                                  rd->path, rd->line + 1, rd->torn);
            }
            return 0;
        }
        int r = fill(rd);
        if (r < 0)
            return r;
    }
}

uint64_t ajio_reader_line(const ajio_reader *rd)
{
    return rd != NULL ? rd->line : 0;
}

uint64_t ajio_reader_torn(const ajio_reader *rd)
{
    return rd != NULL ? rd->torn : 0;
}

void ajio_reader_close(ajio_reader *rd)
{
    if (rd == NULL)
        return;
    (void)close(rd->fd); /* read-only: nothing for close to report */
    free(rd->buf);
    free(rd);
}

/*
 * cmd_batch.c - "ajio batch": replace many files below DIR from a manifest on standard input,
 * through ajio_batch_* (each file atomic, syncs amortised) or, with --all-or-nothing, through a
 * transaction (ajio_txn_*: every file new or every file old, across a crash).
 *
 * The whole manifest is read and every SOURCE is read and handed to the library before anything
 * is committed, so that a bad line, an unreadable source or an invalid JSON member is found while
 * nothing has been written yet: in both modes such an error leaves DIR as it was.
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char cmd_batch_usage[] =
    "Usage: ajio batch [OPTION]... DIR\n"
    "Replace the files of a manifest read from standard input, one 'TARGET<TAB>SOURCE' per\n"
    "line: TARGET is a path relative to DIR (subdirectories are created), SOURCE a file whose\n"
    "bytes become TARGET. With --all-or-nothing a SOURCE '-' removes TARGET, and the set is\n"
    "changed as a whole: after a crash, 'ajio recover DIR' (or the next transaction in DIR)\n"
    "makes every file new or every file old. Without it each file is replaced atomically on\n"
    "its own (a crash may leave some new, some old). A bad manifest line, an unreadable\n"
    "SOURCE or invalid JSON is reported with its line number and nothing is written.\n"
    "\n"
    "      --all-or-nothing all files new, or none (a transaction, see ajio recover)\n"
    "      --json           every SOURCE must be one JSON value; a trailing newline is ensured\n"
    "      --jsonl          every SOURCE must be JSON Lines\n"
    "  -z, --null           the manifest is TARGET NUL SOURCE NUL pairs, not lines\n"
    "      --no-sync        skip fsync: still atomic, not durable across a power cut\n"
    "      --no-mkdir       do not create DIR or missing directories below it\n"
    "      --sync-each      an fdatasync per file, not one syncfs of their filesystem\n"
    "      --timeout SEC    with --all-or-nothing: wait at most SEC whole seconds for DIR's\n"
    "                       lock (0: do not wait), then exit 69 with nothing done\n"
    "  -h, --help           show this help\n"
    "\n"
    "Example: printf 'a.json\\tnew-a.json\\nsub/b.json\\tnew-b.json\\n' |\n"
    "             ajio batch --all-or-nothing --json state\n";

enum { OPT_TIMEOUT = CLI_OPT_COMMAND + 1 };

#define BATCH_ALL_OR_NOTHING (1u << 29) /* a bit no ajio_flags uses, cleared before the library */
#define BATCH_NUL (1u << 28)

static const struct cli_option options[] = {
    CLI_OPTIONS_CONTENT,
    {"all-or-nothing", .set = BATCH_ALL_OR_NOTHING},
    {"null", .id = 'z', .set = BATCH_NUL},
    {"no-sync", .set = AJIO_NO_SYNC},
    {"no-mkdir", .set = AJIO_NO_MKDIR},
    {"sync-each", .set = AJIO_SYNC_EACH},
    {"timeout", required_argument, OPT_TIMEOUT, 0, 0},
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

struct entry {
    char *target;
    char *source;       /* NULL: remove TARGET */
    unsigned long line; /* in the manifest, from 1 (the pair's number with -z) */
};

struct manifest {
    struct entry *e;
    size_t n, cap;
    char *text; /* the manifest, its fields cut in place */
};

/*
 * Refuses a TARGET that would leave DIR: absolute, empty, or with a ".." component, in both
 * modes, so that one manifest means the same with and without --all-or-nothing.
 * @return NULL, or why.
 */
static const char *bad_target(const char *t)
{
    if (t[0] == '\0')
        return "TARGET is empty";
    if (t[0] == '/')
        return "TARGET must be relative to DIR";
    for (const char *p = t; *p != '\0';) {
        size_t n = strcspn(p, "/");

        if (n == 2 && p[0] == '.' && p[1] == '.')
            return "TARGET must not have a '..' component";
        p += n;
        p += *p == '/';
    }
    return NULL;
}

/* Reads all of standard input. @return 0 (*ret_text NUL-terminated, *ret_len), or exit code. */
static int read_stdin(char **ret_text, size_t *ret_len)
{
    size_t len = 0, cap = CLI_CHUNK;
    char *buf = malloc(cap + 1);

    if (buf == NULL) {
        cli_error("reading the manifest from standard input: %s", strerror(ENOMEM));
        return EXIT_SOFTWARE;
    }
    for (;;) {
        ssize_t n;

        if (cap - len < CLI_CHUNK) {
            char *p = realloc(buf, 2 * cap + 1);

            if (p == NULL) {
                free(buf);
                cli_error("reading the manifest from standard input: %s", strerror(ENOMEM));
                return EXIT_SOFTWARE;
            }
            buf = p;
            cap *= 2;
        }
        n = cli_read_retry(STDIN_FILENO, buf + len, CLI_CHUNK);
        if (n < 0) {
            cli_error("reading the manifest from standard input: %s", strerror(errno));
            free(buf);
            return EXIT_IOERR;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *ret_text = buf;
    *ret_len = len;
    return 0;
}

/* "manifest line N ("TARGET"): reason; nothing written to "DIR"". @return EXIT_DATAERR. */
static int manifest_error(unsigned nul, unsigned long line, const char *dir, const char *why,
                          const char *target)
{
    if (target != NULL)
        cli_error("manifest %s %lu (\"%s\"): %s; nothing written to \"%s\"", nul ? "pair" : "line",
                  line, target, why, dir);
    else
        cli_error("manifest %s %lu: %s; nothing written to \"%s\"", nul ? "pair" : "line", line,
                  why, dir);
    return EXIT_DATAERR;
}

/* Cuts the manifest into entries and checks each. @return 0 or the exit code after a message. */
static int parse(struct manifest *m, size_t len, unsigned flags, const char *dir)
{
    unsigned nul = (flags & BATCH_NUL) != 0;
    char *p = m->text, *end = m->text + len;
    unsigned long line = 0;

    while (p < end) {
        char *target = p, *source, *stop;
        struct entry *e;
        const char *why;

        line++;
        if (nul) {
            source = memchr(p, '\0', (size_t)(end - p));
            if (source == NULL || source + 1 >= end)
                return manifest_error(nul, line, dir, "TARGET without a SOURCE", target);
            source++;
            stop = memchr(source, '\0', (size_t)(end - source));
            if (stop == NULL)
                stop = end; /* the last SOURCE may end at the end of input */
            *stop = '\0';
        } else {
            stop = memchr(p, '\n', (size_t)(end - p));
            if (stop == NULL)
                stop = end;
            *stop = '\0';
            if (strlen(p) != (size_t)(stop - p))
                return manifest_error(nul, line, dir, "a NUL byte in a line (use -z)", NULL);
            if (stop == p)
                return manifest_error(nul, line, dir, "an empty line", NULL);
            source = strchr(p, '\t');
            if (source == NULL)
                return manifest_error(nul, line, dir, "no TAB between TARGET and SOURCE", target);
            *source++ = '\0';
        }
        p = stop + 1;
        if ((why = bad_target(target)) != NULL)
            return manifest_error(nul, line, dir, why, target);
        if (source[0] == '\0')
            return manifest_error(nul, line, dir, "SOURCE is empty (write - to remove TARGET)",
                                  target);
        if (strcmp(source, "-") == 0 && !(flags & BATCH_ALL_OR_NOTHING))
            return manifest_error(nul, line, dir,
                                  "SOURCE '-' (remove) needs --all-or-nothing; write ./- for a "
                                  "file named '-'",
                                  target);
        if (m->n == m->cap) {
            size_t cap = m->cap ? 2 * m->cap : 64;
            struct entry *ne = realloc(m->e, cap * sizeof(*ne));

            if (ne == NULL) {
                cli_error("reading the manifest: %s", strerror(ENOMEM));
                return EXIT_SOFTWARE;
            }
            m->e = ne;
            m->cap = cap;
        }
        e = &m->e[m->n++];
        e->target = target;
        e->source = strcmp(source, "-") == 0 ? NULL : source;
        e->line = line;
    }
    if (m->n == 0) {
        cli_error("the manifest on standard input is empty: nothing written to \"%s\"", dir);
        return EXIT_DATAERR;
    }
    return 0;
}

/* Reads the whole file path. @return 0 (*ret_buf, *ret_len; free *ret_buf) or -errno. */
static int read_source(const char *path, char **ret_buf, size_t *ret_len)
{
    size_t len = 0, cap = CLI_CHUNK;
    char *buf = NULL;
    int fd, err;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    buf = malloc(cap);
    if (buf == NULL) {
        err = -ENOMEM;
        goto fail;
    }
    for (;;) {
        ssize_t n;

        if (cap - len < CLI_CHUNK) {
            char *p = realloc(buf, 2 * cap);

            if (p == NULL) {
                err = -ENOMEM;
                goto fail;
            }
            buf = p;
            cap *= 2;
        }
        n = cli_read_retry(fd, buf + len, CLI_CHUNK);
        if (n < 0) {
            err = -errno;
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    (void)close(fd);
    *ret_buf = buf;
    *ret_len = len;
    return 0;
fail:
    free(buf);
    (void)close(fd);
    return err;
}

/* Reads e's SOURCE whole: 0 and *ret_buf, or, after saying why, the exit code. */
static int load_source(const struct entry *e, unsigned nul, const char *dir, char **ret_buf,
                       size_t *ret_len)
{
    int r = read_source(e->source, ret_buf, ret_len);

    if (r == 0)
        return 0;
    cli_error("manifest %s %lu (\"%s\"): cannot read SOURCE \"%s\": %s; nothing written to "
              "\"%s\"", nul ? "pair" : "line", e->line, e->target, e->source, strerror(-r), dir);
    return r == -ENOMEM ? EXIT_SOFTWARE : EXIT_NOINPUT;
}

/*
 * Reports the refusal r of the member of e, added under the name lib_path (the library's
 * messages of invalid content start "LIB_PATH:LINE:COL: "). @return the exit code.
 */
static int member_refused(const struct entry *e, const char *lib_path, const char *dir,
                          unsigned nul, int r)
{
    const char *msg = cli_last_error(r);
    size_t n = strlen(lib_path);
    char note[PATH_MAX + 64];

    if (r == AJIO_EJSON && strncmp(msg, lib_path, n) == 0 && msg[n] == ':') {
        (void)snprintf(note, sizeof(note),
                       "manifest %s %lu, TARGET \"%s\": nothing written to \"%s\"",
                       nul ? "pair" : "line", e->line, e->target, dir);
        cli_input_error(e->source, msg + n, dir, note);
        return EXIT_DATAERR;
    }
    if (r == -EINVAL || r == -EEXIST || r == -ENAMETOOLONG)
        return manifest_error(nul, e->line, dir, msg, e->target);
    cli_error("manifest %s %lu (\"%s\"): %s; nothing written to \"%s\"", nul ? "pair" : "line",
              e->line, e->target, msg, dir);
    return cli_exit_for(r);
}

/* The batch without --all-or-nothing: every file on its own. */
static int run_batch(const struct manifest *m, const char *dir, const ajio_opts *opts, unsigned nul)
{
    ajio_batch *b = NULL;
    char path[PATH_MAX];
    int r, rc = 0;

    r = ajio_batch_new(&b, opts);
    if (r < 0) {
        cli_error("batch in \"%s\": %s", dir, cli_last_error(r));
        return cli_exit_for(r);
    }
    for (size_t i = 0; i < m->n; i++) {
        const struct entry *e = &m->e[i];
        char *data;
        size_t len;

        if (snprintf(path, sizeof(path), "%s/%s", dir, e->target) >= (int)sizeof(path)) {
            rc = manifest_error(nul, e->line, dir, "the path is too long", e->target);
            goto out;
        }
        rc = load_source(e, nul, dir, &data, &len);
        if (rc != 0)
            goto out;
        r = ajio_batch_add(b, path, data, len);
        free(data);
        if (r < 0) {
            rc = member_refused(e, path, dir, nul, r);
            goto out;
        }
    }
    r = ajio_batch_commit(b);
    if (r < 0) {
        /* Every file that failed, each with the library's message naming it. */
        for (size_t i = 0; i < ajio_batch_count(b); i++) {
            const char *msg;
            int fr = ajio_batch_result(b, i, NULL, &msg);

            if (fr < 0)
                cli_error("manifest %s %lu (\"%s\"): %s", nul ? "pair" : "line", m->e[i].line,
                          m->e[i].target, msg);
            if (fr < 0 && rc == 0)
                rc = cli_exit_for(fr);
        }
        if (rc == 0)
            rc = cli_exit_for(r);
    }
out:
    ajio_batch_free(b);
    return rc;
}

/* The batch with --all-or-nothing: one transaction. */
static int run_txn(const struct manifest *m, const char *dir, const ajio_opts *opts, unsigned nul)
{
    ajio_txn *t = NULL;
    int r, rc = 0;

    r = ajio_txn_begin(&t, dir, opts);
    if (r < 0) {
        cli_error("transaction in \"%s\": %s", dir, cli_last_error(r));
        return r == -ENOENT || r == -ENOTDIR ? EXIT_NOINPUT : cli_exit_for(r);
    }
    for (size_t i = 0; i < m->n; i++) {
        const struct entry *e = &m->e[i];
        char *data;
        size_t len;

        if (e->source == NULL) {
            r = ajio_txn_remove(t, e->target);
        } else {
            rc = load_source(e, nul, dir, &data, &len);
            if (rc != 0)
                goto out;
            r = ajio_txn_write(t, e->target, data, len);
            free(data);
        }
        if (r < 0) {
            rc = member_refused(e, e->target, dir, nul, r);
            goto out;
        }
    }
    r = ajio_txn_commit(t);
    if (r < 0) {
        /* The library's message says which step failed, in which directory. */
        cli_error("%s", cli_last_error(r));
        if (cli_lock_timed_out(r, opts->flags))
            rc = EXIT_UNAVAILABLE;
        else if (r == -EBADMSG || r == -EPROTONOSUPPORT)
            rc = EXIT_DATAERR;
        else
            rc = cli_exit_for(r);
    }
out:
    ajio_txn_free(t);
    return rc;
}

int cmd_batch(int argc, char **argv)
{
    struct manifest m = {0};
    ajio_opts opts = {0};
    const char *dir;
    unsigned flags;
    size_t len;
    int c, r;

    while ((c = cli_getopt(argc, argv, options, &opts.flags)) != -1) {
        if (c == OPT_TIMEOUT)
            r = cli_lock_timeout_option(optarg, cmd_batch_usage, &opts);
        else
            return cli_other_option(cmd_batch_usage, c, argv);
        if (r != 0)
            return r;
    }
    if ((r = cli_content_kind(opts.flags, cmd_batch_usage, NULL)) != 0)
        return r;
    flags = opts.flags;
    opts.flags &= ~(BATCH_ALL_OR_NOTHING | BATCH_NUL);
    if ((opts.flags & AJIO_LOCK_TIMEOUT) && !(flags & BATCH_ALL_OR_NOTHING))
        return cli_usage_error(cmd_batch_usage, "--timeout bounds the wait for DIR's lock: it "
                                                "needs --all-or-nothing");
    if (optind >= argc)
        return cli_usage_error(cmd_batch_usage, "batch: missing DIR");
    if (optind + 1 < argc)
        return cli_usage_error(cmd_batch_usage, "batch: one DIR only ('%s' is extra)",
                               argv[optind + 1]);
    dir = argv[optind];
    if (cli_stdin_closed()) {
        cli_error("standard input is closed: no manifest");
        return EXIT_NOINPUT;
    }
    if ((r = read_stdin(&m.text, &len)) != 0)
        return r;
    r = parse(&m, len, flags, dir);
    if (r == 0)
        r = (flags & BATCH_ALL_OR_NOTHING) ? run_txn(&m, dir, &opts, (flags & BATCH_NUL) != 0)
                                           : run_batch(&m, dir, &opts, (flags & BATCH_NUL) != 0);
    free(m.e);
    free(m.text);
    return r;
}

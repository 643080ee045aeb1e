/*
 * cmd_cat.c - "ajio cat": the complete records of FILE on standard output, through the library's
 * reader (ajio_reader_*), for scripts that must not see the torn tail of an interrupted append;
 * with --snapshot NAME, the files of the current generation of a published snapshot, read by the
 * reader protocol (ajio_snapshot_open(), then openat() relative to the generation).
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

const char cmd_cat_usage[] =
    "Usage: ajio cat [OPTION]... [FILE]...\n"
    "Print the complete lines of each FILE in turn, each with its newline; FILE '-', or no\n"
    "FILE, is standard input. A last line without a newline (the torn tail of an interrupted\n"
    "append, or one still being written) is skipped, with a note on standard error. With\n"
    "--jsonl every line must be one JSON value: a line that is not is reported as\n"
    "\"FILE:LINE:COL: reason\" and not printed, the others are, and the exit status is 65.\n"
    "A FILE that cannot be read is reported and the others are still printed (exit 66).\n"
    "With --snapshot NAME each FILE is a path inside the published snapshot NAME ('ajio\n"
    "publish'), printed byte for byte as it is: all FILEs come from one generation, even while\n"
    "NAME is republished.\n"
    "\n"
    "      --jsonl          check that every line is one JSON value\n"
    "      --snapshot NAME  read each FILE from the current generation of NAME\n"
    "  -h, --help           show this help\n";

enum { OPT_SNAPSHOT = CLI_OPT_COMMAND + 1 };

static const struct cli_option options[] = {
    {"jsonl", .set = AJIO_JSONL},
    {"snapshot", required_argument, OPT_SNAPSHOT, 0, 0},
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

/*
 * Prints the complete lines of arg ("-": standard input). *bad counts the invalid lines.
 * @return 0, EXIT_NOINPUT, EXIT_IOERR (standard output lost: stop) or EXIT_SOFTWARE.
 */
static int cat_one(const char *arg, unsigned flags, unsigned long *bad)
{
    int in = strcmp(arg, "-") == 0;
    /* The reader opens a path: standard input is /dev/stdin, named <stdin> in messages. */
    const char *path = in ? "/dev/stdin" : arg, *name = in ? "<stdin>" : arg, *line;
    size_t n = strlen(path), len;
    ajio_reader *rd;
    int r;

    if (in && cli_stdin_closed()) {
        cli_error("standard input is closed");
        return EXIT_NOINPUT;
    }
    r = ajio_reader_open(&rd, path, &(ajio_opts){.flags = flags});
    if (r < 0) {
        cli_error("%s", cli_last_error(r));
        return r == -ENOMEM ? EXIT_SOFTWARE : EXIT_NOINPUT;
    }
    while ((r = ajio_reader_next(rd, &line, &len)) != 0) {
        if (r == AJIO_EJSON) {
            /* "PATH:LINE:COL: reason", PATH being the path given to the reader. */
            cli_data_error(name, "%s", ajio_last_error() + n);
            (*bad)++;
            continue;
        }
        if (r < 0) {
            cli_error("%s", cli_last_error(r));
            ajio_reader_close(rd);
            return EXIT_NOINPUT;
        }
        if (fwrite(line, 1, len, stdout) != len || putchar('\n') == EOF)
            break;
    }
    if (r == 0 && ajio_reader_torn(rd) > 0)
        cli_data_error(name, "%s", ajio_last_error() + n);
    ajio_reader_close(rd);
    if (ferror(stdout) || fflush(stdout) != 0) {
        cli_error("write to standard output: %s", strerror(errno));
        return EXIT_IOERR;
    }
    return 0;
}

/*
 * Copies the file rel of the generation dfd of snapshot name to standard output.
 * @return 0, EXIT_NOINPUT, or EXIT_IOERR (standard output lost: stop).
 */
static int cat_snapshot_one(int dfd, const char *name, const char *rel)
{
    static char buf[CLI_CHUNK];
    int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        cli_error("open \"%s\" in snapshot \"%s\": %s", rel, name, strerror(errno));
        return EXIT_NOINPUT;
    }
    for (;;) {
        ssize_t n = cli_read_retry(fd, buf, sizeof(buf));

        if (n < 0) {
            cli_error("read \"%s\" in snapshot \"%s\": %s", rel, name, strerror(errno));
            (void)close(fd);
            return EXIT_NOINPUT;
        }
        if (n == 0)
            break;
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
            break;
    }
    (void)close(fd);
    if (ferror(stdout) || fflush(stdout) != 0) {
        cli_error("write to standard output: %s", strerror(errno));
        return EXIT_IOERR;
    }
    return 0;
}

/* "ajio cat --snapshot NAME FILE...": every FILE from the one generation held open. */
static int cat_snapshot(const char *name, int argc, char **argv)
{
    ajio_snapshot *s;
    int r, rc = 0;

    for (int i = optind; i < argc; i++) {
        /* A FILE must stay inside the generation, whatever the working directory. */
        const char *p = argv[i];

        if (p[0] == '/' || strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 ||
            strstr(p, "/../") != NULL ||
            (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0))
            return cli_usage_error(cmd_cat_usage,
                                   "cat: with --snapshot, FILE '%s' must be a path inside the "
                                   "snapshot (relative, no '..')",
                                   p);
    }
    if (optind >= argc)
        return cli_usage_error(cmd_cat_usage, "cat: --snapshot needs a FILE");
    r = ajio_snapshot_open(&s, name, NULL);
    if (r < 0) {
        cli_error("open snapshot \"%s\": %s", name, cli_last_error(r));
        return r == -ENOMEM ? EXIT_SOFTWARE : r == -EAGAIN ? EXIT_IOERR : EXIT_NOINPUT;
    }
    for (int i = optind; i < argc; i++) {
        r = cat_snapshot_one(ajio_snapshot_fd(s), name, argv[i]);
        if (r == EXIT_IOERR) {
            rc = r;
            break;
        }
        if (r != 0)
            rc = r;
    }
    ajio_snapshot_close(s);
    return rc;
}

int cmd_cat(int argc, char **argv)
{
    const char *snapshot = NULL;
    static char dash[] = "-";
    char *only_stdin[] = {dash};
    unsigned flags = 0;
    unsigned long bad = 0;
    int c, rc = 0;

    while ((c = cli_getopt(argc, argv, options, &flags)) != -1) {
        if (c != OPT_SNAPSHOT)
            return cli_other_option(cmd_cat_usage, c, argv);
        snapshot = optarg;
    }
    if (snapshot != NULL) {
        /* A published file is whole by construction: there is no torn tail to look for. */
        if (flags & AJIO_JSONL)
            return cli_usage_error(cmd_cat_usage, "cat: --snapshot prints files as they are; "
                                                  "check them with 'ajio check --jsonl'");
        return cat_snapshot(snapshot, argc, argv);
    }
    /* No FILE: standard input, as cat(1). */
    if (optind >= argc) {
        argv = only_stdin;
        optind = 0;
        argc = 1;
    }
    for (int i = optind; i < argc; i++) {
        int r = cat_one(argv[i], flags, &bad);

        if (r == EXIT_IOERR)
            return r;
        if (r != 0)
            rc = r;
    }
    return rc != 0 ? rc : bad > 0 ? EXIT_DATAERR : 0;
}

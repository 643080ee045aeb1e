/*
 * cmd_cat.c - "ajio cat": the complete records of FILE on standard output, through the library's
 * reader (ajio_reader_*), for scripts that must not see the torn tail of an interrupted append.
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <string.h>

const char cmd_cat_usage[] =
    "Usage: ajio cat [OPTION]... [FILE]...\n"
    "Print the complete lines of each FILE in turn, each with its newline; FILE '-', or no\n"
    "FILE, is standard input. A last line without a newline (the torn tail of an interrupted\n"
    "append, or one still being written) is skipped, with a note on standard error. With\n"
    "--jsonl every line must be one JSON value: a line that is not is reported as\n"
    "\"FILE:LINE:COL: reason\" and not printed, the others are, and the exit status is 65.\n"
    "A FILE that cannot be read is reported and the others are still printed (exit 66).\n"
    "\n"
    "      --jsonl          check that every line is one JSON value\n"
    "  -h, --help           show this help\n";

static const struct cli_option options[] = {
    {"jsonl", .set = AJIO_JSONL},
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

int cmd_cat(int argc, char **argv)
{
    static char dash[] = "-";
    char *only_stdin[] = {dash};
    unsigned flags = 0;
    unsigned long bad = 0;
    int c, rc = 0;

    if ((c = cli_getopt(argc, argv, options, &flags)) != -1)
        return cli_other_option(cmd_cat_usage, c, argv);
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

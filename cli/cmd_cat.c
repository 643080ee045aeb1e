/*
 * cmd_cat.c - "ajio cat": the complete records of FILE on standard output, through the library's
 * reader (ajio_reader_*), for scripts that must not see the torn tail of an interrupted append.
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <string.h>

const char cmd_cat_usage[] =
    "Usage: ajio cat [OPTION]... FILE\n"
    "Print the complete lines of FILE, each with its newline. A last line without a newline\n"
    "(the torn tail of an interrupted append, or one still being written) is skipped, with a\n"
    "note on standard error. With --jsonl every line must be one JSON value: a line that is not\n"
    "is reported as \"FILE:LINE:COL: reason\" and not printed, the others are, and the exit\n"
    "status is 65.\n"
    "\n"
    "      --jsonl          check that every line is one JSON value\n"
    "  -h, --help           show this help\n";

static const struct cli_option options[] = {
    {"jsonl", .set = AJIO_JSONL},
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

int cmd_cat(int argc, char **argv)
{
    unsigned flags = 0;
    unsigned long bad = 0;
    const char *path, *line;
    ajio_reader *rd;
    size_t len;
    int c, r;

    if ((c = cli_getopt(argc, argv, options, &flags)) != -1)
        return cli_other_option(cmd_cat_usage, c, argv);
    if ((r = cli_one_file(argv, argc, cmd_cat_usage, "cat", &path)) != 0)
        return r;
    r = ajio_reader_open(&rd, path, &(ajio_opts){.flags = flags});
    if (r < 0) {
        cli_error("%s", cli_last_error(r));
        return r == -ENOMEM ? EXIT_SOFTWARE : EXIT_NOINPUT;
    }
    while ((r = ajio_reader_next(rd, &line, &len)) != 0) {
        if (r == AJIO_EJSON) {
            /* "PATH:LINE:COL: reason", PATH being the name as given. */
            cli_data_error(path, "%s", ajio_last_error() + strlen(path));
            bad++;
            continue;
        }
        if (r < 0) {
            cli_error("%s", cli_last_error(r));
            ajio_reader_close(rd);
            return EXIT_IOERR;
        }
        if (fwrite(line, 1, len, stdout) != len || putchar('\n') == EOF)
            break;
    }
    if (r == 0 && ajio_reader_torn(rd) > 0)
        cli_data_error(path, "%s", ajio_last_error() + strlen(path));
    ajio_reader_close(rd);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("write to standard output: %s", strerror(errno));
        return EXIT_IOERR;
    }
    return bad > 0 ? EXIT_DATAERR : 0;
}

/*
 * cmd_check.c - "ajio check": validate JSON or JSON Lines files with the library's streaming
 * validator, one FILE:LINE:COL line per problem. Every file is read in CLI_CHUNK pieces, so any
 * size checks in the same memory.
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

const char cmd_check_usage[] =
    "Usage: ajio check [--json | --jsonl] [--verbose] [FILE]...\n"
    "Validate JSON (one value) or JSON Lines files, streaming. FILE '-', or no FILE, is\n"
    "standard input, reported as <stdin>.\n"
    "Without --json or --jsonl a name ending in .jsonl or .ndjson is checked as JSON Lines,\n"
    "anything else as JSON. Each problem is reported on standard error as\n"
    "FILE:LINE:COL: reason. A JSONL file whose last line lacks its newline is reported as\n"
    "'torn'. Exit status: 0 all valid, 65 some invalid, 66 some unreadable.\n"
    "\n"
    "      --json      check every FILE as one JSON value\n"
    "      --jsonl     check every FILE as JSON Lines\n"
    "  -v, --verbose   also print 'FILE: ok (N values)' for each valid file\n"
    "  -h, --help      show this help\n";

/* The flag word of check holds the content kind as AJIO_JSON or AJIO_JSONL (cli.h) and, in a bit
 * no ajio_flags uses, -v, --verbose. */
#define CHECK_VERBOSE (1u << 31)

static const struct cli_option options[] = {
    CLI_OPTIONS_CONTENT,
    {"verbose", .id = 'v', .set = CHECK_VERBOSE},
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Prints "NAME:LINE:COL: [torn: ]reason" for the failure r of the checker. */
static void report(const char *name, const ajio_json_checker *checker, int r)
{
    ajio_json_error e;

    if (ajio_json_checker_error(checker, &e) < 0)
        cli_data_error(name, ": %s", ajio_strerror(r));
    else
        cli_data_error(name, ":%" PRIu64 ":%" PRIu64 ": %s%s", e.line, e.column,
                       r == AJIO_ETORN ? "torn: " : "", e.reason);
}

/*
 * Checks one file as kind (AJIO_JSON, AJIO_JSONL, or 0 to go by the name).
 * @return 0 valid, EXIT_DATAERR invalid, EXIT_NOINPUT unreadable, EXIT_SOFTWARE no validator.
 */
static int check_one(const char *path, unsigned kind, int verbose, char *buf)
{
    ajio_json_checker *checker = NULL;
    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
    int fd, r, rc;

    if (kind == 0)
        kind = ends_with(name, ".jsonl") || ends_with(name, ".ndjson") ? AJIO_JSONL : AJIO_JSON;
    if (strcmp(path, "-") == 0) {
        if (cli_stdin_closed()) {
            cli_error("standard input is closed");
            return EXIT_NOINPUT;
        }
        fd = STDIN_FILENO;
    } else {
        fd = open(name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            cli_error("cannot open %s: %s", name, strerror(errno));
            return EXIT_NOINPUT;
        }
    }
    r = ajio_json_checker_new(&checker, kind == AJIO_JSONL ? AJIO_JSON_LINES : 0, 0);
    if (r < 0) {
        cli_error("validator: %s", ajio_strerror(r));
        rc = EXIT_SOFTWARE;
        goto out;
    }
    for (;;) {
        ssize_t n = cli_read_retry(fd, buf, CLI_CHUNK);

        if (n < 0) {
            cli_error("cannot read %s: %s", name, strerror(errno));
            rc = EXIT_NOINPUT;
            goto out;
        }
        if (n == 0)
            break;
        /* After the first error the checker only repeats it: stop reading. */
        if ((r = ajio_json_checker_feed(checker, buf, (size_t)n)) != 0)
            break;
    }
    if (r == 0)
        r = ajio_json_checker_finish(checker);
    if (r != 0) {
        report(name, checker, r);
        rc = EXIT_DATAERR;
        goto out;
    }
    if (verbose)
        cli_print_line(stdout, "%s: ok (%" PRIu64 " %s)", name, ajio_json_checker_count(checker),
                       kind == AJIO_JSONL ? "lines" : "value");
    rc = 0;
out:
    ajio_json_checker_free(checker);
    if (fd != STDIN_FILENO)
        (void)close(fd);
    return rc;
}

/* The status says the worst that happened: internal, unreadable, then invalid. */
static int rank(int rc)
{
    return rc == EXIT_SOFTWARE ? 3 : rc == EXIT_NOINPUT ? 2 : rc == EXIT_DATAERR ? 1 : 0;
}

/* No FILE: standard input alone, as a filter in a pipe. */
static int check_stdin_only(unsigned kind, int verbose, char *buf)
{
    int rc = check_one("-", kind, verbose, buf);

    if (cli_close_stdout() < 0)
        return EXIT_IOERR;
    return rc;
}

int cmd_check(int argc, char **argv)
{
    static char buf[CLI_CHUNK];
    unsigned flags = 0, kind;
    int c, rc;

    /* Every option is a flag: any other value is -h or an error. */
    if ((c = cli_getopt(argc, argv, options, &flags)) != -1)
        return cli_other_option(cmd_check_usage, c, argv);
    if ((rc = cli_content_kind(flags, cmd_check_usage, &kind)) != 0)
        return rc;
    if (optind >= argc)
        return check_stdin_only(kind, (flags & CHECK_VERBOSE) != 0, buf);
    for (int i = optind; i < argc; i++) {
        int r = check_one(argv[i], kind, (flags & CHECK_VERBOSE) != 0, buf);

        if (rank(r) > rank(rc))
            rc = r;
    }
    /* Lost output (check -v into a full disk) is this command's own status. */
    if (cli_close_stdout() < 0)
        return EXIT_IOERR;
    return rc;
}

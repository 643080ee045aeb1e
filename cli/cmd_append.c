/*
 * cmd_append.c - "ajio append": append standard input to FILE as whole records, under FILE's
 * lock, repairing a torn last line first.
 *
 *   printf '{"event":"start"}\n' | ajio append --jsonl events.jsonl
 *
 * is the safe form of "... >> events.jsonl": records of concurrent appenders never interleave,
 * a record is never glued to the remains of a crashed append, and invalid input appends nothing.
 * That last promise needs the whole input before the first byte is written, so standard input is
 * read fully into memory first, up to MAX_INPUT bytes, then handed to one ajio_append().
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The most input one append takes: it is held in memory whole (see above). */
#define MAX_INPUT (64UL * 1024 * 1024)

const char cmd_append_usage[] =
    "Usage: ajio append [OPTION]... FILE\n"
    "Append standard input to FILE (created if missing) as whole records, under FILE's lock:\n"
    "records of concurrent appenders never interleave. A torn last line left by a crashed\n"
    "append is repaired first (see 'ajio repair'). A newline is added when the input lacks one.\n"
    "The input is read whole first, at most 64 MiB; on any failure nothing is appended.\n"
    "\n"
    "      --jsonl          input must be JSON Lines (else exit 65, nothing appended); a last\n"
    "                       line of FILE that is a complete value is terminated, not cut\n"
    "      --no-sync        skip fdatasync: not durable across a power cut\n"
    "      --no-repair      fail (exit 65) instead of repairing a torn last line\n"
    "      --no-mkdir       do not create missing parent directories\n" CLI_HELP_LOCK_TIMEOUT
    "  -h, --help           show this help\n"
    "\n"
    "Example: printf '{\"event\":\"start\"}\\n' | ajio append --jsonl events.jsonl\n";

enum { OPT_TIMEOUT = CLI_OPT_COMMAND + 1 };

static const struct cli_option options[] = {
    {"jsonl", .set = AJIO_JSONL},
    {"no-sync", .set = AJIO_NO_SYNC},
    {"no-repair", .set = AJIO_NO_REPAIR},
    {"no-mkdir", .set = AJIO_NO_MKDIR},
    {"timeout", required_argument, OPT_TIMEOUT, 0, 0},
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

/* Standard input, whole, with room for the newline a record ends with. @return 0 or an exit. */
static int read_input(const char *path, char **ret, size_t *ret_len)
{
    size_t len = 0, cap = CLI_CHUNK;
    char *buf = malloc(cap + 1);

    if (buf == NULL) {
        cli_error("no memory for the input to \"%s\"", path);
        return EXIT_SOFTWARE;
    }
    for (;;) {
        ssize_t n;

        if (len == cap) {
            char *p = cap < MAX_INPUT ? realloc(buf, cap * 2 + 1) : NULL;

            if (p == NULL) {
                if (cap < MAX_INPUT)
                    cli_error("no memory for the input to \"%s\"", path);
                else
                    cli_error("input to \"%s\" is over %lu MiB: nothing appended", path,
                              MAX_INPUT >> 20);
                free(buf);
                return cap < MAX_INPUT ? EXIT_SOFTWARE : EXIT_DATAERR;
            }
            buf = p;
            cap *= 2;
        }
        n = cli_read_retry(STDIN_FILENO, buf + len, cap - len);
        if (n < 0) {
            cli_error("reading standard input for \"%s\": %s", path, strerror(errno));
            free(buf);
            return EXIT_IOERR;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > 0 && buf[len - 1] != '\n')
        buf[len++] = '\n'; /* the + 1 of every allocation */
    *ret = buf;
    *ret_len = len;
    return 0;
}

int cmd_append(int argc, char **argv)
{
    ajio_opts opts = {0};
    const char *path;
    size_t len;
    char *data;
    int c, r;

    while ((c = cli_getopt(argc, argv, options, &opts.flags)) != -1) {
        if (c != OPT_TIMEOUT)
            return cli_other_option(cmd_append_usage, c, argv);
        if ((r = cli_lock_timeout_option(optarg, cmd_append_usage, &opts)) != 0)
            return r;
    }
    if ((r = cli_target_file(argv, argc, cmd_append_usage, "append", &path)) != 0)
        return r;
    if (cli_stdin_closed()) {
        cli_error("standard input is closed");
        return EXIT_NOINPUT;
    }
    if ((r = read_input(path, &data, &len)) != 0)
        return r;
    r = ajio_append(path, data, len, &opts);
    free(data);
    if (cli_lock_timed_out(r, opts.flags)) {
        cli_error("%s", cli_last_error(r));
        return EXIT_UNAVAILABLE;
    }
    if (r < 0)
        return cli_write_failed(path, path, "<stdin>", r);
    if (r == AJIO_REPAIRED)
        cli_note("%s", ajio_last_error()); /* the repair done before the append */
    return 0;
}

/*
 * cmd_repair.c - "ajio repair": the torn-tail repair of ajio_repair() on FILE, under its lock,
 * and one line on standard output that says what it did.
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>

const char cmd_repair_usage[] =
    "Usage: ajio repair [OPTION]... FILE\n"
    "Repair a torn last line of FILE (bytes after its last newline, left by an interrupted\n"
    "append): cut it off, or with --jsonl terminate it when it is a complete JSON value.\n"
    "Prints \"FILE: cut N bytes\", \"FILE: terminated the last line\" or \"FILE: nothing to "
    "repair\".\n"
    "\n"
    "      --jsonl          a last line that is a complete JSON value gets its newline\n"
    "      --no-sync        skip fdatasync: not durable across a power cut\n" CLI_HELP_LOCK_TIMEOUT
    "  -h, --help           show this help\n";

enum { OPT_TIMEOUT = CLI_OPT_COMMAND + 1 };

static const struct cli_option options[] = {
    {"jsonl", .set = AJIO_JSONL},
    {"no-sync", .set = AJIO_NO_SYNC},
    {"timeout", required_argument, OPT_TIMEOUT, 0, 0},
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

int cmd_repair(int argc, char **argv)
{
    ajio_opts opts = {0};
    const char *path;
    size_t cut = 0;
    int c, r;

    while ((c = cli_getopt(argc, argv, options, &opts.flags)) != -1) {
        if (c != OPT_TIMEOUT)
            return cli_other_option(cmd_repair_usage, c, argv);
        if ((r = cli_lock_timeout_option(optarg, cmd_repair_usage, &opts)) != 0)
            return r;
    }
    if ((r = cli_target_file(argv, argc, cmd_repair_usage, "repair", &path)) != 0)
        return r;
    r = ajio_repair(path, &opts, &cut);
    if (cli_lock_timed_out(r, opts.flags)) {
        cli_error("%s", cli_last_error(r));
        return EXIT_UNAVAILABLE;
    }
    if (r < 0) {
        cli_error("%s", cli_last_error(r));
        /* Nothing to repair is not something to create: the file to read is missing. */
        return r == -ENOENT ? EXIT_NOINPUT : cli_exit_for(r);
    }
    if (r == 0)
        cli_print_line(stdout, "%s: nothing to repair", path);
    else if (cut == 0)
        cli_print_line(stdout, "%s: terminated the last line", path);
    else
        cli_print_line(stdout, "%s: cut %zu bytes", path, cut);
    return 0;
}

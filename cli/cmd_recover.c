/*
 * cmd_recover.c - "ajio recover": make the set of files of DIR whole after a transaction
 * ("ajio batch --all-or-nothing", ajio_txn_commit()) died, through ajio_recover().
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <string.h>

const char cmd_recover_usage[] =
    "Usage: ajio recover [OPTION]... DIR\n"
    "Complete or undo a transaction ('ajio batch --all-or-nothing') that died in DIR: with\n"
    "its intent record every file becomes new, without it every file stays old. Prints\n"
    "'DIR: recovered' or 'DIR: nothing to recover'. Every later transaction in DIR does this\n"
    "first; run it to repair DIR before reading it. A corrupt intent record, or one of\n"
    "another version, is left as it is with nothing touched (exit 65).\n"
    "\n"
    "      --no-sync        do not fsync what the recovery changed\n"
    "      --timeout SEC    wait at most SEC whole seconds for DIR's lock (0: do not wait),\n"
    "                       then exit 69 with nothing done\n"
    "  -h, --help           show this help\n";

enum { OPT_TIMEOUT = CLI_OPT_COMMAND + 1 };

static const struct cli_option options[] = {
    {"no-sync", .set = AJIO_NO_SYNC},
    {"timeout", required_argument, OPT_TIMEOUT, 0, 0},
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

int cmd_recover(int argc, char **argv)
{
    ajio_opts opts = {0};
    const char *dir;
    int c, r;

    while ((c = cli_getopt(argc, argv, options, &opts.flags)) != -1) {
        if (c == OPT_TIMEOUT)
            r = cli_lock_timeout_option(optarg, cmd_recover_usage, &opts);
        else
            return cli_other_option(cmd_recover_usage, c, argv);
        if (r != 0)
            return r;
    }
    if (optind >= argc)
        return cli_usage_error(cmd_recover_usage, "recover: missing DIR");
    if (optind + 1 < argc)
        return cli_usage_error(cmd_recover_usage, "recover: one DIR only ('%s' is extra)",
                               argv[optind + 1]);
    dir = argv[optind];
    r = ajio_recover(dir, &opts);
    if (r < 0) {
        cli_error("recover \"%s\": %s", dir, cli_last_error(r));
        if (cli_lock_timed_out(r, opts.flags))
            return EXIT_UNAVAILABLE;
        if (r == -ENOENT || r == -ENOTDIR || r == -EACCES)
            return EXIT_NOINPUT;
        if (r == -EBADMSG || r == -EPROTONOSUPPORT)
            return EXIT_DATAERR;
        return cli_exit_for(r);
    }
    cli_print_line(stdout, "%s: %s", dir, r == AJIO_REPAIRED ? "recovered" : "nothing to recover");
    if (cli_close_stdout() < 0)
        return EXIT_IOERR;
    return 0;
}

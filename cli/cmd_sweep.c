/*
 * cmd_sweep.c - "ajio sweep": remove the temp files that killed writers left behind, through
 * ajio_sweep(), which knows the one shape of a temp name and leaves the temps of live writers;
 * with --locks also the lock files of targets that are gone (AJIO_SWEEP_LOCKS).
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <string.h>

/* The default --min-age: far longer than any live write keeps a temp name. */
#define SWEEP_DEFAULT_MIN_AGE 60

const char cmd_sweep_usage[] =
    "Usage: ajio sweep [OPTION]... DIR...\n"
    "Remove temp files (.NAME.ajio-<16 hex>.tmp) left in DIR by writers that were killed.\n"
    "Prints 'DIR: N removed' (or 'DIR: N to remove' with --dry-run) for each DIR.\n"
    "\n"
    "      --locks            also remove lock files (.NAME.ajio-lock) whose file NAME is gone\n"
    "                         and that no process holds\n"
    "      --min-age SECONDS  only temps unchanged for this long (default 60; 0 removes all,\n"
    "                         safe only when no writer can be running)\n"
    "      --name NAME        only temps (and lock file) of the target file NAME\n"
    "  -n, --dry-run          count, remove nothing\n"
    "      --no-sync          do not fsync DIR after removals\n"
    "  -h, --help             show this help\n";

enum { OPT_MIN_AGE = CLI_OPT_COMMAND, OPT_NAME };

/* The options without an argument are the flags of ajio_sweep(). */
static const struct cli_option options[] = {
    {"min-age", required_argument, OPT_MIN_AGE, 0, 0},
    {"name", required_argument, OPT_NAME, 0, 0},
    {"dry-run", .id = 'n', .set = AJIO_SWEEP_DRY_RUN},
    {"no-sync", .set = AJIO_SWEEP_NO_SYNC},
    {"locks", .set = AJIO_SWEEP_LOCKS},
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

int cmd_sweep(int argc, char **argv)
{
    unsigned long min_age = SWEEP_DEFAULT_MIN_AGE;
    unsigned flags = 0;
    const char *name = NULL;
    int c, rc = 0;

    while ((c = cli_getopt(argc, argv, options, &flags)) != -1) {
        switch (c) {
        case OPT_MIN_AGE:
            if (cli_parse_unsigned(optarg, 10, 0xffffffffUL, &min_age) < 0)
                return cli_usage_error(cmd_sweep_usage, "--min-age wants whole seconds, not '%s'",
                                       optarg);
            break;
        case OPT_NAME:
            if (optarg[0] == '\0' || strchr(optarg, '/') != NULL)
                return cli_usage_error(cmd_sweep_usage, "--name wants a file name, not '%s'",
                                       optarg);
            name = optarg;
            break;
        default:
            return cli_other_option(cmd_sweep_usage, c, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error(cmd_sweep_usage, "sweep: missing DIR");
    for (int i = optind; i < argc; i++) {
        int r = ajio_sweep(argv[i], name, (unsigned)min_age, flags);

        if (r < 0) {
            cli_error("%s", cli_last_error(r));
            /* The first failure sets the status; the other directories are still swept. */
            if (rc == 0)
                rc = r == -ENOENT || r == -ENOTDIR || r == -EACCES ? EXIT_NOINPUT : EXIT_IOERR;
            continue;
        }
        cli_print_line(stdout, "%s: %d %s", argv[i], r,
                       (flags & AJIO_SWEEP_DRY_RUN) ? "to remove (dry run)" : "removed");
    }
    /* Lost output ("DIR: N removed" into a full disk) is this command's own status. */
    if (cli_close_stdout() < 0)
        return EXIT_IOERR;
    return rc;
}

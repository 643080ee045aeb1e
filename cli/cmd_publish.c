/*
 * cmd_publish.c - "ajio publish": publish a copy (or, with --move, the tree itself) of SRC as
 * the new generation of the snapshot NAME, through ajio_publish(); and "ajio snapshot gc NAME",
 * through ajio_snapshot_gc(). Readers use "ajio cat --snapshot" (cmd_cat.c).
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

const char cmd_publish_usage[] =
    "Usage: ajio publish [OPTION]... SRC NAME\n"
    "Publish a copy of the directory tree SRC as NAME: a new generation .NAME.snap-<16 hex> is\n"
    "made beside NAME (reflinked where the filesystem can, else copied; never hard links),\n"
    "synced, then NAME, a symlink, is switched to it at once. Readers following the reader\n"
    "protocol ('ajio cat --snapshot') see the whole old tree or the whole new one. The\n"
    "generations no reader holds are then removed. SRC is left as it was.\n"
    "\n"
    "      --move           move SRC in as the generation instead of copying it (same\n"
    "                       filesystem; SRC is gone on success, back in place on failure)\n"
    "      --no-sync        skip fsync: atomic for readers, not durable across a power cut\n"
    "  -h, --help           show this help\n"
    "\n"
    "Example: ajio publish site/ www\n";

const char cmd_snapshot_usage[] =
    "Usage: ajio snapshot gc [OPTION]... NAME\n"
    "Remove the generations of the published NAME that are not current and that no reader\n"
    "holds, and what publishes that died left behind; a tree moved in by 'publish --move'\n"
    "that died is moved back. Prints 'NAME: N removed'.\n"
    "\n"
    "      --no-sync        do not fsync NAME's directory after removals\n"
    "  -h, --help           show this help\n";

static const struct cli_option publish_options[] = {
    {"move", .set = AJIO_PUBLISH_MOVE},
    {"no-sync", .set = AJIO_NO_SYNC},
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

static const struct cli_option snapshot_options[] = {
    {"no-sync", .set = AJIO_NO_SYNC},
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

int cmd_publish(int argc, char **argv)
{
    ajio_opts opts = {0};
    const char *src, *name;
    struct stat st;
    int c, r;

    if ((c = cli_getopt(argc, argv, publish_options, &opts.flags)) != -1)
        return cli_other_option(cmd_publish_usage, c, argv);
    if (argc - optind < 2)
        return cli_usage_error(cmd_publish_usage, "publish: missing %s",
                               argc - optind == 0 ? "SRC and NAME" : "NAME");
    if (argc - optind > 2)
        return cli_usage_error(cmd_publish_usage, "publish: SRC and NAME only ('%s' is extra)",
                               argv[optind + 2]);
    src = argv[optind];
    name = argv[optind + 1];
    r = ajio_publish(src, name, &opts);
    if (r == 0)
        return 0;
    if (r == AJIO_ENOTDURABLE) {
        cli_error("\"%s\" was published as \"%s\" but may not survive a power cut: %s", src, name,
                  cli_last_error(r));
        return EXIT_TEMPFAIL;
    }
    cli_error("publish \"%s\" as \"%s\": %s", src, name, cli_last_error(r));
    /* A source that is not there (or not a directory) is the input's fault, not NAME's. */
    if ((r == -ENOENT || r == -ENOTDIR || r == -EACCES) &&
        (stat(src, &st) < 0 || !S_ISDIR(st.st_mode)))
        return EXIT_NOINPUT;
    if (r == -EOPNOTSUPP)
        return EXIT_DATAERR;
    return cli_exit_for(r);
}

int cmd_snapshot(int argc, char **argv)
{
    ajio_opts opts = {0};
    const char *name;
    int c, r;

    if ((c = cli_getopt(argc, argv, snapshot_options, &opts.flags)) != -1)
        return cli_other_option(cmd_snapshot_usage, c, argv);
    if (optind >= argc)
        return cli_usage_error(cmd_snapshot_usage, "snapshot: missing the action (gc)");
    if (strcmp(argv[optind], "gc") != 0)
        return cli_usage_error(cmd_snapshot_usage, "snapshot: unknown action '%s' (only gc)",
                               argv[optind]);
    if (optind + 1 >= argc)
        return cli_usage_error(cmd_snapshot_usage, "snapshot gc: missing NAME");
    if (optind + 2 < argc)
        return cli_usage_error(cmd_snapshot_usage, "snapshot gc: one NAME only ('%s' is extra)",
                               argv[optind + 2]);
    name = argv[optind + 1];
    r = ajio_snapshot_gc(name, &opts);
    if (r < 0) {
        cli_error("snapshot gc \"%s\": %s", name, cli_last_error(r));
        return r == -ENOENT || r == -ENOTDIR || r == -EACCES ? EXIT_NOINPUT : cli_exit_for(r);
    }
    cli_print_line(stdout, "%s: %d removed", name, r);
    if (cli_close_stdout() < 0)
        return EXIT_IOERR;
    return 0;
}

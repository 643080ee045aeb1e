/*
 * cmd_write.c - "ajio write": atomically replace FILE with standard input.
 *
 *   jq '.port = 8081' cfg.json | ajio write --json cfg.json
 *
 * is the safe form of "jq ... cfg.json > cfg.json", which truncates the file before jq has read
 * it. Input is streamed in CLI_CHUNK pieces into one handle of the library, so memory use does
 * not depend on the input size. With --json or --jsonl the handle carries AJIO_JSON or AJIO_JSONL:
 * the library validates every piece as it is written and ensures the trailing newline at the
 * commit, so invalid input fails the write and leaves FILE untouched.
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

const char cmd_write_usage[] =
    "Usage: ajio write [OPTION]... FILE\n"
    "Atomically replace (or create) FILE with everything read from standard input.\n"
    "Readers see the old or the new content, never a part; on any failure FILE is untouched.\n"
    "\n"
    "      --json           input must be one JSON value; a trailing newline is ensured\n"
    "      --jsonl          input must be JSON Lines; a last line without newline gets one\n"
    "      --mode OCTAL     give FILE exactly these permission bits (e.g. 0600)\n"
    "      --no-sync        skip fsync: still atomic, not durable across a power cut\n"
    "      --create-only    fail (exit 73) if FILE exists\n"
    "      --no-follow      fail if FILE is a symlink\n"
    "      --replace-link   if FILE is a symlink, replace the link by a regular file\n"
    "      --skip-unchanged if FILE already holds exactly the input, touch nothing\n"
    "      --no-mkdir       do not create missing parent directories\n"
    "  -h, --help           show this help\n"
    "\n"
    "Example: jq '.port = 8081' cfg.json | ajio write --json cfg.json\n";

enum { OPT_MODE = CLI_OPT_COMMAND };

/* Every option but --mode is one flag of ajio_opts, the content kind included. */
static const struct cli_option options[] = {
    CLI_OPTIONS_CONTENT,
    {"mode", required_argument, OPT_MODE, 0, 0},
    {"no-sync", .set = AJIO_NO_SYNC},
    {"create-only", .set = AJIO_CREATE_ONLY},
    {"no-follow", .set = AJIO_NO_FOLLOW},
    {"replace-link", .set = AJIO_REPLACE_LINK},
    {"skip-unchanged", .set = AJIO_SKIP_UNCHANGED},
    {"no-mkdir", .set = AJIO_NO_MKDIR},
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

/*
 * Reports the failure r of the write to name. Invalid content is "FILE:LINE:COL: reason" with
 * FILE the name the user gave: the library's message says "PATH:LINE:COL: reason" with PATH the
 * resolved target (lib_path, the link's destination when name is a symlink), so that prefix is
 * replaced. Every other failure is the library's message, "ajio: " in front.
 */
static void report(const char *name, const char *lib_path, int r)
{
    const char *msg = cli_last_error(r);
    size_t n = strlen(lib_path);

    if ((r == AJIO_EJSON || r == AJIO_ETORN) && strncmp(msg, lib_path, n) == 0 && msg[n] == ':')
        cli_data_error(name, "%s", msg + n);
    else
        cli_error("%s", msg);
}

int cmd_write(int argc, char **argv)
{
    static char buf[CLI_CHUNK];
    /* ajio_commit() frees the handle, and its path with it: a copy serves the last report. */
    char lib_path[PATH_MAX];
    ajio_opts opts = {0};
    ajio_file *f = NULL;
    const char *path;
    unsigned long m;
    int c, r;

    while ((c = cli_getopt(argc, argv, options, &opts.flags)) != -1) {
        if (c != OPT_MODE)
            return cli_other_option(cmd_write_usage, c, argv);
        if (cli_parse_unsigned(optarg, 8, 07777, &m) < 0)
            return cli_usage_error(cmd_write_usage, "--mode wants octal bits 0 to 7777, not '%s'",
                                   optarg);
        opts.flags |= AJIO_MODE;
        opts.mode = (unsigned)m;
    }
    /* The library takes the kind as flags: only the contradiction needs a check. */
    if ((r = cli_content_kind(opts.flags, cmd_write_usage, NULL)) != 0)
        return r;
    if ((opts.flags & AJIO_NO_FOLLOW) && (opts.flags & AJIO_REPLACE_LINK))
        return cli_usage_error(cmd_write_usage,
                               "--no-follow and --replace-link exclude each other");
    if (optind >= argc)
        return cli_usage_error(cmd_write_usage, "write: missing FILE");
    if (optind + 1 < argc)
        return cli_usage_error(cmd_write_usage, "write: one FILE only ('%s' is extra)",
                               argv[optind + 1]);
    path = argv[optind];
    /* A closed standard input is the caller's mistake, not an empty input: say so, and touch
     * nothing (fd 0 now holds /dev/null, which would only fail with EBADF). */
    if (cli_stdin_closed()) {
        cli_error("standard input is closed");
        return EXIT_NOINPUT;
    }

    /* Open first: a target that cannot be written fails before stdin is consumed. */
    r = ajio_open(&f, path, &opts);
    if (r < 0) {
        cli_error("%s", cli_last_error(r));
        return cli_exit_for(r);
    }
    (void)snprintf(lib_path, sizeof(lib_path), "%s", ajio_file_path(f));
    for (;;) {
        ssize_t n = cli_read_retry(STDIN_FILENO, buf, sizeof(buf));

        if (n < 0) {
            cli_error("reading standard input for \"%s\": %s", path, strerror(errno));
            ajio_abort(f);
            return EXIT_IOERR;
        }
        if (n == 0)
            break;
        r = ajio_write(f, buf, (size_t)n);
        if (r < 0) {
            /* The message first: the abort may leave one of its own. */
            report(path, lib_path, r);
            ajio_abort(f);
            return cli_exit_for(r);
        }
    }
    r = ajio_commit(f);
    if (r == AJIO_ENOTDURABLE) {
        cli_error("\"%s\" was replaced but may not survive a power cut: %s", path,
                  cli_last_error(r));
        return EXIT_TEMPFAIL;
    }
    if (r < 0) {
        report(path, lib_path, r);
        return cli_exit_for(r);
    }
    return 0;
}

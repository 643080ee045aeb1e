/*
 * cmd_write.c - "ajio write": atomically replace FILE with standard input.
 *
 *   jq '.port = 8081' cfg.json | ajio write --json cfg.json
 *
 * is the safe form of "jq ... cfg.json > cfg.json", which truncates the file before jq has read
 * it. Input is streamed into one handle of the library, so memory use does not depend on the
 * input size: a regular file or a pipe is handed over as an fd (ajio_file_write_fd(), which lets
 * the kernel move the bytes when nothing has to see them), anything else is read here in
 * CLI_CHUNK pieces. With --json or --jsonl the handle carries AJIO_JSON or AJIO_JSONL: the library
 * validates every piece as it is written and ensures the trailing newline at the commit, so
 * invalid input fails the write and leaves FILE untouched.
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char cmd_write_usage[] =
    "Usage: ajio write [OPTION]... FILE\n"
    "Atomically replace (or create) FILE with everything read from standard input.\n"
    "Readers see the old or the new content, never a part; on any failure FILE is untouched.\n"
    "\n"
    "      --json           input must be one JSON value; a trailing newline is ensured\n"
    "      --jsonl          input must be JSON Lines; a last line without newline gets "
    "one\n" CLI_HELP_WRITE
    "      --lock           hold FILE's lock (that of 'ajio update' and 'ajio append') for the\n"
    "                       write, so that it never lands inside an update\n"
    "      --timeout SEC    with --lock: wait at most SEC whole seconds for the lock (0: do\n"
    "                       not wait), then exit 69 with FILE untouched\n"
    "  -h, --help           show this help\n"
    "\n"
    "An empty input is refused (exit 65, FILE untouched) unless --allow-empty is given. FILE\n"
    "'-' is refused: standard output cannot be replaced atomically.\n"
    "\n"
    "Example: jq '.port = 8081' cfg.json | ajio write --json cfg.json\n";

enum { OPT_TIMEOUT = CLI_OPT_COMMAND + 1 };

/* Every option but --mode and --timeout is one flag of ajio_opts, the content kind included. */
static const struct cli_option options[] = {
    CLI_OPTIONS_CONTENT,
    CLI_OPTIONS_WRITE,
    {"lock", .set = AJIO_LOCK},
    {"timeout", required_argument, OPT_TIMEOUT, 0, 0},
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

/*
 * Whether standard input goes to the library as an fd: a regular file or a pipe, open for
 * reading. Elsewhere (a directory, a terminal, a socket, a device, an fd open for writing only)
 * the read below fails or works as it always has, with its own message.
 */
static int stdin_by_fd(void)
{
    struct stat st;
    int fl = fcntl(STDIN_FILENO, F_GETFL);

    return fl >= 0 && (fl & O_ACCMODE) != O_WRONLY && fstat(STDIN_FILENO, &st) == 0 &&
           (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode));
}

/* Reads standard input to its end into f. @return 0, or the exit status (f aborted). */
static int read_stdin(ajio_file *f, const char *path, const char *lib_path, uint64_t *total)
{
    static char buf[CLI_CHUNK];

    for (;;) {
        ssize_t n = cli_read_retry(STDIN_FILENO, buf, sizeof(buf));
        int r;

        if (n < 0) {
            cli_error("reading standard input for \"%s\": %s", path, strerror(errno));
            ajio_file_abort(f);
            return EXIT_IOERR;
        }
        if (n == 0)
            return 0;
        *total += (uint64_t)n;
        r = ajio_file_write(f, buf, (size_t)n);
        if (r < 0) {
            /* The message first: the abort may leave one of its own. */
            r = cli_write_failed(path, lib_path, "<stdin>", r);
            ajio_file_abort(f);
            return r;
        }
    }
}

int cmd_write(int argc, char **argv)
{
    /* ajio_file_commit() frees the handle, and its path with it: a copy serves the last report. */
    char lib_path[PATH_MAX];
    ajio_opts opts = {0};
    ajio_file *f = NULL;
    const char *path;
    uint64_t total = 0;
    int allow_empty, c, r;

    while ((c = cli_getopt(argc, argv, options, &opts.flags)) != -1) {
        if (c == CLI_OPT_MODE)
            r = cli_mode_option(optarg, cmd_write_usage, &opts);
        else if (c == OPT_TIMEOUT)
            r = cli_lock_timeout_option(optarg, cmd_write_usage, &opts);
        else
            return cli_other_option(cmd_write_usage, c, argv);
        if (r != 0)
            return r;
    }
    /* A timeout without the lock would bound nothing: say so rather than ignore it. */
    if ((opts.flags & AJIO_LOCK_TIMEOUT) && !(opts.flags & AJIO_LOCK))
        return cli_usage_error(cmd_write_usage, "--timeout bounds the wait for the lock: it "
                                                "needs --lock");
    /* The library takes the kind as flags: only the contradictions need a check. */
    if ((r = cli_check_write_options(opts.flags, cmd_write_usage)) != 0)
        return r;
    if ((r = cli_target_file(argv, argc, cmd_write_usage, "write", &path)) != 0)
        return r;
    allow_empty = (opts.flags & CLI_ALLOW_EMPTY) != 0;
    opts.flags &= ~CLI_ALLOW_EMPTY;
    /* A closed standard input is the caller's mistake, not an empty input: say so, and touch
     * nothing (fd 0 now holds /dev/null, which would only fail with EBADF). */
    if (cli_stdin_closed()) {
        cli_error("standard input is closed");
        return EXIT_NOINPUT;
    }

    /* Open first: a target that cannot be written fails before stdin is consumed. */
    r = ajio_file_open(&f, path, &opts);
    if (r < 0) {
        if (cli_lock_timed_out(r, opts.flags)) {
            cli_error("%s", cli_last_error(r));
            return EXIT_UNAVAILABLE;
        }
        return cli_write_error(r);
    }
    (void)snprintf(lib_path, sizeof(lib_path), "%s", ajio_file_path(f));
    if (stdin_by_fd()) {
        r = ajio_file_write_fd(f, STDIN_FILENO, &total);
        if (r < 0) {
            r = cli_write_failed(path, lib_path, "<stdin>", r);
            ajio_file_abort(f);
            return r;
        }
    } else if ((r = read_stdin(f, path, lib_path, &total)) != 0) {
        return r;
    }
    /* With --json the library refuses an empty input itself, as invalid JSON. */
    if (total == 0 && !allow_empty && !(opts.flags & AJIO_JSON)) {
        ajio_file_abort(f);
        return cli_empty_input("standard input", path);
    }
    return cli_commit_result(path, lib_path, "<stdin>", ajio_file_commit(f));
}

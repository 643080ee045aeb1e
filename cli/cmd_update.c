/*
 * cmd_update.c - "ajio update": a locked read-modify-write of FILE by a command.
 *
 *   ajio update --json counter.json -- jq '.n += 1'
 *
 * runs jq with the current content of counter.json on its standard input and replaces the file
 * with jq's output, holding the lock of ajio_update() all along: concurrent updates are applied
 * one after the other, none is lost. The command's output is streamed in CLI_CHUNK pieces into
 * the library's handle (validated with --json/--jsonl); FILE is replaced only if the command
 * exits 0 and the output is valid.
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

const char cmd_update_usage[] =
    "Usage: ajio update [OPTION]... FILE -- CMD [ARG]...\n"
    "Run CMD with the content of FILE on its standard input (empty if there is no FILE) and\n"
    "atomically replace FILE with its output if it exits 0, holding FILE's lock all along, so\n"
    "that concurrent updates never lose one another. On any failure FILE is untouched.\n"
    "\n"
    "      --json           output must be one JSON value; a trailing newline is ensured\n"
    "      --jsonl          output must be JSON Lines; a last line without newline gets one\n"
    "      --timeout SEC    wait at most SEC seconds for the lock (0: do not wait), then exit "
    "69\n" CLI_HELP_WRITE "  -h, --help           show this help\n"
    "\n"
    "Exit status: 1 if CMD fails or cannot be run, else as 'ajio write'.\n"
    "Example: ajio update --json counter.json -- jq '.n += 1'\n";

enum { OPT_TIMEOUT = CLI_OPT_COMMAND + 1 };

static const struct cli_option options[] = {
    CLI_OPTIONS_CONTENT, {"timeout", required_argument, OPT_TIMEOUT, 0, 0},
    CLI_OPTIONS_WRITE,   CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

/* Longest --timeout: its milliseconds must fit in an int. */
#define MAX_TIMEOUT_SEC (INT_MAX / 1000)

struct update {
    char **cmd;
    const char *path;        /* as the user gave it */
    int called;              /* the lock was taken and the callback ran */
    int cmd_failed;          /* CMD could not be run or did not exit 0 (the message is set) */
    char lib_path[PATH_MAX]; /* the resolved target, for the messages of invalid output */
};

/* The content for CMD's standard input: a memfd, so no pipe can fill up while CMD writes. */
static int input_fd(const struct update *u, const void *old, size_t len)
{
    const char *p = old;
    int fd = memfd_create("ajio-update-input", MFD_CLOEXEC);

    if (fd < 0)
        return ajio_set_last_error(-errno, "memfd for the input of '%s': %s", u->cmd[0],
                                   strerror(errno));
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? -errno : -EIO;

            (void)close(fd);
            return ajio_set_last_error(err, "input of '%s': %s", u->cmd[0], strerror(-err));
        }
        p += n;
        len -= (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        int err = -errno;

        (void)close(fd);
        return ajio_set_last_error(err, "input of '%s': %s", u->cmd[0], strerror(-err));
    }
    return fd;
}

/* Starts CMD with in as standard input and a pipe as standard output. @return its pid or <0. */
static pid_t spawn_cmd(struct update *u, int in, int *ret_out)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t dfl;
    int p[2], r;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0)
        return ajio_set_last_error(-errno, "pipe for '%s': %s", u->cmd[0], strerror(errno));
    /* main() ignores SIGXFSZ for the tool's own writes; CMD gets the default back. */
    (void)sigemptyset(&dfl);
    (void)sigaddset(&dfl, SIGXFSZ);
    r = posix_spawn_file_actions_init(&fa);
    if (r == 0)
        r = posix_spawnattr_init(&attr);
    if (r == 0) {
        r = posix_spawnattr_setsigdefault(&attr, &dfl);
        if (r == 0)
            r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
            r = posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO);
        if (r == 0)
            r = posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
        if (r == 0)
            r = posix_spawnp(&pid, u->cmd[0], &fa, &attr, u->cmd, environ);
        (void)posix_spawnattr_destroy(&attr);
    }
    (void)posix_spawn_file_actions_destroy(&fa);
    (void)close(p[1]); /* a pipe: nothing for close to report */
    if (r != 0) {
        (void)close(p[0]);
        u->cmd_failed = 1;
        return ajio_set_last_error(-r, "cannot run '%s': %s", u->cmd[0], strerror(r));
    }
    *ret_out = p[0];
    return pid;
}

/* Copies CMD's output into the handle. @return 0, or the first error (its message set). */
static int copy_output(const struct update *u, int fd, ajio_file *out)
{
    static char buf[CLI_CHUNK];

    for (;;) {
        ssize_t n = cli_read_retry(fd, buf, sizeof(buf));

        if (n < 0)
            return ajio_set_last_error(-errno, "reading the output of '%s': %s", u->cmd[0],
                                       strerror(errno));
        if (n == 0)
            return 0;
        /* Invalid output, a full disk: stop reading; CMD gets SIGPIPE or EPIPE. */
        int r = ajio_write(out, buf, (size_t)n);
        if (r < 0)
            return r;
    }
}

/* The callback of ajio_update(), run under the lock: CMD, its output into out. */
static int run_cmd(void *ctx, const void *old, size_t old_len, int exists, ajio_file *out)
{
    struct update *u = ctx;
    int in, fd, status, r;
    pid_t pid;

    (void)exists;
    u->called = 1;
    (void)snprintf(u->lib_path, sizeof(u->lib_path), "%s", ajio_file_path(out));
    in = input_fd(u, old, old_len);
    if (in < 0)
        return in;
    pid = spawn_cmd(u, in, &fd);
    (void)close(in); /* a memfd only read from now on */
    if (pid < 0)
        return pid;
    r = copy_output(u, fd, out);
    (void)close(fd); /* the read end of a pipe */
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return ajio_set_last_error(-errno, "waitpid of '%s': %s", u->cmd[0], strerror(errno));
    }
    if (r < 0)
        return r; /* the library's message (invalid output, ...) says more than CMD's status */
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    u->cmd_failed = 1;
    if (WIFEXITED(status))
        return ajio_set_last_error(-ECANCELED, "'%s' exited with status %d: \"%s\" left as it was",
                                   u->cmd[0], WEXITSTATUS(status), u->path);
    return ajio_set_last_error(-ECANCELED, "'%s' was killed by signal %d: \"%s\" left as it was",
                               u->cmd[0], WTERMSIG(status), u->path);
}

/* The position of the "--" before CMD, or 0 if there is none. */
static int find_dashdash(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0)
            return i;
    return 0;
}

int cmd_update(int argc, char **argv)
{
    struct update u = {0};
    ajio_opts opts = {0};
    unsigned long sec;
    int timeout_ms = -1;
    int dashdash, c, r;

    /* Only the words before "--" are ajio's: CMD's own options must not be parsed here. */
    dashdash = find_dashdash(argc, argv);
    while ((c = cli_getopt(dashdash ? dashdash : argc, argv, options, &opts.flags)) != -1) {
        if (c == CLI_OPT_MODE) {
            if ((r = cli_mode_option(optarg, cmd_update_usage, &opts)) != 0)
                return r;
        } else if (c == OPT_TIMEOUT) {
            if (cli_parse_unsigned(optarg, 10, MAX_TIMEOUT_SEC, &sec) < 0)
                return cli_usage_error(cmd_update_usage,
                                       "--timeout wants whole seconds 0 to %d, not '%s'",
                                       MAX_TIMEOUT_SEC, optarg);
            timeout_ms = (int)sec * 1000;
        } else {
            return cli_other_option(cmd_update_usage, c, argv);
        }
    }
    if ((r = cli_check_write_options(opts.flags, cmd_update_usage)) != 0)
        return r;
    if ((r = cli_one_file(argv, dashdash ? dashdash : argc, cmd_update_usage, "update",
                          &u.path)) != 0)
        return r;
    if (!dashdash)
        return cli_usage_error(cmd_update_usage, "update: missing '--' before CMD");
    if (dashdash + 1 >= argc)
        return cli_usage_error(cmd_update_usage, "update: missing CMD after '--'");
    u.cmd = argv + dashdash + 1;
    (void)snprintf(u.lib_path, sizeof(u.lib_path), "%s", u.path);

    r = ajio_update(u.path, run_cmd, &u, timeout_ms, &opts);
    if (u.cmd_failed) {
        cli_error("%s", cli_last_error(r));
        return EXIT_CMDFAIL;
    }
    /* Before the callback, these are the lock's: held for all of --timeout. */
    if (!u.called && (r == -ETIMEDOUT || r == -EWOULDBLOCK)) {
        cli_error("%s", cli_last_error(r));
        return EXIT_UNAVAILABLE;
    }
    return cli_commit_result(u.path, u.lib_path, r);
}

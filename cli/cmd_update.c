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
 *
 * With --cmd-timeout, CMD runs in a process group of its own: when it overstays, the whole group
 * gets SIGTERM, then SIGKILL after KILL_GRACE_MS, so that neither CMD nor a child of it that still
 * holds the output pipe can keep the lock. Signals that would end ajio meanwhile (Ctrl-C reaches
 * only the terminal's foreground group, which CMD has left) are passed on to that group.
 */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
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
    "69\n"
    "      --cmd-timeout SEC  kill CMD (and its children) if it runs longer than SEC seconds\n"
    "                       (a fraction is fine: 0.5), then exit 124 with FILE "
    "untouched\n" CLI_HELP_WRITE "  -h, --help           show this help\n"
    "\n"
    "Exit status: 1 if CMD fails or cannot be run, 124 if it was killed for --cmd-timeout,\n"
    "else as 'ajio write'.\n"
    "Example: ajio update --json counter.json -- jq '.n += 1'\n";

enum { OPT_TIMEOUT = CLI_OPT_COMMAND + 1, OPT_CMD_TIMEOUT };

static const struct cli_option options[] = {
    CLI_OPTIONS_CONTENT,
    {"timeout", required_argument, OPT_TIMEOUT, 0, 0},
    {"cmd-timeout", required_argument, OPT_CMD_TIMEOUT, 0, 0},
    CLI_OPTIONS_WRITE,
    CLI_OPTION_HELP,
    {NULL, 0, 0, 0, 0},
};

/* Longest --timeout: its milliseconds must fit in an int. */
#define MAX_TIMEOUT_SEC (INT_MAX / 1000)

/* Longest --cmd-timeout: a year, far beyond any use, and no overflow of the deadline. */
#define MAX_CMD_TIMEOUT_SEC (366UL * 24 * 3600)

/* How long CMD's group has after SIGTERM to end before SIGKILL: cleanup, not more work. */
#define KILL_GRACE_MS 1000

/* The longest sleep between two checks whether CMD has exited (see wait_exit()). */
#define WAIT_STEP_MAX_MS 50

struct update {
    char **cmd;
    const char *path;        /* as the user gave it */
    const char *cmd_timeout; /* --cmd-timeout as given, for the message; NULL without */
    long long cmd_timeout_ms;
    long long deadline_ms;   /* CLOCK_MONOTONIC time at which CMD is killed, with --cmd-timeout */
    int called;              /* the lock was taken and the callback ran */
    int cmd_failed;          /* CMD could not be run or did not exit 0 (the message is set) */
    int timed_out;           /* CMD was killed for --cmd-timeout (the message is set) */
    char lib_path[PATH_MAX]; /* the resolved target, for the messages of invalid output */
};

/* CMD's process group while it runs with --cmd-timeout, for forward_signal(); 0 otherwise. */
static volatile sig_atomic_t cmd_group;

/* The signals that end ajio by default and so are passed on to CMD's group. */
static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};
#define N_FORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

/* CMD ending of the signal ends the wait for it, and ajio reports it as killed by a signal. */
static void forward_signal(int sig)
{
    int saved = errno;

    if (cmd_group > 0)
        (void)kill(-(pid_t)cmd_group, sig);
    errno = saved;
}

static long long now_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail with a valid clock and pointer */
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until u's deadline, at least 0; -1 (no limit) without --cmd-timeout. */
static int ms_left(const struct update *u)
{
    long long left;

    if (u->cmd_timeout == NULL)
        return -1;
    left = u->deadline_ms - now_ms();
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

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
    sigset_t dfl, mask;
    short spawn_flags = POSIX_SPAWN_SETSIGDEF;
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
        if (u->cmd_timeout != NULL) {
            /* A group of its own, so that a kill reaches CMD's children too; CMD gets the
             * signals run_cmd() blocked around the spawn unblocked (their actions are still
             * ajio's inherited ones, a signal ignored by nohup stays ignored). */
            (void)sigprocmask(SIG_SETMASK, NULL, &mask);
            for (size_t i = 0; i < N_FORWARDED; i++)
                (void)sigdelset(&mask, forwarded[i]);
            spawn_flags |= POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK;
            r = posix_spawnattr_setpgroup(&attr, 0);
            if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &mask);
        }
        if (r == 0)
            r = posix_spawnattr_setsigdefault(&attr, &dfl);
        if (r == 0)
            r = posix_spawnattr_setflags(&attr, spawn_flags);
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

/*
 * Copies CMD's output into the handle, until its end or u's deadline (u->timed_out set).
 * @return 0, or the first error (its message set).
 */
static int copy_output(struct update *u, int fd, ajio_file *out)
{
    static char buf[CLI_CHUNK];

    for (;;) {
        int left = ms_left(u);

        if (left >= 0) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};

            if (left == 0) {
                u->timed_out = 1;
                return 0;
            }
            if (poll(&pfd, 1, left) < 0 && errno != EINTR)
                return ajio_set_last_error(-errno, "poll of the output of '%s': %s", u->cmd[0],
                                           strerror(errno));
            if (pfd.revents == 0)
                continue; /* the deadline, or a signal passed on: look again */
        }
        ssize_t n = cli_read_retry(fd, buf, sizeof(buf));

        if (n < 0)
            return ajio_set_last_error(-errno, "reading the output of '%s': %s", u->cmd[0],
                                       strerror(errno));
        if (n == 0)
            return 0;
        /* Invalid output, a full disk: stop reading; CMD gets SIGPIPE or EPIPE. */
        int r = ajio_file_write(out, buf, (size_t)n);
        if (r < 0)
            return r;
    }
}

/*
 * Waits until CMD has exited or timeout_ms (-1: no limit) have passed, without reaping it: a
 * zombie keeps its pid, and so its group's id, from being reused before the group's SIGKILL.
 * Polled with sleeps growing to WAIT_STEP_MAX_MS, as no pidfd is needed then (kernels before
 * 5.3); CMD has normally closed its output a moment before it exits, so the first checks hit.
 * @return 1 exited, 0 still running, or <0 (message set).
 */
static int wait_exit(const struct update *u, pid_t pid, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    long step = 1;

    for (;;) {
        siginfo_t si = {0};

        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
            if (errno == EINTR)
                continue;
            return ajio_set_last_error(-errno, "waitid of '%s': %s", u->cmd[0], strerror(errno));
        }
        if (si.si_pid != 0)
            return 1;
        long long left = end - now_ms();
        if (timeout_ms >= 0 && left <= 0)
            return 0;
        if (timeout_ms >= 0 && step > left)
            step = (long)left;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = step * 1000000};
        (void)nanosleep(&ts, NULL); /* EINTR: only a shorter sleep */
        if (step < WAIT_STEP_MAX_MS)
            step *= 2;
    }
}

/* Ends CMD's group after --cmd-timeout: SIGTERM, KILL_GRACE_MS for CMD to exit, then SIGKILL
 * for whatever of the group is left (a child that ignored SIGTERM, or CMD itself). */
static void kill_group(const struct update *u, pid_t pid)
{
    (void)kill(-pid, SIGTERM);
    (void)kill(-pid, SIGCONT); /* a stopped process would keep SIGTERM pending */
    (void)wait_exit(u, pid, KILL_GRACE_MS);
    (void)kill(-pid, SIGKILL); /* ESRCH when the group is gone: nothing left to do */
}

/* Reaps CMD, blocking. @return 0 (*status set) or <0 (message set). */
static int reap(const struct update *u, pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) < 0) {
        if (errno != EINTR)
            return ajio_set_last_error(-errno, "waitpid of '%s': %s", u->cmd[0], strerror(errno));
    }
    return 0;
}

/*
 * Copies CMD's output and waits for its exit, each bounded by u's deadline; past it, CMD's
 * group is killed (u->timed_out set). @return 0 (*status set) or the first error.
 */
static int finish_cmd(struct update *u, pid_t pid, int fd, ajio_file *out, int *status)
{
    int r = copy_output(u, fd, out), w = 1;

    (void)close(fd); /* the read end of a pipe */
    if (u->cmd_timeout != NULL && !u->timed_out) {
        w = wait_exit(u, pid, ms_left(u));
        if (w == 0)
            u->timed_out = 1;
    }
    if (u->timed_out)
        kill_group(u, pid);
    /* A failed waitid() leaves CMD to the blocking reap, as without --cmd-timeout. */
    int rr = reap(u, pid, status);
    if (r == 0 && w < 0)
        r = w;
    return r < 0 ? r : rr;
}

/*
 * With --cmd-timeout: passes the forwarded signals on to group pid from now on (restore false)
 * or restores the actions in old (restore true). A signal ajio was started with ignored (nohup,
 * the SIGINT of a background job of a script) stays ignored, as it is for CMD.
 */
static void forward_signals(pid_t pid, struct sigaction old[N_FORWARDED], int restore)
{
    struct sigaction sa = {.sa_handler = forward_signal};

    (void)sigemptyset(&sa.sa_mask);
    cmd_group = restore ? 0 : pid;
    for (size_t i = 0; i < N_FORWARDED; i++) {
        if (restore) {
            (void)sigaction(forwarded[i], &old[i], NULL);
        } else {
            (void)sigaction(forwarded[i], NULL, &old[i]);
            if (old[i].sa_handler != SIG_IGN)
                (void)sigaction(forwarded[i], &sa, NULL);
        }
    }
}

/* The callback of ajio_update(), run under the lock: CMD, its output into out. */
static int run_cmd(void *ctx, const void *old, size_t old_len, int exists, ajio_file *out)
{
    struct update *u = ctx;
    struct sigaction old_actions[N_FORWARDED];
    sigset_t block, saved;
    int in, fd = -1, status, r;
    pid_t pid;

    (void)exists;
    u->called = 1;
    (void)snprintf(u->lib_path, sizeof(u->lib_path), "%s", ajio_file_path(out));
    in = input_fd(u, old, old_len);
    if (in < 0)
        return in;
    if (u->cmd_timeout != NULL) {
        /* Blocked from before the spawn until they are passed on: a Ctrl-C in between would
         * end ajio and leave CMD, in its own group, running. */
        (void)sigemptyset(&block);
        for (size_t i = 0; i < N_FORWARDED; i++)
            (void)sigaddset(&block, forwarded[i]);
        (void)sigprocmask(SIG_BLOCK, &block, &saved);
        u->deadline_ms = now_ms() + u->cmd_timeout_ms;
    }
    pid = spawn_cmd(u, in, &fd);
    (void)close(in); /* a memfd only read from now on */
    if (u->cmd_timeout != NULL) {
        if (pid > 0)
            forward_signals(pid, old_actions, 0);
        (void)sigprocmask(SIG_SETMASK, &saved, NULL);
    }
    if (pid < 0)
        return pid;
    r = finish_cmd(u, pid, fd, out, &status);
    if (u->cmd_timeout != NULL)
        forward_signals(pid, old_actions, 1);
    if (u->timed_out)
        return ajio_set_last_error(-ECANCELED,
                                   "'%s' ran longer than --cmd-timeout %s seconds and was killed: "
                                   "\"%s\" left as it was",
                                   u->cmd[0], u->cmd_timeout, u->path);
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
        } else if (c == OPT_CMD_TIMEOUT) {
            if (cli_parse_seconds(optarg, MAX_CMD_TIMEOUT_SEC, &u.cmd_timeout_ms) < 0 ||
                u.cmd_timeout_ms == 0)
                return cli_usage_error(cmd_update_usage,
                                       "--cmd-timeout wants seconds above 0 (e.g. 2 or 0.5), "
                                       "not '%s'",
                                       optarg);
            u.cmd_timeout = optarg;
        } else {
            return cli_other_option(cmd_update_usage, c, argv);
        }
    }
    if ((r = cli_check_write_options(opts.flags, cmd_update_usage)) != 0)
        return r;
    if ((r = cli_one_file(argv, dashdash ? dashdash : argc, cmd_update_usage, "update", &u.path)) !=
        0)
        return r;
    if (!dashdash)
        return cli_usage_error(cmd_update_usage, "update: missing '--' before CMD");
    if (dashdash + 1 >= argc)
        return cli_usage_error(cmd_update_usage, "update: missing CMD after '--'");
    u.cmd = argv + dashdash + 1;
    (void)snprintf(u.lib_path, sizeof(u.lib_path), "%s", u.path);

    r = ajio_update(u.path, run_cmd, &u, timeout_ms, &opts);
    if (u.timed_out) {
        cli_error("%s", cli_last_error(r));
        return EXIT_CMDTIMEOUT;
    }
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

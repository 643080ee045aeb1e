/*
 * main.c - the ajio command-line tool: atomic writes from a pipe, locked updates by a command,
 * JSON/JSONL checks, sweeps of leftover temp files and the torn-read demonstration. It uses only
 * the public API (ajio.h).
 *
 * One table lists the commands; dispatch and "ajio help" / "ajio --help" both read it, so a
 * command cannot be run without being listed, nor listed without being runnable. The commands
 * live one per file (cmd_*.c, declared in commands.h) on the util layer (cli.h); neither calls
 * back into this file.
 */
#include "cli.h"
#include "commands.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    const char *operands; /* as shown in the list of commands */
    const char *summary;  /* one line in the list of commands */
    const char *usage;    /* the --help text, which starts with the synopsis line */
    int (*run)(int argc, char **argv);
};

static int cmd_help(int argc, char **argv);

static const char help_usage[] =
    "Usage: ajio help [COMMAND]\n"
    "Show the help of COMMAND, or the list of commands (as 'ajio --help').\n"
    "\n"
    "  -h, --help   show this help\n";

static const struct command commands[] = {
    {"write", "FILE", "atomically replace FILE with standard input", cmd_write_usage, cmd_write},
    {"update", "FILE -- CMD...", "replace FILE with what CMD makes of it, under FILE's lock",
     cmd_update_usage, cmd_update},
    {"append", "FILE", "append standard input to FILE as whole records, under FILE's lock",
     cmd_append_usage, cmd_append},
    {"repair", "FILE", "cut (or terminate) a torn last line left by an interrupted append",
     cmd_repair_usage, cmd_repair},
    {"cat", "[FILE]...", "print the complete records of FILEs, skipping a torn last line",
     cmd_cat_usage, cmd_cat},
    {"check", "[FILE]...", "validate JSON or JSONL files (or standard input)", cmd_check_usage, cmd_check},
    {"sweep", "DIR...", "remove temp files left behind by killed writers", cmd_sweep_usage,
     cmd_sweep},
    {"batch", "DIR", "replace the files of a manifest on standard input, or all or none of them",
     cmd_batch_usage, cmd_batch},
    {"recover", "DIR", "complete or undo an all-or-nothing batch that died in DIR",
     cmd_recover_usage, cmd_recover},
    {"publish", "SRC NAME", "publish a copy of the tree SRC as the snapshot NAME",
     cmd_publish_usage, cmd_publish},
    {"snapshot", "gc NAME", "remove the generations of NAME no reader holds",
     cmd_snapshot_usage, cmd_snapshot},
    {"demo", "", "show torn reads of a naive writer next to none with ajio", cmd_demo_usage,
     cmd_demo},
    {"help", "[COMMAND]", "show help for a command", help_usage, cmd_help},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The synopsis of the tool, the first line of "ajio --help" and of every top-level usage error. */
static const char synopsis[] = "Usage: ajio COMMAND [OPTION]... [ARG]...\n";

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

/* "ajio --help": the list of commands, in one column aligned after the longest "NAME OPERANDS". */
static void print_help(void)
{
    int width = 0;

    for (size_t i = 0; i < N_COMMANDS; i++) {
        int n = (int)(strlen(commands[i].name) + 1 + strlen(commands[i].operands));

        if (n > width)
            width = n;
    }
    fputs(synopsis, stdout);
    fputs("Crash-safe, concurrency-safe atomic file writes.\n\nCommands:\n", stdout);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct command *c = &commands[i];
        int n = printf("  %s %s", c->name, c->operands);

        printf("%*s%s\n", width + 3 - n, "", c->summary);
    }
    fputs("\n"
          "Options: --help, --version. Run 'ajio COMMAND --help' for the options of a command.\n"
          "Exit status: 0 success, 1 update's CMD failed, 64 usage, 65 invalid JSON or empty\n"
          "input, 66 cannot read input, 69 lock busy (--timeout), 70 internal error, 73 cannot\n"
          "create the file, 74 I/O error, 75 written but not durable, 124 update's CMD killed\n"
          "for --cmd-timeout.\n"
          "See ajio(1).\n",
          stdout);
}

/* "ajio help [COMMAND]": the --help text of COMMAND, or the list of commands. */
static int cmd_help(int argc, char **argv)
{
    static const struct cli_option options[] = {CLI_OPTION_HELP, {NULL, 0, 0, 0, 0}};
    const struct command *cmd;
    unsigned flags = 0;
    int c;

    if ((c = cli_getopt(argc, argv, options, &flags)) != -1)
        return cli_other_option(help_usage, c, argv);
    if (optind >= argc) {
        print_help();
        return 0;
    }
    cmd = find_command(argv[optind]);
    if (cmd == NULL)
        return cli_usage_error(synopsis, "no command '%s'", argv[optind]);
    fputs(cmd->usage, stdout);
    return 0;
}

static int run(int argc, char **argv)
{
    const struct command *cmd;
    const char *arg;

    if (argc < 2)
        return cli_usage_error(synopsis, "missing COMMAND");
    arg = argv[1];
    cmd = find_command(arg);
    if (cmd != NULL) {
        /* Each command parses its own options once, from its own argv; optind = 0 makes glibc's
         * getopt start from scratch rather than resume. */
        optind = 0;
        opterr = 0;
        return cmd->run(argc - 1, argv + 1);
    }
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        print_help();
        return 0;
    }
    if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
        printf("ajio %s (libajio %s)\n", AJIO_VERSION_STRING, ajio_version());
        return 0;
    }
    if (arg[0] == '-')
        return cli_usage_error(synopsis, "unknown option '%s'", arg);
    return cli_usage_error(synopsis, "unknown command '%s'", arg);
}

int main(int argc, char **argv)
{
    int rc;

    /* Beyond a file-size limit (ulimit -f) write(2) raises SIGXFSZ, whose default action kills the
     * tool without a word and with a status no caller expects. Ignored, the write fails with
     * EFBIG instead: reported, exit 74, target untouched, as for a full disk. */
    signal(SIGXFSZ, SIG_IGN);
    rc = cli_reserve_std_fds();
    if (rc == 0)
        rc = run(argc, argv);
    /* Output lost is a failure only of a command that had nothing else to report. */
    if (cli_close_stdout() < 0 && rc == 0)
        rc = EXIT_IOERR;
    return rc;
}

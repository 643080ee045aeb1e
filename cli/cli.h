/*
 * cli.h - the util layer of the ajio tool (cli/util.c): messages with names escaped, exit codes,
 * option and number parsing, reads of an input stream, standard output and the standard
 * descriptors. It needs only libc and ajio.h. The commands (cmd_*.c) and main.c build on it; it
 * calls none of them, so the dependencies point one way: main -> commands -> util -> libajio.
 *
 * The name stays cli.h rather than util.h because tests/cli/manpage.sh reads the exit codes
 * below from this file to check that the man page documents every one of them.
 */
#ifndef AJIO_CLI_H
#define AJIO_CLI_H

#include <ajio.h>

#include <getopt.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * Exit codes, from sysexits(3). Spelled out here rather than taken from <sysexits.h> so that the
 * values the man page documents are visible in the source.
 */
enum {
    EXIT_CMDFAIL = 1,      /* update: CMD failed or could not be run; FILE untouched */
    EXIT_USAGE = 64,       /* EX_USAGE: bad command line */
    EXIT_DATAERR = 65,     /* EX_DATAERR: invalid JSON/JSONL input */
    EXIT_NOINPUT = 66,     /* EX_NOINPUT: an input file or directory cannot be opened or read */
    EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: the lock of FILE stayed held for all of --timeout */
    EXIT_SOFTWARE = 70,    /* EX_SOFTWARE: internal error, or a torn read of an ajio-written file */
    EXIT_CANTCREAT = 73,   /* EX_CANTCREAT: the target cannot be created or replaced */
    EXIT_IOERR = 74,       /* EX_IOERR: an I/O error while reading or writing */
    EXIT_TEMPFAIL = 75,    /* EX_TEMPFAIL: replaced, but not durable (AJIO_ENOTDURABLE) */
    EXIT_CMDTIMEOUT = 124, /* update: CMD ran past --cmd-timeout and was killed, as timeout(1) */
};

/* Size of every read of an input stream: the memory a stream needs, whatever its length. */
#define CLI_CHUNK (64 * 1024)

/* ---- messages -------------------------------------------------------------------------------- */

/*
 * Prints the formatted text and a newline to out in one piece, with control characters, invalid
 * UTF-8 and backslash escaped (\n, \t, \r, \\, \xHH). Every line that can hold a name the user
 * gave goes through here, cli_error() or cli_data_error(): a name must not be able to forge a
 * line of output or send escape sequences to the terminal.
 */
void cli_print_line(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "ajio: <message>" to stderr, escaped as cli_print_line() does. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Prints "ajio: note: <message>" to stderr for what went right but deserves a word (a repair
 * before an append): escaped, but keeping the backslashes of the library's C-escaped excerpts.
 */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Prints name, then the formatted text, to stderr as one line: the form "FILE:LINE:COL: reason"
 * of invalid data, which editors jump to and so has no "ajio: " in front. The name is escaped in
 * full; the text keeps its backslashes, the notation of the library's JSON reasons ("use \n").
 */
void cli_data_error(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The library's message for the last failure, or the generic text of err when it left none. */
const char *cli_last_error(int err);

/* ---- exit codes ------------------------------------------------------------------------------ */

/* Maps a negative result of the library (a write, an open, a sweep) to an exit code. */
int cli_exit_for(int err);

/*
 * Reports the failure r of a write or an open for writing: the library's message, "ajio: " in
 * front, and after a refused directory (EACCES, EPERM, EROFS) or a full disk (ENOSPC, EDQUOT) why
 * an atomic replace needs what it lacks. @return the exit code.
 */
int cli_write_error(int r);

/*
 * Prints once per run "ajio: warning: ..." where the filesystem of path's directory keeps a
 * promise only in part because of how it is mounted (ajio_fs_probe(): NFS with nolock, ...).
 * cli_target_file() calls it for every command's FILE.
 */
void cli_fs_warn(const char *path);

/*
 * Prints "ajio: INPUT:LINE:COL: reason (NAME left unchanged)" for an error in the input of a
 * write, where is ":LINE:COL: reason" and input a name such as "<stdin>" or "<jq output>"; with
 * note, that text stands in the parentheses instead.
 */
void cli_input_error(const char *input, const char *where, const char *name, const char *note);

/*
 * Reports the failure r of a write to name (the name the user gave) and returns its exit code.
 * The library's message of invalid content says "PATH:LINE:COL: reason", PATH being the
 * resolved target (lib_path, the link's destination when name is a symlink): invalid input
 * (AJIO_EJSON) is reported under the input's name (cli_input_error()) when input is not NULL; a
 * torn target as "NAME:LINE:COL: reason". Every other failure as cli_write_error().
 */
int cli_write_failed(const char *name, const char *lib_path, const char *input, int r);

/*
 * The exit code of a commit's result r: 0 for 0 and AJIO_UNCHANGED; EXIT_TEMPFAIL after a message
 * for AJIO_ENOTDURABLE (replaced, not durable); else as cli_write_failed().
 */
int cli_commit_result(const char *name, const char *lib_path, const char *input, int r);

/*
 * The refusal of an empty input, which would replace name by an empty file (a producer that
 * failed before printing anything looks just like that). @return EXIT_DATAERR.
 */
int cli_empty_input(const char *input, const char *name);

/* The flag of --allow-empty (write, update), in a bit no ajio_flags uses: cleared before the
 * flags reach the library. */
#define CLI_ALLOW_EMPTY (1u << 30)

/* ---- command line ---------------------------------------------------------------------------- */

/*
 * A row of a command's option table, from which cli_getopt() builds the getopt_long() tables and
 * which maps the options without an argument to the flags they stand for, so that a command's
 * own code is left with the options that take an argument. A table ends with a row whose name is
 * NULL; at most CLI_MAX_OPTIONS rows. A flag row is written {"name", .set = BITS} (or .clear).
 */
struct cli_option {
    const char *name; /* long name, without "--" */
    int has_arg;      /* no_argument, or required_argument (the value is in optarg) */
    int id;           /* the short option letter, or a command's CLI_OPT_COMMAND + n, or 0 */
    unsigned set;     /* bits the option sets in the flag word (no_argument only) */
    unsigned clear;   /* bits it clears */
};

#define CLI_MAX_OPTIONS 16

/* The ids a command gives its long options without a short form: CLI_OPT_COMMAND and up. */
enum { CLI_OPT_COMMAND = 256 };

/* The -h, --help row of every command: cli_getopt() returns 'h' for cli_other_option(). */
/* clang-format off: it would break the braces of the rows below apart */
#define CLI_OPTION_HELP                                                                            \
    {                                                                                              \
        "help", no_argument, 'h', 0, 0                                                             \
    }
/* clang-format on */

/*
 * The rows of --json and --jsonl, shared by write and check: the content kind is kept in the flag
 * word as the library's own flags, AJIO_JSON or AJIO_JSONL, and read back with cli_content_kind().
 */
/* clang-format off */
#define CLI_OPTIONS_CONTENT {"json", .set = AJIO_JSON}, {"jsonl", .set = AJIO_JSONL}
/* clang-format on */

/*
 * The write options shared by write and update, each one flag of ajio_opts, and --mode, whose
 * id CLI_OPT_MODE the command hands to cli_mode_option(); the help lines that go with them.
 */
/* clang-format off: it would break the rows of this macro apart */
#define CLI_OPTIONS_WRITE                                                                          \
    {"mode", required_argument, CLI_OPT_MODE, 0, 0}, {"no-sync", .set = AJIO_NO_SYNC},             \
        {"create-only", .set = AJIO_CREATE_ONLY}, {"no-follow", .set = AJIO_NO_FOLLOW},            \
        {"replace-link", .set = AJIO_REPLACE_LINK},                                                \
        {"skip-unchanged", .set = AJIO_SKIP_UNCHANGED},                                            \
        {"allow-empty", .set = CLI_ALLOW_EMPTY},                                                   \
    {                                                                                              \
        "no-mkdir", .set = AJIO_NO_MKDIR                                                           \
    }
/* clang-format on */
#define CLI_HELP_WRITE                                                                             \
    "      --mode OCTAL     give FILE exactly these permission bits (e.g. 0600)\n"                 \
    "      --no-sync        skip fsync: still atomic, not durable across a power cut\n"            \
    "      --create-only    fail (exit 73) if FILE exists\n"                                       \
    "      --no-follow      fail if FILE is a symlink\n"                                           \
    "      --replace-link   if FILE is a symlink, replace the link by a regular file\n"            \
    "      --skip-unchanged if FILE already holds exactly the new content, touch nothing\n"        \
    "      --no-mkdir       do not create missing parent directories\n"                         \
    "      --allow-empty    accept an empty input and make FILE empty (refused, exit 65,\n"     \
    "                       without it: a failed producer prints nothing too)\n"

/* The id of --mode in CLI_OPTIONS_WRITE; commands number their own ids from CLI_OPT_COMMAND + 1. */
#define CLI_OPT_MODE CLI_OPT_COMMAND

/*
 * --mode OCTAL: sets AJIO_MODE and opts->mode. @return 0, or EXIT_USAGE after the message.
 */
int cli_mode_option(const char *arg, const char *usage, ajio_opts *opts);

/*
 * The checks of the write options the library would refuse with a less helpful message: the
 * content kind given both ways, --no-follow with --replace-link. @return 0 or EXIT_USAGE.
 */
int cli_check_write_options(unsigned flags, const char *usage);

/*
 * getopt_long() over argv with the options of table; the short option string is the letters of
 * the table (with ':' first, so that a missing argument is told apart). An option with set or
 * clear bits is applied to *flags and not returned.
 * @return the id of the next option the command handles itself (with its argument in optarg),
 *   ':' or '?' for one getopt_long() rejected (see cli_other_option()), or -1 after the last.
 */
int cli_getopt(int argc, char **argv, const struct cli_option *table, unsigned *flags);

/*
 * The shared parser of the content kind: stores in *ret_kind the kind the options set in flags,
 * 0 (none given), AJIO_JSON or AJIO_JSONL. Given twice the same is fine; both is a usage error.
 * ret_kind may be NULL when only the check is wanted.
 * @return 0, or EXIT_USAGE after the message (*ret_kind unchanged).
 */
int cli_content_kind(unsigned flags, const char *usage, unsigned *ret_kind);

/*
 * Handles an option cli_getopt() returned that the command has no case for: 'h' prints usage on
 * standard output; anything else is an option getopt_long() rejected, reported with the synopsis
 * line of usage.
 * @return 0 after the help, EXIT_USAGE after an error.
 */
int cli_other_option(const char *usage, int c, char **argv);

/* Prints "ajio: <message>", the synopsis line of usage and a pointer to --help, to stderr.
 * @return EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The one FILE operand of a command, argv[optind], when the operands end before argv[end]:
 * "CMD: missing FILE" or "CMD: one FILE only" otherwise. @return 0 (*ret_path set) or EXIT_USAGE.
 */
int cli_one_file(char **argv, int end, const char *usage, const char *cmd, const char **ret_path);

/*
 * cli_one_file() for a FILE that is written: refuses "-", which elsewhere stands for standard
 * input or output. @return 0 (*ret_path set) or EXIT_USAGE.
 */
int cli_target_file(char **argv, int end, const char *usage, const char *cmd,
                    const char **ret_path);

/* The help line of --timeout for the lock of append, repair and write --lock. */
#define CLI_HELP_LOCK_TIMEOUT                                                                      \
    "      --timeout SEC    wait at most SEC whole seconds for FILE's lock (0: do not wait),\n"    \
    "                       then exit 69 with nothing done\n"

/*
 * --timeout SEC for the wait for FILE's lock (append, repair, write --lock): sets
 * AJIO_LOCK_TIMEOUT and opts->lock_timeout_ms. @return 0, or EXIT_USAGE after the message.
 */
int cli_lock_timeout_option(const char *arg, const char *usage, ajio_opts *opts);

/*
 * Whether the failure r of a call made with flags is the end of the wait for FILE's lock that
 * --timeout set (-EWOULDBLOCK for 0, -ETIMEDOUT after a wait): then EXIT_UNAVAILABLE, which says
 * that nothing was done and that the command may simply be run again.
 */
int cli_lock_timed_out(int r, unsigned flags);

/* Parses a non-negative number in base 8 or 10, digits only, up to max. @return 0 or -EINVAL. */
int cli_parse_unsigned(const char *s, int base, unsigned long max, unsigned long *ret);

/*
 * Parses seconds that may have a fraction ("2", "0.5", ".25", "1."), digits and one '.' only, up
 * to max_sec, into milliseconds; a fraction finer than a millisecond is rounded up, so that a
 * tiny positive value never becomes 0. @return 0 or -EINVAL.
 */
int cli_parse_seconds(const char *s, unsigned long max_sec, long long *ret_ms);

/* ---- streams and descriptors ----------------------------------------------------------------- */

/* read(2) that retries EINTR. */
ssize_t cli_read_retry(int fd, void *buf, size_t len);

/*
 * Gives each closed one of fds 0, 1 and 2 /dev/null, so that no file the library opens can take
 * its place. To be called before anything else opens a file.
 * @return 0, or EXIT_IOERR after a message.
 */
int cli_reserve_std_fds(void);

/* Whether fd 0 was closed when cli_reserve_std_fds() ran: it then reads as an error, not as an
 * empty input. */
int cli_stdin_closed(void);

/*
 * Flushes and closes standard output, once: later calls return the first result. A command whose
 * status is its output (check, sweep) calls it for that status; main() calls it for every other.
 * @return 0, or -1 after a message.
 */
int cli_close_stdout(void);

#endif /* AJIO_CLI_H */

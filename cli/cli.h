/*
 * cli.h - shared declarations of the ajio command-line tool.
 */
#ifndef AJIO_CLI_H
#define AJIO_CLI_H

#include <stdio.h>
#include <sys/types.h>

/*
 * Exit codes, from sysexits(3). Spelled out here rather than taken from <sysexits.h> so that the
 * values the man page documents are visible in the source.
 */
enum {
    EXIT_USAGE = 64,     /* EX_USAGE: bad command line */
    EXIT_DATAERR = 65,   /* EX_DATAERR: invalid JSON/JSONL input */
    EXIT_NOINPUT = 66,   /* EX_NOINPUT: an input file or directory cannot be opened or read */
    EXIT_SOFTWARE = 70,  /* EX_SOFTWARE: internal error, or a torn read of an ajio-written file */
    EXIT_CANTCREAT = 73, /* EX_CANTCREAT: the target cannot be created or replaced */
    EXIT_IOERR = 74,     /* EX_IOERR: an I/O error while reading or writing */
    EXIT_TEMPFAIL = 75,  /* EX_TEMPFAIL: replaced, but not durable (AJIO_ENOTDURABLE) */
};

/* Size of every read of an input stream: the memory a stream needs, whatever its length. */
#define CLI_CHUNK (64 * 1024)

/* "ajio demo": runs the demonstration, returns the exit code. */
int cli_demo(int argc, char **argv);

/* The --help text of "ajio demo". */
extern const char cli_demo_usage[];

/*
 * Prints the formatted text and a newline to out in one piece, with control characters, invalid
 * UTF-8 and backslash escaped (\n, \t, \r, \\, \xHH). Every line that can hold a name the user
 * gave goes through here or cli_error(): a name must not be able to forge a line of output or
 * send escape sequences to the terminal.
 */
void cli_print_line(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "ajio: <message>" to stderr, escaped as cli_print_line() does. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "ajio: <message>", the synopsis line of usage and a pointer to --help, to stderr.
 * @return EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports an option getopt_long() rejected (c is ':' or '?'; the option string starts with ':').
 * @return EXIT_USAGE. */
int cli_bad_option(const char *usage, int c, char **argv);

/* Parses a non-negative number in base 8 or 10, digits only, up to max. @return 0 or -EINVAL. */
int cli_parse_unsigned(const char *s, int base, unsigned long max, unsigned long *ret);

/* read(2) that retries EINTR. */
ssize_t cli_read_retry(int fd, void *buf, size_t len);

/* Maps a negative result of a write or open to an exit code. */
int cli_exit_for(int err);

#endif /* AJIO_CLI_H */

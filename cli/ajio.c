/*
 * ajio.c - the ajio command-line tool: atomic writes from a pipe, JSON/JSONL checks, sweeps of
 * leftover temp files and the torn-read demonstration. It uses only the public API (ajio.h).
 *
 *   jq '.port = 8081' cfg.json | ajio write --json cfg.json
 *
 * is the safe form of "jq ... cfg.json > cfg.json", which truncates the file before jq has read
 * it. Input is streamed in CLI_CHUNK pieces, so memory use does not depend on the input size.
 */
#include "cli.h"

#include <ajio.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The default --min-age of sweep: far longer than any live write keeps a temp name. */
#define SWEEP_DEFAULT_MIN_AGE 60

static const char general_usage[] =
    "Usage: ajio COMMAND [OPTION]... [ARG]...\n"
    "Crash-safe, concurrency-safe atomic file writes.\n"
    "\n"
    "Commands:\n"
    "  write FILE     atomically replace FILE with standard input\n"
    "  check FILE...  validate JSON or JSONL files\n"
    "  sweep DIR...   remove temp files left behind by killed writers\n"
    "  demo           show torn reads of a naive writer next to none with ajio\n"
    "  help [COMMAND] show help for a command\n"
    "\n"
    "Options: --help, --version. Run 'ajio COMMAND --help' for the options of a command.\n"
    "Exit status: 0 success, 64 usage, 65 invalid JSON, 66 cannot read input, 70 internal\n"
    "error, 73 cannot create the file, 74 I/O error, 75 written but not durable.\n"
    "See ajio(1).\n";

static const char write_usage[] =
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

static const char check_usage[] =
    "Usage: ajio check [--json | --jsonl] [--verbose] FILE...\n"
    "Validate JSON (one value) or JSON Lines files, streaming. FILE '-' is standard input.\n"
    "Without --json or --jsonl a name ending in .jsonl or .ndjson is checked as JSON Lines,\n"
    "anything else as JSON. Each problem is reported on standard error as\n"
    "FILE:LINE:COL: reason. A JSONL file whose last line lacks its newline is reported as\n"
    "'torn'. Exit status: 0 all valid, 65 some invalid, 66 some unreadable.\n"
    "\n"
    "      --json      check every FILE as one JSON value\n"
    "      --jsonl     check every FILE as JSON Lines\n"
    "  -v, --verbose   also print 'FILE: ok (N values)' for each valid file\n"
    "  -h, --help      show this help\n";

static const char sweep_usage[] =
    "Usage: ajio sweep [OPTION]... DIR...\n"
    "Remove temp files (.NAME.ajio-<16 hex>.tmp) left in DIR by writers that were killed.\n"
    "Prints 'DIR: N removed' (or 'DIR: N to remove' with --dry-run) for each DIR.\n"
    "\n"
    "      --min-age SECONDS  only temps unchanged for this long (default 60; 0 removes all,\n"
    "                         safe only when no writer can be running)\n"
    "      --name NAME        only temps of the target file NAME\n"
    "  -n, --dry-run          count, remove nothing\n"
    "      --no-sync          do not fsync DIR after removals\n"
    "  -h, --help             show this help\n";

/* Set when fd 0 was closed at startup; it then holds /dev/null, open for writing only. */
static int stdin_closed;

/* ---- messages -------------------------------------------------------------------------------- */

/*
 * Length of the valid UTF-8 sequence of 2 to 4 bytes at s, or 0 if the byte at s starts none:
 * overlong forms, surrogates and code points above U+10FFFF are invalid. s is NUL-terminated, and
 * a NUL fails every continuation test before the next byte is looked at.
 */
static size_t utf8_seq_len(const unsigned char *s)
{
    unsigned c = s[0];

    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/*
 * One output line, built in a buffer: stderr is unbuffered, and a line written byte by byte would
 * interleave with the messages of other processes. A longer line goes out in several pieces.
 */
struct line_out {
    FILE *out;
    size_t len;
    char buf[2048];
};

static void line_flush(struct line_out *l)
{
    if (l->len > 0)
        (void)fwrite(l->buf, 1, l->len, l->out);
    l->len = 0;
}

/* Appends s as it is: only for text of this program. */
static void line_raw(struct line_out *l, const char *s)
{
    for (; *s != '\0'; s++) {
        if (l->len == sizeof(l->buf))
            line_flush(l);
        l->buf[l->len++] = *s;
    }
}

static void line_escape_byte(struct line_out *l, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char *o = l->buf + l->len;

    o[0] = '\\';
    o[1] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : c == '\\' ? '\\' : 'x';
    if (o[1] != 'x') {
        l->len += 2;
        return;
    }
    o[2] = hex[c >> 4];
    o[3] = hex[c & 0xf];
    l->len += 4;
}

/*
 * Appends s with bytes below 0x20, 0x7f, the C1 controls U+0080-U+009F (some terminals obey them
 * as escape sequences), bytes that are not valid UTF-8 and backslash escaped; valid UTF-8 stays, so
 * names in any script read as they are. Backslash is escaped so that "\x1b" in a message always
 * stands for the byte, never for the four characters. keep_backslash is for texts of the library
 * whose backslashes are their own notation (the JSON reason "use \n"), not for names.
 */
static void line_escaped(struct line_out *l, const char *s, int keep_backslash)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p != '\0') {
        size_t n = *p < 0x80 ? 1 : utf8_seq_len(p);

        /* Room for the longest step: a C1 control, two bytes of four characters each. */
        if (sizeof(l->buf) - l->len < 8)
            line_flush(l);
        if (n == 1 && *p >= 0x20 && *p != 0x7f && (*p != '\\' || keep_backslash)) {
            l->buf[l->len++] = (char)*p++;
        } else if (n > 1 && !(p[0] == 0xc2 && p[1] < 0xa0)) {
            memcpy(l->buf + l->len, p, n);
            l->len += n;
            p += n;
        } else {
            for (size_t i = n == 0 ? 1 : n; i > 0; i--)
                line_escape_byte(l, *p++);
        }
    }
}

/* Prints prefix, then the formatted message escaped, then a newline. */
__attribute__((format(printf, 3, 0))) static void print_line(FILE *out, const char *prefix,
                                                             const char *fmt, va_list ap)
{
    struct line_out l = {.out = out};
    char small[1024], *msg = small;
    va_list aq;
    int n;

    va_copy(aq, ap);
    n = vsnprintf(small, sizeof(small), fmt, aq);
    va_end(aq);
    if (n < 0)
        small[0] = '\0';
    /* A message can hold two paths of PATH_MAX: those take the heap, and without memory the cut
     * text still says what failed. */
    if (n >= (int)sizeof(small) && (msg = malloc((size_t)n + 1)) != NULL)
        (void)vsnprintf(msg, (size_t)n + 1, fmt, ap);
    else
        msg = small;
    line_raw(&l, prefix);
    line_escaped(&l, msg, 0);
    line_raw(&l, "\n");
    line_flush(&l);
    if (msg != small)
        free(msg);
}

void cli_print_line(FILE *out, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    print_line(out, "", fmt, ap);
    va_end(ap);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    print_line(stderr, "ajio: ", fmt, ap);
    va_end(ap);
}

int cli_exit_for(int err)
{
    switch (err) {
    case AJIO_EJSON:
    case AJIO_ETORN:
        return EXIT_DATAERR;
    case AJIO_ENOTDURABLE:
        return EXIT_TEMPFAIL;
    /* The target or its directory cannot be created, reached or replaced. */
    case -EEXIST:
    case -EACCES:
    case -EPERM:
    case -EROFS:
    case -ENOTDIR:
    case -EISDIR:
    case -ENOENT:
    case -ELOOP:
    case -ENAMETOOLONG:
    case -ETXTBSY:
    case -EBUSY:
    case -EXDEV:
        return EXIT_CANTCREAT;
    /* Misuse of the library by this program, or no memory: not the user's data. */
    case -EINVAL:
    case -ENOMEM:
        return EXIT_SOFTWARE;
    default:
        return EXIT_IOERR;
    }
}

/* The library's message for the last failure, or the generic text when it left none. */
static const char *last_error_or(int err)
{
    const char *msg = ajio_last_error();

    return msg[0] != '\0' ? msg : ajio_strerror(err);
}

/* The synopsis line, then where the rest is: a full help text would bury the error. */
static void short_usage(const char *usage)
{
    char cmd[16] = "";

    fprintf(stderr, "%.*s\n", (int)strcspn(usage, "\n"), usage);
    if (sscanf(usage, "Usage: ajio %15[a-z]", cmd) == 1)
        fprintf(stderr, "Try 'ajio %s --help' for more information.\n", cmd);
    else
        fputs("Try 'ajio --help' for more information.\n", stderr);
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    print_line(stderr, "ajio: ", fmt, ap);
    va_end(ap);
    short_usage(usage);
    return EXIT_USAGE;
}

/*
 * With a leading ':' in the short option string, ':' means a missing argument; '?' an unknown
 * option: a short one is optopt (argv[optind - 1] is not it inside a group such as "-qh"), a long
 * one argv[optind - 1].
 */
int cli_bad_option(const char *usage, int c, char **argv)
{
    const char *arg = argv[optind - 1];

    if (c == ':')
        return cli_usage_error(usage, "option '%s' needs an argument", arg);
    if (optopt != 0 && optopt != '?')
        return cli_usage_error(usage, "unknown option '-%c'", optopt);
    return cli_usage_error(usage, "unknown option '%s'", arg);
}

/* strtoul() alone would accept "-1", leading spaces and trailing garbage. */
int cli_parse_unsigned(const char *s, int base, unsigned long max, unsigned long *ret)
{
    unsigned long v;
    char *end;

    if (s[0] < '0' || s[0] > '9')
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &end, base);
    if (errno != 0 || *end != '\0' || v > max)
        return -EINVAL;
    *ret = v;
    return 0;
}

/* Prints "FILE:LINE:COL: [torn: ]reason" for a failed checker: the name escaped in full, the
 * library's reason with its own backslashes kept. */
static void report_json_error(const char *name, const ajio_json_checker *c, int r)
{
    struct line_out l = {.out = stderr};
    ajio_json_error e;
    char pos[64];

    line_escaped(&l, name, 0);
    if (ajio_json_checker_error(c, &e) < 0) {
        line_raw(&l, ": ");
        line_escaped(&l, ajio_strerror(r), 1);
    } else {
        snprintf(pos, sizeof(pos), ":%" PRIu64 ":%" PRIu64 ": %s", e.line, e.column,
                 r == AJIO_ETORN ? "torn: " : "");
        line_raw(&l, pos);
        line_escaped(&l, e.reason, 1);
    }
    line_raw(&l, "\n");
    line_flush(&l);
}

/*
 * Standard output is checked at the end, as coreutils' close_stdout() does: "ajio --help" into a
 * full disk or a closed descriptor must not report success. fclose(), not only fflush(): close(2)
 * can report a write the kernel deferred (NFS). Once only: check and sweep call it for their own
 * status, main() for every other command.
 * @return 0, or -1 after a message.
 */
static int close_stdout(void)
{
    static int done, result;
    int failed, err = 0;

    if (done)
        return result;
    done = 1;
    failed = ferror(stdout);
    if (fflush(stdout) != 0) {
        failed = 1;
        err = errno;
    }
    if (fclose(stdout) != 0 && !failed) {
        failed = 1;
        err = errno;
    }
    if (failed) {
        /* An error flagged by an earlier, implicit flush left no errno behind. */
        if (err != 0)
            cli_error("write error on standard output: %s", strerror(err));
        else
            cli_error("write error on standard output");
        result = -1;
    }
    return result;
}

ssize_t cli_read_retry(int fd, void *buf, size_t len)
{
    ssize_t n;

    do
        n = read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

/* ---- write ----------------------------------------------------------------------------------- */

enum { MODE_BYTES, MODE_JSON, MODE_JSONL };

enum {
    OPT_JSON = 256,
    OPT_JSONL,
    OPT_MODE,
    OPT_NO_SYNC,
    OPT_CREATE_ONLY,
    OPT_NO_FOLLOW,
    OPT_REPLACE_LINK,
    OPT_SKIP_UNCHANGED,
    OPT_NO_MKDIR,
    OPT_MIN_AGE,
    OPT_NAME,
};

static int cmd_write(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"jsonl", no_argument, NULL, OPT_JSONL},
        {"mode", required_argument, NULL, OPT_MODE},
        {"no-sync", no_argument, NULL, OPT_NO_SYNC},
        {"create-only", no_argument, NULL, OPT_CREATE_ONLY},
        {"no-follow", no_argument, NULL, OPT_NO_FOLLOW},
        {"replace-link", no_argument, NULL, OPT_REPLACE_LINK},
        {"skip-unchanged", no_argument, NULL, OPT_SKIP_UNCHANGED},
        {"no-mkdir", no_argument, NULL, OPT_NO_MKDIR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static char buf[CLI_CHUNK];
    ajio_opts opts = {0};
    ajio_json_checker *checker = NULL;
    ajio_file *f = NULL;
    const char *path;
    int mode = MODE_BYTES, c, r, rc;
    char last = '\n';
    uint64_t total = 0;
    unsigned long m;

    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON:
        case OPT_JSONL:
            if (mode != MODE_BYTES && mode != (c == OPT_JSON ? MODE_JSON : MODE_JSONL))
                return cli_usage_error(write_usage, "--json and --jsonl exclude each other");
            mode = c == OPT_JSON ? MODE_JSON : MODE_JSONL;
            break;
        case OPT_MODE:
            if (cli_parse_unsigned(optarg, 8, 07777, &m) < 0)
                return cli_usage_error(write_usage, "--mode wants octal bits 0 to 7777, not '%s'",
                                       optarg);
            opts.flags |= AJIO_MODE;
            opts.mode = (unsigned)m;
            break;
        case OPT_NO_SYNC:
            opts.flags |= AJIO_NO_SYNC;
            break;
        case OPT_CREATE_ONLY:
            opts.flags |= AJIO_CREATE_ONLY;
            break;
        case OPT_NO_FOLLOW:
            opts.flags |= AJIO_NO_FOLLOW;
            break;
        case OPT_REPLACE_LINK:
            opts.flags |= AJIO_REPLACE_LINK;
            break;
        case OPT_SKIP_UNCHANGED:
            opts.flags |= AJIO_SKIP_UNCHANGED;
            break;
        case OPT_NO_MKDIR:
            opts.flags |= AJIO_NO_MKDIR;
            break;
        case 'h':
            fputs(write_usage, stdout);
            return 0;
        default:
            return cli_bad_option(write_usage, c, argv);
        }
    }
    if ((opts.flags & AJIO_NO_FOLLOW) && (opts.flags & AJIO_REPLACE_LINK))
        return cli_usage_error(write_usage, "--no-follow and --replace-link exclude each other");
    if (optind >= argc)
        return cli_usage_error(write_usage, "write: missing FILE");
    if (optind + 1 < argc)
        return cli_usage_error(write_usage, "write: one FILE only ('%s' is extra)",
                               argv[optind + 1]);
    path = argv[optind];
    /* A closed standard input is the caller's mistake, not an empty input: say so, and touch
     * nothing (fd 0 now holds /dev/null, which would only fail with EBADF). */
    if (stdin_closed) {
        cli_error("standard input is closed");
        return EXIT_NOINPUT;
    }

    if (mode != MODE_BYTES) {
        unsigned jflags = mode == MODE_JSONL ? AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED : 0;

        r = ajio_json_checker_new(&checker, jflags, 0);
        if (r < 0) {
            cli_error("validator: %s", ajio_strerror(r));
            return EXIT_SOFTWARE;
        }
    }
    /* Open first: a target that cannot be written fails before stdin is consumed. */
    r = ajio_open(&f, path, &opts);
    if (r < 0) {
        cli_error("%s", last_error_or(r));
        rc = cli_exit_for(r);
        goto out;
    }
    for (;;) {
        ssize_t n = cli_read_retry(STDIN_FILENO, buf, sizeof(buf));

        if (n < 0) {
            cli_error("reading standard input for \"%s\": %s", path, strerror(errno));
            rc = EXIT_IOERR;
            goto out;
        }
        if (n == 0)
            break;
        if (checker != NULL && (r = ajio_json_feed(checker, buf, (size_t)n)) != 0) {
            report_json_error(path, checker, r);
            rc = EXIT_DATAERR;
            goto out;
        }
        r = ajio_write(f, buf, (size_t)n);
        if (r < 0) {
            cli_error("%s", last_error_or(r));
            rc = cli_exit_for(r);
            goto out;
        }
        last = buf[n - 1];
        total += (uint64_t)n;
    }
    if (checker != NULL && (r = ajio_json_finish(checker)) != 0) {
        report_json_error(path, checker, r);
        rc = EXIT_DATAERR;
        goto out;
    }
    /* JSON: a text file ends with a newline. JSONL: the last line gets its terminator (an empty
     * input stays empty, as "no lines"). Plain bytes are written exactly. */
    if (mode != MODE_BYTES && last != '\n' && total > 0) {
        r = ajio_write(f, "\n", 1);
        if (r < 0) {
            cli_error("%s", last_error_or(r));
            rc = cli_exit_for(r);
            goto out;
        }
    }
    r = ajio_commit(f);
    f = NULL;
    if (r == AJIO_ENOTDURABLE) {
        cli_error("\"%s\" was replaced but may not survive a power cut: %s", path,
                  last_error_or(r));
        rc = EXIT_TEMPFAIL;
    } else if (r < 0) {
        cli_error("%s", last_error_or(r));
        rc = cli_exit_for(r);
    } else {
        rc = 0;
    }
out:
    ajio_abort(f);
    ajio_json_checker_free(checker);
    return rc;
}

/* ---- check ----------------------------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Checks one file. @return 0 valid, EXIT_DATAERR invalid, EXIT_NOINPUT unreadable. */
static int check_one(const char *name, int mode, int verbose, char *buf)
{
    ajio_json_checker *checker = NULL;
    int fd, r, rc;
    unsigned jflags;

    if (mode == MODE_BYTES)
        mode = ends_with(name, ".jsonl") || ends_with(name, ".ndjson") ? MODE_JSONL : MODE_JSON;
    jflags = mode == MODE_JSONL ? AJIO_JSON_LINES : 0;

    if (strcmp(name, "-") == 0) {
        if (stdin_closed) {
            cli_error("standard input is closed");
            return EXIT_NOINPUT;
        }
        fd = STDIN_FILENO;
    } else {
        fd = open(name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            cli_error("cannot open %s: %s", name, strerror(errno));
            return EXIT_NOINPUT;
        }
    }
    r = ajio_json_checker_new(&checker, jflags, 0);
    if (r < 0) {
        cli_error("validator: %s", ajio_strerror(r));
        rc = EXIT_SOFTWARE;
        goto out;
    }
    for (;;) {
        ssize_t n = cli_read_retry(fd, buf, CLI_CHUNK);

        if (n < 0) {
            cli_error("cannot read %s: %s", name, strerror(errno));
            rc = EXIT_NOINPUT;
            goto out;
        }
        if (n == 0)
            break;
        /* After the first error the checker only repeats it: stop reading. */
        if ((r = ajio_json_feed(checker, buf, (size_t)n)) != 0)
            break;
    }
    if (r == 0)
        r = ajio_json_finish(checker);
    if (r != 0) {
        report_json_error(name, checker, r);
        rc = EXIT_DATAERR;
        goto out;
    }
    if (verbose)
        cli_print_line(stdout, "%s: ok (%" PRIu64 " %s)", name, ajio_json_checker_count(checker),
                       mode == MODE_JSONL ? "lines" : "value");
    rc = 0;
out:
    ajio_json_checker_free(checker);
    if (fd != STDIN_FILENO)
        (void)close(fd);
    return rc;
}

static int check_rank(int rc)
{
    return rc == EXIT_SOFTWARE ? 3 : rc == EXIT_NOINPUT ? 2 : rc == EXIT_DATAERR ? 1 : 0;
}

static int cmd_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"jsonl", no_argument, NULL, OPT_JSONL},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static char buf[CLI_CHUNK];
    int mode = MODE_BYTES, verbose = 0, c, rc = 0;

    while ((c = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON:
        case OPT_JSONL:
            if (mode != MODE_BYTES && mode != (c == OPT_JSON ? MODE_JSON : MODE_JSONL))
                return cli_usage_error(check_usage, "--json and --jsonl exclude each other");
            mode = c == OPT_JSON ? MODE_JSON : MODE_JSONL;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            fputs(check_usage, stdout);
            return 0;
        default:
            return cli_bad_option(check_usage, c, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error(check_usage, "check: missing FILE");
    for (int i = optind; i < argc; i++) {
        int r = check_one(argv[i], mode, verbose, buf);

        /* The status says the worst that happened: internal, unreadable, then invalid. */
        if (check_rank(r) > check_rank(rc))
            rc = r;
    }
    if (close_stdout() < 0)
        return EXIT_IOERR;
    return rc;
}

/* ---- sweep ----------------------------------------------------------------------------------- */

static int cmd_sweep(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"min-age", required_argument, NULL, OPT_MIN_AGE},
        {"name", required_argument, NULL, OPT_NAME},
        {"dry-run", no_argument, NULL, 'n'},
        {"no-sync", no_argument, NULL, OPT_NO_SYNC},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned long min_age = SWEEP_DEFAULT_MIN_AGE;
    unsigned flags = 0;
    const char *name = NULL;
    int c, rc = 0;

    while ((c = getopt_long(argc, argv, ":hn", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_MIN_AGE:
            if (cli_parse_unsigned(optarg, 10, 0xffffffffUL, &min_age) < 0)
                return cli_usage_error(sweep_usage, "--min-age wants whole seconds, not '%s'",
                                       optarg);
            break;
        case OPT_NAME:
            if (optarg[0] == '\0' || strchr(optarg, '/') != NULL)
                return cli_usage_error(sweep_usage, "--name wants a file name, not '%s'", optarg);
            name = optarg;
            break;
        case 'n':
            flags |= AJIO_SWEEP_DRY_RUN;
            break;
        case OPT_NO_SYNC:
            flags |= AJIO_SWEEP_NO_SYNC;
            break;
        case 'h':
            fputs(sweep_usage, stdout);
            return 0;
        default:
            return cli_bad_option(sweep_usage, c, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error(sweep_usage, "sweep: missing DIR");
    for (int i = optind; i < argc; i++) {
        int r = ajio_sweep(argv[i], name, (unsigned)min_age, flags);

        if (r < 0) {
            cli_error("%s", last_error_or(r));
            if (rc == 0)
                rc = r == -ENOENT || r == -ENOTDIR || r == -EACCES ? EXIT_NOINPUT : EXIT_IOERR;
            continue;
        }
        cli_print_line(stdout, "%s: %d %s", argv[i], r,
                       (flags & AJIO_SWEEP_DRY_RUN) ? "to remove (dry run)" : "removed");
    }
    if (close_stdout() < 0)
        return EXIT_IOERR;
    return rc;
}

/* ---- main ------------------------------------------------------------------------------------ */

static int print_version(void)
{
    printf("ajio %s (libajio %s)\n", AJIO_VERSION_STRING, ajio_version());
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : NULL;

    if (what == NULL || strcmp(what, "help") == 0)
        fputs(general_usage, stdout);
    else if (strcmp(what, "write") == 0)
        fputs(write_usage, stdout);
    else if (strcmp(what, "check") == 0)
        fputs(check_usage, stdout);
    else if (strcmp(what, "sweep") == 0)
        fputs(sweep_usage, stdout);
    else if (strcmp(what, "demo") == 0)
        fputs(cli_demo_usage, stdout);
    else
        return cli_usage_error(general_usage, "no command '%s'", what);
    return 0;
}

/*
 * A closed fd 0, 1 or 2 is the first number open(2) hands out: the library's directory or temp
 * file would land there, and the tool would read its own temp as standard input, or write its
 * messages into the temp and so into the target. Each closed one gets /dev/null, opened in the
 * direction it does not serve: reads of fd 0 and writes to fds 1 and 2 still fail with EBADF, as
 * on a closed descriptor (so "ajio --help >&-" still sees its output lost), yet no file can take
 * the place.
 * @return 0, or EXIT_IOERR if /dev/null cannot be opened.
 */
static int reserve_std_fds(void)
{
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* The fds below fd are open, so open() returns fd itself. */
        if (open("/dev/null", fd == STDIN_FILENO ? O_WRONLY : O_RDONLY) < 0) {
            cli_error("cannot open /dev/null for closed fd %d: %s", fd, strerror(errno));
            return EXIT_IOERR;
        }
        if (fd == STDIN_FILENO)
            stdin_closed = 1;
    }
    return 0;
}

static int run(int argc, char **argv)
{
    const char *cmd;

    if (argc < 2)
        return cli_usage_error(general_usage, "missing COMMAND");
    cmd = argv[1];
    /* Each command parses its own options once, from its own argv; optind = 0 makes glibc's
     * getopt start from scratch rather than resume. */
    optind = 0;
    opterr = 0;
    if (strcmp(cmd, "write") == 0)
        return cmd_write(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "sweep") == 0)
        return cmd_sweep(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return cli_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0)
        return cmd_help(argc - 1, argv + 1);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(general_usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0)
        return print_version();
    if (cmd[0] == '-')
        return cli_usage_error(general_usage, "unknown option '%s'", cmd);
    return cli_usage_error(general_usage, "unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
    int rc;

    /* Beyond a file-size limit (ulimit -f) write(2) raises SIGXFSZ, whose default action kills the
     * tool without a word and with a status no caller expects. Ignored, the write fails with
     * EFBIG instead: reported, exit 74, target untouched, as for a full disk. */
    signal(SIGXFSZ, SIG_IGN);
    rc = reserve_std_fds();
    if (rc == 0)
        rc = run(argc, argv);
    /* Output lost is a failure only of a command that had nothing else to report. */
    if (close_stdout() < 0 && rc == 0)
        rc = EXIT_IOERR;
    return rc;
}

/*
 * util.c - the util layer of the ajio tool, declared in cli.h: what every command needs alike
 * (messages, exit codes, option parsing, input reads, the standard descriptors). It uses libc and
 * the public API of libajio only, and knows nothing of the commands or of main.c.
 */
#include "cli.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/*
 * Prints prefix as it is, then name escaped in full (if not NULL), then the formatted message
 * escaped (keeping its backslashes with keep_backslash), then a newline.
 */
__attribute__((format(printf, 5, 0))) static void print_line(FILE *out, const char *prefix,
                                                             const char *name, int keep_backslash,
                                                             const char *fmt, va_list ap)
{
    struct line_out l = {.out = out};
    char small[1024], *msg;
    va_list aq;

    /* A message can hold two paths of PATH_MAX, so it takes the heap; without memory the text
     * cut to the buffer on the stack still says what failed. */
    va_copy(aq, ap);
    if (vasprintf(&msg, fmt, aq) < 0) {
        if (vsnprintf(small, sizeof(small), fmt, ap) < 0)
            small[0] = '\0';
        msg = small;
    }
    va_end(aq);
    line_raw(&l, prefix);
    if (name != NULL)
        line_escaped(&l, name, 0);
    line_escaped(&l, msg, keep_backslash);
    line_raw(&l, "\n");
    line_flush(&l);
    if (msg != small)
        free(msg);
}

void cli_print_line(FILE *out, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    print_line(out, "", NULL, 0, fmt, ap);
    va_end(ap);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    print_line(stderr, "ajio: ", NULL, 0, fmt, ap);
    va_end(ap);
}

void cli_note(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    print_line(stderr, "ajio: note: ", NULL, 1, fmt, ap);
    va_end(ap);
}

void cli_data_error(const char *name, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    print_line(stderr, "", name, 1, fmt, ap);
    va_end(ap);
}

const char *cli_last_error(int err)
{
    const char *msg = ajio_last_error();

    return msg[0] != '\0' ? msg : ajio_strerror(err);
}

/* ---- exit codes ------------------------------------------------------------------------------ */

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

/*
 * Why a replace needs what it was refused: the directory's write permission, room on the disk.
 * A user who could write FILE itself does not expect either.
 */
static const char *replace_hint(int r)
{
    switch (r) {
    case -EACCES:
    case -EPERM:
    case -EROFS:
        return " (an atomic replace writes the new copy as a new file in FILE's directory and "
               "renames it over FILE: the directory must be writable, not only FILE)";
    case -ENOSPC:
    case -EDQUOT:
        return " (an atomic replace needs room for the old and the new copy at once, until "
               "the new one replaces the old)";
    default:
        return "";
    }
}

int cli_write_error(int r)
{
    cli_error("%s%s", cli_last_error(r), replace_hint(r));
    return cli_exit_for(r);
}

void cli_input_error(const char *input, const char *where, const char *name, const char *note)
{
    struct line_out l = {.out = stderr};

    line_raw(&l, "ajio: ");
    line_raw(&l, input);
    line_escaped(&l, where, 1);
    line_raw(&l, " (");
    if (note != NULL) {
        line_escaped(&l, note, 0);
    } else {
        line_escaped(&l, name, 0);
        line_raw(&l, " left unchanged");
    }
    line_raw(&l, ")\n");
    line_flush(&l);
}

int cli_write_failed(const char *name, const char *lib_path, const char *input, int r)
{
    const char *msg = cli_last_error(r);
    size_t n = strlen(lib_path);

    /* The library names the file it was writing; an error in the input is the input's. */
    if (r == AJIO_EJSON && input != NULL && strncmp(msg, lib_path, n) == 0 && msg[n] == ':')
        cli_input_error(input, msg + n, name, NULL);
    else if ((r == AJIO_EJSON || r == AJIO_ETORN) && strncmp(msg, lib_path, n) == 0 &&
             msg[n] == ':')
        cli_data_error(name, "%s", msg + n);
    else
        return cli_write_error(r);
    return cli_exit_for(r);
}

int cli_commit_result(const char *name, const char *lib_path, const char *input, int r)
{
    if (r == 0 || r == AJIO_UNCHANGED)
        return 0;
    if (r == AJIO_ENOTDURABLE) {
        cli_error("\"%s\" was replaced but may not survive a power cut: %s", name,
                  cli_last_error(r));
        return EXIT_TEMPFAIL;
    }
    return cli_write_failed(name, lib_path, input, r);
}

int cli_empty_input(const char *input, const char *name)
{
    cli_error("%s is empty: \"%s\" left unchanged (--allow-empty replaces it with an empty file)",
              input, name);
    return EXIT_DATAERR;
}

/* ---- command line ---------------------------------------------------------------------------- */

/* getopt_long() knows a row without an id as ROW_ID + its index: above every id of cli.h. */
#define ROW_ID 0x10000

int cli_getopt(int argc, char **argv, const struct cli_option *table, unsigned *flags)
{
    /* Built again at each call from the same table: getopt_long() keeps no pointer into them
     * between calls, only its position in argv. */
    struct option longopts[CLI_MAX_OPTIONS + 1];
    char shortopts[2 * CLI_MAX_OPTIONS + 2] = ":";
    size_t n, k = 1;
    int c;

    for (n = 0; table[n].name != NULL; n++) {
        const struct cli_option *o = &table[n];

        assert(n < CLI_MAX_OPTIONS);
        longopts[n] =
            (struct option){o->name, o->has_arg, NULL, o->id != 0 ? o->id : ROW_ID + (int)n};
        if (o->id > 0 && o->id < CLI_OPT_COMMAND) {
            shortopts[k++] = (char)o->id;
            if (o->has_arg == required_argument)
                shortopts[k++] = ':';
        }
    }
    longopts[n] = (struct option){NULL, 0, NULL, 0};
    shortopts[k] = '\0';
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        const struct cli_option *o = NULL;

        for (size_t i = 0; i < n && o == NULL; i++) {
            if (longopts[i].val == c)
                o = &table[i];
        }
        if (o == NULL || (o->set == 0 && o->clear == 0))
            return c;
        *flags = (*flags | o->set) & ~o->clear;
    }
    return -1;
}

int cli_content_kind(unsigned flags, const char *usage, unsigned *ret_kind)
{
    unsigned kind = flags & (AJIO_JSON | AJIO_JSONL);

    if (kind == (AJIO_JSON | AJIO_JSONL))
        return cli_usage_error(usage, "--json and --jsonl exclude each other");
    if (ret_kind != NULL)
        *ret_kind = kind;
    return 0;
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
    print_line(stderr, "ajio: ", NULL, 0, fmt, ap);
    va_end(ap);
    short_usage(usage);
    return EXIT_USAGE;
}

/*
 * With a leading ':' in the short option string, ':' means a missing argument; '?' an unknown
 * option: a short one is optopt (argv[optind - 1] is not it inside a group such as "-qh"), a long
 * one argv[optind - 1].
 */
int cli_other_option(const char *usage, int c, char **argv)
{
    const char *arg = argv[optind - 1];

    if (c == 'h') {
        fputs(usage, stdout);
        return 0;
    }
    if (c == ':')
        return cli_usage_error(usage, "option '%s' needs an argument", arg);
    if (optopt != 0 && optopt != '?')
        return cli_usage_error(usage, "unknown option '-%c'", optopt);
    return cli_usage_error(usage, "unknown option '%s'", arg);
}

/* strtoul() alone would accept "-1", leading spaces and trailing garbage. */
int cli_mode_option(const char *arg, const char *usage, ajio_opts *opts)
{
    unsigned long m;

    if (cli_parse_unsigned(arg, 8, 07777, &m) < 0)
        return cli_usage_error(usage, "--mode wants octal bits 0 to 7777, not '%s'", arg);
    opts->flags |= AJIO_MODE;
    opts->mode = (unsigned)m;
    return 0;
}

int cli_check_write_options(unsigned flags, const char *usage)
{
    int r = cli_content_kind(flags, usage, NULL);

    if (r != 0)
        return r;
    if ((flags & AJIO_NO_FOLLOW) && (flags & AJIO_REPLACE_LINK))
        return cli_usage_error(usage, "--no-follow and --replace-link exclude each other");
    return 0;
}

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

/* The longest --timeout for a lock: its milliseconds must fit in an int. */
#define MAX_LOCK_TIMEOUT_SEC (INT_MAX / 1000)

int cli_lock_timeout_option(const char *arg, const char *usage, ajio_opts *opts)
{
    unsigned long sec;

    if (cli_parse_unsigned(arg, 10, MAX_LOCK_TIMEOUT_SEC, &sec) < 0)
        return cli_usage_error(usage, "--timeout wants whole seconds 0 to %d, not '%s'",
                               MAX_LOCK_TIMEOUT_SEC, arg);
    opts->flags |= AJIO_LOCK_TIMEOUT;
    opts->lock_timeout_ms = (int)sec * 1000;
    return 0;
}

int cli_lock_timed_out(int r, unsigned flags)
{
    return (flags & AJIO_LOCK_TIMEOUT) && (r == -ETIMEDOUT || r == -EWOULDBLOCK);
}

int cli_parse_seconds(const char *s, unsigned long max_sec, long long *ret_ms)
{
    unsigned long sec = 0;
    long long ms = 0, scale = 100;
    int digits = 0, finer = 0;

    /* Checked at each digit: sec stays at most max_sec, far below ULONG_MAX / 10. */
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        sec = sec * 10 + (unsigned long)(*s - '0');
        if (sec > max_sec)
            return -EINVAL;
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
            if (scale > 0)
                ms += (*s - '0') * scale;
            else if (*s != '0')
                finer = 1;
            scale /= 10;
        }
    }
    if (digits == 0 || *s != '\0')
        return -EINVAL;
    ms += (long long)sec * 1000 + finer;
    if (ms > (long long)max_sec * 1000)
        return -EINVAL;
    *ret_ms = ms;
    return 0;
}

/* ---- streams and descriptors ----------------------------------------------------------------- */

ssize_t cli_read_retry(int fd, void *buf, size_t len)
{
    ssize_t n;

    do
        n = read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

/* Set when fd 0 was closed at startup; it then holds /dev/null, open for writing only. */
static int stdin_closed;

/*
 * A closed fd 0, 1 or 2 is the first number open(2) hands out: the library's directory or temp
 * file would land there, and the tool would read its own temp as standard input, or write its
 * messages into the temp and so into the target. Each closed one gets /dev/null, opened in the
 * direction it does not serve: reads of fd 0 and writes to fds 1 and 2 still fail with EBADF, as
 * on a closed descriptor (so "ajio --help >&-" still sees its output lost), yet no file can take
 * the place.
 */
int cli_reserve_std_fds(void)
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

int cli_stdin_closed(void)
{
    return stdin_closed;
}

/*
 * Standard output is checked at the end, as coreutils' close_stdout() does: "ajio --help" into a
 * full disk or a closed descriptor must not report success. fclose(), not only fflush(): close(2)
 * can report a write the kernel deferred (NFS).
 */
int cli_close_stdout(void)
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

int cli_one_file(char **argv, int end, const char *usage, const char *cmd, const char **ret_path)
{
    if (optind >= end)
        return cli_usage_error(usage, "%s: missing FILE", cmd);
    if (optind + 1 < end)
        return cli_usage_error(usage, "%s: one FILE only ('%s' is extra)", cmd, argv[optind + 1]);
    *ret_path = argv[optind];
    return 0;
}

void cli_fs_warn(const char *path)
{
    static bool warned;
    ajio_fs_info info;
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');

    if (warned)
        return;
    /* The directory: the file may not exist yet. */
    if (slash == NULL)
        (void)snprintf(dir, sizeof(dir), ".");
    else
        (void)snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (ajio_fs_probe(dir, &info) < 0 || info.weak == 0)
        return;
    warned = true;
    cli_error("warning: \"%s\": %s (see docs/fs-matrix.md)", path, info.warning);
}

int cli_target_file(char **argv, int end, const char *usage, const char *cmd,
                    const char **ret_path)
{
    int r = cli_one_file(argv, end, usage, cmd, ret_path);

    /* "-" is standard input or output everywhere else (check, cat); a replace or an append
     * cannot be atomic on a stream, and a file named "-" made by accident is a trap. */
    if (r == 0 && strcmp(*ret_path, "-") == 0)
        return cli_usage_error(usage,
                               "%s: FILE '-' would be standard input or output, which cannot be "
                               "replaced atomically; write ./- for a file named '-'",
                               cmd);
    if (r == 0)
        cli_fs_warn(*ret_path);
    return r;
}

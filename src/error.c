/*
 * error.c - return codes, their names and texts, and the per-thread last-error message.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * The message lives in thread-local storage so that concurrent writers in different threads never
 * see each other's messages and the library keeps no shared mutable state. Sized for a PATH_MAX
 * path plus the step and the reason.
 */
static _Thread_local char last_error[PATH_MAX + 256];
static _Thread_local unsigned long error_count;

/* One table for the codes that are ours; errno values come from the C library's own table. */
#define AJIO_CODE_MAP(X)                                                                           \
    X(AJIO_ENOTDURABLE, "replaced, but the directory sync failed: durability not confirmed")       \
    X(AJIO_EJSON, "invalid JSON")                                                                  \
    X(AJIO_ETORN, "JSONL last line has no terminating newline (torn append?)")

const char *ajio_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case AJIO_UNCHANGED:
        return "unchanged: the file already held these bytes";
    case AJIO_REPAIRED:
        return "repaired: a torn last line was cut or terminated first";
#define X(code, text)                                                                              \
    case code:                                                                                     \
        return text;
        AJIO_CODE_MAP(X)
#undef X
    }
    if (err < 0) {
        const char *s = strerrordesc_np(-err);
        if (s != NULL)
            return s;
    }
    return "unknown error";
}

const char *ajio_err_name(int err)
{
    switch (err) {
    case 0:
        return "OK";
    case AJIO_UNCHANGED:
        return "AJIO_UNCHANGED";
    case AJIO_REPAIRED:
        return "AJIO_REPAIRED";
#define X(code, text)                                                                              \
    case code:                                                                                     \
        return #code;
        AJIO_CODE_MAP(X)
#undef X
    }
    if (err < 0) {
        const char *s = strerrorname_np(-err);
        if (s != NULL)
            return s;
    }
    return "UNKNOWN";
}

const char *ajio_last_error(void)
{
    return last_error;
}

const char *ajio_version(void)
{
    return AJIO_VERSION_STRING;
}

unsigned long ajio__error_count(void)
{
    return error_count;
}

static int vset(int err, const char *fmt, va_list ap)
{
    error_count++;
    (void)vsnprintf(last_error, sizeof(last_error), fmt, ap);
    return err;
}

int ajio__error(int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vset(err, fmt, ap);
    va_end(ap);
    return err;
}

int ajio__error_strerror(int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vset(err, fmt, ap);
    va_end(ap);
    ajio__error_append(": %s", ajio_strerror(err));
    return err;
}

void ajio__error_append(const char *fmt, ...)
{
    size_t n = strlen(last_error);
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(last_error + n, sizeof(last_error) - n, fmt, ap);
    va_end(ap);
}

/*
 * Code built on the public API, such as the header-only adapters in include/ajio/, reports its
 * refusals through the same per-thread message as the library's own ajio__error().
 */
int ajio_set_last_error(int err, const char *fmt, ...)
{
    va_list ap;
    int r;

    if (fmt == NULL)
        return ajio__error(err, "%s", ajio_strerror(err));
    va_start(ap, fmt);
    r = vset(err, fmt, ap);
    va_end(ap);
    return r;
}

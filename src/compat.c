/*
 * compat.c - the 0.2 entry points, kept for one release so that programs built against 0.2 run
 * unchanged: the handle's functions under their old names, and ajio_repair() and
 * ajio_reader_open() with their old arguments under their old symbols (the header gives the new
 * ones symbols of their own). Each is a call of its 0.3 replacement and nothing else.
 */
#include "internal.h"

/* Defining them is not using them. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

int ajio_open(ajio_file **ret_file, const char *path, const ajio_opts *opts)
{
    return ajio_file_open(ret_file, path, opts);
}

int ajio_write(ajio_file *f, const void *buf, size_t len)
{
    return ajio_file_write(f, buf, len);
}

int ajio_vprintf(ajio_file *f, const char *fmt, va_list ap)
{
    return ajio_file_vprintf(f, fmt, ap);
}

int ajio_printf(ajio_file *f, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = ajio_file_vprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int ajio_commit(ajio_file *f)
{
    return ajio_file_commit(f);
}

void ajio_abort(ajio_file *f)
{
    ajio_file_abort(f);
}

/* 0.2: the flags apart, or'ed with opts->flags, and opts last. */
AJIO_API int ajio_repair_v02(const char *path, unsigned flags, size_t *ret_cut,
                             const ajio_opts *opts) __asm__("ajio_repair");

int ajio_repair_v02(const char *path, unsigned flags, size_t *ret_cut, const ajio_opts *opts)
{
    ajio_opts o = {0};

    if (opts != NULL)
        o = *opts;
    o.flags |= flags;
    return ajio_repair(path, &o, ret_cut);
}

/* 0.2: the flags themselves. */
AJIO_API int ajio_reader_open_v02(ajio_reader **ret, const char *path,
                                  unsigned flags) __asm__("ajio_reader_open");

int ajio_reader_open_v02(ajio_reader **ret, const char *path, unsigned flags)
{
    return ajio_reader_open(ret, path, &(ajio_opts){.flags = flags});
}

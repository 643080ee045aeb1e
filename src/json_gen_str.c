/*
 * json_gen_str.c - the generator's conveniences for NUL-terminated strings, built on the public
 * calls only, so that they add no state and no rule of their own.
 */
#include "internal.h"

#include <string.h>

int ajio_gen_key_str(ajio_gen *g, const char *s)
{
    /* A JSON key is always a string: a NULL one is the caller's mistake, not the empty key. */
    if (s == NULL)
        return ajio_gen_fail(g, -EINVAL, "ajio_gen_key_str: the key is NULL");
    return ajio_gen_key(g, s, strlen(s));
}

int ajio_gen_string_str(ajio_gen *g, const char *s)
{
    if (s == NULL)
        return ajio_gen_null(g);
    return ajio_gen_string(g, s, strlen(s));
}

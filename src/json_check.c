/*
 * json_check.c - strict, streaming RFC 8259 JSON and JSONL validator.
 *
 * The validator is one state machine. ajio_json_checker_feed() loads the state into locals, runs a
 * goto-based loop over the chunk and writes the state back when the chunk ends, so a value may
 * be split at any byte. The hot paths avoid per-byte branches where they can: string bodies are
 * scanned 16 bytes at a time with SSE2 (8 at a time with SWAR elsewhere), digits 8 at a time,
 * indentation 16 at a time, and complete UTF-8 sequences, \uXXXX escapes and literals are checked
 * in one go when the chunk holds them whole. Only when a token straddles the chunk end does the
 * byte-by-byte path with saved sub-state run.
 *
 * Memory is the struct plus one byte per nesting level (max_depth bytes), allocated up front.
 *
 * Error positions name the first byte at which the input can no longer be the prefix of a valid
 * document (for the end of input: the offset just past the last byte). Lines are counted only in
 * whitespace, the only place a raw '\n' may appear, so counting costs nothing in strings.
 */
#include "internal.h"

#include <inttypes.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__GNUC__)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define COLD __attribute__((cold, noinline))
#else
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#define COLD
#endif

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_LE 1
#else
#define SWAR_LE 0
#endif

/* clang-format off */
/* 1: a string byte that needs no attention (printable ASCII but '"' and '\\') */
static const uint8_t str_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* length of the UTF-8 sequence a lead byte starts; 0: never a valid lead byte */
static const uint8_t utf8_len[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* smallest valid first continuation byte after a lead byte (rules out overlongs) */
static const uint8_t utf8_lo[256] = {
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0xa0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x90, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
};

/* largest valid first continuation byte (rules out surrogates and > U+10FFFF) */
static const uint8_t utf8_hi[256] = {
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0x9f, 0xbf, 0xbf,
    0xbf, 0xbf, 0xbf, 0xbf, 0x8f, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf,
};

/* value of a hex digit; 0xff: not a hex digit */
static const uint8_t hex_val[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0x82, 0x83, 0xff, 0xff, 0xff, 0xff, 0xff, 0x89, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* bytes that may not directly follow a number or a literal */
static const uint8_t word_tail[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* 1: the byte after a backslash makes a complete escape */
static const uint8_t esc_simple[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0,
    0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */

/* Container kinds on the nesting stack; K_TOP is "no container" (depth 0). */
enum { K_TOP = 0, K_ARR = 1, K_OBJ = 2 };

/* Where the machine stopped. Each state is a label in run(). */
enum {
    ST_VALUE,     /* a value is expected: document start, after ':' or after ',' in an array */
    ST_ARR_FIRST, /* after '[': a value or ']' */
    ST_OBJ_FIRST, /* after '{': a key or '}' */
    ST_OBJ_KEY,   /* after ',' in an object: a key */
    ST_COLON,     /* after a key: ':' */
    ST_AFTER,     /* after a complete value; what may follow depends on the container */
    ST_LINE,      /* JSONL: start of a line, or inside its leading whitespace */
    ST_STR,       /* inside a string body */
    ST_ESC,       /* after a backslash */
    ST_HEX,       /* inside the 4 hex digits of \uXXXX */
    ST_SURR_BS,   /* after a high surrogate escape: '\\' of the low half expected */
    ST_SURR_U,    /* after that '\\': 'u' expected */
    ST_UTF8,      /* inside a multi-byte UTF-8 sequence */
    ST_NUM_MINUS, /* after '-' */
    ST_NUM_ZERO,  /* after a leading '0' */
    ST_NUM_INT,   /* in the integer digits */
    ST_NUM_DOT,   /* after '.' */
    ST_NUM_FRAC,  /* in the fraction digits */
    ST_NUM_E,     /* after 'e' or 'E' */
    ST_NUM_ESIGN, /* after the exponent sign */
    ST_NUM_EXP,   /* in the exponent digits */
    ST_LIT,       /* inside true, false or null */
    ST_LIT_END,   /* after a literal: the next byte must not continue a word */
    ST_ERROR,     /* sticky failure */
};

struct ajio_json_checker {
    unsigned flags;
    uint32_t max_depth;
    uint32_t depth;
    uint8_t state;
    uint8_t top;      /* kind of the innermost container, K_TOP at depth 0 */
    uint8_t in_key;   /* the string being scanned is an object key */
    uint8_t finished; /* ajio_json_checker_finish() was called */
    /* Sub-state of tokens split across chunks. */
    uint8_t lit;         /* ST_LIT: which literal (index into lit_word) */
    uint8_t lit_i;       /* ST_LIT: bytes of it matched */
    uint8_t hex_left;    /* ST_HEX: digits still to read */
    uint8_t want_low;    /* ST_HEX: this escape must be a low surrogate */
    uint8_t u8_need;     /* ST_UTF8: continuation bytes still to read */
    uint8_t u8_lo;       /* ST_UTF8: range of the next continuation byte */
    uint8_t u8_hi;       /* (inclusive) */
    uint8_t u8_lead;     /* ST_UTF8: the lead byte, for the error message */
    uint32_t code;       /* ST_HEX: the code unit so far */
    uint32_t hi_code;    /* the high surrogate waiting for its low half */
    uint64_t base;       /* absolute offset of the next byte to be fed */
    uint64_t line;       /* 1-based line of the next byte */
    uint64_t line_start; /* absolute offset of the first byte of that line */
    uint64_t count;      /* complete values; JSONL: good terminated lines */
    int result;          /* 0, or the sticky AJIO_EJSON / AJIO_ETORN */
    ajio_json_error err;
    uint8_t *stack; /* max_depth container kinds */
    int own_stack;  /* stack was malloc'ed by us (not the one-shot on-stack buffer) */
};

static const char *const lit_word[3] = {"true", "false", "null"};
static const uint8_t lit_len[3] = {4, 5, 4};

/* ---- error reporting (cold) ------------------------------------------------------------- */

static COLD AJIO_PRINTF(5, 6) void set_error(ajio_json_checker *c, uint64_t off, uint64_t line,
                                             uint64_t line_start, const char *fmt, ...)
{
    va_list ap;

    c->err.line = line;
    c->err.column = off - line_start + 1;
    c->err.offset = off;
    va_start(ap, fmt);
    vsnprintf(c->err.reason, sizeof(c->err.reason), fmt, ap);
    va_end(ap);
}

/* "'x'" for printable ASCII, else "byte 0xNN", so reasons never carry raw control bytes. */
static const char *show_byte(unsigned ch, char buf[16])
{
    if (ch > 0x20 && ch < 0x7f)
        snprintf(buf, 16, "'%c'", (char)ch);
    else if (ch == ' ')
        snprintf(buf, 16, "space");
    else if (ch == '\n')
        snprintf(buf, 16, "newline");
    else
        snprintf(buf, 16, "byte 0x%02X", ch);
    return buf;
}

static const char *kind_name(unsigned top)
{
    return top == K_OBJ ? "object" : "array";
}

/* A value was expected at ch. state tells the context, for a reason that helps. */
static COLD void value_error(ajio_json_checker *c, uint64_t off, uint64_t line, uint64_t line_start,
                             unsigned ch, int state, unsigned top)
{
    char b[16];
    const char *what = show_byte(ch, b);

    if (off == 0 && ch == 0xEF)
        set_error(c, off, line, line_start,
                  "byte order mark (BOM) is not allowed: JSON is UTF-8 without a BOM");
    else if (off == 0 && (ch == 0xFE || ch == 0xFF))
        set_error(c, off, line, line_start, "UTF-16 byte order mark? JSON must be UTF-8");
    else if (ch == ']' && state == ST_VALUE && top == K_ARR)
        set_error(c, off, line, line_start, "trailing comma before ']'");
    else if (ch == '\'')
        set_error(c, off, line, line_start, "single quotes are not allowed, strings use '\"'");
    else if (ch == '/')
        set_error(c, off, line, line_start, "comments are not allowed in JSON");
    else if (ch == 'N' || ch == 'I')
        set_error(c, off, line, line_start,
                  "expected a value, found %s (NaN and Infinity are not JSON)", what);
    else if (ch == '+')
        set_error(c, off, line, line_start, "a number may not start with '+'");
    else if (ch == '.')
        set_error(c, off, line, line_start, "a number must start with a digit, found '.'");
    else if (state == ST_VALUE && top == K_OBJ)
        set_error(c, off, line, line_start, "expected a value after ':', found %s", what);
    else if (state == ST_ARR_FIRST)
        set_error(c, off, line, line_start, "expected a value or ']' after '[', found %s", what);
    else
        set_error(c, off, line, line_start, "expected a value, found %s", what);
}

/* A UTF-8 continuation byte b after lead did not fit. */
static COLD void utf8_error(ajio_json_checker *c, uint64_t off, uint64_t line, uint64_t line_start,
                            unsigned lead, unsigned b)
{
    const char *why;

    if (b < 0x80 || b > 0xBF)
        why = "truncated sequence, continuation byte expected";
    else if (lead == 0xE0 || lead == 0xF0)
        why = "overlong encoding";
    else if (lead == 0xED)
        why = "UTF-16 surrogate encoded in UTF-8";
    else
        why = "code point above U+10FFFF";
    set_error(c, off, line, line_start, "invalid UTF-8 byte 0x%02X after 0x%02X (%s)", b, lead,
              why);
}

/* A byte >= 0x80 that cannot start a UTF-8 sequence. */
static COLD void utf8_lead_error(ajio_json_checker *c, uint64_t off, uint64_t line,
                                 uint64_t line_start, unsigned b)
{
    const char *why;

    if (b < 0xC0)
        why = "continuation byte without a lead byte";
    else if (b < 0xC2)
        why = "overlong encoding";
    else if (b < 0xF8)
        why = "code point above U+10FFFF";
    else
        why = "never valid in UTF-8";
    set_error(c, off, line, line_start, "invalid UTF-8 byte 0x%02X (%s)", b, why);
}

/* ---- fast scanners -------------------------------------------------------------------------- */

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static inline int is_digit(unsigned ch)
{
    return ch - '0' < 10u;
}

/* Returns the first non-digit at or after p, or end. */
static inline const uint8_t *skip_digits(const uint8_t *p, const uint8_t *end)
{
#if SWAR_LE
    while (end - p >= 8) {
        /* y < 10 in a byte iff it is a digit; bit 7 of ((y & 0x7f) + 0x76) | y flags the others,
         * and the masking keeps the add from carrying into the next byte. */
        uint64_t y = load64(p) ^ 0x3030303030303030ull;
        uint64_t m =
            (((y & 0x7f7f7f7f7f7f7f7full) + 0x7676767676767676ull) | y) & 0x8080808080808080ull;
        if (m)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < end && is_digit(*p))
        p++;
    return p;
}

/* Skips spaces (the indentation after a newline), 16 or 8 at a time. */
static inline const uint8_t *skip_spaces(const uint8_t *p, const uint8_t *end)
{
#if defined(__SSE2__)
    const __m128i sp = _mm_set1_epi8(' ');
    while (end - p >= 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(
                         _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), sp)) ^
                     0xFFFFu;
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
#elif SWAR_LE
    while (end - p >= 8) {
        uint64_t m = load64(p) ^ 0x2020202020202020ull;
        if (m)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < end && *p == ' ')
        p++;
    return p;
}

/* Returns the first byte at or after p that is '"', '\\', a control byte or non-ASCII, or end. */
static inline const uint8_t *skip_plain(const uint8_t *p, const uint8_t *end)
{
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), sp = _mm_set1_epi8(' ');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* Signed compare: bytes >= 0x80 are negative, so one compare flags both control bytes
         * and non-ASCII. */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
                                 _mm_cmplt_epi8(v, sp));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#elif SWAR_LE
    while (end - p >= 8) {
        uint64_t v = load64(p);
        uint64_t hi = 0x8080808080808080ull, lo = 0x0101010101010101ull;
        uint64_t xq = v ^ (lo * '"'), xb = v ^ (lo * '\\');
        /* Exact zero-byte tests (no false positives from borrows, unlike (x - lo) & ~x). */
        uint64_t zq = ~(((xq & ~hi) + ~hi) | xq) & hi;
        uint64_t zb = ~(((xb & ~hi) + ~hi) | xb) & hi;
        uint64_t ctl = ~((v & ~hi) + (lo * (0x80 - 0x20))) & hi; /* byte & 0x7f < 0x20 */
        uint64_t m = zq | zb | ctl | (v & hi);
        if (m)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < end && str_plain[*p])
        p++;
    return p;
}

/* ---- the machine ---------------------------------------------------------------------------- */

static int run(ajio_json_checker *c, const uint8_t *const start, size_t len)
{
    const uint8_t *p = start;
    const uint8_t *const end = start + len;
    const uint64_t base = c->base;
    const int lines = (c->flags & AJIO_JSON_LINES) != 0;
    const uint32_t max_depth = c->max_depth;
    uint8_t *const stack = c->stack;
    uint32_t depth = c->depth;
    unsigned top = c->top;
    unsigned in_key = c->in_key;
    uint64_t line = c->line, line_start = c->line_start, count = c->count;
    unsigned ch = 0, n;
    int state;

/* Offset of p, and of the byte before p. */
#define OFF ((uint64_t)(p - start) + base)
/* Out of input: remember where we are and return. */
#define NEED(st)                                                                                   \
    do {                                                                                           \
        state = (st);                                                                              \
        goto out;                                                                                  \
    } while (0)
#define FAIL_AT(off, ...)                                                                          \
    do {                                                                                           \
        set_error(c, (off), line, line_start, __VA_ARGS__);                                        \
        goto failed;                                                                               \
    } while (0)
#define FAIL(...) FAIL_AT(OFF, __VA_ARGS__)
/* Skips JSON whitespace; leaves the next byte in ch. In JSONL a '\n' ends the line, which is
 * an error inside a value. */
#define SKIP_WS(st)                                                                                \
    for (;;) {                                                                                     \
        if (UNLIKELY(p == end))                                                                    \
            NEED(st);                                                                              \
        ch = *p;                                                                                   \
        if (LIKELY(ch > ' '))                                                                      \
            break;                                                                                 \
        if (ch == ' ' || ch == '\t' || ch == '\r') {                                               \
            p++;                                                                                   \
            continue;                                                                              \
        }                                                                                          \
        if (ch != '\n')                                                                            \
            break;                                                                                 \
        if (lines)                                                                                 \
            goto newline_in_value;                                                                 \
        p++;                                                                                       \
        line++;                                                                                    \
        line_start = OFF;                                                                          \
        p = skip_spaces(p, end);                                                                   \
    }
#define PUSH(kind)                                                                                 \
    do {                                                                                           \
        if (UNLIKELY(depth >= max_depth))                                                          \
            FAIL("nesting deeper than %u", (unsigned)max_depth);                                   \
        stack[depth++] = (kind);                                                                   \
        top = (kind);                                                                              \
    } while (0)

    switch (c->state) {
    case ST_VALUE:
        goto value;
    case ST_ARR_FIRST:
        goto arr_first;
    case ST_OBJ_FIRST:
        goto obj_first;
    case ST_OBJ_KEY:
        goto obj_key;
    case ST_COLON:
        goto colon;
    case ST_AFTER:
        goto after;
    case ST_LINE:
        goto line_begin;
    case ST_STR:
        goto str;
    case ST_ESC:
        goto esc;
    case ST_HEX:
        goto hex_slow;
    case ST_SURR_BS:
        goto surr_bs;
    case ST_SURR_U:
        goto surr_u;
    case ST_UTF8:
        goto utf8_slow;
    case ST_NUM_MINUS:
        goto num_minus;
    case ST_NUM_ZERO:
        goto num_zero;
    case ST_NUM_INT:
        goto num_int;
    case ST_NUM_DOT:
        goto num_dot;
    case ST_NUM_FRAC:
        goto num_frac;
    case ST_NUM_E:
        goto num_e;
    case ST_NUM_ESIGN:
        goto num_esign;
    case ST_NUM_EXP:
        goto num_exp;
    case ST_LIT:
        goto lit_slow;
    case ST_LIT_END:
        goto lit_end;
    default:
        assert(0 && "bad state");
        return AJIO_EJSON;
    }

    /* ---- structure ---- */
line_begin:
    /* JSONL: leading blanks, then a value. A line with nothing but blanks is an error. */
    for (;;) {
        if (p == end)
            NEED(ST_LINE);
        ch = *p;
        if (ch == ' ' || ch == '\t' || ch == '\r') {
            p++;
            continue;
        }
        if (ch == '\n')
            FAIL("blank line (JSONL needs one value on every line)");
        break;
    }
    state = ST_LINE;
    goto value_start;

arr_first:
    SKIP_WS(ST_ARR_FIRST);
    if (ch == ']') {
        p++;
        goto pop;
    }
    state = ST_ARR_FIRST;
    goto value_start;

value:
    SKIP_WS(ST_VALUE);
    state = ST_VALUE;
value_start:
    /* ch == *p, not whitespace; state names the context for error reasons. */
    switch (ch) {
    case '"':
        p++;
        in_key = 0;
        goto str;
    case '[':
        PUSH(K_ARR);
        p++;
        goto arr_first;
    case '{':
        PUSH(K_OBJ);
        p++;
        goto obj_first;
    case '-':
        p++;
        goto num_minus;
    case '0':
        p++;
        goto num_zero;
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        p++;
        goto num_int;
    case 't':
        c->lit = 0;
        if (LIKELY(end - p >= 4) && memcmp(p, "true", 4) == 0) {
            p += 4;
            goto lit_end;
        }
        goto lit_start;
    case 'f':
        c->lit = 1;
        if (LIKELY(end - p >= 5) && memcmp(p, "false", 5) == 0) {
            p += 5;
            goto lit_end;
        }
        goto lit_start;
    case 'n':
        c->lit = 2;
        if (LIKELY(end - p >= 4) && memcmp(p, "null", 4) == 0) {
            p += 4;
            goto lit_end;
        }
        goto lit_start;
    default:
        value_error(c, OFF, line, line_start, ch, state, top);
        goto failed;
    }

obj_first:
    SKIP_WS(ST_OBJ_FIRST);
    if (LIKELY(ch == '"')) {
        p++;
        in_key = 1;
        goto str;
    }
    if (ch == '}') {
        p++;
        goto pop;
    }
    if (ch == '\'')
        FAIL("single quotes are not allowed, strings use '\"'");
    {
        char b[16];
        FAIL("expected '\"' (object key) or '}' after '{', found %s", show_byte(ch, b));
    }

obj_key:
    SKIP_WS(ST_OBJ_KEY);
    if (LIKELY(ch == '"')) {
        p++;
        in_key = 1;
        goto str;
    }
    if (ch == '}')
        FAIL("trailing comma before '}'");
    if (ch == '\'')
        FAIL("single quotes are not allowed, strings use '\"'");
    {
        char b[16];
        FAIL("expected '\"' (object key) after ',', found %s", show_byte(ch, b));
    }

colon:
    SKIP_WS(ST_COLON);
    if (LIKELY(ch == ':')) {
        p++;
        goto value;
    }
    {
        char b[16];
        FAIL("expected ':' after object key, found %s", show_byte(ch, b));
    }

pop:
    depth--;
    top = depth ? stack[depth - 1] : K_TOP;
value_done:
    if (top == K_ARR)
        goto after_arr;
    if (top == K_OBJ)
        goto after_obj;
    if (!lines)
        count++;
    goto after_top;

after:
    if (top == K_ARR)
        goto after_arr;
    if (top == K_OBJ)
        goto after_obj;
    goto after_top;

after_arr:
    SKIP_WS(ST_AFTER);
    if (LIKELY(ch == ',')) {
        p++;
        goto value;
    }
    if (ch == ']') {
        p++;
        goto pop;
    }
    {
        char b[16];
        FAIL("expected ',' or ']' after array element, found %s", show_byte(ch, b));
    }

after_obj:
    SKIP_WS(ST_AFTER);
    if (LIKELY(ch == ',')) {
        p++;
        goto obj_key;
    }
    if (ch == '}') {
        p++;
        goto pop;
    }
    {
        char b[16];
        FAIL("expected ',' or '}' after object member, found %s", show_byte(ch, b));
    }

after_top:
    if (!lines) {
        SKIP_WS(ST_AFTER);
        {
            char b[16];
            FAIL("unexpected %s after the JSON value (only one value is allowed)",
                 show_byte(ch, b));
        }
    }
    for (;;) {
        if (p == end)
            NEED(ST_AFTER);
        ch = *p;
        if (ch == ' ' || ch == '\t' || ch == '\r') {
            p++;
            continue;
        }
        if (ch == '\n') {
            p++;
            count++;
            line++;
            line_start = OFF;
            goto line_begin;
        }
        {
            char b[16];
            FAIL("unexpected %s after the value, JSONL has one value per line", show_byte(ch, b));
        }
    }

newline_in_value:
    FAIL("unexpected end of line inside %s (a JSONL value must be on one line)", kind_name(top));

    /* ---- strings ---- */
str:
    for (;;) {
        p = skip_plain(p, end);
        if (UNLIKELY(p == end))
            NEED(ST_STR);
        ch = *p;
        if (ch == '"') {
            p++;
            if (in_key)
                goto colon;
            goto value_done;
        }
        if (ch == '\\') {
            p++;
            goto esc;
        }
        if (ch < 0x20) {
            if (ch == '\n')
                FAIL("unescaped newline in string (use \\n)");
            FAIL("unescaped control character 0x%02X in string", ch);
        }
        /* Non-ASCII: check whole sequences in place while the chunk holds 4 more bytes. */
        while (end - p >= 4) {
            n = utf8_len[ch];
            if (UNLIKELY(!n)) {
                utf8_lead_error(c, OFF, line, line_start, ch);
                goto failed;
            }
            if (UNLIKELY(p[1] < utf8_lo[ch] || p[1] > utf8_hi[ch]))
                goto utf8_begin;
            if (n >= 3 && UNLIKELY((p[2] & 0xC0) != 0x80))
                goto utf8_begin;
            if (n == 4 && UNLIKELY((p[3] & 0xC0) != 0x80))
                goto utf8_begin;
            p += n;
            if (p == end || (ch = *p) < 0x80)
                goto str;
        }
        goto utf8_begin; /* ch == *p >= 0x80 with fewer than 4 bytes left */
    }

utf8_begin:
    /* ch == *p >= 0x80: a sequence near the chunk end, or a broken one; go byte by byte. */
    n = utf8_len[ch];
    if (!n) {
        utf8_lead_error(c, OFF, line, line_start, ch);
        goto failed;
    }
    c->u8_lead = (uint8_t)ch;
    c->u8_need = (uint8_t)(n - 1);
    c->u8_lo = utf8_lo[ch];
    c->u8_hi = utf8_hi[ch];
    p++;
utf8_slow:
    while (c->u8_need) {
        if (p == end)
            NEED(ST_UTF8);
        ch = *p;
        if (ch < c->u8_lo || ch > c->u8_hi) {
            utf8_error(c, OFF, line, line_start, c->u8_lead, ch);
            goto failed;
        }
        p++;
        c->u8_need--;
        c->u8_lo = 0x80;
        c->u8_hi = 0xBF;
    }
    goto str;

esc:
    if (p == end)
        NEED(ST_ESC);
    ch = *p;
    if (LIKELY(esc_simple[ch])) {
        p++;
        goto str;
    }
    if (ch != 'u') {
        char b[16];
        FAIL("invalid escape: backslash followed by %s", show_byte(ch, b));
    }
    p++;
    c->want_low = 0;
hex_begin:
    c->hex_left = 4;
    c->code = 0;
    if (LIKELY(end - p >= 4)) {
        unsigned h0 = hex_val[p[0]], h1 = hex_val[p[1]], h2 = hex_val[p[2]], h3 = hex_val[p[3]];
        if (LIKELY((h0 | h1 | h2 | h3) < 16)) {
            c->code = h0 << 12 | h1 << 8 | h2 << 4 | h3;
            c->hex_left = 0;
            p += 4;
            goto hex_done;
        }
    }
hex_slow:
    while (c->hex_left) {
        if (p == end)
            NEED(ST_HEX);
        ch = *p;
        if (hex_val[ch] > 15) {
            char b[16];
            FAIL("invalid \\u escape: %s is not a hex digit", show_byte(ch, b));
        }
        c->code = c->code << 4 | hex_val[ch];
        c->hex_left--;
        p++;
    }
hex_done:
    /* Lone surrogates are rejected (docs/json-validator.md): they have no UTF-8 form. */
    if (c->want_low) {
        c->want_low = 0;
        if (c->code < 0xDC00 || c->code > 0xDFFF)
            FAIL_AT(OFF - 1, "lone surrogate \\u%04X: \\u%04X is not a low surrogate (DC00-DFFF)",
                    (unsigned)c->hi_code, (unsigned)c->code);
        goto str;
    }
    if (c->code >= 0xD800 && c->code <= 0xDBFF) {
        c->hi_code = c->code;
        goto surr_bs;
    }
    if (c->code >= 0xDC00 && c->code <= 0xDFFF)
        FAIL_AT(OFF - 1, "lone surrogate \\u%04X (low half without a high half)",
                (unsigned)c->code);
    goto str;

surr_bs:
    if (p == end)
        NEED(ST_SURR_BS);
    if (*p != '\\')
        FAIL("lone surrogate \\u%04X: not followed by a \\uDC00-\\uDFFF escape",
             (unsigned)c->hi_code);
    p++;
surr_u:
    if (p == end)
        NEED(ST_SURR_U);
    if (*p != 'u')
        FAIL("lone surrogate \\u%04X: not followed by a \\uDC00-\\uDFFF escape",
             (unsigned)c->hi_code);
    p++;
    c->want_low = 1;
    goto hex_begin;

    /* ---- numbers ---- */
num_minus:
    if (p == end)
        NEED(ST_NUM_MINUS);
    ch = *p;
    if (ch == '0') {
        p++;
        goto num_zero;
    }
    if (is_digit(ch)) {
        p++;
        goto num_int;
    }
    {
        char b[16];
        FAIL("expected a digit after '-', found %s", show_byte(ch, b));
    }

num_zero:
    if (p == end)
        NEED(ST_NUM_ZERO);
    ch = *p;
    if (is_digit(ch))
        FAIL("leading zeros are not allowed in numbers");
    goto num_int_tail;

num_int:
    p = skip_digits(p, end);
    if (p == end)
        NEED(ST_NUM_INT);
    ch = *p;
num_int_tail:
    if (ch == '.') {
        p++;
        goto num_dot;
    }
    if ((ch | 0x20) == 'e') {
        p++;
        goto num_e;
    }
    goto num_end;

num_dot:
    if (p == end)
        NEED(ST_NUM_DOT);
    ch = *p;
    if (!is_digit(ch)) {
        char b[16];
        FAIL("expected a digit after the decimal point, found %s", show_byte(ch, b));
    }
    p++;
num_frac:
    p = skip_digits(p, end);
    if (p == end)
        NEED(ST_NUM_FRAC);
    ch = *p;
    if ((ch | 0x20) == 'e') {
        p++;
        goto num_e;
    }
    goto num_end;

num_e:
    if (p == end)
        NEED(ST_NUM_E);
    ch = *p;
    if (ch == '+' || ch == '-') {
        p++;
        goto num_esign;
    }
    goto num_exp_first;
num_esign:
    if (p == end)
        NEED(ST_NUM_ESIGN);
    ch = *p;
num_exp_first:
    if (!is_digit(ch)) {
        char b[16];
        FAIL("expected a digit in the exponent, found %s", show_byte(ch, b));
    }
    p++;
num_exp:
    p = skip_digits(p, end);
    if (p == end)
        NEED(ST_NUM_EXP);
    ch = *p;
num_end:
    /* ch == *p ends the number; letters, dots and signs cannot follow it ("1.5.3", "0x1F"). */
    if (UNLIKELY(word_tail[ch])) {
        char b[16];
        FAIL("invalid character %s in number", show_byte(ch, b));
    }
    goto value_done;

    /* ---- literals ---- */
lit_start:
    c->lit_i = 0;
lit_slow:
    while (c->lit_i < lit_len[c->lit]) {
        if (p == end)
            NEED(ST_LIT);
        if (*p != (uint8_t)lit_word[c->lit][c->lit_i])
            FAIL("invalid literal (expected '%s')", lit_word[c->lit]);
        p++;
        c->lit_i++;
    }
lit_end:
    if (p == end)
        NEED(ST_LIT_END);
    if (UNLIKELY(word_tail[*p]))
        FAIL("invalid literal (expected '%s')", lit_word[c->lit]);
    goto value_done;

failed:
    c->state = ST_ERROR;
    c->result = AJIO_EJSON;
    c->count = count;
    return AJIO_EJSON;

out:
    c->state = (uint8_t)state;
    c->depth = depth;
    c->top = (uint8_t)top;
    c->in_key = (uint8_t)in_key;
    c->line = line;
    c->line_start = line_start;
    c->count = count;
    c->base = base + len;
    return 0;

#undef OFF
#undef NEED
#undef FAIL_AT
#undef FAIL
#undef SKIP_WS
#undef PUSH
}

/* ---- public API ----------------------------------------------------------------------------- */

static void init(ajio_json_checker *c, unsigned flags, uint32_t max_depth, uint8_t *stack)
{
    memset(c, 0, sizeof(*c));
    c->flags = flags;
    c->max_depth = max_depth;
    c->stack = stack;
    c->top = K_TOP;
    c->line = 1;
    c->state = (flags & AJIO_JSON_LINES) ? ST_LINE : ST_VALUE;
}

#define ALL_FLAGS (AJIO_JSON_LINES | AJIO_JSON_ALLOW_UNTERMINATED)

/* AJIO_JSONL asks for lines here too, as AJIO_JSON_LINES does (their bits differ). */
static unsigned json_flags(unsigned fl)
{
    return (fl & AJIO_JSONL) ? (fl & ~(unsigned)AJIO_JSONL) | AJIO_JSON_LINES : fl;
}

/*
 * The public calls set ajio_last_error() on failure like every call of the library: invalid
 * input as "JSON input:LINE:COL: reason" (a write of a handle rewords it with its path).
 */
static COLD int input_failed(unsigned flags, const ajio_json_error *e, int r)
{
    if (r != AJIO_EJSON && r != AJIO_ETORN)
        return r;
    return ajio__error(r, "%s input:%" PRIu64 ":%" PRIu64 ": %s",
                       (flags & AJIO_JSON_LINES) ? "JSONL" : "JSON", e->line, e->column, e->reason);
}

int ajio_json_checker_new(ajio_json_checker **ret, unsigned flags, unsigned max_depth)
{
    ajio_json_checker *c;
    uint8_t *stack;

    if (!ret)
        return ajio__error(-EINVAL, "ajio_json_checker_new: ret is NULL");
    flags = json_flags(flags);
    if (flags & ~(unsigned)ALL_FLAGS)
        return ajio__error(-EINVAL, "ajio_json_checker_new: unknown flags 0x%x",
                           flags & ~(unsigned)ALL_FLAGS);
    if (max_depth == 0)
        max_depth = AJIO_JSON_DEFAULT_MAX_DEPTH;
    if (max_depth > UINT32_MAX)
        return ajio__error(-EINVAL, "ajio_json_checker_new: max_depth %u is too large", max_depth);
    c = malloc(sizeof(*c));
    stack = malloc(max_depth);
    if (!c || !stack) {
        free(c);
        free(stack);
        return ajio__error_strerror(-ENOMEM, "ajio_json_checker_new: allocation of %u bytes",
                                    max_depth);
    }
    init(c, flags, (uint32_t)max_depth, stack);
    c->own_stack = 1;
    *ret = c;
    return 0;
}

int ajio_json_checker_feed(ajio_json_checker *c, const void *buf, size_t len)
{
    int r;

    if (!c || (!buf && len))
        return ajio__error(-EINVAL, "ajio_json_checker_feed: %s is NULL", !c ? "checker" : "buf");
    if (c->result)
        return input_failed(c->flags, &c->err, c->result);
    if (c->finished)
        return ajio__error(-EINVAL, "ajio_json_checker_feed: input already finished");
    if (len == 0)
        return 0;
    r = run(c, buf, len);
    return r < 0 ? input_failed(c->flags, &c->err, r) : r;
}

/* The value in progress at the end of input is complete (a number or literal needs no
 * terminator at the very end). */
static int value_complete(const ajio_json_checker *c)
{
    if (c->depth != 0)
        return 0;
    switch (c->state) {
    case ST_AFTER:
    case ST_NUM_ZERO:
    case ST_NUM_INT:
    case ST_NUM_FRAC:
    case ST_NUM_EXP:
    case ST_LIT_END:
        return 1;
    default:
        return 0;
    }
}

static int finish_fail(ajio_json_checker *c, int err, const char *reason)
{
    set_error(c, c->base, c->line, c->line_start, "%s", reason);
    c->state = ST_ERROR;
    c->result = err;
    return err;
}

static int finish(ajio_json_checker *c);

int ajio_json_checker_finish(ajio_json_checker *c)
{
    int r;

    if (!c)
        return ajio__error(-EINVAL, "ajio_json_checker_finish: checker is NULL");
    r = finish(c);
    return r < 0 ? input_failed(c->flags, &c->err, r) : r;
}

static int finish(ajio_json_checker *c)
{
    char why[64];
    int lines;

    if (c->result || c->finished)
        return c->result;
    c->finished = 1;
    lines = (c->flags & AJIO_JSON_LINES) != 0;

    if (lines) {
        /* Nothing after the last '\n' (or no input at all): every line was checked. */
        if (c->state == ST_LINE && c->base == c->line_start)
            return 0;
        /* The last line has bytes but no '\n', and they are a valid start of a line: the
         * signature of an append cut short. */
        if (!(c->flags & AJIO_JSON_ALLOW_UNTERMINATED))
            return finish_fail(c, AJIO_ETORN,
                               "last line has no terminating newline (torn append?)");
        if (c->state == ST_LINE)
            return finish_fail(c, AJIO_EJSON, "blank line at end of input (no value, no newline)");
    }
    if (value_complete(c)) {
        /* A complete value is counted when its end is seen; a number or literal at the very
         * end of input and a JSONL last line are only complete now. */
        if (c->state != ST_AFTER || lines)
            c->count++;
        c->state = ST_AFTER;
        return 0;
    }

    switch (c->state) {
    case ST_VALUE:
        if (c->depth == 0)
            return finish_fail(c, AJIO_EJSON,
                               c->base == 0 ? "empty input"
                                            : "no JSON value (the input is only whitespace)");
        break;
    case ST_STR:
    case ST_ESC:
    case ST_HEX:
    case ST_SURR_BS:
    case ST_SURR_U:
    case ST_UTF8:
        return finish_fail(c, AJIO_EJSON,
                           c->in_key ? "unexpected end of input inside object key"
                                     : "unexpected end of input inside string");
    case ST_NUM_MINUS:
    case ST_NUM_DOT:
    case ST_NUM_E:
    case ST_NUM_ESIGN:
        return finish_fail(c, AJIO_EJSON, "unexpected end of input inside number");
    case ST_LIT:
        snprintf(why, sizeof(why), "unexpected end of input inside literal '%s'", lit_word[c->lit]);
        return finish_fail(c, AJIO_EJSON, why);
    default:
        break;
    }
    assert(c->depth > 0);
    return finish_fail(c, AJIO_EJSON,
                       c->top == K_OBJ ? "unexpected end of input inside object"
                                       : "unexpected end of input inside array");
}

int ajio_json_checker_error(const ajio_json_checker *c, ajio_json_error *ret_err)
{
    if (!c || !ret_err)
        return ajio__error(-EINVAL, "ajio_json_checker_error: %s is NULL",
                           !c ? "checker" : "ret_err");
    *ret_err = c->err;
    return 0;
}

uint64_t ajio_json_checker_count(const ajio_json_checker *c)
{
    return c ? c->count : 0;
}

void ajio_json_checker_free(ajio_json_checker *c)
{
    if (!c)
        return;
    if (c->own_stack)
        free(c->stack);
    free(c);
}

int ajio__json_validate_iov(const struct iovec *iov, int iovcnt, unsigned flags,
                            ajio_json_error *ret_err)
{
    uint8_t stack[AJIO_JSON_DEFAULT_MAX_DEPTH];
    ajio_json_checker c;
    int r = 0;

    init(&c, flags, AJIO_JSON_DEFAULT_MAX_DEPTH, stack);
    for (int i = 0; i < iovcnt && r == 0; i++)
        if (iov[i].iov_len > 0)
            r = run(&c, iov[i].iov_base, iov[i].iov_len);
    if (r == 0)
        r = finish(&c);
    *ret_err = c.err;
    return r;
}

int ajio_json_validate(const void *buf, size_t len, unsigned flags, ajio_json_error *ret_err)
{
    struct iovec iov = {(void *)buf, len};
    ajio_json_error e;
    int r;

    if (!buf && len)
        return ajio__error(-EINVAL, "ajio_json_validate: buf is NULL with length %zu", len);
    flags = json_flags(flags);
    if (flags & ~(unsigned)ALL_FLAGS)
        return ajio__error(-EINVAL, "ajio_json_validate: unknown flags 0x%x",
                           flags & ~(unsigned)ALL_FLAGS);
    r = ajio__json_validate_iov(&iov, 1, flags, &e);
    if (ret_err)
        *ret_err = e;
    return r < 0 ? input_failed(flags, &e, r) : r;
}

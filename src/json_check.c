/*
 * json_check.c - strict, streaming RFC 8259 JSON and JSONL validator.
 *
 * The validator is one state machine. ajio_json_checker_feed() loads the state into locals, runs a
 * goto-based loop over the chunk and writes the state back when the chunk ends, so a value may
 * be split at any byte. The hot paths avoid per-byte branches where they can: string bodies are
 * scanned a word or a vector at a time, digits and indentation 8 at a time, and complete UTF-8
 * sequences, \uXXXX escapes and literals are checked in one go when the chunk holds them whole.
 * Only when a token straddles the chunk end does the byte-by-byte path with saved sub-state run.
 *
 * The machine (json_check_run.h) is compiled once per kernel of cpu.c, each copy with its own
 * scanners: portable SWAR for the scalar kernel, which uses no vector instructions so that the
 * path of machines without them is tested everywhere; 16, 32 and 64 bytes at a time for SSE4.2,
 * AVX2 and AVX-512, where string bodies with non-ASCII text are also validated as UTF-8 a vector
 * at a time. A checker picks its copy once, when it is made.
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
    uint8_t kernel;   /* AJIO__KERNEL_*: which copy of the machine runs */
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

/* ---- portable scanners (the scalar kernel; no vector instructions) -------------------------- */

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

/* Skips spaces (the indentation after a newline), 8 at a time. Every kernel uses this one:
 * indentation is short, and 16 to 64-byte loads measured slower on the benchmark documents. */
static inline const uint8_t *skip_spaces(const uint8_t *p, const uint8_t *end)
{
#if SWAR_LE
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
#if SWAR_LE
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

/* ---- x86 kernels ---------------------------------------------------------------------------- */

#if defined(__x86_64__) && defined(__GNUC__)
#define X86_KERNELS 1
#include "simd_utf8.h"
#else
#define X86_KERNELS 0
#endif

#if X86_KERNELS

/*
 * A vector scan that gave up at p (an invalid or cut UTF-8 sequence somewhere in its block)
 * hands over at a sequence boundary: the block before p was valid, but may end inside a
 * sequence, whose lead byte is one of the last three. Never before from, where the scan began
 * (also a boundary).
 */
static inline const uint8_t *utf8_boundary(const uint8_t *from, const uint8_t *p)
{
    if (p - from >= 1 && p[-1] >= 0xC0)
        return p - 1;
    if (p - from >= 2 && p[-2] >= 0xE0)
        return p - 2;
    if (p - from >= 3 && p[-3] >= 0xF0)
        return p - 3;
    return p;
}

#define T_SSE42 __attribute__((target("sse4.2,ssse3,popcnt,pclmul")))
#define T_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt,pclmul")))
#define T_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,bmi,bmi2,popcnt,pclmul")))

/* Nonzero if cur, read after prev (the block before it, or zeros), holds a UTF-8 error. */
static inline T_SSE42 int utf8_error_128(__m128i prev, __m128i cur)
{
    __m128i e = ajio__utf8_errors_128(prev, cur);
    return !_mm_testz_si128(e, e);
}

static inline T_AVX2 int utf8_error_256(__m256i prev, __m256i cur)
{
    __m256i e = ajio__utf8_errors_256(prev, cur);
    return !_mm256_testz_si256(e, e);
}

static inline T_AVX512 int utf8_error_512(__m512i prev, __m512i cur)
{
    return ajio__utf8_errors_512(prev, cur) != 0;
}

/*
 * String body scanners: plain ASCII and valid UTF-8 skipped a block at a time. A block is cut at
 * its first '"', '\\' or control byte and read as if ASCII followed, so that a sequence the end
 * of the string cuts is an error of this block; one that runs on into the next block is checked
 * with that block. On any error, or near the end of the input, the portable scanner goes on from
 * a sequence boundary, and the machine finds the exact byte and words the error itself.
 */
static inline T_SSE42 const uint8_t *skip_str_sse42(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *const from = p;
    const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), c1f = _mm_set1_epi8(0x1F);
    const __m128i iota = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m128i prev = _mm_setzero_si128();
    unsigned tail = 0; /* a byte >= 0x80 among the last three of prev */

    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const void *)p);
        unsigned stop = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
                         _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v)));
        unsigned k = stop ? (unsigned)__builtin_ctz(stop) : 16;
        unsigned hi = (unsigned)_mm_movemask_epi8(v) & ((1u << k) - 1);

        if (hi | tail) {
            __m128i w = _mm_and_si128(v, _mm_cmpgt_epi8(_mm_set1_epi8((char)k), iota));
            if (utf8_error_128(prev, w))
                return skip_plain(utf8_boundary(from, p), end);
            prev = w;
            tail = hi >> 13;
        }
        if (stop)
            return p + k;
        p += 16;
    }
    return skip_plain(utf8_boundary(from, p), end);
}

/*
 * Most strings (keys above all) are short: one 16-byte look finds their end, and the wider loop
 * starts only for longer ones or for non-ASCII text. Returns p past the plain ASCII it saw, with
 * *done set if a stop byte ends it there.
 */
static inline T_SSE42 const uint8_t *str_front16(const uint8_t *p, const uint8_t *end, int *done)
{
    __m128i v;
    unsigned stop, hi;

    *done = 0;
    if (end - p < 16)
        return p;
    v = _mm_loadu_si128((const void *)p);
    stop = (unsigned)_mm_movemask_epi8(_mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
        _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v)));
    hi = (unsigned)_mm_movemask_epi8(v);
    if (hi & ((stop & -stop) - 1))
        return p;
    *done = stop != 0;
    return p + (stop ? __builtin_ctz(stop) : 16);
}

static inline T_AVX2 const uint8_t *skip_str_avx2(const uint8_t *p, const uint8_t *end)
{
    int done;
    const uint8_t *const from = p = str_front16(p, end, &done);

    if (done)
        return p;
    const __m256i q = _mm256_set1_epi8('"'), bs = _mm256_set1_epi8('\\'),
                  c1f = _mm256_set1_epi8(0x1F);
    const __m256i iota =
        _mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                         21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
    __m256i prev = _mm256_setzero_si256();
    uint32_t tail = 0;

    while (end - p >= 32) {
        __m256i v = _mm256_loadu_si256((const void *)p);
        uint32_t stop = (uint32_t)_mm256_movemask_epi8(
            _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, q), _mm256_cmpeq_epi8(v, bs)),
                            _mm256_cmpeq_epi8(_mm256_min_epu8(v, c1f), v)));
        unsigned k = stop ? (unsigned)__builtin_ctz(stop) : 32;
        uint32_t hi = (uint32_t)_mm256_movemask_epi8(v) & (uint32_t)((1ull << k) - 1);

        if (hi | tail) {
            __m256i w = _mm256_and_si256(v, _mm256_cmpgt_epi8(_mm256_set1_epi8((char)k), iota));
            if (utf8_error_256(prev, w))
                return skip_plain(utf8_boundary(from, p), end);
            prev = w;
            tail = hi >> 29;
        }
        if (stop)
            return p + k;
        p += 32;
    }
    return skip_plain(utf8_boundary(from, p), end);
}

/* Masked loads read the last block of the input too (masked-off bytes never fault). */
static inline T_AVX512 const uint8_t *skip_str_avx512(const uint8_t *p, const uint8_t *end)
{
    int done;
    const uint8_t *const from = p = str_front16(p, end, &done);

    if (done)
        return p;
    const __m512i q = _mm512_set1_epi8('"'), bs = _mm512_set1_epi8('\\'),
                  sp = _mm512_set1_epi8(0x20);
    __m512i prev = _mm512_setzero_si512();
    uint64_t tail = 0;

    while (p < end) {
        size_t left = (size_t)(end - p);
        __mmask64 in = left >= 64 ? ~0ull : (1ull << left) - 1;
        __m512i v = _mm512_maskz_loadu_epi8(in, p);
        uint64_t stop = _mm512_cmpeq_epi8_mask(v, q) | _mm512_cmpeq_epi8_mask(v, bs) |
                        _mm512_cmplt_epu8_mask(v, sp) | ~in;
        uint64_t before = stop ? (stop & -stop) - 1 : ~0ull;
        uint64_t hi = _mm512_movepi8_mask(v) & before;

        if (hi | tail) {
            __m512i w = _mm512_maskz_mov_epi8(before, v);
            if (utf8_error_512(prev, w))
                return skip_plain(utf8_boundary(from, p), end);
            prev = w;
            tail = hi >> 61;
        }
        if (stop)
            return p + __builtin_ctzll(stop);
        p += 64;
    }
    return utf8_boundary(from, p); /* the input ended with the block: maybe inside a sequence */
}

#endif /* x86 kernels */

/* ---- the machine, once per kernel (json_check_run.h) ---------------------------------------- */

/* How far ahead the machine asks for input (AHEAD() in json_check_run.h): 1-4 KiB measured alike
 * on the ~50 MB benchmark inputs, 512 bytes worse. */
#define AHEAD_BYTES 2048

#define RUN_NAME run_scalar
#define KATTR
#define SKIP_STR skip_plain
#include "json_check_run.h"

#if X86_KERNELS
#define RUN_NAME run_sse42
#define KATTR T_SSE42
#define SKIP_STR skip_str_sse42
#include "json_check_run.h"

#define RUN_NAME run_avx2
#define KATTR T_AVX2
#define SKIP_STR skip_str_avx2
#include "json_check_run.h"

#define RUN_NAME run_avx512
#define KATTR T_AVX512
#define SKIP_STR skip_str_avx512
#include "json_check_run.h"
#endif

static int run(ajio_json_checker *c, const uint8_t *start, size_t len)
{
    switch (c->kernel) {
#if X86_KERNELS
    case AJIO__KERNEL_AVX512:
        return run_avx512(c, start, len);
    case AJIO__KERNEL_AVX2:
        return run_avx2(c, start, len);
    case AJIO__KERNEL_SSE42:
        return run_sse42(c, start, len);
#endif
    default:
        return run_scalar(c, start, len);
    }
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
    c->kernel = (uint8_t)ajio__kernel();
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

int ajio__json_checker_kernel(ajio_json_checker *c, int kernel)
{
    if (kernel < AJIO__KERNEL_SCALAR || kernel > ajio__kernel_best())
        return -ENOTSUP;
    c->kernel = (uint8_t)kernel;
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

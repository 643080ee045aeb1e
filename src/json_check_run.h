/*
 * json_check_run.h - the validator's state machine, compiled once per kernel by json_check.c.
 *
 * Not a header to include elsewhere: json_check.c includes it once for each kernel with these
 * defined (and undefined again at the end), so that each copy is built for its own instruction set
 * (a target attribute) and the scanners inline into it; a per-byte call through a pointer would
 * cost more than it saves.
 *
 *   RUN_NAME     the function to define
 *   KATTR        its target attribute (empty for the portable kernel)
 *   SKIP_STR     string body scanner: stops at '"', '\\', a control byte, a byte >= 0x80 it has
 *                not proven part of valid UTF-8, or end; never inside a UTF-8 sequence
 *
 * Every kernel must give the same verdict, position and reason: the scanners only skip bytes
 * that need no attention, and each error is found and worded by the code below.
 */
static KATTR int RUN_NAME(ajio_json_checker *c, const uint8_t *const start, size_t len)
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
        AHEAD();                                                                                   \
        p = skip_spaces(p, end);                                                                   \
    }
/* Asks for the input a little ahead of the scan, at newlines and commas (a few times per cache
 * line): on ~50 MB inputs the machine ran at 45-70% of its in-cache speed without it, at about its
 * in-cache speed with it (the hardware prefetcher alone did not keep up); in cache it costs
 * nothing measurable. A prefetch never faults, past the end of the input neither. */
#define AHEAD() __builtin_prefetch(p + AHEAD_BYTES)
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
        AHEAD();
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
        AHEAD();
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
        p = SKIP_STR(p, end);
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
#undef AHEAD
}

#undef RUN_NAME
#undef KATTR
#undef SKIP_STR

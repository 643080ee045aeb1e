/*
 * test_json_write.c - ajio_write_json_text() and ajio_write_jsonl_text(), and the content kinds
 * AJIO_JSON / AJIO_JSONL of every write (one-shot and streaming handle): the bytes written, the
 * trailing newline, and refusals of invalid input, which must leave the target, the directory
 * and missing parent directories exactly as they were.
 */
#include "adapter_util.h"

#include <glob.h>

static const char old_text[] = "{\"old\": true}\n";

/* A target with known content, so that "untouched" can be checked byte for byte. */
static const char *old_target(const char *dir, const char *name)
{
    const char *p = tu_path(dir, name);
    tu_put(p, old_text, 0644);
    return p;
}

static void assert_untouched(const char *dir, const char *p)
{
    au_assert_untouched(dir, p, old_text, -1);
}

static void test_json_newline_added(void **state)
{
    const char *p = tu_path(*state, "a.json");

    tu_assert_ok(ajio_write_json_text(p, "{\"a\": [1, 2]}", 13, NULL));
    tu_assert_content(p, "{\"a\": [1, 2]}\n", 14);
    /* A scalar is a JSON text too (RFC 8259). */
    tu_assert_ok(ajio_write_json_text(p, "-0.5e3", 6, NULL));
    tu_assert_content(p, "-0.5e3\n", 7);
}

static void test_json_newline_kept(void **state)
{
    const char *p = tu_path(*state, "a.json");

    tu_assert_ok(ajio_write_json_text(p, "[true]\n", 7, NULL));
    tu_assert_content(p, "[true]\n", 7);
    /* Trailing whitespace that ends in '\n' is valid JSON and is kept as given. */
    tu_assert_ok(ajio_write_json_text(p, "[]  \n", 5, NULL));
    tu_assert_content(p, "[]  \n", 5);
    /* Whitespace after the value that does not end in '\n' still gets one. */
    tu_assert_ok(ajio_write_json_text(p, "[] \r", 4, NULL));
    tu_assert_content(p, "[] \r\n", 5);
}

static void test_json_len_not_strlen(void **state)
{
    const char *p = tu_path(*state, "a.json");

    /* Only len bytes count: the rest of the buffer is never read or written. */
    tu_assert_ok(ajio_write_json_text(p, "[1]garbage", 3, NULL));
    tu_assert_content(p, "[1]\n", 4);
}

static void test_json_invalid_refused(void **state)
{
    const char *dir = *state;
    const char *p = old_target(dir, "t.json");

    tu_assert_fails(ajio_write_json_text(p, "{\"a\": 1,}", 9, NULL), AJIO_EJSON, p);
    assert_untouched(dir, p);
    /* "path:line:col: reason", with the line and column of the offending byte. */
    tu_assert_fails(ajio_write_json_text(p, "{\n  \"a\": tru\n}", 14, NULL), AJIO_EJSON, p);
    au_assert_message_at_line(p, 2);
    assert_untouched(dir, p);
    /* Two values, NaN, an embedded NUL: all invalid JSON. */
    tu_assert_fails(ajio_write_json_text(p, "1 2", 3, NULL), AJIO_EJSON, p);
    tu_assert_fails(ajio_write_json_text(p, "NaN", 3, NULL), AJIO_EJSON, p);
    tu_assert_fails(ajio_write_json_text(p, "\"a\0b\"", 5, NULL), AJIO_EJSON, p);
    assert_untouched(dir, p);
    assert_int_equal(tu_count_entries(dir), 1);
}

static void test_json_empty_is_invalid(void **state)
{
    const char *dir = *state;
    const char *p = old_target(dir, "t.json");

    tu_assert_fails(ajio_write_json_text(p, "", 0, NULL), AJIO_EJSON, p);
    au_assert_message_has("empty input");
    tu_assert_fails(ajio_write_json_text(p, NULL, 0, NULL), AJIO_EJSON, p);
    tu_assert_fails(ajio_write_json_text(p, " \n", 2, NULL), AJIO_EJSON, p);
    assert_untouched(dir, p);
}

static void test_invalid_creates_nothing(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "sub/deeper/t.json");

    /* Validation comes first: not even the missing parent directories appear. */
    tu_assert_fails(ajio_write_json_text(p, "[", 1, NULL), AJIO_EJSON, p);
    tu_assert_fails(ajio_write_jsonl_text(p, "1\n{\n", 4, NULL), AJIO_EJSON, p);
    assert_int_equal(tu_count_entries(dir), 0);
    /* Negative control: valid input does create them, so the check above can fail. */
    tu_assert_ok(ajio_write_json_text(p, "[]", 2, NULL));
    tu_assert_content(p, "[]\n", 3);
}

static void test_bad_arguments(void **state)
{
    const char *dir = *state;
    const char *p = old_target(dir, "t.json");

    tu_assert_fails(ajio_write_json_text(p, NULL, 3, NULL), -EINVAL, p);
    tu_assert_fails(ajio_write_jsonl_text(p, NULL, 3, NULL), -EINVAL, p);
    assert_int_equal(ajio_write_json_text(NULL, "1", 1, NULL), -EINVAL);
    assert_int_equal(ajio_write_json_text("", "1", 1, NULL), -EINVAL);
    assert_int_equal(ajio_write_jsonl_text(NULL, "1", 1, NULL), -EINVAL);
    /* Options are checked as for every write. */
    ajio_opts bad = {.flags = 1u << 30};
    tu_assert_fails(ajio_write_json_text(p, "1", 1, &bad), -EINVAL, p);
    assert_untouched(dir, p);
}

static void test_jsonl_lines(void **state)
{
    const char *p = tu_path(*state, "e.jsonl");
    const char in[] = "{\"a\":1}\n[2]\n\"three\"\n";

    tu_assert_ok(ajio_write_jsonl_text(p, in, strlen(in), NULL));
    tu_assert_content(p, in, strlen(in));
    /* Writing is not appending: an unterminated last line is complete and gets its '\n'. */
    tu_assert_ok(ajio_write_jsonl_text(p, "1\n2", 3, NULL));
    tu_assert_content(p, "1\n2\n", 4);
    tu_assert_ok(ajio_write_jsonl_text(p, "{}", 2, NULL));
    tu_assert_content(p, "{}\n", 3);
    /* CRLF lines are accepted and kept as given. */
    tu_assert_ok(ajio_write_jsonl_text(p, "1\r\n2\r\n", 6, NULL));
    tu_assert_content(p, "1\r\n2\r\n", 6);
}

static void test_jsonl_empty_gives_empty_file(void **state)
{
    const char *dir = *state;
    const char *p = old_target(dir, "e.jsonl");

    tu_assert_ok(ajio_write_jsonl_text(p, "", 0, NULL));
    assert_int_equal(au_file_size(p), 0);
    tu_assert_ok(ajio_write_jsonl_text(tu_path(dir, "n.jsonl"), NULL, 0, NULL));
    assert_int_equal(au_file_size(tu_path(dir, "n.jsonl")), 0);
}

static void test_jsonl_invalid_refused(void **state)
{
    const char *dir = *state;
    const char *p = old_target(dir, "e.jsonl");

    tu_assert_fails(ajio_write_jsonl_text(p, "1\n{\"a\" 2}\n3\n", 12, NULL), AJIO_EJSON, p);
    au_assert_message_at_line(p, 2);
    /* A blank line, a value spread over two lines, two values on a line. */
    tu_assert_fails(ajio_write_jsonl_text(p, "1\n\n2\n", 5, NULL), AJIO_EJSON, p);
    tu_assert_fails(ajio_write_jsonl_text(p, "[1,\n2]\n", 7, NULL), AJIO_EJSON, p);
    tu_assert_fails(ajio_write_jsonl_text(p, "1 2\n", 4, NULL), AJIO_EJSON, p);
    tu_assert_fails(ajio_write_jsonl_text(p, "\n", 1, NULL), AJIO_EJSON, p);
    assert_untouched(dir, p);
}

static void test_skip_unchanged(void **state)
{
    const char *p = tu_path(*state, "u.json");
    ajio_opts skip = {.flags = AJIO_SKIP_UNCHANGED};

    tu_assert_ok(ajio_write_json_text(p, "[1]", 3, NULL));
    /* Same bytes either way the newline comes: nothing to do. */
    assert_int_equal(ajio_write_json_text(p, "[1]", 3, &skip), AJIO_UNCHANGED);
    assert_int_equal(ajio_write_json_text(p, "[1]\n", 4, &skip), AJIO_UNCHANGED);
    assert_int_equal(ajio_write_jsonl_text(p, "[1]", 3, &skip), AJIO_UNCHANGED);
    tu_assert_ok(ajio_write_json_text(p, "[2]", 3, &skip));
    tu_assert_content(p, "[2]\n", 4);
}

/* Every file of a case directory, through fn; each must give expected. */
static void run_cases(const char *dir, const char *pattern, int jsonl, int expected,
                      const char *scratch)
{
    char pat[512];
    glob_t g;
    size_t n = 0;
    const char *p = tu_path(scratch, "case.out");

    snprintf(pat, sizeof(pat), "tests/cases/%s/%s", dir, pattern);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        size_t len;
        char *text = tu_read(g.gl_pathv[i], &len);
        int r;

        assert_non_null(text);
        tu_put(p, old_text, 0644);
        r = jsonl ? ajio_write_jsonl_text(p, text, len, NULL)
                  : ajio_write_json_text(p, text, len, NULL);
        if (r != expected)
            fail_msg("%s: returned %s, expected %s: %s", g.gl_pathv[i], ajio_err_name(r),
                     ajio_err_name(expected), ajio_last_error());
        if (r == 0) {
            size_t olen;
            char *out = tu_read(p, &olen);
            /* The input, plus '\n' when it did not end with one. */
            int add = len > 0 && text[len - 1] != '\n';
            assert_int_equal(olen, len + (size_t)add);
            assert_memory_equal(out, text, len);
            if (add)
                assert_int_equal(out[len], '\n');
            free(out);
        } else {
            tu_assert_content(p, old_text, strlen(old_text));
        }
        free(text);
        n++;
    }
    globfree(&g);
    assert_true(n > 0);
}

static void test_case_files(void **state)
{
    run_cases("json/valid", "*.json", 0, 0, *state);
    run_cases("json/invalid", "*.json", 0, AJIO_EJSON, *state);
    run_cases("jsonl/valid", "*.jsonl", 1, 0, *state);
    run_cases("jsonl/invalid", "*.jsonl", 1, AJIO_EJSON, *state);
    /* Torn files are complete when written whole: each is valid JSONL to write. */
    run_cases("jsonl/torn", "complete_tail.jsonl", 1, 0, *state);
    run_cases("jsonl/torn", "single_unterminated.jsonl", 1, 0, *state);
    /* ... unless the cut fell inside a value. */
    run_cases("jsonl/torn", "partial_tail.jsonl", 1, AJIO_EJSON, *state);
    assert_int_equal(tu_count_temps(*state), 0);
}


/* ---- the content kinds of the streaming handle ------------------------------------------- */

static const ajio_opts json_kind = {.flags = AJIO_JSON};
static const ajio_opts jsonl_kind = {.flags = AJIO_JSONL};

/* Writes the pieces through a handle of the given kind; returns the commit's result. */
static int stream(const char *p, const ajio_opts *o, const char *const *pieces)
{
    ajio_file *h;
    int r = ajio_file_open(&h, p, o);

    if (r < 0)
        return r;
    for (; *pieces != NULL; pieces++)
        if (ajio_file_write(h, *pieces, strlen(*pieces)) < 0)
            break; /* the handle stays failed: the commit must say so */
    return ajio_file_commit(h);
}

static void test_stream_json_valid(void **state)
{
    const char *p = tu_path(*state, "s.json");
    static const char *const pieces[] = {"{\"a\": [1, ", "2", ".5e", "3]}", NULL};
    ajio_file *h;

    tu_assert_ok(stream(p, &json_kind, pieces));
    tu_assert_content(p, "{\"a\": [1, 2.5e3]}\n", 18);
    /* printf feeds the validator too, and a final '\n' is not doubled. */
    assert_int_equal(ajio_file_open(&h, p, &json_kind), 0);
    assert_int_equal(ajio_file_printf(h, "[%d, \"%s\"]\n", 7, "x"), 0);
    tu_assert_ok(ajio_file_commit(h));
    tu_assert_content(p, "[7, \"x\"]\n", 9);
}

static void test_stream_json_invalid(void **state)
{
    const char *dir = *state;
    const char *p = old_target(dir, "s.json");
    static const char *const early[] = {"{\"a\": 1,\n", "  \"b\": tru", "x}", NULL};
    static const char *const late[] = {"[1, 2", NULL};
    static const char *const empty[] = {NULL};
    ajio_file *h;
    char want[4200];

    /* The bad byte fails the write that carries it, and the commit. */
    assert_int_equal(ajio_file_open(&h, p, &json_kind), 0);
    assert_int_equal(ajio_file_write(h, early[0], strlen(early[0])), 0);
    assert_int_equal(ajio_file_write(h, early[1], strlen(early[1])), 0);
    tu_assert_fails(ajio_file_write(h, early[2], strlen(early[2])), AJIO_EJSON, p);
    snprintf(want, sizeof(want), "%s:2:11: invalid literal", p);
    assert_non_null(strstr(ajio_last_error(), want));
    tu_assert_fails(ajio_file_commit(h), AJIO_EJSON, p);
    assert_untouched(dir, p);
    /* An incomplete document fails at the commit, where the bytes end; so does an empty one. */
    tu_assert_fails(stream(p, &json_kind, late), AJIO_EJSON, p);
    snprintf(want, sizeof(want), "%s:1:6: unexpected end of input", p);
    assert_non_null(strstr(ajio_last_error(), want));
    assert_untouched(dir, p);
    tu_assert_fails(stream(p, &json_kind, empty), AJIO_EJSON, p);
    assert_untouched(dir, p);
    /* Control: without the kind, the same bytes are written as they are. */
    tu_assert_ok(stream(p, NULL, late));
    tu_assert_content(p, "[1, 2", 5);
}

static void test_stream_jsonl(void **state)
{
    const char *dir = *state;
    const char *p = tu_path(dir, "s.jsonl");
    static const char *const lines[] = {"{\"i\":1}\n{\"i\"", ":2}\n[3]", NULL};
    static const char *const torn[] = {"{\"i\":1}\n{\"i\":", NULL};
    static const char *const blank[] = {"1\n\n2\n", NULL};
    static const char *const none[] = {NULL};

    /* A complete last line without its '\n' gets one. */
    tu_assert_ok(stream(p, &jsonl_kind, lines));
    tu_assert_content(p, "{\"i\":1}\n{\"i\":2}\n[3]\n", 20);
    tu_assert_fails(stream(p, &jsonl_kind, torn), AJIO_EJSON, p);
    assert_non_null(strstr(ajio_last_error(), ":2:6: unexpected end of input"));
    tu_assert_fails(stream(p, &jsonl_kind, blank), AJIO_EJSON, p);
    tu_assert_content(p, "{\"i\":1}\n{\"i\":2}\n[3]\n", 20);
    assert_int_equal(tu_count_temps(dir), 0);
    tu_assert_ok(stream(p, &jsonl_kind, none));
    tu_assert_content(p, "", 0);
}

/* The kinds on the plain one-shot writes: validated before anything is created. */
static void test_one_shot_kinds(void **state)
{
    const char *dir = *state;
    const char *fresh = tu_path(dir, "new/deeper/x.json");
    const char *p = tu_path(dir, "x.json");
    ajio_opts both = {.flags = AJIO_JSON | AJIO_JSONL};

    tu_assert_fails(ajio_write_bytes(fresh, "{", 1, &json_kind), AJIO_EJSON, fresh);
    assert_int_equal(access(tu_path(dir, "new"), F_OK), -1);
    tu_assert_ok(ajio_write_bytes(p, "{}", 2, &json_kind));
    tu_assert_content(p, "{}\n", 3);
    tu_assert_ok(ajio_write_text(p, "[1]", &json_kind));
    tu_assert_content(p, "[1]\n", 4);
    tu_assert_ok(ajio_write_bytes(p, "1\n2", 3, &jsonl_kind));
    tu_assert_content(p, "1\n2\n", 4);
    tu_assert_fails(ajio_write_bytes(p, "{}", 2, &both), -EINVAL, p);
    tu_assert_content(p, "1\n2\n", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        AU_TEST(test_json_newline_added),
        AU_TEST(test_json_newline_kept),
        AU_TEST(test_json_len_not_strlen),
        AU_TEST(test_json_invalid_refused),
        AU_TEST(test_json_empty_is_invalid),
        AU_TEST(test_invalid_creates_nothing),
        AU_TEST(test_bad_arguments),
        AU_TEST(test_jsonl_lines),
        AU_TEST(test_jsonl_empty_gives_empty_file),
        AU_TEST(test_jsonl_invalid_refused),
        AU_TEST(test_skip_unchanged),
        AU_TEST(test_case_files),
        AU_TEST(test_stream_json_valid),
        AU_TEST(test_stream_json_invalid),
        AU_TEST(test_stream_jsonl),
        AU_TEST(test_one_shot_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

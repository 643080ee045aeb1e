/*
 * test_read.c - the record reader (ajio_reader_*): complete lines only, a torn last line skipped
 * and reported, malformed JSON Lines reported with their line number and passed over only when
 * the caller goes on, lines longer than the buffer handed out whole, and a reader running beside
 * appenders that never returns a record in flight (while it does meet such records: the
 * control that the race was there to be lost).
 */
#include "testutil.h"

#include <signal.h>
#include <stdbool.h>

/* Reads every record of p with flags: their text joined with '|', the count of AJIO_EJSON. */
static int read_all(const char *p, unsigned flags, char *out, size_t size, uint64_t *ret_torn)
{
    ajio_reader *rd;
    const char *line;
    size_t len, n = 0;
    int r, bad = 0;

    tu_assert_ok(ajio_reader_open(&rd, p, &(ajio_opts){.flags = flags}));
    out[0] = '\0';
    while ((r = ajio_reader_next(rd, &line, &len)) != 0) {
        if (r == AJIO_EJSON) {
            bad++;
            continue;
        }
        assert_int_equal(r, 1);
        assert_int_equal(strlen(line), len); /* NUL-terminated, no '\n' */
        assert_true(n + len + 2 < size);
        n += (size_t)snprintf(out + n, size - n, "%s%s", n > 0 ? "|" : "", line);
    }
    /* The end stays the end. */
    assert_int_equal(ajio_reader_next(rd, &line, &len), 0);
    *ret_torn = ajio_reader_torn(rd);
    ajio_reader_close(rd);
    return bad;
}

static void test_lines_and_torn_tail(void **state)
{
    const char *p = tu_path(*state, "log");
    char out[256];
    uint64_t torn;

    tu_put(p, "", 0644);
    assert_int_equal(read_all(p, 0, out, sizeof(out), &torn), 0);
    assert_string_equal(out, "");
    assert_int_equal(torn, 0);

    tu_put(p, "one\ntwo\r\n\nthree\n", 0644);
    assert_int_equal(read_all(p, 0, out, sizeof(out), &torn), 0);
    assert_string_equal(out, "one|two\r||three");
    assert_int_equal(torn, 0);

    tu_put(p, "one\ntwo\nthr", 0644);
    assert_int_equal(read_all(p, 0, out, sizeof(out), &torn), 0);
    assert_string_equal(out, "one|two");
    assert_int_equal(torn, 3);
    assert_non_null(strstr(ajio_last_error(), ":3: skipped a torn last line of 3 bytes"));

    /* Nothing but a torn line. */
    tu_put(p, "{\"a\":", 0644);
    assert_int_equal(read_all(p, AJIO_JSONL, out, sizeof(out), &torn), 0);
    assert_string_equal(out, "");
    assert_int_equal(torn, 5);
}

static void test_jsonl_corruption_reported(void **state)
{
    const char *p = tu_path(*state, "log.jsonl");
    ajio_reader *rd;
    const char *line;
    size_t len;
    char out[256];
    uint64_t torn;

    tu_put(p, "{\"a\":1}\r\n[2]\n{\"b\":\n\n\"s\"\n{\"c\":", 0644);
    tu_assert_ok(ajio_reader_open(&rd, p, &(ajio_opts){.flags = AJIO_JSONL}));
    assert_int_equal(ajio_reader_next(rd, &line, &len), 1);
    assert_string_equal(line, "{\"a\":1}\r");
    assert_int_equal(ajio_reader_line(rd), 1);
    assert_int_equal(ajio_reader_next(rd, &line, &len), 1);
    assert_int_equal(ajio_reader_line(rd), 2);
    /* Line 3 is complete but not JSON: reported with its number, its text still given. */
    assert_int_equal(ajio_reader_next(rd, &line, &len), AJIO_EJSON);
    assert_int_equal(ajio_reader_line(rd), 3);
    assert_string_equal(line, "{\"b\":");
    assert_non_null(strstr(ajio_last_error(), "log.jsonl:3:"));
    /* A blank line is not JSON either. */
    assert_int_equal(ajio_reader_next(rd, &line, &len), AJIO_EJSON);
    assert_non_null(strstr(ajio_last_error(), "log.jsonl:4:"));
    assert_int_equal(ajio_reader_next(rd, &line, &len), 1);
    assert_string_equal(line, "\"s\"");
    assert_int_equal(ajio_reader_line(rd), 5);
    assert_int_equal(ajio_reader_next(rd, &line, &len), 0);
    assert_int_equal(ajio_reader_torn(rd), 5);
    ajio_reader_close(rd);

    /* Without AJIO_JSONL the same lines are only lines. */
    assert_int_equal(read_all(p, 0, out, sizeof(out), &torn), 0);
    assert_string_equal(out, "{\"a\":1}\r|[2]|{\"b\":||\"s\"");
    assert_int_equal(read_all(p, AJIO_JSONL, out, sizeof(out), &torn), 2);
}

/* Lines of 1 MiB and more, across the 64 KiB buffer, come out whole. */
static void test_long_lines(void **state)
{
    const char *p = tu_path(*state, "long.jsonl");
    const size_t big = 1u << 20;
    char *data = malloc(3 * big);
    const char *line;
    ajio_reader *rd;
    size_t len, n = 0;

    assert_non_null(data);
    for (int k = 0; k < 3; k++) {
        size_t l = big - 100 + (size_t)k * 7;
        data[n++] = '"';
        memset(data + n, 'a' + k, l);
        n += l;
        data[n++] = '"';
        data[n++] = '\n';
    }
    tu_assert_ok(ajio_write_bytes(p, data, n, NULL));
    tu_assert_ok(ajio_reader_open(&rd, p, &(ajio_opts){.flags = AJIO_JSONL}));
    for (int k = 0; k < 3; k++) {
        assert_int_equal(ajio_reader_next(rd, &line, &len), 1);
        assert_int_equal(len, big - 100 + (size_t)k * 7 + 2);
        assert_int_equal(line[1], 'a' + k);
        assert_int_equal(line[len - 2], 'a' + k);
    }
    assert_int_equal(ajio_reader_next(rd, &line, &len), 0);
    ajio_reader_close(rd);
    free(data);
}

static void test_refusals(void **state)
{
    ajio_reader *rd = NULL;
    const char *line;
    size_t len;

    tu_assert_fails(ajio_reader_open(&rd, tu_path(*state, "missing"), NULL), -ENOENT, "missing");
    tu_assert_fails(ajio_reader_open(&rd, "", NULL), -EINVAL, "empty");
    tu_assert_fails(ajio_reader_open(NULL, "x", NULL), -EINVAL, "ret");
    tu_assert_fails(ajio_reader_open(&rd, tu_path(*state, "x"), &(ajio_opts){.flags = AJIO_JSON}),
                    -EINVAL, "flags");
    assert_null(rd);
    tu_assert_fails(ajio_reader_next(NULL, &line, &len), -EINVAL, "reader");
    tu_assert_ok(ajio_reader_open(&rd, *state, NULL)); /* a directory opens; reading it fails */
    assert_int_equal(ajio_reader_next(rd, &line, &len), -EISDIR);
    ajio_reader_close(rd);
    ajio_reader_close(NULL);
    assert_int_equal(ajio_reader_line(NULL), 0);
    assert_int_equal(ajio_reader_torn(NULL), 0);
}

/*
 * Appenders write records of 200 KiB (many write(2) calls each, so the file often ends inside
 * one) while a reader reads the file again and again: every record it returns is whole and
 * valid. The reader must also have met a record in flight (a torn last line) at least once, or
 * the test proved nothing.
 */
static void test_reader_beside_appenders(void **state)
{
    const char *p = tu_path(*state, "live.jsonl");
    const size_t rec = 200 * 1024;
    char *data = malloc(rec);
    unsigned long reads = 0, records = 0, in_flight = 0;
    int status;
    pid_t pid;

    assert_non_null(data);
    tu_assert_ok(ajio_append(p, "\"start\"\n", 8, NULL));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Appends until killed; the file is cut back to its start now and then. */
        for (int i = 0;; i++) {
            int n = snprintf(data, rec, "{\"i\":%d,\"pad\":\"", i);
            memset(data + n, 'x', rec - (size_t)n - 3);
            memcpy(data + rec - 3, "\"}\n", 3);
            if (ajio_append(p, data, rec, &(ajio_opts){.flags = AJIO_NO_SYNC}) < 0)
                _exit(1);
            if (i % 20 == 19 && truncate(p, 8) < 0)
                _exit(1);
        }
    }
    /* Until the race has been met often enough to count (or a generous number of passes). */
    while ((in_flight < 20 || reads < 200) && reads < 20000) {
        ajio_reader *rd;
        const char *line;
        size_t len;
        int r;

        tu_assert_ok(ajio_reader_open(&rd, p, &(ajio_opts){.flags = AJIO_JSONL}));
        while ((r = ajio_reader_next(rd, &line, &len)) == 1)
            records++;
        if (r != 0)
            fail_msg("pass %lu: %s", reads, ajio_last_error()); /* a partial record as a line */
        in_flight += ajio_reader_torn(rd) > 0;
        ajio_reader_close(rd);
        reads++;
    }
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* the appender did not fail */
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    print_message("reader: %lu passes, %lu records, %lu passes met a record in flight\n", reads,
                  records, in_flight);
    assert_true(in_flight >= 3);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_lines_and_torn_tail),   TU_TEST(test_jsonl_corruption_reported),
        TU_TEST(test_long_lines),            TU_TEST(test_refusals),
        TU_TEST(test_reader_beside_appenders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

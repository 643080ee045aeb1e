/*
 * adapter_util.h - what the adapter suites (test_adapter_jansson.c, test_adapter_cjson.c,
 * test_adapter_jsonc.c) and test_json_write.c check alike: exact bytes against golden files,
 * "untouched" after a refusal, the thread's error message.
 *
 * The checks the three adapter suites run the same way, whatever the JSON library, take a
 * struct au_adapter: a handful of small functions through which each suite plugs in its library
 * (parse a file, write a value, compare two values ...). A suite then keeps only what is its
 * library's own: how values are built, and the calls and layouts no other library has.
 */
#ifndef AJIO_ADAPTER_UTIL_H
#define AJIO_ADAPTER_UTIL_H

#include "testutil.h"

/* Inputs, golden outputs (one directory per library) and the seed examples. */
#define AU_CASES "tests/cases/adapters/"

/* What the refusal checks put at the target first, so that "untouched" is byte for byte. */
#define AU_OLD_TEXT "old content\n"

/* The file at p holds exactly the string literal lit. */
#define au_assert_file(p, lit) tu_assert_content(p, lit, sizeof(lit) - 1)

/*
 * Whether the file at p holds exactly want[0..wlen). If not and what (naming the want) is set,
 * fails the test with the first differing offset and the text around it (some documents are
 * megabytes long); what NULL: only the answer, for negative controls.
 */
static inline int au_same_bytes(const char *p, const char *want, size_t wlen, const char *what)
{
    size_t len = 0, i = 0;
    char *got = tu_read(p, &len);
    int same;

    assert_non_null(got);
    while (i < len && i < wlen && got[i] == want[i])
        i++;
    same = i == len && i == wlen;
    if (!same && what != NULL) {
        size_t from = i > 40 ? i - 40 : 0;
        fail_msg("%s differs from %s at byte %zu of %zu (want %zu):\n--- got\n%.*s\n"
                 "--- want\n%.*s",
                 p, what, i, len, wlen, (int)(len - from < 80 ? len - from : 80), got + from,
                 (int)(wlen - from < 80 ? wlen - from : 80), want + from);
    }
    free(got);
    return same;
}

/* The file at p holds exactly want[0..wlen); on failure the difference is shown. */
static inline void au_assert_same_bytes(const char *p, const char *want, size_t wlen,
                                        const char *what)
{
    (void)au_same_bytes(p, want, wlen, what);
}

/* The file at p holds exactly the golden file's bytes. */
static inline void au_assert_same_as(const char *p, const char *golden)
{
    size_t glen = 0;
    char *want = tu_read(golden, &glen);

    assert_non_null(want);
    au_assert_same_bytes(p, want, glen, golden);
    free(want);
}

/* The size of the file at p, which must exist. */
static inline off_t au_file_size(const char *p)
{
    struct stat st;

    assert_int_equal(stat(p, &st), 0);
    return st.st_size;
}

/* The thread's error message says part (the reason, not just the code, must come through). */
static inline void au_assert_message_has(const char *part)
{
    if (strstr(ajio_last_error(), part) == NULL)
        fail_msg("message \"%s\" does not say \"%s\"", ajio_last_error(), part);
}

/* The thread's error message starts with "p:line:": the checker's position of the bad byte. */
static inline void au_assert_message_at_line(const char *p, int line)
{
    char want[4200];

    snprintf(want, sizeof(want), "%s:%d:", p, line);
    if (strncmp(ajio_last_error(), want, strlen(want)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", ajio_last_error(), want);
}

/*
 * After a refused write: p still holds old, no temp file is left in dir and, when entries >= 0,
 * dir holds exactly entries names (nothing else was created either).
 */
static inline void au_assert_untouched(const char *dir, const char *p, const char *old,
                                       int entries)
{
    tu_assert_content(p, old, strlen(old));
    assert_int_equal(tu_count_temps(dir), 0);
    if (entries >= 0)
        assert_int_equal(tu_count_entries(dir), entries);
}

/*
 * The value callbacks of the suites all produce the same stream: values 1 .. stop, or a failure
 * with -EIO when asked for value number fail (fail > 0). au_gen_next() is that logic; each suite's
 * callback only turns the number into its library's value.
 */
struct au_gen {
    int n;    /* values produced so far */
    int stop; /* produce this many, then end */
    int fail; /* if > 0: fail with -EIO when asked for value number fail */
};

/* @return the next value's number (> 0), 0 at the end, or -EIO where the stream fails. */
static inline int au_gen_next(struct au_gen *g)
{
    if (g->fail > 0 && g->n == g->fail)
        return -EIO;
    if (g->n == g->stop)
        return 0;
    return ++g->n;
}

/* One JSON library behind its adapter, for the checks below. Values travel as void *. */
struct au_adapter {
    const char *golden; /* its directory of golden outputs under AU_CASES */
    int like_jansson;   /* outside numbers, its pretty layout is the jansson adapter's */
    /* Parses the file at path (failing the test if it cannot). */
    void *(*load)(const char *path);
    /* Writes v with the adapter: as JSONL (jsonl), else one document, compact or pretty. */
    int (*write)(const char *path, void *v, int jsonl, int compact, const ajio_opts *opts);
    /* Writes JSONL through the adapter's callback API, values from g; g NULL: next is NULL. */
    int (*write_cb)(const char *path, struct au_gen *g);
    int (*is_array)(void *v);
    int (*equal)(void *a, void *b);
    void (*release)(void *v);
};

/* Every input document, written pretty and (arrays) as JSONL: exactly the golden bytes. */
static inline void au_check_golden(const struct au_adapter *a, const char *dir)
{
    static const char *const names[] = {"mixed", "unicode", "escapes", "numbers"};
    const char *p = tu_path(dir, "out.json");

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char in[256], want[256];
        void *v;

        snprintf(in, sizeof(in), AU_CASES "input/%s.json", names[i]);
        v = a->load(in);
        tu_assert_ok(a->write(p, v, 0, 0, NULL));
        snprintf(want, sizeof(want), AU_CASES "%s/%s.json", a->golden, names[i]);
        au_assert_same_as(p, want);
        /* Outside numbers, the layout is the jansson adapter's, byte for byte. */
        if (a->like_jansson && strcmp(names[i], "numbers") != 0) {
            snprintf(want, sizeof(want), AU_CASES "jansson/%s.json", names[i]);
            au_assert_same_as(p, want);
        }
        if (a->is_array(v)) {
            tu_assert_ok(a->write(p, v, 1, 0, NULL));
            snprintf(want, sizeof(want), AU_CASES "%s/%s.jsonl", a->golden, names[i]);
            au_assert_same_as(p, want);
        }
        a->release(v);
    }
}

/* Writes v over an old target, and also to a new name: both must fail with the reason. */
static inline void au_assert_refused(const struct au_adapter *a, const char *dir, void *v,
                                     int jsonl, const char *reason)
{
    const char *p = tu_path(dir, "t.json");
    const char *fresh = tu_path(dir, "new/t.json");
    const ajio_opts named = {.flags = AJIO_NO_TMPFILE};
    int entries;

    tu_put(p, AU_OLD_TEXT, 0644);
    entries = tu_count_entries(dir);
    tu_assert_fails(a->write(p, v, jsonl, 0, NULL), AJIO_EJSON, p);
    au_assert_message_has(reason);
    au_assert_untouched(dir, p, AU_OLD_TEXT, entries);
    /* With a named temp (visible in the directory while writing), the abort must remove it. */
    tu_assert_fails(a->write(p, v, jsonl, 0, &named), AJIO_EJSON, p);
    au_assert_untouched(dir, p, AU_OLD_TEXT, entries);
    tu_assert_fails(a->write(fresh, v, jsonl, !jsonl, NULL), AJIO_EJSON, "t.json");
    assert_int_equal(access(fresh, F_OK), -1);
    assert_int_equal(tu_count_temps(tu_path(dir, "new")), 0);
}

/*
 * JSONL from arrays at the edges, on dir/e.jsonl: an empty array gives an empty file; an object
 * or NULL is refused with the target untouched. Leaves the old text at dir/e.jsonl, so that the
 * suite can go on with its library's own refusals.
 */
static inline void au_check_jsonl_edges(const struct au_adapter *a, const char *dir, void *empty,
                                        void *obj)
{
    const char *p = tu_path(dir, "e.jsonl");

    tu_put(p, AU_OLD_TEXT, 0644);
    tu_assert_ok(a->write(p, empty, 1, 0, NULL));
    assert_int_equal(au_file_size(p), 0);

    tu_put(p, AU_OLD_TEXT, 0644);
    tu_assert_fails(a->write(p, obj, 1, 0, NULL), -EINVAL, p);
    tu_assert_fails(a->write(p, NULL, 1, 0, NULL), -EINVAL, p);
    au_assert_untouched(dir, p, AU_OLD_TEXT, 1);
    /* Not-an-array creates nothing, not even the parent directory. */
    tu_assert_fails(a->write(tu_path(dir, "sub/x.jsonl"), obj, 1, 0, NULL), -EINVAL, "sub");
    assert_int_equal(tu_count_entries(dir), 1);
}

/*
 * JSONL from the callback API on dir/cb.jsonl: values 1 .. stop give the bytes want; a callback
 * failure aborts with its error and leaves the target untouched; a NULL callback is refused.
 */
static inline void au_check_jsonl_callback(const struct au_adapter *a, const char *dir, int stop,
                                           const char *want)
{
    const char *p = tu_path(dir, "cb.jsonl");
    struct au_gen ok = {0, stop, 0}, bad = {0, 1000, 2};

    tu_put(p, AU_OLD_TEXT, 0644);
    /* Negative control of the failure case below: the same stream without the error is
     * written, so "untouched" there is the error's doing. */
    tu_assert_ok(a->write_cb(p, &ok));
    tu_assert_content(p, want, strlen(want));

    tu_put(p, AU_OLD_TEXT, 0644);
    tu_assert_fails(a->write_cb(p, &bad), -EIO, p);
    au_assert_message_has("callback");
    assert_int_equal(bad.n, 2); /* it stopped at the failure */
    au_assert_untouched(dir, p, AU_OLD_TEXT, 1);
    tu_assert_fails(a->write_cb(p, NULL), -EINVAL, p);
}

/* v (a large array) written pretty to p spans several staging chunks and parses back equal. */
static inline void au_check_round_trip(const struct au_adapter *a, const char *p, void *v)
{
    void *back;

    tu_assert_ok(a->write(p, v, 0, 0, NULL));
    assert_true(au_file_size(p) > 4 * 1000 * 1000); /* several staging chunks */
    back = a->load(p);
    assert_true(a->equal(v, back));
    a->release(back);
}

#endif /* AJIO_ADAPTER_UTIL_H */

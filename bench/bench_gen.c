/*
 * bench_gen.c - the JSON generator in memory against the best writers Debian has, side by side.
 *
 * Each standard document of tests/data/json-bench is parsed once, outside the clock; then only
 * the writing is timed, compact and pretty (two-space indent where the writer allows it):
 *   ajio      jansson's tree walked by <ajio/jansson.h> into a sink generator that copies every
 *             window into one buffer (the whole document in memory at the end, as the peers have)
 *   memcpy    the copy of ajio's output bytes into another buffer: the floor of any writer
 *   walk      jansson's tree walked as <ajio/jansson.h> walks it, the same accessors called and
 *             nothing written: the part of ajio's figure that is jansson's, not the generator's
 *   jansson   json_dumpb into a buffer allocated once at the right size
 *   cJSON     cJSON_PrintPreallocated (its pretty layout indents with tabs)
 *   json-c    json_object_to_json_string_ext (reuses the object's print buffer)
 *   rapidjson Writer / PrettyWriter into a StringBuffer (bench_gen_rapidjson.cpp)
 *
 *   bench_gen ajio DATA_DIR LABEL   the generator of the library linked in, under the kernel the
 *                                   process chose (AJIO_KERNEL): LABEL names it in the rows;
 *                                   RapidJSON and the walk interleaved with it (rapidjson~LABEL,
 *                                   walk~LABEL)
 *   bench_gen peers DATA_DIR        memcpy and the other libraries
 *   bench_gen kernels               the kernels this CPU runs, one a line
 *
 * BENCH_GEN_DOC=NAME limits a run to that document.
 *
 * Rows: "row LABEL DOCUMENT LAYOUT BYTES SECONDS", seconds per document as the median of BU_RUNS
 * timed runs of at least BU_MIN_RUN_SEC of thread CPU time each, the variants of one document
 * interleaved run by run. bench/run-gen.sh runs this program once per kernel and per build,
 * several rounds, and makes the table. jansson and json-c cannot share a translation unit (both
 * define json_object): the json-c part is this file again, compiled with BENCH_JSONC_PART.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"

#define NDOCS 3

static const char *const layouts[2] = {"compact", "pretty"};

static void row(const char *label, const char *doc, const char *layout, size_t bytes, double sec)
{
    printf("row %s %s %s %zu %.9f\n", label, doc, layout, bytes, sec);
    fflush(stdout);
}

/* What every variant of one document writes into: a buffer and what it holds. */
struct out {
    char *buf;
    size_t size, len;
};

#ifdef BENCH_JSONC_PART
/* ---- json-c --------------------------------------------------------------------------------- */
#include <json-c/json.h>

int bench_jsonc(const char *path, const char *doc);

struct jc_ctx {
    struct json_object *obj;
    int flags;
    size_t len;
};

static int jc_write(void *p)
{
    struct jc_ctx *c = p;
    const char *s = json_object_to_json_string_length(c->obj, c->flags, &c->len);
    return s == NULL ? -ENOMEM : 0;
}

int bench_jsonc(const char *path, const char *doc)
{
    struct json_object *obj = json_object_from_file(path);
    double sec[2];

    if (obj == NULL) {
        fprintf(stderr, "bench_gen: json-c cannot load %s\n", path);
        return -EIO;
    }
    struct jc_ctx c[2] = {
        {obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, 0},
        {obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
         0},
    };
    bu_bench_fn fns[2] = {jc_write, jc_write};
    void *ctxs[2] = {&c[0], &c[1]};
    int r = bu_bench_variants(2, fns, ctxs, sec);
    if (r == 0)
        for (int l = 0; l < 2; l++)
            row("json-c", doc, layouts[l], c[l].len, sec[l]);
    json_object_put(obj);
    return r;
}

#else
/* ---- main program --------------------------------------------------------------------------- */
#include <ajio/cjson.h>
#include <ajio/jansson.h>

int bench_jsonc(const char *path, const char *doc);

/* bench_gen_rapidjson.cpp */
void *bench_rj_load(const char *text);
size_t bench_rj_write(void *doc, int pretty);
void bench_rj_free(void *doc);

static const char *const docs[NDOCS] = {"twitter.json", "citm_catalog.json", "canada.json"};

/* Only in a library with run-time kernels: a build from before them still links. */
extern int ajio__kernel_best(void) __attribute__((weak));
extern const char *ajio__kernel_name(int kernel) __attribute__((weak));

static int to_buffer(void *ctx, const void *buf, size_t len)
{
    struct out *o = ctx;

    if (o->len + len > o->size)
        return -ENOSPC;
    memcpy(o->buf + o->len, buf, len);
    o->len += len;
    return 0;
}

struct gen_ctx {
    const json_t *value;
    int pretty;
    struct out out;
};

static int gen_write(void *p)
{
    struct gen_ctx *c = p;
    ajio_gen_opts go;
    ajio_gen *g;
    int r;

    /* The adapter's own options for jansson's flags: the layout json_dumpb writes, too. */
    ajio_jansson__gen_opts(&go, c->pretty ? AJIO_JANSSON_DEFAULT_FLAGS : AJIO_JANSSON_LINE_FLAGS,
                           0);
    c->out.len = 0;
    if ((r = ajio_gen_new_sink(&g, to_buffer, &c->out, &go)) < 0)
        return r;
    r = ajio_jansson__value(g, c->value, NULL);
    if (r == 0)
        r = ajio_gen_finish(g);
    ajio_gen_free(g);
    return r;
}

struct copy_ctx {
    const struct out *from;
    char *to;
};

static int copy(void *p)
{
    struct copy_ctx *c = p;

    memcpy(c->to, c->from->buf, c->from->len);
    /* the copy must not be dropped as a dead store */
    __asm__ volatile("" : : "r"(c->to) : "memory");
    return 0;
}

/* Every accessor the adapter calls, its results summed so that none is left out. */
static size_t walk(const json_t *v)
{
    size_t sum = 0;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        for (void *it = json_object_iter((json_t *)v); it != NULL;
             it = json_object_iter_next((json_t *)v, it))
            sum += json_object_iter_key_len(it) + (unsigned char)json_object_iter_key(it)[0] +
                   walk(json_object_iter_value(it));
        return sum;
    case JSON_ARRAY:
        for (size_t i = 0; i < json_array_size(v); i++)
            sum += walk(json_array_get(v, i));
        return sum;
    case JSON_STRING:
        return json_string_length(v) + (unsigned char)json_string_value(v)[0];
    case JSON_INTEGER:
        return (size_t)json_integer_value(v);
    case JSON_REAL:
        return (size_t)(int64_t)json_real_value(v);
    default:
        return 1;
    }
}

struct walk_ctx {
    const json_t *value;
    size_t sum;
};

static int walk_only(void *p)
{
    struct walk_ctx *c = p;

    c->sum += walk(c->value);
    return 0;
}

struct ja_ctx {
    const json_t *value;
    size_t flags;
    struct out out;
};

static int ja_write(void *p)
{
    struct ja_ctx *c = p;

    c->out.len = json_dumpb(c->value, c->out.buf, c->out.size, c->flags);
    return c->out.len == 0 || c->out.len >= c->out.size ? -ENOMEM : 0;
}

struct cj_ctx {
    cJSON *item;
    int pretty;
    struct out out;
};

static int cj_write(void *p)
{
    struct cj_ctx *c = p;

    return cJSON_PrintPreallocated(c->item, c->out.buf, (int)c->out.size, c->pretty) ? 0 : -ENOMEM;
}

struct rj_ctx {
    void *doc;
    int pretty;
    size_t len;
};

static int rj_write(void *p)
{
    struct rj_ctx *c = p;

    c->len = bench_rj_write(c->doc, c->pretty);
    return c->len > 0 ? 0 : -ENOMEM;
}

static json_t *load_jansson(const char *path)
{
    json_error_t je;
    json_t *v = json_load_file(path, 0, &je);

    if (v == NULL)
        fprintf(stderr, "bench_gen: jansson cannot load %s: %s\n", path, je.text);
    return v;
}

/*
 * The generator, compact and pretty, interleaved with RapidJSON's two writers and the walk alone:
 * the ratios to RapidJSON and the walk's share come from one process, run against run, not from
 * two processes that the machine's other load may treat unalike.
 */
static int bench_ajio(const char *path, const char *doc, const char *label)
{
    json_t *v = load_jansson(path);
    char *text = bu_slurp(path, NULL);
    void *rj = text != NULL ? bench_rj_load(text) : NULL;
    struct gen_ctx c[2] = {{v, 0, {0}}, {v, 1, {0}}};
    struct rj_ctx rc[2] = {{rj, 0, 0}, {rj, 1, 0}};
    struct walk_ctx wc = {v, 0};
    char with[64];
    double sec[5];
    int r = -EIO;

    if (v == NULL || rj == NULL) {
        fprintf(stderr, "bench_gen: cannot load %s\n", path);
        goto out;
    }
    for (int l = 0; l < 2; l++) {
        c[l].out.size = 64 * json_dumpb(v, NULL, 0, AJIO_JANSSON_DEFAULT_FLAGS) / 32 + 65536;
        c[l].out.buf = malloc(c[l].out.size);
    }
    bu_bench_fn fns[5] = {gen_write, gen_write, rj_write, rj_write, walk_only};
    void *ctxs[5] = {&c[0], &c[1], &rc[0], &rc[1], &wc};
    r = bu_bench_variants(5, fns, ctxs, sec);
    if (r < 0)
        fprintf(stderr, "bench_gen: %s: %s\n", doc, ajio_last_error());
    for (int l = 0; l < 2; l++) {
        if (r == 0) {
            row(label, doc, layouts[l], c[l].out.len, sec[l]);
            snprintf(with, sizeof(with), "rapidjson~%s", label);
            row(with, doc, layouts[l], rc[l].len, sec[2 + l]);
            /* one walk serves both layouts */
            snprintf(with, sizeof(with), "walk~%s", label);
            row(with, doc, layouts[l], c[l].out.len, sec[4]);
        }
        free(c[l].out.buf);
    }
out:
    if (rj != NULL)
        bench_rj_free(rj);
    free(text);
    json_decref(v);
    return r;
}

static int bench_peers(const char *path, const char *doc)
{
    json_t *v = load_jansson(path);
    size_t text_len = 0;
    char *text = bu_slurp(path, &text_len);
    cJSON *item = text != NULL ? cJSON_Parse(text) : NULL;
    void *rj = text != NULL ? bench_rj_load(text) : NULL;
    double sec[10];
    int r = -EIO;

    if (v == NULL || item == NULL || rj == NULL) {
        fprintf(stderr, "bench_gen: cannot load %s with every library\n", path);
        goto out;
    }
    size_t size = 64 * json_dumpb(v, NULL, 0, AJIO_JANSSON_DEFAULT_FLAGS) / 32 + 65536;
    struct gen_ctx ref[2] = {{v, 0, {malloc(size), size, 0}}, {v, 1, {malloc(size), size, 0}}};
    struct copy_ctx cp[2] = {{&ref[0].out, malloc(size)}, {&ref[1].out, malloc(size)}};
    struct ja_ctx ja[2] = {{v, AJIO_JANSSON_LINE_FLAGS, {malloc(size), size, 0}},
                           {v, AJIO_JANSSON_DEFAULT_FLAGS, {malloc(size), size, 0}}};
    struct cj_ctx cj[2] = {{item, 0, {malloc(size), size, 0}}, {item, 1, {malloc(size), size, 0}}};
    struct rj_ctx rc[2] = {{rj, 0, 0}, {rj, 1, 0}};

    /* The floor copies exactly the bytes the generator writes. */
    if ((r = gen_write(&ref[0])) < 0 || (r = gen_write(&ref[1])) < 0) {
        fprintf(stderr, "bench_gen: %s: %s\n", doc, ajio_last_error());
        goto free_bufs;
    }
    bu_bench_fn fns[8] = {copy, copy, ja_write, ja_write, cj_write, cj_write, rj_write, rj_write};
    void *ctxs[8] = {&cp[0], &cp[1], &ja[0], &ja[1], &cj[0], &cj[1], &rc[0], &rc[1]};
    if ((r = bu_bench_variants(8, fns, ctxs, sec)) < 0) {
        fprintf(stderr, "bench_gen: %s: a peer failed (%d)\n", doc, r);
        goto free_bufs;
    }
    for (int l = 0; l < 2; l++) {
        row("memcpy", doc, layouts[l], ref[l].out.len, sec[0 + l]);
        row("jansson", doc, layouts[l], ja[l].out.len, sec[2 + l]);
        row("cJSON", doc, layouts[l], strlen(cj[l].out.buf), sec[4 + l]);
        row("rapidjson", doc, layouts[l], rc[l].len, sec[6 + l]);
    }
    r = bench_jsonc(path, doc);
free_bufs:
    for (int l = 0; l < 2; l++) {
        free(ref[l].out.buf);
        free(cp[l].to);
        free(ja[l].out.buf);
        free(cj[l].out.buf);
    }
out:
    if (rj != NULL)
        bench_rj_free(rj);
    cJSON_Delete(item);
    free(text);
    json_decref(v);
    return r;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";

    if (strcmp(mode, "kernels") == 0) {
        int best = ajio__kernel_best != NULL ? ajio__kernel_best() : -1;
        for (int k = 0; k <= best; k++)
            printf("%s\n", ajio__kernel_name(k));
        return 0;
    }
    if (argc < 3 || (strcmp(mode, "ajio") != 0 && strcmp(mode, "peers") != 0) ||
        (strcmp(mode, "ajio") == 0 && argc < 4)) {
        fprintf(stderr, "usage: bench_gen ajio DATA_DIR LABEL | peers DATA_DIR | kernels\n");
        return 2;
    }
    /* One document per process (run-gen.sh): each is then parsed into a fresh heap, not into
     * the holes the one before left, which moved its figures by up to a fifth. */
    const char *only = getenv("BENCH_GEN_DOC");
    for (int d = 0; d < NDOCS; d++) {
        char path[4096];
        int r;

        if (only != NULL && *only != '\0' && strcmp(only, docs[d]) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", argv[2], docs[d]);
        r = mode[0] == 'a' ? bench_ajio(path, docs[d], argv[3]) : bench_peers(path, docs[d]);
        if (r < 0)
            return 1;
    }
    return 0;
}
#endif

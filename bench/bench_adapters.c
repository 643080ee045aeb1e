/*
 * bench_adapters.c - the JSON adapters against their own library's in-memory printer, side by side.
 *
 * For each document of tests/data/json-bench and each library (jansson, cJSON, json-c):
 *   memory   the library's printer into memory, same layout (jansson: json_dumpb into a buffer
 *            allocated once, at the right size; cJSON: cJSON_PrintPreallocated into such a buffer;
 *            json-c: json_object_to_json_string_ext, which reuses the object's own print buffer)
 *   tmpfs    the adapter writing a file with AJIO_NO_SYNC under /dev/shm
 *   disk     the adapter writing a file with AJIO_NO_SYNC under $AJIO_BUILD/bench
 * Each figure is the median of RUNS timed runs, each long enough (>= 50 ms of CPU time) to time
 * reliably; the variants run interleaved so that drift of a shared machine hits them alike. MB/s
 * counts output bytes (10^6). ratio = memory time / adapter time (documents per second).
 *
 * jansson and json-c cannot share a translation unit (both define json_object), so this file is
 * compiled twice: once as the main program with jansson and cJSON, once with BENCH_JSONC_PART for
 * the json-c part.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"

#define RUNS BU_RUNS

/*
 * mem_bytes and file_bytes differ where the library's own pretty layout is not the adapter's
 * (cJSON indents with tabs); the ratio is therefore one of times: documents per second.
 */
static void print_row(const char *lib, const char *doc, size_t mem_bytes, size_t file_bytes,
                      const double *sec)
{
    double mem = (double)mem_bytes / sec[0] / 1e6;
    double shm = (double)file_bytes / sec[1] / 1e6;
    double disk = (double)file_bytes / sec[2] / 1e6;

    printf("| %-7s | %-17s | %6.2f | %6.2f | %8.1f | %8.1f | %5.2fx | %8.1f | %5.2fx |\n", lib, doc,
           (double)mem_bytes / 1e6, (double)file_bytes / 1e6, mem, shm, sec[0] / sec[1], disk,
           sec[0] / sec[2]);
    fflush(stdout);
}

static const char *const docs[] = {"twitter.json", "citm_catalog.json", "canada.json"};

#ifdef BENCH_JSONC_PART
/* ---- json-c --------------------------------------------------------------------------------- */
#include <ajio/json-c.h>

#include <sys/stat.h>

int bench_jsonc(const char *data, const char *shm_dir, const char *disk_dir);

struct jc_ctx {
    struct json_object *obj;
    char path[4096];
    size_t bytes;
};

static int jc_memory(void *p)
{
    struct jc_ctx *c = p;
    size_t len = 0;
    const char *s = json_object_to_json_string_length(
        c->obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
        &len);
    if (s == NULL)
        return -ENOMEM;
    c->bytes = len + 1;
    return 0;
}

static int jc_adapter(void *p)
{
    struct jc_ctx *c = p;
    ajio_opts o = {.flags = AJIO_NO_SYNC};
    return ajio_jsonc_write(c->path, c->obj, 0, &o);
}

int bench_jsonc(const char *data, const char *shm_dir, const char *disk_dir)
{
    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        char in[4096];
        struct jc_ctx mem = {0}, shm = {0}, disk = {0};
        double sec[3];
        int r;

        snprintf(in, sizeof(in), "%s/%s", data, docs[d]);
        mem.obj = json_object_from_file(in);
        if (mem.obj == NULL) {
            fprintf(stderr, "bench: json-c cannot load %s\n", in);
            return -EIO;
        }
        shm.obj = disk.obj = mem.obj;
        snprintf(shm.path, sizeof(shm.path), "%s/jsonc-%s", shm_dir, docs[d]);
        snprintf(disk.path, sizeof(disk.path), "%s/jsonc-%s", disk_dir, docs[d]);
        bu_bench_fn fns[3] = {jc_memory, jc_adapter, jc_adapter};
        void *ctxs[3] = {&mem, &shm, &disk};
        if ((r = bu_bench_variants(3, fns, ctxs, sec)) < 0) {
            fprintf(stderr, "bench: json-c %s: %s\n", docs[d], ajio_last_error());
            return r;
        }
        struct stat st;
        print_row("json-c", docs[d], mem.bytes, stat(shm.path, &st) == 0 ? (size_t)st.st_size : 0,
                  sec);
        json_object_put(mem.obj);
    }
    return 0;
}

#else
/* ---- main program: jansson and cJSON --------------------------------------------------------- */
#include <ajio/cjson.h>
#include <ajio/jansson.h>

#include <sys/stat.h>
#include <unistd.h>

int bench_jsonc(const char *data, const char *shm_dir, const char *disk_dir);

struct ja_ctx {
    json_t *value;
    char *buf;
    size_t size;
    char path[4096];
};

static int ja_memory(void *p)
{
    struct ja_ctx *c = p;
    /* The same bytes the adapter writes: the document, then its '\n'. */
    size_t n = json_dumpb(c->value, c->buf, c->size, AJIO_JANSSON_DEFAULT_FLAGS);
    if (n == 0 || n >= c->size)
        return -ENOMEM;
    c->buf[n] = '\n';
    return 0;
}

static int ja_adapter(void *p)
{
    struct ja_ctx *c = p;
    ajio_opts o = {.flags = AJIO_NO_SYNC};
    return ajio_jansson_write(c->path, c->value, 0, &o);
}

/* The same write with the output validated as it streams (AJIO_JANSSON_VALIDATE). */
static int ja_adapter_validate(void *p)
{
    struct ja_ctx *c = p;
    ajio_opts o = {.flags = AJIO_NO_SYNC};
    return ajio_jansson_write(c->path, c->value, AJIO_JANSSON_DEFAULT_FLAGS | AJIO_JANSSON_VALIDATE,
                              &o);
}

struct cj_ctx {
    cJSON *item;
    char *buf;
    int size;
    char path[4096];
};

static int cj_memory(void *p)
{
    struct cj_ctx *c = p;
    return cJSON_PrintPreallocated(c->item, c->buf, c->size, 1) ? 0 : -ENOMEM;
}

static int cj_adapter(void *p)
{
    struct cj_ctx *c = p;
    ajio_opts o = {.flags = AJIO_NO_SYNC};
    return ajio_cjson_write(c->path, c->item, 0, &o);
}

int main(int argc, char **argv)
{
    const char *data = argc > 1 ? argv[1] : "tests/data/json-bench";
    const char *build = getenv("AJIO_BUILD") != NULL ? getenv("AJIO_BUILD") : "build";
    char shm_dir[256], disk_dir[2048];
    int r;

    snprintf(shm_dir, sizeof(shm_dir), "/dev/shm/ajio-bench-adapters-%d", (int)getpid());
    snprintf(disk_dir, sizeof(disk_dir), "%s/bench/adapters-tmp-%d", build, (int)getpid());
    if (mkdir(shm_dir, 0700) < 0 || mkdir(disk_dir, 0700) < 0) {
        perror("bench: mkdir");
        return 1;
    }
    printf("median of %d runs; MB/s of output; ratio = adapter / in-memory printer\n\n", RUNS);
    printf("| library | document          | MB mem | MB file | memory MB/s | tmpfs MB/s | ratio | "
           "disk MB/s | ratio |\n");
    printf("|---------|-------------------|-------:|-------:|---------:|---------:|------:|-------"
           "--:|------:|\n");
    double validate_ratio[sizeof(docs) / sizeof(docs[0])];
    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        char in[4096];
        struct ja_ctx mem = {0}, shm = {0}, disk = {0}, val = {0};
        json_error_t je;
        double sec[4];

        snprintf(in, sizeof(in), "%s/%s", data, docs[d]);
        mem.value = json_load_file(in, 0, &je);
        if (mem.value == NULL) {
            fprintf(stderr, "bench: jansson cannot load %s: %s\n", in, je.text);
            return 1;
        }
        mem.size = json_dumpb(mem.value, NULL, 0, AJIO_JANSSON_DEFAULT_FLAGS) + 1;
        mem.buf = malloc(mem.size + 1);
        shm.value = disk.value = val.value = mem.value;
        snprintf(shm.path, sizeof(shm.path), "%s/jansson-%s", shm_dir, docs[d]);
        snprintf(disk.path, sizeof(disk.path), "%s/jansson-%s", disk_dir, docs[d]);
        snprintf(val.path, sizeof(val.path), "%s/jansson-%s", shm_dir, docs[d]);
        /* Fourth, interleaved with the rest: tmpfs with validation, reported after the table. */
        bu_bench_fn fns[4] = {ja_memory, ja_adapter, ja_adapter, ja_adapter_validate};
        void *ctxs[4] = {&mem, &shm, &disk, &val};
        if ((r = bu_bench_variants(4, fns, ctxs, sec)) < 0) {
            fprintf(stderr, "bench: jansson %s: %s\n", docs[d], ajio_last_error());
            return 1;
        }
        print_row("jansson", docs[d], mem.size, mem.size, sec);
        validate_ratio[d] = sec[0] / sec[3];
        free(mem.buf);
        json_decref(mem.value);
    }
    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        char in[4096];
        struct cj_ctx mem = {0}, shm = {0}, disk = {0};
        double sec[3];
        char *text;
        char *once;

        snprintf(in, sizeof(in), "%s/%s", data, docs[d]);
        text = bu_slurp(in, NULL);
        mem.item = text != NULL ? cJSON_Parse(text) : NULL;
        free(text);
        if (mem.item == NULL) {
            fprintf(stderr, "bench: cJSON cannot load %s\n", in);
            return 1;
        }
        once = cJSON_Print(mem.item);
        mem.size = (int)strlen(once) + 64;
        free(once);
        mem.buf = malloc((size_t)mem.size);
        shm.item = disk.item = mem.item;
        snprintf(shm.path, sizeof(shm.path), "%s/cjson-%s", shm_dir, docs[d]);
        snprintf(disk.path, sizeof(disk.path), "%s/cjson-%s", disk_dir, docs[d]);
        bu_bench_fn fns[3] = {cj_memory, cj_adapter, cj_adapter};
        void *ctxs[3] = {&mem, &shm, &disk};
        if ((r = bu_bench_variants(3, fns, ctxs, sec)) < 0) {
            fprintf(stderr, "bench: cJSON %s: %s\n", docs[d], ajio_last_error());
            return 1;
        }
        struct stat st;
        print_row("cJSON", docs[d], strlen(mem.buf),
                  stat(shm.path, &st) == 0 ? (size_t)st.st_size : 0, sec);
        free(mem.buf);
        cJSON_Delete(mem.item);
    }
    r = bench_jsonc(data, shm_dir, disk_dir);
    printf("\njansson with AJIO_JANSSON_VALIDATE, tmpfs, ratio to json_dumpb:");
    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++)
        printf(" %s %.2fx", docs[d], validate_ratio[d]);
    printf("\n");
    /* Only what this run made: the files, then its two directories. */
    const char *libs[] = {"jansson", "cjson", "jsonc"};
    for (size_t l = 0; l < 3; l++)
        for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
            char p[4200];
            snprintf(p, sizeof(p), "%s/%s-%s", shm_dir, libs[l], docs[d]);
            unlink(p);
            snprintf(p, sizeof(p), "%s/%s-%s", disk_dir, libs[l], docs[d]);
            unlink(p);
        }
    rmdir(shm_dir);
    rmdir(disk_dir);
    return r < 0 ? 1 : 0;
}
#endif

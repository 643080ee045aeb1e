/* bench_validate_simdjson.h - the C face of bench_validate_simdjson.cpp. */
#ifndef AJIO_BENCH_VALIDATE_SIMDJSON_H
#define AJIO_BENCH_VALIDATE_SIMDJSON_H

#include <stddef.h>

/* The names of the implementations this CPU runs (icelake, haswell, westmere, fallback). */
int sj_implementations(const char **names, int max);
/* Makes name the active implementation, and its parser the one sj_parse*() use (made on first
 * use; its first parse allocates, so time a later one); -1 if this CPU cannot run it. */
int sj_use(const char *name);
/* Bytes simdjson may read past the end of a buffer: the bench allocates them. */
size_t sj_padding(void);
/* A full DOM parse of buf (len bytes, sj_padding() more readable); 0 if valid. */
int sj_parse(const char *buf, size_t len);
/* Every document of the JSON lines in buf, batch bytes at a time; 0 if all are valid. */
int sj_parse_many(const char *buf, size_t len, size_t batch, size_t *ret_docs);

#endif

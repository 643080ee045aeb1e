// bench_validate_simdjson.cpp - simdjson for bench_validate.c, behind a C interface: the bench
// is C, simdjson is C++. A full DOM parse is the fair peer of a validator: it checks every byte
// (UTF-8, numbers, structure), and simdjson has no cheaper call that does.
#include <simdjson.h>

#include <cstring>

extern "C" {
#include "bench_validate_simdjson.h"
}

#include <map>
#include <string>

// One parser per implementation: a parser runs the implementation that was active when it
// allocated its buffers (its first parse), whatever is active later.
static std::map<std::string, simdjson::dom::parser *> parsers;
static simdjson::dom::parser *parser;

extern "C" int sj_implementations(const char **names, int max)
{
    int n = 0;

    for (auto impl : simdjson::get_available_implementations())
        if (impl->supported_by_runtime_system() && n < max)
            names[n++] = impl->name().c_str();
    return n;
}

extern "C" int sj_use(const char *name)
{
    auto impl = simdjson::get_available_implementations()[name];

    if (!impl || !impl->supported_by_runtime_system())
        return -1;
    simdjson::get_active_implementation() = impl;
    auto &p = parsers[name];
    if (!p)
        p = new simdjson::dom::parser();
    parser = p;
    return 0;
}

extern "C" size_t sj_padding(void)
{
    return simdjson::SIMDJSON_PADDING;
}

extern "C" int sj_parse(const char *buf, size_t len)
{
    simdjson::dom::element doc;

    return parser->parse(buf, len, false).get(doc) == simdjson::SUCCESS ? 0 : -1;
}

extern "C" int sj_parse_many(const char *buf, size_t len, size_t batch, size_t *ret_docs)
{
    simdjson::dom::document_stream stream;
    size_t n = 0;

    if (parser->parse_many(buf, len, batch).get(stream) != simdjson::SUCCESS)
        return -1;
    for (auto doc : stream) {
        if (doc.error())
            return -1;
        n++;
    }
    *ret_docs = n;
    return 0;
}

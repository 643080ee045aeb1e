/*
 * bench_gen_rapidjson.cpp - RapidJSON's Writer and PrettyWriter for bench_gen.c: the document is
 * parsed once into a DOM, outside the clock; only the writing into a StringBuffer is timed. The
 * buffer is kept between calls and cleared, so that its growth is paid once, as the other
 * writers' buffers are allocated once.
 */
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace {
struct Doc {
    rapidjson::Document dom;
    rapidjson::StringBuffer out;
};
} // namespace

extern "C" void *bench_rj_load(const char *text)
{
    Doc *d = new Doc;

    d->dom.Parse(text);
    if (d->dom.HasParseError()) {
        delete d;
        return nullptr;
    }
    return d;
}

extern "C" size_t bench_rj_write(void *p, int pretty)
{
    Doc *d = static_cast<Doc *>(p);

    d->out.Clear();
    if (pretty) {
        rapidjson::PrettyWriter<rapidjson::StringBuffer> w(d->out);
        w.SetIndent(' ', 2);
        d->dom.Accept(w);
    } else {
        rapidjson::Writer<rapidjson::StringBuffer> w(d->out);
        d->dom.Accept(w);
    }
    return d->out.GetSize();
}

extern "C" void bench_rj_free(void *p)
{
    delete static_cast<Doc *>(p);
}

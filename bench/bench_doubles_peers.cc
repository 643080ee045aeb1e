// bench_doubles_peers.cc - the two peers of bench_doubles.c, behind C entry points: Google's
// double-conversion (ToShortest of the EcmaScript converter) and fmt 9 ("{}" is Dragonbox's
// shortest; as a runtime format string and compiled with FMT_COMPILE). Both write their own
// layout ("1e+21", "1" for 1.0): only the digits are the same job as libajio's.
#include <double-conversion/double-conversion.h>
#include <fmt/compile.h>
#include <fmt/format.h>

extern "C" int peer_double_conversion(char *out, double v)
{
    double_conversion::StringBuilder sb(out, 32);
    double_conversion::DoubleToStringConverter::EcmaScriptConverter().ToShortest(v, &sb);
    const int n = sb.position();
    sb.Finalize();
    return n;
}

extern "C" int peer_fmt(char *out, double v)
{
    char *end = fmt::format_to(out, "{}", v);
    *end = '\0';
    return static_cast<int>(end - out);
}

extern "C" int peer_fmt_compiled(char *out, double v)
{
    char *end = fmt::format_to(out, FMT_COMPILE("{}"), v);
    *end = '\0';
    return static_cast<int>(end - out);
}

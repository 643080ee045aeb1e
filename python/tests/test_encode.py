"""The C encoder (python/csrc/encode.c) against json.dumps: byte-identical output, the same
exceptions with the same words, and the refusals that are documented in encode.h.

The differential test draws values and keyword combinations with hypothesis; every comparison
helper is also run against a deliberately wrong reference (the negative controls) to prove that
it notices a difference.
"""

import collections
import enum
import json
import math
import os
import random
import struct
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import atomic_json_io as aj
from atomic_json_io import _ajio

dumps = _ajio.dumps

# make check draws 1,000 values, make check-python-heavy 10,000 (run-pytest.sh sets the variable).
EXAMPLES = int(os.environ.get("AJIO_HYPOTHESIS_EXAMPLES", "1000"))


# --- values -----------------------------------------------------------------------------------


class Color(enum.IntEnum):
    RED = 1
    BIG = 2**70


class MyInt(int):
    def __repr__(self):
        return "MyInt!"

    __str__ = __repr__


class MyFloat(float):
    def __repr__(self):
        return "MyFloat!"

    __str__ = __repr__


class MyStr(str):
    def __str__(self):
        return "MyStr!"


class MyList(list):
    pass


class MyDict(dict):
    pass


class Opaque:
    """Not serializable: only default= makes something of it."""

    def __init__(self, n):
        self.n = n


def default_fn(o):
    if isinstance(o, Opaque):
        return {"opaque": o.n, "items": [o.n, str(o.n)]}
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"cannot encode {type(o).__name__}")


finite = st.floats(allow_nan=False, allow_infinity=False)
special_floats = st.sampled_from(
    [0.0, -0.0, 1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5, 5e-324, 2.2250738585072014e-308,
     1.7976931348623157e308, 0.1, 1 / 3, 123456789.125, 1e22, 1e23, -1.5e-7]
)
ints = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**64) - 5, max_value=2**64 + 5),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64]),
)
# Lone surrogates are refused on purpose (encode.h), so the alphabet leaves them out.
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12
) | st.sampled_from(["", "\x7f", "\x00\x1f\"\\/", "\u2028\u2029", "\U0001f600x", "\xe9\xff\u0100"])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    finite,
    special_floats,
    texts,
    ints.map(MyInt),
    finite.map(MyFloat),
    texts.map(MyStr),
    st.sampled_from([Color.RED, Color.BIG]),
    st.integers(0, 99).map(Opaque),
    st.frozensets(st.integers(0, 9), max_size=3),
)
keys = st.one_of(
    texts,
    ints,
    finite,
    st.booleans(),
    st.none(),
    st.sampled_from([(1, 2), ("t",)]),  # refused unless skipkeys
)


def containers(children):
    return st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=5).map(tuple),
        st.lists(children, max_size=3).map(MyList),
        st.dictionaries(keys, children, max_size=5),
        st.dictionaries(texts, children, max_size=4),
        st.dictionaries(texts, children, max_size=3).map(MyDict),
        st.dictionaries(texts, children, max_size=3).map(collections.OrderedDict),
    )


values = st.recursive(scalars, containers, max_leaves=10)

SEPARATORS = [None, (",", ":"), (", ", ": "), (" , ", " :  "), (",\t", ":\n"), [",", ":"]]
INDENTS = [None, 0, 1, 2, 4, -3, "", " ", "   ", True]



def _combinations():
    """Every keyword combination, each option also left out; drawn as one choice so that the
    run's time goes into values and comparisons rather than into drawing nine options."""
    absent = object()
    options = {
        "skipkeys": [absent, False, True],
        "ensure_ascii": [absent, False, True],
        "check_circular": [absent, False],
        "allow_nan": [absent, False],
        "indent": [absent] + INDENTS,
        "separators": [absent] + SEPARATORS,
        "default": [absent, None, default_fn],
        "sort_keys": [absent, False, True],
        "cls": [absent, None],
    }
    combos = [{}]
    for name, choices in options.items():
        combos = [dict(c, **({} if v is absent else {name: v})) for c in combos for v in choices]
    return combos


KWARGS = _combinations()


def _kwargs_at(i):
    # A plain function: hypothesis describes a mapped strategy by its function, and a bound
    # method of KWARGS would be described with the whole list.
    return KWARGS[i]


kwargs = st.integers(0, len(KWARGS) - 1).map(_kwargs_at)


def outcome(fn, v, kw):
    """What fn(v, **kw) gives: ("ok", text) or ("error", type, message)."""
    try:
        return ("ok", fn(v, **kw))
    except (TypeError, ValueError, RecursionError, OverflowError) as e:
        return ("error", type(e), str(e))


def assert_same(v, kw, ref=json.dumps):
    expected = outcome(ref, v, kw)
    got = outcome(dumps, v, kw)
    assert got == expected, f"value {v!r} kwargs {kw!r}"


# --- the differential test ---------------------------------------------------------------------


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(values, kwargs)
def test_differential(v, kw):
    assert_same(v, kw)


@settings(
    max_examples=max(60, EXAMPLES * 6 // 100),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.recursive(scalars, containers, max_leaves=80), kwargs)
def test_differential_large_values(v, kw):
    # Fewer, bigger and deeper values than above: indentation many levels down, long arrays.
    assert_same(v, kw)


def _catches(ref):
    """The negative control: the comparison must fail against a wrong reference."""

    @settings(max_examples=2_000, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(values, kwargs)
    def prop(v, kw):
        assert_same(v, kw, ref)

    with pytest.raises(AssertionError):
        prop()


def test_differential_catches_wrong_float_format():
    def ref(v, **kw):
        s = json.dumps(v, **kw)
        return s.replace("e+", "e") if "e+" in s else s

    _catches(ref)


def test_differential_catches_wrong_escape():
    def ref(v, **kw):
        return json.dumps(v, **kw).replace("\\u00", "\\u00".upper())

    _catches(ref)


def test_differential_catches_wrong_error_text():
    def ref(v, **kw):
        try:
            return json.dumps(v, **kw)
        except TypeError as e:
            raise TypeError(str(e) + ".") from None

    _catches(ref)


# --- floats ----------------------------------------------------------------------------------


def test_float_repr_random_bits():
    rng = random.Random(20261130)
    vals = [-0.0, 0.0, 1e16, 5e-324, 1.7976931348623157e308, 1e-5, 1e-4, 9007199254740993.0]
    while len(vals) < 100_000:
        (d,) = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))
        if math.isfinite(d):
            vals.append(d)
    # One list keeps the Python overhead per value small; the comparison is over the whole text.
    assert dumps(vals) == json.dumps(vals)
    assert dumps({repr(v): v for v in vals[:5000]}, indent=1) == json.dumps(
        {repr(v): v for v in vals[:5000]}, indent=1
    )
    keyed = {v: 0 for v in vals[:5000]}
    assert dumps(keyed) == json.dumps(keyed)


@pytest.mark.parametrize(
    "v, text",
    [(-0.0, "-0.0"), (1e16, "1e+16"), (5e-324, "5e-324"),
     (1.7976931348623157e308, "1.7976931348623157e+308"), (1e-5, "1e-05"), (100.0, "100.0")],
)
def test_float_layout(v, text):
    assert dumps(v) == text == json.dumps(v)


@pytest.mark.parametrize("v", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("where", ["value", "key", "nested"])
def test_nan_refused_by_default(v, where):
    obj = {"value": v, "key": {v: 1}, "nested": [1, {"a": [v]}]}[where]
    with pytest.raises(ValueError) as ours:
        dumps(obj)
    with pytest.raises(ValueError) as theirs:
        json.dumps(obj, allow_nan=False)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError):
        dumps(obj, allow_nan=False)


@pytest.mark.parametrize("kw", [{"indent": "\t"}, {"separators": (";", "=")},
                                {"cls": json.JSONEncoder}])
def test_nan_refused_in_fallbacks(kw):
    # What C hands to the json module keeps the refusal, unless allow_nan=True says otherwise.
    with pytest.raises(ValueError, match="Out of range float"):
        dumps([1.0, {"x": math.nan}], **kw)
    assert dumps([math.inf], allow_nan=True, **kw) == json.dumps([math.inf], **kw)


def test_allow_nan_true_is_json_text():
    # Explicit allow_nan=True is the fallback to the json module: its (non-JSON) text.
    v = [math.nan, {"x": -math.inf}]
    assert dumps(v, allow_nan=True) == json.dumps(v) == '[NaN, {"x": -Infinity}]'


# --- ints, keys, sorting ------------------------------------------------------------------------


def test_big_ints_and_subclasses():
    v = [2**64, -(2**64), 10**300, Color.RED, Color.BIG, MyInt(5), MyFloat(2.5), True, MyStr("s")]
    assert dumps(v) == json.dumps(v)
    assert "MyInt!" not in dumps(v) and "MyFloat!" not in dumps(v)


def test_int_beyond_str_digits_limit():
    if not hasattr(sys, "set_int_max_str_digits"):
        pytest.skip("no int max str digits limit in this Python")
    big = 10**5000
    with pytest.raises(ValueError) as ours:
        dumps([big])
    with pytest.raises(ValueError) as theirs:
        json.dumps([big])
    assert str(ours.value) == str(theirs.value)


def test_keys_converted_as_json():
    d = {True: 1, False: 2, None: 3, 1.5: 4, 2: 5, -7.0: 6, 2**80: 7, Color.BIG: 8, "s": 9}
    assert dumps(d) == json.dumps(d)
    assert '"true": 1' in dumps(d) and '"null": 3' in dumps(d) and '"1.5": 4' in dumps(d)


@pytest.mark.parametrize("indent", [None, 2])
def test_bad_key_type(indent):
    for key in [(1, 2), frozenset(), b"x"]:
        assert outcome(dumps, {key: 1}, {"indent": indent}) == outcome(
            json.dumps, {key: 1}, {"indent": indent}
        )
        assert dumps({key: 1, "a": 2}, skipkeys=True, indent=indent) == json.dumps(
            {key: 1, "a": 2}, skipkeys=True, indent=indent
        )


@pytest.mark.parametrize("indent", [None, 0, 2, "  "])
def test_all_keys_skipped_layout(indent):
    # json's indented encoder opens the object before it sees the keys: "{\n  \n}".
    for v in [{(1,): 1}, [{(1,): 1}], {"a": [{(2,): 1}, {(3,): 2}]}]:
        assert dumps(v, skipkeys=True, indent=indent) == json.dumps(
            v, skipkeys=True, indent=indent
        )


@pytest.mark.parametrize("indent", [None, 2])
def test_sort_keys_mixed_types(indent):
    for d in [{1: 1, "a": 2}, {None: 1, True: 2}, {"b": 1, (1,): 2}, {1.5: 0, 2: 1, -1: 2}]:
        for skip in (False, True):
            kw = {"sort_keys": True, "indent": indent, "skipkeys": skip}
            assert outcome(dumps, d, kw) == outcome(json.dumps, d, kw)


# --- strings ------------------------------------------------------------------------------------


def test_escapes():
    s = "".join(chr(c) for c in range(0x00, 0x250)) + "\u2028\ufeff\uffff\U00010000\U0010ffff"
    for ea in (True, False):
        assert dumps(s, ensure_ascii=ea) == json.dumps(s, ensure_ascii=ea)
        assert dumps({s: s}, ensure_ascii=ea, indent=1) == json.dumps(
            {s: s}, ensure_ascii=ea, indent=1
        )
    assert dumps("\x7f") == '"\\u007f"' == json.dumps("\x7f")
    assert dumps("\U0001f600") == '"\\ud83d\\ude00"'


@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("where", ["value", "key"])
@pytest.mark.parametrize("s", ["ok\ud800", "\udc00x", "\ud800\ud800", "\ude00\ud83d", "x\udbff"])
def test_lone_surrogate_refused(ensure_ascii, where, s):
    obj = [s] if where == "value" else {s: 1}
    json.dumps(obj, ensure_ascii=ensure_ascii)  # json writes it
    with pytest.raises(ValueError, match="surrogate"):
        dumps(obj, ensure_ascii=ensure_ascii)


def test_surrogate_pair_code_points():
    # A str holding a pair as two code points: json writes both escapes, which read back as
    # the one character; without ensure_ascii its text would not be UTF-8.
    for s in ["\ud83d\ude00", "a\udbff\udfffb", "\ud800\udc00\ud83d\ude00"]:
        assert dumps([s]) == json.dumps([s])
        assert dumps({s: s}, indent=1) == json.dumps({s: s}, indent=1)
        with pytest.raises(ValueError, match="surrogate"):
            dumps([s], ensure_ascii=False)


# Strings are escaped from the str's own storage (1, 2 or 4 bytes per character, PEP 393), and
# dumps(ensure_ascii=False) copies the non-ASCII ones into its result in the result's kind: each
# storage kind, each boundary between what is copied, escaped or encoded, and the chunks of
# long strings.
BOUNDARY_CHARS = (
    [chr(c) for c in range(0x20)]
    + ['"', "\\", "/", "\x7f", "\x80", "\x9f", "\xa0", "\xe9", "\xff", "\u0100", "\u07ff",
       "\u0800", "\u2028", "\u2029", "\ud7ff", "\ue000", "\ufeff", "\ufffe", "\uffff",
       "\U00010000", "\U0001f600", "\U0010ffff"]
)
# What makes a str of each kind around a boundary character: nothing (ASCII or the character's
# own kind), a Latin-1 letter, a 2-byte and a 4-byte character.
KIND_MAKERS = ["", "\xe9", "\u4e2d", "\U0001f600"]
LAYOUTS = [{}, {"ensure_ascii": False}, {"indent": 2}, {"indent": 2, "ensure_ascii": False},
           {"separators": (",", ":"), "sort_keys": True}]


def _boundary_strings():
    out = []
    for c in BOUNDARY_CHARS:
        for maker in KIND_MAKERS:
            # 0 to 17 characters before it: every place in an 8-byte word, and past one
            for pre in (0, 1, 3, 7, 8, 9, 15, 16, 17):
                out.append("a" * pre + c + maker)
                out.append(maker + "b" * pre + c + c + "tail")
    return out


@pytest.mark.parametrize("kw", LAYOUTS)
def test_kind_boundaries(kw):
    strings = _boundary_strings()
    for s in strings:
        for v in (s, [s, "x", s], {s: s, "k": [s]}):
            assert dumps(v, **kw) == json.dumps(v, **kw), (s, kw)
    # All at once: dumps(ensure_ascii=False) builds one result of the widest kind.
    v = {s: [s, i] for i, s in enumerate(strings)}
    assert dumps(v, **kw) == json.dumps(v, **kw)


# Longer strings than the values above draw (up to 300 characters, any kind): the word-at-a-time
# loops and their tails, mixed kinds within one document.
long_texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300) | st.text(
    alphabet=st.sampled_from(["a", " ", "\n", '"', "\\", "\x7f", "\xe9", "\xff", "\u4e2d",
                              "\u2028", "\U0001f600"]),
    max_size=300,
)


@settings(
    max_examples=max(100, EXAMPLES // 4),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(long_texts, max_size=6), st.dictionaries(long_texts, long_texts, max_size=3),
       st.sampled_from([{}, {"ensure_ascii": False}, {"indent": 2},
                        {"indent": 1, "ensure_ascii": False, "sort_keys": True}]))
def test_differential_long_strings(lst, dct, kw):
    v = [lst, dct]
    assert dumps(v, **kw) == json.dumps(v, **kw)


def test_every_place_in_short_strings():
    # Strings of 1 to 40 characters with one character to escape or encode at each place: the
    # word-at-a-time tests, the load that ends at the end of the string and the overlapping
    # 4-byte loads of strings shorter than eight each see it at every offset.
    for filler in ("a", "\xe9", "\u4e2d"):
        for special in ("\n", '"', "\x7f", "\x80", "\xff", "\u0100", "\U0001f600", "z"):
            for n in range(1, 41):
                for at in range(n):
                    s = filler * at + special + filler * (n - at - 1)
                    for kw in ({}, {"ensure_ascii": False}):
                        assert dumps([s], **kw) == json.dumps([s], **kw), (s, kw)


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_result_kind_rises_along_the_document(ensure_ascii):
    # ASCII first, then Latin-1, 2-byte and 4-byte strs, as values and keys, with escapes in the
    # non-ASCII ones; and the other way round. The result compares equal to json's only if it
    # is the same kind (str equality compares kinds first).
    parts = ["plain", "caf\xe9\n", "\"\u4e2d\t\u6587\\", "\U0001f600\x00\u2028", "end"]
    for order in (parts, parts[::-1]):
        v = [{p: [p, 1.5, None]} for p in order] + order
        for kw in ({"ensure_ascii": ensure_ascii}, {"ensure_ascii": ensure_ascii, "indent": 1}):
            got = dumps(v, **kw)
            assert got == json.dumps(v, **kw)
    assert dumps(["\xe9"], ensure_ascii=False) == '["\xe9"]'
    assert dumps({"\xe9": "\U0001f600"}, ensure_ascii=False) == '{"\xe9": "\U0001f600"}'


@pytest.mark.parametrize("kw", LAYOUTS)
@pytest.mark.parametrize("maker", KIND_MAKERS)
def test_long_strings_across_windows(kw, maker):
    # Longer than the generator's 64 KiB window and than a chunk of a string (a few thousand
    # characters), with escapes and encoded characters around every boundary.
    rng = random.Random(len(maker) * 31 + len(kw))
    alphabet = ["a", "b", " ", "\n", '"', "\\", "\x7f", maker or "c"] + (
        ["\xe9", "\u4e2d", "\U0001f600"][: KIND_MAKERS.index(maker)] if maker else []
    )
    for n in (2_700, 2_722, 2_730, 5_449, 11_000, 70_000, 200_000):
        s = "".join(rng.choice(alphabet) for _ in range(n))
        for v in (s, [s, s[: n // 3], {s[:100]: s}]):
            assert dumps(v, **kw) == json.dumps(v, **kw), (n, maker, kw)


def test_surrogate_pair_across_a_chunk():
    # A pair of code points straddling the place where a long string's chunks meet: written as
    # the pair it is, whatever the chunk size (tried at every place near where chunks end).
    for n in range(2_700, 2_740):
        s = "x" * n + "\ud83d\ude00" + "\u4e2d" * 10 + "y" * 3000 + "\udbff\udfff"
        assert dumps([s]) == json.dumps([s])
        assert dumps({s: 1}, indent=2) == json.dumps({s: 1}, indent=2)
    # A high surrogate as the last character: there is no low one to pair with.
    for s in ["\u4e2d" * 3000 + "\ud83d", "x" * 2721 + "\ud83d", "\U0001f600" * 5000 + "\udc00"]:
        with pytest.raises(ValueError, match="surrogate"):
            dumps([s])


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_surrogate_error_names_the_index(ensure_ascii):
    for s, i in [("\ud800", 0), ("ab\udfff", 2), ("\xe9" * 9 + "\ud800x", 9),
                 ("\U0001f600" * 7000 + "\udc00", 7000), ("x" * 100_000 + "\ud800", 100_000)]:
        with pytest.raises(ValueError, match=r"surrogate \\u[0-9a-f]{4} at index %d," % i):
            dumps({"k": [s]}, ensure_ascii=ensure_ascii)


def test_deferred_strings_are_kept_alive():
    # dumps(ensure_ascii=False) copies its non-ASCII strs in at the end: those that default=
    # made and dropped (nothing else keeps them) must still be there, and str subclasses too.
    made = []

    def fresh(o):
        made.append(None)
        return ["\u4e2d\xe9" + str(o.n) * 50, MyStr("\U0001f600" + str(o.n))]

    v = [Opaque(i) for i in range(2000)] + [MyStr("caf\xe9"), {MyStr("\u4e2d"): MyStr("\xff")}]
    want = json.dumps(v, ensure_ascii=False, default=fresh)
    assert dumps(v, ensure_ascii=False, default=fresh) == want
    assert len(made) == 4000


def test_deferred_strings_released_after_an_error():
    # A failure after some strs were deferred: the refusal is json's, and the strs are not kept.
    s = "\u4e2d" * 50
    before = sys.getrefcount(s)
    for bad in ([s, s, float("nan")], [s, {s: object()}], {s: [s, "\ud800"]}):
        with pytest.raises((ValueError, TypeError)):
            dumps(bad, ensure_ascii=False)
    del bad
    assert sys.getrefcount(s) == before
    assert dumps([s, s], ensure_ascii=False) == json.dumps([s, s], ensure_ascii=False)
    assert sys.getrefcount(s) == before


# --- layout ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [{"indent": 0}, {"indent": -1}, {"indent": ""}, {"indent": "\t"}, {"indent": " \t"},
     {"indent": 300}, {"indent": 10**30}, {"indent": -(10**30)}, {"indent": 2.5},
     {"indent": False}, {"separators": (";", "=")}, {"separators": ("," * 20, ":")},
     {"separators": (",", ":"), "indent": 3}, {"separators": ("a", "b", "c")},
     {"separators": (1, 2)}],
)
def test_layout_kwargs(kw):
    for v in [[1, {"a": [2, {}], "b": []}], 5, {}]:
        assert outcome(dumps, v, kw) == outcome(json.dumps, v, kw)


def test_kwarg_errors():
    assert outcome(dumps, 1, {"bogus": 1}) == outcome(json.dumps, 1, {"bogus": 1})
    with pytest.raises(TypeError):
        dumps()
    with pytest.raises(TypeError):
        dumps(1, 2)
    assert dumps(obj=[1]) == json.dumps(obj=[1])


def test_cls_falls_back():
    class Enc(json.JSONEncoder):
        def default(self, o):
            return "custom"

    assert dumps([object()], cls=Enc) == json.dumps([object()], cls=Enc) == '["custom"]'
    assert dumps([1], cls=None) == "[1]"


# --- default, circular references, depth ------------------------------------------------------


def test_default():
    v = [Opaque(1), {"k": {3, 1}}]
    assert dumps(v, default=default_fn) == json.dumps(v, default=default_fn)
    assert outcome(dumps, v, {}) == outcome(json.dumps, v, {})
    assert outcome(dumps, {}.keys(), {}) == outcome(json.dumps, {}.keys(), {})

    def boom(o):
        raise KeyError("boom")

    with pytest.raises(KeyError):
        dumps([Opaque(1)], default=boom)
    # default returning its argument is a cycle json reports.
    assert outcome(dumps, Opaque(1), {"default": lambda o: o}) == outcome(
        json.dumps, Opaque(1), {"default": lambda o: o}
    )


def test_circular():
    a = []
    a.append(a)
    d = {}
    d["d"] = [1, d]
    for v in (a, d):
        assert outcome(dumps, v, {}) == outcome(json.dumps, v, {})
        assert outcome(dumps, v, {"indent": 2}) == ("error", ValueError,
                                                     "Circular reference detected")
        with pytest.raises(RecursionError):
            dumps(v, check_circular=False)
    # The same object twice, not nested, is no cycle.
    shared = [1, 2]
    assert dumps([shared, {"x": shared}]) == json.dumps([shared, {"x": shared}])
    # After an error the encoder's marks are gone: the same value encodes again.
    assert dumps([shared, shared]) == "[[1, 2], [1, 2]]"


def test_deep_nesting():
    limit = sys.getrecursionlimit()
    deep = []
    for _ in range(limit * 2):
        deep = [deep]
    with pytest.raises(RecursionError):
        dumps(deep)
    with pytest.raises(RecursionError):
        json.dumps(deep)
    shallow = []
    for _ in range(limit // 2):
        shallow = [shallow]
    assert dumps(shallow) == json.dumps(shallow)
    assert dumps(shallow, indent=1) == json.dumps(shallow, indent=1)


def test_mutation_in_default():
    # default= may change the containers being walked: json snapshots a dict's items and
    # re-reads a list's length, and so must the encoder (without crashing).
    def run(fn):
        lst = [Opaque(0), Opaque(1), Opaque(2)]
        d = {"a": Opaque(0), "b": 1, "c": Opaque(2)}

        def shrink(o):
            lst.clear()
            d.clear()
            return o.n

        return fn(lst, default=shrink), fn(d, default=shrink)

    assert run(dumps) == run(json.dumps)


def test_mutation_by_items_is_safe():
    # A dict subclass's items() runs Python code in the middle of the walk; here it empties the
    # exact dict that holds it, whose last reference to it is gone then. Nothing may crash.
    class Clearing(dict):
        def items(self):
            parent.clear()
            return super().items()

    for _ in range(50):
        # The list is then freed while its items are being written, unless it is held.
        parent = {"a": [Clearing(x=[1, 2]), "after", ["more"] * 3], "b": Clearing(y=4)}
        assert dumps(parent).startswith('{"a": [{"x": [1, 2]}, "after", ["more", "more", "more"]]')


def test_big_document_through_the_sink():
    # More than one 64 KiB window of the generator.
    v = [{"id": i, "name": "n\xe9" * 20, "vals": [i * 0.5, None, True]} for i in range(5000)]
    for kw in ({}, {"indent": 2}, {"ensure_ascii": False}, {"sort_keys": True, "indent": 1}):
        assert dumps(v, **kw) == json.dumps(v, **kw)


def test_fallbacks_do_not_call_a_json_dumps_that_is_ours(tmp_path, monkeypatch):
    # A program that sets json.dumps = atomic_json_io.dumps: what C leaves to the json module
    # (allow_nan=True, cls=) must reach json's own dumps, not recurse into ours for ever.
    import json as json_module

    real = json_module.dumps
    monkeypatch.setattr(json_module, "dumps", aj.dumps)
    assert aj.dumps([float("nan")], allow_nan=True) == "[NaN]"
    assert aj.dumps({"a": 1}, cls=json_module.JSONEncoder) == real({"a": 1})
    p = tmp_path / "x.json"
    assert aj.write_json_atomic(p, {"a": 1}, cls=json_module.JSONEncoder)
    assert p.read_text() == real({"a": 1}, indent=2) + "\n"
    aj.update_json_atomic(p, lambda v: dict(v, b=2), cls=json_module.JSONEncoder)
    assert json_module.loads(p.read_text()) == {"a": 1, "b": 2}
    q = tmp_path / "x.jsonl"
    aj.write_jsonl_atomic(q, [1, {"a": 2}], cls=json_module.JSONEncoder)
    aj.append_jsonl(q, [3], cls=json_module.JSONEncoder)
    assert q.read_text() == '1\n{"a": 2}\n3\n'

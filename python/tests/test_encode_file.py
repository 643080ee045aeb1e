"""The encoder on its file path: a generator attached to the temp file of an atomic write.

write_json_atomic's file is json.dumps(data, indent=2) + "\\n" unless the keyword arguments say
otherwise (indent defaults to 2 there, everything else to json.dumps's own), and JSON Lines
records are json.dumps(record, **kw) + "\\n" each. An encoding error fails the write and leaves
the target as it was, whatever the generator had already written to the temp.
"""

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import atomic_json_io as aj
from test_encode import Opaque, default_fn, values

FILE_KWARGS = [
    {},
    {"indent": None},
    {"indent": 4, "sort_keys": True},
    {"ensure_ascii": False},
    {"separators": (",", ":"), "indent": None},
    {"indent": "\t"},  # not spaces: the json module's text
    {"default": default_fn, "skipkeys": True},
]


def expected_file(v, kw):
    return (json.dumps(v, **{"indent": 2, **kw}) + "\n").encode("utf-8")


def file_outcome(path, v, kw):
    try:
        aj.write_json_atomic(path, v, durable=False, **kw)
    except (TypeError, ValueError) as e:
        return ("error", type(e), str(e))
    with open(path, "rb") as f:
        return ("ok", f.read())


def json_outcome(v, kw, expected=expected_file):
    try:
        return ("ok", expected(v, kw))
    except (TypeError, ValueError) as e:
        return ("error", type(e), str(e))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("encode_file")


def _settings(n):
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large
        ],
    )


@_settings(250)
@given(values, st.sampled_from(FILE_KWARGS))
def test_file_layout(workdir, v, kw):
    path = os.path.join(workdir, "doc.json")
    assert file_outcome(path, v, kw) == json_outcome(v, kw)


def test_file_layout_catches_missing_newline(workdir):
    # Negative control: the comparison notices a file that lacks json's layout by one byte.
    path = os.path.join(workdir, "neg.json")

    @_settings(200)
    @given(values, st.sampled_from(FILE_KWARGS))
    def prop(v, kw):
        assert file_outcome(path, v, kw) == json_outcome(
            v, kw, lambda v, kw: json.dumps(v, **{"indent": 2, **kw}).encode("utf-8")
        )

    with pytest.raises(AssertionError):
        prop()


@_settings(120)
@given(st.lists(values, max_size=6), st.sampled_from([{}, {"sort_keys": True},
                                                      {"separators": (",", ":")},
                                                      {"ensure_ascii": False}]))
def test_jsonl_records(workdir, records, kw):
    path = os.path.join(workdir, "doc.jsonl")
    try:
        want = "".join(json.dumps(r, **kw) + "\n" for r in records).encode("utf-8")
    except (TypeError, ValueError) as e:
        with pytest.raises(type(e)):
            aj.write_jsonl_atomic(path, records, durable=False, **kw)
        return
    aj.write_jsonl_atomic(path, records, durable=False, **kw)
    with open(path, "rb") as f:
        assert f.read() == want


def test_jsonl_refuses_indent(workdir):
    with pytest.raises(ValueError, match="indent"):
        aj.write_jsonl_atomic(os.path.join(workdir, "x.jsonl"), [{"a": 1}], indent=2)


@pytest.mark.parametrize(
    "bad, exc",
    [(object(), TypeError), (float("nan"), ValueError), ("\ud800", ValueError),
     ({(1, 2): 0}, TypeError)],
)
def test_error_leaves_target(workdir, snapshot, bad, exc):
    # The bad value comes after more than one 64 KiB window of good text, so the generator has
    # already written to the temp when the walk fails.
    path = os.path.join(workdir, "keep.json")
    aj.write_json_atomic(path, {"old": True}, durable=False)
    before = snapshot(path)
    doc = {"big": ["x" * 100] * 2000, "bad": [1, {"deep": bad}]}
    with pytest.raises(exc):
        aj.write_json_atomic(path, doc, durable=False)
    assert snapshot(path) == before
    assert not [n for n in os.listdir(workdir) if ".ajio-" in n]
    with pytest.raises(exc):
        aj.write_jsonl_atomic(path, [{"ok": 1}] * 3000 + [bad], durable=False)
    assert snapshot(path) == before


def test_default_result_and_cycle_in_file(workdir):
    path = os.path.join(workdir, "d.json")
    v = [Opaque(3), {"s": {2, 1}}]
    assert file_outcome(path, v, {"default": default_fn}) == json_outcome(
        v, {"default": default_fn}
    )
    a = []
    a.append({"a": a})
    assert file_outcome(path, a, {}) == ("error", ValueError, "Circular reference detected")


def test_encoder_is_not_reentrant(workdir):
    # One encoder, one walk at a time: default= that uses the same encoder again is refused,
    # and the outer write fails with the target untouched.
    from atomic_json_io import _ajio

    path = os.path.join(workdir, "outer.json")
    inner = os.path.join(workdir, "inner.json")

    def again(o):
        return _ajio.write_json(inner, [1], 0, 0, enc, False)

    enc = _ajio.make_encoder({"default": again}, False)
    with pytest.raises(RuntimeError, match="already encoding"):
        _ajio.write_json(path, [Opaque(1)], 0, 0, enc, False)
    assert not os.path.exists(path) and not os.path.exists(inner)
    # Negative control: the same default with a fresh encoder works.
    enc2 = _ajio.make_encoder({}, False)

    def fresh(o):
        _ajio.write_json(inner, [1], 0, 0, enc2, False)
        return o.n

    _ajio.write_json(path, [Opaque(7)], 0, 0, _ajio.make_encoder({"default": fresh}, False),
                     False)
    with open(path, "rb") as f:
        assert f.read() == b"[\n  7\n]\n"

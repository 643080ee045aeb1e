"""read_jsonl's invalid lines raise JSONLDecodeError, a json.JSONDecodeError that code written
for the json module already catches, with the line as doc and the file's line number."""

import json
import os
import pickle
import subprocess

import pytest

import atomic_json_io as aj
from atomic_json_io import JSONLDecodeError, read_jsonl


def first_error(path):
    with pytest.raises(JSONLDecodeError) as info:
        list(read_jsonl(path))
    return info.value


def test_is_a_json_decode_error(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"a": 1}\n{"b": x}\n')
    caught = None
    try:
        list(read_jsonl(p))
    except json.JSONDecodeError as e:  # what code written for json.loads catches
        caught = e
    assert isinstance(caught, JSONLDecodeError) and isinstance(caught, ValueError)
    assert "JSONLDecodeError" in aj.__all__


def test_plain_value_error_escapes_json_handlers(tmp_path):
    # Negative control: the reader without the factory raises what read_jsonl raised before, a
    # ValueError that an "except json.JSONDecodeError" clause lets through.
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"b": x}\n')
    reader = aj._ajio.Reader(p, aj._ajio.JSONL, json.loads)
    with pytest.raises(ValueError) as info:
        try:
            next(reader)
        except json.JSONDecodeError:
            pass
    assert not isinstance(info.value, json.JSONDecodeError)


def test_attributes(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'1\n2\n{"b": x}\n')
    e = first_error(p)
    assert e.doc == '{"b": x}'
    assert e.doc[e.pos] == "x"
    assert (e.lineno, e.colno, e.pos) == (3, 7, 6)
    assert e.path == p
    assert e.msg == "expected a value after ':', found 'x'"
    # the message is libajio's, unchanged: "PATH:LINE:COL: reason"
    assert str(e) == "%s:3:7: %s" % (p, e.msg)


@pytest.mark.parametrize(
    "line, bad",
    [
        (b"[1, 2,]", "]"),
        (b'{"a" 1}', "1"),
        (b"tru", None),  # ends too early: pos is len(doc)
        (b"  nul", None),
        (b'"x" "y"', '"'),
        (b"[1]\r x", "x"),  # a "\r" is whitespace, kept in doc
    ],
)
def test_pos_points_at_the_offending_character(tmp_path, line, bad):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"0\n" + line + b"\n")
    e = first_error(p)
    assert e.doc == line.decode()
    assert e.lineno == 2
    if bad is None:
        assert e.pos == len(e.doc)
    else:
        assert e.doc[e.pos] == bad
    assert e.colno == e.pos + 1


def test_non_ascii_line_counts_characters_in_pos(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes('["été", ü]\n'.encode())
    e = first_error(p)
    assert e.doc[e.pos] == "ü"
    assert e.colno == 9
    # str(e) keeps libajio's column, in bytes: "été" is 5 bytes
    assert str(e) == "%s:1:11: %s" % (p, e.msg)


def test_invalid_utf8_line(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'["ok", "\xff"]\n')
    e = first_error(p)
    assert e.doc == '["ok", "\ufffd"]'
    assert e.doc[e.pos] == "\ufffd"
    assert ":1:9: " in str(e)


def test_iteration_goes_on_after_an_error(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"1\n{\n3\n[\n5\n")
    r = read_jsonl(p)
    got, errors = [], []
    while True:
        try:
            got.append(next(r))
        except StopIteration:
            break
        except json.JSONDecodeError as e:
            errors.append(e.lineno)
    assert got == [1, 3, 5] and errors == [2, 4]


def test_pickle_keeps_everything(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"[1,,2]\n")
    e = first_error(p)
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is JSONLDecodeError
    assert (e2.msg, e2.doc, e2.pos, e2.lineno, e2.colno, e2.path, str(e2)) == (
        e.msg, e.doc, e.pos, e.lineno, e.colno, e.path, str(e)
    )


def test_bytes_path_is_kept_and_decoded_in_message(tmp_path):
    p = os.fsencode(tmp_path / "b\xe9.jsonl")
    with open(p, "wb") as f:
        f.write(b"{]\n")
    e = first_error(p)
    assert e.path == p
    assert str(e).startswith(os.fsdecode(p) + ":1:2: ")


def test_constructed_by_hand():
    e = JSONLDecodeError("bad thing", "[1, é, 2]", 5, 7, "f.jsonl")
    assert str(e) == "f.jsonl:7:7: bad thing"  # é is 2 bytes: COL in bytes
    assert (e.lineno, e.colno) == (7, 6)
    assert str(JSONLDecodeError("m", "x", 0)) == "<input>:1:1: m"


def test_message_is_the_clis(tmp_path):
    ajio = os.path.join(os.environ.get("AJIO_BUILD", ""), "ajio")
    if not os.access(ajio, os.X_OK):
        pytest.skip("no ajio binary in $AJIO_BUILD")
    p = tmp_path / "a.jsonl"
    p.write_bytes('1\n{"é": tru}\n[1 2]\n'.encode())
    errors = []
    r = read_jsonl(p)
    for _ in range(3):
        try:
            next(r)
        except JSONLDecodeError as e:
            errors.append(str(e))
    cli = subprocess.run([ajio, "cat", "--jsonl", str(p)], capture_output=True, text=True)
    assert cli.returncode == 65
    assert cli.stderr.splitlines() == errors

"""Every path argument of the public API takes str, bytes (a name that is not UTF-8 included) and
os.PathLike (pathlib.Path, and one whose __fspath__ returns bytes)."""

import json
import logging
import os
import pathlib

import pytest

import atomic_json_io as aj


class BytesPathLike:
    """An os.PathLike whose __fspath__ gives bytes."""

    def __init__(self, path):
        self._path = os.fsencode(path)

    def __fspath__(self):
        return self._path


KINDS = {
    "str": str,
    "Path": pathlib.Path,
    "bytes": os.fsencode,
    "PathLike-bytes": BytesPathLike,
}


@pytest.fixture(params=sorted(KINDS))
def kind(request):
    return KINDS[request.param]


# A name that is not UTF-8 (a Latin-1 "é"): bytes are how a program reaches it.
ODD = b"caf\xe9"


def odd(tmp_path, suffix):
    """tmp_path / ODD + suffix as bytes, and the same name as os.listdir(bytes) shows it."""
    return os.path.join(os.fsencode(tmp_path), ODD + suffix), ODD + suffix


def test_write_functions(tmp_path, kind):
    p = tmp_path / "a.json"
    assert aj.write_json_atomic(kind(p), {"a": 1}) is True
    assert json.loads(p.read_text()) == {"a": 1}
    aj.write_text_atomic(kind(p), "text")
    assert p.read_text() == "text\n"
    aj.write_jsonl_atomic(kind(p), [1, 2])
    assert p.read_text() == "1\n2\n"
    aj.write_jsonl_atomic(kind(p), [3], cls=json.JSONEncoder)  # the json-module path
    assert p.read_text() == "3\n"


def test_update_append_read(tmp_path, kind):
    p = tmp_path / "c.json"
    assert aj.update_json_atomic(kind(p), lambda n: n + 1, default=0) == 1
    assert aj.update_json_atomic(kind(p), lambda n: n + 1) == 2
    with pytest.raises(FileNotFoundError) as info:
        aj.update_json_atomic(kind(tmp_path / "none.json"), lambda n: n)
    assert os.fsencode(info.value.filename) == os.fsencode(tmp_path / "none.json")
    q = tmp_path / "log.jsonl"
    assert aj.append_jsonl(kind(q), [{"a": 1}]) == 1
    with aj.open_jsonl_log(kind(q)) as log:
        log.append([2])
    with aj.JsonlLog(kind(q)) as log:
        log.append([3])
    assert list(aj.read_jsonl(kind(q))) == [{"a": 1}, 2, 3]
    with aj.JsonlReader(kind(q)) as r:
        assert next(r) == {"a": 1}


def test_open_atomic_and_handler(tmp_path, kind):
    p = tmp_path / "f.txt"
    with aj.open_atomic(kind(p)) as f:
        f.write("x")
    assert f.name == os.fspath(kind(p))
    with aj.open_atomic(kind(p), "wb") as f:
        f.write(b"y")
    assert p.read_bytes() == b"y"
    q = tmp_path / "h.jsonl"
    h = aj.JsonlHandler(kind(q), fields=["message"])
    try:
        h.handle(logging.LogRecord("n", logging.INFO, "", 0, "m", (), None))
    finally:
        h.close()
    assert q.read_text() == '{"message": "m"}\n'


def test_batch_transaction_sweep(tmp_path, kind):
    with aj.batch() as b:
        b.write_json(kind(tmp_path / "b1.json"), 1)
        b.write_text(kind(tmp_path / "b2.txt"), "t")
    assert (tmp_path / "b1.json").read_text() == "1\n"
    assert [err for _, err in b.results()] == [None, None]
    d = tmp_path / "set"
    with aj.transaction(kind(d)) as t:
        t.write_json(kind("a.json"), 1)
        t.write_text(kind("b.txt"), "b")
        t.write_bytes(kind("c.bin"), b"c")
    with aj.transaction(kind(d)) as t:
        t.remove(kind("c.bin"))
    assert sorted(n for n in os.listdir(d) if not n.startswith(".")) == ["a.json", "b.txt"]
    assert aj.recover(kind(d)) is False
    assert aj.sweep(kind(d), kind("a.json"), min_age=0) == 0
    assert ".c.bin.ajio-lock" in os.listdir(d)
    assert aj.sweep(kind(d), min_age=0, locks=True) >= 1  # the lock of the removed c.bin
    assert ".c.bin.ajio-lock" not in os.listdir(d)


def test_publish_and_snapshot(tmp_path, kind):
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.json").write_text('{"v": 1}\n')
    name = tmp_path / "site"
    aj.publish(kind(src), kind(name))
    with aj.open_snapshot(kind(name)) as s:
        assert s.read_json(kind("index.json")) == {"v": 1}
        assert s.read_bytes(kind("index.json")) == b'{"v": 1}\n'
        assert s.read_text(kind("index.json")) == '{"v": 1}\n'
        with s.open(kind("index.json"), "rb") as f:
            assert f.read() == b'{"v": 1}\n'
    with aj.Snapshot(kind(name)) as s:
        assert s.read_json("index.json") == {"v": 1}
    src2 = tmp_path / "src2"
    src2.mkdir()
    (src2 / "index.json").write_text('{"v": 2}\n')
    aj.publish(kind(src2), kind(name), move=True)
    assert aj.snapshot_gc(kind(name)) == 0


def test_names_that_are_not_utf8(tmp_path):
    p, listed = odd(tmp_path, b".json")
    aj.write_json_atomic(p, [1])
    assert listed in os.listdir(os.fsencode(tmp_path))
    assert aj.update_json_atomic(p, lambda v: v + [2]) == [1, 2]
    q, _ = odd(tmp_path, b".jsonl")
    aj.append_jsonl(q, ["x"])
    assert list(aj.read_jsonl(q)) == ["x"]
    with aj.open_atomic(p, "wb") as f:
        f.write(b"[3]\n")
    with open(p, "rb") as f:
        assert f.read() == b"[3]\n"
    # The message of an invalid line decodes the name as the filesystem does.
    with open(q, "ab") as f:
        f.write(b"{\n")
    with pytest.raises(aj.JSONLDecodeError) as info:
        list(aj.read_jsonl(q))
    assert info.value.path == q
    assert str(info.value).startswith(os.fsdecode(q) + ":2:")


def test_not_a_path_is_refused(tmp_path):
    # Negative control: an object that is not a path is a TypeError, not written somewhere.
    for bad in (3, None, object(), ["a.json"]):
        with pytest.raises(TypeError):
            aj.write_json_atomic(bad, 1)
        with pytest.raises(TypeError):
            aj.read_jsonl(bad)
        with pytest.raises(TypeError):
            aj.open_atomic(bad)
        with pytest.raises(TypeError):
            aj.JsonlHandler(bad)
    assert os.listdir(tmp_path) == []

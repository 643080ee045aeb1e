"""open_atomic(): a file object committed on a clean exit of its with block, nothing changed when
the block raises; text and binary, as open() would give them."""

import gc
import io
import json
import os
import stat

import pytest

import atomic_json_io as aj
from atomic_json_io import AtomicBinaryFile, AtomicTextFile, open_atomic

from conftest import leftovers


def test_json_dump_into_it(tmp_path):
    p = tmp_path / "c.json"
    data = {"name": "demo", "list": [1, 2.5, None, "é"], "nested": {"a": True}}
    with open_atomic(p) as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    assert p.read_text(encoding="utf-8") == json.dumps(data, indent=2) + "\n"
    assert f.closed
    assert leftovers(tmp_path) == []


def test_raising_block_changes_nothing(tmp_path, snapshot):
    p = tmp_path / "c.json"
    p.write_text("old\n")
    before = snapshot(p)
    with pytest.raises(KeyError):
        with open_atomic(p) as f:
            f.write("new content\n" * 10000)
            f.flush()
            raise KeyError("boom")
    assert snapshot(p) == before
    assert f.closed
    assert leftovers(tmp_path) == []
    # Negative control: the same block with open() leaves a changed file, which the check sees.
    with pytest.raises(KeyError):
        with open(p, "w") as g:
            g.write("new content\n")
            raise KeyError("boom")
    assert snapshot(p) != before


def test_nothing_visible_before_commit(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("old\n")
    with open_atomic(p) as f:
        f.write("new\n")
        f.flush()
        assert p.read_text() == "old\n"
    assert p.read_text() == "new\n"
    # Negative control: a flush of open()'s file is visible at once.
    with open(p, "w") as g:
        g.write("plain\n")
        g.flush()
        assert p.read_text() == "plain\n"


def test_missing_target_is_created_only_at_commit(tmp_path):
    p = tmp_path / "sub" / "new.txt"
    f = open_atomic(p)
    f.write("x")
    assert not p.exists()
    assert f.commit() is True
    assert p.read_text() == "x"


def test_binary(tmp_path):
    p = tmp_path / "b.bin"
    chunk = bytes(range(256))
    with open_atomic(p, "wb") as f:
        assert isinstance(f, AtomicBinaryFile) and isinstance(f, io.BufferedWriter)
        assert f.write(chunk) == 256
        f.writelines([b"a", bytearray(b"b"), memoryview(b"c")])
        f.write(chunk * 4096)  # larger than every buffer
        with pytest.raises(TypeError):
            f.write("text")
    assert p.read_bytes() == chunk + b"abc" + chunk * 4096


def test_text_options(tmp_path):
    p = tmp_path / "t.txt"
    with open_atomic(p) as f:
        assert isinstance(f, AtomicTextFile) and isinstance(f, io.TextIOWrapper)
        assert f.encoding == "utf-8"  # not the locale's
        print("é", "ü", file=f)
        f.writelines(["a\n", "b\n"])
    assert p.read_bytes() == "é ü\na\nb\n".encode()
    with open_atomic(p, newline="\r\n") as f:
        f.write("a\nb\n")
    assert p.read_bytes() == b"a\r\nb\r\n"
    for encoding in ("utf-16", "utf-32", "utf-8-sig", "utf-16-le"):
        with open_atomic(p, "w", encoding=encoding) as f:
            f.write("hé")
            f.write("!")
        with open(tmp_path / "plain", "w", encoding=encoding) as g:
            g.write("hé")
            g.write("!")
        assert p.read_bytes() == (tmp_path / "plain").read_bytes()  # one BOM, as open() writes
    assert p.read_bytes() == "hé!".encode("utf-16-le")
    with open_atomic(p, "w", encoding="utf-16"):
        pass
    assert p.read_bytes() == b""  # nothing written, no BOM either
    with open_atomic(p, encoding="ascii", errors="replace") as f:
        f.write("hé")
    assert p.read_bytes() == b"h?"
    with pytest.raises(UnicodeEncodeError):
        with open_atomic(p, encoding="ascii") as f:
            f.write("é")
    assert p.read_bytes() == b"h?"


def test_without_with(tmp_path, snapshot):
    p = tmp_path / "c.txt"
    f = open_atomic(p)
    f.write("one\n")
    assert f.commit() is True
    assert p.read_text() == "one\n"
    with pytest.raises(ValueError):
        f.commit()  # only once
    f.abort()  # harmless after a commit
    assert p.read_text() == "one\n"

    f = open_atomic(p)
    f.write("two\n")
    f.abort()
    assert f.closed and p.read_text() == "one\n"
    with pytest.raises(ValueError):
        f.write("x")

    f = open_atomic(p)
    f.write("three\n")
    f.close()  # a close without a commit discards
    assert p.read_text() == "one\n"

    f = open_atomic(p, "wb")
    f.write(b"four\n")
    del f  # dropped: discarded, no warning, no temp left
    gc.collect()
    assert p.read_text() == "one\n"
    assert leftovers(tmp_path) == []


def test_skip_unchanged_commit_returns_false(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("same\n")
    f = open_atomic(p, skip_unchanged=True)
    f.write("same\n")
    assert f.commit() is False
    f = open_atomic(p, skip_unchanged=True)
    f.write("other\n")
    assert f.commit() is True
    assert p.read_text() == "other\n"


def test_attributes(tmp_path):
    p = tmp_path / "c.txt"
    with open_atomic(p) as f:
        assert f.name == str(p)
        assert f.mode == "w"
        assert f.writable() and not f.readable() and not f.seekable()
        assert not f.closed
        # The temp file's descriptor belongs to the handle: not exposed.
        with pytest.raises(io.UnsupportedOperation):
            f.fileno()
    with open_atomic(os.fsencode(p), "wb") as g:
        assert g.name == os.fsencode(p) and g.mode == "wb"
        with pytest.raises(io.UnsupportedOperation):
            g.fileno()


def test_modes_refused(tmp_path):
    p = tmp_path / "c.txt"
    for mode in ("a", "r+", "w+", "x+", "r", "rb", "ab", "wx", "", "wbt", 1):
        with pytest.raises(ValueError):
            open_atomic(p, mode)
    with pytest.raises(ValueError):
        open_atomic(p, "wb", encoding="utf-8")
    with pytest.raises(ValueError):
        open_atomic(p, "w", newline="x")
    with pytest.raises(LookupError):
        open_atomic(p, encoding="no-such-codec")
    assert not p.exists() and leftovers(tmp_path) == []


def test_options(tmp_path):
    p = tmp_path / "c.txt"
    with open_atomic(p, mode_bits=0o600, durable=False) as f:
        f.write("x")
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    os.chmod(p, 0o640)
    with open_atomic(p) as f:
        f.write("y")
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640  # kept
    with pytest.raises(FileNotFoundError):
        open_atomic(tmp_path / "missing" / "c.txt", mkdir=False)
    link = tmp_path / "link"
    link.symlink_to(p)
    with open_atomic(link) as f:
        f.write("via link")
    assert link.is_symlink() and p.read_text() == "via link"


def test_create_only_and_x_modes(tmp_path, snapshot):
    p = tmp_path / "c.txt"
    with open_atomic(p, "x") as f:
        assert f.mode == "x"
        f.write("first\n")
    with pytest.raises(FileExistsError):
        open_atomic(p, "xb")  # at the open, as open()'s "x"
    with pytest.raises(FileExistsError):
        open_atomic(p, create_only=True)
    # A target created between the open and the commit: the commit fails, that file stays.
    q = tmp_path / "d.txt"
    f = open_atomic(q, "xb")
    assert f.mode == "xb"
    f.write(b"mine\n")
    q.write_text("theirs\n")
    before = snapshot(q)
    with pytest.raises(FileExistsError):
        f.commit()
    assert f.closed and snapshot(q) == before
    assert leftovers(tmp_path) == []


def test_exported():
    for name in ("open_atomic", "AtomicTextFile", "AtomicBinaryFile"):
        assert name in aj.__all__ and hasattr(aj, name)

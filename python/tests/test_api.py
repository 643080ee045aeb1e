"""The public API: the original package's calls, path types, every keyword, error mapping."""

import errno
import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import warnings

import pytest

import atomic_json_io as aj
from atomic_json_io import (
    NotDurableError,
    write_json_atomic,
    write_jsonl_atomic,
    write_text_atomic,
)

from conftest import leftovers


# ---- the original package's three README examples, unchanged -----------------------------------


def test_readme_examples(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from pathlib import Path

    from atomic_json_io import write_json_atomic, write_jsonl_atomic, write_text_atomic

    write_json_atomic(Path("config.json"), {"name": "demo", "debug": True, "port": 8080})
    write_text_atomic(Path("notes.md"), "# Notes\n\nWritten atomically.")
    write_jsonl_atomic(
        Path("events.jsonl"),
        [{"event": "start", "id": 1}, {"event": "tick", "id": 2}, {"event": "stop", "id": 3}],
    )

    assert Path("config.json").read_text() == (
        '{\n  "name": "demo",\n  "debug": true,\n  "port": 8080\n}\n'
    )
    assert Path("notes.md").read_text() == "# Notes\n\nWritten atomically.\n"
    assert Path("events.jsonl").read_text() == (
        '{"event": "start", "id": 1}\n{"event": "tick", "id": 2}\n{"event": "stop", "id": 3}\n'
    )
    assert leftovers(tmp_path) == []


# ---- path types ---------------------------------------------------------------------------------


class MyPath:
    """A custom os.PathLike, as a user's own path class would be."""

    def __init__(self, p):
        self.p = p

    def __fspath__(self):
        return self.p


def _path_kinds(tmp_path):
    s = str(tmp_path / "kind.json")
    return {
        "str": s,
        "bytes": os.fsencode(s),
        "Path": pathlib.Path(s),
        "PurePosixPath": pathlib.PurePosixPath(s),
        "custom str PathLike": MyPath(s),
        "custom bytes PathLike": MyPath(os.fsencode(s)),
    }


@pytest.mark.parametrize(
    "kind", ["str", "bytes", "Path", "PurePosixPath", "custom str PathLike", "custom bytes PathLike"]
)
def test_every_path_type(tmp_path, kind):
    p = _path_kinds(tmp_path)[kind]
    target = tmp_path / "kind.json"
    write_json_atomic(p, {"k": kind})
    assert json.loads(target.read_text()) == {"k": kind}
    write_text_atomic(p, kind)
    assert target.read_text() == kind + "\n"
    write_jsonl_atomic(p, [1, 2])
    assert target.read_text() == "1\n2\n"
    aj.append_jsonl(p, [3])
    assert list(aj.read_jsonl(p)) == [1, 2, 3]
    write_json_atomic(p, 41)
    assert aj.update_json_atomic(p, lambda v: v + 1) == 42
    assert target.read_text() == "42\n"


def test_path_not_utf8(tmp_path):
    p = os.fsencode(str(tmp_path)) + b"/caf\xe9.json"
    write_json_atomic(p, [1])
    assert open(p, "rb").read() == b"[\n  1\n]\n"


@pytest.mark.parametrize("bad", [None, 3, 1.5, object()])
def test_path_wrong_type(tmp_path, bad):
    with pytest.raises(TypeError):
        write_json_atomic(bad, {})


def test_path_embedded_nul(tmp_path):
    with pytest.raises(ValueError):
        write_json_atomic(str(tmp_path / "a\0b"), {})
    assert os.listdir(tmp_path) == []


# ---- layout and json.dumps keyword arguments ----------------------------------------------------

DOC = {
    "name": "démo ✓ 😀",
    "b": [1, 2.5, -0.0, 1e300, None, True, False, 10**30],
    "nested": {"z": [], "a": {}, "k": [{"x": "\u007f\x01\n"}]},
    "keys": {3: "int", 2.5: "float", True: "bool", None: "null"},
}

KW_CASES = [
    {},
    {"indent": None},
    {"indent": 0},
    {"indent": 4},
    {"indent": "  "},
    {"indent": "\t"},  # not spaces: the json-module fallback
    {"sort_keys": True, "indent": 2},
    {"ensure_ascii": False},
    {"separators": (",", ":"), "indent": None},
    {"separators": (" , ", " : ")},
    {"skipkeys": True},
    {"check_circular": False},
    {"allow_nan": False},
    {"cls": json.JSONEncoder},
    {"default": str},
]


def _expected_doc(kw):
    full = dict(kw)
    full.setdefault("indent", 2)
    return json.dumps(DOC, **full) + "\n"


@pytest.mark.parametrize("kw", KW_CASES, ids=lambda kw: repr(kw))
def test_json_layout_matches_json_dumps(tmp_path, kw):
    target = tmp_path / "doc.json"
    try:
        expected = _expected_doc(kw)
    except Exception as e:  # json.dumps refuses (sort_keys over mixed keys): so must we
        with pytest.raises(type(e)):
            write_json_atomic(target, DOC, **kw)
        assert not target.exists()
        return
    write_json_atomic(target, DOC, **kw)
    assert target.read_text(encoding="utf-8") == expected


@pytest.mark.parametrize(
    "kw",
    [k for k in KW_CASES if "indent" not in k] + [{"separators": (",", ":")}],
    ids=lambda kw: repr(kw),
)
def test_jsonl_layout_matches_json_dumps(tmp_path, kw):
    target = tmp_path / "doc.jsonl"
    records = [DOC, [1, 2], "s", None, {"a": 1}]
    write_jsonl_atomic(target, iter(records), **kw)
    assert target.read_text(encoding="utf-8") == "".join(json.dumps(r, **kw) + "\n" for r in records)


def test_jsonl_indent_refused(tmp_path):
    with pytest.raises(ValueError):
        write_jsonl_atomic(tmp_path / "x.jsonl", [1], indent=2)
    assert not (tmp_path / "x.jsonl").exists()


def test_default_hook_and_unknown_keyword(tmp_path):
    import decimal

    target = tmp_path / "d.json"
    write_json_atomic(target, {"d": decimal.Decimal("1.5")}, default=str, indent=None)
    assert target.read_text() == '{"d": "1.5"}\n'
    with pytest.raises(TypeError):
        write_json_atomic(target, {}, no_such_option=1)


def test_text_newline_and_unicode(tmp_path):
    t = tmp_path / "t.txt"
    write_text_atomic(t, "")
    assert t.read_bytes() == b"\n"
    write_text_atomic(t, "ends\n")
    assert t.read_bytes() == b"ends\n"
    write_text_atomic(t, "é😀")
    assert t.read_bytes() == "é😀\n".encode()
    big = "x" * (3 << 20)
    write_text_atomic(t, big)
    assert t.stat().st_size == len(big) + 1
    with pytest.raises(TypeError):
        write_text_atomic(t, b"bytes")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(t, "\udc80")
    assert t.stat().st_size == len(big) + 1


# ---- options -----------------------------------------------------------------------------------


def test_durable_false(tmp_path):
    assert write_json_atomic(tmp_path / "n.json", [1], durable=False) is True
    assert (tmp_path / "n.json").read_text() == "[\n  1\n]\n"


def test_mode(tmp_path):
    p = tmp_path / "m.json"
    write_json_atomic(p, 1, mode=0o600)
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    os.chmod(p, 0o640)
    write_json_atomic(p, 2)  # mode=None keeps the existing file's mode
    assert stat.S_IMODE(p.stat().st_mode) == 0o640
    write_text_atomic(p, "x", mode=0o604)
    assert stat.S_IMODE(p.stat().st_mode) == 0o604
    write_jsonl_atomic(p, [1], mode=0o611)
    assert stat.S_IMODE(p.stat().st_mode) == 0o611
    for bad in (-1, 0o10000):
        with pytest.raises(ValueError):
            write_json_atomic(p, 1, mode=bad)
    with pytest.raises(TypeError):
        write_json_atomic(p, 1, mode="0644")


def test_mkdir(tmp_path, snapshot):
    deep = tmp_path / "a" / "b" / "c.json"
    write_json_atomic(deep, {})
    assert deep.read_text() == "{}\n"
    with pytest.raises(FileNotFoundError) as e:
        write_json_atomic(tmp_path / "x" / "y.json", {}, mkdir=False)
    assert e.value.errno == errno.ENOENT
    assert not (tmp_path / "x").exists()


def test_create_only(tmp_path, snapshot):
    p = tmp_path / "c.json"
    write_json_atomic(p, 1, create_only=True)
    before = snapshot(p)
    for call in (
        lambda: write_json_atomic(p, 2, create_only=True),
        lambda: write_text_atomic(p, "2", create_only=True),
        lambda: write_jsonl_atomic(p, [2], create_only=True),
    ):
        with pytest.raises(FileExistsError) as e:
            call()
        assert e.value.errno == errno.EEXIST
        assert e.value.filename == p
        assert "c.json" in e.value.strerror
        assert snapshot(p) == before
    assert leftovers(tmp_path) == []


def test_skip_unchanged(tmp_path):
    p = tmp_path / "s.json"
    assert write_json_atomic(p, {"a": 1}, skip_unchanged=True) is True
    ino = p.stat().st_ino
    assert write_json_atomic(p, {"a": 1}, skip_unchanged=True) is False
    assert p.stat().st_ino == ino
    assert write_json_atomic(p, {"a": 2}, skip_unchanged=True) is True
    assert p.stat().st_ino != ino
    assert write_text_atomic(p, "t", skip_unchanged=True) is True
    assert write_text_atomic(p, "t", skip_unchanged=True) is False
    assert write_jsonl_atomic(p, [1], skip_unchanged=True) is True
    assert write_jsonl_atomic(p, [1], skip_unchanged=True) is False


def test_symlinks(tmp_path, snapshot):
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    write_json_atomic(real, "old")
    link.symlink_to("real.json")

    write_json_atomic(link, "followed")  # default: follow
    assert link.is_symlink() and json.loads(real.read_text()) == "followed"

    before = snapshot(real)
    with pytest.raises(OSError) as e:
        write_json_atomic(link, "refused", symlinks="refuse")
    assert e.value.errno == errno.ELOOP
    assert link.is_symlink() and snapshot(real) == before

    write_json_atomic(link, "replaced", symlinks="replace")
    assert not link.is_symlink() and json.loads(link.read_text()) == "replaced"
    assert snapshot(real) == before

    with pytest.raises(ValueError):
        write_json_atomic(link, 1, symlinks="yes")


# ---- errors: Python's exceptions, target byte-identical afterwards -----------------------------


class Unserializable:
    pass


def _error_cases(tmp_path):
    target = tmp_path / "t.json"
    circular = []
    circular.append(circular)
    return target, [
        (lambda: write_json_atomic(target, {"x": Unserializable()}), TypeError,
         "not JSON serializable"),
        (lambda: write_json_atomic(target, {"x": float("nan")}), ValueError, "JSON compliant"),
        (lambda: write_json_atomic(target, [float("inf")]), ValueError, "JSON compliant"),
        (lambda: write_json_atomic(target, circular), ValueError, "Circular reference"),
        (lambda: write_json_atomic(target, {(1, 2): 1}), TypeError, "keys must be"),
        (lambda: write_jsonl_atomic(target, [1, 2, Unserializable()]), TypeError,
         "not JSON serializable"),
        (lambda: write_jsonl_atomic(target, [1, float("-inf")]), ValueError, "JSON compliant"),
        (lambda: write_jsonl_atomic(target, {"a": 1}), TypeError, "iterable of records"),
        (lambda: write_json_atomic(target, {"x": Unserializable()}, cls=json.JSONEncoder),
         TypeError, "not JSON serializable"),
        (lambda: write_json_atomic(target, [float("nan")], cls=json.JSONEncoder), ValueError,
         "JSON compliant"),
        (lambda: write_json_atomic(target, {}, create_only=True), FileExistsError, "t.json"),
        (lambda: write_json_atomic(tmp_path, {}), IsADirectoryError, ""),
        (lambda: write_json_atomic(target / "below", {}), NotADirectoryError, ""),
    ]


def test_errors_leave_target_byte_identical(tmp_path, snapshot):
    target, cases = _error_cases(tmp_path)
    write_json_atomic(target, {"original": [1, 2, 3]})
    before = snapshot(target)
    st = target.stat()
    for i, (call, exc, words) in enumerate(cases):
        with pytest.raises(exc) as e:
            call()
        assert words in str(e.value), (i, str(e.value))
        assert snapshot(target) == before, i
        assert target.stat().st_ino == st.st_ino, i
        assert leftovers(tmp_path) == [], i


def test_error_negative_control(tmp_path, snapshot):
    """The comparison above can fail: a plain overwrite does change the snapshot."""
    target = tmp_path / "t.json"
    write_json_atomic(target, {"original": 1})
    before = snapshot(target)
    with open(target, "w") as f:  # what a non-atomic writer that then fails leaves behind
        f.write('{"orig')
    assert snapshot(target) != before


def test_generator_exception_leaves_target(tmp_path, snapshot):
    target = tmp_path / "g.jsonl"
    write_jsonl_atomic(target, [0])
    before = snapshot(target)

    def records():
        yield 1
        yield 2
        raise KeyError("boom")

    with pytest.raises(KeyError):
        write_jsonl_atomic(target, records())
    with pytest.raises(KeyError):
        write_jsonl_atomic(target, records(), cls=json.JSONEncoder)
    assert snapshot(target) == before
    assert leftovers(tmp_path) == []


def test_permission_error(tmp_path, snapshot):
    if os.geteuid() == 0:
        # root passes permission checks; drop to nobody in a child for the real check
        from conftest import run_child

        d = tmp_path / "ro"
        d.mkdir()
        (d / "t.json").write_text("{}\n")
        os.chmod(d, 0o555)
        code = (
            "import os, sys, errno\n"
            "os.setgid(65534); os.setuid(65534)\n"
            "import atomic_json_io as aj\n"
            "try:\n"
            "    aj.write_json_atomic(sys.argv[1], {'x': 1})\n"
            "except PermissionError as e:\n"
            "    assert e.errno == errno.EACCES and e.filename == sys.argv[1], e\n"
            "    print('PermissionError', e.strerror)\n"
            "else:\n"
            "    sys.exit('no error')\n"
        )
        os.chmod(tmp_path, 0o755)
        out = run_child(code, d / "t.json").stdout
        assert "PermissionError" in out
        assert (d / "t.json").read_text() == "{}\n"
    else:
        d = tmp_path / "ro"
        d.mkdir()
        (d / "t.json").write_text("{}\n")
        os.chmod(d, 0o555)
        with pytest.raises(PermissionError):
            write_json_atomic(d / "t.json", {"x": 1})
        assert (d / "t.json").read_text() == "{}\n"


def test_not_durable_error_is_oserror():
    assert issubclass(NotDurableError, OSError)
    e = NotDurableError(errno.EIO, "msg", "f")
    assert e.errno == errno.EIO and e.filename == "f"


def test_allow_nan_writes_json_module_text(tmp_path):
    p = tmp_path / "nan.json"
    write_json_atomic(p, [float("nan"), float("inf")], allow_nan=True, indent=None)
    assert p.read_text() == "[NaN, Infinity]\n"
    write_jsonl_atomic(p, [float("nan")], allow_nan=True)
    assert p.read_text() == "NaN\n"


# ---- batch --------------------------------------------------------------------------------------


def test_batch(tmp_path):
    with aj.batch(mode=0o600) as b:
        b.write_json(tmp_path / "a.json", {"a": 1})
        b.write_json(tmp_path / "d" / "b.json", [1], indent=None)
        b.write_text(tmp_path / "c.txt", "c")
        assert len(b) == 3
        assert not (tmp_path / "a.json").exists()  # nothing before the block ends
    assert (tmp_path / "a.json").read_text() == '{\n  "a": 1\n}\n'
    assert (tmp_path / "d" / "b.json").read_text() == "[1]\n"
    assert (tmp_path / "c.txt").read_text() == "c\n"
    assert stat.S_IMODE((tmp_path / "c.txt").stat().st_mode) == 0o600


def _fs_kind(path):
    """"local" or "shared": how the library treats the filesystem of path (tests/fskind.c)."""
    tool = os.path.join(os.environ.get("AJIO_BUILD", "build"), "tests", "fskind")
    return subprocess.run([tool, str(path)], capture_output=True, text=True,
                          check=True).stdout.strip()

_SYNCS_SCRIPT = """
import sys, atomic_json_io as aj
each = sys.argv[2] == "1"
with aj.batch(sync_each=each) as b:
    for i in range(5):
        b.write_text(sys.argv[1] + "/f%d" % i, "x")
with aj.transaction(sys.argv[1] + "/t", sync_each=each) as t:
    for i in range(5):
        t.write_text("m%d" % i, "y")
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
@pytest.mark.skipif(
    tuple(int(x) for x in os.uname().release.split(".")[:2]) < (5, 17),
    reason="syncfs reports every error only from Linux 5.17: the library syncs each file",
)
@pytest.mark.parametrize("sync_each", [False, True])
def test_batch_and_transaction_syncs(tmp_path, sync_each):
    # One syncfs for the five files of a batch and one for a transaction's (plus its plan's
    # fdatasync); with sync_each an fdatasync each. strace counts them in a child.
    # A shared filesystem (FUSE, NFS, SMB, ...) syncs each file.
    if _fs_kind(tmp_path) == "shared":
        pytest.skip("a shared filesystem: every file gets an fdatasync")
    trace = tmp_path / "trace"
    (tmp_path / "w").mkdir()
    subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=syncfs,fdatasync", "-o", str(trace),
         sys.executable, "-c", _SYNCS_SCRIPT, str(tmp_path / "w"), "1" if sync_each else "0"],
        check=True, timeout=60,
    )
    text = trace.read_text()
    syncfs, fdatasync = text.count("syncfs("), text.count("fdatasync(")
    assert (syncfs, fdatasync) == ((0, 11) if sync_each else (2, 1)), text
    for i in range(5):
        assert (tmp_path / "w" / ("f%d" % i)).read_text() == "x\n"
        assert (tmp_path / "w" / "t" / ("m%d" % i)).read_text() == "y\n"


def test_batch_exception_writes_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with aj.batch() as b:
            b.write_text(tmp_path / "x.txt", "x")
            raise RuntimeError
    assert os.listdir(tmp_path) == []
    with pytest.raises(TypeError):
        with aj.batch() as b:
            b.write_json(tmp_path / "y.json", {"x": Unserializable()})
    assert os.listdir(tmp_path) == []


def test_sweep_removes_only_leftover_temps(tmp_path):
    (tmp_path / ".t.json.ajio-0123456789abcdef.tmp").write_text("partial")
    (tmp_path / "t.json").write_text("{}\n")
    assert aj.sweep(tmp_path, min_age=3600) == 0  # too young: might be a live writer's
    assert aj.sweep(tmp_path, "other.json", min_age=0) == 0
    assert aj.sweep(tmp_path, min_age=0) == 1
    assert os.listdir(tmp_path) == ["t.json"]


def test_version():
    assert aj.__version__.count(".") == 2


def test_batch_failure_reports_first_and_writes_others(tmp_path, snapshot):
    (tmp_path / "file").write_text("not a dir\n")
    b = aj.batch()
    b.write_text(tmp_path / "ok1.txt", "1")
    b.write_text(tmp_path / "file" / "below.txt", "x")  # ENOTDIR
    b.write_text(tmp_path / "ok2.txt", "2")
    with pytest.raises(NotADirectoryError) as e:
        b.commit()
    assert e.value.filename == tmp_path / "file" / "below.txt"
    assert (tmp_path / "ok1.txt").read_text() == "1\n" and (tmp_path / "ok2.txt").read_text() == "2\n"
    res = b.results()
    assert [r[1] is None for r in res] == [True, False, True]
    assert snapshot(tmp_path / "file") == b"not a dir\n"
    with pytest.raises(ValueError):
        b.write_text(tmp_path / "late.txt", "late")


def test_dumps_is_json_dumps():
    doc = {"a": [1, 2.5, None, "é"], "b": {"c": True}}
    for kw in ({}, {"indent": 2}, {"sort_keys": True, "separators": (",", ":")}):
        assert aj.dumps(doc, **kw) == json.dumps(doc, **kw)


def test_stubs_match_the_module():
    """The typing stubs name exactly what the package exports (as the C library's symbol test
    compares its exports with its header)."""
    import ast
    import inspect

    stub = pathlib.Path(aj.__file__).with_name("__init__.pyi")
    tree = ast.parse(stub.read_text())
    stubbed = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert stubbed == set(aj.__all__)
    for name in aj.__all__:
        obj = getattr(aj, name)
        if inspect.isfunction(obj):
            stub_fn = next(n for n in tree.body if getattr(n, "name", None) == name)
            stub_kw = {a.arg for a in stub_fn.args.args + stub_fn.args.kwonlyargs}
            params = inspect.signature(obj).parameters
            real = {p for p, v in params.items() if v.kind != v.VAR_KEYWORD}
            assert real <= stub_kw, (name, real - stub_kw)
    assert (pathlib.Path(aj.__file__).with_name("py.typed")).exists()

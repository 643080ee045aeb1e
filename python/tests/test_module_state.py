"""The extension as a modern module: multi-phase initialisation (PEP 489), heap types and module
state (PEP 630). Each module object, in a subinterpreter or made again from the spec, has its own
state and types and works on its own; the types that hold Python objects are tracked by the
collector, and making and dropping objects leaks nothing."""

import gc
import importlib.util
import json
import os
import tracemalloc
import weakref

import pytest

from atomic_json_io import _ajio
from conftest import run_child

TYPES = ("Encoder", "File", "Log", "Reader", "Batch", "Txn", "Snapshot", "Checker")


def fresh_module():
    """A second module object from the extension's spec, as importlib makes one."""
    spec = importlib.util.find_spec("atomic_json_io._ajio")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_type_names_stay():
    for name in TYPES:
        t = getattr(_ajio, name)
        assert t.__module__ == "atomic_json_io._ajio" and t.__name__ == name
        with pytest.raises(TypeError):
            t.some_attribute = 1  # immutable, as the static types were
    assert _ajio.NotDurableError.__module__ == "atomic_json_io"
    assert issubclass(_ajio.NotDurableError, OSError)
    with pytest.raises(TypeError, match="cannot create"):
        _ajio.Encoder()


def test_second_module_object_is_independent(tmp_path):
    mod = fresh_module()
    assert mod is not _ajio
    assert mod.NotDurableError is not _ajio.NotDurableError
    for name in TYPES:
        assert getattr(mod, name) is not getattr(_ajio, name)
    assert mod.dumps({"a": [1, 2.5, None]}) == json.dumps({"a": [1, 2.5, None]})
    enc = mod.make_encoder({}, False)
    assert type(enc) is mod.Encoder
    path = tmp_path / "x.json"
    assert mod.write_json(str(path), {"b": 1}, 0, 0o644, enc, False)
    assert json.loads(path.read_text()) == {"b": 1}
    # An encoder of one module is not the other's.
    with pytest.raises(TypeError):
        _ajio.write_json(str(path), {}, 0, 0o644, enc, False)
    f = mod.File(str(tmp_path / "y"), 0, 0o644)
    f.write(b"y\n")
    f.commit()
    assert (tmp_path / "y").read_bytes() == b"y\n"
    del mod, enc, f
    gc.collect()
    assert _ajio.dumps([1]) == "[1]"


def test_subinterpreter(tmp_path):
    try:
        import _testcapi  # noqa: F401  (Debian: libpython3.X-testsuite)
    except ImportError:
        pytest.skip("_testcapi is not installed: no way to run a subinterpreter")
    # In a child process, so that a crash of the subinterpreter is a failure, not the end of the
    # suite. The subinterpreter reports through a file.
    code = r"""
import json, sys, _testcapi
import atomic_json_io._ajio as main_mod
out, target = sys.argv[1], sys.argv[2]
sub = '''
import json
import atomic_json_io, atomic_json_io._ajio as m
atomic_json_io.write_json_atomic(%r, {"sub": [1, 2]})
with open(%r, "w") as f:
    json.dump({"dumps": m.dumps({"k": "v"}), "exc": id(m.NotDurableError),
               "file": id(m.File)}, f)
''' % (target, out)
assert _testcapi.run_in_subinterp(sub) == 0
with open(out) as f:
    r = json.load(f)
assert r["dumps"] == '{"k": "v"}', r
assert r["exc"] != id(main_mod.NotDurableError), "NotDurableError shared between interpreters"
assert r["file"] != id(main_mod.File), "File shared between interpreters"
assert main_mod.dumps([1]) == "[1]"
print("ok")
"""
    target = tmp_path / "sub.json"
    proc = run_child(code, tmp_path / "out.json", target)
    assert proc.stdout.strip() == "ok"
    assert json.loads(target.read_text()) == {"sub": [1, 2]}


def test_gc_tracked(tmp_path):
    enc = _ajio.make_encoder({}, False)
    f = _ajio.File(str(tmp_path / "t"), 0, 0o644)
    (tmp_path / "r").write_bytes(b"1\n")
    rd = _ajio.Reader(str(tmp_path / "r"), 0, None)
    b = _ajio.Batch(0, 0o644)
    t = _ajio.Txn(str(tmp_path / "d"), 0, 0o644)
    log = _ajio.Log(str(tmp_path / "l.jsonl"), 0, -1)
    for obj in (enc, f, rd, b, t, log):
        assert gc.is_tracked(obj), type(obj)
    # Nothing to collect in a checker: it holds no Python object.
    assert not gc.is_tracked(_ajio.Checker(False))
    f.abort()
    rd.close()
    log.close()


def test_encoder_cycle_through_default_is_collected():
    class Default:
        def __call__(self, o):
            return str(o)

    d = Default()
    enc = _ajio.make_encoder({"default": d}, False)
    d.enc = enc  # encoder -> default= -> encoder
    ref = weakref.ref(d)
    del d, enc
    gc.collect()
    assert ref() is None


def test_no_leak_over_cycles(tmp_path):
    path = str(tmp_path / "leak.json")
    (tmp_path / "r").write_bytes(b"1\n2\n")

    def cycle():
        enc = _ajio.make_encoder({"sort_keys": True}, False)
        _ajio.write_json(path, {"a": [1, "x"]}, 0, 0o644, enc, False)
        f = _ajio.File(path, 0, 0o644)
        f.write(b"{}\n")
        f.commit()
        rd = _ajio.Reader(str(tmp_path / "r"), 0, None)
        list(rd)
        rd.close()
        b = _ajio.Batch(0, 0o644)
        b.add(path, b"[]\n")
        c = _ajio.Checker(False)
        c.feed(b"[1]")
        c.finish()
        _ajio.dumps({"k": [1, 2]}, default=str)
        try:
            _ajio.dumps(float("nan"))
        except ValueError:
            pass

    for _ in range(200):  # warm up caches and free lists
        cycle()
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(2000):
            cycle()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    # A leak of one object per cycle would be 2000 objects, well over 64 KiB.
    assert grown < 64 * 1024, grown


def test_instances_die_with_their_module():
    mod = fresh_module()
    ref = weakref.ref(mod.Encoder)
    enc = mod.make_encoder({}, False)
    del mod
    gc.collect()
    assert ref() is not None  # the instance holds its type
    del enc
    gc.collect()
    assert ref() is None

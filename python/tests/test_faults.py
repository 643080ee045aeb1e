"""Real syscall failures, injected with strace, mapped to Python's exceptions: the errno, the
subclass, libajio's message, and the target afterwards (untouched; or replaced, for
NotDurableError)."""

import errno
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from conftest import child_env, leftovers

CHILD = """
import errno, sys
import atomic_json_io as aj
op, path = sys.argv[1], sys.argv[2]
try:
    if op == "write":
        aj.write_json_atomic(path, {"new": 1})
    elif op == "update":
        aj.update_json_atomic(path, lambda v: {"updated": v})
    elif op == "append":
        aj.append_jsonl(path, [{"appended": 1}])
except aj.NotDurableError as e:
    print("NotDurableError", e.errno, e.filename == path, e.strerror)
except OSError as e:
    print(type(e).__name__, errno.errorcode[e.errno], e.filename == path, e.strerror)
else:
    print("ok")
"""


def _run(op, path, inject=None):
    cmd = [sys.executable, "-c", CHILD, op, str(path)]
    if inject:
        syscall = inject.split(":")[0]
        cmd = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=" + syscall,
               "-e", "inject=" + inject] + cmd
    proc = subprocess.run(cmd, env=child_env(), capture_output=True, text=True, timeout=120)
    if inject and proc.returncode != 0 and "ptrace" in proc.stderr:
        pytest.skip("strace cannot trace here: " + proc.stderr.strip()[:200])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(autouse=True)
def need_strace():
    if not shutil.which("strace"):
        pytest.skip("strace is not installed (make deps installs it)")


@pytest.mark.parametrize("op", ["write", "update", "append"])
def test_fdatasync_enospc(tmp_path, op):
    target = tmp_path / ("t.jsonl" if op == "append" else "t.json")
    original = b'{"old": 1}\n'
    target.write_bytes(original)
    out = _run(op, target, "fdatasync:error=ENOSPC")
    assert out.startswith("OSError ENOSPC True "), out
    assert "fdatasync" in out and "No space left on device" in out, out
    assert target.read_bytes() == original
    assert leftovers(tmp_path) == []
    # control: the same call without the injected failure succeeds
    assert _run(op, target) == "ok"
    assert target.read_bytes() != original


def test_directory_fsync_eio_is_not_durable():
    """Only the final directory fsync fails: the new content is in place, NotDurableError says
    its durability is not confirmed. /tmp itself, an old directory, so that the directory
    fsync is the write's only fsync (a directory born in the last minute gets its parents
    synced too)."""
    target = "/tmp/ajio-pytest-%s.json" % uuid.uuid4().hex
    try:
        with open(target, "w") as f:
            f.write("{}\n")
        out = _run("write", target, "fsync:error=EIO")
        assert out.startswith("NotDurableError %d True " % errno.EIO), out
        assert "durability not confirmed" in out, out
        with open(target) as f:
            assert f.read() == '{\n  "new": 1\n}\n'
    finally:
        os.unlink(target)

"""update_json_atomic: the locked read-modify-write."""

import errno
import json
import subprocess
import sys
import time

import pytest

import atomic_json_io as aj
from atomic_json_io import update_json_atomic, write_json_atomic

from conftest import child_env, leftovers


def test_update_basic(tmp_path):
    p = tmp_path / "c.json"
    assert update_json_atomic(p, lambda v: v + 1, default=0) == 1
    assert p.read_text() == "1\n"
    assert update_json_atomic(p, lambda v: {"n": v}, indent=None) == {"n": 1}
    assert p.read_text() == '{"n": 1}\n'
    assert update_json_atomic(p, lambda v: {**v, "m": [1]}) == {"n": 1, "m": [1]}
    assert p.read_text() == '{\n  "n": 1,\n  "m": [\n    1\n  ]\n}\n'
    assert update_json_atomic(p, lambda v: v, cls=json.JSONEncoder, sort_keys=True) == v_of(p)


def v_of(p):
    return json.loads(p.read_text())


def test_update_default_is_copied(tmp_path):
    default = {"items": []}

    def add(v):
        v["items"].append(1)
        return v

    update_json_atomic(tmp_path / "a.json", add, default=default)
    update_json_atomic(tmp_path / "b.json", add, default=default)
    assert default == {"items": []}
    assert v_of(tmp_path / "b.json") == {"items": [1]}


def test_update_missing_without_default(tmp_path):
    p = tmp_path / "missing.json"
    with pytest.raises(FileNotFoundError) as e:
        update_json_atomic(p, lambda v: 1)
    assert e.value.errno == errno.ENOENT and e.value.filename == p
    assert not p.exists()


def test_update_failures_leave_target(tmp_path, snapshot):
    p = tmp_path / "u.json"
    write_json_atomic(p, {"n": 1})
    before = snapshot(p)

    def boom(v):
        raise RuntimeError("fn failed")

    with pytest.raises(RuntimeError, match="fn failed"):
        update_json_atomic(p, boom)
    with pytest.raises(TypeError, match="not JSON serializable"):
        update_json_atomic(p, lambda v: object())
    with pytest.raises(ValueError):
        update_json_atomic(p, lambda v: float("nan"))
    assert snapshot(p) == before
    p.write_text("{not json")
    with pytest.raises(ValueError):
        update_json_atomic(p, lambda v: v)
    assert p.read_text() == "{not json"
    assert leftovers(tmp_path) == []


HOLD_LOCK = """
import sys, time
import atomic_json_io as aj
def hold(v):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    return v + 1
aj.update_json_atomic(sys.argv[1], hold, default=0)
"""


def _holder(path, seconds):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)],
        env=child_env(), stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_update_timeout(tmp_path):
    p = tmp_path / "t.json"
    write_json_atomic(p, 0)
    proc = _holder(p, 3)
    try:
        with pytest.raises(BlockingIOError):
            update_json_atomic(p, lambda v: v + 100, timeout=0)
        with pytest.raises(TimeoutError):
            update_json_atomic(p, lambda v: v + 100, timeout=0.05)
        # None waits for the holder, then runs on its result
        assert update_json_atomic(p, lambda v: v + 10) == 11
    finally:
        proc.wait(timeout=30)
    assert v_of(p) == 11
    with pytest.raises(ValueError):
        update_json_atomic(p, lambda v: v, timeout=-1)


def test_update_releases_gil_while_waiting(tmp_path):
    """A thread blocked on the lock does not stop the others."""
    import threading

    p = tmp_path / "g.json"
    proc = _holder(p, 1.0)
    ticks = 0
    done = threading.Event()

    def waiter():
        update_json_atomic(p, lambda v: v + 1, default=0)
        done.set()

    t = threading.Thread(target=waiter)
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    proc.wait(timeout=30)
    assert v_of(p) == 2
    assert ticks > 50


INCREMENT = """
import json, sys
import atomic_json_io as aj
path, n, locked = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
for _ in range(n):
    if locked:
        aj.update_json_atomic(path, lambda v: v + 1, durable=False)
    else:
        # the negative control: the same read-modify-write without the lock
        with open(path) as f:
            v = json.load(f)
        aj.write_json_atomic(path, v + 1, durable=False)
"""


def _run_incrementers(path, procs, n, locked):
    write_json_atomic(path, 0)
    children = [
        subprocess.Popen([sys.executable, "-c", INCREMENT, str(path), str(n), locked],
                         env=child_env())
        for _ in range(procs)
    ]
    for c in children:
        assert c.wait(timeout=300) == 0
    return v_of(path)


def test_update_many_processes_sum_exactly(tmp_path):
    procs, n = 6, 150
    assert _run_incrementers(tmp_path / "n.json", procs, n, "1") == procs * n
    assert leftovers(tmp_path) == []


def test_update_negative_control_loses_updates(tmp_path):
    """Without the lock the same increments are lost: the exact sum above is the lock's."""
    procs, n = 6, 150
    for _ in range(5):  # losses are all but certain in one round; allow a few
        total = _run_incrementers(tmp_path / "n.json", procs, n, "0")
        if total < procs * n:
            return
    pytest.fail("the unlocked control never lost an update: the test cannot fail")

"""Deep nesting never crashes the encoder, whatever sys.setrecursionlimit says.

Python 3.11's recursion limit counts calls, not stack bytes: with the limit raised, 80,000 nested
lists overflowed the C stack in dumps (SIGSEGV). The encoder's C stack guard turns that into
RecursionError. Each case runs in a child interpreter, so that a crash fails the test instead of
killing pytest (run_deep checks how the child ended; test_detector_* shows it notices a crash).
"""

import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import child_env

CHILD = r"""
import json, os, sys, threading
import atomic_json_io as aj

sys.setrecursionlimit(10**6)
what, kind, indent, depth = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
target = sys.argv[5] if len(sys.argv) > 5 else None

def nest(n):
    x = []
    for _ in range(n):
        x = [x] if kind == "list" else {"k": x}
    return x

class Node:
    def __init__(self, child):
        self.child = child

def nest_default(n):
    x = None
    for _ in range(n):
        x = Node(x)
    return x

def run():
    obj = nest_default(depth) if kind == "default" else nest(depth)
    kw = {"indent": indent}
    if kind == "default":
        kw["default"] = lambda o: [o.child]
    try:
        if what == "dumps":
            text = aj.dumps(obj, **kw)
            return {"outcome": "ok", "same": text == json.dumps(obj, **kw)}
        if what == "write_json_atomic":
            aj.write_json_atomic(target, obj, durable=False, **kw)
        elif what == "write_jsonl_atomic":
            aj.write_jsonl_atomic(target, [1, obj], durable=False)
        elif what == "append_jsonl":
            aj.append_jsonl(target, [1, obj], durable=False)
        return {"outcome": "ok"}
    except RecursionError as e:
        return {"outcome": "RecursionError", "message": str(e)}

if os.environ.get("DEEP_THREAD_STACK"):
    # A thread with a small stack: the guard must see that stack's end, not the budget only.
    threading.stack_size(int(os.environ["DEEP_THREAD_STACK"]))
    out = []
    t = threading.Thread(target=lambda: out.append(run()))
    t.start()
    t.join()
    res = out[0]
else:
    res = run()
print(json.dumps(res))
"""


def run_checked(code, *args, env=None):
    """Runs code in a child interpreter, which must exit normally (not by a signal) and print a
    JSON result as its last line."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        env=dict(child_env(), **(env or {})),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        how = (
            "killed by %s" % signal.Signals(-proc.returncode).name
            if proc.returncode < 0
            else "exit status %d" % proc.returncode
        )
        raise AssertionError("child %s:\n%s%s" % (how, proc.stdout, proc.stderr[-2000:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_deep(*args, env=None):
    return run_checked(CHILD, *args, env=env)


def test_detector_notices_a_crashed_child():
    # Negative control: a child that dies by SIGSEGV, as dumps did, fails the check.
    with pytest.raises(AssertionError, match="killed by SIGSEGV"):
        run_checked("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")


@pytest.mark.parametrize("kind", ["list", "dict", "default"])
@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("depth", [80_000, 1_000_000])
def test_dumps_deep_nesting_is_recursion_error(kind, indent, depth):
    res = run_deep("dumps", kind, json.dumps(indent), depth)
    assert res["outcome"] == "RecursionError", res


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_dumps_deep_nesting_in_a_thread_with_a_small_stack(kind):
    res = run_deep("dumps", kind, "null", 80_000, env={"DEEP_THREAD_STACK": str(256 << 10)})
    assert res["outcome"] == "RecursionError", res


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_nesting_within_the_guard_still_encodes_as_json_does(kind):
    # The guard must not refuse what fits: 3,000 levels with the limit raised, byte for byte.
    for indent in ("null", "2"):
        res = run_deep("dumps", kind, indent, 3000)
        assert res == {"outcome": "ok", "same": True}


@pytest.mark.parametrize(
    "what, indent",
    [
        ("write_json_atomic", "null"),
        ("write_json_atomic", "2"),
        ("write_jsonl_atomic", "null"),
        ("append_jsonl", "null"),
    ],
)
@pytest.mark.parametrize("kind", ["list", "dict"])
@pytest.mark.parametrize("depth", [80_000, 1_000_000])
def test_writes_of_deep_nesting_fail_and_leave_the_target(tmp_path, what, indent, kind, depth):
    target = tmp_path / ("t.jsonl" if "jsonl" in what else "t.json")
    old = b'{"old": true}\n'
    target.write_bytes(old)
    res = run_deep(what, kind, indent, depth, target)
    assert res["outcome"] == "RecursionError", res
    assert target.read_bytes() == old
    # No temp left behind (the lock file of an append is not one).
    assert [n for n in os.listdir(tmp_path) if not n.endswith(".ajio-lock")] == [target.name]

"""Other threads keep running while a document is encoded and written.

The document starts and ends with a marker that is not JSON, which default= turns into null
with list.append: C code that runs no bytecode, so the GIL stays where it is, and the list
holds exactly one marker while the walk is between the two. A thread that runs only with the
GIL counts its turns while the list holds one marker: it must get some, since the encoder offers
the GIL once per switch interval (python/csrc/gil.h). The negative controls, json's C encoder
and our dumps() with its offers turned off, keep the GIL for all of their walks and must give it
none. No figure of speed is asserted, only whether the other thread ran at all.

Then strace holds every write() (and the syncs) of a write for 0.3 s each: the other thread
must run through each of those stalls, which it can only do if each syscall runs with the GIL
released; the control is a write() through ctypes.PyDLL, which keeps the GIL, under the same
stall.
"""

import json
import shutil
import subprocess
import sys
import threading
import time

import pytest

import atomic_json_io as aj

from conftest import child_env

_ajio = aj._ajio


class Marker:
    """Not JSON: default= (a list's append) notes that the walk reached it."""


def records(n):
    return [
        {"id": i, "name": "user%06d" % i, "score": i * 0.37, "tags": ["alpha", "beta"][: i % 3],
         "address": {"street": "%d Main Street" % i, "zip": "%05d" % i}}
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def big():
    """About 14 MB with indent=2 between the markers: hundreds of 64 KiB windows."""
    return [Marker()] + records(60_000) + [Marker()]


@pytest.fixture(autouse=True)
def short_switch_interval():
    """Offers every millisecond, so that a walk of tens of ms has many."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    yield
    sys.setswitchinterval(old)


class Turns:
    """A thread counting its turns (loop iterations: it runs only with the GIL) while seen
    holds one marker, that is while the walk is between its first and its last value."""

    def __init__(self):
        self.seen = []
        self.during = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run)

    def run(self):
        seen = self.seen
        while not self.stop:
            if len(seen) == 1:
                self.during += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()


def _turns_during_walk(fn, expect, tries=3):
    """The other thread's turns while fn(default) walks the document. Up to three tries for the
    answer expected (some turns, or none), against a loaded machine that may keep the other
    thread off the CPU however often the GIL is offered."""
    with Turns() as turns:
        for _ in range(tries):
            del turns.seen[:]
            turns.during = 0
            start = time.perf_counter()
            fn(turns.seen.append)
            elapsed = time.perf_counter() - start
            assert len(turns.seen) == 2, "the walk did not pass both markers"
            n = turns.during
            print("turns during the walk: %d, call %.3f s" % (n, elapsed))
            if (n > 0) == expect:
                break
    return n


def _update(path, doc, default):
    """update_json_atomic's own default= is the missing file's value: the encoder is made here."""
    enc = _ajio.make_encoder({"default": default}, False)
    return _ajio.update(path, lambda old: (doc, None), _ajio.NO_SYNC, 0, -1, enc)


CALLS = {
    "write_json_atomic": lambda p, doc, d: aj.write_json_atomic(p, doc, durable=False, default=d),
    "write_jsonl_atomic": lambda p, doc, d: aj.write_jsonl_atomic(p, doc, durable=False,
                                                                  default=d),
    "update_json_atomic": _update,
    "append_jsonl": lambda p, doc, d: aj.append_jsonl(p, doc, durable=False, default=d),
    "dumps": lambda p, doc, d: aj.dumps(doc, indent=2, default=d),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_other_threads_run_while_encoding(tmp_path, big, call):
    fn = CALLS[call]
    assert _turns_during_walk(lambda d: fn(tmp_path / "doc.json", big, d), True) > 0


def test_liveness_negative_control_json_c_encoder(big):
    """json.dumps without indent walks in C and keeps the GIL: the check sees it."""
    assert _turns_during_walk(lambda d: json.dumps(big, default=d), False, tries=1) == 0


def test_liveness_negative_control_offers_off(big):
    """Our dumps() with its offers turned off keeps the GIL for all of its walk: the turns
    test_other_threads_run_while_encoding[dumps] counts on the same document are the offers'."""
    assert _ajio._gil_offers(False) is True
    try:
        n = _turns_during_walk(lambda d: aj.dumps(big, indent=2, default=d), False, tries=1)
    finally:
        _ajio._gil_offers(True)
    assert n == 0


# ---- every write() and sync without the GIL, seen through strace ---------------------------------

STALLED = """
import ctypes, json, os, sys, threading, time
import atomic_json_io as aj
how, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
doc = [{"id": i, "text": "x" * 200} for i in range(n)]  # about 230 bytes each
gap = [0.0]
stop = [False]
def run():
    last = time.perf_counter()
    while not stop[0]:
        now = time.perf_counter()
        gap[0] = max(gap[0], now - last)
        last = now
t = threading.Thread(target=run)
t.start()
time.sleep(0.05)
start = time.perf_counter()
if how == "write_json_atomic":
    aj.write_json_atomic(path, doc)
elif how == "write_jsonl_atomic":
    aj.write_jsonl_atomic(path, doc)
elif how == "update_json_atomic":
    aj.update_json_atomic(path, lambda old: doc, default=None)
elif how == "write_jsonl_atomic cls=":  # json's encoder, each line through File.write
    aj.write_jsonl_atomic(path, doc, cls=json.JSONEncoder)
elif how == "open_atomic":  # 8 KiB writes from io.BufferedWriter through File.write
    with aj.open_atomic(path, "w") as f:
        for record in doc:
            f.write(json.dumps(record) + "\\n")
else:  # the control: one write() through ctypes.PyDLL, which keeps the GIL
    libc = ctypes.PyDLL("libc.so.6", use_errno=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    assert libc.write(fd, b"x" * 4096, 4096) == 4096
    os.close(fd)
elapsed = time.perf_counter() - start
time.sleep(0.05)
stop[0] = True
t.join()
print(gap[0], elapsed)
"""

STALL_US = 300_000


def _stalled(tmp_path, how, syscall, n=1000):
    if not shutil.which("strace"):
        pytest.skip("strace is not installed (make deps installs it)")
    cmd = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=" + syscall,
           "-e", "inject=%s:delay_enter=%d" % (syscall, STALL_US),
           sys.executable, "-c", STALLED, how, str(tmp_path / "stalled.json"), str(n)]
    proc = subprocess.run(cmd, env=child_env(), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 and "ptrace" in proc.stderr:
        pytest.skip("strace cannot trace here: " + proc.stderr.strip()[:200])
    assert proc.returncode == 0, proc.stderr
    gap, elapsed = map(float, proc.stdout.split())
    print("%s, %s stalled %.1f s each: call %.3f s, longest gap %.3f s" % (
        how, syscall, STALL_US / 1e6, elapsed, gap))
    return gap, elapsed


# The encoder's writes: 40,000 records, about 9 MB, go out 4 MiB at a time at most, so that
# some are made in the middle of the encoding. File.write's: 1,000 records, about 230 KB, a
# write per 64 KiB. stalls: how many stalled syscalls the call makes at least.
@pytest.mark.parametrize("how,syscall,n,stalls", [
    ("write_json_atomic", "writev", 40_000, 3),
    ("write_jsonl_atomic", "writev", 40_000, 3),
    ("update_json_atomic", "writev", 40_000, 3),
    ("write_jsonl_atomic cls=", "writev", 1000, 3),
    ("open_atomic", "writev", 1000, 3),
    ("write_json_atomic", "fdatasync", 1000, 1),
])
def test_other_threads_run_through_stalled_syscalls(tmp_path, how, syscall, n, stalls):
    gap, elapsed = _stalled(tmp_path, how, syscall, n)
    assert elapsed >= stalls * STALL_US / 1e6, elapsed
    assert gap < STALL_US / 1e6 / 2, (gap, elapsed)


def test_stalled_syscalls_negative_control(tmp_path):
    """A write() that keeps the GIL: the other thread stops for all of the stall."""
    gap, elapsed = _stalled(tmp_path, "control", "write")
    assert gap >= STALL_US / 1e6, (gap, elapsed)

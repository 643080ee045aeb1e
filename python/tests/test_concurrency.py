"""Writers and readers at once, a kill storm, and the GIL released during durable writes."""

import ctypes
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

import atomic_json_io as aj

from conftest import child_env, leftovers
from stress_child import document, verify

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stress_child.py")


def _spawn(*args, stdout=subprocess.PIPE):
    return subprocess.Popen([sys.executable, CHILD, *map(str, args)], env=child_env(),
                            stdout=stdout, text=True)


def _writers_and_readers(tmp_path, procs, threads, seconds, naive):
    target = tmp_path / "shared.json"
    stop = tmp_path / "stop"
    aj.write_json_atomic(target, document("init", 0, random.Random(0)), indent=None)
    readers = [_spawn("reader", target, stop) for _ in range(2)]
    writers = [
        _spawn("writer", target, w, threads, seconds, "naive" if naive else "ajio")
        for w in range(procs)
    ]
    writes = sum(int(w.communicate(timeout=seconds + 120)[0]) for w in writers)
    stop.touch()
    results = [json.loads(r.communicate(timeout=60)[0]) for r in readers]
    assert all(w.returncode == 0 for w in writers) and all(r.returncode == 0 for r in readers)
    return writes, results, target


def test_8_processes_4_threads_never_a_torn_read(tmp_path):
    writes, results, target = _writers_and_readers(tmp_path, 8, 4, 4.0, naive=False)
    reads = sum(r["reads"] for r in results)
    torn = sum(r["torn"] for r in results)
    assert torn == 0, results
    assert writes > 200 and reads > 200, (writes, results)
    assert verify(target.read_bytes()) is None
    assert leftovers(tmp_path) == []
    print("writes %d, reads %d, torn %d" % (writes, reads, torn))


def test_naive_writer_negative_control(tmp_path):
    """The readers do catch torn files: the same run with an in-place writer shows them."""
    _, results, _ = _writers_and_readers(tmp_path, 2, 2, 2.0, naive=True)
    assert sum(r["torn"] for r in results) > 0, results


def test_kill_storm(tmp_path):
    """Writers SIGKILLed at random while readers verify: the target is always a complete
    document, and sweep() leaves nothing but the target."""
    target = tmp_path / "storm.json"
    stop = tmp_path / "stop"
    aj.write_json_atomic(target, document("init", 0, random.Random(0)), indent=None)
    readers = [_spawn("reader", target, stop) for _ in range(2)]
    rnd = random.Random(1)
    kills = 0
    # a number of kills, not a duration: starting interpreters is slow on a loaded machine
    while kills < 24:
        slots = [_spawn("killee", target, "k%d" % (kills + i)) for i in range(2)]
        for s in slots:
            assert s.stdout.readline().strip() == "ready"
        time.sleep(rnd.uniform(0.001, 0.020))
        for s in slots:
            s.send_signal(signal.SIGKILL)
            s.wait()
            kills += 1
        assert verify(target.read_bytes()) is None
    stop.touch()
    results = [json.loads(r.communicate(timeout=60)[0]) for r in readers]
    assert sum(r["torn"] for r in results) == 0, results
    assert sum(r["reads"] for r in results) > 0, results
    # temps a kill left (if any) have the temp shape; sweep removes them all
    left = leftovers(tmp_path)
    assert sorted(set(os.listdir(tmp_path)) - {"stop", "storm.json"}) == left
    assert len(left) <= kills  # at most one per killed writer
    aj.sweep(tmp_path, min_age=0)
    assert sorted(os.listdir(tmp_path)) == ["stop", "storm.json"]
    print("kills %d, leftover temps before sweep %d" % (kills, len(left)))


# ---- the GIL -------------------------------------------------------------------------------------
#
# Another thread stamps the time as fast as it can, which it can only do while it holds the GIL;
# the longest gap between its stamps while a call runs is the longest time the call kept the GIL
# from it. A call that released the GIL around its syscalls leaves only scheduling gaps (a few
# ms); one that holds it leaves a gap as long as its syscalls.


class Stamper:
    def __init__(self):
        self.stop = False
        self.max_gap = 0.0
        self.t = threading.Thread(target=self.run)

    def run(self):
        mono = time.monotonic
        last = mono()
        while not self.stop:
            now = mono()
            if now - last > self.max_gap:
                self.max_gap = now - last
            last = now

    def measure(self, fn):
        """Runs fn; returns (its duration, the longest gap in the stamps meanwhile)."""
        self.max_gap = 0.0
        start = time.monotonic()
        fn()
        elapsed = time.monotonic() - start
        time.sleep(0.005)  # the stamper records a gap only when it runs again
        return elapsed, self.max_gap

    def __enter__(self):
        self.t.start()
        time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.t.join()


SIZE = 64 << 20


def _held_gil_fdatasync(path):
    """The control: an fdatasync of as much dirty data through ctypes.PyDLL, which keeps the GIL
    during the call. The data is written (GIL released) before; the returned call is timed."""
    libc = ctypes.PyDLL("libc.so.6", use_errno=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"x" * SIZE)

    def run():
        try:
            start = time.monotonic()
            r = libc.fdatasync(fd)
            run.call = time.monotonic() - start
            assert r == 0, os.strerror(ctypes.get_errno())
        finally:
            os.close(fd)

    return run


def test_gil_released_during_durable_write(tmp_path):
    """On the working disk (not tmpfs), so that the write and its syncs take real time."""
    text = "x" * SIZE
    with Stamper() as st:
        # scheduling noise on a loaded machine can make one gap long: three tries
        for attempt in range(3):
            elapsed, gap = st.measure(lambda: aj.write_text_atomic(tmp_path / "big.txt", text))
            if gap < 0.3 * elapsed:
                break
        control = _held_gil_fdatasync(tmp_path / "ctl.txt")
        ctl_elapsed, ctl_gap = st.measure(control)
    print("ajio: %.3fs, longest gap %.4fs; GIL-holding control: fdatasync %.3fs, longest gap "
          "%.4fs" % (elapsed, gap, control.call, ctl_gap))
    assert gap < 0.3 * elapsed, (elapsed, gap)
    # negative control: a call that holds the GIL starves the other thread for all its length,
    # so the measure sees it
    # (the stamper may take the GIL for a few ms between the control's clock and its call)
    assert ctl_gap >= 0.5 * control.call, (control.call, ctl_gap)

"""One JSON Lines log shared by the threads of a process.

Threads used to take turns on the log object: a second thread calling append() while the first
was inside it got RuntimeError("the log is in use by another thread"). libajio now combines the
appends of the threads that share a handle (one write and one sync per batch), and the binding
releases the GIL around each append without a mark that shuts the other threads out. Every
record an append reported appended must be in the file exactly once and whole, each thread's in
its order; close() is refused while an append is under way, and works once it has returned.

The negative control: the checker that judges the run must name a record missing, one written
twice, two of one thread out of order and one not intact, in files planted with each.
"""

import json
import threading
import time

import pytest

import atomic_json_io as aj
from conftest import log_problems

THREADS = 8
RECORDS = 150


def record(t, i):
    # The padding differs per record, so a record cut short or glued to another is noticed.
    return {"t": t, "i": i, "pad": "abcdefghijklmnopqrstuvwxyz"[(t * 7 + i) % 26] * 150}


def check_threads_log(path, reported):
    """Problems with the log at path, given reported = {(t, i)} appended with success."""
    return log_problems(path, reported, record, "t", ordered=True)


def test_threads_share_one_log(tmp_path):
    path = str(tmp_path / "log.jsonl")
    start = threading.Barrier(THREADS)
    reported, errors = set(), []
    lock = threading.Lock()  # guards the test's own sets, not the log

    def writer(t):
        try:
            start.wait(30)
            for i in range(RECORDS):
                assert log.append([record(t, i)]) == 1
                with lock:
                    reported.add((t, i))
        except BaseException as e:  # noqa: B902 - reported below, with the thread's number
            errors.append((t, e))

    with aj.open_jsonl_log(path) as log:  # durable: the appends of a batch share a sync
        threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
    assert not errors, errors
    assert len(reported) == THREADS * RECORDS
    assert check_threads_log(path, reported) == []


def test_close_refused_during_an_append_of_another_thread(tmp_path):
    # A thread is inside log.append (its generator waits): another thread appends meanwhile
    # (refused before with "in use by another thread"), and close() is refused until it returns.
    path = str(tmp_path / "log.jsonl")
    inside, release = threading.Event(), threading.Event()

    def records():
        yield record(0, 0)
        inside.set()
        release.wait(30)
        yield record(0, 1)

    log = aj.open_jsonl_log(path)
    t = threading.Thread(target=log.append, args=(records(),))
    t.start()
    try:
        assert inside.wait(30)
        assert log.append([record(1, 0)]) == 1
        with pytest.raises(RuntimeError, match="in use by another thread"):
            log.close()
    finally:
        release.set()
        t.join(30)
    log.close()
    with pytest.raises(ValueError, match="closed"):
        log.append([record(1, 1)])
    assert check_threads_log(path, {(0, 0), (0, 1), (1, 0)}) == []


def test_checker_catches_planted_faults(tmp_path):
    """The negative control: each way of being wrong is named."""
    path = tmp_path / "planted.jsonl"
    lines = [json.dumps(record(t, i)).encode() + b"\n" for i in range(2) for t in range(2)]
    reported = {(t, i) for i in range(2) for t in range(2)}
    path.write_bytes(b"".join(lines))
    assert check_threads_log(str(path), reported) == []
    path.write_bytes(b"".join(lines[:3]))  # a record lost
    assert any("missing" in p for p in check_threads_log(str(path), reported))
    path.write_bytes(b"".join(lines) + lines[1])  # a record written twice
    assert any("2 times" in p for p in check_threads_log(str(path), reported))
    path.write_bytes(lines[2] + lines[1] + lines[0] + lines[3])  # thread 0's two swapped
    assert any("after" in p for p in check_threads_log(str(path), reported))
    bad = json.dumps(dict(record(1, 0), pad="z")).encode() + b"\n"
    path.write_bytes(lines[0] + bad + lines[2] + lines[3])  # whole but not what was appended
    assert any("not intact" in p for p in check_threads_log(str(path), reported))
    path.write_bytes(b"".join(lines))
    assert any(
        "not reported" in p for p in check_threads_log(str(path), reported - {(1, 1)})
    )


class Slow:
    """Encoded through default=, which lets other threads run in the middle of the encoding."""

    def __init__(self, t, i):
        self.t, self.i = t, i


def slow_default(o):
    time.sleep(0)  # a thread switch inside an encoding, as a finaliser or a lock may cause
    return record(o.t, o.i)


def test_threads_encode_through_default_at_once(tmp_path):
    # One encoder shared by the threads refused the second thread's encoding ("already
    # encoding") whenever a switch came inside default=: each thread has its own.
    path = str(tmp_path / "log.jsonl")
    errors, reported, lock = [], set(), threading.Lock()

    def writer(t):
        try:
            for i in range(40):
                assert log.append([Slow(t, i)]) == 1
                with lock:
                    reported.add((t, i))
        except BaseException as e:  # noqa: B902 - reported below
            errors.append((t, e))

    with aj.open_jsonl_log(path, durable=False, default=slow_default) as log:
        threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
    assert not errors, errors[:3]
    assert check_threads_log(path, reported) == []
    assert len(reported) == THREADS * 40

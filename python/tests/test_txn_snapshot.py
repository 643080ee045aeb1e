"""Transactions (all or nothing across a kill) and published snapshots (readers see one whole
generation): the Python API of libajio's ajio_txn, ajio_recover, ajio_publish and
ajio_snapshot_*. Each property has a negative control that shows the check can fail."""

import errno
import fcntl
import json
import os
import random
import signal
import threading
import time

import pytest

import atomic_json_io as aj

N = 20  # files per set


def names(n=N):
    return ["f%02d.json" % i for i in range(n)]


def gens(directory, files):
    """The generation number each file holds."""
    return [json.loads((directory / f).read_text())["gen"] for f in files]


def txn_leftovers(directory):
    """What a commit may leave behind (temps, plan, intent), anywhere below directory."""
    found = []
    for root, _, files in os.walk(directory):
        found += [os.path.join(root, f) for f in files if f.startswith(".ajio-txn-")]
    return sorted(found)


def generations(name):
    d, base = os.path.split(str(name))
    return sorted(n for n in os.listdir(d) if n.startswith(".%s.snap-" % base))


# ---- transactions ---------------------------------------------------------------------------


def test_commit_subdirs_and_remove(tmp_path):
    d = tmp_path / "set"
    with aj.transaction(d) as t:
        t.write_json("a.json", {"x": 1})
        t.write_json("sub/deep/b.json", [1, 2], indent=None)
        t.write_text("notes.txt", "hello")
        t.write_bytes("raw.bin", b"\x00\x01")
        t.write_json(b"bytes-path.json", 3)
        assert len(t) == 5
    assert (d / "a.json").read_text() == '{\n  "x": 1\n}\n'
    assert (d / "sub/deep/b.json").read_text() == "[1, 2]\n"
    assert (d / "notes.txt").read_text() == "hello\n"
    assert (d / "raw.bin").read_bytes() == b"\x00\x01"
    assert (d / "bytes-path.json").read_text() == "3\n"

    with aj.transaction(str(d)) as t:
        t.write_json("a.json", {"x": 2})
        t.remove("notes.txt")
        t.remove("never-was.txt")  # as rm -f
    assert json.loads((d / "a.json").read_text()) == {"x": 2}
    assert not (d / "notes.txt").exists()
    assert txn_leftovers(d) == []
    # Committed once only.
    with pytest.raises(ValueError):
        t.write_json("a.json", 3)
    with pytest.raises(ValueError):
        t.commit()


def test_exception_in_the_block_changes_nothing(tmp_path):
    d = tmp_path / "set"
    with aj.transaction(d) as t:
        t.write_json("a.json", 1)
        t.write_json("b.json", 1)
    before = {f: (d / f).read_bytes() for f in ("a.json", "b.json")}

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with aj.transaction(d) as t:
            t.write_json("a.json", 2)
            t.remove("b.json")
            t.write_json("c.json", 2)
            raise Boom()
    assert {f: (d / f).read_bytes() for f in ("a.json", "b.json")} == before
    assert not (d / "c.json").exists()
    assert txn_leftovers(d) == []

    # Negative control: the same block without the exception does change the set.
    with aj.transaction(d) as t:
        t.write_json("a.json", 2)
        t.remove("b.json")
    assert (d / "a.json").read_bytes() != before["a.json"]
    assert not (d / "b.json").exists()


@pytest.mark.parametrize(
    "bad", ["../escape.json", "/abs.json", "", "sub/../a.json", "./a.json", ".ajio-txn-x"]
)
def test_bad_relpath_raises_before_anything_changes(tmp_path, bad):
    d = tmp_path / "set"
    with aj.transaction(d) as t:
        t.write_json("a.json", 1)
    before = (d / "a.json").read_bytes()

    with pytest.raises(OSError) as e:
        with aj.transaction(d) as t:
            t.write_json("a.json", 2)
            t.write_json(bad, 2)
    assert e.value.errno == errno.EINVAL
    assert e.value.filename == bad
    assert bad in e.value.strerror or "transaction" in e.value.strerror
    assert (d / "a.json").read_bytes() == before
    assert not (tmp_path / "escape.json").exists()

    # Caught inside the block, the refused member still fails the whole commit.
    with pytest.raises(OSError) as e:
        with aj.transaction(d) as t:
            t.write_json("a.json", 3)
            with pytest.raises(OSError):
                t.remove(bad)
    assert e.value.errno == errno.EINVAL
    assert (d / "a.json").read_bytes() == before
    assert txn_leftovers(d) == []

    # Negative control: without the bad member the same transaction changes a.json.
    with aj.transaction(d) as t:
        t.write_json("a.json", 2)
    assert (d / "a.json").read_bytes() != before


def test_errors_name_the_path(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError) as e:
        aj.transaction(tmp_path / "file")
    assert e.value.filename == tmp_path / "file"
    with pytest.raises(FileNotFoundError) as e:
        aj.transaction(tmp_path / "missing", mkdir=False)
    with pytest.raises(FileNotFoundError) as e:
        aj.recover(tmp_path / "missing")
    assert str(tmp_path / "missing") in str(e.value)
    # A member that is a directory: nothing changes.
    d = tmp_path / "set"
    (d / "dir.json").mkdir(parents=True)
    with pytest.raises(IsADirectoryError):
        with aj.transaction(d) as t:
            t.write_json("a.json", 1)
            t.write_json("dir.json", 1)
    assert not (d / "a.json").exists()
    with pytest.raises(TypeError):
        with aj.transaction(d) as t:
            t.write_text("a.txt", b"bytes")
    with pytest.raises(TypeError):
        with aj.transaction(d) as t:
            t.write_bytes("a.bin", "text")
    assert not (d / "a.txt").exists() and not (d / "a.bin").exists()


def _commit_while_locked(d, handler):
    """Commits a transaction while another holder keeps d's transaction lock for 0.3 s, with
    SIGALRM arriving every 20 ms during the wait; returns what the handler counted."""
    calls = []

    def on_alarm(signum, frame):
        calls.append(signum)
        handler()

    lock = open(d / ".ajio-txn.ajio-lock", "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    release = threading.Timer(0.3, lock.close)
    old = signal.signal(signal.SIGALRM, on_alarm)
    try:
        release.start()
        signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
        with aj.transaction(d) as t:
            t.write_json("a.json", 2)
            t.remove("b.json")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        release.join()
    return calls


def test_signal_during_the_lock_wait(tmp_path):
    d = tmp_path / "set"
    with aj.transaction(d) as t:
        t.write_json("a.json", 1)
        t.write_json("b.json", 1)
    # A handler that returns: the wait goes on and the commit happens once the lock is free.
    calls = _commit_while_locked(d, lambda: None)
    assert len(calls) >= 3
    assert json.loads((d / "a.json").read_text()) == 2 and not (d / "b.json").exists()

    # Negative control: a handler that raises ends the commit with its exception, nothing
    # changed (the check above would see the set unchanged).
    with aj.transaction(d) as t:
        t.write_json("a.json", 1)
        t.write_json("b.json", 1)

    def stop():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _commit_while_locked(d, stop)
    assert json.loads((d / "a.json").read_text()) == 1 and (d / "b.json").exists()
    assert txn_leftovers(d) == []


def _kill_loop(d, files, writer, rounds, until=None, max_rounds=None):
    """Forks a child that runs writer(gen) for gen = N+1, N+2, ... until killed, kills it with
    SIGKILL after a random delay and calls until(); rounds times, or with max_rounds, until
    until() has returned True (at least rounds, at most max_rounds times). Returns the list
    of what until() returned."""
    rng = random.Random(18)
    results = []
    for i in range(max_rounds or rounds):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                gen = (i + 1) * 1_000_000
                os.write(w, b"x")  # started
                while True:
                    gen += 1
                    writer(gen)
            finally:
                os._exit(1)
        os.close(w)
        os.read(r, 1)
        os.close(r)
        time.sleep(rng.uniform(0.005, 0.06))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        results.append(until())
        if max_rounds and i + 1 >= rounds and any(x is True for x in results):
            break
    return results


def test_recover_after_sigkill_leaves_every_file_equal(tmp_path):
    d = tmp_path / "set"
    files = names()
    with aj.transaction(d) as t:
        for f in files:
            t.write_json(f, {"gen": 0})
    repaired = []

    def writer(gen):
        with aj.transaction(d, durable=False) as t:
            for f in files:
                t.write_json(f, {"gen": gen, "pad": "x" * 200})

    def check():
        repaired.append(aj.recover(d))
        got = gens(d, files)
        assert len(set(got)) == 1, "mixed set after recover: %s" % got
        assert txn_leftovers(d) == []
        return True

    results = _kill_loop(d, files, writer, 40, until=check)
    assert len(results) == 40
    # The kills landed inside commits: recovery had work to do (else the test proves little).
    assert any(repaired), repaired


def test_sigkill_next_transaction_recovers_first(tmp_path):
    """A user who never calls recover never builds on a half-applied set."""
    d = tmp_path / "set"
    files = names()
    with aj.transaction(d) as t:
        for f in files:
            t.write_json(f, {"gen": 0})

    def writer(gen):
        with aj.transaction(d, durable=False) as t:
            for f in files:
                t.write_json(f, {"gen": gen})

    def check():
        with aj.transaction(d, durable=False) as t:
            t.write_text("marker.txt", "x")
        got = gens(d, files)
        assert len(set(got)) == 1, "mixed set after the next transaction: %s" % got
        return True

    _kill_loop(d, files, writer, 15, until=check)


def test_control_separate_writes_show_a_mix(tmp_path):
    """Negative control of the kill test: the same loop with one write_json_atomic per file
    leaves a mixed set after some kill (bounded tries), which the check above would catch."""
    d = tmp_path / "set"
    d.mkdir()
    files = names()
    for f in files:
        aj.write_json_atomic(d / f, {"gen": 0})

    def writer(gen):
        for f in files:
            aj.write_json_atomic(d / f, {"gen": gen, "pad": "x" * 200}, durable=False)

    def mixed():
        aj.recover(d)  # no transaction here: nothing to recover, nothing changed
        return len(set(gens(d, files))) > 1

    results = _kill_loop(d, files, writer, 1, until=mixed, max_rounds=200)
    assert any(results), "200 kills and never a mixed set"


# ---- published snapshots --------------------------------------------------------------------


def make_tree(src, gen, n=N):
    src.mkdir(exist_ok=True)
    (src / "sub").mkdir(exist_ok=True)
    for f in names(n):
        (src / f).write_text(json.dumps({"gen": gen}))
    (src / "sub" / "page.md").write_text("page %d\n" % gen)


def test_publish_open_read_and_gc(tmp_path):
    src, name = tmp_path / "src", tmp_path / "site"
    make_tree(src, 1)
    aj.publish(src, name)
    assert os.path.islink(name) and len(generations(name)) == 1
    # A copy: changing the source in place changes nothing published.
    with open(src / "f00.json", "r+") as f:
        f.write('{"gen": 9}')
    with aj.open_snapshot(name) as s:
        assert isinstance(s.fd, int)
        assert s.read_json("f00.json") == {"gen": 1}
        assert s.read_text("sub/page.md") == "page 1\n"
        assert s.read_bytes("sub/page.md") == b"page 1\n"
        with s.open("f01.json") as f:
            assert json.load(f) == {"gen": 1}
        with s.open("sub/page.md", "rb") as f:
            assert f.read() == b"page 1\n"
        assert sorted(os.listdir(s.fd)) == sorted(names() + ["sub"])
        with pytest.raises(ValueError):
            s.open("f00.json", "w")
        with pytest.raises(FileNotFoundError):
            s.read_bytes("missing")

        # Republished while held: the held generation stays whole and is kept by the gc.
        make_tree(src, 2)
        aj.publish(src, name)
        assert s.read_json("f00.json") == {"gen": 1}
        # Negative control: by path name the new generation is seen.
        assert json.loads((name / "f00.json").read_text()) == {"gen": 2}
        assert aj.snapshot_gc(name) == 0
        assert len(generations(name)) == 2
    with pytest.raises(ValueError):
        s.fd
    # Released: the gc removes it.
    assert aj.snapshot_gc(name) == 1
    assert len(generations(name)) == 1
    with aj.open_snapshot(str(name)) as s:
        assert s.read_json("f00.json") == {"gen": 2}
    assert (src / "f00.json").exists()  # the source is left as it was


def test_publish_move(tmp_path):
    src, name = tmp_path / "src", tmp_path / "site"
    make_tree(src, 1)
    aj.publish(src, name, move=True)
    assert not src.exists()
    with aj.open_snapshot(name) as s:
        assert [s.read_json(f)["gen"] for f in names()] == [1] * N
    # Negative control: without move the source stays.
    make_tree(src, 2)
    aj.publish(src, name)
    assert src.exists()
    with aj.open_snapshot(name) as s:
        assert s.read_json("f00.json") == {"gen": 2}


def test_snapshot_errors(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        aj.open_snapshot(tmp_path / "none")
    assert e.value.filename == tmp_path / "none"
    with pytest.raises(FileNotFoundError):
        aj.publish(tmp_path / "no-src", tmp_path / "site")
    (tmp_path / "src").mkdir()
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError) as e:
        aj.publish(tmp_path / "src", tmp_path / "taken")
    assert str(tmp_path / "taken") in str(e.value) or e.value.filename == tmp_path / "taken"
    assert os.listdir(tmp_path / "taken") == []
    os.mkfifo(tmp_path / "src" / "fifo")
    with pytest.raises(OSError) as e:
        aj.publish(tmp_path / "src", tmp_path / "site")
    assert e.value.errno == errno.EOPNOTSUPP
    assert not os.path.lexists(tmp_path / "site")


def _reader(name, by_path, seconds, w):
    """Reads the whole set again and again for seconds; writes {"reads", "mixed", "failed"}."""
    files = names()
    out = {"reads": 0, "mixed": 0, "failed": 0, "errors": []}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if by_path:
                got = [json.loads(open(os.path.join(name, f)).read())["gen"] for f in files]
            else:
                with aj.open_snapshot(name) as s:
                    got = [s.read_json(f)["gen"] for f in files]
        except (OSError, ValueError) as e:
            out["failed"] += 1
            out["errors"] = out["errors"][:3] + [repr(e)]
            if by_path:
                break
            continue
        out["reads"] += 1
        if len(set(got)) != 1:
            out["mixed"] += 1
            if by_path:
                break
    os.write(w, json.dumps(out).encode())


def _run_readers(tmp_path, by_path, seconds, nreaders=3):
    src, name = tmp_path / "src", str(tmp_path / "site")
    make_tree(src, 0)
    aj.publish(src, name)
    readers = []
    for _ in range(nreaders):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                _reader(name, by_path, seconds, w)
            finally:
                os._exit(0)
        os.close(w)
        readers.append((pid, r))
    gen, end, alive = 0, time.monotonic() + seconds, True
    while alive:
        gen += 1
        make_tree(src, gen)
        aj.publish(src, name, durable=False)
        alive = time.monotonic() < end and all(
            os.waitpid(pid, os.WNOHANG) == (0, 0) for pid, _ in readers
        )
    results = []
    for pid, r in readers:
        data = b""
        while chunk := os.read(r, 65536):
            data += chunk
        os.close(r)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass  # reaped by the WNOHANG above
        results.append(json.loads(data))
    return name, gen, results


def test_readers_never_see_a_mixed_set_while_republishing(tmp_path):
    name, gen, results = _run_readers(tmp_path, by_path=False, seconds=3)
    assert gen > 20, "the publisher made only %d generations" % gen
    for res in results:
        assert res["mixed"] == 0 and res["failed"] == 0, res
        assert res["reads"] > 20, res
    aj.snapshot_gc(name)
    assert len(generations(name)) <= 2


def test_control_reading_by_path_is_caught(tmp_path):
    """Negative control: readers that open NAME/FILE by path, without the protocol, see a mix
    or a vanished file at least once, which the check above counts."""
    _, _, results = _run_readers(tmp_path, by_path=True, seconds=10)
    assert any(res["mixed"] or res["failed"] for res in results), results

"""Waits for a file's lock: Ctrl-C ends them at once (PEP 475), with nothing written; a signal
handler that returns lets them go on; a timeout bounds them.

Each case runs in a child interpreter: a KeyboardInterrupt that came late (after the call
returned) must fail the test, not stop pytest, and a wait that never ends is a timeout. The lock
is held by another process (a flock on ".NAME.ajio-lock" next to the target, as libajio takes
it) for HOLD seconds; SIGINT is sent to the child's process (os.kill, as Ctrl-C is) 0.3 s into
the wait, while its main thread waits in the library.
"""

import json
import os

import pytest

from conftest import run_child

HOLD = 6.0

CHILD = r"""
import fcntl, json, os, signal, subprocess, sys, threading, time
import atomic_json_io as aj

path, case, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
d, name = os.path.split(path)
lock = os.path.join(d, "." + name + ".ajio-lock")
HOLDER = (
    "import fcntl, os, sys, time\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o666)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('locked', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
)
RECORD = {"case": case, "x": "y" * 100}

log = None
if case == "log_append":
    log = aj.open_jsonl_log(path, durable=False)  # opened before the lock is taken
if case == "update":
    aj.write_json_atomic(path, {"n": 0}, durable=False)

holder = subprocess.Popen([sys.executable, "-c", HOLDER, lock, str(hold)], stdout=subprocess.PIPE)
assert holder.stdout.readline() == b"locked\n"

signum = signal.SIGINT
handled = []
if case == "handler_returns":
    signum = signal.SIGUSR1
    signal.signal(signal.SIGUSR1, lambda *a: handled.append(time.monotonic()))
timer = threading.Timer(0.3, os.kill, (os.getpid(), signum))
timer.start()

t0 = time.monotonic()
outcome = "returned"
try:
    if case in ("append_jsonl", "handler_returns"):
        aj.append_jsonl(path, [RECORD], durable=False)
    elif case == "append_fallback":
        # cls= goes through the json module and a one-shot append of the text
        aj.append_jsonl(path, [RECORD], durable=False, cls=json.JSONEncoder)
    elif case == "open_jsonl_log":
        aj.open_jsonl_log(path, durable=False).append([RECORD])
    elif case == "log_append":
        log.append([RECORD])
    elif case == "update":
        aj.update_json_atomic(path, lambda v: dict(v, n=v["n"] + 1), durable=False)
    else:
        raise SystemExit("unknown case " + case)
except KeyboardInterrupt:
    outcome = "KeyboardInterrupt"
elapsed = time.monotonic() - t0
holder_alive = holder.poll() is None
holder.kill()
holder.wait()
timer.join()
time.sleep(0.2)  # a SIGINT still pending would surface here, failing the child
with open(path, "rb") if os.path.exists(path) else open(os.devnull, "rb") as f:
    content = f.read().decode()
print(json.dumps({"outcome": outcome, "elapsed": elapsed, "holder_alive": holder_alive,
                  "handled": [t - t0 for t in handled], "content": content}))
"""


def run_case(tmp_path, case, hold=HOLD, target="log.jsonl"):
    path = os.path.join(str(tmp_path), target)
    proc = run_child(CHILD, path, case, hold, timeout=60)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "case", ["append_jsonl", "append_fallback", "open_jsonl_log", "log_append", "update"]
)
def test_ctrl_c_ends_a_lock_wait_at_once_with_nothing_written(tmp_path, case):
    target = "state.json" if case == "update" else "log.jsonl"
    res = run_case(tmp_path, case, target=target)
    # Before the fix the interrupt came only once the holder let go (HOLD s), after the write.
    assert res["outcome"] == "KeyboardInterrupt", res
    assert res["elapsed"] < 1.3, res
    assert res["holder_alive"], res
    if case == "update":
        assert json.loads(res["content"]) == {"n": 0}, res
    else:
        assert res["content"] == "", res


def test_a_signal_handler_that_returns_lets_the_wait_go_on(tmp_path):
    res = run_case(tmp_path, "handler_returns", hold=1.5)
    assert res["outcome"] == "returned", res
    # The handler ran during the wait (about 0.3 s in), not after it ended (1.5 s).
    assert len(res["handled"]) == 1 and res["handled"][0] < 1.0, res
    assert res["elapsed"] >= 1.0, res
    assert [json.loads(l)["case"] for l in res["content"].splitlines()] == ["handler_returns"]


TIMEOUT_CHILD = r"""
import fcntl, json, os, sys, time
import atomic_json_io as aj

path, how, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
d, name = os.path.split(path)
# The library makes the file and its lock file (it may retire a lock file it did not make).
if how == "log":
    log = aj.open_jsonl_log(path, durable=False, timeout=timeout)
else:
    aj.append_jsonl(path, [{"a": 0}], durable=False)
size = os.path.getsize(path)
fd = os.open(os.path.join(d, "." + name + ".ajio-lock"), os.O_RDWR)
# A flock of another open file description excludes this process's own appends as well.
fcntl.flock(fd, fcntl.LOCK_EX)
t0 = time.monotonic()
try:
    if how == "log":
        log.append([{"a": 1}])
    else:
        aj.append_jsonl(path, [{"a": 1}], durable=False, timeout=timeout)
    outcome = "returned"
except OSError as e:
    outcome = type(e).__name__
print(json.dumps({"outcome": outcome, "elapsed": time.monotonic() - t0,
                  "grew": os.path.getsize(path) - size}))
"""


@pytest.mark.parametrize("how", ["append_jsonl", "log"])
@pytest.mark.parametrize("timeout, error", [(0, "BlockingIOError"), (0.3, "TimeoutError")])
def test_timeout_bounds_the_wait_for_the_lock(tmp_path, how, timeout, error):
    path = os.path.join(str(tmp_path), "log.jsonl")
    proc = run_child(TIMEOUT_CHILD, path, how, timeout, timeout=20)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["outcome"] == error, res
    assert timeout <= res["elapsed"] < timeout + 1.0, res
    assert res["grew"] == 0, res


def test_timeout_must_not_be_negative(tmp_path):
    import atomic_json_io as aj

    with pytest.raises(ValueError):
        aj.append_jsonl(str(tmp_path / "x.jsonl"), [{}], timeout=-1)
    with pytest.raises(ValueError):
        aj.open_jsonl_log(str(tmp_path / "x.jsonl"), timeout=-0.5)

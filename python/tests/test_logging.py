"""JsonlHandler: one JSON line per logging record, from many threads and across os.fork()."""

import datetime
import json
import logging
import logging.config
import os
import threading
import time

import pytest

import atomic_json_io as aj
from atomic_json_io import JsonlHandler

THREADS = 8
PER_THREAD = 250


class RecordingHandler(JsonlHandler):
    """Keeps what logging would print as "--- Logging error ---"."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.errors = []

    def handleError(self, record):
        self.errors.append(record.getMessage())


@pytest.fixture
def make_logger(request):
    """make_logger(handler) -> a fresh logger at DEBUG writing only to handler."""
    made = []

    def make(handler):
        logger = logging.getLogger("ajio-test.%s.%d" % (request.node.name, len(made)))
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        made.append((logger, handler))
        return logger

    yield make
    for logger, handler in made:
        logger.removeHandler(handler)
        handler.close()


def lines(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data == b"" or data.endswith(b"\n")
    return [json.loads(line) for line in data.split(b"\n")[:-1]]


def test_default_fields(tmp_path, make_logger):
    p = tmp_path / "app.jsonl"
    log = make_logger(JsonlHandler(p))
    before = time.time()
    log.info("hello %s, %d", "world", 3)
    (rec,) = lines(p)
    assert list(rec) == ["time", "level", "logger", "message"]
    assert rec["level"] == "INFO" and rec["logger"] == log.name
    assert rec["message"] == "hello world, 3"
    t = datetime.datetime.fromisoformat(rec["time"])
    assert t.utcoffset() == datetime.timedelta(0)
    assert abs(t.timestamp() - before) < 60


def test_exc_info_and_stack_info(tmp_path, make_logger):
    p = tmp_path / "app.jsonl"
    log = make_logger(JsonlHandler(p))
    try:
        {}["missing"]
    except KeyError:
        log.exception("failed")
    log.warning("where", stack_info=True)
    rec, rec2 = lines(p)
    assert rec["message"] == "failed"  # the traceback is a field of its own
    assert rec["exc_info"].startswith("Traceback (most recent call last):")
    assert rec["exc_info"].endswith("KeyError: 'missing'")
    assert "exc_info" not in rec2 and rec2["stack_info"].startswith("Stack (most recent")


def test_extra_fields(tmp_path, make_logger):
    p = tmp_path / "app.jsonl"
    log = make_logger(JsonlHandler(p))
    obj = object()
    log.info("x", extra={"user": "ann", "n": [1, 2], "obj": obj, "when": datetime.date(2024, 1, 2)})
    (rec,) = lines(p)
    assert rec["user"] == "ann" and rec["n"] == [1, 2]
    assert rec["obj"] == str(obj) and rec["when"] == "2024-01-02"  # default=str
    # Only the extra attributes follow: none of LogRecord's own.
    assert set(rec) == {"time", "level", "logger", "message", "user", "n", "obj", "when"}


def test_extra_off_and_collisions(tmp_path, make_logger):
    p = tmp_path / "app.jsonl"
    log = make_logger(JsonlHandler(p, extra=False))
    log.info("x", extra={"user": "ann"})
    assert list(lines(p)[0]) == ["time", "level", "logger", "message"]
    q = tmp_path / "b.jsonl"
    log2 = make_logger(JsonlHandler(q, fields={"level": "levelno"}))
    log2.info("x", extra={"level": "from extra"})
    assert lines(q) == [{"level": logging.INFO}]  # a chosen key wins over an extra one


def test_fields_chosen(tmp_path, make_logger):
    p = tmp_path / "app.jsonl"
    h = JsonlHandler(p, fields=["created", "levelno", "message", "funcName", "nosuch"], extra=False)
    log = make_logger(h)
    log.error("m")
    (rec,) = lines(p)
    assert list(rec) == ["created", "levelno", "message", "funcName"]  # nosuch: left out
    assert isinstance(rec["created"], float) and rec["levelno"] == logging.ERROR
    assert rec["funcName"] == "test_fields_chosen"
    q = tmp_path / "b.jsonl"
    log2 = make_logger(JsonlHandler(q, fields={"ts": "time", "msg": "message", "lvl": "level"}))
    log2.debug("d", extra={"k": 1})
    (rec,) = lines(q)
    assert list(rec) == ["ts", "msg", "lvl", "k"]
    with pytest.raises(TypeError):
        JsonlHandler(tmp_path / "c.jsonl", fields="message")
    with pytest.raises(TypeError):
        JsonlHandler(tmp_path / "c.jsonl", fields=[1])


def test_formatter_hooks(tmp_path, make_logger):
    class Short(logging.Formatter):
        def formatException(self, ei):
            return "%s!" % ei[0].__name__

    p = tmp_path / "app.jsonl"
    h = JsonlHandler(p)
    h.setFormatter(Short("[%(levelname)s] %(message)s", datefmt="%Y"))
    log = make_logger(h)
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("div %d", 1)
    (rec,) = lines(p)
    assert rec["message"] == "[ERROR] div 1"  # format string applied, no traceback
    assert rec["exc_info"] == "ZeroDivisionError!"
    assert rec["time"] == time.strftime("%Y", time.localtime())


def test_record_to_dict_override(tmp_path, make_logger):
    class Mine(JsonlHandler):
        def record_to_dict(self, record):
            return {"m": record.getMessage(), "v": 1}

    p = tmp_path / "app.jsonl"
    log = make_logger(Mine(p))
    log.info("a")
    assert lines(p) == [{"m": "a", "v": 1}]


def check_all_present(records, expected):
    """Problems: records of expected missing or repeated, and records not expected."""
    seen = {}
    for rec in records:
        key = (rec["t"], rec["i"])
        seen[key] = seen.get(key, 0) + 1
    problems = ["missing %r" % (k,) for k in expected if k not in seen]
    problems += ["%r %d times" % (k, n) for k, n in seen.items() if n != 1]
    problems += ["unexpected %r" % (k,) for k in seen if k not in expected]
    return problems


def test_many_threads(tmp_path, make_logger):
    p = tmp_path / "app.jsonl"
    h = RecordingHandler(p, durable=False)
    log = make_logger(h)
    start = threading.Barrier(THREADS)

    def run(t):
        start.wait()
        for i in range(PER_THREAD):
            log.info("r", extra={"t": t, "i": i, "pad": "x" * (i % 300)})

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = {(t, i) for t in range(THREADS) for i in range(PER_THREAD)}
    records = lines(p)
    assert h.errors == []
    assert check_all_present(records, expected) == []
    # Negative controls: the check sees a lost record and a doubled one, and handleError is
    # what a failed emit reaches (here, a log closed under the handler).
    assert check_all_present(records[1:], expected) != []
    assert check_all_present(records + records[:1], expected) != []
    h._log.close()
    h.emit(logging.LogRecord("x", logging.INFO, "", 0, "after", (), None))
    assert h.errors == ["after"]


def test_durable_threads(tmp_path, make_logger):
    p = tmp_path / "app.jsonl"
    h = RecordingHandler(p)
    log = make_logger(h)

    def run(t):
        for i in range(20):
            log.info("r", extra={"t": t, "i": i})

    threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert h.errors == []
    assert check_all_present(lines(p), {(t, i) for t in range(4) for i in range(20)}) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_parent_and_child_log(tmp_path, make_logger):
    p = tmp_path / "app.jsonl"
    h = RecordingHandler(p)
    log = make_logger(h)
    log.info("before", extra={"t": "parent", "i": -1})
    # A thread keeps logging while the fork happens: the child must not inherit the handler's
    # lock or the log held by a thread it does not have.
    stop = threading.Event()
    counter = [0]

    def background():
        while not stop.is_set():
            log.info("bg", extra={"t": "bg", "i": counter[0]})
            counter[0] += 1

    bg = threading.Thread(target=background)
    bg.start()
    try:
        time.sleep(0.01)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for i in range(200):
                    log.info("child", extra={"t": "child", "i": i})
                code = 0 if not h.errors else 2
            finally:
                os._exit(code)
        for i in range(200):
            log.info("parent", extra={"t": "parent", "i": i})
    finally:
        stop.set()
        bg.join()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert h.errors == []
    expected = {("parent", i) for i in range(-1, 200)} | {("child", i) for i in range(200)}
    expected |= {("bg", i) for i in range(counter[0])}
    assert check_all_present(lines(p), expected) == []


def test_close_then_log_reopens(tmp_path, make_logger):
    p = tmp_path / "app.jsonl"
    h = RecordingHandler(p, delay=True)
    assert not p.exists()  # delay: opened at the first record
    log = make_logger(h)
    log.info("one")
    h.close()
    log.info("two")  # as FileHandler: logging after close still writes
    assert [r["message"] for r in lines(p)] == ["one", "two"] and h.errors == []


def test_paths_and_dict_config(tmp_path):
    p = tmp_path / "sub" / "app.jsonl"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "jsonl": {
                    "class": "atomic_json_io.JsonlHandler",
                    "path": os.fsencode(p),
                    "level": "WARNING",
                    "fields": ["level", "message"],
                }
            },
            "loggers": {"ajio-dict": {"handlers": ["jsonl"], "level": "DEBUG", "propagate": False}},
        }
    )
    log = logging.getLogger("ajio-dict")
    try:
        log.info("dropped")
        log.warning("kept")
    finally:
        for handler in log.handlers[:]:
            log.removeHandler(handler)
            handler.close()
    assert lines(p) == [{"level": "WARNING", "message": "kept"}]
    assert "JsonlHandler" in aj.__all__


class Blocker:
    """An extra= value whose encoding waits until released: a thread stopped inside emit."""


def test_threads_do_not_take_turns(tmp_path, make_logger):
    # A thread inside emit (here stopped in its encoding) does not hold up another thread's
    # record: handle() does not hold the handler's lock around emit, so the durable appends of
    # threads that log together can share a write and a sync. Control: the same with logging's
    # own handle(), which holds the lock, leaves the second record waiting.
    for control in (False, True):
        p = tmp_path / ("control.jsonl" if control else "app.jsonl")
        inside, release, second = threading.Event(), threading.Event(), threading.Event()

        def default(o):
            if isinstance(o, Blocker):
                inside.set()
                release.wait(30)
                return "released"
            return str(o)

        handler = RecordingHandler(p, default=default)
        if control:
            handler.handle = lambda record: logging.Handler.handle(handler, record)
        logger = make_logger(handler)
        first = threading.Thread(target=lambda: logger.info("first", extra={"b": Blocker()}))
        first.start()
        assert inside.wait(30)
        other = threading.Thread(target=lambda: (logger.info("second"), second.set()))
        other.start()
        went_on = second.wait(0.5 if control else 30)
        release.set()
        first.join(30)
        other.join(30)
        assert handler.errors == []
        assert went_on is (not control)
        assert sorted(r["message"] for r in lines(p)) == ["first", "second"]

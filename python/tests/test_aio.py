"""atomic_json_io.aio: the write functions in a worker thread, the event loop ticking meanwhile."""

import asyncio
import json
import threading

import pytest

import atomic_json_io as aj
from atomic_json_io import aio

RECORDS = 64
PAD = 256 * 1024  # 16 MiB in all


class Ticker:
    """A task counting the event loop's turns; marks tell which turns fell inside a write."""

    def __init__(self):
        self.ticks = 0
        self.during = 0
        self.writing = False
        self._stop = False

    async def run(self):
        while not self._stop:
            self.ticks += 1
            if self.writing:
                self.during += 1
            await asyncio.sleep(0)

    def stop(self):
        self._stop = True


def records(ticker, started):
    """The records of a large write; the first one marks the write as started (in the worker
    thread), the caller marks its end when the await returns."""
    for i in range(RECORDS):
        if i == 0:
            started.append(threading.current_thread())
            ticker.writing = True
        yield {"i": i, "pad": "abcdefgh"[i % 8] * PAD}


def check_file(path):
    with open(path, "rb") as f:
        got = [json.loads(line) for line in f]
    assert [r["i"] for r in got] == list(range(RECORDS))


def test_loop_ticks_during_a_large_durable_write(tmp_path):
    p = tmp_path / "big.jsonl"

    async def main():
        ticker = Ticker()
        task = asyncio.create_task(ticker.run())
        await asyncio.sleep(0)
        started = []
        await aio.write_jsonl_atomic(p, records(ticker, started), durable=True)
        ticker.writing = False
        async_during = ticker.during
        assert started and started[0] is not threading.current_thread()
        check_file(p)

        # Negative control: the blocking call made from the coroutine itself leaves the loop no
        # turn while it writes, and the same count shows it.
        ticker.during = 0
        started = []
        aj.write_jsonl_atomic(p, records(ticker, started), durable=True)
        ticker.writing = False
        blocking_during = ticker.during
        ticker.stop()
        await task
        check_file(p)
        return async_during, blocking_during

    async_during, blocking_during = asyncio.run(main())
    assert blocking_during == 0
    assert async_during >= 10


def test_each_function(tmp_path):
    p = tmp_path / "a.json"
    q = tmp_path / "b.jsonl"

    async def main():
        assert await aio.write_json_atomic(p, {"a": 1}, indent=None) is True
        assert p.read_text() == '{"a": 1}\n'
        assert await aio.write_json_atomic(p, {"a": 1}, indent=None, skip_unchanged=True) is False
        assert await aio.write_text_atomic(p, "text") is True
        assert p.read_text() == "text\n"
        assert await aio.write_jsonl_atomic(q, [1, 2]) is True
        assert await aio.append_jsonl(q, [3]) == 1
        assert list(aj.read_jsonl(q)) == [1, 2, 3]
        r = tmp_path / "c.json"
        assert await aio.update_json_atomic(r, lambda v: v + 1, default=0) == 1
        assert await aio.update_json_atomic(r, lambda v: v + 1) == 2

    asyncio.run(main())


def test_errors_come_back_and_leave_the_file(tmp_path, snapshot):
    p = tmp_path / "a.json"
    p.write_text('{"v": 1}\n')
    before = snapshot(p)

    async def main():
        with pytest.raises(TypeError):
            await aio.write_json_atomic(p, {"x": object()})
        with pytest.raises(FileExistsError):
            await aio.write_text_atomic(p, "new", create_only=True)
        with pytest.raises(ZeroDivisionError):
            await aio.update_json_atomic(p, lambda v: 1 / 0, default=0)

    asyncio.run(main())
    assert snapshot(p) == before


def test_concurrent_writes(tmp_path):
    async def main():
        await asyncio.gather(
            *(aio.write_json_atomic(tmp_path / ("f%d.json" % i), i) for i in range(16))
        )

    asyncio.run(main())
    assert [json.loads((tmp_path / ("f%d.json" % i)).read_text()) for i in range(16)] == list(
        range(16)
    )

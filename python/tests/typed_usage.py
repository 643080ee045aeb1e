"""Every public name of atomic_json_io, used as typed code would: test_typing.py runs
mypy --strict on this file (it is not a test of its own, and is run only through mypy)."""

import asyncio
import json
import logging
import os
import pathlib
from typing import Any

import atomic_json_io as aj
from atomic_json_io import (
    AtomicBinaryFile,
    AtomicTextFile,
    Batch,
    JSONLDecodeError,
    JsonlHandler,
    JsonlLog,
    JsonlReader,
    NotDurableError,
    Snapshot,
    TornLineWarning,
    Transaction,
    aio,
)


def writes(base: pathlib.Path) -> bool:
    p = base / "a.json"
    done: bool = aj.write_json_atomic(p, {"a": 1}, indent=None, sort_keys=True, default=str)
    done = aj.write_text_atomic(os.fsencode(p), "text", durable=False, mode=0o600) and done
    done = aj.write_jsonl_atomic(str(p), iter([1, 2]), symlinks="refuse") and done
    n: int = aj.update_json_atomic(base / "n.json", lambda v: int(v) + 1, default=0, timeout=1.5)
    count: int = aj.append_jsonl(base / "l.jsonl", [{"n": n}], timeout=None)
    text: str = aj.dumps({"a": 1}, indent=2)
    return done and count == 1 and bool(text) and aj.__version__ != ""


def reads(base: pathlib.Path) -> list[Any]:
    out: list[Any] = []
    reader: JsonlReader = aj.read_jsonl(base / "l.jsonl", warn=False, loads=json.loads)
    with reader as r:
        for record in r:
            out.append(record)
        line: int = r.line
        torn: int = r.torn
        message: str | None = r.torn_message
    try:
        out.extend(aj.read_jsonl(base / "l.jsonl"))
    except JSONLDecodeError as e:
        where: tuple[str, str, int, int, int] = (e.msg, e.doc, e.pos, e.lineno, e.colno)
        out.append((where, e.path, str(e)))
    except json.JSONDecodeError:
        pass
    out.append((line, torn, message))
    return out


def logs(base: pathlib.Path) -> None:
    with aj.open_jsonl_log(base / "l.jsonl", durable=False) as log:
        log.append([1])
    with JsonlLog(base / "l.jsonl") as log2:
        log2.append([2])
    handler = JsonlHandler(
        base / "app.jsonl", logging.INFO, fields={"ts": "time", "msg": "message"}, default=repr
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    fields: dict[str, str] = handler.fields
    entry: dict[str, Any] = handler.record_to_dict(
        logging.LogRecord("n", logging.INFO, __file__, 1, "m", (), None)
    )
    logging.getLogger("typed").addHandler(handler)
    handler.close()
    assert fields and entry and JsonlHandler.DEFAULT_FIELDS


def files(base: pathlib.Path) -> bool:
    with aj.open_atomic(base / "c.json") as f:
        text_file: AtomicTextFile = f
        json.dump({"a": 1}, f)
        f.write("\n")
    with aj.open_atomic(base / "c.bin", "wb", mode_bits=0o644) as g:
        binary_file: AtomicBinaryFile = g
        g.write(b"bytes")
    h = aj.open_atomic(base / "d.txt", "x", encoding="utf-8", newline="\n")
    h.write("x")
    committed: bool = h.commit()
    aj.open_atomic(base / "e.txt").abort()
    return committed and text_file.closed and binary_file.closed


def sets(base: pathlib.Path) -> int:
    with aj.batch(durable=False) as b:
        batch: Batch = b
        b.write_json(base / "b.json", [1])
        b.write_text(base / "b.txt", "t")
    results: list[tuple[Any, OSError | None]] = batch.results()
    with aj.transaction(base / "set") as t:
        txn: Transaction = t
        t.write_json("a.json", 1)
        t.write_text("b.txt", "b")
        t.write_bytes("c.bin", b"c")
        t.remove("d")
    repaired: bool = aj.recover(base / "set")
    aj.publish(base / "set", base / "site", move=False)
    with aj.open_snapshot(base / "site") as s:
        snap: Snapshot = s
        value: Any = s.read_json("a.json")
        raw: bytes = s.read_bytes("c.bin")
        with s.open("b.txt") as tf:
            line: str = tf.readline()
        fd: int = s.fd
    removed: int = aj.snapshot_gc(base / "site") + aj.sweep(base, "b.json", min_age=0)
    assert results and txn is not None and snap and value and raw and line and fd >= 0
    return removed + int(repaired)


async def async_writes(base: pathlib.Path) -> int:
    done: bool = await aio.write_json_atomic(base / "a.json", {"a": 1})
    done = await aio.write_text_atomic(base / "b.txt", "b") and done
    done = await aio.write_jsonl_atomic(base / "c.jsonl", [1]) and done
    new: int = await aio.update_json_atomic(base / "n.json", lambda v: int(v) + 1, default=0)
    count: int = await aio.append_jsonl(base / "c.jsonl", [2])
    return new + count if done else 0


def warnings_and_errors() -> tuple[type[Warning], type[OSError], type[ValueError]]:
    return TornLineWarning, NotDurableError, JSONLDecodeError


def main(base: pathlib.Path) -> None:
    writes(base)
    reads(base)
    logs(base)
    files(base)
    sets(base)
    asyncio.run(async_writes(base))
    warnings_and_errors()

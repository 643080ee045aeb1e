"""The write functions of atomic_json_io for asyncio: each runs in a worker thread
(:func:`asyncio.to_thread`), so that a durable write's syncs, a lock wait or a large file never
block the event loop::

    from atomic_json_io import aio

    async def save(state):
        await aio.write_json_atomic("state.json", state)

Arguments, results and exceptions are those of the function of the same name in
:mod:`atomic_json_io`. The data is encoded in the worker thread, while the loop runs on: do not
change it (nor the records of a JSON Lines write) until the call returns. Cancelling the call
does not stop the write, which goes on in its thread and replaces the file whole or not at all,
as ever; the caller only stops waiting. ``update_json_atomic``'s *fn* runs in the worker thread
too, with the file's lock held.
"""

import asyncio

from . import (
    append_jsonl as _append_jsonl,
    update_json_atomic as _update_json_atomic,
    write_json_atomic as _write_json_atomic,
    write_jsonl_atomic as _write_jsonl_atomic,
    write_text_atomic as _write_text_atomic,
)

__all__ = [
    "append_jsonl",
    "update_json_atomic",
    "write_json_atomic",
    "write_jsonl_atomic",
    "write_text_atomic",
]


async def write_json_atomic(path, data, **kwargs):
    """:func:`atomic_json_io.write_json_atomic` in a worker thread."""
    return await asyncio.to_thread(_write_json_atomic, path, data, **kwargs)


async def write_text_atomic(path, text, **kwargs):
    """:func:`atomic_json_io.write_text_atomic` in a worker thread."""
    return await asyncio.to_thread(_write_text_atomic, path, text, **kwargs)


async def write_jsonl_atomic(path, records, **kwargs):
    """:func:`atomic_json_io.write_jsonl_atomic` in a worker thread (a generator of records
    runs there too)."""
    return await asyncio.to_thread(_write_jsonl_atomic, path, records, **kwargs)


async def update_json_atomic(path, fn, **kwargs):
    """:func:`atomic_json_io.update_json_atomic` in a worker thread, *fn* included."""
    return await asyncio.to_thread(_update_json_atomic, path, fn, **kwargs)


async def append_jsonl(path, records, **kwargs):
    """:func:`atomic_json_io.append_jsonl` in a worker thread. A :class:`TornLineWarning` is
    issued in that thread."""
    return await asyncio.to_thread(_append_jsonl, path, records, **kwargs)

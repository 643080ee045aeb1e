"""Crash-safe, concurrency-safe atomic writes of JSON, JSONL and text files.

A drop-in replacement for the atomic-json-io package's ``write_json_atomic``,
``write_text_atomic`` and ``write_jsonl_atomic``, backed by libajio (C): a reader never sees a
partial file, a durable write survives a power cut (the file *and* its directory are synced),
modes, owners and symlinks are kept, and JSON is encoded in C, byte-identical to ``json.dumps``.

Layout: ``write_json_atomic`` writes ``json.dumps(data, indent=2) + "\\n"``; JSON Lines functions
write ``json.dumps(record) + "\\n"`` per record. Every ``json.dumps`` keyword argument (indent,
separators, sort_keys, ensure_ascii, default, skipkeys, check_circular, allow_nan, cls) is
accepted, so any existing layout can be reproduced exactly.

Unlike ``json.dumps``, NaN and the infinities are refused with ``ValueError`` (they are not
JSON, and a file holding them cannot be read by most JSON parsers) unless ``allow_nan=True`` is
given; the json module's text is then written as it is, without validation.

Sets of files: :func:`transaction` replaces and removes files below one directory all or nothing
(across a kill or a power cut, completed or undone by :func:`recover`); :func:`publish` makes a
copy of a tree the new generation of a published name, which :func:`open_snapshot` reads whole
while it is republished (:func:`snapshot_gc` removes the generations no reader holds).

Options (keyword-only, the library's safe defaults):

``durable=True``
    fsync the data and the directory before returning; ``False`` is atomic only (readers and
    crashed processes still never see a partial file, a power cut may lose the write).
``mode=None``
    keep an existing file's permission bits (and owner, ACL, attributes); a new file gets
    0666 minus the umask. An int gives exactly those bits (``0o600``).
``mkdir=True``
    create missing parent directories (each made durable).
``create_only=False``
    fail with ``FileExistsError`` if the target exists (atomic, decided by the kernel).
``skip_unchanged=False``
    leave the file untouched when it already holds exactly the new bytes; the call then
    returns ``False``.
``symlinks="follow"``
    a symlink at the target: ``"follow"`` replaces the file it points to (the link survives),
    ``"replace"`` replaces the link itself with a regular file, ``"refuse"`` fails with
    ``OSError(ELOOP)``.

Errors are Python's own: ``OSError`` subclasses chosen by errno (``FileExistsError``,
``PermissionError``, ``IsADirectoryError``, ...) whose ``strerror`` is libajio's message naming
the failed step, ``filename`` the path given; ``NotDurableError`` when the file was replaced but
its directory sync failed; ``TypeError`` for objects that are not JSON serializable;
``ValueError`` for NaN/Infinity and invalid JSON. On every error the target is untouched.

The GIL is released while the library opens, writes, syncs, renames, appends and waits for
locks, so other threads run while a durable write waits for the disk; a long encode offers it
to other threads once per switch interval, as Python code does.
"""

import copy
import errno
import json
import operator
import os
import threading
import warnings

from . import _ajio
from ._ajio import NotDurableError, dumps
from ._atomic_file import AtomicBinaryFile, AtomicTextFile, open_atomic
from ._handler import JsonlHandler

__all__ = [
    "AtomicBinaryFile",
    "AtomicTextFile",
    "JSONLDecodeError",
    "JsonlHandler",
    "NotDurableError",
    "TornLineWarning",
    "JsonlLog",
    "JsonlReader",
    "Batch",
    "Snapshot",
    "Transaction",
    "append_jsonl",
    "batch",
    "dumps",
    "open_atomic",
    "open_jsonl_log",
    "open_snapshot",
    "publish",
    "read_jsonl",
    "recover",
    "snapshot_gc",
    "sweep",
    "transaction",
    "update_json_atomic",
    "write_json_atomic",
    "write_jsonl_atomic",
    "write_text_atomic",
]

__version__ = _ajio.LIBAJIO_VERSION

# The json module's own dumps, for what the C encoder leaves to it: a program may set
# json.dumps = atomic_json_io.dumps, and the fallback must not then call itself.
_json_dumps = json.dumps

# A handle in use by a thread when another thread forks must not stay "in use" in the child,
# where that thread does not exist (module.c, "after fork()").
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ajio._after_fork_child)


class TornLineWarning(UserWarning):
    """A JSON Lines file ended with a torn line (no newline): the remains of an interrupted
    append. ``read_jsonl`` skipped it; ``append_jsonl`` repaired it before appending."""


class JSONLDecodeError(json.JSONDecodeError):
    """A line of a JSON Lines file that is not one JSON value (raised by :func:`read_jsonl`).

    A :class:`json.JSONDecodeError` (so a ``ValueError``), whose attributes say where:

    ``doc``
        the offending line, without its newline, decoded from UTF-8 (bytes that are not UTF-8
        read as U+FFFD);
    ``pos``
        the index in ``doc`` of the first character at which the line stops being JSON
        (``len(doc)`` when it ends too early);
    ``lineno``
        the number of the line in the file (1-based), not in ``doc``;
    ``colno``
        ``pos + 1``, a column in characters as the json module counts them;
    ``msg``
        the reason, e.g. ``"expected ',' or '}' after object member"``;
    ``path``
        the path as given to :func:`read_jsonl`.

    ``str(e)`` is libajio's message ``"PATH:LINE:COL: reason"``, whose COL counts bytes (the
    same as ``colno`` for an ASCII line), as ``ajio check`` and ``ajio cat`` print it.
    """

    def __init__(self, msg, doc, pos, lineno=1, path=None, message=None):
        super().__init__(msg, doc, pos)
        self.lineno = lineno
        self.path = path
        if message is None:
            message = "%s:%d:%d: %s" % (
                "<input>" if path is None else os.fsdecode(path),
                lineno,
                len(doc[:pos].encode("utf-8", "surrogatepass")) + 1,
                msg,
            )
        self.args = (message,)

    def __reduce__(self):
        return self.__class__, (self.msg, self.doc, self.pos, self.lineno, self.path, self.args[0])


def _line_error(path):
    """The Reader's factory of JSONLDecodeError for the invalid lines of the file at *path*."""

    def error(message, line, lineno):
        # message is "PATH:LINE:COL: reason", COL counting the bytes of line from 1.
        prefix = "%s:%d:" % (os.fsdecode(path), lineno)
        col, reason = "", message
        if message.startswith(prefix):
            col, _, reason = message[len(prefix) :].partition(": ")
        column = max(int(col), 1) if col.isdigit() else 1
        pos = len(line[: column - 1].decode("utf-8", "replace"))
        return JSONLDecodeError(reason, line.decode("utf-8", "replace"), pos, lineno, path, message)

    return error


_SYMLINKS = {"follow": 0, "replace": _ajio.REPLACE_LINK, "refuse": _ajio.NO_FOLLOW}
_MISSING = object()
# Records of append_jsonl are appended in chunks of about this many bytes: memory stays bounded
# for a generator of any length, and each chunk is one atomic append.
_APPEND_CHUNK = 1 << 20


def _options(durable, mode, mkdir, create_only, skip_unchanged, symlinks):
    flags = 0
    if not durable:
        flags |= _ajio.NO_SYNC
    if not mkdir:
        flags |= _ajio.NO_MKDIR
    if create_only:
        flags |= _ajio.CREATE_ONLY
    if skip_unchanged:
        flags |= _ajio.SKIP_UNCHANGED
    try:
        flags |= _SYMLINKS[symlinks]
    except (KeyError, TypeError):
        raise ValueError(
            "symlinks must be 'follow', 'replace' or 'refuse', not %r" % (symlinks,)
        ) from None
    bits = 0
    if mode is not None:
        bits = operator.index(mode)
        if not 0 <= bits <= 0o7777:
            raise ValueError("mode must be permission bits (0 to 0o7777), not %#o" % bits)
        flags |= _ajio.MODE
    return flags, bits


def _json_flag(kw, flag):
    # allow_nan=True writes the json module's text as it is: NaN is not JSON, so validating it
    # would refuse what the caller asked for.
    return 0 if kw.get("allow_nan") is True else flag


def _fallback_kwargs(kw, lines):
    """json.dumps arguments for what the C encoder cannot do (cls=, allow_nan=True, ...)."""
    kw = dict(kw)
    if not lines:
        kw.setdefault("indent", 2)
    kw.setdefault("allow_nan", False)
    return kw


def _timeout_ms(timeout):
    """A lock timeout in seconds (None: wait as long as the lock is held) in milliseconds, -1
    for None."""
    if timeout is None:
        return -1
    if timeout < 0:
        raise ValueError("timeout must be None or >= 0")
    return min(int(timeout * 1000), 2**31 - 1)


def _check_records(records):
    if isinstance(records, (dict, str, bytes, bytearray)):
        raise TypeError(
            "records must be an iterable of records, not %s" % type(records).__name__
        )


def write_json_atomic(
    path,
    data,
    *,
    durable=True,
    mode=None,
    mkdir=True,
    create_only=False,
    skip_unchanged=False,
    symlinks="follow",
    **dumps_kwargs,
):
    """Atomically replace *path* with ``json.dumps(data, indent=2) + "\\n"``.

    *path* is ``str``, ``bytes`` or any ``os.PathLike``. ``json.dumps`` keyword arguments change
    the layout (``indent=None`` for one line, ``sort_keys=True``, ``separators=...``, ...).
    Returns True, or False when ``skip_unchanged=True`` found the same bytes already there.
    """
    flags, bits = _options(durable, mode, mkdir, create_only, skip_unchanged, symlinks)
    enc = _ajio.make_encoder(dumps_kwargs, False)
    if enc is not None:
        return _ajio.write_json(path, data, flags, bits, enc, False)
    text = _json_dumps(data, **_fallback_kwargs(dumps_kwargs, False))
    return _ajio.write_text(path, text, flags | _json_flag(dumps_kwargs, _ajio.JSON), bits)


def write_text_atomic(
    path,
    text,
    *,
    durable=True,
    mode=None,
    mkdir=True,
    create_only=False,
    skip_unchanged=False,
    symlinks="follow",
):
    """Atomically replace *path* with *text* (a ``str``, written as UTF-8), plus a trailing
    newline when it has none. Returns as :func:`write_json_atomic`."""
    flags, bits = _options(durable, mode, mkdir, create_only, skip_unchanged, symlinks)
    return _ajio.write_text(path, text, flags, bits)


def write_jsonl_atomic(
    path,
    records,
    *,
    durable=True,
    mode=None,
    mkdir=True,
    create_only=False,
    skip_unchanged=False,
    symlinks="follow",
    **dumps_kwargs,
):
    """Atomically replace *path* with one ``json.dumps(record) + "\\n"`` per record.

    *records* is any iterable, a generator included: records are encoded one at a time into
    the temp file, so memory stays bounded whatever the number of records. Nothing is visible
    at *path* until the last record is written; an exception from the iterable leaves the
    target untouched. Returns as :func:`write_json_atomic`.
    """
    _check_records(records)
    flags, bits = _options(durable, mode, mkdir, create_only, skip_unchanged, symlinks)
    enc = _ajio.make_encoder(dumps_kwargs, True)
    if enc is not None:
        return _ajio.write_json(path, records, flags, bits, enc, True)
    kw = _fallback_kwargs(dumps_kwargs, True)
    f = _ajio.File(path, flags | _json_flag(dumps_kwargs, _ajio.JSONL), bits)
    try:
        dumps = _json_dumps
        for record in records:
            f.write(dumps(record, **kw) + "\n")
    except BaseException:
        f.abort()
        raise
    return f.commit()


def update_json_atomic(
    path,
    fn,
    *,
    default=_MISSING,
    timeout=None,
    durable=True,
    mode=None,
    mkdir=True,
    skip_unchanged=False,
    symlinks="follow",
    **dumps_kwargs,
):
    """Locked read-modify-write of a JSON file; returns the new value.

    ``fn`` gets the parsed current value (or a deep copy of *default* when the file does not
    exist) and returns the new value, which replaces the file as :func:`write_json_atomic`
    writes it. No other updater (in any thread or process) runs between the read and the
    replace, so concurrent increments are never lost. Without *default* a missing file is
    ``FileNotFoundError`` and nothing is created. *timeout*: ``None`` waits as long as the lock
    is held, ``0`` tries once (``BlockingIOError``), a number of seconds then ``TimeoutError``.
    An exception from *fn* leaves the file untouched and propagates. ``default=`` here is the
    missing-file value; for ``json.dumps``'s *default* hook pass ``cls=`` a JSONEncoder. *fn*
    runs with the file's lock held: it must not update or append to the same file (it would
    wait for itself).
    """
    flags, bits = _options(durable, mode, mkdir, False, skip_unchanged, symlinks)
    timeout_ms = _timeout_ms(timeout)
    enc = _ajio.make_encoder(dumps_kwargs, False)
    fallback = None if enc is not None else _fallback_kwargs(dumps_kwargs, False)

    def step(old):
        if old is None:
            if default is _MISSING:
                raise FileNotFoundError(
                    errno.ENOENT, "update: no such file, and no default given", path
                )
            current = copy.deepcopy(default)
        else:
            current = json.loads(old)
        new = fn(current)
        if fallback is None:
            return new, None
        return new, (_json_dumps(new, **fallback) + "\n").encode()

    return _ajio.update(
        path, step, flags | _json_flag(dumps_kwargs, _ajio.JSON), bits, timeout_ms, enc
    )


def append_jsonl(
    path, records, *, timeout=None, durable=True, mkdir=True, symlinks="follow", **dumps_kwargs
):
    """Append one ``json.dumps(record) + "\\n"`` per record to *path* (created if missing).

    Crash-safe: appenders in every thread and process take turns under a file lock, and what an
    interrupted append left is repaired first (cut off; a complete object, array or string that
    only lost its newline gets one; a :class:`TornLineWarning` says what was done). An
    unterminated last line that another program left is never deleted: a complete object, array
    or string is terminated, anything else raises :class:`ValueError`, the file untouched. Records
    are appended in chunks of about 1 MiB of whole records, so a generator of any length keeps
    memory bounded; each chunk is atomic towards other appenders, and an error stops at the
    chunk that failed (earlier chunks stay appended). Returns the number of records appended.
    *symlinks*: ``"follow"`` or ``"refuse"``.

    *timeout* bounds each chunk's wait for the lock: ``None`` waits as long as it is held, ``0``
    tries once (``BlockingIOError``), a number of seconds then ``TimeoutError``; nothing of that
    chunk is appended. A signal during the wait runs its handler at once: Ctrl-C raises
    ``KeyboardInterrupt`` without appending that chunk; a handler that returns lets the wait go on.
    """
    _check_records(records)
    timeout_ms = _timeout_ms(timeout)
    if symlinks not in ("follow", "refuse"):
        raise ValueError("symlinks must be 'follow' or 'refuse' for an append, not %r" % (symlinks,))
    flags, _ = _options(durable, None, mkdir, False, False, symlinks)
    flags |= _json_flag(dumps_kwargs, _ajio.JSONL)
    enc = _ajio.make_encoder(dumps_kwargs, True)
    if enc is not None:
        count, repair = _ajio.append_records(path, records, flags, enc, _APPEND_CHUNK, timeout_ms)
    else:
        count, repair = _append_fallback(path, records, flags, timeout_ms, dumps_kwargs)
    if repair is not None:
        warnings.warn(repair, TornLineWarning, stacklevel=2)
    return count


class _Closing:
    """``with`` support for the handles below: leaving the block closes them."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class JsonlLog(_Closing):
    """A JSON Lines log opened once for many appends (libajio's ajio_log), see
    :func:`open_jsonl_log`. ``append(records)`` is :func:`append_jsonl` without resolving the
    path and opening the file and its lock file each time. Threads may append through one log
    at once: their durable appends are combined into one write and one sync (``close()`` is
    refused with :class:`RuntimeError` while an append is under way). After ``os.fork()`` a
    child may go on appending through the handle it inherited (it opens its own lock file and
    file descriptor at its first append, so parent and children take turns)."""

    def __init__(
        self, path, *, timeout=None, durable=True, mkdir=True, symlinks="follow", **dumps_kwargs
    ):
        if symlinks not in ("follow", "refuse"):
            raise ValueError(
                "symlinks must be 'follow' or 'refuse' for an append, not %r" % (symlinks,)
            )
        flags, _ = _options(durable, None, mkdir, False, False, symlinks)
        flags |= _json_flag(dumps_kwargs, _ajio.JSONL)
        self._path = path
        self._flags = flags
        self._timeout_ms = _timeout_ms(timeout)
        self._kwargs = dumps_kwargs
        self._enc = _ajio.make_encoder(dumps_kwargs, True)
        # An encoder serves one encoding at a time, and a thread may be switched out in the
        # middle of one (default=, a finaliser): each thread gets its own.
        self._local = threading.local()
        self._local.enc = self._enc
        self._log = _ajio.Log(path, flags, self._timeout_ms)
        if self._log.repair is not None:
            warnings.warn(self._log.repair, TornLineWarning, stacklevel=3)

    def append(self, records):
        """Append one line per record; returns the number appended (see :func:`append_jsonl`)."""
        _check_records(records)
        if self._enc is None:
            # What C cannot encode goes through the json module and a one-shot append.
            count, repair = _append_fallback(
                self._path, records, self._flags, self._timeout_ms, self._kwargs
            )
        else:
            enc = getattr(self._local, "enc", None)
            if enc is None:
                enc = self._local.enc = _ajio.make_encoder(self._kwargs, True)
            count, repair = self._log.append(records, enc, _APPEND_CHUNK)
        if repair is not None:
            warnings.warn(repair, TornLineWarning, stacklevel=2)
        return count

    def close(self):
        self._log.close()



def open_jsonl_log(
    path, *, timeout=None, durable=True, mkdir=True, symlinks="follow", **dumps_kwargs
):
    """Open the JSON Lines file at *path* (created if missing, a torn tail repaired with a
    :class:`TornLineWarning`) for many appends::

        with open_jsonl_log("events.jsonl") as log:
            log.append([{"event": "start"}])

    Same promises and options as :func:`append_jsonl`; appenders through handles, through
    :func:`append_jsonl` and in other processes take turns under the file's lock, and a log
    rotated away (renamed or removed) is reopened at its name. *timeout* bounds the open's and
    each append's wait for the lock as in :func:`append_jsonl` (a signal handler that returns
    during an append's wait starts that wait's timeout again). The handle may be used after
    ``os.fork()`` in the child (and the parent): each process appends under the lock in turn.
    """
    return JsonlLog(
        path, timeout=timeout, durable=durable, mkdir=mkdir, symlinks=symlinks, **dumps_kwargs
    )


def _append_fallback(path, records, flags, timeout_ms, dumps_kwargs):
    kw = _fallback_kwargs(dumps_kwargs, True)
    count, repair, parts, size = 0, None, [], 0
    for record in records:
        line = _json_dumps(record, **kw) + "\n"
        parts.append(line)
        size += len(line)
        count += 1
        if size >= _APPEND_CHUNK:
            repair = _ajio.append(path, "".join(parts).encode(), flags, timeout_ms) or repair
            parts, size = [], 0
    if parts:
        repair = _ajio.append(path, "".join(parts).encode(), flags, timeout_ms) or repair
    return count, repair


class JsonlReader(_Closing):
    """Iterator over the records of a JSON Lines file (see :func:`read_jsonl`).

    After the iteration, ``torn`` is the number of bytes of a torn last line that were skipped
    (0 if none) and ``torn_message`` libajio's description of it; ``line`` is the number of the
    last line read. A context manager: leaving it closes the file.
    """

    def __init__(self, path, *, warn=True, loads=json.loads):
        self._reader = _ajio.Reader(path, _ajio.JSONL, loads, _line_error(path))
        self._warn = warn
        self._warned = False

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._reader)
        except StopIteration:
            if self._warn and self._reader.torn and not self._warned:
                self._warned = True
                warnings.warn(self._reader.torn_message, TornLineWarning, stacklevel=2)
            raise

    @property
    def line(self):
        return self._reader.line

    @property
    def torn(self):
        return self._reader.torn

    @property
    def torn_message(self):
        return self._reader.torn_message

    def close(self):
        self._reader.close()



def read_jsonl(path, *, warn=True, loads=json.loads):
    """Iterate over the records of the JSON Lines file at *path*, one parsed value per line.

    Only complete lines are records. A last line without its newline (an append that was
    interrupted, or one still being written) is skipped: the returned :class:`JsonlReader`'s
    ``torn`` attribute gives its size and, unless ``warn=False``, a :class:`TornLineWarning` is
    issued at the end. A complete line that is not JSON raises :class:`JSONLDecodeError` (a
    ``json.JSONDecodeError``: ``doc`` is that line, ``lineno`` its number in the file, ``path``
    the file) whose message reads ``"PATH:LINE:COL: reason"``; iteration may go on with the next
    line. Memory holds one line at a time; the file is never written or locked, so appenders may
    run meanwhile. *path* is ``str``, ``bytes`` or any ``os.PathLike``.
    """
    return JsonlReader(path, warn=warn, loads=loads)


def sweep(directory, name=None, *, min_age=1, durable=True, locks=False):
    """Remove temp files left in *directory* by killed writers (only those of target *name* if
    given) whose last change is at least *min_age* seconds old; never a live writer's. With
    *locks*, also the lock files of targets that no longer exist and that nobody holds (libajio's
    AJIO_SWEEP_LOCKS). Returns the number removed."""
    return _ajio.sweep(directory, name, min_age, (0 if durable else 1) | (4 if locks else 0))


class Batch:
    """Collects whole-file writes and performs them when the ``with`` block ends without an
    exception (see :func:`batch`). libajio's batch: the data syncs of many files are amortised
    (about one wait per 128 files, one fsync per directory)."""

    def __init__(self, options):
        self._batch = _ajio.Batch(*options)

    def write_json(self, path, data, **dumps_kwargs):
        """Queue ``write_json_atomic(path, data, **dumps_kwargs)``; the text is made now."""
        # _ajio.dumps is json.dumps byte for byte, and calls it itself for what C cannot do.
        self._batch.add(path, _ajio.dumps(data, **_fallback_kwargs(dumps_kwargs, False)) + "\n")

    def write_text(self, path, text):
        """Queue ``write_text_atomic(path, text)``."""
        if not isinstance(text, str):
            raise TypeError("text must be str, not %s" % type(text).__name__)
        self._batch.add(path, text if text.endswith("\n") else text + "\n")

    def __len__(self):
        return len(self._batch)

    def commit(self):
        """Write every queued file (GIL released). Raises the error of the first file that was
        not written durably; the others are written all the same (see :meth:`results`)."""
        self._batch.commit()

    def results(self):
        """After the commit: ``[(path, None or the exception)]`` in the order queued."""
        return self._batch.results()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()


def batch(*, durable=True, mode=None, mkdir=True, symlinks="follow", sync_each=False):
    """A context manager that writes many files when its block ends::

        with batch() as b:
            b.write_json("a.json", {"x": 1})
            b.write_text("b.txt", "hello")

    Nothing is written if the block raises. Each file is replaced atomically on its own, as
    by :func:`write_text_atomic`; the batch is not all-or-nothing: a file that fails is left
    untouched, the others are written, and the commit raises the first failure
    (``results()`` lists them all). When the block returns, every file is durable.

    The files of a round (up to 128) that share a local filesystem are made durable by one
    ``syncfs`` of it, which also writes back what other programs left unwritten there;
    ``sync_each=True`` gives each file an ``fdatasync`` of its own instead, for a filesystem
    busy with other writers.
    """
    flags, bits = _options(durable, mode, mkdir, False, False, symlinks)
    return Batch((flags | (_ajio.SYNC_EACH if sync_each else 0), bits))


class Transaction:
    """Replaces and removes files below one directory all or nothing, across a crash (see
    :func:`transaction`). Members are paths relative to the directory; each is checked when
    added (an absolute path, ``..``, a name starting with ``.ajio-txn`` raise ``OSError`` with
    ``EINVAL`` at once), and a member refused makes the whole transaction fail: nothing changes."""

    def __init__(self, directory, options):
        self._dir = directory
        self._options = options
        self._txn = _ajio.Txn(directory, *options)
        # What was added, to build the transaction again when a signal ends its commit's wait
        # for the locks (a libajio commit happens once).
        self._members = []

    def _add(self, relpath, data):
        if data is None:
            self._txn.remove(relpath)
        else:
            self._txn.write(relpath, data)
        self._members.append((relpath, data))

    def write_json(self, relpath, obj, **dumps_kwargs):
        """Replace *relpath* with ``json.dumps(obj, indent=2) + "\n"`` (the text is made now;
        ``json.dumps`` keyword arguments change the layout, as for :func:`write_json_atomic`)."""
        self._add(relpath, _ajio.dumps(obj, **_fallback_kwargs(dumps_kwargs, False)) + "\n")

    def write_text(self, relpath, text):
        """Replace *relpath* with *text* as UTF-8, plus a trailing newline when it has none."""
        if not isinstance(text, str):
            raise TypeError("text must be str, not %s" % type(text).__name__)
        self._add(relpath, text if text.endswith("\n") else text + "\n")

    def write_bytes(self, relpath, data):
        """Replace *relpath* with exactly the bytes *data* (any bytes-like object)."""
        if isinstance(data, str):
            raise TypeError("data must be bytes-like, not str (use write_text)")
        self._add(relpath, bytes(data))

    def remove(self, relpath):
        """Remove *relpath* (a member already missing at the commit is fine, as ``rm -f``)."""
        self._add(relpath, None)

    def __len__(self):
        return len(self._members)

    def commit(self):
        """Every member replaced or removed, durable; or an ``OSError`` and nothing changed
        (or, for a failure after the commit point, the set completed by :func:`recover` or the
        next transaction in the directory). Only once."""
        while True:
            try:
                return self._txn.commit()
            except InterruptedError:
                # A signal handler ran and returned during the wait for the locks: wait again.
                txn = _ajio.Txn(self._dir, *self._options)
                for relpath, data in self._members:
                    if data is None:
                        txn.remove(relpath)
                    else:
                        txn.write(relpath, data)
                self._txn = txn

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self._txn = None  # uncommitted: nothing is written


def transaction(directory, *, durable=True, mode=None, mkdir=True, sync_each=False):
    """A context manager that replaces and removes files below *directory* all or nothing::

        with transaction("site") as t:
            t.write_json("index.json", {"pages": 2})
            t.write_text("pages/a.md", "# A")
            t.remove("old.md")

    On a clean exit of the block every member is replaced (or removed) and durable; if the block
    raises, nothing changes and the exception propagates. A crash (a kill, a power cut) at any
    moment of the commit leaves either every member old or every member new once
    :func:`recover` or the next transaction in *directory* has run. Two transactions in one
    directory take turns. Readers of single files may see a mix while a commit runs: readers of
    the whole set use :func:`publish` and :func:`open_snapshot`. *directory* is created unless
    ``mkdir=False``; member directories too. ``mode`` as in :func:`write_json_atomic`;
    ``sync_each`` as in :func:`batch`.
    """
    flags, bits = _options(durable, mode, mkdir, False, False, "follow")
    return Transaction(directory, (flags | (_ajio.SYNC_EACH if sync_each else 0), bits))


def recover(directory, *, durable=True):
    """Make the set of *directory* whole after a transaction's commit died: completed when it
    had passed its commit point, undone otherwise. Returns True when there was something to do.
    Every transaction does this first; call it to repair *directory* before reading it. An
    intent record that is corrupt or of another version raises ``OSError`` (``EBADMSG``,
    ``EPROTONOSUPPORT``) and nothing is touched."""
    return _ajio.recover(directory, 0 if durable else _ajio.NO_SYNC)


def publish(src_dir, name, *, move=False, durable=True):
    """Publish a copy of the tree *src_dir* (reflinked where the filesystem can) as the new
    generation of *name*: *name* is a symlink switched atomically to a generation directory
    beside it, so a reader following the protocol (:func:`open_snapshot`) sees the whole old
    tree or the whole new one, also after a power cut. *move=True* moves *src_dir* in instead
    of copying it (same filesystem; *src_dir* is gone afterwards). The generations no reader
    holds are then removed. ``NotDurableError`` when only the last directory sync failed."""
    flags = (0 if durable else _ajio.NO_SYNC) | (_ajio.PUBLISH_MOVE if move else 0)
    _ajio.publish(src_dir, name, flags)


def snapshot_gc(name, *, durable=True):
    """Remove the generations of *name* that are not current and that no reader holds, and what
    publishes that died left. Returns the number removed."""
    return _ajio.snapshot_gc(name, 0 if durable else _ajio.NO_SYNC)


_READ_MODES = {"r": "r", "rt": "r", "tr": "r", "rb": "rb", "br": "rb"}


class Snapshot(_Closing):
    """One generation of a published name, held (``flock(LOCK_SH)``) until :meth:`close`: every
    file read through it is of that generation, whatever is published meanwhile. See
    :func:`open_snapshot`."""

    def __init__(self, name):
        self._snap = _ajio.Snapshot(name)

    @property
    def fd(self):
        """The generation's directory descriptor (for ``os.open(relpath, flags, dir_fd=fd)``);
        closed by :meth:`close`."""
        return self._snap.fd

    def open(self, relpath, mode="r", buffering=-1, encoding=None, errors=None, newline=None):
        """Open *relpath* of the generation for reading, as :func:`open` does (``"r"`` or
        ``"rb"``: a generation is never changed)."""
        try:
            m = _READ_MODES[mode]
        except (KeyError, TypeError):
            raise ValueError(
                "a snapshot is read only: mode must be 'r' or 'rb', not %r" % (mode,)
            ) from None
        fd = os.open(relpath, os.O_RDONLY | os.O_CLOEXEC, dir_fd=self.fd)
        try:
            return open(fd, m, buffering, encoding, errors, newline)
        except BaseException:
            os.close(fd)
            raise

    def read_bytes(self, relpath):
        """The bytes of *relpath*."""
        with self.open(relpath, "rb") as f:
            return f.read()

    def read_text(self, relpath, encoding="utf-8", errors=None):
        """The text of *relpath* (UTF-8 unless *encoding* says otherwise)."""
        with self.open(relpath, "r", encoding=encoding, errors=errors) as f:
            return f.read()

    def read_json(self, relpath, **loads_kwargs):
        """The parsed JSON value of *relpath* (``json.loads`` keyword arguments accepted)."""
        return json.loads(self.read_bytes(relpath), **loads_kwargs)

    def close(self):
        self._snap.close()


def open_snapshot(name):
    """Open the current generation of the published *name* by the reader protocol (open *name*
    with ``O_DIRECTORY``, ``flock(LOCK_SH)``, start again if ``fstat`` shows it removed)::

        with open_snapshot("site") as s:
            index = s.read_json("index.json")
            with s.open("pages/a.md") as f:
                text = f.read()

    Every read through the snapshot is of that one generation, never a mix, until the block
    ends; a publish meanwhile does not remove it (a later publish or gc does)."""
    return Snapshot(name)

"""open_atomic(): a file object whose content replaces its path at commit (see open_atomic)."""

import codecs
import io
import os

from . import _ajio

# mode -> binary; "x" asks for create_only, as open()'s "x" (the target must not exist).
_MODES = {"w": False, "wt": False, "tw": False, "wb": True, "bw": True}
_MODES.update({m.replace("w", "x"): b for m, b in _MODES.items()})
# io.TextIOWrapper writes these encodings' byte order mark only at the start of a seekable
# stream: the raw layer writes it before the first bytes, as open() gives it in a new file.
_BOMS = {"utf-16": codecs.BOM_UTF16, "utf-32": codecs.BOM_UTF32}


class _AtomicRaw(io.RawIOBase):
    """The raw layer: writes go to libajio's streaming handle (ajio_file, a temp file beside the
    target), which commit() publishes and abort() or close() discard."""

    def __init__(self, path, flags, bits, mode="wb", bom=b""):
        super().__init__()
        self._file = _ajio.File(path, flags, bits)
        self._bom = bom
        self.name = os.fspath(path)
        self.mode = mode

    def writable(self):
        return True

    def write(self, b):
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if isinstance(b, str):
            raise TypeError("a bytes-like object is required, not 'str'")
        with memoryview(b) as view:
            n = view.nbytes
            if self._bom and n:
                self._file.write(self._bom)
                self._bom = b""
            self._file.write(view)
        return n

    def commit(self):
        if self.closed:
            raise ValueError("I/O operation on closed file")
        try:
            return self._file.commit()
        finally:
            super().close()

    def abort(self):
        self._file.abort()
        super().close()

    def close(self):
        # Closing what was not committed discards it: a file dropped after an exception, or
        # collected, never replaces the target.
        if not self.closed:
            self.abort()


class _Committing:
    """commit(), abort() and the ``with`` protocol of the files :func:`open_atomic` returns."""

    def commit(self):
        """Write out what is buffered, then replace the target with the temp file (durable
        unless ``durable=False``) and close. Returns True, or False when
        ``skip_unchanged=True`` found the same bytes already there. Only once: after a failure
        the file is closed and the target untouched."""
        try:
            self.flush()
        except BaseException:
            self._raw.abort()
            raise
        return self._raw.commit()

    def abort(self):
        """Discard everything written and close: the target is untouched. Harmless after a
        commit or an abort."""
        self._raw.abort()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class AtomicBinaryFile(_Committing, io.BufferedWriter):
    """The binary file of ``open_atomic(path, "wb")``: an ``io.BufferedWriter`` whose content
    replaces *path* at :meth:`commit` (or on a clean exit of a ``with`` block)."""


class AtomicTextFile(_Committing, io.TextIOWrapper):
    """The text file of ``open_atomic(path, "w")``: an ``io.TextIOWrapper`` whose content
    replaces *path* at :meth:`commit` (or on a clean exit of a ``with`` block)."""


def open_atomic(
    path,
    mode="w",
    *,
    encoding=None,
    errors=None,
    newline=None,
    durable=True,
    mode_bits=None,
    mkdir=True,
    create_only=False,
    skip_unchanged=False,
    symlinks="follow",
):
    """Open a file object whose content atomically replaces *path* when the ``with`` block
    ends without an exception::

        with open_atomic("config.json") as f:
            json.dump(config, f, indent=2)

    Nothing is visible at *path* until then; if the block raises, the target is untouched
    and the temp file removed. *mode* is ``"w"`` (text: *encoding*, UTF-8 unless given, not
    the locale's; *errors* and *newline* as for :func:`open`) or ``"wb"`` (binary); ``"x"`` and
    ``"xb"`` are the same with ``create_only=True`` (``FileExistsError`` at the open if *path*
    exists, and at the commit if it was created meanwhile). The file is
    an :class:`io.TextIOWrapper` (:class:`AtomicTextFile`) or :class:`io.BufferedWriter`
    (:class:`AtomicBinaryFile`) over libajio's streaming handle: ``write``, ``writelines``,
    ``print(..., file=f)``, ``json.dump`` work; ``flush()`` hands the buffered data to the temp
    file, and nothing is visible at *path* before the commit; it is not seekable, and has no
    ``fileno()`` (the temp file's descriptor belongs to the handle: a write or sync through it
    would bypass the buffers). ``name`` is *path*.

    Without ``with``, call :meth:`~AtomicTextFile.commit` (returns as
    :func:`write_json_atomic`) or :meth:`~AtomicTextFile.abort`; ``close()`` without a commit
    discards the content, as does dropping the file. The keyword options are
    :func:`write_json_atomic`'s (``mode_bits`` is its ``mode``); *path* is ``str``, ``bytes`` or
    any ``os.PathLike``. A missing directory or a permission problem raises here, at the open.
    """
    from . import _options

    try:
        binary = _MODES[mode]
    except (KeyError, TypeError):
        if isinstance(mode, str) and ("a" in mode or "+" in mode or "r" in mode):
            raise ValueError(
                "an atomic file is written whole: mode must be 'w' or 'wb', not %r "
                "(to change a file, read it and write the whole new content)" % (mode,)
            ) from None
        raise ValueError("mode must be 'w', 'wb', 'x' or 'xb', not %r" % (mode,)) from None
    bom = b""
    if binary:
        for name, value in (("encoding", encoding), ("errors", errors), ("newline", newline)):
            if value is not None:
                raise ValueError("binary mode doesn't take an %s argument" % name)
    else:
        encoding = "utf-8" if encoding is None else encoding
        # An unknown encoding fails before the temp file exists.
        bom = _BOMS.get(codecs.lookup(encoding).name, b"")
        if newline not in (None, "", "\n", "\r", "\r\n"):
            raise ValueError("illegal newline value: %r" % (newline,))
    create_only = create_only or "x" in mode
    flags, bits = _options(durable, mode_bits, mkdir, create_only, skip_unchanged, symlinks)
    raw = _AtomicRaw(path, flags, bits, "xb" if "x" in mode else "wb", bom)
    try:
        if binary:
            f = AtomicBinaryFile(raw)
        else:
            f = AtomicTextFile(io.BufferedWriter(raw), encoding, errors, newline)
            f.mode = mode
        f._raw = raw
    except BaseException:
        raw.abort()
        raise
    return f

"""JsonlHandler: a logging handler appending each record as one JSON line (see JsonlHandler)."""

import datetime
import itertools
import logging
import time

# The attributes every LogRecord has (and those Formatter.format sets): the rest of a record's
# __dict__ came from extra= or a filter.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", (), None).__dict__
) | {"message", "asctime", "taskName"}
_DEFAULT_FORMATTER = logging.Formatter()
_MISSING = object()


class JsonlHandler(logging.Handler):
    """A :class:`logging.Handler` appending each record to the JSON Lines file at *path* as one
    JSON object per line, through one :class:`JsonlLog` (created if missing, a torn tail
    repaired; appends durable unless ``durable=False``, concurrent durable appends share their
    syncs; opened at the first record with ``delay=True``). Crash-safe as :func:`append_jsonl`:
    a line is whole or absent. *timeout*, *mkdir* and *symlinks* as for :func:`append_jsonl`.

    *fields* chooses the keys of each line, in order: names, or a mapping of key to name. A name
    is one of ``"time"`` (the record's creation time, ISO 8601 in UTC with microseconds),
    ``"level"`` (``levelname``), ``"logger"`` (the logger's name), ``"message"``
    (``record.getMessage()``), ``"exc_info"`` (the formatted traceback), ``"stack_info"``, or
    any other attribute of the record (``"created"`` is the time as seconds since the epoch,
    ``"process"``, ``"threadName"``, ``"funcName"``, ``"lineno"``, an ``extra=`` key, ...); a
    name the record lacks, or an ``exc_info``/``stack_info`` it has not, is left out. The
    default is :attr:`DEFAULT_FIELDS`. With *extra* (the default), every attribute of the
    record that is not a standard LogRecord attribute (what ``logger.info(..., extra={...})``
    adds) follows, under its own name, unless a chosen key has that name.

    A :class:`logging.Formatter` set with :meth:`setFormatter` supplies the text: ``"message"``
    is its format string applied (``formatMessage``, without the traceback), ``"exc_info"`` and
    ``"stack_info"`` its ``formatException`` and ``formatStack``, and ``"time"`` its
    ``formatTime`` when it has a *datefmt*. Override :meth:`record_to_dict` for anything else.

    Values that JSON cannot hold go through ``default=str`` (another *default*, and the other
    ``json.dumps`` arguments of :func:`append_jsonl`, may be given). Threads log at once, without
    taking turns under the handler's lock: :meth:`handle` calls :meth:`emit` without it, so the
    durable appends of threads that log together share one write and one sync (an override of
    :meth:`emit` that needs the lock takes it itself). After ``os.fork()`` parent
    and child go on logging to the file, each appending whole lines under the file's lock. An
    error while writing goes to :meth:`~logging.Handler.handleError`, as for logging's handlers.
    *path* is ``str``, ``bytes`` or any ``os.PathLike``.
    """

    DEFAULT_FIELDS = ("time", "level", "logger", "message", "exc_info", "stack_info")

    def __init__(
        self,
        path,
        level=logging.NOTSET,
        *,
        fields=None,
        extra=True,
        delay=False,
        timeout=None,
        durable=True,
        mkdir=True,
        symlinks="follow",
        default=str,
        **dumps_kwargs,
    ):
        super().__init__(level)
        if fields is None:
            fields = self.DEFAULT_FIELDS
        if isinstance(fields, str):
            raise TypeError("fields must be a sequence of names or a mapping, not a str")
        if hasattr(fields, "items"):
            fields = dict(fields)
        else:
            fields = {name: name for name in fields}
        for key, name in fields.items():
            if not isinstance(key, str) or not isinstance(name, str):
                raise TypeError("fields: keys and names must be str, not %r: %r" % (key, name))
        self.fields = fields
        self.extra = extra
        self.path = path
        self._log_kwargs = dict(
            timeout=timeout,
            durable=durable,
            mkdir=mkdir,
            symlinks=symlinks,
            default=default,
            **dumps_kwargs,
        )
        self._log = None if delay else self._open()

    def _open(self):
        from . import JsonlLog

        return JsonlLog(self.path, **self._log_kwargs)

    def _value(self, record, name):
        fmt = self.formatter
        if name == "message":
            if fmt is None:
                return record.getMessage()
            record.message = record.getMessage()
            if fmt.usesTime():
                record.asctime = fmt.formatTime(record, fmt.datefmt)
            return fmt.formatMessage(record)
        if name == "time":
            if fmt is not None and fmt.datefmt:
                return fmt.formatTime(record, fmt.datefmt)
            t = datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            return t.isoformat()
        if name == "level":
            return record.levelname
        if name == "logger":
            return record.name
        if name == "exc_info":
            if not record.exc_info:
                return record.exc_text or None  # a record that crossed a SocketHandler
            return (fmt or _DEFAULT_FORMATTER).formatException(record.exc_info)
        if name == "stack_info":
            if not record.stack_info:
                return None
            return (fmt or _DEFAULT_FORMATTER).formatStack(record.stack_info)
        return getattr(record, name, _MISSING)

    def record_to_dict(self, record):
        """The object written for *record*: the chosen fields, then the extra attributes."""
        entry = {}
        for key, name in self.fields.items():
            value = self._value(record, name)
            if value is _MISSING or (value is None and name in ("exc_info", "stack_info")):
                continue
            entry[key] = value
        if self.extra:
            for name, value in record.__dict__.items():
                if name not in _RECORD_ATTRS and name not in entry:
                    entry[name] = value
        return entry

    def handle(self, record):
        """Filter *record* and :meth:`emit` it, without the handler's lock (see the class)."""
        rv = self.filter(record)
        if rv:
            self.emit(rv if isinstance(rv, logging.LogRecord) else record)
        return rv

    def _current_log(self):
        log = self._log
        if log is None:
            self.acquire()  # one open, however many threads log the first record at once
            try:
                if self._log is None:
                    self._log = self._open()
                log = self._log
            finally:
                self.release()
        return log

    def emit(self, record):
        """Append the line of *record*; called from many threads at once."""
        try:
            self._current_log().append((self.record_to_dict(record),))
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def close(self):
        """Close the log, once the appends under way have returned. A record handled afterwards
        opens it again, as logging's FileHandler does (logging at interpreter exit, after
        ``logging.shutdown``, is not lost)."""
        self.acquire()
        try:
            if self._log is not None:
                for tries in itertools.count():
                    try:
                        self._log.close()
                        break
                    except RuntimeError:  # another thread is inside an append: it returns
                        if tries >= 10000:
                            raise
                        time.sleep(0.001)
                self._log = None
        finally:
            self.release()
            super().close()

    def __repr__(self):
        return "<%s %r (%s)>" % (
            type(self).__name__,
            self.path,
            logging.getLevelName(self.level),
        )


import io
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, BinaryIO, Literal, TextIO, TypeVar, overload

_Path = str | bytes | os.PathLike[str] | os.PathLike[bytes]
_Symlinks = Literal["follow", "replace", "refuse"]
_T = TypeVar("_T")

__version__: str

class NotDurableError(OSError): ...
class TornLineWarning(UserWarning): ...

class JSONLDecodeError(json.JSONDecodeError):
    path: _Path | None
    def __init__(
        self,
        msg: str,
        doc: str,
        pos: int,
        lineno: int = ...,
        path: _Path | None = ...,
        message: str | None = ...,
    ) -> None: ...

def dumps(
    obj: Any,
    *,
    skipkeys: bool = ...,
    ensure_ascii: bool = ...,
    check_circular: bool = ...,
    allow_nan: bool = ...,
    cls: type[json.JSONEncoder] | None = ...,
    indent: int | str | None = ...,
    separators: tuple[str, str] | None = ...,
    default: Callable[[Any], Any] | None = ...,
    sort_keys: bool = ...,
) -> str: ...
def write_json_atomic(
    path: _Path,
    data: Any,
    *,
    durable: bool = ...,
    mode: int | None = ...,
    mkdir: bool = ...,
    create_only: bool = ...,
    skip_unchanged: bool = ...,
    symlinks: _Symlinks = ...,
    skipkeys: bool = ...,
    ensure_ascii: bool = ...,
    check_circular: bool = ...,
    allow_nan: bool = ...,
    cls: type[json.JSONEncoder] | None = ...,
    indent: int | str | None = ...,
    separators: tuple[str, str] | None = ...,
    default: Callable[[Any], Any] | None = ...,
    sort_keys: bool = ...,
) -> bool: ...
def write_text_atomic(
    path: _Path,
    text: str,
    *,
    durable: bool = ...,
    mode: int | None = ...,
    mkdir: bool = ...,
    create_only: bool = ...,
    skip_unchanged: bool = ...,
    symlinks: _Symlinks = ...,
) -> bool: ...
def write_jsonl_atomic(
    path: _Path,
    records: Iterable[Any],
    *,
    durable: bool = ...,
    mode: int | None = ...,
    mkdir: bool = ...,
    create_only: bool = ...,
    skip_unchanged: bool = ...,
    symlinks: _Symlinks = ...,
    skipkeys: bool = ...,
    ensure_ascii: bool = ...,
    check_circular: bool = ...,
    allow_nan: bool = ...,
    cls: type[json.JSONEncoder] | None = ...,
    separators: tuple[str, str] | None = ...,
    default: Callable[[Any], Any] | None = ...,
    sort_keys: bool = ...,
) -> bool: ...
def update_json_atomic(
    path: _Path,
    fn: Callable[[Any], _T],
    *,
    default: Any = ...,
    timeout: float | None = ...,
    durable: bool = ...,
    mode: int | None = ...,
    mkdir: bool = ...,
    skip_unchanged: bool = ...,
    symlinks: _Symlinks = ...,
    skipkeys: bool = ...,
    ensure_ascii: bool = ...,
    check_circular: bool = ...,
    allow_nan: bool = ...,
    cls: type[json.JSONEncoder] | None = ...,
    indent: int | str | None = ...,
    separators: tuple[str, str] | None = ...,
    sort_keys: bool = ...,
) -> _T: ...
def append_jsonl(
    path: _Path,
    records: Iterable[Any],
    *,
    timeout: float | None = ...,
    durable: bool = ...,
    mkdir: bool = ...,
    symlinks: Literal["follow", "refuse"] = ...,
    skipkeys: bool = ...,
    ensure_ascii: bool = ...,
    check_circular: bool = ...,
    allow_nan: bool = ...,
    cls: type[json.JSONEncoder] | None = ...,
    separators: tuple[str, str] | None = ...,
    default: Callable[[Any], Any] | None = ...,
    sort_keys: bool = ...,
) -> int: ...

class JsonlLog:
    def __init__(
        self,
        path: _Path,
        *,
        timeout: float | None = ...,
        durable: bool = ...,
        mkdir: bool = ...,
        symlinks: Literal["follow", "refuse"] = ...,
        skipkeys: bool = ...,
        ensure_ascii: bool = ...,
        check_circular: bool = ...,
        allow_nan: bool = ...,
        cls: type[json.JSONEncoder] | None = ...,
        separators: tuple[str, str] | None = ...,
        default: Callable[[Any], Any] | None = ...,
        sort_keys: bool = ...,
    ) -> None: ...
    def append(self, records: Iterable[Any]) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> JsonlLog: ...
    def __exit__(self, *exc: object) -> None: ...

def open_jsonl_log(
    path: _Path,
    *,
    timeout: float | None = ...,
    durable: bool = ...,
    mkdir: bool = ...,
    symlinks: Literal["follow", "refuse"] = ...,
    skipkeys: bool = ...,
    ensure_ascii: bool = ...,
    check_circular: bool = ...,
    allow_nan: bool = ...,
    cls: type[json.JSONEncoder] | None = ...,
    separators: tuple[str, str] | None = ...,
    default: Callable[[Any], Any] | None = ...,
    sort_keys: bool = ...,
) -> JsonlLog: ...

class JsonlReader(Iterator[Any]):
    def __init__(
        self, path: _Path, *, warn: bool = ..., loads: Callable[[bytes], Any] = ...
    ) -> None: ...
    def __iter__(self) -> JsonlReader: ...
    def __next__(self) -> Any: ...
    @property
    def line(self) -> int: ...
    @property
    def torn(self) -> int: ...
    @property
    def torn_message(self) -> str | None: ...
    def close(self) -> None: ...
    def __enter__(self) -> JsonlReader: ...
    def __exit__(self, *exc: object) -> None: ...

def read_jsonl(
    path: _Path, *, warn: bool = ..., loads: Callable[[bytes], Any] = ...
) -> JsonlReader: ...
def sweep(
    directory: _Path,
    name: _Path | None = ...,
    *,
    min_age: int = ...,
    durable: bool = ...,
    locks: bool = ...,
) -> int: ...

class Batch:
    def write_json(
        self,
        path: _Path,
        data: Any,
        *,
        skipkeys: bool = ...,
        ensure_ascii: bool = ...,
        check_circular: bool = ...,
        allow_nan: bool = ...,
        cls: type[json.JSONEncoder] | None = ...,
        indent: int | str | None = ...,
        separators: tuple[str, str] | None = ...,
        default: Callable[[Any], Any] | None = ...,
        sort_keys: bool = ...,
    ) -> None: ...
    def write_text(self, path: _Path, text: str) -> None: ...
    def __len__(self) -> int: ...
    def commit(self) -> None: ...
    def results(self) -> list[tuple[_Path, OSError | None]]: ...
    def __enter__(self) -> Batch: ...
    def __exit__(self, exc_type: object, exc: object, tb: object) -> None: ...

def batch(
    *,
    durable: bool = ...,
    mode: int | None = ...,
    mkdir: bool = ...,
    symlinks: _Symlinks = ...,
    sync_each: bool = ...,
) -> Batch: ...

class Transaction:
    def write_json(
        self,
        relpath: _Path,
        obj: Any,
        *,
        skipkeys: bool = ...,
        ensure_ascii: bool = ...,
        check_circular: bool = ...,
        allow_nan: bool = ...,
        cls: type[json.JSONEncoder] | None = ...,
        indent: int | str | None = ...,
        separators: tuple[str, str] | None = ...,
        default: Callable[[Any], Any] | None = ...,
        sort_keys: bool = ...,
    ) -> None: ...
    def write_text(self, relpath: _Path, text: str) -> None: ...
    def write_bytes(self, relpath: _Path, data: bytes | bytearray | memoryview) -> None: ...
    def remove(self, relpath: _Path) -> None: ...
    def __len__(self) -> int: ...
    def commit(self) -> None: ...
    def __enter__(self) -> Transaction: ...
    def __exit__(self, exc_type: object, exc: object, tb: object) -> None: ...

def transaction(
    directory: _Path,
    *,
    durable: bool = ...,
    mode: int | None = ...,
    mkdir: bool = ...,
    sync_each: bool = ...,
) -> Transaction: ...
def recover(directory: _Path, *, durable: bool = ...) -> bool: ...
def publish(src_dir: _Path, name: _Path, *, move: bool = ..., durable: bool = ...) -> None: ...
def snapshot_gc(name: _Path, *, durable: bool = ...) -> int: ...

class Snapshot:
    def __init__(self, name: _Path) -> None: ...
    @property
    def fd(self) -> int: ...
    @overload
    def open(
        self,
        relpath: _Path,
        mode: Literal["r", "rt", "tr"] = ...,
        buffering: int = ...,
        encoding: str | None = ...,
        errors: str | None = ...,
        newline: str | None = ...,
    ) -> TextIO: ...
    @overload
    def open(
        self,
        relpath: _Path,
        mode: Literal["rb", "br"],
        buffering: int = ...,
        encoding: None = ...,
        errors: None = ...,
        newline: None = ...,
    ) -> BinaryIO: ...
    def read_bytes(self, relpath: _Path) -> bytes: ...
    def read_text(self, relpath: _Path, encoding: str = ..., errors: str | None = ...) -> str: ...
    def read_json(self, relpath: _Path, **loads_kwargs: Any) -> Any: ...
    def close(self) -> None: ...
    def __enter__(self) -> Snapshot: ...
    def __exit__(self, *exc: object) -> None: ...

def open_snapshot(name: _Path) -> Snapshot: ...

class AtomicTextFile(io.TextIOWrapper):
    def commit(self) -> bool: ...
    def abort(self) -> None: ...
    def __enter__(self) -> AtomicTextFile: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

class AtomicBinaryFile(io.BufferedWriter):
    def commit(self) -> bool: ...
    def abort(self) -> None: ...
    def __enter__(self) -> AtomicBinaryFile: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

@overload
def open_atomic(
    path: _Path,
    mode: Literal["w", "wt", "tw", "x", "xt", "tx"] = ...,
    *,
    encoding: str | None = ...,
    errors: str | None = ...,
    newline: str | None = ...,
    durable: bool = ...,
    mode_bits: int | None = ...,
    mkdir: bool = ...,
    create_only: bool = ...,
    skip_unchanged: bool = ...,
    symlinks: _Symlinks = ...,
) -> AtomicTextFile: ...
@overload
def open_atomic(
    path: _Path,
    mode: Literal["wb", "bw", "xb", "bx"],
    *,
    encoding: None = ...,
    errors: None = ...,
    newline: None = ...,
    durable: bool = ...,
    mode_bits: int | None = ...,
    mkdir: bool = ...,
    create_only: bool = ...,
    skip_unchanged: bool = ...,
    symlinks: _Symlinks = ...,
) -> AtomicBinaryFile: ...

class JsonlHandler(logging.Handler):
    DEFAULT_FIELDS: tuple[str, ...]
    fields: dict[str, str]
    extra: bool
    path: _Path
    def __init__(
        self,
        path: _Path,
        level: int | str = ...,
        *,
        fields: Sequence[str] | Mapping[str, str] | None = ...,
        extra: bool = ...,
        delay: bool = ...,
        timeout: float | None = ...,
        durable: bool = ...,
        mkdir: bool = ...,
        symlinks: Literal["follow", "refuse"] = ...,
        default: Callable[[Any], Any] | None = ...,
        skipkeys: bool = ...,
        ensure_ascii: bool = ...,
        check_circular: bool = ...,
        allow_nan: bool = ...,
        cls: type[json.JSONEncoder] | None = ...,
        separators: tuple[str, str] | None = ...,
        sort_keys: bool = ...,
    ) -> None: ...
    def record_to_dict(self, record: logging.LogRecord) -> dict[str, Any]: ...

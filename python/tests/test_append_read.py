"""append_jsonl and read_jsonl: torn tails, corruption, concurrent appenders, bounded memory."""

import json
import os
import subprocess
import sys
import warnings

import pytest

import atomic_json_io as aj
from atomic_json_io import TornLineWarning, append_jsonl, read_jsonl, write_jsonl_atomic

from conftest import child_env, run_child


def test_append_and_read(tmp_path):
    p = tmp_path / "log" / "a.jsonl"
    assert append_jsonl(p, [{"a": 1}, [2]]) == 2
    assert append_jsonl(p, (i for i in range(3))) == 3
    assert append_jsonl(p, []) == 0
    assert p.read_text() == '{"a": 1}\n[2]\n0\n1\n2\n'
    assert list(read_jsonl(p)) == [{"a": 1}, [2], 0, 1, 2]
    append_jsonl(p, [{"b": "é"}], separators=(",", ":"), ensure_ascii=False)
    assert p.read_text(encoding="utf-8").endswith('{"b":"é"}\n')
    append_jsonl(p, [{"c": 1}], cls=json.JSONEncoder)  # the json-module path
    assert list(read_jsonl(p))[-1] == {"c": 1}


def test_append_refusals_leave_file(tmp_path, snapshot):
    p = tmp_path / "a.jsonl"
    append_jsonl(p, [1])
    before = snapshot(p)
    with pytest.raises(TypeError):
        append_jsonl(p, [2, object()])
    with pytest.raises(ValueError):
        append_jsonl(p, [float("nan")])
    with pytest.raises(TypeError):
        append_jsonl(p, {"a": 1})
    with pytest.raises(ValueError):
        append_jsonl(p, [1], symlinks="replace")
    with pytest.raises(ValueError):
        append_jsonl(p, [1], indent=2)
    assert snapshot(p) == before


def test_append_repairs_torn_tail(tmp_path):
    p = tmp_path / "t.jsonl"
    # Another program's torn line: never deleted by an append, which refuses and leaves it.
    p.write_bytes(b'{"a": 1}\n{"b": ')
    with pytest.raises(ValueError, match="not a complete JSON value"):
        append_jsonl(p, [{"c": 3}])
    assert p.read_bytes() == b'{"a": 1}\n{"b": '
    p.write_bytes(b'{"a": 1}\n{"b": 2}')  # complete value, only the newline lost
    with pytest.warns(TornLineWarning, match="terminated"):
        append_jsonl(p, [3])
    assert p.read_text() == '{"a": 1}\n{"b": 2}\n3\n'
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        append_jsonl(p, [4])  # nothing torn: no warning


def test_read_torn_tail(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_bytes(b'1\n{"x": [1, 2]}\n{"tor')
    with pytest.warns(TornLineWarning, match="torn"):
        reader = read_jsonl(p)
        assert list(reader) == [1, {"x": [1, 2]}]
    assert reader.torn == 5
    assert "torn" in reader.torn_message
    reader = read_jsonl(p, warn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(reader) == [1, {"x": [1, 2]}]
    assert reader.torn == 5
    # negative control: a complete file has no torn tail and gives no warning
    p.write_bytes(b"1\n2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = read_jsonl(p)
        assert list(r) == [1, 2] and r.torn == 0


def test_read_corruption_names_the_line(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_bytes(b'1\n2\n{"bad": }\n4\n')
    r = read_jsonl(p)
    assert next(r) == 1 and next(r) == 2
    with pytest.raises(ValueError, match=r"c\.jsonl:3:\d+: "):
        next(r)
    assert r.line == 3
    assert next(r) == 4  # a loader may skip the bad line knowingly
    with pytest.raises(ValueError, match=":3:"):
        list(read_jsonl(p))


def test_read_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_jsonl(tmp_path / "nope.jsonl")


def test_read_context_manager(tmp_path):
    p = tmp_path / "m.jsonl"
    write_jsonl_atomic(p, range(10))
    with read_jsonl(p) as r:
        assert next(r) == 0
    with pytest.raises(StopIteration):
        next(r)


APPENDER = """
import sys
import atomic_json_io as aj
path, who, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    aj.append_jsonl(path, [{"w": who, "i": i, "pad": "x" * (i * 97 % 5000)}], durable=False)
"""


def test_concurrent_appenders_never_interleave(tmp_path):
    p = tmp_path / "c.jsonl"
    procs, n = 4, 150
    children = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(p), str(w), str(n)], env=child_env())
        for w in range(procs)
    ]
    for c in children:
        assert c.wait(timeout=120) == 0
    seen = {w: [] for w in range(procs)}
    for rec in read_jsonl(p):
        seen[rec["w"]].append(rec["i"])
    assert all(seen[w] == list(range(n)) for w in range(procs))


# A child writes LARGE_RECORDS records of about 1 KB from a generator (about 100 MB in all) and
# prints its peak RSS growth: encoding record by record into the handle keeps it small, where
# building the text (or a list of the records) first would need hundreds of MB.
STREAM = """
import resource, sys
import atomic_json_io as aj
path, n, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def records():
    for i in range(n):
        yield {"i": i, "payload": "x" * 1000}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if how == "stream":
    aj.write_jsonl_atomic(path, records(), durable=False)
elif how == "append":
    aj.append_jsonl(path, records(), durable=False)
else:  # the negative control: everything in memory first
    text = "".join(aj._ajio.dumps(r) + "\\n" for r in records())
    aj.write_text_atomic(path, text, durable=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""
LARGE_RECORDS = 100_000


@pytest.mark.parametrize("how", ["stream", "append"])
def test_generator_streams_with_bounded_memory(tmp_path, how):
    p = tmp_path / "big.jsonl"
    grew_kb = int(run_child(STREAM, p, LARGE_RECORDS, how).stdout)
    size = p.stat().st_size
    assert size > 100_000_000
    assert grew_kb < 16 * 1024, grew_kb  # KiB: under 16 MB for a 100 MB file
    # the last record is complete and the file reads back in full
    with open(p, "rb") as f:
        f.seek(-2000, 2)
        assert json.loads(f.read().splitlines()[-1])["i"] == LARGE_RECORDS - 1


def test_generator_memory_negative_control(tmp_path):
    """The measurement can fail: holding the whole text in memory shows up in ru_maxrss."""
    grew_kb = int(run_child(STREAM, tmp_path / "big.jsonl", LARGE_RECORDS, "all").stdout)
    assert grew_kb > 64 * 1024, grew_kb


def test_jsonl_log_handle(tmp_path):
    p = tmp_path / "h" / "log.jsonl"
    with aj.open_jsonl_log(p, separators=(",", ":")) as log:
        assert log.append([{"a": 1}]) == 1
        assert log.append(i for i in range(3)) == 3
        append_jsonl(p, ["other appender"])  # takes its turn under the same lock
        assert log.append([{"b": 2}]) == 1
        with pytest.raises(TypeError):
            log.append([object()])
        with pytest.raises(TypeError):
            log.append({"a": 1})
    assert p.read_text() == '{"a":1}\n0\n1\n2\n"other appender"\n{"b":2}\n'
    with pytest.raises(ValueError):
        log.append([1])
    # rotation: the log renamed away, the handle appends to a new file at the name
    with aj.open_jsonl_log(p) as log:
        os.rename(p, tmp_path / "h" / "log.jsonl.1")
        log.append([{"after": "rotation"}])
    assert list(read_jsonl(p)) == [{"after": "rotation"}]
    with aj.open_jsonl_log(p, cls=json.JSONEncoder) as log:  # the json-module path
        assert log.append([{"c": 3}]) == 1
    assert list(read_jsonl(p))[-1] == {"c": 3}


def test_jsonl_log_repairs_on_open(tmp_path):
    p = tmp_path / "torn.jsonl"
    p.write_bytes(b'{"a": 1}\n{"b"')
    with pytest.raises(ValueError, match="not a complete JSON value"):
        aj.open_jsonl_log(p)
    assert p.read_bytes() == b'{"a": 1}\n{"b"'
    p.write_bytes(b'{"a": 1}\n{"b": 1}')  # a complete value that lost its newline
    with pytest.warns(TornLineWarning, match="terminated"):
        log = aj.open_jsonl_log(p)
    log.append([2])
    log.close()
    assert p.read_text() == '{"a": 1}\n{"b": 1}\n2\n'

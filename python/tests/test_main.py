"""python -m atomic_json_io check and cat: the ajio tool's verdicts, messages and exit statuses."""

import json
import os
import subprocess
import sys

import pytest

from conftest import child_env

EX_USAGE, EX_DATAERR, EX_NOINPUT = 64, 65, 66


def run(*args, stdin=b"", cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "atomic_json_io", *map(str, args)],
        input=stdin,
        capture_output=True,
        env=child_env(),
        cwd=cwd,
        timeout=60,
    )


def ajio_binary():
    path = os.path.join(os.environ.get("AJIO_BUILD", ""), "ajio")
    return path if os.access(path, os.X_OK) else None


@pytest.fixture
def files(tmp_path):
    """A mix of valid, invalid and torn files, by name."""
    made = {
        "ok.json": b'{"a": [1, 2.5, "\xc3\xa9"]}\n',
        "ok.jsonl": b'{"a": 1}\n[2]\n"x"\n',
        "ok.ndjson": b"1\n2\n",
        "bad.json": b'{"a": }\n',
        "nan.json": b"[NaN]\n",
        "two.json": b"1 2\n",
        "bad.jsonl": b'1\n{"b": x}\n3\n[\n',
        "torn.jsonl": b'1\n{"t": 2}',
        "empty.json": b"",
        "bom.json": b"\xef\xbb\xbf{}\n",
        "surrogate.json": b'"\\ud800"\n',
        "lines.txt": b'{"a": 1}\n{"b": 2}\n',
    }
    for name, data in made.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def test_check_valid(files):
    r = run("check", "-v", "ok.json", "ok.jsonl", "ok.ndjson", cwd=files)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [
        "ok.json: ok (1 value)",
        "ok.jsonl: ok (3 lines)",
        "ok.ndjson: ok (2 lines)",
    ]
    assert r.stderr == b""
    assert run("check", "ok.json", cwd=files).stdout == b""  # quiet without -v


def test_check_invalid(files):
    r = run("check", "bad.json", "bad.jsonl", "torn.jsonl", "ok.json", cwd=files)
    assert r.returncode == EX_DATAERR
    assert r.stderr.decode().splitlines() == [
        "bad.json:1:7: expected a value after ':', found '}'",
        "bad.jsonl:2:7: expected a value after ':', found 'x'",  # the first problem only
        "torn.jsonl:2:9: torn: last line has no terminating newline (torn append?)",
    ]


def test_check_strict_where_json_loads_is_not(files):
    # Negative control: the json module accepts these, so a check built on json.loads would
    # pass them; the validator refuses them as "ajio check" does.
    for name in ("nan.json", "bom.json", "surrogate.json"):
        json.loads((files / name).read_bytes())
        assert run("check", name, cwd=files).returncode == EX_DATAERR, name


def test_check_kind_options(files):
    assert run("check", "lines.txt", cwd=files).returncode == EX_DATAERR  # as JSON: two values
    assert run("check", "--jsonl", "lines.txt", cwd=files).returncode == 0
    assert run("check", "--json", "ok.jsonl", cwd=files).returncode == EX_DATAERR


def test_check_stdin_and_unreadable(files):
    r = run("check", "--jsonl", stdin=b"1\n2\n")
    assert r.returncode == 0
    r = run("check", "-v", "-", stdin=b"[1,")
    assert r.returncode == EX_DATAERR
    assert r.stderr.decode().startswith("<stdin>:1:4: ")
    r = run("check", "bad.json", "missing.json", "ok.json", cwd=files)
    assert r.returncode == EX_NOINPUT  # the worst wins
    assert "atomic_json_io: cannot open missing.json: No such file or directory" in r.stderr.decode()
    assert run("check", files, cwd=files).returncode == EX_NOINPUT  # a directory


def test_usage_errors(files):
    for args in ([], ["nope"], ["check", "--json", "--jsonl", "x"], ["cat", "--bogus"]):
        r = run(*args, cwd=files)
        assert r.returncode == EX_USAGE, args
        assert b"usage:" in r.stderr
    assert run("check", "--help").returncode == 0


def test_cat(files):
    r = run("cat", "ok.jsonl", "torn.jsonl", cwd=files)
    assert r.returncode == 0
    assert r.stdout == b'{"a": 1}\n[2]\n"x"\n1\n'  # the torn tail is not printed
    assert r.stderr.decode() == (
        "torn.jsonl:2: skipped a torn last line of 8 bytes without a newline\n"
    )
    r = run("cat", "--jsonl", "bad.jsonl", cwd=files)
    assert r.returncode == EX_DATAERR
    assert r.stdout == b"1\n3\n"
    assert r.stderr.decode().splitlines() == [
        "bad.jsonl:2:7: expected a value after ':', found 'x'",
        "bad.jsonl:4:2: unexpected end of input inside array",
    ]
    r = run("cat", "bad.jsonl", cwd=files)  # without --jsonl lines are not checked
    assert r.returncode == 0 and r.stdout == (files / "bad.jsonl").read_bytes()
    r = run("cat", stdin=b"a\nb\nc")
    assert r.returncode == 0 and r.stdout == b"a\nb\n"
    assert r.stderr.decode().startswith("<stdin>:3: skipped a torn last line")
    r = run("cat", "missing.jsonl", "ok.jsonl", cwd=files)
    assert r.returncode == EX_NOINPUT and r.stdout == (files / "ok.jsonl").read_bytes()


@pytest.mark.skipif(ajio_binary() is None, reason="no ajio binary in $AJIO_BUILD")
def test_same_as_the_cli(files):
    names = sorted(os.listdir(files))
    cases = [["check"] + names, ["check", "-v"] + names, ["check", "--jsonl"] + names]
    cases += [["cat", n] for n in names] + [["cat", "--jsonl", n] for n in names]
    cases += [["check", "missing.json"], ["cat", "missing.jsonl"], ["check", "."]]
    for args in cases:
        ours = run(*args, cwd=files)
        cli = subprocess.run([ajio_binary(), *args], capture_output=True, cwd=files, timeout=60)
        assert ours.returncode == cli.returncode, args
        assert ours.stdout == cli.stdout, args
        # Messages about the data are the same; those about the program carry its name.
        assert ours.stderr.replace(b"atomic_json_io: ", b"ajio: ") == cli.stderr, args

"""Shared helpers of the atomic_json_io suite. The package under test is the build in
$AJIO_BUILD/python (python/tests/run-pytest.sh puts it on PYTHONPATH)."""

import json
import os
import subprocess
import sys

import pytest

import atomic_json_io


def child_env():
    """The environment for child interpreters: the same package on their path."""
    env = dict(os.environ)
    pkg_dir = os.path.dirname(os.path.dirname(atomic_json_io.__file__))
    env["PYTHONPATH"] = pkg_dir + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_child(code, *args, timeout=120, check=True):
    """Runs code in a fresh interpreter (sys.argv[1:] = args); returns the CompletedProcess."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError("child failed (%d):\n%s%s" % (proc.returncode, proc.stdout, proc.stderr))
    return proc


def leftovers(directory):
    """Names in directory that look like ajio temp files."""
    return sorted(n for n in os.listdir(directory) if ".ajio-" in n and n.endswith(".tmp"))


@pytest.fixture
def snapshot():
    """snapshot(path) -> bytes or None, to prove a failed call left the target as it was."""

    def take(path):
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    return take


def pytest_configure(config):
    config.addinivalue_line("markers", "heavy: slow; run by make check-python-heavy only")
    # A system-wide atomic_json_io (a Debian package, say) must not be what is tested.
    build = os.environ.get("AJIO_BUILD")
    if build:
        where = os.path.realpath(atomic_json_io.__file__)
        assert where.startswith(os.path.realpath(build) + os.sep), (
            "testing %s, not the build in %s" % (where, build)
        )


def log_problems(path, reported, record, writer, ordered=False):
    """Problems with the JSON Lines log at path, whose records are record(w, i) with w under the
    key writer and i under "i", given reported = {(w, i)} appended with success: a torn or broken
    line, a record not intact, written twice, present but not reported, or missing; with
    ordered, one writer's records out of their order."""
    problems, seen, last = [], {}, {}
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        problems.append("torn last line (%d bytes)" % (len(data) - data.rfind(b"\n") - 1))
    for n, line in enumerate(data.split(b"\n")[:-1], 1):
        try:
            rec = json.loads(line)
            key = (rec[writer], rec["i"])
        except (ValueError, KeyError, TypeError):
            problems.append("line %d broken: %r" % (n, line[:60] + b"..." + line[-20:]))
            continue
        if rec != record(*key):
            problems.append("line %d: record %r not intact" % (n, key))
        seen[key] = seen.get(key, 0) + 1
        if ordered and key[1] < last.get(key[0], -1):
            problems.append("line %d: record %r after %r" % (n, key, (key[0], last[key[0]])))
        last[key[0]] = max(key[1], last.get(key[0], -1))
    for key, count in seen.items():
        if count > 1:
            problems.append("record %r %d times" % (key, count))
        if key not in reported:
            problems.append("record %r present but not reported appended" % (key,))
    missing = sorted(reported - seen.keys())
    if missing:
        problems.append("%d records reported appended are missing, e.g. %r" % (len(missing),
                                                                             missing[:5]))
    return problems

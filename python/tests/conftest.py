"""Shared helpers of the atomic_json_io suite. The package under test is the build in
$AJIO_BUILD/python (python/tests/run-pytest.sh puts it on PYTHONPATH)."""

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

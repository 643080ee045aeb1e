"""The type stubs (__init__.pyi, aio.pyi): mypy --strict passes on typed_usage.py, which uses every
public name, and the same run flags misuse, so a stub that lets everything through is caught."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest

import atomic_json_io

import typed_usage

HERE = os.path.dirname(os.path.abspath(__file__))

# Each line must be an error: a stub typed Any (or missing) would pass it.
MISUSE = """\
import atomic_json_io as aj
from atomic_json_io import aio
aj.write_json_atomic(3.5, {})
aj.write_json_atomic("a", {}, durable="yes")
aj.open_atomic("b", "wb").write("text")
aj.open_atomic("b").write(b"bytes")
lineno: str = aj.JSONLDecodeError("m", "d", 0).lineno
result: str = aio.write_text_atomic("a", "b")
aj.JsonlHandler("p", fields=3)
aj.read_jsonl("p", warn="no")
"""


def test_every_public_name_is_used():
    source = open(os.path.join(HERE, "typed_usage.py"), encoding="utf-8").read()
    unused = [n for n in atomic_json_io.__all__ if not re.search(r"\b%s\b" % n, source)]
    assert unused == []


def test_example_runs(tmp_path):
    typed_usage.main(tmp_path)  # what the stubs accept, the package does


@pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None,
    reason="mypy is not installed (Debian: python3-mypy)",
)
def test_mypy_strict(tmp_path):
    misuse = tmp_path / "misuse.py"
    misuse.write_text(MISUSE)
    env = dict(os.environ)
    pkg_dir = os.path.dirname(os.path.dirname(atomic_json_io.__file__))
    # The build under test is found through MYPYPATH; an installed copy (pip install . in a
    # venv) through site-packages, which mypy refuses to see in MYPYPATH.
    if os.path.basename(pkg_dir) != "site-packages":
        env["MYPYPATH"] = pkg_dir
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-error-summary",
            os.path.join(HERE, "typed_usage.py"),
            str(misuse),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=600,
    )
    errors = [line for line in proc.stdout.splitlines() if ": error: " in line]
    assert [e for e in errors if "typed_usage.py" in e] == [], proc.stdout + proc.stderr
    flagged = {int(e.split(":")[1]) for e in errors if e.split(":")[0].endswith("misuse.py")}
    assert flagged == set(range(3, MISUSE.count("\n") + 1)), proc.stdout + proc.stderr

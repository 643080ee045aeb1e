"""The package as users get it: sdist, then a wheel built from the unpacked sdist (python3 -m
build --no-isolation), installed offline into a fresh venv, imported and used."""

import os
import subprocess
import sys
import zipfile

import pytest

# Builds an sdist and a wheel and makes a venv: make check-python-heavy, not make check.
pytestmark = pytest.mark.heavy

PYDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, "%s failed:\n%s%s" % (cmd, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


def test_wheel_in_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    env = dict(os.environ, PIP_NO_INDEX="1", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    # sdist, then the wheel from the unpacked sdist: proves the sdist carries libajio's sources
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), PYDIR], env=env)
    wheels = list(dist.glob("atomic_json_io-*.whl"))
    sdists = list(dist.glob("atomic-json-io-*.tar.gz")) + list(dist.glob("atomic_json_io-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, os.listdir(dist)
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert any(n.startswith("atomic_json_io/_ajio") and n.endswith(".so") for n in names)
    assert "atomic_json_io/py.typed" in names and "atomic_json_io/__init__.pyi" in names

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], env=env)
    py = str(venv / "bin" / "python")
    _run([py, "-m", "pip", "install", "--no-index", "--no-deps", "--force-reinstall", str(wheels[0])], env=env)
    code = (
        "import sys, json, atomic_json_io as aj\n"
        "assert aj.__file__.startswith(sys.prefix), aj.__file__\n"
        "aj.write_json_atomic(sys.argv[1], {'ok': [1, 2]})\n"
        "print(open(sys.argv[1]).read(), end='')\n"
    )
    out = _run([py, "-c", code, str(tmp_path / "smoke.json")], env=env, cwd=str(tmp_path)).stdout
    assert out == '{\n  "ok": [\n    1,\n    2\n  ]\n}\n'

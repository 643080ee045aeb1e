"""CPython's own json tests (Lib/test/test_json, Debian's libpython3.11-testsuite) with json.dumps
routed to atomic_json_io.dumps, as a program that adopts the drop-in with
``json.dumps = atomic_json_io.dumps`` would run them.

Routed: json.dumps (the json module, the fresh C-accelerated and pure-Python copies test_json
imports, and the dumps of its PyTest and CTest base classes) and json.dump (as
fp.write(atomic_json_io.dumps(obj, **kw)), the one way to write it with the package). Not
routed: json.JSONEncoder and its encode(), which the package does not replace; the decoder.

The suite runs in a child interpreter. Every failure fails the test; every error must be the
documented refusal of NaN and the infinities (ValueError "Out of range float values are not JSON
compliant", where json.dumps writes NaN); the counts are printed. The negative control routes a
deliberately wrong dumps and must see failures.
"""

import importlib.util
import json
import sys

import pytest

from conftest import run_child

if importlib.util.find_spec("test.test_json") is None:
    pytest.skip(
        "CPython's test_json is not installed (Debian package libpython3.11-testsuite; "
        "make deps installs it)",
        allow_module_level=True,
    )

RUNNER = r"""
import io, json, sys, unittest
import atomic_json_io

mode = sys.argv[1]
if mode == "ours":
    dumps = atomic_json_io.dumps
elif mode == "wrong":
    # The negative control: a dumps that writes ", " as ",  ".
    def dumps(obj, **kw):
        return atomic_json_io.dumps(obj, **kw).replace(", ", ",  ")
else:
    raise SystemExit("mode?")

def dump(obj, fp, **kw):
    fp.write(dumps(obj, **kw))

# Before test_json is imported: its doctests copy the json module's globals when collected.
json.dumps, json.dump = dumps, dump
import test.test_json as tj
for mod in (tj.cjson, tj.pyjson):
    mod.dumps, mod.dump = dumps, dump
for cls in (tj.PyTest, tj.CTest):
    cls.dumps = staticmethod(dumps)

class Result(unittest.TextTestResult):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.error_list = []

    def addError(self, test, err):
        super().addError(test, err)
        self.error_list.append((test.id(), err[0].__name__, str(err[1])))

suite = unittest.defaultTestLoader.loadTestsFromName("test.test_json")
stream = io.StringIO()
res = unittest.TextTestRunner(stream=stream, resultclass=Result, verbosity=0).run(suite)
print(stream.getvalue()[-6000:], file=sys.stderr)
print(json.JSONEncoder().encode({
    "run": res.testsRun,
    "failures": [t.id() for t, _ in res.failures],
    "errors": res.error_list,
    "skipped": len(res.skipped),
    "unexpected_successes": len(res.unexpectedSuccesses),
}))
"""

NAN_REFUSAL = ("ValueError", "Out of range float values are not JSON compliant")


def run_suite(mode):
    proc = run_child(RUNNER, mode, timeout=600, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise AssertionError("runner died (%d):\n%s%s" % (proc.returncode, proc.stdout,
                                                          proc.stderr[-4000:]))
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["log"] = proc.stderr
    return res


def is_nan_refusal(error):
    _, type_name, message = error
    # 3.11 words it without the value; later versions add ": nan" and the like.
    return type_name == NAN_REFUSAL[0] and message.split(":")[0] == NAN_REFUSAL[1]


def test_cpython_test_json_with_our_dumps():
    res = run_suite("ours")
    nan = [e for e in res["errors"] if is_nan_refusal(e)]
    other = [e for e in res["errors"] if not is_nan_refusal(e)]
    passed = res["run"] - len(res["failures"]) - len(res["errors"]) - res["skipped"]
    print(
        "test_json with atomic_json_io.dumps: %d run, %d passed, %d failures, %d errors "
        "(%d the NaN refusal), %d skipped"
        % (res["run"], passed, len(res["failures"]), len(res["errors"]), len(nan),
           res["skipped"])
    )
    for test_id, type_name, message in nan:
        print("  NaN refused:", test_id)
    assert res["run"] > 100, res["log"]
    assert res["failures"] == [], res["log"]
    assert other == [], res["log"]
    assert res["unexpected_successes"] == 0, res["log"]


def test_runner_catches_a_wrong_dumps():
    # Negative control: the same runner with a dumps that writes a different separator.
    res = run_suite("wrong")
    print("test_json with a wrong dumps: %d run, %d failures, %d errors"
          % (res["run"], len(res["failures"]), len(res["errors"])))
    assert res["run"] > 100
    assert len(res["failures"]) > 0, res["log"]

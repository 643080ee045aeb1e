#!/usr/bin/python3
"""Runs the code blocks of the documentation, so that an example that no longer compiles or
runs fails make check instead of a reader.

Usage: rundocs.py [FILE.md...]   (default: README.md, docs/*.md, python/README.md)
Environment: AJIO_BUILD (default build): libajio.a, the ajio tool and the Python extension;
CC (default cc) and DOC_CFLAGS (more flags for every C block).

The convention, for every fenced block of a Markdown file:

  ```c       a whole program (it has main): compiled with -Wall -Wextra -Werror -Iinclude,
             linked with $AJIO_BUILD/libajio.a, run in a fresh directory; it must exit 0.
  ```sh      run by sh -e in a fresh directory, with the built ajio first on PATH; exit 0.
  ```python  run by /usr/bin/python3 in a fresh directory, with the built package on
             PYTHONPATH; exit 0.
  ```text, ```json, ```cmake, ```console: shown, never run (output, data, other tools).
  ```        (no language) is an error: say what it is.

An HTML comment on the line before a block changes that:

  <!-- not run: REASON -->     shown only; REASON says why (it installs, it takes minutes,
                               it is a fragment of the program above ...).
  <!-- run: body -->          a C fragment: run as the body of main() after the usual
                               includes (ajio.h, stdio.h, stdlib.h, string.h, errno.h,
                               inttypes.h), followed by "return 0;".
  <!-- run: libs=-lFOO -->    more link flags for a C program (several: libs="-lA -lB").

A C block without main and without either comment fails: a fragment must say how it is meant.

Every run also checks the runner itself on planted broken blocks (a C program that does not
compile, one that exits 1, a fragment left unmarked, a failing sh and Python block, an untagged
block): each must be reported as a failure, else the run fails.
"""

import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("AJIO_BUILD", "build")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(TOP, BUILD)
PYTHON = "/usr/bin/python3"
TIMEOUT = 120
SHOWN = {"text", "json", "cmake", "console"}
BODY_PRELUDE = """#include <ajio.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
"""

FENCE = re.compile(r"^(\s*)```(.*)$")
MARK = re.compile(r"^\s*<!--\s*(not run|run)\s*:\s*(.*?)\s*-->\s*$")


def blocks(path):
    """(line number, language, marker kind, marker text, code) of each fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i + 1, m.group(2).strip()
        prev = lines[i - 1] if i > 0 else ""
        mark = MARK.match(prev)
        j = i + 1
        while j < len(lines) and not FENCE.match(lines[j]):
            j += 1
        if j == len(lines):
            yield start, lang, "error", "unterminated block", ""
            return
        code = "\n".join(lines[i + 1:j]) + "\n"
        yield start, lang, mark.group(1) if mark else None, mark.group(2) if mark else "", code
        i = j + 1


def run(cmd, cwd, env=None):
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT)
        return p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired:
        return -1, "timed out after %d s" % TIMEOUT


def options(text):
    opts = {}
    for word in shlex.split(text):
        key, _, value = word.partition("=")
        opts[key] = value
    return opts


def run_c(code, opts, tmp):
    if "body" in opts:
        code = BODY_PRELUDE + code + "return 0;\n}\n"
    elif not re.search(r"\bmain\s*\(", code):
        return 1, "a C fragment without main(): mark it <!-- run: body --> or <!-- not run: ... -->"
    src, exe = os.path.join(tmp, "example.c"), os.path.join(tmp, "example")
    with open(src, "w") as f:
        f.write(code)
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-Wall", "-Wextra", "-Werror", "-I" + os.path.join(TOP, "include"), src, "-o", exe,
           os.path.join(BUILD, "libajio.a"), "-lpthread"] + shlex.split(opts.get("libs", ""))
    cmd[1:1] = shlex.split(os.environ.get("DOC_CFLAGS", ""))
    rc, out = run(cmd, tmp)
    if rc != 0:
        return rc, "compile failed:\n" + out
    return run([exe], tmp)


def run_sh(code, tmp):
    env = dict(os.environ, PATH=BUILD + os.pathsep + os.environ.get("PATH", ""))
    return run(["sh", "-e", "-c", code], tmp, env)


def run_python(code, tmp):
    env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "python"), PYTHONDONTWRITEBYTECODE="1")
    return run([PYTHON, "-c", code], tmp, env)


def check_file(path, quiet=False):
    """Runs the blocks of one file; returns (ran, shown, failures)."""
    ran = shown = 0
    failures = []
    for line, lang, kind, text, code in blocks(path):
        where = "%s:%d" % (os.path.relpath(path, TOP) if os.path.isabs(path) else path, line)
        if kind == "error":
            failures.append((where, text))
            continue
        if kind == "not run":
            if not text:
                failures.append((where, "<!-- not run: --> needs a reason"))
            shown += 1
            continue
        if lang in SHOWN:
            shown += 1
            continue
        if lang not in ("c", "sh", "python"):
            failures.append((where, "block without a known language (%r): tag it text, json, c, "
                                    "sh or python, or mark it <!-- not run: reason -->" % lang))
            continue
        with tempfile.TemporaryDirectory(prefix="ajio-doc.") as tmp:
            if lang == "c":
                rc, out = run_c(code, options(text) if kind == "run" else {}, tmp)
            elif lang == "sh":
                rc, out = run_sh(code, tmp)
            else:
                rc, out = run_python(code, tmp)
        ran += 1
        if rc != 0:
            failures.append((where, "exit %d\n%s" % (rc, out.rstrip())))
        elif not quiet:
            print("ok   %s (%s)" % (where, lang))
    return ran, shown, failures


BAD = {
    "does not compile": "```c\nint main(void) { return undeclared; }\n```\n",
    "exits 1": "```c\n#include <ajio.h>\nint main(void)\n{\n"
               "    return ajio_write_text(\"no/such\", \"x\", &(ajio_opts){.flags = AJIO_NO_MKDIR})"
               " < 0;\n}\n```\n",
    "unmarked fragment": "```c\najio_write_text(\"a\", \"b\", NULL);\n```\n",
    "failing body": "<!-- run: body -->\n```c\nif (ajio_write_text(\"\", \"x\", NULL) < 0)\n"
                    "    return 1;\n```\n",
    "failing sh": "```sh\najio write --no-mkdir no/such </dev/null\n```\n",
    "failing python": "```python\nraise SystemExit(3)\n```\n",
    "untagged": "```\nwhat is this\n```\n",
    "reasonless skip": "<!-- not run: -->\n```sh\ntrue\n```\n",
}


def self_test():
    """The runner must fail each planted broken block; returns the ones it let pass."""
    missed = []
    with tempfile.TemporaryDirectory(prefix="ajio-doc-self.") as tmp:
        for name, text in BAD.items():
            md = os.path.join(tmp, "bad.md")
            with open(md, "w") as f:
                f.write("# planted\n\n" + text)
            _, _, failures = check_file(md, quiet=True)
            if len(failures) != 1:
                missed.append(name)
        # And a good block passes, so that the failures above are the blocks', not the runner's.
        md = os.path.join(tmp, "good.md")
        with open(md, "w") as f:
            f.write("<!-- run: body -->\n```c\nif (ajio_write_text(\"a/b\", \"x\", NULL) < 0)\n"
                    "    return 1;\n```\n```sh\nprintf x | ajio write f && test -s f\n```\n")
        if check_file(md, quiet=True)[2]:
            missed.append("a good block failed")
    return missed


def main(argv):
    os.chdir(TOP)
    files = argv or ["README.md"] + sorted(glob.glob("docs/*.md")) + ["python/README.md"]
    if not os.path.exists(os.path.join(BUILD, "libajio.a")):
        print("rundocs: %s/libajio.a missing: run make first" % BUILD)
        return 1
    # The Python blocks import the package built where make check-python builds it.
    if subprocess.call(["sh", os.path.join(TOP, "python/tests/build.sh")],
                       env=dict(os.environ, AJIO_BUILD=BUILD, AJIO_PYTHON=PYTHON)) != 0:
        return 1
    missed = self_test()
    if missed:
        print("rundocs: the runner let planted broken blocks pass: %s" % ", ".join(missed))
        return 1
    ran = shown = 0
    failures = []
    for path in files:
        r, s, f = check_file(path)
        ran, shown, failures = ran + r, shown + s, failures + f
    for where, why in failures:
        print("FAIL %s: %s" % (where, why))
    print("rundocs: %d blocks run, %d shown only, %d failed (self-test: %d planted failures caught)"
          % (ran, shown, len(failures), len(BAD)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""python -m atomic_json_io: the ajio tool's check and cat, where only Python is installed.

    python -m atomic_json_io check [--json | --jsonl] [-v] [FILE]...
    python -m atomic_json_io cat [--jsonl] [FILE]...

Same validator, messages and exit statuses (sysexits) as ``ajio check`` and ``ajio cat``:
0 success, 64 a bad command line, 65 invalid data, 66 a file that cannot be read, 74 output
lost. FILE ``-``, or no FILE, is standard input.
"""

import argparse
import errno
import os
import sys

from . import _ajio

EX_USAGE = 64
EX_DATAERR = 65
EX_NOINPUT = 66
EX_SOFTWARE = 70
EX_IOERR = 74
CHUNK = 64 * 1024  # as the CLI reads

PROG = "python -m atomic_json_io"


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, "%s: error: %s\n" % (self.prog, message))


def _error(message):
    print("atomic_json_io: %s" % message, file=sys.stderr)


def _check_one(arg, kind, verbose):
    """Checks one file; returns 0, EX_DATAERR or EX_NOINPUT."""
    name = "<stdin>" if arg == "-" else arg
    if kind is None:
        kind = "jsonl" if name.endswith((".jsonl", ".ndjson")) else "json"
    try:
        f = sys.stdin.buffer if arg == "-" else open(arg, "rb")
    except OSError as e:
        # open(2) of a directory succeeds, its read(2) fails: the CLI says "cannot read".
        what = "read" if isinstance(e, IsADirectoryError) else "open"
        _error("cannot %s %s: %s" % (what, name, e.strerror))
        return EX_NOINPUT
    checker = _ajio.Checker(kind == "jsonl")
    try:
        while True:
            data = f.read(CHUNK)
            # After the first error the checker only repeats it: stop reading.
            if not data or not checker.feed(data):
                break
    except OSError as e:
        _error("cannot read %s: %s" % (name, e.strerror))
        return EX_NOINPUT
    finally:
        if f is not sys.stdin.buffer:
            f.close()
    err = checker.finish()
    if err is not None:
        line, column, reason, torn = err
        torn = "torn: " if torn else ""
        print("%s:%d:%d: %s%s" % (name, line, column, torn, reason), file=sys.stderr)
        return EX_DATAERR
    if verbose:
        what = "lines" if kind == "jsonl" else "value"
        print("%s: ok (%d %s)" % (name, checker.count, what))
    return 0


def _rank(rc):
    # The status says the worst that happened: internal, unreadable, then invalid.
    return {EX_SOFTWARE: 3, EX_NOINPUT: 2, EX_DATAERR: 1}.get(rc, 0)


def cmd_check(args):
    rc = 0
    for arg in args.files or ["-"]:
        r = _check_one(arg, args.kind, args.verbose)
        if _rank(r) > _rank(rc):
            rc = r
    return rc


def _cat_one(arg, jsonl, out):
    """Prints the complete lines of one file; returns (status, invalid lines)."""
    # The reader opens a path: standard input is /dev/stdin, named <stdin> in messages.
    path, name = ("/dev/stdin", "<stdin>") if arg == "-" else (arg, arg)
    n = len(os.fsdecode(path))
    bad = 0
    try:
        reader = _ajio.Reader(path, _ajio.JSONL if jsonl else 0, None)
    except OSError as e:
        _error(e.strerror)
        return EX_SOFTWARE if e.errno == errno.ENOMEM else EX_NOINPUT, bad
    try:
        while True:
            try:
                line = next(reader)
            except StopIteration:
                break
            except OSError as e:
                _error(e.strerror)
                return EX_NOINPUT, bad
            except ValueError as e:
                # "PATH:LINE:COL: reason", PATH being the path given to the reader.
                print(name + str(e)[n:], file=sys.stderr)
                bad += 1
                continue
            out.write(line)
            out.write(b"\n")
        if reader.torn:
            print(name + reader.torn_message[n:], file=sys.stderr)
    finally:
        reader.close()
    out.flush()
    return 0, bad


def cmd_cat(args):
    out = sys.stdout.buffer
    rc, bad = 0, 0
    for arg in args.files or ["-"]:
        try:
            r, b = _cat_one(arg, args.jsonl, out)
        except OSError as e:  # standard output lost: stop
            _error("write to standard output: %s" % os.strerror(e.errno or errno.EIO))
            if isinstance(e, BrokenPipeError):
                # Nothing more can reach the reader; the exit flush must not fail again.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EX_IOERR
        bad += b
        if r != 0:
            rc = r
    return rc if rc != 0 else EX_DATAERR if bad > 0 else 0


def _parser():
    parser = _Parser(prog=PROG, description="Check or print JSON and JSON Lines files.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    check = sub.add_parser(
        "check",
        help="validate JSON or JSON Lines files (ajio check)",
        description="Validate JSON (one value) or JSON Lines files, streaming. Without --json "
        "or --jsonl a name ending in .jsonl or .ndjson is checked as JSON Lines, anything "
        "else as JSON. Each problem is reported on standard error as FILE:LINE:COL: reason. "
        "Exit status: 0 all valid, 65 some invalid, 66 some unreadable.",
    )
    kind = check.add_mutually_exclusive_group()
    kind.add_argument(
        "--json",
        dest="kind",
        action="store_const",
        const="json",
        help="check every FILE as one JSON value",
    )
    kind.add_argument(
        "--jsonl",
        dest="kind",
        action="store_const",
        const="jsonl",
        help="check every FILE as JSON Lines",
    )
    check.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print 'FILE: ok (N values)' for each valid file",
    )
    check.add_argument("files", nargs="*", metavar="FILE")
    check.set_defaults(run=cmd_check)
    cat = sub.add_parser(
        "cat",
        help="print the complete lines of files (ajio cat)",
        description="Print the complete lines of each FILE in turn. A last line without a "
        "newline (the torn tail of an interrupted append) is skipped, with a note on standard "
        "error. With --jsonl a line that is not one JSON value is reported and not printed "
        "(exit 65). A FILE that cannot be read is reported (exit 66).",
    )
    cat.add_argument(
        "--jsonl", action="store_true", help="check that every line is one JSON value"
    )
    cat.add_argument("files", nargs="*", metavar="FILE")
    cat.set_defaults(run=cmd_cat)
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

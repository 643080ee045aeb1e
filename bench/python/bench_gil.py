"""Other threads keep running while atomic_json_io writes a large document.

    make bench-python        (runs this after bench.py)
    PYTHONPATH=build/python /usr/bin/python3 bench/python/bench_gil.py [--quick] [--dir DIR]
        [--before PKGDIR]

A ticker thread counts the iterations of a small pure-Python loop and records the longest gap
between two of its ticks, the longest time it could not run. Phases, each SECONDS long:

- the ticker alone (the main thread sleeps): its solo rate, and the longest stall the machine
  itself causes (other jobs, the hypervisor);
- while the main thread writes a list of record dicts of about 72 MiB with indent=2 through
  write_json_atomic (durable, the package's defaults) into DIR, call after call;
- while the main thread encodes the same list with dumps(indent=2), call after call;
- each of the two writers alone, for its own time per call;
- once per round, for reference, the original package's algorithm on the same list
  (json.dumps(indent=2), temp, write, fsync, replace) with the ticker running.

The ticker's rate is given as a percentage of its solo rate in the same child process. Each
round runs every phase in a fresh child process per variant: the package on PYTHONPATH
("after"), and with --before the package built at PKGDIR ("before"; the same script, another
build), the variants alternating. A figure is the median over the rounds; the longest stall is
given as the median over the rounds of each round's longest, and the longest over all rounds. The document is moved out of the garbage collector's reach
(gc.freeze()), so that no collection walks its 263,000 dicts in the middle of a phase.
"""

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

RECORDS = 263_000


def records(n):
    return [
        {
            "id": i,
            "name": "user%06d" % i,
            "email": "user%06d@example.com" % i,
            "active": i % 3 != 0,
            "score": i * 0.37,
            "tags": ["alpha", "beta", "gamma"][: i % 4],
            "address": {
                "street": "%d Main Street" % i,
                "city": "Springfield",
                "zip": "%05d" % (i % 99999),
            },
        }
        for i in range(n)
    ]


class Ticker:
    """A thread that, while running, counts loop iterations (n) and keeps the longest gap
    between two ticks since the last reset (gap)."""

    def __init__(self):
        self.n = 0
        self.gap = 0.0
        self.reset = False
        self.go = threading.Event()
        self.idle = threading.Event()
        self.quit = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        pc = time.perf_counter
        while True:
            self.go.wait()
            if self.quit:
                return
            n = 0
            gap = 0.0
            last = pc()
            while self.go.is_set():
                for _ in range(10):
                    n += 1
                now = pc()
                if now - last > gap or self.reset:
                    gap = now - last
                    self.reset = False
                last = now
                self.n = n
                self.gap = gap
            self.idle.set()

    def start(self):
        self.idle.clear()
        self.go.set()

    def stop(self):
        self.go.clear()
        self.idle.wait()

    def close(self):
        self.quit = True
        self.go.set()
        self.thread.join()


def phase(ticker, work, seconds, once=False):
    """Runs work() call after call for `seconds` (once: one call), with the ticker running
    unless ticker is None. Returns {rate, gap, calls, per_call}."""
    if ticker is not None:
        ticker.start()
        time.sleep(0.05)
        n0 = ticker.n
        ticker.reset = True
    t0 = time.perf_counter()
    calls = 0
    while calls == 0 or (not once and time.perf_counter() - t0 < seconds):
        work()
        calls += 1
    t1 = time.perf_counter()
    out = {"calls": calls, "per_call": (t1 - t0) / calls}
    if ticker is not None:
        n1 = ticker.n
        time.sleep(0.02)  # the ticker records a gap when it runs again
        out["gap"] = ticker.gap
        out["rate"] = (n1 - n0) / (t1 - t0)
        ticker.stop()
    return out


def child(args):
    import atomic_json_io as aj

    doc = records(RECORDS)
    gc.collect()
    gc.freeze()
    path = os.path.join(args.dir, "doc.json")
    res = {"version": aj.__version__, "file": os.path.dirname(aj.__file__)}
    ticker = Ticker()
    sleep = lambda: time.sleep(args.seconds)  # noqa: E731
    write = lambda: aj.write_json_atomic(path, doc)  # noqa: E731
    dumps = lambda: aj.dumps(doc, indent=2)  # noqa: E731
    res["alone"] = phase(ticker, sleep, args.seconds, once=True)
    res["write"] = phase(ticker, write, args.seconds)
    res["write_solo"] = phase(None, write, args.seconds)
    res["dumps"] = phase(ticker, dumps, args.seconds)
    res["dumps_solo"] = phase(None, dumps, args.seconds)
    res["alone2"] = phase(ticker, sleep, args.seconds, once=True)
    res["size"] = os.path.getsize(path)
    if args.original:
        from bench import original_write_json_atomic  # the reference of bench.py, beside this

        orig = os.path.join(args.dir, "orig.json")
        res["original"] = phase(ticker, lambda: original_write_json_atomic(orig, doc), 0,
                                once=True)
        with open(orig, "rb") as f, open(path, "rb") as g:
            if f.read() != g.read():
                raise SystemExit("write_json_atomic's file differs from json.dumps(indent=2)")
    ticker.close()
    json.dump(res, sys.stdout)


ROWS = [
    ("write", "write_json_atomic, durable"),
    ("dumps", "dumps(indent=2)"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 rounds of 1.5 s phases")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--dir", default=os.environ.get("BENCH_GIL_DIR", "/var/tmp"),
                    help="where the durable writes go (a directory is made in it)")
    ap.add_argument("--before", default=os.environ.get("BENCH_GIL_BEFORE"),
                    help="another build of the package (its PYTHONPATH) to run side by side")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--original", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    rounds = args.rounds or (2 if args.quick else 3)
    seconds = args.seconds or (1.5 if args.quick else 3.0)
    variants = [("after", os.environ.get("PYTHONPATH", ""))]
    if args.before:
        variants.insert(0, ("before", os.path.abspath(args.before)))
    work = tempfile.mkdtemp(prefix="ajio-bench-gil.", dir=args.dir)
    results = {name: [] for name, _ in variants}
    try:
        for r in range(rounds):
            order = variants if r % 2 == 0 else variants[::-1]
            for name, pypath in order:
                env = dict(os.environ, PYTHONPATH=pypath)
                cmd = [sys.executable, os.path.abspath(__file__), "--child", "--dir", work,
                       "--seconds", str(seconds)]
                if name == "after":
                    cmd.append("--original")
                out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True).stdout
                results[name].append(json.loads(out))
                print("round %d/%d: %s done" % (r + 1, rounds, name), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results, variants, rounds, seconds, args.dir)


def report(results, variants, rounds, seconds, where):
    med = statistics.median
    first = results[variants[-1][0]][0]
    print("atomic_json_io %s on %s, Python %s, %s, %d CPUs, load %.1f" % (
        first["version"], platform.platform(), platform.python_version(), platform.machine(),
        os.cpu_count(), os.getloadavg()[0]))
    print("%d records, %.1f MiB with indent=2; durable writes in %s; %d rounds of %.1f s phases"
          % (RECORDS, first["size"] / 2**20, where, rounds, seconds))
    for name, _ in variants:
        print("%s: %s" % (name, results[name][0]["file"]))
    print()
    print("  %-7s %-30s %9s %14s %12s %12s" % ("build", "main thread", "ticker",
                                                 "longest stall", "per call", "per call"))
    print("  %-7s %-30s %9s %14s %12s %12s" % ("", "", "% of solo", "ms, med / max",
                                                 "with ticker", "alone"))

    def stall(gaps):
        return "%6.1f /%6.1f" % (med(gaps) * 1e3, max(gaps) * 1e3)

    for name, _ in variants:
        runs = results[name]
        solo = [(r["alone"]["rate"] + r["alone2"]["rate"]) / 2 for r in runs]
        noise = [max(r["alone"]["gap"], r["alone2"]["gap"]) for r in runs]
        print("  %-7s %-30s %9s %14s" % (name, "(ticker alone)", "100%", stall(noise)))
        for key, label in ROWS:
            pct = med(r[key]["rate"] / s * 100 for r, s in zip(runs, solo))
            print("  %-7s %-30s %8.0f%% %14s %9.0f ms %9.0f ms" % (
                name, label, pct, stall([r[key]["gap"] for r in runs]),
                med(r[key]["per_call"] for r in runs) * 1e3,
                med(r[key + "_solo"]["per_call"] for r in runs) * 1e3))
    runs = results["after"]
    solo = [(r["alone"]["rate"] + r["alone2"]["rate"]) / 2 for r in runs]
    pct = med(r["original"]["rate"] / s * 100 for r, s in zip(runs, solo))
    print("  %-7s %-30s %8.0f%% %14s %9.0f ms" % (
        "", "original algorithm, durable", pct, stall([r["original"]["gap"] for r in runs]),
        med(r["original"]["per_call"] for r in runs) * 1e3))
    print()
    print("ticker: % of its solo rate in the same process, median over the rounds; longest "
          "stall: the longest gap between two ticks, median over the rounds / longest of all")


if __name__ == "__main__":
    main()

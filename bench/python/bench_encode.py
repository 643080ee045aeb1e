"""The C encoder (atomic_json_io.dumps) against json.dumps and its peers, side by side in one run.

    /usr/bin/python3 bench/python/bench_encode.py [--quick] [--rounds N] [--only DOC,...]

Run from the repository root with atomic_json_io importable (the package built from python/);
make bench-python installs the peers (Debian's python3-ujson, python3-simplejson and
python3-rapidjson) and runs it. A peer that is not installed is left out of the table.

Documents: twitter, citm_catalog and canada (tests/data/json-bench), a config document of about
17 KB, and four generated string documents of 3,000 strings of 10 to 200 characters each: all
CJK (2-byte str), all emoji (4-byte str), Latin-1 text (1-byte str, a quarter of it above
U+007F) and printable ASCII. Layouts: compact (json.dumps's defaults: one line, ", " and ": "),
indent=2 (which json.dumps writes with its pure-Python encoder) and ensure_ascii=False (one
line). Each peer gets the arguments that come closest to json.dumps's text for the layout
(ujson: separators and escape_forward_slashes=False; rapidjson has neither, so its one-line
text has no spaces); a peer whose text still differs from json.dumps's is timed all the same
and marked "~". atomic_json_io's text is asserted byte-identical to json.dumps's in every cell.

Timing: in each round every contender makes a batch of calls (as many as fill --budget seconds),
in an order that alternates round by round, so that a disturbance of the shared machine hits
all of them alike. A cell's ratio against a contender is the median over the rounds of that
round's time of the contender divided by atomic_json_io's.

Targets (issue 19): >= 1.5x json.dumps and >= 1.2x every peer, in every cell.

--baseline DIR adds another build of the encoder as a column (not a target): DIR holds its
atomic_json_io/_ajio*.so (a build's python/ directory, as python/tests/build.sh makes it from
an older checkout), loaded into the same process under another name, so that an encoder
change is measured side by side with what it changes (this build's own directory gives the
noise of a run: ratios around 1.0).
"""

import argparse
import glob
import importlib.machinery
import importlib.util
import json
import os
import platform
import random
import statistics
import sys
import time

from atomic_json_io._ajio import dumps

DATA = os.environ.get("AJIO_TEST_DATA", "tests/data")
FILES = ["twitter.json", "citm_catalog.json", "canada.json"]
TARGET_JSON = 1.5
TARGET_PEER = 1.2


def config_document():
    """A config-like document of about 17 KB with indent=2: nested sections of short keys,
    strings, small numbers, booleans and lists, as application settings look."""
    rng = random.Random(17)
    words = ["alpha", "beta", "gamma", "delta", "cache", "timeout", "retries", "host", "port",
             "path", "enabled", "level", "mode", "limit", "user", "group", "region", "zone"]

    def section(depth):
        d = {}
        for _ in range(rng.randint(3, 7)):
            k = rng.choice(words) + "_" + str(rng.randint(0, 99))
            r = rng.random()
            if depth < 2 and r < 0.25:
                d[k] = section(depth + 1)
            elif r < 0.4:
                d[k] = rng.randint(0, 65535)
            elif r < 0.5:
                d[k] = round(rng.random() * 100, 3)
            elif r < 0.6:
                d[k] = rng.random() < 0.5
            elif r < 0.7:
                d[k] = [rng.choice(words) for _ in range(rng.randint(1, 4))]
            elif r < 0.75:
                d[k] = None
            else:
                d[k] = "/srv/" + "/".join(rng.choice(words) for _ in range(3))
        return d

    doc = {"version": 3, "name": "service-config", "services": {}}
    while len(json.dumps(doc, indent=2)) < 17_000:
        doc["services"]["svc_" + str(len(doc["services"]))] = section(0)
    return doc


def string_document(alphabet, seed):
    """3,000 strings of 10 to 200 characters drawn from alphabet."""
    rng = random.Random(seed)
    return ["".join(rng.choices(alphabet, k=rng.randint(10, 200))) for _ in range(3000)]


CJK = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
EMOJI = [chr(c) for c in range(0x1F300, 0x1F650)]
# Text in a Latin-1 language: letters and spaces, a quarter of the letters accented.
LATIN1 = list("abcdefghijklmnopqrstuvwxyz  ") + [chr(c) for c in range(0xE0, 0xFF)]
LATIN1_WEIGHTS = [3] * 28 + [1] * (0xFF - 0xE0)
ASCII = [chr(c) for c in range(0x20, 0x7F)]


def latin1_document():
    rng = random.Random(3)
    return ["".join(rng.choices(LATIN1, LATIN1_WEIGHTS, k=rng.randint(10, 200)))
            for _ in range(3000)]


def documents(only):
    docs = []
    for name in FILES:
        if only and name.split(".")[0] not in only:
            continue
        with open(os.path.join(DATA, "json-bench", name), encoding="utf-8") as f:
            docs.append((name.split(".")[0], json.load(f)))
    generated = [
        ("config", config_document),
        ("cjk", lambda: string_document(CJK, 1)),
        ("emoji", lambda: string_document(EMOJI, 2)),
        ("latin1", latin1_document),
        ("ascii", lambda: string_document(ASCII, 4)),
    ]
    for name, make in generated:
        if not only or name in only:
            docs.append((name, make()))
    return docs


LAYOUTS = [("compact", {}), ("indent=2", {"indent": 2}), ("ensure_ascii=False", {"ensure_ascii": False})]


def load_baseline(directory):
    """The dumps of another build's extension, under a module name of its own."""
    paths = glob.glob(os.path.join(directory, "atomic_json_io", "_ajio*.so"))
    if len(paths) != 1:
        raise SystemExit(f"--baseline {directory}: no single atomic_json_io/_ajio*.so there")
    name = "ajio_baseline._ajio"  # the init function is found by the last part, _ajio
    loader = importlib.machinery.ExtensionFileLoader(name, paths[0])
    spec = importlib.util.spec_from_file_location(name, paths[0], loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module.dumps


def contenders(kw, baseline=None):
    """[(name, fn(obj))] for the layout's json.dumps keyword arguments kw."""
    ea = kw.get("ensure_ascii", True)
    indent = kw.get("indent")
    out = [("ours", lambda o: dumps(o, **kw)), ("json", lambda o: json.dumps(o, **kw))]
    if baseline is not None:
        out.append(("baseline", lambda o: baseline(o, **kw)))
    try:
        import ujson

        seps = (",", ": ") if indent is not None else (", ", ": ")
        ukw = dict(ensure_ascii=ea, escape_forward_slashes=False, separators=seps)
        if indent is not None:
            ukw["indent"] = indent
        out.append(("ujson", lambda o: ujson.dumps(o, **ukw)))
    except ImportError:
        pass
    try:
        import simplejson

        out.append(("simplejson", lambda o: simplejson.dumps(o, **kw)))
    except ImportError:
        pass
    try:
        import rapidjson

        rkw = dict(ensure_ascii=ea)
        if indent is not None:
            rkw["indent"] = indent
        out.append(("rapidjson", lambda o: rapidjson.dumps(o, **rkw)))
    except ImportError:
        pass
    return out


def batch_size(fn, obj, budget):
    t0 = time.perf_counter()
    fn(obj)
    once = max(time.perf_counter() - t0, 1e-7)
    return max(1, int(budget / once))


def measure(cands, obj, rounds, budget):
    """{name: [seconds per call, one per round]}, the rounds' orders alternating."""
    calls = {name: batch_size(fn, obj, budget) for name, fn in cands}
    times = {name: [] for name, _ in cands}
    for r in range(rounds):
        order = cands if r % 2 == 0 else cands[::-1]
        for name, fn in order:
            n = calls[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn(obj)
            times[name].append((time.perf_counter() - t0) / n)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="5 rounds of 20 ms batches")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--budget", type=float, default=None, help="seconds per batch")
    ap.add_argument("--only", default="", help="documents, comma-separated (twitter,cjk,...)")
    ap.add_argument("--baseline", default=None, help="another build's python/ directory")
    args = ap.parse_args()
    baseline = load_baseline(args.baseline) if args.baseline else None
    rounds = args.rounds or (5 if args.quick else 11)
    budget = args.budget or (0.02 if args.quick else 0.05)
    only = set(filter(None, args.only.split(",")))

    print(f"Python {platform.python_version()}, {platform.platform()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}; {rounds} rounds of {budget * 1e3:.0f} ms batches")
    peers_seen = []
    rows = []
    t_start = time.perf_counter()
    for name, obj in documents(only):
        for layout, kw in LAYOUTS:
            cands = contenders(kw, baseline)
            expect = json.dumps(obj, **kw)
            if dumps(obj, **kw) != expect:
                raise SystemExit(f"{name} {layout}: atomic_json_io's output differs from json.dumps")
            differs = {}
            for peer, fn in cands[2:]:
                if peer not in peers_seen:
                    peers_seen.append(peer)
                differs[peer] = fn(obj) != expect
            times = measure(cands, obj, rounds, budget)
            ours = times["ours"]
            ratios = {peer: statistics.median(t / o for t, o in zip(times[peer], ours))
                      for peer, _ in cands[1:]}
            rows.append((name, layout, len(expect), statistics.median(ours),
                         statistics.median(times["json"]), ratios, differs))
    elapsed = time.perf_counter() - t_start

    peers = peers_seen
    print()
    head = "| document | layout | bytes | ours | json.dumps | vs json | " + \
        " | ".join("vs " + p for p in peers) + " | targets |"
    print(head)
    print("|---|---|---:|---:|---:|---:|" + "---:|" * len(peers) + "---|")
    missed = []
    for name, layout, size, t_ours, t_json, ratios, differs in rows:
        cells = [f"{ratios['json']:.2f}x"]
        miss = [] if ratios["json"] >= TARGET_JSON else ["json"]
        for p in peers:
            if p not in ratios:
                cells.append("-")
                continue
            cells.append(f"{ratios[p]:.2f}x" + ("~" if differs[p] else ""))
            if ratios[p] < TARGET_PEER and p != "baseline":
                miss.append(p)
        verdict = "met" if not miss else "MISSED: " + ", ".join(miss)
        if miss:
            missed.append((name, layout, miss))
        print(f"| {name} | {layout} | {size:,} | {t_ours * 1e3:.3f} ms | {t_json * 1e3:.3f} ms | "
              + " | ".join(cells) + f" | {verdict} |")
    print()
    print("ratio: median over the rounds of the contender's time / atomic_json_io's (higher is "
          "faster for atomic_json_io); ~: the peer's text differs from json.dumps's")
    if baseline is not None:
        print(f"baseline: {args.baseline} (not a target)")
    print(f"targets: >= {TARGET_JSON}x json.dumps, >= {TARGET_PEER}x each peer; "
          f"{len(rows) - len(missed)} of {len(rows)} cells meet them all "
          f"({elapsed:.0f} s, load {os.getloadavg()[0]:.1f} at the end)")
    for name, layout, miss in missed:
        print(f"  missed: {name} {layout}: {', '.join(miss)}")
    # The targets are reported, not enforced: a loaded machine slows either side at random.
    # Only a difference in atomic_json_io's output fails the run (above).
    return 0


if __name__ == "__main__":
    sys.exit(main())

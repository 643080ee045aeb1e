"""atomic_json_io against the original package's algorithm and python-atomicwrites.

    make bench-python        (PYTHONPATH=build/python /usr/bin/python3 bench/python/bench.py)

The original package's write is re-expressed from its published description: json.dumps, a
sibling temp file, flush, fsync, os.replace (no directory fsync). python-atomicwrites is
Debian's python3-atomicwrites (atomic_write(overwrite=True): temp, flush, fsync, rename, fsync
of the directory). Variants run interleaved, round by round, on the same data, so that the
noise of a shared machine hits all of them alike; each figure is the median over the rounds of
the mean time per call within a round.

Options: --quick (fewer rounds), --disk DIR (the durable runs; default: build dir on the
working disk), --tmpfs DIR (default /dev/shm).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import atomic_json_io as aj
from bench_encode import CJK, string_document

try:
    from atomicwrites import atomic_write
except ImportError:  # python3-atomicwrites is in DEB_PACKAGES; run without it all the same
    atomic_write = None


# ---- the contenders ---------------------------------------------------------------------------


def original_write_json_atomic(path, data):
    """The original algorithm: json.dumps + sibling temp + flush + fsync + os.replace."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, indent=2) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def original_write_jsonl_atomic(path, records):
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for record in records:
                f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def atomicwrites_json(path, data):
    with atomic_write(path, overwrite=True) as f:
        f.write(json.dumps(data, indent=2) + "\n")


def atomicwrites_jsonl(path, records):
    with atomic_write(path, overwrite=True) as f:
        for record in records:
            f.write(json.dumps(record) + "\n")


def floor_write(path, payload, dir_sync):
    """The raw syscall floor: the bytes already encoded, then open, write, fdatasync, rename
    and (dir_sync) fsync of the directory, as libajio does (without O_TMPFILE and the checks)."""
    directory = os.path.dirname(path)
    tmp = os.path.join(directory, "." + os.path.basename(path) + ".floor.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, payload)
        os.fdatasync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)
    if dir_sync:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


# ---- data ------------------------------------------------------------------------------------


def config_document():
    """A config-like document of about 17 KB with indent=2: services, flags, limits, lists."""
    services = {}
    for i in range(40):
        services["service-%02d" % i] = {
            "enabled": i % 3 != 0,
            "host": "10.0.%d.%d" % (i // 8, i * 7 % 250),
            "port": 8000 + i,
            "timeout_s": 2.5 + i / 10,
            "retries": i % 5,
            "tags": ["tier-%d" % (i % 3), "zone-%s" % "abc"[i % 3], "owner-team-%d" % (i % 4)],
            "limits": {"cpu": 0.25 * (1 + i % 4), "memory_mb": 256 * (1 + i % 6), "burst": None},
            "description": "Service number %d of the demo deployment, ünïcode ✓" % i,
        }
    return {
        "version": 3,
        "name": "demo-deployment",
        "debug": False,
        "features": {"feature_%d" % i: bool(i % 2) for i in range(20)},
        "services": services,
    }


def small_records(n):
    return [{"id": i, "event": "tick", "ok": i % 7 != 0, "value": i * 0.5, "tags": ["a", "b"]}
            for i in range(n)]


# ---- timing ------------------------------------------------------------------------------------


def run_rounds(variants, rounds, per_round):
    """variants: [(name, fn)]; returns {name: median seconds per call}."""
    times = {name: [] for name, _ in variants}
    for name, fn in variants:  # warm up: first calls create files and directories
        fn()
    for r in range(rounds):
        order = variants if r % 2 == 0 else variants[::-1]
        for name, fn in order:
            start = time.perf_counter()
            for _ in range(per_round):
                fn()
            times[name].append((time.perf_counter() - start) / per_round)
    return {name: statistics.median(v) for name, v in times.items()}


def report(title, results, base, note=""):
    print("\n" + title)
    print("  %-52s %12s %10s" % ("variant", "per call", "vs " + base))
    for name, t in results.items():
        unit = "%.1f us" % (t * 1e6) if t < 0.001 else "%.2f ms" % (t * 1e3)
        print("  %-52s %12s %9.2fx" % (name, unit, results[base] / t))
    if note:
        print("  " + note)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tmpfs", default="/dev/shm")
    ap.add_argument("--disk", default=os.environ.get("BENCH_PY_DIR", "build"))
    args = ap.parse_args()
    k = 4 if args.quick else 1

    print("atomic_json_io %s on %s, Python %s, %s, %d CPUs, load %.1f" % (
        aj.__version__, platform.platform(), platform.python_version(),
        platform.processor() or platform.machine(), os.cpu_count(), os.getloadavg()[0]))
    if atomic_write is None:
        print("(python3-atomicwrites not installed: its rows are left out)")

    doc = config_document()
    text = json.dumps(doc, indent=2) + "\n"
    records = small_records(10_000)
    cjk = string_document(CJK, 1)

    tmpfs = tempfile.mkdtemp(prefix="ajio-bench-py.", dir=args.tmpfs)
    os.makedirs(args.disk, exist_ok=True)
    disk = tempfile.mkdtemp(prefix="ajio-bench-py.", dir=args.disk)
    try:
        p = os.path.join(tmpfs, "config.json")
        # byte-identical outputs, checked before anything is timed
        aj.write_json_atomic(p, doc)
        with open(p, encoding="utf-8") as f:
            assert f.read() == text
        pl = os.path.join(tmpfs, "events.jsonl")
        aj.write_jsonl_atomic(pl, records)
        with open(pl, encoding="utf-8") as f:
            assert f.read() == "".join(json.dumps(r) + "\n" for r in records)

        variants = [
            ("original (json.dumps+temp+fsync+replace)", lambda: original_write_json_atomic(p, doc)),
            ("atomic_json_io.write_json_atomic", lambda: aj.write_json_atomic(p, doc)),
            ("json.dumps(indent=2) alone", lambda: json.dumps(doc, indent=2)),
        ]
        if atomic_write:
            variants.insert(1, ("python-atomicwrites + json.dumps", lambda: atomicwrites_json(p, doc)))
        res = run_rounds(variants, 15, 200 // k)
        report("%d-byte config document, indent=2, tmpfs (%s), durable defaults"
               % (len(text.encode()), args.tmpfs), res, variants[0][0])

        # Non-ASCII text: json.dumps escapes every character to \uXXXX, which atomic_json_io
        # writes from the str's 2-byte storage.
        pc = os.path.join(tmpfs, "cjk.json")
        aj.write_json_atomic(pc, cjk)
        with open(pc, encoding="utf-8") as f:
            assert f.read() == json.dumps(cjk, indent=2) + "\n"
        variants = [
            ("original (json.dumps+temp+fsync+replace)", lambda: original_write_json_atomic(pc, cjk)),
            ("atomic_json_io.write_json_atomic", lambda: aj.write_json_atomic(pc, cjk)),
        ]
        res = run_rounds(variants, 15, max(1, 40 // k))
        report("CJK document (3,000 strings of 10-200 characters, %d bytes), indent=2, tmpfs, "
               "durable defaults" % os.path.getsize(pc), res, variants[0][0])

        variants = [
            ("original write_jsonl_atomic", lambda: original_write_jsonl_atomic(pl, records)),
            ("atomic_json_io.write_jsonl_atomic", lambda: aj.write_jsonl_atomic(pl, records)),
        ]
        if atomic_write:
            variants.insert(1, ("python-atomicwrites + json.dumps per record",
                                lambda: atomicwrites_jsonl(pl, records)))
        res = run_rounds(variants, 9, max(1, 8 // k))
        report("10,000 small JSONL records (%d bytes), tmpfs" % os.path.getsize(pl), res,
               variants[0][0])

        d = os.path.join(disk, "config.json")
        payload = text.encode()
        variants = [
            ("original (file fsync, no directory fsync)", lambda: original_write_json_atomic(d, doc)),
            ("atomic_json_io.write_json_atomic (durable)", lambda: aj.write_json_atomic(d, doc)),
            ("floor: write+fdatasync+rename (no dir fsync)", lambda: floor_write(d, payload, False)),
            ("floor: write+fdatasync+rename+dir fsync", lambda: floor_write(d, payload, True)),
        ]
        if atomic_write:
            variants.insert(2, ("python-atomicwrites (file + dir fsync)", lambda: atomicwrites_json(d, doc)))
        res = run_rounds(variants, 9, 20 // k)
        report("the same document, durable, on the working disk (%s)" % os.path.realpath(disk),
               res, variants[0][0],
               "the floors write the already-encoded bytes; the original skips the directory "
               "fsync, so it does less work than a durable write")
    finally:
        for root in (tmpfs, disk):
            for name in os.listdir(root):
                os.unlink(os.path.join(root, name))
            os.rmdir(root)


if __name__ == "__main__":
    sys.exit(main())

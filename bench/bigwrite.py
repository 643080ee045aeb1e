#!/usr/bin/python3
"""Large writes at the floor: `ajio write FILE < input` against cat(1) doing the same copy.

One cell per filesystem (tmpfs, disk), input (a regular file on standard input, or a pipe from
cat), validation (none, --json) and durability (durable, --no-sync). In each cell the two
commands run in turn (A B, then B A, ...) after one warm-up round that is not counted; each run
is timed from outside (wall clock around sh -c, start-up included; CPU seconds of all its
processes beside) and the ratio is taken pair by pair, so that a drift of the machine's speed
during the cell does not move it. Before every run
its output is removed and the filesystems synced, untimed: each run creates its file, none
frees a previous one's blocks, and no run inherits another's dirty pages.

What each side does (DIR the output's directory):
  durable     ajio write OUT < IN                 cat IN > CAT && sync CAT DIR
              (temp, fdatasync, rename, fsync DIR) (write, fsync CAT, fsync DIR)
  --no-sync   ajio write --no-sync OUT < IN       cat IN > CAT
  pipe        cat IN | ajio write ...             cat IN | cat > CAT ...
  --json      ajio write --json ...               the same cat: it does not validate; the
                                                  validator alone (ajio check --json IN, or
                                                  cat IN | ajio check --json) runs as a third
                                                  command, and (ajio - cat) / validator says
                                                  how much of the difference is the validator.

Environment: AJIO_BUILD (the tool), BENCH_BIGWRITE_TMPFS (a tmpfs directory, default /dev/shm),
BENCH_BIGWRITE_DISK (a directory on the disk, default $AJIO_BUILD/bench-bigwrite),
BENCH_BIGWRITE_SIZE (bytes, default 1 GiB), BENCH_BIGWRITE_REPS (counted rounds, default 5),
BENCH_QUICK=1 (64 MiB, 3 rounds: a smoke run). Results: standard output and
$AJIO_BUILD/bench-bigwrite/results.md.
"""

import os
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import time

BUILD = os.environ.get("AJIO_BUILD", "build")
AJIO = os.path.abspath(os.path.join(BUILD, "ajio"))
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
SIZE = int(os.environ.get("BENCH_BIGWRITE_SIZE") or (64 << 20 if QUICK else 1 << 30))
REPS = int(os.environ.get("BENCH_BIGWRITE_REPS") or (3 if QUICK else 5))
TARGET = 1.10


def fs_type(path):
    return subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "-T", path], capture_output=True,
                          text=True, check=True).stdout.split()[-1]


def make_inputs(d):
    """IN: SIZE random bytes; IN.json: one JSON array of about SIZE bytes."""
    raw, js = os.path.join(d, "in"), os.path.join(d, "in.json")
    if not os.path.exists(raw) or os.path.getsize(raw) != SIZE:
        with open("/dev/urandom", "rb") as src, open(raw, "wb") as out:
            left = SIZE
            while left > 0:
                left -= out.write(src.read(min(left, 1 << 20)))
    rec = b'{"id":123456,"name":"abcdefghij","tags":["x","y"],"v":1.25,"ok":true},'
    block = rec * 4096
    n = max(1, (SIZE - 2) // len(block))
    if not os.path.exists(js) or os.path.getsize(js) != n * len(block) + 2:
        with open(js, "wb") as out:
            out.write(b"[")
            for _ in range(n):
                out.write(block)
            out.write(b"0]")
    return raw, js


def run(cmd):
    """Wall seconds, and CPU seconds (user + system of every process of the command)."""
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    r = subprocess.run(["sh", "-c", cmd], stdin=subprocess.DEVNULL)
    dt = time.monotonic() - t
    c2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"bench-bigwrite: '{cmd}' exited {r.returncode}")
    return dt, (c2.ru_utime - c.ru_utime) + (c2.ru_stime - c.ru_stime)


def cell(d, kind, pipe, json, durable, inp):
    q = shlex.quote
    out, cat_out = os.path.join(d, "out"), os.path.join(d, "cat")
    src = f"cat {q(inp)} | " if pipe else ""
    redir = "" if pipe else f" < {q(inp)}"
    opts = ("--json " if json else "") + ("" if durable else "--no-sync ")
    a = f"{src}{q(AJIO)} write {opts}{q(out)}{redir}"
    b = f"{src}cat{redir if pipe else ' ' + q(inp)} > {q(cat_out)}"
    if durable:
        b += f" && sync {q(cat_out)} {q(d)}"
    cmds = [a, b]
    if json:
        cmds.append(f"{src}{q(AJIO)} check --json{redir if pipe else ' ' + q(inp)}")
    times = [[] for _ in cmds]
    cpus = [[] for _ in cmds]
    for rnd in range(REPS + 1):
        order = list(range(len(cmds)))
        if rnd % 2:
            order.reverse()
        got = {}
        for i in order:
            if i < 2 and os.path.exists((out, cat_out)[i]):
                os.unlink((out, cat_out)[i])
            os.sync()
            got[i] = run(cmds[i])
        if rnd > 0:
            for i in got:
                times[i].append(got[i][0])
                cpus[i].append(got[i][1])
        want = os.path.getsize(inp) + (1 if json else 0)
        for p in (out, cat_out):
            have = os.path.getsize(p)
            if have != want - (1 if json and p == cat_out else 0):
                sys.exit(f"bench-bigwrite: {p} has {have} bytes after '{cmds}'")
    for p in (out, cat_out):
        os.unlink(p)
    ratios = [x / y for x, y in zip(times[0], times[1])]
    row = {
        "fs": kind,
        "input": "pipe" if pipe else "file",
        "json": json,
        "durable": durable,
        "a": statistics.median(times[0]),
        "b": statistics.median(times[1]),
        "ratio": statistics.median(ratios),
        "lo": min(ratios),
        "hi": max(ratios),
        # Less moved than the wall clock by the other tenants of a shared machine.
        "cpu": statistics.median([x / y for x, y in zip(cpus[0], cpus[1])]),
        "cmds": cmds,
    }
    if json:
        row["c"] = statistics.median(times[2])
        row["share"] = statistics.median(
            [(x - y) / z for x, y, z in zip(times[0], times[1], times[2])])
    return row


def main():
    # A run stopped with SIGTERM still removes its gigabytes (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench-bigwrite: terminated"))
    if not os.access(AJIO, os.X_OK):
        sys.exit(f"bench-bigwrite: {AJIO} not built")
    # Empty counts as unset: make passes its variables through whether they are given or not.
    dirs = [("tmpfs", os.environ.get("BENCH_BIGWRITE_TMPFS") or "/dev/shm"),
            ("disk", os.environ.get("BENCH_BIGWRITE_DISK")
             or os.path.join(BUILD, "bench-bigwrite", "disk"))]
    def sh(c):
        return subprocess.run(["sh", "-c", c], capture_output=True, text=True).stdout.strip()

    cpu = sh("lscpu | sed -n 's/^Model name: *//p'")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    machine = (f"Machine: {cpu}, {os.cpu_count()} vCPUs, Linux {os.uname().release}, Debian "
               f"{sh('cat /etc/debian_version')}, {sh('cc --version | head -n 1')}. Library: "
               f"{sh('git rev-parse --short HEAD')}. Date: "
               f"{time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}. Load average at start: {load}.")
    print(machine, flush=True)
    rows = []
    for kind, base in dirs:
        d = os.path.abspath(os.path.join(base, f"ajio-bigwrite.{os.getpid()}"))
        os.makedirs(d)
        try:
            raw, js = make_inputs(d)
            print(f"{kind}: {d} ({fs_type(d)})", flush=True)
            for json in (False, True):
                for pipe in (False, True):
                    for durable in (True, False):
                        r = cell(d, f"{kind} ({fs_type(d)})", pipe, json, durable,
                                 js if json else raw)
                        rows.append(r)
                        print(f"  {r['input']:4} {'--json' if json else 'raw':6} "
                              f"{'durable' if durable else 'no-sync':7} ajio {r['a']:.3f} s "
                              f"cat {r['b']:.3f} s ratio {r['ratio']:.3f} CPU {r['cpu']:.3f}",
                              flush=True)
        finally:
            for name in ("in", "in.json", "out", "cat"):
                p = os.path.join(d, name)
                if os.path.exists(p):
                    os.unlink(p)
            os.rmdir(d)
    mb = SIZE / 1e6
    lines = [f"#### ajio write vs cat, {SIZE >> 20} MiB ({REPS} paired rounds, median)", "",
             machine, "",
             "| filesystem | input | validation | sync | ajio s | cat s | ajio MB/s | cat MB/s "
             "| time ratio | ratio range | CPU ratio | validator alone s | (ajio - cat) / validator |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['fs']} | {r['input']} | {'--json' if r['json'] else 'none'} "
            f"| {'durable' if r['durable'] else '--no-sync'} | {r['a']:.3f} | {r['b']:.3f} "
            f"| {mb / r['a']:.0f} | {mb / r['b']:.0f} | {r['ratio']:.3f} "
            f"| {r['lo']:.3f} .. {r['hi']:.3f} | {r['cpu']:.3f} "
            f"| {r['c']:.3f} | {r['share']:.2f} |" if r["json"] else
            f"| {r['fs']} | {r['input']} | none | {'durable' if r['durable'] else '--no-sync'} "
            f"| {r['a']:.3f} | {r['b']:.3f} | {mb / r['a']:.0f} | {mb / r['b']:.0f} "
            f"| {r['ratio']:.3f} | {r['lo']:.3f} .. {r['hi']:.3f} | {r['cpu']:.3f} | | |")
    lines += ["", "Verdicts printed by the run:", "", "```"]
    for r in rows:
        if r["json"]:
            continue
        ok = "met" if r["ratio"] <= TARGET else "MISSED"
        lines.append(f"target {r['fs'].split()[0]} {r['input']} "
                     f"{'durable' if r['durable'] else 'no-sync'} <= {TARGET}x cat: "
                     f"{ok} ({r['ratio']:.3f})")
    lines.append("```")
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    res = os.path.join(BUILD, "bench-bigwrite")
    os.makedirs(res, exist_ok=True)
    with open(os.path.join(res, "results.md"), "w") as f:
        f.write(text)
        f.write("\nCommands (A: ajio, B: cat, C: the validator alone):\n\n")
        for r in rows:
            for name, c in zip("ABC", r["cmds"]):
                f.write(f"    {name}: {c}\n")


if __name__ == "__main__":
    main()

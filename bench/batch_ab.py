#!/usr/bin/python3
"""Two builds of `ajio batch` side by side: wall clock and CPU time of one batch each.

    python3 bench/batch_ab.py A_AJIO B_AJIO DIR [PAIRS [FILES]]

Each pair runs both builds once (A B, then B A in the next pair, and so on), each replacing the
same FILES files of 1 KiB in DIR (default 500; the first pair creates them, so it is not
counted). A run is timed from outside: the wall clock around it and the CPU time its process
used (getrusage of the children). Medians and ranges over PAIRS pairs (default 8) are printed,
and the median of the pairs' own ratios B / A. DIR should be on the disk under test, never
tmpfs when syncs are the question. The builds are any two `ajio` binaries, e.g. `build/ajio` of
two checkouts (git worktree add /tmp/old REV && make -C /tmp/old build/ajio).
"""
import os
import resource
import statistics
import subprocess
import sys
import time


def run(ajio, manifest, d):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    with open(manifest, "rb") as m:
        subprocess.run([ajio, "batch", d], stdin=m, check=True)
    t1 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t1 - t0, r1.ru_stime - r0.ru_stime, r1.ru_utime - r0.ru_utime


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    a, b, d = sys.argv[1:4]
    pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    files = int(sys.argv[5]) if len(sys.argv) > 5 else 500
    src = os.path.join(d, "src")
    out = os.path.join(d, "out")
    os.makedirs(src, exist_ok=True)
    os.makedirs(out, exist_ok=True)
    manifest = os.path.join(d, "manifest")
    with open(manifest, "w") as m:
        for i in range(files):
            p = os.path.join(src, "v%d" % i)
            with open(p, "w") as f:
                f.write('"%s"\n' % ("x" * 1020))
            m.write("f%d.json\t%s\n" % (i, p))
    run(a, manifest, out)  # creates the targets: every counted run replaces them
    res = {"A": [], "B": []}
    for i in range(pairs):
        order = ("A", "B") if i % 2 == 0 else ("B", "A")
        for v in order:
            res[v].append(run(a if v == "A" else b, manifest, out))
    print("%d pairs of one `ajio batch` of %d files of 1 KiB into %s" % (pairs, files, out))
    print("| build | wall ms | system CPU ms | user CPU ms |")
    print("|---|---|---|---|")
    for v, path in (("A", a), ("B", b)):
        cols = []
        for k in range(3):
            xs = [r[k] * 1e3 for r in res[v]]
            cols.append("%.1f (%.1f .. %.1f)" % (statistics.median(xs), min(xs), max(xs)))
        print("| %s %s | %s |" % (v, path, " | ".join(cols)))
    for k, name in ((0, "wall"), (1, "system CPU")):
        ratios = [res["B"][i][k] / res["A"][i][k] for i in range(pairs) if res["A"][i][k] > 0]
        print("B / A %s, median of the pairs: %.3f" % (name, statistics.median(ratios)))


if __name__ == "__main__":
    main()

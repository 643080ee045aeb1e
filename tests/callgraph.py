#!/usr/bin/python3
"""The files of src/ call one way: each only the layers before its own (docs/design.md).

The file-level graph comes from nm of the objects make check already built ($AJIO_BUILD/obj):
file A uses file B when A.o has B's defined symbol undefined. A cycle fails, printed as a path
("cycle: commit -> json_gen -> file -> commit"); so does any edge to a later layer, printed
with the symbols that make it; so does an object of no layer (a new file must be placed).
Calls inside one layer are allowed as long as they make no cycle.

The negative control runs first, every time: the same checker on the real listing with a back
call planted (error.o using ajio__publish of commit.o) and on a synthetic listing with a cycle
in one layer must fail, with those edges named. A checker that cannot fail proves nothing.
"""
import glob
import os
import subprocess
import sys

LAYERS = [
    ["error", "cpu", "tempname", "json_check", "json_number", "json_gen_scan", "content", "fs"],
    ["resolve", "meta", "lock", "group"],
    ["tempfile"],
    ["commit"],
    ["handle"],
    ["file", "dir", "batch", "txn", "append", "json_gen", "snapshot", "copy"],
    ["update", "read", "sweep", "json_gen_str"],
    ["compat"],  # the deprecated 0.2 entry points, thin calls of the 0.3 ones
]
LAYER_OF = {name: i for i, files in enumerate(LAYERS) for name in files}


def parse_nm(lines):
    """nm -A lines -> (defined: symbol -> file, used: file -> set of symbols)."""
    defined, used = {}, {}
    for line in lines:
        head, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) < 2:
            continue
        name = os.path.splitext(os.path.basename(head))[0]
        kind, sym = parts[-2], parts[-1]
        used.setdefault(name, set())
        if kind == "U":
            used[name].add(sym)
        elif kind.isupper():
            defined[sym] = name
    return defined, used


def graph(defined, used):
    """file -> {file it uses: sorted symbols}."""
    g = {}
    for name, syms in used.items():
        edges = g.setdefault(name, {})
        for sym in syms:
            to = defined.get(sym)
            if to is not None and to != name:
                edges.setdefault(to, []).append(sym)
    for edges in g.values():
        for to in edges:
            edges[to].sort()
    return g


def find_cycles(g):
    """One cycle per strongly connected part with more than one file, as a list of files."""
    index, low, stack, on, parts, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                parts.append(set(part))

    for v in sorted(g):
        if v not in index:
            visit(v)
    cycles = []
    for part in parts:
        # A shortest way back to the smallest file of the part, inside the part.
        start = min(part)
        prev, todo, found = {start: None}, [start], None
        while todo and found is None:
            nxt = []
            for v in todo:
                for w in sorted(g.get(v, {})):
                    if w not in part:
                        continue
                    if w == start:
                        found = v
                        break
                    if w not in prev:
                        prev[w] = v
                        nxt.append(w)
                if found is not None:
                    break
            todo = nxt
        path = []
        v = found
        while v is not None:
            path.append(v)
            v = prev[v]
        path.reverse()
        cycles.append(path + [start])
    return cycles


def check(lines):
    """@return the failures, one line each; none when the graph keeps the layers."""
    defined, used = parse_nm(lines)
    g = graph(defined, used)
    fails = []
    for path in find_cycles(g):
        fails.append("cycle: " + " -> ".join(path))
    for name in sorted(g):
        if name not in LAYER_OF:
            fails.append("layer: %s.o is in no layer (tests/callgraph.py LAYERS)" % name)
            continue
        for to, syms in sorted(g[name].items()):
            if to in LAYER_OF and LAYER_OF[to] > LAYER_OF[name]:
                fails.append(
                    "layer: %s (layer %d) -> %s (layer %d), a later layer: %s"
                    % (name, LAYER_OF[name], to, LAYER_OF[to], " ".join(syms))
                )
    return fails, g


def negative_control(real):
    """The checker must fail on a planted back call and on a planted cycle."""
    ok = True
    planted = list(real) + ["build/obj/error.o:                 U ajio__publish"]
    fails, _ = check(planted)
    if not any(f.startswith("layer: error (layer 0) -> commit") and "ajio__publish" in f
               for f in fails) or not any(f.startswith("cycle:") and "error" in f for f in fails):
        print("callgraph: negative control: a planted error -> commit call was not caught:")
        print("\n".join("  " + f for f in fails) or "  (no failure)")
        ok = False
    synthetic = [
        "x/resolve.o:0000000000000000 T ajio__resolve",
        "x/resolve.o:                 U ajio__lock_take",
        "x/lock.o:0000000000000000 T ajio__lock_take",
        "x/lock.o:                 U ajio__resolve",
    ]
    fails, _ = check(synthetic)
    if fails != ["cycle: lock -> resolve -> lock"]:
        print("callgraph: negative control: a planted lock <-> resolve cycle gave %r" % fails)
        ok = False
    return ok


def main():
    build = os.environ.get("AJIO_BUILD", "build")
    objs = sorted(glob.glob(os.path.join(build, "obj", "*.o")))
    if not objs:
        print("callgraph: no objects in %s/obj (make all first)" % build)
        return 1
    out = subprocess.run(["nm", "-A"] + objs, check=True, capture_output=True, text=True).stdout
    real = out.splitlines()
    if not negative_control(real):
        return 1
    fails, g = check(real)
    if fails:
        print("\n".join("callgraph: " + f for f in fails))
        if "-v" in sys.argv:
            for name in sorted(g):
                print("  %s -> %s" % (name, " ".join(sorted(g[name]))))
        return 1
    edges = sum(len(e) for e in g.values())
    print("callgraph: %d files, %d edges, no cycle, every call to an earlier layer" % (len(g), edges))
    if "-v" in sys.argv:
        for name in sorted(g, key=lambda n: (LAYER_OF.get(n, 99), n)):
            print("  %s -> %s" % (name, " ".join(sorted(g[name]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

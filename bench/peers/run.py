"""make bench-peers: libajio against the raw syscall floor and the atomic-write helpers people
already use, measured side by side in one run, plus the syscalls each one makes and what each
one does with a file's mode, a symlink, a SIGKILL and a concurrent reader.

Runs from the repo root with Debian's /usr/bin/python3 (python3-atomicwrites is a Debian
package). The implementations run in three long-lived worker processes (bench/peers/peers_c.c,
peers_py.py, peers_node.js) that time their own writes; this script only sends commands, so
process start and the pipes stay outside every clock.

Timing: for each filesystem (durable on the working disk, atomic-only on tmpfs) and payload size,
every implementation writes the same bytes to its own existing target in the same directory. A
round gives each implementation one batch of writes, in an order shuffled every round (a fixed
order lets whoever follows a slow sync pay for it); each implementation's batch size is set
before the rounds so that its batch takes about BATCH_MS (on the disk, every row takes the
floor's batch size). The durable writes get three times as many rounds: a sync's time is the
disk's, which other users of a shared machine move by tens of milliseconds from one moment to
the next, so the pairs are kept close in time and many. One warm-up round is dropped. The
per-write time of an implementation is the median over the rounds of its batch mean; its ratio
is the median over the rounds of its batch mean divided by the floor's in the same round (the
claim: a paired ratio survives a machine that speeds up and slows down, absolute times do not).

Environment:
  AJIO_BUILD           build directory (default build): holds bench-peers/peers_c and
                       bench-peers/node_modules
  BENCH_QUICK=1        a smoke run of about a minute; results go to build/bench-peers/quick
  BENCH_PEERS_ROUNDS   rounds per cell on tmpfs, a third of those on the disk (default 25,
                       quick 5)
  BENCH_PEERS_BATCH_MS target time of one batch (default 20, quick 8)
  BENCH_PEERS_DIR      a directory on the filesystem for the durable runs (default
                       $AJIO_BUILD/bench-peers)
  BENCH_PEERS_OUT      where peers.md and the SVGs go (default docs, quick: the build dir)
"""

import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.getcwd()
BUILD = os.environ.get("AJIO_BUILD", "build")
WORK = os.path.join(BUILD, "bench-peers")
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
ROUNDS = int(os.environ.get("BENCH_PEERS_ROUNDS", "5" if QUICK else "25"))
BATCH_MS = float(os.environ.get("BENCH_PEERS_BATCH_MS", "8" if QUICK else "20"))
OUT = os.environ.get("BENCH_PEERS_OUT", os.path.join(WORK, "quick") if QUICK else "docs")
DISK_BASE = os.environ.get("BENCH_PEERS_DIR", WORK)
SIZES = [100, 4096, 65536, 1048576]
KILLS = 4 if QUICK else 12
TORN_MS = 500 if QUICK else 2000
KILL_SIZE = 16 << 20
TORN_SIZE = 65536
STRACE_N = 10 if QUICK else 20
SEED = 11

CBIN = os.path.join(WORK, "peers_c")
PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))

# key, label, worker, variant on the disk (durable), variant on tmpfs (atomic-only), note.
# None: not run there. The note says what a row's tmpfs variant still syncs.
IMPLS = [
    ("floor", "syscall floor (C)", "c", "floor", "floor-nosync", ""),
    ("ajio", "libajio ajio_write_bytes", "c", "ajio", "ajio-nosync", ""),
    ("glib-cd", "GLib CONSISTENT|DURABLE", "c", "glib-cd", None, ""),
    ("glib-c", "GLib CONSISTENT", "c", "glib-c", "glib-c", "fsyncs the file on tmpfs too"),
    ("atomicwrites", "python-atomicwrites", "py", "atomicwrites", "atomicwrites",
     "no option to skip its syncs"),
    ("wfa", "npm write-file-atomic", "node", "wfa", "wfa-nofsync", ""),
    ("wfa-sync", "npm write-file-atomic .sync", "node", "wfa-sync", "wfa-sync-nofsync", ""),
    ("orig", "atomic-json-io original (Python)", "py", "original", "original",
     "the algorithm always fsyncs"),
    ("ours", "atomic_json_io (our Python)", "py", "ours", "ours-nosync", ""),
]
LABEL = {k: label for k, label, *_ in IMPLS}


def md(text):
    """text for a Markdown table cell: a bare '|' would end the cell."""
    return text.replace("|", "\\|")


class WorkerError(Exception):
    pass


class Worker:
    """One implementation process speaking the line protocol of peers_c.c."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1, env=env)

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise WorkerError("%s exited (status %s)" % (self.argv[0], self.proc.wait()))
        reply = reply.strip()
        if not reply.startswith("ok"):
            raise WorkerError(reply[4:] if reply.startswith("err ") else reply)
        return reply[3:]

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def node_env():
    env = dict(os.environ)
    env["NODE_PATH"] = os.path.abspath(os.path.join(WORK, "node_modules"))
    return env


def py_env():
    env = dict(os.environ)
    extra = os.environ.get("AJIO_PY_PATH", "")
    if extra:
        env["PYTHONPATH"] = os.pathsep.join(
            [os.path.abspath(p) for p in extra.split(os.pathsep)]
            + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def worker_argv(kind):
    if kind == "c":
        return [CBIN, "worker"], None
    if kind == "py":
        return [PYTHON, os.path.join(HERE, "peers_py.py")], py_env()
    return ["node", os.path.join(HERE, "peers_node.js")], node_env()


def start_worker(kind, prefix=()):
    argv, env = worker_argv(kind)
    return Worker(list(prefix) + argv, env)


def payload_bytes(size, fill="a"):
    """A JSON document of exactly size bytes (ASCII, so text and bytes agree), newline last."""
    head, tail = '{"peers":"', '"}\n'
    return (head + fill * (size - len(head) - len(tail)) + tail).encode()


def put(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def size_name(size):
    if size >= 1 << 20:
        return "%d MiB" % (size >> 20)
    if size >= 1024:
        return "%d KiB" % (size >> 10)
    return "%d B" % size


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- timing ---------------------------------------------------------------------------------

def measure_cell(workers, fs, directory, size, rng, failed):
    """Interleaved rounds for one filesystem and size; returns {key: [per-write seconds]},
    {key: [ratio to the floor]} and {key: writes per batch}."""
    pfile = os.path.join(WORK, "payload-%d.json" % size)
    put(pfile, payload_bytes(size))
    rows = []
    for key, _label, kind, disk_v, tmpfs_v, _note in IMPLS:
        variant = disk_v if fs == "disk" else tmpfs_v
        if variant is None or key in failed or kind not in workers:
            continue
        target = os.path.join(directory, "peer-%s.json" % key)
        put(target, payload_bytes(size, "b"))
        rows.append((key, kind, variant, target))
    for kind, w in workers.items():
        w.cmd("load " + pfile)

    def batch(key, kind, variant, target, n):
        try:
            return int(workers[kind].cmd("write %s %s %d" % (variant, target, n))) / 1e9
        except WorkerError as e:
            failed[key] = str(e)
            log("bench-peers: %s dropped: %s" % (key, e))
            return None

    assert rows[0][0] == "floor"
    # Each implementation gets its own batch size, about BATCH_MS of its writes, so that the
    # slowest ones do not stretch every round; ratios compare per-write times of one round.
    # A durable write's time is mostly the disk's, which the other users of a shared machine
    # move by tens of milliseconds from one moment to the next: a few calibration writes say
    # little about it, so on the disk every row takes the floor's batch size (the syncs cost
    # all of them alike), and there are more rounds, each pair close in time.
    rounds = 3 * ROUNDS if fs == "disk" else ROUNDS
    n = {}
    for r in rows:
        t = [batch(*r, 1) for _ in range(6)][1:]
        if None in t:
            continue
        n[r[0]] = max(1, min(5000, round(BATCH_MS / 1000 / statistics.median(t))))
    if fs == "disk" and "floor" in n:
        n = {k: n["floor"] for k in n}
    if "floor" not in n:
        raise WorkerError("the floor failed: %s" % failed.get("floor"))
    times = {r[0]: [] for r in rows}
    ratios = {r[0]: [] for r in rows}
    for rnd in range(rounds + 1):
        order = list(rows)
        rng.shuffle(order)
        got = {}
        for r in order:
            if r[0] in failed:
                continue
            s = batch(*r, n[r[0]])
            if s is not None:
                got[r[0]] = s / n[r[0]]
        if rnd == 0 or "floor" not in got:
            continue  # the warm-up round: caches, JIT, first temp names
        for key, t in got.items():
            times[key].append(t)
            ratios[key].append(t / got["floor"])
    return {k: v for k, v in times.items() if v}, {k: v for k, v in ratios.items() if v}, n


def quartiles(v):
    if len(v) < 4:
        return min(v), max(v)
    q = statistics.quantiles(v, n=4)
    return q[0], q[2]


# ---- syscalls -------------------------------------------------------------------------------

def strace_counts(kind, variant, target, pfile, n, trace):
    w = start_worker(kind, ["strace", "-f", "-c", "-U", "name,calls", "-o", trace])
    try:
        w.cmd("load " + pfile)
        w.cmd("write %s %s %d" % (variant, target, n))
    finally:
        w.close()
    counts = {}
    with open(trace) as f:
        for line in f.read().splitlines()[2:]:
            parts = line.split()
            if len(parts) == 2 and not parts[0].startswith("-") and parts[0] != "total":
                counts[parts[0]] = int(parts[1])
    return counts


SYNC_RE = re.compile(r"\b(fsync|fdatasync|syncfs|sync_file_range|msync)\((\d+)<([^>]*)>")


def strace_syncs(kind, variant, target, pfile, n, trace):
    """Syncs per write, split by what they sync: {"file fdatasync": 1.0, "dir fsync": 1.0}."""
    w = start_worker(kind, ["strace", "-f", "-y", "-o", trace, "-e",
                            "trace=fsync,fdatasync,syncfs,sync_file_range,msync"])
    try:
        w.cmd("load " + pfile)
        w.cmd("write %s %s %d" % (variant, target, n))
    finally:
        w.close()
    directory = os.path.realpath(os.path.dirname(target))
    found = {}
    with open(trace) as f:
        for m in SYNC_RE.finditer(f.read()):
            path = os.path.realpath(m.group(3))
            if path == directory:
                what = "dir"
            elif os.path.isdir(path):
                what = "parent dir"
            else:
                what = "file"
            k = "%s %s" % (what, m.group(1))
            found[k] = found.get(k, 0) + 1
    return {k: v / n for k, v in found.items()}


def measure_syscalls(directory, failed):
    pfile = os.path.join(WORK, "payload-4096.json")
    put(pfile, payload_bytes(4096))
    trace = os.path.join(WORK, "strace.out")
    result = {}
    for key, _label, kind, disk_v, _t, _n in IMPLS:
        if key in failed:
            continue
        target = os.path.join(directory, "sys-%s.json" % key)
        put(target, payload_bytes(4096, "b"))
        try:
            c1 = strace_counts(kind, disk_v, target, pfile, STRACE_N, trace)
            c2 = strace_counts(kind, disk_v, target, pfile, 2 * STRACE_N, trace)
            syncs = strace_syncs(kind, disk_v, target, pfile, STRACE_N, trace)
        except WorkerError as e:
            log("bench-peers: strace of %s failed: %s" % (key, e))
            continue
        per = {}
        for name in set(c1) | set(c2):
            d = (c2.get(name, 0) - c1.get(name, 0)) / STRACE_N
            if d > 0.04:
                per[name] = d
        result[key] = (per, syncs)
    for p in (trace,):
        if os.path.exists(p):
            os.unlink(p)
    return result


# ---- behaviour probes -----------------------------------------------------------------------

def probe_mode(w, variant, d, key, data):
    target = os.path.join(d, "mode-%s.json" % key)
    put(target, payload_bytes(len(data), "b"), 0o640)
    try:
        w.cmd("write %s %s 1" % (variant, target))
    except WorkerError as e:
        return "error: %s" % e
    mode = os.stat(target).st_mode & 0o7777
    return "kept (0640)" if mode == 0o640 else "**lost: %04o**" % mode


def probe_symlink(w, variant, d, key, data):
    real = os.path.join(d, "real-%s.json" % key)
    link = os.path.join(d, "link-%s.json" % key)
    put(real, payload_bytes(len(data), "b"))
    os.symlink(os.path.basename(real), link)
    try:
        w.cmd("write %s %s 1" % (variant, link))
    except WorkerError as e:
        return "refused (%s)" % e
    if not os.path.islink(link):
        return "**link replaced by a file**"
    with open(real, "rb") as f:
        return "kept, written through" if f.read() == data else "kept, **target not written**"


def probe_kill(kind, variant, d, key, rng):
    """Kills a writer of a 16 MiB file KILLS times at random moments; returns (temps left,
    kills, target intact count)."""
    data = payload_bytes(KILL_SIZE)
    pfile = os.path.join(WORK, "payload-kill.json")
    if not os.path.exists(pfile):
        put(pfile, data)
    kd = os.path.join(d, "kill-%s" % key)
    os.mkdir(kd)
    target = os.path.join(kd, "state.json")
    put(target, data)
    left = intact = 0
    for _ in range(KILLS):
        w = start_worker(kind)
        try:
            w.cmd("load " + pfile)
            w.cmd("loop %s %s" % (variant, target))
            time.sleep(rng.uniform(0.02, 0.3))
        finally:
            w.proc.send_signal(signal.SIGKILL)
            w.proc.wait()
        others = [n for n in os.listdir(kd) if n != "state.json"]
        left += len(others)
        for n in others:
            os.unlink(os.path.join(kd, n))
        try:
            with open(target, "rb") as f:
                intact += f.read() == data
        except OSError:
            pass
        put(target, data)
    return left, KILLS, intact


def probe_torn(kind, variant, d, key):
    """A C reader loops over the target while the writer alternates two payloads of the same
    size for TORN_MS; returns (torn, reads, missing, writes)."""
    fa = os.path.join(WORK, "torn-a.json")
    fb = os.path.join(WORK, "torn-b.json")
    put(fa, payload_bytes(TORN_SIZE, "a"))
    put(fb, payload_bytes(TORN_SIZE, "b"))
    target = os.path.join(d, "torn-%s.json" % key)
    put(target, payload_bytes(TORN_SIZE, "a"))
    w = start_worker(kind)
    reader = subprocess.Popen([CBIN, "reader", target, fa, fb], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        w.cmd("load %s %s" % (fa, fb))
        writes = int(w.cmd("timed %s %s %d" % (variant, target, TORN_MS)))
    finally:
        w.close()
        out, _ = reader.communicate("stop\n")
    parts = out.split()
    if reader.returncode != 0 or len(parts) != 4 or parts[0] != "ok":
        raise WorkerError("reader failed: %r" % out)
    reads, torn, missing = (int(x) for x in parts[1:])
    return torn, reads, missing, writes


def run_probes(disk_dir, shm_dir, syscalls, failed, rng):
    rows = []
    probe_impls = [i for i in IMPLS if i[0] not in failed]
    probe_impls.append(("naive", "control: naive O_TRUNC rewrite", "c", "naive", "naive", ""))
    for key, label, kind, disk_v, tmpfs_v, _note in probe_impls:
        log("bench-peers: probes of %s" % key)
        d = os.path.join(disk_dir, "probe")
        os.makedirs(d, exist_ok=True)
        data = payload_bytes(4096)
        pfile = os.path.join(WORK, "payload-4096.json")
        put(pfile, data)
        w = start_worker(kind)
        try:
            w.cmd("load " + pfile)
            mode = probe_mode(w, disk_v, d, key, data)
            link = probe_symlink(w, disk_v, d, key, data)
        finally:
            w.close()
        if key in syscalls:
            dirsync = "yes" if any(k.startswith("dir ") for k in syscalls[key][1]) else "**no**"
        else:
            dirsync = "no" if key == "naive" else "?"
        left, kills, intact = probe_kill(kind, disk_v, d, key, rng)
        torn, reads, missing, writes = probe_torn(kind, tmpfs_v or disk_v, shm_dir, key)
        rows.append((key, label, mode, link, dirsync, (left, kills, intact),
                     (torn, reads, missing, writes)))
    return rows


# ---- output ---------------------------------------------------------------------------------

def versions():
    v = {}
    v["glib"] = sh("pkg-config --modversion glib-2.0")
    v["atomicwrites"] = sh("dpkg-query -W -f='${Version}' python3-atomicwrites")
    v["python"] = sh(PYTHON + " -c 'import platform; print(platform.python_version())'")
    v["node"] = sh("node --version")
    wfa = os.path.join(WORK, "node_modules", "write-file-atomic", "package.json")
    v["wfa"] = sh("sed -n 's/^ *\"version\": \"\\(.*\\)\".*/\\1/p' %s | head -1" % wfa)
    v["git"] = sh("git rev-parse --short HEAD") or "unknown"
    v["ajio"] = sh("sed -n 's/^#define AJIO_VERSION_STRING \"\\(.*\\)\"/\\1/p' include/ajio.h")
    return v


def machine(disk_dir, shm_dir):
    cpu = sh("lscpu | sed -n 's/^Model name: *//p' | head -1")
    mem = sh("free -g | awk '/^Mem:/ { print $2 }'")
    osname = sh(". /etc/os-release && echo \"$PRETTY_NAME\"")
    cc = sh("${CC:-cc} --version | head -1")
    fs = sh("findmnt -n -o FSTYPE,SOURCE -T %s" % disk_dir).split()
    return ("%s, %s cores, %s GiB RAM, Linux %s, %s, %s. Disk: %s on %s (`%s`); tmpfs: `%s`."
            % (cpu, os.cpu_count(), mem, os.uname().release, osname, cc,
               fs[0] if fs else "?", fs[1] if len(fs) > 1 else "?", disk_dir, shm_dir))


def fmt_ratio(v):
    return "%.2fx" % statistics.median(v)


def write_plot(fs, cells, present, title):
    dat = os.path.join(WORK, "peers-%s.dat" % fs)
    keys = [k for k, *_ in IMPLS if k in present]
    with open(dat, "w") as f:
        f.write("size " + " ".join('"%s"' % LABEL[k] for k in keys) + "\n")
        for size in SIZES:
            times, _ratios, _n = cells[(fs, size)]
            f.write("%d " % size + " ".join(
                "%.3f" % (statistics.median(times[k]) * 1e6) if k in times else "?"
                for k in keys) + "\n")
    svg = os.path.join(OUT, "peers-%s.svg" % fs)
    order = [k for k, *_ in IMPLS]
    lts = " ".join(str(order.index(k) + 1) for k in keys)
    r = subprocess.run(["gnuplot", "-e",
                        "datafile='%s'; outfile='%s'; plottitle='%s'; ncols=%d; lts='%s'"
                        % (dat, svg, title, len(keys) + 1, lts), os.path.join(HERE, "plot.gp")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("gnuplot failed: " + r.stderr)
    return svg


def summary_tables(cells, syscalls, probes, failed):
    out = []
    out.append("| implementation | " + " | ".join(
        "disk %s" % size_name(s) for s in SIZES) + " | " + " | ".join(
        "tmpfs %s" % size_name(s) for s in SIZES) + " | syscalls/write | syncs per write |")
    out.append("|---|" + "---:|" * (2 * len(SIZES)) + "---:|---|")
    for key, label, _kind, disk_v, tmpfs_v, note in IMPLS:
        row = [md(label) + (" *" if note and tmpfs_v else "")]
        if key in failed and not any(key in cells[c][0] for c in cells):
            why = "not built" if "not built" in failed[key] else "failed"
            out.append("| %s | %s |" % (md(label), " | ".join([why] * (2 * len(SIZES) + 2))))
            continue
        for fs in ("disk", "tmpfs"):
            for s in SIZES:
                times, ratios, _n = cells[(fs, s)]
                row.append(fmt_ratio(ratios[key]) if key in ratios else "-")
        if key in syscalls:
            per, syncs = syscalls[key]
            row.append("%.1f" % sum(per.values()))
            row.append(", ".join("%s %g" % (k, round(v, 2)) for k, v in sorted(syncs.items()))
                       or "none")
        else:
            row += ["-", "-"]
        out.append("| " + " | ".join(row) + " |")
    notes = ["%s: %s" % (md(label), note) for _k, label, _w, _d, t, note in IMPLS if note and t]
    if notes:
        out.append("")
        out.append("\\* on tmpfs, still synced: " + "; ".join(notes) + ".")
    out.append("")
    out.append("| implementation | mode of a 0640 file | symlink at the target | directory fsync"
               " | temps left after SIGKILL | torn reads (64 KiB, tmpfs) |")
    out.append("|---|---|---|---|---|---|")
    for key, label, mode, link, dirsync, kill, torn in probes:
        left, kills, intact = kill
        t, reads, missing, _writes = torn
        killtxt = "%d of %d kills" % (left, kills)
        if intact != kills:
            killtxt += ", **target damaged %d times**" % (kills - intact)
        torntxt = ("%s of %d" % ("**%d**" % t if t else "0", reads)
                   + (", %d opens failed" % missing if missing else ""))
        out.append("| %s | %s | %s | %s | %s | %s |" % (md(label), mode, link, dirsync, killtxt,
                                                      torntxt))
    return "\n".join(out)


def full_tables(cells):
    out = ["| filesystem | size | implementation | rounds x writes | median us/write |"
           " ratio to floor | ratio p25 .. p75 |", "|---|---|---|---|---:|---:|---|"]
    for fs in ("disk", "tmpfs"):
        for s in SIZES:
            times, ratios, n = cells[(fs, s)]
            for key, *_ in IMPLS:
                if key not in times:
                    continue
                lo, hi = quartiles(ratios[key])
                out.append("| %s | %s | %s | %d x %d | %.1f | %.3f | %.3f .. %.3f |" % (
                    "disk, durable" if fs == "disk" else "tmpfs, atomic-only", size_name(s),
                    md(LABEL[key]), len(times[key]), n[key], statistics.median(times[key]) * 1e6,
                    statistics.median(ratios[key]), lo, hi))
    return "\n".join(out)


def syscall_table(syscalls):
    out = ["| implementation | syscalls/write | syncs per write | breakdown per write |",
           "|---|---:|---|---|"]
    for key, *_ in IMPLS:
        if key not in syscalls:
            continue
        per, syncs = syscalls[key]
        brk = ", ".join("%s %g" % (k, round(v, 2))
                        for k, v in sorted(per.items(), key=lambda kv: (-kv[1], kv[0])))
        out.append("| %s | %.1f | %s | %s |" % (
            md(LABEL[key]), sum(per.values()),
            ", ".join("%s %g" % (k, round(v, 2)) for k, v in sorted(syncs.items())) or "none",
            brk))
    return "\n".join(out)


METHOD = """## Method

What each row runs (the same bytes for all: a JSON document of the payload's size, ASCII):

| row | durable, on the disk | atomic-only, on tmpfs |
|---|---|---|
| syscall floor (C) | `open(temp, O_CREAT\\|O_EXCL)` in the target's directory, `write`, `fdatasync`, `close`, `rename`, `open`/`fsync`/`close` of the directory | the same without `fdatasync` and the directory `fsync` |
| libajio | `ajio_write_bytes(path, buf, len, NULL)` | the same with `AJIO_NO_SYNC` |
| GLib | `g_file_set_contents_full(path, buf, len, CONSISTENT\\|DURABLE, 0666)`, and with `CONSISTENT` alone | `CONSISTENT` (without it GLib writes the file in place) |
| python-atomicwrites | `with atomic_write(path, mode="wb", overwrite=True) as f: f.write(buf)` | the same (it has no option to skip its syncs) |
| npm write-file-atomic | `await writeFileAtomic(path, buf)` and `writeFileAtomic.sync(path, buf)` | the same with `{ fsync: false }` |
| atomic-json-io original | its published algorithm re-expressed (no code of theirs): `NamedTemporaryFile("w", dir=the target's directory, delete=False)`, `write(text)`, `flush()`, `os.fsync()`, `close()`, `os.replace()`; no directory fsync. Its `json.dumps` is left out: it gets the text already encoded | the same (the algorithm always fsyncs) |
| atomic_json_io (ours) | `write_text_atomic(path, text)` (libajio underneath) | `durable=False` |

The C rows run in one worker process (bench/peers/peers_c.c, linked with build/libajio.a and
GLib), the Python rows in one `/usr/bin/python3` (peers_py.py), the Node.js rows in one `node`
(peers_node.js); each worker times its own writes with a monotonic clock, so process start, the
interpreter's start and the command pipe are outside every figure. Each row writes its own
existing target (0644) in the same directory: the disk directory is kept from run to run (a
durable libajio write into a directory born less than a minute ago also syncs its parent; the
run waits until the directory is a minute old), the tmpfs one is under /dev/shm.

Probes (libajio and every peer in its durable configuration on the disk, except the torn-read
probe):

- **mode of a 0640 file**: the target is created 0640 (umask 022), rewritten once, and its mode
  read back.
- **symlink at the target**: `link -> real`; one write to `link`; "written through" when `link`
  is still a symlink and `real` holds the new content, "link replaced" when `link` became a
  regular file.
- **directory fsync**: from `strace -f -y` of the syscall count run: a sync whose fd is the
  target's directory.
- **temps left after SIGKILL**: %(kills)d times a fresh worker rewrites a %(kill_mib)d MiB file in
  a loop and is killed (`SIGKILL`) 20-300 ms after it starts; files other than the target are
  counted (and removed) after each kill, and the target is checked to hold the complete payload.
- **torn reads**: on tmpfs, the atomic-only configuration rewrites a %(torn_kib)d KiB file for
  %(torn_ms)d ms alternating two contents of the same size, while a C reader (peers_c reader)
  opens and reads the file in a loop; a read that is neither complete content is torn, a failed
  open is counted apart. The control row (a naive `open(O_TRUNC)`, `write`, `close`) must show
  torn reads, or the run fails: that is what proves the reader can see one.

"""


def main():
    if not os.access(CBIN, os.X_OK):
        sys.exit("bench-peers: %s missing (make bench-peers builds it)" % CBIN)
    for tool in ("strace", "gnuplot", "node"):
        if shutil.which(tool) is None:
            sys.exit("bench-peers: %s is needed (make bench-peers-deps installs it)" % tool)
    os.makedirs(WORK, exist_ok=True)
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(DISK_BASE, exist_ok=True)
    os.umask(0o022)
    # Kept from run to run, emptied after each: a durable ajio write into a directory born less
    # than a minute ago also syncs its parent (another writer may have just created it), which
    # a fresh directory per run would charge to ajio alone.
    disk_dir = os.path.join(DISK_BASE, "disk")
    os.makedirs(disk_dir, exist_ok=True)
    shm_base = "/dev/shm" if sh("stat -f -c %T /dev/shm") == "tmpfs" else None
    if shm_base is None:
        sys.exit("bench-peers: /dev/shm is not a tmpfs")
    shm_dir = tempfile.mkdtemp(prefix="ajio-bench-peers.", dir=shm_base)
    rng = random.Random(SEED)
    failed = {}
    start = time.time()
    load = open("/proc/loadavg").read().split()[:3]
    date = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())
    workers = {}
    try:
        for kind in ("c", "py", "node"):
            workers[kind] = start_worker(kind)
        cells = {}
        for fs, d in (("tmpfs", shm_dir), ("disk", disk_dir)):
            born = int(sh("stat -c %%W %s" % d) or 0)
            if fs == "disk" and born > 0 and time.time() - born < 62:
                wait = 62 - (time.time() - born)
                log("bench-peers: %s is new; waiting %.0f s until it is a minute old" % (d, wait))
                time.sleep(wait)
            for s in SIZES:
                log("bench-peers: %s %s" % (fs, size_name(s)))
                cells[(fs, s)] = measure_cell(workers, fs, d, s, rng, failed)
        for w in workers.values():
            w.close()
        workers = {}
        log("bench-peers: syscalls (strace)")
        syscalls = measure_syscalls(disk_dir, failed)
        probes = run_probes(disk_dir, shm_dir, syscalls, failed, rng)
        present = {"disk": set(), "tmpfs": set()}
        for (fs, _s), (times, _r, _n) in cells.items():
            present[fs] |= set(times)
        write_plot("disk", cells, present["disk"],
                   "durable replace, working disk (%s)" % sh(
                       "findmnt -n -o FSTYPE -T %s" % disk_dir))
        write_plot("tmpfs", cells, present["tmpfs"], "atomic-only replace, tmpfs")
        where = machine(disk_dir, shm_dir)
    finally:
        # A worker still writing would recreate what the cleanup removes.
        for w in workers.values():
            w.close()
        for name in os.listdir(disk_dir):
            p = os.path.join(disk_dir, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)
        shutil.rmtree(shm_dir, ignore_errors=True)
    v = versions()
    elapsed = time.time() - start
    summary = summary_tables(cells, syscalls, probes, failed)
    head = [
        "Command: `make bench-peers%s%s`, as root from the repo root, %d rounds per cell on"
        " the disk, %d on tmpfs, batches of about %.0f ms; the whole run took %.0f s." % (
            " B=%s" % BUILD if BUILD != "build" else "", " BENCH_QUICK=1" if QUICK else "",
            3 * ROUNDS, ROUNDS, BATCH_MS, elapsed),
        "Machine: %s" % where,
        "Versions: libajio %s (%s), GLib %s, python3-atomicwrites %s, Python %s,"
        " write-file-atomic %s, Node.js %s. Date: %s. Load average at start: %s." % (
            v["ajio"], v["git"], v["glib"], v["atomicwrites"], v["python"], v["wfa"],
            v["node"], date, " ".join(load)),
    ]
    notrun = ["- %s: %s" % (LABEL.get(k, k), msg) for k, msg in sorted(failed.items())]
    md = []
    md.append("# Peers: libajio against the atomic-write helpers people already use\n")
    md.append("Generated by `make bench-peers` (bench/peers/run.py); the method is below."
              " Ratios are time per write divided by the raw syscall"
              " floor's in the same round (durable floor on the disk, atomic-only floor on"
              " tmpfs), median over the rounds; lower is faster.\n")
    md.append("\n".join("- " + h for h in head) + "\n")
    md.append("![durable, disk](peers-disk.svg)\n")
    md.append("![atomic-only, tmpfs](peers-tmpfs.svg)\n")
    md.append("## Summary\n")
    md.append(summary + "\n")
    if notrun:
        md.append("Not measured in this run:\n\n" + "\n".join(notrun) + "\n")
    md.append(METHOD % {"kills": KILLS, "kill_mib": KILL_SIZE >> 20, "torn_ms": TORN_MS,
                        "torn_kib": TORN_SIZE >> 10})
    md.append("## Every cell\n")
    md.append(full_tables(cells) + "\n")
    md.append("## Syscalls per write (4 KiB, durable, disk)\n")
    md.append("strace -f -c of 2N writes minus N writes, divided by N (N = %d): process start"
              " and exit cancel out. Syncs: strace -f -y names the fd each sync is given;"
              " \"dir\" when it is the target's directory.\n" % STRACE_N)
    md.append(syscall_table(syscalls) + "\n")
    with open(os.path.join(OUT, "peers.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(WORK, "summary.md"), "w") as f:
        f.write("\n".join("- " + h for h in head) + "\n\n" + summary + "\n")
    print("\n".join(head) + "\n\n" + summary)
    if notrun:
        print("\nNot measured:\n" + "\n".join(notrun))
    naive = [p for p in probes if p[0] == "naive"]
    if naive and naive[0][6][0] == 0:
        print("control FAILED: the reader saw no torn read of the naive writer")
        return 1
    print("\ncontrol: the reader saw %d torn reads of the naive writer" % naive[0][6][0])
    print("outputs: %s/peers.md %s/peers-disk.svg %s/peers-tmpfs.svg" % (OUT, OUT, OUT))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/bin/bash
# tests/shared/gluster/selftest.sh - checks that run.sh gives what it promises.
#
# Run as: tests/shared/gluster/run.sh tests/shared/gluster/selftest.sh
# (it works on any AJIO_SHARED_* provider that has the same variables).
# One line per check: "PASS name: ...", "FAIL name: ..." or "INFO name: ..." (an observation
# that is reported, never judged). Exit 0 when no check failed, 1 otherwise, 77 without python3.
set -eu

for v in AJIO_SHARED_FS AJIO_SHARED_A AJIO_SHARED_B AJIO_SHARED_FULL_A AJIO_SHARED_FULL_B \
    AJIO_SHARED_RO_A AJIO_SHARED_CTL; do
    [ -n "${!v:-}" ] || { echo "FAIL env: $v is not set (run me through run.sh)"; exit 1; }
done
command -v python3 >/dev/null || { echo "skip: python3 missing"; exit 77; }

failures=0
report() { # KIND NAME DETAIL
    echo "$1 $2: $3"
    [ "$1" != FAIL ] || failures=$((failures + 1))
}

# The system calls, in Python: the errno of each call matters, and the shell would hide it.
# py CHECK ARGS... prints "KIND detail" lines for report().
read -r -d '' pysrc <<'PY' || true
import errno, fcntl, os, struct, subprocess, sys, threading, time

F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)  # 37 on x86_64 and every Linux arch

def flock_struct(ltype, start, length):
    # struct flock: short l_type, short l_whence, (pad) off_t l_start, off_t l_len,
    # pid_t l_pid, (pad): 32 bytes on x86_64. l_pid must be 0 for OFD locks.
    return struct.pack("hhqqi4x", ltype, os.SEEK_SET, start, length, 0)

def err(e):
    return errno.errorcode.get(e.errno, str(e.errno))

def attempt(fn):
    """'ok' or the errno name."""
    try:
        fn()
        return "ok"
    except OSError as e:
        return err(e)

def poll(fn, limit):
    """Calls fn until it succeeds or LIMIT s pass: (last outcome, seconds taken)."""
    t0 = time.monotonic()
    while True:
        r = attempt(fn)
        if r == "ok" or time.monotonic() - t0 > limit:
            return r, time.monotonic() - t0
        time.sleep(0.01)

def ofd(a, b):
    wrlck, unlck = flock_struct(fcntl.F_WRLCK, 0, 1), flock_struct(fcntl.F_UNLCK, 0, 1)
    fd_a = os.open(a, os.O_RDWR | os.O_CREAT, 0o644)
    fd_b = os.open(b, os.O_RDWR)
    fcntl.fcntl(fd_a, F_OFD_SETLK, wrlck)
    held = attempt(lambda: fcntl.fcntl(fd_b, F_OFD_SETLK, wrlck))
    fcntl.fcntl(fd_a, F_OFD_SETLK, unlck)
    unlocked = attempt(lambda: fcntl.fcntl(fd_b, F_OFD_SETLK, wrlck))
    kind = "PASS" if held in ("EAGAIN", "EACCES") and unlocked == "ok" else "FAIL"
    print(f"{kind} OFD lock: A holds F_OFD_SETLK F_WRLCK on byte 0, B tries: {held}; "
          f"right after A's F_UNLCK, B tries: {unlocked}")
    # Released by close instead: FUSE sends no unlock, the brick drops the lock when the
    # client's asynchronous RELEASE reaches it.
    fcntl.fcntl(fd_b, F_OFD_SETLK, unlck)
    fcntl.fcntl(fd_a, F_OFD_SETLK, wrlck)
    os.close(fd_a)
    at_once = attempt(lambda: fcntl.fcntl(fd_b, F_OFD_SETLK, wrlck))
    last, took = poll(lambda: fcntl.fcntl(fd_b, F_OFD_SETLK, wrlck), 10)
    os.close(fd_b)
    print(("PASS" if last == "ok" else "FAIL") + f" OFD release by close: B right after A's close: {at_once}; "
          f"B gets the lock after {took:.2f}s: {last}")

def posix_same_process(a, b):
    # Classic POSIX locks belong to the process: locally, one process never conflicts with
    # itself. Two clients are two lock owners as far as the bricks are concerned.
    fd_a = os.open(a, os.O_RDWR | os.O_CREAT, 0o644)
    fd_b = os.open(b, os.O_RDWR)
    fcntl.lockf(fd_a, fcntl.LOCK_EX | fcntl.LOCK_NB)
    got = attempt(lambda: fcntl.lockf(fd_b, fcntl.LOCK_EX | fcntl.LOCK_NB))
    os.close(fd_a); os.close(fd_b)
    print(f"INFO POSIX lock: one process, F_SETLK via A held, via B: {got}")

def flock(a, b, c):
    fd_a = os.open(a, os.O_RDWR | os.O_CREAT, 0o644)
    fd_b = os.open(b, os.O_RDWR)
    fcntl.flock(fd_a, fcntl.LOCK_EX | fcntl.LOCK_NB)
    got = attempt(lambda: fcntl.flock(fd_b, fcntl.LOCK_EX | fcntl.LOCK_NB))
    verdict = "flock via A excludes B" if got in ("EAGAIN", "EWOULDBLOCK") else "flock via A does NOT exclude B"
    print(f"INFO flock: LOCK_EX|LOCK_NB via A held, via B: {got} ({verdict})")
    os.close(fd_b)
    # Locally flock and fcntl locks never meet; here both become lock requests to the brick.
    fd_c = os.open(c, os.O_RDWR)
    got = attempt(lambda: fcntl.fcntl(fd_c, F_OFD_SETLK, flock_struct(fcntl.F_WRLCK, 0, 1)))
    print(f"INFO flock vs OFD: flock via A held, F_OFD_SETLK via B: {got}")
    os.close(fd_c); os.close(fd_a)

def fill(path, cap):
    """Write 64 KiB blocks until an error or cap bytes, then fsync and close."""
    block = b"\xa5" * 65536
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    done, where = 0, None
    try:
        while done < cap:
            done += os.write(fd, block)
    except OSError as e:
        where = f"write after {done} bytes: {err(e)}"
    for name, fn in (("fsync", lambda: os.fsync(fd)), ("close", lambda: os.close(fd))):
        r = attempt(fn)
        if r != "ok" and where is None:
            where = f"{name} after {done} bytes written: {r}"
        elif r != "ok":
            where += f"; {name}: {r}"
    if where is None:
        print(f"FAIL ENOSPC: {done} bytes written via A, fsync and close succeeded (volume not small?)")
    else:
        print(("PASS" if "ENOSPC" in where else "FAIL") + f" ENOSPC: filling via A fails at {where}")

def small_write(path, size):
    def go():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, b"x" * size)
            os.fsync(fd)
        finally:
            os.close(fd)
    return attempt(go)

def space_back(path):
    # The brick learns the free space from a thread that looks every 5 s (storage.reserve):
    # writes may still fail for that long after space was freed.
    t0 = time.monotonic()
    while True:
        r = small_write(path, 4096)
        took = time.monotonic() - t0
        if r == "ok" or took > 15:
            break
        time.sleep(0.2)
    print(("PASS" if r == "ok" else "FAIL") + f" space back: after removing the fill via B, "
          f"a 4 KiB write+fsync via A succeeds after {took:.1f}s: {r}")

def erofs(d):
    def append():
        fd = os.open(os.path.join(d, "ro.json"), os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, b"x")
        finally:
            os.close(fd)
    res = {
        "create": attempt(lambda: os.close(os.open(os.path.join(d, "new"), os.O_WRONLY | os.O_CREAT, 0o644))),
        "append": attempt(append),
        "mkdir": attempt(lambda: os.mkdir(os.path.join(d, "newdir"))),
        "unlink": attempt(lambda: os.unlink(os.path.join(d, "ro.json"))),
        "rename": attempt(lambda: os.rename(os.path.join(d, "ro.json"), os.path.join(d, "moved"))),
    }
    detail = ", ".join(f"{k} {v}" for k, v in res.items())
    if any(v == "ok" for v in res.values()):
        print(f"FAIL EROFS: the read-only volume accepted a change: {detail}")
    elif all(v == "EROFS" for v in res.values()):
        print(f"PASS EROFS: the read-only volume refuses every change with EROFS: {detail}")
    else:
        print(f"PASS EROFS: the read-only volume refuses every change, not always with EROFS: {detail}")
    with open(os.path.join(d, "ro.json"), "rb") as f:
        content = f.read()
    kind = "PASS" if content == b'{"ro":true}\n' else "FAIL"
    print(f"{kind} ro.json: content after the attempts {content!r}")

class Op(threading.Thread):
    """Runs steps (name, fn) in order; records each outcome and when it returned."""
    def __init__(self, t0, steps):
        super().__init__(daemon=True)
        self.t0, self.steps, self.log = t0, steps, []
    def run(self):
        for name, fn in self.steps:
            r = attempt(fn)
            self.log.append(f"{name} {r} at {time.monotonic() - self.t0:.1f}s")
            if r != "ok":
                return
    def summary(self):
        return ", ".join(self.log + (["blocked"] if self.is_alive() else []))

def outage(ctl, down, up, a, b, tag, hold):
    """ctl DOWN, then writes through A (a new file; an fd opened before), HOLD s later ctl UP."""
    # ctl runs from a helper started before any file on the volume is open here: a process
    # forked from this one would close (FUSE FLUSH) the inherited descriptors when it execs,
    # and that FLUSH waits for the dirty write-behind data, i.e. for the brick.
    runner = subprocess.Popen(["bash", "-c", 'while read -r v; do "$0" "$v" >&2; echo $?; done', ctl],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    def run_ctl(verb):
        runner.stdin.write(verb + "\n"); runner.stdin.flush()
        rc = int(runner.stdout.readline())
        if rc != 0:
            raise SystemExit(f"ctl {verb} exited {rc}")
    data = b"y" * 4096
    old = os.open(os.path.join(a, tag + ".old"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(old, b"before\n"); os.fsync(old)
    # A descriptor left alone during the outage must work after it (the client reopens it).
    idle = os.open(os.path.join(a, tag + ".idle"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    run_ctl(down)
    t0 = time.monotonic()
    if down == "stop":
        # Unavailable means unavailable to everyone: B's create must fail, not block.
        r = attempt(lambda: os.close(os.open(os.path.join(b, tag + ".probe"), os.O_WRONLY | os.O_CREAT, 0o644)))
        print(("PASS" if r != "ok" else "FAIL") + f" ctl {down}: volume unavailable, a create via B gives {r}")
    new_path = os.path.join(a, tag + ".new")
    fd = {}
    new = Op(t0, [("open(O_CREAT)", lambda: fd.__setitem__("n", os.open(new_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))),
                  ("write", lambda: os.write(fd["n"], data)),
                  ("fsync", lambda: os.fsync(fd["n"])),
                  ("close", lambda: os.close(fd["n"]))])
    held = Op(t0, [("write", lambda: os.write(old, data)),
                   ("fsync", lambda: os.fsync(old)),
                   ("close", lambda: os.close(old))])
    new.start(); held.start()
    time.sleep(hold)
    before_up = f"new file: {new.summary()}; open fd: {held.summary()}"
    run_ctl(up)
    t_up = time.monotonic() - t0
    new.join(60); held.join(60)
    print(f"INFO ctl {down}: writes via A, {hold}s later: {before_up}")
    print(f"INFO ctl {up}: done at {t_up:.1f}s; new file: {new.summary()}; open fd: {held.summary()}")
    # Whatever the writes did, the volume must serve both clients again.
    r = small_write(os.path.join(a, tag + ".after"), 100)
    try:
        with open(os.path.join(b, tag + ".after"), "rb") as f:
            seen = len(f.read())
    except OSError as e:
        seen = err(e)
    ok = r == "ok" and seen == 100
    print(("PASS" if ok else "FAIL") + f" ctl {up}: volume back, write via A {r}, read via B {seen} bytes")
    def use_idle():
        os.write(idle, b"after\n"); os.fsync(idle); os.close(idle)
    r = attempt(use_idle)
    try:
        with open(os.path.join(b, tag + ".idle"), "rb") as f:
            seen = f.read()
    except OSError as e:
        seen = err(e)
    ok = r == "ok" and seen == b"after\n"
    print(("PASS" if ok else "FAIL") + f" ctl {up}: a descriptor opened before ctl {down}: write+fsync+close {r}, B reads {seen!r}")
    # A write reported complete must be there for the other client.
    for op, name, want in ((new, ".new", data), (held, ".old", b"before\n" + data)):
        if len(op.log) != len(op.steps) or not all(" ok " in s for s in op.log):
            continue
        try:
            with open(os.path.join(b, tag + name), "rb") as f:
                same = f.read() == want
        except OSError as e:
            same = err(e)
        print(("PASS" if same is True else "FAIL") + f" ctl {down}: completed write to {tag}{name} reads back via B: {same}")
    runner.stdin.close(); runner.wait()

def read_until(path, want, limit=10.0):
    """Reads PATH until it holds WANT: (the first read, seconds until WANT or None)."""
    t0, first = time.monotonic(), None
    while True:
        try:
            with open(path, "rb") as f:
                got = f.read()
        except OSError as e:
            got = err(e)
        if first is None:
            first = got
        if got == want:
            return first, time.monotonic() - t0
        if time.monotonic() - t0 > limit:
            return first, None
        time.sleep(0.05)

def rename_visibility(a, b, trials):
    """How soon B sees a file A replaced by rename (the atomic-replace pattern) once B has read
    the old one, its caches (attribute, entry, md-cache, quick-read: 1 s each) warm."""
    firsts, worst = {}, 0.0
    for i in range(trials):
        target = f"visible-{i}.json"
        old, new = b"old\n", b"new-%d-longer\n" % i
        with open(os.path.join(a, target), "wb") as f:
            f.write(old); f.flush(); os.fsync(f.fileno())
        if read_until(os.path.join(b, target), old)[1] is None:
            print(f"FAIL rename visibility: B never sees {target} as written by A")
            return
        with open(os.path.join(a, target + ".tmp"), "wb") as f:
            f.write(new); f.flush(); os.fsync(f.fileno())
        os.rename(os.path.join(a, target + ".tmp"), os.path.join(a, target))
        first, took = read_until(os.path.join(b, target), new)
        kind = "new" if first == new else "old" if first == old else first if isinstance(first, str) else repr(first)
        firsts[kind] = firsts.get(kind, 0) + 1
        if took is None:
            print(f"FAIL rename visibility: B still reads {first!r} 10 s after A's rename")
            return
        worst = max(worst, took)
    got = ", ".join(f"{k} {n}/{trials}" for k, n in sorted(firsts.items()))
    print(f"INFO rename visibility: A replaces a file B has read by rename; B's first read gets: {got}; "
          f"B reads the new content after {worst:.2f}s at worst")

check = sys.argv[1]
args = sys.argv[2:]
if check == "ofd": ofd(*args)
elif check == "posix": posix_same_process(*args)
elif check == "flock": flock(*args)
elif check == "fill": fill(args[0], int(args[1]))
elif check == "small": print(small_write(args[0], int(args[1])))
elif check == "space_back": space_back(args[0])
elif check == "erofs": erofs(*args)
elif check == "outage": outage(*args[:6], float(args[6]))
elif check == "visibility": rename_visibility(args[0], args[1], int(args[2]))
else: sys.exit(f"unknown check {check}")
PY

# py CHECK ARGS...: run one check and report its lines; a crash of the check is a failure.
py() {
    local out rc=0 kind detail
    # stdout only: stderr (ctl's progress lines, a traceback) goes straight through.
    out=$(python3 -c "$pysrc" "$@") || rc=$?
    while IFS= read -r line; do
        kind=${line%% *}
        detail=${line#* }
        case $kind in
        PASS | FAIL | INFO) report "$kind" "${detail%%:*}" "${detail#*: }" ;;
        *) report FAIL "$1" "$line" ;;
        esac
    done <<<"$out"
    [ "$rc" = 0 ] || report FAIL "$1" "python exited $rc"
}

# 0. Every directory must be on the filesystem claimed: a harness whose mount silently failed
# would otherwise send the full-disk check to the host's disk.
for v in AJIO_SHARED_A AJIO_SHARED_B AJIO_SHARED_FULL_A AJIO_SHARED_FULL_B AJIO_SHARED_RO_A; do
    fstype=$(findmnt -n -o FSTYPE --target "${!v}")
    if [ "$AJIO_SHARED_FS" = glusterfs ] && [ "$fstype" != fuse.glusterfs ]; then
        report FAIL mounts "$v=${!v} is on $fstype, not fuse.glusterfs"
        exit 1
    fi
done
report PASS mounts "all five directories are on $AJIO_SHARED_FS"

# 1. Two clients: two FUSE connections (device numbers), and data crosses from one to the other.
dev_a=$(stat -c %d "$AJIO_SHARED_A")
dev_b=$(stat -c %d "$AJIO_SHARED_B")
if [ "$dev_a" != "$dev_b" ]; then
    report PASS "two clients" "A and B are different mounts (st_dev $dev_a, $dev_b)"
else
    report FAIL "two clients" "A and B share st_dev $dev_a"
fi
token=$$-$RANDOM-$(date +%s%N)
echo "$token" >"$AJIO_SHARED_A/a-to-b"
if [ "$(cat "$AJIO_SHARED_B/a-to-b" 2>&1)" = "$token" ]; then
    report PASS "A to B" "a file written via A reads back via B"
else
    report FAIL "A to B" "B reads '$(cat "$AJIO_SHARED_B/a-to-b" 2>&1)'"
fi
echo "$token" >"$AJIO_SHARED_B/b-to-a"
if [ "$(cat "$AJIO_SHARED_A/b-to-a" 2>&1)" = "$token" ]; then
    report PASS "B to A" "a file written via B reads back via A"
else
    report FAIL "B to A" "A reads '$(cat "$AJIO_SHARED_A/b-to-a" 2>&1)'"
fi

# Informational: the atomic-replace pattern across clients, caches at their defaults.
py visibility "$AJIO_SHARED_A" "$AJIO_SHARED_B" 5

# 2. Locks.
py ofd "$AJIO_SHARED_A/ofd.lock" "$AJIO_SHARED_B/ofd.lock"
py flock "$AJIO_SHARED_A/flock.lock" "$AJIO_SHARED_B/flock.lock" "$AJIO_SHARED_B/flock.lock"
py posix "$AJIO_SHARED_A/posix.lock" "$AJIO_SHARED_B/posix.lock"

# 3. Full volume: fill through A (capped at 64 MiB, far above the volume), see B refused too,
# then free the space through B and write again through A.
py fill "$AJIO_SHARED_FULL_A/fill" $((64 << 20))
report INFO "ENOSPC via B" "1 MiB write+fsync of a new file while full: $(python3 -c "$pysrc" small "$AJIO_SHARED_FULL_B/more" $((1 << 20)) 2>&1)"
rm -f "$AJIO_SHARED_FULL_B/fill" "$AJIO_SHARED_FULL_B/more"
py space_back "$AJIO_SHARED_FULL_A/again"
rm -f "$AJIO_SHARED_FULL_A/again"

# 4. Read-only volume.
py erofs "$AJIO_SHARED_RO_A"

# 5. Server outage through ctl: stop/start (brick killed) and pause/resume (brick frozen).
py outage "$AJIO_SHARED_CTL" stop start "$AJIO_SHARED_A" "$AJIO_SHARED_B" killed 2
py outage "$AJIO_SHARED_CTL" pause resume "$AJIO_SHARED_A" "$AJIO_SHARED_B" paused 3

if [ "$failures" = 0 ]; then
    echo "selftest: all checks passed"
    exit 0
fi
echo "selftest: $failures check(s) failed"
exit 1

#!/bin/bash
# Self-test of the NFS harness, run as its CMD:
#   tests/shared/nfs/run.sh tests/shared/nfs/selftest.sh
# Checks, for the NFS version of this run, that the two clients behave as two
# machines sharing one server.  One line per check ("ok ..." / "FAIL ...");
# the exit status is 1 if any check failed.
set -eu

: "${AJIO_SHARED_FS:?run me as CMD of tests/shared/nfs/run.sh}"
A=$AJIO_SHARED_A
B=$AJIO_SHARED_B
FULL_A=$AJIO_SHARED_FULL_A
FULL_B=$AJIO_SHARED_FULL_B
RO_A=$AJIO_SHARED_RO_A
CTL=$AJIO_SHARED_CTL
PY=/usr/bin/python3
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

failed=0
ok() { echo "ok $AJIO_SHARED_FS: $*"; }
bad() {
	echo "FAIL $AJIO_SHARED_FS: $*"
	failed=1
}
check() {	# description command...
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

# lock.py PATH OP START: one F_OFD_SETLK on byte START of PATH.
# OP is wrlck or unlck; exit 0 if granted, 11 on EAGAIN/EACCES (conflict),
# 1 on anything else.  With "hold", take the lock, print "locked" and keep
# it until standard input closes.
cat >"$SCRATCH/lock.py" <<'EOF'
import errno, fcntl, os, struct, sys

F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)  # 37 on Linux x86_64


def setlk(fd, kind, start):
    # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks)
    fcntl.fcntl(fd, F_OFD_SETLK, struct.pack("@hhqqi4x", kind, os.SEEK_SET, start, 1, 0))


path, op, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
try:
    setlk(fd, fcntl.F_UNLCK if op == "unlck" else fcntl.F_WRLCK, start)
except OSError as e:
    if e.errno in (errno.EAGAIN, errno.EACCES):
        sys.exit(11)
    print("lock.py: %s: %s" % (path, e), file=sys.stderr)
    sys.exit(1)
if len(sys.argv) > 4 and sys.argv[4] == "hold":
    print("locked", flush=True)
    sys.stdin.read()
EOF
lock() { "$PY" "$SCRATCH/lock.py" "$@"; }
lock_status() {	# lock args...: print the exit status of lock.py
	local rc=0
	lock "$@" </dev/null || rc=$?
	echo "$rc"
}

# errno.py PATH FLAGS [DATA]: open(PATH, FLAGS), write DATA, fsync, close;
# print "ok" or the name of the errno of the first step that failed (the
# shell would not notice an error of write-back, which NFS reports late).
cat >"$SCRATCH/errno.py" <<'EOF'
import errno, os, sys

try:
    fd = os.open(sys.argv[1], eval(sys.argv[2], vars(os)), 0o644)
    try:
        if len(sys.argv) > 3:
            os.write(fd, sys.argv[3].encode())
            os.fsync(fd)
    finally:
        os.close(fd)
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
EOF
open_errno() { "$PY" "$SCRATCH/errno.py" "$@"; }

# --- the directories -----------------------------------------------------
check "A and B start empty" test -z "$(ls -A "$A")$(ls -A "$B")"
check "A and B are distinct superblocks (st_dev $(stat -c %d "$A") vs $(stat -c %d "$B"))" \
	test "$(stat -c %d "$A")" != "$(stat -c %d "$B")"
check "FULL_A and FULL_B are distinct superblocks" \
	test "$(stat -c %d "$FULL_A")" != "$(stat -c %d "$FULL_B")"

# --- one file, two caches ------------------------------------------------
data="written via A $$ $RANDOM"
printf '%s\n' "$data" >"$A/shared.txt"
check "a file written via A reads back via B" test "$(cat "$B/shared.txt")" = "$data"
data="rewritten via A $$ $RANDOM"
# B has the file cached (and, on v4, may hold a delegation for it)
exec 3<"$B/shared.txt"
printf '%s\n' "$data" >"$A/shared.txt"
exec 3<&-
check "B sees A's rewrite of a file B had open" test "$(cat "$B/shared.txt")" = "$data"
data="written via B $$ $RANDOM"
printf '%s\n' "$data" >"$B/shared.txt"
check "a rewrite via B reads back via A" test "$(cat "$A/shared.txt")" = "$data"

# --- locks arbitrated by the server --------------------------------------
: >"$A/lock"
coproc HOLDER { exec "$PY" "$SCRATCH/lock.py" "$A/lock" wrlck 0 hold; }
read -r line <&"${HOLDER[0]}" || line=
check "F_OFD_SETLK write lock on byte 0 via A is granted" test "$line" = locked
check "the same lock via B fails with EAGAIN/EACCES" test "$(lock_status "$B/lock" wrlck 0)" = 11
check "a lock on byte 1 via B is granted" test "$(lock_status "$B/lock" wrlck 1)" = 0

case $AJIO_SHARED_FS in
nfs3)
	# the server's statd monitors each NLM peer that holds a lock
	peers=$("$CTL" nlm-peers)
	check "the server's lockd sees two NLM peers (${peers//$'\n'/ })" \
		test "$(echo "$peers" | grep -c '^198\.18\.[12]\.2$')" = 2
	;;
*)
	names=$("$CTL" clients | sed -n 's/^name: //p' | sort -u)
	check "the server holds two NFSv4 clients with distinct owners (${names//$'\n'/ })" \
		test "$(echo "$names" | grep -c 'ajio-nfs-client-[ab]')" = 2
	;;
esac

# --- full and read-only exports ------------------------------------------
err=$(dd if=/dev/zero of="$FULL_A/fill" bs=64k count=256 conv=fsync 2>&1) && rc=0 || rc=$?
check "filling FULL_A fails with ENOSPC" \
	test "$rc" != 0 -a -n "$(echo "$err" | grep 'No space left on device')"
rm -f "$FULL_A/fill"
# The space comes back once client and server let go of the removed file,
# which need not be at once.
t0=$(date +%s)
until e=$(open_errno "$FULL_B/small" 'O_WRONLY|O_CREAT|O_TRUNC' small) &&
	[ "$e" = ok ] || [ $(($(date +%s) - t0)) -ge 30 ]; do
	sleep 0.5
done
check "FULL_B takes a small file once FULL_A's is removed ($e after $(($(date +%s) - t0)) s)" \
	test "$e" = ok -a "$(cat "$FULL_B/small")" = small
check "RO_A holds ro.json" test "$(cat "$RO_A/ro.json")" = '{"ro":true}'
check "creating a file in RO_A fails with EROFS" \
	test "$(open_errno "$RO_A/new" 'O_WRONLY|O_CREAT')" = EROFS
# An NFSv3 client asks the server (ACCESS) before it opens a file for
# writing, and a read-only export just denies that access: EACCES.
e=$(open_errno "$RO_A/ro.json" 'O_WRONLY')
case $AJIO_SHARED_FS in
nfs3) want=EACCES ;;
*) want=EROFS ;;
esac
check "opening ro.json in RO_A for writing fails with $want (got $e)" test "$e" = "$want"

# --- server outage ---------------------------------------------------------
"$CTL" stop
data="written via A during an outage $$ $RANDOM"
sh -c 'printf "%s\n" "$1" >"$2"' sh "$data" "$A/outage.txt" &
writer=$!
sleep 3
check "a write via A blocks while the server is stopped" kill -0 "$writer"
t0=$(date +%s)
"$CTL" start
rc=0
wait "$writer" || rc=$?
check "the blocked write completes after start ($(($(date +%s) - t0)) s)" test "$rc" = 0
check "B reads what A wrote during the outage" test "$(cat "$B/outage.txt")" = "$data"
# NFSv4: A's lock went with the server's state and A's client reclaimed it
# in the grace period, which B's attempt waits out.  NFSv3: the server's
# kernel kept the lock while lockd was down.
t0=$(date +%s)
rc=$(lock_status "$B/lock" wrlck 0)
check "the lock held via A survives the restart ($(($(date +%s) - t0)) s)" test "$rc" = 11
fd=${HOLDER[1]}
exec {fd}>&-
wait "$HOLDER_PID" || true

exit "$failed"

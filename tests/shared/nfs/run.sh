#!/bin/bash
# run.sh CMD [ARGS...]: run CMD against a real NFS server, once for NFSv3 and
# once for NFSv4.2, each time through two NFS clients that behave as two
# machines.
#
# The host kernel has no NFS, so a User-mode Linux guest (Debian's
# user-mode-linux) does it all: its root file system is the host's / through
# hostfs, so host-built binaries and scripts run unchanged; guest-init.sh is
# its init.  CMD runs as root in the guest, in the caller's directory, with
# the caller's environment and these variables (see README.md):
#   AJIO_SHARED_FS            nfs3 | nfs4.2
#   AJIO_SHARED_A, _B         one fresh empty directory, through client A / B
#   AJIO_SHARED_FULL_A, _B    a fresh directory on an 8 MiB export
#   AJIO_SHARED_RO_A          a read-only export holding ro.json, through A
#   AJIO_SHARED_CTL           ctl.sh: "stop" / "start" the NFS server
#   AJIO_SHARED_OPTS_A, _B    the mount options in effect (informational)
# CMD's stdout and stderr are printed to ours after the guest powered off.
# Exit status: 0 if every run exited 0, else the first non-zero status of a
# run, where 77 (skip) counts only if every run skipped.
#
# Settings (environment): AJIO_SHARED_TIMEOUT (s, default 600) bounds the
# whole guest, which is killed after it; AJIO_SHARED_VERSIONS (default
# "3 4.2") picks runs; AJIO_SHARED_UML (default linux.uml) is the UML
# kernel; AJIO_SHARED_WORKDIR (default
# ${AJIO_BUILD:-build}/shared/nfs) receives one run.XXXXXX directory per call
# with the logs (kernel.log, guest.log), CMD's output and timings;
# AJIO_SHARED_VERBOSE=1 prints the timings and the log directory.
#
# Decisions:
# - Topology: the server runs in the guest's initial network namespace; each
#   client is a network namespace of its own (nfs-a, nfs-b) joined to it by a
#   veth pair (198.18.1.0/24, 198.18.2.0/24; the addresses exist only inside
#   the guest).  A client mounts with "nsenter --net" so its mounts are seen
#   by the whole guest while its NFS client instance, its lockd and its
#   NFSv4 lease belong to its namespace.  Both versions use this topology:
#   NFSv3 too has one client per namespace, with its own rpcbind and
#   rpc.statd there, so NLM locks are arbitrated by the server between two
#   peers with different addresses, as between two machines.
# - Client identity: each namespace sets its own NFSv4 client owner string
#   through /sys/fs/nfs/net/nfs_client/identifier ("ajio-nfs-client-a" /
#   "-b"), and mounts from a UTS namespace of its own whose host name is the
#   same string.  The self-test shows that the server holds two clients with
#   distinct owners.
# - Delegations stay enabled: with distinct identities the server recalls a
#   delegation from one client before the other may conflict, as between two
#   machines.
# - Mount options: vers=3 or vers=4.2, hard, nosharecache; default timeouts;
#   never nolock or local_lock.  Exports are tmpfs with fsid=N, options
#   rw,sync,no_root_squash,no_subtree_check (ro for the read-only export).
# - Restarts ("ctl.sh stop/start") are what "systemctl restart nfs-server"
#   does: rpc.nfsd 0 ends nfsd and the server's lockd.  NFSv4 state goes with
#   them and the clients reclaim it in the grace period (15 s, lease 15 s,
#   ended early by nfsdcld once every known client has reclaimed); NFSv3
#   (NLM) locks stay in the server kernel.  lockd's grace period is 3 s
#   (module parameters); the first run starts after it.
# - Host side: the guest's memory file goes to /dev/shm (tmpfs, exec
#   allowed); uml-xstate.c is preloaded into linux.uml so that UML 6.1 runs
#   on hosts with AMX (see that file); the guest is bounded by timeout(1),
#   and every host process of the guest is killed at the end.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd -P)
REPO=$(cd "$HERE/../../.." && pwd -P)

# The skip rule of the root-only suites (exit 77; a failure under CI=true).
SUITE=shared/nfs
. "$REPO/tests/lib/loopfs.sh"

have() {	# also look where root's tools are, whatever the caller's PATH
	local PATH="$PATH:/usr/sbin:/sbin:/usr/bin:/bin"
	command -v "$1"
}

if [ $# -lt 1 ]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi
[ "$(id -u)" = 0 ] || skip "not root"
UML=$(have "${AJIO_SHARED_UML:-linux.uml}") || skip "linux.uml missing (package user-mode-linux)"
for tool in rpc.nfsd rpc.mountd exportfs nfsdcld rpcbind rpc.statd \
	mount.nfs ip nsenter unshare setsid modprobe cc; do
	have "$tool" >/dev/null || skip "$tool missing (see $HERE/PACKAGES)"
done
KVER=$("$UML" --version </dev/null)
[ -d "/usr/lib/uml/modules/$KVER" ] || skip "no modules for UML $KVER in /usr/lib/uml/modules"

VERSIONS=${AJIO_SHARED_VERSIONS:-3 4.2}
for v in $VERSIONS; do
	case $v in
	3 | 4.2) ;;
	*) echo "FAIL: AJIO_SHARED_VERSIONS: $v is not 3 or 4.2" >&2; exit 1 ;;
	esac
done
LIMIT=${AJIO_SHARED_TIMEOUT:-600}

# --- work directory --------------------------------------------------------
base=${AJIO_SHARED_WORKDIR:-${AJIO_BUILD:-$REPO/build}/shared/nfs}
mkdir -p "$base"
WORK=$(mktemp -d "$(cd "$base" && pwd -P)/run.XXXXXX")
case $WORK$HERE in
*[[:space:]]*)
	# both go onto the kernel command line, which splits at white space
	echo "FAIL: white space in $WORK or $HERE" >&2
	exit 1
	;;
esac

# What CMD gets: the caller's environment, arguments and directory.
env -0 >"$WORK/env"
printf '%s\0' "$@" >"$WORK/cmd"
printf '%s' "$PWD" >"$WORK/cwd"

# The guest mounts a private tmpfs on /tmp, unless something of the caller's
# lives under the host's /tmp.
keep_host_tmp=0
for p in "$PWD" "$WORK" "$HERE" "${TMPDIR-}" "${AJIO_BUILD-}" "$1"; do
	case $p in /tmp | /tmp/*) keep_host_tmp=1 ;; esac
done

{
	printf 'HERE=%q\n' "$HERE"
	printf 'KEEP_HOST_TMP=%q\n' "$keep_host_tmp"
	printf 'VERSIONS=%q\n' "$VERSIONS"
	printf 'CTL=%q\n' "$HERE/ctl.sh"
	printf 'UMASK=%q\n' "$(umask)"
} >"$WORK/config"

if ! cc -shared -fPIC -O2 -o "$WORK/uml-xstate.so" "$HERE/uml-xstate.c" -ldl \
	>"$WORK/cc.log" 2>&1; then
	cat "$WORK/cc.log" >&2
	echo "FAIL: cannot build $HERE/uml-xstate.c" >&2
	exit 1
fi

# UML keeps the guest's memory (mem=1G) in an unlinked file in TMPDIR that
# it maps executable: a tmpfs without noexec and with room for it, else the
# work directory.
umltmp=${AJIO_SHARED_UML_TMPDIR:-/dev/shm}
if ! [ -d "$umltmp" ] || ! [ -w "$umltmp" ] ||
	findmnt -no OPTIONS -T "$umltmp" 2>/dev/null | grep -qw noexec ||
	[ "$(df -Pk "$umltmp" | awk 'NR == 2 { print $4 }')" -lt 1179648 ]; then
	umltmp=$WORK
fi

# --- the guest -------------------------------------------------------------
# UML makes itself a session leader, so a signal to a process group does not
# reach its helper processes (one host process per guest address space); if
# the kernel process dies first they stay behind, stopped.  They are clones
# of linux.uml and carry its command line, which holds this run's umid.
UMID=ajio-nfs-${WORK##*.}
sweep() {
	local p argv
	for p in /proc/[0-9]*; do
		{ mapfile -d '' -t argv <"$p/cmdline"; } 2>/dev/null || continue
		case " ${argv[*]} " in
		*" umid=$UMID "*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;;
		esac
	done
}
# interrupted: timeout(1) is not waited for yet, so its pid is still its own
tpid=
# shellcheck disable=SC2317  # called from the traps
interrupted() {
	[ -z "$tpid" ] || kill -KILL "$tpid" 2>/dev/null || true
	sweep
	exit "$1"
}
trap 'interrupted 130' INT
trap 'interrupted 143' TERM HUP

echo "host-start $EPOCHREALTIME" >"$WORK/timing"
# timeout(1) ends a guest that hangs (SIGTERM, then SIGKILL); sweep ends
# what is left of it.
timeout --kill-after=10 "$LIMIT" \
	env LD_PRELOAD="$WORK/uml-xstate.so" TMPDIR="$umltmp" "$UML" \
	mem=1G umid="$UMID" uml_dir="$WORK/uml" \
	root=/dev/root rootfstype=hostfs rootflags=/ rw \
	con=null con0=null,fd:1 ssl=null \
	init="$HERE/guest-init.sh" AJIO_NFS_WORK="$WORK" \
	</dev/null >"$WORK/kernel.log" 2>&1 &
tpid=$!
urc=0
wait "$tpid" || urc=$?
sweep
trap - INT TERM HUP
echo "host-end $EPOCHREALTIME" >>"$WORK/timing"

# --- results ---------------------------------------------------------------
status=
all_skipped=1
for v in $VERSIONS; do
	fs=nfs$v
	[ ! -e "$WORK/out.$fs" ] || cat "$WORK/out.$fs"
	[ ! -e "$WORK/err.$fs" ] || cat "$WORK/err.$fs" >&2
	if ! [ -s "$WORK/rc.$fs" ]; then
		all_skipped=0
		continue
	fi
	rc=$(cat "$WORK/rc.$fs")
	[ "$rc" = 77 ] || all_skipped=0
	if [ -z "$status" ] && [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		status=$rc
	fi
done

timings() {	# one line from the stamps that host and guest wrote
	awk '{ t[$1] = $2 }
	function span(from, to) { return (from in t) && (to in t) ? sprintf("%.1f s", t[to] - t[from]) : "-" }
	END {
		line = "nfs: bring-up " span("host-start", "clients")
		prev = "clients"
		n = split(versions, v, " ")
		for (i = 1; i <= n; i++) {
			fs = "nfs" v[i]
			line = line ", " fs " mount " span(prev, "mounted-" fs) " run " span("mounted-" fs, "ran-" fs)
			prev = "ran-" fs
		}
		print line ", total " span("host-start", "host-end")
	}' versions="$VERSIONS" "$WORK/timing"
}

harness_fail() {
	echo "FAIL: $*" >&2
	echo "nfs: logs in $WORK (kernel.log, guest.log)" >&2
	tail -n 20 "$WORK/guest.log" >&2 2>/dev/null || true
	exit 1
}
if [ "$urc" = 124 ] || [ "$urc" = 137 ]; then
	harness_fail "guest killed after AJIO_SHARED_TIMEOUT=$LIMIT s"
fi
if [ -e "$WORK/failed" ]; then
	harness_fail "$(cat "$WORK/failed")"
fi
for v in $VERSIONS; do
	[ -s "$WORK/rc.nfs$v" ] || harness_fail "the guest did not finish the nfs$v run (UML exit status $urc)"
done

if [ "${AJIO_SHARED_VERBOSE:-0}" = 1 ]; then
	timings >&2
	echo "nfs: logs in $WORK" >&2
fi
if [ -n "$status" ]; then
	exit "$status"
fi
if [ "$all_skipped" = 1 ]; then
	exit 77
fi
exit 0

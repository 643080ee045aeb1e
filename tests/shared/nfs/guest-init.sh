#!/bin/bash
# PID 1 of the UML guest started by run.sh; see run.sh and README.md.
#
# The root file system is the host's / through hostfs, so nothing here may
# write to host paths other than the work directory: everything the guest
# changes (/run, /var/lib/nfs, /tmp, /dev/shm, the exports) is a tmpfs of
# the guest.  run.sh passes the work directory as AJIO_NFS_WORK on the kernel
# command line (the kernel hands unknown NAME=VALUE words to init as its
# environment); run.sh left the settings in "$AJIO_NFS_WORK/config".
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
umask 022

WORK=${AJIO_NFS_WORK:?}
poweroff_now() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 60	# the power-off is asynchronous
}
# PID 1 must never exit: the kernel would panic instead of powering off.
trap 'echo "guest-init: line $LINENO: $BASH_COMMAND failed" >"$WORK/failed"
	cat "$WORK/failed" >&2
	poweroff_now' ERR
set -E

mount -t proc proc /proc
mount -t sysfs sysfs /sys
exec >>"$WORK/guest.log" 2>&1
PS4='+ ${EPOCHREALTIME} '
set -x

# shellcheck source=/dev/null
. "$WORK/config"	# HERE KEEP_HOST_TMP VERSIONS CTL UMASK

stamp() { echo "$1 $EPOCHREALTIME" >>"$WORK/timing"; }
stamp guest-init

# --- private file systems --------------------------------------------------
mount -t tmpfs -o mode=0755 run /run
mkdir -p /run/lock /run/ajio-nfs /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
# devtmpfs has no /dev/fd: bash needs it for <(...)
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
ln -sf pts/ptmx /dev/ptmx
if [ "$KEEP_HOST_TMP" != 1 ]; then
	mount -t tmpfs -o mode=1777 tmp /tmp
fi
nfs_state() {	# a fresh /var/lib/nfs, laid out as nfs-common ships it
	mount -t tmpfs -o mode=0755 nfsstate /var/lib/nfs
	mkdir /var/lib/nfs/sm /var/lib/nfs/sm.bak /var/lib/nfs/v4recovery
	: >/var/lib/nfs/etab
	: >/var/lib/nfs/rmtab
	: >/var/lib/nfs/state
	# rpc.statd runs as the owner of sm/
	chown statd /var/lib/nfs/sm /var/lib/nfs/sm.bak /var/lib/nfs/state
}
export -f nfs_state
nfs_state
hostname ajio-nfs-server

# --- kernel modules ----------------------------------------------------------
# modprobe looks in /lib/modules/$(uname -r), which the host does not have and
# must not get: a private root with lib/modules -> the UML modules, and a
# wrapper that the kernel also uses for its own module requests.
mkdir -p /run/ajio-nfs/modroot/lib
ln -s /usr/lib/uml/modules /run/ajio-nfs/modroot/lib/modules
echo "$HERE/guest-modprobe.sh" >/proc/sys/kernel/modprobe
# lockd's grace period (no new locks, NFSv4 ones included, after the server
# starts) is roundup(nlm_grace_period, nlm_timeout) s; 3 s is the least the
# module allows and keeps bring-up and restarts short.
"$HERE/guest-modprobe.sh" lockd nlm_grace_period=1 nlm_timeout=3
for m in nfsd nfsv3 nfsv4 veth; do
	"$HERE/guest-modprobe.sh" "$m"
done
stamp modules

# --- network -----------------------------------------------------------------
# The server lives in the guest's initial network namespace; each client
# "machine" is a network namespace joined to it by a veth pair.  The
# addresses exist only inside this guest.
ip link set lo up
for c in a b; do
	case $c in a) n=1 ;; b) n=2 ;; esac
	ip netns add "nfs-$c"
	ip link add "srv-$c" type veth peer name eth0 netns "nfs-$c"
	ip addr add "198.18.$n.1/24" dev "srv-$c"
	ip link set "srv-$c" up
	ip -n "nfs-$c" link set lo up
	ip -n "nfs-$c" addr add "198.18.$n.2/24" dev eth0
	ip -n "nfs-$c" link set eth0 up
done

# --- NFS server ----------------------------------------------------------------
mkdir -p /run/rpc_pipefs /run/ajio-nfs/export
mount -t rpc_pipefs rpc_pipefs /run/rpc_pipefs
mount -t nfsd nfsd /proc/fs/nfsd

rpcbind
# The kernel registers its RPC services (nfsd here, each client's lockd in its
# own namespace) through the AF_LOCAL socket /run/rpcbind.sock, resolved in
# the mount namespace of the calling process, which is this one for every
# client mount too: a client's lockd would be registered with the server's
# rpcbind.  Without the socket the kernel falls back to 127.0.0.1 of the
# namespace the service runs in, i.e. to the right rpcbind.
rm -f /run/rpcbind.sock
rpc.statd --no-notify
nfsdcld	# client records: ends the v4 grace period once all clients reclaimed

# NFSv4 clients see the exports below a pseudo root.  The one mountd would
# build from the export paths does not work over the guest's hostfs root and
# tmpfs (NFSv4 mounts of the full paths fail with ENOENT), so the root is an
# export of its own (fsid=0) and v4 paths are relative to it: server:/main
# is server:$EXPORTS/main.
EXPORTS=/run/ajio-nfs/export
mount -t tmpfs -o mode=0755 exports "$EXPORTS"
mkdir "$EXPORTS/main" "$EXPORTS/full" "$EXPORTS/ro"
mount -t tmpfs -o mode=1777 main "$EXPORTS/main"
mount -t tmpfs -o mode=1777,size=8m full "$EXPORTS/full"
mount -t tmpfs -o mode=0755,size=1m ro "$EXPORTS/ro"
printf '{"ro":true}\n' >"$EXPORTS/ro/ro.json"
rw=rw,sync,no_root_squash,no_subtree_check
ro=ro,sync,no_root_squash,no_subtree_check
exportfs -o "$ro,fsid=0" "198.18.0.0/16:$EXPORTS"
exportfs -o "$rw,fsid=1" "198.18.0.0/16:$EXPORTS/main"
exportfs -o "$rw,fsid=2" "198.18.0.0/16:$EXPORTS/full"
exportfs -o "$ro,fsid=3" "198.18.0.0/16:$EXPORTS/ro"
rpc.mountd
"$CTL" start
# lockd refuses new locks (v4 ones too) for its grace period of 3 s after
# the start; the first run waits for its end.
grace_end=$((${EPOCHREALTIME/./} + 3500000))
stamp server

# --- client machines -----------------------------------------------------------
# Each client namespace gets what a client machine has: its own rpcbind and
# rpc.statd (NLM locking of NFSv3 needs both, reachable on 127.0.0.1 of the
# client's namespace; their state lives in a private /run and /var/lib/nfs of
# the mount namespace that "ip netns exec" creates), and its own NFSv4 client
# identity (the owner string the server tells clients apart by).
for c in a b; do
	case $c in a) n=1 ;; b) n=2 ;; esac
	# shellcheck disable=SC2016
	ip netns exec "nfs-$c" bash -c '
		set -eu
		echo "$1" >/sys/fs/nfs/net/nfs_client/identifier
		mount -t tmpfs -o mode=0755 run /run
		nfs_state
		rpcbind
		rpc.statd --no-notify -n "$2"' sh "ajio-nfs-client-$c" "198.18.$n.2"
done
stamp clients

# --- the runs ------------------------------------------------------------------
# hard (the default, spelled out): I/O waits out a server outage.
# nosharecache: never one superblock for two mounts of a client.
MOUNT_OPTS=hard,nosharecache

mount_nfs() {	# client version export mountpoint [more options]
	local c=$1 v=$2 export=$3 mp=$4 more=${5:+,$5} n path=$EXPORTS/$3
	case $c in a) n=1 ;; b) n=2 ;; esac
	[ "$v" = 3 ] || path=/$export
	mkdir -p "$mp"
	# nsenter changes only the network namespace: the mount stays visible to
	# the whole guest, but the NFS client (nfs_client, lockd peer, v4 lease)
	# belongs to the client's namespace.  The UTS namespace gives the client
	# machine its own host name, which the v4 owner string also carries.
	# shellcheck disable=SC2016
	nsenter --net="/run/netns/nfs-$c" unshare --uts sh -c \
		'hostname "$1" && exec mount -t nfs -o "$2" "$3" "$4"' sh \
		"ajio-nfs-client-$c" "vers=$v,$MOUNT_OPTS$more" \
		"198.18.$n.1:$path" "$mp"
}

mount_opts() {	# mountpoint: the options in effect, as the kernel reports them
	awk -v mp="$1" '$2 == mp { print $4 }' /proc/mounts
}

mapfile -d '' -t caller_env <"$WORK/env"
mapfile -d '' -t cmd <"$WORK/cmd"
cwd=$(cat "$WORK/cwd")

run_version() {	# NFS version (3 or 4.2)
	local v=$1 fs=nfs$1 m=/run/ajio-nfs/mnt/nfs$1 pid rc=0 c e opts_a opts_b

	# the small export starts empty for every run
	find "$EXPORTS/full" -mindepth 1 -delete
	for c in a b; do
		for e in main full; do
			mount_nfs "$c" "$v" "$e" "$m/$c/$e"
		done
	done
	mount_nfs a "$v" ro "$m/a/ro"
	# NFSv3 without NLM (nolock): locks stay on the client, which ajio must warn about.
	local nolock=
	if [ "$v" = 3 ]; then
		mount_nfs a "$v" main "$m/a/nolock" nolock
		nolock="$m/a/nolock/run-$fs"
	fi
	mkdir "$m/a/main/run-$fs" "$m/a/full/run-$fs"
	stamp "mounted-$fs"

	opts_a=$(mount_opts "$m/a/main")
	opts_b=$(mount_opts "$m/b/main")
	while [ "${EPOCHREALTIME/./}" -lt "$grace_end" ]; do
		sleep 0.2
	done
	(
		{ set +x; } 2>/dev/null	# CMD's stderr is its own
		trap - ERR
		umask "$UMASK"
		cd "$cwd" || exit 1
		exec setsid env -i "${caller_env[@]}" \
			AJIO_SHARED_FS="$fs" \
			AJIO_SHARED_A="$m/a/main/run-$fs" \
			AJIO_SHARED_B="$m/b/main/run-$fs" \
			AJIO_SHARED_FULL_A="$m/a/full/run-$fs" \
			AJIO_SHARED_FULL_B="$m/b/full/run-$fs" \
			AJIO_SHARED_RO_A="$m/a/ro" \
			AJIO_SHARED_NOLOCK_A="$nolock" \
			AJIO_SHARED_CTL="$CTL" \
			AJIO_SHARED_OPTS_A="$opts_a" \
			AJIO_SHARED_OPTS_B="$opts_b" \
			"${cmd[@]}"
	) </dev/null >"$WORK/out.$fs" 2>"$WORK/err.$fs" &
	pid=$!
	wait "$pid" || rc=$?
	echo "$rc" >"$WORK/rc.$fs"
	stamp "ran-$fs"

	# what CMD left behind must not keep the mounts busy
	pkill -KILL -s "$pid" || true
	if [ "$(cat /proc/fs/nfsd/threads)" = 0 ]; then
		"$CTL" start	# CMD stopped the server and did not restart it
	fi
	awk -v m="$m/" 'index($2, m) == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r mp; do
			umount "$mp" || umount -l "$mp"
		done
}

for v in $VERSIONS; do
	run_version "$v"
done
stamp "done"
poweroff_now

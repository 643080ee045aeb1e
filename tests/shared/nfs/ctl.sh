#!/bin/bash
# AJIO_SHARED_CTL: control the NFS server of the UML guest (run inside it).
#
#   stop     stop serving: all nfsd threads end, and the server's lockd with
#            them; hard-mounted clients block until "start"
#   start    serve again
# Together they restart the NFS service as "systemctl restart nfs-server"
# does on a Linux server: NFSv4 state is dropped with nfsd and the clients
# reclaim it in the grace period; NFSv3 (NLM) locks stay with the server
# kernel, which keeps them while lockd is down.
#   status   print the number of nfsd threads
#   clients  print what the server knows of each NFSv4 client
#   nlm-peers  print the NLM (NFSv3 lock) peers the server's statd monitors
#
# Each returns once done.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

THREADS=8
# NFSv4 lease and grace time in seconds (10 is the least nfsd takes); the
# grace period ends early once every known client has reclaimed (nfsdcld).
# They are set here rather than with rpc.nfsd --grace-time, which would set
# lockd's grace period as well: that one stays at the 3 s of the module
# parameters, as NFSv3 clients have nothing to reclaim after a restart.
# While the NFSv4 grace period lasts, lockd grants no new locks either.
LEASE=15
GRACE=15

threads() { cat /proc/fs/nfsd/threads; }

case ${1-} in
stop)
	rpc.nfsd 0
	while [ "$(threads)" != 0 ]; do sleep 0.1; done
	;;
start)
	[ "$(threads)" = 0 ] || exit 0
	echo "$LEASE" >/proc/fs/nfsd/nfsv4leasetime
	echo "$GRACE" >/proc/fs/nfsd/nfsv4gracetime
	rpc.nfsd "$THREADS"
	while [ "$(threads)" = 0 ]; do sleep 0.1; done
	;;
status)
	threads
	;;
clients)
	for d in /proc/fs/nfsd/clients/*/; do
		[ -e "$d/info" ] || continue
		cat "$d/info"
		echo
	done
	;;
nlm-peers)
	ls /var/lib/nfs/sm
	;;
*)
	echo "usage: $0 stop|start|status|clients|nlm-peers" >&2
	exit 2
	;;
esac

#!/bin/bash
# AJIO_SHARED_CTL: control the NFS server of the UML guest (run inside it).
#
#   stop     stop serving: all nfsd threads end, the server's lockd with them;
#            hard-mounted clients block until "start"
#   start    serve again: a restart as after a server reboot, so NFSv4
#            clients reclaim their state in the grace period, and NFSv3
#            clients are told by sm-notify to reclaim their locks
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
LEASE=15
GRACE=15

threads() { cat /proc/fs/nfsd/threads; }

case ${1-} in
stop)
	rpc.nfsd 0
	while [ "$(threads)" != 0 ]; do sleep 0.1; done
	;;
start)
	rpc.nfsd --lease-time "$LEASE" --grace-time "$GRACE" "$THREADS"
	while [ "$(threads)" = 0 ]; do sleep 0.1; done
	# statd of the server keeps the NLM peers that hold locks; tell them
	sm-notify -f
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

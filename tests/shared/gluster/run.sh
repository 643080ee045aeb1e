#!/bin/bash
# tests/shared/gluster/run.sh CMD [ARGS...] - run CMD against a private GlusterFS.
#
# Brings up glusterd, its bricks and five glusterfs FUSE clients inside a private network
# namespace (glusterd refuses loopback addresses, and the namespace keeps every port away from
# the host), runs CMD on the host with the mounts described by AJIO_SHARED_* (see README.md),
# tears everything down and exits with CMD's status.
#
# Environment (optional): AJIO_SHARED_TIMEOUT (default 600) total seconds for bring-up, CMD and
# teardown; AJIO_SHARED_KEEP=1 keeps the work directory (state, logs) after the run;
# AJIO_SHARED_TMPDIR (default $TMPDIR or /tmp) where the work directory is made.
# Exit: CMD's status; 77 (one line "skip: REASON") when root, /dev/fuse, ip netns or glusterfs
# is missing, 1 with "FAIL: REASON" instead under CI=true; 1 when the harness itself fails;
# 124 when AJIO_SHARED_TIMEOUT ran out.
set -eu

# A closed standard descriptor would be reused by the first file opened: glusterfs would then
# lose /dev/fuse when it daemonises (and closes 0-2). /dev/null stands in for a closed one.
[ -e /proc/$$/fd/0 ] || exec </dev/null
[ -e /proc/$$/fd/1 ] || exec >/dev/null
[ -e /proc/$$/fd/2 ] || exec 2>/dev/null

here=$(cd "$(dirname "$0")" && pwd)
# glusterd, mount.glusterfs and ip live in sbin, which a non-login root shell may lack; CMD gets
# the caller's PATH back.
caller_path=$PATH
PATH=$PATH:/usr/sbin:/sbin
timeout_total=${AJIO_SHARED_TIMEOUT:-600}

# Addresses inside the namespace: the servers listen on .1, .2 is the other end of the veth.
srv_ip=10.88.0.1
peer_ip=10.88.0.2
# One namespace per run, named after this shell, so a stale one (a run killed with SIGKILL) can
# be told from a live one and two runs never share glusterd.
ns=ajgl-$$
# Bricks are tmpfs: no loop devices to leak, trusted.* xattrs and hard links work. The main
# size is a ceiling, memory is only used as files are written; the full volume must fill fast.
main_size=${AJIO_SHARED_MAIN_SIZE:-512m}
full_size=12m

# The skip rule of the root-only suites (exit 77; a failure under CI=true).
SUITE=shared/gluster
. "$here/../../lib/loopfs.sh"

[ $# -ge 1 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || skip "not root (network namespace, FUSE mounts)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
if ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
    skip "no ip netns (apt-get install iproute2)"
fi
for tool in glusterd gluster glusterfs; do
    command -v "$tool" >/dev/null || skip "$tool missing (apt-get install glusterfs-server glusterfs-client)"
done
[ -x /sbin/mount.glusterfs ] || skip "mount.glusterfs missing (apt-get install glusterfs-client)"
for tool in nsenter unshare timeout setsid findmnt; do
    command -v "$tool" >/dev/null || skip "$tool missing (apt-get install util-linux coreutils)"
done

base=${AJIO_SHARED_TMPDIR:-${TMPDIR:-/tmp}}
W=$(mktemp -d "$base/ajio-gl.XXXXXX")
# /proc/self/mounts escapes blanks, and glusterd brick paths cannot hold them either.
case $W in *[[:space:]]*) echo "FAIL: work directory '$W' contains blanks" >&2; rmdir "$W"; exit 1 ;; esac
mkdir "$W/state" "$W/run" "$W/log" "$W/mnt" "$W/bricks" "$W/bricks/main" "$W/bricks/full"
log=$W/log/run.sh.log
t0=$(date +%s.%N)

# State --------------------------------------------------------------------------------------
status=1        # exit status; CMD's once it ran
cmd_pid=
watchdog_pid=
glusterd_pid=
ns_made=
mounts=()       # client mount points, in mount order
created_dirs=() # host directories made only to hold an overlay mount
# Host paths glusterd 10.3 writes to even when told about a private working directory (found by
# experiment: geo-replication/gsyncd_template.conf and ss_brick in /var/lib/glusterd, brick
# sockets and snaps/ in /run/gluster). glusterd gets a private tmpfs over each of them.
overlay_dirs=(/var/lib/glusterd "$(readlink -f /var/run)/gluster" /var/log/glusterfs)

say() { echo "run.sh: $*" >&2; }
# shellcheck disable=SC2317 # used by cleanup
# note: a timestamped line in the log, for the slow steps.
note() { echo "--- $(elapsed)s $*" >>"$log"; }
elapsed() { echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }'; }
die() {
    say "FAIL: $*"
    [ -s "$log" ] && tail -n 15 "$log" | sed 's/^/    /' >&2
    exit 1
}
# must CMD...: a setup step; its output goes to the log, a failure ends the run.
must() { "$@" >>"$log" 2>&1 || die "$* (exit $?)"; }
# The gluster CLI writes /var/lib/glusterd/geo-replication/gsyncd_template.conf whatever it is
# told: it runs in glusterd's namespaces, under the same overlays.
gl_timeout=60
gl() {
    # Never from the host's mount namespace (before glusterd's own exists).
    [ "$(readlink "/proc/$glusterd_pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || return 1
    timeout "$gl_timeout" nsenter --target "$glusterd_pid" --mount --net -- \
        gluster --mode=script --glusterd-sock="$W/run/glusterd.socket" --log-file="$W/log/cli.log" "$@"
}

# What the host holds of GlusterFS state, to prove afterwards that the run left nothing there.
host_state() {
    local d
    for d in "${overlay_dirs[@]}" /etc/glusterfs /var/lib/misc/glusterfsd; do
        [ -e "$d" ] && find "$d" -printf '%p %y %s %T@\n'
    done | sort
}

is_mounted() { awk -v mp="$1" '$2 == mp { found = 1 } END { exit !found }' /proc/self/mounts; }

# wait_gone PID...: until the processes are reaped. PID 1 of some containers reaps orphans late,
# and a zombie still shows in pgrep and makes glusterd think a brick still runs.
wait_gone() {
    local p i
    for i in $(seq 1 100); do
        p=
        for p in "$@"; do [ -e "/proc/$p" ] && break; p=; done
        [ -z "$p" ] && return 0
        sleep 0.2
    done
    return 1
}

# A namespace ajgl-PID whose run.sh is gone: unmount its clients, kill its processes, delete it.
# Gone means no process PID at all: a reused pid only delays the removal, while guessing from a
# command line could take a live run (started through another path) for a dead one.
remove_stale_namespaces() {
    local name owner pids p mp
    for name in $(ip netns list | awk '{ print $1 }'); do
        case $name in ajgl-[0-9]*) ;; *) continue ;; esac
        owner=${name#ajgl-}
        [ -e "/proc/$owner" ] && continue
        pids=$(ip netns pids "$name")
        for p in $pids; do
            # A FUSE client's last argument is its mount point.
            [ "$(cat "/proc/$p/comm" 2>/dev/null)" = glusterfs ] || continue
            mp=$(tr '\0' '\n' <"/proc/$p/cmdline" | tail -n 1)
            is_mounted "$mp" && umount -l "$mp"
        done
        for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
        # shellcheck disable=SC2086
        wait_gone $pids || true
        ip netns del "$name"
        say "removed stale namespace $name"
    done
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    local rc=$? p pids='' vol left
    # No second cleanup from a late signal; every step below is bounded.
    trap '' INT TERM HUP ALRM
    trap - EXIT
    set +e
    [ "$status" = 1 ] && [ "$rc" != 0 ] && status=$rc
    local t_down
    t_down=$(date +%s.%N)
    [ -n "$watchdog_pid" ] && kill "$watchdog_pid" 2>/dev/null
    # CMD's process group, also after CMD exited: what it left in the background would keep the
    # mounts busy.
    if [ -n "$cmd_pid" ] && kill -TERM -- "-$cmd_pid" 2>/dev/null; then
        sleep 1
        kill -KILL -- "-$cmd_pid" 2>/dev/null
    fi
    # Every process of ours, taken while all are alive: one that exits stays a zombie until
    # reaped, and a zombie has left the namespace already.
    [ -n "$ns_made" ] && pids=$(ip netns pids "$ns")
    # A brick left stopped by "ctl pause" would stall every client call, umount's included.
    for p in $pids; do kill -CONT "$p" 2>/dev/null; done
    # Shorter limits: the teardown may start when AJIO_SHARED_TIMEOUT has run out already.
    gl_timeout=20
    note "teardown: unmount clients"
    # Clients first: a client killed while mounted leaves a dead mount behind. A busy mount (CMD
    # left a process inside) is detached lazily; killing its client below ends it.
    for ((p = ${#mounts[@]} - 1; p >= 0; p--)); do
        is_mounted "${mounts[p]}" || continue
        # -c: no path canonicalisation, which would stat the mount point through the client.
        timeout 20 umount -c "${mounts[p]}" >>"$log" 2>&1 || umount -c -l "${mounts[p]}" >>"$log" 2>&1
    done
    if [ -n "$glusterd_pid" ] && [ -e "/proc/$glusterd_pid" ]; then
        note "teardown: stop volumes, glusterd"
        for vol in vol full ro; do gl volume stop "$vol" force >>"$log" 2>&1; done
        kill -TERM "$glusterd_pid" 2>/dev/null
        wait_gone "$glusterd_pid"
    fi
    if [ -n "$ns_made" ]; then
        note "teardown: kill what is left, delete namespace"
        # Everything left in the namespace is ours: glusterd, bricks, clients.
        for p in $(ip netns pids "$ns"); do kill -KILL "$p" 2>/dev/null; pids="$pids $p"; done
        # shellcheck disable=SC2086
        wait_gone $pids || { say "FAIL: processes of $ns not reaped:" $pids; [ "$status" = 0 ] && status=1; }
        ip netns del "$ns" || { say "FAIL: could not delete namespace $ns"; [ "$status" = 0 ] && status=1; }
    fi
    for p in "${created_dirs[@]}"; do rmdir "$p"; done
    if [ -n "${host_before:-}" ] && [ "$(host_state)" != "$host_before" ]; then
        say "FAIL: host GlusterFS state changed:"
        diff <(echo "$host_before") <(host_state) | sed 's/^/    /' >&2
        [ "$status" = 0 ] && status=1
    fi
    left=$(awk -v w="$W/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts)
    [ -n "$left" ] && { say "FAIL: still mounted: $left"; [ "$status" = 0 ] && status=1; }
    if [ "${AJIO_SHARED_KEEP:-}" = 1 ]; then
        say "kept $W"
    elif [ "$status" != 0 ] && [ "$status" != 77 ] && [ -z "$left" ]; then
        # Keep the logs of a failed run, drop the rest.
        rm -rf "${W:?}/state" "${W:?}/run" "${W:?}/mnt" "${W:?}/bricks" "${W:?}/ctl" "${W:?}/ctl.env"
        say "logs kept in $W/log"
    elif [ -z "$left" ]; then
        rm -rf "$W"
    fi
    say "teardown $(echo "$(date +%s.%N) $t_down" | awk '{ printf "%.1f", $1 - $2 }')s, total $(elapsed)s, exit $status"
    exit "$status"
}
trap cleanup EXIT
trap 'status=130; exit 130' INT
trap 'status=143; exit 143' TERM HUP
trap 'say "FAIL: AJIO_SHARED_TIMEOUT=${timeout_total}s ran out after $(elapsed)s"; status=124; exit 124' ALRM

# The watchdog: one background sleep for the whole run, SIGALRM to this shell when it ends. Each
# foreground step below is bounded by timeout(1), so the trap runs within a minute of it; CMD
# runs in the background, so the trap interrupts the wait at once.
(
    s=
    trap '[ -n "$s" ] && kill "$s" 2>/dev/null; exit 0' TERM
    sleep "$timeout_total" &
    s=$!
    wait "$s"
    # Only while run.sh is still our parent: after a SIGKILL its pid may be someone else's.
    # ($BASHPID read here: inside $(...) it would be the command substitution's.)
    me=$BASHPID
    [ "$(awk '{ print $4 }' "/proc/$me/stat")" = $$ ] && kill -ALRM $$
) &
watchdog_pid=$!

host_before=$(host_state)
remove_stale_namespaces

# Network: a veth pair with both ends in the namespace; all traffic stays inside it.
must ip netns add "$ns"
ns_made=1
must ip -n "$ns" link set lo up
must ip -n "$ns" link add gl0 type veth peer name gl1
must ip -n "$ns" addr add "$srv_ip/24" dev gl0
must ip -n "$ns" addr add "$peer_ip/24" dev gl1
must ip -n "$ns" link set gl0 up
must ip -n "$ns" link set gl1 up

for d in "${overlay_dirs[@]}"; do
    if [ ! -d "$d" ]; then
        must mkdir -p "$d"
        created_dirs+=("$d")
    fi
done

# glusterd in the namespace and in a mount namespace of its own (the host's root mount is
# private here, so later host mounts would not reach it anyway). In that mount namespace: the
# tmpfs overlays over the host's GlusterFS paths and the brick filesystems, so bricks vanish with
# the last brick process and the host never sees them. -N keeps glusterd our child, reaped by
# this shell; bricks are orphans of glusterd. Paths are passed as arguments, not spliced in.
# shellcheck disable=SC2016 # the script expands its own arguments
ip netns exec "$ns" unshare --mount --propagation private -- bash -c '
    set -eu
    W=$1 main_size=$2 full_size=$3 srv_ip=$4
    shift 4
    for d in "$@"; do mount -t tmpfs -o size=16m,mode=0755 ajgl-private "$d"; done
    mount -t tmpfs -o "size=$main_size,mode=0755" ajgl-main "$W/bricks/main"
    mount -t tmpfs -o "size=$full_size,mode=0755" ajgl-full "$W/bricks/full"
    mkdir "$W/bricks/main/vol" "$W/bricks/main/ro" "$W/bricks/full/full"
    exec glusterd -N \
        --xlator-option "management.working-directory=$W/state" \
        --xlator-option "management.run-directory=$W/run" \
        --xlator-option "management.glusterd-sockfile=$W/run/glusterd.socket" \
        --xlator-option "management.logging-directory=$W/log" \
        --xlator-option "management.transport.socket.bind-address=$srv_ip" \
        --log-file="$W/log/glusterd.log" --pid-file="$W/run/glusterd.pid"
' glusterd-launch "$W" "$main_size" "$full_size" "$srv_ip" "${overlay_dirs[@]}" >>"$log" 2>&1 &
glusterd_pid=$!

for i in $(seq 1 150); do
    [ -e "/proc/$glusterd_pid" ] || die "glusterd exited (see $W/log/glusterd.log)"
    # comm turns to glusterd at the exec, once the overlays are mounted.
    [ "$(cat "/proc/$glusterd_pid/comm")" = glusterd ] && gl volume list >/dev/null 2>&1 && break
    [ "$i" = 150 ] && die "glusterd not answering after 30 s (see $W/log/glusterd.log)"
    sleep 0.2
done

# Three single-brick volumes: vol (main), full (small, for ENOSPC), ro (read-only).
must gl volume create vol "$srv_ip:$W/bricks/main/vol"
must gl volume create full "$srv_ip:$W/bricks/full/full"
must gl volume create ro "$srv_ip:$W/bricks/main/ro"
# AJIO_GLUSTER_VOLUME_SET: "KEY VALUE" pairs, separated by ';' or newlines, set on vol and full
# before they start: the volume options docs/fs-matrix.md names (client caches off).
while read -r key value; do
    [ -n "$key" ] || continue
    for vol in vol full; do must gl volume set "$vol" "$key" "$value"; done
done < <(tr ';' '\n' <<<"${AJIO_GLUSTER_VOLUME_SET-}")
for vol in vol full ro; do must gl volume start "$vol"; done

# Clients: mount(8) in this (the host's) mount namespace, so the mounts are visible to CMD, with
# the glusterfs client process in the network namespace. Options: the log file, and whatever
# AJIO_GLUSTER_MOUNT_OPTS adds (e.g. entry-timeout=0,attribute-timeout=0); by default caches are
# left at the defaults users get.
mount_client() { # NAME VOLUME
    local mp=$W/mnt/$1
    mkdir "$mp"
    must timeout 60 nsenter --net="/run/netns/$ns" -- \
        mount -t glusterfs -o "log-file=$W/log/client-$1.log${AJIO_GLUSTER_MOUNT_OPTS:+,$AJIO_GLUSTER_MOUNT_OPTS}" \
        "$srv_ip:/$2" "$mp"
    mounts+=("$mp")
    # A mount that silently failed would leave a plain directory on the host's disk: a full-disk
    # test would then fill the host.
    [ "$(findmnt -n -o FSTYPE --mountpoint "$mp")" = fuse.glusterfs ] || die "$mp is not a glusterfs mount"
}
mount_client a vol
mount_client b vol
mount_client full-a full
mount_client full-b full
mount_client ro-a ro

must mkdir "$W/mnt/a/work" "$W/mnt/full-a/work" "$W/mnt/ro-a/ro"
[ -d "$W/mnt/b/work" ] || die "client B does not see the directory made through client A"
[ -d "$W/mnt/full-b/work" ] || die "client full-b does not see the directory made through full-a"

# The read-only volume: ro.json goes in through the client before the brick turns read-only
# (features.read-only is a brick-side translator: every client is refused, not just this one).
printf '{"ro":true}\n' >"$W/mnt/ro-a/ro/ro.json"
must gl volume set ro features.read-only on
# The brick picks up the option asynchronously: wait until a write is refused.
for i in $(seq 1 100); do
    if (: >"$W/mnt/ro-a/ro/.probe") 2>/dev/null; then
        rm -f "$W/mnt/ro-a/ro/.probe"
    else
        break
    fi
    [ "$i" = 100 ] && die "volume ro still writable 20 s after features.read-only on"
    sleep 0.2
done

# For the debugging of a failed run: every option of the main volume, defaults included.
gl volume get vol all >"$W/log/vol-options.txt" 2>&1 || true

# ctl: a fixed path CMD can run without knowing about this directory.
cat >"$W/ctl.env" <<EOF
ns=$ns
W=$W
vol=vol
clients="$W/mnt/a $W/mnt/b"
EOF
cat >"$W/ctl" <<EOF
#!/bin/sh
exec "$here/ctl.sh" "$W" "\$@"
EOF
chmod +x "$W/ctl"

say "up in $(elapsed)s (namespace $ns, work directory $W)"

export AJIO_SHARED_FS=glusterfs
export AJIO_SHARED_A=$W/mnt/a/work
export AJIO_SHARED_B=$W/mnt/b/work
export AJIO_SHARED_FULL_A=$W/mnt/full-a/work
export AJIO_SHARED_FULL_B=$W/mnt/full-b/work
export AJIO_SHARED_RO_A=$W/mnt/ro-a/ro
export AJIO_SHARED_CTL=$W/ctl
export AJIO_SHARED_OPTS_A="log-file=$W/log/client-a.log${AJIO_GLUSTER_MOUNT_OPTS:+,$AJIO_GLUSTER_MOUNT_OPTS}"
export AJIO_SHARED_OPTS_B="log-file=$W/log/client-b.log${AJIO_GLUSTER_MOUNT_OPTS:+,$AJIO_GLUSTER_MOUNT_OPTS}"

# CMD in a session of its own (setsid does not fork here: a background child of a shell without
# job control is no process group leader), so a timeout can kill all of it. Its stdin is ours,
# not the /dev/null a background job would get.
t_cmd=$(date +%s.%N)
exec 3<&0
PATH=$caller_path setsid -w "$@" <&3 3<&- &
cmd_pid=$!
exec 3<&-
set +e
wait "$cmd_pid"
status=$?
set -e
say "CMD exit $status after $(echo "$(date +%s.%N) $t_cmd" | awk '{ printf "%.1f", $1 - $2 }')s"
exit "$status"

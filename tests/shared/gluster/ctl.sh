#!/bin/bash
# tests/shared/gluster/ctl.sh WORKDIR ACTION - make the main volume unavailable and back.
#
# run.sh writes WORKDIR/ctl, a two-line wrapper that passes its WORKDIR; CMD runs that as
# "$AJIO_SHARED_CTL" ACTION. Each action returns once its effect is in place:
#   stop    SIGKILL the brick of volume "vol" (a server crash). Returns when the brick is reaped
#           and clients A and B have seen the connection drop: from then on their calls fail at
#           once with ENOTCONN (nothing blocks).
#   start   bring the brick back (SIGCONT if it is paused, "gluster volume start vol force" if it
#           is gone). Returns when the brick runs and A and B are connected again (they retry
#           every 3 s, so this takes up to about 3 s).
#   pause   SIGSTOP the brick (a hung server). Calls of A and B block; after network.ping-timeout
#           (42 s by default) the clients give up and fail them with ENOTCONN.
#   resume  SIGCONT the brick; blocked calls complete. Returns when A and B are connected.
#   status  print the brick pid and state, and whether A and B are connected.
# Exit 0 when done, 1 when the effect could not be reached in time, 2 on usage errors.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 WORKDIR stop|start|pause|resume|status" >&2; exit 2; }
W=$1
action=$2
# ns, W, vol, clients (the mount points of clients A and B of volume $vol).
ns='' vol='' clients=''
# shellcheck source=/dev/null
. "$W/ctl.env"

say() { echo "ctl $action: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

# Only a process in our network namespace may be signalled: a stale pid file must never make us
# kill a stranger that reused the pid.
ns_ino=$(stat -L -c %i "/run/netns/$ns")
ours() { [ "$(stat -L -c %i "/proc/$1/ns/net" 2>/dev/null)" = "$ns_ino" ]; }

# The CLI runs in glusterd's mount namespace, whose tmpfs overlays catch what it writes to the
# host's /var/lib/glusterd (see run.sh).
gl() {
    local g
    g=$(cat "$W/run/glusterd.pid")
    ours "$g" || fail "glusterd ($g) is not running"
    [ "$(readlink "/proc/$g/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || fail "glusterd ($g) shares our mount namespace"
    timeout 60 nsenter --target "$g" --mount --net -- \
        gluster --mode=script --glusterd-sock="$W/run/glusterd.socket" --log-file="$W/log/cli.log" "$@"
}

# proc_state PID: R, S, D, T (stopped), Z (zombie), or nothing when the pid is gone.
proc_state() { sed -n 's/^.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true; }

# The brick process of $vol: from glusterd's pid file, checked to be a live glusterfsd of ours.
brick_pid() {
    local f p
    for f in "$W/run/vols/$vol"/*.pid; do
        [ -s "$f" ] || continue
        p=$(cat "$f")
        ours "$p" || continue
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = glusterfsd ] || continue
        case $(proc_state "$p") in '' | Z) continue ;; esac
        echo "$p"
        return 0
    done
    return 1
}

# connected MOUNTPOINT: the client's own view of its brick connection. The meta translator
# serves it from the client process; timeout because a paused brick may hold the lookup.
connected() {
    [ "$(timeout 5 grep -h '^connected = ' "$1/.meta/graphs/active/$vol-client-0/private" 2>/dev/null)" = "connected = 1" ]
}

# until_true SECONDS WHAT CMD...: poll every 0.1 s.
until_true() {
    local limit=$1 what=$2 _
    shift 2
    for _ in $(seq 1 $((limit * 10))); do
        "$@" && return 0
        sleep 0.1
    done
    fail "$what not reached after ${limit}s"
}

gone() { [ -z "$(proc_state "$1")" ]; }
stopped() { [ "$(proc_state "$1")" = T ]; }
running() { local p; p=$(brick_pid) && ! stopped "$p"; }
all_connected() { local c; for c in $clients; do connected "$c" || return 1; done; }
none_connected() { local c; for c in $clients; do connected "$c" && return 1; done; return 0; }

t0=$(date +%s.%N)
took() { echo "$(date +%s.%N) $t0" | awk '{ printf "%.1fs", $1 - $2 }'; }

case $action in
stop)
    if p=$(brick_pid); then
        kill -KILL "$p"
        # glusterd takes a brick whose pid still exists (even as a zombie) for running, and
        # would then not restart it: wait for the reaping.
        until_true 20 "brick $p reaped" gone "$p"
    fi
    until_true 10 "clients disconnected" none_connected
    say "brick ${p:-(none)} killed, clients disconnected ($(took))"
    ;;
start)
    if p=$(brick_pid) && stopped "$p"; then
        kill -CONT "$p"
    elif ! brick_pid >/dev/null; then
        gl volume start "$vol" force >>"$W/log/ctl.log" 2>&1 || fail "gluster volume start $vol force (see $W/log/ctl.log)"
    fi
    until_true 30 "brick running" running
    until_true 30 "clients connected" all_connected
    say "brick $(brick_pid) running, clients connected ($(took))"
    ;;
pause)
    p=$(brick_pid) || fail "no brick running"
    kill -STOP "$p"
    until_true 10 "brick $p stopped" stopped "$p"
    say "brick $p stopped with SIGSTOP ($(took))"
    ;;
resume)
    p=$(brick_pid) || fail "no brick to resume"
    kill -CONT "$p"
    until_true 30 "clients connected" all_connected
    say "brick $p continued, clients connected ($(took))"
    ;;
status)
    if p=$(brick_pid); then echo "brick $p state $(proc_state "$p")"; else echo "brick down"; fi
    for c in $clients; do
        if connected "$c"; then echo "client $c connected"; else echo "client $c disconnected"; fi
    done
    ;;
*)
    echo "usage: $0 WORKDIR stop|start|pause|resume|status" >&2
    exit 2
    ;;
esac

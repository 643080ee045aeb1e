#!/bin/bash
# tests/shared/cases.sh - the cross-client cases, the CMD of every harness in tests/shared/:
#
#     tests/shared/local/run.sh bash tests/shared/cases.sh [CASE...]
#
# Each case runs one process per client at once (tests/shared/xclient.c), each on the same
# directory as its client sees it ($AJIO_SHARED_A, $AJIO_SHARED_B), asserts what the library
# promises there, and runs its negative control, which must be caught: a control that is not
# caught means the case could not have failed. Output, for the log alone to diagnose a failure:
#
#     case NAME FS: what ran and every count ... ok (N s)          or FAIL, then each problem
#     control NAME FS: counts ... caught                           or NOT caught
#     note NAME FS: ...                                            (reported, not judged)
#     summary: FS: N cases: N ok, N failed; controls: N caught, N not caught
#
# Cases: replace-readers update-both append-both create-race sweep-live batch full-disk
# read-only outage (all by default). Loops stop at a deadline of XC_PHASE_SECONDS (default 4)
# whatever their count, so that a slow filesystem shortens a case instead of the suite's time
# running out; the counts (XC_REPLACES, XC_UPDATES, XC_APPENDS, XC_CLI_APPENDS, XC_CREATES,
# XC_SET_ROUNDS, XC_SET_SECONDS, XC_DEAD_TEMPS, XC_HOLD_SECONDS, XC_OUTAGE_SECONDS) are upper
# bounds. Every child runs under timeout XC_TIMEOUT (default 60 s): a case whose client times
# out stops there, and after two such cases the others are not run. XC_XFAIL: known failures,
# "FS:CASE=REASON" lines (none by default), each printed on an "xfail" line and counted apart.
#
# Environment from the harness: AJIO_SHARED_FS, AJIO_SHARED_A, AJIO_SHARED_B,
# AJIO_SHARED_FULL_A, AJIO_SHARED_FULL_B, AJIO_SHARED_RO_A, AJIO_SHARED_CTL; AJIO_BUILD (default
# build). The local-fs control ($AJIO_BUILD/control/local-fs/: flock, cached sizes, group commit
# and no retried reads on every filesystem) runs in replace-readers (a reader beside the real
# ones), update-both and append-both, each run reported on a "note" line; on a shared
# filesystem at least one of them must catch it, which the closing "control local-fs" line
# says. It is not run on AJIO_SHARED_FS=local, which is what it assumes.
# Exit: 0 every case ok and every control caught, 1 otherwise, 2 when run without a harness.
set -eu

if [ -z "${AJIO_SHARED_FS:-}" ]; then
    echo "cases.sh: run me through a harness: tests/shared/{local,nfs,gluster}/run.sh" >&2
    exit 2
fi
FS=$AJIO_SHARED_FS
A=$AJIO_SHARED_A
B=$AJIO_SHARED_B
BUILD=$(cd "${AJIO_BUILD:-build}" && pwd)
XC=$BUILD/tests/shared/xclient
CLI=$BUILD/ajio
XC_LOCALFS=$BUILD/control/local-fs/tests/shared/xclient
for prog in "$XC" "$CLI"; do
    [ -x "$prog" ] || { echo "cases.sh: $prog missing: make shared-tools" >&2; exit 2; }
done

PHASE=${XC_PHASE_SECONDS:-4}
TMO=${XC_TIMEOUT:-60}
REPLACES=${XC_REPLACES:-400}
UPDATES=${XC_UPDATES:-200}
APPENDS=${XC_APPENDS:-200}
CLI_APPENDS=${XC_CLI_APPENDS:-20}
CREATES=${XC_CREATES:-60}
SET_ROUNDS=${XC_SET_ROUNDS:-2}
SET_SECONDS=${XC_SET_SECONDS:-2}
DEAD_TEMPS=${XC_DEAD_TEMPS:-3}
HOLD_SECONDS=${XC_HOLD_SECONDS:-4}
OUTAGE_SECONDS=${XC_OUTAGE_SECONDS:-2}
ALL_CASES="replace-readers update-both append-both create-race sweep-live batch full-disk read-only
outage warn"

S=$(mktemp -d "${TMPDIR:-/tmp}/ajio-xc.XXXXXX")
TALLY=$S/tally
cleanup() {
    # A full export left full would fail whatever runs on it next.
    rm -f "${AJIO_SHARED_FULL_A:-/nonexistent}/full/filler"
    rm -rf "$S"
}
trap cleanup EXIT

# ---- running clients ---------------------------------------------------------------------------
declare -A PID
NAMES=()
PROBLEMS=()
START_AT= UNTIL=

problem() { PROBLEMS+=("$*"); }

now_ms() { date +%s%3N; }

# phase [SECONDS]: the clients started next begin together, a moment from now (one clock for
# all: they would otherwise run one after the other, without a race), and stop together.
phase() {
    START_AT=$(($(now_ms) + ${XC_START_DELAY_MS:-300}))
    UNTIL=$((START_AT + ${1:-$PHASE} * 1000))
}

# start NAME CMD...: CMD in the background under timeout; its output in $S/NAME.out and .err.
start() {
    local name=$1
    shift
    NAMES+=("$name")
    XC_START_MS=$START_AT XC_UNTIL_MS=$UNTIL timeout -k 5 "$TMO" "$@" >"$S/$name.out" \
        2>"$S/$name.err" &
    PID[$name]=$!
}

# finish NAME...: waits for each, and ends the phase; a client that did not exit 0 is a
# problem of the case. One that timed out ends the case: what comes next would wait too.
finish() {
    local name rc hung=
    for name; do
        rc=0
        wait "${PID[$name]}" || rc=$?
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
            problem "$name timed out after ${TMO}s"
            hung="$hung $name"
        elif [ "$rc" != 0 ]; then
            problem "$name exited $rc"
        fi
    done
    START_AT= UNTIL=
    if [ -n "$hung" ]; then
        case_end "stopped:$hung timed out"
        exit 3
    fi
}

run() {
    start "$@"
    finish "$1"
}

# judge NAME CMD...: a check whose exit status 1 is a verdict, not a crash; returns it.
judge() {
    local name=$1 rc=0
    shift
    NAMES+=("$name")
    timeout -k 5 "$TMO" "$@" >"$S/$name.out" 2>"$S/$name.err" || rc=$?
    if [ "$rc" -gt 1 ]; then
        problem "$name exited $rc"
    fi
    return "$rc"
}

# The value of KEY in NAME's output; 0 when missing (the client's own failure is a problem).
val() {
    local v
    v=$(sed -n "s/^$2=//p" "$S/$1.out" 2>/dev/null | tail -n 1)
    echo "${v:-0}"
}

# What NAME's writes came to: "ok", or the error of its first failure.
res() {
    if [ "$(val "$1" failed)" = 0 ] && [ "$(val "$1" ok)" -gt 0 ]; then
        echo ok
    else
        val "$1" first_error
    fi
}

# want WHAT VALUE OP EXPECTED: a problem unless [ VALUE OP EXPECTED ].
want() {
    if ! [ "$2" "$3" "$4" ] 2>/dev/null; then
        local op
        case $3 in -eq | =) op="=" ;; -ne | !=) op="!=" ;; -gt) op=">" ;; -ge) op=">=" ;;
        -lt) op="<" ;; -le) op="<=" ;; *) op=$3 ;; esac
        problem "$1: $2 (expected $op $4)"
    fi
}

# want_err WHAT CLIENT ERRNO...: CLIENT's first failure is one of ERRNO, and its message names
# the file CLIENT was given (the last path component, which every message quotes).
want_err() {
    local what=$1 name=$2 file=$3 got
    shift 3
    got=$(val "$name" first_error)
    case " $* " in *" $got "*) ;; *) problem "$what: error $got (expected one of $*)" ;; esac
    if ! grep -qF "$file" "$S/$name.err"; then
        problem "$what: the message does not name $file: $(head -n 1 "$S/$name.err")"
    fi
}

# Temps of FILE in DIR, by the one shape of their names.
temps() {
    ls -a "$1" | grep -c "^\.$2\.ajio-[0-9a-f]\{16\}\.tmp\$" || true
}

# counter FILE-through-A FILE-through-B: FINAL, the counter read through ajio_update() (of the
# build under test: a read that is out of date can only show updates lost, never hide them) on
# each client, the higher of the two: one client's cache does not count as a lost update.
counter() {
    local a b
    a=$("$XC" counter "$1" 2>/dev/null | sed -n 's/^n=//p')
    b=$("$XC" counter "$2" 2>/dev/null | sed -n 's/^n=//p')
    if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; then
        echo "note $CASE $FS: the counter reads $a through A, $b through B"
    fi
    if [ -z "$a" ] || { [ -n "$b" ] && [ "$b" -gt "$a" ]; }; then
        a=$b
    fi
    FINAL=${a:-unreadable}
}

wait_for_file() {
    local i
    for ((i = 0; i < TMO * 10; i++)); do
        [ -e "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

case_begin() {
    CASE=$1
    NAMES=()
    PROBLEMS=()
    T_CASE=$(date +%s)
    mkdir -p "$A/$CASE"
}

# case_end TEXT...: the case's line; on failure each problem and what its clients printed.
case_end() {
    local secs=$(($(date +%s) - T_CASE)) name p
    if [ ${#PROBLEMS[@]} -eq 0 ]; then
        echo "case ok" >>"$TALLY"
        echo "case $CASE $FS: $* ok (${secs} s)"
        return 0
    fi
    echo "case failed" >>"$TALLY"
    echo "case $CASE $FS: $* FAIL (${secs} s)"
    for p in "${PROBLEMS[@]}"; do
        echo "    problem: $p"
    done
    for name in "${NAMES[@]}"; do
        [ -e "$S/$name.out" ] || continue
        echo "    $name: $(tr '\n' ' ' <"$S/$name.out")"
        sed -n '1,8s/^/    '"$name"' stderr: /p' "$S/$name.err"
    done
}

# local_fs CASE CAUGHT TEXT...: one run of the local-fs control, judged with the others at the end.
local_fs() {
    local c=$1 caught=$2
    shift 2
    echo "local-fs $c $caught" >>"$TALLY"
    echo "note local-fs-$c $FS: $* ($([ "$caught" = 1 ] && echo caught || echo not caught))"
}

# control NAME CAUGHT TEXT...
control() {
    local name=$1 caught=$2
    shift 2
    if [ "$caught" = 1 ]; then
        echo "control caught" >>"$TALLY"
        echo "control $name $FS: $* caught"
    else
        echo "control missed" >>"$TALLY"
        echo "control $name $FS: $* NOT caught: the case could not have failed"
    fi
}

# ---- replace-readers ---------------------------------------------------------------------------
# One client replaces a document while the other reads it, plainly and through the library's
# reader, and a plain reader on the writer's client too: every read is the whole of some
# version (ESTALE and ENOENT on plain opens are the client's and are counted, not judged,
# except on a local filesystem; the library's reader must have neither); the last version is
# what the other client's library reader then reads, within XC_SETTLE_MS (a client's caches may
# serve the older version for a while: the time is printed, and what a plain read then gets).
# Control: in-place writes, which the same readers must see torn.
plain_text() {
    echo "plain reads $(val "$1" reads) (whole $(val "$1" whole), torn $(val "$1" torn)," \
        "empty $(val "$1" empty), ESTALE $(val "$1" estale), ENOENT $(val "$1" enoent)," \
        "other errors $(val "$1" other_errors), backwards $(val "$1" backwards))"
}

lib_text() {
    echo "lib reads $(val "$1" reads) (whole $(val "$1" whole), torn $(val "$1" torn)," \
        "empty $(val "$1" empty), errors" \
        "$(($(val "$1" estale) + $(val "$1" enoent) + $(val "$1" other_errors))))"
}

case_replace_readers() {
    local f=replace-readers/doc.json g=replace-readers/naive.json
    case_begin replace-readers
    run init "$XC" replace "$A/$f" 1 0
    start rp "$XC" read-plain "$B/$f" "$TMO"
    start rl "$XC" read-lib "$B/$f" "$TMO"
    # A reader on the writer's own client too: it holds the file open as the writer renames
    # over it, so that an NFS client renames it away first (a silly rename), and for that
    # moment the other client finds no name.
    start rpa "$XC" read-plain "$A/$f" "$TMO"
    local lf=
    if [ "$FS" != local ] && [ -x "$XC_LOCALFS" ]; then
        lf=lfrl
        start lfrl "$XC_LOCALFS" read-lib "$B/$f" "$TMO"
    fi
    sleep 0.2
    phase
    run w "$XC" replace "$A/$f" "$REPLACES" 1
    kill -TERM "${PID[rp]}" "${PID[rl]}" "${PID[rpa]}" ${lf:+"${PID[$lf]}"} 2>/dev/null || true
    finish rp rl rpa $lf
    judge final "$XC" check-lib-doc "$B/$f" "$(val w last_v)" || true
    XC_SETTLE_MS=0 judge plain "$XC" check-doc "$B/$f" || true
    want "writer failures" "$(val w failed)" -eq 0
    want "plain torn reads" "$(val rp torn)" -eq 0
    want "plain empty reads" "$(val rp empty)" -eq 0
    want "plain reads failing otherwise than ESTALE/ENOENT" "$(val rp other_errors)" -eq 0
    want "plain whole reads" "$(val rp whole)" -gt 0
    want "plain torn reads on A" "$(val rpa torn)" -eq 0
    want "plain empty reads on A" "$(val rpa empty)" -eq 0
    want "plain reads on A failing otherwise than ESTALE/ENOENT" "$(val rpa other_errors)" -eq 0
    if [ "$FS" = local ]; then
        want "plain ENOENT on a local filesystem" "$(($(val rp enoent) + $(val rpa enoent)))" -eq 0
        want "plain ESTALE on a local filesystem" "$(($(val rp estale) + $(val rpa estale)))" -eq 0
    fi
    want "lib torn reads" "$(val rl torn)" -eq 0
    want "lib empty reads" "$(val rl empty)" -eq 0
    want "lib read errors (ESTALE)" "$(val rl estale)" -eq 0
    want "lib read errors (ENOENT)" "$(val rl enoent)" -eq 0
    want "lib read errors (other)" "$(val rl other_errors)" -eq 0
    want "lib whole reads" "$(val rl whole)" -gt 0
    want "the other client's library read after the last replace" "$(val final kind)" = whole
    want "the version it read within ${XC_SETTLE_MS:-10000} ms" "$(val final v)" -eq \
        "$(val w last_v)"
    local err=
    [ "$(val final error)" = 0 ] || err="($(val final error)) "
    case_end "$(val w ok) replaces (failed $(val w failed)); on B $(plain_text rp)," \
        "$(lib_text rl); on A $(plain_text rpa);" \
        "B's library reader then read $(val final kind) v $(val final v) of $(val w last_v)" \
        "${err}after $(val final settle_ms) ms (a plain read: $(val plain kind) v $(val plain v))"
    if [ -n "$lf" ]; then
        local bad=$(($(val lfrl torn) + $(val lfrl empty) + $(val lfrl estale) + \
            $(val lfrl enoent) + $(val lfrl other_errors)))
        local_fs reader "$((bad > 0))" "its ajio_reader on B: $(lib_text lfrl)"
    fi

    run ninit "$XC" replace "$A/$g" 1 0
    start nrp "$XC" read-plain "$B/$g" "$TMO"
    sleep 0.2
    # Until the deadline: a client that caches pages sees in-place writes only once its
    # attributes expire (GlusterFS's FUSE client: after a second).
    phase 2
    run nw "$XC" naive-replace "$A/$g" 1000000 1
    kill -TERM "${PID[nrp]}" 2>/dev/null || true
    finish nrp
    control naive-replace "$(($(val nrp torn) + $(val nrp empty) > 0))" \
        "$(val nw ok) in-place writes, $(plain_text nrp)"
}

# ---- update-both -------------------------------------------------------------------------------
# Both clients increment one counter with ajio_update(): none acknowledged is lost. Controls:
# a plain read and an unlocked replace; the local-fs build's ajio_update().
# updates XCLIENT FILE SUBCOMMAND PREFIX: both clients at once; sets ACKED and FINAL.
updates() {
    local d=update-both
    printf '{"n":0}\n' >"$A/$d/$2"
    phase
    start "$4a" "$1" "$3" "$A/$d/$2" "$UPDATES"
    start "$4b" "$1" "$3" "$B/$d/$2" "$UPDATES"
    finish "$4a" "$4b"
    ACKED=$(($(val "$4a" ok) + $(val "$4b" ok)))
    counter "$A/$d/$2" "$B/$d/$2"
    LOST=$((ACKED - ${FINAL/unreadable/0}))
}

case_update_both() {
    case_begin update-both
    updates "$XC" n.json update u
    want "update failures on A" "$(val ua failed)" -eq 0
    want "update failures on B" "$(val ub failed)" -eq 0
    want "final counter" "$FINAL" -eq "$ACKED"
    case_end "2x$UPDATES ajio_update() (A acked $(val ua ok), B acked $(val ub ok), failed" \
        "$(($(val ua failed) + $(val ub failed)))), final n $FINAL, lost $LOST"

    updates "$XC" naive.json naive-update nu
    control naive-update "$((LOST > 0))" \
        "2 unlocked read-and-replace loops acked $ACKED, final n $FINAL: lost $LOST"

    if [ "$FS" != local ] && [ -x "$XC_LOCALFS" ]; then
        updates "$XC_LOCALFS" localfs.json update lu
        local_fs update "$((LOST != 0))" "ajio_update() from both acked $ACKED (failed" \
            "$(($(val lua failed) + $(val lub failed))), $(val lua first_error)), final n" \
            "$FINAL: lost $LOST"
    fi
}

# ---- append-both -------------------------------------------------------------------------------
# Both clients append to one file through ajio_append(), through log handles shared by two
# threads, and through `ajio append`: every acknowledged record is there exactly once, and no
# line is broken. Controls: unlocked appends at the size fstat() gave; the local-fs build.
log_text() { # check-NAME: its counts
    echo "acked $(val "$1" acked) (missing $(val "$1" missing), dup $(val "$1" dup)," \
        "broken $(val "$1" broken))"
}

cli_appends() { # FILE TAG ACKS N: `ajio append` until N or the deadline; prints ok= failed=
    local i ok=0 failed=0 wait=$((START_AT - $(now_ms)))
    if [ $wait -gt 0 ]; then
        sleep "$(printf '%d.%03d' $((wait / 1000)) $((wait % 1000)))"
    fi
    for ((i = 0; i < $4; i++)); do
        [ "$(now_ms)" -lt "$UNTIL" ] || break
        if printf '{"c":"%s","i":%d}\n' "$2" "$i" | timeout -k 5 "$TMO" "$CLI" append "$1"; then
            echo "$2 $i" >>"$3"
            ok=$((ok + 1))
        else
            failed=$((failed + 1))
        fi
    done
    printf 'ok=%d\nfailed=%d\n' "$ok" "$failed"
}

# both_append PREFIX FILE CMD...: CMD FILE-through-A/B N TAG ACKS..., then the log judged.
both_append() {
    local p=$1 f=$2 d=append-both
    shift 2
    phase
    start "${p}a" "$@" "$A/$d/$f" "$APPENDS" "${p}A" "$S/${p}A.acks" ${EXTRA:+"$EXTRA"}
    start "${p}b" "$@" "$B/$d/$f" "$APPENDS" "${p}B" "$S/${p}B.acks" ${EXTRA:+"$EXTRA"}
    finish "${p}a" "${p}b"
    judge "check-$p" "$XC" check-log "$A/$d/$f" "$S/${p}A.acks" "$S/${p}B.acks"
}

case_append_both() {
    local d=append-both rc_lib=0 rc_log=0 rc_cli=0 rc=0
    case_begin append-both
    touch "$S/apA.acks" "$S/apB.acks" "$S/lgA.acks" "$S/lgB.acks" "$S/clA.acks" "$S/clB.acks"
    both_append ap lib.jsonl "$XC" append || rc_lib=$?
    EXTRA=2 both_append lg log.jsonl "$XC" log || rc_log=$?
    phase
    NAMES+=(cla clb)
    cli_appends "$A/$d/cli.jsonl" clA "$S/clA.acks" "$CLI_APPENDS" >"$S/cla.out" 2>"$S/cla.err" &
    PID[cla]=$!
    cli_appends "$B/$d/cli.jsonl" clB "$S/clB.acks" "$CLI_APPENDS" >"$S/clb.out" 2>"$S/clb.err" &
    PID[clb]=$!
    finish cla clb
    judge check-cl "$XC" check-log "$A/$d/cli.jsonl" "$S/clA.acks" "$S/clB.acks" || rc_cli=$?
    local c
    for c in apa apb lga lgb cla clb; do
        want "$c failures" "$(val $c failed)" -eq 0
    done
    want "ajio_append log" "$rc_lib" -eq 0
    want "log handles' log" "$rc_log" -eq 0
    want "ajio append's log" "$rc_cli" -eq 0
    case_end "ajio_append 2x$APPENDS $(log_text check-ap), log handles 2x2 threads" \
        "$(log_text check-lg), ajio append 2x$CLI_APPENDS $(log_text check-cl)"

    touch "$S/naA.acks" "$S/naB.acks"
    both_append na naive.jsonl "$XC" naive-append || rc=$?
    control naive-append "$rc" "unlocked appends at fstat's size: $(log_text check-na)"

    if [ "$FS" != local ] && [ -x "$XC_LOCALFS" ]; then
        touch "$S/lfA.acks" "$S/lfB.acks" "$S/llA.acks" "$S/llB.acks"
        rc=0
        both_append lf localfs.jsonl "$XC_LOCALFS" append || rc=$?
        local_fs append "$rc" "ajio_append from both: $(log_text check-lf), failed" \
            "$(($(val lfa failed) + $(val lfb failed)))"
        rc=0
        EXTRA=2 both_append ll localfs-log.jsonl "$XC_LOCALFS" log || rc=$?
        local_fs log "$rc" "log handles from both: $(log_text check-ll), failed" \
            "$(($(val lla failed) + $(val llb failed)))"
    fi
}

# ---- create-race -------------------------------------------------------------------------------
# Both clients create the same names with AJIO_CREATE_ONLY: each name is won exactly once, and
# holds what its winner wrote. Control: access() then a write, which both clients win.
case_create_race() {
    local d=create-race m rc=0
    case_begin create-race
    mkdir -p "$A/$d/naive"
    touch "$S/wonA" "$S/wonB" "$S/nwonA" "$S/nwonB"
    phase
    start ca "$XC" create "$A/$d" n "$CREATES" A "$S/wonA"
    start cb "$XC" create "$B/$d" n "$CREATES" B "$S/wonB"
    finish ca cb
    # A deadline may stop a client early: judge the names either tried.
    m=$(($(val ca won) + $(val ca lost) + $(val ca failed)))
    if [ $(($(val cb won) + $(val cb lost) + $(val cb failed))) -gt "$m" ]; then
        m=$(($(val cb won) + $(val cb lost) + $(val cb failed)))
    fi
    judge cc "$XC" check-create "$A/$d" n "$m" "$S/wonA" "$S/wonB" || true
    want "create failures on A" "$(val ca failed)" -eq 0
    want "create failures on B" "$(val cb failed)" -eq 0
    want "names won once" "$(val cc once)" -eq "$m"
    case_end "$m names: A won $(val ca won), B won $(val cb won), failed" \
        "$(($(val ca failed) + $(val cb failed))); won once $(val cc once), by both" \
        "$(val cc double), by none $(val cc none), content of another $(val cc wrong_owner)"

    phase
    start na "$XC" naive-create "$A/$d/naive" n 20 A "$S/nwonA"
    start nb "$XC" naive-create "$B/$d/naive" n 20 B "$S/nwonB"
    finish na nb
    judge ncc "$XC" check-create "$A/$d/naive" n 20 "$S/nwonA" "$S/nwonB" || rc=$?
    control naive-create "$(($(val ncc double) > 0))" \
        "access() then write: 20 names, won by both $(val ncc double)"
}

# ---- sweep-live --------------------------------------------------------------------------------
# A writer holds a named temp on A while writers killed on A leave theirs; `ajio sweep
# --min-age 0` on B removes the dead ones only, and the live writer's commit then succeeds.
# Control: removing every temp by its name, which must break the live writer's commit.
case_sweep_live() {
    local d=sweep-live before after left removed
    case_begin sweep-live
    run init "$XC" replace "$A/$d/t.json" 1 1
    start hold "$XC" hold-temp "$A/$d/t.json" "$HOLD_SECONDS" "$S/ready"
    wait_for_file "$S/ready" || problem "the holder never opened its temp"
    run plant "$XC" plant-dead-temps "$A/$d/t.json" "$DEAD_TEMPS"
    before=$(temps "$B/$d" t.json)
    run sweep "$CLI" sweep --min-age 0 "$B/$d"
    removed=$(sed -n 's/.*: \([0-9]*\) removed$/\1/p' "$S/sweep.out")
    after=$(temps "$B/$d" t.json)
    if ! kill -0 "${PID[hold]}" 2>/dev/null; then
        problem "the holder committed before the sweep ended: raise XC_HOLD_SECONDS"
    fi
    finish hold
    judge doc "$XC" check-doc "$B/$d/t.json" || true
    left=$(temps "$A/$d" t.json)
    want "dead temps planted" "$(val plant planted)" -eq "$DEAD_TEMPS"
    want "temps before the sweep" "$before" -eq $((DEAD_TEMPS + 1))
    want "temps the sweep removed" "${removed:-none}" -eq "$DEAD_TEMPS"
    want "temps after the sweep (the live one)" "$after" -eq 1
    want "the live writer's commit" "$(val hold committed)" -eq 1
    want "the committed document" "$(val doc kind)" = whole
    want "its version" "$(val doc v)" -eq "$(val hold v)"
    want "temps after the commit" "$left" -eq 0
    case_end "$(val plant planted) dead temps + 1 live: $before seen from B, sweep removed" \
        "${removed:-none}, $after left; live commit $(val hold error), document" \
        "$(val doc kind) v $(val doc v); $left temps after"

    start hold2 "$XC" hold-temp "$A/$d/c.json" 2 "$S/ready2"
    wait_for_file "$S/ready2" || true
    find "$B/$d" -maxdepth 1 -name '.c.json.ajio-*.tmp' -delete
    finish hold2
    control naive-sweep "$(($(val hold2 committed) == 0))" \
        "rm of every temp name from B: the live writer's commit $(val hold2 error)"
}

# ---- batch -------------------------------------------------------------------------------------
# Both clients commit transactions of the same five members until one deadline, so that their
# last commits overlap: the set left is always one transaction's. Control: ajio_batch, which is
# not all or nothing, from both; where its sets happen not to mix, a file-by-file writer killed
# midway, which must leave a mixed set.
# sets SUBCOMMAND DIR PREFIX ROUNDS: rounds of both clients; sets OK, FAILED and MIXED (rounds
# that left a mixed set).
sets() {
    local r
    OK=0 FAILED=0 MIXED=0
    mkdir -p "$A/$2"
    for ((r = 0; r < $4; r++)); do
        phase "$SET_SECONDS"
        start "$3a$r" "$XC" "$1" "$A/$2" 1000000 A
        start "$3b$r" "$XC" "$1" "$B/$2" 1000000 B
        finish "$3a$r" "$3b$r"
        OK=$((OK + $(val "$3a$r" ok) + $(val "$3b$r" ok)))
        FAILED=$((FAILED + $(val "$3a$r" failed) + $(val "$3b$r" failed)))
        judge "$3cA$r" "$XC" check-set "$A/$2" || MIXED=$((MIXED + 1))
        judge "$3cB$r" "$XC" check-set "$B/$2" || true
    done
}

case_batch() {
    local i tries
    case_begin batch
    sets txn batch/txn t "$SET_ROUNDS"
    for ((i = 0; i < SET_ROUNDS; i++)); do
        want "round $i: the set after both, through A" "$(val "tcA$i" set)" = same
        want "round $i: the set after both, through B" "$(val "tcB$i" set)" = same
    done
    want "transactions failed" "$FAILED" -eq 0
    want "transactions committed" "$OK" -gt 0
    case_end "$SET_ROUNDS rounds of 2 clients: $OK transactions of 5 members (failed $FAILED)," \
        "mixed sets $MIXED of $SET_ROUNDS"

    sets batch batch/plain p 1
    if [ "$MIXED" -gt 0 ]; then
        control batch-sets 1 "ajio_batch from both ($OK batches): mixed"
        return 0
    fi
    for ((tries = 1; tries <= 5; tries++)); do
        # --foreground: the KILL for the writer alone, not for timeout's process group too.
        timeout --foreground -s KILL 0.7 "$XC" naive-set "$A/batch/plain" 1000000 K \
            >/dev/null 2>&1 || true
        if ! judge kill "$XC" check-set "$A/batch/plain"; then
            break
        fi
    done
    control batch-sets "$((tries <= 5))" "ajio_batch from both ($OK batches): not mixed;" \
        "kill -9 of a file-by-file writer: $(val kill members) after $tries tries"
}

# ---- full-disk ---------------------------------------------------------------------------------
# With the small export full, a replace of an existing file and an append fail with ENOSPC,
# EDQUOT or EIO, leave the file byte for byte as it was and leave no temp. Control: an
# in-place write there, which must destroy the file.
case_full_disk() {
    local FA=$AJIO_SHARED_FULL_A/full FB=$AJIO_SHARED_FULL_B/full avail same_t same_l destroyed
    local errs="ENOSPC EDQUOT EIO"
    case_begin full-disk
    mkdir -p "$FA"
    run init "$XC" replace "$FA/t.json" 1 1
    touch "$S/fl.acks"
    run linit "$XC" append "$FA/l.jsonl" 3 L "$S/fl.acks"
    cp "$FA/t.json" "$S/t.saved"
    cp "$FA/l.jsonl" "$S/l.saved"
    run fill "$XC" fill "$FA/filler"
    avail=$(stat -f -c '%a %S' "$FB" | awk '{print $1 * $2}')
    run r "$XC" replace "$FB/t.json" 1 0
    run ap "$XC" append "$FB/l.jsonl" 1 F "$S/fl.acks" 1048576
    same_t=$(cmp -s "$FA/t.json" "$S/t.saved" && echo same || echo changed)
    same_l=$(cmp -s "$FA/l.jsonl" "$S/l.saved" && echo same || echo changed)
    want "64 KiB replace on the full export" "$(val r failed)" -eq 1
    want_err "the replace" r t.json $errs
    want "the target after the failed replace" "$same_t" = same
    want "temps of the target through A" "$(temps "$FA" t.json)" -eq 0
    want "temps of the target through B" "$(temps "$FB" t.json)" -eq 0
    want "1 MiB append on the full export" "$(val ap failed)" -eq 1
    want_err "the append" ap l.jsonl $errs
    want "the log after the failed append" "$same_l" = same
    run nw "$XC" naive-replace "$FA/t.json" 1 0
    destroyed=0
    cmp -s "$FA/t.json" "$S/t.saved" || destroyed=1
    control naive-full "$destroyed" \
        "an in-place write on the full export ($(val nw first_error)) left the target" \
        "$(stat -c %s "$FA/t.json" 2>/dev/null || echo '?') bytes, was $(stat -c %s "$S/t.saved")"
    rm -f "$FA/filler"
    # GlusterFS's brick learns of freed space from a thread that looks every 5 s
    # (storage.reserve); until then it still answers ENOSPC. Allow it 15 s.
    local waited=0
    while :; do
        run after "$XC" replace "$FB/t.json" 1 1
        [ "$(val after ok)" = 1 ] || [ "$(val after first_error)" != ENOSPC ] ||
            [ $waited -ge 15 ] && break
        sleep 1
        waited=$((waited + 1))
    done
    want "a replace once the space is back" "$(val after ok)" -eq 1
    case_end "filled $(val fill bytes) bytes ($(val fill error), $avail left), 64 KiB replace" \
        "$(val r first_error) (target $same_t, $(temps "$FB" t.json) temps), 1 MiB append" \
        "$(val ap first_error) (log $same_l), replace after freeing $(res after) (${waited} s)"
    rm -rf "$FA"
}

# ---- read-only ---------------------------------------------------------------------------------
# On a read-only export every write fails with EROFS, naming the path, and ro.json is
# untouched; `ajio cat` reads it.
case_read_only() {
    local RO=$AJIO_SHARED_RO_A
    case_begin read-only
    touch "$S/ro.acks"
    run w "$XC" replace "$RO/ro.json" 1 1
    run nw "$XC" replace "$RO/new.json" 1 1
    run ap "$XC" append "$RO/ro.json" 1 R "$S/ro.acks"
    run cat "$CLI" cat "$RO/ro.json"
    want "replace of ro.json" "$(val w failed)" -eq 1
    want_err "replace of ro.json" w ro.json EROFS
    want "creation of new.json" "$(val nw failed)" -eq 1
    want_err "creation of new.json" nw new.json EROFS
    want "append to ro.json" "$(val ap failed)" -eq 1
    want_err "append to ro.json" ap ro.json EROFS
    want "ro.json" "$(cat "$RO/ro.json")" = '{"ro":true}'
    want "ajio cat ro.json" "$(cat "$S/cat.out")" = '{"ro":true}'
    want "new.json" "$([ -e "$RO/new.json" ] && echo exists || echo absent)" = absent
    case_end "replace $(val w first_error), new file $(val nw first_error), append" \
        "$(val ap first_error), ro.json unchanged, ajio cat: $(head -c 40 "$S/cat.out")"
}

# ---- outage ------------------------------------------------------------------------------------
# The server stops for a while under an append loop on A and a replace started on B: every
# acknowledged record is there once with no broken line, and the replace completes whole. A
# client that fails I/O at once while its server is down (GlusterFS: ENOTCONN) must fail the
# replace with an error, leave no document, and the same replace succeeds once it is back.
case_outage() {
    local d=outage rc=0 stop=0 restart=0 again=
    case_begin outage
    touch "$S/out.acks"
    phase $((OUTAGE_SECONDS + 3))
    XC_PACE_MS=20 start oa "$XC" append "$A/$d/o.jsonl" 1000000 O "$S/out.acks"
    sleep 0.8
    timeout 60 "$AJIO_SHARED_CTL" stop >"$S/ctl.out" 2>&1 || stop=$?
    start or "$XC" replace "$B/$d/r.json" 1 8
    sleep "$OUTAGE_SECONDS"
    timeout 60 "$AJIO_SHARED_CTL" start >>"$S/ctl.out" 2>&1 || restart=$?
    finish oa or
    if [ "$(val or ok)" != 1 ]; then
        judge gone "$XC" check-doc "$B/$d/r.json" || true
        phase 10
        start or2 "$XC" replace "$B/$d/r.json" 1 8
        finish or2
        again=" again after it $(res or2),"
    fi
    judge check-out "$XC" check-log "$A/$d/o.jsonl" "$S/out.acks" || rc=$?
    judge doc "$XC" check-doc "$A/$d/r.json" || true
    want "the server's stop" "$stop" -eq 0
    want "the server's start" "$restart" -eq 0
    want "the log after the outage" "$rc" -eq 0
    want "appends acknowledged" "$(val check-out acked)" -gt 0
    if [ "$(val or ok)" != 1 ]; then
        want "the replace that failed during the outage: its error" "$(val or first_error)" != none
        want "the replace that failed during the outage: a document" "$(val gone kind)" != whole
        want "the same replace once the server is back" "$(val or2 ok)" -eq 1
    fi
    want "its document" "$(val doc kind)" = whole
    want "its version" "$(val doc v)" -eq 8
    case_end "server stopped ${OUTAGE_SECONDS} s: appends $(log_text check-out), failed" \
        "$(val oa failed) ($(val oa first_error)); replace during the outage $(res or),$again" \
        "then $(val doc kind) v $(val doc v)"
}

# ---- warn --------------------------------------------------------------------------------------
# Where the harness has a mount whose locks stay on the client (AJIO_SHARED_NOLOCK_A: NFSv3
# mounted nolock), ajio warns once that appends and updates from other clients can lose records;
# on the mounts that lock through the server it says nothing.
case_warn() {
    case_begin warn
    echo '{"w":1}' | "$CLI" write "$A/warn.json" 2>"$S/warn-ok.err"
    want "ajio write on a mount that locks through the server: exit" "$?" -eq 0
    want "its warnings" "$(grep -c 'warning' "$S/warn-ok.err")" -eq 0
    if [ -z "${AJIO_SHARED_NOLOCK_A-}" ]; then
        case_end "no warning where locks go to the server; no mount without them here"
        return
    fi
    echo '{"w":2}' | "$CLI" append "$AJIO_SHARED_NOLOCK_A/warn.jsonl" 2>"$S/warn.err"
    want "ajio append on the nolock mount: exit" "$?" -eq 0
    want "its warning" "$(grep -c '": nfs is mounted with \(nolock\|local_lock=all\): .*lose records' \
        "$S/warn.err")" -eq 1
    case_end "no warning where locks go to the server; on the nolock mount:" \
        "$(head -c 160 "$S/warn.err")"
}

# ---- main --------------------------------------------------------------------------------------
for c in ${*:-$ALL_CASES}; do
    case " $(echo $ALL_CASES) " in *" $c "*) ;; *)
        echo "cases.sh: unknown case $c (known: $(echo $ALL_CASES))" >&2
        exit 2
        ;;
    esac
done
# A command that fails where none should stops its case alone (a subshell), which is then
# reported as failed, with the command.
set -E
trap 'echo "cases.sh: line $LINENO: failed ($?): $BASH_COMMAND"' ERR
T0=$(date +%s)
: >"$TALLY"
echo "cases.sh $FS: A=$A B=$B build=$BUILD phase ${PHASE}s"
# Known failures, "FS:CASE=REASON" lines (none by default): such a case's failure is printed
# and counted apart; its pass is reported.
declare -A XFAIL
while IFS= read -r line; do
    [ -n "$line" ] && XFAIL[${line%%=*}]=${line#*=}
done <<<"${XC_XFAIL-}"
hung=0
for c in ${*:-$ALL_CASES}; do
    if [ $hung -ge 2 ]; then
        echo "case failed" >>"$TALLY"
        echo "case $c $FS: not run: two cases timed out already FAIL"
        continue
    fi
    rc=0
    ("case_${c//-/_}") || rc=$?
    if [ $rc = 3 ]; then
        hung=$((hung + 1))
    elif [ $rc != 0 ]; then
        echo "case failed" >>"$TALLY"
        echo "case $c $FS: aborted (exit $rc) by the command above FAIL"
    fi
    why=${XFAIL[$FS:$c]-}
    if [ -n "$why" ] && [ "$(grep '^case ' "$TALLY" | tail -n 1)" = "case failed" ]; then
        echo "known failure" >>"$TALLY"
        echo "xfail $c $FS: a known failure (XC_XFAIL): $why"
    elif [ -n "$why" ]; then
        echo "note $c $FS: passed, though XC_XFAIL expects it to fail: $why"
    fi
done
count() { grep -c "^$1\$" "$TALLY" || true; }
# The local-fs control: caught by one of its runs at least, judged when every case that runs it
# ran.
runs=$(sed -n 's/^local-fs \([a-z]*\) .*/\1/p' "$TALLY" | tr '\n' ' ')
hosts=0
for c in ${*:-$ALL_CASES}; do
    case $c in replace-readers | update-both | append-both) hosts=$((hosts + 1)) ;; esac
done
if [ "$FS" = local ]; then
    echo "note local-fs $FS: not run: a local filesystem is what the control assumes"
elif [ $hosts -lt 3 ]; then
    echo "note local-fs $FS: judged only in a run of replace-readers, update-both and append-both"
elif [ ! -x "$XC_LOCALFS" ]; then
    echo "control missed" >>"$TALLY"
    echo "control local-fs $FS: $XC_LOCALFS missing NOT caught: make $XC_LOCALFS"
elif [ -n "$runs" ]; then
    by=$(sed -n 's/^local-fs \([a-z]*\) 1$/\1/p' "$TALLY" | tr '\n' ' ')
    # XC_LOCALFS_HOLDS: "FS=REASON" lines of filesystems where 0.3.0's local mechanisms are
    # known to hold (then every case's own control shows it could fail).
    holds=$(sed -n "s/^$FS=//p" <<<"${XC_LOCALFS_HOLDS-}")
    if [ -n "$by" ]; then
        control local-fs 1 "the local-fs build, run in ${runs% }: ${by% }"
    elif [ -n "$holds" ]; then
        echo "note local-fs $FS: the local-fs build, run in ${runs% }: not caught, as expected" \
            "here: $holds"
    else
        control local-fs 0 "the local-fs build, run in ${runs% }: none lost, duplicated or broke" \
            "anything,"
    fi
fi
ok=$(count "case ok") xfailed=$(count "known failure")
failed=$(($(count "case failed") - xfailed)) known=
[ "$xfailed" = 0 ] || known=" ($xfailed known failures)"
caught=$(count "control caught") missed=$(count "control missed")
echo "summary: $FS: $((ok + failed + xfailed)) cases: $ok ok, $failed failed$known; controls:" \
    "$caught caught, $missed not caught ($(($(date +%s) - T0)) s)"
if [ "$failed" = 0 ] && [ "$missed" = 0 ]; then
    exit 0
fi
exit 1

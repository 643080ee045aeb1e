#!/bin/bash
# tests/fault/run.sh - syscall fault injection on the write path (make check-fault).
#
# For each scenario (new file, existing file with another owner and mode, named temp, streaming,
# missing parents, create-only, skip-unchanged, a file with an ACL and a user attribute) a clean
# run is traced first, and every syscall the
# library makes between the driver's two marks is numbered (openat #5, fdatasync #1, ...). Then
# each occurrence is failed in turn, with each errno of the list, by
#
#     strace --inject=SYSCALL:error=ERRNO:when=N
#
# and the result is judged against the promise of include/ajio.h:
#   - the return value is exactly -ERRNO (or AJIO_ENOTDURABLE for the directory fsync after the
#     rename; EINTR on write is retried and succeeds; a failed close of a directory fd or of the
#     comparison fd is ignored; EOPNOTSUPP on O_TMPFILE falls back to a named temp),
#   - the message names the step, the path and the error,
#   - the target is untouched (or holds the new content when the result is a success or
#     AJIO_ENOTDURABLE), with the right owner and mode,
#   - no temp file remains, no descriptor and no heap byte is leaked (driver only),
#   - nothing is published after the injected failure: no rename ("rename after failed
#     fdatasync"), no new file's O_TMPFILE linked to its name ("link to the name after ...").
# The same is done for the CLI ("ajio write FILE < payload", exit codes of ajio(1)), then real short
# writes (an LD_PRELOAD shim that shortens every write; RLIMIT_FSIZE), a double fault (the write
# fails and so does the removal of its temp), and the negative controls: the driver built against
# libraries that ignore a failed fdatasync, leave a temp behind or ignore a failed setxattr
# (mk/controls.mk) must be caught. Last, ajio_update, ajio_append, the log handle and ajio_repair
# get the same treatment (their lock file: its creation, owner and mode, the retirement of an
# unsafe one, the append record read and written with pread/pwrite and synced, group commit's
# sync record, the unique mount id and the boot id that make a record exact; the tail read and
# cut), judged by their own promise: the file as it was, or repaired, never less, and after a
# failure a retry that leaves what a clean run leaves; with the negative control of an append
# that is not cut back after a failed fdatasync.
#
# Environment: AJIO_BUILD (default build), AJIO_TEST_DIR (default /dev/shm), FAULT_ERRNOS (default
# the eight below; each syscall gets those it can plausibly return), FAULT_ALL_ERRNOS=1 (every
# errno into every syscall), FAULT_SCENARIOS (default all), FAULT_RMW_SCENARIOS (default all of
# update, append, log, repair, batch and transactions), FAULT_VERBOSE=1 (print every run).
# Exit: 0 all as promised, 1 a violation, 77 skipped (not root / no strace), never 77 under CI.
set -u

BUILD=${AJIO_BUILD:-build}
DRIVER=$BUILD/fault/driver
CTL_FDATASYNC=$BUILD/control/ignore-fdatasync/fault/driver
CTL_KEEPTEMP=$BUILD/control/keep-temp/fault/driver
CTL_SETXATTR=$BUILD/control/ignore-setxattr/fault/driver
CTL_NOCUTBACK=$BUILD/control/no-cut-back/fault/driver
CTL_KEEPSTAGING=$BUILD/control/txn-keep-staging/fault/driver
SHIM=$BUILD/fault/shortwrite.so
CLI=$BUILD/ajio
ERRNOS=${FAULT_ERRNOS:-ENOSPC EDQUOT EIO EINTR EACCES EROFS ENAMETOOLONG EMFILE}
SCENARIOS=${FAULT_SCENARIOS:-new existing named stream mkdir create-only skip-unchanged acl}
VERBOSE=${FAULT_VERBOSE:-0}
S= ROLE= # the scenario and role of the run being judged (check_state)

# Progress, one line per case group with the seconds since the start, on the descriptor the
# run started with: the two parts log into files printed only at the end, and a run lasts
# minutes.
T0=$(date +%s)
exec 3>&1
progress() { printf 'check-fault: %5ss %s\n' "$(( $(date +%s) - T0 ))" "$*" >&3; }

SUITE=check-fault
. "$(dirname "$0")/../lib/loopfs.sh"
[ "$(id -u)" = 0 ] || skip "needs root (strace --inject on files owned by another user)"
command -v strace >/dev/null || skip "strace is not installed (apt-get install strace)"
for f in "$DRIVER" "$CTL_FDATASYNC" "$CTL_KEEPTEMP" "$CTL_SETXATTR" "$CTL_NOCUTBACK" "$CTL_KEEPSTAGING" "$SHIM"; do
    [ -e "$f" ] || { echo "check-fault: $f missing: run make check-fault"; exit 1; }
done
HAVE_CLI=0
[ -x "$CLI" ] && HAVE_CLI=1

# tmpfs by default: the faults are injected, not real, and a real fsync per run costs time.
WORK=$(scratch_dir ajio-fault "${AJIO_TEST_DIR:-}") || exit 1
# A bind mount makes WORK a mount root: a durable write into a directory born in the last minute
# syncs its parents up to the mount root (ajio.h), so without it the number of syscalls of a
# write would change once WORK is a minute old, and the syscall numbers traced would drift.
mount --bind "$WORK" "$WORK" || { echo "check-fault: bind mount of $WORK failed"; exit 1; }
trap 'umount "$WORK"; rm -rf "$WORK"' EXIT
umask 022

# errno name -> number and strerror text (glibc), for the exact checks.
declare -A ENUM=([ENOSPC]=28 [EDQUOT]=122 [EIO]=5 [EINTR]=4 [EACCES]=13 [EROFS]=30
    [ENAMETOOLONG]=36 [EMFILE]=24 [EOPNOTSUPP]=95 [EFBIG]=27 [ENOLCK]=37)
declare -A ETEXT=([ENOSPC]="No space left on device" [EDQUOT]="Disk quota exceeded"
    [EIO]="Input/output error" [EINTR]="Interrupted system call" [EACCES]="Permission denied"
    [EROFS]="Read-only file system" [ENAMETOOLONG]="File name too long"
    [EMFILE]="Too many open files" [EOPNOTSUPP]="Operation not supported"
    [EFBIG]="File too large" [ENOLCK]="No locks available")
# The CLI's exit code for each errno (cli_exit_for() in cli/util.c, documented in ajio(1)).
declare -A CLIEXIT=([EACCES]=73 [EROFS]=73 [ENAMETOOLONG]=73)
cli_exit_of() { echo "${CLIEXIT[$1]:-74}"; }

# Payloads: small JSON, and 200 KiB of JSONL for the streaming scenario (several 64 KiB flushes).
SMALL=$WORK/small.json
BIG=$WORK/big.jsonl
OLD_SMALL=$WORK/old.json
printf '{"version":2,"items":[1,2,3],"name":"new"}\n' >"$SMALL"
for i in $(seq 1 4000); do printf '{"i":%d,"pad":"%040d"}\n' "$i" "$i"; done >"$BIG"
printf '{"version":1,"name":"old"}\n' >"$OLD_SMALL"
OLD_SAME=$WORK/old-same-size.json # same size as SMALL, other bytes: the comparison must read it
tr 'n' 'N' <"$SMALL" >"$OLD_SAME"

# Scenario: sets ARGS (driver options), CLIARGS, PAYLOAD, OLD (file, or "" when the target does
# not exist before), PERM (expected "mode uid gid" after a success, or ""), TARGET, and prepares
# a fresh directory $SD (one per part: the library and the CLI parts run in parallel).
setup() {
    local s=$1
    rm -rf "$SD" && mkdir "$SD"
    TARGET=$SD/state.json TARGET2=
    ARGS="" CLIARGS="" PAYLOAD=$SMALL OLD=$OLD_SMALL PERM=""
    case $s in
    new) OLD="" ;;
    existing)
        # Another owner and a mode the umask would not give: fchown and fchmod must both run.
        PERM="640 1234 1234" ;;
    named) ARGS="-o no-tmpfile" CLIARGS="" PERM="644 0 0" ;;
    stream) ARGS="-m stream -c 4096" PAYLOAD=$BIG PERM="644 0 0" ;;
    mkdir) ARGS="-m text" TARGET=$SD/a/b/state.json OLD="" ;;
    create-only) ARGS="-o create-only" CLIARGS="--create-only" OLD="" ;;
    skip-unchanged) ARGS="-m stream -o skip-unchanged" CLIARGS="--skip-unchanged" OLD=$OLD_SAME ;;
    # An access ACL and a user attribute, both of which must be kept: the getxattr and setxattr
    # of each are failed in turn too.
    acl) PERM="640 0 0" ;;
    *) echo "unknown scenario $s"; exit 1 ;;
    esac
    if [ -n "$OLD" ]; then
        if [ "$s" = existing ]; then install -m 640 -o 1234 -g 1234 "$OLD" "$TARGET"
        else install -m 644 "$OLD" "$TARGET"; fi
    fi
    if [ "$s" = acl ]; then
        chmod 600 "$TARGET"
        setfacl -m u:nobody:r "$TARGET" && setfattr -n user.origin -v v1 "$TARGET" ||
            { echo "check-fault: setfacl/setfattr failed on $TARGET"; exit 1; }
    fi
}

# Lists the library's syscalls of a clean trace, one per line: "NAME N ROLE", N counting every
# call of NAME since the process started (what strace's when=N counts). For the driver the
# window is between its marks; for the CLI it starts at the first mention of the target's
# directory, and calls on fds 0-2 are the tool's own I/O, not the write path.
INJECTABLE="openat openat2 newfstatat statx flock fcntl llistxattr flistxattr lgetxattr fsetxattr fremovexattr write writev fchmod fchown fdatasync fsync linkat renameat renameat2 close mkdirat unlinkat"
list_calls() { # $1 trace file, $2 driver|cli, $3 target directory
    awk -v kind="$2" -v dir="$3" -v inj="$INJECTABLE" '
    BEGIN { n = split(inj, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1
            inwin = 0; post = 0 }
    {
        if (!match($0, /^[a-z0-9_]+\(/)) next
        name = substr($0, 1, RLENGTH - 1); count[name]++
        if (kind == "driver") {
            if (index($0, "/.ajio-fault-begin")) { inwin = 1; next }
            if (index($0, "/.ajio-fault-end")) { inwin = 0; next }
        } else if (!inwin && name != "execve" && (index($0, "\"" dir "\"") || index($0, "\"" dir "/"))) {
            inwin = 1
        }
        if (!inwin || !(name in want)) next
        ret = $0; sub(/.*\) += /, "", ret); sub(/ .*/, "", ret)
        args = $0; sub(/^[a-z0-9_]+\(/, "", args)
        fd = args; sub(/,.*/, "", fd); sub(/\).*/, "", fd)
        if (kind == "cli" && fd ~ /^[012]$/) next
        role = name
        if (name == "openat2") {
            role = "open-dir2"; if (ret ~ /^[0-9]+$/) dirfd[ret] = 1
        } else if (name == "openat") {
            if (index($0, ", \"..\", ")) { role = "open-parent"; if (ret ~ /^[0-9]+$/) dirfd[ret] = 1 }
            else if (index($0, ", \".\", O_RDONLY")) { role = "open-dot"; if (ret ~ /^[0-9]+$/) dirfd[ret] = 1 }
            else if (index($0, "O_DIRECTORY")) { role = "open-dir"; if (ret ~ /^[0-9]+$/) dirfd[ret] = 1 }
            else if (index($0, "O_TMPFILE")) {
                # The first O_TMPFILE of a process is the probe of ajio__tmpfile_probe().
                if (!tmpfiles++) { role = "open-probe"; probe = 1; if (ret ~ /^[0-9]+$/) probefd[ret] = 1 }
                else role = "open-tmpfile"
            }
            else if (index($0, "O_CREAT")) role = "open-named-temp"
            else { role = "open-cmp"; if (ret ~ /^[0-9]+$/) cmpfd[ret] = 1 }
        } else if (name == "close") {
            role = (fd in dirfd) ? "close-dir" : (fd in cmpfd) ? "close-cmp" : (fd in lockfd) ? "close-lock" : (fd in probefd) ? "close-probe" : "close-temp"
            if (fd in dirfd) delete dirfd[fd]
            if (fd in cmpfd) delete cmpfd[fd]
            if (fd in lockfd) delete lockfd[fd]
            if (fd in probefd) delete probefd[fd]
        } else if (name == "fcntl") {
            role = "dup"; if (ret ~ /^[0-9]+$/) lockfd[ret] = 1
        } else if (name == "statx") {
            role = statx++ ? "stat-parent" : "stat-dir"
        } else if (name == "llistxattr") role = "list-old"
        else if (name == "flistxattr") role = "list-temp"
        else if (name == "lgetxattr") role = "getxattr"
        else if (name == "fsetxattr") role = "setxattr"
        else if (name == "fremovexattr") role = "removexattr"
        else if (name == "unlinkat" && probe == 1) { role = "unlink-probe"; probe = 2 }
        else if (name == "newfstatat") {
            role = index($0, "AT_EMPTY_PATH") ? "fstat-temp" : "stat-target"
        } else if (name == "fsync") {
            role = post ? "fsync-dir" : "fsync-parent"
        } else if (name == "renameat" || name == "renameat2") {
            role = "rename"
            if (ret == "0") post = 1
        } else if (name == "linkat") {
            # An O_TMPFILE linked to a temp name, or (a new file) straight to its own name,
            # which publishes it as a rename does.
            split(args, la, ", ")
            if (probe == 1) role = "link-probe"
            else if (!index($0, "/proc/self/fd/") && !index($0, "AT_EMPTY_PATH")) role = "link-target"
            else if (index(la[4], ".ajio-")) role = "link-temp"
            else { role = "link-name"; if (ret == "0") post = 1 }
        } else if (name == "writev") role = "write"
        if (post && role != "rename" && role != "link-name" && role != "fsync-dir" && role != "close-dir" && role != "close-cmp")
            role = role "-post"
        print name, count[name], role
    }' "$1"
}

# The errnos each syscall can plausibly return (its man page, plus EIO and EINTR where a
# network or FUSE filesystem returns them), out of ERRNOS. FAULT_ALL_ERRNOS=1 injects every
# errno of ERRNOS into every syscall instead.
plausible_of() { # $1 role; sets ERRS
    local p
    case ${1%-post} in
    open-dir | open-dir2 | open-dot | open-parent | open-cmp) p="EACCES ENAMETOOLONG EMFILE EINTR EIO" ;;
    open-tmpfile | open-probe | open-named-temp) p="ENOSPC EDQUOT EIO EINTR EACCES EROFS ENAMETOOLONG EMFILE" ;;
    stat-target) p="EACCES ENAMETOOLONG EIO" ;;
    stat-dir | stat-parent | list-temp) p="EIO" ;;
    list-old | getxattr) p="EIO EACCES" ;;
    setxattr | removexattr) p="ENOSPC EDQUOT EIO EACCES" ;;
    flock) p="EINTR" ;;
    dup) p="EMFILE" ;;
    unlink-probe) p="EIO EACCES EROFS" ;;
    fstat-temp) p="EIO" ;;
    write) p="ENOSPC EDQUOT EIO EINTR" ;;
    fchmod) p="EIO EROFS" ;;
    fchown) p="EIO EROFS EDQUOT" ;;
    fdatasync | fsync-*) p="EIO ENOSPC EDQUOT EINTR" ;;
    link-* | rename | mkdirat) p="ENOSPC EDQUOT EIO EACCES EROFS ENAMETOOLONG" ;;
    close-*) p="EIO EINTR ENOSPC EDQUOT" ;;
    *) p=$ERRNOS ;;
    esac
    if [ "${FAULT_ALL_ERRNOS:-0}" = 1 ]; then
        ERRS=$ERRNOS
    else
        ERRS=
        for e in $ERRNOS; do case " $p " in *" $e "*) ERRS="$ERRS $e" ;; esac; done
    fi
}

# What a failure of ROLE with ERRNO must give: fail (-ERRNO, old target), ok (success, new
# target), notdurable (AJIO_ENOTDURABLE, new target).
expect_of() { # $1 role, $2 errno; sets EXPECT (no subshell: this runs a thousand times)
    case $1:$2 in
    write:EINTR) EXPECT=ok ;;                           # retried
    close-dir:* | close-cmp:* | open-cmp:*) EXPECT=ok ;; # cleanup or an optional comparison
    close-lock*:* | close-probe:*) EXPECT=ok ;;          # after the first close, or an empty probe
    open-parent:EACCES) EXPECT=ok ;;                    # an unreadable parent: O_PATH and syncfs
    open-tmpfile:EOPNOTSUPP | open-probe:EOPNOTSUPP) EXPECT=ok ;; # falls back to a named temp
    open-dir2:EACCES | open-dot:EACCES) EXPECT=ok ;;    # a drop box: O_PATH and syncfs
    fsync-dir:*) EXPECT=notdurable ;;
    close-temp-post:*) EXPECT=notdurable ;;             # an O_TMPFILE is closed after its rename
    *) EXPECT=fail ;;
    esac
}

# The step the message must name, for each role.
step_of() { # sets STEP
    case $1 in
    open-dir | open-dir2) STEP="open of directory" ;;
    open-dot) STEP="open of" ;;
    open-parent) STEP="open of the parent" ;;
    stat-target) STEP="stat of" ;;
    stat-dir) STEP="stat of the directory" ;;
    stat-parent) STEP="stat of the parent" ;;
    open-tmpfile | open-probe | open-named-temp) STEP="create of temp" ;;
    link-probe) STEP="linkat of temp" ;;
    unlink-probe) STEP="unlink of temp" ;;
    flock) STEP="flock of temp" ;;
    dup) STEP="dup of temp" ;;
    list-old) STEP="listxattr of" ;;
    list-temp) STEP="listxattr of temp" ;;
    getxattr) STEP="getxattr" ;;
    setxattr) STEP="setxattr" ;;
    removexattr) STEP="removexattr" ;;
    write) STEP="write of temp" ;;
    fstat-temp) STEP="fstat of temp" ;;
    fchmod) STEP="fchmod of temp" ;;
    fchown) STEP="fchown of temp" ;;
    fdatasync) STEP="fdatasync of temp" ;;
    link-temp | link-name) STEP="linkat of temp" ;;
    link-target) STEP="link of temp" ;;
    close-temp) STEP="close of temp" ;;
    close-temp-post) STEP="close of temp after replacing" ;;
    rename) STEP="rename of temp" ;;
    fsync-parent) STEP="fsync of the parent" ;;
    fsync-dir) STEP="fsync of directory" ;;
    mkdirat) STEP="mkdir of" ;;
    *) STEP="" ;;
    esac
}

# Does the message quote the target or one of its parent directories?
names_path() { # $1 message, $2 target
    local p=$2
    while [ -n "$p" ]; do
        case $1 in *"\"$p\""*) return 0 ;; esac
        [ "$p" = / ] && break
        case $p in */*) p=${p%/*}; [ -z "$p" ] && p=/ ;; *) break ;; esac
    done
    return 1
}

# Checks the state of the scenario directory after a run; appends the violations to REASONS.
check_state() { # $1 expect
    if [ "$1" = fail ]; then
        if [ -z "$OLD" ]; then
            [ -e "$TARGET" ] && REASONS="$REASONS; target created although the write failed"
        elif ! cmp -s "$TARGET" "$OLD"; then
            REASONS="$REASONS; target changed although the write failed"
        fi
    elif ! cmp -s "$TARGET" "$PAYLOAD"; then
        REASONS="$REASONS; target does not hold the new content"
    elif [ -n "$PERM" ]; then
        local got
        got=$(stat -c '%a %u %g' "$TARGET")
        [ "$got" = "$PERM" ] || REASONS="$REASONS; mode/owner $got, expected $PERM"
    fi
    if [ "$S" = acl ] && [ -e "$TARGET" ]; then
        getfacl -cp "$TARGET" 2>/dev/null | grep -qx 'user:nobody:r--' ||
            REASONS="$REASONS; the ACL entry user:nobody:r-- is gone"
        [ "$(getfattr --only-values -n user.origin "$TARGET" 2>/dev/null)" = v1 ] ||
            REASONS="$REASONS; the attribute user.origin is gone"
    fi
    # Temps have one shape (ajio.h); with globbing no process is needed to look for them.
    local left
    shopt -s nullglob dotglob
    left=$(printf '%s ' "$SD"/.*.ajio-*.tmp "$SD"/a/.*.ajio-*.tmp "$SD"/a/b/.*.ajio-*.tmp)
    shopt -u nullglob dotglob
    # The one exception (ajio.h): the empty probe temp when its own unlink fails; sweep takes it.
    [ "$left" != " " ] && [ "$ROLE" != unlink-probe ] && REASONS="$REASONS; temp left: ${left% }"
}

# The driver's one output line ("ret=R name=N fds=F heap=H msg=M"), into the caller's locals
# ret, name, fds, heap and msg.
parse_driver_out() {
    ret=${1#ret=}; ret=${ret%% *}
    name=${1#*name=}; name=${name%% *}
    fds=${1#*fds=}; fds=${fds%% *}
    heap=${1#*heap=}; heap=${heap%% *}
    msg=${1#*msg=}
}

# The one judge of the driver's answer, for every mode: its exit and its line ("ret=R name=N
# fds=F heap=H msg=M") against EXPECT, its message, and the descriptors and heap it kept.
# What differs by mode comes from the mode's own tables: what success returns (write: exactly 0;
# rmw: any result >= 0, AJIO_REPAIRED included) and the step a message names (step_of, writes).
# $1 mode (write|rmw), $2 expect, $3 errno, $4 role, $5 syscall, $6 the driver's exit status.
# Appends to REASONS.
judge_driver() {
    local mode=$1 expect=$2 e=$3 role=$4 sys=$5 rc=$6 out
    IFS= read -r out <"$WORK/out$P"
    if [ "$rc" != 0 ]; then
        REASONS="$REASONS; driver exit $rc: $(head -c 200 "$WORK/err$P")"
        return
    fi
    local ret name fds heap msg want_fds=0 failed
    parse_driver_out "$out"
    case $expect in
    ok | okstale)
        if [ "$mode" = write ]; then [ "$ret" = 0 ]; else [ "$ret" -ge 0 ] && [ "$name" != AJIO_ENOTDURABLE ]; fi ||
            REASONS="$REASONS; returned $name ($ret), expected success" ;;
    notdurable) [ "$name" = AJIO_ENOTDURABLE ] ||
        REASONS="$REASONS; returned $name ($ret), expected AJIO_ENOTDURABLE" ;;
    fail | failnew) [ "$ret" = "-${ENUM[$e]}" ] ||
        REASONS="$REASONS; returned $name ($ret), expected $e (-${ENUM[$e]})" ;;
    whole) [ "$ret" -ge 0 ] || [ "$ret" = "-${ENUM[$e]}" ] ||
        { [ "$MODE" = publish ] && [ "$name" = AJIO_ENOTDURABLE ]; } ||
        REASONS="$REASONS; returned $name ($ret), expected success or $e (-${ENUM[$e]})" ;;
    esac
    if [ "$mode" = write ]; then [ "$ret" != 0 ]; else [ "$ret" -lt 0 ]; fi && failed=1
    if [ "$expect" != ok ] && [ -n "${failed:-}" ]; then
        case $msg in *"${ETEXT[$e]}"*) ;; *) REASONS="$REASONS; message lacks '${ETEXT[$e]}'" ;; esac
        if [ "$mode" = write ]; then
            step_of "$role"
            [ -n "$STEP" ] && case $msg in *"$STEP"*) ;; *) REASONS="$REASONS; message lacks step '$STEP'" ;; esac
        fi
        # A set's message may name the member or directory inside it that failed.
        names_path "$msg" "$TARGET" || { [ -n "${TARGET2:-}" ] && names_path "$msg" "$TARGET2"; } ||
            { [ -n "${SET:-}" ] && case $msg in *"$TARGET/"* | *"$TARGET") true ;; *) false ;; esac; } ||
            REASONS="$REASONS; message names no path"
    fi
    # strace skips an injected syscall, so an injected close leaves its fd open.
    [ "$sys" = close ] && want_fds=1
    [ "$fds" = "$want_fds" ] || REASONS="$REASONS; fd delta $fds (expected $want_fds)"
    [ "$heap" = 0 ] || REASONS="$REASONS; heap delta $heap bytes"
}

# The verdict of one run from REASONS: printed when it is a violation (controls are judged by
# their caller), a row in $RESULTS either way. $1 who, $2 scenario, $3 syscall, $4 N, $5 role,
# $6 errno, $7 expect.
record_verdict() {
    local verdict=as-promised
    if [ -n "$REASONS" ]; then
        verdict=VIOLATION
        case $1 in ctl-*) ;; *) echo "VIOLATION $1 $2 $3#$4 ($5) $6:${REASONS#; }" ;; esac
    elif [ "$VERBOSE" = 1 ]; then
        echo "ok $1 $2 $3#$4 ($5) $6 -> $7"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" \
        "$verdict" "${REASONS#; }" >>"$RESULTS"
}

# One run, judged. Appends a row to $RESULTS and prints the reasons of any violation.
# $1 who (lib|cli|ctl-fdatasync|ctl-keeptemp), $2 scenario, $3 syscall, $4 N, $5 role, $6 errno
inject_one() {
    local who=$1 s=$2 sys=$3 n=$4 role=$5 e=$6
    local expect reasons="" out rc bin link=,linkat
    [ "$sys" = linkat ] && link=
    expect_of "$role" "$e"
    expect=$EXPECT
    S=$s ROLE=$role
    setup "$s"
    case $who in
    lib) bin=$DRIVER ;;
    ctl-fdatasync) bin=$CTL_FDATASYNC ;;
    ctl-keeptemp) bin=$CTL_KEEPTEMP ;;
    ctl-setxattr) bin=$CTL_SETXATTR ;;
    esac
    if [ "$who" = cli ]; then
        # shellcheck disable=SC2086
        strace -qq -o "$WORK/trace$P" -e trace="$sys,renameat,renameat2${link}" \
            --inject="$sys:error=$e:when=$n" "$CLI" write $CLIARGS "$TARGET" \
            <"$PAYLOAD" >"$WORK/out$P" 2>"$WORK/err$P"
        rc=$?
        out=$(<"$WORK/err$P")
        local want_rc
        case $expect in
        ok) want_rc=0 ;;
        notdurable) want_rc=75 ;;
        fail) want_rc=$(cli_exit_of "$e") ;;
        esac
        [ "$rc" = "$want_rc" ] || reasons="$reasons; exit $rc, expected $want_rc"
        if [ "$expect" != ok ]; then
            case $out in *"${ETEXT[$e]}"*) ;; *) reasons="$reasons; stderr lacks '${ETEXT[$e]}'" ;; esac
            names_path "$out" "$TARGET" || reasons="$reasons; stderr names no path"
        fi
    else
        # shellcheck disable=SC2086
        strace -qq -o "$WORK/trace$P" -e trace="$sys,renameat,renameat2${link}" \
            --inject="$sys:error=$e:when=$n" "$bin" -P $ARGS "$TARGET" "$PAYLOAD" \
            >"$WORK/out$P" 2>"$WORK/err$P"
        rc=$?
        REASONS=$reasons
        judge_driver write "$expect" "$e" "$role" "$sys" "$rc"
        reasons=$REASONS
    fi
    # The ordering check: after a failure that must fail the write, nothing may be published:
    # no rename, and no O_TMPFILE linked to the target's own name (a new file's publish).
    # One pass over the trace: did the injection happen, and was anything published after it?
    local seen=0 renamed=0 linked=0 line
    while IFS= read -r line; do
        case $line in
        *INJECTED*) seen=1 ;;
        renameat*" = 0") [ $seen = 1 ] && renamed=1 ;;
        linkat*" = 0")
            line=${line#linkat(*, *, *, }
            case ${line%%,*} in *.ajio-*) ;; *) [ $seen = 1 ] && linked=1 ;; esac ;;
        esac
    done <"$WORK/trace$P"
    [ $seen = 1 ] || reasons="$reasons; the injection did not happen"
    [ "$expect" = fail ] && [ $renamed = 1 ] && reasons="$reasons; rename after failed $sys"
    [ "$expect" = fail ] && [ $linked = 1 ] && reasons="$reasons; link to the name after failed $sys"
    REASONS=$reasons
    check_state "$expect"
    record_verdict "$who" "$s" "$sys" "$n" "$role" "$e" "$expect"
}

# ---- the library and the CLI: every syscall occurrence x every plausible errno ---------------
inject_all() { # $1 who
    local who=$1 s kind sys n role e
    for s in $SCENARIOS; do
        # The CLI has no switch for a named temp: that scenario is the library's only.
        [ "$who" = cli ] && [ "$s" = named ] && continue
        setup "$s"
        if [ "$who" = lib ]; then
            # shellcheck disable=SC2086
            strace -qq -o "$WORK/clean$P" "$DRIVER" -P $ARGS "$TARGET" "$PAYLOAD" >"$WORK/out$P" 2>&1
            kind=driver
        else
            # shellcheck disable=SC2086
            strace -qq -o "$WORK/clean$P" "$CLI" write $CLIARGS "$TARGET" <"$PAYLOAD" >"$WORK/out$P" 2>&1
            kind=cli
        fi
        list_calls "$WORK/clean$P" $kind "$(dirname "$TARGET")" | grep -v -e ' open-dir-post$' >"$WORK/calls.$who.$s"
        if [ ! -s "$WORK/calls.$who.$s" ]; then
            echo "check-fault: no write-path syscalls found for $who/$s"; cat "$WORK/out$P"; exit 1
        fi
        echo "== $who $s: $(awk '{ printf "%s%s#%s", (NR > 1 ? " " : ""), $3, $2 }' "$WORK/calls.$who.$s")"
        progress "$who: scenario $s, $(grep -c . "$WORK/calls.$who.$s") syscalls x plausible errnos"
        while read -r sys n role; do
            plausible_of "$role"
            case $role in open-tmpfile | open-probe) ERRS="$ERRS EOPNOTSUPP" ;; esac
            for e in $ERRS; do
                inject_one "$who" "$s" "$sys" "$n" "$role" "$e"
            done
        done <"$WORK/calls.$who.$s"
    done
}

# ---- short writes: a shim that really writes only the first bytes of each call ---------------
short_one() { # $1 who, $2 scenario, $3 bytes per call
    local who=$1 s=$2 lim=$3 reasons="" rc out
    S=$s ROLE=
    setup "$s"
    rm -f "$WORK/short$P.log"
    if [ "$who" = cli ]; then
        # shellcheck disable=SC2086
        LD_PRELOAD=$PWD/$SHIM AJIO_SHORT_WRITE=$lim AJIO_SHORT_WRITE_LOG=$WORK/short$P.log \
            "$CLI" write $CLIARGS "$TARGET" <"$PAYLOAD" >"$WORK/out$P" 2>&1
        rc=$?
        [ $rc = 0 ] || reasons="$reasons; exit $rc: $(head -c 200 "$WORK/out$P")"
    else
        # shellcheck disable=SC2086
        LD_PRELOAD=$PWD/$SHIM AJIO_SHORT_WRITE=$lim AJIO_SHORT_WRITE_LOG=$WORK/short$P.log \
            "$DRIVER" $ARGS "$TARGET" "$PAYLOAD" >"$WORK/out$P" 2>&1
        out=$(cat "$WORK/out$P")
        case $out in "ret=0 name=OK fds=0 heap=0 "*) ;; *) reasons="$reasons; $out" ;; esac
    fi
    local shortened
    shortened=$(cat "$WORK/short$P.log" 2>/dev/null || echo 0)
    [ "${shortened:-0}" -gt 0 ] || reasons="$reasons; no write was shortened (shim inactive?)"
    REASONS=$reasons
    check_state ok
    reasons=$REASONS
    local verdict=as-promised
    if [ -n "$reasons" ]; then
        verdict=VIOLATION
        echo "VIOLATION $who $s short write of $lim bytes:${reasons#; }"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$who" "$s" "write" "all" "short-write" \
        "short:$lim ($shortened calls)" ok "$verdict" "${reasons#; }" >>"$RESULTS"
}
short_all() { # $1 who
    local s lim
    for s in new existing named mkdir; do
        [ "$1" = cli ] && [ "$s" = named ] && continue
        for lim in 1 7; do short_one "$1" "$s" "$lim"; done
    done
    for lim in 4093 30000; do short_one "$1" stream "$lim"; done
}

# ---- a real short write then EFBIG: RLIMIT_FSIZE below the payload size ----------------------
fsize_one() { # $1 who, $2 scenario
    local who=$1 s=$2 reasons="" rc out
    S=$s ROLE=
    setup "$s"
    if [ "$who" = cli ]; then
        # shellcheck disable=SC2086
        bash -c 'trap "" XFSZ; exec prlimit --fsize=100000 "$@"' sh "$CLI" write $CLIARGS \
            "$TARGET" <"$PAYLOAD" >"$WORK/out$P" 2>&1
        rc=$?
        [ $rc = 74 ] || reasons="$reasons; exit $rc, expected 74"
        grep -q "${ETEXT[EFBIG]}" "$WORK/out$P" || reasons="$reasons; stderr lacks '${ETEXT[EFBIG]}'"
    else
        # shellcheck disable=SC2086
        prlimit --fsize=100000 "$DRIVER" -X $ARGS "$TARGET" "$PAYLOAD" >"$WORK/out$P" 2>&1
        out=$(cat "$WORK/out$P")
        case $out in "ret=-27 name=EFBIG fds=0 heap=0 msg="*"write of temp for \"$TARGET\": ${ETEXT[EFBIG]}") ;;
        *) reasons="$reasons; $out" ;; esac
    fi
    REASONS=$reasons
    check_state fail
    reasons=$REASONS
    local verdict=as-promised
    if [ -n "$reasons" ]; then
        verdict=VIOLATION
        echo "VIOLATION $who $s RLIMIT_FSIZE:${reasons#; }"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$who" "$s" "write" "all" "fsize-limit" \
        "EFBIG" fail "$verdict" "${reasons#; }" >>"$RESULTS"
}

# ---- negative controls: libraries with one promise broken must be caught ----------------------
# ctl-fdatasync ignores a failed fdatasync: every injected fdatasync failure must be reported as
# "rename after failed fdatasync". ctl-keeptemp does not remove a named temp after a failure:
# every failure of a write or fdatasync on a named temp must be reported as "temp left".
# ctl-setxattr ignores a failed setxattr of the ACL or a user attribute: every such failure must
# be reported as a write that succeeded where it had to fail.
calls_of() { # $1 scenario: the lib clean-run call list, traced here if the main loop skipped it
    if [ ! -s "$WORK/calls.lib.$1" ]; then
        setup "$1"
        # shellcheck disable=SC2086
        strace -qq -o "$WORK/clean$P" "$DRIVER" -P $ARGS "$TARGET" "$PAYLOAD" >"$WORK/out$P" 2>&1
        list_calls "$WORK/clean$P" driver "$(dirname "$TARGET")" >"$WORK/calls.lib.$1"
    fi
}
control() {
    local sys n role e ok=1 count=0
    calls_of new
    calls_of named
    while read -r sys n role; do
        [ "$sys" = fdatasync ] || continue
        plausible_of fdatasync
        for e in $ERRS; do
            [ "$e" = EINTR ] && continue
            inject_one ctl-fdatasync new "$sys" "$n" "$role" "$e"
            count=$((count + 1))
            tail -n 1 "$RESULTS" | grep -qE 'VIOLATION.*(rename|link to the name) after failed fdatasync' || ok=0
        done
    done <"$WORK/calls.lib.new"
    while read -r sys n role; do
        case $sys in write | writev | fdatasync) ;; *) continue ;; esac
        for e in EIO ENOSPC; do
            inject_one ctl-keeptemp named "$sys" "$n" "$role" "$e"
            count=$((count + 1))
            tail -n 1 "$RESULTS" | grep -q 'VIOLATION.*temp left' || ok=0
        done
    done <"$WORK/calls.lib.named"
    calls_of acl
    local xattrs=0
    while read -r sys n role; do
        [ "$sys" = fsetxattr ] || continue
        xattrs=$((xattrs + 1))
        for e in EIO ENOSPC; do
            inject_one ctl-setxattr acl "$sys" "$n" "$role" "$e"
            count=$((count + 1))
            tail -n 1 "$RESULTS" | grep -q 'VIOLATION.*returned OK (0), expected' || ok=0
        done
    done <"$WORK/calls.lib.acl"
    [ $xattrs -ge 2 ] || ok=0 # the ACL and user.origin
    [ $count -gt 0 ] || ok=0
    echo "$ok $count" >"$WORK/control"
}

# ---- update, append, log handle, repair: the lock and the file grown in place ------------------
# The driver's modes update, append, log and repair (library only: the CLI runs the same calls).
# Each scenario's clean trace is numbered as above, with the roles of list_calls for the write
# path of an update, and roles of their own for the lock file (open-lock, fstat-lock,
# flock-lock, truncate-lock, map-lock, ofd-lock: the group-commit page and its sync lock) and
# for the file appended to (create-append, open-append, fstat-target, pread, cut,
# write-append, write-nl, fdatasync-append, close-append, fsync-new: the directory after
# creating the file) or read by an update (open-old, fstat-old, read-old). The releases of the
# locks (flock LOCK_UN, the OFD unlock) and munmap are not injected: no errno is plausible there.
# The promise (ajio.h): a failure leaves the file as it was - for a file with a torn tail, the
# torn tail or the repaired file, never less; a new file is absent or empty.
# append-shared: a target of another owner, group-writable, without a lock file: the new lock
# file is given the target's owner (fchown) and its write classes (fchmod 0660). append-unsafe:
# a lock file others may open (0666), which its owner retires (unlinkat) before a new one is
# made. append-killed, log-killed, repair-killed: an append of this library was killed in its
# write (its record, exact, says an append is under way), and its bytes, two whole records and a
# torn one, were left: the repair cuts all of them (pread and pwrite of the lock file's record).
# txn: a transaction of three members in the directory set/ (a.json and sub/b.json replaced,
# gone.json removed). txn-recover, txn-rollback: ajio_recover() of what a transaction killed at
# its first member rename (after the commit point: rolled forward) or at the rename of its plan
# to the intent (before it: rolled back) left. publish: src/ published as cur over a generation
# published from the old files. gc: ajio_snapshot_gc() of cur after a publish killed at its
# switch left a whole generation and a temp symlink that nobody holds. Judged as a set
# (set_check): old or new, never a mix, and nothing left once the failure is repaired.
# The longest first (about 85 s for txn here, 22 s for the shortest), so the two parts that share
# them (rmw_all) end close together.
RMW_SCENARIOS=${FAULT_RMW_SCENARIOS:-txn publish txn-recover gc append-killed log-killed batch-each batch txn-rollback append-unsafe log update append-shared append-new append-torn append-term repair-killed append repair}
RMW_PAYLOAD=$WORK/records.jsonl
printf '{"event":"a","n":1}\n{"event":"b","n":2}\n' >"$RMW_PAYLOAD"

rmw_setup() { # $1 scenario: sets MODE ARGS TARGET OLD_F REP_F NEW_F and lays out the old file
    local s=$1 lines='{"old":1}'$'\n''{"old":2}'$'\n'
    rm -rf "$SD" && mkdir "$SD"
    TARGET=$SD/events.jsonl ARGS="" MODE=append TARGET2= SET=
    OLD_F=$WORK/rmw$P.old REP_F=$WORK/rmw$P.repaired NEW_F=$WORK/rmw$P.new STALE_F=$WORK/rmw$P.stale
    rm -f "$OLD_F" "$REP_F" "$NEW_F" "$STALE_F"
    case $s in
    append-new) : ;;
    append) printf '%s' "$lines" >"$OLD_F"; cp "$OLD_F" "$REP_F" ;;
    append-torn | log | repair)
        # No record of the file (no lock file yet): another program's bytes, never deleted; in
        # text they get the newline they lack.
        printf '%s{"torn":' "$lines" >"$OLD_F"; printf '%s{"torn":\n' "$lines" >"$REP_F" ;;
    append-shared) printf '%s' "$lines" >"$OLD_F"; cp "$OLD_F" "$REP_F" ;;
    append-unsafe)
        printf '%s' "$lines" >"$OLD_F"; cp "$OLD_F" "$REP_F"
        install -m 666 /dev/null "$SD/.events.jsonl.ajio-lock" ;;
    append-killed | log-killed | repair-killed)
        # What the killed append left after its record: the complete lines go too (exact +
        # pending); a repair whose record is not exact (no mount id) keeps them (STALE_F).
        printf '%s' "$lines" >"$TARGET"
        strace -qq -o /dev/null --inject=writev:signal=KILL \
            "$DRIVER" -m append "$TARGET" "$RMW_PAYLOAD" >/dev/null 2>&1
        printf '{"k":1}\n{"k":2}\n{"k":' >>"$TARGET"
        cp "$TARGET" "$OLD_F"; printf '%s' "$lines" >"$REP_F"
        printf '%s{"k":1}\n{"k":2}\n' "$lines" >"$STALE_F" ;;
    append-term)
        ARGS="-o jsonl"
        printf '%s{"complete":true}' "$lines" >"$OLD_F"; printf '%s{"complete":true}\n' "$lines" >"$REP_F" ;;
    update) MODE=update TARGET=$SD/state.json
        printf '{"version":1}\n' >"$OLD_F"; cp "$RMW_PAYLOAD" "$NEW_F" ;;
    batch | batch-each)
        # Two files in one batch: each must end old or new, and both new after success. batch:
        # one syncfs for both (Linux >= 5.17, a local filesystem); batch-each (AJIO_SYNC_EACH):
        # the writeback of each started, then an fdatasync each.
        MODE=batch TARGET=$SD/state.json TARGET2=$SD/state.json.2
        [ "$s" = batch-each ] && ARGS="-o sync-each"
        printf '{"version":1}\n' >"$OLD_F"; cp "$RMW_PAYLOAD" "$NEW_F"; cp "$OLD_F" "$TARGET2" ;;
    txn | txn-recover | txn-rollback)
        MODE=txn TARGET=$SD/set SET=txn
        printf '{"version":1}\n' >"$OLD_F"; cp "$RMW_PAYLOAD" "$NEW_F"
        mkdir -p "$TARGET/sub"
        cp "$OLD_F" "$TARGET/a.json"; cp "$OLD_F" "$TARGET/sub/b.json"; cp "$OLD_F" "$TARGET/gone.json"
        # The first renameat of a commit is the plan's to the intent (the commit point).
        local when=2
        [ "$s" = txn-rollback ] && when=1
        if [ "$s" != txn ]; then
            (strace -qq -o /dev/null --inject=renameat:signal=KILL:when=$when \
                "$DRIVER" -m txn "$TARGET" "$RMW_PAYLOAD") >/dev/null 2>&1
            MODE=recover
        fi
        return 0 ;;
    publish | gc)
        MODE=$s TARGET=$SD/pub SET=publish
        printf '{"version":1}\n' >"$OLD_F"; cp "$RMW_PAYLOAD" "$NEW_F"
        mkdir -p "$TARGET/src/d"
        cp "$OLD_F" "$TARGET/src/a.json"; cp "$OLD_F" "$TARGET/src/d/b.json"
        "$DRIVER" -m publish "$TARGET" "$RMW_PAYLOAD" >/dev/null 2>&1
        cp "$NEW_F" "$TARGET/src/a.json"; cp "$NEW_F" "$TARGET/src/d/b.json"
        # The switch is a renameat2(RENAME_EXCHANGE): killed there, the new generation and the
        # temp symlink to it stay, held by nobody.
        [ "$s" = gc ] && (strace -qq -o /dev/null --inject=renameat2:signal=KILL:when=1 \
            "$DRIVER" -m publish "$TARGET" "$RMW_PAYLOAD") >/dev/null 2>&1
        return 0 ;;
    *) echo "unknown scenario $s"; exit 1 ;;
    esac
    case $s in log | log-*) MODE=log ;; repair | repair-*) MODE=repair ;; esac
    if [ -e "$NEW_F" ]; then :
    elif [ "$MODE" = repair ]; then cp "$REP_F" "$NEW_F"
    elif [ -e "$REP_F" ]; then cat "$REP_F" "$RMW_PAYLOAD" >"$NEW_F"
    else cp "$RMW_PAYLOAD" "$NEW_F"
    fi
    if [ -e "$STALE_F" ]; then
        if [ "$MODE" = repair ]; then cp "$STALE_F" "$STALE_F-new"
        else cat "$STALE_F" "$RMW_PAYLOAD" >"$STALE_F-new"; fi
    fi
    [ -e "$OLD_F" ] && cp "$OLD_F" "$TARGET"
    if [ "$s" = append-shared ]; then chown 1234:1234 "$TARGET"; chmod 664 "$TARGET"; fi
    return 0
}

# Roles of the lock file's and the target's own calls, over those of list_calls (same numbering).
rmw_roles() { # $1 trace, $2 mode, $3 target name
    awk -v mode="$2" -v tname="$3" '
    {
        if (!match($0, /^[a-z0-9_]+\(/)) next
        name = substr($0, 1, RLENGTH - 1); count[name]++
        if (index($0, "/.ajio-fault-begin")) { inwin = 1; next }
        if (index($0, "/.ajio-fault-end")) { inwin = 0; next }
        if (!inwin) next
        ret = $0; sub(/.*\) += /, "", ret); sub(/ .*/, "", ret)
        args = $0; sub(/^[a-z0-9_]+\(/, "", args)
        fd = args; sub(/,.*/, "", fd); sub(/\).*/, "", fd)
        num = ret ~ /^[0-9]+$/
        role = ""
        if (name == "openat" && index($0, ".ajio-lock\"")) {
            role = "open-lock"; if (num) lk[ret] = 1
            newlock = num && index($0, "O_CREAT")
        }
        # The target looked at for the mode of a new lock file: without it, the mode for a new
        # target (owner-only either way for these targets), and the append goes on.
        else if (newlock && name == "newfstatat" && index($0, "\"" tname "\"")) { role = "stat-newlock"; newlock = 0 }
        else if (name == "openat" && index($0, "/proc/sys/kernel/random/boot_id")) role = "open-bootid"
        # A batch counts its open descriptors to size its budget; without the count it assumes
        # the worst.
        else if (name == "openat" && index($0, "\"/proc/self/fd\"")) { role = "open-fdcount"; if (num) fc[ret] = 1 }
        else if ((fd in fc) && name == "newfstatat") role = "fstat-fdcount"
        else if ((fd in fc) && name == "close") { role = "close-dir"; delete fc[fd] }
        else if (name == "statx" && (index($0, "0x4000") || index($0, "STATX_MNT_ID_UNIQUE"))) role = "statx-mnt"
        else if (name == "mmap") role = index($0, "MAP_SHARED") ? "map-lock" : "skip"
        # The one sync of a round of temps (batch, transaction) or of a generation (publish).
        else if (name == "syncfs") role = "syncfs-" mode
        else if (name == "munmap") role = "skip"
        else if (fd in lk) {
            if (name == "newfstatat") role = "fstat-lock"
            # Offset 512: the sync record of group commit, else the append record at 0.
            else if (name == "pread64") role = match($0, /, 512\) += /) ? "pread-sync" : "pread-lock"
            else if (name == "pwrite64") role = match($0, /, 512\) += /) ? "pwrite-sync" : "pwrite-lock"
            else if (name == "fdatasync") role = "fdatasync-lock"
            else if (name == "fchmod") role = "fchmod-lock"
            else if (name == "fchown") role = "fchown-lock"
            else if (name == "flock") role = index($0, "LOCK_UN") ? "skip" : "flock-lock"
            else if (name == "fcntl") role = index($0, "F_GETFL") ? "getfl-lock" : index($0, "F_UNLCK") ? "skip" : "ofd-lock"
            else if (name == "ftruncate") role = "truncate-lock"
            else if (name == "close") { role = "close-lock"; delete lk[fd] }
        }
        else if (name == "openat" && index($0, "O_APPEND")) {
            role = index($0, "O_CREAT") ? "create-append" : "open-append"; if (num) wf[ret] = 1
        }
        else if (name == "openat" && index($0, "\"" tname "\"") && index($0, "O_RDONLY")) {
            if (mode == "update") { role = "open-old"; if (num) of[ret] = 1 }
            else { role = "open-tail"; if (num) rf[ret] = 1 }
        }
        else if (fd in wf) {
            if (name == "newfstatat") role = "fstat-target"
            else if (name == "ftruncate") {
                role = "cut"
                # The pread just before the cut reads the text the message shows.
                if (lastpread != "") out[lastpread] = "pread64 " preadn " pread-shown"
            }
            else if (name == "fdatasync") role = "fdatasync-append"
            else if (name == "write" || name == "writev") role = index($0, "iov_len=1}") ? "write-nl" : "write-append"
            else if (name == "pread64") { role = "pread"; lastpread = nout + 1; preadn = count[name] }
            else if (name == "close") { role = "close-append"; delete wf[fd] }
        }
        else if (fd in rf) {
            if (name == "newfstatat") role = "fstat-target"
            else if (name == "pread64") { role = "pread"; lastpread = nout + 1; preadn = count[name] }
            else if (name == "close") { role = "close-tail"; delete rf[fd] }
        }
        else if (fd in of) {
            if (name == "newfstatat") role = "fstat-old"
            else if (name == "read") role = "read-old"
            else if (name == "close") { role = "close-old"; delete of[fd] }
        }
        else if (name == "fsync" && mode != "update" && mode != "batch") role = "fsync-new"
        else if (name == "read" || name == "pread64" || name == "ftruncate") role = "skip"
        if (role != "") out[++nout] = name " " count[name] " " role
    }
    END { for (i = 1; i <= nout; i++) print out[i] }' "$1"
}

rmw_plausible() { # $1 role; sets ERRS (out of ERRNOS, unless FAULT_ALL_ERRNOS=1)
    local p
    case $1 in
    open-lock | create-append) p="ENOSPC EDQUOT EIO EINTR EACCES EROFS EMFILE" ;;
    open-append | open-tail | open-old) p="EACCES EMFILE EIO EINTR EROFS" ;;
    fstat-lock | fstat-target | fstat-old) p="EIO" ;;
    flock-lock | ofd-lock) p="EINTR ENOLCK" ;;
    getfl-lock) p="" ;;
    sync_file_range) p="EIO ENOSPC" ;; # a batch starting the writeback of its temps
    syncfs-*) p="EIO ENOSPC EDQUOT EINTR" ;;
    truncate-lock) p="EIO ENOSPC EDQUOT EROFS" ;;
    map-lock) p="EACCES" ;;
    pread | pread-shown | read-old | pread-lock) p="EIO EINTR" ;;
    pwrite-lock | pwrite-sync) p="ENOSPC EDQUOT EIO EINTR" ;;
    pread-sync) p="EIO EINTR" ;;
    stat-newlock) p="EIO EACCES" ;;
    open-bootid) p="EACCES EMFILE EIO EINTR" ;;
    open-fdcount) p="EACCES EMFILE EIO EINTR" ;;
    fstat-fdcount) p="EIO" ;;
    fdatasync-lock) p="EIO ENOSPC EDQUOT EINTR" ;;
    fchmod-lock | fchown-lock) p="EIO EROFS" ;;
    statx-mnt) p="EIO EACCES" ;;
    unlinkat) p="EIO EROFS EACCES" ;;
    cut) p="EIO EROFS EINTR" ;;
    write-append | write-nl) p="ENOSPC EDQUOT EIO EINTR" ;;
    fdatasync-append | fsync-new) p="EIO ENOSPC EDQUOT EINTR" ;;
    close-append | close-tail | close-old | close-lock) p="EIO EINTR ENOSPC EDQUOT" ;;
    *) plausible_of "$1"; return ;;
    esac
    if [ "${FAULT_ALL_ERRNOS:-0}" = 1 ]; then ERRS=$ERRNOS; return; fi
    ERRS=
    for e in $RMW_ERRNOS; do case " $p " in *" $e "*) ERRS="$ERRS $e" ;; esac; done
}
RMW_ERRNOS="$ERRNOS ENOLCK"
# The heap delta counts what the call keeps: without malloc's per-thread cache, whose chunks
# mallinfo2() counts as in use, the first free of a new size (the log handle, the validator of
# a JSONL repair) is not mistaken for a leak.
RMW_TUNABLES=glibc.malloc.tcache_count=0

# fail: -ERRNO and the file as it was (or repaired); ok: success and the new file; failnew:
# -ERRNO reported after the records were appended and synced (the close of the appended file:
# "the records may be incomplete"), the new file; notdurable: as for a write.
rmw_expect() { # $1 role, $2 errno, $3 mode; sets EXPECT
    case $3 in txn | recover | publish | gc) set_expect "$1" "$2" "$3"; return ;; esac
    case $1:$2 in
    close-dir* | close-lock* | close-tail:* | close-old:* | close-cmp:* | close-probe:*) EXPECT=ok ;;
    getfl-lock:* | map-lock:* | ofd-lock:*) EXPECT=ok ;;          # group commit off: a sync of its own
    pread-shown:*) EXPECT=ok ;; # the cut text for the message only: the repair goes on
    flock-lock:EINTR | pread:EINTR | read-old:EINTR | write*:EINTR) EXPECT=ok ;; # retried
    pread-lock:EINTR | pwrite-lock:EINTR | pread-sync:EINTR) EXPECT=ok ;; # retried
    # The sync record of group commit, written after the sync: the records are durable whatever
    # it says. (A failed read of it fails the append, cut back.)
    pwrite-sync:*) EXPECT=ok ;;
    # Without the boot id no record is exact: a killed append's whole lines stay, as after a
    # power cut.
    open-bootid:*) EXPECT=okstale ;;
    stat-newlock:* | open-fdcount:* | fstat-fdcount:*) EXPECT=ok ;;
    # The opened file's one statx (its stat and its mount's unique id): the call fails, the
    # file as it was.
    statx-mnt:*) EXPECT=fail ;;
    # An unsafe lock file that cannot be removed is narrowed instead.
    unlinkat:EACCES) EXPECT=ok ;;
    open-parent:EACCES | open-dir2:EACCES | open-dot:EACCES) EXPECT=ok ;;
    open-cmp:*) EXPECT=ok ;;
    close-append:*) [ "$3" = repair ] && EXPECT=fail || EXPECT=failnew ;;
    dup*:*) [ "$3" = batch ] && EXPECT=ok || EXPECT=fail ;; # a batch then syncs that directory at once
    # A batch's syncfs that fails may have failed for another program's file: each temp's own
    # fdatasync decides, and here those succeed.
    syncfs-batch:*) EXPECT=ok ;;
    fsync-dir:* | close-temp-post:*) EXPECT=notdurable ;;
    *) EXPECT=fail ;;
    esac
}

rmw_check_state() { # $1 expect, $2 role; appends to REASONS
    if [ -n "$SET" ]; then
        set_check
        return
    fi
    if [ -n "$TARGET2" ]; then
        local t
        for t in "$TARGET" "$TARGET2"; do
            if [ "$1" = fail ]; then
                cmp -s "$t" "$OLD_F" || cmp -s "$t" "$NEW_F" ||
                    REASONS="$REASONS; ${t##*/} is neither old nor new"
            elif ! cmp -s "$t" "$NEW_F"; then
                REASONS="$REASONS; ${t##*/} does not hold the new content"
            fi
        done
    elif [ "$1" = fail ]; then
        if [ ! -e "$OLD_F" ]; then
            [ -e "$TARGET" ] && [ -s "$TARGET" ] && REASONS="$REASONS; a new file holds bytes although the call failed"
        elif cmp -s "$TARGET" "$OLD_F"; then :
        elif [ -e "$REP_F" ] && cmp -s "$TARGET" "$REP_F"; then :
        else REASONS="$REASONS; target changed although the call failed (neither as it was nor repaired)"
        fi
    elif [ "$1" = okstale ] && [ -e "$STALE_F-new" ] && cmp -s "$TARGET" "$STALE_F-new"; then :
    elif ! cmp -s "$TARGET" "$NEW_F"; then
        REASONS="$REASONS; target does not hold the expected content"
    fi
    local left
    shopt -s nullglob dotglob
    left=$(printf '%s ' "$SD"/.*.ajio-*.tmp)
    shopt -u nullglob dotglob
    # The one documented leftover, as for a write: the probe temp whose own unlink failed.
    [ "$left" != " " ] && [ "$2" != unlink-probe ] && REASONS="$REASONS; temp left: ${left% }"
}

# ---- sets: transactions, recovery, publish, gc ---------------------------------------------------
# What a failure must give (fail: -ERRNO; whole: success or -ERRNO, the set judged by set_check).
# A failed write, sync or rename of a transaction or a publish must fail the call: a commit or a
# publish that reports success must be durable. After a transaction's commit point (roles
# "-post": after its first successful rename) and in a recovery or a gc, the call fails with the
# error and the set is made whole by the next recovery or gc (set_check runs it). A failed
# close, lock or stat may be survivable: either outcome, judged by the state.
set_expect() { # $1 role, $2 errno, $3 mode; sets EXPECT
    case $3:$1:$2 in
    *:close*:* | *:flock*:EINTR | *:dup*:*) EXPECT=whole ;;
    publish:fsync*:*) EXPECT=whole ;; # the last directory sync: AJIO_ENOTDURABLE
    *:write*:EINTR) EXPECT=whole ;;                                 # retried
    txn:fdatasync*:* | txn:fsync*:* | txn:write*:* | txn:rename*:* | txn:open-named-temp*:*) EXPECT=fail ;;
    publish:fdatasync*:* | publish:write*:* | publish:syncfs*:*) EXPECT=fail ;;
    *) EXPECT=whole ;;
    esac
}

# The generation of a transaction's set in TARGET: old, new, or what each member holds.
set_gen() { # sets GEN
    local m a=() f
    for m in a.json sub/b.json gone.json; do
        f=$TARGET/$m
        if [ ! -e "$f" ]; then a+=(missing)
        elif cmp -s "$f" "$OLD_F"; then a+=(old)
        elif cmp -s "$f" "$NEW_F"; then a+=(new)
        else a+=(other); fi
    done
    [ "${a[2]}" = missing ] && a[2]=new # gone.json removed
    case "${a[*]}" in
    "old old old") GEN=old ;; "new new new") GEN=new ;;
    *) GEN="mixed (a.json ${a[0]}, sub/b.json ${a[1]}, gone.json ${a[2]})" ;;
    esac
}

# A publish's cur: the generation it resolves to (old, new, or partial), and how many
# generations and temp symlinks are beside it.
pub_gen() { # sets GEN NGEN NTMP
    local a b
    if [ ! -L "$TARGET/cur" ]; then GEN="no symlink cur"; NGEN=0; NTMP=0; return; fi
    a=other b=other
    cmp -s "$TARGET/cur/a.json" "$OLD_F" && a=old; cmp -s "$TARGET/cur/a.json" "$NEW_F" && a=new
    cmp -s "$TARGET/cur/d/b.json" "$OLD_F" && b=old; cmp -s "$TARGET/cur/d/b.json" "$NEW_F" && b=new
    if [ $a = $b ] && [ $a != other ]; then GEN=$a; else GEN="partial (a.json $a, d/b.json $b)"; fi
    shopt -s nullglob dotglob
    local g=("$TARGET"/.cur.snap-*) t=("$TARGET"/.cur.ajio-*.tmp)
    shopt -u nullglob dotglob
    NGEN=${#g[@]} NTMP=${#t[@]}
}

# A transaction's leftovers: anything named .ajio-txn-* (plan, intent, temps) in set/ or sub/.
txn_left() { # sets LEFT
    LEFT=$(find "$TARGET" -name '.ajio-txn-*' -printf '%P ')
}

# The state after the traced call: the set whole, old or new as the result says; after a
# failure the repair (an untraced ajio_recover() or gc) must succeed and leave it whole and
# clean. Appends to REASONS.
set_check() {
    local out ret want repair=""
    IFS= read -r out <"$WORK/out$P"
    ret=${out#ret=}; ret=${ret%% *}
    if [ "$SET" = txn ]; then
        case $S in txn) want=new ;; txn-recover) want=new ;; txn-rollback) want=old ;; esac
        set_gen
        if [ "$ret" -ge 0 ]; then
            [ "$GEN" = "$want" ] || REASONS="$REASONS; set $GEN after success, $want expected"
        elif [ "$MODE" = txn ] && [ ! -e "$TARGET/.ajio-txn-intent" ]; then
            # No intent: failed before the commit point (old) or after the intent was removed
            # (new), whole either way, and nothing left.
            case $GEN in old | new) ;; *) REASONS="$REASONS; set $GEN after a failure with no intent left" ;; esac
            txn_left
            [ -z "$LEFT" ] || REASONS="$REASONS; left after the failure: $LEFT"
            return
        else
            # An intent: mixed until a recovery, which must complete it.
            repair=recover
        fi
        if [ -n "$repair" ]; then
            "$DRIVER" -m recover "$TARGET" "$RMW_PAYLOAD" >"$WORK/out$P" 2>"$WORK/err$P"
            IFS= read -r out <"$WORK/out$P"
            case $out in ret=-*) REASONS="$REASONS; the recovery after the failure failed: ${out#*msg=}" ;; esac
            set_gen
            [ "$GEN" = "$want" ] || REASONS="$REASONS; set $GEN after the recovery, $want expected"
        fi
        txn_left
        [ -z "$LEFT" ] || REASONS="$REASONS; left: $LEFT"
        return
    fi
    # publish | gc
    pub_gen
    # AJIO_ENOTDURABLE: only the last directory sync failed, cur was switched.
    case $out in *" name=AJIO_ENOTDURABLE "*) ret=0 ;; esac
    if [ "$MODE" = gc ]; then want=old; elif [ "$ret" -ge 0 ]; then want=new; else want=old; fi
    if [ "$MODE" = publish ] && [ "$ret" -lt 0 ] && [ "$GEN" = new ]; then
        # Whole, but ajio.h promises that a negative errno leaves name unchanged.
        REASONS="$REASONS; returned an error with cur switched to the new generation"
        want=new
    fi
    [ "$GEN" = "$want" ] || REASONS="$REASONS; cur resolves to $GEN, $want expected"
    if [ "$MODE" = publish ]; then
        cmp -s "$TARGET/src/a.json" "$NEW_F" && cmp -s "$TARGET/src/d/b.json" "$NEW_F" ||
            REASONS="$REASONS; the source changed"
        [ "$ret" -lt 0 ] && [ "$GEN" = old ] && [ "$NGEN" != 1 ] && REASONS="$REASONS; $NGEN generations after a failed publish"
    fi
    # The gc after it (as the next publish runs it) removes what is left, cur unchanged.
    "$DRIVER" -m gc "$TARGET" "$RMW_PAYLOAD" >"$WORK/out$P" 2>"$WORK/err$P"
    IFS= read -r out <"$WORK/out$P"
    case $out in ret=-*) REASONS="$REASONS; the gc after it failed: ${out#*msg=}" ;; esac
    pub_gen
    [ "$GEN" = "$want" ] || REASONS="$REASONS; cur resolves to $GEN after the gc, $want expected"
    [ "$NGEN" = 1 ] && [ "$NTMP" = 0 ] || REASONS="$REASONS; $NGEN generations and $NTMP temp symlinks after the gc"
}

rmw_one() { # $1 who (lib|ctl-nocutback|ctl-keepstaging), $2 scenario, $3 sys, $4 N, $5 role, $6 errno
    local who=$1 s=$2 sys=$3 n=$4 role=$5 e=$6 bin=$DRIVER reasons="" out rc
    [ "$who" = ctl-nocutback ] && bin=$CTL_NOCUTBACK
    [ "$who" = ctl-keepstaging ] && bin=$CTL_KEEPSTAGING
    S=$s
    rmw_setup "$s"
    rmw_expect "$role" "$e" "$MODE"
    local expect=$EXPECT
    # shellcheck disable=SC2086
    strace -qq -o "$WORK/trace$P" -e trace="$sys" --inject="$sys:error=$e:when=$n" \
        env GLIBC_TUNABLES=$RMW_TUNABLES "$bin" -P -m "$MODE" $ARGS "$TARGET" "$RMW_PAYLOAD" \
        >"$WORK/out$P" 2>"$WORK/err$P"
    rc=$?
    REASONS=$reasons
    judge_driver rmw "$expect" "$e" "$role" "$sys" "$rc"
    reasons=$REASONS
    grep -q INJECTED "$WORK/trace$P" || reasons="$reasons; the injection did not happen"
    REASONS=$reasons
    rmw_check_state "$expect" "$role"
    # A failed append, log append or repair is retried, untraced: it must succeed and leave the
    # file as a clean run does, every record once (nothing of the failed attempt stays).
    if [ "$expect" = fail ] && [ -z "$TARGET2" ] && [ -z "$SET" ] && [ "$MODE" != update ]; then
        # shellcheck disable=SC2086
        "$bin" -m "$MODE" $ARGS "$TARGET" "$RMW_PAYLOAD" >"$WORK/out$P" 2>"$WORK/err$P"
        IFS= read -r out <"$WORK/out$P"
        case $out in ret=-*) REASONS="$REASONS; the retry failed: ${out#*msg=}" ;; esac
        cmp -s "$TARGET" "$NEW_F" ||
            REASONS="$REASONS; after the retry the target is not what a clean run leaves"
    fi
    record_verdict "$who" "$s" "$sys" "$n" "$role" "$e" "$expect"
}

rmw_calls() { # $1 scenario: the numbered calls of its clean run into $WORK/calls.rmw$P.$1
    local s=$1 sys n role
    rmw_setup "$s"
    # shellcheck disable=SC2086
    strace -qq -o "$WORK/clean$P" env GLIBC_TUNABLES=$RMW_TUNABLES "$DRIVER" -P -m "$MODE" $ARGS \
        "$TARGET" "$RMW_PAYLOAD" >"$WORK/out$P" 2>&1
    declare -A over=()
    while read -r sys n role; do over["$sys $n"]=$role; done \
        < <(rmw_roles "$WORK/clean$P" "$MODE" "${TARGET##*/}")
    INJECTABLE="$INJECTABLE pread64 pwrite64 ftruncate read mmap sync_file_range syncfs" list_calls "$WORK/clean$P" driver "$SD" |
        grep -v -e ' open-dir-post$' | while read -r sys n role; do
            role=${over["$sys $n"]:-$role}
            [ "$role" = skip ] || echo "$sys $n $role"
        done >"$WORK/calls.rmw$P.$s"
    [ -s "$WORK/calls.rmw$P.$s" ] || { echo "check-fault: no calls found for $s"; cat "$WORK/out$P"; exit 1; }
}

# Both parts run this once their own scenarios are done: each takes the next scenario nobody has
# taken (mkdir is atomic), so the two cores stay busy to the end.
rmw_all() {
    local s sys n role e
    for s in $RMW_SCENARIOS; do
        mkdir "$WORK/taken.$s" 2>/dev/null || continue
        rmw_calls "$s"
        echo "== lib $s: $(awk '{ printf "%s%s#%s", (NR > 1 ? " " : ""), $3, $2 }' "$WORK/calls.rmw$P.$s")"
        progress "lib: $s, $(grep -c . "$WORK/calls.rmw$P.$s") syscalls x plausible errnos"
        while read -r sys n role; do
            rmw_plausible "$role"
            for e in $ERRS; do rmw_one lib "$s" "$sys" "$n" "$role" "$e"; done
        done <"$WORK/calls.rmw$P.$s"
        : >"$WORK/done.$s"
    done
}

# The negative control: an append that is not cut back after its fdatasync failed leaves the
# records in the file; every such run must be reported as a changed target.
rmw_control() {
    local sys n role e ok=1 count=0
    rmw_calls append
    while read -r sys n role; do
        [ "$role" = fdatasync-append ] || continue
        for e in EIO ENOSPC; do
            rmw_one ctl-nocutback append "$sys" "$n" "$role" "$e"
            count=$((count + 1))
            tail -n 1 "$RESULTS" | grep -q 'VIOLATION.*target changed although the call failed' || ok=0
        done
    done <"$WORK/calls.rmw$P.append"
    # A transaction that fails before its commit point and keeps its temps and plan: every
    # failed fdatasync of a temp or of the plan must be reported as a leftover.
    rmw_calls txn
    while read -r sys n role; do
        [ "$sys" = fdatasync ] || continue
        rmw_one ctl-keepstaging txn "$sys" "$n" "$role" EIO
        count=$((count + 1))
        tail -n 1 "$RESULTS" | grep -q 'VIOLATION.*left after the failure' || ok=0
    done <"$WORK/calls.rmw$P.txn"
    [ $count -gt 0 ] || ok=0
    echo "$ok $count" >"$WORK/control.rmw"
}

# ---- two faults: the write fails, and so does the removal of its named temp -------------------
# The temp cannot be removed then; ajio_file_commit must still return the first error, and the
# message must say that the temp is left (ajio.h: the caller must hear about it). ajio sweep
# --min-age 0 must then remove it.
double_fault() {
    local e=EIO reasons="" out rc
    setup named
    # shellcheck disable=SC2086
    strace -qq -o /dev/null --inject=fdatasync:error=$e:when=1 --inject=unlinkat:error=EACCES:when=1 \
        "$DRIVER" $ARGS "$TARGET" "$PAYLOAD" >"$WORK/out$P" 2>&1
    IFS= read -r out <"$WORK/out$P"
    case $out in "ret=-5 name=EIO fds=0 heap=0 msg=fdatasync of temp for \"$TARGET\": ${ETEXT[EIO]}"*"could not be removed"*"${ETEXT[EACCES]}"*) ;;
    *) reasons="$reasons; $out" ;; esac
    cmp -s "$TARGET" "$OLD" || reasons="$reasons; target changed"
    shopt -s nullglob dotglob
    local temps=("$SD"/.*.ajio-*.tmp)
    shopt -u nullglob dotglob
    [ ${#temps[@]} = 1 ] || reasons="$reasons; ${#temps[@]} temps, expected the 1 that could not be removed"
    if [ $HAVE_CLI = 1 ]; then
        "$CLI" sweep --min-age 0 "$SD" >"$WORK/out$P" 2>&1 || reasons="$reasons; ajio sweep failed"
        shopt -s nullglob dotglob
        temps=("$SD"/.*.ajio-*.tmp)
        shopt -u nullglob dotglob
        [ ${#temps[@]} = 0 ] || reasons="$reasons; ajio sweep left ${#temps[@]} temps"
    fi
    local verdict=as-promised
    [ -n "$reasons" ] && { verdict=VIOLATION; echo "VIOLATION lib named double fault:${reasons#; }"; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' lib named "fdatasync+unlinkat" 1 \
        "double-fault" "EIO+EACCES" "fail, temp reported" "$verdict" "${reasons#; }" >>"$RESULTS"
}

# One part per process: its own scenario directory, scratch files and result rows.
part() { # $1 lib|cli
    P=.$1 SD=$WORK/s.$1 RESULTS=$WORK/results.$1.tsv
    : >"$RESULTS"
    inject_all "$1"
    progress "$1: short writes"
    short_all "$1"
    progress "$1: file size limit"
    fsize_one "$1" stream
    if [ "$1" = lib ]; then
        progress "lib: double fault and negative controls"
        double_fault
        control
    fi
    rmw_all
    if [ "$1" = lib ]; then
        progress "lib: negative control of the read-modify-write modes"
        rmw_control
    fi
    progress "$1: done"
    return 0
}

start=$(date +%s)
if [ $HAVE_CLI = 0 ]; then
    [ "${CI:-}" = true ] && { echo "check-fault: $CLI missing"; exit 1; }
    echo "check-fault: $CLI not built: CLI part skipped"
    part lib || exit 1
else
    # Two parts on two cores, each run a few processes waiting on ptrace: the library's writes
    # and the CLI's, then both share the read-modify-write scenarios (rmw_all). FAULT_JOBS=1
    # runs the parts one after the other, the first taking every shared scenario.
    if [ "${FAULT_JOBS:-2}" -gt 1 ]; then
        part lib >"$WORK/log.lib" 2>&1 &
        libpid=$!
        # In a subshell too: a part that fails exits, and the main shell must still print both logs.
        (part cli) >"$WORK/log.cli" 2>&1
        cli_rc=$?
        wait $libpid
        lib_rc=$?
        cat "$WORK/log.lib" "$WORK/log.cli"
        [ $lib_rc = 0 ] && [ $cli_rc = 0 ] ||
            { echo "check-fault: a part failed (library $lib_rc, CLI $cli_rc)"; exit 1; }
    else
        part lib || exit 1
        part cli || exit 1
    fi
fi
# A shared scenario that no part finished would be missing from the tables without a word.
for s in $RMW_SCENARIOS; do
    [ -e "$WORK/done.$s" ] || { echo "check-fault: scenario $s was not run to its end"; exit 1; }
done
RESULTS=$WORK/results.tsv
cat "$WORK"/results.lib.tsv "$WORK"/results.cli.tsv >"$RESULTS" 2>/dev/null
RUNS=$(awk -F'\t' '$1 !~ /^ctl-/' "$RESULTS" | grep -c .)
VIOLATIONS=$(awk -F'\t' '$1 !~ /^ctl-/ && $8 == "VIOLATION"' "$RESULTS" | grep -c .)
read -r control_ok control_n <"$WORK/control" || { control_ok=0; control_n=0; }
read -r rmw_ok rmw_n <"$WORK/control.rmw" || { rmw_ok=0; rmw_n=0; }
[ "$rmw_ok" = 1 ] || control_ok=0
control_n=$((control_n + rmw_n))
secs=$(( $(date +%s) - start ))

# ---- tables ------------------------------------------------------------------------------------
echo
echo "Fault injection: $RUNS runs (+ $control_n of the negative control) in ${secs}s (errnos: $ERRNOS, as plausible per syscall; + EOPNOTSUPP on O_TMPFILE)"
echo
echo "By syscall role (library and CLI, all scenarios):"
awk -F'\t' '$1 !~ /^ctl-/ {
        key = $1 "\t" $5; runs[key]++
        if ($8 == "VIOLATION") bad[key]++
        else out[key, $7 == "failnew" ? "fail" : $7 == "okstale" ? "ok" : $7]++
        keys[key] = 1
    }
    END {
        printf "%-4s %-16s %6s %8s %8s %11s %10s\n", "who", "role", "runs", "fail-ok", "success", "notdurable", "VIOLATION"
        n = 0; for (k in keys) list[++n] = k
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (list[j] < list[i]) { t = list[i]; list[i] = list[j]; list[j] = t }
        for (i = 1; i <= n; i++) { k = list[i]; split(k, p, "\t")
            printf "%-4s %-16s %6d %8d %8d %11d %10d\n", p[1], p[2], runs[k], out[k, "fail"], out[k, "ok"], out[k, "notdurable"], bad[k]
            tr += runs[k]; tf += out[k, "fail"]; to += out[k, "ok"]; tn += out[k, "notdurable"]; tb += bad[k] }
        printf "%-4s %-16s %6d %8d %8d %11d %10d\n", "all", "", tr, tf, to, tn, tb
    }' "$RESULTS"
echo
echo "By errno (library and CLI):"
awk -F'\t' '$1 !~ /^ctl-/ { e = $6; sub(/ .*/, "", e); runs[e]++; if ($8 == "VIOLATION") bad[e]++ }
    END { for (e in runs) printf "  %-14s %5d runs %4d violations\n", e, runs[e], bad[e] }' "$RESULTS" | sort
echo
if [ $control_ok = 1 ]; then
    echo "negative controls: libraries ignoring a failed fdatasync, leaving their named temp behind or"
    echo "ignoring a failed setxattr of the ACL, or not cutting back a failed append were caught in"
    echo "$control_n/$control_n runs (\"rename after failed fdatasync\" or \"link to the name after failed fdatasync\", \"temp left\", \"returned OK,"
    echo "expected -E\", \"target changed although the call failed\")"
else
    echo "negative control FAILED: the harness missed a broken library:"
    grep '^ctl-' "$RESULTS"
fi
mkdir -p "$BUILD/fault"
cp "$RESULTS" "$BUILD/fault/results.tsv"
echo "all rows: $BUILD/fault/results.tsv"
if [ $VIOLATIONS -gt 0 ] || [ $control_ok = 0 ]; then
    echo "check-fault: $VIOLATIONS violations"
    exit 1
fi
echo "check-fault: every injected fault ended as promised"
exit 0

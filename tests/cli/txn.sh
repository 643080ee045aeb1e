#!/bin/sh
# ajio batch and ajio recover: a manifest applied file by file or all or nothing, with
# subdirectories, removals and -z; a bad line, an unreadable source or an invalid JSON member
# refused with its manifest line and nothing changed; recovery from a planted intent, and after
# killing an all-or-nothing batch mid-way. Each case has a control that shows it can fail.
. tests/cli/common.inc
D=$WORK/d
S=$WORK/src
mkdir "$S"
for i in 1 2 3; do printf '{"v":%d}\n' "$i" >"$S/v$i"; done
printf 'not json\n' >"$S/bad"

# snapshot_of DIR: the names and contents of DIR's files, the library's own files left out.
snapshot_of()
{
    (cd "$1" && find . -type f ! -name '.*' -exec sh -c 'for f; do printf "%s: " "$f"; cat "$f"; done' \
        sh {} + | LC_ALL=C sort)
}

# --- the happy path: subdirectories, then a removal, all or nothing --------------------------
printf 'a.json\t%s\nsub/deep/b.json\t%s\n' "$S/v1" "$S/v2" |
    "$AJIO" batch --all-or-nothing --json "$D" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "batch --all-or-nothing"
same "$D/a.json" "$S/v1" "all-or-nothing: a.json"
same "$D/sub/deep/b.json" "$S/v2" "all-or-nothing: sub/deep/b.json"
[ ! -s "$WORK/out" ] || fail "batch wrote to stdout: $(cat "$WORK/out")"
ls -A "$D" | grep -q '^\.ajio-txn-intent' && fail "intent left behind"

printf 'a.json\t-\nsub/deep/b.json\t%s\n' "$S/v3" |
    "$AJIO" batch --all-or-nothing "$D" 2>"$WORK/err"
want_rc $? 0 "batch --all-or-nothing with a removal"
[ ! -e "$D/a.json" ] || fail "removal: a.json still there"
same "$D/sub/deep/b.json" "$S/v3" "removal: the other member"
# Control: the same '-' without --all-or-nothing is a manifest error, nothing removed.
printf 'x\t%s\n' "$S/v1" | "$AJIO" batch "$D" 2>"$WORK/err"
printf 'x\t-\n' | "$AJIO" batch "$D" 2>"$WORK/err"
want_rc $? 65 "'-' without --all-or-nothing"
[ -e "$D/x" ] || fail "'-' without --all-or-nothing removed x"
want_err_prefix 'ajio: manifest line 1 ("x"): SOURCE '"'-'"' (remove) needs --all-or-nothing' \
    "'-' without --all-or-nothing message"

# -z: names with a TAB or a newline.
printf 't\tab\0%s\0new\nline\0%s\0x\0-\0' "$S/v1" "$S/v2" |
    "$AJIO" batch -z --all-or-nothing "$D" 2>"$WORK/err"
want_rc $? 0 "batch -z"
same "$D/t	ab" "$S/v1" "-z: a name with a TAB"
same "$D/new
line" "$S/v2" "-z: a name with a newline"
[ ! -e "$D/x" ] || fail "-z: x not removed"

# Without --all-or-nothing: the existing batch, each file atomic.
printf 'p/one\t%s\ntwo\t%s\n' "$S/v1" "$S/v2" | "$AJIO" batch --jsonl "$D" 2>"$WORK/err"
want_rc $? 0 "plain batch"
same "$D/p/one" "$S/v1" "plain batch: p/one"
same "$D/two" "$S/v2" "plain batch: two"

# --- refusals: nothing changed, the line named --------------------------------------------
snapshot_of "$D" >"$WORK/before"
# refused WHAT RC PREFIX [OPTIONS...]: the manifest in $WORK/manifest is refused with RC, the
# first line of stderr starting with PREFIX, and DIR unchanged.
refused()
{
    what=$1 rc=$2 prefix=$3
    shift 3
    "$AJIO" batch "$@" "$D" <"$WORK/manifest" >"$WORK/out" 2>"$WORK/err"
    want_rc $? "$rc" "$what"
    want_err_prefix "$prefix" "$what: message"
    snapshot_of "$D" >"$WORK/after"
    cmp -s "$WORK/before" "$WORK/after" || { fail "$what: DIR changed"; diff "$WORK/before" "$WORK/after"; }
    no_temps "$D" "$what"
    ls -A "$D" | grep -q '^\.ajio-txn-intent' && fail "$what: intent left"
}
for mode in --all-or-nothing --no-mkdir; do
    printf 'a.json\t%s\nsub/deep/b.json\t%s\nc.json\t%s\n' "$S/v1" "$S/bad" "$S/v2" >"$WORK/manifest"
    refused "invalid JSON member ($mode)" 65 \
        "ajio: $S/bad:1:2: invalid literal" --json $mode
    want_err_prefix "ajio: $S/bad:1:2: invalid literal (expected 'null') (manifest line 2, TARGET \"sub/deep/b.json\"" \
        "invalid JSON member ($mode): names the line and TARGET"
    printf 'a.json\t%s\nno tab here\nc.json\t%s\n' "$S/v1" "$S/v2" >"$WORK/manifest"
    refused "line without a TAB ($mode)" 65 \
        'ajio: manifest line 2 ("no tab here"): no TAB between TARGET and SOURCE' $mode
    printf 'a.json\t%s\n../escape\t%s\n' "$S/v1" "$S/v2" >"$WORK/manifest"
    refused "TARGET with .. ($mode)" 65 'ajio: manifest line 2 ("../escape"): TARGET must not' $mode
    printf 'a.json\t%s\n/abs\t%s\n' "$S/v1" "$S/v2" >"$WORK/manifest"
    refused "absolute TARGET ($mode)" 65 'ajio: manifest line 2 ("/abs"): TARGET must be relative' $mode
    printf 'a.json\t%s\nb\t%s\n' "$S/v1" "$WORK/missing" >"$WORK/manifest"
    refused "unreadable SOURCE ($mode)" 66 \
        "ajio: manifest line 2 (\"b\"): cannot read SOURCE \"$WORK/missing\"" $mode
    printf 'a.json\t%s\n\n' "$S/v1" >"$WORK/manifest"
    refused "empty line ($mode)" 65 'ajio: manifest line 2: an empty line' $mode
done
printf 'a.json\t%s\na.json\t%s\n' "$S/v1" "$S/v2" >"$WORK/manifest"
refused "a member twice" 65 'ajio: manifest line 2 ("a.json"):' --all-or-nothing
: >"$WORK/manifest"
refused "empty manifest" 65 'ajio: the manifest on standard input is empty' --all-or-nothing
# Control: the refused manifests' valid lines alone do change DIR (the check can see a change).
printf 'a.json\t%s\n' "$S/v1" | "$AJIO" batch --all-or-nothing --json "$D" 2>"$WORK/err"
want_rc $? 0 "control: the valid line alone"
snapshot_of "$D" >"$WORK/after"
cmp -s "$WORK/before" "$WORK/after" && fail "control: a valid batch did not change DIR"

# --- recover after a planted intent: a commit that died after its commit point -----------------
R=$WORK/r
mkdir -p "$R/s"
printf 'new\n' >"$R/s/a"                       # renamed before the crash
printf 'old\n' >"$R/b"
printf 'new\n' >"$R/.ajio-txn-00000000000000bb.tmp"
printf 'old\n' >"$R/c"                         # to remove
# plant VERSION CORRUPT: writes the intent as the library does (FNV-1a 64 checksum).
plant()
{
    python3 - "$R/.ajio-txn-intent" "$1" "$2" <<'PY'
import sys
path, version, corrupt = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
recs = [b"R.ajio-txn-00000000000000aa.tmp\0s/a\0", b"R.ajio-txn-00000000000000bb.tmp\0b\0", b"Dc\0"]
buf = b"ajio-txn %d\n" % version + b"".join(recs)
h = 14695981039346656037
for c in buf:
    h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
buf += b"end %d %016x\n" % (len(recs), h)
if corrupt:
    buf = buf.replace(b"Dc", b"Dd")
open(path, "wb").write(buf)
PY
}
plant 2 1
"$AJIO" recover "$R" >"$WORK/out" 2>"$WORK/err"
want_rc $? 65 "recover of a corrupt intent"
[ "$(cat "$R/b")" = old ] && [ -e "$R/c" ] || fail "a corrupt intent was applied"
plant 3 0
"$AJIO" recover "$R" >"$WORK/out" 2>"$WORK/err"
want_rc $? 65 "recover of an intent of another version"
[ "$(cat "$R/b")" = old ] && [ -e "$R/c" ] || fail "an intent of another version was applied"
# Control for both: the intact intent is applied.
plant 2 0
"$AJIO" recover "$R" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "recover"
grep -qxF "$R: recovered" "$WORK/out" || fail "recover prints '$(cat "$WORK/out")'"
[ "$(cat "$R/s/a")" = new ] && [ "$(cat "$R/b")" = new ] && [ ! -e "$R/c" ] ||
    fail "recover did not roll the planted intent forward"
[ ! -e "$R/.ajio-txn-intent" ] && [ ! -e "$R/.ajio-txn-00000000000000bb.tmp" ] ||
    fail "recover left the intent or a temp"
"$AJIO" recover "$R" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "recover again"
grep -qxF "$R: nothing to recover" "$WORK/out" || fail "second recover prints '$(cat "$WORK/out")'"
"$AJIO" recover "$WORK/missing" >"$WORK/out" 2>"$WORK/err"
want_rc $? 66 "recover of a missing DIR"
want_err_prefix "ajio: recover \"$WORK/missing\": " "recover of a missing DIR: message"

# --- kill a batch mid-way, recover: every file of one generation -----------------------------
# The killer watches the first and the last member and sends SIGKILL as soon as either holds
# generation 2, so the kill lands among the renames, not before or after them.
K=$WORK/k
N=300
i=0
while [ $i -lt $N ]; do printf 'f%03d\t%s\n' $i "$S/v1"; i=$((i + 1)); done >"$WORK/m1"
sed "s|$S/v1|$S/v2|" "$WORK/m1" >"$WORK/m2"
# kill_runs OPTION: batches of generation 2 over generation 1, each killed among its renames,
# then recovered; sets $mixes (runs left mixed) and $midway (runs killed with the intent durable).
# At least 8 runs, and on until a kill has landed where the case needs it (after the commit
# point, for --all-or-nothing; among the renames, leaving a mix, for the plain control): on a
# fast filesystem (tmpfs) a whole batch may finish before the killer's signal, run after run.
landed()
{
    if [ -n "$1" ]; then [ "$midway" -gt 0 ]; else [ "$mixes" -gt 0 ]; fi
}
kill_runs()
{
    mixes=0 midway=0 r=0
    while [ $r -lt 8 ] || { [ $r -lt 40 ] && ! landed "$1"; }; do
        rm -rf "$K"
        "$AJIO" batch --all-or-nothing --no-sync "$K" <"$WORK/m1" 2>"$WORK/err" || fail "kill: setup"
        python3 - "$AJIO" "$K" "$WORK/m2" "$S/v2" $1 <<'PY' || fail "kill: the killer failed"
import subprocess, sys
ajio, k, manifest, v2 = sys.argv[1:5]
new = open(v2, "rb").read()
watch = [k + "/f000", k + "/f299"]
p = subprocess.Popen([ajio, "batch"] + sys.argv[5:] + [k], stdin=open(manifest, "rb"),
                     stderr=subprocess.DEVNULL)
def holds_new(w):
    try:
        with open(w, "rb") as f:
            return f.read() == new
    except FileNotFoundError:  # a path-based FUSE daemon (bindfs) during a rename: see fs-matrix
        return False
while p.poll() is None:
    if any(holds_new(w) for w in watch):
        p.kill()
        break
p.wait()
PY
        [ -e "$K/.ajio-txn-intent" ] && midway=$((midway + 1))
        "$AJIO" recover "$K" >/dev/null 2>"$WORK/err" || fail "kill: recover: $(cat "$WORK/err")"
        [ "$(cat "$K"/f* | sort -u | wc -l)" -gt 1 ] && mixes=$((mixes + 1))
        [ "$(ls "$K" | wc -l)" -eq $N ] || fail "kill ($1): $(ls "$K" | wc -l) files, want $N"
        r=$((r + 1))
    done
}
kill_runs --all-or-nothing
[ "$mixes" -eq 0 ] || fail "killed all-or-nothing batches left $mixes mixed sets"
[ "$midway" -gt 0 ] || fail "no all-or-nothing batch was killed after its commit point"
# Control: the same kills of a plain batch leave mixed sets, which recover cannot mend.
kill_runs ""
[ "$mixes" -gt 0 ] || fail "control: no killed plain batch left a mixed set"

# --- usage ------------------------------------------------------------------------------------
"$AJIO" batch --timeout 1 "$D" </dev/null >"$WORK/out" 2>"$WORK/err"
want_rc $? 64 "--timeout without --all-or-nothing"
"$AJIO" batch --json --jsonl "$D" </dev/null >"$WORK/out" 2>"$WORK/err"
want_rc $? 64 "--json --jsonl"
"$AJIO" batch "$D" extra </dev/null >"$WORK/out" 2>"$WORK/err"
want_rc $? 64 "two DIRs"

finish

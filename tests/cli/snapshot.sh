#!/bin/sh
# ajio publish, ajio cat --snapshot and ajio snapshot gc: a tree published and republished
# whole, its source left (or, with --move, taken), a reader that holds a generation reading all
# its files from it while the name is republished, and the gc of what readers no longer hold.
# Each case has a control that shows it can fail.
. tests/cli/common.inc
SRC=$WORK/src
W=$WORK/www
mkdir -p "$SRC/sub"
printf 'one\n' >"$SRC/a"
printf 'two\n' >"$SRC/sub/b"

# gens: the number of generations beside $W.
gens()
{
    ls -A "$WORK" | grep -c '^\.www\.snap-'
}

# --- publish, cat --snapshot, republish ---------------------------------------------------------
"$AJIO" publish "$SRC" "$W" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "publish"
[ -L "$W" ] || fail "publish: $W is not a symlink"
[ -f "$SRC/a" ] && [ -f "$SRC/sub/b" ] || fail "publish (copy) took the source"
"$AJIO" cat --snapshot "$W" a sub/b >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "cat --snapshot"
printf 'one\ntwo\n' >"$WORK/want"
same "$WORK/out" "$WORK/want" "cat --snapshot prints the files in turn"

printf 'ONE\n' >"$SRC/a"
"$AJIO" publish "$SRC" "$W" 2>"$WORK/err"
want_rc $? 0 "republish"
"$AJIO" cat --snapshot "$W" a >"$WORK/out" 2>"$WORK/err"
[ "$(cat "$WORK/out")" = ONE ] || fail "republish: cat --snapshot prints '$(cat "$WORK/out")'"
[ "$(gens)" -eq 1 ] || fail "republish with no reader left $(gens) generations"

# A file that is not there is reported, the others still printed; a path leaving the snapshot
# is a usage error.
"$AJIO" cat --snapshot "$W" nope a >"$WORK/out" 2>"$WORK/err"
want_rc $? 66 "cat --snapshot of a missing FILE"
want_err_prefix "ajio: open \"nope\" in snapshot \"$W\": No such file" "missing FILE: message"
[ "$(cat "$WORK/out")" = ONE ] || fail "missing FILE: the other FILE not printed"
for bad in /etc/passwd ../src/a sub/../../src/a ..; do
    "$AJIO" cat --snapshot "$W" "$bad" >"$WORK/out" 2>"$WORK/err"
    want_rc $? 64 "cat --snapshot $bad"
    [ ! -s "$WORK/out" ] || fail "cat --snapshot $bad printed something"
done
"$AJIO" cat --snapshot "$W" >"$WORK/out" 2>"$WORK/err"
want_rc $? 64 "cat --snapshot without FILE"
"$AJIO" cat --snapshot "$W" --jsonl a >"$WORK/out" 2>"$WORK/err"
want_rc $? 64 "cat --snapshot --jsonl"
"$AJIO" cat --snapshot "$WORK/none" a >"$WORK/out" 2>"$WORK/err"
want_rc $? 66 "cat --snapshot of a missing NAME"
want_err_prefix "ajio: open snapshot \"$WORK/none\": " "missing NAME: message"

# --- a reader holds its generation while NAME is republished ------------------------------------
# The reader blocks writing a 1 MiB first file into a pipe nobody reads for a second; meanwhile
# the source changes and is republished. It must still print the second file of its own
# generation, and the gc of that publish must keep that generation.
big()
{
    head -c 1048576 /dev/zero | tr '\0' "$1" >"$SRC/big"
    printf '%s\n' "$1" >"$SRC/last"
}
# held_read READER...: runs READER big last (held up by the pipe) across a republish from A to
# B; the last line it printed goes to $WORK/last, the generations seen during the read to $held.
held_read()
{
    big A
    "$AJIO" publish "$SRC" "$W" 2>"$WORK/err" || fail "held read: publish A"
    ("$@" big last | (sleep 1; cat)) >"$WORK/out" 2>"$WORK/err" &
    pid=$!
    sleep 0.3
    big B
    "$AJIO" publish "$SRC" "$W" 2>"$WORK/err" || fail "held read: publish B"
    held=$(gens)
    wait $pid
    tail -c 2 "$WORK/out" | head -c 1 >"$WORK/last"
    [ "$(wc -c <"$WORK/out")" -eq 1048578 ] || fail "held read ($1): $(wc -c <"$WORK/out") bytes"
}
held_read "$AJIO" cat --snapshot "$W"
[ "$(cat "$WORK/last")" = A ] || fail "cat --snapshot mixed generations: last file from $(cat "$WORK/last")"
[ "$held" -eq 2 ] || fail "the gc of a publish removed a held generation ($held left)"
"$AJIO" snapshot gc "$W" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "snapshot gc"
grep -qxF "$W: 1 removed" "$WORK/out" || fail "snapshot gc prints '$(cat "$WORK/out")'"
[ "$(gens)" -eq 1 ] || fail "gc after the reader left $(gens) generations"
# Control: cat(1) through the name, without the protocol, reads the second file of the new one.
held_read sh -c 'cat "$0/$1" "$0/$2"' "$W"
[ "$(cat "$WORK/last")" = B ] || fail "control: a plain cat read $(cat "$WORK/last"), not B"

# --- gc of what a dead publisher left -------------------------------------------------------------
mkdir -p "$WORK/.www.snap-00000000000000aa/half"
"$AJIO" snapshot gc "$W" >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "gc of a dead publish's generation"
# On a path-based FUSE daemon (bindfs: tests/fs/run.sh sets AJIO_STRESS_ALLOW_MISSING) the plain
# cat above kept a file open in the generation it read, which the daemon hid as .fuse_hidden*
# instead of removing: that generation could not go then and goes now, with the planted one.
case "$(cat "$WORK/out")" in
"$W: 1 removed") ;;
"$W: 2 removed") [ -n "${AJIO_STRESS_ALLOW_MISSING:-}" ] || fail "gc of leftovers removed 2" ;;
*) fail "gc of leftovers prints '$(cat "$WORK/out")'" ;;
esac
[ "$(gens)" -eq 1 ] || fail "gc of leftovers left $(gens) generations"
[ ! -e "$WORK/.www.snap-00000000000000aa" ] || fail "gc kept a dead publish's generation"
# Control: with nothing to remove the current generation stays and the count is 0.
"$AJIO" snapshot gc "$W" >"$WORK/out" 2>"$WORK/err"
grep -qxF "$W: 0 removed" "$WORK/out" || fail "gc with nothing to do prints '$(cat "$WORK/out")'"
"$AJIO" cat --snapshot "$W" last >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "the current generation after gc"

# --- --move -------------------------------------------------------------------------------------
M=$WORK/moved
mkdir "$M"
printf 'moved\n' >"$M/f"
"$AJIO" publish --move "$M" "$W" 2>"$WORK/err"
want_rc $? 0 "publish --move"
[ ! -e "$M" ] || fail "publish --move left the source"
"$AJIO" cat --snapshot "$W" f >"$WORK/out" 2>"$WORK/err"
[ "$(cat "$WORK/out")" = moved ] || fail "publish --move: cat --snapshot prints '$(cat "$WORK/out")'"
# Control: the same without --move keeps the source.
mkdir "$M" && printf 'copied\n' >"$M/f"
"$AJIO" publish "$M" "$W" 2>"$WORK/err"
want_rc $? 0 "publish without --move"
[ -f "$M/f" ] || fail "control: publish without --move took the source"

# --- refusals -------------------------------------------------------------------------------------
mkdir "$WORK/dir"
"$AJIO" publish "$SRC" "$WORK/dir" >"$WORK/out" 2>"$WORK/err"
want_rc $? 73 "publish over a directory"
want_err_prefix "ajio: publish \"$SRC\" as \"$WORK/dir\": " "publish over a directory: message"
[ -d "$WORK/dir" ] && [ ! -L "$WORK/dir" ] || fail "publish replaced a directory"
"$AJIO" publish "$WORK/none" "$W" >"$WORK/out" 2>"$WORK/err"
want_rc $? 66 "publish of a missing SRC"
mkfifo "$SRC/fifo"
"$AJIO" publish "$SRC" "$W" >"$WORK/out" 2>"$WORK/err"
want_rc $? 65 "publish of a tree with a fifo"
rm "$SRC/fifo"
"$AJIO" cat --snapshot "$W" f >"$WORK/out" 2>"$WORK/err"
[ "$(cat "$WORK/out")" = copied ] || fail "a refused publish changed $W"
"$AJIO" snapshot gc "$WORK/nodir/www" >"$WORK/out" 2>"$WORK/err"
want_rc $? 66 "gc of a NAME in a missing directory"
"$AJIO" snapshot "$W" >"$WORK/out" 2>"$WORK/err"
want_rc $? 64 "snapshot without gc"
"$AJIO" snapshot gc >"$WORK/out" 2>"$WORK/err"
want_rc $? 64 "snapshot gc without NAME"
"$AJIO" publish "$SRC" >"$WORK/out" 2>"$WORK/err"
want_rc $? 64 "publish without NAME"

finish

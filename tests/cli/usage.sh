#!/bin/sh
# Command line handling: --help on every command, --version, and usage errors (exit 64, the
# synopsis on stderr, nothing written).
. tests/cli/common.inc

for c in write check sweep batch recover publish snapshot cat demo; do
    "$AJIO" "$c" --help >"$WORK/out" 2>"$WORK/err"
    want_rc $? 0 "ajio $c --help"
    grep -q "^Usage: ajio $c" "$WORK/out" || fail "ajio $c --help: no usage on stdout"
    "$AJIO" help "$c" >"$WORK/out2" 2>"$WORK/err"
    want_rc $? 0 "ajio help $c"
    cmp -s "$WORK/out" "$WORK/out2" || fail "ajio help $c differs from ajio $c --help"
done
for h in --help -h help; do
    "$AJIO" $h >"$WORK/out" 2>"$WORK/err"
    want_rc $? 0 "ajio $h"
    grep -q '^Usage: ajio COMMAND' "$WORK/out" || fail "ajio $h: no general usage"
done

"$AJIO" --version >"$WORK/out" 2>"$WORK/err"
want_rc $? 0 "ajio --version"
v=$(sed -n 's/^#define AJIO_VERSION_STRING "\(.*\)"/\1/p' include/ajio.h)
grep -qx "ajio $v (libajio $v)" "$WORK/out" || fail "--version prints '$(cat "$WORK/out")'"

# usage_case WHAT ARGS...: exit 64, an 'ajio: ' message and a Usage line on stderr, stdout empty.
usage_case()
{
    what=$1
    shift
    "$AJIO" "$@" </dev/null >"$WORK/out" 2>"$WORK/err"
    want_rc $? 64 "$what"
    want_err_prefix "ajio: " "$what message"
    grep -q '^Usage: ajio' "$WORK/err" || fail "$what: no usage on stderr"
    [ ! -s "$WORK/out" ] || fail "$what: wrote to stdout"
}
usage_case "no command"
usage_case "unknown command" frobnicate
usage_case "unknown top-level option" --frob
usage_case "help for an unknown command" help frobnicate
usage_case "write without FILE" write
usage_case "write with two FILEs" write "$WORK/a" "$WORK/b"
usage_case "write unknown long option" write --frob "$WORK/a"
usage_case "write unknown short option" write -q "$WORK/a"
usage_case "write --json --jsonl" write --json --jsonl "$WORK/a"
usage_case "write --no-follow --replace-link" write --no-follow --replace-link "$WORK/a"
usage_case "write --mode without value" write "$WORK/a" --mode
usage_case "write --mode 8 (not octal)" write --mode 8 "$WORK/a"
usage_case "write --mode 10000 (too big)" write --mode 10000 "$WORK/a"
usage_case "write --mode -1" write --mode -1 "$WORK/a"
usage_case "check unknown option" check --frob x
usage_case "write to '-'" write -
want_err_prefix "ajio: write: FILE '-' would be standard input or output" "write to '-' message"
usage_case "update FILE CMD without '--'" update "$WORK/a" jq .
want_err_prefix "ajio: update: one FILE only ('jq' is extra); did you mean: ajio update FILE -- jq" \
    "update without '--' message"
usage_case "update --default without TEXT" update "$WORK/a" --default
usage_case "sweep without DIR" sweep
usage_case "sweep --min-age abc" sweep --min-age abc "$WORK"
usage_case "sweep --min-age -5" sweep --min-age -5 "$WORK"
usage_case "sweep --name a/b" sweep --name a/b "$WORK"
usage_case "demo --seconds 0" demo --seconds 0 --dir "$WORK/demo"
usage_case "demo --readers 65" demo --readers 65 --dir "$WORK/demo"
usage_case "demo extra argument" demo extra --dir "$WORK/demo"
usage_case "demo unknown option in a group" demo -qh --dir "$WORK/demo"
want_err "ajio: unknown option '-q'" "demo unknown option in a group: names the option"
usage_case "batch without DIR" batch
usage_case "batch with two DIRs" batch "$WORK/a" "$WORK/b"
usage_case "batch --json --jsonl" batch --json --jsonl "$WORK/a"
usage_case "batch --timeout without --all-or-nothing" batch --timeout 1 "$WORK/a"
usage_case "batch --timeout abc" batch --all-or-nothing --timeout abc "$WORK/a"
usage_case "recover without DIR" recover
usage_case "recover with two DIRs" recover "$WORK/a" "$WORK/b"
usage_case "publish without NAME" publish "$WORK"
usage_case "publish with three operands" publish "$WORK" "$WORK/a" "$WORK/b"
usage_case "publish unknown option" publish --copy "$WORK" "$WORK/a"
usage_case "snapshot without action" snapshot
usage_case "snapshot unknown action" snapshot list "$WORK/a"
usage_case "snapshot gc without NAME" snapshot gc
usage_case "snapshot gc with two NAMEs" snapshot gc "$WORK/a" "$WORK/b"
usage_case "cat --snapshot without FILE" cat --snapshot "$WORK/a"
usage_case "cat --snapshot with an absolute FILE" cat --snapshot "$WORK/a" /etc/passwd
usage_case "cat --snapshot without NAME" cat --snapshot
[ ! -e "$WORK/a" ] && [ ! -e "$WORK/b" ] && [ ! -e "$WORK/demo" ] && [ ! -e ./- ] ||
    fail "a usage error wrote"

# Options after FILE work (GNU order), and '--' ends the options.
printf 'x' | "$AJIO" write "$WORK/a" --no-sync 2>"$WORK/err"
want_rc $? 0 "option after FILE"
printf 'y' | "$AJIO" write -- "$WORK/-dash" 2>"$WORK/err"
want_rc $? 0 "'--' before FILE"
[ "$(cat "$WORK/-dash")" = y ] || fail "'--' before FILE: content"

finish

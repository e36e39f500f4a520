#!/bin/sh
# Proves cxlmu-run refuses bad options and bad CXLMU_* variables with exit 2 and a message naming the option and its accepted values before running anything, passes arguments after -- through, and propagates the program's exit status (127 for a missing program, 126 for one that cannot run).
. "${top_srcdir:-.}/tests/integration/lib.sh"

MARK="$WORK/ran"

# refuse NAME PATTERN [env VAR=VAL...] -- OPTIONS...: exit 2, stderr matches
# PATTERN, and the program (which would create $MARK) never ran.
refuse() {
	_n=$1
	_pat=$2
	shift 2
	begin "$_n: refused with exit 2 before running anything"
	rm -f "$MARK"
	"$@" /bin/sh -c ": > '$MARK'" >"$WORK/o" 2>"$WORK/e"
	_st=$?
	[ $_st -eq 2 ] || fail "$_n: exit status $_st, want 2"
	grep -q -- "$_pat" "$WORK/e" || fail "$_n: stderr lacks '$_pat': $(cat "$WORK/e")"
	[ ! -e "$MARK" ] || fail "$_n: the program ran"
}

refuse "bad --policy" "--policy.*'bogus'.*local, cxl, size:N, interleave:D:C, budget:N" "$CXLMU_RUN" --policy=bogus --
refuse "bad size" "--policy.*size:12Q" "$CXLMU_RUN" --policy=size:12Q --
refuse "bad interleave" "--policy" "$CXLMU_RUN" --policy=interleave:3 --
refuse "bad --cxl-nodes" "--cxl-nodes.*'x1'.*node" "$CXLMU_RUN" --cxl-nodes=x1 --
refuse "absent node" "--cxl-nodes.*node 63" "$CXLMU_RUN" --cxl-nodes=63 --
refuse "bad --stats-format" "--stats-format.*'xml'.*text, json" "$CXLMU_RUN" --stats-format=xml --
refuse "bad --strict value" "--strict" "$CXLMU_RUN" --strict=maybe --
refuse "unknown option" "unknown option '--bogus'" "$CXLMU_RUN" --bogus --
refuse "bad CXLMU_POLICY" "CXLMU_POLICY.*'bogus'.*local, cxl" env CXLMU_POLICY=bogus "$CXLMU_RUN" --
refuse "bad CXLMU_STRICT" "CXLMU_STRICT.*'maybe'.*yes" env CXLMU_STRICT=maybe "$CXLMU_RUN" --
refuse "bad CXLMU_CXL_NODES" "CXLMU_CXL_NODES" env CXLMU_CXL_NODES=1-0 "$CXLMU_RUN" --
refuse "unknown CXLMU_ variable" "CXLMU_POLCY" env CXLMU_POLCY=cxl "$CXLMU_RUN" --
# No program, or an option left without its value at the end.
begin "no program: exit 2"
"$CXLMU_RUN" --cxl-nodes=0 --policy=cxl >/dev/null 2>"$WORK/e"
st=$?
[ $st -eq 2 ] && grep -q "no program" "$WORK/e" || fail "no program: exit $st, $(cat "$WORK/e")"
begin "--policy without its value: exit 2"
"$CXLMU_RUN" --policy >/dev/null 2>"$WORK/e"
st=$?
[ $st -eq 2 ] && grep -q -- "--policy needs a value.*local, cxl" "$WORK/e" ||
	fail "--policy without a value: exit $st, $(cat "$WORK/e")"

# Exit status of the program, as it is.
begin "the program's exit status comes back"
"$CXLMU_RUN" --cxl-nodes=0 --policy=cxl /bin/sh -c 'exit 42'
st=$?
[ $st -eq 42 ] || fail "exit status 42 came back as $st"
begin "a program killed by SIGTERM comes back as 143"
( "$CXLMU_RUN" --cxl-nodes=0 /bin/sh -c 'kill -TERM $$' ) 2>/dev/null
st=$?
[ $st -eq 143 ] || fail "a program killed by SIGTERM came back as $st, want 143"
begin "a missing program: exit 127, named"
"$CXLMU_RUN" --cxl-nodes=0 "$WORK/no-such-program" 2>"$WORK/e"
st=$?
[ $st -eq 127 ] || fail "missing program: exit $st, want 127"
grep -q "no-such-program" "$WORK/e" || fail "missing program: message does not name it: $(cat "$WORK/e")"
begin "a program that cannot run: exit 126"
printf 'not a program\n' >"$WORK/notexec"
chmod -x "$WORK/notexec"
"$CXLMU_RUN" --cxl-nodes=0 "$WORK/notexec" 2>/dev/null
st=$?
[ $st -eq 126 ] || fail "non-executable program: exit $st, want 126"

# A run inside a run: the inner cxlmu-run takes the outer's CXLMU_RUN_ID
# as no option of the user's, and names its run anew.
begin "cxlmu-run inside cxlmu-run names its run anew"
out=$("$CXLMU_RUN" --cxl-nodes=0 --policy=local -- /bin/sh -c \
	'echo "$CXLMU_RUN_ID"; "$0" --cxl-nodes=0 --policy=local -- /bin/sh -c "echo \$CXLMU_RUN_ID"' \
	"$CXLMU_RUN" 2>"$WORK/e")
st=$?
[ $st -eq 0 ] || fail "cxlmu-run inside cxlmu-run: exit $st, $(cat "$WORK/e")"
set -- $out
[ $# -eq 2 ] && [ "$1" != "$2" ] && case $1 in *-*.*) true ;; *) false ;; esac ||
	fail "cxlmu-run inside cxlmu-run: want two different run ids, got '$out'"

# Arguments after the program (and after --) reach it untouched.
begin "arguments after -- reach the program untouched"
out=$("$CXLMU_RUN" --cxl-nodes=0 --policy=local -- /bin/echo --policy=bogus --strict)
[ "$out" = "--policy=bogus --strict" ] || fail "arguments not passed through: '$out'"
begin "arguments after the program are not parsed"
out=$("$CXLMU_RUN" --cxl-nodes=0 /bin/echo -n x --help)
[ "$out" = "x --help" ] || fail "arguments after the program were parsed: '$out'"

# --help lists every option with its variable; --version.
begin "--help lists every option with its variable"
"$CXLMU_RUN" --help >"$WORK/help" || fail "--help exit $?"
for o in policy cxl-nodes strict no-mmap stats stats-format log; do
	grep -q -- "--$o" "$WORK/help" || fail "--help lacks --$o"
done
grep -q CXLMU_POLICY "$WORK/help" || fail "--help lacks CXLMU_POLICY"
begin "--version"
"$CXLMU_RUN" --version | grep -q '^cxlmu-run [0-9]' || fail "--version"

# Options become the CXLMU_* twins seen by the program; LD_PRELOAD is set.
begin "options become their CXLMU_* twins; LD_PRELOAD is set"
env_out=$("$CXLMU_RUN" --cxl-nodes=0 --policy=size:64K --strict /usr/bin/env)
echo "$env_out" | grep -q '^CXLMU_POLICY=size:64K$' || fail "CXLMU_POLICY not passed on"
echo "$env_out" | grep -q '^CXLMU_STRICT=' || fail "CXLMU_STRICT not passed on"
echo "$env_out" | grep -q '^LD_PRELOAD=.*libcxlmu.so' || fail "LD_PRELOAD not set"

# No CXL node here unless named: one warning, the program runs (local).
begin "no CXL node: one warning, the program runs"
"$CXLMU_RUN" --policy=cxl /bin/echo hi >"$WORK/o" 2>"$WORK/e" || fail "no-cxl run: exit $?"
[ "$(cat "$WORK/o")" = hi ] || fail "no-cxl run: output '$(cat "$WORK/o")'"
[ "$(wc -l <"$WORK/e")" -eq 1 ] && grep -q 'no CXL node' "$WORK/e" ||
	fail "no CXL node: want one warning, got: $(cat "$WORK/e")"
finish

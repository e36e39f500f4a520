#!/bin/sh
# Proves the runtime is silent where nothing was asked of it: on a machine with no CXL node, a shell script of several processes (ls, sort, cat, a pipeline, a subshell, env) under a bare LD_PRELOAD with no CXLMU_* setting prints exactly its plain stdout and nothing on stderr; a CXLMU_* value that cannot be honoured (CXLMU_POLICY=cxl with no CXL node, a bad value) still gets exactly one stderr line, and a value carrying a newline or an escape byte can neither forge a second "cxlmu: " line nor put a raw ESC on the terminal.
. "${top_srcdir:-.}/tests/integration/lib.sh"

# A CXL node is one with memory and no CPUs; on such a machine the
# default policy can be honoured and this test has nothing to check.
N=/sys/devices/system/node
[ -d "$N" ] || skip "no NUMA topology in $N"
for d in "$N"/node[0-9]*; do
	[ -d "$d" ] || continue
	[ -n "$(tr -d ' \n' <"$d/cpulist" 2>/dev/null)" ] && continue
	grep -Eq 'MemTotal: +[1-9]' "$d/meminfo" 2>/dev/null &&
		skip "$(basename "$d") has memory and no CPUs (a CXL node): this test needs a machine without one"
done

mkdir "$WORK/dir"
for f in pear apple fig banana; do
	echo "$f" >"$WORK/dir/$f"
done
# Several processes: a pipeline, a subshell, env running a program.
SCRIPT='
cd "$1" || exit 1
ls
ls | sort -r | cat
cat apple fig
(cd /; ls -d /tmp) | cat
sort pear banana apple
env QUIET_TEST=1 sh -c "echo \$QUIET_TEST"
sh -c "cat pear | sort"
'

begin "the script runs plain"
sh -c "$SCRIPT" sh "$WORK/dir" >"$WORK/plain.out" 2>"$WORK/plain.err"
st_plain=$?
[ $st_plain -eq 0 ] && [ -s "$WORK/plain.out" ] && [ ! -s "$WORK/plain.err" ] ||
	{ fail "the script fails plain (status $st_plain): $(cat "$WORK/plain.err")"; finish; }
begin "the script under the preload: plain stdout, nothing on stderr"
env LD_PRELOAD="$CXLMU_LIB" sh -c "$SCRIPT" sh "$WORK/dir" >"$WORK/pre.out" 2>"$WORK/pre.err"
st=$?
[ $st -eq $st_plain ] || fail "script under the preload: exit status $st, plain $st_plain"
cmp -s "$WORK/plain.out" "$WORK/pre.out" ||
	{ fail "script under the preload: stdout differs"; diff "$WORK/plain.out" "$WORK/pre.out" | head -10 | diag_file; }
[ -s "$WORK/pre.err" ] &&
	fail "script under the preload with no CXLMU_* setting: stderr is not empty ($(wc -l <"$WORK/pre.err") lines): $(head -3 "$WORK/pre.err")"
# The runtime was really in those processes.
begin "libcxlmu is mapped in a preloaded process"
env LD_PRELOAD="$CXLMU_LIB" sh -c 'grep -c libcxlmu /proc/self/maps' >"$WORK/maps" 2>/dev/null
[ "$(cat "$WORK/maps")" -gt 0 ] 2>/dev/null || fail "libcxlmu is not mapped in a preloaded process: the check proves nothing"

# lines NAME WANT VAR=VALUE...: /bin/true under the preload with VAR
# prints WANT stderr lines (-: any number), none of them a forged
# "cxlmu: forged" line, and no raw ESC byte; status 0.
lines() {
	_n=$1
	_want=$2
	shift 2
	begin "$_n: nothing forged, no raw ESC"
	env LD_PRELOAD="$CXLMU_LIB" "$@" /bin/true >"$WORK/o" 2>"$WORK/e"
	_st=$?
	[ $_st -eq 0 ] || fail "$_n: exit status $_st"
	[ ! -s "$WORK/o" ] || fail "$_n: stdout is not empty: $(cat "$WORK/o")"
	_got=$(wc -l <"$WORK/e")
	# A line without its newline counts too.
	[ -s "$WORK/e" ] && [ "$(tail -c 1 "$WORK/e" | od -An -c | tr -d ' ')" != '\n' ] && _got=$((_got + 1))
	[ "$_want" = - ] || [ "$_got" -eq "$_want" ] || fail "$_n: want $_want stderr line(s), got $_got: $(od -c "$WORK/e" | head -8)"
	grep -q '^cxlmu: forged' "$WORK/e" && fail "$_n: a value forged a line of its own: $(cat "$WORK/e")"
	[ "$(tr -cd '\033' <"$WORK/e" | wc -c)" -eq 0 ] ||
		fail "$_n: a raw ESC byte reached stderr: $(od -c "$WORK/e" | head -8)"
}

NL='
'
ESC=$(printf '\033')
# The user asked for CXL placement and there is no CXL node: one line.
lines "CXLMU_POLICY=cxl, no CXL node" 1 CXLMU_POLICY=cxl
# A bad value is one line, however it is made.
lines "a value with a newline" 1 "CXLMU_POLICY=x${NL}cxlmu: forged line"
lines "a value with an ESC byte" 1 "CXLMU_POLICY=${ESC}[31mred"
# Neither can a run id or an option's name (how many lines they get is
# not this test's business).
lines "a run id with a newline" - "CXLMU_RUN_ID=a${NL}cxlmu: forged line"
lines "an unknown name with an ESC byte" - "CXLMU_PO${ESC}[31mLICY=cxl"
finish

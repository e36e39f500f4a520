#!/bin/sh
# Proves the runtime lives within a seccomp sandbox: a program that installs a kill-on-anything-else allowlist after start (sandboxed) runs under the preload (default settings, CXLMU_POLICY=cxl, CXLMU_SCHED=fibers pinned to one CPU, and with a thread polling on each wait path when the filter goes in, with and without TSYNC) with the stdout and exit status of its plain run, a probe with a NULL program turns nothing off, and a program started under a filter that kills on io_uring_setup, mbind, set_mempolicy, clone/clone3 and prlimit64 (seclaunch) runs under the preload with policy cxl exactly as without it.
. "${top_srcdir:-.}/tests/integration/lib.sh"

[ "$(uname -m)" = x86_64 ] || skip "the seccomp filters of sandboxed and seclaunch are written for x86_64"
need_taskset "to one CPU"
LIMIT=60

# The plain runs set the reference; a host without seccomp filters skips.
timeout $LIMIT "$H/sandboxed" >"$WORK/plain.out" 2>"$WORK/plain.err"
st=$?
[ $st -eq 77 ] && skip "$(cat "$WORK/plain.err")"
[ $st -eq 0 ] && [ -s "$WORK/plain.out" ] ||
	{ fail "sandboxed fails plain (status $st): $(cat "$WORK/plain.err")"; finish; }
timeout $LIMIT "$H/seclaunch" env "$H/sandboxed" open >"$WORK/lplain.out" 2>"$WORK/lplain.err"
st=$?
[ $st -eq 77 ] && skip "$(cat "$WORK/lplain.err")"
[ $st -eq 0 ] && [ -s "$WORK/lplain.out" ] ||
	{ fail "sandboxed under seclaunch fails plain (status $st): $(cat "$WORK/lplain.err")"; finish; }

# like_plain NAME PLAIN-OUT CMD...: CMD (under the preload) exits 0 with
# PLAIN-OUT's stdout, and the runtime was there (sandboxed says so on
# stderr before its filter). stderr is not compared: the runtime may say
# in one line that it cannot honour what was asked.
like_plain() {
	_n=$1
	_want=$2
	shift 2
	begin "$_n: the plain run's stdout and status, the runtime present"
	timeout $LIMIT "$@" >"$WORK/o" 2>"$WORK/e"
	_st=$?
	case $_st in
	0) ;;
	124) fail "$_n: hung (killed after $LIMIT s)" ;;
	159) fail "$_n: killed by SIGSYS (status 159): the runtime made a system call the filter forbids; stderr: $(head -5 "$WORK/e")" ;;
	*) fail "$_n: exit status $_st, plain 0; stderr: $(head -5 "$WORK/e")" ;;
	esac
	cmp -s "$_want" "$WORK/o" ||
		{ fail "$_n: stdout differs from the plain run"; diff "$_want" "$WORK/o" | head -5 | diag_file; }
	[ $_st -ne 0 ] || grep -q '^sandboxed: runtime present' "$WORK/e" ||
		fail "$_n: libcxlmu was not in the program (no 'runtime present' on stderr): the case proves nothing"
}

# The program sandboxes itself after the runtime started.
like_plain "default settings" "$WORK/plain.out" \
	env LD_PRELOAD="$CXLMU_LIB" "$H/sandboxed"
like_plain "policy cxl" "$WORK/plain.out" \
	env LD_PRELOAD="$CXLMU_LIB" CXLMU_POLICY=cxl CXLMU_CXL_NODES=0 "$H/sandboxed"
like_plain "fibers on one CPU" "$WORK/plain.out" \
	env LD_PRELOAD="$CXLMU_LIB" CXLMU_SCHED=fibers taskset -c 0 "$H/sandboxed"

# A thread polls (and so holds a wait ring or eventfd) when the filter
# goes in: its later polls and its exit make no call the filter forbids,
# on every wait path; with TSYNC the filter reaches it in mid-poll.
for m in late tsync; do
	end
	timeout $LIMIT "$H/sandboxed" $m >"$WORK/$m.plain" 2>"$WORK/e" ||
		{ fail "sandboxed $m fails plain: $(cat "$WORK/e")"; continue; }
	for w in auto msg_ring eventfd syscall; do
		like_plain "$m, CXLMU_WAIT=$w" "$WORK/$m.plain" \
			env LD_PRELOAD="$CXLMU_LIB" CXLMU_SCHED=threads CXLMU_WAIT=$w "$H/sandboxed" $m
	done
done

# A probe (a NULL program: EFAULT, nothing installed) turns nothing off:
# the polls are still the runtime's and the report is written.
end
timeout $LIMIT "$H/sandboxed" probe >"$WORK/probe.plain" 2>"$WORK/e" ||
	fail "sandboxed probe fails plain: $(cat "$WORK/e")"
like_plain "probe" "$WORK/probe.plain" env LD_PRELOAD="$CXLMU_LIB" CXLMU_STATS="$WORK/probe.json" \
	CXLMU_STATS_FORMAT=json "$H/sandboxed" probe
end
if have_python3; then
	json_ok "probe: the runtime still waits" "$WORK/probe.json" \
		'w["sched"] != "off"' 'w["sleeps"] >= 2000'
else
	skip_one "probe: the runtime still waits" "python3 (/usr/bin/python3) is needed to read the JSON report"
fi

# The program starts under a filter: the runtime sees it at start (the
# Seccomp: line of /proc/self/status) and makes none of those calls. env
# itself runs without the preload; the filter must let it through.
like_plain "started under a filter, policy cxl" "$WORK/lplain.out" \
	"$H/seclaunch" env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_POLICY=cxl \
	"$H/sandboxed" open
like_plain "started under a filter, default settings" "$WORK/lplain.out" \
	"$H/seclaunch" env LD_PRELOAD="$CXLMU_LIB" "$H/sandboxed" open
finish

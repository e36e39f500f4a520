#!/bin/sh
# Proves that under --sched=auto, the default, threads pinned to one CPU stay kernel threads until they show what fibers are for: a pinned worker pool that never polls and hands off rarely sees itself exactly as plain (its threads, its descriptors, every thread's blocked-signal mask) and the report has no fiber, each thread "no-polls"; a pinned usleep(1) polling pair and a pinned condition-variable ping-pong become fibers (where io_uring has futex waits; elsewhere no-ring-futex), with a --log line naming the CPU and the cause, and the runtime's threads named cxlmu-host0 and cxlmu-monitor; --sched=fibers makes the quiet pool fibers at once.
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_fibers

have_fiber_wait && fiber_wait=yes || fiber_wait=no

# Every listed thread once, as many as ran.
listed='len(set(t["tid"] for t in s["threads"])) == len(s["threads"]) == s["as_fiber"] + s["as_kernel"]'

# quiet OUT CMD...: the pool's run, exit 0 and its two lines; the look in OUT.
quiet() {
	_o=$1
	shift
	"$@" >"$WORK/out" 2>&1
	_st=$?
	[ $_st -eq 0 ] && grep -q '^quiet: ok$' "$WORK/out" && [ "$(wc -l <"$WORK/out")" -eq 2 ] ||
		{ fail "quiet: exit status $_st from: $*"; diag_file "$WORK/out"; return 1; }
	grep '^tasks=' "$WORK/out" >"$_o"
}

begin "a pinned pool that never polls: what it sees of itself is plain's"
if quiet "$WORK/plain.txt" plain taskset -c 0 "$H/lazy" quiet &&
   quiet "$WORK/auto.txt" prel CXLMU_STATS="$WORK/quiet.json" CXLMU_STATS_FORMAT=json \
	taskset -c 0 "$H/lazy" quiet; then
	cmp -s "$WORK/plain.txt" "$WORK/auto.txt" ||
		fail "quiet: plain saw $(cat "$WORK/plain.txt"); under the preload $(cat "$WORK/auto.txt")"
	json_ok "quiet, auto" "$WORK/quiet.json" 's["mode"] == "auto"' 's["fibers_on"]' \
		'w["fibers"] == 0' 's["as_fiber"] == 0' 's["as_kernel"] == 5' \
		's["why"]["no-polls"] == 5' "$listed" \
		'all(t["as"] == "kernel" and t["cpu"] == 0 for t in s["threads"])'
fi
end

# --sched=fibers keeps the eager rule: the same pool is fibers at once.
begin "a pinned pool that never polls, --sched=fibers: fibers"
quiet "$WORK/fibers.txt" prel CXLMU_SCHED=fibers CXLMU_STATS="$WORK/quiet-f.json" \
	CXLMU_STATS_FORMAT=json taskset -c 0 "$H/lazy" quiet &&
	json_ok "quiet, fibers" "$WORK/quiet-f.json" 's["mode"] == "fibers"' 'w["fibers"] == 5' \
	's["why"]["pinned"] == 5' "$listed"
end

# busy MODE NAME CAUSE: MODE pinned under the default settings becomes
# fibers, said once by --log with CAUSE; every thread but the main one
# (which may have blocked in its join before that) a fiber.
busy() {
	begin "$2"
	prel CXLMU_LOG=1 CXLMU_STATS="$WORK/$1.json" CXLMU_STATS_FORMAT=json \
		taskset -c 0 "$H/lazy" "$1" >"$WORK/out" 2>&1
	_st=$?
	[ $_st -eq 0 ] || { fail "$1: exit status $_st"; diag_file "$WORK/out"; }
	grep -q "^$1: ok\$" "$WORK/out" || fail "$1: no ok line"
	# The runtime's threads, left once the players are joined, say
	# what they are (a thread's name: at most 15 bytes).
	_others=$(sed -n 's/^others=//p' "$WORK/out" | tr ',' ' ')
	for _t in $_others; do
		case $_t in cxlmu-host0|cxlmu-monitor) ;; *) fail "$1: a thread named '$_t' besides main" ;; esac
	done
	_said=$(grep -c "CPU 0: its pinned threads become fibers ($3)" "$WORK/out")
	[ "$_said" = 1 ] || { fail "$1: --log said the CPU's change $_said times, want once"; diag_file "$WORK/out"; }
	if [ $fiber_wait = yes ]; then
		json_ok "$1" "$WORK/$1.json" 's["mode"] == "auto"' 'w["fibers"] >= 2' \
			's["why"]["cpu-shared"] >= 2' 's["why"]["cpu-shared"] + s["why"]["no-polls"] == 3' \
			"$listed"
	else
		json_ok "$1" "$WORK/$1.json" 'w["fibers"] == 0' 's["why"]["no-ring-futex"] >= 2' \
			's["why"]["no-ring-futex"] + s["why"]["no-polls"] == 3' "$listed"
	fi
	end
}
busy poll "a pinned polling pair becomes fibers" "a pinned thread polls"
busy pingpong "a pinned condition-variable ping-pong becomes fibers" \
	"its pinned threads hand off through waits"
finish

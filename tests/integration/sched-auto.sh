#!/bin/sh
# Proves that --sched=auto, the default, runs as fibers the threads pinned to one CPU that other threads share once they poll, and the others as kernel threads, and that the report lists each thread with what it ran as and why: a polling program pinned with taskset (fibers, all but a main thread that blocked in its join before the polls began), the same program unpinned (all kernel threads), threads pinned by their attributes to CPUs of their own (kernel threads) until a second thread comes to one (both fibers, the first joining at its next sleep); and that affinity changes move a thread between fibers and kernel threads with the same results as plain, under auto and under --sched=fibers. --sched=threads runs no fiber. Where the kernel has neither io_uring futex waits nor futex_waitv (before 5.16), auto makes no fiber: every pinned thread that would be one stays a kernel thread with the reason no-ring-futex, and the programs give the same results. tests/integration/sched-lazy.sh has the programs that never poll.
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_fibers
need_cpus 2 "threads pinned to CPUs of their own, affinity widened"

# report NAME JSON [VAR=VALUE...] CMD...: begins the behaviour NAME; CMD
# under the preload, its stdout only the helper's ok line, the JSON report
# in $WORK/JSON.
report() {
	_n=$1 _j=$2
	shift 2
	begin "$_n"
	run_ok "$_n" prel CXLMU_STATS="$WORK/$_j" CXLMU_STATS_FORMAT=json "$@"
}

# auto makes fibers only where fiber hosts can wait on futex words: io_uring
# futex waits (6.7) or futex_waitv (5.16); elsewhere every thread pinned to
# one CPU stays a kernel thread, with the reason no-ring-futex.
have_fiber_wait && fiber_wait=yes || fiber_wait=no

# Every listed thread once, as many as ran.
listed='len(set(t["tid"] for t in s["threads"])) == len(s["threads"]) == s["as_fiber"] + s["as_kernel"]'

# The default is auto; pinned with taskset, the main thread and its 9
# threads share CPU 0, and the threads poll (usleep(1)): fibers, but for
# the main thread when it blocked in its join before the first poll (it
# then stays a quiet kernel thread). Without io_uring futex waits no
# fiber: the same threads are kernel threads for that reason.
main_first='s["threads"][0]["why"] in ("cpu-shared", "no-ring-futex", "no-polls")'
run_ok "identity, plain" plain taskset -c 0 "$H/fibers" identity
if [ $fiber_wait = yes ]; then
	report "identity, pinned" pinned.json taskset -c 0 "$H/fibers" identity &&
		json_ok "identity, pinned" "$WORK/pinned.json" 'w["sched"] == "auto"' 's["mode"] == "auto"' \
			's["fibers_on"]' 'w["fibers"] >= 9' 's["as_fiber"] >= 9' \
			's["why"]["cpu-shared"] == s["as_fiber"]' \
			's["as_fiber"] + s["why"]["no-polls"] == 10' "$listed" "$main_first" \
			'all(t["as"] == "fiber" for t in s["threads"][1:])' \
			'all(t["cpu"] == 0 for t in s["threads"])'
else
	report "identity, pinned" pinned.json taskset -c 0 "$H/fibers" identity &&
		json_ok "identity, pinned" "$WORK/pinned.json" 'w["sched"] == "auto"' 's["mode"] == "auto"' \
			's["fibers_on"]' 'w["fibers"] == 0' 's["as_fiber"] == 0' 's["as_kernel"] == 10' \
			's["why"]["no-ring-futex"] >= 9' \
			's["why"]["no-ring-futex"] + s["why"]["no-polls"] == 10' "$listed" "$main_first" \
			'all(t["as"] == "kernel" and t["cpu"] == 0 for t in s["threads"])' \
			'all(t["why"] == "no-ring-futex" for t in s["threads"][1:])'
fi

# The same under auto with futex_waitv forced (the way auto takes on 5.16
# to 6.6): fibers that say so.
if [ $fiber_wait = yes ] && have_futex_waitv; then
	report "identity, pinned, waitv" waitv.json CXLMU_FIBER_WAIT=waitv taskset -c 0 "$H/fibers" identity &&
		json_ok "identity, pinned, waitv" "$WORK/waitv.json" 's["fiber_wait"] == "waitv"' \
			'w["fibers"] >= 9' 's["as_fiber"] >= 9' \
			's["as_fiber"] + s["why"]["no-polls"] == 10' "$listed" "$main_first"
fi

# Unpinned: no fiber, and the report says why.
report "identity, unpinned" free.json "$H/fibers" identity &&
	json_ok "identity, unpinned" "$WORK/free.json" 'w["fibers"] == 0' 's["as_fiber"] == 0' \
		's["as_kernel"] == 10' 's["why"]["not-pinned"] == 10' "$listed" \
		'all(t["as"] == "kernel" and t["cpu"] == -1 for t in s["threads"])'

# Pinned by attributes: A alone on CPU 1 stays a kernel thread; B, alone
# on CPU 0 until C comes there, joins C as a fiber once they poll.
# Without io_uring futex waits all three stay kernel threads.
end
run_ok "alone, plain" plain "$H/fibers" alone
if [ $fiber_wait = yes ]; then
	report "alone, auto" alone.json "$H/fibers" alone &&
		json_ok "alone, auto" "$WORK/alone.json" 'w["fibers"] == 2' 's["as_fiber"] == 2' \
			's["why"]["cpu-shared"] == 2' 's["why"]["alone-on-cpu"] == 1' \
			's["why"]["not-pinned"] == 1' "$listed" \
			'[t["cpu"] for t in s["threads"] if t["why"] == "alone-on-cpu"] == [1]' \
			'sorted(t["cpu"] for t in s["threads"] if t["as"] == "fiber") == [0, 0]'
else
	report "alone, auto" alone.json "$H/fibers" alone &&
		json_ok "alone, auto" "$WORK/alone.json" 'w["fibers"] == 0' 's["as_fiber"] == 0' \
			's["as_kernel"] == 4' 's["why"]["no-ring-futex"] == 2' \
			's["why"]["alone-on-cpu"] == 1' 's["why"]["not-pinned"] == 1' "$listed" \
			'sorted(t["cpu"] for t in s["threads"] if t["why"] == "no-ring-futex") == [0, 0]'
fi
# --sched=fibers: every thread pinned to one CPU is a fiber, alone or not.
report "alone, fibers" alone-f.json CXLMU_SCHED=fibers "$H/fibers" alone &&
	json_ok "alone, fibers" "$WORK/alone-f.json" 's["mode"] == "fibers"' 'w["fibers"] == 3' \
		's["why"]["pinned"] == 3' 's["why"]["not-pinned"] == 1' "$listed"

# Affinity changes: a fiber widens its affinity (a kernel thread) and pins
# itself back (a fiber again), three times; another thread's affinity is
# widened from outside. Same results as plain; the report has the widened
# thread as a kernel thread (under auto it may not have polled before it
# was widened: still "no-polls"), the others as fibers.
end
run_ok "affinity, plain" plain taskset -c 0 "$H/fibers" affinity
if [ $fiber_wait = yes ]; then
	report "affinity, auto" aff.json taskset -c 0 "$H/fibers" affinity &&
		json_ok "affinity, auto" "$WORK/aff.json" 'w["fibers"] >= 3' 's["as_fiber"] == 3' \
			's["why"]["cpu-shared"] == 3' \
			's["why"]["not-pinned"] + s["why"]["no-polls"] == 1' "$listed" \
			'w["fiber_switches"] > 0'
else
	# Every thread a kernel thread; the mover, pinned back to CPU 0,
	# the counting thread and the main thread stay on CPU 0.
	report "affinity, auto" aff.json taskset -c 0 "$H/fibers" affinity &&
		json_ok "affinity, auto" "$WORK/aff.json" 'w["fibers"] == 0' 's["as_fiber"] == 0' \
			's["as_kernel"] == 4' 'w["fiber_switches"] == 0' "$listed" \
			's["why"]["no-ring-futex"] >= 3' \
			'all(t["why"] in ("no-ring-futex", "not-pinned") for t in s["threads"])'
fi
report "affinity, fibers" aff-f.json CXLMU_SCHED=fibers taskset -c 0 "$H/fibers" affinity &&
	json_ok "affinity, fibers" "$WORK/aff-f.json" 'w["fibers"] == 4' 's["as_fiber"] == 3' \
		's["why"]["pinned"] == 3' 's["why"]["not-pinned"] == 1' "$listed"

# threads: the previous issue's waiting only; the report says why.
report "identity, threads" thr.json CXLMU_SCHED=threads taskset -c 0 "$H/fibers" identity &&
	json_ok "identity, threads" "$WORK/thr.json" 'w["sched"] == "threads"' 'w["fibers"] == 0' \
		'not s["fibers_on"]' 's["off_why"] == "mode"' 's["threads"] == []'
finish

#!/bin/sh
# Proves that under --sched=fibers (with the default fiber wait and with futex_waitv forced), threads pinned to one CPU run as fibers and pthread programs give the same results as plain: thread identity (__thread, errno, pthread_self, keys and their destructors), join values, detach, pthread_exit with cleanup handlers, a main thread that ends with pthread_exit (the process then ends with its last thread, status 0), 10 000 threads at once (TEST_MANY_THREADS), deep recursion in the stack size asked, a thread spinning or blocked in read() while the others go on (the monitor hands the CPU's other fibers to another host), a mutex and condition variable producer and consumer, cancellation, fork, abort() ending the program by SIGABRT; and that seedpoll's checksum is the same in every mode.
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_fibers

# The way fiber hosts wait for futex words by default here, and the
# fallback forced (--fiber-wait=waitv: futex_waitv where the kernel has
# it, 5.16).
auto_wait=$(fiber_wait_auto)
have_futex_waitv && waitv=waitv || waitv=$auto_wait

# fib NAME MODE MIN [EXPR...]: MODE (with its arguments) plain and as
# fibers on CPU 0, with the default fiber wait and with futex_waitv forced,
# where at least MIN threads ran as fibers and each EXPR holds in the
# report.
fib() {
	_n=$1 _m=$2 _min=$3 _j=$(echo "$2" | tr ' ' _)
	shift 3
	begin "$_n"
	# shellcheck disable=SC2086
	run_ok "$_n, plain" plain taskset -c 0 "$H/fibers" $_m
	for _fw in auto waitv; do
		[ $_fw = auto ] && _want=$auto_wait || _want=$waitv
		# shellcheck disable=SC2086
		run_ok "$_n, fibers, fiber wait $_fw" prel CXLMU_SCHED=fibers CXLMU_FIBER_WAIT=$_fw \
			CXLMU_STATS="$WORK/$_j.json" CXLMU_STATS_FORMAT=json taskset -c 0 "$H/fibers" $_m &&
			json_ok "$_n, fibers, fiber wait $_fw" "$WORK/$_j.json" 'w["sched"] == "fibers"' \
				"w['fibers'] >= $_min" 'w["fiber_cpus"] == 1' "s['fiber_wait'] == '$_want'" "$@"
	done
}

fib identity identity 10 'w["fiber_switches"] > 0'
fib "pthread_exit" exit 7
fib "pthread_exit from main: the process ends with its last thread" mainexit 4
# TEST_MANY_THREADS (not CXLMU_*: lib.sh clears those): fewer where the
# CPU is emulated (tests/vm/guest-int.sh: there the plain run's 10 000
# threads, waking 5 times a second each, starve the main thread creating
# them for minutes).
many=${TEST_MANY_THREADS:-10000}
fib "$many threads" "many $many" $((many + 1))
fib "deep recursion" deep 3
# Nothing in the spinning or blocked thread switches: only the monitor can
# let the others go on.
fib "a spinning thread" spin 4 'w["handoffs"] >= 1'
fib "a thread blocked in read" read 4 'w["handoffs"] >= 1'
fib "producer and consumer" pc 3
fib cancel cancel 5
fib fork fork 3
fib "timed joins" join 2
fib signals signals 5

# abort() in a fiber ends the program by SIGABRT, as plain.
ulimit -c 0 2>/dev/null
begin "abort() ends the program by SIGABRT, plain and as a fiber"
for s in plain fibers; do
	if [ $s = plain ]; then
		plain taskset -c 0 "$H/fibers" abort >"$WORK/out" 2>&1
	else
		prel CXLMU_SCHED=fibers taskset -c 0 "$H/fibers" abort >"$WORK/out" 2>&1
	fi
	st=$?
	[ $st = 134 ] || fail "abort, $s: exit status $st, want 134 (SIGABRT): $(cat "$WORK/out")"
done

# Threads not pinned to one CPU stay kernel threads.
if [ "$(nproc)" -gt 1 ]; then
	begin "threads not pinned to one CPU stay kernel threads"
	run_ok "not pinned" prel CXLMU_SCHED=fibers CXLMU_STATS="$WORK/free.json" \
		CXLMU_STATS_FORMAT=json "$H/fibers" identity &&
		json_ok "not pinned" "$WORK/free.json" 'w["fibers"] == 0'
else
	end
	skip_one "threads not pinned to one CPU stay kernel threads" "one CPU only: every thread is pinned"
fi

# seedpoll computes the same checksum plain, with threads and as fibers.
SP="$top_builddir/cxlmu-bench-seedpoll"
begin "seedpoll's checksum is the same plain, with threads and as fibers"
if [ -x "$SP" ]; then
	plain taskset -c 0 "$SP" -n 3000 >"$WORK/sp.plain" 2>&1 || fail "seedpoll, plain: exit $?"
	for s in threads fibers; do
		prel CXLMU_SCHED=$s CXLMU_STATS="$WORK/sp.$s.json" CXLMU_STATS_FORMAT=json \
			taskset -c 0 "$SP" -n 3000 >"$WORK/sp.$s" 2>&1 ||
			fail "seedpoll, $s: exit $?: $(cat "$WORK/sp.$s")"
		[ $s = threads ] || json_ok "seedpoll, $s" "$WORK/sp.$s.json" 'w["fibers"] >= 2'
		a=$(sed -n 's/.*checksum \([0-9]*\).*/\1/p' "$WORK/sp.plain")
		b=$(sed -n 's/.*checksum \([0-9]*\).*/\1/p' "$WORK/sp.$s")
		[ -n "$a" ] && [ "$a" = "$b" ] || fail "seedpoll, $s: checksum '$b', plain gave '$a'"
	done
else
	fail "seedpoll ($SP) is not built"
fi
finish

#!/bin/sh
# Proves that a signal sent to one thread (pthread_kill, pthread_sigqueue, tgkill with the id gettid gave, raise) runs its handler in that thread when the thread is a fiber, wherever the fiber runs: sleeping (the sleep ends early with EINTR), spinning, blocked in read() (EINTR), or waiting for the signal in sigwait, pause or either sigpause (which send a fiber back to its kernel thread); and that each fiber's signal mask is its own (a signal it blocks waits, pending, until it unblocks it, while another fiber of the same CPU gets its own; a sender racing a mask change never lands in another fiber; a handler that interrupted the scheduler can raise; a signal every thread blocks stays pending for sigwait; ppoll with a mask sees what is pending for the thread). The same program gives the same results plain, as fibers with the default fiber wait and with futex_waitv forced, and under --sched=auto, which makes those threads fibers once they poll where the kernel has io_uring futex waits (6.7) or futex_waitv (5.16) and keeps them kernel threads elsewhere (why: no-polls, alone-on-cpu, no-ring-futex).
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_fibers

# auto makes the threads pinned to CPU 0 fibers once they poll, where the
# kernel has a way for fiber hosts to wait on futex words (io_uring futex
# waits, 6.7, or futex_waitv, 5.16); elsewhere, or before they poll, they
# are kernel threads, and the report says why: the same checks hold for
# both. "waitv" is --sched=fibers with futex_waitv forced.
have_fiber_wait && fiber_wait=yes || fiber_wait=no
auto_wait=$(fiber_wait_auto)
have_futex_waitv && waitv=waitv || waitv=$auto_wait

# ran NAME FILE SCHED: the report in FILE says the threads ran as SCHED
# makes them run here.
ran() {
	case $3 in
	fibers) json_ok "$1" "$2" 'w["fibers"] >= 2' "s['fiber_wait'] == '$auto_wait'" ;;
	waitv) json_ok "$1" "$2" 'w["fibers"] >= 2' "s['fiber_wait'] == '$waitv'" ;;
	*)
		if [ $fiber_wait = yes ]; then
			json_ok "$1" "$2" 's["as_kernel"] + s["as_fiber"] >= 2' \
				's["why"]["cpu-shared"] == s["as_fiber"]' \
				'all(t["why"] in ("cpu-shared", "no-polls", "alone-on-cpu", "waits-for-signals") for t in s["threads"])'
		else
			json_ok "$1" "$2" 'w["fibers"] == 0' 's["as_fiber"] == 0' 's["as_kernel"] >= 2' \
				'all(t["as"] == "kernel" and t["why"] in ("no-ring-futex", "no-polls", "alone-on-cpu", "waits-for-signals") for t in s["threads"])'
		fi ;;
	esac
}

for part in target spin sleeps mask raise queue read sigwait tgkill errors left race nested idle ppoll pause; do
	begin "$part"
	run_ok "$part, plain" plain taskset -c 0 "$H/sigfib" $part
	for s in fibers waitv auto; do
		case $s in
		waitv) set -- CXLMU_SCHED=fibers CXLMU_FIBER_WAIT=waitv ;;
		*) set -- CXLMU_SCHED=$s ;;
		esac
		run_ok "$part, $s" prel "$@" CXLMU_STATS="$WORK/$part.$s.json" \
			CXLMU_STATS_FORMAT=json taskset -c 0 "$H/sigfib" $part &&
			ran "$part, $s" "$WORK/$part.$s.json" $s
	done
done
# The thread in sigwait went back to its own kernel thread, and says why.
end
json_ok "sigwait, why" "$WORK/sigwait.fibers.json" 's["why"]["waits-for-signals"] == 1' \
	'[t["as"] for t in s["threads"] if t["why"] == "waits-for-signals"] == ["kernel"]'
# So did the threads in pause and sigpause.
json_ok "pause, why" "$WORK/pause.fibers.json" 's["why"]["waits-for-signals"] == 3' \
	'[t["as"] for t in s["threads"] if t["why"] == "waits-for-signals"] == ["kernel"] * 3'
finish

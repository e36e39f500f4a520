#!/bin/bash
# Hand-offs between two threads that share one CPU (taskset -c 0), through a
# mutex and condition variable, two semaphores, or the semaphores with each
# turn under a mutex (cxlmu-bench-pingpong): plain kernel threads against the
# same program with --sched=fibers, the fiber hosts waiting with io_uring
# futex waits (--fiber-wait=ring) and with futex_waitv (--fiber-wait=waitv),
# and under auto (no option); runs interleaved, medians and ratios from this
# one run. Target: the futex_waitv wait within 1.3x the io_uring wait's
# time. The fiber rows need FSGSBASE (fsgsbase in /proc/cpuinfo): without
# it only plain is measured, and that is said. Exit 1 if a run fails or
# checksums differ.
#
# Usage: bench/run-pingpong.sh [--quick|--full] [-r REPS] [-n N] [BUILDDIR]
# (--quick: 3 repetitions of 50000 hand-offs; --full: 9 of 200000)
set -eu
. "$(dirname "$0")/lib.sh"

bench_opt -n n N
n=
bench_args "$@"
n=${n:-$(bench_scaled 100000)}
prog=$B/cxlmu-bench-pingpong
lib=$B/.libs/libcxlmu.so
fibers=no
grep -qw fsgsbase /proc/cpuinfo && fibers=yes
ways=plain
[ $fibers = yes ] && ways="plain ring waitv auto"

for way in cond sem mutex; do
	bench_way "$way.plain" taskset -c 0 "$prog" $way "$n"
	[ $fibers = yes ] || continue
	for w in ring waitv; do
		bench_way "$way.$w" env LD_PRELOAD="$lib" CXLMU_CXL_NODES=0 CXLMU_SCHED=fibers \
			CXLMU_FIBER_WAIT=$w taskset -c 0 "$prog" $way "$n"
	done
	bench_way "$way.auto" env LD_PRELOAD="$lib" CXLMU_CXL_NODES=0 taskset -c 0 "$prog" $way "$n"
done
bench_run
status=0
pass=0 miss=0
printf '%-38s' "hand-off, one CPU, us (median of $reps)"
for w in $ways; do printf ' %9s' "$w"; done
[ $fibers = yes ] && printf ' %10s %10s %s' "plain/ring" "waitv/ring" ""
echo
for way in cond sem mutex; do
	# shellcheck disable=SC2086
	set -- $(for w in $ways; do echo "$way.$w"; done)
	bench_sums_agree "$way" 5 "$@" || status=1
	case $way in
	cond) what="mutex + condition variable" ;;
	sem) what="two semaphores" ;;
	mutex) what="semaphores, each turn under a mutex" ;;
	esac
	printf '%-38s' "$what"
	for w in $ways; do printf ' %9s' "$(bench_med "$way.$w" 3)"; done
	if [ $fibers = yes ]; then
		r=$(bench_med "$way.ring" 3)
		x=$(ratio "$(bench_med "$way.waitv" 3)" "$r")
		v=$(at_least "$(ratio 1.3 "$x")" 1)
		if [ "$v" = PASS ]; then pass=$((pass + 1)); else miss=$((miss + 1)); fi
		printf ' %10s %10s %s' "$(ratio "$(bench_med "$way.plain" 3)" "$r")" "$x" "$v (<=1.3)"
	fi
	echo
done
if [ $fibers = yes ]; then
	echo "Targets: $pass PASS, $miss MISS"
else
	echo "fibers: not measured: this CPU has no FSGSBASE (fsgsbase in /proc/cpuinfo)"
fi
exit $status

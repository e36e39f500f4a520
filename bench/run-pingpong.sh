#!/bin/bash
# Hand-offs between two threads that share one CPU (taskset -c 0), through a
# mutex and condition variable, two semaphores, or the semaphores with each
# turn under a mutex (cxlmu-bench-pingpong): plain kernel threads against the same
# program with --sched=fibers, runs interleaved, medians and their ratio
# from this one run. No target in the issue. Exit 1 if a run fails or
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

for way in cond sem mutex; do
	bench_way "$way.plain" taskset -c 0 "$prog" $way "$n"
	bench_way "$way.fibers" env LD_PRELOAD="$lib" CXLMU_CXL_NODES=0 CXLMU_SCHED=fibers \
		taskset -c 0 "$prog" $way "$n"
done
bench_run
status=0
printf '%-44s %10s %10s %8s\n' "hand-off, one CPU, us (median of $reps)" plain fibers speedup
for way in cond sem mutex; do
	bench_sums_agree "$way" 5 "$way.plain" "$way.fibers" || status=1
	p=$(bench_med "$way.plain" 3)
	f=$(bench_med "$way.fibers" 3)
	case $way in
	cond) what="mutex + condition variable" ;;
	sem) what="two semaphores" ;;
	mutex) what="semaphores, each turn under a mutex" ;;
	esac
	printf '%-44s %10s %10s %8s\n' "$what" "$p" "$f" "$(ratio "$p" "$f")"
done
exit $status

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

reps=5 n=100000 dir=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) reps=3 n=50000 ;;
	--full) reps=9 n=200000 ;;
	-r) reps=$2; shift ;;
	-n) n=$2; shift ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "$0: unknown option $1" >&2; exit 2 ;;
	*) dir=$1 ;;
	esac
	shift
done
bench_builddir "$dir"
prog=$B/cxlmu-bench-pingpong
lib=$B/.libs/libcxlmu.so
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for ((r = 0; r < reps; r++)); do
	for way in cond sem mutex; do
		for mode in plain fibers; do
			if [ $mode = plain ]; then
				line=$(taskset -c 0 "$prog" $way "$n")
			else
				line=$(env LD_PRELOAD="$lib" CXLMU_CXL_NODES=0 CXLMU_SCHED=fibers \
					taskset -c 0 "$prog" $way "$n")
			fi
			set -- $line
			echo "$3" >>"$out/$way.$mode"
			echo "$5" >>"$out/$way.sum"
		done
	done
done
status=0
printf '%-44s %10s %10s %8s\n' "hand-off, one CPU, us (median of $reps)" plain fibers speedup
for way in cond sem mutex; do
	if [ "$(sort -u "$out/$way.sum" | wc -l)" -ne 1 ]; then
		echo "$way: checksums differ" >&2
		status=1
	fi
	p=$(median <"$out/$way.plain")
	f=$(median <"$out/$way.fibers")
	case $way in
	cond) what="mutex + condition variable" ;;
	sem) what="two semaphores" ;;
	mutex) what="semaphores, each turn under a mutex" ;;
	esac
	printf '%-44s %10s %10s %8s\n' "$what" "$p" "$f" "$(ratio "$p" "$f")"
done
exit $status

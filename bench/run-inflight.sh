#!/bin/bash
# Several remote calls in flight at once on one core (issue 4): N local
# threads each send chunks of sum(a[b[a[i]]]) to one remote thread over a
# ring pair of their own, all polling with usleep(1)
# (cxlmu-bench-seedpoll --locals=N), for N = 1, 2, 4, 8, on taskset -c 0:
# plain kernel threads, under libcxlmu (CXLMU_SCHED=threads) and as fibers
# (CXLMU_SCHED=fibers). In flight: requests submitted and not yet answered,
# counted by the remote each time it takes one. All runs of one repetition
# are interleaved; the table gives medians (the largest for the max) and
# ratios from this one run, and PASS/MISS against the target:
#   fibers, N=8, one core: mean in flight >= 4
# Exit 1 if a run fails or the checksums differ (the locals split one run's
# requests, so every run gives the same one); MISS is not a failure: this
# is a measurement.
#
# Usage: bench/run-inflight.sh [--quick|--full] [-r REPS] [BUILDDIR]
# REPS in the environment sets the repetitions too (default 5; -r wins).
set -eu
. "$(dirname "$0")/lib.sh"

bench_args "$@"
prog=$B/cxlmu-bench-seedpoll
lib=$B/.libs/libcxlmu.so
[ -r "$lib" ] || { echo "$0: no $lib" >&2; exit 2; }
[ -x "$prog" ] || { echo "$0: no $prog (run make)" >&2; exit 2; }
taskset -c 0 true 2>/dev/null || { echo "$0: needs CPU 0 (taskset -c 0)" >&2; exit 2; }

# Requests per run, the same for every run so that the checksums can be
# compared: about 3 s plain with one local (about 150 us a request here),
# less with more locals, some 100 ms under libcxlmu, 20 ms as fibers.
n=$(bench_scaled 20000)
locals="1 2 4 8"

# run WAY ARGS...: one run on CPU 0, its stdout on stdout. taskset comes
# first, so only the benchmark program itself runs under the preload; the
# run sees no CXLMU_* of the caller's environment, only what is set here.
run() {
	local way=$1 pre=()
	shift
	[ "$way" = threads ] && pre=(LD_PRELOAD="$lib" CXLMU_CXL_NODES=0 CXLMU_SCHED=threads)
	[ "$way" = fibers ] && pre=(LD_PRELOAD="$lib" CXLMU_CXL_NODES=0 CXLMU_SCHED=fibers)
	taskset -c 0 "${bench_env[@]}" "${pre[@]}" "$prog" "$@" -q
}

# Each run prints CHECKSUM US MEAN MAX.
for l in $locals; do
	for w in plain threads fibers; do
		bench_way "$l.$w" run "$w" --wait=usleep --locals="$l" -n "$n"
	done
done
echo "cxlmu-bench-seedpoll --locals: $reps repetitions, interleaved; $n requests per run; $(nproc) CPUs" >&2
bench_run
all=()
for l in $locals; do all+=("$l.plain" "$l.threads" "$l.fibers"); done
bench_sums_agree "runs of $n requests" 1 "${all[@]}" || exit 1

echo
echo "N locals + 1 remote on one core (taskset -c 0), usleep(1) polling; median of $reps; checksums agree"
printf '%6s | %-29s | %-13s %-12s | %s\n' "" "us per request" "plain /" "plain /" "in flight: mean (max)"
printf '%6s | %9s %9s %9s | %13s %12s | %11s %11s %11s\n' locals plain threads fibers threads fibers plain threads fibers
for l in $locals; do
	p=$(bench_med "$l.plain" 2)
	t=$(bench_med "$l.threads" 2)
	f=$(bench_med "$l.fibers" 2)
	fl=()
	for w in plain threads fibers; do
		fl+=("$(bench_med "$l.$w" 3) ($(bench_max "$l.$w" 4))")
	done
	printf '%6s | %9s %9s %9s | %13s %12s | %11s %11s %11s\n' "$l" "$p" "$t" "$f" \
		"$(ratio "$p" "$t")" "$(ratio "$p" "$f")" "${fl[@]}"
done

m=$(bench_med 8.fibers 3)
v=$(at_least "$m" 4)
pass=0 miss=0
if [ "$v" = PASS ]; then pass=1; else miss=1; fi
echo
echo "fibers, N=8, one core: mean in flight $m (target >= 4) $v"
echo
echo "Targets: $pass PASS, $miss MISS"

#!/bin/bash
# Start-up cost of cxlmu: /bin/true plain, under bare LD_PRELOAD=libcxlmu.so,
# under cxlmu-run, under cxlmu-run --cxl-nodes=0 (CXL arenas set up), and
# under the allocators a user could preload instead (Debian's mimalloc and
# jemalloc, where installed), interleaved run by run; prints medians, the
# added milliseconds and PASS/MISS for "a bare preload adds at most 0.3 ms"
# and "cxlmu-run -- /bin/true adds at most 1 ms". Then the page faults of
# each way (perf stat, where installed): on a machine where a fault costs
# 10 us or more (a VM whose memory the host backs lazily) they are most of
# the time, and they do not vary with load.
#
# Usage: bench/run-startup.sh [--quick|--full] [-r RUNS] [BUILDDIR]
# (RUNS: default 200, --quick 100, --full 500; -n RUNS works too)
set -eu
. "$(dirname "$0")/lib.sh"

# The runs of each way are the repetitions; cxlmu-bench-startup interleaves
# them itself, timing each from posix_spawn to waitpid, which a shell loop
# could not do to a fraction of a millisecond.
bench_presets 200 100 500
bench_opt -n runs RUNS
runs=
bench_args "$@"
if [ -n "$runs" ]; then
	bench_positive -n "$runs"
	reps=$runs
fi
[ -r "$B/.libs/libcxlmu.so" ] || { echo "$0: no $B/.libs/libcxlmu.so" >&2; exit 2; }
peers=()
for l in libmimalloc.so.2 libjemalloc.so.2; do
	p=$(bench_find_lib "$l")
	[ -n "$p" ] && peers+=(-p "$p")
done
echo
"$B/cxlmu-bench-startup" -n "$reps" -l 1 -L 0.3 "${peers[@]}" "$B/cxlmu-run" "$B/.libs/libcxlmu.so" /bin/true
if command -v perf >/dev/null 2>&1; then
	echo
	echo "page faults of /bin/true (perf stat, mean of 20 runs)"
	faults() {
		"${bench_env[@]}" "$@" perf stat -x, -r 20 -e page-faults /bin/true 2>&1 >/dev/null |
			awk -F, '/page-faults/ { print $1 }'
	}
	printf '%-26s %9s\n' plain "$(faults)"
	printf '%-26s %9s\n' LD_PRELOAD "$(faults env LD_PRELOAD="$B/.libs/libcxlmu.so")"
	for ((i = 1; i < ${#peers[@]}; i += 2)); do
		printf '%-26s %9s\n' "${peers[$i]##*/}" "$(faults env LD_PRELOAD="${peers[$i]}")"
	done
fi

#!/bin/bash
# Start-up cost of cxlmu: /bin/true plain, under bare LD_PRELOAD=libcxlmu.so,
# under cxlmu-run, and under cxlmu-run --cxl-nodes=0 (CXL arenas set up),
# interleaved run by run; prints medians, the added milliseconds and
# PASS/MISS for "cxlmu-run -- /bin/true adds at most 2 ms".
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
echo
"$B/cxlmu-bench-startup" -n "$reps" -l 2 "$B/cxlmu-run" "$B/.libs/libcxlmu.so" /bin/true

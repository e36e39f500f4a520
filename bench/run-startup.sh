#!/bin/bash
# Start-up cost of cxlmu: /bin/true plain, under bare LD_PRELOAD=libcxlmu.so,
# under cxlmu-run, and under cxlmu-run --cxl-nodes=0 (CXL arenas set up),
# interleaved run by run; prints medians, the added milliseconds and
# PASS/MISS for "cxlmu-run -- /bin/true adds at most 2 ms".
#
# Usage: bench/run-startup.sh [--quick|--full] [-n RUNS] [BUILDDIR]
set -eu
. "$(dirname "$0")/lib.sh"

runs=200 dir=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) runs=100 ;;
	--full) runs=500 ;;
	-n) runs=$2; shift ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "$0: unknown option $1" >&2; exit 2 ;;
	*) dir=$1 ;;
	esac
	shift
done
bench_builddir "$dir"
[ -r "$B/.libs/libcxlmu.so" ] || { echo "$0: no $B/.libs/libcxlmu.so" >&2; exit 2; }
echo
exec "$B/cxlmu-bench-startup" -n "$runs" -l 2 "$B/cxlmu-run" "$B/.libs/libcxlmu.so" /bin/true

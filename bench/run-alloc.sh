#!/bin/bash
# Allocation throughput of one program (cxlmu-bench-alloc: plain malloc/free)
# under glibc, the raw backend (jemalloc's own libjemalloc.so.2 preloaded),
# libcxlmu with the local policy and libcxlmu with the cxl policy, 1 and N
# threads, small (16-256 B) and large (64-256 KiB) blocks. All runs of one
# repetition are interleaved, so load on the machine hits every way alike;
# the table gives medians and ratios from this one run, and PASS/MISS
# against the targets:
#   local costs at most 10 % over the raw backend (ratio >= 0.91, every case)
#   cxl small-block throughput >= 0.7 x the raw backend
#   with N threads libcxlmu (local and cxl) beats glibc malloc
#
# Usage: bench/run-alloc.sh [--quick|--full] [-t N] [-r REPS] [--cxl-nodes=LIST] [BUILDDIR]
# CXL is emulated on node 0 by default (--cxl-nodes=0, the placement is
# applied with mbind, the memory is the same); on a machine with a real CXL
# node pass --cxl-nodes=auto.
set -eu
. "$(dirname "$0")/lib.sh"

threads=2 reps=5 ops_small=2000000 ops_large=200000 cxl_nodes=0 dir=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) reps=3 ops_small=1000000 ops_large=100000 ;;
	--full) reps=9 ops_small=4000000 ops_large=400000 ;;
	-t) threads=$2; shift ;;
	-r) reps=$2; shift ;;
	--cxl-nodes=*) cxl_nodes=${1#*=} ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "$0: unknown option $1" >&2; exit 2 ;;
	*) dir=$1 ;;
	esac
	shift
done
bench_builddir "$dir"
prog=$B/cxlmu-bench-alloc
lib=$B/.libs/libcxlmu.so
je=$(bench_find_lib libjemalloc.so.2)
mi=$(bench_find_lib libmimalloc.so.2)
[ -r "$lib" ] || { echo "$0: no $lib" >&2; exit 2; }
[ -n "$je" ] || { echo "$0: libjemalloc.so.2 not found (libjemalloc2)" >&2; exit 2; }

ways="glibc jemalloc cxlmu-local cxlmu-cxl"
[ -n "$mi" ] && ways="$ways mimalloc"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run_way() {   # way size threads
	local n=$ops_small
	[ "$2" = large ] && n=$ops_large
	local args=(-s "$2" -t "$3" -n "$n")
	local base=(env -u LD_PRELOAD -u CXLMU_POLICY -u CXLMU_CXL_NODES -u CXLMU_STATS -u CXLMU_LOG -u CXLMU_STRICT)
	case $1 in
	glibc) "${base[@]}" "$prog" "${args[@]}" ;;
	jemalloc) "${base[@]}" LD_PRELOAD="$je" "$prog" "${args[@]}" ;;
	mimalloc) "${base[@]}" LD_PRELOAD="$mi" "$prog" "${args[@]}" ;;
	cxlmu-local) "${base[@]}" LD_PRELOAD="$lib" CXLMU_POLICY=local "$prog" "${args[@]}" ;;
	cxlmu-cxl) "${base[@]}" LD_PRELOAD="$lib" CXLMU_POLICY=cxl CXLMU_CXL_NODES="$cxl_nodes" "$prog" "${args[@]}" ;;
	esac 2>>"$out/stderr" | awk '{ print $NF }'
}

echo "cxlmu-bench-alloc: $reps repetitions, interleaved; threads 1 and $threads; cxl on nodes $cxl_nodes; $(nproc) CPUs" >&2
for r in $(seq "$reps"); do
	for size in small large; do
		for t in 1 "$threads"; do
			for w in $ways; do
				run_way "$w" "$size" "$t" >>"$out/$w.$size.$t"
			done
		done
	done
	printf '.' >&2
done
echo >&2
bench_show_stderr "$out/stderr"

med() { median <"$out/$1.$2.$3"; }
echo
echo "Allocation throughput, Mops/s (one op = malloc + free), median of $reps"
printf '%-14s' "case"
for w in $ways; do printf '%12s' "$w"; done
printf '%10s%10s%10s%10s\n' "local/je" "cxl/je" "local/gl" "cxl/gl"
pass=0 miss=0
verdicts=()
check() {   # label value limit
	local v
	v=$(at_least "$2" "$3")
	verdicts+=("$(printf '%-4s %-52s %5s (needs >= %s)' "$v" "$1" "$2" "$3")")
	if [ "$v" = PASS ]; then pass=$((pass + 1)); else miss=$((miss + 1)); fi
}
for size in small large; do
	for t in 1 "$threads"; do
		printf '%-14s' "$size ${t}T"
		for w in $ways; do printf '%12s' "$(med "$w" "$size" "$t")"; done
		g=$(med glibc "$size" "$t") j=$(med jemalloc "$size" "$t")
		l=$(med cxlmu-local "$size" "$t") c=$(med cxlmu-cxl "$size" "$t")
		lj=$(ratio "$l" "$j") cj=$(ratio "$c" "$j") lg=$(ratio "$l" "$g") cg=$(ratio "$c" "$g")
		printf '%10s%10s%10s%10s\n' "$lj" "$cj" "$lg" "$cg"
		check "local / raw jemalloc, $size ${t}T (at most 10 % cost)" "$lj" 0.91
		[ "$size" = small ] && check "cxl / raw jemalloc, small ${t}T" "$cj" 0.70
		if [ "$t" != 1 ]; then
			check "local / glibc, $size ${t}T (beats glibc)" "$lg" 1.00
			check "cxl / glibc, $size ${t}T (beats glibc)" "$cg" 1.00
		fi
	done
done
echo
echo "Targets (ratios of medians from this run):"
printf '  %s\n' "${verdicts[@]}"
echo "  $pass PASS, $miss MISS"

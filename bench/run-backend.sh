#!/bin/bash
# Backend choice: node-bound arenas of jemalloc and mimalloc against each
# one's default path, on the same workload (bench/alloc.c), 1 and N threads,
# small (16-256 B) and large (64-256 KiB) blocks. Ways:
#   je-malloc    jemalloc malloc/free (its fast path)
#   je-default   jemalloc mallocx/sdallocx, flags 0 (libcxlmu's DRAM tier)
#   je-arena     one arena with mbind'ing extent hooks, explicit tcache per
#                thread (libcxlmu's CXL tier today)
#   je-arenas    the same with one hooked arena per thread
#   je-arena256  je-arena with MALLOC_CONF=tcache_max:262144 (thread caches
#                also hold blocks up to 256 KiB; jemalloc's default is 32 KiB)
#   mi-default   mimalloc mi_malloc/mi_free
#   mi-arena     mimalloc exclusive arena over an mbind'ed reservation, one
#                heap per thread (mi_heap_new_in_arena, mi_heap_malloc, mi_free)
# All runs of a repetition are interleaved; the table gives medians and
# ratios from this one run. Arena ways check that every live block lies in
# the bound reservation (a run that finds one outside fails loudly).
#
# Usage: bench/run-backend.sh [--quick|--full] [-t N] [-r REPS] [-N NODE] [BUILDDIR]
set -eu
. "$(dirname "$0")/lib.sh"

threads=2 node=0
bench_opt -t threads N
bench_opt -N node NODE
bench_args "$@"
ops_small=$(bench_scaled 2000000) ops_large=$(bench_scaled 200000)
ways="je-malloc je-default je-arena je-arenas je-arena256"
if [ -x "$B/cxlmu-bench-mi" ]; then
	ways="$ways mi-default mi-arena"
else
	echo "$0: no cxlmu-bench-mi (configure found no mimalloc): jemalloc only" >&2
fi

run_way() {   # way size threads
	local n=$ops_small prog=$B/cxlmu-bench-${1%%-*} mode=${1#*-} conf=
	[ "$2" = large ] && n=$ops_large
	if [ "$mode" = arena256 ]; then
		mode=arena conf=tcache_max:262144
	fi
	env -u LD_PRELOAD -u MALLOC_CONF ${conf:+MALLOC_CONF=$conf} "$prog" -m "$mode" -s "$2" -t "$3" -n "$n" -N "$node"
}

# A way that fails is left out of the later repetitions; its medians are nan.
bench_on_fail=skip
for size in small large; do
	for t in 1 "$threads"; do
		for w in $ways; do
			bench_way "$w.$size.$t" run_way "$w" "$size" "$t"
		done
	done
done
echo "backends: $reps repetitions, interleaved; threads 1 and $threads; arenas bound to node $node; $(nproc) CPUs" >&2
bench_run

med() { bench_med "$1.$2.$3" 5; }
echo
echo "Node-bound arenas vs default paths, Mops/s (one op = alloc + free), median of $reps"
printf '%-10s' case
for w in $ways; do printf '%12s' "$w"; done
printf '%11s%11s%11s\n' "jeA/jeDef" "miA/miDef" "miA/jeA"
for size in small large; do
	for t in 1 "$threads"; do
		printf '%-10s' "$size ${t}T"
		for w in $ways; do printf '%12s' "$(med "$w" "$size" "$t")"; done
		ja=$(med je-arena "$size" "$t") jd=$(med je-default "$size" "$t")
		ma= md=
		if [ -x "$B/cxlmu-bench-mi" ]; then
			ma=$(med mi-arena "$size" "$t") md=$(med mi-default "$size" "$t")
		fi
		printf '%11s%11s%11s\n' "$(ratio "$ja" "$jd")" "$(ratio "$ma" "$md")" "$(ratio "$ma" "$ja")"
	done
done

#!/bin/bash
# Issue 20: libcxlmu against the allocators people would run instead, on
# one program (cxlmu-bench-alloc: plain malloc/free), time and peak RSS.
# The ways: glibc (no preload), Debian's jemalloc (libjemalloc.so.2
# preloaded), mimalloc (libmimalloc.so.2) and tcmalloc (libtcmalloc.so.4,
# else libtcmalloc_minimal.so.4, from libgoogle-perftools) where installed
# (a line says which are left out), and libcxlmu with CXLMU_POLICY=local and
# with CXLMU_POLICY=cxl (CXL emulated on node 0 by default). The cases
# (cxlmu-bench-alloc -s, see the comment at the top of bench/alloc.c):
#   small, large, mixed  blocks of 16-256 B, 64-256 KiB, 16 B-4 KiB skewed
#                        small, the first byte written; 1 and N threads;
#                        10000000, 200000, 6000000 ops a thread (small 5
#                        times run-alloc.sh's: 2 million take about 10 ms
#                        under jemalloc, too short for a 5 % target)
#   huge                 5-25 MiB blocks, 20 live, every byte written (a
#                        public benchmark's shape); 1 thread, 200 ops, not
#                        the program's 2000: an op faults its block in afresh
#                        under most allocators here, about 45 ms
#   1m, 4m, 16m, 64m     blocks within 12.5 % of the size, about 256 MiB
#                        live, every byte written; 1 thread, the program's
#                        default ops (1 GiB written, 512 MiB for 64m)
# All runs of one repetition are interleaved (the order reverses every other
# repetition); the table gives, per case and way, the median time of the
# timed ops (ms) and the median peak RSS (VmHWM, MiB), each with its ratio
# to glibc's and to jemalloc's median from this one run; then PASS/MISS
# against the targets:
#   huge, 1m, 4m, 16m, 64m: local and cxl time <= 1.2 x glibc's, peak RSS
#     <= 1.25 x glibc's
#   small, large, mixed (1 and N threads): local time <= 1.05 x jemalloc's,
#     cxl time <= 1.15 x jemalloc's
# A way that fails is left out of later repetitions and shown as nan. These
# are measurements: MISS lines do not change the exit status.
#
# Usage: bench/run-peers.sh [--quick|--full] [-t N] [-r REPS] [--cxl-nodes=LIST] [BUILDDIR]
# (defaults: 5 repetitions, N=2; --quick: 3 repetitions and half the ops;
# --full: 9 and twice. 3.5-4.5 minutes with --quick on the 2-CPU
# development machine, where a page fault costs about 12 us; about 10 by
# default.) CXL is
# emulated on node 0 by default (--cxl-nodes=0: the placement is applied
# with mbind, the memory is the same); on a machine with a real CXL node
# pass --cxl-nodes=auto.
set -eu
. "$(dirname "$0")/lib.sh"

threads=2 cxl_nodes=0
bench_opt -t threads N
bench_opt --cxl-nodes= cxl_nodes LIST
bench_args "$@"
bench_positive -t "$threads"
prog=$B/cxlmu-bench-alloc
lib=$B/.libs/libcxlmu.so
[ -r "$lib" ] || { echo "$0: no $lib" >&2; exit 2; }
je=$(bench_find_lib libjemalloc.so.2)
[ -n "$je" ] || { echo "$0: libjemalloc.so.2 not found (libjemalloc2)" >&2; exit 2; }
mi=$(bench_find_lib libmimalloc.so.2)
tc=$(bench_find_lib libtcmalloc.so.4)
[ -n "$tc" ] || tc=$(bench_find_lib libtcmalloc_minimal.so.4)

ways="glibc jemalloc"
if [ -n "$mi" ]; then
	ways="$ways mimalloc"
else
	echo "$0: mimalloc left out: libmimalloc.so.2 not found (libmimalloc2.0)" >&2
fi
if [ -n "$tc" ]; then
	ways="$ways tcmalloc"
else
	echo "$0: tcmalloc left out: neither libtcmalloc.so.4 nor libtcmalloc_minimal.so.4 found (libgoogle-perftools4)" >&2
fi
ways="$ways cxlmu-local cxlmu-cxl"
# The runs see no CXLMU_* of the caller's environment, only what is set here.
base=("${bench_env[@]}")

# The cases, "SHAPE THREADS", and the timed ops a thread of each shape.
small_cases="small large mixed"
big_cases="huge 1m 4m 16m 64m"
cases=()
counts=1
[ "$threads" = 1 ] || counts="1 $threads"
for s in $small_cases; do
	for t in $counts; do cases+=("$s $t"); done
done
for s in $big_cases; do cases+=("$s 1"); done
declare -A ops=(
	[small]=10000000 [large]=200000 [mixed]=6000000
	[huge]=200 [1m]=1024 [4m]=256 [16m]=64 [64m]=8
)
for s in "${!ops[@]}"; do
	ops[$s]=$(bench_scaled "${ops[$s]}")
	[ "${ops[$s]}" -gt 0 ] || ops[$s]=1
done

run_way() {   # way shape threads
	local args=(-s "$2" -t "$3" -n "${ops[$2]}")
	case $1 in
	glibc) "${base[@]}" "$prog" "${args[@]}" ;;
	jemalloc) "${base[@]}" LD_PRELOAD="$je" "$prog" "${args[@]}" ;;
	mimalloc) "${base[@]}" LD_PRELOAD="$mi" "$prog" "${args[@]}" ;;
	tcmalloc) "${base[@]}" LD_PRELOAD="$tc" "$prog" "${args[@]}" ;;
	cxlmu-local) "${base[@]}" LD_PRELOAD="$lib" CXLMU_POLICY=local "$prog" "${args[@]}" ;;
	cxlmu-cxl) "${base[@]}" LD_PRELOAD="$lib" CXLMU_POLICY=cxl CXLMU_CXL_NODES="$cxl_nodes" "$prog" "${args[@]}" ;;
	esac
}

echo "cxlmu-bench-alloc: $reps repetitions, interleaved; ways: $ways; threads 1 and $threads; cxl on nodes $cxl_nodes; $(nproc) CPUs" >&2
bench_on_fail=skip
for c in "${cases[@]}"; do
	set -- $c
	for w in $ways; do
		bench_way "$w.$1.$2" run_way "$w" "$1" "$2"
	done
done
bench_run

# The line is BACKEND MODE SHAPE THREADS MOPS SECONDS RSS_MIB; the time in
# ms keeps its digits through median's two decimals.
ms() { bench_col "$1.$2.$3" 6 | awk '{ printf "%.3f\n", $1 * 1000 }' | median; }
rss() { bench_med "$1.$2.$3" 7; }
# shown MS: three or four significant digits, no exponent.
shown() { awk -v x="$1" 'BEGIN { if (x == "nan") print x; else printf(x >= 100 ? "%.0f\n" : x >= 10 ? "%.1f\n" : "%.2f\n", x) }'; }
# Three decimals for the verdicts: 1.05 against 1.049 must not round.
ratio3() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "nan" || b == "nan" || b + 0 == 0) print "-"; else printf "%.3f\n", a / b }'; }
at_most() { awk -v x="$1" -v l="$2" 'BEGIN { if (x != "-" && x != "nan" && x + 0 <= l + 0) print "PASS"; else print "MISS" }'; }

echo
echo "Time of the timed ops (ms) and peak RSS (MiB), medians of $reps; x gl, x je: ratios to glibc's and jemalloc's medians"
printf '%-10s %-12s %10s %6s %6s %8s %6s %6s\n' case way ms "x gl" "x je" RSS "x gl" "x je"
for c in "${cases[@]}"; do
	set -- $c
	g=$(ms glibc "$1" "$2") j=$(ms jemalloc "$1" "$2")
	gr=$(rss glibc "$1" "$2") jr=$(rss jemalloc "$1" "$2")
	label="$1 ${2}T"
	for w in $ways; do
		t=$(ms "$w" "$1" "$2") r=$(rss "$w" "$1" "$2")
		printf '%-10s %-12s %10s %6s %6s %8s %6s %6s\n' "$label" "$w" "$(shown "$t")" \
			"$(ratio "$t" "$g")" "$(ratio "$t" "$j")" "$r" "$(ratio "$r" "$gr")" "$(ratio "$r" "$jr")"
		label=
	done
done

pass=0 miss=0
verdicts=()
check() {   # label value limit
	local v
	v=$(at_most "$2" "$3")
	verdicts+=("$(printf '%-4s %-50s %6s (needs <= %s)' "$v" "$1" "$2" "$3")")
	if [ "$v" = PASS ]; then pass=$((pass + 1)); else miss=$((miss + 1)); fi
}
for s in $big_cases; do
	for w in cxlmu-local cxlmu-cxl; do
		check "$w / glibc time, $s 1T" "$(ratio3 "$(ms "$w" "$s" 1)" "$(ms glibc "$s" 1)")" 1.20
		check "$w / glibc peak RSS, $s 1T" "$(ratio3 "$(rss "$w" "$s" 1)" "$(rss glibc "$s" 1)")" 1.25
	done
done
for s in $small_cases; do
	for t in $counts; do
		check "cxlmu-local / jemalloc time, $s ${t}T" "$(ratio3 "$(ms cxlmu-local "$s" "$t")" "$(ms jemalloc "$s" "$t")")" 1.05
		check "cxlmu-cxl / jemalloc time, $s ${t}T" "$(ratio3 "$(ms cxlmu-cxl "$s" "$t")" "$(ms jemalloc "$s" "$t")")" 1.15
	done
done
echo
echo "Targets (ratios of medians from this run):"
printf '  %s\n' "${verdicts[@]}"
echo "  $pass PASS, $miss MISS"
fails=0
for w in "${bench_names[@]}"; do
	[ -e "$out/$w.fail" ] || continue
	[ $fails -eq 0 ] && echo "Runs that failed (nan above):"
	fails=$((fails + 1))
	echo "  $w: $(cat "$out/$w.fail")"
done
exit 0

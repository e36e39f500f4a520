#!/bin/bash
# The founding experiment: a local thread sends chunks of sum(a[b[a[i]]]) to
# a remote thread over single-producer rings, both polling with a 1 us wait
# (cxlmu-bench-seedpoll, and cxlmu-bench-seedpoll-cxx for sleep_for), plain
# and under libcxlmu, on one core (taskset -c 0) and on two (taskset -c 0,1).
# All runs of one repetition are interleaved; the tables give medians and
# ratios from this one run, and PASS/MISS against the targets:
#   usleep(1) polling, one core: >= 25x faster per request under libcxlmu
#   with --sched=threads (the "cxlmu" column; auto, the default, runs a
#   one-core program as fibers, the "fibers" row)
#   usleep(1) polling, two cores: >= 6x faster
#   never slower: two usleep(1) pollers waiting 1 s for nothing take no more
#   CPU time than plain (ratio <= 1.00); a 10 ms sleep repeated from one call
#   site still takes 10 ms (median mean within 1 ms, no sleep shorter)
#   usleep(1) polling with --sched=fibers on one core: at most 2x the
#   hand-written coroutine version of the same program (--wait=coro)
#   the same with futex_waitv forced (--fiber-wait=waitv, the way Linux 5.16
#   to 6.6 take): at most 1.3x the io_uring wait's time, and at least 50x
#   faster than plain
#   auto (the default, no option) on one core: at most 1.2x --sched=fibers
# The fiber rows need FSGSBASE (fsgsbase in /proc/cpuinfo): without it
# they are left out, and said so.
# The nanosleep, sleep_for and yield rows are shown without a target.
# Exit 1 if a run fails or the checksums of equal runs differ; MISS is not a
# failure: this is a measurement.
#
# Usage: bench/run-seedpoll.sh [--quick|--full] [-r REPS] [BUILDDIR]
# REPS in the environment sets the repetitions too (default 5; -r wins).
set -eu
. "$(dirname "$0")/lib.sh"

bench_args "$@"
cprog=$B/cxlmu-bench-seedpoll
cxxprog=$B/cxlmu-bench-seedpoll-cxx
lib=$B/.libs/libcxlmu.so
[ -r "$lib" ] || { echo "$0: no $lib" >&2; exit 2; }
[ -x "$cprog" ] && [ -x "$cxxprog" ] || { echo "$0: no $cprog or $cxxprog (run make)" >&2; exit 2; }
taskset -c 0,1 true 2>/dev/null || { echo "$0: needs CPUs 0 and 1 (taskset -c 0,1)" >&2; exit 2; }

# Requests per run: about a second for plain 1 us sleeps on one core (about
# 150 us a request here), and for yield (about 5 us). Every sleep row uses
# the same count, so all their checksums must agree; so must the yield rows'.
n_sleep=$(bench_scaled 6000)
n_yield=$(bench_scaled 150000)
idle_s=1

# run WAY CPUS PROGRAM ARGS...: one run, its stdout on stdout. taskset comes
# first, so only the benchmark program itself runs under the preload; the
# run sees no CXLMU_* of the caller's environment, only what is set here.
run() {
	local way=$1 cpus=$2 pre=()
	shift 2
	[ "$way" = cxlmu ] && pre=(LD_PRELOAD="$lib" CXLMU_CXL_NODES=0 CXLMU_SCHED=threads)
	[ "$way" = fibers ] && pre=(LD_PRELOAD="$lib" CXLMU_CXL_NODES=0 CXLMU_SCHED=fibers)
	[ "$way" = ring ] && pre=(LD_PRELOAD="$lib" CXLMU_CXL_NODES=0 CXLMU_SCHED=fibers CXLMU_FIBER_WAIT=ring)
	[ "$way" = waitv ] && pre=(LD_PRELOAD="$lib" CXLMU_CXL_NODES=0 CXLMU_SCHED=fibers CXLMU_FIBER_WAIT=waitv)
	[ "$way" = auto ] && pre=(LD_PRELOAD="$lib" CXLMU_CXL_NODES=0)
	taskset -c "$cpus" "${bench_env[@]}" "${pre[@]}" "$@" -q
}

# Rows of the polling table: name, program, wait call, requests, target.
rows=(
	"usleep $cprog usleep $n_sleep 25 6"
	"nanosleep $cprog nanosleep $n_sleep - -"
	"sleep_for $cxxprog sleep_for $n_sleep - -"
	"yield $cprog yield $n_yield - -"
)

# The ways, each run printing CHECKSUM US: every row on one core and on
# two, plain and under libcxlmu.
sleep_ways=() yield_ways=()
for row in "${rows[@]}"; do
	read -r name prog wait n _ <<<"$row"
	for cores in 1 2; do
		cpus=0
		[ "$cores" = 2 ] && cpus=0,1
		for w in plain cxlmu; do
			bench_way "$name.$cores.$w" run "$w" "$cpus" "$prog" --wait="$wait" -n "$n"
			if [ "$n" = "$n_sleep" ]; then sleep_ways+=("$name.$cores.$w"); else yield_ways+=("$name.$cores.$w"); fi
		done
	done
done
# The hand-written coroutine version, both sides on one thread: the limit
# for fibers. Same request count as yield, so same checksum. Under the
# preload as the fibers are: the heap changes how fast the kernel itself
# runs.
bench_way coro run cxlmu 0 "$cprog" --wait=coro -n "$n_yield"
# usleep(1) polling with both threads as fibers of CPU 0's scheduler: with
# the io_uring futex wait, with futex_waitv, and as auto makes them.
fibers=no
grep -qw fsgsbase /proc/cpuinfo && fibers=yes
yield_ways+=(coro)
if [ $fibers = yes ]; then
	for w in ring waitv auto; do
		bench_way "fibers.$w" run "$w" 0 "$cprog" --wait=usleep -n "$n_yield"
		yield_ways+=("fibers.$w")
	done
fi
# Never slower: idle prints CPU ms; sleep prints MEAN MIN MAX ms.
for w in plain cxlmu; do
	bench_way "idle.$w" run "$w" 0,1 "$cprog" --idle="$idle_s"
	bench_way "sleep-usleep.$w" run "$w" 0,1 "$cprog" --sleep=10 --wait=usleep
	bench_way "sleep-nanosleep.$w" run "$w" 0,1 "$cprog" --sleep=10 --wait=nanosleep
done

echo "cxlmu-bench-seedpoll: $reps repetitions, interleaved; $n_sleep requests per sleep run, $n_yield per yield run; $(nproc) CPUs" >&2
bench_run
bench_sums_agree "runs of $n_sleep requests" 1 "${sleep_ways[@]}" || exit 1
bench_sums_agree "runs of $n_yield requests" 1 "${yield_ways[@]}" || exit 1

pass=0 miss=0
tally() {   # PASS|MISS
	if [ "$1" = PASS ]; then pass=$((pass + 1)); else miss=$((miss + 1)); fi
}

echo
echo "Polling over rings, us per request (median of $reps); checksums agree"
printf '%-10s %5s %10s %10s %8s %7s %s\n' wait cores plain cxlmu speedup target ""
for row in "${rows[@]}"; do
	read -r name _ _ _ t1 t2 <<<"$row"
	for cores in 1 2; do
		p=$(bench_med "$name.$cores.plain" 2)
		x=$(bench_med "$name.$cores.cxlmu" 2)
		s=$(ratio "$p" "$x")
		t=$t1
		[ "$cores" = 2 ] && t=$t2
		v=
		if [ "$t" != - ]; then
			v=$(at_least "$s" "$t")
			tally "$v"
			t=">=$t"
		fi
		printf '%-10s %5s %10s %10s %8s %7s %s\n' "$name" "$cores" "$p" "$x" "$s" "$t" "$v"
	done
done

c=$(bench_med coro 2)
u=$(bench_med usleep.1.cxlmu 2)
echo "coro: the same program as two coroutines on one thread, under libcxlmu (the limit for fibers): $c us/request;"
echo "      usleep(1) under libcxlmu on one core takes $(ratio "$u" "$c") x that"
p=$(bench_med usleep.1.plain 2)
if [ $fibers = yes ]; then
	echo
	echo "usleep(1) polling as fibers on one core, us per request (median of $reps)"
	printf '%-34s %9s %9s %9s %8s %s\n' way us "x plain" "x coro" target ""
	printf '%-34s %9s %9s %9s\n' "plain" "$p" 1.00 "$(ratio "$p" "$c")"
	printf '%-34s %9s %9s %9s\n' "--sched=threads" "$u" "$(ratio "$u" "$p")" "$(ratio "$u" "$c")"
	for w in ring waitv auto; do
		f=$(bench_med "fibers.$w" 2)
		case $w in
		ring) what="--sched=fibers --fiber-wait=ring"; t="<=2 coro" v=$(at_least "$(ratio 2 "$(ratio "$f" "$c")")" 1) ;;
		waitv) what="--sched=fibers --fiber-wait=waitv"; t="<=1.3 ring"
			v=$(at_least "$(ratio 1.3 "$(ratio "$f" "$(bench_med fibers.ring 2)")")" 1) ;;
		auto) what="auto (no option)"; t="<=1.2 ring"
			v=$(at_least "$(ratio 1.2 "$(ratio "$f" "$(bench_med fibers.ring 2)")")" 1) ;;
		esac
		tally "$v"
		printf '%-34s %9s %9s %9s %8s %s\n' "$what" "$f" "$(ratio "$f" "$p")" "$(ratio "$f" "$c")" "$t" "$v"
	done
	printf '%-34s %9s %9s %9s\n' "coro (hand-written)" "$c" "$(ratio "$c" "$p")" 1.00
	s=$(ratio "$p" "$(bench_med fibers.waitv 2)")
	v=$(at_least "$s" 50)
	tally "$v"
	echo "futex_waitv fibers: $s x faster than plain usleep(1) polling (target >= 50) $v"
else
	echo "fibers: not measured: this CPU has no FSGSBASE (fsgsbase in /proc/cpuinfo)"
fi

echo
echo "Never slower than plain (median of $reps; 2 CPUs)"
printf '%-44s %9s %9s %7s %9s %s\n' case plain cxlmu ratio target ""
p=$(bench_med idle.plain)
x=$(bench_med idle.cxlmu)
s=$(ratio "$x" "$p")
v=$(awk -v s="$s" 'BEGIN { print (s != "-" && s + 0 <= 1.00) ? "PASS" : "MISS" }')
tally "$v"
printf '%-44s %9s %9s %7s %9s %s\n' "idle: 2 usleep(1) pollers, ${idle_s} s, CPU ms" "$p" "$x" "$s" "<=1.00" "$v"
for call in usleep nanosleep; do
	p=$(bench_med "sleep-$call.plain" 1)
	x=$(bench_med "sleep-$call.cxlmu" 1)
	pmin=$(bench_min "sleep-$call.plain" 2)
	xmin=$(bench_min "sleep-$call.cxlmu" 2)
	v=$(awk -v m="$x" -v n="$xmin" 'BEGIN { print (m != "nan" && m >= 9 && m <= 11 && n >= 10) ? "PASS" : "MISS" }')
	tally "$v"
	printf '%-44s %9s %9s %7s %9s %s\n' "$call 10 ms x20: mean ms" "$p" "$x" "" "10+-1" "$v"
	printf '%-44s %9s %9s %7s %9s\n' "$call 10 ms x20: shortest ms" "$pmin" "$xmin" "" ">=10"
done
echo
echo "Targets: $pass PASS, $miss MISS"

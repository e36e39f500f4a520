#!/bin/bash
# Issue 6's bench: the seed's program shape (cxlmu-bench-remote): a local
# program dlopens libremote.so and calls its function in a loop, with local
# work between the calls, from N threads pinned to CPU 0
# (pthread_setaffinity_np), plain and under cxlmu-run --remote with the
# agent on CPU 1, as kernel threads and as fibers; a round trip to an empty
# remote function; and a pointer chase over a malloc'ed array placed by
# --policy=cxl --cxl-nodes=0 (CXL emulated on node 0). The ways:
#   a   plain, no runtime
#   b   cxlmu-run --sched=fibers, no --remote: the same pinned program
#   c   --remote=remote --agent-cpus=1 --sched=threads
#   d   --remote=remote --agent-cpus=1 --sched=fibers
#   e   round trip: --fn=empty, 1 thread, no local work, --remote=remote_empty
#       --agent-cpus=1 --sched=fibers (e0 plain, et --sched=threads)
#   f   chase: --fn=chase, --policy=cxl --cxl-nodes=0 --sched=fibers
#       --remote=remote_chase --agent-cpus=1 (f0 plain, fb without --remote)
# b to e run with --policy=local. All runs of one repetition are interleaved
# (the order reverses every other repetition); the tables give medians and
# ratios from this one run, the overlap ratio ((b - d) / the smaller of the
# local and the remote work, in us a call: 1 when the smaller one is hidden
# whole, 0 when nothing is), the runtime's own "remote" lines of --stats
# (one extra run of d and f), and PASS/MISS against the targets:
#   d / b >= 1.7 (throughput with fibers and --remote against without)
#   e <= 5 us a round trip
# A way whose options cxlmu-run refuses, or that fails or hangs (60 s), is
# n/a and the rest go on. Exit 1 if checksums differ or a way without
# --remote fails.
#
# Usage: bench/run-remote.sh [--quick|--full] [-r REPS] [-t N] [-w W] [-s STEPS] [BUILDDIR]
# (defaults: 5 repetitions of 1000 calls a thread, N=4, W=128 units of local
# and of remote work, about 30 us each, STEPS=200 hops a chase call, about
# 30 us; --quick: 3 of 500; --full: 9 of 2000. About 20 s by default.)
set -eu
. "$(dirname "$0")/lib.sh"

threads=4 work=128 steps=200 chase_len=8388608
bench_opt -t threads N
bench_opt -w work W
bench_opt -s steps STEPS
bench_args "$@"
calls=$(bench_scaled 1000) rt_calls=$(bench_scaled 20000)
prog=$B/cxlmu-bench-remote
run=$B/cxlmu-run
for f in "$prog" "$run"; do
	[ -x "$f" ] || { echo "$0: no $f (run make)" >&2; exit 2; }
done
[ -r "$B/.libs/libremote.so" ] || { echo "$0: no $B/.libs/libremote.so (run make)" >&2; exit 2; }
# Every CXLMU_ variable of the caller's environment goes (bench_env), so
# only the options below decide.
base=("${bench_env[@]}")

seed=(--fn=remote -t "$threads" --cpu=0 -w "$work" -k "$calls")
trip=(--fn=empty -t 1 --cpu=0 -w 0 -k "$rt_calls")
chase=(--fn=chase -t "$threads" --cpu=0 -w "$work" -k "$calls" --chase-len="$chase_len" --chase-steps="$steps")
local_rt=(--policy=local --cxl-nodes=0)
cxl_rt=(--policy=cxl --cxl-nodes=0)

modes="a b c d e0 e et f0 fb f"
# cmd MODE: the command line of one way, into the array c.
cmd() {
	case $1 in
	a) c=("$prog" "${seed[@]}") ;;
	b) c=("$run" "${local_rt[@]}" --sched=fibers -- "$prog" "${seed[@]}") ;;
	c) c=("$run" "${local_rt[@]}" --sched=threads --remote=remote --agent-cpus=1 -- "$prog" "${seed[@]}") ;;
	d) c=("$run" "${local_rt[@]}" --sched=fibers --remote=remote --agent-cpus=1 -- "$prog" "${seed[@]}") ;;
	e0) c=("$prog" "${trip[@]}") ;;
	e) c=("$run" "${local_rt[@]}" --sched=fibers --remote=remote_empty --agent-cpus=1 -- "$prog" "${trip[@]}") ;;
	et) c=("$run" "${local_rt[@]}" --sched=threads --remote=remote_empty --agent-cpus=1 -- "$prog" "${trip[@]}") ;;
	f0) c=("$prog" "${chase[@]}") ;;
	fb) c=("$run" "${cxl_rt[@]}" --sched=fibers -- "$prog" "${chase[@]}") ;;
	f) c=("$run" "${cxl_rt[@]}" --sched=fibers --remote=remote_chase --agent-cpus=1 -- "$prog" "${chase[@]}") ;;
	esac
}
label() {
	case $1 in
	a) echo "plain (no runtime)" ;;
	b) echo "fibers, no --remote (the baseline)" ;;
	c) echo "--remote, agent on CPU 1, threads" ;;
	d) echo "--remote, agent on CPU 1, fibers" ;;
	e0) echo "plain (a direct call)" ;;
	e) echo "--remote, agent on CPU 1, fibers" ;;
	et) echo "--remote, agent on CPU 1, threads" ;;
	f0) echo "plain (no runtime, glibc malloc)" ;;
	fb) echo "cxl, fibers, no --remote" ;;
	f) echo "cxl, --remote, agent on CPU 1, fibers" ;;
	esac
}
group() {
	case $1 in
	a|b|c|d) echo seed ;;
	e0|e|et) echo trip ;;
	*) echo chase ;;
	esac
}
remote_mode() { case $1 in c|d|e|et|f) return 0 ;; esac; return 1; }

# Each way prints CALLS_PER_S US_PER_CALL CHECKSUM. One that fails or
# hangs is n/a from then on: $out/MODE.fail says why.
bench_on_fail=skip bench_timeout=60
for m in $modes; do
	cmd "$m"
	bench_way "$m" "${base[@]}" "${c[@]}" -q
done

echo "cxlmu-bench-remote: $reps repetitions, interleaved; $threads threads pinned to CPU 0; $(nproc) CPUs" >&2

# The sizes of the work, measured plain on one thread: the local work alone
# (--fn=empty: the call costs nanoseconds) and the chase alone (--work=0).
# They also check that the program runs at all.
for _ in 1 2 3; do
	"${base[@]}" "$prog" --fn=empty -t 1 -w "$work" -k 2000 -q | awk '{ print $2 }' >>"$out/cal.work"
	"${base[@]}" "$prog" --fn=chase -t 1 -w 0 -k 500 --chase-len="$chase_len" --chase-steps="$steps" -q |
		awk '{ print $2 }' >>"$out/cal.chase"
done
lw=$(median <"$out/cal.work")
cw=$(median <"$out/cal.chase")
awk -v w="$work" -v lw="$lw" -v s="$steps" -v cw="$cw" -v len="$chase_len" 'BEGIN {
	printf "local work: W=%d units, %.2f us a call (%.4f us a unit); remote() does the same W units\n", w, lw, w ? lw / w : 0
	printf "remote_chase: %d hops over %d longs (%d MiB), %.2f us a call (%.1f ns a hop), plain\n", s, len, len * 8 / 1048576, cw, s ? cw * 1000 / s : 0
	if (lw < 20 || lw > 50) printf "  NOTE: the local work is not 20-50 us a call; pick W with -w\n"
	if (cw < 20 || cw > 50) printf "  NOTE: the chase is not 20-50 us a call; pick STEPS with -s\n"
}'

bench_run
for m in $modes; do
	if [ -e "$out/$m.err" ] && grep -q 'checksum mismatch' "$out/$m.err"; then
		echo "$m" >>"$out/mismatch"
	fi
done

# One more run of d and f with --stats, for the runtime's own account of
# the remote calls (a line that starts with "remote", after the "cxlmu: "
# prefix or not), printed as it is.
for m in d f; do
	[ -e "$out/$m.fail" ] && continue
	cmd "$m"
	c=("${c[0]}" --stats "${c[@]:1}")
	timeout 60 "${base[@]}" "${c[@]}" -q >/dev/null 2>"$out/stats.$m" || true
	grep -E '^(cxlmu: *)?remote' "$out/stats.$m" >"$out/remote.$m" || true
done

status=0
med() {   # MODE rate|us
	if [ "$2" = rate ]; then bench_med "$1" 1; else bench_med "$1" 2; fi
}
shown() { case $1 in nan|-|"") echo n/a ;; *) echo "$1" ;; esac; }
at_most() { awk -v x="$1" -v l="$2" 'BEGIN { if (x != "-" && x != "nan" && x + 0 <= l + 0) print "PASS"; else print "MISS" }'; }
# overlap SERIAL OVERLAPPED LOCAL: (SERIAL - OVERLAPPED) / min(LOCAL, SERIAL - LOCAL), us a call.
overlap() {
	awk -v s="$1" -v o="$2" -v l="$3" 'BEGIN {
		if (s == "nan" || o == "nan" || l == "nan") { print "n/a"; exit }
		r = s - l; m = l < r ? l : r
		if (m <= 0) print "n/a"; else printf "%.2f\n", (s - o) / m }'
}
row() {   # MODE BASELINE
	printf '  %-3s %-40s %12s %10s %8s\n' "$1" "$(label "$1")" "$(shown "$(med "$1" rate)")" \
		"$(shown "$(med "$1" us)")" "$(shown "$(ratio "$(med "$1" rate)" "$(med "$2" rate)")")"
}
header() { printf '  %-44s %12s %10s %8s\n' "$1" calls/s us/call "$2"; }

echo
echo "Seed shape: $threads threads on CPU 0, W=$work local + W remote, $calls calls a thread; medians of $reps"
header "" "x b"
for m in a b c d; do row "$m" b; done
echo "  overlap (b - d) / min(local, remote), us a call: $(overlap "$(med b us)" "$(med d us)" "$lw") with fibers, $(overlap "$(med b us)" "$(med c us)" "$lw") with threads"
echo
echo "Round trip: --fn=empty, 1 thread on CPU 0, no local work, $rt_calls calls; medians of $reps"
header "" "x e0"
for m in e0 e et; do row "$m" e0; done
# No round trip to another CPU takes under 0.1 us: a call that fast ran
# where it was made.
stayed_local=0
if [ "$(med e us)" != nan ] && [ "$(awk -v x="$(med e us)" 'BEGIN { print (x < 0.1) }')" = 1 ]; then
	stayed_local=1
	echo "  NOTE: e takes under 0.1 us a call: the calls stayed local (--remote had no effect)"
fi
echo
echo "Chase: $threads threads on CPU 0, W=$work local + $steps hops over $((chase_len * 8 / 1048576)) MiB, $calls calls a thread; medians of $reps"
header "" "x fb"
for m in f0 fb f; do row "$m" fb; done
echo "  overlap (fb - f) / min(local, remote), us a call: $(overlap "$(med fb us)" "$(med f us)" "$lw")"

echo
for m in d f; do
	if [ -s "$out/remote.$m" ]; then
		echo "The runtime's --stats, way $m:"
		sed 's/^/  /' "$out/remote.$m"
	elif [ -e "$out/stats.$m" ]; then
		echo "The runtime's --stats, way $m: no line starting with \"remote\""
	fi
done

fails=0
for m in $modes; do
	[ -e "$out/$m.fail" ] || continue
	[ $fails -eq 0 ] && echo "Ways that did not run (n/a):"
	fails=$((fails + 1))
	echo "  $m ($(label "$m")): $(cat "$out/$m.fail")"
	if ! remote_mode "$m"; then
		echo "    (no --remote in this way: that is a failure)"
		status=1
	fi
done

# Every run of one shape must give the same checksum, plain or remote.
for g in seed trip chase; do
	ran=()
	for m in $modes; do
		[ "$(group "$m")" = "$g" ] && [ -s "$out/$m" ] && ran+=("$m")
	done
	[ ${#ran[@]} -eq 0 ] || bench_sums_agree "$g" 3 "${ran[@]}" || status=1
done
if [ -s "$out/mismatch" ]; then
	echo "CHECKSUM MISMATCH inside a run (the program's own check): $(sort -u "$out/mismatch" | tr '\n' ' ')"
	status=1
fi

echo
echo "Targets (ratios of medians from this run):"
pass=0 miss=0 na=0
verdict() {   # label value verdict limit
	local v=$3
	case $2 in nan|-|"") v=N/A ;; esac
	printf '  %-4s %-58s %6s (needs %s)\n' "$v" "$1" "$(shown "$2")" "$4"
	case $v in PASS) pass=$((pass + 1)) ;; MISS) miss=$((miss + 1)) ;; *) na=$((na + 1)) ;; esac
}
db=$(ratio "$(med d rate)" "$(med b rate)")
verdict "d / b throughput, $threads fibers on CPU 0, agent on CPU 1" "$db" "$(at_least "$db" 1.70)" ">= 1.70"
eu=$(med e us)
ev=$(at_most "$eu" 5)
[ $stayed_local -eq 1 ] && ev="N/A"
verdict "e, one round trip to an empty function, fibers, us" "$eu" "$ev" "<= 5"
echo "  $pass PASS, $miss MISS, $na N/A"
exit $status

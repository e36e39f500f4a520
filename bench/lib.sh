# bench/lib.sh: helpers sourced by the bench/run-*.sh drivers.

# bench_builddir [DIR]: the build directory holding the bench programs:
# DIR if given, else the current directory, else the one this script sits
# in (an in-tree build). Sets B.
bench_builddir() {
	local d
	for d in "${1:-}" . "$(dirname "$0")/.."; do
		[ -n "$d" ] || continue
		if [ -x "$d/cxlmu-bench-alloc" ]; then
			B=$(cd "$d" && pwd)
			return 0
		fi
	done
	echo "$0: no build directory with cxlmu-bench-alloc (give it as the last argument, after 'make')" >&2
	exit 2
}

# bench_scaled_args ARGS...: the options of the drivers whose work scales:
# --quick (3 repetitions, half the work), --full (9, twice the work),
# -r REPS, -h and BUILDDIR. Sets reps (REPS in the environment too; -r
# wins; default 5), scale and B.
bench_scaled_args() {
	local preset=5 dir=
	reps= scale=1
	while [ $# -gt 0 ]; do
		case $1 in
		--quick) preset=3 scale=0.5 ;;
		--full) preset=9 scale=2 ;;
		-r) reps=$2; shift ;;
		-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
		-*) echo "$0: unknown option $1" >&2; exit 2 ;;
		*) dir=$1 ;;
		esac
		shift
	done
	reps=${reps:-${REPS:-$preset}}
	bench_builddir "$dir"
}

# bench_show_stderr FILE: what the runs wrote to stderr, line counts first,
# if they wrote anything.
bench_show_stderr() {
	if [ -s "$1" ]; then
		echo "stderr of the runs:" >&2
		sort "$1" | uniq -c >&2
	fi
}

# bench_find_lib NAME: full path of a shared library known to ld.so, or "".
bench_find_lib() {
	/sbin/ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n { print $NF; exit }'
}

# median: the median of the numbers on stdin, one a line.
median() {
	sort -g | awk '{ a[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B with two decimals ("-" when either is missing).
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "nan" || b == "nan" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

# at_least X LIMIT: PASS if X >= LIMIT, else MISS.
at_least() {
	awk -v x="$1" -v l="$2" 'BEGIN { if (x != "-" && x + 0 >= l + 0) print "PASS"; else print "MISS" }'
}

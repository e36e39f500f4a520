# bench/lib.sh: what every bench/run-*.sh shares: one option parser
# (bench_args), one interleaved repetitions x ways loop (bench_way,
# bench_run) and the statistics the tables are made of (bench_med ...).
#
# A driver reads like this:
#   . "$(dirname "$0")/lib.sh"
#   bench_opt -t threads N            # options of its own, before bench_args
#   bench_args "$@"                   # sets reps, scale, B, out, bench_env
#   bench_way plain "$B/prog" -q      # one way: a name and a command
#   bench_way fast  env X=1 "$B/prog" -q
#   bench_run                         # reps x ways, interleaved
#   ratio "$(bench_med plain)" "$(bench_med fast)"

# ---------------------------------------------------------------------------
# Options

bench_opt_spell=() bench_opt_var=() bench_opt_meta=()
bench_reps_presets=(5 3 9)

# bench_opt SPELLING VAR [META]: an option of this driver. A SPELLING that
# ends in "=" (--cxl-nodes=) takes the rest of the word as its value; one
# with a META (-t VAR N) takes the next word; one without is a flag that
# sets VAR to 1. VAR is only set when the option is given, so set its
# default before bench_args, or after it when it depends on scale.
bench_opt() {
	bench_opt_spell+=("$1")
	bench_opt_var+=("$2")
	bench_opt_meta+=("${3:-}")
}

# bench_presets DEFAULT QUICK FULL: the repetitions by preset (5 3 9 unless
# a driver says otherwise).
bench_presets() {
	bench_reps_presets=("$1" "$2" "$3")
}

# bench_accepted: the options bench_args takes, for messages.
bench_accepted() {
	local i s list="--quick, --full, -r REPS"
	for i in "${!bench_opt_spell[@]}"; do
		s=${bench_opt_spell[$i]}
		case $s in
		*=) s="$s${bench_opt_meta[$i]:-VALUE}" ;;
		*) [ -n "${bench_opt_meta[$i]}" ] && s="$s ${bench_opt_meta[$i]}" ;;
		esac
		list="$list, $s"
	done
	echo "$list, -h|--help, and BUILDDIR"
}

# bench_bad MESSAGE: a usage error: says what is wrong and what is
# accepted, exits 2.
bench_bad() {
	echo "$0: $1; accepted: $(bench_accepted)" >&2
	exit 2
}

# bench_positive WHAT VALUE: VALUE if it is a whole number > 0, else a
# usage error.
bench_positive() {
	case $2 in
	'' | *[!0-9]* | 0*) bench_bad "$1 takes a whole number above 0, not '$2'" ;;
	esac
}

# bench_args ARGS...: the options every driver takes, and those declared
# with bench_opt:
#   --quick      3 repetitions (bench_presets), half the work (scale 0.5)
#   --full       9 repetitions, twice the work (scale 2)
#   -r REPS      the repetitions (REPS in the environment too; -r wins)
#   -h, --help   the comment at the top of the driver, its usage line
#                included
#   BUILDDIR     the build directory (bench_builddir)
# Sets reps, scale, B; bench_pass (the common options as given, for
# run-all.sh to hand on); out (a temporary directory, removed on exit);
# bench_env (env without LD_PRELOAD and without every CXLMU_* of the
# caller's environment: a run sees only what the driver sets).
bench_args() {
	local preset= given= dir= i s v found
	while [ $# -gt 0 ]; do
		case $1 in
		--quick | --full) preset=${1#--} ;;
		-r)
			[ $# -ge 2 ] || bench_bad "-r needs a value (-r REPS)"
			given=$2
			bench_positive -r "$given"
			shift
			;;
		-h | --help)
			sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
			exit 0
			;;
		-?*)
			found=
			for i in "${!bench_opt_spell[@]}"; do
				s=${bench_opt_spell[$i]}
				case $s in
				*=)
					[ "${1#"$s"}" != "$1" ] || continue
					v=${1#"$s"}
					[ -n "$v" ] || bench_bad "$s needs a value ($s${bench_opt_meta[$i]:-VALUE})"
					;;
				*)
					[ "$1" = "$s" ] || continue
					v=1
					if [ -n "${bench_opt_meta[$i]}" ]; then
						[ $# -ge 2 ] || bench_bad "$s needs a value ($s ${bench_opt_meta[$i]})"
						v=$2
						shift
					fi
					;;
				esac
				printf -v "${bench_opt_var[$i]}" %s "$v"
				found=1
				break
			done
			[ -n "$found" ] || bench_bad "unknown option '$1'"
			;;
		*)
			[ -z "$dir" ] || bench_bad "one BUILDDIR only, not '$dir' and '$1'"
			dir=$1
			;;
		esac
		shift
	done
	case $preset in
	quick) reps=${bench_reps_presets[1]} scale=0.5 ;;
	full) reps=${bench_reps_presets[2]} scale=2 ;;
	*) reps=${bench_reps_presets[0]} scale=1 ;;
	esac
	if [ -n "$given" ]; then
		reps=$given
	elif [ -n "${REPS:-}" ]; then
		bench_positive REPS "$REPS"
		reps=$REPS
	fi
	bench_pass=(${preset:+--$preset} ${given:+-r "$given"})
	bench_builddir "$dir"
	bench_env=(env -u LD_PRELOAD)
	for v in $(compgen -e); do
		case $v in CXLMU_*) bench_env+=(-u "$v") ;; esac
	done
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
}

# bench_scaled N: N times scale, a whole number: the work of one run.
bench_scaled() {
	awk -v n="$1" -v s="$scale" 'BEGIN { printf "%d\n", n * s }'
}

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

# ---------------------------------------------------------------------------
# The interleaved loop

bench_names=() bench_cmds=()

# bench_way NAME COMMAND...: one way: COMMAND (a program or a function of
# the driver, with its arguments) runs once a repetition and prints one
# line of numbers on stdout. NAME is a file name under $out.
bench_way() {
	local name=$1 cmd
	shift
	printf -v cmd '%q ' "$@"
	bench_names+=("$name")
	bench_cmds+=("$cmd")
}

# bench_run: reps repetitions; in each, every way runs once, in the order
# declared, reversed every other repetition so that no way always follows
# the same one (load on the machine hits every way alike). Each run's
# stdout is appended to $out/NAME, its stderr to $out/stderr; a dot a
# repetition on stderr, then what the runs wrote there (bench_show_stderr).
# A run that fails (or outlives bench_timeout seconds, when that is set:
# the ways are programs then, not functions):
#   bench_on_fail=exit (the default): says which and how, and exits 1;
#   bench_on_fail=skip: the way is left out of later repetitions, a line
#   on stderr and $out/NAME.fail say why ("exit N: first line of stderr" or "timed out
#   after S s"), $out/NAME.err holds its stderr.
bench_run() {
	local r i k rc n=${#bench_names[@]} name why pre=
	[ -n "${bench_timeout:-}" ] && pre="timeout $bench_timeout "
	for ((r = 1; r <= reps; r++)); do
		for ((k = 0; k < n; k++)); do
			i=$k
			[ $((r % 2)) = 0 ] && i=$((n - 1 - k))
			name=${bench_names[$i]}
			[ -e "$out/$name.fail" ] && continue
			rc=0
			eval "$pre${bench_cmds[$i]}" >"$out/run.out" 2>"$out/run.err" || rc=$?
			if [ $rc -eq 0 ]; then
				cat "$out/run.out" >>"$out/$name"
				cat "$out/run.err" >>"$out/stderr"
				continue
			fi
			if [ "${bench_on_fail:-exit}" != skip ]; then
				echo >&2
				echo "$0: way $name failed (exit $rc): ${bench_cmds[$i]}" >&2
				tail -n 5 "$out/run.err" >&2
				exit 1
			fi
			why="exit $rc: $(grep -v '^[[:space:]]*$' "$out/run.err" | head -n 1)"
			case $rc in
			124) [ -n "${bench_timeout:-}" ] && why="timed out after $bench_timeout s" ;;
			esac
			echo "$why" >"$out/$name.fail"
			echo "$0: way $name failed ($why); left out from now on" >&2
			cp "$out/run.err" "$out/$name.err"
		done
		printf '.' >&2
	done
	echo >&2
	bench_show_stderr "$out/stderr"
}

# ---------------------------------------------------------------------------
# Statistics over the runs of one way

# bench_col NAME [FIELD]: FIELD (default 1; NF: the last) of each run of
# way NAME, one a line.
bench_col() {
	[ -s "$out/$1" ] || return 0
	awk -v f="${2:-1}" '{ print (f == "NF") ? $NF : $f }' "$out/$1"
}

# bench_med NAME [FIELD]: the median of FIELD over the runs ("nan" when
# there are none); bench_max, bench_min: the largest, the smallest.
bench_med() { bench_col "$@" | median; }
bench_max() { bench_col "$@" | sort -g | tail -n 1; }
bench_min() { bench_col "$@" | sort -g | head -n 1; }

# bench_sums_agree LABEL FIELD NAME...: 0 when every run of the ways NAME
# gave the same FIELD (a checksum); else says which gave what on stderr
# and returns 1.
bench_sums_agree() {
	local label=$1 field=$2 w
	shift 2
	for w; do bench_col "$w" "$field"; done | sort -u | awk 'END { exit NR > 1 }' && return 0
	echo "checksums differ ($label):" >&2
	for w; do echo "  $w: $(bench_col "$w" "$field" | sort -u | tr '\n' ' ')" >&2; done
	return 1
}

# ---------------------------------------------------------------------------
# Small helpers

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

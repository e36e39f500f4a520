#!/bin/bash
# Allocation throughput of one program (cxlmu-bench-alloc: plain malloc/free)
# under glibc, the raw backend (jemalloc's own libjemalloc.so.2 preloaded),
# libcxlmu with the local policy, with the cxl policy, with the local policy
# and a call-site profile (CXLMU_PROFILE, default sampling), and with the
# sites policy (rules from a profile of this program taken before the timed
# runs, one per block size, by cxlmu-stat --rules --fallback=cxl, or by awk
# where cxlmu-stat is missing: the program's own sites in DRAM, the rest on
# CXL; a CXLMU_STATS run checks that the blocks stay in DRAM), 1 and N
# threads, small (16-256 B) and large (64-256 KiB) blocks. All runs of one
# repetition are interleaved, so load on the machine hits every way alike;
# the table gives medians and ratios from this one run, and PASS/MISS
# against the targets:
#   local costs at most 10 % over the raw backend (ratio >= 0.91, every case)
#   cxl small-block throughput >= 0.7 x the raw backend
#   with N threads libcxlmu (local and cxl) beats glibc malloc
#   the profile takes at most 1.5 x local's time (ratio >= 0.667, every case)
#   sites takes at most 1.2 x local's time (ratio >= 0.833, every case)
#
# Usage: bench/run-alloc.sh [--quick|--full] [-t N] [-r REPS] [--cxl-nodes=LIST] [BUILDDIR]
# CXL is emulated on node 0 by default (--cxl-nodes=0, the placement is
# applied with mbind, the memory is the same); on a machine with a real CXL
# node pass --cxl-nodes=auto.
set -eu
. "$(dirname "$0")/lib.sh"

threads=2 cxl_nodes=0
bench_opt -t threads N
bench_opt --cxl-nodes= cxl_nodes LIST
bench_args "$@"
ops_small=$(bench_scaled 2000000) ops_large=$(bench_scaled 200000)
prog=$B/cxlmu-bench-alloc
lib=$B/.libs/libcxlmu.so
je=$(bench_find_lib libjemalloc.so.2)
mi=$(bench_find_lib libmimalloc.so.2)
[ -r "$lib" ] || { echo "$0: no $lib" >&2; exit 2; }
[ -n "$je" ] || { echo "$0: libjemalloc.so.2 not found (libjemalloc2)" >&2; exit 2; }

ways="glibc jemalloc cxlmu-local cxlmu-cxl cxlmu-profile cxlmu-sites"
[ -n "$mi" ] && ways="$ways mimalloc"
# The runs see no CXLMU_* of the caller's environment, only what is set here.
base=("${bench_env[@]}")

# awk_rules PROFILE: rules without cxlmu-stat: every site whose innermost
# frame lies in the bench program goes to DRAM with all its frames, the
# rest to CXL.
awk_rules() {
	awk -v prog="${prog##*/}" '
	$1 == "module" { n = $4; sub(/.*\//, "", n); name[$2] = n; id[$2] = $3 }
	$1 == "frames" {
		split($3, f, "+")
		if (name[f[1]] != prog) next
		line = "dram"
		for (i = 3; i <= NF; i++) {
			split($i, f, "+")
			if (name[f[1]] == "" || name[f[1]] == "[unknown]") break
			line = line " " name[f[1]] (id[f[1]] == "-" ? "" : "@" id[f[1]]) "+" f[2]
		}
		print line
	}
	END { print "fallback cxl" }' "$1"
}

echo "cxlmu-bench-alloc: $reps repetitions, interleaved; threads 1 and $threads; cxl on nodes $cxl_nodes; $(nproc) CPUs" >&2

# Rules for the sites way, one file per block size, from a profile of a
# short run with N threads (every allocation sampled); then one run under
# them with CXLMU_STATS=1 says how many allocations went to each tier.
mkdir "$out/pre"
for size in small large; do
	"${base[@]}" LD_PRELOAD="$lib" CXLMU_POLICY=local CXLMU_PROFILE="$out/pre/prof.$size.%p" \
		CXLMU_SAMPLE_BYTES=1 "$prog" -s "$size" -t "$threads" -n 20000 >/dev/null 2>>"$out/stderr"
	prof=$(ls "$out/pre/prof.$size".* 2>/dev/null | head -n 1)
	[ -s "$prof" ] || { echo "$0: no profile written for $size blocks" >&2; bench_show_stderr "$out/stderr"; exit 1; }
	if [ -x "$B/cxlmu-stat" ]; then
		maker="cxlmu-stat --rules --dram-budget=1G --fallback=cxl"
		"$B/cxlmu-stat" --rules --dram-budget=1G --fallback=cxl -o "$out/rules.$size" "$prof"
	else
		maker="awk (no $B/cxlmu-stat)"
		awk_rules "$prof" >"$out/rules.$size"
	fi
	"${base[@]}" LD_PRELOAD="$lib" CXLMU_POLICY="sites:$out/rules.$size" CXLMU_CXL_NODES="$cxl_nodes" \
		CXLMU_STATS=1 "$prog" -s "$size" -t "$threads" -n 20000 >/dev/null 2>"$out/pre/stats.$size"
	awk '$1 == "cxlmu:" && ($2 == "dram" || $2 == "cxl") { a[$2] += $6 }
	END { printf "%d %d %.3f\n", a["dram"], a["cxl"], a["dram"] + a["cxl"] ? a["dram"] / (a["dram"] + a["cxl"]) : 0 }' \
		"$out/pre/stats.$size" >"$out/pre/tiers.$size"
	read -r dram_n cxl_n frac <"$out/pre/tiers.$size"
	echo "sites rules, $size blocks ($maker, $(grep -c '^dram' "$out/rules.$size") dram rules): $dram_n allocations on the dram tier, $cxl_n on cxl" >&2
	if [ "$(at_least "$frac" 0.99)" != PASS ]; then
		echo "  WARNING: the rules do not keep the bench's blocks in DRAM; cxlmu-sites does not measure the DRAM fast path" >&2
		sed 's/^/  /' "$out/pre/stats.$size" >&2
	fi
done

run_way() {   # way size threads
	local n=$ops_small
	[ "$2" = large ] && n=$ops_large
	local args=(-s "$2" -t "$3" -n "$n")
	case $1 in
	glibc) "${base[@]}" "$prog" "${args[@]}" ;;
	jemalloc) "${base[@]}" LD_PRELOAD="$je" "$prog" "${args[@]}" ;;
	mimalloc) "${base[@]}" LD_PRELOAD="$mi" "$prog" "${args[@]}" ;;
	cxlmu-local) "${base[@]}" LD_PRELOAD="$lib" CXLMU_POLICY=local "$prog" "${args[@]}" ;;
	cxlmu-cxl) "${base[@]}" LD_PRELOAD="$lib" CXLMU_POLICY=cxl CXLMU_CXL_NODES="$cxl_nodes" "$prog" "${args[@]}" ;;
	cxlmu-profile) "${base[@]}" LD_PRELOAD="$lib" CXLMU_POLICY=local CXLMU_PROFILE="$out/prof.%p" "$prog" "${args[@]}" ;;
	cxlmu-sites) "${base[@]}" LD_PRELOAD="$lib" CXLMU_POLICY="sites:$out/rules.$2" CXLMU_CXL_NODES="$cxl_nodes" "$prog" "${args[@]}" ;;
	esac
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
bench_run

med() { bench_med "$1.$2.$3" 5; }
ratio3() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b + 0 == 0) print "-"; else printf "%.3f\n", a / b }'; }
echo
echo "Allocation throughput, Mops/s (one op = malloc + free), median of $reps"
printf '%-14s' "case"
for w in $ways; do printf '%14s' "$w"; done
printf '%10s%10s%10s%10s%11s%11s\n' "local/je" "cxl/je" "local/gl" "cxl/gl" "prof/local" "sites/loc"
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
		for w in $ways; do printf '%14s' "$(med "$w" "$size" "$t")"; done
		g=$(med glibc "$size" "$t") j=$(med jemalloc "$size" "$t")
		l=$(med cxlmu-local "$size" "$t") c=$(med cxlmu-cxl "$size" "$t")
		p=$(med cxlmu-profile "$size" "$t") s=$(med cxlmu-sites "$size" "$t")
		lj=$(ratio "$l" "$j") cj=$(ratio "$c" "$j") lg=$(ratio "$l" "$g") cg=$(ratio "$c" "$g")
		pl=$(ratio "$p" "$l") sl=$(ratio "$s" "$l")
		printf '%10s%10s%10s%10s%11s%11s\n' "$lj" "$cj" "$lg" "$cg" "$pl" "$sl"
		check "local / raw jemalloc, $size ${t}T (at most 10 % cost)" "$lj" 0.91
		[ "$size" = small ] && check "cxl / raw jemalloc, small ${t}T" "$cj" 0.70
		if [ "$t" != 1 ]; then
			check "local / glibc, $size ${t}T (beats glibc)" "$lg" 1.00
			check "cxl / glibc, $size ${t}T (beats glibc)" "$cg" 1.00
		fi
		# Three decimals: 1/1.5 and 1/1.2 are not two-decimal numbers.
		check "profile / local, $size ${t}T (at most 1.5 x time)" "$(ratio3 "$p" "$l")" 0.667
		check "sites / local, $size ${t}T (at most 1.2 x time)" "$(ratio3 "$s" "$l")" 0.833
	done
done
for size in small large; do
	read -r dram_n cxl_n frac <"$out/pre/tiers.$size"
	check "sites rules keep $size blocks in DRAM (dram share)" "$frac" 0.99
done
echo
echo "Targets (ratios of medians from this run):"
printf '  %s\n' "${verdicts[@]}"
echo "  $pass PASS, $miss MISS"

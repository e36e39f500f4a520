#!/bin/sh
# Proves --stats, --stats=FILE (%p), --stats-format=json and CXLMU_STATS* report the documented keys and counts that follow what the program did (live, freed, per-thread blocks), on stderr or in a file, without changing the program's exit status.
. "${top_srcdir:-.}/tests/integration/lib.sh"

PY=/usr/bin/python3
need_python3 "to read the JSON report"
CHECK="$top_srcdir/tests/integration/checkjson.py"
R="$CXLMU_RUN --cxl-nodes=0 --stats-format=json"

# json NAME FILE EXPR...: the report in FILE has the keys and EXPRs hold.
json() {
	_n=$1
	shift
	"$PY" "$CHECK" "$@" 2>"$WORK/why" || { fail "$_n: $(cat "$WORK/why")"; }
}

# 10 x 1 MiB live at exit, on CXL node 0.
begin "keep: 10 MiB live at exit on CXL node 0"
$R --policy=cxl --stats="$WORK/keep.json" "$H/statsprog" keep || fail "keep: exit $?"
json keep "$WORK/keep.json" 'r["policy"] == "cxl"' 'r["policy_asked"] == "cxl"' \
	'r["cxl_nodes"] == [0]' 'r["strict"] is False' 'r["mmap"] is True' \
	'n0["cxl"] is True' 'n0["bytes_live"] >= 10 * MiB' 'n0["bytes_peak"] >= 10 * MiB' \
	'n0["bytes_total"] >= 10 * MiB' 'n0["allocations"] >= 10' \
	'r["placement"]["elsewhere"] == 0' \
	'r["fallbacks"] == 0' 'r["bind_errors"] == 0'

# The same blocks freed: peak stays, live drops, frees counted.
begin "free: peak stays, live drops, frees counted"
$R --policy=cxl --stats="$WORK/free.json" "$H/statsprog" free || fail "free: exit $?"
json free "$WORK/free.json" 'n0["bytes_peak"] >= 10 * MiB' 'n0["bytes_live"] < 2 * MiB' \
	'n0["frees"] >= 10' 'n0["allocations"] >= n0["frees"]'

# Blocks left live by threads that exited are counted.
begin "threads: blocks left live by exited threads are counted"
$R --policy=cxl --stats="$WORK/thr.json" "$H/statsprog" threads || fail "threads: exit $?"
json threads "$WORK/thr.json" 'n0["bytes_live"] >= 4 * MiB' 'n0["allocations"] >= 4'

# Local policy: the DRAM tier is counted on node 0 too; strict is reported.
begin "local: the DRAM tier is counted"
$R --policy=local --stats="$WORK/local.json" "$H/statsprog" keep || fail "local: exit $?"
json local "$WORK/local.json" 'r["policy"] == "local"' 'n0["bytes_live"] >= 10 * MiB'
begin "strict and no-mmap are reported"
$R --policy=cxl --strict --no-mmap --stats="$WORK/strict.json" "$H/statsprog" keep || fail "strict: exit $?"
json strict "$WORK/strict.json" 'r["strict"] is True' 'r["mmap"] is False' 'n0["bytes_live"] >= 10 * MiB'
begin "size:64K is reported"
$R --policy=size:64K --stats="$WORK/size.json" "$H/statsprog" keep || fail "size: exit $?"
json size "$WORK/size.json" 'r["policy"].startswith("size:")' 'n0["bytes_live"] >= 10 * MiB'

# --stats alone: stderr, after the program's output; exit status kept.
begin "--stats alone: on stderr, the exit status kept"
$R --policy=cxl --stats "$H/statsprog" keep 3 >"$WORK/o" 2>"$WORK/e"
st=$?
[ $st -eq 3 ] || fail "--stats changed the exit status 3 to $st"
json stderr "$WORK/e" 'n0["bytes_live"] >= 10 * MiB'

# Text format names the policy; %p in the file name is the pid.
begin "text format names the policy; %p is the pid"
"$CXLMU_RUN" --cxl-nodes=0 --policy=cxl --stats="$WORK/text.%p" "$H/statsprog" keep || fail "text: exit $?"
set -- "$WORK"/text.*
if [ $# -ne 1 ] || [ ! -s "$1" ]; then
	fail "--stats=FILE.%p wrote no single file: $*"
else
	case $1 in *.[0-9]*) ;; *) fail "%p not expanded: $1" ;; esac
	grep -q '^cxlmu: policy cxl' "$1" || fail "text report lacks the policy line: $(cat "$1")"
fi

# The environment twins under a bare LD_PRELOAD.
begin "the CXLMU_STATS* twins under a bare LD_PRELOAD"
env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_POLICY=cxl CXLMU_STATS="$WORK/env.json" \
	CXLMU_STATS_FORMAT=json "$H/statsprog" keep || fail "env: exit $?"
json env "$WORK/env.json" 'r["policy"] == "cxl"' 'n0["bytes_live"] >= 10 * MiB'

# cxlmu_stats_write from the program, JSON on stdout.
begin "cxlmu_stats_write from the program"
pre cxl "$H/statsprog" now >"$WORK/now.json" || fail "now: exit $?"
json now "$WORK/now.json" 'r["policy"] == "cxl"'
finish

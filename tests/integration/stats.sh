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

# Exact counts: between two reports the program makes and frees 300000
# blocks and frees NULL 1000 times; the tiers' totals must differ by exactly
# that many allocations and frees and by the blocks' usable bytes, on every
# path (the inline ones with jemalloc's activity reports, the countdown path
# the heap checks take, a policy deciding per block, a second thread).
# EXTRA=1: one more block, live, of the runtime's own (a profile's table),
# whose bytes (under 64 KiB) are not checked.
exact() {
	_n=$1
	shift
	begin "exact counts: $_n"
	"$@" "$H/statsprog" exact 3>"$WORK/a.json" 4>"$WORK/b.json" >"$WORK/sum" ||
		{ fail "$_n: exit $?"; return; }
	"$PY" - "$WORK/a.json" "$WORK/b.json" "$WORK/sum" "${EXTRA:-0}" >"$WORK/why" 2>&1 <<'PYEOF' ||
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
want = int(open(sys.argv[3]).read().split()[1])
extra = int(sys.argv[4])
def total(r, k):
    return sum(t[k] for t in r["tiers"])
got = {k: total(b, k) - total(a, k) for k in ("allocations", "frees", "bytes_total", "bytes_live")}
exp = {"allocations": 300000 + extra, "frees": 300000, "bytes_total": want, "bytes_live": 0}
if extra and want <= got["bytes_total"] <= want + 65536 and 0 < got["bytes_live"] <= 65536:
    # Its bytes are the runtime's business; the blocks are exact.
    exp["bytes_total"], exp["bytes_live"] = got["bytes_total"], got["bytes_live"]
if got != exp:
    sys.exit("report deltas %s, want %s" % (got, exp))
PYEOF
		fail "$_n: $(cat "$WORK/why")"
}
exact local pre local
exact cxl pre cxl
exact "local, heap checks on" pre local env CXLMU_HEAP_CHECK=on
exact "cxl, heap checks on" pre cxl env CXLMU_HEAP_CHECK=on
exact size:1K pre size:1K
exact "local, in a second thread" pre local env STATSPROG_THREAD=1
# A profile decides per block (inline for DRAM decisions, with the
# countdown); its table is one more block.
EXTRA=1 exact "local, profiled" pre local env CXLMU_PROFILE="$WORK/exact.prof"

# A live thread's frees reach a report within 1 MiB of its activity plus
# 1024 blocks (src/heap.c, "jemalloc's activity report"), even when it was
# set up before jemalloc's control tables existed and only frees.
begin "a live thread's frees reach the report"
pre local "$H/statsprog" freer 3>"$WORK/a.json" 4>"$WORK/b.json" || fail "freer: exit $?"
"$PY" - "$WORK/a.json" "$WORK/b.json" >"$WORK/why" 2>&1 <<'PYEOF' || fail "freer: $(cat "$WORK/why")"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
frees = sum(t["frees"] for t in b["tiers"]) - sum(t["frees"] for t in a["tiers"])
if frees < 100000 - (1 << 20) // 32 - 1024:
    sys.exit("%d of the 100000 frees in the report" % frees)
PYEOF
end

# cxlmu_stats_write from the program, JSON on stdout.
begin "cxlmu_stats_write from the program"
pre cxl "$H/statsprog" now >"$WORK/now.json" || fail "now: exit $?"
json now "$WORK/now.json" 'r["policy"] == "cxl"'
finish

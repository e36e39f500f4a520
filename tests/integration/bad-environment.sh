#!/bin/sh
# Proves a bad CXLMU_* value under a bare LD_PRELOAD prints exactly one line on stderr and the program runs unchanged with the local policy (blocks on DRAM, report says local); same for a CXL node list naming no memory node and for no CXL node at all.
. "${top_srcdir:-.}/tests/integration/lib.sh"

# one NAME PATTERN EXPECT VAR=VALUE...: exactly one stderr line matching
# PATTERN; the placement helper sees blocks as EXPECT (local or cxl).
one() {
	_n=$1
	_pat=$2
	_want=$3
	shift 3
	begin "$_n: one line, blocks on $_want"
	env LD_PRELOAD="$CXLMU_LIB" "$@" "$H/placement" "$_want" >"$WORK/o" 2>"$WORK/e"
	_st=$?
	[ $_st -eq 0 ] || fail "$_n: exit status $_st: $(cat "$WORK/e")"
	[ "$(wc -l <"$WORK/e")" -eq 1 ] || fail "$_n: want one stderr line, got: $(cat "$WORK/e")"
	grep -q -- "$_pat" "$WORK/e" || fail "$_n: stderr lacks '$_pat': $(cat "$WORK/e")"
}

one "bad policy" "CXLMU_POLICY.*'bogus'.*local policy" local CXLMU_CXL_NODES=0 CXLMU_POLICY=bogus
one "bad size" "CXLMU_POLICY.*size:1X" local CXLMU_CXL_NODES=0 CXLMU_POLICY=size:1X
one "bad strict" "CXLMU_STRICT" local CXLMU_CXL_NODES=0 CXLMU_POLICY=cxl CXLMU_STRICT=maybe
one "bad stats format" "CXLMU_STATS_FORMAT.*text, json" local CXLMU_CXL_NODES=0 CXLMU_POLICY=cxl CXLMU_STATS_FORMAT=xml
one "bad node list" "CXLMU_CXL_NODES" local CXLMU_CXL_NODES=zero CXLMU_POLICY=cxl
one "absent node" "CXLMU_CXL_NODES.*node 9" local CXLMU_CXL_NODES=9 CXLMU_POLICY=cxl
one "no CXL node" "no CXL node" local CXLMU_POLICY=cxl
# An unknown CXLMU_ name is one warning but changes nothing.
one "unknown name" "CXLMU_POLCY" cxl CXLMU_CXL_NODES=0 CXLMU_POLICY=cxl CXLMU_POLCY=x

# The report agrees: policy local, asked for in vain.
if have_python3; then
	begin "the report after a bad value says local"
	env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_POLICY=bogus "$H/statsprog" now \
		>"$WORK/r.json" 2>/dev/null || fail "statsprog now: exit $?"
	/usr/bin/python3 "$top_srcdir/tests/integration/checkjson.py" "$WORK/r.json" \
		'r["policy"] == "local"' 2>"$WORK/why" || fail "report after a bad value: $(cat "$WORK/why")"
	begin "the report without a CXL node says local, cxl asked"
	env LD_PRELOAD="$CXLMU_LIB" CXLMU_POLICY=cxl "$H/statsprog" now \
		>"$WORK/r.json" 2>/dev/null || fail "statsprog now: exit $?"
	/usr/bin/python3 "$top_srcdir/tests/integration/checkjson.py" "$WORK/r.json" \
		'r["policy"] == "local"' 'r["policy_asked"] == "cxl"' 'r["cxl_nodes"] == []' \
		2>"$WORK/why" || fail "report without a CXL node: $(cat "$WORK/why")"
else
	end
	skip_one "the report after a bad value says local" "python3 (/usr/bin/python3) is needed to read it"
	skip_one "the report without a CXL node says local, cxl asked" "python3 (/usr/bin/python3) is needed to read it"
fi

# A real program's output is unchanged by the bad value.
begin "a real program's output is unchanged by a bad value"
out=$(env LD_PRELOAD="$CXLMU_LIB" CXLMU_POLICY=bogus /bin/echo hello 2>/dev/null)
[ "$out" = hello ] || fail "echo under a bad value printed '$out'"
finish

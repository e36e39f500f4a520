#!/bin/sh
# Proves allocation works at every stage of a process: .preinit_array before any constructor, constructors, static initialisers, pthread key and C++ thread_local destructors, atexit handlers and destructors after main, under every policy and with the stats report on.
. "${top_srcdir:-.}/tests/integration/lib.sh"

for p in local cxl size:64K interleave:3:1 budget:1M; do
	run_ok "$p" pre "$p" "$H/lifetime"
done
begin "cxl strict stats: the report is written after the destructors"
run_ok "cxl strict stats" env CXLMU_STRICT=1 CXLMU_STATS="$WORK/stats" LD_PRELOAD="$CXLMU_LIB" \
	CXLMU_CXL_NODES=0 CXLMU_POLICY=cxl "$H/lifetime"
[ -s "$WORK/stats" ] || fail "no stats report written after the destructors"
finish

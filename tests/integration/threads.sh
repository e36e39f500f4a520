#!/bin/sh
# Proves many threads can allocate at once and free each other's blocks, with allocation in thread-exit destructors, under every policy, each block placed as the policy says.
. "${top_srcdir:-.}/tests/integration/lib.sh"

run_ok local pre local "$H/threads" dram
run_ok cxl pre cxl "$H/threads" cxl
run_ok strict env CXLMU_STRICT=1 LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_POLICY=cxl "$H/threads" strict
for p in size:64K interleave:3:1 budget:1M; do
	run_ok "$p" pre "$p" "$H/threads" any
done
finish

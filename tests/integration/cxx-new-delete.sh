#!/bin/sh
# Proves every C++ operator new/delete form (sized, aligned, nothrow, arrays) is served by the runtime under each policy, calls the new_handler, throws std::bad_alloc, and nothrow forms give nullptr.
. "${top_srcdir:-.}/tests/integration/lib.sh"

run_ok local pre local "$H/cxxnew" dram
run_ok cxl pre cxl "$H/cxxnew" cxl
run_ok strict env CXLMU_STRICT=1 LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_POLICY=cxl "$H/cxxnew" strict
for p in size:64K interleave:3:1 budget:1M; do
	run_ok "$p" pre "$p" "$H/cxxnew" any
done
finish

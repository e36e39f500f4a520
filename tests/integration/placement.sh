#!/bin/sh
# Proves each policy places blocks and the program's own large mappings as documented (get_mempolicy on emulated CXL node 0): local DEFAULT, cxl PREFERRED {0}, strict BIND {0}, size:N split, interleave:D:C pattern, budget:N, CXLMU_NO_MMAP, cxlmu_malloc_on.
. "${top_srcdir:-.}/tests/integration/lib.sh"

run_ok local pre local "$H/placement" local
run_ok cxl pre cxl "$H/placement" cxl
run_ok strict env CXLMU_STRICT=1 LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_POLICY=cxl "$H/placement" strict
run_ok no-mmap env CXLMU_NO_MMAP=1 LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_POLICY=cxl "$H/placement" no-mmap
run_ok size:64K pre size:64K "$H/placement" size
run_ok interleave:3:1 pre interleave:3:1 "$H/placement" interleave 3 1
run_ok interleave:1:2 pre interleave:1:2 "$H/placement" interleave 1 2
run_ok budget:1M pre budget:1M "$H/placement" budget
run_ok api pre local "$H/placement" api
# Through cxlmu-run too.
run_ok cxlmu-run "$CXLMU_RUN" --policy=cxl --cxl-nodes=0 "$H/placement" cxl
run_ok cxlmu-run-strict "$CXLMU_RUN" --policy=cxl --cxl-nodes=0 --strict "$H/placement" strict
# Sanity: the checks can fail (a cxl expectation under local must not pass).
begin "the checks can fail: a cxl expectation fails under local"
if pre local "$H/placement" cxl >/dev/null 2>&1; then
	fail "placement helper passed a cxl expectation under the local policy"
fi
finish

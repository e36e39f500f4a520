#!/bin/sh
# Proves the whole malloc family keeps glibc's contract (errno, NULL, EINVAL/ENOMEM, alignment, realloc edge cases) under every policy, and each block lands on the tier the policy names.
. "${top_srcdir:-.}/tests/integration/lib.sh"

run_ok local pre local "$H/family" dram
run_ok cxl pre cxl "$H/family" cxl
run_ok strict env CXLMU_STRICT=1 LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_POLICY=cxl "$H/family" strict
for p in size:64K interleave:3:1 budget:1M; do
	run_ok "$p" pre "$p" "$H/family" any
done
# No CXL node named: placement off, blocks stay on DRAM, one warning only.
begin "no CXL node: blocks stay on DRAM, one warning"
if ! env LD_PRELOAD="$CXLMU_LIB" CXLMU_POLICY=cxl "$H/family" dram >"$WORK/o" 2>"$WORK/e"; then
	fail "no-cxl-node run failed"
	diag_file "$WORK/e"
elif [ "$(wc -l <"$WORK/e")" -ne 1 ] || ! grep -q 'no CXL node' "$WORK/e"; then
	fail "no CXL node: want exactly one warning line, got:"
	diag_file "$WORK/e"
fi
finish

#!/bin/sh
# Proves 20000 detached threads that never allocate, a few alive at a time, run to the end under every policy (their first heap call is glibc freeing a dead thread's DTV at their own exit).
. "${top_srcdir:-.}/tests/integration/lib.sh"

for p in local cxl size:64K interleave:1:1 budget:1M; do
	run_ok "$p" pre "$p" "$H/churn" 20000
done
run_ok "sched off" env CXLMU_SCHED=off LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 "$H/churn" 20000
finish

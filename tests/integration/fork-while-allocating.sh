#!/bin/sh
# Proves fork is safe while other threads allocate: 150 children, forked at arbitrary points of the busy threads' allocations, each allocate, free, start a thread and exit cleanly, under the local, cxl and interleave policies.
. "${top_srcdir:-.}/tests/integration/lib.sh"

run_ok local pre local "$H/forkstress" dram
run_ok cxl pre cxl "$H/forkstress" cxl
run_ok interleave:3:1 pre interleave:3:1 "$H/forkstress" any
finish

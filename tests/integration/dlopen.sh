#!/bin/sh
# Proves dlopen/dlclose work under the preload: a C++ module allocating in its constructor and freeing in its destructor is loaded 20 times into a C program, blocks cross the boundary both ways and outlive the module, and operator new inside it throws bad_alloc.
. "${top_srcdir:-.}/tests/integration/lib.sh"

MOD="$H/.libs/dlmod.so"
[ -r "$MOD" ] || bail_out "$MOD was not built"
run_ok local pre local "$H/dlhost" "$MOD" dram
run_ok cxl pre cxl "$H/dlhost" "$MOD" cxl
for p in size:64K interleave:3:1 budget:1M; do
	run_ok "$p" pre "$p" "$H/dlhost" "$MOD" any
done
finish

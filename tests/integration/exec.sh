#!/bin/sh
# Proves a program exec'd from a preloaded process (fork+exec, posix_spawn, exec while another thread allocates) runs under the runtime again with the same policy.
. "${top_srcdir:-.}/tests/integration/lib.sh"

run_ok local pre local "$H/execer" dram
run_ok cxl pre cxl "$H/execer" cxl
run_ok size:64K pre size:64K "$H/execer" any
finish

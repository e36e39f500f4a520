#!/bin/sh
# Proves large blocks keep their pages for the next block (no fault-in again after a free, on the main thread and another, under local, cxl and strict cxl) while a block of 128 MiB goes back to the kernel when freed, as under glibc.
. "${top_srcdir:-.}/tests/integration/lib.sh"

run_ok "local: freed large blocks' pages serve the next ones" pre local "$H/bigreuse" reuse
run_ok "cxl: freed large blocks' pages serve the next ones" pre cxl "$H/bigreuse" reuse
run_ok "strict cxl: freed large blocks' pages serve the next ones" \
	env CXLMU_STRICT=1 LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_POLICY=cxl "$H/bigreuse" reuse
# The measure itself: glibc unmaps a 128 MiB block at free.
run_ok "plain: a freed 128 MiB block leaves the resident set" "$H/bigreuse" return
run_ok "local: a freed 128 MiB block leaves the resident set" pre local "$H/bigreuse" return
run_ok "cxl: a freed 128 MiB block leaves the resident set" pre cxl "$H/bigreuse" return
finish

#!/bin/sh
# Proves free() aborts as glibc's does on a double free (of a thread-cached block, a block freed apart, after other allocations, across threads) and on a misaligned pointer, and realloc on a freed block, under the local and cxl policies; that valid programs (blocks reused unwritten, realloc, aligned allocators, threads, fork, the API) never trip; and that CXLMU_NO_HEAP_CHECK=1 drops the checks.
. "${top_srcdir:-.}/tests/integration/lib.sh"

# aborts NAME LINE CMD...: CMD must die of SIGABRT after writing LINE, a
# line of its own, on stderr.
aborts() {
	_n=$1 _l=$2
	shift 2
	"$@" >"$WORK/out" 2>"$WORK/err"
	_st=$?
	if [ $_st -ne 134 ]; then
		fail "$_n: exit status $_st, want 134 (SIGABRT), from: $*"
		sed 's/^/    /' "$WORK/out" "$WORK/err" >&2
	elif ! grep -q "^cxlmu: $_l (0x[0-9a-f]*)\$" "$WORK/err"; then
		fail "$_n: no 'cxlmu: $_l' line on stderr, from: $*"
		sed 's/^/    /' "$WORK/err" >&2
	fi
}

for p in local cxl; do
	for c in double double-apart double-later cross-thread; do
		aborts "$p $c" "free(): double free detected" pre "$p" "$H/heapcheck" "$c"
	done
	aborts "$p misaligned" "free(): invalid pointer" pre "$p" "$H/heapcheck" misaligned
	aborts "$p realloc" "realloc(): block already freed" pre "$p" "$H/heapcheck" realloc
done

for p in $POLICIES; do
	run_ok "valid $p" pre "$p" "$H/heapcheck" valid
done
run_ok "valid, checks off" env CXLMU_NO_HEAP_CHECK=1 LD_PRELOAD="$CXLMU_LIB" CXLMU_POLICY=local \
	"$H/heapcheck" valid

# Off: the double free goes on as under jemalloc alone.
out=$(env CXLMU_NO_HEAP_CHECK=1 LD_PRELOAD="$CXLMU_LIB" CXLMU_POLICY=local "$H/heapcheck" double 2>&1)
[ "$out" = "heapcheck: double not caught: two mallocs gave the same pointers" ] ||
	fail "CXLMU_NO_HEAP_CHECK=1: want the double free to go unnoticed, got: $out"
finish

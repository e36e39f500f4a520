#!/bin/sh
# Proves that with the heap checks on (CXLMU_HEAP_CHECK=on; auto turns them on in secure-execution processes, secure-setuid.sh) free() aborts as glibc's does on a double free (of a thread-cached block, a block freed apart, after other allocations, across threads) and on a misaligned pointer, and realloc on a freed block, under the local and cxl policies; that valid programs (blocks reused unwritten, realloc, aligned allocators, threads, fork, the API) never trip; and that off, or auto in an ordinary process, they check nothing.
. "${top_srcdir:-.}/tests/integration/lib.sh"

# aborts NAME LINE CMD...: CMD must die of SIGABRT after writing LINE, a
# line of its own, on stderr.
aborts() {
	_n=$1 _l=$2
	shift 2
	begin "$_n: aborts"
	"$@" >"$WORK/out" 2>"$WORK/err"
	_st=$?
	if [ $_st -ne 134 ]; then
		fail "$_n: exit status $_st, want 134 (SIGABRT), from: $*"
		diag_file "$WORK/out" "$WORK/err"
	elif ! grep -q "^cxlmu: $_l (0x[0-9a-f]*)\$" "$WORK/err"; then
		fail "$_n: no 'cxlmu: $_l' line on stderr, from: $*"
		diag_file "$WORK/err"
	fi
	end
}

for p in local cxl; do
	for c in double double-apart double-later cross-thread; do
		aborts "$p $c" "free(): double free detected" \
			pre "$p" env CXLMU_HEAP_CHECK=on "$H/heapcheck" "$c"
	done
	aborts "$p misaligned" "free(): invalid pointer" \
		pre "$p" env CXLMU_HEAP_CHECK=on "$H/heapcheck" misaligned
	aborts "$p realloc" "realloc(): block already freed" \
		pre "$p" env CXLMU_HEAP_CHECK=on "$H/heapcheck" realloc
done

for p in $POLICIES; do
	run_ok "valid $p" pre "$p" env CXLMU_HEAP_CHECK=on "$H/heapcheck" valid
done
for m in off auto; do
	run_ok "valid, checks $m" env CXLMU_HEAP_CHECK=$m LD_PRELOAD="$CXLMU_LIB" CXLMU_POLICY=local \
		"$H/heapcheck" valid
	# The double free goes on as under jemalloc alone.
	begin "checks $m: a double free goes unnoticed"
	out=$(env CXLMU_HEAP_CHECK=$m LD_PRELOAD="$CXLMU_LIB" CXLMU_POLICY=local "$H/heapcheck" double 2>&1)
	[ "$out" = "heapcheck: double not caught: two mallocs gave the same pointers" ] ||
		fail "CXLMU_HEAP_CHECK=$m: want the double free to go unnoticed, got: $out"
	end
done
finish

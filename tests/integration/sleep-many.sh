#!/bin/sh
# Proves 200 threads can poll at once under the preload on every wait path (100 token-passing pairs, or one producer waking 199 consumers) with every count right, that they leave descriptors for the program (it opens 16 more while all wait, even with RLIMIT_NOFILE at 128) and none behind once they exit, and that the report counts them all.
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_python3 "to read the JSON report"

# Tokens per pair and broadcast rounds: fewer where the CPU is emulated
# (tests/vm/guest-int.sh sets TEST_SLOW_CPU: 200 polling threads on two
# emulated CPUs take 20 s a broadcast run there, and a loaded host pushes
# that past HANG_LIMIT); the thread count, which the descriptor limit is
# about, stays.
K=100 R=20
[ -n "${TEST_SLOW_CPU:-}" ] && K=20 R=5

# lowfd CMD...: CMD with RLIMIT_NOFILE at 128, below the thread count.
lowfd() {
	(ulimit -n 128 && "$@")
}

run_ok "pairs, plain" plain "$H/sleepmany" plain pairs 100 $K
run_ok "broadcast, plain" plain "$H/sleepmany" plain broadcast 200 $R
for w in auto futex msg_ring eventfd syscall; do
	run_ok "pairs, CXLMU_WAIT=$w" prel CXLMU_WAIT=$w "$H/sleepmany" pre pairs 100 $K
	run_ok "broadcast, CXLMU_WAIT=$w" prel CXLMU_WAIT=$w "$H/sleepmany" pre broadcast 200 $R
	# Fewer descriptors allowed than there are threads.
	run_ok "pairs, CXLMU_WAIT=$w, RLIMIT_NOFILE 128" lowfd \
		prel CXLMU_WAIT=$w "$H/sleepmany" pre pairs 100 $K
done
run_ok "broadcast, RLIMIT_NOFILE 128" lowfd \
	prel "$H/sleepmany" pre broadcast 200 $R

# Every thread waited through the runtime and polled.
begin "the report counts every thread's waits"
prel CXLMU_STATS="$WORK/many.json" CXLMU_STATS_FORMAT=json "$H/sleepmany" pre pairs 100 $K \
	>"$WORK/out" 2>&1 || fail "pairs, stats: exit $?: $(cat "$WORK/out")"
json_ok "pairs, stats" "$WORK/many.json" '"wait" in r' 'w["threads"] >= 200' 'w["polls"] > 0' \
	'w["polls"] <= w["sleeps"]'
finish

#!/bin/sh
# Proves 200 threads can poll at once under the preload on every wait path (100 token-passing pairs, or one producer waking 199 consumers) with every count right, that they leave descriptors for the program (it opens 16 more while all wait, even with RLIMIT_NOFILE at 128) and none behind once they exit, and that the report counts them all.
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_python3 "to read the JSON report"

# lowfd CMD...: CMD with RLIMIT_NOFILE at 128, below the thread count.
lowfd() {
	(ulimit -n 128 && "$@")
}

run_ok "pairs, plain" plain "$H/sleepmany" plain pairs 100 100
run_ok "broadcast, plain" plain "$H/sleepmany" plain broadcast 200 20
for w in auto futex msg_ring eventfd syscall; do
	run_ok "pairs, CXLMU_WAIT=$w" prel CXLMU_WAIT=$w "$H/sleepmany" pre pairs 100 100
	run_ok "broadcast, CXLMU_WAIT=$w" prel CXLMU_WAIT=$w "$H/sleepmany" pre broadcast 200 20
	# Fewer descriptors allowed than there are threads.
	run_ok "pairs, CXLMU_WAIT=$w, RLIMIT_NOFILE 128" lowfd \
		prel CXLMU_WAIT=$w "$H/sleepmany" pre pairs 100 100
done
run_ok "broadcast, RLIMIT_NOFILE 128" lowfd \
	prel "$H/sleepmany" pre broadcast 200 20

# Every thread waited through the runtime and polled.
begin "the report counts every thread's waits"
prel CXLMU_STATS="$WORK/many.json" CXLMU_STATS_FORMAT=json "$H/sleepmany" pre pairs 100 100 \
	>"$WORK/out" 2>&1 || fail "pairs, stats: exit $?: $(cat "$WORK/out")"
json_ok "pairs, stats" "$WORK/many.json" '"wait" in r' 'w["threads"] >= 200' 'w["polls"] > 0' \
	'w["polls"] <= w["sleeps"]'
finish

#!/bin/sh
# Proves usleep, nanosleep, clock_nanosleep, sleep, thrd_sleep, poll/ppoll/select/pselect without descriptors and the yields keep their POSIX meaning under the preload on every wait path and with CXLMU_SCHED=off (never shorter than asked, EINTR with the time left, TIMER_ABSTIME, cancellation points, errno untouched, EINVAL), that other clocks and calls with descriptors behave as in libc, that std::this_thread's sleeps never end early, and that the stats report counts exactly the calls the program made.
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_python3 "to read the JSON report"
MODES="short eintr abstime cancel einval fds"

# The same checks without the preload first: they hold for libc itself.
for m in $MODES; do
	run_ok "$m, plain" plain "$H/sleepsem" plain "$m"
done
run_ok "C++, plain" plain "$H/sleepcxx" plain short

for w in auto futex msg_ring eventfd syscall; do
	for m in $MODES; do
		run_ok "$m, CXLMU_WAIT=$w" prel CXLMU_WAIT=$w "$H/sleepsem" pre "$m"
	done
	run_ok "C++, CXLMU_WAIT=$w" prel CXLMU_WAIT=$w "$H/sleepcxx" pre short
done
for m in $MODES; do
	run_ok "$m, CXLMU_SCHED=off" prel CXLMU_SCHED=off "$H/sleepsem" pre "$m"
done

# Clocks the runtime leaves to libc give what libc gives.
begin "other clocks, plain"
plain "$H/sleepsem" plain clocks >"$WORK/clocks.plain" 2>&1 || fail "clocks, plain: exit $?: $(cat "$WORK/clocks.plain")"
grep -q returned "$WORK/clocks.plain" || fail "clocks, plain: printed nothing"
for w in auto syscall; do
	begin "other clocks, CXLMU_WAIT=$w: what libc gives"
	prel CXLMU_WAIT=$w "$H/sleepsem" pre clocks >"$WORK/clocks.pre" 2>&1 ||
		fail "clocks, CXLMU_WAIT=$w: exit $?"
	cmp -s "$WORK/clocks.plain" "$WORK/clocks.pre" ||
		{ fail "clocks, CXLMU_WAIT=$w: not what libc gives"; diff "$WORK/clocks.plain" "$WORK/clocks.pre" | diag_file; }
done

# The report counts each intercepted call once, the ones with descriptors
# not at all; asked_ns adds up what was asked, slept_ns is no less.
begin "the report counts each call once"
prel CXLMU_STATS="$WORK/count.json" CXLMU_STATS_FORMAT=json "$H/sleepsem" pre count >"$WORK/count" 2>&1 ||
	fail "count: exit $?: $(cat "$WORK/count")"
S=$(field sleeps "$WORK/count")
Y=$(field yields "$WORK/count")
A=$(field asked_ns "$WORK/count")
if [ -z "$S" ] || [ -z "$Y" ] || [ -z "$A" ]; then
	fail "count: no counts printed: $(cat "$WORK/count")"
else
	json_ok count "$WORK/count.json" '"wait" in r' 'w["sched"] == "auto"' 'w["fibers"] == 0' \
		"w['sleeps'] == $S" "w['yields'] == $Y" "w['asked_ns'] == $A" "w['slept_ns'] >= $A" \
		'w["polls"] == 0' 'w["early_wakeups"] == 0'
fi
# Polls are runs of alike short sleeps from one site: a helper that sleeps
# for what its callers ask makes polls only where the rule says.
begin "polls only where the rule says"
prel CXLMU_STATS="$WORK/sites.json" CXLMU_STATS_FORMAT=json "$H/sleepsem" pre sites >"$WORK/sites" 2>&1 ||
	fail "sites: exit $?: $(cat "$WORK/sites")"
P=$(field polls "$WORK/sites")
if [ -z "$P" ]; then
	fail "sites: no count printed: $(cat "$WORK/sites")"
else
	json_ok sites "$WORK/sites.json" "w['polls'] == $P" 'w["early_wakeups"] == 0'
fi
# Off: nothing goes through the runtime.
begin "CXLMU_SCHED=off: nothing goes through the runtime"
prel CXLMU_SCHED=off CXLMU_STATS="$WORK/off.json" CXLMU_STATS_FORMAT=json "$H/sleepsem" pre count \
	>"$WORK/count" 2>&1 || fail "count, off: exit $?: $(cat "$WORK/count")"
json_ok "count, off" "$WORK/off.json" '"wait" in r' 'w["sched"] == "off"' 'w["sleeps"] == 0' \
	'w["yields"] == 0' 'w["polls"] == 0' 'w["asked_ns"] == 0'
finish

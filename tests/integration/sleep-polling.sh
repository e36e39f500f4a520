#!/bin/sh
# Proves a usleep(1) or sleep_for(1us) polling loop is served by progress wake-ups under the preload: a token-passing pair needs under half the sleep calls it needs plain and at most 8 per token (pinned to one CPU or not) with every token handed in order; the report counts its sleeps and polls exactly and shows early wake-ups (none of it with CXLMU_SCHED=off), the text report has a wait section, and idle pollers make at most twice the calls they make plain (no wake-up storm).
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_python3 "to read the JSON report"
need_taskset "to one CPU"

# 250 tokens with 4 ms of CPU work each: plain, the waiting side's
# usleep(1) (about 80 µs here) runs some 50 times per token, pinned or not.
N=250
WORK_US=4000

# counted NAME OUTFILE CMD...: CMD must exit 0 and print iterations=I.
counted() {
	_n=$1
	_o=$2
	shift 2
	"$@" >"$_o" 2>&1
	_st=$?
	[ $_st -eq 0 ] || { fail "$_n: exit status $_st: $(cat "$_o")"; return 1; }
	[ -n "$(field iterations "$_o")" ] || { fail "$_n: no count printed: $(cat "$_o")"; return 1; }
}

# fewer NAME PLAIN-OUT PRE-OUT: the preloaded run made under half the
# plain run's sleep calls, and at most 8 per token (a wait for the peer's
# 4 ms is one poll, or a few; plain makes one per timer period, and a
# loaded machine stretches that period, so the ratio alone would shrink
# with the load while the count per token does not).
fewer() {
	_p=$(field iterations "$2")
	_c=$(field iterations "$3")
	[ -n "$_p" ] && [ -n "$_c" ] || return
	[ $((_c * 2)) -lt "$_p" ] || fail "$1: $_c sleep calls under the preload, $_p plain: want under half"
	[ "$_c" -le $((N * 8)) ] || fail "$1: $_c sleep calls under the preload for $N tokens: want at most 8 per token"
}

for pin in "" "taskset -c 0"; do
	what=${pin:-unpinned}
	begin "a polling pair, $what: fewer sleep calls than plain"
	counted "pair plain, $what" "$WORK/p" $pin "$H/pollpair" plain pair $N $WORK_US &&
		counted "pair, $what" "$WORK/c" prel $pin "$H/pollpair" pre pair $N $WORK_US &&
		fewer "pair, $what" "$WORK/p" "$WORK/c"
	begin "a C++ polling pair, $what: fewer sleep calls than plain"
	counted "C++ pair plain, $what" "$WORK/p" $pin "$H/sleepcxx" plain pair $N $WORK_US &&
		counted "C++ pair, $what" "$WORK/c" prel $pin "$H/sleepcxx" pre pair $N $WORK_US &&
		fewer "C++ pair, $what" "$WORK/p" "$WORK/c"
done

# The report: every sleep call counted; each side's first two calls from
# its loop are ordinary sleeps, all later ones polls; polls ended early.
begin "the report counts the sleeps and polls exactly"
if counted "pair, stats" "$WORK/c" prel CXLMU_STATS="$WORK/pair.json" CXLMU_STATS_FORMAT=json \
	"$H/pollpair" pre pair $N $WORK_US; then
	I=$(field iterations "$WORK/c")
	json_ok "pair, stats" "$WORK/pair.json" '"wait" in r' 'w["sched"] == "auto"' 'w["fibers"] == 0' \
		"w['sleeps'] == $I" "w['polls'] == $I - 4" "w['asked_ns'] == $I * 1000" \
		'w["yields"] == 0' 'w["threads"] == 2' 'w["early_wakeups"] > 0' \
		'w["early_wakeups"] <= w["polls"]' 'w["wakeups_sent"] > 0'
fi
# Off: the loop runs on libc's sleeps, nothing counted.
begin "CXLMU_SCHED=off: nothing counted"
counted "pair, off" "$WORK/c" prel CXLMU_SCHED=off CXLMU_STATS="$WORK/off.json" CXLMU_STATS_FORMAT=json \
	"$H/pollpair" pre pair 50 100 &&
	json_ok "pair, off" "$WORK/off.json" '"wait" in r' 'w["sched"] == "off"' 'w["sleeps"] == 0' \
		'w["polls"] == 0' 'w["early_wakeups"] == 0' 'w["yields"] == 0'
# The text report has a wait section.
begin "the text report has a wait section"
counted "pair, text stats" "$WORK/c" prel CXLMU_STATS="$WORK/pair.txt" "$H/pollpair" pre pair 50 100 &&
	{ grep -q '^cxlmu: .*wait' "$WORK/pair.txt" || fail "text report has no wait section: $(cat "$WORK/pair.txt")"; }

# Idle: two threads poll a flag that stays clear for 0.3 s.
begin "idle pollers: at most twice the plain sleep calls"
counted "idle plain" "$WORK/p" plain "$H/pollpair" plain idle 300 &&
	counted "idle" "$WORK/c" prel "$H/pollpair" pre idle 300 && {
	p=$(field iterations "$WORK/p")
	c=$(field iterations "$WORK/c")
	[ "$c" -le $((2 * p)) ] || fail "idle: $c sleep calls under the preload, $p plain: want at most twice"
}
finish

#!/bin/sh
# Proves --remote (and CXLMU_REMOTE): calls through the PLT, through dlsym and from a module loaded after start run on the agent and give the same results as local calls (integers, floats, doubles, structs in registers and in memory, errno set and kept); stack-argument, variadic and long double functions are refused at start with a message naming them and run locally; fibers go on while the agent is stuck; fork with calls in flight; the explicit API (submit/await, wait/wake a word) works from kernel threads and fibers; the stats report counts the calls.
. "${top_srcdir:-.}/tests/integration/lib.sh"

# The argument check reads machine code with capstone, loaded at run time.
ldconfig -p 2>/dev/null | grep -q 'libcapstone\.so\.4' ||
	[ -e /usr/lib/x86_64-linux-gnu/libcapstone.so.4 ] ||
	skip "libcapstone.so.4 is not installed (apt-get install libcapstone4): --remote cannot check functions"

R="timeout $HANG_LIMIT $CXLMU_RUN --policy=local"
HOST="$H/remhost"
LATE="$H/.libs/remlate.so"
LIB=libremfns.so
OK="rf_add,rf_scale,rf_pair,rf_dpair,rf_mix,rf_big,rf_fmul,rf_mixargs,rf_eight,rf_fail,rf_keep,rf_tid,rf_nested_tid"
REFUSED="rf_sum7,rf_vsum,rf_ldbl"

# 1. Values: the same output as plain calls, with every function remote.
begin "values: remote calls give the results of local calls"
"$HOST" values >"$WORK/plain" 2>&1 || fail "values: plain run: exit $?"
grep -q '^add 42$' "$WORK/plain" || fail "values: the plain run is not what remhost prints"
$R --remote="$OK,$REFUSED" --stats="$WORK/values.json" --stats-format=json -- \
	"$HOST" values >"$WORK/remote" 2>"$WORK/remote.err" || fail "values: remote run: exit $?"
cmp -s "$WORK/plain" "$WORK/remote" ||
	{ fail "values: results differ from local calls"; diff "$WORK/plain" "$WORK/remote" | diag_file; }
# The refusals: one line each, naming the function and why.
begin "values: stack-argument, variadic and long double functions are refused, named"
for f in rf_sum7 rf_vsum rf_ldbl; do
	grep -q "^cxlmu: --remote: $f in .*$LIB .* which the remote trampoline cannot carry.*it runs locally" \
		"$WORK/remote.err" || fail "values: no refusal of $f: $(cat "$WORK/remote.err")"
done
grep -q "rf_sum7 .*takes arguments on the stack" "$WORK/remote.err" ||
	fail "values: rf_sum7's refusal does not say it takes stack arguments"
[ "$(grep -c 'cxlmu: --remote:' "$WORK/remote.err")" = 3 ] ||
	fail "values: other messages than the three refusals: $(cat "$WORK/remote.err")"
# Each accepted function went to the agent once per call, none locally.
begin "values: each call went to the agent, the report counts it"
json_ok values "$WORK/values.json" 'rm["functions"] == 13' 'rm["refused"] == 3' \
	'rm["agents"] == 1' 'rm["calls"] == 11' 'rm["inflight_max"] == 1' \
	'all(f["local"] == 0 for f in rm["by_function"])' \
	'{f["name"]: f["calls"] for f in rm["by_function"]}["rf_add (libremfns.so)"] == 1' \
	'{f["name"]: f["calls"] for f in rm["by_function"]}["rf_big (libremfns.so)"] == 1' \
	'rm["agent_ns"] > 0 and rm["wait_ns"] >= rm["agent_ns"]'

# 2. Where they ran: on another thread, and a call made on the agent runs
# there. The same program plain runs them itself.
begin "where: plain calls run locally"
"$HOST" where >"$WORK/out" 2>&1 || fail "where: plain: exit $?"
printf 'rf_tid local\nnested same\n' | cmp -s - "$WORK/out" || fail "where: plain: $(cat "$WORK/out")"
begin "where: remote calls run on the agent, nested ones there too"
$R --remote="rf_tid,rf_nested_tid" -- "$HOST" where >"$WORK/out" 2>&1 || fail "where: exit $?"
printf 'rf_tid remote\nnested same\n' | cmp -s - "$WORK/out" || fail "where: $(cat "$WORK/out")"
# The environment twin, under a bare preload.
begin "where: CXLMU_REMOTE under a bare preload"
prel CXLMU_POLICY=local CXLMU_REMOTE=rf_tid "$HOST" where >"$WORK/out" 2>&1 || fail "where env: exit $?"
grep -q '^rf_tid remote$' "$WORK/out" || fail "where: CXLMU_REMOTE: $(cat "$WORK/out")"
# LIBRARY:SYMBOL: this library only, by file name, name without .so, or path.
for spec in libremfns.so:rf_tid libremfns:rf_tid "$H/.libs/libremfns.so:rf_tid"; do
	begin "where: --remote=LIBRARY:SYMBOL ($spec)"
	$R --remote="$spec" -- "$HOST" where >"$WORK/out" 2>&1 || fail "where $spec: exit $?"
	grep -q '^rf_tid remote$' "$WORK/out" || fail "where: --remote=$spec: $(cat "$WORK/out")"
done
begin "where: another library's SYMBOL stays local"
$R --remote=libother:rf_tid -- "$HOST" where >"$WORK/out" 2>&1 || fail "where libother: exit $?"
grep -q '^rf_tid local$' "$WORK/out" || fail "where: --remote=libother:rf_tid moved rf_tid: $(cat "$WORK/out")"

# 3. Through dlsym (RTLD_DEFAULT and a handle); RTLD_NEXT still answers.
begin "dlsym: RTLD_DEFAULT and a handle give the remote call; RTLD_NEXT answers"
$R --remote=rf_add,rf_tid -- "$HOST" dlsym >"$WORK/out" 2>&1 || fail "dlsym: exit $?"
printf 'dlsym add 42\ndlsym rf_tid remote\ndlsym RTLD_NEXT found\n' | cmp -s - "$WORK/out" ||
	fail "dlsym: $(cat "$WORK/out")"

# A wrapper library's dlsym(RTLD_NEXT) still finds the next definition,
# not itself, when the name is remote.
begin "a wrapper's dlsym(RTLD_NEXT) finds the next definition"
WRAP="$H/.libs/remwrap.so"
env LD_PRELOAD="$WRAP" "$HOST" values 2>&1 | grep '^add ' >"$WORK/out"
grep -q '^add 1042$' "$WORK/out" || fail "wrapper, plain: $(cat "$WORK/out")"
prel CXLMU_POLICY=local CXLMU_REMOTE=rf_add LD_PRELOAD="$CXLMU_LIB $WRAP" "$HOST" values \
	2>&1 | grep '^add ' >"$WORK/out"
grep -q '^add 1042$' "$WORK/out" || fail "wrapper under --remote=rf_add: $(cat "$WORK/out")"

# 4. A module loaded after start: its PLT call into libremfns, and a
# function of its own reached by dlsym only (LIBRARY:SYMBOL).
begin "a module loaded later: plain"
[ -r "$LATE" ] || fail "$LATE was not built"
"$HOST" late "$LATE" >"$WORK/out" 2>&1 || fail "late: plain: exit $?"
printf 'late plt local\nlate dlsym local\n' | cmp -s - "$WORK/out" || fail "late: plain: $(cat "$WORK/out")"
begin "a module loaded later: its PLT call and its own function go remote"
$R --remote=rf_tid,remlate:late_tid -- "$HOST" late "$LATE" >"$WORK/out" 2>&1 || fail "late: exit $?"
printf 'late plt remote\nlate dlsym remote\n' | cmp -s - "$WORK/out" || fail "late: $(cat "$WORK/out")"

# Fibers need a CPU that lets user code write the FS base; without one the
# same calls run from kernel threads (the parts below check either).
if have_fsgsbase; then FIBERS=yes NFIB=4; else FIBERS=no NFIB=0; fi

# 5. A stuck agent: the other fibers of the caller's CPU go on, with the
# default fiber wait and with futex_waitv forced.
for fw in auto waitv; do
	begin "a stuck agent: the caller's CPU goes on (fiber wait $fw)"
	$R --sched=fibers --fiber-wait=$fw --remote=rf_stuck --stats="$WORK/stuck.json" \
		--stats-format=json -- "$HOST" stuck >"$WORK/out" 2>&1 ||
		fail "stuck: exit $?: $(cat "$WORK/out")"
	if [ "$FIBERS" = yes ]; then
		json_ok stuck "$WORK/stuck.json" 's["as_fiber"] == 4' 'rm["calls"] == 1' \
			'rm["by_function"][0]["switched"] == 1'
	else
		json_ok stuck "$WORK/stuck.json" 's["as_fiber"] == 0' 'rm["calls"] == 1'
	fi
done

# 6. Fork while fibers' calls are in flight: the child gets its own agent.
for i in 1 2 3; do
	begin "fork with calls in flight: the child gets its own agent (run $i)"
	$R --sched=fibers --remote=rf_add,rf_tid -- "$HOST" fork >"$WORK/out" 2>&1 ||
		fail "fork (run $i): exit $?: $(cat "$WORK/out")"
done

# 7. The explicit API, from kernel threads and from fibers (each fiber
# wait).
for fw in auto waitv; do
	begin "the explicit API from kernel threads and fibers (fiber wait $fw)"
	$R --sched=fibers --fiber-wait=$fw --stats="$WORK/api.json" --stats-format=json -- \
		"$HOST" api >"$WORK/out" 2>&1 || fail "api: exit $?: $(cat "$WORK/out")"
	json_ok api "$WORK/api.json" 'rm["calls"] == 804' "s[\"as_fiber\"] == $NFIB"
done


# 8. Bad SPECs: cxlmu-run refuses them; the bare preload warns and runs.
for bad in '1abc' 'a-b' 'lib:' ':sym' 'a,,b'; do
	begin "--remote='$bad' is refused"
	$CXLMU_RUN --remote="$bad" -- /bin/true >"$WORK/out" 2>&1
	st=$?
	[ $st = 2 ] || fail "--remote=$bad: exit $st, want 2"
	grep -q "is not a list of functions (accepted: off, or up to 64" "$WORK/out" ||
		fail "--remote=$bad: $(cat "$WORK/out")"
done
begin "a bad CXLMU_REMOTE: a warning, the calls run locally"
prel CXLMU_POLICY=local CXLMU_REMOTE=1abc "$HOST" where >"$WORK/out" 2>&1 || fail "env bad: exit $?"
grep -q "CXLMU_REMOTE='1abc' is not a list of functions" "$WORK/out" ||
	fail "CXLMU_REMOTE=1abc: $(cat "$WORK/out")"
grep -q '^rf_tid local$' "$WORK/out" || fail "CXLMU_REMOTE=1abc: $(cat "$WORK/out")"
begin "--agent-cpus=99999 is refused"
$CXLMU_RUN --agent-cpus=99999 -- /bin/true >"$WORK/out" 2>&1
[ $? = 2 ] && grep -q "is not a CPU list" "$WORK/out" || fail "--agent-cpus=99999: $(cat "$WORK/out")"
finish

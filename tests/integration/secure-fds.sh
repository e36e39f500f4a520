#!/bin/sh
# Proves the runtime never writes to or closes a descriptor number the program has taken over: after closefrom(3) the program's own file at descriptor 3 gets only the program's line though CXLMU_STATS=1 sends the report to stderr at exit, and on the io_uring msg_ring wait path (and the eventfd path's wake-up pipe) a polling thread that ends after closefrom(3) does not close the program's file that now has its ring's (pipe's) number, and the report still reaches stderr.
. "${top_srcdir:-.}/tests/integration/lib.sh"

LINE="fdreuse: the program's own line"

# data_ok NAME FILE: FILE holds exactly the program's one line.
data_ok() {
	printf '%s\n' "$LINE" >"$WORK/want"
	cmp -s "$WORK/want" "$2" ||
		fail "$1: the program's file holds more or other than its own line ($(wc -c <"$2") bytes): $(head -c 300 "$2")"
}

# run_case NAME MODE DATA CMD...: CMD (fdreuse MODE DATA, plain or not)
# exits 0 saying "fdreuse: MODE ok", and DATA holds just its line.
run_case() {
	_n=$1
	_m=$2
	_d=$3
	shift 3
	begin "$_n"
	rm -f "$_d"
	timeout 60 "$@" "$H/fdreuse" "$_m" "$_d" >"$WORK/o" 2>"$WORK/e"
	_st=$?
	[ $_st -eq 124 ] && { fail "$_n: hung (killed after 60 s)"; return; }
	[ $_st -eq 0 ] || fail "$_n: exit status $_st: $(grep -v '^cxlmu: ' "$WORK/e" | head -5)"
	grep -q "^fdreuse: $_m ok" "$WORK/o" || fail "$_n: the program did not finish its checks: $(cat "$WORK/o")"
	data_ok "$_n" "$_d"
}

# A: the report's descriptor. Plain first: the program itself is sound.
run_case "closefrom, plain" file "$WORK/a-plain"
run_case "closefrom, CXLMU_STATS=1" file "$WORK/a-stats" \
	env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_STATS=1
# Not lost either: stderr is still the stderr it was, and gets it.
grep -q 'placement check' "$WORK/e" || fail "closefrom, CXLMU_STATS=1: no report on stderr: $(head -3 "$WORK/e")"
run_case "closefrom, CXLMU_STATS=1, json" file "$WORK/a-json" \
	env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_STATS=1 CXLMU_STATS_FORMAT=json
grep -q '"placement"' "$WORK/e" || fail "closefrom, json: no report on stderr: $(head -3 "$WORK/e")"

# B: a polling thread's ring. It exercises something only where the
# kernel offers io_uring MSG_RING: ask the kernel (fdreuse probe, plain),
# and the runtime which path it took (its JSON report).
run_case "ring, plain" ring "$WORK/b-plain"
RING="CXLMU_WAIT=msg_ring CXLMU_SCHED=threads"
"$H/fdreuse" probe >"$WORK/probe" 2>&1
if ! grep -q '^msg_ring=yes' "$WORK/probe"; then
	skip_one "the ring case" "this kernel offers no io_uring MSG_RING: $(cat "$WORK/probe")"
else
	if have_python3; then
		begin "the wait path under CXLMU_WAIT=msg_ring is msg_ring"
		prel $RING CXLMU_STATS="$WORK/probe.json" CXLMU_STATS_FORMAT=json \
			"$H/pollpair" pre pair 50 100 >"$WORK/o" 2>&1 ||
			fail "pollpair under the msg_ring path: $(cat "$WORK/o")"
		json_ok "the wait path under CXLMU_WAIT=msg_ring (the ring case would prove nothing)" \
			"$WORK/probe.json" 'w["path"] == "msg_ring"'
	else
		skip_one "the wait path under CXLMU_WAIT=msg_ring is msg_ring" \
			"python3 (/usr/bin/python3) is needed to read the JSON report"
	fi
	run_case "ring, msg_ring path" ring "$WORK/b-ring" \
		env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 $RING
	grep -q '^fdreuse: ring fd=[0-9]' "$WORK/o" ||
		fail "ring, msg_ring path: no ring descriptor seen, the case proves nothing: $(cat "$WORK/o")"
	# With a report on stderr too: both descriptors at once.
	run_case "ring, msg_ring path, CXLMU_STATS=1" ring "$WORK/b-stats" \
		env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 $RING CXLMU_STATS=1
fi
# C: the eventfd path's wake-up pipe, the number the program takes over.
run_case "wake-up pipe, eventfd path" ring "$WORK/c-pipe" \
	env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_WAIT=eventfd CXLMU_SCHED=threads
grep -q '^fdreuse: ring fd=[0-9]' "$WORK/o" ||
	fail "eventfd path: no wake-up descriptor seen, the case proves nothing: $(cat "$WORK/o")"
# ... and the program's own eventfd there: the runtime's identity check
# must tell it from one of its own (eventfds all share one inode).
run_case "own eventfd, plain" ringefd "$WORK/d-plain"
run_case "own eventfd on the wake-up descriptor, eventfd path" ringefd "$WORK/d-efd" \
	env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_WAIT=eventfd CXLMU_SCHED=threads
finish

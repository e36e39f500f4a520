# Sourced by the integration tests: the environment and small helpers.
# make check exports top_builddir, top_srcdir, LIBCXLMU (the library) and
# CXLMURUN (the tool); the scripts call them CXLMU_LIB and CXLMU_RUN.
#
# Each script speaks TAP (run through build-aux/tap-driver.sh): one
# "ok N - NAME" or "not ok N - NAME" line per behaviour it checks, "# ..."
# lines saying why a check failed, and the plan "1..N" last, from finish.
# A script that dies before finish has no plan, which the driver reports
# as an error. The exit status says the same for a run by hand: 0 all
# passed, 1 some failed, 77 skipped.
#
#   begin NAME       a behaviour: the fail calls up to the next begin, end
#                    or finish are its own, and it is "ok" if there were none
#   end              close the behaviour begun
#   fail MESSAGE     the behaviour begun fails, and MESSAGE says why; with
#                    none begun, MESSAGE is a failed behaviour of its own
#   check NAME CMD   a behaviour: CMD exits 0
#   ok NAME, not_ok NAME [WHY]   a behaviour's result, as it is
#   skip_one NAME WHY            a behaviour left out ("# SKIP WHY")
#                    (these four end the behaviour begun first)
#   skip WHY         nothing of the script can run: "1..0 # SKIP WHY"
#   need_*           the skip guards: a skip naming what is missing
#   diag TEXT, diag_file FILE    "# " lines, read with the results
# run_ok, json_ok and same_as_plain check within the behaviour begun, or
# are behaviours of their own when none is.

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
H="$top_builddir/tests/integration/helpers"
FAILED=0

# The TAP stream goes to descriptor 7, stdout as the script started: a
# check inside a redirection cannot swallow its result.
exec 7>&1
TAP_N=0
TAP_OPEN=
TAP_BAD=0

tap_line() {
	TAP_N=$((TAP_N + 1))
	# A name is one line, and "#" would start a directive.
	_tl=$(printf '%s' "$2" | tr '\n#' ' _')
	_td=$(printf '%s' "$3" | tr '\n' ' ')
	echo "$1 $TAP_N - $_tl$_td" >&7

	case $1 in not*) FAILED=1 ;; esac
}

diag() {
	printf '%s\n' "$*" | sed 's/^/# /' >&7
}

diag_file() {
	sed 's/^/#     /' "$@" >&7
}

# ok, not_ok, skip_one and check are results of their own: they end the
# behaviour begun first.
ok() {
	end
	tap_line ok "$1"
}

not_ok() {
	end
	tap_line "not ok" "$1"
	shift
	[ $# -eq 0 ] || diag "$*"
}

skip_one() {
	end
	tap_line ok "$1" " # SKIP $2"
}

end() {
	[ -n "$TAP_OPEN" ] || return 0
	if [ $TAP_BAD -eq 0 ]; then
		tap_line ok "$TAP_OPEN"
	else
		tap_line "not ok" "$TAP_OPEN"
	fi
	TAP_OPEN=
	TAP_BAD=0
}

begin() {
	end
	TAP_OPEN=$1
	TAP_BAD=0
}

fail() {
	if [ -n "$TAP_OPEN" ]; then
		TAP_BAD=1
		diag "$*"
	else
		not_ok "$*"
	fi
}

check() {
	_cn=$1
	shift
	if "$@"; then
		ok "$_cn"
	else
		not_ok "$_cn" "exit status $? from: $*"
	fi
}

# The plan, last; the status for a run by hand.
finish() {
	end
	echo "1..$TAP_N" >&7
	exit $FAILED
}

# skip WHY: the whole script is skipped. After some results, the rest is
# one skipped behaviour instead.
skip() {
	if [ $TAP_N -eq 0 ] && [ -z "$TAP_OPEN" ]; then
		echo "1..0 # SKIP $*" >&7
		exit 77
	fi
	end
	skip_one "the rest of the script" "$*"
	finish
}

bail_out() {
	echo "Bail out! $*" >&7
	exit 1
}

# have_*: whether this machine has it, for a part of a script that can
# be left out (skip_one). need_*: the skip guards of a whole script, each
# naming what is missing and what needs it.
have_python3() {
	[ -x /usr/bin/python3 ]
}
have_fsgsbase() {
	grep -qw fsgsbase /proc/cpuinfo
}
# The kernel's io_uring has futex waits (IORING_OP_FUTEX_WAIT, Linux 6.7),
# as the noiouring helper finds them, not as the runtime does: where it
# has none, --sched=auto keeps every pinned thread a kernel thread, with
# the reason "no-ring-futex".
have_ring_futex() {
	[ "$("$H/noiouring" futex 2>/dev/null)" = ring_futex=yes ]
}
# have_fiber_wait: a way for fiber hosts to wait on futex words (io_uring
# futex waits, 6.7, or futex_waitv, 5.16): where auto makes fibers.
have_futex_waitv() {
	[ "$("$H/noiouring" waitv 2>/dev/null)" = futex_waitv=yes ]
}
have_fiber_wait() {
	have_ring_futex || have_futex_waitv
}
# fiber_wait_auto: the way --fiber-wait=auto takes here (the report's
# sched.fiber_wait): ring, waitv, or poll (neither).
fiber_wait_auto() {
	if have_ring_futex; then echo ring; elif have_futex_waitv; then echo waitv; else echo poll; fi
}
need_python3() {
	have_python3 || skip "python3 (/usr/bin/python3) is needed${1:+ $1}"
}
need_taskset() {
	command -v taskset >/dev/null || skip "taskset (util-linux) is needed to pin ${1:-the program to one CPU}"
}
need_fsgsbase() {
	have_fsgsbase ||
		skip "the CPU does not let user code write the FS base (no fsgsbase in /proc/cpuinfo): fibers need it"
}
need_cpus() {
	[ "$(nproc)" -ge "$1" ] || skip "$1 CPUs are needed ($2)"
}
need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root: $*"
}
# need_cmd CMD [WHAT]: CMD in the PATH; the skip says "WHAT is needed"
# or "CMD not installed".
need_cmd() {
	command -v "$1" >/dev/null 2>&1 || skip "${2:-$1 not installed}"
}
# need_fibers: what every fiber test needs (the JSON report says how the
# threads ran, taskset pins them to one CPU, FSGSBASE switches them).
need_fibers() {
	need_python3 "to read the JSON report"
	need_taskset
	need_fsgsbase
}

CXLMU_LIB=${LIBCXLMU:-$top_builddir/.libs/libcxlmu.so}
CXLMU_RUN=${CXLMURUN:-$top_builddir/cxlmu-run}
[ -n "$CXLMU_LIB" ] && [ -r "$CXLMU_LIB" ] || bail_out "CXLMU_LIB ($CXLMU_LIB) is not built"
[ -n "$CXLMU_RUN" ] && [ -x "$CXLMU_RUN" ] || bail_out "CXLMU_RUN ($CXLMU_RUN) is not built"

# Start from a clean slate: no CXLMU_* or LD_PRELOAD reach the programs.
# CXLMU_LIB and CXLMU_RUN stay unexported shell variables: in the
# environment they would be CXLMU_* names the runtime warns about.
_lib=$CXLMU_LIB
_run=$CXLMU_RUN
for v in $(env | sed -n 's/^\(CXLMU_[A-Z_]*\)=.*/\1/p'); do
	unset "$v"
done
CXLMU_LIB=$_lib
CXLMU_RUN=$_run
unset LD_PRELOAD

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cxlmu-int.XXXXXX") || bail_out "mktemp -d failed"
trap 'rm -rf "$WORK"' EXIT

# pre POLICY CMD...: CMD under a bare LD_PRELOAD, CXL emulated on node 0.
pre() {
	_p=$1
	shift
	env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_POLICY="$_p" "$@"
}

# run_ok NAME CMD...: CMD must exit 0 and print nothing but a helper's
# "...: ok" line; its output is shown on failure.
run_ok() {
	_n=$1
	shift
	_ro_own=
	[ -n "$TAP_OPEN" ] || { begin "$_n"; _ro_own=1; }
	_ro=0
	"$@" >"$WORK/out" 2>&1
	_st=$?
	if [ $_st -ne 0 ]; then
		fail "$_n: exit status $_st from: $*"
		diag_file "$WORK/out"
		_ro=1
	elif grep -q . "$WORK/out" && grep -v ': ok$' "$WORK/out" | grep -q .; then
		# Anything besides the helper's own "ok" line (a warning) is a failure.
		fail "$_n: unexpected output from: $*"
		diag_file "$WORK/out"
		_ro=1
	fi
	[ -z "$_ro_own" ] || end
	return $_ro
}

# Policies the real programs run under (CXL emulated on node 0).
POLICIES="local cxl size:64K interleave:3:1 budget:1M"

# same_as_plain NAME CMD...: CMD under each policy gives the same stdout,
# stderr and exit status as a plain run. CMD may use $RUNDIR, a fresh
# empty directory per run. With no behaviour begun, each policy is one,
# and so is the runtime's presence.
same_as_plain() {
	_n=$1
	shift
	_sp_own=
	[ -n "$TAP_OPEN" ] || _sp_own=1
	[ -z "$_sp_own" ] || begin "$_n, plain: prints output"
	RUNDIR="$WORK/plain"
	mkdir -p "$RUNDIR"
	export RUNDIR
	(cd "$RUNDIR" && "$@") >"$WORK/plain.out" 2>"$WORK/plain.err"
	_want=$?
	if [ ! -s "$WORK/plain.out" ]; then
		fail "$_n: the plain run printed nothing (status $_want): $(head -5 "$WORK/plain.err")"
		[ -z "$_sp_own" ] || end
		return 1
	fi
	for _p in $POLICIES; do
		[ -z "$_sp_own" ] || begin "$_n under $_p: same as plain"
		RUNDIR="$WORK/run-$(echo "$_p" | tr : _)"
		mkdir -p "$RUNDIR"
		(cd "$RUNDIR" && pre "$_p" "$@") >"$WORK/pol.out" 2>"$WORK/pol.err"
		_st=$?
		[ $_st -eq $_want ] || fail "$_n under $_p: exit status $_st, plain $_want"
		cmp -s "$WORK/plain.out" "$WORK/pol.out" ||
			{ fail "$_n under $_p: stdout differs"; diff "$WORK/plain.out" "$WORK/pol.out" | head -10 | diag_file; }
		cmp -s "$WORK/plain.err" "$WORK/pol.err" ||
			{ fail "$_n under $_p: stderr differs"; diff "$WORK/plain.err" "$WORK/pol.err" | head -10 | diag_file; }
	done
	# The runtime was really in the program: it writes its report.
	[ -z "$_sp_own" ] || begin "$_n: the runtime was in the program"
	RUNDIR="$WORK/stats-run"
	mkdir -p "$RUNDIR"
	(cd "$RUNDIR" && CXLMU_STATS="$WORK/stats.%p" pre cxl "$@") >/dev/null 2>&1
	ls "$WORK"/stats.* >/dev/null 2>&1 || fail "$_n: no stats report under the preload: runtime not loaded"
	rm -f "$WORK"/stats.*
	unset RUNDIR
	[ -z "$_sp_own" ] || end
}

# The waiting tests. A hang fails (timeout's status 124) instead of
# stalling the suite.
HANG_LIMIT=120

# plain CMD...: CMD without the preload.
plain() {
	timeout "$HANG_LIMIT" "$@"
}

# prel [VAR=VALUE...] CMD...: CMD under a bare LD_PRELOAD, CXL emulated on
# node 0, with the extra CXLMU_* settings given.
prel() {
	timeout "$HANG_LIMIT" env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 "$@"
}

# json_ok NAME FILE EXPR...: the JSON report in FILE has the documented
# keys and each EXPR holds (python: r the report, w its "wait" object).
json_ok() {
	_n=$1
	shift
	_jo_own=
	[ -n "$TAP_OPEN" ] || { begin "$_n"; _jo_own=1; }
	_jo=0
	/usr/bin/python3 "$top_srcdir/tests/integration/checkjson.py" "$@" 2>"$WORK/why" ||
		{ fail "$_n: $(cat "$WORK/why")"; _jo=1; }
	[ -z "$_jo_own" ] || end
	return $_jo
}

# field NAME FILE: the number after NAME= in FILE (a helper's output line).
field() {
	sed -n "s/.*\\<$1=\\([0-9][0-9]*\\).*/\\1/p" "$2" | head -1
}

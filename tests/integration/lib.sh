# Sourced by the integration tests: the environment and small helpers.
# make check exports top_builddir, top_srcdir, LIBCXLMU (the library) and
# CXLMURUN (the tool); the scripts call them CXLMU_LIB and CXLMU_RUN.

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
H="$top_builddir/tests/integration/helpers"
FAILED=0

fail() {
	echo "FAIL: $*" >&2
	FAILED=1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

CXLMU_LIB=${LIBCXLMU:-$top_builddir/.libs/libcxlmu.so}
CXLMU_RUN=${CXLMURUN:-$top_builddir/cxlmu-run}
[ -n "$CXLMU_LIB" ] && [ -r "$CXLMU_LIB" ] || { echo "CXLMU_LIB ($CXLMU_LIB) is not built" >&2; exit 1; }
[ -n "$CXLMU_RUN" ] && [ -x "$CXLMU_RUN" ] || { echo "CXLMU_RUN ($CXLMU_RUN) is not built" >&2; exit 1; }

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

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cxlmu-int.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT

# pre POLICY CMD...: CMD under a bare LD_PRELOAD, CXL emulated on node 0.
pre() {
	_p=$1
	shift
	env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_POLICY="$_p" "$@"
}

# run_ok NAME CMD...: CMD must exit 0; its output is shown on failure.
run_ok() {
	_n=$1
	shift
	"$@" >"$WORK/out" 2>&1
	_st=$?
	if [ $_st -ne 0 ]; then
		fail "$_n: exit status $_st from: $*"
		sed 's/^/    /' "$WORK/out" >&2
		return 1
	fi
	if grep -q . "$WORK/out" && grep -v ': ok$' "$WORK/out" | grep -q .; then
		# Anything besides the helper's own "ok" line (a warning) is a failure.
		fail "$_n: unexpected output from: $*"
		sed 's/^/    /' "$WORK/out" >&2
		return 1
	fi
	return 0
}

finish() {
	exit $FAILED
}

# Policies the real programs run under (CXL emulated on node 0).
POLICIES="local cxl size:64K interleave:3:1 budget:1M"

# same_as_plain NAME CMD...: CMD under each policy gives the same stdout,
# stderr and exit status as a plain run. CMD may use $RUNDIR, a fresh
# empty directory per run.
same_as_plain() {
	_n=$1
	shift
	RUNDIR="$WORK/plain"
	mkdir -p "$RUNDIR"
	export RUNDIR
	(cd "$RUNDIR" && "$@") >"$WORK/plain.out" 2>"$WORK/plain.err"
	_want=$?
	if [ ! -s "$WORK/plain.out" ]; then
		fail "$_n: the plain run printed nothing (status $_want): $(head -5 "$WORK/plain.err")"
		return 1
	fi
	for _p in $POLICIES; do
		RUNDIR="$WORK/run-$(echo "$_p" | tr : _)"
		mkdir -p "$RUNDIR"
		(cd "$RUNDIR" && pre "$_p" "$@") >"$WORK/pol.out" 2>"$WORK/pol.err"
		_st=$?
		[ $_st -eq $_want ] || fail "$_n under $_p: exit status $_st, plain $_want"
		cmp -s "$WORK/plain.out" "$WORK/pol.out" ||
			{ fail "$_n under $_p: stdout differs"; diff "$WORK/plain.out" "$WORK/pol.out" | head -10 >&2; }
		cmp -s "$WORK/plain.err" "$WORK/pol.err" ||
			{ fail "$_n under $_p: stderr differs"; diff "$WORK/plain.err" "$WORK/pol.err" | head -10 >&2; }
	done
	# The runtime was really in the program: it writes its report.
	RUNDIR="$WORK/stats-run"
	mkdir -p "$RUNDIR"
	(cd "$RUNDIR" && CXLMU_STATS="$WORK/stats.%p" pre cxl "$@") >/dev/null 2>&1
	ls "$WORK"/stats.* >/dev/null 2>&1 || fail "$_n: no stats report under the preload: runtime not loaded"
	rm -f "$WORK"/stats.*
	unset RUNDIR
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
	/usr/bin/python3 "$top_srcdir/tests/integration/checkjson.py" "$@" 2>"$WORK/why" ||
		fail "$_n: $(cat "$WORK/why")"
}

# field NAME FILE: the number after NAME= in FILE (a helper's output line).
field() {
	sed -n "s/.*\\<$1=\\([0-9][0-9]*\\).*/\\1/p" "$2" | head -1
}

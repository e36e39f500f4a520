#!/bin/sh
# Proves each CXLMU_WAIT path (and cxlmu-run --wait, --sched) is the one the report names and serves a polling pair correctly with early wake-ups, syscall without any io_uring, and that under a seccomp filter in force from the start (denying io_uring_setup with EPERM or ENOSYS, or killing) the runtime passes sleeps to libc, sets up no io_uring, works, writes the report asked for, and says so once under CXLMU_LOG=1.
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_python3 "to read the JSON report"
CHAIN="futex msg_ring eventfd syscall"

# What the kernel offers decides what each request must give: with
# io_uring usable and futex waits in io_uring (6.7+), exactly the path
# asked for (auto: futex); without io_uring, syscall.
begin "noiouring probe asks the kernel what io_uring it offers"
probe=$("$H/noiouring" probe) || fail "noiouring probe: exit $?"
end
kver=$(uname -r | sed -n 's/^\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
set -- $kver
exact=no
if [ "$probe" = io_uring=usable ] && { [ "${1:-0}" -gt 6 ] || { [ "${1:-0}" -eq 6 ] && [ "${2:-0}" -ge 7 ]; }; }; then
	exact=yes
fi

# allowed ASKED: the paths the report may name.
allowed() {
	if [ "$probe" != io_uring=usable ]; then
		echo syscall
	elif [ $exact = yes ]; then
		[ "$1" = auto ] && echo futex || echo "$1"
	else
		[ "$1" = auto ] && echo "$CHAIN" || echo "$CHAIN" | sed "s/.*\\<$1\\>/$1/"
	fi
}

# pair NAME JSON EXPECT CMD...: CMD runs a polling pair (pollpair pre pair)
# writing its report to JSON; the pair is right, the report names one of
# EXPECT, polls ended early; syscall holds no io_uring, the others do.
pair() {
	_n=$1
	_j=$2
	_want=$3
	shift 3
	begin "$_n"
	"$@" >"$WORK/out" 2>"$WORK/err"
	_st=$?
	if [ $_st -ne 0 ] || ! grep -q '^pollpair: ok$' "$WORK/out"; then
		fail "$_n: exit status $_st: $(cat "$WORK/out" "$WORK/err")"
		return 1
	fi
	_expr=$(for p in $_want; do printf 'w["path"] == "%s" or ' "$p"; done)
	json_ok "$_n" "$_j" '"wait" in r' 'w["sched"] == "auto"' 'w["fibers"] == 0' "${_expr% or }" \
		'w["polls"] > 0' 'w["early_wakeups"] > 0'
	_fds=$(field io_uring_fds "$WORK/out")
	_maps=$(field io_uring_maps "$WORK/out")
	_got=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["wait"]["path"])' "$_j" 2>/dev/null)
	if [ "$_got" = syscall ]; then
		[ "$_fds" = 0 ] && [ "$_maps" = 0 ] ||
			fail "$_n: path syscall, yet a polling thread holds $_fds io_uring descriptors, $_maps mappings"
	elif [ -n "$_got" ]; then
		[ $((_fds + _maps)) -gt 0 ] ||
			fail "$_n: path $_got, yet a polling thread holds no io_uring descriptor or mapping"
	fi
	return 0
}

# denied HOW [VAR=VALUE...] CMD...: CMD under the preload where
# io_uring_setup fails (HOW: eperm, enosys) or kills (kill).
denied() {
	_how=$1
	shift
	timeout "$HANG_LIMIT" "$H/noiouring" "$_how" env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 "$@"
}

for w in auto $CHAIN; do
	pair "CXLMU_WAIT=$w" "$WORK/$w.json" "$(allowed $w)" \
		prel CXLMU_WAIT=$w CXLMU_STATS="$WORK/$w.json" CXLMU_STATS_FORMAT=json "$H/pollpair" pre pair 200 50
done
# The cxlmu-run twins.
pair "cxlmu-run --wait=syscall" "$WORK/run.json" syscall timeout "$HANG_LIMIT" "$CXLMU_RUN" --cxl-nodes=0 \
	--wait=syscall --sched=auto --stats="$WORK/run.json" --stats-format=json "$H/pollpair" pre pair 200 50
begin "cxlmu-run --sched=off"
timeout "$HANG_LIMIT" "$CXLMU_RUN" --cxl-nodes=0 --sched=off --stats="$WORK/runoff.json" --stats-format=json \
	"$H/pollpair" pre pair 50 50 >"$WORK/out" 2>&1 || fail "cxlmu-run --sched=off: exit $?: $(cat "$WORK/out")"
json_ok "cxlmu-run --sched=off" "$WORK/runoff.json" '"wait" in r' 'w["sched"] == "off"' 'w["sleeps"] == 0'

# io_uring denied by seccomp: the syscall path, whatever was asked.
end
"$H/noiouring" eperm true
seccomp=$?
if [ $seccomp -eq 77 ]; then
	skip_one "io_uring denied by seccomp: the syscall path" "seccomp filters unavailable"
elif [ $seccomp -ne 0 ]; then
	fail "noiouring eperm true: exit $seccomp"
else
	# A filter in force from the start (a container's, a service
	# manager's): the runtime makes no system call of its own, so sleeps
	# go to libc as they are, whatever was asked, and nothing of io_uring
	# is set up; the pair works and the report asked for is written.
	for how in kill eperm enosys; do
		for w in auto futex eventfd syscall; do
			n="filter denying io_uring_setup ($how), CXLMU_WAIT=$w"
			begin "$n"
			denied $how CXLMU_WAIT=$w CXLMU_STATS="$WORK/d.json" CXLMU_STATS_FORMAT=json \
				"$H/pollpair" pre pair 200 50 >"$WORK/out" 2>"$WORK/err"
			st=$?
			if [ $st -ne 0 ] || ! grep -q '^pollpair: ok$' "$WORK/out"; then
				fail "$n: exit status $st: $(cat "$WORK/out" "$WORK/err")"
				continue
			fi
			# CXLMU_WAIT was set and cannot be honoured: one line says so.
			c=$(grep -c . "$WORK/err")
			[ "$c" -eq 1 ] && grep -q seccomp "$WORK/err" ||
				fail "$n: want one stderr line naming seccomp: $(cat "$WORK/err")"
			json_ok "$n" "$WORK/d.json" 'w["sched"] == "off"' 'w["sleeps"] == 0' 'w["polls"] == 0'
			fds=$(field io_uring_fds "$WORK/out")
			maps=$(field io_uring_maps "$WORK/out")
			[ "$fds" = 0 ] && [ "$maps" = 0 ] ||
				fail "$n: a polling thread holds $fds io_uring descriptors, $maps mappings"
		done
		# Nothing set that the filter takes away: nothing said.
		n="filter denying io_uring_setup ($how), no option"
		begin "$n: nothing said"
		timeout "$HANG_LIMIT" "$H/noiouring" $how env LD_PRELOAD="$CXLMU_LIB" \
			CXLMU_STATS="$WORK/q.json" CXLMU_STATS_FORMAT=json \
			"$H/pollpair" pre pair 50 50 >"$WORK/out" 2>"$WORK/err" ||
			fail "$n: exit $?: $(cat "$WORK/out" "$WORK/err")"
		[ -s "$WORK/err" ] && fail "$n: stderr: $(cat "$WORK/err")"
		json_ok "$n" "$WORK/q.json" 'w["sched"] == "off"' 'w["sleeps"] == 0'
		# Said once, naming seccomp, however many threads wait.
		n="filter denying io_uring_setup ($how), 200 threads, CXLMU_LOG=1"
		begin "$n: said once"
		denied $how CXLMU_LOG=1 "$H/sleepmany" pre pairs 100 50 >"$WORK/out" 2>"$WORK/err" ||
			fail "$n: exit $?: $(cat "$WORK/out" "$WORK/err")"
		c=$(grep -c seccomp "$WORK/err")
		[ "$c" -eq 1 ] || fail "$n: $c stderr lines name seccomp, want 1: $(head -5 "$WORK/err")"
	done
fi
finish

#!/bin/sh
# Proves that under the default settings a process-directed SIGTERM reaches a program pinned to one CPU as the kernel delivers it: while the main thread waits (nanosleep, clock_nanosleep, usleep, read of an empty pipe, pthread_cond_timedwait, pause), with and without SA_RESTART, and with the main thread blocking the signal (its handler then runs in the other thread), the handler's thread, the call's result, errno, the time left and when the call returned are the same lines as plain, under the default settings and under --sched=fibers (where fsgsbase lets fibers run); and a Python program pinned to one CPU, in time.sleep(10) with another thread running, runs its SIGTERM handler within 100 ms, as plain, under the default settings and as fibers.
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_taskset

begin "SIGTERM while the main thread waits, pinned, default settings: as plain"
plain taskset -c 0 "$H/sigterm" >"$WORK/plain" 2>&1 || { fail "plain: exit status $?"; diag_file "$WORK/plain"; }
prel taskset -c 0 "$H/sigterm" >"$WORK/pre" 2>&1 || { fail "preload: exit status $?"; diag_file "$WORK/pre"; }
grep -q '^sigterm: ok$' "$WORK/plain" && grep -q '^sigterm: ok$' "$WORK/pre" ||
	fail "no ok line"
# Each case's line, plain against the preload.
if ! cmp -s "$WORK/plain" "$WORK/pre"; then
	fail "the lines differ (plain, then under the preload):"
	diff "$WORK/plain" "$WORK/pre" >"$WORK/diff"
	diag_file "$WORK/diff"
fi
[ "$(grep -c ' restart=' "$WORK/plain")" = 22 ] || fail "plain printed $(grep -c ' restart=' "$WORK/plain") cases, want 22"
# What the kernel does, as a check of the helper itself: an interrupted
# nanosleep returns EINTR with time left; a read with SA_RESTART restarts.
for want in "nanosleep restart=0 blocked=0 handler=main result=-1 errno=4 rem=part took=early sent=early" \
	"read restart=1 blocked=0 handler=main result=1 errno=0 rem=0 took=full sent=early" \
	"nanosleep restart=0 blocked=1 handler=other result=0 errno=0 rem=0 took=full sent=early"; do
	grep -qx "$want" "$WORK/plain" || fail "plain did not print '$want'"
done
end

# The same under --sched=fibers, where both threads are fibers of CPU 0:
# the signal is taken by a fiber's kernel thread, parked, and handed to
# the fiber the kernel would have chosen.
if have_fsgsbase && have_python3; then
	begin "SIGTERM while the main thread waits, pinned, --sched=fibers: as plain"
	prel CXLMU_SCHED=fibers CXLMU_STATS="$WORK/fib.json" CXLMU_STATS_FORMAT=json \
		taskset -c 0 "$H/sigterm" >"$WORK/fib" 2>&1 || { fail "fibers: exit status $?"; diag_file "$WORK/fib"; }
	if ! cmp -s "$WORK/plain" "$WORK/fib"; then
		fail "the lines differ (plain, then as fibers):"
		diff "$WORK/plain" "$WORK/fib" >"$WORK/diff"
		diag_file "$WORK/diff"
	fi
	json_ok "sigterm as fibers" "$WORK/fib.json" "w['fibers'] >= 2" 'w["fiber_cpus"] == 1'
	end
else
	skip_one "SIGTERM while the main thread waits, --sched=fibers" "fibers need fsgsbase in /proc/cpuinfo, and python3 to read the report"
fi

# Python: its handlers run in the main thread only, between bytecodes: a
# signal delivered elsewhere, or a sleep not interrupted, delays them.
if have_python3; then
	begin "Python in time.sleep(10) with another thread, pinned: the SIGTERM handler within 100 ms"
	cat >"$WORK/term.py" <<'PY'
import os, signal, threading, time
got = []
def on_term(sig, frame):
    got.append(time.monotonic())
    raise SystemExit(0)
signal.signal(signal.SIGTERM, on_term)
stop = threading.Event()
threading.Thread(target=lambda: stop.wait(30), daemon=True).start()
if os.fork() == 0:
    time.sleep(0.2)
    os.kill(os.getppid(), signal.SIGTERM)
    os._exit(0)
sent = time.monotonic() + 0.2
try:
    time.sleep(10)
finally:
    late = (got[0] - sent) * 1000 if got else -1
    print("late_ms=%d" % max(late, 0) if got else "late_ms=none")
PY
	hows="plain prel"
	have_fsgsbase && hows="$hows fibers"
	for how in $hows; do
		case $how in
		fibers) prel CXLMU_SCHED=fibers taskset -c 0 /usr/bin/python3 "$WORK/term.py" >"$WORK/py.$how" 2>&1 ;;
		*) $how taskset -c 0 /usr/bin/python3 "$WORK/term.py" >"$WORK/py.$how" 2>&1 ;;
		esac
		_ms=$(sed -n 's/^late_ms=//p' "$WORK/py.$how")
		case $_ms in
		''|none) fail "$how: the handler did not run: $(cat "$WORK/py.$how")" ;;
		*) [ "$_ms" -le 100 ] || fail "$how: the handler ran ${_ms} ms after the signal, want at most 100" ;;
		esac
	done
	end
else
	skip_one "Python in time.sleep(10) with another thread" "python3 (/usr/bin/python3) is needed"
fi
finish

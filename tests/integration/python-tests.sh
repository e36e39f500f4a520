#!/bin/sh
# Proves that Python's own regression tests of what fibers change give, pinned to one CPU (taskset -c 0), the same results under the default settings and under --sched=fibers as plain: test_thread and test_threading in full (among them test_3_join_in_forked_from_thread, a fork from a thread that is not the main one, then a join in the child, and test_various_ops, whose threads' native ids, syscall(SYS_gettid), must differ) and test_socket's test_sendall_interrupted and test_sendall_interrupted_with_timeout (SIGALRM must interrupt a blocking sendall), which hung under the runtime before (a test that takes over 120 s fails). Each test's verdict (ok, skipped, FAIL, ERROR), the number run and the run's own result line are compared with plain's; under --sched=fibers the report shows that the threads ran as fibers. Needs Debian's libpython3.11-testsuite.
. "${top_srcdir:-.}/tests/integration/lib.sh"

need_taskset
need_python3 "to run Python's tests"
py=/usr/bin/python3
$py -c 'import test.libregrtest, test.test_threading, test.test_socket, test.test_thread' 2>/dev/null ||
	skip "Python's regression tests are not installed (apt-get install libpython3.11-testsuite)"

# Long enough for the emulated guests (TCG), short of hanging forever:
# a whole run, and each test (regrtest --timeout: a test that takes
# longer fails; plain, each takes at most 4 s in the guests, and the
# whole of test_threading 26 s). Before
# pthread_exit from main was fixed, the fork-from-thread test took 301 s
# as fibers (0.7 s plain) and then passed: a hang its own 300 s limit
# ended.
limit=600
per_test=120

# verdicts HOW OUT MODULE [-m PATTERN...]: one run of regrtest, verbose;
# OUT gets its status, its result line and each test's verdict, sorted.
verdicts() {
	_how=$1 _out=$2
	shift 2
	mkdir -p "$WORK/run.$_how"
	case $_how in
	plain) set -- env ;;
	auto) set -- env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 ;;
	fibers) set -- env LD_PRELOAD="$CXLMU_LIB" CXLMU_CXL_NODES=0 CXLMU_SCHED=fibers \
		CXLMU_STATS="$WORK/fib.%p.json" CXLMU_STATS_FORMAT=json ;;
	esac
	(cd "$WORK/run.$_how" && timeout "$limit" "$@" taskset -c 0 $py -m test -v --timeout=$per_test $args) \
		>"$WORK/log.$_how" 2>&1
	echo "status=$?" >"$_out"
	grep -E '^(Ran [0-9]+ tests?|Tests result:)' "$WORK/log.$_how" | sed 's/ in [0-9.]*s$//' >>"$_out"
	# "test_x (module.Class.test_x) ... ok", with any timing or reason cut.
	sed -n 's/^\(test[A-Za-z0-9_]* ([A-Za-z0-9_.]*)\) \.\.\. \(ok\|skipped\|FAIL\|ERROR\|expected failure\|unexpected success\).*/\1 \2/p' \
		"$WORK/log.$_how" | sort >>"$_out"
}

# case NAME ARGS: the run plain, under the default settings and as fibers.
pycase() {
	_name=$1
	args=$2
	begin "$_name, pinned: as plain under the default settings and under --sched=fibers"
	verdicts plain "$WORK/v.plain"
	if ! grep -q '^status=0$' "$WORK/v.plain" || [ "$(grep -c ' ok$' "$WORK/v.plain")" -lt 1 ]; then
		fail "plain did not pass (so nothing to compare):"
		diag_file "$WORK/v.plain"
		tail -20 "$WORK/log.plain" | diag_file
		end
		return
	fi
	rm -f "$WORK"/fib.*.json
	for how in auto fibers; do
		verdicts $how "$WORK/v.$how"
		if ! cmp -s "$WORK/v.plain" "$WORK/v.$how"; then
			fail "$how: the results differ from plain's (plain, then $how):"
			diff "$WORK/v.plain" "$WORK/v.$how" | diag_file
			tail -20 "$WORK/log.$how" | diag_file
		fi
	done
	# Some process of the run (the test runner, or a child it started)
	# ran threads as fibers.
	if have_fsgsbase; then
		_fib=0
		for j in "$WORK"/fib.*.json; do
			[ -f "$j" ] || continue
			/usr/bin/python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["wait"]["fibers"] < 2)' "$j" 2>/dev/null &&
				_fib=1
		done
		[ $_fib = 1 ] || fail "fibers: no report shows two fibers or more ($(ls "$WORK" | grep -c '^fib\.') reports)"
	fi
	end
}

pycase "test_thread" "test_thread"
pycase "test_threading in full (a fork from a thread, then a join in the child; native thread ids)" \
	"test_threading"
pycase "test_socket: SIGALRM interrupts a blocking sendall" \
	"test_socket -m test_sendall_interrupted -m test_sendall_interrupted_with_timeout"
finish

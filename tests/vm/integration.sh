#!/bin/sh
# Proves the waiting, fiber and remote-call integration scripts pass on an older kernel with FSGSBASE: one TCG boot of Debian 12's 6.1 kernel (no io_uring futex opcodes: the MSG_RING and wake-up pipe paths) runs them in the guest, and each must exit 0 there; the fiber scripts must not skip.
#
# The guest (tests/vm/mkinitrd.sh integration, tests/vm/guest-int.sh) prints
# each script's output and exit status on the serial console; the checks
# are made here, one line per script. Exit 0 pass, 1 fail, 77 skip (no
# qemu, busybox, cpio, python3 or kernel). tests/vm/README.md has more.
set -u

: "${top_builddir:?run from make check, or set top_builddir and top_srcdir}"
: "${top_srcdir:?run from make check, or set top_builddir and top_srcdir}"
QEMU=${QEMU:-$(command -v qemu-system-x86_64 || true)}
build=$top_builddir/tests/vm/build
# The whole boot; and each script inside the guest.
timeout_s=${VM_INT_TIMEOUT:-2400}
script_timeout=${VM_INT_SCRIPT_TIMEOUT:-600}

# The scripts of the wait, fiber, scheduling and remote paths.
scripts=${VM_INT_SCRIPTS:-"fibers.sh fiber-sync.sh fiber-signals.sh sched-auto.sh remote.sh
	sleep-semantics.sh sleep-fallbacks.sh sleep-polling.sh sleep-many.sh sleep-fork.sh
	threads.sh thread-churn.sh fork-while-allocating.sh secure-fds.sh secure-seccomp.sh"}
# These need FSGSBASE, which the guest has: a skip is a failure.
no_skip="fibers.sh fiber-sync.sh fiber-signals.sh sched-auto.sh"
# Scripts expected to fail in the guest (known runtime bugs on 6.1): they
# print XFAIL, and XPASS (a failure) once they pass. None marked.
xfail=${VM_INT_XFAIL:-}

if [ -z "$QEMU" ] || [ ! -x "$QEMU" ]; then
	echo "SKIP: qemu-system-x86_64 not found (Debian: qemu-system-x86); the VM test needs it"
	exit 77
fi
if ! probe=$(echo quit | timeout 30 "$QEMU" -accel tcg -cpu max -m 2G -nodefaults \
		-display none -monitor stdio -S 2>&1 >/dev/null); then
	echo "SKIP: $QEMU cannot start a TCG guest here: $probe"
	exit 77
fi

out=$(sh "$top_srcdir"/tests/vm/mkinitrd.sh integration)
rc=$?
[ $rc -eq 0 ] || exit $rc
kernel=$(echo "$out" | tail -n 2 | head -n 1)
initrd=$(echo "$out" | tail -n 1)

# One node with both CPUs and all the memory, as on the build machines the
# scripts are written for (they emulate CXL on node 0).
# numa_balancing=disable: as in placement.sh (6.1 marks local huge pages
# PROT_NONE for NUMA balancing).
# The console goes straight to a file, to be watched while the guest runs.
log=$build/integration.log
list=$(echo $scripts | tr ' ' ,)
echo "booting the integration guest (TCG, 2 vCPUs; serial log in $log)"
rm -f "$log.raw"
t0=$(date +%s)
timeout -k 5 "$timeout_s" "$QEMU" -accel tcg -cpu max -m 2G -smp 2 \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 quiet loglevel=1 panic=-1 numa_balancing=disable cxlmu_scripts=$list cxlmu_script_timeout=$script_timeout" \
	-display none -no-reboot -nic none -monitor none -serial file:"$log.raw" \
	</dev/null >"$log.qemu" 2>&1
wall=$(($(date +%s) - t0))
tr -d '\r' <"$log.raw" >"$log"
[ -s "$log.qemu" ] && { echo "qemu said:"; sed 's/^/      /' "$log.qemu"; }
echo "guest wall time: ${wall}s (boot and every script)"

fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

if ! grep -q '@@cxlmu-vm-start' "$log"; then
	fail "the guest did not start its scripts within ${timeout_s}s; its console:"
	tail -n 40 "$log"
	exit 1
fi
info=$(grep '^@@info ' "$log" | sed 's/^@@info //' | tr '\n' ' ')
echo "guest: $info"
case " $info " in
*" fsgsbase=yes "*) ;;
*) fail "the guest CPU has no fsgsbase: the fiber scripts would skip (qemu -cpu max should offer it)" ;;
esac

# mkinitrd.sh copies capstone into the guest when the host has it.
if ldconfig -p 2>/dev/null | grep -q 'libcapstone\.so\.4' ||
   [ -e /usr/lib/x86_64-linux-gnu/libcapstone.so.4 ]; then
	host_capstone=yes
else
	host_capstone=no
fi

section() {   # output of script $1
	awk -v n="$1" '$1 == "@@rc" && $2 == n { on = 0 } on { print } $1 == "@@script" && $2 == n { on = 1 }' "$log"
}

for s in $scripts; do
	r=$(awk -v n="$s" '$1 == "@@rc" && $2 == n { print $3, $4 }' "$log")
	st=${r% *} secs=${r#* }
	case " $xfail " in *" $s "*) xf=yes ;; *) xf=no ;; esac
	if [ -z "$r" ]; then
		if grep -q "^@@script $s\$" "$log"; then
			fail "$s: did not finish (the guest ran past ${timeout_s}s); its output so far:"
			section "$s" | tail -n 40 | sed 's/^/      /'
		else
			fail "$s: did not run (the guest ran past ${timeout_s}s)"
		fi
		continue
	fi
	if [ "$st" = 0 ]; then
		if [ $xf = yes ]; then
			fail "XPASS $s (${secs}s): take it off VM_INT_XFAIL"
		else
			echo "PASS: $s (${secs}s)"
		fi
		continue
	fi
	if [ "$st" = 77 ]; then
		why=$(section "$s" | grep '^SKIP' | head -n 1)
		case " $no_skip " in
		*" $s "*)
			fail "$s skipped in the guest, which has FSGSBASE (${secs}s): $why"
			continue ;;
		esac
		case $s:$why:$host_capstone in
		# Only a library the host lacks can take a script away.
		remote.sh:*libcapstone*:no)
			echo "SKIP: $s (${secs}s): $why (the host has no libcapstone.so.4 to copy)" ;;
		*) fail "$s skipped in the guest (${secs}s): $why" ;;
		esac
		continue
	fi
	case $st in
	124|137|143) what="killed after ${script_timeout}s in the guest (status $st)" ;;
	*) what="exit status $st" ;;
	esac
	if [ $xf = yes ]; then
		echo "XFAIL: $s (${secs}s): $what (known failure)"
	else
		fail "$s: $what (${secs}s); its output:"
	fi
	section "$s" | tail -n 60 | sed 's/^/      /'
done

crashes=$(awk '$1 == "@@end-dmesg" { on = 0 } on { print } $1 == "@@dmesg" { on = 1 }' "$log")
if [ -n "$crashes" ]; then
	echo "guest kernel messages (crashes, kills):"
	echo "$crashes" | sed 's/^/      /'
fi
grep -q '^@@cxlmu-vm-done' "$log" || fail "the guest did not power off within ${timeout_s}s"

if [ $fails -ne 0 ]; then
	echo "$fails check(s) failed; the guest's console is in $log"
	exit 1
fi
echo "PASS"
exit 0

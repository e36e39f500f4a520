#!/bin/sh
# Proves, in a QEMU guest whose node 1 is memory-only (emulated CXL), that move_pages finds every policy's pages on the node the policy names.
#
# One boot runs every case (tests/vm/guest.sh) and prints the results on the
# serial console; the assertions are made here, on the host. A second, short
# boot with an HMAT table checks tier discovery. It speaks TAP: one
# "ok N - ..." or "not ok N - ..." line per check, the plan last; a skip
# is "1..0 # SKIP why". Exit 0 pass, 1 fail, 77 skip (no qemu, busybox or
# kernel).
set -u

: "${top_srcdir:?run from make check, or set top_builddir and top_srcdir}"
. "$top_srcdir"/tests/vm/lib.sh
timeout_s=${VM_TIMEOUT:-90}

need_qemu "a TCG guest" -m 2G
guest_files placement

# Node 0: 1792 MiB and both CPUs; node 1: 256 MiB and no CPUs, small enough
# for the strict case to fill it quickly.
# numa_balancing=disable: on 6.1, automatic NUMA balancing marks local
# transparent huge pages PROT_NONE, and move_pages then reports -EFAULT for
# pages that are present (fixed in 6.5); under host load that failed the
# local case now and then.
boot() {   # boot LOG SET EXTRA-QEMU-ARGS...
	log=$1 set=$2
	shift 2
	echo "# booting $set guest (TCG; serial log in $log)"
	timeout -k 5 "$timeout_s" "$QEMU" -accel tcg -cpu max -m 2G -smp 2 \
		-object memory-backend-ram,id=m0,size=1792M \
		-object memory-backend-ram,id=m1,size=256M \
		"$@" \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 quiet loglevel=1 panic=-1 numa_balancing=disable cxlmu_set=$set" \
		-nographic -no-reboot -nic none -monitor none -serial stdio \
		</dev/null 2>&1 | tr -d '\r' > "$log"
	if ! grep -q '^@@cxlmu-vm-done' "$log"; then
		echo "Bail out! the $set guest did not finish within ${timeout_s}s"
		tail -n 40 "$log" | sed 's/^/# /'
		exit 1
	fi
}

# --- reading the log (tests/vm/lib.sh) ------------------------------------

# --- the main boot -------------------------------------------------------
log=$build/placement-main.log
boot "$log" main \
	-numa node,nodeid=0,cpus=0-1,memdev=m0 \
	-numa node,nodeid=1,memdev=m1

if expect_rc node1-cpulist 0 && [ -z "$(section node1-cpulist | tr -d ' ')" ]; then
	ok "guest node 1 has memory and no CPUs"
else
	fail "guest node 1 cpulist is '$(section node1-cpulist)', want empty"
fi

if expect_rc topology 0; then
	topo=$(section topology)
	case $topo in
	*'"cxl_nodes":[1]'*'"cxl_source":"detected"'*) ok "topology: node 1 detected as CXL" ;;
	*) fail "topology: want cxl_nodes [1], detected: $topo" ;;
	esac
fi

# 16 MiB blocks, one of them in a freed one's memory: placed like the
# others (node 1 holds 256 MiB: the case's blocks take 165).
all="malloc:64M:1 calloc:8M:2 realloc:8M:2 memalign:8M:2 malloc:4K:256 mmap:4M:1 malloc:16M:2 reuse:16M:1"
if expect_rc cxl 0; then
	for s in $all; do on cxl "$s" 1; done
fi
if expect_rc local 0; then
	for s in $all; do on local "$s" 0; done
fi

if expect_rc size 0; then
	for s in malloc:4M:4 calloc:4M:1 realloc:4M:1 memalign:4M:1; do on size "$s" 1; done
	for s in malloc:512K:4 malloc:4K:256; do on size "$s" 0; done
fi

expect_rc interleave-1-1 0 && share interleave-1-1 malloc:64M:1 1 1 2
expect_rc interleave-3-1 0 && share interleave-3-1 malloc:64M:1 1 1 4

# budget:36M with eight 8 MiB blocks: the first four fit the DRAM budget.
if expect_rc budget 0; then
	for i in 0 1 2 3 4 5 6 7; do
		node=0
		[ $i -ge 4 ] && node=1
		line="block malloc:8M:8 #$i "
		pages=$(value budget "$line" pages)
		got=$(value budget "$line" "node$node")
		if [ -n "$pages" ] && [ "$pages" != 0 ] && [ "$got" = "$pages" ]; then
			ok "budget: block $i: all $pages pages on node $node"
		else
			fail "budget: $(section budget | grep "^$line")  (want all on node $node)"
		fi
	done
fi

if expect_rc mmap-cxl 0; then
	on mmap-cxl mmap:8M:1 1
	on mmap-cxl mmap:512K:1 0     # below the 1 MiB threshold: left alone
fi
if expect_rc mmap-off 0; then
	on mmap-off mmap:8M:1 0
	on mmap-off malloc:8M:1 1
fi

if expect_rc stats-json 0; then
	for s in malloc:16M:1 malloc:64K:256 mmap:4M:1; do on stats-json "$s" 1; done
	json=$(section stats-json | grep '^{')
	sampled=$(echo "$json" | sed -n 's/.*"placement":{"sampled":\([0-9]*\).*/\1/p')
	elsewhere=$(echo "$json" | sed -n 's/.*"placement":{[^}]*"elsewhere":\([0-9]*\).*/\1/p')
	n1=$(echo "$json" | sed -n 's/.*"pages_by_node":\[[^]]*{"node":1,"pages":\([0-9]*\)}.*/\1/p')
	if [ -n "$sampled" ] && [ "$sampled" -gt 0 ] && [ "$elsewhere" = 0 ] &&
	   [ -n "$n1" ] && [ "$n1" -gt 0 ]; then
		ok "stats json: $sampled sampled pages, 0 elsewhere, $n1 on node 1"
	else
		fail "stats json: want sampled > 0, elsewhere 0, pages on node 1; got: $json"
	fi
fi

# Node 1 holds 256 MiB: a strict fill must stop with ENOMEM, all on node 1;
# a preferred one spills to node 0 and gets all it asked for.
if expect_rc strict-full 0; then
	l="spec fill:16M:32 "
	e=$(value strict-full "$l" errno) b=$(value strict-full "$l" blocks)
	n0=$(value strict-full "$l" node0) n1=$(value strict-full "$l" node1)
	if [ "$e" = ENOMEM ] && [ "$n0" = 0 ] && [ "${n1:-0}" -gt 0 ] && [ "$b" -lt 16 ]; then
		ok "strict: ENOMEM after $b blocks of 16 MiB, $n1 pages on node 1, none on node 0"
	else
		fail "strict: $(section strict-full | grep "^$l")  (want errno=ENOMEM, fewer than 16 blocks, none on node 0)"
	fi
fi
# Known bug (src/heap.c node_can_hold keeps too small a margin): the kernel's
# OOM killer takes the process instead. Expected to fail until fixed; then
# this says XPASS and fails, so the mark is taken off.
xfail_strict_small=no
xfailed=0
l="spec fill:1M:400 "
e=$(value strict-small "$l" errno) b=$(value strict-small "$l" blocks) n0=$(value strict-small "$l" node0)
if [ "$(status strict-small)" = 0 ] && [ "$e" = ENOMEM ] && [ "$n0" = 0 ]; then
	if [ $xfail_strict_small = yes ]; then
		fail "XPASS strict with 1 MiB blocks: ENOMEM after $b blocks; take off its xfail mark"
	else
		ok "strict with 1 MiB blocks: ENOMEM after $b blocks, none on node 0"
	fi
else
	xfailed=1
	msg="strict with 1 MiB blocks: status $(status strict-small): $(section strict-small | grep -v '^block' | tr '\n' ' ')"
	if [ $xfail_strict_small = yes ]; then
		n=$((n + 1))
		echo "not ok $n - $msg # TODO known bug, see tests/vm/README.md"
	else
		fail "$msg (want errno=ENOMEM, none on node 0)"
	fi
fi

if expect_rc preferred-full 0; then
	l="spec fill:16M:24 "
	e=$(value preferred-full "$l" errno) b=$(value preferred-full "$l" blocks)
	n0=$(value preferred-full "$l" node0) n1=$(value preferred-full "$l" node1)
	if [ "$e" = NONE ] && [ "$b" = 24 ] && [ "${n1:-0}" -gt 32768 ] && [ "${n0:-0}" -gt 0 ]; then
		ok "preferred: 24 blocks of 16 MiB, $n1 pages on node 1, $n0 spilled to node 0"
	else
		fail "preferred: $(section preferred-full | grep "^$l")  (want 24 blocks, node 1 nearly full, the rest on node 0)"
	fi
fi

# Placement by call site: the rules cxlmu-stat wrote from the profile keep
# the hot site on node 0 and send the cold one, same block size, to node 1.
if expect_rc sites-profile 0 && expect_rc sites-rules 0 && expect_rc sites-place 0; then
	if section sites-rules | grep -q '^cxl ' && section sites-rules | grep -q '^dram '; then
		ok "sites: the rules have dram and cxl sites"
	else
		fail "sites: want dram and cxl rules: $(section sites-rules | tr '\n' ' ')"
	fi
	for g in hot:0 cold:1; do
		name=${g%:*} node=${g#*:}
		line=$(section sites-place | grep "^group $name ")
		pages=$(echo "$line" | sed -n 's/.* pages=\([0-9]*\).*/\1/p')
		got=$(echo "$line" | sed -n "s/.* node$node=\([0-9]*\).*/\1/p")
		if [ -n "$pages" ] && [ "$pages" != 0 ] && [ "$got" = "$pages" ]; then
			ok "sites: $name site: all $pages pages on node $node"
		else
			fail "sites: $name site: '$line' (want all on node $node)"
		fi
	done
fi

# No case but the known bug may end in the OOM killer.
if expect_rc oom-kills 0; then
	kills=$(section oom-kills | grep -c 'Killed process')
	if [ "$kills" -gt "$xfailed" ]; then
		fail "the OOM killer ran $kills time(s): $(section oom-kills | tr '\n' ' ')"
	else
		ok "OOM kills: $kills (known bug: $xfailed)"
	fi
fi

# --- the HMAT boot: latencies let the kernel rank the nodes ---------------
log=$build/placement-hmat.log
boot "$log" hmat -machine hmat=on \
	-numa node,nodeid=0,cpus=0-1,memdev=m0 \
	-numa node,nodeid=1,memdev=m1,initiator=0 \
	-numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-latency,latency=100 \
	-numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-bandwidth,bandwidth=20G \
	-numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=300 \
	-numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-bandwidth,bandwidth=8G

if expect_rc topology 0; then
	topo=$(section topology)
	case $topo in
	*'"cxl_nodes":[1]'*'"tiers_known":true'*) ok "hmat topology: node 1 is CXL, tiers known" ;;
	*) fail "hmat topology: want cxl_nodes [1] and tiers_known true: $topo" ;;
	esac
fi

# The 6.1 kernel reads the table (node 1's latency below) but does not yet
# rank nodes by it: both share one tier there, so no tier order is asserted.
if expect_rc hmat-latency 0 && [ "$(section hmat-latency)" = 300 ]; then
	ok "hmat: the guest sees node 1's read latency of 300 ns; tiers: $(section tiers | tr '\n' ' ')"
else
	fail "hmat: node 1 read latency '$(section hmat-latency)', want 300"
fi

echo "1..$n"
if [ $fails -ne 0 ]; then
	echo "# $fails check(s) failed; guest logs in $build"
	exit 1
fi
exit 0


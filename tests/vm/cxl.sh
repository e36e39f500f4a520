#!/bin/sh
# Proves, in a QEMU guest with an emulated CXL type-3 device (kernel 6.12),
# that the device's capacity becomes a CPU-less NUMA node through a CXL
# region, a devdax namespace and daxctl, that the runtime detects that node
# as CXL and sees it in a lower memory tier, and that every policy's pages
# land on it or off it as meant (move_pages, tests/vm/helpers/placement).
#
# One boot (tests/vm/mkinitrd.sh cxl, tests/vm/guest.sh set_cxl) sets the
# node up and runs the cases; the assertions are made here, on the host.
# TAP: one "ok N - ..." or "not ok N - ..." line per check, the plan last;
# a skip is "1..0 # SKIP why". Exit 0 pass, 1 fail, 77 skip (no qemu with
# CXL, busybox, cpio, kernel package or ndctl packages).
set -u

: "${top_srcdir:?run from make check, or set top_builddir and top_srcdir}"
. "$top_srcdir"/tests/vm/lib.sh
timeout_s=${VM_CXL_TIMEOUT:-600}

# The emulated CXL topology: one host bridge (pxb-cxl), one root port, one
# type-3 device whose 512 MiB backend is persistent capacity (QEMU 7.2's
# memdev=; later QEMUs call it persistent-memdev=) with a label storage
# area, and a 4 GiB fixed memory window routed to the host bridge.
cxl_args="-machine q35,cxl=on
 -object memory-backend-ram,id=cxl-mem0,share=on,size=512M
 -object memory-backend-ram,id=cxl-lsa0,share=on,size=1M
 -device pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1
 -device cxl-rp,port=0,bus=cxl.1,id=rp0,chassis=0,slot=2
 -device cxl-type3,bus=rp0,memdev=cxl-mem0,lsa=cxl-lsa0,id=cxl-pmem0
 -M cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G"

# Can this qemu start a TCG PC with that topology (CXL built in, firmware)?
# shellcheck disable=SC2086
need_qemu "a TCG guest with an emulated CXL device" -m 1G $cxl_args
guest_files cxl

# -cpu max,hypervisor=off: on x86 the CXL core will not commit a region's
#   decoders when CPUID says it runs under a hypervisor (it cannot trust
#   WBINVD to flush caches there: "Failed to synchronize CPU cache state");
#   TCG has no caches to flush.
# erms=off: every access to the device's memory is an MMIO access under
#   TCG; without ERMS the kernel clears pages and glibc fills them with
#   8-byte stores rather than "rep stosb" byte by byte (about twice as fast).
# pci=nomsi: QEMU 7.2's type-3 device does not implement the event
#   interrupt policy, and cxl_pci fails its probe ("Failed to get interrupt
#   for event Info log") when it has MSI vectors and the OS controls CXL
#   errors; without MSI it polls the mailbox and skips events.
# -numa node for node 0: without an SRAT the kernel keeps NUMA off and
#   gives the CXL window no node of its own (the dax device's target_node
#   would be 0).
# numa_balancing=disable, as in placement.sh.
log=$build/cxl-guest.log
echo "# booting the cxl guest (TCG; serial log in $log)"
start=$(date +%s)
# shellcheck disable=SC2086
timeout -k 5 "$timeout_s" "$QEMU" -accel tcg -cpu max,hypervisor=off,erms=off -m 1G -smp 2 \
	-object memory-backend-ram,id=m0,size=1G -numa node,nodeid=0,cpus=0-1,memdev=m0 \
	$cxl_args \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 quiet loglevel=1 panic=-1 numa_balancing=disable pci=nomsi cxlmu_set=cxl" \
	-nographic -no-reboot -nic none -monitor none -serial stdio \
	</dev/null 2>&1 | tr -d '\r' > "$log"
echo "# the guest ran $(($(date +%s) - start)) s"
if ! grep -q '^@@cxlmu-vm-done' "$log"; then
	echo "Bail out! the cxl guest did not finish within ${timeout_s}s"
	tail -n 40 "$log" | sed 's/^/# /'
	exit 1
fi

# --- reading the log (tests/vm/lib.sh) ------------------------------------

# --- the node: region, namespace, system RAM -----------------------------
echo "# guest kernel: $(sed -n 's/.*@@cxlmu-vm-start //p' "$log")"
setup=ok
for c in cxl-modules cxl-probe cxl-create-region ndctl-create-namespace \
	memory-offline-policy daxctl-system-ram; do
	if expect_rc $c 0; then
		ok "setup: $c"
	else
		setup=failed
	fi
done
if [ $setup = ok ]; then
	region=$(section cxl-create-region | sed -n 's/.*"region":"\([a-z0-9]*\)".*/\1/p' | head -n 1)
	if [ -n "$region" ] && section cxl-create-region | grep -q '"decode_state":"commit"'; then
		ok "cxl create-region: $region, decoders committed"
	else
		fail "cxl create-region: want a committed region: $(section cxl-create-region | tr -d ' \n')"
	fi
	if section ndctl-create-namespace | grep -q '"mode":"devdax"'; then
		ok "ndctl create-namespace: devdax $(section ndctl-create-namespace | sed -n 's/.*"chardev":"\([^"]*\)".*/\1/p' | head -n 1)"
	else
		fail "ndctl create-namespace: want mode devdax: $(section ndctl-create-namespace | tr -d ' \n')"
	fi
	dax=$(section daxctl-system-ram | tr -d ' \n')
	on_b=$(echo "$dax" | sed -n 's/.*"online_memblocks":\([0-9]*\).*/\1/p')
	tot_b=$(echo "$dax" | sed -n 's/.*"total_memblocks":\([0-9]*\).*/\1/p')
	case $dax in
	*'"mode":"system-ram"'*'"movable":true'*)
		if [ -n "$on_b" ] && [ "$on_b" -gt 0 ] && [ "$on_b" = "$tot_b" ]; then
			ok "daxctl: system-ram, $on_b of $tot_b memory blocks online, movable"
		else
			fail "daxctl: $on_b of $tot_b memory blocks online: $dax"
		fi ;;
	*) fail "daxctl: want mode system-ram, movable: $dax" ;;
	esac
else
	echo "Bail out! the guest could not make a node of the CXL device (cases above)"
	exit 1
fi

node=$(section cxl-node | sed -n 's/^node=\([0-9]*\) .*/\1/p')
mib=$(section cxl-node | sed -n 's/.* mib=\([0-9]*\).*/\1/p')
if [ -n "$node" ] && [ "$node" != 0 ] && [ -n "$mib" ] && [ "$mib" -gt 0 ]; then
	ok "the dax device feeds node $node, $mib MiB"
else
	echo "Bail out! no new node with memory: $(section cxl-node)"
	exit 1
fi
section cxl-node-zones | sed "s/^/# node $node zone /"
if expect_rc cxl-node-cpulist 0 && [ -z "$(section cxl-node-cpulist | tr -d ' ')" ]; then
	ok "node $node has no CPUs"
else
	fail "node $node cpulist is '$(section cxl-node-cpulist)', want empty"
fi

# --- what the runtime sees -----------------------------------------------
# The runtime names the region backing the node: on 6.12 a pmem region's
# dax device hangs off the nvdimm bridge (root0/nvdimm-bridge0/ndbus0/
# region0/dax0.0), and src/topology.c matches that nvdimm region to the
# CXL region at the same address.
if expect_rc topology 0; then
	topo=$(section topology)
	nodes=$(echo "$topo" | sed 's/^{"nodes":\[//; s/\],"cxl_nodes".*//; s/},{/}\n{/g')
	obj=$(echo "$nodes" | grep "^{\"node\":$node,")
	obj0=$(echo "$nodes" | grep '^{"node":0,')
	case $topo in
	*"\"cxl_nodes\":[$node]"*'"cxl_source":"detected"'*) ok "topology: node $node detected as the only CXL node" ;;
	*) fail "topology: want cxl_nodes [$node], detected: $topo" ;;
	esac
	case $obj0 in
	*'"cxl":false,"cxl_why":null,"cxl_region":null'*) ok "topology: node 0 is not CXL" ;;
	*) fail "topology: node 0: $obj0 (want cxl false)" ;;
	esac
	case $obj in
	*'"cxl":true,"cxl_why":"region","cxl_region":"region'[0-9]*)
		ok "topology: node $node: $(echo "$obj" | sed 's/.*\("cxl":true,"cxl_why":"region","cxl_region":"[^"]*"\).*/\1/')" ;;
	*)
		fail "topology: node $node: want cxl true, cxl_why region and a region name: $obj"
		section cxl-dax-path | sed 's/^/#   /' ;;
	esac
fi

# Memory tiers: kmem registers dax memory with the default dax distance,
# below DRAM, so the node's tier has a higher number than node 0's.
if expect_rc tiers 0; then
	tiers=$(section tiers)
	t0=$(echo "$tiers" | awk '$2 == "nodes=0" { sub("memory_tier", "", $1); print $1 }')
	tn=$(echo "$tiers" | awk -v n="nodes=$node" '$2 == n { sub("memory_tier", "", $1); print $1 }')
	if [ -n "$t0" ] && [ -n "$tn" ] && [ "$tn" -gt "$t0" ]; then
		ok "tiers: node $node in memory_tier$tn, below node 0's memory_tier$t0"
	else
		fail "tiers: want node $node alone in a tier numbered above node 0's: $(echo "$tiers" | tr '\n' ' ')"
	fi
fi

# --- placement -----------------------------------------------------------
all="malloc:64M:1 calloc:8M:2 realloc:8M:2 memalign:8M:2 malloc:4K:256 mmap:4M:1"
if expect_rc cxl 0; then
	for s in $all; do on cxl "$s" "$node"; done
fi
if expect_rc local 0; then
	for s in $all; do on local "$s" 0; done
fi

if expect_rc size 0; then
	for s in malloc:4M:4 calloc:4M:1 realloc:4M:1 memalign:4M:1; do on size "$s" "$node"; done
	for s in malloc:512K:4 malloc:4K:256; do on size "$s" 0; done
fi

expect_rc interleave-1-1 0 && share interleave-1-1 malloc:64M:1 "$node" 1 2
expect_rc interleave-3-1 0 && share interleave-3-1 malloc:64M:1 "$node" 1 4

if expect_rc budget 0; then
	for i in 0 1 2 3 4 5 6 7; do
		want=0
		[ $i -ge 4 ] && want=$node
		line="block malloc:8M:8 #$i "
		pages=$(value budget "$line" pages)
		got=$(value budget "$line" "node$want")
		if [ -n "$pages" ] && [ "$pages" != 0 ] && [ "$got" = "$pages" ]; then
			ok "budget: block $i: all $pages pages on node $want"
		else
			fail "budget: $(section budget | grep "^$line")  (want all on node $want)"
		fi
	done
fi

if expect_rc mmap-cxl 0; then
	on mmap-cxl mmap:8M:1 "$node"
	on mmap-cxl mmap:512K:1 0
fi
if expect_rc mmap-off 0; then
	on mmap-off mmap:8M:1 0
	on mmap-off malloc:8M:1 "$node"
fi

if expect_rc stats-json 0; then
	for s in malloc:16M:1 malloc:64K:256 mmap:4M:1; do on stats-json "$s" "$node"; done
	json=$(section stats-json | grep '^{')
	sampled=$(echo "$json" | sed -n 's/.*"placement":{"sampled":\([0-9]*\).*/\1/p')
	elsewhere=$(echo "$json" | sed -n 's/.*"placement":{[^}]*"elsewhere":\([0-9]*\).*/\1/p')
	unrep=$(echo "$json" | sed -n 's/.*"placement":{[^}]*"not_reported":\([0-9]*\).*/\1/p')
	nn=$(echo "$json" | sed -n "s/.*\"pages_by_node\":\[[^]]*{\"node\":$node,\"pages\":\([0-9]*\)}.*/\1/p")
	if [ -n "$sampled" ] && [ "$sampled" -gt 0 ] && [ "$elsewhere" = 0 ] && [ "$unrep" = 0 ] &&
	   [ -n "$nn" ] && [ "$nn" -gt 0 ]; then
		ok "stats json: $sampled sampled pages, 0 elsewhere, 0 not reported, $nn on node $node"
	else
		fail "stats json: want sampled > 0, elsewhere 0, not_reported 0, pages on node $node; got: $json"
	fi
fi

# The fills are sized to the node (guest.sh): strict asks for twice what it
# holds and must stop with ENOMEM; preferred asks for half a node more and
# spills to node 0.
if expect_rc strict-full 0; then
	l=$(section strict-full | grep '^spec fill:16M:' | cut -d' ' -f1-2)
	max=${l##*:}
	e=$(value strict-full "$l " errno) b=$(value strict-full "$l " blocks)
	n0=$(value strict-full "$l " node0) nn=$(value strict-full "$l " "node$node")
	if [ "$e" = ENOMEM ] && [ "$n0" = 0 ] && [ "${nn:-0}" -gt 0 ] && [ "${b:-0}" -lt "${max:-0}" ]; then
		ok "strict: ENOMEM after $b of $max blocks of 16 MiB, $nn pages on node $node, none on node 0"
	else
		fail "strict: $(section strict-full | grep "^$l ")  (want errno=ENOMEM, fewer than $max blocks, none on node 0)"
	fi
fi
if expect_rc preferred-full 0; then
	l=$(section preferred-full | grep '^spec fill:16M:' | cut -d' ' -f1-2)
	max=${l##*:}
	e=$(value preferred-full "$l " errno) b=$(value preferred-full "$l " blocks)
	n0=$(value preferred-full "$l " node0) nn=$(value preferred-full "$l " "node$node")
	half=$((mib * 256 / 2))
	if [ "$e" = NONE ] && [ "$b" = "$max" ] && [ "${nn:-0}" -gt "$half" ] && [ "${n0:-0}" -gt 0 ]; then
		ok "preferred: $max blocks of 16 MiB, $nn pages on node $node, $n0 spilled to node 0"
	else
		fail "preferred: $(section preferred-full | grep "^$l ")  (want $max blocks, over $half pages on node $node, the rest on node 0)"
	fi
fi

if expect_rc sites-profile 0 && expect_rc sites-rules 0 && expect_rc sites-place 0; then
	if section sites-rules | grep -q '^cxl ' && section sites-rules | grep -q '^dram '; then
		ok "sites: the rules have dram and cxl sites"
	else
		fail "sites: want dram and cxl rules: $(section sites-rules | tr '\n' ' ')"
	fi
	for g in hot:0 cold:$node; do
		name=${g%:*} want=${g#*:}
		line=$(section sites-place | grep "^group $name ")
		pages=$(echo "$line" | sed -n 's/.* pages=\([0-9]*\).*/\1/p')
		got=$(echo "$line" | sed -n "s/.* node$want=\([0-9]*\).*/\1/p")
		if [ -n "$pages" ] && [ "$pages" != 0 ] && [ "$got" = "$pages" ]; then
			ok "sites: $name site: all $pages pages on node $want"
		else
			fail "sites: $name site: '$line' (want all on node $want)"
		fi
	done
fi

if expect_rc oom-kills 0; then
	kills=$(section oom-kills | grep -c 'Killed process')
	if [ "$kills" -gt 0 ]; then
		fail "the OOM killer ran $kills time(s): $(section oom-kills | tr '\n' ' ')"
	else
		ok "no OOM kills"
	fi
fi

echo "1..$n"
if [ $fails -ne 0 ]; then
	echo "# $fails check(s) failed; the guest's log is $log"
	exit 1
fi
exit 0

# Sourced by the guest's /init (tests/vm/mkinitrd.sh): runs the VM test cases
# and prints each one's output between markers for tests/vm/placement.sh:
#   @@case NAME / output lines / @@rc NAME STATUS
# The set of cases comes from the kernel command line (cxlmu_set=main|hmat|cxl|shell).
# Runs under busybox sh. Assertions are made on the host, not here.

RUN=/cxlmu/cxlmu-run
P=/cxlmu/placement
LIB=/cxlmu/.libs/libcxlmu.so

run() {
	name=$1
	shift
	echo "@@case $name"
	"$@" 2>&1
	echo "@@rc $name $?"
}

# The placement cases of every policy, against whichever node the runtime
# takes for CXL (main: node 1; cxl: the region's node).
placement_cases() {
	run cxl $RUN --policy=cxl -- $P malloc:64M:1 calloc:8M:2 realloc:8M:2 \
		memalign:8M:2 malloc:4K:256 mmap:4M:1 malloc:16M:2 reuse:16M:1
	run local $RUN --policy=local -- $P malloc:64M:1 calloc:8M:2 realloc:8M:2 \
		memalign:8M:2 malloc:4K:256 mmap:4M:1 malloc:16M:2 reuse:16M:1
	run size $RUN --policy=size:1M -- $P malloc:4M:4 calloc:4M:1 realloc:4M:1 \
		memalign:4M:1 malloc:512K:4 malloc:4K:256
	run interleave-1-1 $RUN --policy=interleave:1:1 -- $P malloc:64M:1
	run interleave-3-1 $RUN --policy=interleave:3:1 -- $P malloc:64M:1
	run budget $RUN --policy=budget:36M -- $P malloc:8M:8
	run mmap-cxl $RUN --policy=cxl -- $P mmap:8M:1 mmap:512K:1
	# The environment twins under bare LD_PRELOAD, as a user would set them.
	run mmap-off env LD_PRELOAD=$LIB CXLMU_POLICY=cxl CXLMU_NO_MMAP=1 \
		$P mmap:8M:1 malloc:8M:1
	# The report samples one block in 64 and every placed mmap region.
	run stats-json $RUN --policy=cxl --stats --stats-format=json -- $P \
		malloc:16M:1 malloc:64K:256 mmap:4M:1
}

# Placement by call site: two sites allocate 64 KiB blocks, one hot
# (20000 blocks freed at once, 8 kept), one cold (64 kept). Profile,
# report, rules for a 2 MiB DRAM budget, then the run they place. One
# sample per 64 KiB: the cold site's 64 blocks give about 40 samples.
sites_cases() {
	run sites-profile $RUN --policy=local --profile=/tmp/sites.prof --sample-bytes=64K \
		-- /cxlmu/sites place
	run sites-profile-text cat /tmp/sites.prof
	run sites-report /cxlmu/cxlmu-stat --top=5 /tmp/sites.prof
	run sites-rules sh -c '/cxlmu/cxlmu-stat --rules --dram-budget=2M /tmp/sites.prof >/tmp/sites.rules && cat /tmp/sites.rules'
	run sites-place $RUN --policy=sites:/tmp/sites.rules --stats -- /cxlmu/sites place
}

set_main() {
	run node1-cpulist cat /sys/devices/system/node/node1/cpulist
	run topology $RUN --topology --json
	placement_cases
	# Node 1 is 256 MiB: ask for more than it holds.
	run strict-full $RUN --policy=cxl --strict -- $P fill:16M:32
	# Small blocks: the runtime gets small extents and comes near the node's
	# watermarks before refusing one.
	run strict-small $RUN --policy=cxl --strict -- $P fill:1M:400
	run preferred-full $RUN --policy=cxl -- $P fill:16M:24
	sites_cases
	# The console shows only critical kernel messages; OOM kills are read here.
	run oom-kills sh -c 'dmesg | grep "Killed process" || true'
}

set_hmat() {
	run topology $RUN --topology --json
	run tiers sh -c 'for d in /sys/devices/virtual/memory_tiering/memory_tier*; do
		echo "$(basename $d) nodes=$(cat $d/nodelist)"; done'
	run hmat-latency cat /sys/devices/system/node/node1/access0/initiators/read_latency
}

# The guest of tests/vm/cxl.sh (mkinitrd.sh cxl, kernel 6.12): QEMU's
# emulated CXL type-3 device made a NUMA node the way a user would, its
# persistent capacity as a CXL region, an nvdimm devdax namespace on it and
# that onlined as system RAM, then the placement cases against that node.
cxl_setup() {
	run cxl-modules sh -c 'for m in $(cat /cxlmu/mods/order); do
		insmod /cxlmu/mods/$m.ko || exit 1; done; echo loaded $(cat /cxlmu/mods/order)'
	# cxl_pci and cxl_mem probe asynchronously: wait for the memdev and
	# the endpoint port its driver adds.
	run cxl-probe sh -c 'i=0; while [ $i -lt 300 ]; do
		ls /sys/bus/cxl/devices | grep -q "^endpoint" && exec cxl list -M
		sleep 0.1; i=$((i + 1)); done; ls /sys/bus/cxl/devices; exit 1'
	run cxl-create-region cxl create-region -m -d decoder0.0 -w 1 -t pmem mem0
	run ndctl-create-namespace ndctl create-namespace --mode=devdax
	# Debian's 6.12 onlines hot-added memory itself (MHP_DEFAULT_ONLINE_TYPE
	# ONLINE_AUTO), and then daxctl refuses to online it movable.
	run memory-offline-policy sh -c 'echo offline > /sys/devices/system/memory/auto_online_blocks &&
		cat /sys/devices/system/memory/auto_online_blocks'
	run daxctl-system-ram daxctl reconfigure-device --mode=system-ram all
}

set_cxl() {
	run boot-setup sh -c 'cat /proc/cmdline; grep -o -w hypervisor /proc/cpuinfo | head -n 1'
	cxl_setup
	# The node the dax device feeds, and its size in MiB, for the fills.
	node=$(cat /sys/bus/dax/devices/dax0.0/target_node 2>/dev/null)
	mib=$(awk '/MemTotal/ { print int($4 / 1024) }' /sys/devices/system/node/node${node:-X}/meminfo 2>/dev/null)
	run cxl-node echo "node=$node mib=$mib"
	run cxl-node-cpulist cat /sys/devices/system/node/node$node/cpulist
	run cxl-node-zones awk -v n="$node," '$1 == "Node" { z = ($2 == n) ? $4 : "" }
		z != "" && ($1 == "present" || $1 == "managed") && $2 > 0 { print z, $1, $2 }' /proc/zoneinfo
	run topology $RUN --topology --json
	run tiers sh -c 'for d in /sys/devices/virtual/memory_tiering/memory_tier*; do
		echo "$(basename $d) nodes=$(cat $d/nodelist)"; done'
	run cxl-list cxl list -R
	# Where the dax device sits in sysfs: the runtime finds the region on it.
	run cxl-dax-path sh -c 'readlink /sys/bus/dax/devices/dax0.0; readlink /sys/bus/cxl/devices/region0
		for r in /sys/bus/cxl/devices/region* /sys/bus/nd/devices/region*; do
			echo "$r resource=$(cat $r/resource) node=$(cat $r/numa_node 2>/dev/null)"; done'
	placement_cases
	[ -n "$mib" ] || mib=0
	# Strict: twice what the node holds; preferred: half a node more than it holds.
	run strict-full $RUN --policy=cxl --strict -- $P fill:16M:$((mib / 8))
	run preferred-full $RUN --policy=cxl -- $P fill:16M:$((mib / 16 + mib / 32))
	sites_cases
	run oom-kills sh -c 'dmesg | grep "Killed process" || true'
	run cxl-dmesg sh -c 'dmesg | grep -iE "cxl|nvdimm|dax|kmem|demotion" | grep -v "^\[ *0\.0" || true'
}

# An interactive shell on the console; leaving it powers the guest off.
set_shell() {
	echo "cxlmu guest: programs in /cxlmu (cxlmu-run, placement); exit to power off"
	setsid cttyhack sh
}

set=main
for arg in $(cat /proc/cmdline); do
	case $arg in
	cxlmu_set=*) set=${arg#cxlmu_set=} ;;
	esac
done
echo "@@set $set"
set_$set

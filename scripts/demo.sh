#!/bin/bash
# The headline demo: a real program (perl) run plain and under cxlmu-run,
# with the placement report. Usage: scripts/demo.sh [BUILDDIR]
set -eu
b=${1:-.}
run="$b/cxlmu-run"
app=(perl -e 'my %h; $h{$_} = "x" x 200 for 1 .. 200000;
              my $n = 0; $n += length $h{$_} for keys %h; print "checksum $n\n"')

echo "== NUMA topology ($run --topology)"
"$run" --topology
emu=()
if "$run" --topology --json | grep -q '"cxl_nodes":\[\]'; then
	emu=(--cxl-nodes=0)
	echo
	echo "No CXL node here (no node with memory and no CPUs): emulating CXL on node 0."
	echo "Placement is applied with mbind and checked with move_pages; the memory is the same."
fi

echo
echo "== plain: ${app[*]:0:2} ..."
time "${app[@]}"

for policy in cxl size:4K; do
	echo
	echo "== $run ${emu[*]} --policy=$policy --stats -- perl ..."
	time "$run" "${emu[@]}" --policy="$policy" --stats -- "${app[@]}"
done

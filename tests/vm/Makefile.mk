# tests/vm/: the emulated-CXL test bed. A QEMU guest whose node 1 has memory
# and no CPUs runs the placement helper under each policy (tests/vm/README.md).
check_PROGRAMS += tests/vm/helpers/placement
tests_vm_helpers_placement_SOURCES = tests/vm/helpers/placement.c

TESTS += tests/vm/placement.sh
# The wait, fiber and remote integration scripts in a 6.1 guest with FSGSBASE.
TESTS += tests/vm/integration.sh
# A 6.12 guest with an emulated CXL type-3 device made a node by a region.
TESTS += tests/vm/cxl.sh

EXTRA_DIST += \
	tests/vm/README.md \
	tests/vm/cxl.sh \
	tests/vm/guest-int.sh \
	tests/vm/guest.sh \
	tests/vm/integration.sh \
	tests/vm/lib.sh \
	tests/vm/mkinitrd.sh \
	tests/vm/placement.sh

# The fetched kernels (and the cxl guest's modules and ndctl tools), the
# initramfs and the guests' serial logs. A directory, so CLEANFILES cannot
# take it: the top Makefile.am hooks this into clean-local.
clean-local-vm:
	-rm -rf tests/vm/build
.PHONY: clean-local-vm

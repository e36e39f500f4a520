# tests/: unit tests (Check, one program per core module), integration
# tests (programs run under the preload), and the emulated-CXL VM test bed.
AM_TESTS_ENVIRONMENT = \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	LIBCXLMU='$(abs_top_builddir)/.libs/libcxlmu.so'; export LIBCXLMU; \
	CXLMURUN='$(abs_top_builddir)/cxlmu-run'; export CXLMURUN; \
	QEMU='$(QEMU)'; export QEMU; \
	HAVE_LIBDW='$(HAVE_DW)'; export HAVE_LIBDW;

# Every .sh test speaks TAP (tests/integration/lib.sh): one line per
# behaviour, each reported by automake's TAP driver. The verdict is the
# TAP stream, so the exit status is ignored (a script run by hand still
# exits 0, 1 or 77); each script prints its plan last, so one that dies
# early has no plan and the driver reports an error. stderr is not merged:
# it goes to the test's .log as it is, where a program's own output cannot
# pass for a result.
TEST_EXTENSIONS = .sh
SH_LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
AM_SH_LOG_DRIVER_FLAGS = --ignore-exit

include tests/unit/Makefile.mk

include tests/integration/Makefile.mk
include tests/vm/Makefile.mk

# The layers run one way: src/ never calls what libcxlmu.so exports.
TESTS += tests/layering.sh
EXTRA_DIST += tests/layering.sh

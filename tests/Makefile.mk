# tests/: unit tests (Check, one program per core module), integration
# tests (programs run under the preload), and the emulated-CXL VM test bed.
AM_TESTS_ENVIRONMENT = \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	LIBCXLMU='$(abs_top_builddir)/.libs/libcxlmu.so'; export LIBCXLMU; \
	CXLMURUN='$(abs_top_builddir)/cxlmu-run'; export CXLMURUN; \
	QEMU='$(QEMU)'; export QEMU; \
	HAVE_LIBDW='$(HAVE_DW)'; export HAVE_LIBDW;

include tests/unit/Makefile.mk
include tests/integration/Makefile.mk
include tests/vm/Makefile.mk

# The layers run one way: src/ never calls what libcxlmu.so exports.
TESTS += tests/layering.sh
EXTRA_DIST += tests/layering.sh

# tests/: unit tests (Check, one program per core module), integration
# tests (programs run under the preload), and the emulated-CXL VM test bed.
AM_TESTS_ENVIRONMENT = \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	CXLMU_LIB='$(abs_top_builddir)/.libs/libcxlmu.so'; export CXLMU_LIB; \
	CXLMU_RUN='$(abs_top_builddir)/cxlmu-run'; export CXLMU_RUN; \
	QEMU='$(QEMU)'; export QEMU;

include tests/unit/Makefile.mk
include tests/integration/Makefile.mk
include tests/vm/Makefile.mk

# tools/: cxlmu-run.
bin_PROGRAMS += cxlmu-run
cxlmu_run_SOURCES = tools/cxlmu-run.c
cxlmu_run_CPPFLAGS = $(AM_CPPFLAGS) -DCXLMU_LIBDIR='"$(libdir)"'
cxlmu_run_CFLAGS = $(AM_CFLAGS) $(NUMA_CFLAGS)
cxlmu_run_LDADD = libcxlmu-base.la $(NUMA_LIBS)

# Generates the table-driven sections of the man pages.
noinst_PROGRAMS += cxlmu-mangen
cxlmu_mangen_SOURCES = tools/cxlmu-mangen.c
cxlmu_mangen_LDADD = libcxlmu-base.la

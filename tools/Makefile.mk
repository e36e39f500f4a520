# tools/: cxlmu-run and cxlmu-stat.
bin_PROGRAMS += cxlmu-run
cxlmu_run_SOURCES = tools/cxlmu-run.c
cxlmu_run_CPPFLAGS = $(AM_CPPFLAGS) -DCXLMU_LIBDIR='"$(libdir)"' \
	-DCXLMU_SONAME='"$(CXLMU_SONAME)"'
# No libnuma at link time: its constructor reads /proc and /sys in every
# run, and only --topology uses it (dlopen there).
cxlmu_run_CFLAGS = $(AM_CFLAGS)
cxlmu_run_LDADD = libcxlmu-base.la

# Reads allocation profiles; libdw names the frames. -lstdc++ for
# __cxa_demangle, which C++ frames need. Built where configure found libdw.
if HAVE_DW
bin_PROGRAMS += cxlmu-stat
cxlmu_stat_SOURCES = \
	tools/cxlmu-stat.c \
	tools/stat-profile.c \
	tools/stat-rules.c \
	tools/stat-symbols.c \
	tools/stat.h
cxlmu_stat_CFLAGS = $(AM_CFLAGS) $(DW_CFLAGS)
cxlmu_stat_LDADD = libcxlmu-base.la $(DW_LIBS) -lstdc++
else
EXTRA_DIST += \
	tools/cxlmu-stat.c \
	tools/stat-profile.c \
	tools/stat-rules.c \
	tools/stat-symbols.c \
	tools/stat.h
endif

# Generates the table-driven sections of the man pages.
noinst_PROGRAMS += cxlmu-mangen
cxlmu_mangen_SOURCES = tools/cxlmu-mangen.c
cxlmu_mangen_LDADD = libcxlmu-base.la

# preload/: the interposed symbols of libcxlmu.so, thin forwarders into src/.
lib_LTLIBRARIES += libcxlmu.la
libcxlmu_la_SOURCES = \
	preload/alloc.h \
	preload/dl.c \
	preload/malloc.c \
	preload/mmap.c \
	preload/new.c \
	preload/seccomp.c \
	preload/signal.c \
	preload/sleep.c \
	preload/sync.c \
	preload/thread.c
libcxlmu_la_CFLAGS = $(AM_CFLAGS) -fno-builtin -fno-tree-loop-distribute-patterns \
	$(JEMALLOC_CFLAGS) $(URING_CFLAGS)
if JEMALLOC_STATIC
libcxlmu_la_CFLAGS += -DCXLMU_JEMALLOC_STATIC
endif
libcxlmu_la_LIBADD = $(CXLMU_CORE_LIBS)
# -version-info: configure.ac holds the numbers and the rule for bumping them.
# -static-libgcc: the unwinder jemalloc's profiling names (_Unwind_Backtrace)
# comes from libgcc_eh.a, hidden by the version script, rather than from
# libgcc_s.so.1, one library fewer for ld.so to load into every process.
libcxlmu_la_LDFLAGS = -version-info $(CXLMU_LT_VERSION) -shared \
	-Wl,--version-script=$(top_srcdir)/preload/libcxlmu.map \
	-Wl,-z,nodelete -Wc,-static-libgcc
EXTRA_libcxlmu_la_DEPENDENCIES = $(top_srcdir)/preload/libcxlmu.map $(noinst_DATA)
EXTRA_DIST += preload/libcxlmu.map

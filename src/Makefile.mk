# src/: the core, one concern per file. Two convenience libraries:
# libcxlmu-base (configuration, topology, policy: what tools need) and
# libcxlmu-core (the runtime proper, for libcxlmu.so and the unit tests).
noinst_LTLIBRARIES += libcxlmu-base.la libcxlmu-core.la
libcxlmu_base_la_SOURCES = \
	src/internal.h \
	src/log.c \
	src/log.h \
	src/options.c \
	src/options.h \
	src/policy.c \
	src/policy.h \
	src/prim.h \
	src/prim/linux.c \
	src/topology.c \
	src/topology.h
libcxlmu_base_la_CFLAGS = $(AM_CFLAGS) $(NUMA_CFLAGS)

libcxlmu_core_la_SOURCES = \
	src/api.c \
	src/heap.c \
	src/heap.h \
	src/mapping.c \
	src/mapping.h \
	src/runtime.c \
	src/runtime.h \
	src/stats.c \
	src/stats.h
libcxlmu_core_la_CFLAGS = $(AM_CFLAGS) -fno-builtin-malloc -fno-builtin-free \
	$(NUMA_CFLAGS) $(JEMALLOC_CFLAGS)
libcxlmu_core_la_LIBADD = libcxlmu-base.la $(JEMALLOC_LIBS) -lpthread

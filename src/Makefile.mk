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
	src/parse.c \
	src/parse.h \
	src/policy.c \
	src/policy.h \
	src/prim.h \
	src/prim/linux.c \
	src/rules.c \
	src/rules.h \
	src/topology.c \
	src/topology.h
libcxlmu_base_la_CFLAGS = $(AM_CFLAGS) $(NUMA_CFLAGS)

libcxlmu_core_la_SOURCES = \
	src/abicheck.c \
	src/abicheck.h \
	src/api.c \
	src/callsite.c \
	src/callsite.h \
	src/deadline.c \
	src/deadline.h \
	src/dlload.c \
	src/dlload.h \
	src/fiber.c \
	src/fiber.h \
	src/fiber_x86_64.S \
	src/file.c \
	src/file.h \
	src/glibc_abi.h \
	src/got.c \
	src/got.h \
	src/heap.c \
	src/heap.h \
	src/libc.c \
	src/libc.h \
	src/mapping.c \
	src/mapping.h \
	src/pollrule.c \
	src/pollrule.h \
	src/profile.c \
	src/profile.h \
	src/remote.c \
	src/remote.h \
	src/remote_x86_64.S \
	src/remote_x86_64.h \
	src/report.c \
	src/report.h \
	src/ring.c \
	src/ring.h \
	src/runtime.c \
	src/runtime.h \
	src/sandbox.c \
	src/sandbox.h \
	src/sched_block.c \
	src/sched_impl.h \
	src/sched_monitor.c \
	src/sched_queue.c \
	src/sched_signal.c \
	src/sched_signal.h \
	src/sched_sleep.c \
	src/sched_thread.h \
	src/sched_wait.h \
	src/sched_why.c \
	src/scheduler.c \
	src/scheduler.h \
	src/sites.c \
	src/sites.h \
	src/stats.c \
	src/stats.h \
	src/sync.c \
	src/sync.h \
	src/wait.c \
	src/wait.h
libcxlmu_core_la_CFLAGS = $(AM_CFLAGS) -fno-builtin-malloc -fno-builtin-free \
	$(NUMA_CFLAGS) $(JEMALLOC_CFLAGS) $(URING_CFLAGS) $(UNWIND_CFLAGS) $(CAPSTONE_CFLAGS)
if JEMALLOC_STATIC
libcxlmu_core_la_CFLAGS += -DCXLMU_JEMALLOC_STATIC
endif
# No $(UNWIND_LIBS): src/callsite.c loads libunwind with dlopen.
libcxlmu_core_la_LIBADD = libcxlmu-base.la -lm -lpthread
if JEMALLOC_STATIC
# jemalloc's own malloc, free... would clash with ours: rename them. Its
# system calls go to errno-neutral wrappers (src/jeos.c). Its one
# constructor (jemalloc.c's, the only .init_array of the archive) goes:
# it set up arena 0 and the thread cache, some 40 page faults, in every
# process, one that never allocates included; jemalloc starts on its
# first call anyway, and that comes before any thread is created (glibc's
# pthread_create allocates the new thread's TLS with malloc in the
# creating thread).
jemalloc_renames = \
	--redefine-sym aligned_alloc=cxlmu_je_aligned_alloc \
	--redefine-sym calloc=cxlmu_je_calloc \
	--redefine-sym free=cxlmu_je_free \
	--redefine-sym malloc=cxlmu_je_malloc \
	--redefine-sym malloc_usable_size=cxlmu_je_malloc_usable_size \
	--redefine-sym memalign=cxlmu_je_memalign \
	--redefine-sym posix_memalign=cxlmu_je_posix_memalign \
	--redefine-sym realloc=cxlmu_je_realloc \
	--redefine-sym valloc=cxlmu_je_valloc \
	--redefine-sym madvise=cxlmu_je_madvise \
	--redefine-sym mmap=cxlmu_je_mmap \
	--redefine-sym mprotect=cxlmu_je_mprotect \
	--redefine-sym munmap=cxlmu_je_munmap \
	--redefine-sym sched_yield=cxlmu_je_sched_yield \
	--remove-section=.init_array --remove-section=.rela.init_array
libcxlmu-je.a: $(JEMALLOC_PIC) $(top_srcdir)/src/Makefile.mk
	$(AM_V_GEN)$(OBJCOPY) $(jemalloc_renames) $(JEMALLOC_PIC) $@
noinst_DATA = libcxlmu-je.a
CLEANFILES += libcxlmu-je.a
# libtool will not put a plain archive into a convenience library, so
# whatever links the core links this too: use $(CXLMU_CORE_LIBS). The
# archive's system-call wrappers come after it, for static links.
noinst_LTLIBRARIES += libcxlmu-jeos.la
libcxlmu_jeos_la_SOURCES = src/jeos.c
JEMALLOC_LINK = libcxlmu-je.a libcxlmu-jeos.la -lm -ldl
else
JEMALLOC_LINK = $(JEMALLOC_LIBS)
endif
CXLMU_CORE_LIBS = libcxlmu-core.la $(JEMALLOC_LINK) $(URING_LINK)
EXTRA_DIST += src/jeos.c

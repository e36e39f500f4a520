# bench/: measurements, not tests (timings never go into `make check`).
# The programs are built by `make` (and so compiled by distcheck); the
# scripts run them and print tables. See bench/README.md.

# The allocation workload with plain malloc/free: run under glibc, under
# LD_PRELOAD'ed jemalloc and under libcxlmu by bench/run-alloc.sh, and
# under the other allocators too by bench/run-peers.sh.
noinst_PROGRAMS += cxlmu-bench-alloc
cxlmu_bench_alloc_SOURCES = bench/alloc.c
cxlmu_bench_alloc_CFLAGS = $(AM_CFLAGS) $(NUMA_CFLAGS)
cxlmu_bench_alloc_LDADD = $(NUMA_LIBS) -lpthread

# The same workload on node-bound arenas of each candidate backend
# (bench/run-backend.sh): jemalloc arena with mbind'ing extent hooks and
# explicit tcache, against jemalloc's default path.
noinst_PROGRAMS += cxlmu-bench-je
cxlmu_bench_je_SOURCES = bench/alloc.c
cxlmu_bench_je_CPPFLAGS = $(AM_CPPFLAGS) -DBENCH_JE
cxlmu_bench_je_CFLAGS = $(AM_CFLAGS) $(NUMA_CFLAGS) $(JEMALLOC_CFLAGS)
cxlmu_bench_je_LDADD = $(JEMALLOC_LIBS) $(NUMA_LIBS) -lpthread

if HAVE_MIMALLOC
# mimalloc exclusive arena over an mbind'ed reservation, heap per thread,
# against mimalloc's default path.
noinst_PROGRAMS += cxlmu-bench-mi
cxlmu_bench_mi_SOURCES = bench/alloc.c
cxlmu_bench_mi_CPPFLAGS = $(AM_CPPFLAGS) -DBENCH_MI
cxlmu_bench_mi_CFLAGS = $(AM_CFLAGS) $(NUMA_CFLAGS)
cxlmu_bench_mi_LDADD = -lmimalloc $(NUMA_LIBS) -lpthread
endif

# Start-up cost of cxlmu-run and of the bare preload (bench/run-startup.sh).
noinst_PROGRAMS += cxlmu-bench-startup
cxlmu_bench_startup_SOURCES = bench/startup.c

# The founding experiment: two threads polling each other over rings with
# usleep(1) and kin (bench/run-seedpoll.sh; with --locals=N, N local threads
# and one remote, bench/run-inflight.sh), and its C++ twin with
# std::this_thread::sleep_for.
noinst_PROGRAMS += cxlmu-bench-seedpoll
cxlmu_bench_seedpoll_SOURCES = bench/seedpoll.c src/fiber.c src/fiber.h src/fiber_x86_64.S
cxlmu_bench_seedpoll_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src
cxlmu_bench_seedpoll_LDADD = libcxlmu-base.la -lpthread

noinst_PROGRAMS += cxlmu-bench-seedpoll-cxx
cxlmu_bench_seedpoll_cxx_SOURCES = bench/seedpoll-cxx.cc
cxlmu_bench_seedpoll_cxx_LDADD = -lpthread

# One fiber switch (bench/fiberswitch.c), against the 50 ns target.
noinst_PROGRAMS += cxlmu-bench-fiberswitch
cxlmu_bench_fiberswitch_SOURCES = bench/fiberswitch.c src/fiber.c src/fiber.h \
	src/fiber_x86_64.S
cxlmu_bench_fiberswitch_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src
cxlmu_bench_fiberswitch_LDADD = libcxlmu-base.la

EXTRA_DIST += \
	bench/README.md \
	bench/lib.sh \
	bench/run-all.sh \
	bench/run-alloc.sh \
	bench/run-backend.sh \
	bench/run-inflight.sh \
	bench/run-peers.sh \
	bench/run-pingpong.sh \
	bench/run-remote.sh \
	bench/run-seedpoll.sh \
	bench/run-startup.sh

# Hand-offs between two threads through a condition variable, semaphores
# or a mutex (bench/run-pingpong.sh: plain against fibers on one CPU).
noinst_PROGRAMS += cxlmu-bench-pingpong
cxlmu_bench_pingpong_SOURCES = bench/pingpong.c
cxlmu_bench_pingpong_LDADD = -lpthread

# Issue 6: the seed's program shape, a local program that dlopens a remote
# library (libremote.so) and calls its function in a loop from N threads
# pinned to one CPU, with local work between the calls (bench/run-remote.sh:
# plain, and under cxlmu-run --remote with an agent on another CPU).
# -rpath makes libtool build the shared object, .libs/libremote.so, which
# the program finds next to itself; nothing installs it.
noinst_LTLIBRARIES += libremote.la
libremote_la_SOURCES = bench/libremote.c
libremote_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere

noinst_PROGRAMS += cxlmu-bench-remote
# remote.c includes libremote.c for the same units of work, compiled in.
cxlmu_bench_remote_SOURCES = bench/remote.c
cxlmu_bench_remote_LDADD = -ldl -lpthread

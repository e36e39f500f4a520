# tests/integration/: programs run under the preload (LD_PRELOAD=libcxlmu.so
# or cxlmu-run). The helpers never link libcxlmu: they reach its public API
# through dlsym. Each .sh says on its first line what it proves.
integration_tests = \
	tests/integration/bad-environment.sh \
	tests/integration/cxlmu-run-options.sh \
	tests/integration/cxx-new-delete.sh \
	tests/integration/dlopen.sh \
	tests/integration/exec.sh \
	tests/integration/fibers.sh \
	tests/integration/fiber-signals.sh \
	tests/integration/fiber-sync.sh \
	tests/integration/fork-while-allocating.sh \
	tests/integration/heap-checks.sh \
	tests/integration/large-blocks.sh \
	tests/integration/lifetime.sh \
	tests/integration/malloc-family.sh \
	tests/integration/placement.sh \
	tests/integration/profile.sh \
	tests/integration/quiet.sh \
	tests/integration/real-gcc.sh \
	tests/integration/real-git.sh \
	tests/integration/real-perl.sh \
	tests/integration/python-tests.sh \
	tests/integration/real-python3.sh \
	tests/integration/real-sqlite3.sh \
	tests/integration/remote.sh \
	tests/integration/sched-auto.sh \
	tests/integration/sched-lazy.sh \
	tests/integration/sched-signals.sh \
	tests/integration/secure-fds.sh \
	tests/integration/secure-files.sh \
	tests/integration/secure-seccomp.sh \
	tests/integration/secure-setuid.sh \
	tests/integration/sleep-fallbacks.sh \
	tests/integration/sleep-fork.sh \
	tests/integration/sleep-many.sh \
	tests/integration/sleep-polling.sh \
	tests/integration/sleep-semantics.sh \
	tests/integration/stat.sh \
	tests/integration/stats.sh \
	tests/integration/thread-churn.sh \
	tests/integration/threads.sh

TESTS += $(integration_tests)
EXTRA_DIST += \
	$(integration_tests) \
	tests/integration/checkjson.py \
	tests/integration/data/stat-basic.prof \
	tests/integration/data/stat-rules.prof \
	tests/integration/profile.py \
	tests/integration/lib.sh

check_PROGRAMS += \
	tests/integration/helpers/bigreuse \
	tests/integration/helpers/churn \
	tests/integration/helpers/cxxnew \
	tests/integration/helpers/dlhost \
	tests/integration/helpers/execer \
	tests/integration/helpers/family \
	tests/integration/helpers/fdreuse \
	tests/integration/helpers/fibcxx \
	tests/integration/helpers/fibers \
	tests/integration/helpers/fibsync \
	tests/integration/helpers/forkstress \
	tests/integration/helpers/heapcheck \
	tests/integration/helpers/lazy \
	tests/integration/helpers/lifetime \
	tests/integration/helpers/manysites \
	tests/integration/helpers/noiouring \
	tests/integration/helpers/placement \
	tests/integration/helpers/pollpair \
	tests/integration/helpers/pollspin \
	tests/integration/helpers/remhost \
	tests/integration/helpers/sandboxed \
	tests/integration/helpers/seclaunch \
	tests/integration/helpers/secprog \
	tests/integration/helpers/sigfib \
	tests/integration/helpers/sigterm \
	tests/integration/helpers/sites \
	tests/integration/helpers/sleepcxx \
	tests/integration/helpers/sleepfork \
	tests/integration/helpers/sleepmany \
	tests/integration/helpers/sleepsem \
	tests/integration/helpers/statsprog \
	tests/integration/helpers/statsym \
	tests/integration/helpers/threads

# Every helper builds with the same flags (automake has no per-directory
# ones, so each names them, in one line): the tests' headers (common.h,
# sleep.h), and -fno-builtin: the helpers test malloc's contract, so the
# compiler must not fold or drop the calls. A C helper's source is its
# default, tests/integration/helpers/NAME.c.
helper_cflags = $(AM_CFLAGS) -I$(top_srcdir)/tests/integration -fno-builtin -pthread
helper_cxxflags = $(AM_CXXFLAGS) -I$(top_srcdir)/tests/integration -fno-builtin -pthread
EXTRA_DIST += \
	tests/integration/common.h \
	tests/integration/sleep.h

tests_integration_helpers_bigreuse_CFLAGS = $(helper_cflags)
tests_integration_helpers_churn_CFLAGS = $(helper_cflags)
tests_integration_helpers_dlhost_CFLAGS = $(helper_cflags)
tests_integration_helpers_execer_CFLAGS = $(helper_cflags)
tests_integration_helpers_family_CFLAGS = $(helper_cflags)
tests_integration_helpers_fdreuse_CFLAGS = $(helper_cflags)
tests_integration_helpers_fibers_CFLAGS = $(helper_cflags)
tests_integration_helpers_fibsync_CFLAGS = $(helper_cflags)
tests_integration_helpers_forkstress_CFLAGS = $(helper_cflags)
tests_integration_helpers_heapcheck_CFLAGS = $(helper_cflags)
tests_integration_helpers_lazy_CFLAGS = $(helper_cflags)
tests_integration_helpers_manysites_CFLAGS = $(helper_cflags)
tests_integration_helpers_noiouring_CFLAGS = $(helper_cflags)
tests_integration_helpers_placement_CFLAGS = $(helper_cflags)
tests_integration_helpers_pollpair_CFLAGS = $(helper_cflags)
tests_integration_helpers_pollspin_CFLAGS = $(helper_cflags)
tests_integration_helpers_remhost_CFLAGS = $(helper_cflags)
tests_integration_helpers_sandboxed_CFLAGS = $(helper_cflags)
tests_integration_helpers_seclaunch_CFLAGS = $(helper_cflags)
# secure-setuid.sh copies secprog and installs it set-user-ID root: a
# plain program (it links no libtool library, so no wrapper script).
tests_integration_helpers_secprog_CFLAGS = $(helper_cflags)
tests_integration_helpers_sigfib_CFLAGS = $(helper_cflags)
tests_integration_helpers_sigterm_CFLAGS = $(helper_cflags)
tests_integration_helpers_sites_CFLAGS = $(helper_cflags)
tests_integration_helpers_sleepfork_CFLAGS = $(helper_cflags)
tests_integration_helpers_sleepmany_CFLAGS = $(helper_cflags)
tests_integration_helpers_sleepsem_CFLAGS = $(helper_cflags)
tests_integration_helpers_statsprog_CFLAGS = $(helper_cflags)
tests_integration_helpers_threads_CFLAGS = $(helper_cflags)

tests_integration_helpers_cxxnew_SOURCES = tests/integration/helpers/cxxnew.cc
tests_integration_helpers_cxxnew_CXXFLAGS = $(helper_cxxflags)
tests_integration_helpers_fibcxx_SOURCES = tests/integration/helpers/fibcxx.cc
tests_integration_helpers_fibcxx_CXXFLAGS = $(helper_cxxflags)
tests_integration_helpers_lifetime_SOURCES = tests/integration/helpers/lifetime.cc
tests_integration_helpers_lifetime_CXXFLAGS = $(helper_cxxflags)
tests_integration_helpers_sleepcxx_SOURCES = tests/integration/helpers/sleepcxx.cc
tests_integration_helpers_sleepcxx_CXXFLAGS = $(helper_cxxflags)
# statsym: functions for cxlmu-stat to name; stat.sh finds them with nm.
tests_integration_helpers_statsym_SOURCES = tests/integration/helpers/statsym.cc
tests_integration_helpers_statsym_CXXFLAGS = $(helper_cxxflags)

# sites: libnuma's headers and library too.
tests_integration_helpers_sites_CFLAGS += $(NUMA_CFLAGS)
tests_integration_helpers_sites_LDADD = $(NUMA_LIBS)

# The module dlhost loads: a libtool module, built to .libs/dlmod.so.
check_LTLIBRARIES += tests/integration/helpers/dlmod.la
tests_integration_helpers_dlmod_la_SOURCES = tests/integration/helpers/dlmod.cc
tests_integration_helpers_dlmod_la_CXXFLAGS = $(helper_cxxflags)
tests_integration_helpers_dlmod_la_LDFLAGS = -module -avoid-version -rpath /nowhere

# Remote calls (remote.sh): remhost links libremfns, so its calls go through
# the PLT (-no-install: a real binary with its run path, no libtool
# wrapper script, since the runtime must see this program, not a shell);
# remlate is a module it loads later that calls into libremfns itself;
# remwrap wraps rf_add through dlsym(RTLD_NEXT), preloaded.
check_LTLIBRARIES += tests/integration/helpers/libremfns.la
tests_integration_helpers_libremfns_la_SOURCES = \
	tests/integration/helpers/remfns.c \
	tests/integration/helpers/remfns.h
tests_integration_helpers_libremfns_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/integration
tests_integration_helpers_libremfns_la_CFLAGS = $(helper_cflags)
tests_integration_helpers_libremfns_la_LDFLAGS = -avoid-version -rpath /nowhere

check_LTLIBRARIES += tests/integration/helpers/remlate.la
tests_integration_helpers_remlate_la_SOURCES = tests/integration/helpers/remlate.c
tests_integration_helpers_remlate_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/integration
tests_integration_helpers_remlate_la_CFLAGS = $(helper_cflags)
tests_integration_helpers_remlate_la_LDFLAGS = -module -avoid-version -rpath /nowhere
tests_integration_helpers_remlate_la_LIBADD = tests/integration/helpers/libremfns.la

check_LTLIBRARIES += tests/integration/helpers/remwrap.la
tests_integration_helpers_remwrap_la_SOURCES = tests/integration/helpers/remwrap.c
tests_integration_helpers_remwrap_la_CFLAGS = $(helper_cflags)
tests_integration_helpers_remwrap_la_LDFLAGS = -module -avoid-version -rpath /nowhere
tests_integration_helpers_remwrap_la_LIBADD = -ldl

tests_integration_helpers_remhost_LDADD = tests/integration/helpers/libremfns.la -ldl
tests_integration_helpers_remhost_LDFLAGS = -no-install

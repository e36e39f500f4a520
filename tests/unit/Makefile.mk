# tests/unit/: Check unit tests, one program per core module. Each links the
# core like libcxlmu.so does (no LD_PRELOAD) and shares tests/unit/main.c,
# compiled per program with -DSUITE=suite_<module>.
if HAVE_CHECK
unit_tests = \
	tests/unit/check_abicheck \
	tests/unit/check_deadline \
	tests/unit/check_fiber \
	tests/unit/check_file \
	tests/unit/check_heap \
	tests/unit/check_mapping \
	tests/unit/check_options \
	tests/unit/check_policy \
	tests/unit/check_pollrule \
	tests/unit/check_rules \
	tests/unit/check_schedqueue \
	tests/unit/check_stats \
	tests/unit/check_topology

check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)

unit_common = tests/unit/main.c tests/unit/unit.h
unit_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit
unit_cflags = $(AM_CFLAGS) $(CHECK_CFLAGS)
unit_ldadd = $(CXLMU_CORE_LIBS) $(CHECK_LIBS)

# abicheck_fns.c is compiled twice: as itself (-O2 copy) and included by
# abicheck_fns_O0.c (-O0 copy); each function sets its own level. The test
# finds them by name in the dynamic symbol table: -export-dynamic.
tests_unit_check_abicheck_SOURCES = $(unit_common) \
	tests/unit/check_abicheck.c \
	tests/unit/abicheck_fns.c \
	tests/unit/abicheck_fns_O0.c
tests_unit_check_abicheck_CPPFLAGS = $(unit_cppflags) -DSUITE=suite_abicheck
tests_unit_check_abicheck_CFLAGS = $(unit_cflags)
tests_unit_check_abicheck_LDFLAGS = -export-dynamic
tests_unit_check_abicheck_LDADD = $(unit_ldadd) -ldl

tests_unit_check_deadline_SOURCES = $(unit_common) tests/unit/check_deadline.c
tests_unit_check_deadline_CPPFLAGS = $(unit_cppflags) -DSUITE=suite_deadline
tests_unit_check_deadline_CFLAGS = $(unit_cflags)
tests_unit_check_deadline_LDADD = $(unit_ldadd)

tests_unit_check_fiber_SOURCES = $(unit_common) tests/unit/check_fiber.c
tests_unit_check_fiber_CPPFLAGS = $(unit_cppflags) -DSUITE=suite_fiber
tests_unit_check_fiber_CFLAGS = $(unit_cflags)
tests_unit_check_fiber_LDADD = $(unit_ldadd) -lm

tests_unit_check_file_SOURCES = $(unit_common) tests/unit/check_file.c
tests_unit_check_file_CPPFLAGS = $(unit_cppflags) -DSUITE=suite_file
tests_unit_check_file_CFLAGS = $(unit_cflags)
tests_unit_check_file_LDADD = $(unit_ldadd)

tests_unit_check_heap_SOURCES = $(unit_common) tests/unit/check_heap.c
tests_unit_check_heap_CPPFLAGS = $(unit_cppflags) -DSUITE=suite_heap
tests_unit_check_heap_CFLAGS = $(unit_cflags)
tests_unit_check_heap_LDADD = $(unit_ldadd)

tests_unit_check_mapping_SOURCES = $(unit_common) tests/unit/check_mapping.c
tests_unit_check_mapping_CPPFLAGS = $(unit_cppflags) -DSUITE=suite_mapping
tests_unit_check_mapping_CFLAGS = $(unit_cflags)
tests_unit_check_mapping_LDADD = $(unit_ldadd)

tests_unit_check_options_SOURCES = $(unit_common) tests/unit/check_options.c
tests_unit_check_options_CPPFLAGS = $(unit_cppflags) -DSUITE=suite_options
tests_unit_check_options_CFLAGS = $(unit_cflags)
tests_unit_check_options_LDADD = $(unit_ldadd)

tests_unit_check_policy_SOURCES = $(unit_common) tests/unit/check_policy.c
tests_unit_check_policy_CPPFLAGS = $(unit_cppflags) -DSUITE=suite_policy
tests_unit_check_policy_CFLAGS = $(unit_cflags)
tests_unit_check_policy_LDADD = $(unit_ldadd)

tests_unit_check_pollrule_SOURCES = $(unit_common) tests/unit/check_pollrule.c
tests_unit_check_pollrule_CPPFLAGS = $(unit_cppflags) -DSUITE=suite_pollrule
tests_unit_check_pollrule_CFLAGS = $(unit_cflags)
tests_unit_check_pollrule_LDADD = $(unit_ldadd)

tests_unit_check_rules_SOURCES = $(unit_common) tests/unit/check_rules.c
tests_unit_check_rules_CPPFLAGS = $(unit_cppflags) -DSUITE=suite_rules
tests_unit_check_rules_CFLAGS = $(unit_cflags)
tests_unit_check_rules_LDADD = libcxlmu-base.la $(CHECK_LIBS)

tests_unit_check_schedqueue_SOURCES = $(unit_common) tests/unit/check_schedqueue.c
tests_unit_check_schedqueue_CPPFLAGS = $(unit_cppflags) -DSUITE=suite_schedqueue
tests_unit_check_schedqueue_CFLAGS = $(unit_cflags)
tests_unit_check_schedqueue_LDADD = $(unit_ldadd)

tests_unit_check_stats_SOURCES = $(unit_common) tests/unit/check_stats.c
tests_unit_check_stats_CPPFLAGS = $(unit_cppflags) -DSUITE=suite_stats
tests_unit_check_stats_CFLAGS = $(unit_cflags)
tests_unit_check_stats_LDADD = $(unit_ldadd)

tests_unit_check_topology_SOURCES = $(unit_common) tests/unit/check_topology.c
tests_unit_check_topology_CPPFLAGS = $(unit_cppflags) -DSUITE=suite_topology
tests_unit_check_topology_CFLAGS = $(unit_cflags)
tests_unit_check_topology_LDADD = $(unit_ldadd)
else
# Without Check (configure said so): one skipped test that names it.
TESTS += tests/unit/no-check.sh
endif
EXTRA_DIST += tests/unit/no-check.sh

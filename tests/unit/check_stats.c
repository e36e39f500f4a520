/* Unit tests of src/stats.c: per-thread batches merged on flush, peaks,
 * the DRAM-tier live bytes the budget policy reads, and the report in
 * text and JSON, read back from a pipe or a memfd. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "options.h"
#include "report.h"
#include "stats.h"
#include "unit.h"

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static struct cxlmu_node_totals node_totals(unsigned n)
{
	struct cxlmu_node_totals s;
	cxlmu_stats_node(n, &s);
	return s;
}

static struct cxlmu_node_totals tier_totals(enum cxlmu_tier t)
{
	struct cxlmu_node_totals s;
	cxlmu_stats_tier(t, &s);
	return s;
}

#define ASSERT_TOTALS(what, s, l_, p_, t_, a_, f_) \
	ck_assert_msg((s).bytes_live == (l_) && (s).bytes_peak == (p_) && \
		      (s).bytes_total == (t_) && (s).allocations == (a_) && \
		      (s).frees == (f_), \
		      "%s: live %lld peak %lld total %llu allocs %llu frees %llu, want " \
		      "%lld %lld %llu %llu %llu", what, (long long)(s).bytes_live, \
		      (long long)(s).bytes_peak, (unsigned long long)(s).bytes_total, \
		      (unsigned long long)(s).allocations, (unsigned long long)(s).frees, \
		      (long long)(l_), (long long)(p_), (unsigned long long)(t_), \
		      (unsigned long long)(a_), (unsigned long long)(f_))

/* ----------------------------------------------------------------------- */
/* Counters                                                                  */
/* ----------------------------------------------------------------------- */

START_TEST(batched_until_flush)
{
	struct cxlmu_node_totals s;

	cxlmu_stats_alloc(3, CXLMU_TIER_CXL, 1000, 1);
	s = node_totals(3);
	ASSERT_TOTALS("node 3 before flush (one 1000-byte block, batched)", s, 0, 0, 0, 0, 0);
	cxlmu_stats_flush();
	s = node_totals(3);
	ASSERT_TOTALS("node 3 after flush", s, 1000, 1000, 1000, 1, 0);
	s = tier_totals(CXLMU_TIER_CXL);
	ASSERT_TOTALS("cxl tier after flush", s, 1000, 1000, 1000, 1, 0);
	s = tier_totals(CXLMU_TIER_DRAM);
	ASSERT_TOTALS("dram tier after a cxl block", s, 0, 0, 0, 0, 0);
}
END_TEST

START_TEST(flush_on_bytes)
{
	struct cxlmu_node_totals s;

	cxlmu_stats_alloc(4, CXLMU_TIER_DRAM, CXLMU_STATS_FLUSH_BYTES, 1);
	s = node_totals(4);
	ASSERT_TOTALS("node 4 after one block of CXLMU_STATS_FLUSH_BYTES, no flush", s,
		      CXLMU_STATS_FLUSH_BYTES, CXLMU_STATS_FLUSH_BYTES, CXLMU_STATS_FLUSH_BYTES, 1, 0);
	cxlmu_stats_free(4, CXLMU_TIER_DRAM, CXLMU_STATS_FLUSH_BYTES, 1);
	s = node_totals(4);
	ASSERT_TOTALS("node 4 after freeing it, no flush", s,
		      0, CXLMU_STATS_FLUSH_BYTES, CXLMU_STATS_FLUSH_BYTES, 1, 1);
}
END_TEST

START_TEST(flush_on_events)
{
	struct cxlmu_node_totals s;

	for (unsigned i = 0; i < CXLMU_STATS_FLUSH_EVENTS; i++)
		cxlmu_stats_alloc(5, CXLMU_TIER_CXL, 1, 1);
	s = node_totals(5);
	ASSERT_TOTALS("node 5 after CXLMU_STATS_FLUSH_EVENTS 1-byte blocks, no flush", s,
		      CXLMU_STATS_FLUSH_EVENTS, CXLMU_STATS_FLUSH_EVENTS, CXLMU_STATS_FLUSH_EVENTS,
		      CXLMU_STATS_FLUSH_EVENTS, 0);
}
END_TEST

START_TEST(peak)
{
	struct cxlmu_node_totals s;

	cxlmu_stats_alloc(6, CXLMU_TIER_CXL, 1000, 1);
	cxlmu_stats_flush();
	cxlmu_stats_free(6, CXLMU_TIER_CXL, 1000, 1);
	cxlmu_stats_flush();
	cxlmu_stats_alloc(6, CXLMU_TIER_CXL, 500, 1);
	cxlmu_stats_flush();
	s = node_totals(6);
	ASSERT_TOTALS("node 6: +1000 flush -1000 flush +500 flush", s, 500, 1000, 1500, 2, 1);
	cxlmu_stats_alloc(6, CXLMU_TIER_CXL, 700, 1);
	cxlmu_stats_flush();
	s = node_totals(6);
	ASSERT_TOTALS("node 6: then +700 flush", s, 1200, 1200, 2200, 3, 1);
}
END_TEST

/* A block spread over nodes counts once, its bytes on each node. */
START_TEST(parts)
{
	struct cxlmu_node_totals s;

	cxlmu_stats_alloc(7, CXLMU_TIER_INTERLEAVE, 100, 1);
	cxlmu_stats_alloc(8, CXLMU_TIER_INTERLEAVE, 200, 0);
	cxlmu_stats_flush();
	s = node_totals(7);
	ASSERT_TOTALS("node 7, first part", s, 100, 100, 100, 1, 0);
	s = node_totals(8);
	ASSERT_TOTALS("node 8, further part (count 0)", s, 200, 200, 200, 0, 0);
	s = tier_totals(CXLMU_TIER_INTERLEAVE);
	ASSERT_TOTALS("interleave tier", s, 300, 300, 300, 1, 0);
}
END_TEST

/* Frees of blocks counted before start-up never show as negative. */
START_TEST(negative_clamped)
{
	struct cxlmu_node_totals s;

	cxlmu_stats_free(9, CXLMU_TIER_DRAM, 4096, 1);
	cxlmu_stats_flush();
	s = node_totals(9);
	ASSERT_TOTALS("node 9 after a free of an uncounted block", s, 0, 0, 0, 0, 1);
	ck_assert_msg(cxlmu_stats_dram_live() == 0, "dram_live %llu after an uncounted free",
		      (unsigned long long)cxlmu_stats_dram_live());
}
END_TEST

START_TEST(dram_live)
{
	uint64_t base = cxlmu_stats_dram_live();

	cxlmu_stats_alloc(0, CXLMU_TIER_DRAM, 100, 1);
	ck_assert_msg(cxlmu_stats_dram_live() == base + 100,
		      "dram_live %llu after +100 DRAM unflushed, want %llu",
		      (unsigned long long)cxlmu_stats_dram_live(), (unsigned long long)base + 100);
	/* Same node, other tiers: the budget is the DRAM tier's, not node 0's. */
	cxlmu_stats_alloc(0, CXLMU_TIER_CXL, 1000, 1);
	cxlmu_stats_alloc(0, CXLMU_TIER_INTERLEAVE, 10000, 1);
	ck_assert_msg(cxlmu_stats_dram_live() == base + 100,
		      "dram_live %llu counts CXL or interleave bytes on node 0, want %llu",
		      (unsigned long long)cxlmu_stats_dram_live(), (unsigned long long)base + 100);
	cxlmu_stats_flush();
	ck_assert_msg(cxlmu_stats_dram_live() == base + 100, "dram_live %llu after flush, want %llu",
		      (unsigned long long)cxlmu_stats_dram_live(), (unsigned long long)base + 100);
	cxlmu_stats_alloc(2, CXLMU_TIER_DRAM, 50, 1);
	ck_assert_msg(cxlmu_stats_dram_live() == base + 150,
		      "dram_live %llu with DRAM on nodes 0 and 2, want %llu",
		      (unsigned long long)cxlmu_stats_dram_live(), (unsigned long long)base + 150);
	cxlmu_stats_free(0, CXLMU_TIER_DRAM, 100, 1);
	cxlmu_stats_free(2, CXLMU_TIER_DRAM, 50, 1);
	ck_assert_msg(cxlmu_stats_dram_live() == base, "dram_live %llu after the frees, want %llu",
		      (unsigned long long)cxlmu_stats_dram_live(), (unsigned long long)base);
}
END_TEST

static void *thread_counts(void *flush)
{
	cxlmu_stats_alloc(10, CXLMU_TIER_CXL, 300, 1);
	if (flush)
		cxlmu_stats_flush();
	return NULL;
}

START_TEST(other_thread)
{
	pthread_t th;
	struct cxlmu_node_totals s;

	ck_assert_msg(pthread_create(&th, NULL, thread_counts, NULL) == 0, "pthread_create");
	pthread_join(th, NULL);
	cxlmu_stats_flush();   /* ours: must not merge the other thread's batch */
	s = node_totals(10);
	ASSERT_TOTALS("node 10 after another thread's unflushed block", s, 0, 0, 0, 0, 0);
	ck_assert_msg(pthread_create(&th, NULL, thread_counts, (void *)1) == 0, "pthread_create");
	pthread_join(th, NULL);
	s = node_totals(10);
	ASSERT_TOTALS("node 10 after another thread flushed its block", s, 300, 300, 300, 1, 0);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Report                                                                    */
/* ----------------------------------------------------------------------- */

static struct cxlmu_config cfg;
static struct cxlmu_topology topo;

/* Two nodes with memory, node 1 CXL; node 2 online without memory; node 5
 * gets counts although the topology does not list it. */
static void report_setup(void)
{
	cxlmu_config_defaults(&cfg);
	memset(&topo, 0, sizeof(topo));
	topo.online = 0x7;
	topo.has_cpu = 0x5;
	topo.has_memory = 0x3;
	topo.cxl = 0x2;
	cxlmu_stats_alloc(0, CXLMU_TIER_DRAM, 1111, 1);
	cxlmu_stats_alloc(0, CXLMU_TIER_DRAM, 2222, 1);
	cxlmu_stats_free(0, CXLMU_TIER_DRAM, 1111, 1);
	cxlmu_stats_alloc(1, CXLMU_TIER_CXL, 70000, 1);
	cxlmu_stats_alloc(5, CXLMU_TIER_CXL, 33, 1);
	cxlmu_stats_count_fallback();
	cxlmu_stats_count_fallback();
	cxlmu_stats_count_fallback();
	cxlmu_stats_count_bind_error();
	cxlmu_stats_count_bind_error();
	/* No flush: the report must flush the calling thread's batch. Peaks
	 * are taken at merges, so node 0's peak is 2222, not 3333. */
}

static char *report_pipe(enum cxlmu_stats_format fmt)
{
	int p[2], r;
	char *text;

	ck_assert_msg(pipe(p) == 0, "pipe: %s", strerror(errno));
	r = cxlmu_report_write(p[1], &cfg, &topo, fmt);
	ck_assert_msg(r == 0, "report to a pipe returned %d", r);
	close(p[1]);
	text = unit_slurp(p[0]);
	close(p[0]);
	return text;
}

static char *report_memfd(enum cxlmu_stats_format fmt)
{
	int fd = memfd_create("cxlmu-report", MFD_CLOEXEC), r;
	char *text;

	ck_assert_msg(fd >= 0, "memfd_create: %s", strerror(errno));
	r = cxlmu_report_write(fd, &cfg, &topo, fmt);
	ck_assert_msg(r == 0, "report to a memfd returned %d", r);
	text = unit_slurp(fd);
	close(fd);
	return text;
}

/* The text report's row for node n, split into its fields. */
static bool text_row(const char *text, unsigned n, char *cxl, long long *v)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned node;
		if (sscanf(l, "cxlmu: %u %3s %lld %lld %lld %lld %lld", &node, cxl, &v[0], &v[1],
			   &v[2], &v[3], &v[4]) == 7 && node == n)
			return true;
	}
	return false;
}

static bool tier_row(const char *text, const char *tier, long long *v)
{
	char name[16];
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (sscanf(l, "cxlmu: %15s %lld %lld %lld %lld %lld", name, &v[0], &v[1], &v[2],
			   &v[3], &v[4]) == 6 && !strcmp(name, tier))
			return true;
	return false;
}

START_TEST(text_report)
{
	char *text = report_pipe(CXLMU_STATS_TEXT), cxl[4];
	long long v[5];

	ck_assert_msg(starts_with(text, "cxlmu: policy local (asked: cxl), cxl nodes 1, preferred "
				  "binding, application mmap placed\n"),
		      "text report starts:\n%.3000s", text);
	ck_assert_msg(strstr(text, "bytes_live") && strstr(text, "bytes_peak") &&
		      strstr(text, "bytes_total") && strstr(text, "allocations") && strstr(text, "frees"),
		      "text report lacks a column header:\n%.3000s", text);
	ck_assert_msg(text_row(text, 0, cxl, v), "no row for node 0:\n%.3000s", text);
	ck_assert_msg(!strcmp(cxl, "no") && v[0] == 2222 && v[1] == 2222 && v[2] == 3333 &&
		      v[3] == 2 && v[4] == 1, "node 0 row: %s %lld %lld %lld %lld %lld\n%.3000s", cxl,
		      v[0], v[1], v[2], v[3], v[4], text);
	ck_assert_msg(text_row(text, 1, cxl, v), "no row for node 1:\n%.3000s", text);
	ck_assert_msg(!strcmp(cxl, "yes") && v[0] == 70000 && v[1] == 70000 && v[2] == 70000 &&
		      v[3] == 1 && v[4] == 0, "node 1 row: %s %lld %lld %lld %lld %lld\n%.3000s", cxl,
		      v[0], v[1], v[2], v[3], v[4], text);
	ck_assert_msg(text_row(text, 5, cxl, v) && v[0] == 33 && v[3] == 1,
		      "node 5 (counts, no memory) missing or wrong:\n%.3000s", text);
	ck_assert_msg(!text_row(text, 2, cxl, v), "node 2 (no memory, no counts) shown:\n%.3000s", text);
	ck_assert_msg(tier_row(text, "dram", v) && v[0] == 2222 && v[3] == 2 && v[4] == 1,
		      "dram tier row missing or wrong:\n%.3000s", text);
	ck_assert_msg(tier_row(text, "cxl", v) && v[0] == 70033 && v[2] == 70033 && v[3] == 2,
		      "cxl tier row missing or wrong:\n%.3000s", text);
	ck_assert_msg(!tier_row(text, "interleave", v), "interleave row without allocations:\n%.3000s",
		      text);
	ck_assert_msg(strstr(text, "cxlmu: placement check (move_pages): 0 sampled pages"),
		      "placement line missing:\n%.3000s", text);
	ck_assert_msg(strstr(text, "cxlmu: fallbacks to DRAM 3, bind errors 2\n"),
		      "fallback line missing or wrong:\n%.3000s", text);
	free(text);
}
END_TEST

START_TEST(text_report_options)
{
	char *text;

	cfg.strict = true;
	cfg.no_mmap = true;
	topo.cxl = 0;
	cxlmu_policy_parse("size:64K", &cfg.policy);
	text = report_memfd(CXLMU_STATS_TEXT);
	ck_assert_msg(starts_with(text, "cxlmu: policy local (asked: size:65536), cxl nodes none, "
				  "strict binding, application mmap left alone\n"),
		      "strict, no-mmap, no CXL node; report starts:\n%.3000s", text);
	free(text);
	cfg.policy.kind = CXLMU_POLICY_LOCAL;
	text = report_memfd(CXLMU_STATS_TEXT);
	ck_assert_msg(starts_with(text, "cxlmu: policy local, cxl nodes"),
		      "policy in force as asked, yet:\n%.3000s", text);
	free(text);
}
END_TEST

/* Brackets and braces balance outside strings, and the text is one line. */
static void check_json_shape(const char *j)
{
	int depth = 0;
	bool str = false;
	size_t len = strlen(j);

	ck_assert_msg(len > 2 && j[0] == '{' && j[len - 2] == '}' && j[len - 1] == '\n',
		      "JSON report is not one object and a newline:\n%.3000s", j);
	for (const char *s = j; *s; s++) {
		if (str) {
			if (*s == '\\')
				s++;
			else if (*s == '"')
				str = false;
			continue;
		}
		if (*s == '"')
			str = true;
		else if (*s == '{' || *s == '[')
			depth++;
		else if (*s == '}' || *s == ']')
			ck_assert_msg(--depth >= 0, "unbalanced JSON at '%.20s'", s);
		else if (*s == '\n')
			ck_assert_msg(s[1] == '\0', "JSON report spans lines");
	}
	ck_assert_msg(depth == 0 && !str, "unbalanced JSON report:\n%.3000s", j);
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *s = hay; (s = strstr(s, needle)); s++)
		n++;
	return n;
}

START_TEST(json_report)
{
	char *j = report_memfd(CXLMU_STATS_JSON);
	static const char *const want[] = {
		"{\"version\":\"" PACKAGE_VERSION "\",",
		"\"policy\":\"local\",",
		"\"policy_asked\":\"cxl\",",
		"\"strict\":false,",
		"\"mmap\":true,",
		"\"cxl_nodes\":[1],",
		"{\"node\":0,\"cxl\":false,\"bytes_live\":2222,\"bytes_peak\":2222,"
		"\"bytes_total\":3333,\"allocations\":2,\"frees\":1}",
		"{\"node\":1,\"cxl\":true,\"bytes_live\":70000,\"bytes_peak\":70000,"
		"\"bytes_total\":70000,\"allocations\":1,\"frees\":0}",
		"{\"node\":5,\"cxl\":false,\"bytes_live\":33,",
		"{\"tier\":\"dram\",\"bytes_live\":2222,\"bytes_peak\":2222,\"bytes_total\":3333,"
		"\"allocations\":2,\"frees\":1}",
		"{\"tier\":\"cxl\",\"bytes_live\":70033,",
		"{\"tier\":\"interleave\",\"bytes_live\":0,",
		"\"placement\":{\"sampled\":0,\"as_meant\":0,\"elsewhere\":0,\"not_resident\":0,"
		"\"not_reported\":0,",
		"\"pages_by_node\":[{\"node\":0,\"pages\":0},{\"node\":1,\"pages\":0},"
		"{\"node\":5,\"pages\":0}]",
		"\"fallbacks\":3,\"bind_errors\":2,",
		/* No sleep went through the wait module in this program. */
		"\"wait\":{\"sched\":\"off\",\"path\":\"none\",\"threads\":0,\"sleeps\":0,",
		"\"slept_ns\":0,\"fibers\":0,\"fiber_cpus\":0,\"fiber_switches\":0,"
		"\"handoffs\":0},",
		/* Nor did the scheduler run: fibers off, no thread listed. */
		"\"sched\":{\"mode\":\"off\",\"fibers_on\":false,\"fiber_wait\":\"none\",\"off_why\":\"mode\","
		"\"as_fiber\":0,\"as_kernel\":0,",
		"\"threads\":[],\"threads_unlisted\":0},",
		/* No remote call either. */
		"\"remote\":{\"functions\":0,\"refused\":0,\"agents\":0,\"calls\":0,",
		"\"overlap\":0.000,\"by_function\":[]}}\n",
	};

	check_json_shape(j);
	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(want); i++)
		ck_assert_msg(strstr(j, want[i]), "JSON report lacks '%s':\n%.3000s", want[i], j);
	ck_assert_msg(!strstr(j, "\"node\":2,"), "JSON report shows node 2:\n%.3000s", j);
	free(j);
}
END_TEST

/* All 64 nodes with memory: a report longer than one write, nothing lost. */
START_TEST(json_report_all_nodes)
{
	char *j, *t;

	topo.has_memory = ~0ull;
	topo.cxl = 0xffff0000ull;
	j = report_pipe(CXLMU_STATS_JSON);
	check_json_shape(j);
	ck_assert_msg(count(j, "{\"node\":") == 2 * CXLMU_MAX_NODES,
		      "%u node objects for 64 nodes (nodes and pages_by_node)", count(j, "{\"node\":"));
	ck_assert_msg(count(j, "\"cxl\":true") == 16, "%u CXL nodes, want 16",
		      count(j, "\"cxl\":true"));
	ck_assert_msg(strstr(j, "{\"node\":63,\"pages\":0}]"), "last node missing:\n%.3000s", j);
	free(j);
	t = report_pipe(CXLMU_STATS_TEXT);
	ck_assert_msg(count(t, "\n") == 2 + 64 + 2 + 3 + 2, "%u lines in the text report, want 73:\n%.3000s",
		      count(t, "\n"), t);
	ck_assert_msg(strstr(t, "cxl nodes 16-31,"), "CXL nodes not listed:\n%.3000s", t);
	free(t);
}
END_TEST

/* Sampled pages are looked up with move_pages and compared to where they
 * were meant to be. */
START_TEST(placement_check)
{
	static char touched[2 * 4096] __attribute__((aligned(4096)));
	void *page = touched;
	int status = -1;
	char *j, want[160];
	void *untouched = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long r;

	ck_assert_msg(untouched != MAP_FAILED && gone != MAP_FAILED, "mmap");
	/* Not mapped any more: the kernel reports no node (-EFAULT). */
	munmap(gone, 4096);
	touched[0] = 1;
	touched[4096] = 1;
	r = syscall(SYS_move_pages, 0, 1UL, &page, NULL, &status, 0);
	cxlmu_stats_sample(touched + 100, 1ull << (status >= 0 ? status : 0));
	cxlmu_stats_sample(touched + 4096, 1ull << (status >= 0 ? status + 1 : 1));
	cxlmu_stats_sample(untouched, 1);
	cxlmu_stats_sample(gone, 1);
	j = report_memfd(CXLMU_STATS_JSON);
	if (r == 0 && status >= 0) {
		snprintf(want, sizeof(want), "\"placement\":{\"sampled\":4,\"as_meant\":1,"
			 "\"elsewhere\":1,\"not_resident\":1,\"not_reported\":1,");
	} else {
		/* move_pages refused here: the kernel reported no sample. */
		snprintf(want, sizeof(want), "\"placement\":{\"sampled\":4,\"as_meant\":0,"
			 "\"elsewhere\":0,\"not_resident\":0,\"not_reported\":4,");
	}
	ck_assert_msg(strstr(j, want), "move_pages %ld, page on node %d: want '%s' in\n%.3000s", r,
		      status, want, j);
	free(j);
	munmap(untouched, 4096);
}
END_TEST

Suite *suite_stats(void)
{
	Suite *s = suite_create("stats");
	TCase *tc;

	tc = tcase_create("counters");
	tcase_add_test(tc, batched_until_flush);
	tcase_add_test(tc, flush_on_bytes);
	tcase_add_test(tc, flush_on_events);
	tcase_add_test(tc, peak);
	tcase_add_test(tc, parts);
	tcase_add_test(tc, negative_clamped);
	tcase_add_test(tc, dram_live);
	tcase_add_test(tc, other_thread);
	suite_add_tcase(s, tc);

	tc = tcase_create("report");
	tcase_add_checked_fixture(tc, report_setup, NULL);
	tcase_add_test(tc, text_report);
	tcase_add_test(tc, text_report_options);
	tcase_add_test(tc, json_report);
	tcase_add_test(tc, json_report_all_nodes);
	tcase_add_test(tc, placement_check);
	suite_add_tcase(s, tc);

	return s;
}

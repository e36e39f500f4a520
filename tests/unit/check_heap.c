/* Unit tests of src/heap.c over jemalloc, with node 0 of this machine as
 * emulated CXL memory (the topology is the real one from /sys): where
 * blocks go under each policy, checked with get_mempolicy(MPOL_F_ADDR),
 * the malloc contract (usable size, alignment, zeroing, realloc), and the
 * heap checks free() runs under the preload (mark, clear, abort). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <numaif.h>

#include "heap.h"
#include "policy.h"
#include "stats.h"
#include "topology.h"
#include "unit.h"

static struct cxlmu_topology topo;
static size_t page;

/* Placement of the page holding p, asked of the kernel directly. */
static int policy_at(const void *p, int *mode, cxlmu_nodemask_t *mask)
{
	unsigned long m[16] = { 0 };
	long r = syscall(SYS_get_mempolicy, mode, m, 1024UL, p, MPOL_F_ADDR);

	*mask = m[0];
	return r ? -errno : 0;
}

static bool in_span(const void *p)
{
	uintptr_t base, end;

	cxlmu_heap_span(&base, &end);
	return (uintptr_t)p >= base && (uintptr_t)p < end;
}

/* Block p of size bytes lies where a CXL block on node 0 must: inside our
 * span, every page bound with mode to node 0. */
static void assert_on_cxl(const void *p, size_t size, int want_mode, const char *what)
{
	ck_assert_msg(p != NULL, "%s: allocation of %zu failed", what, size);
	ck_assert_msg(in_span(p), "%s: block %p of %zu bytes outside the CXL arenas", what, p, size);
	for (size_t off = 0; off < size; off += page) {
		const char *a = (const char *)p + off;
		int mode = -1;
		cxlmu_nodemask_t mask = 0;
		int r = policy_at(a, &mode, &mask);
		ck_assert_msg(r == 0, "%s: get_mempolicy at %p: %d", what, (void *)a, r);
		ck_assert_msg(mode == want_mode && mask == 1,
			      "%s: %zu-byte block, offset %zu: mode %d mask %#llx, want mode %d node 0",
			      what, size, off, mode, (unsigned long long)mask, want_mode);
	}
}

static void assert_on_dram(const void *p, size_t size, const char *what)
{
	int mode = -1;
	cxlmu_nodemask_t mask = 0;

	ck_assert_msg(p != NULL, "%s: allocation of %zu failed", what, size);
	ck_assert_msg(!in_span(p), "%s: %zu-byte block %p inside the CXL arenas", what, size, p);
	ck_assert_msg(policy_at(p, &mode, &mask) == 0 && mode == MPOL_DEFAULT,
		      "%s: %zu-byte DRAM block has mode %d mask %#llx, want MPOL_DEFAULT", what, size,
		      mode, (unsigned long long)mask);
}

static void init_heap_checked(const char *policy, bool strict, bool check)
{
	struct cxlmu_heap_config hc = { 0 };
	char got[64];
	int r;

	memset(&hc, 0, sizeof(hc));
	ck_assert_msg(cxlmu_policy_parse(policy, &hc.policy) == 0, "policy '%s' refused", policy);
	ck_assert_msg(cxlmu_topology_pick_cxl(&topo, true, 1, NULL) == 0, "node 0 refused as CXL");
	hc.strict = strict;
	hc.check = check;
	hc.cxl = topo.cxl;
	hc.dram = cxlmu_topology_dram(&topo);
	hc.topo = &topo;
	r = cxlmu_heap_init(&hc);
	ck_assert_msg(r == 0, "cxlmu_heap_init(policy %s, strict %d, cxl node 0) = %d", policy,
		      strict, r);
	cxlmu_policy_format(cxlmu_heap_policy(), got, sizeof(got));
	ck_assert_msg(cxlmu_heap_policy()->kind == hc.policy.kind,
		      "heap runs policy '%s' after init with '%s'", got, policy);
}

static void init_heap(const char *policy, bool strict)
{
	init_heap_checked(policy, strict, false);
}

static void setup_cxl(void) { init_heap("cxl", false); }
static void setup_size(void) { init_heap("size:64K", false); }
static void setup_local(void) { init_heap("local", false); }
static void setup_strict(void) { init_heap("cxl", true); }
static void setup_interleave(void) { init_heap("interleave:1:1", false); }

static const size_t sizes[] = {
	1, 8, 16, 24, 100, 1000, 4096, 5000, 65535, 65536, 100000, 1 << 20, 3 << 20, 5 << 20,
};

static void fill(void *p, size_t n, unsigned seed)
{
	unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)(i * 7 + seed);
}

static size_t same_prefix(const void *p, size_t n, unsigned seed)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i] != (unsigned char)(i * 7 + seed))
			return i;
	return n;
}

/* ----------------------------------------------------------------------- */
/* Policy cxl                                                                */
/* ----------------------------------------------------------------------- */

START_TEST(cxl_blocks)
{
	size_t size = sizes[_i];
	char what[64];
	void *p = cxlmu_heap_alloc(size, 0, false, NULL);

	snprintf(what, sizeof(what), "policy cxl, malloc(%zu)", size);
	assert_on_cxl(p, size, MPOL_PREFERRED, what);
	fill(p, size, 1);   /* the pages are ours to write */
	ck_assert_msg(same_prefix(p, size, 1) == size, "%s: contents not kept", what);
	cxlmu_heap_free(p);
}
END_TEST

START_TEST(usable_size)
{
	static const size_t more[] = { 0, 1, 7, 9, 17, 33, 4095, 4097, 14337, 1 << 20, (1 << 20) + 1 };
	void *p;

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(more); i++) {
		size_t size = more[i];
		p = cxlmu_heap_alloc(size, 0, false, NULL);
		ck_assert_msg(p != NULL, "malloc(%zu) failed", size);
		ck_assert_msg(cxlmu_heap_usable_size(p) >= (size ? size : 1),
			      "malloc(%zu): usable size %zu", size, cxlmu_heap_usable_size(p));
		memset(p, 0xcc, cxlmu_heap_usable_size(p));
		cxlmu_heap_free(p);
	}
	ck_assert_msg(cxlmu_heap_usable_size(NULL) == 0, "usable size of NULL is not 0");
}
END_TEST

START_TEST(alignment)
{
	for (size_t align = 64; align <= CXLMU_MiB; align *= 2) {
		static const size_t asks[] = { 1, 100, 5000, 3 << 20 };
		for (size_t i = 0; i < CXLMU_ARRAY_SIZE(asks); i++) {
			char what[96];
			void *p = cxlmu_heap_alloc(asks[i], align, false, NULL);
			snprintf(what, sizeof(what), "aligned_alloc(%zu, %zu)", align, asks[i]);
			ck_assert_msg(p != NULL, "%s failed", what);
			ck_assert_msg((uintptr_t)p % align == 0, "%s gave %p", what, p);
			ck_assert_msg(cxlmu_heap_usable_size(p) >= asks[i], "%s: usable size %zu", what,
				      cxlmu_heap_usable_size(p));
			assert_on_cxl(p, 1, MPOL_PREFERRED, what);
			fill(p, asks[i], 3);
			cxlmu_heap_free(p);
		}
	}
}
END_TEST

/* Fill blocks, free them, ask again zeroed: the memory reused must be 0. */
START_TEST(zeroed)
{
	static const size_t zs[] = { 24, 4000, 70000, 3 << 20 };

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(zs); i++) {
		for (size_t align = 0; align <= 4096; align = align ? align * 64 : 64) {
			void *p = cxlmu_heap_alloc(zs[i], align, false, NULL);
			unsigned char *q;
			size_t k = 0;
			ck_assert_msg(p != NULL, "malloc(%zu) failed", zs[i]);
			memset(p, 0xaa, zs[i]);
			cxlmu_heap_free(p);
			q = cxlmu_heap_alloc(zs[i], align, true, NULL);
			ck_assert_msg(q != NULL, "calloc(%zu) (align %zu) failed", zs[i], align);
			while (k < zs[i] && q[k] == 0)
				k++;
			ck_assert_msg(k == zs[i], "calloc(%zu) (align %zu): byte %zu is %#x",
				      zs[i], align, k, q[k]);
			cxlmu_heap_free(q);
		}
	}
}
END_TEST

START_TEST(tier_dram_under_cxl)
{
	void *p = cxlmu_heap_alloc_tier(5000, 0, false, CXLMU_TIER_DRAM);

	assert_on_dram(p, 5000, "policy cxl, alloc_tier(DRAM)");
	cxlmu_heap_free(p);
}
END_TEST

START_TEST(realloc_same_tier)
{
	void *p = cxlmu_heap_alloc(100, 0, false, NULL), *q;

	fill(p, 100, 9);
	q = cxlmu_heap_realloc(p, 2 << 20, NULL);
	assert_on_cxl(q, 2 << 20, MPOL_PREFERRED, "policy cxl, realloc(100 -> 2 MiB)");
	ck_assert_msg(same_prefix(q, 100, 9) == 100, "realloc(100 -> 2 MiB) lost contents at %zu",
		      same_prefix(q, 100, 9));
	q = cxlmu_heap_realloc(q, 50, NULL);
	assert_on_cxl(q, 50, MPOL_PREFERRED, "policy cxl, realloc(2 MiB -> 50)");
	ck_assert_msg(same_prefix(q, 50, 9) == 50, "realloc(2 MiB -> 50) lost contents");
	cxlmu_heap_free(q);
}
END_TEST

/* The tier counters follow allocations and frees, once the thread's
 * counts are merged (cxlmu_heap_merge, as before a report). */
START_TEST(counted)
{
	struct cxlmu_node_totals a, b, c;
	void *p;
	size_t usable;

	cxlmu_heap_merge();
	cxlmu_stats_tier(CXLMU_TIER_CXL, &a);
	p = cxlmu_heap_alloc(10000, 0, false, NULL);
	usable = cxlmu_heap_usable_size(p);
	cxlmu_heap_merge();
	cxlmu_stats_tier(CXLMU_TIER_CXL, &b);
	ck_assert_msg(b.allocations == a.allocations + 1 &&
		      b.bytes_live == a.bytes_live + (int64_t)usable,
		      "malloc(10000) on CXL: allocations %llu -> %llu, live %lld -> %lld (usable %zu)",
		      (unsigned long long)a.allocations, (unsigned long long)b.allocations,
		      (long long)a.bytes_live, (long long)b.bytes_live, usable);
	cxlmu_heap_free(p);
	cxlmu_heap_merge();
	cxlmu_stats_tier(CXLMU_TIER_CXL, &c);
	ck_assert_msg(c.frees == b.frees + 1 && c.bytes_live == a.bytes_live,
		      "free on CXL: frees %llu -> %llu, live %lld, want %lld",
		      (unsigned long long)b.frees, (unsigned long long)c.frees,
		      (long long)c.bytes_live, (long long)a.bytes_live);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Policy size:64K                                                           */
/* ----------------------------------------------------------------------- */

START_TEST(size_split)
{
	void *small = cxlmu_heap_alloc(65535, 0, false, NULL);
	void *big = cxlmu_heap_alloc(65536, 0, false, NULL);
	void *tiny = cxlmu_heap_alloc(1, 0, false, NULL);
	void *huge = cxlmu_heap_alloc(8 << 20, 0, false, NULL);

	assert_on_dram(small, 65535, "policy size:64K, malloc(65535)");
	assert_on_dram(tiny, 1, "policy size:64K, malloc(1)");
	assert_on_cxl(big, 65536, MPOL_PREFERRED, "policy size:64K, malloc(65536)");
	assert_on_cxl(huge, 8 << 20, MPOL_PREFERRED, "policy size:64K, malloc(8 MiB)");
	cxlmu_heap_free(small);
	cxlmu_heap_free(big);
	cxlmu_heap_free(tiny);
	cxlmu_heap_free(huge);
}
END_TEST

START_TEST(realloc_across)
{
	void *p = cxlmu_heap_alloc(1000, 0, false, NULL), *q, *r;

	assert_on_dram(p, 1000, "policy size:64K, malloc(1000)");
	fill(p, 1000, 5);
	q = cxlmu_heap_realloc(p, 128 << 10, NULL);
	assert_on_cxl(q, 128 << 10, MPOL_PREFERRED, "policy size:64K, realloc(1000 -> 128K)");
	ck_assert_msg(same_prefix(q, 1000, 5) == 1000, "realloc(1000 -> 128K) lost byte %zu",
		      same_prefix(q, 1000, 5));
	fill(q, 128 << 10, 6);
	r = cxlmu_heap_realloc(q, 2000, NULL);
	assert_on_dram(r, 2000, "policy size:64K, realloc(128K -> 2000)");
	ck_assert_msg(same_prefix(r, 2000, 6) == 2000, "realloc(128K -> 2000) lost byte %zu",
		      same_prefix(r, 2000, 6));
	q = cxlmu_heap_realloc(r, 30000, NULL);
	assert_on_dram(q, 30000, "policy size:64K, realloc(2000 -> 30000)");
	ck_assert_msg(same_prefix(q, 2000, 6) == 2000, "realloc(2000 -> 30000) lost byte %zu",
		      same_prefix(q, 2000, 6));
	cxlmu_heap_free(q);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Policy local, CXL node present                                            */
/* ----------------------------------------------------------------------- */

START_TEST(local_blocks)
{
	void *p = cxlmu_heap_alloc(1 << 20, 0, false, NULL);

	assert_on_dram(p, 1 << 20, "policy local, malloc(1 MiB)");
	cxlmu_heap_free(p);
}
END_TEST

START_TEST(local_alloc_tier)
{
	static const size_t ts[] = { 16, 5000, 3 << 20 };

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(ts); i++) {
		char what[64];
		void *p = cxlmu_heap_alloc_tier(ts[i], 0, false, CXLMU_TIER_CXL);
		void *z = cxlmu_heap_alloc_tier(ts[i], 4096, true, CXLMU_TIER_CXL);
		snprintf(what, sizeof(what), "policy local, alloc_tier(%zu, CXL)", ts[i]);
		assert_on_cxl(p, ts[i], MPOL_PREFERRED, what);
		assert_on_cxl(z, ts[i], MPOL_PREFERRED, what);
		ck_assert_msg((uintptr_t)z % 4096 == 0, "%s, align 4096: %p", what, z);
		cxlmu_heap_free(p);
		cxlmu_heap_free(z);
	}
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Strict binding                                                            */
/* ----------------------------------------------------------------------- */

START_TEST(strict_bind)
{
	void *p = cxlmu_heap_alloc(5000, 0, false, NULL);
	void *q = cxlmu_heap_alloc_tier(2 << 20, 0, false, CXLMU_TIER_CXL);

	assert_on_cxl(p, 5000, MPOL_BIND, "policy cxl strict, malloc(5000)");
	assert_on_cxl(q, 2 << 20, MPOL_BIND, "policy cxl strict, alloc_tier(2 MiB, CXL)");
	cxlmu_heap_free(p);
	cxlmu_heap_free(q);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Interleave 1:1                                                            */
/* ----------------------------------------------------------------------- */

/* Page by page over a 16 MiB block: DRAM (local) and CXL (node 0) alternate
 * in runs of one interleave unit. */
START_TEST(interleave_units)
{
	size_t size = 16 << 20, runs = 0, run = 0, full_runs = 0;
	char *p = cxlmu_heap_alloc(size, 0, false, NULL), prev = 0;

	ck_assert_msg(p != NULL && in_span(p), "interleave: 16 MiB block %p not in the arenas", p);
	for (size_t off = 0; off < size; off += page) {
		int mode = -1;
		cxlmu_nodemask_t mask = 0;
		char kind;
		ck_assert_msg(policy_at(p + off, &mode, &mask) == 0, "get_mempolicy at +%zu", off);
		if (mode == MPOL_PREFERRED && mask == 1)
			kind = 'c';
		else if (mode == MPOL_LOCAL || (mode == MPOL_PREFERRED && mask == 0))
			kind = 'd';
		else
			ck_abort_msg("interleave: page +%zu has mode %d mask %#llx", off, mode,
				     (unsigned long long)mask);
		if (kind != prev && prev) {
			/* A run that began after the block's start is whole. */
			if (runs > 0)
				ck_assert_msg(run == CXLMU_INTERLEAVE_UNIT,
					      "interleave: a '%c' run of %zu bytes ends at +%zu, want %llu",
					      prev, run, off, CXLMU_INTERLEAVE_UNIT);
			full_runs += runs > 0;
			runs++;
			run = 0;
		}
		run += page;
		prev = kind;
	}
	ck_assert_msg(full_runs >= 6, "interleave 1:1: %zu whole runs in 16 MiB", full_runs);
	cxlmu_heap_free(p);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Heap checks (heap.h): the free-time test preload/malloc.c runs           */
/* ----------------------------------------------------------------------- */

static void setup_checks(void) { init_heap_checked("local", false, true); }
static void setup_checks_off(void) { init_heap_checked("local", false, false); }

/* Random (not the built-in key of the first allocations) and odd. */
START_TEST(check_key)
{
	uint64_t k = cxlmu_heap_key_now();

	ck_assert_msg((k & 1) && k != 0x9e3779b97f4a7c15ull, "heap key %#llx after start-up",
		      (unsigned long long)k);
}
END_TEST

/* The test alone: only a block whose first word is the key counts as
 * freed; only an 8-aligned pointer can be a block. */
START_TEST(check_verdicts)
{
	uint64_t key = cxlmu_heap_key_now();
	uint64_t w[2] = { 0, key };
	static const uint64_t near[] = { 0, 1, 0x5a5a5a5a5a5a5a5aull };

	ck_assert_int_eq(cxlmu_heap_test(CXLMU_HEAP_BAD_FREE, &w[0], key), CXLMU_HEAP_OK);
	ck_assert_int_eq(cxlmu_heap_test(CXLMU_HEAP_BAD_FREE, &w[1], key), CXLMU_HEAP_FREED_FREE);
	ck_assert_int_eq(cxlmu_heap_test(CXLMU_HEAP_BAD_REALLOC, &w[0], key), CXLMU_HEAP_OK);
	ck_assert_int_eq(cxlmu_heap_test(CXLMU_HEAP_BAD_REALLOC, &w[1], key), CXLMU_HEAP_FREED_REALLOC);
	for (unsigned off = 1; off < 8; off++) {
		ck_assert_int_eq(cxlmu_heap_test(CXLMU_HEAP_BAD_FREE, (char *)w + off, key),
				 CXLMU_HEAP_BAD_FREE);
		ck_assert_int_eq(cxlmu_heap_test(CXLMU_HEAP_BAD_REALLOC, (char *)w + off, key),
				 CXLMU_HEAP_BAD_REALLOC);
	}
	/* Words that differ from the key anywhere, by one bit or one byte. */
	for (unsigned bit = 0; bit < 64; bit++) {
		w[0] = key ^ (1ull << bit);
		ck_assert_int_eq(cxlmu_heap_test(CXLMU_HEAP_BAD_FREE, &w[0], key), CXLMU_HEAP_OK);
	}
	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(near); i++) {
		w[0] = (key & ~0xffull) | (near[i] & 0xff);
		if (w[0] != key)
			ck_assert_int_eq(cxlmu_heap_test(CXLMU_HEAP_BAD_FREE, &w[0], key), CXLMU_HEAP_OK);
	}
}
END_TEST

/* Blocks of the heap: free marks, the next hand-out clears, a second free
 * without one is found. */
START_TEST(check_mark_clear)
{
	uint64_t key = cxlmu_heap_key_now();

	for (int round = 0; round < 100; round++) {
		uint64_t *p = cxlmu_heap_fresh(cxlmu_heap_alloc(40, 0, false, NULL));

		ck_assert_msg(p && p[0] == 0, "round %d: block %p not cleared", round, (void *)p);
		ck_assert_int_eq(cxlmu_heap_mark_freed(p), CXLMU_HEAP_OK);
		ck_assert_msg(p[0] == key, "round %d: free did not mark %p", round, (void *)p);
		ck_assert_int_eq(cxlmu_heap_mark_freed(p), CXLMU_HEAP_FREED_FREE);
		cxlmu_heap_free(p);   /* jemalloc's cache hands it out next round */
	}
}
END_TEST

/* What the program sees: one line on stderr, then SIGABRT. */
START_TEST(check_abort_line)
{
	static const struct { enum cxlmu_heap_bad what; const char *line; } cases[] = {
		{ CXLMU_HEAP_BAD_FREE, "cxlmu: free(): invalid pointer (0x1001)\n" },
		{ CXLMU_HEAP_FREED_FREE, "cxlmu: free(): double free detected (0x1001)\n" },
		{ CXLMU_HEAP_BAD_REALLOC, "cxlmu: realloc(): invalid pointer (0x1001)\n" },
		{ CXLMU_HEAP_FREED_REALLOC, "cxlmu: realloc(): block already freed (0x1001)\n" },
	};

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(cases); i++) {
		int fds[2], st = 0;
		char buf[256];
		ssize_t n;
		pid_t pid;

		ck_assert(pipe(fds) == 0);
		pid = fork();
		ck_assert(pid >= 0);
		if (pid == 0) {
			dup2(fds[1], STDERR_FILENO);
			signal(SIGABRT, SIG_DFL);
			cxlmu_heap_bad_free(cases[i].what, (void *)0x1001);
			_exit(0);
		}
		close(fds[1]);
		n = read(fds[0], buf, sizeof(buf) - 1);
		close(fds[0]);
		buf[n > 0 ? n : 0] = '\0';
		ck_assert(waitpid(pid, &st, 0) == pid);
		ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
			      "case %zu: child status %#x, want SIGABRT", i, st);
		ck_assert_str_eq(buf, cases[i].line);
	}
}
END_TEST

/* Off: free marks nothing and finds nothing. */
START_TEST(check_off)
{
	uint64_t buf[2] = { 7, 0 };

	ck_assert_msg(cxlmu_heap_key_now() == 0, "checks off, key %#llx",
		      (unsigned long long)cxlmu_heap_key_now());
	ck_assert_int_eq(cxlmu_heap_mark_freed(buf), CXLMU_HEAP_OK);
	ck_assert_int_eq(cxlmu_heap_mark_freed(buf), CXLMU_HEAP_OK);
	ck_assert_int_eq(cxlmu_heap_mark_freed((char *)buf + 4), CXLMU_HEAP_OK);
	ck_assert_msg(buf[0] == 7, "checks off, free wrote %#llx", (unsigned long long)buf[0]);
}
END_TEST

/* ----------------------------------------------------------------------- */

/* What the heap tests need from this machine: a topology in /sys with
 * node 0 holding memory, and mbind/get_mempolicy allowed. */
static const char *missing(void)
{
	static char why[160];
	void *p;
	unsigned long m = 1;
	int r = cxlmu_topology_read("/sys", &topo);

	if (r) {
		snprintf(why, sizeof(why), "no NUMA topology in /sys (%s)", strerror(-r));
		return why;
	}
	if (!(topo.has_memory & 1))
		return "node 0 has no memory here";
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return "mmap failed";
	if (syscall(SYS_mbind, p, 4096UL, MPOL_PREFERRED, &m, 65UL, 0U)) {
		snprintf(why, sizeof(why), "mbind refused here (%s)", strerror(errno));
		munmap(p, 4096);
		return why;
	}
	munmap(p, 4096);
	return NULL;
}

Suite *suite_heap(void)
{
	Suite *s;
	TCase *tc;
	const char *why = missing();

	if (why)
		UNIT_SKIP("heap tests need %s", why);
	page = (size_t)sysconf(_SC_PAGESIZE);
	s = suite_create("heap");

	tc = tcase_create("policy-cxl");
	tcase_add_checked_fixture(tc, setup_cxl, NULL);
	tcase_add_loop_test(tc, cxl_blocks, 0, CXLMU_ARRAY_SIZE(sizes));
	tcase_add_test(tc, usable_size);
	tcase_add_test(tc, alignment);
	tcase_add_test(tc, zeroed);
	tcase_add_test(tc, tier_dram_under_cxl);
	tcase_add_test(tc, realloc_same_tier);
	tcase_add_test(tc, counted);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy-size");
	tcase_add_checked_fixture(tc, setup_size, NULL);
	tcase_add_test(tc, size_split);
	tcase_add_test(tc, realloc_across);
	tcase_add_test(tc, usable_size);
	tcase_add_test(tc, zeroed);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy-local");
	tcase_add_checked_fixture(tc, setup_local, NULL);
	tcase_add_test(tc, local_blocks);
	tcase_add_test(tc, local_alloc_tier);
	suite_add_tcase(s, tc);

	tc = tcase_create("strict");
	tcase_add_checked_fixture(tc, setup_strict, NULL);
	tcase_add_test(tc, strict_bind);
	suite_add_tcase(s, tc);

	tc = tcase_create("checks");
	tcase_add_checked_fixture(tc, setup_checks, NULL);
	tcase_add_test(tc, check_key);
	tcase_add_test(tc, check_mark_clear);
	tcase_add_test(tc, check_verdicts);
	tcase_add_test(tc, check_abort_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("checks-off");
	tcase_add_checked_fixture(tc, setup_checks_off, NULL);
	tcase_add_test(tc, check_off);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy-interleave");
	tcase_add_checked_fixture(tc, setup_interleave, NULL);
	tcase_add_test(tc, interleave_units);
	suite_add_tcase(s, tc);

	return s;
}

/* Unit tests of src/mapping.c: the application's own anonymous private
 * mappings of 1 MiB or more follow the policy (node 0 emulates CXL),
 * everything else is left alone, munmap/mremap keep the counts right, and
 * bad input fails exactly as it does in libc. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <numaif.h>

#include "heap.h"
#include "mapping.h"
#include "policy.h"
#include "stats.h"
#include "topology.h"
#include "unit.h"

static struct cxlmu_topology topo;
static size_t page;
/* A return address in libc: a call made by the application's libraries. */
static const void *app;

static int policy_at(const void *p, int *mode, cxlmu_nodemask_t *mask)
{
	unsigned long m[16] = { 0 };
	long r = syscall(SYS_get_mempolicy, mode, m, 1024UL, p, MPOL_F_ADDR);

	*mask = m[0];
	return r ? -errno : 0;
}

static void assert_mode(const void *p, size_t len, int want, const char *what)
{
	/* first, middle and last page */
	const char *at[] = { p, (const char *)p + (len / 2 & ~(page - 1)),
			     (const char *)p + len - page };

	for (int i = 0; i < 3; i++) {
		int mode = -1;
		cxlmu_nodemask_t mask = 0;
		ck_assert_msg(policy_at(at[i], &mode, &mask) == 0, "%s: get_mempolicy", what);
		if (want == MPOL_DEFAULT)
			ck_assert_msg(mode == MPOL_DEFAULT, "%s: +%zu has mode %d mask %#llx, want "
				      "MPOL_DEFAULT", what, (size_t)(at[i] - (const char *)p), mode,
				      (unsigned long long)mask);
		else
			ck_assert_msg(mode == want && mask == 1, "%s: +%zu has mode %d mask %#llx, "
				      "want mode %d node 0", what, (size_t)(at[i] - (const char *)p),
				      mode, (unsigned long long)mask, want);
	}
}

static int64_t cxl_live(void)
{
	struct cxlmu_node_totals t;

	cxlmu_stats_flush();
	cxlmu_stats_tier(CXLMU_TIER_CXL, &t);
	return t.bytes_live;
}

static void init(const char *policy)
{
	struct cxlmu_heap_config hc;

	memset(&hc, 0, sizeof(hc));
	ck_assert_msg(cxlmu_policy_parse(policy, &hc.policy) == 0, "policy '%s' refused", policy);
	ck_assert_msg(cxlmu_topology_pick_cxl(&topo, true, 1, NULL) == 0, "node 0 refused as CXL");
	hc.cxl = topo.cxl;
	hc.dram = cxlmu_topology_dram(&topo);
	hc.topo = &topo;
	ck_assert_msg(cxlmu_heap_init(&hc) == 0, "cxlmu_heap_init(policy %s, cxl node 0)", policy);
	cxlmu_mapping_enable(true);
}

static void setup_cxl(void) { init("cxl"); }
static void setup_size(void) { init("size:4M"); }
static void setup_local(void) { init("local"); }

#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static void *map(size_t len, int flags, int fd, const void *caller)
{
	return cxlmu_mapping_mmap(NULL, len, RW, flags, fd, 0, caller);
}

/* ----------------------------------------------------------------------- */
/* What is placed                                                            */
/* ----------------------------------------------------------------------- */

static const size_t placed_lens[] = { 1 << 20, (1 << 20) + 4096, 4 << 20, 33 << 20 };

START_TEST(placed)
{
	size_t len = placed_lens[_i];
	unsigned long before = cxlmu_mapping_placed();
	int64_t live = cxl_live();
	char what[96];
	char *p = map(len, ANON, -1, app);

	snprintf(what, sizeof(what), "policy cxl, mmap(%zu, private anonymous)", len);
	ck_assert_msg(p != MAP_FAILED, "%s failed: %s", what, strerror(errno));
	assert_mode(p, len, MPOL_PREFERRED, what);
	ck_assert_msg(cxlmu_mapping_placed() == before + 1, "%s: placed count %lu -> %lu", what,
		      before, cxlmu_mapping_placed());
	ck_assert_msg(cxl_live() == live + (int64_t)len, "%s: CXL live %lld -> %lld", what,
		      (long long)live, (long long)cxl_live());
	memset(p, 1, len);
	ck_assert_msg(cxlmu_mapping_munmap(p, len) == 0, "%s: munmap: %s", what, strerror(errno));
	ck_assert_msg(cxl_live() == live, "%s: CXL live %lld after munmap, want %lld", what,
		      (long long)cxl_live(), (long long)live);
}
END_TEST

START_TEST(placed_extra_flags)
{
	size_t len = 2 << 20;
	char *p = map(len, ANON | MAP_NORESERVE | MAP_POPULATE, -1, app);

	ck_assert_msg(p != MAP_FAILED, "mmap(NORESERVE|POPULATE) failed");
	assert_mode(p, len, MPOL_PREFERRED, "policy cxl, mmap(2 MiB, private anon noreserve populate)");
	cxlmu_mapping_munmap(p, len);
}
END_TEST

static void assert_left_alone(void *p, size_t len, unsigned long before, int64_t live,
			      const char *what)
{
	ck_assert_msg(p != MAP_FAILED, "%s failed: %s", what, strerror(errno));
	assert_mode(p, len, MPOL_DEFAULT, what);
	ck_assert_msg(cxlmu_mapping_placed() == before, "%s: placed count %lu -> %lu", what, before,
		      cxlmu_mapping_placed());
	ck_assert_msg(cxl_live() == live, "%s: counted on CXL (%lld -> %lld)", what, (long long)live,
		      (long long)cxl_live());
	ck_assert_msg(cxlmu_mapping_munmap(p, len) == 0, "%s: munmap: %s", what, strerror(errno));
	ck_assert_msg(cxl_live() == live, "%s: munmap changed CXL live", what);
}

START_TEST(small_left_alone)
{
	static const size_t lens[] = { 4096, 64 << 10, (1 << 20) - 4096 };

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(lens); i++) {
		char what[96];
		unsigned long before = cxlmu_mapping_placed();
		int64_t live = cxl_live();
		snprintf(what, sizeof(what), "policy cxl, mmap(%zu, private anonymous)", lens[i]);
		assert_left_alone(map(lens[i], ANON, -1, app), lens[i], before, live, what);
	}
}
END_TEST

START_TEST(shared_left_alone)
{
	unsigned long before = cxlmu_mapping_placed();
	int64_t live = cxl_live();

	assert_left_alone(map(2 << 20, MAP_SHARED | MAP_ANONYMOUS, -1, app), 2 << 20, before, live,
			  "policy cxl, mmap(2 MiB, shared anonymous)");
}
END_TEST

START_TEST(file_left_alone)
{
	int fd = memfd_create("cxlmu-map", MFD_CLOEXEC);
	unsigned long before = cxlmu_mapping_placed();
	int64_t live = cxl_live();

	ck_assert_msg(fd >= 0 && ftruncate(fd, 2 << 20) == 0, "memfd: %s", strerror(errno));
	assert_left_alone(map(2 << 20, MAP_PRIVATE, fd, app), 2 << 20, before, live,
			  "policy cxl, mmap(2 MiB, private file)");
	assert_left_alone(map(2 << 20, MAP_SHARED, fd, app), 2 << 20, before, live,
			  "policy cxl, mmap(2 MiB, shared file)");
	close(fd);
}
END_TEST

/* The runtime's own mappings (and jemalloc's) are never placed as the app's. */
START_TEST(runtime_caller_left_alone)
{
	unsigned long before = cxlmu_mapping_placed();
	int64_t live = cxl_live();

	assert_left_alone(map(2 << 20, ANON, -1, (const void *)cxlmu_heap_alloc), 2 << 20, before,
			  live, "policy cxl, mmap(2 MiB) called from the runtime");
}
END_TEST

START_TEST(disabled_left_alone)
{
	unsigned long before = cxlmu_mapping_placed();
	int64_t live = cxl_live();

	cxlmu_mapping_enable(false);
	assert_left_alone(map(2 << 20, ANON, -1, app), 2 << 20, before, live,
			  "policy cxl, no-mmap, mmap(2 MiB)");
}
END_TEST

START_TEST(local_left_alone)
{
	unsigned long before = cxlmu_mapping_placed();
	int64_t live = cxl_live();

	assert_left_alone(map(8 << 20, ANON, -1, app), 8 << 20, before, live,
			  "policy local, mmap(8 MiB)");
}
END_TEST

/* size:4M: a 2 MiB region is the DRAM tier's (counted, not bound), an
 * 8 MiB one CXL's. */
START_TEST(size_policy)
{
	struct cxlmu_node_totals d0, d1;
	unsigned long before = cxlmu_mapping_placed();
	int64_t live = cxl_live();
	char *small, *big;

	cxlmu_stats_tier(CXLMU_TIER_DRAM, &d0);
	small = map(2 << 20, ANON, -1, app);
	big = map(8 << 20, ANON, -1, app);
	ck_assert_msg(small != MAP_FAILED && big != MAP_FAILED, "mmap failed");
	assert_mode(small, 2 << 20, MPOL_DEFAULT, "policy size:4M, mmap(2 MiB)");
	assert_mode(big, 8 << 20, MPOL_PREFERRED, "policy size:4M, mmap(8 MiB)");
	ck_assert_msg(cxl_live() == live + (8 << 20), "policy size:4M: CXL live %lld -> %lld",
		      (long long)live, (long long)cxl_live());
	cxlmu_stats_tier(CXLMU_TIER_DRAM, &d1);
	ck_assert_msg(d1.bytes_live == d0.bytes_live + (2 << 20),
		      "policy size:4M: DRAM live %lld -> %lld after mmap(2 MiB)",
		      (long long)d0.bytes_live, (long long)d1.bytes_live);
	ck_assert_msg(cxlmu_mapping_placed() == before + 2, "policy size:4M: placed %lu -> %lu",
		      before, cxlmu_mapping_placed());
	cxlmu_mapping_munmap(small, 2 << 20);
	cxlmu_mapping_munmap(big, 8 << 20);
	cxlmu_stats_flush();
	cxlmu_stats_tier(CXLMU_TIER_DRAM, &d1);
	ck_assert_msg(cxl_live() == live && d1.bytes_live == d0.bytes_live,
		      "policy size:4M: live not back after munmap (cxl %lld, dram %lld)",
		      (long long)cxl_live(), (long long)d1.bytes_live);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* munmap and mremap of placed regions                                       */
/* ----------------------------------------------------------------------- */

START_TEST(munmap_hole)
{
	size_t len = 8 << 20, hole = 2 << 20;
	int64_t live = cxl_live();
	char *p = map(len, ANON, -1, app);

	ck_assert_msg(p != MAP_FAILED, "mmap(8 MiB) failed");
	ck_assert_msg(cxlmu_mapping_munmap(p + (2 << 20), hole) == 0, "munmap of a hole: %s",
		      strerror(errno));
	ck_assert_msg(cxl_live() == live + (int64_t)(len - hole),
		      "8 MiB less a 2 MiB hole: CXL live %lld, want %lld", (long long)cxl_live(),
		      (long long)(live + (int64_t)(len - hole)));
	assert_mode(p, 2 << 20, MPOL_PREFERRED, "head left of a hole");
	assert_mode(p + (4 << 20), 4 << 20, MPOL_PREFERRED, "tail left of a hole");
	ck_assert_msg(cxlmu_mapping_munmap(p + (6 << 20), 2 << 20) == 0, "munmap of the end");
	ck_assert_msg(cxl_live() == live + (4 << 20), "after cutting the end: CXL live %lld, want %lld",
		      (long long)cxl_live(), (long long)(live + (4 << 20)));
	/* One call over the rest, hole included, as programs do. */
	ck_assert_msg(cxlmu_mapping_munmap(p, len) == 0, "munmap of the rest: %s", strerror(errno));
	ck_assert_msg(cxl_live() == live, "all unmapped: CXL live %lld, want %lld",
		      (long long)cxl_live(), (long long)live);
}
END_TEST

START_TEST(mremap_grow)
{
	int64_t live = cxl_live();
	char *p = map(2 << 20, ANON, -1, app), *q, *blocker;

	ck_assert_msg(p != MAP_FAILED, "mmap(2 MiB) failed");
	/* Something right after it, so growing has to move. */
	blocker = cxlmu_mapping_mmap(p + (2 << 20), 4096, PROT_NONE, ANON | MAP_FIXED_NOREPLACE,
				     -1, 0, app);
	memset(p, 0x3c, 2 << 20);
	q = cxlmu_mapping_mremap(p, 2 << 20, 6 << 20, MREMAP_MAYMOVE, NULL);
	ck_assert_msg(q != MAP_FAILED, "mremap(2 -> 6 MiB): %s", strerror(errno));
	ck_assert_msg(q[0] == 0x3c && q[(2 << 20) - 1] == 0x3c, "mremap lost the contents");
	assert_mode(q, 6 << 20, MPOL_PREFERRED, "mremap(2 -> 6 MiB, may move)");
	ck_assert_msg(cxl_live() == live + (6 << 20), "after mremap to 6 MiB: CXL live %lld, want %lld",
		      (long long)cxl_live(), (long long)(live + (6 << 20)));
	q = cxlmu_mapping_mremap(q, 6 << 20, 3 << 20, 0, NULL);
	ck_assert_msg(q != MAP_FAILED, "mremap(6 -> 3 MiB): %s", strerror(errno));
	ck_assert_msg(cxl_live() == live + (3 << 20), "after mremap to 3 MiB: CXL live %lld, want %lld",
		      (long long)cxl_live(), (long long)(live + (3 << 20)));
	ck_assert_msg(cxlmu_mapping_munmap(q, 3 << 20) == 0, "munmap after mremap");
	ck_assert_msg(cxl_live() == live, "after munmap: CXL live %lld, want %lld",
		      (long long)cxl_live(), (long long)live);
	if (blocker != MAP_FAILED)
		cxlmu_mapping_munmap(blocker, 4096);
}
END_TEST

/* ----------------------------------------------------------------------- */
/* Errors, as libc gives them                                                */
/* ----------------------------------------------------------------------- */

struct outcome {
	bool failed;
	int err;
};

static struct outcome mmap_libc(void *a, size_t len, int prot, int flags, int fd)
{
	void *p;
	errno = 0;
	p = mmap(a, len, prot, flags, fd, 0);
	if (p != MAP_FAILED)
		munmap(p, len);
	return (struct outcome){ p == MAP_FAILED, errno };
}

static struct outcome mmap_ours(void *a, size_t len, int prot, int flags, int fd)
{
	void *p;
	errno = 0;
	p = cxlmu_mapping_mmap(a, len, prot, flags, fd, 0, app);
	if (p != MAP_FAILED)
		cxlmu_mapping_munmap(p, len);
	return (struct outcome){ p == MAP_FAILED, errno };
}

START_TEST(mmap_errors)
{
	static const struct { const char *what; size_t len; int prot, flags, fd; } cases[] = {
		{ "length 0", 0, RW, ANON, -1 },
		{ "length 0, 2 MiB path", 0, RW, ANON | MAP_NORESERVE, -1 },
		{ "neither private nor shared", 2 << 20, RW, MAP_ANONYMOUS, -1 },
		{ "bad fd", 2 << 20, RW, MAP_PRIVATE, 9999 },
		{ "huge length", SIZE_MAX & ~(size_t)0xfff, RW, ANON, -1 },
		{ "fixed at an unaligned address", 2 << 20, RW, ANON | MAP_FIXED, -1 },
	};

	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(cases); i++) {
		void *a = strstr(cases[i].what, "unaligned") ? (void *)0x10001 : NULL;
		struct outcome l = mmap_libc(a, cases[i].len, cases[i].prot, cases[i].flags, cases[i].fd);
		struct outcome o = mmap_ours(a, cases[i].len, cases[i].prot, cases[i].flags, cases[i].fd);
		ck_assert_msg(l.failed, "libc mmap with %s succeeded: the case is wrong", cases[i].what);
		ck_assert_msg(o.failed == l.failed && o.err == l.err,
			      "mmap with %s: failed %d errno %d (%s), libc: failed %d errno %d (%s)",
			      cases[i].what, o.failed, o.err, strerror(o.err), l.failed, l.err,
			      strerror(l.err));
	}
}
END_TEST

START_TEST(munmap_errors)
{
	char *p = mmap(NULL, 2 << 20, RW, ANON, -1, 0);
	static const struct { const char *what; size_t off, len; } cases[] = {
		{ "an unaligned address", 1, 4096 },
		{ "length 0", 0, 0 },
	};

	ck_assert_msg(p != MAP_FAILED, "mmap");
	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(cases); i++) {
		int rl, ro, el, eo;
		errno = 0;
		rl = munmap(p + cases[i].off, cases[i].len);
		el = errno;
		errno = 0;
		ro = cxlmu_mapping_munmap(p + cases[i].off, cases[i].len);
		eo = errno;
		ck_assert_msg(rl == -1, "libc munmap of %s succeeded: the case is wrong", cases[i].what);
		ck_assert_msg(ro == rl && eo == el, "munmap of %s: %d errno %d (%s), libc: %d errno %d (%s)",
			      cases[i].what, ro, eo, strerror(eo), rl, el, strerror(el));
	}
	munmap(p, 2 << 20);
}
END_TEST

START_TEST(mremap_errors)
{
	char *p = mmap(NULL, 4 << 20, RW, ANON, -1, 0), *gone;
	struct { const char *what; void *old; size_t old_len, new_len; int flags; void *to; } cases[] = {
		{ "an unaligned address", NULL, 4096, 8192, MREMAP_MAYMOVE, NULL },
		{ "new length 0", NULL, 4096, 0, MREMAP_MAYMOVE, NULL },
		{ "an unmapped address", NULL, 4096, 8192, MREMAP_MAYMOVE, NULL },
		{ "FIXED without MAYMOVE", NULL, 4096, 4096, MREMAP_FIXED, NULL },
		{ "unknown flags", NULL, 4096, 8192, 0x100, NULL },
	};

	ck_assert_msg(p != MAP_FAILED, "mmap");
	gone = mmap(NULL, 4096, RW, ANON, -1, 0);
	munmap(gone, 4096);
	cases[0].old = p + 1;
	cases[1].old = p;
	cases[2].old = gone;
	cases[3].old = p;
	cases[3].to = p + (2 << 20);
	cases[4].old = p;
	for (size_t i = 0; i < CXLMU_ARRAY_SIZE(cases); i++) {
		void *rl, *ro;
		int el, eo;
		errno = 0;
		rl = mremap(cases[i].old, cases[i].old_len, cases[i].new_len, cases[i].flags, cases[i].to);
		el = errno;
		errno = 0;
		ro = cxlmu_mapping_mremap(cases[i].old, cases[i].old_len, cases[i].new_len,
					  cases[i].flags, cases[i].to);
		eo = errno;
		ck_assert_msg(rl == MAP_FAILED, "libc mremap with %s succeeded: the case is wrong",
			      cases[i].what);
		ck_assert_msg(ro == rl && eo == el,
			      "mremap with %s: %p errno %d (%s), libc: %p errno %d (%s)", cases[i].what,
			      ro, eo, strerror(eo), rl, el, strerror(el));
	}
	munmap(p, 4 << 20);
}
END_TEST

/* A call that works leaves errno alone, as the libc calls do. */
START_TEST(errno_kept)
{
	char *p, *q;

	errno = 4242;
	p = map(2 << 20, ANON, -1, app);
	ck_assert_msg(p != MAP_FAILED && errno == 4242, "mmap that worked set errno to %d", errno);
	q = cxlmu_mapping_mremap(p, 2 << 20, 1 << 20, 0, NULL);
	ck_assert_msg(q == p && errno == 4242, "mremap that worked set errno to %d", errno);
	ck_assert_msg(cxlmu_mapping_munmap(q, 1 << 20) == 0 && errno == 4242,
		      "munmap that worked set errno to %d", errno);
}
END_TEST

static const char *missing(void)
{
	static char why[160];
	unsigned long m = 1;
	void *p;
	int r = cxlmu_topology_read("/sys", &topo);

	if (r) {
		snprintf(why, sizeof(why), "no NUMA topology in /sys (%s)", strerror(-r));
		return why;
	}
	if (!(topo.has_memory & 1))
		return "node 0 has no memory here";
	p = mmap(NULL, 4096, RW, ANON, -1, 0);
	if (p == MAP_FAILED)
		return "mmap failed";
	if (syscall(SYS_mbind, p, 4096UL, MPOL_PREFERRED, &m, 65UL, 0U)) {
		snprintf(why, sizeof(why), "mbind refused here (%s)", strerror(errno));
		munmap(p, 4096);
		return why;
	}
	munmap(p, 4096);
	app = dlsym(RTLD_DEFAULT, "getpid");
	if (!app)
		return "no getpid in libc to stand for an application's call site";
	return NULL;
}

Suite *suite_mapping(void)
{
	Suite *s;
	TCase *tc;
	const char *why = missing();

	if (why)
		UNIT_SKIP("mapping tests need %s", why);
	page = (size_t)sysconf(_SC_PAGESIZE);
	s = suite_create("mapping");

	tc = tcase_create("placed");
	tcase_add_checked_fixture(tc, setup_cxl, NULL);
	tcase_add_loop_test(tc, placed, 0, CXLMU_ARRAY_SIZE(placed_lens));
	tcase_add_test(tc, placed_extra_flags);
	tcase_add_test(tc, small_left_alone);
	tcase_add_test(tc, shared_left_alone);
	tcase_add_test(tc, file_left_alone);
	tcase_add_test(tc, runtime_caller_left_alone);
	tcase_add_test(tc, disabled_left_alone);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy-local");
	tcase_add_checked_fixture(tc, setup_local, NULL);
	tcase_add_test(tc, local_left_alone);
	suite_add_tcase(s, tc);
	tc = tcase_create("policy-size");
	tcase_add_checked_fixture(tc, setup_size, NULL);
	tcase_add_test(tc, size_policy);
	suite_add_tcase(s, tc);

	tc = tcase_create("unmap-remap");
	tcase_add_checked_fixture(tc, setup_cxl, NULL);
	tcase_add_test(tc, munmap_hole);
	tcase_add_test(tc, mremap_grow);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup_cxl, NULL);
	tcase_add_test(tc, mmap_errors);
	tcase_add_test(tc, munmap_errors);
	tcase_add_test(tc, mremap_errors);
	tcase_add_test(tc, errno_kept);
	suite_add_tcase(s, tc);

	return s;
}

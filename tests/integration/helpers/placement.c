/* Where blocks and the application's own mappings land, by policy, checked
 * with get_mempolicy(MPOL_F_ADDR) on a host where CXL is emulated on node 0.
 * argv[1] names the case (see main). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "common.h"

#define MiB (1ul << 20)
#define UNIT (2 * MiB)   /* the interleave unit */

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_CHECK(p != MAP_FAILED, "mmap(%zu): %s", len, strerror(errno));
	return p == MAP_FAILED ? NULL : p;
}

/* Blocks and mappings all on one tier (local, cxl, strict, no-mmap). */
static void all(enum t_expect blocks, enum t_expect big_map)
{
	void *s = malloc(64), *m = malloc(100000), *l = malloc(8 * MiB);
	void *a = aligned_alloc(4096, 3 * MiB), *big = map(2 * MiB), *small = map(512 * 1024);
	void *shared = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	t_expect_at(s, blocks, "malloc(64)");
	t_expect_at(m, blocks, "malloc(100000)");
	t_expect_at(l, blocks, "malloc(8 MiB)");
	t_expect_at(a, blocks, "aligned_alloc(4096, 3 MiB)");
	t_expect_at(big, big_map, "the program's mmap(2 MiB)");
	/* Below 1 MiB, and shared mappings, are left alone. */
	t_expect_at(small, T_DRAM, "the program's mmap(512 KiB)");
	t_expect_at(shared, T_DRAM, "the program's MAP_SHARED mmap(2 MiB)");
	if (big) {
		/* mremap moves the range's policy with it. */
		void *moved = mremap(big, 2 * MiB, 6 * MiB, MREMAP_MAYMOVE);
		T_CHECK(moved != MAP_FAILED, "mremap: %s", strerror(errno));
		if (moved != MAP_FAILED) {
			memset(moved, 1, 6 * MiB);
			t_expect_at(moved, big_map, "the program's mapping after mremap");
			munmap(moved, 6 * MiB);
		}
	}
	munmap(small, 512 * 1024);
	munmap(shared, 2 * MiB);
	free(s);
	free(m);
	free(l);
	free(a);
}

/* size:64K: blocks of 64 KiB and more on CXL, smaller ones on DRAM. */
static void by_size(void)
{
	void *s = malloc(100), *b = malloc(65535), *c = malloc(65536), *d = malloc(4 * MiB);
	void *big = map(2 * MiB);

	t_expect_at(s, T_DRAM, "size:64K malloc(100)");
	t_expect_at(b, T_DRAM, "size:64K malloc(65535)");
	t_expect_at(c, T_CXL, "size:64K malloc(65536)");
	t_expect_at(d, T_CXL, "size:64K malloc(4 MiB)");
	t_expect_at(big, T_CXL, "size:64K the program's mmap(2 MiB)");
	/* realloc across the threshold moves the block to the other tier. */
	char *r = malloc(1000);
	if (r) {
		memset(r, 'r', 1000);
		r = realloc(r, 200000);
		t_expect_at(r, T_CXL, "size:64K realloc(1000 -> 200000)");
		T_CHECK(r && r[999] == 'r', "realloc across tiers lost the contents");
		r = realloc(r, 50);
		t_expect_at(r, T_DRAM, "size:64K realloc(200000 -> 50)");
		T_CHECK(r && r[49] == 'r', "realloc back lost the contents");
	}
	free(r);
	free(s);
	free(b);
	free(c);
	free(d);
}

/* interleave:D:C over 2 MiB units: D DRAM units (MPOL_LOCAL) then C CXL
 * units (PREFERRED {0}), repeating, over a block covering many units. */
static void interleave(unsigned d, unsigned c)
{
	size_t len = 64 * MiB;
	char *p = malloc(len);
	uintptr_t first, last;
	unsigned period = d + c, n = 0, ncxl = 0;
	int kind[64];

	if (!p) {
		T_CHECK(0, "malloc(64 MiB) failed");
		return;
	}
	first = ((uintptr_t)p + UNIT - 1) & ~(uintptr_t)(UNIT - 1);
	last = ((uintptr_t)p + len) & ~(uintptr_t)(UNIT - 1);
	for (uintptr_t a = first; a < last && n < 64; a += UNIT, n++) {
		unsigned long mask = 0;
		int mode = t_page_policy((void *)a, &mask);
		int mode_end = t_page_policy((void *)(a + UNIT - 1), NULL);
		T_CHECK(mode == mode_end, "unit at %#lx is not one policy: %s .. %s", (unsigned long)a,
			t_mode_name(mode), t_mode_name(mode_end));
		if (mode == MPOL_PREFERRED && mask == 1)
			kind[n] = 1, ncxl++;
		else if (mode == MPOL_LOCAL)
			kind[n] = 0;
		else {
			T_CHECK(0, "interleave unit at %#lx: policy %s mask %#lx, want LOCAL or PREFERRED {0}",
				(unsigned long)a, t_mode_name(mode), mask);
			kind[n] = -1;
		}
	}
	T_CHECK(n >= 2 * period, "only %u whole units in the block", n);
	/* Find the phase, then every unit must follow the pattern. */
	int phase = -1;
	for (unsigned ph = 0; ph < period && phase < 0; ph++) {
		bool ok = true;
		for (unsigned i = 0; i < n && ok; i++)
			ok = kind[i] == ((i + ph) % period >= d);
		if (ok)
			phase = (int)ph;
	}
	T_CHECK(phase >= 0, "units do not follow %u DRAM then %u CXL (%u of %u units on CXL)",
		d, c, ncxl, n);
	/* Small blocks come from the interleaved range too. */
	void *s = malloc(64);
	int mode = t_page_policy(s, NULL);
	T_CHECK(mode == MPOL_LOCAL || mode == MPOL_PREFERRED, "interleave malloc(64): policy %s",
		t_mode_name(mode));
	free(s);
	free(p);
}

/* budget:1M: DRAM until 1 MiB of live heap is on DRAM, then CXL. */
static void budget(void)
{
	void *b[16];
	int first_cxl = -1;

	for (int i = 0; i < 16; i++) {
		b[i] = malloc(256 * 1024);
		int mode = t_page_policy(b[i], NULL);
		if (mode == MPOL_PREFERRED && first_cxl < 0)
			first_cxl = i;
		if (first_cxl >= 0)
			t_expect_at(b[i], T_CXL, "budget:1M block after the budget");
		else
			t_expect_at(b[i], T_DRAM, "budget:1M block within the budget");
	}
	/* 256 KiB blocks: at most 4 fit in 1 MiB, and some must. */
	T_CHECK(first_cxl >= 1 && first_cxl <= 4, "budget:1M: first CXL block is #%d of 256 KiB blocks",
		first_cxl);
	for (int i = 0; i < 16; i++)
		free(b[i]);
	/* With the DRAM blocks freed, the budget is free again. */
	void *again = malloc(256 * 1024);
	t_expect_at(again, T_DRAM, "budget:1M block after freeing");
	free(again);
}

/* cxlmu_malloc_on (public API, found with dlsym) places as asked whatever the policy. */
static void api(void)
{
	void *(*on)(size_t, int) = (void *(*)(size_t, int))dlsym(RTLD_DEFAULT, "cxlmu_malloc_on");
	int (*page_node)(const void *) = (int (*)(const void *))dlsym(RTLD_DEFAULT, "cxlmu_page_node");

	T_CHECK(on && page_node, "cxlmu_malloc_on or cxlmu_page_node not exported");
	if (!on || !page_node)
		return;
	char *c = on(100000, 1), *d = on(100000, 0);
	t_expect_at(c, T_CXL, "cxlmu_malloc_on(CXL) under local");
	t_expect_at(d, T_DRAM, "cxlmu_malloc_on(DRAM) under local");
	errno = 0;
	T_CHECK(!on(10, 7) && errno == EINVAL, "cxlmu_malloc_on(place 7): want NULL EINVAL");
	errno = 0;
	T_CHECK(!on(SIZE_MAX / 2, 0) && errno == ENOMEM,
		"cxlmu_malloc_on(SIZE_MAX / 2): want NULL ENOMEM, errno %d", errno);
	if (c) {
		c[0] = 1;
		T_CHECK(page_node(c) == 0, "cxlmu_page_node of a touched CXL block: %d", page_node(c));
	}
	free(c);
	free(d);
	/* Its errors are -errno, and errno is left alone. */
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r;
	T_CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	if (m == MAP_FAILED)
		return;
	errno = EDOM;
	r = page_node(m);
	T_CHECK(r == -ENOENT && errno == EDOM,
		"cxlmu_page_node of an untouched page: %d, errno %d; want -ENOENT, errno kept", r, errno);
	munmap(m, (size_t)pg);
	errno = EDOM;
	r = page_node(m);
	T_CHECK(r == -EFAULT && errno == EDOM,
		"cxlmu_page_node of an unmapped page: %d, errno %d; want -EFAULT, errno kept", r, errno);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	t_require_preload();
	if (!strcmp(what, "local"))
		all(T_DRAM, T_DRAM);
	else if (!strcmp(what, "cxl"))
		all(T_CXL, T_CXL);
	else if (!strcmp(what, "strict"))
		all(T_CXL_STRICT, T_CXL_STRICT);
	else if (!strcmp(what, "no-mmap"))
		all(T_CXL, T_DRAM);
	else if (!strcmp(what, "size"))
		by_size();
	else if (!strcmp(what, "interleave") && argc > 3)
		interleave((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]));
	else if (!strcmp(what, "budget"))
		budget();
	else if (!strcmp(what, "api"))
		api();
	else {
		fprintf(stderr, "usage: placement local|cxl|strict|no-mmap|size|interleave D C|budget|api\n");
		return 2;
	}
	return t_done("placement");
}

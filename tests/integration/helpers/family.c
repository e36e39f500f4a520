/* The malloc family's libc contract under the preload, and (argv[1]) where
 * every returned block sits: dram, cxl, strict or any. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "common.h"

static enum t_expect want;
#define SENTINEL 12345

/* Every successful call: errno untouched, block placed as the policy says. */
#define OK_CALL(ptr, what)						\
	do {								\
		T_CHECK((ptr) != NULL, "%s returned NULL (errno %d)", what, errno); \
		T_CHECK(errno == SENTINEL, "%s succeeded but changed errno to %d", what, errno); \
		t_expect_at(ptr, want, what);				\
	} while (0)

static volatile size_t huge = SIZE_MAX;   /* volatile: keep gcc from folding */
static volatile size_t half = SIZE_MAX / 2 + 1;

static void check_malloc_free(void)
{
	static const size_t sizes[] = { 1, 7, 16, 100, 4096, 65536, 1 << 20, 8 << 20 };
	void *a, *b;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		errno = SENTINEL;
		char *p = malloc(sizes[i]);
		OK_CALL(p, "malloc");
		if (p) {
			memset(p, 0xa5, sizes[i]);
			T_CHECK(malloc_usable_size(p) >= sizes[i], "malloc_usable_size %zu < %zu",
				malloc_usable_size(p), sizes[i]);
		}
		errno = SENTINEL;
		free(p);
		T_CHECK(errno == SENTINEL, "free changed errno to %d", errno);
	}
	/* malloc(0): a unique pointer that free accepts. */
	errno = SENTINEL;
	a = malloc(0);
	OK_CALL(a, "malloc(0)");
	b = malloc(0);
	T_CHECK(a && b && a != b, "malloc(0) twice gave %p and %p", a, b);
	free(a);
	free(b);
	errno = SENTINEL;
	free(NULL);
	T_CHECK(errno == SENTINEL, "free(NULL) changed errno");
	T_CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) = %zu",
		malloc_usable_size(NULL));
	errno = 0;
	a = malloc(huge);
	T_CHECK(!a && errno == ENOMEM, "malloc(SIZE_MAX) gave %p errno %d", a, errno);
	errno = 0;
	a = malloc(huge - 4096);
	T_CHECK(!a && errno == ENOMEM, "malloc(SIZE_MAX-4096) gave %p errno %d", a, errno);
}

static void check_calloc(void)
{
	unsigned char *p;

	for (int round = 0; round < 2; round++) {
		/* Dirty a block, free it, and ask again: the reused memory must be zero. */
		p = malloc(3000);
		if (p) {
			memset(p, 0xff, 3000);
			free(p);
		}
		errno = SENTINEL;
		p = calloc(30, 100);
		OK_CALL(p, "calloc");
		for (size_t i = 0; p && i < 3000; i++)
			if (p[i]) {
				T_CHECK(0, "calloc byte %zu is %#x", i, p[i]);
				break;
			}
		free(p);
	}
	errno = SENTINEL;
	p = calloc(1 << 20, 3);
	OK_CALL(p, "calloc 3 MiB");
	for (size_t i = 0; p && i < 3 << 20; i += 4096)
		T_CHECK(!p[i], "calloc 3 MiB byte %zu not zero", i);
	free(p);
	errno = SENTINEL;
	p = calloc(0, 10);
	OK_CALL(p, "calloc(0, 10)");
	free(p);
	errno = 0;
	p = calloc(half, 2);
	T_CHECK(!p && errno == ENOMEM, "calloc(SIZE_MAX/2+1, 2) overflow gave %p errno %d", p, errno);
	errno = 0;
	p = calloc(huge / 3 + 2, 3);
	T_CHECK(!p && errno == ENOMEM, "calloc overflow gave %p errno %d", p, errno);
}

static void check_realloc(void)
{
	unsigned char *p, *q;
	long before;

	errno = SENTINEL;
	p = realloc(NULL, 100);
	OK_CALL(p, "realloc(NULL, 100)");
	for (int i = 0; p && i < 100; i++)
		p[i] = (unsigned char)i;
	/* Grow across size classes and tiers, shrink back: contents kept. */
	static const size_t steps[] = { 1000, 70000, 3 << 20, 200, 50 };
	for (size_t s = 0; p && s < sizeof(steps) / sizeof(steps[0]); s++) {
		errno = SENTINEL;
		q = realloc(p, steps[s]);
		OK_CALL(q, "realloc");
		if (!q)
			break;
		for (int i = 0; i < 50; i++)
			if (q[i] != (unsigned char)i) {
				T_CHECK(0, "realloc to %zu lost byte %d", steps[s], i);
				break;
			}
		T_CHECK(malloc_usable_size(q) >= steps[s], "usable %zu after realloc to %zu",
			malloc_usable_size(q), steps[s]);
		p = q;
	}
	/* Failure leaves the block alone. */
	errno = 0;
	q = realloc(p, huge - 100);
	T_CHECK(!q && errno == ENOMEM, "realloc(p, SIZE_MAX-100) gave %p errno %d", q, errno);
	for (int i = 0; p && i < 50; i++)
		if (p[i] != (unsigned char)i) {
			T_CHECK(0, "failed realloc damaged byte %d", i);
			break;
		}
	/* realloc(p, 0) frees (glibc) and returns NULL. */
	q = realloc(p, 0);
	T_CHECK(q == NULL, "realloc(p, 0) returned %p, glibc returns NULL", q);
	/* ... and really frees: 200 touched MiB through realloc(p, 0) must not stay. */
	before = t_rss_pages();
	for (int i = 0; i < 200; i++) {
		p = malloc(1 << 20);
		if (!p)
			break;
		memset(p, 1, 1 << 20);
		q = realloc(p, 0);
		if (q)
			free(q);
	}
	T_CHECK(t_rss_pages() - before < (64 << 20) / sysconf(_SC_PAGESIZE),
		"200 x realloc(malloc(1 MiB), 0) grew RSS by %ld pages: not freed",
		t_rss_pages() - before);
}

static void check_reallocarray(void)
{
	int *p, *q;

	errno = SENTINEL;
	p = reallocarray(NULL, 10, sizeof(int));
	OK_CALL(p, "reallocarray(NULL)");
	for (int i = 0; p && i < 10; i++)
		p[i] = i * 7;
	errno = SENTINEL;
	q = reallocarray(p, 100000, sizeof(int));
	OK_CALL(q, "reallocarray grow");
	if (q)
		p = q;
	for (int i = 0; p && i < 10; i++)
		T_CHECK(p[i] == i * 7, "reallocarray lost element %d", i);
	errno = 0;
	q = reallocarray(p, half, 4);
	T_CHECK(!q && errno == ENOMEM, "reallocarray overflow gave %p errno %d", q, errno);
	for (int i = 0; p && i < 10; i++)
		T_CHECK(p[i] == i * 7, "failed reallocarray damaged element %d", i);
	free(p);
}

static void check_aligned(void)
{
	static const size_t aligns[] = { 8, 16, 32, 64, 256, 4096, 65536, 1 << 21 };
	void *out, *p;
	int r;

	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		size_t a = aligns[i];

		out = NULL;
		errno = SENTINEL;
		r = posix_memalign(&out, a, 100);
		T_CHECK(r == 0, "posix_memalign(%zu) returned %d", a, r);
		OK_CALL(out, "posix_memalign");
		T_CHECK(((uintptr_t)out & (a - 1)) == 0, "posix_memalign(%zu) gave %p", a, out);
		free(out);

		errno = SENTINEL;
		p = aligned_alloc(a, a * 3);
		OK_CALL(p, "aligned_alloc");
		T_CHECK(((uintptr_t)p & (a - 1)) == 0, "aligned_alloc(%zu) gave %p", a, p);
		T_CHECK(malloc_usable_size(p) >= a * 3, "aligned_alloc usable %zu", malloc_usable_size(p));
		free(p);

		errno = SENTINEL;
		p = memalign(a, 10);
		OK_CALL(p, "memalign");
		T_CHECK(((uintptr_t)p & (a - 1)) == 0, "memalign(%zu) gave %p", a, p);
		free(p);
	}

	/* Tiny blocks, many live at once: an allocator's smallest size class
	 * may be only 8-aligned, and the alignment asked for must still hold. */
	for (size_t a = 16; a <= 32; a *= 2) {
		for (size_t n = 1; n <= 8; n++) {
			void *keep[3][64];
			for (int k = 0; k < 64; k++) {
				keep[0][k] = memalign(a, n);
				keep[1][k] = aligned_alloc(a, n);
				if (posix_memalign(&keep[2][k], a, n))
					keep[2][k] = NULL;
				for (int f = 0; f < 3; f++)
					T_CHECK(keep[f][k] && ((uintptr_t)keep[f][k] & (a - 1)) == 0,
						"%s(%zu, %zu) gave %p",
						f == 0 ? "memalign" : f == 1 ? "aligned_alloc" : "posix_memalign",
						a, n, keep[f][k]);
			}
			for (int f = 0; f < 3; f++)
				for (int k = 0; k < 64; k++)
					free(keep[f][k]);
		}
	}
	/* posix_memalign: EINVAL for a bad alignment, errno and *out untouched. */
	static const size_t bad[] = { 0, 1, 2, 4, 3, 24, 100, 4097 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = (void *)0x1234;
		errno = SENTINEL;
		r = posix_memalign(&out, bad[i], 16);
		T_CHECK(r == EINVAL, "posix_memalign(align %zu) returned %d, want EINVAL", bad[i], r);
		T_CHECK(errno == SENTINEL, "posix_memalign(align %zu) changed errno to %d", bad[i], errno);
		T_CHECK(out == (void *)0x1234, "posix_memalign(align %zu) wrote *out", bad[i]);
	}
	out = (void *)0x1234;
	r = posix_memalign(&out, 64, huge - 4096);
	T_CHECK(r == ENOMEM, "posix_memalign(SIZE_MAX-4096) returned %d", r);
	T_CHECK(out == (void *)0x1234, "failed posix_memalign wrote *out");
	/* aligned_alloc: a non power of two is EINVAL. */
	static const size_t bad2[] = { 0, 3, 24, 48, 100 };
	for (size_t i = 0; i < sizeof(bad2) / sizeof(bad2[0]); i++) {
		errno = 0;
		p = aligned_alloc(bad2[i], 96);
		T_CHECK(!p && errno == EINVAL, "aligned_alloc(%zu) gave %p errno %d, want NULL EINVAL",
			bad2[i], p, errno);
		free(p);
	}
	/* memalign rounds a non power of two up, as glibc does. */
	errno = SENTINEL;
	p = memalign(48, 10);
	OK_CALL(p, "memalign(48)");
	T_CHECK(((uintptr_t)p & 63) == 0, "memalign(48) gave %p, want 64-aligned", p);
	free(p);
	errno = 0;
	p = memalign(huge, 10);
	T_CHECK(!p && errno == EINVAL, "memalign(SIZE_MAX) gave %p errno %d", p, errno);
}

static void check_page_allocs(void)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	errno = SENTINEL;
	p = valloc(10);
	OK_CALL(p, "valloc");
	T_CHECK(((uintptr_t)p & (ps - 1)) == 0, "valloc gave %p", p);
	free(p);
	errno = SENTINEL;
	p = pvalloc(1);
	OK_CALL(p, "pvalloc(1)");
	T_CHECK(((uintptr_t)p & (ps - 1)) == 0, "pvalloc gave %p", p);
	T_CHECK(malloc_usable_size(p) >= ps, "pvalloc(1) usable %zu < page", malloc_usable_size(p));
	free(p);
	errno = SENTINEL;
	p = pvalloc(ps + 1);
	OK_CALL(p, "pvalloc(page+1)");
	T_CHECK(malloc_usable_size(p) >= 2 * ps, "pvalloc(page+1) usable %zu < 2 pages",
		malloc_usable_size(p));
	if (p)
		memset(p, 3, 2 * ps);
	free(p);
	errno = 0;
	p = pvalloc(huge - 10);
	T_CHECK(!p && errno == ENOMEM, "pvalloc(SIZE_MAX-10) gave %p errno %d", p, errno);
}

/* glibc's internal names, which some libraries call directly. */
static void check_libc_names(void)
{
	void *(*lm)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "__libc_malloc");
	void *(*lc)(size_t, size_t) = (void *(*)(size_t, size_t))dlsym(RTLD_DEFAULT, "__libc_calloc");
	void *(*lr)(void *, size_t) = (void *(*)(void *, size_t))dlsym(RTLD_DEFAULT, "__libc_realloc");
	void (*lf)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "__libc_free");
	void *p;

	T_CHECK(lm && lc && lr && lf, "__libc_malloc family not found");
	if (!(lm && lc && lr && lf))
		return;
	errno = SENTINEL;
	p = lm(300);
	OK_CALL(p, "__libc_malloc");
	p = lr(p, 5000);
	OK_CALL(p, "__libc_realloc");
	/* Mixed: a block from __libc_* is freed by free and the other way. */
	free(p);
	p = malloc(77);
	lf(p);
	p = lc(10, 10);
	OK_CALL(p, "__libc_calloc");
	free(p);
}

int main(int argc, char **argv)
{
	t_require_preload();
	want = t_parse_expect(argc > 1 ? argv[1] : "any");
	check_malloc_free();
	check_calloc();
	check_realloc();
	check_reallocarray();
	check_aligned();
	check_page_allocs();
	check_libc_names();
	return t_done("family");
}

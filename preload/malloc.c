/* The malloc family, interposed. Each symbol turns the core's result into
 * the libc contract of the call it replaces (errno exactly as glibc sets
 * it, and untouched on success). Allocation itself happens in src/heap.c.
 * The heap checks (src/heap.h) live at this boundary: every block handed to
 * the program leaves with its first word cleared (cxlmu_heap_fresh; calloc's
 * are zeroed anyway), every free marks it, and a free of a marked block
 * aborts as glibc's does. */
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>

#include "alloc.h"
#include "heap.h"
#include "internal.h"
#include "prim.h"
#include "runtime.h"

#define PUBLIC cxlmu_export
/* The call site of the intercepted call (its caller's return address). */
#define RA __builtin_return_address(0)

static inline void *done(void *p, int saved)
{
	errno = p ? saved : ENOMEM;
	return p;
}

static inline void *alloc(size_t n, size_t align, bool zero, const void *ra)
{
	int saved = errno;
	void *p;

	cxlmu_runtime_ensure();
	p = cxlmu_heap_alloc(n, align, zero, ra);
	if (!zero)
		cxlmu_heap_fresh(p);
	return done(p, saved);
}

static void *malloc_at(size_t n, const void *ra);

/* preload/alloc.h: the same paths for preload/new.c. */
void *cxlmu_preload_alloc(size_t n, size_t align, const void *ra)
{
	if (!align)
		return malloc_at(n, ra);
	return alloc(n, align, false, ra);
}

static cxlmu_noinline void free_slow(void *p)
{
	int saved;

	if (!p || cxlmu_heap_free_bound(p))
		return;
	saved = errno;
	/* A thread that frees before start-up has finished waits for it. */
	cxlmu_runtime_ensure();
	cxlmu_heap_free(p);
	errno = saved;
}

/* free, here and for operator delete: the heap checks, then jemalloc's free
 * by tail call when the block is the thread's. */
static inline __attribute__((always_inline)) void free_at(void *p)
{
	enum cxlmu_heap_bad bad;

	if (unlikely(!p))
		return;
	bad = cxlmu_heap_mark_freed(p);
	if (unlikely(bad)) {
		cxlmu_heap_bad_free(bad, p);
		return;
	}
	if (likely(cxlmu_heap_fast_free_ok(p))) {
		cxlmu_je_fast_free(p);
		return;
	}
	free_slow(p);
}

void cxlmu_preload_free(void *p)
{
	free_at(p);
}

static cxlmu_noinline void *malloc_slow(size_t n, const void *ra)
{
	void *p = cxlmu_heap_malloc_bound(n, ra);

	return p ? cxlmu_heap_fresh(p) : alloc(n, 0, false, ra);
}

/* A DRAM thread's inline path while the heap checks are on: jemalloc's
 * malloc, then the block's first word cleared. Out of line, as the next
 * one, so that malloc itself needs no stack frame. */
static cxlmu_noinline void *malloc_fresh(size_t n)
{
	return cxlmu_heap_fresh(cxlmu_je_fast_malloc(n));
}

/* A CXL-bound thread's inline path: a NULL (the arena's range used up)
 * must reach the DRAM fallback of the slow path, with errno as it was. */
static cxlmu_noinline void *malloc_cxl(size_t n, const void *ra)
{
	int saved = *cxlmu_heap_th.errno_p;
	void *p = cxlmu_je_fast_malloc(n);

	if (likely(p)) {
		/* Only with the checks on: the store alone costs this path
		 * 3 % on bench/alloc.c's small blocks. */
		if (cxlmu_heap_key_now())
			cxlmu_heap_fresh(p);
		return p;
	}
	*cxlmu_heap_th.errno_p = saved;
	cxlmu_heap_th.alloc_left++;
	return alloc(n, 0, false, ra);
}

static inline __attribute__((always_inline)) void *malloc_at(size_t n, const void *ra)
{
	if (cxlmu_heap_fast_malloc_ok(n)) {
		if (likely(cxlmu_heap_th.fast_tail))
			return cxlmu_je_fast_malloc(n);
		if (cxlmu_heap_th.bound_ai < 0)
			return malloc_fresh(n);
		return malloc_cxl(n, ra);
	}
	/* A policy deciding per block, already decided for this site. */
	if (cxlmu_heap_decided_dram(n, ra))
		return likely(cxlmu_heap_th.fast_tail) ? cxlmu_je_fast_malloc(n) : malloc_fresh(n);
	return malloc_slow(n, ra);
}

PUBLIC void *malloc(size_t n)
{
	return malloc_at(n, RA);
}

PUBLIC void *calloc(size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return alloc(total, 0, true, RA);
}

PUBLIC void free(void *p)
{
	free_at(p);
}

static void *realloc_at(void *p, size_t n, const void *ra)
{
	uint64_t key = cxlmu_heap_key_now();
	int saved = errno;
	void *q;

	if (!p)
		return alloc(n, 0, false, ra);
	if (n == 0) {
		/* glibc frees the block and returns NULL. */
		free(p);
		return NULL;
	}
	if (key) {
		enum cxlmu_heap_bad bad = cxlmu_heap_test(CXLMU_HEAP_BAD_REALLOC, p, key);
		if (unlikely(bad))
			cxlmu_heap_bad_free(bad, p);
	}
	cxlmu_runtime_ensure();
	q = cxlmu_heap_realloc(p, n, ra);
	/* A moved block gets min(old, n) bytes copied; below 8 the rest of
	 * its first word is from its last life. */
	if (q && q != p)
		for (size_t i = n; i < sizeof(uint64_t); i++)
			((char *)q)[i] = 0;
	return done(q, saved);
}

PUBLIC void *realloc(void *p, size_t n)
{
	return realloc_at(p, n, RA);
}

PUBLIC void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc_at(p, total, RA);
}

static inline bool pow2(size_t a)
{
	return a && !(a & (a - 1));
}

PUBLIC int posix_memalign(void **out, size_t align, size_t n)
{
	int saved = errno;
	void *p;

	/* EINVAL without touching errno or *out. */
	if (!pow2(align) || align % sizeof(void *))
		return EINVAL;
	cxlmu_runtime_ensure();
	p = cxlmu_heap_fresh(cxlmu_heap_alloc(n, align, false, RA));
	errno = saved;
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

PUBLIC void *aligned_alloc(size_t align, size_t n)
{
	if (!pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return alloc(n, align, false, RA);
}

PUBLIC void *memalign(size_t align, size_t n)
{
	/* glibc rounds a non-power-of-two alignment up, and refuses only
	 * alignments beyond half the address space. */
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	if (!pow2(align)) {
		size_t a = 1;
		while (a < align)
			a <<= 1;
		align = a;
	}
	return alloc(n, align, false, RA);
}

PUBLIC void *valloc(size_t n)
{
	return alloc(n, cxlmu_prim_page_size(), false, RA);
}

PUBLIC void *pvalloc(size_t n)
{
	size_t ps = cxlmu_prim_page_size();
	size_t rounded;

	if (__builtin_add_overflow(n, ps - 1, &rounded)) {
		errno = ENOMEM;
		return NULL;
	}
	rounded &= ~(ps - 1);
	return alloc(rounded ? rounded : ps, ps, false, RA);
}

PUBLIC size_t malloc_usable_size(void *p)
{
	return cxlmu_heap_usable_size(p);
}

/* C23 sized frees: the size is a hint the heap does not need. */
PUBLIC void free_sized(void *p, size_t n)
{
	free(p);
}

PUBLIC void free_aligned_sized(void *p, size_t align, size_t n)
{
	free(p);
}

/* glibc's own names, called directly by a few programs and libraries. */
PUBLIC void *__libc_malloc(size_t n) { return malloc(n); }
PUBLIC void *__libc_calloc(size_t n, size_t s) { return calloc(n, s); }
PUBLIC void *__libc_realloc(void *p, size_t n) { return realloc(p, n); }
PUBLIC void __libc_free(void *p) { free(p); }
PUBLIC void *__libc_memalign(size_t a, size_t n) { return memalign(a, n); }
PUBLIC void *__libc_valloc(size_t n) { return valloc(n); }
PUBLIC void *__libc_pvalloc(size_t n) { return pvalloc(n); }

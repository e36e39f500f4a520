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

/* free when the inline test fails: a block of another tier or thread, a
 * thread not set up or with an activity report due, or the heap checks on
 * (they keep every thread off the inline path, so the test and the mark
 * are made here only). */
static cxlmu_noinline void free_slow(void *p)
{
	enum cxlmu_heap_bad bad;
	int saved;

	if (!p)
		return;
	bad = cxlmu_heap_mark_freed(p);
	if (unlikely(bad)) {
		cxlmu_heap_bad_free(bad, p);
		return;
	}
	if (cxlmu_heap_free_bound(p))
		return;
	saved = errno;
	/* A thread that frees before start-up has finished waits for it. */
	cxlmu_runtime_ensure();
	cxlmu_heap_free(p);
	errno = saved;
}

/* free, here and for operator delete: jemalloc's free by tail call when
 * the block is the thread's, counted. */
static inline __attribute__((always_inline)) void free_at(void *p)
{
	if (likely(cxlmu_heap_fast_free_ok(p))) {
		if (unlikely(!p))
			return;
		cxlmu_heap_th.fast_frees++;
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

/* A CXL-bound thread's block jemalloc could not make (its arena's range
 * used up): uncounted, errno as it was, and the DRAM fallback of the slow
 * path. counted: by the countdown, which is given the block back; else by
 * malloc_cxl. */
static cxlmu_noinline void *malloc_cxl_failed(size_t n, const void *ra, int saved, bool counted)
{
	*cxlmu_heap_th.errno_p = saved;
	if (counted)
		cxlmu_heap_th.alloc_left++;
	else
		cxlmu_heap_th.fast_allocs--;
	return alloc(n, 0, false, ra);
}

/* A CXL-bound thread's inline path: no tail call, as a NULL must reach
 * the fallback. Armed only with the heap checks off (src/heap.c). The
 * block is counted before the call: less to keep across it. */
static cxlmu_noinline void *malloc_cxl(size_t n, const void *ra)
{
	int saved = *cxlmu_heap_th.errno_p;
	void *p;

	cxlmu_heap_th.fast_allocs++;
	p = cxlmu_je_fast_malloc(n);
	if (unlikely(!p))
		return malloc_cxl_failed(n, ra, saved, false);
	return p;
}

/* The same on the countdown path, with the heap checks on or off. */
static cxlmu_noinline void *malloc_cxl_counted(size_t n, const void *ra)
{
	int saved = *cxlmu_heap_th.errno_p;
	void *p = cxlmu_je_fast_malloc(n);

	if (unlikely(!p))
		return malloc_cxl_failed(n, ra, saved, true);
	/* Only with the checks on: the store alone costs this path
	 * 3 % on bench/alloc.c's small blocks. */
	if (cxlmu_heap_key_now())
		cxlmu_heap_fresh(p);
	return p;
}

/* Neither inline path: the countdown path, a policy deciding per block,
 * or the slow path. */
static cxlmu_noinline void *malloc_other(size_t n, const void *ra)
{
	if (cxlmu_heap_fast_malloc_ok(n)) {
		if (cxlmu_heap_th.bound_ai < 0)
			return likely(!cxlmu_heap_key_now()) ? cxlmu_je_fast_malloc(n)
							     : malloc_fresh(n);
		return malloc_cxl_counted(n, ra);
	}
	/* A policy deciding per block, already decided for this site. */
	if (cxlmu_heap_decided_dram(n, ra))
		return likely(!cxlmu_heap_key_now()) ? cxlmu_je_fast_malloc(n) : malloc_fresh(n);
	return malloc_slow(n, ra);
}

/* The call site is an argument: malloc's, read only off the tail path
 * (below); operator new's, from preload/new.c. */
static inline __attribute__((always_inline)) void *malloc_rest(size_t n, const void *ra)
{
	if (n < cxlmu_heap_th.cxl_small)
		return malloc_cxl(n, ra);
	return malloc_other(n, ra);
}

static inline __attribute__((always_inline)) bool malloc_tail(size_t n)
{
	if (likely(n < cxlmu_heap_th.tail_small)) {
		cxlmu_heap_th.fast_allocs++;
		return true;
	}
	return false;
}

static inline __attribute__((always_inline)) void *malloc_at(size_t n, const void *ra)
{
	if (malloc_tail(n))
		return cxlmu_je_fast_malloc(n);
	return malloc_rest(n, ra);
}

PUBLIC void *malloc(size_t n)
{
	const void *ra;

	if (malloc_tail(n))
		return cxlmu_je_fast_malloc(n);
	/* Not hoisted above the tail call (a load it does not need). */
	ra = RA;
	__asm__("" : "+r"(ra));
	return malloc_rest(n, ra);
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

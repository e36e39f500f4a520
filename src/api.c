/* The public API of include/cxlmu.h: thin wrappers over the core. Two
 * error conventions: a function returning int returns -errno and leaves
 * errno alone; one returning a pointer returns NULL and sets errno. */
#include <errno.h>

#include "cxlmu.h"
#include "deadline.h"
#include "heap.h"
#include "prim.h"
#include "remote.h"
#include "runtime.h"

cxlmu_export const char *cxlmu_version(void)
{
	return PACKAGE_VERSION;
}

cxlmu_export void *cxlmu_malloc_on(size_t size, cxlmu_place_t place)
{
	void *p;
	int saved = errno;

	if (place != CXLMU_PLACE_DRAM && place != CXLMU_PLACE_CXL) {
		errno = EINVAL;
		return NULL;
	}
	cxlmu_runtime_ensure();
	p = cxlmu_heap_alloc_tier(size, 0, false,
				  place == CXLMU_PLACE_CXL ? CXLMU_TIER_CXL : CXLMU_TIER_DRAM);
	cxlmu_heap_fresh(p);   /* freed with free(): see the heap checks */
	errno = p ? saved : ENOMEM;
	return p;
}

cxlmu_export int cxlmu_page_node(const void *addr)
{
	void *page = (void *)((uintptr_t)addr & ~(uintptr_t)(cxlmu_prim_page_size() - 1));
	int status = -EFAULT, saved = errno;
	int r = cxlmu_prim_page_nodes(1, &page, &status);

	errno = saved;
	return r ? r : status;
}

cxlmu_export int cxlmu_stats_write(int fd, int json)
{
	int saved = errno;
	int r = cxlmu_runtime_report(fd, json ? CXLMU_STATS_JSON : CXLMU_STATS_TEXT);

	/* The report is formatted with vsnprintf and the runtime may start
	 * here: neither may leak into the caller's errno. */
	errno = saved;
	return r;
}

cxlmu_export cxlmu_call_t *cxlmu_remote_submit(void *(*fn)(void *), void *arg, int node)
{
	cxlmu_runtime_ensure();
	return cxlmu_remote_call_submit(fn, arg, node);
}

cxlmu_export int cxlmu_remote_await(cxlmu_call_t *call, void **result)
{
	return cxlmu_remote_call_await(call, result);
}

static bool word_ok(const uint32_t *word)
{
	return word && !((uintptr_t)word & 3);
}

cxlmu_export int cxlmu_wait_word(const uint32_t *word, uint32_t val, const struct timespec *timeout)
{
	uint64_t deadline = 0;
	int saved = errno, r;

	if (!word_ok(word) ||
	    (timeout && cxlmu_deadline(CLOCK_MONOTONIC, timeout, false, &deadline)))
		return -EINVAL;
	/* A zero timeout is a look: its deadline is now, never 0 (none). */
	r = cxlmu_remote_wait_word((_Atomic uint32_t *)word, val, deadline);
	errno = saved;
	return r == -ETIMEDOUT ? r : 0;
}

cxlmu_export int cxlmu_wake_word(const uint32_t *word, int count)
{
	int saved = errno, r;

	if (!word_ok(word) || count < 1)
		return -EINVAL;
	r = cxlmu_remote_wake_word((_Atomic uint32_t *)word, count);
	errno = saved;
	return r;
}

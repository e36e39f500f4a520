/* The public API of include/cxlmu.h: thin wrappers over the core. */
#include <errno.h>

#include "cxlmu.h"
#include "heap.h"
#include "prim.h"
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
	errno = p ? saved : ENOMEM;
	return p;
}

cxlmu_export int cxlmu_page_node(const void *addr)
{
	void *page = (void *)((uintptr_t)addr & ~(uintptr_t)(cxlmu_prim_page_size() - 1));
	int status = -EFAULT;
	int r = cxlmu_prim_page_nodes(1, &page, &status);

	return r ? r : status;
}

cxlmu_export int cxlmu_stats_write(int fd, int json)
{
	return cxlmu_runtime_report(fd, json ? CXLMU_STATS_JSON : CXLMU_STATS_TEXT);
}

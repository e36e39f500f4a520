/* The heap: placement of every block on a tier (DRAM, CXL, interleave)
 * over jemalloc arenas. DRAM blocks come from jemalloc's automatic arenas
 * with its thread caches, so the local policy costs next to nothing; each
 * CXL node and the interleave pattern get an arena whose extent hooks carve
 * memory from one reserved span and mbind it. A pointer inside the span
 * belongs to one of our arenas, which makes free's lookup a range check. */
#ifndef CXLMU_SRC_HEAP_H
#define CXLMU_SRC_HEAP_H

#include "internal.h"
#include "policy.h"
#include "topology.h"

struct cxlmu_heap_config {
	struct cxlmu_policy policy;
	bool strict;
	cxlmu_nodemask_t cxl;        /* CXL nodes, non-empty unless policy local */
	cxlmu_nodemask_t dram;       /* DRAM nodes */
	const struct cxlmu_topology *topo;
};

/* Interleave unit: 2 MiB, a huge page, keeps VMA counts low. */
#define CXLMU_INTERLEAVE_UNIT (2 * CXLMU_MiB)

/* Set up arenas for cfg. On failure the heap stays local and -errno says why. */
int cxlmu_heap_init(const struct cxlmu_heap_config *cfg);
/* Which policy is in force (local after a failed init). */
const struct cxlmu_policy *cxlmu_heap_policy(void);

/* align: 0 for malloc's default, else a power of two. NULL on failure,
 * errno untouched (preload/ sets it as the replaced call must). */
void *cxlmu_heap_alloc(size_t size, size_t align, bool zero);
/* Place a block on a given tier regardless of policy (public API). */
void *cxlmu_heap_alloc_tier(size_t size, size_t align, bool zero, enum cxlmu_tier tier);
void cxlmu_heap_free(void *p);
void *cxlmu_heap_realloc(void *p, size_t size);
size_t cxlmu_heap_usable_size(const void *p);

/* Thread exit: return thread caches, flush counters. */
void cxlmu_heap_thread_exit(void);
/* Bind [addr, addr+len) as the tier asks (used for the application's own
 * mmap regions); returns the node counted for it (interleave: first unit's). */
int cxlmu_heap_bind_range(void *addr, size_t len, enum cxlmu_tier tier, unsigned *node);
/* Count or uncount len bytes of a bound range (mmap regions) per node. */
void cxlmu_heap_account_range(const void *addr, size_t len, enum cxlmu_tier tier,
			      unsigned node, bool alloc);
/* Thread's home DRAM node (node of the CPU it first allocated on). */
unsigned cxlmu_heap_home_node(void);
/* Ranges of span: for the stats page sampler. */
void cxlmu_heap_span(uintptr_t *base, uintptr_t *end);

#endif
